//! Staff accounts as actors: what a stored account may do and see.

use crate::db::Db;
use crate::db::users::{self, User};
use crate::domain::{Actor, Channel, Role};
use crate::error::AppResult;

/// The actor a signed-in account acts as: a registrar sees the schools whose
/// files they hold (their own, and a central school's township schools),
/// bureau staff every school.
pub async fn actor_for(db: &Db, user: &User, client: &str, via: Channel) -> AppResult<Actor> {
    let scope = match (user.role, user.school_id) {
        (Role::Registrar, Some(school)) => Some(crate::db::schools::held_by(&db.pool, school).await?),
        (Role::Registrar, None) => Some(Vec::new()),
        _ => None,
    };
    Ok(Actor {
        user_id: Some(user.id),
        username: user.username.clone(),
        display_name: user.display_name.clone(),
        role: user.role,
        school_id: user.school_id,
        scope,
        client: client.to_owned(),
        via,
    })
}

/// A new session.
#[derive(Debug)]
pub struct SignedIn {
    /// The account.
    pub user: User,
    /// The session token (for the cookie; the database keeps only its hash).
    pub token: String,
    /// The session's CSRF token.
    pub csrf: String,
}

/// Signs in: checks the password, ends the session the browser held (no
/// fixation), starts a new one. Every attempt writes one `auth.login` row,
/// `ok` or `denied`. `None` when the name or password is wrong.
pub async fn sign_in(
    db: &Db,
    username: &str,
    password: &str,
    old_session: Option<&str>,
    client: &str,
    via: Channel,
) -> AppResult<Option<SignedIn>> {
    let user = users::authenticate(&db.pool, username.trim(), password).await?;
    let Some(user) = user else {
        let actor = Actor::anonymous(client, via);
        crate::service::audit::write(&db.pool, &actor, "auth.login", ("session", "-"), None, "denied", "").await?;
        return Ok(None);
    };
    let actor = actor_for(db, &user, client, via).await?;
    crate::service::audit::write(&db.pool, &actor, "auth.login", ("session", "-"), None, "ok", "").await?;
    if let Some(old) = old_session {
        users::end_session(&db.pool, &users::token_hash(old)).await?;
    }
    let (token, csrf) = users::create_session(&db.pool, user.id, client, chrono::Utc::now().timestamp()).await?;
    Ok(Some(SignedIn { user, token, csrf }))
}
