//! Dropout control (see [`crate::service::dropout`]): the ledger page and API.
//!
//! - `GET /dropout?school=&month=`: a school's monthly ledger (the bureau
//!   without a school: every school's standing for the month); forms to
//!   enter a pupil, name the teacher, record a home visit, end an entry,
//!   report an absence, submit the month (school) and close it (bureau);
//! - `GET /api/dropout/{school}/{month}`, `GET /api/dropout/months/{month}`,
//!   `POST /api/dropout/{school}/{month}/submit`, `…/close`,
//!   `POST /api/students/{pid}/dropout-watch`, `PUT /api/dropout/entries/{id}/teacher`,
//!   `POST /api/dropout/entries/{id}/visits`, `POST /api/dropout/entries/{id}/close`,
//!   `POST /api/students/{pid}/absence`, `POST /api/students/{pid}/absence/end`.

use crate::error::AppError;
use crate::http::Web;
use crate::http::auth::Staff;
use crate::http::pages::{PageError, render};
use crate::service::dropout::{self, AbsenceRequest, AddRequest, CloseRequest, VisitRequest};
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use minijinja::context;
use std::sync::Arc;

/// The routes.
pub fn router() -> Router<Arc<Web>> {
    Router::new()
        .route("/dropout", get(page))
        .route("/dropout/entries", post(add_form))
        .route("/dropout/entries/{id}/{action}", post(entry_form))
        .route("/dropout/absences", post(absence_form))
        .route("/dropout/month/{action}", post(month_form))
        .route("/api/dropout/months/{month}", get(standings_api))
        .route("/api/dropout/{school}/{month}", get(ledger_api))
        .route("/api/dropout/{school}/{month}/submit", post(submit_api))
        .route("/api/dropout/{school}/{month}/close", post(close_month_api))
        .route("/api/students/{pid}/dropout-watch", post(add_api))
        .route("/api/dropout/entries/{id}/teacher", put(teacher_api))
        .route("/api/dropout/entries/{id}/visits", post(visit_api))
        .route("/api/dropout/entries/{id}/close", post(close_entry_api))
        .route("/api/students/{pid}/absence", post(absence_api))
        .route("/api/students/{pid}/absence/end", post(absence_end_api))
}

async fn ledger_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path((school, month)): Path<(String, String)>,
) -> Result<Json<dropout::Ledger>, AppError> {
    Ok(Json(dropout::ledger(&app, &staff.actor, &school, &month).await?))
}

async fn standings_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(month): Path<String>,
) -> Result<Json<Vec<dropout::Standing>>, AppError> {
    Ok(Json(dropout::standings(&app, &staff.actor, &month).await?))
}

async fn submit_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path((school, month)): Path<(String, String)>,
) -> Result<Json<serde_json::Value>, AppError> {
    let n = dropout::submit(&app, &staff.actor, &school, &month).await?;
    Ok(Json(serde_json::json!({ "entries": n })))
}

async fn close_month_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path((school, month)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    dropout::close_month(&app, &staff.actor, &school, &month).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn add_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(pid): Path<String>,
    Json(req): Json<AddRequest>,
) -> Result<StatusCode, AppError> {
    dropout::add(&app, &staff.actor, &pid, &req).await?;
    Ok(StatusCode::CREATED)
}

/// The teacher named.
#[derive(Debug, serde::Deserialize)]
pub struct TeacherBody {
    teacher: String,
}

async fn teacher_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(id): Path<i64>,
    Json(b): Json<TeacherBody>,
) -> Result<StatusCode, AppError> {
    dropout::set_teacher(&app, &staff.actor, id, &b.teacher).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn visit_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(id): Path<i64>,
    Json(req): Json<VisitRequest>,
) -> Result<StatusCode, AppError> {
    dropout::add_visit(&app, &staff.actor, id, &req).await?;
    Ok(StatusCode::CREATED)
}

async fn close_entry_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(id): Path<i64>,
    Json(req): Json<CloseRequest>,
) -> Result<StatusCode, AppError> {
    dropout::close_entry(&app, &staff.actor, id, &req).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn absence_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(pid): Path<String>,
    Json(req): Json<AbsenceRequest>,
) -> Result<StatusCode, AppError> {
    dropout::report_absence(&app, &staff.actor, &pid, &req).await?;
    Ok(StatusCode::CREATED)
}

async fn absence_end_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(pid): Path<String>,
) -> Result<StatusCode, AppError> {
    dropout::end_absence(&app, &staff.actor, &pid).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The page's query and its forms' fields.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Params {
    #[serde(default)]
    school: String,
    #[serde(default)]
    month: String,
    #[serde(default)]
    ok: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    student_no: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    teacher: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    visited_on: String,
    #[serde(default)]
    visitor: String,
    #[serde(default)]
    result: String,
    #[serde(default)]
    returned_on: String,
    #[serde(default)]
    outcome: String,
}

impl Params {
    fn month(&self, today: chrono::NaiveDate) -> String {
        match self.month.trim() {
            "" => today.format("%Y-%m").to_string(),
            m => m.to_owned(),
        }
    }

    fn back(&self, today: chrono::NaiveDate, ok: &str) -> String {
        let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        format!("/dropout?school={}&month={}&ok={ok}", encode(self.school.trim()), encode(&self.month(today)))
    }
}

async fn page(State(app): State<Arc<Web>>, staff: Staff, Query(p): Query<Params>) -> Result<Response, PageError> {
    show(&app, &staff, &p, None, StatusCode::OK).await
}

async fn show(
    app: &Web,
    staff: &Staff,
    p: &Params,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let today = app.today();
    let month = p.month(today);
    let school = match p.school.trim() {
        "" if !staff.actor.is_bureau() => match staff.actor.school_id {
            Some(id) => crate::db::schools::by_id(&app.db.pool, id).await?.map(|s| s.code).unwrap_or_default(),
            None => String::new(),
        },
        code => code.to_owned(),
    };
    let ledger =
        if school.is_empty() { None } else { Some(dropout::ledger(app, &staff.actor, &school, &month).await?) };
    let standings = dropout::standings(app, &staff.actor, &month).await?;
    let message = match p.ok.as_str() {
        "" => None,
        "submitted" => Some("本月台账已报送教育局。".to_owned()),
        "closed" => Some("已关账。".to_owned()),
        _ => Some("已保存。".to_owned()),
    };
    let html = render(
        app,
        "dropout.html",
        Some(staff),
        context! {
            ledger => ledger, standings => standings, month => month, school => school, error => error,
            message => message, kinds => dropout::KINDS, today => today.to_string(),
            warn_days => app.config.absence_warn_days,
        },
    )?;
    Ok((status, html).into_response())
}

/// A refusal the person can act on stays on the page; anything else is an error page.
async fn answer(app: &Web, staff: &Staff, p: &Params, result: Result<&str, AppError>) -> Result<Response, PageError> {
    match result {
        Ok(ok) => Ok(Redirect::to(&p.back(app.today(), ok)).into_response()),
        Err(e) if e.is_refusal() => show(app, staff, p, Some(e.to_string()), e.status()).await,
        Err(e) => Err(e.into()),
    }
}

async fn public_id_of(app: &Web, no: &str) -> Result<String, AppError> {
    let no = no.trim().to_ascii_uppercase();
    crate::db::students::ids_by_student_no(&app.db.pool, &no).await?.map(|i| i.public_id).ok_or_else(|| {
        crate::domain::DomainError::new("dropout.student_not_found", "学籍号", no, "：本系统中没有该学生").into()
    })
}

async fn add_form(State(app): State<Arc<Web>>, staff: Staff, Form(p): Form<Params>) -> Result<Response, PageError> {
    staff.check_csrf(&p.csrf)?;
    let result = async {
        let pid = public_id_of(&app, &p.student_no).await?;
        let req = AddRequest {
            kind: p.kind.clone(),
            since: p.since.clone(),
            reason: p.reason.clone(),
            teacher: p.teacher.clone(),
        };
        dropout::add(&app, &staff.actor, &pid, &req).await.map(|()| "added")
    }
    .await;
    answer(&app, &staff, &p, result).await
}

async fn absence_form(State(app): State<Arc<Web>>, staff: Staff, Form(p): Form<Params>) -> Result<Response, PageError> {
    staff.check_csrf(&p.csrf)?;
    let result = async {
        let pid = public_id_of(&app, &p.student_no).await?;
        let req = AbsenceRequest { since: p.since.clone(), note: p.note.clone() };
        dropout::report_absence(&app, &staff.actor, &pid, &req).await.map(|()| "absence")
    }
    .await;
    answer(&app, &staff, &p, result).await
}

async fn entry_form(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path((id, action)): Path<(i64, String)>,
    Form(p): Form<Params>,
) -> Result<Response, PageError> {
    staff.check_csrf(&p.csrf)?;
    let a = &staff.actor;
    let result = match action.as_str() {
        "teacher" => dropout::set_teacher(&app, a, id, &p.teacher).await.map(|()| "teacher"),
        "visit" => {
            let req =
                VisitRequest { visited_on: p.visited_on.clone(), visitor: p.visitor.clone(), result: p.result.clone() };
            dropout::add_visit(&app, a, id, &req).await.map(|()| "visit")
        }
        "close" => {
            let req = CloseRequest { returned_on: p.returned_on.clone(), outcome: p.outcome.clone() };
            dropout::close_entry(&app, a, id, &req).await.map(|()| "ended")
        }
        _ => Err(AppError::NotFound),
    };
    answer(&app, &staff, &p, result).await
}

async fn month_form(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(action): Path<String>,
    Form(p): Form<Params>,
) -> Result<Response, PageError> {
    staff.check_csrf(&p.csrf)?;
    let month = p.month(app.today());
    let result = match action.as_str() {
        "submit" => dropout::submit(&app, &staff.actor, &p.school, &month).await.map(|_| "submitted"),
        "close" => dropout::close_month(&app, &staff.actor, &p.school, &month).await.map(|()| "closed"),
        _ => Err(AppError::NotFound),
    };
    answer(&app, &staff, &p, result).await
}
