//! Sign-in, sign-out, the session cookie, CSRF and the `Staff` extractor.
//!
//! - The session cookie (`xueji_session`) is HttpOnly, SameSite=Strict,
//!   `Secure` when configured; a new token is issued at every sign-in and any
//!   session the browser held is ended (no fixation). Sessions end after the
//!   idle or the absolute timeout.
//! - Forms carry a per-session CSRF token in a hidden field; API writes carry
//!   it in the `X-CSRF-Token` header. The sign-in form, before any session,
//!   uses a double-submit cookie.
//! - A missing or expired session answers 401 JSON under `/api/`, and a
//!   redirect to `/login` for pages.

use crate::db::users::{self, User};
use crate::domain::{Actor, Channel};
use crate::error::{AppError, ErrorBody};
use crate::http::Web;
use crate::http::constant_time_eq;
use crate::http::pages::{PageError, render};
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use minijinja::context;
use std::net::SocketAddr;
use std::sync::Arc;

pub(super) const SESSION_COOKIE: &str = "xueji_session";
const LOGIN_CSRF_COOKIE: &str = "xueji_login_csrf";

/// The sign-in routes.
pub fn router() -> Router<Arc<Web>> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/students") }))
        .route("/login", get(login_page).post(login_form))
        .route("/logout", post(logout_form))
        .route("/api/login", post(login_api))
        .route("/api/logout", post(logout_api))
        .route("/api/me", get(me))
        .route("/api/auth/unlock", post(unlock_api))
}

/// What `POST /api/auth/unlock` lifts: `{"account": "<sign-in name>"}` or
/// `{"address": "<client address>"}`.
#[derive(Debug, serde::Deserialize)]
pub struct UnlockBody {
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    address: Option<String>,
}

/// The bureau administrator lifts a sign-in lock early: `{"lifted": bool}`.
async fn unlock_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Json(body): Json<UnlockBody>,
) -> Result<Json<serde_json::Value>, AppError> {
    use crate::service::accounts::{Unlock, unlock};
    let target = match (body.account.as_deref(), body.address.as_deref()) {
        (Some(name), None) if !name.trim().is_empty() => Unlock::Account(name),
        (None, Some(address)) if !address.trim().is_empty() => Unlock::Address(address),
        _ => {
            return Err(AppError::bad_request(
                "auth.unlock_target",
                "请指定要解除锁定的用户名（account）或地址（address）之一",
            ));
        }
    };
    let lifted = unlock(&app.db, &staff.actor, target).await?;
    Ok(Json(serde_json::json!({ "lifted": lifted })))
}

/// A signed-in staff member: the session behind a request, and the
/// [`Actor`] the services are called with.
#[derive(Debug, Clone)]
pub struct Staff {
    /// Who acts, with the schools they may see; what the services take.
    pub actor: Actor,
    /// The account.
    pub user: User,
    /// The session's CSRF token.
    pub csrf: String,
    /// The session token's hash.
    pub token_hash: String,
}

impl Staff {
    /// Whether the staff member may see records of this school.
    pub fn may_see(&self, school_id: i64) -> bool {
        self.actor.may_see(school_id)
    }

    /// Refuses anyone but bureau staff.
    pub fn require_bureau(&self) -> Result<(), AppError> {
        if self.user.role.is_bureau() { Ok(()) } else { Err(AppError::Forbidden) }
    }

    /// Checks a form's or a header's CSRF token.
    pub fn check_csrf(&self, given: &str) -> Result<(), AppError> {
        if constant_time_eq(given.as_bytes(), self.csrf.as_bytes()) { Ok(()) } else { Err(AppError::Csrf) }
    }

    /// Checks the `X-CSRF-Token` header of an API write (the extractor does,
    /// for every API request that is not a read).
    fn check_csrf_header(&self, headers: &HeaderMap) -> Result<(), AppError> {
        self.check_csrf(headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or(""))
    }

    /// Writes an audit entry for this staff member.
    pub async fn audit(
        &self,
        app: &Web,
        action: &str,
        target: (&str, &str),
        school_id: Option<i64>,
        outcome: &str,
        detail: &str,
    ) -> Result<(), AppError> {
        crate::service::audit::write(&app.db.pool, &self.actor, action, target, school_id, outcome, detail).await
    }
}

/// Why a request has no staff member.
#[derive(Debug)]
pub enum AuthRejection {
    /// An API call without a valid session.
    Api,
    /// A page without a valid session.
    Page,
    /// The request was refused (an API write without the session's CSRF token).
    Refused(AppError),
    /// The database failed.
    Internal(AppError),
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        match self {
            Self::Api => AppError::Unauthorized.into_response(),
            Self::Page => Redirect::to("/login").into_response(),
            Self::Refused(e) | Self::Internal(e) => e.into_response(),
        }
    }
}

/// The client address: the connection's, or behind a proxy named in
/// `XUEJI_TRUSTED_PROXY` the last `X-Forwarded-For` hop (as the public pages'
/// rate limit reads it). Without this, behind nginx every sign-in would come
/// from 127.0.0.1, and the per-address sign-in lock would lock out everyone.
pub fn client_addr(parts: &Parts, trusted: &[std::net::IpAddr]) -> String {
    match parts.extensions.get::<ConnectInfo<SocketAddr>>().copied() {
        None => addr_text(None),
        Some(c) => super::ratelimit::client_ip(Some(c.0.ip()), &parts.headers, trusted).to_string(),
    }
}

/// A connection's client address as the audit log records it (`-` if unknown).
pub fn addr_text(connection: Option<ConnectInfo<SocketAddr>>) -> String {
    connection.map_or_else(|| "-".to_owned(), |c| c.0.ip().to_string())
}

/// A cookie's value from the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

impl FromRequestParts<Arc<Web>> for Staff {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<Web>) -> Result<Self, Self::Rejection> {
        let reject = if parts.uri.path().starts_with("/api/") { AuthRejection::Api } else { AuthRejection::Page };
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else { return Err(reject) };
        let now = chrono::Utc::now().timestamp();
        let session =
            users::session(&app.db.pool, token, now, app.config.session_idle_secs, app.config.session_absolute_secs)
                .await
                .map_err(|e| AuthRejection::Internal(e.into()))?;
        let Some(session) = session else { return Err(reject) };
        let via = if parts.uri.path().starts_with("/api/") { Channel::Api } else { Channel::Page };
        let user = session.user;
        let actor =
            crate::service::accounts::actor_for(&app.db, &user, &client_addr(parts, &app.config.trusted_proxies), via)
                .await
                .map_err(AuthRejection::Internal)?;
        crate::service::audit::note_request_actor(&actor);
        let staff = Staff { actor, user, csrf: session.csrf, token_hash: session.token_hash };
        // Every API write carries the session's token in `X-CSRF-Token`: checked here, once.
        if via == Channel::Api && !parts.method.is_safe() {
            staff.check_csrf_header(&parts.headers).map_err(AuthRejection::Refused)?;
        }
        Ok(staff)
    }
}

/// The client address, as an extractor.
pub struct Client(pub String);

impl FromRequestParts<Arc<Web>> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<Web>) -> Result<Self, Self::Rejection> {
        Ok(Self(client_addr(parts, &app.config.trusted_proxies)))
    }
}

fn session_cookie(app: &Web, token: &str, max_age: i64) -> HeaderValue {
    let secure = if app.config.secure_cookies { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .expect("token is URL-safe base64")
}

async fn login_page(State(app): State<Arc<Web>>) -> Result<Response, PageError> {
    login_form_response(&app, None, "", StatusCode::OK)
}

/// The sign-in form; after a refusal it keeps the user name typed (an
/// account name, never a password), so only the password is typed again.
fn login_form_response(
    app: &Web,
    error: Option<&str>,
    username: &str,
    status: StatusCode,
) -> Result<Response, PageError> {
    let csrf = users::new_token();
    let username: String = username.trim().chars().take(64).collect();
    let page = render(app, "login.html", None, context! { csrf => csrf, error => error, username => username })?;
    let secure = if app.config.secure_cookies { "; Secure" } else { "" };
    let cookie = HeaderValue::from_str(&format!(
        "{LOGIN_CSRF_COOKIE}={csrf}; Path=/login; HttpOnly; SameSite=Strict; Max-Age=1800{secure}"
    ))
    .expect("token is URL-safe base64");
    Ok((status, [(header::SET_COOKIE, cookie)], page).into_response())
}

/// The sign-in form's fields.
#[derive(serde::Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    csrf: String,
}

/// Signs in through the service (which audits the attempt).
async fn sign_in(
    app: &Web,
    headers: &HeaderMap,
    client: &str,
    via: Channel,
    username: &str,
    password: &str,
) -> Result<Option<(User, String, String)>, AppError> {
    let old = cookie(headers, SESSION_COOKIE);
    let signed = crate::service::accounts::sign_in(&app.db, username, password, old, client, via).await?;
    Ok(signed.map(|s| (s.user, s.token, s.csrf)))
}

async fn login_form(
    State(app): State<Arc<Web>>,
    Client(client): Client,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or("");
    if expected.is_empty() || !constant_time_eq(expected.as_bytes(), form.csrf.as_bytes()) {
        return login_form_response(&app, Some("表单已过期，请重新登录"), &form.username, StatusCode::FORBIDDEN);
    }
    match sign_in(&app, &headers, &client, Channel::Page, &form.username, &form.password).await? {
        None => login_form_response(&app, Some("用户名或密码错误"), &form.username, StatusCode::UNAUTHORIZED),
        Some((_, token, _)) => Ok((
            [(header::SET_COOKIE, session_cookie(&app, &token, app.config.session_absolute_secs))],
            Redirect::to("/students"),
        )
            .into_response()),
    }
}

/// The API's sign-in body.
#[derive(serde::Deserialize)]
pub struct LoginJson {
    username: String,
    password: String,
}

async fn login_api(
    State(app): State<Arc<Web>>,
    Client(client): Client,
    headers: HeaderMap,
    Json(body): Json<LoginJson>,
) -> Result<Response, AppError> {
    match sign_in(&app, &headers, &client, Channel::Api, &body.username, &body.password).await? {
        None => Ok((
            StatusCode::UNAUTHORIZED,
            Json(ErrorBody { code: "auth.bad_credentials", message: "用户名或密码错误".into(), field: None }),
        )
            .into_response()),
        Some((user, token, csrf)) => Ok((
            [(header::SET_COOKIE, session_cookie(&app, &token, app.config.session_absolute_secs))],
            Json(serde_json::json!({ "user": user, "csrf": csrf })),
        )
            .into_response()),
    }
}

/// The sign-out form's field.
#[derive(serde::Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout_form(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    staff.check_csrf(&form.csrf)?;
    users::end_session(&app.db.pool, &staff.token_hash).await?;
    Ok(([(header::SET_COOKIE, session_cookie(&app, "", 0))], Redirect::to("/login")).into_response())
}

async fn logout_api(State(app): State<Arc<Web>>, staff: Staff) -> Result<Response, AppError> {
    users::end_session(&app.db.pool, &staff.token_hash).await?;
    Ok(([(header::SET_COOKIE, session_cookie(&app, "", 0))], StatusCode::NO_CONTENT).into_response())
}

async fn me(staff: Staff) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "user": staff.user, "csrf": staff.csrf, "scope": staff.actor.scope }))
}
