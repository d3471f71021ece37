//! Share codes for staff: the API (`/api/certificates/{number}/share-codes`,
//! `/api/share-codes/{id}/revoke`) and the page of a certificate's codes
//! (`/certificates/{number}/share-codes`), where a code is made, shown once,
//! and its uses are read out to the holder. The school's registrar or the
//! bureau; every action audited by the service.

use crate::db::share_codes::ShareCodeRow;
use crate::domain::share_code::DAYS;
use crate::error::AppError;
use crate::http::Web;
use crate::http::auth::Staff;
use crate::http::pages::{PageError, render};
use crate::service::share_codes::{self, Issued};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, Redirect};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use minijinja::context;
use std::sync::Arc;

/// The share-code routes.
pub fn router() -> Router<Arc<Web>> {
    Router::new()
        .route("/certificates/{number}/share-codes", get(page).post(issue_form))
        .route("/share-codes/{id}/revoke", post(revoke_form))
        .route("/api/certificates/{number}/share-codes", get(list_api).post(issue_api))
        .route("/api/share-codes/{id}/revoke", post(revoke_api))
}

/// A share code asked for: to whom, for how many days (30-180).
#[derive(Debug, serde::Deserialize)]
pub struct ShareCodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    holder: String,
    days: u32,
}

/// The page's revoke form: the CSRF token and where to go back to.
#[derive(Debug, serde::Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    number: String,
}

/// `POST /api/certificates/{number}/share-codes`: the answer shows the code this once.
async fn issue_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(number): Path<String>,
    Json(form): Json<ShareCodeForm>,
) -> Result<(StatusCode, Json<Issued>), AppError> {
    let issued = share_codes::issue(&app, &staff.actor, &number, &form.holder, form.days).await?;
    Ok((StatusCode::CREATED, Json(issued)))
}

/// `GET /api/certificates/{number}/share-codes`: the codes, with their uses.
async fn list_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(number): Path<String>,
) -> Result<Json<Vec<ShareCodeRow>>, AppError> {
    Ok(Json(share_codes::list(&app, &staff.actor, &number).await?))
}

/// `POST /api/share-codes/{id}/revoke`.
async fn revoke_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Json<ShareCodeRow>, AppError> {
    Ok(Json(share_codes::revoke(&app, &staff.actor, &id).await?))
}

fn show(
    app: &Web,
    staff: &Staff,
    number: &str,
    rows: &[ShareCodeRow],
    issued: Option<&Issued>,
) -> Result<Html<String>, PageError> {
    render(
        app,
        "share_codes.html",
        Some(staff),
        context! { number => number, rows => rows, issued => issued, days => *DAYS.start(), max_days => *DAYS.end() },
    )
}

/// `GET /certificates/{number}/share-codes`.
async fn page(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(number): Path<String>,
) -> Result<Html<String>, PageError> {
    let rows = share_codes::list(&app, &staff.actor, &number).await?;
    show(&app, &staff, &number, &rows, None)
}

/// `POST /certificates/{number}/share-codes`: the new code, shown once, above the list.
async fn issue_form(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(number): Path<String>,
    Form(form): Form<ShareCodeForm>,
) -> Result<Html<String>, PageError> {
    staff.check_csrf(&form.csrf)?;
    let issued = share_codes::issue(&app, &staff.actor, &number, &form.holder, form.days).await?;
    let rows = share_codes::list(&app, &staff.actor, &number).await?;
    show(&app, &staff, &number, &rows, Some(&issued))
}

/// `POST /share-codes/{id}/revoke` from the page.
async fn revoke_form(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<RevokeForm>,
) -> Result<Redirect, PageError> {
    staff.check_csrf(&form.csrf)?;
    share_codes::revoke(&app, &staff.actor, &id).await?;
    let number: String = form.number.chars().filter(char::is_ascii_alphanumeric).collect();
    Ok(Redirect::to(&format!("/certificates/{number}/share-codes")))
}
