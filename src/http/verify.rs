//! The public verification side: no login, Chinese, made for a phone (often
//! WeChat's in-app browser) that scanned the QR code on a document.
//!
//! - `GET /.well-known/xueji-keys.json`: the public key set, cacheable, for
//!   checking tokens offline (`xueji verify --keys`).
//! - `GET /v/{token}`: one verdict — 有效, 已作废 (with the date), 已挂失
//!   (with the date and the number of the 学历证明书 that replaces it), 已更新
//!   (a newer version of the form exists, no details) or 无法验证 — with the
//!   masked facts the token carries (masked name, document, number, issue
//!   date, the school's name looked up by its code) and the verification
//!   domain, to compare with the paper. Inline CSS only, no script, no
//!   external asset.
//! - `GET /v/{token}.json`: the same verdict as JSON (`xueji verify --online`).
//! - `POST /v/{token}/check`: a multipart upload (field `file`, at most
//!   [`UPLOAD_LIMIT`] bytes), hashed as it streams in and compared with the
//!   sha256 recorded when the document was issued: identical or not, nothing
//!   more. It changes nothing, so it needs no CSRF token.
//!
//! No enumeration, no leak:
//! - only a token whose signature verifies against a known, uncompromised key
//!   reaches the database (one indexed read by the random document id);
//! - every token that does not verify — forged, altered, truncated, an
//!   unknown or compromised key, an unknown document, empty — gets the same
//!   answer byte for byte: status 200, the 无法验证 page rendered once per
//!   process (or its JSON twin), with the same headers;
//! - pages and JSON carry only the masked facts; the request log shows
//!   `/v/…` ([`log_path`]); nothing here logs a token, a name, a status
//!   reason or an uploaded file;
//! - every route under `/v` is rate-limited per client address
//!   ([`crate::http::ratelimit`], `XUEJI_VERIFY_RATE` a minute after a burst of
//!   `XUEJI_VERIFY_BURST`): over the limit a short page with status 429 and
//!   `Retry-After`, before any token is looked at. The client is the
//!   connection's peer, or the last `X-Forwarded-For` hop when the peer is a
//!   proxy named in `XUEJI_TRUSTED_PROXY`.
//!
//! `Cache-Control: no-store` and `Referrer-Policy: no-referrer` come from the
//! router's middleware (the key set overrides the cache header).

use crate::db::{self, verify::DocumentStatus};
use crate::error::AppError;
use crate::http::Web;
use crate::http::constant_time_eq;
use crate::http::ratelimit::{RateLimiter, client_ip};
use crate::verify::{self, DocumentKind, KeyStatus, Verified};
use axum::body::Bytes;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, Multipart, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use chrono::{Datelike, NaiveDate};
use ed25519_dalek::VerifyingKey;
use minijinja::context;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};
use std::time::{Duration, Instant};

mod public;
mod share;
use public::{Public, STATUS_LIST_TTL};

/// Largest PDF the check accepts (20 MiB).
pub const UPLOAD_LIMIT: usize = 20 * 1024 * 1024;
/// A school's name is looked up again after this long (renames are rare).
const SCHOOL_NAME_TTL: Duration = Duration::from_secs(600);
const PAGE: &str = "verify.html";

/// The public verification routes.
pub fn router() -> Router<Arc<Web>> {
    Router::new()
        .route("/.well-known/xueji-keys.json", get(key_set))
        .route("/.well-known/xueji-status.json", get(status_list))
        .route("/v", get(empty_token))
        .route("/v/", get(empty_token))
        .route("/v/{*rest}", get(verdict).post(check))
        // A share code typed instead of scanning.
        .route("/s", get(share::form_page).post(share::open))
        // A QR code's URL is upper case (all in its alphanumeric set).
        .route("/V", get(empty_token))
        .route("/V/", get(empty_token))
        .route("/V/{*rest}", get(verdict).post(check))
        // Room for the multipart framing around a file of UPLOAD_LIMIT bytes.
        .layer(DefaultBodyLimit::max(UPLOAD_LIMIT + 64 * 1024))
        .layer(Extension(Arc::new(Public::default())))
}

/// What follows `/v/` (or the QR code's `/V/`) in a path.
fn after_prefix(path: &str) -> Option<&str> {
    path.strip_prefix("/v/").or_else(|| path.strip_prefix("/V/"))
}

/// The path as the request log shows it: `/v/…` without the token (keeping a
/// `/check` or `.json` suffix); other paths unchanged.
pub fn log_path(path: &str) -> std::borrow::Cow<'_, str> {
    match after_prefix(path) {
        Some(rest) if !rest.is_empty() => {
            let suffix = if rest.ends_with("/check") {
                "/check"
            } else if rest.ends_with(".json") {
                ".json"
            } else {
                ""
            };
            format!("/v/…{suffix}").into()
        }
        _ => path.into(),
    }
}

/// The client address a request is counted under.
struct Requester(IpAddr);

impl FromRequestParts<Arc<Web>> for Requester {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<Web>) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        Ok(Self(client_ip(peer, &parts.headers, &app.config.trusted_proxies)))
    }
}

/// What the service knows about a document whose token verified.
struct Found {
    verified: Verified,
    status: Status,
    sha256: String,
    school_name: Option<String>,
    /// An application's approvals as printed on it.
    approvals: Option<Approvals>,
}

/// How far an application stood when its form was printed: the page says
/// what the paper says, no more.
#[derive(Debug, Clone, Copy, Serialize)]
struct Approvals {
    approved: u64,
    needed: u64,
    refused: bool,
}

impl Approvals {
    /// From the stored extra data of a printed form (`approval_state`).
    fn of(extra: Option<&str>) -> Option<Self> {
        let extra: serde_json::Value = serde_json::from_str(extra?).ok()?;
        let state = extra.get("approval_state")?;
        Some(Self {
            approved: state.get("approved")?.as_u64()?,
            needed: state.get("needed")?.as_u64()?,
            refused: state.get("refused").and_then(serde_json::Value::as_bool).unwrap_or(false),
        })
    }
}

/// Whether the paper is a numbered certificate, which is valid as such, or
/// a form the system printed from the record at a date, which says only that.
fn paper_of(kind: DocumentKind) -> &'static str {
    if kind.is_certificate() { "certificate" } else { "form" }
}

enum Status {
    Valid,
    Revoked { date: Option<NaiveDate> },
    Lost { date: Option<NaiveDate>, replaced_by: Option<String> },
    Superseded,
}

impl Status {
    fn code(&self) -> &'static str {
        match self {
            Status::Valid => "valid",
            Status::Revoked { .. } => "revoked",
            Status::Lost { .. } => "lost",
            Status::Superseded => "superseded",
        }
    }

    /// The heading: a valid form is 系统签发 (printed by the system), never
    /// 有效 like a certificate.
    fn label(&self, paper: &str) -> &'static str {
        match self {
            Status::Valid if paper == "form" => "系统签发",
            Status::Valid => "有效",
            Status::Revoked { .. } => "已作废",
            Status::Lost { .. } => "已挂失",
            Status::Superseded => "已更新",
        }
    }

    fn date(&self) -> Option<NaiveDate> {
        match self {
            Status::Revoked { date } | Status::Lost { date, .. } => *date,
            _ => None,
        }
    }

    fn replaced_by(&self) -> Option<&str> {
        match self {
            Status::Lost { replaced_by, .. } => replaced_by.as_deref(),
            _ => None,
        }
    }
}

/// Verifies the token and, only if it verifies, reads the document's row.
/// `Ok(None)` for every kind of failure, so all of them answer alike.
async fn lookup(app: &Web, public: &Public, token: &str) -> Result<Option<Found>, AppError> {
    let verified = match public.verify(app, token) {
        Ok(v) => v,
        Err(e) => {
            tracing::debug!(reason = e.code(), "verification token refused");
            return Ok(None);
        }
    };
    let claims = &verified.claims;
    let Some(row) = public.read_row(app, claims.document_id.to_string()).await? else {
        tracing::warn!("a validly signed token names no recorded document");
        return Ok(None);
    };
    if row.kind != claims.kind.code() || row.number.as_deref().unwrap_or("") != claims.number.as_str() {
        tracing::warn!("a validly signed token disagrees with its document's record");
        return Ok(None);
    }
    let date = row.status_at.as_deref().and_then(local_date);
    let status = match row.status.as_str() {
        "valid" => Status::Valid,
        "revoked" => Status::Revoked { date },
        "lost" => Status::Lost { date, replaced_by: row.replaced_by },
        "superseded" => Status::Superseded,
        _ => {
            tracing::warn!("a document has an unknown status");
            return Ok(None);
        }
    };
    let school_name = public.school_name(app, &claims.school_code.to_string()).await?;
    // Only an application's form has approvals; other papers' extra data is not read.
    let application = matches!(claims.kind, DocumentKind::TransferApplication | DocumentKind::SuspensionApplication);
    let approvals = if application { Approvals::of(row.extra.as_deref()) } else { None };
    Ok(Some(Found { sha256: row.sha256, verified, status, school_name, approvals }))
}

/// The calendar date in China (UTC+8) of a stored RFC 3339 instant, or of a plain date.
fn local_date(text: &str) -> Option<NaiveDate> {
    let china = chrono::FixedOffset::east_opt(8 * 3600)?;
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&china).date_naive())
        .ok()
        .or_else(|| NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok())
}

fn chinese_date(d: NaiveDate) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

fn domain(app: &Web) -> String {
    crate::documents::verify_domain(&app.public_base_url)
}

fn html_type() -> HeaderValue {
    HeaderValue::from_static("text/html; charset=utf-8")
}

fn html_response(status: StatusCode, body: impl Into<axum::body::Body>) -> Response {
    (status, [(header::CONTENT_TYPE, html_type())], body.into()).into_response()
}

fn json_response(body: Bytes) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response()
}

fn render(app: &Web, ctx: minijinja::Value) -> Result<String, AppError> {
    let tmpl = app.pages().get_template(PAGE).map_err(|e| AppError::Internal(e.into()))?;
    tmpl.render(ctx).map_err(|e| AppError::Internal(anyhow::Error::new(e).context("rendering verify.html")))
}

/// A failure on our side (the database): a generic page, details logged.
fn unavailable(e: &AppError) -> Response {
    e.log();
    html_response(
        StatusCode::SERVICE_UNAVAILABLE,
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>暂时无法查询</title></head>\
         <body style=\"font-family:system-ui,sans-serif;font-size:18px;line-height:1.6;padding:2rem 1.25rem\">\
         <h1>暂时无法查询</h1><p>验证服务暂时不可用，请稍后再试。</p></body></html>",
    )
}

/// The page for a document whose token verified; `check` is the upload's outcome.
fn found_page(app: &Web, token: &str, found: &Found, check: Option<&str>) -> Result<String, AppError> {
    let claims = &found.verified.claims;
    let ctx = context! {
        verdict => found.status.code(),
        label => found.status.label(paper_of(claims.kind)),
        paper => paper_of(claims.kind),
        approvals => found.approvals,
        status_date => found.status.date().map(chinese_date),
        replaced_by => found.status.replaced_by(),
        doc => context! {
            masked_name => claims.masked_name.as_str(),
            title => claims.kind.title_zh(),
            number => claims.number.as_str(),
            issue_date => chinese_date(claims.issue_date),
            school => found.school_name.clone().unwrap_or_else(|| format!("学校标识码 {}", claims.school_code)),
            status_index => claims.status_index,
        },
        domain => domain(app),
        action => format!("/v/{token}/check"),
        upload_limit_mib => UPLOAD_LIMIT / (1024 * 1024),
        check => check,
    };
    render(app, ctx)
}

/// The verdict as JSON (`GET /v/{token}.json`).
#[derive(Debug, Default, Serialize)]
struct Answer {
    /// `valid`, `revoked`, `lost`, `superseded` or `invalid`.
    verdict: &'static str,
    /// 有效 (a certificate), 系统签发 (a form), 已作废, 已挂失, 已更新, 无法验证.
    label: &'static str,
    /// `certificate` or `form` (absent when invalid).
    #[serde(skip_serializing_if = "Option::is_none")]
    paper: Option<&'static str>,
    /// An application's approvals as printed on it.
    #[serde(skip_serializing_if = "Option::is_none")]
    approvals: Option<Approvals>,
    /// The date of a revocation or loss, `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    status_date: Option<String>,
    /// The number of the 学历证明书 that replaces a lost certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    replaced_by: Option<String>,
    /// The signed, masked facts (absent when invalid).
    #[serde(skip_serializing_if = "Option::is_none")]
    document: Option<serde_json::Value>,
    /// The verification domain.
    domain: String,
}

fn found_json(app: &Web, found: &Found) -> Response {
    let claims = &found.verified.claims;
    let answer = Answer {
        verdict: found.status.code(),
        label: found.status.label(paper_of(claims.kind)),
        paper: Some(paper_of(claims.kind)),
        approvals: found.approvals,
        status_date: found.status.date().map(|d| d.to_string()),
        replaced_by: found.status.replaced_by().map(str::to_owned),
        document: Some(serde_json::json!({
            "kind": claims.kind.code(),
            "title": claims.kind.title_zh(),
            "number": claims.number.as_str(),
            "issue_date": claims.issue_date.to_string(),
            "school_code": claims.school_code.to_string(),
            "school_name": found.school_name,
            "masked_name": claims.masked_name.as_str(),
            "status_index": claims.status_index,
        })),
        domain: domain(app),
    };
    json_response(Bytes::from(serde_json::to_vec(&answer).unwrap_or_default()))
}

async fn key_set(State(app): State<Arc<Web>>) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300")),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*")),
        ],
        axum::Json(app.keys.public_key_set()),
    )
        .into_response()
}

/// `GET /.well-known/xueji-status.json`: the signed status list, made at
/// most once a minute (the same bytes for everyone in between).
async fn status_list(
    State(app): State<Arc<Web>>,
    Extension(public): Extension<Arc<Public>>,
    Requester(ip): Requester,
) -> Response {
    if let Some(limited) = public.limit(&app, ip) {
        return limited;
    }
    let cached = public.status_list.lock().unwrap_or_else(PoisonError::into_inner).clone();
    let body = match cached {
        Some((at, body)) if at.elapsed() < STATUS_LIST_TTL => body,
        _ => match crate::service::status_list::current(&app).await {
            Ok(list) => {
                let body = Bytes::from(serde_json::to_vec(&list).unwrap_or_default());
                *public.status_list.lock().unwrap_or_else(PoisonError::into_inner) =
                    Some((Instant::now(), body.clone()));
                body
            }
            Err(e) => return unavailable(&e),
        },
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60")),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*")),
        ],
        body,
    )
        .into_response()
}

async fn empty_token(
    State(app): State<Arc<Web>>,
    Extension(public): Extension<Arc<Public>>,
    Requester(ip): Requester,
) -> Response {
    if let Some(limited) = public.limit(&app, ip) {
        return limited;
    }
    public.invalid_page(&app)
}

/// `GET /v/{token}`, `/v/{token}.json` (and `/v/{token}/check`, after an upload, as the page).
async fn verdict(
    State(app): State<Arc<Web>>,
    Extension(public): Extension<Arc<Public>>,
    Requester(ip): Requester,
    uri: Uri,
) -> Response {
    if let Some(limited) = public.limit(&app, ip) {
        return limited;
    }
    // The raw path: no percent-decoding, so no input can make an extractor refuse it.
    let rest = after_prefix(uri.path()).unwrap_or_default();
    if let Some(token) = rest.strip_suffix(".json") {
        return match lookup(&app, &public, token).await {
            Ok(Some(found)) => found_json(&app, &found),
            Ok(None) => public.invalid_json(&app),
            Err(e) => unavailable(&e),
        };
    }
    let token = rest.strip_suffix("/check").or_else(|| rest.strip_suffix('/')).unwrap_or(rest);
    match lookup(&app, &public, token).await {
        Ok(Some(found)) => match found_page(&app, token, &found, None) {
            Ok(html) => html_response(StatusCode::OK, html),
            Err(e) => unavailable(&e),
        },
        Ok(None) => public.invalid_page(&app),
        Err(e) => unavailable(&e),
    }
}

/// `POST /v/{token}/check`: is the uploaded file byte-identical to the issued one?
async fn check(
    State(app): State<Arc<Web>>,
    Extension(public): Extension<Arc<Public>>,
    Requester(ip): Requester,
    uri: Uri,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    if let Some(limited) = public.limit(&app, ip) {
        return limited;
    }
    let rest = after_prefix(uri.path()).unwrap_or_default();
    let Some(token) = rest.strip_suffix("/check") else {
        return (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "GET")]).into_response();
    };
    let found = match lookup(&app, &public, token).await {
        Ok(Some(found)) => found,
        Ok(None) => return public.invalid_page(&app),
        Err(e) => return unavailable(&e),
    };
    let (status, outcome) = match multipart {
        Err(_) => (StatusCode::BAD_REQUEST, "bad_upload"),
        Ok(mut multipart) => match hash_upload(&mut multipart).await {
            Ok(Some(digest)) => {
                let same = constant_time_eq(hex::encode(digest).as_bytes(), found.sha256.as_bytes());
                (StatusCode::OK, if same { "same" } else { "different" })
            }
            Ok(None) => (StatusCode::BAD_REQUEST, "empty"),
            Err(StatusCode::PAYLOAD_TOO_LARGE) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            Err(_) => (StatusCode::BAD_REQUEST, "bad_upload"),
        },
    };
    match found_page(&app, token, &found, Some(outcome)) {
        Ok(html) => html_response(status, html),
        Err(e) => unavailable(&e),
    }
}

/// sha256 of the `file` field as it streams in; `None` when no file or an
/// empty one was sent. Other fields are skipped. A file over the limit is
/// read to the end of the (bounded) body before the refusal, so the client
/// gets the answer rather than a reset connection.
async fn hash_upload(multipart: &mut Multipart) -> Result<Option<[u8; 32]>, StatusCode> {
    let mut digest = None;
    let mut too_large = false;
    while let Some(mut field) = multipart.next_field().await.map_err(|e| e.status())? {
        let is_file = field.name() == Some("file") && digest.is_none();
        let mut hasher = Sha256::new();
        let mut size = 0usize;
        while let Some(chunk) = field.chunk().await.map_err(|e| e.status())? {
            if is_file && !too_large {
                size += chunk.len();
                too_large = size > UPLOAD_LIMIT;
                hasher.update(&chunk);
            }
        }
        if is_file && size > 0 && !too_large {
            digest = Some(hasher.finalize().into());
        }
    }
    if too_large {
        return Err(StatusCode::PAYLOAD_TOO_LARGE);
    }
    Ok(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_never_shows_a_token() {
        assert_eq!(log_path("/v/AbC-_123"), "/v/…");
        assert_eq!(log_path("/v/AbC-_123.json"), "/v/….json");
        assert_eq!(log_path("/v/AbC-_123/check"), "/v/…/check");
        assert_eq!(log_path("/v/"), "/v/");
        assert_eq!(log_path("/V/0123456789"), "/v/…");
        assert_eq!(log_path("/students/x"), "/students/x");
        assert_eq!(log_path("/v"), "/v");
    }

    #[test]
    fn dates_are_the_day_in_china() {
        assert_eq!(local_date("2026-07-01T17:30:00Z"), NaiveDate::from_ymd_opt(2026, 7, 2));
        assert_eq!(local_date("2026-07-01T01:00:00Z"), NaiveDate::from_ymd_opt(2026, 7, 1));
        assert_eq!(local_date("2026-07-01"), NaiveDate::from_ymd_opt(2026, 7, 1));
        assert_eq!(local_date("garbage"), None);
        assert_eq!(chinese_date(NaiveDate::from_ymd_opt(2026, 7, 1).unwrap()), "2026年7月1日");
    }
}
