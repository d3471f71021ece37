//! The HTTP interface: one file per resource, each with its `router()`.
//!
//! Pages are server-rendered Chinese HTML; the same reads are JSON under
//! `/api/`. Every route but `/health` and the public verification side
//! (`/v/…`, `/.well-known/xueji-keys.json`, see [`verify`]) needs a signed-in
//! staff member. Request logs carry the method, the
//! path (never the query string) and the status: no personal data.

pub mod archive;
pub mod audit_log;
pub mod auth;
pub mod calendar;
pub mod certificates;
mod charts;
mod denials;
pub mod documents;
pub mod dropout;
pub(crate) mod error;
pub mod error_page;
pub mod health;
pub mod historical;
pub mod intake;
mod intake_pages;
pub mod keys;
pub mod pages;
pub mod problems;
pub mod ratelimit;
pub mod records;
pub mod reports;
pub mod roster;
pub mod schools;
/// Share codes for staff: make, list, revoke.
pub mod share_codes;
mod streams;
pub mod students;
pub mod verify;
pub mod workflow;
pub mod workflow_pages;

use crate::app::App;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
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

/// What the handlers share: the application, and the page templates that
/// only the server loads.
pub struct Web {
    /// The application.
    pub app: Arc<App>,
    pages: minijinja::Environment<'static>,
}

impl Web {
    /// Loads the page templates for the application (refusing a broken one).
    pub fn new(app: Arc<App>) -> anyhow::Result<Self> {
        let pages = pages::environment(&app.config)?;
        Ok(Self { app, pages })
    }

    /// The page templates.
    pub fn pages(&self) -> &minijinja::Environment<'static> {
        &self.pages
    }
}

impl std::ops::Deref for Web {
    type Target = App;

    fn deref(&self) -> &App {
        &self.app
    }
}

/// The whole router.
pub fn router(app: Arc<Web>) -> Router {
    Router::new()
        .merge(health::router())
        .merge(auth::router())
        .merge(students::router())
        .merge(roster::router())
        .merge(schools::router())
        .merge(intake::router())
        .merge(intake_pages::router())
        .merge(documents::router())
        .merge(certificates::router())
        .merge(historical::router())
        .merge(share_codes::router())
        .merge(calendar::router())
        .merge(archive::router())
        .merge(audit_log::router())
        .merge(keys::router())
        .merge(records::router())
        .merge(problems::router())
        .merge(reports::router())
        .merge(dropout::router())
        .merge(verify::router())
        .merge(workflow::router())
        .merge(workflow_pages::router())
        .route("/favicon.ico", axum::routing::get(no_icon))
        .layer(contain_panics())
        .layer(axum::middleware::from_fn_with_state(app.clone(), denials::audit_denials))
        .layer(axum::middleware::from_fn(log_and_harden))
        .with_state(app)
}

/// Browsers ask for `/favicon.ico` on every page: there is none, and that is
/// not a denied request.
async fn no_icon() -> axum::http::StatusCode {
    axum::http::StatusCode::NO_CONTENT
}

/// The layer that turns a handler's panic into [`panicked`]'s answer.
fn contain_panics() -> tower_http::catch_panic::CatchPanicLayer<fn(Box<dyn std::any::Any + Send + 'static>) -> Response>
{
    tower_http::catch_panic::CatchPanicLayer::custom(panicked as fn(_) -> Response)
}

/// A handler that panicked: the request gets a 500 with a stable code (the
/// connection is kept, the server goes on), and the panic is logged.
fn panicked(payload: Box<dyn std::any::Any + Send + 'static>) -> Response {
    use axum::response::IntoResponse;
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    let what: String = what.chars().take(200).collect();
    tracing::error!(code = "internal.panicked", panic = %what, "request handler panicked");
    (
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        axum::Json(serde_json::json!({
            "code": "internal.panicked",
            "message": "服务器处理请求时出错，请稍后重试；如一再出现，请联系管理员",
        })),
    )
        .into_response()
}

/// Logs each request (method, path, status, time) and adds the security headers.
async fn log_and_harden(req: Request, next: Next) -> Response {
    use tracing::Instrument;
    let method = req.method().clone();
    let raw_path = req.uri().path().to_owned();
    let path = verify::log_path(&raw_path).into_owned();
    let started = std::time::Instant::now();
    let reference = error_page::new_reference();
    let span = tracing::info_span!("req", r = %reference);
    let mut res = error_page::with_reference(reference.clone(), async {
        let res = next.run(req).await;
        error_page::conform(&raw_path, res).await
    })
    .instrument(span)
    .await;
    let h = res.headers_mut();
    h.insert(HeaderName::from_static("x-request-id"), error_page::header_value(&reference));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'"),
    );
    h.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    tracing::info!(%method, %path, status = res.status().as_u16(), ms = started.elapsed().as_millis() as u64, r = %reference, "request");
    res
}

/// Whether two secrets (a CSRF token, a recorded digest) are equal, in time
/// that depends only on their lengths, not on where they first differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_compares_whole_values() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(constant_time_eq(b"", b""));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }

    async fn boom() -> &'static str {
        panic!("boom")
    }

    /// A route that panics answers 500 with the code, and the server serves
    /// the next request.
    #[tokio::test]
    async fn a_panicking_handler_is_a_500_with_a_code() {
        let router: Router = Router::new()
            .route("/boom", axum::routing::get(boom))
            .route("/fine", axum::routing::get(|| async { "fine" }))
            .layer(contain_panics());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
        for _ in 0..2 {
            let res = reqwest::get(format!("{base}/boom")).await.expect("answered, not dropped");
            assert_eq!(res.status(), axum::http::StatusCode::INTERNAL_SERVER_ERROR);
            let body: serde_json::Value = res.json().await.expect("JSON");
            assert_eq!(body["code"], "internal.panicked");
        }
        assert_eq!(reqwest::get(format!("{base}/fine")).await.expect("fine").text().await.expect("text"), "fine");
    }
}
