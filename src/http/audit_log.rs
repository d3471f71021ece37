//! The audit log for the bureau administrator: `GET /audit` (a search form
//! and the entries, newest first) and `GET /api/audit` (the same as JSON).
//! Filters: who, what (an action or its first part), target, outcome, days.

use crate::db::audit::Filter;
use crate::error::AppError;
use crate::http::Web;
use crate::http::auth::Staff;
use crate::http::pages::{PageError, render};
use crate::service::audit::{LOG_PAGE_SIZE, LogPage, search_log};
use axum::extract::{Query, State};
use axum::response::Html;
use axum::routing::get;
use axum::{Json, Router};
use minijinja::context;
use std::sync::Arc;

/// The audit log routes.
pub fn router() -> Router<Arc<Web>> {
    Router::new().route("/audit", get(page)).route("/api/audit", get(api))
}

/// The search form's fields, and the page.
#[derive(Debug, Default, serde::Deserialize)]
pub struct SearchQuery {
    #[serde(flatten)]
    filter: Filter,
    #[serde(default)]
    page: Option<i64>,
}

async fn api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Query(q): Query<SearchQuery>,
) -> Result<Json<LogPage>, AppError> {
    Ok(Json(search_log(&app.db, &staff.actor, &q.filter, q.page.unwrap_or(1)).await?))
}

async fn page(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Query(q): Query<SearchQuery>,
) -> Result<Html<String>, PageError> {
    let found = search_log(&app.db, &staff.actor, &q.filter, q.page.unwrap_or(1)).await?;
    let pages = (found.total + LOG_PAGE_SIZE - 1) / LOG_PAGE_SIZE;
    render(&app, "audit.html", Some(&staff), context! { filter => q.filter, found => found, pages => pages })
}
