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
use crate::http::archive::{actor, channel, content_length, parse_kind, spool};
use crate::http::auth::Staff;
use crate::http::documents::pdf_response;
use crate::http::pages::{PageError, render};
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

/// Room for the form fields around the file in a multipart upload.
const MULTIPART_SLACK: u64 = 1024 * 1024;

/// Longest text field accepted in a multipart form.
const MAX_FORM_FIELD: usize = 4096;

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
    matches!(
        e,
        AppError::Domain(_) | AppError::BadRequest { .. } | AppError::Conflict { .. } | AppError::NotPermitted { .. }
    )
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
    let mut out = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|_| bad_form())? {
        out.extend_from_slice(&chunk);
        if out.len() > MAX_FORM_FIELD {
            return Err(bad_form());
        }
    }
    String::from_utf8(out).map_err(|_| bad_form())
}

fn bad_form() -> AppError {
    AppError::bad_request("form.invalid", "表单内容不完整或格式不正确，请刷新页面后重试")
}

/// Feeds a multipart field into the archive's channel.
async fn feed_field(field: &mut Field<'_>, tx: tokio::sync::mpsc::Sender<std::io::Result<axum::body::Bytes>>) {
    loop {
        let item = match field.chunk().await {
            Ok(Some(b)) => Ok(b),
            Ok(None) => break,
            Err(e) => Err(std::io::Error::other(e.to_string())),
        };
        let failed = item.is_err();
        if tx.send(item).await.is_err() || failed {
            break;
        }
    }
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

// ---- /cases ----

async fn views(app: &Web, staff: &Staff, list: &[Case]) -> Result<Vec<cases::CaseView>, AppError> {
    let mut out = Vec::with_capacity(list.len());
    for c in list {
        out.push(cases::view(app, &staff.actor, c).await?);
    }
    Ok(out)
}

async fn cases_page(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Query(q): Query<OkQuery>,
) -> Result<Response, PageError> {
    render_cases(&app, &staff, Notice::ok(q.ok.as_deref()), StatusCode::OK).await
}

async fn render_cases(app: &Web, staff: &Staff, notice: Notice, status: StatusCode) -> Result<Response, PageError> {
    let bureau = staff.user.role.is_bureau();
    let open = cases::list(app, &staff.actor, true, None).await?;
    let (mine, others): (Vec<Case>, Vec<Case>) = open.into_iter().partition(|c| cases::my_turn(&staff.actor, c));
    // Registrars: the last closed ones too (a completed transfer's dossier is handed over after it).
    let closed: Vec<Case> = if bureau {
        Vec::new()
    } else {
        cases::list(app, &staff.actor, false, None)
            .await?
            .into_iter()
            .filter(|c| c.state != "open")
            .take(RECENT_CLOSED)
            .collect()
    };
    let (mine, others, closed) =
        (views(app, staff, &mine).await?, views(app, staff, &others).await?, views(app, staff, &closed).await?);
    staff
        .audit(
            app,
            "case.list",
            ("case", "*"),
            None,
            "ok",
            &format!("shown={}", mine.len() + others.len() + closed.len()),
        )
        .await?;
    // Registrars: their schools' reminders here; the bureau has the county list on /overdue.
    let reminders = if bureau {
        Vec::new()
    } else {
        let items = overdue::list(app, staff.actor.scope.as_deref()).await?;
        staff.audit(app, "overdue.list", ("overdue", "*"), None, "ok", &format!("shown={}", items.len())).await?;
        items
    };
    let junior_schools: Vec<School> = if bureau {
        Vec::new()
    } else {
        scope_schools(app, staff).await?.into_iter().filter(|s| s.kind == crate::domain::SchoolKind::Junior).collect()
    };
    let mut intake_classes = Vec::new();
    for s in &junior_schools {
        for c in schools::classes_of(&app.db.pool, s.id).await?.into_iter().filter(|c| c.grade == 7) {
            intake_classes.push(context! { school => s.code.clone(), number => c.number, name => c.name(),
            enrolled => c.enrolled, cap => c.cap });
        }
    }
    let html = render(
        app,
        "cases.html",
        Some(staff),
        context! {
            mine => mine, others => others, closed => closed, reminders => reminders,
            junior_schools => junior_schools, intake_classes => intake_classes,
            error => notice.error, message => notice.message, form => notice.form, prev => notice.values,
        },
    )?;
    Ok((status, html).into_response())
}

async fn intake_form(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let f = Fields(pairs);
    staff.check_csrf(f.one("csrf"))?;
    let result = async {
        let class_number = f
            .number("class_number", "七年级班号")?
            .ok_or_else(|| AppError::bad_request("intake.class_required", "请选择编入的七年级班级"))?;
        let req = yearly::IntakeRequest {
            student_no: f.one("student_no").to_owned(),
            name: f.one("name").to_owned(),
            class_number,
            school: f.opt("school"),
        };
        yearly::junior_intake(&app, &staff.actor, &req).await
    }
    .await;
    match result {
        Ok(id) => Ok(see_other(&format!("/students/{id}?ok=intake"))),
        Err(e) if shown_inline(&e) => {
            let status = e.status();
            render_cases(&app, &staff, Notice::refused(e.to_string(), "intake", &f), status).await
        }
        Err(e) => Err(e.into()),
    }
}

// ---- /cases/{case} ----

/// The details of a case as labelled lines.
fn detail_rows(case: &Case) -> Vec<(String, String)> {
    let d = &case.detail;
    let text = |k: &str| match d.get(k) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let mut rows = Vec::new();
    if d.get("external") == Some(&Value::Bool(true)) {
        rows.push(("转学去向".to_owned(), "转往本系统外学校".to_owned()));
    }
    for (key, label) in [
        ("from_school", "转出学校"),
        ("to_province", "转入省份"),
        ("to_county", "转入县区"),
        ("to_school", "转入学校"),
        ("to_class", "转入班级"),
        ("country", "前往国家或地区"),
        ("departure_date", "出境日期"),
        ("start_date", "开始日期"),
        ("end_date", "截止日期"),
        ("resume_class", "复学班级"),
        ("reason", "申请原因"),
        ("guardian_name", "申请监护人"),
        ("guardian_phone", "监护人电话"),
        ("apply_date", "申请日期"),
    ] {
        if let Some(v) = text(key) {
            rows.push((label.to_owned(), v));
        }
    }
    if let Some(g) = d.get("resume_grade").and_then(Value::as_i64) {
        rows.push(("复学年级".to_owned(), schools::grade_name(g)));
    }
    if let Some(changes) = d.get("changes").and_then(Value::as_object) {
        for v in changes.values() {
            let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
            let old = if s("old").is_empty() { "（空）".to_owned() } else { s("old") };
            rows.push((format!("变更：{}", s("label")), format!("{old} → {}", s("new"))));
        }
    }
    rows
}

fn default_paper_kind(kind: CaseKind) -> &'static str {
    match kind {
        CaseKind::Transfer | CaseKind::Abroad => PaperKind::TransferProof.code(),
        CaseKind::Suspension | CaseKind::Renewal | CaseKind::Resumption => PaperKind::Diagnosis.code(),
        CaseKind::InfoChange => PaperKind::HouseholdRegister.code(),
    }
}

async fn case_page(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(id): Path<String>,
    Query(q): Query<OkQuery>,
) -> Result<Response, PageError> {
    render_case(&app, &staff, &id, Notice::ok(q.ok.as_deref()), StatusCode::OK).await
}

async fn render_case(
    app: &Web,
    staff: &Staff,
    id: &str,
    notice: Notice,
    status: StatusCode,
) -> Result<Response, PageError> {
    let case = match cases::visible(app, &staff.actor, id).await {
        Ok(c) => c,
        Err(e) => {
            staff.audit(app, "case.view", ("case", id), None, "not_found", "").await?;
            return Err(e.into());
        }
    };
    staff.audit(app, "case.view", ("case", id), Some(case.school_id), "ok", "").await?;
    let view = cases::view(app, &staff.actor, &case).await?;
    // The student's record and scans only for those who may see the student now.
    let located = students::locate(&app.db.pool, &view.student).await?;
    let may_see_student = located.is_some_and(|(_, school)| staff.may_see(school));
    let bureau = staff.user.role.is_bureau();
    let open = case.state == "open";
    let completed_transfer = case.kind == CaseKind::Transfer && case.state == "completed";
    let sending = !bureau && staff.may_see(case.school_id);
    let receiving = !bureau && case.to_school_id.is_some_and(|s| staff.may_see(s));
    let first_stage = case.stage == Some(case.kind.stages()[0]);
    let html = render(
        app,
        "case.html",
        Some(staff),
        context! {
            c => view,
            details => detail_rows(&case),
            may_see_student => may_see_student,
            is_open => open,
            can_upload => open && !bureau,
            can_withdraw => open,
            first_stage => first_stage,
            can_export => completed_transfer && sending,
            can_import => completed_transfer && receiving,
            kinds => paper_kinds(),
            default_kind => default_paper_kind(case.kind),
            max_mb => app.archive.config().inspect.max_size / (1024 * 1024),
            error => notice.error, message => notice.message, form => notice.form, prev => notice.values,
        },
    )?;
    Ok((status, html).into_response())
}

/// Shows a case change's refusal on the case page, or the error page.
async fn case_refusal(
    app: &Web,
    staff: &Staff,
    id: &str,
    e: AppError,
    form: &str,
    f: &Fields,
) -> Result<Response, PageError> {
    if shown_inline(&e) {
        let status = e.status();
        render_case(app, staff, id, Notice::refused(e.to_string(), form, f), status).await
    } else {
        Err(e.into())
    }
}

async fn decide_form(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let f = Fields(pairs);
    staff.check_csrf(f.one("csrf"))?;
    let decision = f.one("decision").to_owned();
    let result = if decision.is_empty() {
        Err(AppError::bad_request("case.decision", "请选择“同意”或“不同意”"))
    } else {
        let d = cases::Decision {
            stage: f.one("stage").to_owned(),
            decision: decision.clone(),
            opinion: f.one("opinion").to_owned(),
            signer: f.opt("signer"),
        };
        cases::decide(&app, &staff.actor, &id, &d).await
    };
    match result {
        Ok(case) => {
            let code = match case.state.as_str() {
                "completed" => "completed",
                "refused" => "refused",
                _ => "approved",
            };
            Ok(see_other(&format!("/cases/{id}?ok={code}")))
        }
        Err(e) => case_refusal(&app, &staff, &id, e, "decision", &f).await,
    }
}

async fn withdraw_form(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let f = Fields(pairs);
    staff.check_csrf(f.one("csrf"))?;
    let result = cases::withdraw(&app, &staff.actor, &id, f.one("reason")).await;
    match result {
        Ok(_) => Ok(see_other(&format!("/cases/{id}?ok=withdrawn"))),
        Err(e) => case_refusal(&app, &staff, &id, e, "withdraw", &f).await,
    }
}

/// Uploads a proof scan into the student's dossier and files it with the
/// case (either school party, while the case is open): the page form of
/// `POST /api/cases/{case}/proofs`.
async fn proof_form(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Result<Response, PageError> {
    let case = cases::visible(&app, &staff.actor, &id).await?;
    let refuse = |message: String, status: StatusCode| {
        let notice = Notice { error: Some(message), form: Some("proof".into()), ..Notice::default() };
        render_case(&app, &staff, &id, notice, status)
    };
    if staff.user.role.is_bureau() {
        return refuse("证明材料由学校学籍管理员扫描上传".into(), StatusCode::FORBIDDEN).await;
    }
    if case.state != "open" {
        return refuse(format!("该申请{}，不能再添加材料", cases::state_label(&case.state)), StatusCode::CONFLICT)
            .await;
    }
    let limit = app.archive.config().inspect.max_size;
    if content_length(&headers).is_some_and(|n| n > limit.saturating_add(MULTIPART_SLACK)) {
        let message = Failure::from(ArchiveError::TooLarge { limit }).message();
        return refuse(message, StatusCode::PAYLOAD_TOO_LARGE).await;
    }
    let student = cases::dossier_student(&app, &case).await?;
    let (mut csrf_ok, mut kind, mut label) = (false, None, String::new());
    let mut added = None;
    while let Some(mut field) = multipart.next_field().await.map_err(|_| bad_form())? {
        match field.name().unwrap_or("") {
            "csrf" => {
                staff.check_csrf(&small_text(&mut field).await?)?;
                csrf_ok = true;
            }
            "kind" => kind = Some(small_text(&mut field).await?),
            "label" => label = small_text(&mut field).await?,
            "file" if csrf_ok => {
                // A label the form could not print is refused before the scan is stored.
                if let Err(e) = cases::check_proof_label(&app, label.trim()) {
                    return case_refusal(&app, &staff, &id, e, "proof", &Fields::default()).await;
                }
                let name = field.file_name().unwrap_or("").to_owned();
                let outcome = async {
                    let upload = Upload {
                        kind: parse_kind(kind.as_deref())?,
                        original_name: name,
                        supersedes: None,
                        note: format!("随{}申请提交", case.kind.label()),
                    };
                    let (tx, reader) = channel();
                    let by = actor(&staff);
                    let (added, ()) = tokio::join!(
                        dossier::add_file(&app.db, &app.archive, &student, upload, Box::new(reader), &by),
                        feed_field(&mut field, tx)
                    );
                    added
                }
                .await;
                added = Some(outcome);
                break;
            }
            _ => break,
        }
    }
    if !csrf_ok {
        return Err(PageError(AppError::Csrf));
    }
    let Some(added) = added else {
        return refuse("请选择要上传的扫描件文件".into(), StatusCode::BAD_REQUEST).await;
    };
    let outcome = match &added {
        Ok(_) => "ok",
        Err(e) if e.is_refusal() => "refused",
        Err(_) => "error",
    };
    staff.audit(&app, "case.proof_upload", ("case", &id), Some(case.school_id), outcome, "").await?;
    let added = match added {
        Ok(a) => a,
        Err(e) => {
            let (message, status) = upload_refusal(e)?;
            return refuse(message, status).await;
        }
    };
    let digest = added.entry.digest.to_string();
    let label = if label.trim().is_empty() { added.entry.kind.label().to_owned() } else { label.trim().to_owned() };
    match cases::add_proof(&app, &staff.actor, &case, &digest, &label).await {
        Ok(()) => Ok(see_other(&format!("/cases/{id}?ok=proof"))),
        Err(e) => case_refusal(&app, &staff, &id, e, "proof", &Fields::default()).await,
    }
}

/// The receiving school files the transfer package it received (verified,
/// all or nothing) under the student's dossier and records the receipt: the
/// page form of `POST /api/cases/{case}/package`.
async fn package_form(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Result<Response, PageError> {
    let case = cases::visible(&app, &staff.actor, &id).await?;
    let refuse = |message: String, status: StatusCode| {
        let notice = Notice { error: Some(message), form: Some("package".into()), ..Notice::default() };
        render_case(&app, &staff, &id, notice, status)
    };
    if let Err(e) = crate::http::workflow::may_receive(&staff, &case) {
        return refuse(e.to_string(), e.status()).await;
    }
    let limit = app.archive.config().import.max_unpacked_bytes;
    if content_length(&headers).is_some_and(|n| n > limit.saturating_add(MULTIPART_SLACK)) {
        let message = Failure::from(ArchiveError::TooLarge { limit }).message();
        return refuse(message, StatusCode::PAYLOAD_TOO_LARGE).await;
    }
    let mut csrf_ok = false;
    let mut file = None;
    while let Some(mut field) = multipart.next_field().await.map_err(|_| bad_form())? {
        match field.name().unwrap_or("") {
            "csrf" => {
                staff.check_csrf(&small_text(&mut field).await?)?;
                csrf_ok = true;
            }
            "file" if csrf_ok => {
                let (tx, mut reader) = channel();
                let dir = app.config.data_dir.clone();
                let spooled = tokio::task::spawn_blocking(move || spool(&dir, &mut reader, limit));
                let (spooled, ()) = tokio::join!(spooled, feed_field(&mut field, tx));
                file = Some(spooled.map_err(|e| AppError::Internal(e.into()))?);
                break;
            }
            _ => break,
        }
    }
    if !csrf_ok {
        return Err(PageError(AppError::Csrf));
    }
    let result: Result<dossier::Imported, Failure> = async {
        let file = file.ok_or_else(|| {
            Failure::from(AppError::bad_request("case.package_missing", "请选择收到的传输包文件（zip）"))
        })??;
        crate::http::workflow::receive_package(&app, &staff, &case, file).await
    }
    .await;
    match result {
        Ok(_) => Ok(see_other(&format!("/cases/{id}?ok=received"))),
        Err(e) => {
            let (message, status) = upload_refusal(e)?;
            refuse(message, status).await
        }
    }
}

// ---- /transfers/new ----

async fn render_transfer(app: &Web, staff: &Staff, notice: Notice, status: StatusCode) -> Result<Response, PageError> {
    // The receiving school: one of the registrar's (any, for the bureau).
    let schools = scope_schools(app, staff).await?;
    let html = render(
        app,
        "transfer_new.html",
        Some(staff),
        context! {
            schools => schools, today => app.today().to_string(),
            error => notice.error, prev => notice.values,
        },
    )?;
    Ok((status, html).into_response())
}

async fn transfer_page(State(app): State<Arc<Web>>, staff: Staff) -> Result<Response, PageError> {
    render_transfer(&app, &staff, Notice::default(), StatusCode::OK).await
}

async fn transfer_form(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let f = Fields(pairs);
    staff.check_csrf(f.one("csrf"))?;
    let result = async {
        let req = cases::TransferRequest {
            student_no: Some(f.one("student_no").to_owned()),
            name: Some(f.one("name").to_owned()),
            student: None,
            to_school: f.opt("to_school"),
            to_class: f.number("to_class", "转入班号")?,
            external: None,
            reason: f.one("reason").to_owned(),
            guardian_name: f.one("guardian_name").to_owned(),
            guardian_phone: f.one("guardian_phone").to_owned(),
            apply_date: f.opt("apply_date"),
            proofs: Vec::new(),
            override_reason: if staff.user.role.is_bureau() { f.opt("override_reason") } else { None },
        };
        cases::open_transfer(&app, &staff.actor, &req).await
    }
    .await;
    match result {
        Ok(case) => Ok(see_other(&format!("/cases/{}?ok=opened", case.public_id))),
        Err(e) if shown_inline(&e) => {
            let status = e.status();
            render_transfer(&app, &staff, Notice::refused(e.to_string(), "transfer", &f), status).await
        }
        Err(e) => Err(e.into()),
    }
}

// ---- the student page's "学籍异动" section ----

/// The section of a student's page with the status workflows: which actions
/// the signed-in staff member may start for this student (decided by the
/// status machine, [`transitions::apply`]), the student's applications and
/// recall notices, and the scans of the dossier that can serve as proof.
pub async fn student_section(
    app: &Web,
    staff: &Staff,
    student: &Student,
    school: &School,
) -> Result<minijinja::Value, AppError> {
    use Action as A;
    let bureau = staff.user.role.is_bureau();
    let plain = workflow::facts(student, school, false);
    let special = workflow::facts(student, school, true);
    let may = |a: Action| transitions::apply(student.status, a, plain).is_ok();
    // Refused in principle, possible only with the bureau's recorded reason.
    let by_override = |a: Action| !may(a) && transitions::apply(student.status, a, special).is_ok();
    let list = cases::list(app, &staff.actor, false, Some(student.id)).await?;
    let open_case = list.iter().find(|c| c.state == "open");
    let mut actions: Vec<&str> = Vec::new();
    let mut notes: Vec<&str> = Vec::new();
    if bureau {
        if open_case.is_none() {
            if by_override(A::Suspend) {
                actions.push("suspension");
            }
            if by_override(A::StartTransfer) {
                actions.push("transfer_out");
            }
        }
    } else {
        if open_case.is_none() {
            for (action, code) in [
                (A::Suspend, "suspension"),
                (A::RenewSuspension, "renewal"),
                (A::Resume, "resumption"),
                (A::GoAbroad, "abroad"),
                (A::ChangeInfo, "info_change"),
                (A::StartTransfer, "transfer_out"),
            ] {
                if may(action) {
                    actions.push(code);
                }
            }
        }
        if may(A::SuspectDropout) {
            actions.push("suspected");
        }
        if may(A::MarkDropout) {
            actions.push("dropout");
        }
        // A recall notice goes to a student who may come back to school.
        if may(A::ReturnToSchool) {
            actions.push("recall");
        }
        if may(A::ReturnToSchool) || may(A::ReturnFound) || may(A::ReturnFromAbroad) {
            actions.push("return");
        }
        if may(A::ReportMissing) {
            actions.push("missing");
        }
        if may(A::Decease) && open_case.is_none() {
            actions.push("death");
        }
        if by_override(A::Suspend) {
            notes.push("毕业年级学生一般不准休学（第二十二条），确需休学的须由教育局记录理由后办理。");
        }
        if by_override(A::StartTransfer) {
            notes.push("毕业年级学生原则上不准转学（第二十条），确需转学的须由教育局记录理由后办理。");
        }
    }
    let recalls = direct::recalls_of(app, student.id).await?;
    // The scans that can be named as proof (the form's select).
    let mut entries = Vec::new();
    if !actions.is_empty() {
        let r = StudentRef { id: student.id, public_id: student.public_id.clone(), school_id: student.school_id };
        match dossier::view(&app.db, &app.archive, &r, None).await {
            Ok(v) => {
                staff
                    .audit(
                        app,
                        "archive.view",
                        ("student", &student.public_id),
                        Some(student.school_id),
                        "ok",
                        &format!("version={} entries={} for=workflow", v.version, v.entries.len()),
                    )
                    .await?;
                entries = v
                    .entries
                    .into_iter()
                    .map(|e| {
                        let name = if e.original_name.is_empty() { String::new() } else { format!("：{}", e.original_name) };
                        context! { digest => e.digest, kind => e.kind, label => format!("{}{name}（{}）", e.kind_label, e.added_at) }
                    })
                    .collect();
            }
            Err(e) => {
                e.log();
            }
        }
    }
    let case_rows: Vec<_> = list
        .iter()
        .map(|c| {
            context! {
                id => c.public_id.clone(), kind => c.kind.label(), state => c.state.clone(),
                state_label => cases::state_label(&c.state), stage => c.stage.map(Stage::label),
                stage_due => c.stage_due.clone(), opened_on => c.opened_on.clone(), closed_on => c.closed_on.clone(),
            }
        })
        .collect();
    let (since, until) = workflow::status_dates(&app.db.pool, student.id).await?;
    let classes = schools::classes_of(&app.db.pool, school.id).await?;
    let class_list = |grade: i64| -> Vec<minijinja::Value> {
        classes
            .iter()
            .filter(|c| c.grade == grade)
            .map(|c| context! { number => c.number, name => c.name(), enrolled => c.enrolled, cap => c.cap })
            .collect()
    };
    let record = serde_json::to_value(student).map_err(|e| AppError::Internal(e.into()))?;
    let changeable: Vec<_> = cases::CHANGEABLE
        .iter()
        .map(|(code, label)| {
            let current = match (*code, record.get(*code)) {
                ("gender", _) => student.gender.label().to_owned(),
                (_, Some(Value::String(s))) => s.clone(),
                _ => String::new(),
            };
            context! { code => *code, label => *label, current => current }
        })
        .collect();
    let guardian = student.guardians.first();
    let return_kind = match student.status {
        StudentStatus::Abroad => "abroad",
        StudentStatus::Missing => "missing",
        _ => "dropout",
    };
    let grades: Vec<(i64, String)> =
        school.kind.grades().map(|g| (i64::from(g), schools::grade_name(i64::from(g)))).collect();
    Ok(context! {
        bureau => bureau,
        actions => actions,
        notes => notes,
        open_case => open_case.map(|c| context! { id => c.public_id.clone(), kind => c.kind.label() }),
        cases => case_rows,
        recalls => recalls,
        entries => entries,
        since => since,
        until => until,
        today => app.today().to_string(),
        guardian_name => guardian.map(|g| g.name.clone()),
        guardian_phone => guardian.map(|g| g.phone.clone()),
        same_grade_classes => class_list(student.grade),
        next_grade_classes => class_list(student.grade + 1),
        has_next_grade => student.grade < i64::from(school.kind.graduating_grade()),
        grades => grades,
        changeable => changeable,
        return_kind => return_kind,
    })
}

/// What a student-page form led to.
enum Done {
    /// An application was opened: on to its page, to add the proofs.
    Case(String),
    /// A record was changed: back to the student's page with this message.
    Student(String, &'static str),
    /// A document to print (the recall notice).
    Pdf(Response),
}

/// The dossier scans named in a form, with their kinds as labels.
async fn proof_refs(app: &Web, public_id: &str, digests: Vec<String>) -> Result<Vec<cases::ProofRef>, AppError> {
    if digests.is_empty() {
        return Ok(Vec::new());
    }
    let mut labels = BTreeMap::new();
    if let Some(r) = dossier::student_by_public_id(&app.db, public_id).await?
        && let Ok(view) = dossier::view(&app.db, &app.archive, &r, None).await
    {
        for e in view.entries {
            labels.insert(e.digest, e.kind_label.to_owned());
        }
    }
    Ok(digests
        .into_iter()
        .map(|d| {
            let label = labels.get(&d).cloned().unwrap_or_default();
            cases::ProofRef { digest: d, label }
        })
        .collect())
}

fn suspension_request(
    f: &Fields,
    proofs: Vec<cases::ProofRef>,
    staff: &Staff,
) -> Result<cases::SuspensionRequest, AppError> {
    Ok(cases::SuspensionRequest {
        reason: f.one("reason").to_owned(),
        start_date: f.opt("start_date"),
        resume_grade: f.opt("resume_grade"),
        class_number: f.number("class_number", "班号")?,
        guardian_name: f.one("guardian_name").to_owned(),
        guardian_phone: f.one("guardian_phone").to_owned(),
        proofs,
        override_reason: if staff.user.role.is_bureau() { f.opt("override_reason") } else { None },
    })
}

async fn run_student_action(app: &Web, staff: &Staff, id: &str, action: &str, f: &Fields) -> Result<Done, AppError> {
    match action {
        "suspension" | "renewal" | "resumption" => {
            let kind = match action {
                "suspension" => CaseKind::Suspension,
                "renewal" => CaseKind::Renewal,
                _ => CaseKind::Resumption,
            };
            let result = async {
                let req = suspension_request(f, proof_refs(app, id, f.many("proof")).await?, staff)?;
                cases::open_suspension(app, &staff.actor, id, kind, &req).await
            }
            .await;
            let case = result?;
            Ok(Done::Case(case.public_id))
        }
        "abroad" => {
            let result = async {
                let req = cases::AbroadRequest {
                    departure_date: f.one("departure_date").to_owned(),
                    country: f.one("country").to_owned(),
                    reason: f.one("reason").to_owned(),
                    guardian_name: f.one("guardian_name").to_owned(),
                    guardian_phone: f.one("guardian_phone").to_owned(),
                    proofs: proof_refs(app, id, f.many("proof")).await?,
                };
                cases::open_abroad(app, &staff.actor, id, &req).await
            }
            .await;
            let case = result?;
            Ok(Done::Case(case.public_id))
        }
        "info_change" => {
            let result = async {
                let mut changes = serde_json::Map::new();
                for (code, _) in cases::CHANGEABLE {
                    if let Some(v) = f.opt(&format!("change_{code}")) {
                        changes.insert(code.to_owned(), Value::String(v));
                    }
                }
                let req = cases::InfoChangeRequest {
                    changes,
                    reason: f.one("reason").to_owned(),
                    guardian_name: f.one("guardian_name").to_owned(),
                    proofs: proof_refs(app, id, f.many("proof")).await?,
                };
                cases::open_info_change(app, &staff.actor, id, &req).await
            }
            .await;
            let case = result?;
            Ok(Done::Case(case.public_id))
        }
        "transfer_out" => {
            let result = async {
                let approval = |stage: &str| cases::ManualStep {
                    stage: stage.to_owned(),
                    decision: "approve".to_owned(),
                    opinion: f.one(&format!("{stage}_opinion")).to_owned(),
                    signer: f.one(&format!("{stage}_signer")).to_owned(),
                    date: f.one(&format!("{stage}_date")).to_owned(),
                    proof: f.one(&format!("{stage}_proof")).to_owned(),
                };
                let req = cases::TransferRequest {
                    student_no: None,
                    name: None,
                    student: Some(id.to_owned()),
                    to_school: None,
                    to_class: None,
                    external: Some(cases::External {
                        province: f.one("province").to_owned(),
                        county: f.one("county").to_owned(),
                        school: f.one("school").to_owned(),
                        approvals: vec![approval("receiving_school"), approval("receiving_bureau")],
                    }),
                    reason: f.one("reason").to_owned(),
                    guardian_name: f.one("guardian_name").to_owned(),
                    guardian_phone: f.one("guardian_phone").to_owned(),
                    apply_date: f.opt("apply_date"),
                    proofs: proof_refs(app, id, f.many("proof")).await?,
                    override_reason: if staff.user.role.is_bureau() { f.opt("override_reason") } else { None },
                };
                cases::open_transfer(app, &staff.actor, &req).await
            }
            .await;
            let case = result?;
            Ok(Done::Case(case.public_id))
        }
        "suspected" | "dropout" => {
            let report = direct::DropoutReport {
                absent_since: f.one("absent_since").to_owned(),
                note: f.one("note").to_owned(),
            };
            let (result, code) = if action == "suspected" {
                (direct::suspect_dropout(app, &staff.actor, id, &report).await, "suspected")
            } else {
                (direct::report_dropout(app, &staff.actor, id, &report).await, "dropout")
            };
            result?;
            Ok(Done::Student(id.to_owned(), code))
        }
        "recall" => {
            let req = direct::RecallRequest {
                return_by: f.opt("return_by"),
                contact_person: f.one("contact_person").to_owned(),
                contact_phone: f.one("contact_phone").to_owned(),
            };
            let result = direct::issue_recall(app, &staff.actor, id, &req).await;
            let (_, issued) = result?;
            Ok(Done::Pdf(pdf_response(issued.pdf.bytes, &issued.file_name)))
        }
        "delivery" => {
            let d = direct::Delivery {
                delivered_on: f.one("delivered_on").to_owned(),
                delivered_to: f.one("delivered_to").to_owned(),
                method: f.one("method").to_owned(),
            };
            let result = direct::record_delivery(app, &staff.actor, f.one("number"), &d).await;
            let recall = result?;
            Ok(Done::Student(recall.student, "delivered"))
        }
        "return" => {
            let result = async {
                let r = direct::Return {
                    returned_on: f.one("returned_on").to_owned(),
                    grade: f.number("grade", "年级")?,
                    class_number: f.number("class_number", "班号")?,
                    note: f.one("note").to_owned(),
                };
                direct::record_return(app, &staff.actor, id, &r).await
            }
            .await;
            result?;
            Ok(Done::Student(id.to_owned(), "returned"))
        }
        "missing" => {
            let m = direct::Missing {
                since: f.one("since").to_owned(),
                kind: f.one("kind").to_owned(),
                proofs: f.many("proof"),
                note: f.one("note").to_owned(),
            };
            let result = direct::report_missing(app, &staff.actor, id, &m).await;
            result?;
            Ok(Done::Student(id.to_owned(), "missing"))
        }
        "death" => {
            let d = direct::Death {
                died_on: f.one("died_on").to_owned(),
                proofs: f.many("proof"),
                note: f.one("note").to_owned(),
            };
            let result = direct::record_death(app, &staff.actor, id, &d).await;
            let recorded = result?;
            Ok(Done::Student(id.to_owned(), if recorded.late { "deceased_late" } else { "deceased" }))
        }
        _ => Err(AppError::NotFound),
    }
}

async fn student_action(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path((id, action)): Path<(String, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let f = Fields(pairs);
    staff.check_csrf(f.one("csrf"))?;
    match run_student_action(&app, &staff, &id, &action, &f).await {
        Ok(Done::Case(case)) => Ok(see_other(&format!("/cases/{case}?ok=opened"))),
        Ok(Done::Student(student, code)) => Ok(see_other(&format!("/students/{student}?ok={code}"))),
        Ok(Done::Pdf(pdf)) => Ok(pdf),
        Err(e) if shown_inline(&e) => {
            let status = e.status();
            let notice = Notice::refused(e.to_string(), &action, &f);
            crate::http::students::render_student(&app, &staff, &id, notice, status).await
        }
        Err(e) => Err(e.into()),
    }
}

// ---- /years ----

/// `?year=YYYY&ok=…`.
#[derive(Debug, Default, serde::Deserialize)]
pub struct YearsQuery {
    /// The year (default this year).
    #[serde(default)]
    year: Option<String>,
    /// The message code.
    #[serde(default)]
    ok: Option<String>,
}

fn run_kind(kind: &str) -> Result<yearly::RunKind, AppError> {
    match kind {
        "graduation" => Ok(yearly::RunKind::Graduation),
        "promotion" => Ok(yearly::RunKind::Promotion),
        _ => Err(AppError::NotFound),
    }
}

fn run_year(year: &str) -> Result<i32, AppError> {
    year.trim()
        .parse::<i32>()
        .ok()
        .filter(|y| (2000..=2100).contains(y))
        .ok_or_else(|| AppError::bad_request("year.invalid", format!("年份“{year}”无效")))
}

async fn years_page(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Query(q): Query<YearsQuery>,
) -> Result<Response, PageError> {
    staff.require_bureau()?;
    let year = match q.year.as_deref().filter(|y| !y.trim().is_empty()) {
        Some(y) => run_year(y)?,
        None => app.today().year(),
    };
    render_years(&app, &staff, year, Notice::ok(q.ok.as_deref()), StatusCode::OK).await
}

async fn render_years(
    app: &Web,
    staff: &Staff,
    year: i32,
    notice: Notice,
    status: StatusCode,
) -> Result<Response, PageError> {
    let graduation = yearly::preview(app, yearly::RunKind::Graduation, year).await?;
    let promotion = yearly::preview(app, yearly::RunKind::Promotion, year).await?;
    let this_year = app.today().year();
    let html = render(
        app,
        "years.html",
        Some(staff),
        context! {
            year => year, years => vec![this_year - 1, this_year, this_year + 1],
            runs => vec![graduation, promotion],
            error => notice.error, message => notice.message, form => notice.form, prev => notice.values,
        },
    )?;
    Ok((status, html).into_response())
}

async fn year_form(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path((kind, year)): Path<(String, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let f = Fields(pairs);
    staff.check_csrf(f.one("csrf"))?;
    staff.require_bureau()?;
    let kind = run_kind(&kind)?;
    let year = run_year(&year)?;
    let result = if f.opt("confirm").is_none() {
        Err(AppError::bad_request("year.confirm_required", "请先核对预览表，勾选“已核对”后再确认办理"))
    } else {
        yearly::run(&app, &staff.actor, kind, year, f.opt("late_reason").as_deref()).await
    };
    match result {
        Ok(_) => Ok(see_other(&format!("/years?year={year}&ok={}", kind.code()))),
        Err(e) if shown_inline(&e) => {
            let status = e.status();
            render_years(&app, &staff, year, Notice::refused(e.to_string(), kind.code(), &f), status).await
        }
        Err(e) => Err(e.into()),
    }
}

// ---- /overdue ----

/// `?kind=…&sort=…`.
#[derive(Debug, Default, serde::Deserialize)]
pub struct OverdueQuery {
    /// Only this kind.
    #[serde(default)]
    kind: Option<String>,
    /// `days` (default, most overdue first) or `school`.
    #[serde(default)]
    sort: Option<String>,
}

async fn overdue_page(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Query(q): Query<OverdueQuery>,
) -> Result<Response, PageError> {
    staff.require_bureau()?;
    let items = overdue::list(&app, None).await?;
    let mut counts: Vec<(&'static str, &'static str, usize)> = Vec::new();
    for i in &items {
        match counts.iter_mut().find(|c| c.0 == i.kind) {
            Some(c) => c.2 += 1,
            None => counts.push((i.kind, i.label, 1)),
        }
    }
    counts.sort_by_key(|c| std::cmp::Reverse(c.2));
    let kind = q.kind.filter(|k| !k.is_empty());
    let mut shown: Vec<overdue::Item> =
        items.iter().filter(|i| kind.as_deref().is_none_or(|k| i.kind == k)).cloned().collect();
    let sort = if q.sort.as_deref() == Some("school") { "school" } else { "days" };
    if sort == "school" {
        shown.sort_by(|a, b| a.school_code.cmp(&b.school_code).then_with(|| b.days_overdue.cmp(&a.days_overdue)));
    }
    staff
        .audit(
            &app,
            "overdue.list",
            ("overdue", "*"),
            None,
            "ok",
            &format!("shown={} total={}", shown.len(), items.len()),
        )
        .await?;
    let html = render(
        &app,
        "overdue.html",
        Some(&staff),
        context! { items => shown, counts => counts, total => items.len(), kind => kind, sort => sort },
    )?;
    Ok(html.into_response())
}
