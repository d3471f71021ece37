//! The HTTP interface: one file per resource, each with its `router()`.
//!
//! Pages are server-rendered Chinese HTML; the same reads are JSON under
//! `/api/`. Every route but `/health` and the public verification side
//! (`/v/…`, `/.well-known/xueji-keys.json`, see [`verify`]) needs a signed-in
//! staff member. Request logs carry the method, the
//! path (never the query string) and the status: no personal data.

pub mod archive;
pub mod auth;
pub mod calendar;
pub mod certificates;
pub mod documents;
pub mod health;
pub mod pages;
pub mod roster;
pub mod students;
pub mod verify;
pub mod workflow;
pub mod workflow_pages;

use crate::app::App;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;

/// A JSON request body whose refusal is the service's JSON error: code
/// `request.field_missing` naming the missing field, or `request.json`. The
/// parser's own text is not passed on (it may quote a value).
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = crate::error::AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        use crate::error::AppError;
        use axum::extract::rejection::JsonRejection;
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => {
                Err(AppError::bad_request("request.content_type", "请求须为 JSON（Content-Type: application/json）"))
            }
            Err(r) => {
                let text = r.body_text();
                match text.split("missing field `").nth(1).and_then(|t| t.split('`').next()) {
                    Some(field) => {
                        Err(AppError::bad_request("request.field_missing", format!("请求缺少必填项“{field}”")))
                    }
                    None => Err(AppError::bad_request("request.json", "请求内容不是有效的 JSON，或某一项的类型不对")),
                }
            }
        }
    }
}

/// The whole router.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .merge(health::router())
        .merge(auth::router())
        .merge(students::router())
        .merge(roster::router())
        .merge(documents::router())
        .merge(certificates::router())
        .merge(calendar::router())
        .merge(archive::router())
        .merge(verify::router())
        .merge(workflow::router())
        .merge(workflow_pages::router())
        .layer(axum::middleware::from_fn(log_and_harden))
        .with_state(app)
}

/// Logs each request (method, path, status, time) and adds the security headers.
async fn log_and_harden(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = verify::log_path(req.uri().path()).into_owned();
    let started = std::time::Instant::now();
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'"),
    );
    h.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    tracing::info!(%method, %path, status = res.status().as_u16(), ms = started.elapsed().as_millis() as u64, "request");
    res
}
