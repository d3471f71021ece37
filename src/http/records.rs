//! New records' approval (学籍审核): `GET /records` shows a registrar their
//! school's records to submit or correct and the bureau the records awaiting
//! its review; `POST /records` takes either form. The JSON API:
//! `GET /api/records/awaiting?school=…`, `POST /api/records/submit`
//! (`{"school": …, "students": [...]}`) and `POST /api/records/review`
//! (`{"decisions": [{"student", "approve", "reason"}]}`). Every action goes
//! through [`crate::service::records`].

use crate::error::AppError;
use crate::http::Web;
use crate::http::auth::Staff;
use crate::http::pages::{PageError, render};
use crate::service::records::{self, Decision, Reviewed, SubmitRequest};
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use minijinja::context;
use std::sync::Arc;

/// The approval routes.
pub fn router() -> Router<Arc<Web>> {
    Router::new()
        .route("/records", get(page).post(form))
        .route("/api/records/awaiting", get(awaiting_api))
        .route("/api/records/submit", post(submit_api))
        .route("/api/records/review", post(review_api))
}

/// `?school=…` and, after an action, `?ok=…`.
#[derive(Debug, Default, serde::Deserialize)]
pub struct RecordsQuery {
    #[serde(default)]
    school: Option<String>,
    #[serde(default)]
    ok: Option<String>,
}

async fn page(State(app): State<Arc<Web>>, staff: Staff, Query(q): Query<RecordsQuery>) -> Result<Response, PageError> {
    let message = match q.ok.as_deref() {
        Some("submitted") => Some("已审核上报，等待教育局审核。"),
        Some("reviewed") => Some("审核决定已保存：通过的学籍已在籍，不予建籍的学籍已退回学校并注明理由。"),
        _ => None,
    };
    show(&app, &staff, q.school.as_deref(), message, None, StatusCode::OK).await
}

async fn show(
    app: &Web,
    staff: &Staff,
    school: Option<&str>,
    message: Option<&str>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (list, total) = records::awaiting(&app.db, &staff.actor, school).await?;
    let school_code = match &staff.actor.scope {
        Some(ids) if ids.len() == 1 => {
            crate::db::schools::by_id(&app.db.pool, ids[0]).await?.map(|s| s.code).unwrap_or_default()
        }
        _ => String::new(),
    };
    let pending = list.iter().filter(|r| r.summary.status == crate::domain::StudentStatus::Pending).count();
    let html = render(
        app,
        "records.html",
        Some(staff),
        context! {
            records => list,
            total => total,
            shown_limit => records::LIST_LIMIT,
            pending => pending,
            school_code => school_code,
            message => message,
            error => error,
        },
    )?;
    Ok((status, html).into_response())
}

async fn form(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str()).unwrap_or("");
    staff.check_csrf(get("csrf"))?;
    let result = match get("action") {
        "submit" => {
            let students = fields.iter().filter(|(n, _)| n == "student").map(|(_, v)| v.clone()).collect();
            let req = SubmitRequest { school: get("school").to_owned(), students };
            records::submit(&app.db, &staff.actor, app.today(), &req).await.map(|_| "submitted")
        }
        "review" => {
            let decisions: Vec<Decision> = fields
                .iter()
                .filter_map(|(n, v)| {
                    let id = n.strip_prefix("decision_")?;
                    let approve = match v.as_str() {
                        "approve" => true,
                        "refuse" => false,
                        _ => return None,
                    };
                    Some(Decision { student: id.to_owned(), approve, reason: get(&format!("reason_{id}")).to_owned() })
                })
                .collect();
            records::review(&app.db, &staff.actor, app.today(), &decisions).await.map(|_| "reviewed")
        }
        _ => return Err(AppError::bad_request("record.unknown_action", "未知的操作").into()),
    };
    match result {
        Ok(done) => Ok(Redirect::to(&format!("/records?ok={done}")).into_response()),
        Err(e) if matches!(e, AppError::BadRequest { .. } | AppError::Conflict { .. } | AppError::Domain(_)) => {
            show(&app, &staff, None, None, Some(e.to_string()), e.status()).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The records awaiting the caller (see [`records::awaiting`]).
#[derive(Debug, serde::Serialize)]
pub struct AwaitingList {
    /// How many in all.
    pub total: i64,
    /// The first [`records::LIST_LIMIT`].
    pub records: Vec<crate::db::students::AwaitingRecord>,
}

async fn awaiting_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Query(q): Query<RecordsQuery>,
) -> Result<Json<AwaitingList>, AppError> {
    let (records, total) = records::awaiting(&app.db, &staff.actor, q.school.as_deref()).await?;
    Ok(Json(AwaitingList { total, records }))
}

/// What a submission did.
#[derive(Debug, serde::Serialize)]
pub struct Submitted {
    /// Records submitted.
    pub submitted: usize,
}

async fn submit_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Json(req): Json<SubmitRequest>,
) -> Result<Json<Submitted>, AppError> {
    Ok(Json(Submitted { submitted: records::submit(&app.db, &staff.actor, app.today(), &req).await? }))
}

/// The bureau's decisions.
#[derive(Debug, serde::Deserialize)]
pub struct ReviewBody {
    decisions: Vec<Decision>,
}

async fn review_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Json(body): Json<ReviewBody>,
) -> Result<Json<Reviewed>, AppError> {
    Ok(Json(records::review(&app.db, &staff.actor, app.today(), &body.decisions).await?))
}
