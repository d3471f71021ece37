//! The bureau's certificate pages and API: issue numbered certificates to a
//! school's graduates, list issued / voided / lost / revoked numbers, search by
//! number, void a spoiled sheet, record a loss (issuing the 学历证明书), revoke.
//! Bureau staff only; every action audited.

use crate::certificates::{self, IssueResult};
use crate::error::AppError;
use crate::http::Web;
use crate::http::auth::Staff;
use crate::http::pages::{PageError, render};
use crate::render::DocKind;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use minijinja::context;
use std::sync::Arc;

/// The certificate routes.
pub fn router() -> Router<Arc<Web>> {
    Router::new()
        .route("/certificates", get(list_page))
        .route("/certificates/issue", post(issue_form))
        .route("/certificates/{number}/void", post(void_form))
        .route("/certificates/{number}/lost", post(lost_form))
        .route("/certificates/{number}/hand-over", post(hand_over_form))
        .route("/documents/{doc_id}/revoke", post(revoke_form))
        .route("/api/certificates", get(list_api))
        .route("/api/certificates/issue", post(issue_api))
        .route("/api/certificates/{number}/void", post(void_api))
        .route("/api/certificates/{number}/lost", post(lost_api))
        .route("/api/certificates/{number}/hand-over", post(hand_over_api))
        .route("/api/documents/{doc_id}/revoke", post(revoke_api))
}

/// List filters.
#[derive(Debug, Default, serde::Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    number: Option<String>,
}

fn certificate_kind(code: &str) -> Result<DocKind, AppError> {
    match code.parse::<DocKind>() {
        Ok(k @ (DocKind::CompulsoryCertificate | DocKind::GraduationCertificate)) => Ok(k),
        _ => Err(AppError::bad_request("certificate.kind", "只能为毕业生颁发义务教育证书或毕业证书")),
    }
}

async fn issue_for_school(
    app: &Web,
    staff: &Staff,
    school_code: &str,
    kind: &str,
) -> Result<(IssueResult, crate::db::schools::School, DocKind), AppError> {
    // Refused before the request is read, as the service would.
    staff.require_bureau()?;
    let kind = certificate_kind(kind)?;
    let result = certificates::issue_for_school(app, &staff.actor, school_code, kind).await?;
    let school = crate::db::schools::by_code(&app.db.pool, school_code).await?.ok_or(AppError::NotFound)?;
    Ok((result, school, kind))
}

async fn list_page(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Query(q): Query<ListQuery>,
) -> Result<Html<String>, PageError> {
    staff.require_bureau()?;
    let rows = certificates::list(&app.db, q.state.as_deref(), q.number.as_deref(), 500).await?;
    staff.audit(&app, "certificate.list", ("certificate", "*"), None, "ok", &format!("shown={}", rows.len())).await?;
    let schools = crate::db::schools::list(&app.db.pool).await?;
    render(
        &app,
        "certificates.html",
        Some(&staff),
        context! { rows => rows, schools => schools, q => context!{ state => q.state, number => q.number }, message => () },
    )
}

async fn list_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<certificates::NumberRow>>, AppError> {
    staff.require_bureau()?;
    let rows = certificates::list(&app.db, q.state.as_deref(), q.number.as_deref(), 5000).await?;
    staff.audit(&app, "certificate.list", ("certificate", "*"), None, "ok", &format!("shown={}", rows.len())).await?;
    Ok(Json(rows))
}

/// The issue form.
#[derive(Debug, serde::Deserialize)]
pub struct IssueForm {
    #[serde(default)]
    csrf: String,
    school: String,
    kind: String,
}

async fn issue_form(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Form(form): Form<IssueForm>,
) -> Result<Response, PageError> {
    staff.check_csrf(&form.csrf)?;
    let (result, school, kind) = issue_for_school(&app, &staff, &form.school, &form.kind).await?;
    if result.issued.is_empty() && !result.refused.is_empty() {
        return Err(AppError::conflict("certificate.none_issued", result.refused.join("；")).into());
    }
    // Straight on to printing what was issued.
    let job = crate::batch::start_graduates(app.app.clone(), staff.actor.clone(), school, kind).await?;
    Ok(Redirect::to(&format!("/batches/{job}")).into_response())
}

async fn issue_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Json(form): Json<IssueForm>,
) -> Result<Json<IssueResult>, AppError> {
    Ok(Json(issue_for_school(&app, &staff, &form.school, &form.kind).await?.0))
}

/// A hand-over: who received the certificate, and when (default today).
#[derive(Debug, serde::Deserialize)]
pub struct HandOverForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    received_by: String,
    #[serde(default)]
    on: Option<String>,
    /// The page to go back to (a student's page), when the form is not the
    /// certificates page's.
    #[serde(default)]
    back: Option<String>,
}

fn hand_over_day(on: Option<&str>) -> Result<Option<chrono::NaiveDate>, AppError> {
    match on.map(str::trim).filter(|d| !d.is_empty()) {
        None => Ok(None),
        Some(d) => Ok(Some(crate::domain::parse_date("颁发日期", d)?)),
    }
}

async fn hand_over_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(number): Path<String>,
    Json(form): Json<HandOverForm>,
) -> Result<Json<crate::db::certificates::HandOver>, AppError> {
    let on = hand_over_day(form.on.as_deref())?;
    Ok(Json(certificates::hand_over(&app, &staff.actor, &number, &form.received_by, on).await?))
}

async fn hand_over_form(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(number): Path<String>,
    Form(form): Form<HandOverForm>,
) -> Result<Redirect, PageError> {
    staff.check_csrf(&form.csrf)?;
    let on = hand_over_day(form.on.as_deref())?;
    certificates::hand_over(&app, &staff.actor, &number, &form.received_by, on).await?;
    // Only back to a page of this service (never another site).
    match form.back.as_deref().filter(|b| b.starts_with("/students/") && !b.contains("//")) {
        Some(back) => Ok(Redirect::to(back)),
        None => Ok(Redirect::to(&format!("/certificates?number={number}"))),
    }
}

/// A reason, for voids, losses and revocations.
#[derive(Debug, serde::Deserialize)]
pub struct ReasonForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

async fn do_void(app: &Web, staff: &Staff, number: &str, reason: &str) -> Result<(), AppError> {
    certificates::void(app, &staff.actor, number, reason).await
}

async fn do_lost(app: &Web, staff: &Staff, number: &str, reason: &str) -> Result<crate::documents::Issued, AppError> {
    certificates::report_lost(app, &staff.actor, number, reason).await
}

async fn do_revoke(app: &Web, staff: &Staff, doc_id: &str, reason: &str) -> Result<(), AppError> {
    certificates::revoke(app, &staff.actor, doc_id, reason).await
}

async fn void_form(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(number): Path<String>,
    Form(f): Form<ReasonForm>,
) -> Result<Redirect, PageError> {
    staff.check_csrf(&f.csrf)?;
    do_void(&app, &staff, &number, &f.reason).await?;
    Ok(Redirect::to(&format!("/certificates?number={number}")))
}

async fn lost_form(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(number): Path<String>,
    Form(f): Form<ReasonForm>,
) -> Result<Redirect, PageError> {
    staff.check_csrf(&f.csrf)?;
    let proof = do_lost(&app, &staff, &number, &f.reason).await?;
    Ok(Redirect::to(&format!("/certificates?number={}", proof.number.unwrap_or_default())))
}

async fn revoke_form(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(doc_id): Path<String>,
    Form(f): Form<ReasonForm>,
) -> Result<Redirect, PageError> {
    staff.check_csrf(&f.csrf)?;
    do_revoke(&app, &staff, &doc_id, &f.reason).await?;
    Ok(Redirect::to("/certificates?state=revoked"))
}

async fn void_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(number): Path<String>,
    Json(f): Json<ReasonForm>,
) -> Result<Json<serde_json::Value>, AppError> {
    do_void(&app, &staff, &number, &f.reason).await?;
    Ok(Json(serde_json::json!({ "number": number, "state": "voided" })))
}

async fn lost_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(number): Path<String>,
    Json(f): Json<ReasonForm>,
) -> Result<Json<serde_json::Value>, AppError> {
    let proof = do_lost(&app, &staff, &number, &f.reason).await?;
    Ok(Json(serde_json::json!({ "lost": number, "proof_number": proof.number, "proof_doc_id": proof.doc_id })))
}

async fn revoke_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(doc_id): Path<String>,
    Json(f): Json<ReasonForm>,
) -> Result<Json<serde_json::Value>, AppError> {
    do_revoke(&app, &staff, &doc_id, &f.reason).await?;
    Ok(Json(serde_json::json!({ "doc_id": doc_id, "status": "revoked" })))
}
