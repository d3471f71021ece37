//! `GET /s`: the page where a third party types a share code (分享码);
//! `POST /s` (form field `code`): that certificate's verification, the same
//! page a scan of its QR code opens, or one "分享码无效" answer for every
//! code that is not one, unknown, expired or revoked. Rate-limited with the
//! `/v/` pages; the code travels in the body, never in a URL or a log.

use super::{Public, Requester, domain, found_page, html_response, lookup, unavailable};
use crate::http::Web;
use crate::service::share_codes;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use std::sync::Arc;

const PAGE: &str = "share.html";

/// The typed code.
#[derive(Debug, serde::Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

/// The page to type a code on; `refused` when the last code opened nothing.
fn share_page(app: &Web, refused: bool) -> Response {
    let page = app.pages().get_template(PAGE).and_then(|t| t.render(context! { refused, domain => domain(app) }));
    match page {
        Ok(html) => html_response(StatusCode::OK, html),
        Err(e) => unavailable(&crate::error::AppError::Internal(anyhow::Error::new(e).context("rendering share.html"))),
    }
}

/// `GET /s`.
pub async fn form_page(
    State(app): State<Arc<Web>>,
    Extension(public): Extension<Arc<Public>>,
    Requester(ip): Requester,
) -> Response {
    if let Some(limited) = public.limit(&app, ip) {
        return limited;
    }
    share_page(&app, false)
}

/// `POST /s`.
pub async fn open(
    State(app): State<Arc<Web>>,
    Extension(public): Extension<Arc<Public>>,
    Requester(ip): Requester,
    form: Result<Form<CodeForm>, FormRejection>,
) -> Response {
    if let Some(limited) = public.limit(&app, ip) {
        return limited;
    }
    let typed = form.map(|Form(f)| f.code).unwrap_or_default();
    let url = match share_codes::open(&app, &typed).await {
        Ok(Some(url)) => url,
        Ok(None) => return share_page(&app, true),
        Err(e) => return unavailable(&e),
    };
    let token = crate::verify::token_in(&url);
    match lookup(&app, &public, token).await {
        Ok(Some(found)) => match found_page(&app, token, &found, None) {
            Ok(html) => html_response(StatusCode::OK, html),
            Err(e) => unavailable(&e),
        },
        // A code whose certificate no longer verifies (its key compromised):
        // the same answer as for any other code that opens nothing.
        Ok(None) => share_page(&app, true),
        Err(e) => unavailable(&e),
    }
}
