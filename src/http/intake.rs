//! The bureau's hold on intake, as JSON (each through its service, which
//! checks the right and audits):
//! - `GET /api/schools/{code}/plans`: the school's plans with their history;
//! - `PUT /api/schools/{code}/plans/{year}` `{"classes", "places"}`: the bureau issues a plan;
//! - `POST /api/schools/{code}/plans/{year}/requests`, multipart (`classes`,
//!   `places`, `reason`, then `file`: the signed request's scan): the school
//!   asks to change its plan;
//! - `GET /api/plan-requests`: the requests awaiting the bureau;
//! - `POST /api/plan-requests/{id}/decision` `{"approve", "note"}`;
//! - `PUT /api/schools/{code}/plans/{year}/late-intake` `{"until", "reason"}`;
//! - `GET`/`PUT /api/schools/{code}/district` `{"places": […], "migrant_children"}`;
//! - `POST /api/delayed-entries`, multipart (the [`DelayRequest`] fields,
//!   then `file`: the diagnosis scan); `GET /api/delayed-entries?expected=&absent=`;
//!   `POST /api/delayed-entries/{id}/decision` `{"verdict", "note"}`;
//! - `GET /api/intake-papers/{sha256}`: a request's or a diagnosis's scan;
//! - `GET /api/special-needs`: the pupils with special needs (Art. 12).
//!
//! Personal data travels in bodies only, never in the URL.

use crate::db::delays::Delay;
use crate::db::intake::{Plan, PlanEvent};
use crate::error::AppError;
use crate::http::archive::{UploadSource, spool_upload};
use crate::http::auth::Staff;
use crate::http::{ApiJson, Web};
use crate::service::delays::{self, DelayRequest, Listed, Verdict};
use crate::service::plans::{self, Figures, PlanView};
use crate::service::schools::{self, District};
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use std::collections::HashMap;
use std::io::{Seek, SeekFrom};
use std::sync::Arc;

/// The intake routes.
pub fn router() -> Router<Arc<Web>> {
    Router::new()
        .route("/api/schools/{code}/plans", get(plans_api))
        .route("/api/schools/{code}/plans/{year}", put(issue_api))
        .route("/api/schools/{code}/plans/{year}/requests", post(request_api))
        .route("/api/schools/{code}/plans/{year}/late-intake", put(late_api))
        .route("/api/plan-requests", get(pending_api))
        .route("/api/plan-requests/{id}/decision", post(decide_api))
        .route("/api/schools/{code}/district", get(district_api).put(set_district_api))
        .route("/api/delayed-entries", get(delays_api).post(file_delay_api))
        .route("/api/delayed-entries/{id}/decision", post(decide_delay_api))
        .route("/api/intake-papers/{digest}", get(paper_api))
        .route("/api/special-needs", get(special_needs_api))
        // The scans' sizes are enforced while spooling.
        .layer(DefaultBodyLimit::disable())
}

fn year_of(s: &str) -> Result<i32, AppError> {
    s.trim()
        .parse()
        .ok()
        .filter(|y| (2000..=2100).contains(y))
        .ok_or_else(|| AppError::bad_request("plan.year_invalid", format!("招生年度“{s}”应为四位年份，如 2027")))
}

/// A school's plans.
#[derive(Debug, serde::Serialize)]
pub struct PlansAnswer {
    /// The school's code.
    school: String,
    /// Its plans, newest year first.
    plans: Vec<PlanView>,
}

async fn plans_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(code): Path<String>,
) -> Result<Json<PlansAnswer>, AppError> {
    let (school, plans) = plans::list(&app.db, &staff.actor, app.today(), &code).await?;
    Ok(Json(PlansAnswer { school: school.code, plans }))
}

async fn issue_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path((code, year)): Path<(String, String)>,
    ApiJson(f): ApiJson<Figures>,
) -> Result<Json<Plan>, AppError> {
    Ok(Json(plans::issue(&app.db, &staff.actor, app.today(), &code, year_of(&year)?, f).await?))
}

/// The fields of a multipart form before its `file`, and the file spooled.
pub(super) struct PaperForm {
    fields: HashMap<String, String>,
    file: Option<(std::fs::File, String)>,
}

fn bad_form() -> AppError {
    AppError::bad_request("form.invalid", "表单内容不完整或格式不正确：先填写各项，最后附上扫描件（file）")
}

/// Reads a paper form: its text fields, then its `file`, spooled (refused
/// past the archive's size limit). A page form (`page`) must carry the
/// session's `csrf` field before its file.
pub(super) async fn paper_form(app: &Web, mut form: Multipart, page: Option<&Staff>) -> Result<PaperForm, AppError> {
    let mut fields = HashMap::new();
    let limit = app.archive.config().inspect.max_size;
    while let Some(mut field) = form.next_field().await.map_err(|_| bad_form())? {
        let name = field.name().unwrap_or("").to_owned();
        if name == "file" {
            if let Some(staff) = page {
                staff.check_csrf(fields.get("csrf").map_or("", String::as_str))?;
            }
            if field.file_name().is_none_or(str::is_empty) {
                return Ok(PaperForm { fields, file: None });
            }
            let file_name = field.file_name().unwrap_or("").to_owned();
            let mut file = spool_upload(app, UploadSource::Field(&mut field), limit).await.map_err(|f| f.into_app())?;
            file.seek(SeekFrom::Start(0)).map_err(|e| AppError::Internal(e.into()))?;
            return Ok(PaperForm { fields, file: Some((file, file_name)) });
        }
        let value = crate::http::streams::small_text(&mut field, bad_form).await?;
        fields.insert(name, value);
    }
    Ok(PaperForm { fields, file: None })
}

impl PaperForm {
    pub(super) fn text(&self, name: &str) -> String {
        self.fields.get(name).cloned().unwrap_or_default()
    }

    pub(super) fn number<T: std::str::FromStr>(&self, name: &str, label: &str) -> Result<T, AppError> {
        self.text(name)
            .trim()
            .parse()
            .map_err(|_| AppError::bad_request("form.number_invalid", format!("{label}应为数字")))
    }

    pub(super) fn scan(&mut self) -> Result<(Box<dyn std::io::Read + Send>, String), AppError> {
        let (file, name) = self
            .file
            .take()
            .ok_or_else(|| AppError::bad_request("paper.scan_required", "请附上书面材料的扫描件（file）"))?;
        Ok((Box::new(file), name))
    }

    /// The fields of a delayed-entry application.
    pub(super) fn delay_request(&self) -> Result<DelayRequest, AppError> {
        let optional_number = |name: &str, label: &str| -> Result<Option<i32>, AppError> {
            if self.text(name).trim().is_empty() { Ok(None) } else { self.number(name, label).map(Some) }
        };
        Ok(DelayRequest {
            school: self.text("school"),
            name: self.text("name"),
            id_number: self.text("id_number"),
            intake_year: optional_number("intake_year", "延缓入学年度")?,
            years: optional_number("years", "延缓年限")?,
            guardian_name: self.text("guardian_name"),
            guardian_phone: self.text("guardian_phone"),
            hospital: self.text("hospital"),
            diagnosis: self.text("diagnosis"),
        })
    }
}

async fn request_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path((code, year)): Path<(String, String)>,
    form: Multipart,
) -> Result<Json<PlanEvent>, AppError> {
    let year = year_of(&year)?;
    let mut form = paper_form(&app, form, None).await?;
    let figures =
        Figures { classes: form.number("classes", "计划班数")?, places: form.number("places", "计划人数")? };
    let reason = form.text("reason");
    let (reader, name) = form.scan()?;
    let event = plans::request_change(
        &app.db,
        &app.archive,
        &app.coverage,
        &staff.actor,
        &code,
        year,
        figures,
        &reason,
        (reader, &name),
    )
    .await?;
    Ok(Json(event))
}

/// A plan change request with its plan, as the bureau's list shows it.
#[derive(Debug, serde::Serialize)]
pub struct PendingRequest {
    /// The plan it would change.
    plan: Plan,
    /// The request.
    request: PlanEvent,
}

async fn pending_api(State(app): State<Arc<Web>>, staff: Staff) -> Result<Json<Vec<PendingRequest>>, AppError> {
    let list = plans::pending(&app.db, &staff.actor).await?;
    Ok(Json(list.into_iter().map(|(plan, request)| PendingRequest { plan, request }).collect()))
}

/// The bureau's decision on a request.
#[derive(Debug, serde::Deserialize)]
pub struct DecisionBody {
    approve: bool,
    #[serde(default)]
    note: String,
}

async fn decide_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<DecisionBody>,
) -> Result<Json<Plan>, AppError> {
    Ok(Json(plans::decide(&app.db, &app.coverage, &staff.actor, app.today(), id, body.approve, &body.note).await?))
}

/// A late-intake permission.
#[derive(Debug, serde::Deserialize)]
pub struct LateBody {
    until: String,
    reason: String,
}

async fn late_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path((code, year)): Path<(String, String)>,
    ApiJson(body): ApiJson<LateBody>,
) -> Result<Json<Plan>, AppError> {
    let until = crate::domain::parse_date("延期招生截止日期", &body.until)?;
    let plan = plans::allow_late(
        &app.db,
        &app.coverage,
        &staff.actor,
        app.today(),
        &code,
        year_of(&year)?,
        until,
        &body.reason,
    )
    .await?;
    Ok(Json(plan))
}

async fn district_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(code): Path<String>,
) -> Result<Json<District>, AppError> {
    Ok(Json(schools::district(&app.db, &staff.actor, &code).await?.1))
}

async fn set_district_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(code): Path<String>,
    ApiJson(body): ApiJson<District>,
) -> Result<Json<District>, AppError> {
    Ok(Json(schools::set_district(&app.db, &app.coverage, &staff.actor, code.trim(), &body).await?))
}

async fn file_delay_api(State(app): State<Arc<Web>>, staff: Staff, form: Multipart) -> Result<Json<Delay>, AppError> {
    let mut form = paper_form(&app, form, None).await?;
    let req = form.delay_request()?;
    let (reader, name) = form.scan()?;
    let delay =
        delays::file(&app.db, &app.archive, &app.coverage, &staff.actor, app.today(), &req, (reader, &name)).await?;
    Ok(Json(delay))
}

/// The list's filter.
#[derive(Debug, Default, serde::Deserialize)]
pub struct DelayQuery {
    /// Only the children expected in this intake.
    #[serde(default)]
    expected: Option<i32>,
    /// Only the absent ones.
    #[serde(default)]
    absent: bool,
}

async fn delays_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Query(q): Query<DelayQuery>,
) -> Result<Json<Vec<Listed>>, AppError> {
    Ok(Json(delays::list(&app.db, &staff.actor, app.today(), q.expected, q.absent).await?))
}

/// The bureau's verdict on an application.
#[derive(Debug, serde::Deserialize)]
pub struct VerdictBody {
    verdict: Verdict,
    #[serde(default)]
    note: String,
}

async fn decide_delay_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<VerdictBody>,
) -> Result<Json<Delay>, AppError> {
    Ok(Json(delays::decide(&app.db, &app.coverage, &staff.actor, &id, body.verdict, &body.note).await?))
}

async fn paper_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(digest): Path<String>,
) -> Result<Response, AppError> {
    let (bytes, media) = delays::paper(&app.db, &app.archive, &staff.actor, &digest).await?;
    Ok(([(header::CONTENT_TYPE, media), (header::CACHE_CONTROL, "private, no-store")], bytes).into_response())
}

async fn special_needs_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
) -> Result<Json<Vec<crate::db::special_needs::SpecialNeedsPupil>>, AppError> {
    Ok(Json(crate::service::special_needs::list(&app.db, &staff.actor).await?))
}
