//! Every denied request is audited (Art. 33): a 403 or 404 answered to a
//! signed-in staff member writes one audit row, whether the action audited
//! its refusal itself or it was refused before any action began (by an
//! extractor, a scope check, or an unknown route). Anonymous requests are not
//! audited here: they see nothing but the sign-in page and the public
//! verification page, and must not be able to fill the log.

use super::Web;
use super::auth::{SESSION_COOKIE, addr_text, cookie};
use crate::db::users;
use crate::domain::Channel;
use crate::service::audit::{in_request_scope, write_denial};
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use std::net::SocketAddr;
use std::sync::Arc;

/// The middleware: runs the request in an audit scope, then writes the
/// denial row if the answer is a 403 or 404 that nothing audited.
pub async fn audit_denials(State(web): State<Arc<Web>>, req: Request, next: Next) -> Response {
    // Kept cheaply (reference-counted clones); turned into text only for a denial.
    let method = req.method().clone();
    let matched = req.extensions().get::<MatchedPath>().cloned();
    let uri = req.uri().clone();
    let connection = req.extensions().get::<ConnectInfo<SocketAddr>>().copied();
    let token = cookie(req.headers(), SESSION_COOKIE).map(str::to_owned);
    let (res, scope) = in_request_scope(next.run(req)).await;
    let status = res.status();
    if !(status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND) || scope.written {
        return res;
    }
    // The route's pattern (`/api/students/{id}`), never the values in it.
    let route = matched
        .map_or_else(|| super::verify::log_path(uri.path()).chars().take(200).collect(), |m| m.as_str().to_owned());
    let via = if uri.path().starts_with("/api/") { Channel::Api } else { Channel::Page };
    let client = addr_text(connection);
    let actor = match (scope.actor, token) {
        (Some(actor), _) => Some(actor),
        // Refused before the session was read (an unknown route): read it now.
        (None, Some(token)) => session_actor(&web, &token, &client, via).await,
        (None, None) => None,
    };
    if let Some(actor) = actor
        && let Err(e) = write_denial(&web.db, &actor, method.as_str(), &route, status == StatusCode::NOT_FOUND).await
    {
        tracing::error!(code = e.code(), "a denied request could not be audited");
    }
    res
}

async fn session_actor(web: &Web, token: &str, client: &str, via: Channel) -> Option<crate::domain::Actor> {
    let now = chrono::Utc::now().timestamp();
    let config = &web.config;
    let session = users::session(&web.db.pool, token, now, config.session_idle_secs, config.session_absolute_secs)
        .await
        .ok()??;
    crate::service::accounts::actor_for(&web.db, &session.user, client, via).await.ok()
}
