//! The signing keys, for the bureau administrator: `GET /keys` (the keys,
//! a form to rotate, and one to mark a key compromised), `POST /keys` (those
//! forms), and the same as JSON: `GET /api/keys`, `POST /api/keys/rotate`,
//! `POST /api/keys/{kid}/retire` and `POST /api/keys/{kid}/compromise`, each
//! with `{"reason": …}`. Every change goes through
//! [`crate::service::keys::change`], which checks the role and audits it;
//! the published key set follows at once (it is read from the same store).

use crate::domain::Role;
use crate::error::AppError;
use crate::http::Web;
use crate::http::auth::Staff;
use crate::http::pages::{PageError, render};
use crate::service::keys::{Change, Changed, change};
use crate::verify::{KeyStore, Kid};
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use minijinja::context;
use std::sync::Arc;

/// The key routes.
pub fn router() -> Router<Arc<Web>> {
    Router::new()
        .route("/keys", get(page).post(form))
        .route("/api/keys", get(list_api))
        .route("/api/keys/rotate", post(rotate_api))
        .route("/api/keys/{kid}/{change}", post(change_api))
}

/// One key as the page and the API show it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct KeyRow {
    /// The key id.
    pub kid: String,
    /// `active`, `retired` or `compromised`.
    pub status: &'static str,
    /// The status in Chinese.
    pub status_label: &'static str,
    /// When it was generated (UTC, to the second).
    pub created: String,
}

fn rows(keys: &KeyStore) -> Vec<KeyRow> {
    keys.list()
        .into_iter()
        .map(|k| KeyRow {
            kid: k.kid.to_string(),
            status: k.status.code(),
            status_label: k.status.label_zh(),
            created: k.created.format("%Y-%m-%d %H:%M:%S").to_string(),
        })
        .collect()
}

fn require_admin(staff: &Staff) -> Result<(), AppError> {
    if staff.user.role == Role::BureauAdmin { Ok(()) } else { Err(AppError::Forbidden) }
}

fn parse_kid(kid: &str) -> Result<Kid, AppError> {
    kid.trim().parse::<Kid>().map_err(|_| AppError::bad_request("key.invalid", "密钥编号格式不正确"))
}

fn parse_change(action: &str, kid: Option<&str>) -> Result<Change, AppError> {
    match (action, kid) {
        ("rotate", _) => Ok(Change::Rotate),
        ("retire", Some(kid)) => Ok(Change::Retire(parse_kid(kid)?)),
        ("compromise", Some(kid)) => Ok(Change::Compromise(parse_kid(kid)?)),
        _ => Err(AppError::NotFound),
    }
}

/// `?ok=rotate|retire|compromise` after a change.
#[derive(Debug, Default, serde::Deserialize)]
pub struct KeysQuery {
    #[serde(default)]
    ok: Option<String>,
}

fn done_message(code: &str) -> Option<&'static str> {
    Some(match code {
        "rotate" => "已生成并启用新密钥：此后打印的文书用新密钥签名，旧文书仍可验证。",
        "retire" => "密钥已停用：不再签名，它签发的文书仍可验证。",
        "compromise" => "密钥已标记为泄露：它签发的所有文书验证失败，请重新打印。",
        "compromise_active" => "密钥已标记为泄露：它签发的所有文书验证失败，请重新打印；打印已改用新生成的启用密钥。",
        _ => return None,
    })
}

async fn page(State(app): State<Arc<Web>>, staff: Staff, Query(q): Query<KeysQuery>) -> Result<Response, PageError> {
    require_admin(&staff)?;
    show(&app, &staff, q.ok.as_deref().and_then(done_message), None, StatusCode::OK)
}

fn show(
    app: &Web,
    staff: &Staff,
    message: Option<&str>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let html = render(
        app,
        "keys.html",
        Some(staff),
        context! { keys => rows(&app.keys), message => message, error => error },
    )?;
    Ok((status, html).into_response())
}

/// The page's forms.
#[derive(Debug, serde::Deserialize)]
pub struct KeyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    reason: String,
}

async fn form(State(app): State<Arc<Web>>, staff: Staff, Form(f): Form<KeyForm>) -> Result<Response, PageError> {
    staff.check_csrf(&f.csrf)?;
    require_admin(&staff)?;
    let what = parse_change(&f.action, f.kid.as_deref())?;
    let was_active = match what {
        Change::Compromise(kid) => app.keys.active_signer().is_ok_and(|s| s.kid() == kid),
        _ => false,
    };
    match change(&app.db, &app.keys, &staff.actor, what, &f.reason).await {
        Ok(_) => {
            let done = if was_active { "compromise_active" } else { f.action.as_str() };
            Ok(Redirect::to(&format!("/keys?ok={done}")).into_response())
        }
        Err(e) if matches!(e, AppError::BadRequest { .. } | AppError::Conflict { .. }) => {
            show(&app, &staff, None, Some(e.to_string()), e.status())
        }
        Err(e) => Err(e.into()),
    }
}

async fn list_api(State(app): State<Arc<Web>>, staff: Staff) -> Result<Json<Vec<KeyRow>>, AppError> {
    require_admin(&staff)?;
    Ok(Json(rows(&app.keys)))
}

/// An API change's body.
#[derive(Debug, Default, serde::Deserialize)]
pub struct ReasonBody {
    #[serde(default)]
    reason: String,
}

async fn rotate_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    body: Option<Json<ReasonBody>>,
) -> Result<Json<Changed>, AppError> {
    let reason = body.map(|Json(b)| b.reason).unwrap_or_default();
    Ok(Json(change(&app.db, &app.keys, &staff.actor, Change::Rotate, &reason).await?))
}

async fn change_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path((kid, what)): Path<(String, String)>,
    body: Option<Json<ReasonBody>>,
) -> Result<Json<Changed>, AppError> {
    let what = match what.as_str() {
        "retire" | "compromise" => parse_change(&what, Some(&kid))?,
        _ => return Err(AppError::NotFound),
    };
    let reason = body.map(|Json(b)| b.reason).unwrap_or_default();
    Ok(Json(change(&app.db, &app.keys, &staff.actor, what, &reason).await?))
}
