//! Pre-system graduates (see [`crate::service::historical`]): the bureau's
//! page and API.
//!
//! - `GET /historical`: the list, the form to record one (fields, then the
//!   ledger scan), and a proof button per graduation;
//! - `POST /historical` (page, multipart: `csrf`, the fields, then `file`);
//! - `POST /historical/{public_id}/proof` (page form: `csrf`, `stage`, `reason`);
//! - `GET /api/historical`; `POST /api/historical` (multipart: the
//!   [`HistoricalRequest`] fields, then `file`);
//!   `POST /api/historical/{public_id}/proof` `{"stage", "reason"}`.

use crate::db::graduations::HistoricalRow;
use crate::error::AppError;
use crate::http::Web;
use crate::http::auth::Staff;
use crate::http::intake::{PaperForm, paper_form};
use crate::http::pages::{PageError, render};
use crate::service::historical::{self, HistoricalRequest, Recorded};
use axum::extract::{DefaultBodyLimit, Form, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use minijinja::context;
use std::sync::Arc;

/// The routes.
pub fn router() -> Router<Arc<Web>> {
    Router::new()
        .route("/historical", get(page).post(record_form))
        .route("/historical/{public_id}/proof", post(proof_form))
        .route("/api/historical", get(list_api).post(record_api))
        .route("/api/historical/{public_id}/proof", post(proof_api))
        .layer(DefaultBodyLimit::disable())
}

impl PaperForm {
    /// The fields of a historical graduation.
    fn historical_request(&self) -> Result<HistoricalRequest, AppError> {
        let entry = self.text("entry_year");
        Ok(HistoricalRequest {
            name: self.text("name"),
            id_number: self.text("id_number"),
            school: self.text("school"),
            stage: self.text("stage"),
            year: self.number("year", "毕业年份")?,
            entry_year: if entry.trim().is_empty() { None } else { Some(self.number("entry_year", "入学年份")?) },
            original_number: self.text("original_number"),
        })
    }
}

async fn record(app: &Web, staff: &Staff, mut form: PaperForm) -> Result<Recorded, AppError> {
    staff.require_bureau()?;
    let req = form.historical_request()?;
    let (reader, name) = form.scan()?;
    historical::record(app, &staff.actor, &req, (reader, &name)).await
}

async fn record_api(State(app): State<Arc<Web>>, staff: Staff, form: Multipart) -> Result<Response, AppError> {
    let form = paper_form(&app, form, None).await?;
    let recorded = record(&app, &staff, form).await?;
    Ok((StatusCode::CREATED, Json(recorded)).into_response())
}

async fn list_api(State(app): State<Arc<Web>>, staff: Staff) -> Result<Json<Vec<HistoricalRow>>, AppError> {
    Ok(Json(historical::list(&app, &staff.actor).await?))
}

/// A proof asked for.
#[derive(Debug, serde::Deserialize)]
pub struct ProofBody {
    #[serde(default)]
    csrf: String,
    stage: String,
    #[serde(default)]
    reason: String,
}

async fn proof_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(public_id): Path<String>,
    Json(body): Json<ProofBody>,
) -> Result<Response, AppError> {
    let proof = historical::issue_proof(&app, &staff.actor, &public_id, &body.stage, &body.reason).await?;
    let answer = serde_json::json!({ "number": proof.number, "doc_id": proof.doc_id, "verify_url": proof.verify_url });
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

/// `?ok=…` after an action.
#[derive(Debug, Default, serde::Deserialize)]
pub struct PageQuery {
    #[serde(default)]
    ok: Option<String>,
}

async fn page(State(app): State<Arc<Web>>, staff: Staff, Query(q): Query<PageQuery>) -> Result<Response, PageError> {
    let message = q.ok.as_deref().map(|n| format!("已保存。学历证明书编号 {n}：可在证书管理中查看、登记颁发。"));
    let message = match q.ok.as_deref() {
        Some("recorded") => Some("已补录，毕业生登记册扫描件已存入其纸质档案。".to_owned()),
        _ => message,
    };
    show(&app, &staff, message, None, StatusCode::OK).await
}

async fn show(
    app: &Web,
    staff: &Staff,
    message: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    staff.require_bureau()?;
    let rows = historical::list(app, &staff.actor).await?;
    let schools = crate::db::schools::list(&app.db.pool).await?;
    let html = render(
        app,
        "historical.html",
        Some(staff),
        context! {
            rows => rows,
            schools => schools,
            message => message,
            error => error,
            last_year => crate::domain::school_year_start(app.today()),
            earliest => historical::EARLIEST_YEAR,
        },
    )?;
    Ok((status, html).into_response())
}

/// A refusal the person can act on is shown on the page; anything else is an error page.
async fn answer(app: &Web, staff: &Staff, result: Result<String, AppError>) -> Result<Response, PageError> {
    match result {
        Ok(done) => Ok(Redirect::to(&format!("/historical?ok={done}")).into_response()),
        Err(e) if e.is_refusal() => show(app, staff, None, Some(e.to_string()), e.status()).await,
        Err(e) => Err(e.into()),
    }
}

async fn record_form(State(app): State<Arc<Web>>, staff: Staff, form: Multipart) -> Result<Response, PageError> {
    let form = paper_form(&app, form, Some(&staff)).await?;
    staff.check_csrf(&form.text("csrf"))?;
    let result = record(&app, &staff, form).await.map(|_| "recorded".to_owned());
    answer(&app, &staff, result).await
}

async fn proof_form(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(public_id): Path<String>,
    Form(body): Form<ProofBody>,
) -> Result<Response, PageError> {
    staff.check_csrf(&body.csrf)?;
    let result = historical::issue_proof(&app, &staff.actor, &public_id, &body.stage, &body.reason)
        .await
        .map(|p| p.number.unwrap_or_default());
    answer(&app, &staff, result).await
}
