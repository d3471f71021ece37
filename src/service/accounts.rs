//! Staff accounts as actors: what a stored account may do and see.

use crate::db::Db;
use crate::db::users::{self, User};
use crate::domain::throttle;
use crate::domain::{Actor, Channel, Role};
use crate::error::{AppError, AppResult};

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
/// `ok` or `denied`. `None` when the name or password is wrong, or when
/// the account or the client address is throttled ([`throttle`]): that
/// answer is the same, and takes the same time (the password is checked
/// either way). The failure that locks an account or an address writes an
/// `auth.lock` row.
pub async fn sign_in(
    db: &Db,
    username: &str,
    password: &str,
    old_session: Option<&str>,
    client: &str,
    via: Channel,
) -> AppResult<Option<SignedIn>> {
    let username = username.trim();
    let now = chrono::Utc::now().timestamp_millis();
    let keys = [account_key(username), address_key(client)];
    let mut blocked = false;
    for key in &keys {
        blocked |= users::attempts(&db.pool, key).await?.blocked_until(now).is_some();
    }
    let user = users::authenticate(&db.pool, username, password).await?;
    let user = match user {
        Some(user) if !blocked => user,
        _ => {
            let actor = Actor::anonymous(client, via);
            let detail = if blocked { "throttled" } else { "" };
            crate::service::audit::write(&db.pool, &actor, "auth.login", ("session", "-"), None, "denied", detail)
                .await?;
            for (key, what) in keys.iter().zip(["account", "address"]) {
                // The wait runs from the answer, not from the start of this attempt's password check.
                let failed_at = chrono::Utc::now().timestamp_millis();
                let after = users::record_failure(&db.pool, key, failed_at, throttle::FORGET_SECS * 1000).await?;
                if after.current(failed_at) == throttle::LOCK_FAILURES {
                    let detail = format!("{what} locked after {} failures", throttle::LOCK_FAILURES);
                    crate::service::audit::write(&db.pool, &actor, "auth.lock", ("login", "-"), None, "ok", &detail)
                        .await?;
                }
            }
            return Ok(None);
        }
    };
    let actor = actor_for(db, &user, client, via).await?;
    crate::service::audit::write(&db.pool, &actor, "auth.login", ("session", "-"), None, "ok", "").await?;
    users::clear_attempts(&db.pool, &keys[0]).await?;
    if let Some(old) = old_session {
        users::end_session(&db.pool, &users::token_hash(old)).await?;
    }
    let (token, csrf) = users::create_session(&db.pool, user.id, client, chrono::Utc::now().timestamp()).await?;
    Ok(Some(SignedIn { user, token, csrf }))
}

/// The throttling key of an account name as typed (at most 64 characters kept).
fn account_key(username: &str) -> String {
    format!("account:{}", username.chars().take(64).collect::<String>())
}

/// The throttling key of a client address.
fn address_key(client: &str) -> String {
    format!("address:{client}")
}

/// Lifts the sign-in lock (and any wait) of an account, or of a client
/// address, before it ends (the bureau administrator, or the command line):
/// `auth.unlock`. Returns whether there was anything to lift.
///
/// # Errors
///
/// Anyone but the bureau administrator or the command line is refused.
pub async fn unlock(db: &Db, actor: &Actor, target: Unlock<'_>) -> AppResult<bool> {
    if actor.role != Role::BureauAdmin && actor.via != Channel::Cli {
        crate::service::audit::write(&db.pool, actor, "auth.unlock", ("login", "-"), None, "denied", "role").await?;
        return Err(AppError::Forbidden);
    }
    let (key, target) = match target {
        Unlock::Account(name) => (account_key(name.trim()), ("account", name.trim())),
        Unlock::Address(address) => (address_key(address.trim()), ("address", address.trim())),
    };
    let lifted = users::clear_attempts(&db.pool, &key).await?;
    let detail = if lifted { "lifted" } else { "nothing to lift" };
    crate::service::audit::write(&db.pool, actor, "auth.unlock", target, None, "ok", detail).await?;
    Ok(lifted)
}

/// What [`unlock`] lifts.
#[derive(Debug, Clone, Copy)]
pub enum Unlock<'a> {
    /// An account, by its sign-in name.
    Account(&'a str),
    /// A client address.
    Address(&'a str),
}
