//! `GET /health`: whether the service and its database answer. No login.

use crate::http::Web;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use std::sync::Arc;

/// The health route.
pub fn router() -> Router<Arc<Web>> {
    Router::new().route("/health", get(health))
}

async fn health(State(app): State<Arc<Web>>) -> (StatusCode, Json<serde_json::Value>) {
    match crate::db::ping(&app.db.pool).await {
        Ok(_) => (StatusCode::OK, Json(serde_json::json!({"status": "ok", "database": "ok"}))),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({"status": "error", "database": "unreachable"})))
        }
    }
}
