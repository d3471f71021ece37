//! The status workflows as pages (see [`crate::workflow`]), for the role that
//! acts in each:
//!
//! - `/cases`: the to-do list: the open applications where it is the signed-in
//!   staff member's turn, their other open applications, and (registrars) the
//!   reminders of their schools; the junior-intake form for junior schools;
//! - `/cases/{case}`: one application with its proofs and decisions, and the
//!   forms to decide, add a proof, withdraw, hand the dossier over or receive it;
//! - `/transfers/new`: the receiving school's transfer application;
//! - `/students/{id}/actions/{action}`: the forms of the student page's
//!   "学籍异动" section (applications, reports, recall notices, …);
//! - `/years` (bureau): graduation and promotion, with their preview;
//! - `/overdue` (bureau): what has passed its deadline in the county.
//!
//! The rules are the library's: these handlers only read forms, call it and
//! show its answer. Every form carries the session's CSRF token in a hidden
//! field; every change is audited with its outcome, as the JSON API does;
//! every page that shows personal data writes an audit entry. A refusal is
//! shown on the page in Chinese with what was typed kept; after a change the
//! browser is sent on with a fixed message code (`?ok=…`), never personal data.

use crate::db::schools::{self, School};
use crate::db::students::{self, Student};
use crate::domain::{Action, StudentStatus, transitions};
use crate::dossier::{self, Failure, StudentRef, Upload};
use crate::error::AppError;
use crate::http::Web;
use crate::http::archive::{UploadSource, add_upload, parse_kind, spool_package_form};
use crate::http::auth::Staff;
use crate::http::documents::pdf_response;
use crate::http::pages::{PageError, render};
use crate::http::streams::content_length;
use crate::workflow::cases::{self, Case, CaseKind, Stage};
use crate::workflow::{self, direct, overdue, yearly};
use axum::extract::multipart::Field;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::Datelike;
use minijinja::context;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use xueji_archive::{ArchiveError, PaperKind};

mod case_pages;
mod student;
mod transfer;
mod years;

use case_pages::*;
pub use student::student_section;
use student::*;
use transfer::*;
use years::*;

/// Room for the form fields around the file in a multipart upload.
const MULTIPART_SLACK: u64 = 1024 * 1024;

/// Closed applications listed on the to-do page.
const RECENT_CLOSED: usize = 20;

/// The workflow page routes.
pub fn router() -> Router<Arc<Web>> {
    Router::new()
        .route("/cases", get(cases_page))
        .route("/cases/{case}", get(case_page))
        .route("/cases/{case}/decision", post(decide_form))
        .route("/cases/{case}/withdraw", post(withdraw_form))
        // Scans and packages are size-checked while streaming.
        .route("/cases/{case}/proofs", post(proof_form).layer(DefaultBodyLimit::disable()))
        .route("/cases/{case}/package", post(package_form).layer(DefaultBodyLimit::disable()))
        .route("/transfers/new", get(transfer_page).post(transfer_form))
        .route("/junior-intake", post(intake_form))
        .route("/students/{id}/actions/{action}", post(student_action))
        .route("/years", get(years_page))
        .route("/years/{kind}/{year}", post(year_form))
        .route("/overdue", get(overdue_page))
}

// ---- shared ----

/// `?ok=CODE`: the fixed code of the change just made.
#[derive(Debug, Default, serde::Deserialize)]
pub struct OkQuery {
    /// The message code.
    #[serde(default)]
    pub ok: Option<String>,
}

/// What a page says above its content: a refusal, or the outcome of the
/// last change; and the refused form with what was typed in it.
#[derive(Debug, Default)]
pub struct Notice {
    /// A refusal, in Chinese.
    pub error: Option<String>,
    /// The outcome of the last change.
    pub message: Option<&'static str>,
    /// The refused form's name.
    pub form: Option<String>,
    /// What was typed in it (without the CSRF token).
    pub values: BTreeMap<String, String>,
}

impl Notice {
    /// The message for a `?ok=` code (unknown codes show nothing).
    pub fn ok(code: Option<&str>) -> Self {
        Self { message: code.and_then(ok_message), ..Self::default() }
    }

    fn refused(message: String, form: &str, fields: &Fields) -> Self {
        Self { error: Some(message), form: Some(form.to_owned()), values: fields.kept(), ..Self::default() }
    }
}

fn ok_message(code: &str) -> Option<&'static str> {
    Some(match code {
        "opened" => "申请已登记。请在下方“上传证明材料”处上传监护人提交的材料扫描件，再进行审核。",
        "approved" => "已签署同意意见，申请已转到下一审批环节。",
        "completed" => "已批准，申请已办结，学籍已相应变更。",
        "refused" => "已签署不同意意见，申请已结束。",
        "withdrawn" => "申请已撤回。",
        "proof" => "证明材料已存入学生纸质档案，并附在本申请中。",
        "received" => "学籍档案已接收，存入学生的纸质档案。",
        "suspected" => "已按疑似辍学登记并上报教育局。请尽快开具劝返复学通知书并送达监护人。",
        "dropout" => "已按辍学登记并上报教育局。",
        "delivered" => "已登记送达。",
        "returned" => "已登记返校，学籍恢复为在籍。",
        "missing" => "已登记并上报教育局，学籍予以保留。",
        "deceased" => "已注销学籍。",
        "deceased_late" => "已注销学籍。注意：登记晚于死亡后10个工作日的期限，已记为逾期办理。",
        "intake" => "已办理升入初中，学生已编入本校七年级。",
        "graduation" => "毕业已办理。请到“证书管理”为毕业生编号并打印证书。",
        "promotion" => "升级已办理，各年级在籍学生已升入高一年级。",
        _ => return None,
    })
}

/// A submitted form's fields, in order (a name may repeat: several proofs).
#[derive(Debug, Default)]
struct Fields(Vec<(String, String)>);

impl Fields {
    /// The first value of a field ("" when absent).
    fn one(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }

    /// The trimmed value, `None` when blank.
    fn opt(&self, name: &str) -> Option<String> {
        Some(self.one(name).trim().to_owned()).filter(|v| !v.is_empty())
    }

    /// Every non-blank value of a field.
    fn many(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(k, v)| k == name && !v.trim().is_empty()).map(|(_, v)| v.trim().to_owned()).collect()
    }

    /// A whole number, `None` when blank.
    fn number(&self, name: &str, label: &str) -> Result<Option<i64>, AppError> {
        match self.opt(name) {
            None => Ok(None),
            Some(v) => v
                .parse::<i64>()
                .map(Some)
                .map_err(|_| AppError::bad_request("form.number", format!("{label}应填写数字，“{v}”不是数字"))),
        }
    }

    /// What was typed, to fill the form again (the first value of each name).
    fn kept(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (k, v) in &self.0 {
            if k != "csrf" {
                out.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        out
    }
}

/// Whether a refusal is shown on the page itself (the person can correct
/// the form), rather than as an error page.
fn shown_inline(e: &AppError) -> bool {
    e.is_refusal()
}

fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

fn paper_kinds() -> Vec<(&'static str, &'static str)> {
    PaperKind::ALL.iter().map(|k| (k.code(), k.label())).collect()
}

async fn scope_schools(app: &Web, staff: &Staff) -> Result<Vec<School>, AppError> {
    Ok(schools::list(&app.db.pool).await?.into_iter().filter(|s| staff.may_see(s.id)).collect())
}

// ---- multipart ----

/// Reads a short text field of a multipart form.
async fn small_text(field: &mut Field<'_>) -> Result<String, AppError> {
    crate::http::streams::small_text(field, bad_form).await
}

fn bad_form() -> AppError {
    AppError::bad_request("form.invalid", "表单内容不完整或格式不正确，请刷新页面后重试")
}

/// A failure of an upload: shown on the page when the person can do
/// something about it, an error page otherwise.
fn upload_refusal(f: Failure) -> Result<(String, StatusCode), PageError> {
    match f {
        Failure::App(e) if shown_inline(&e) => Ok((e.to_string(), e.status())),
        Failure::App(e) => Err(PageError(e)),
        f if f.is_refusal() => Ok((f.message(), f.status())),
        f => {
            f.log();
            Err(PageError(AppError::Internal(anyhow::anyhow!("archive fault"))))
        }
    }
}
