//! Staff accounts and their sessions.
//!
//! Passwords are stored as argon2id PHC strings. A session is a random
//! 256-bit token held in an HttpOnly cookie; the database keeps only its
//! sha256, so a copy of the database cannot be used to sign in.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use sha2::{Digest, Sha256};
use sqlx::{Any, Executor, Row};

pub use crate::domain::Role;
use crate::domain::throttle::Attempts;

/// A staff account.
#[derive(Debug, Clone, serde::Serialize)]
pub struct User {
    /// Internal id.
    pub id: i64,
    /// Sign-in name.
    pub username: String,
    /// Name shown in pages and the history.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// The registrar's school.
    pub school_id: Option<i64>,
}

/// Hashes a password with argon2id and a random salt.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))
}

/// Checks a password against a stored hash.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// Creates an account.
pub async fn insert<'c>(
    e: impl Executor<'c, Database = Any>,
    username: &str,
    display_name: &str,
    password: &str,
    role: Role,
    school_id: Option<i64>,
) -> anyhow::Result<i64> {
    if password.chars().count() < 10 {
        anyhow::bail!(crate::domain::DomainError::new("user.password_short", "密码", "******", "太短，至少10个字符"));
    }
    if (role == Role::Registrar) != school_id.is_some() {
        anyhow::bail!("学籍管理员须绑定一所学校，教育局账号不绑定学校");
    }
    let hash = hash_password(password)?;
    Ok(sqlx::query_scalar(
        "INSERT INTO users (username, display_name, password_hash, role, school_id, active, created_at)
         VALUES ($1, $2, $3, $4, $5, 1, $6) RETURNING id",
    )
    .bind(username)
    .bind(display_name)
    .bind(hash)
    .bind(role.code())
    .bind(school_id)
    .bind(super::now_text())
    .fetch_one(e)
    .await?)
}

fn user_from_row(r: &sqlx::any::AnyRow) -> Result<User, sqlx::Error> {
    let role: String = r.try_get("role")?;
    Ok(User {
        id: r.try_get("id")?,
        username: r.try_get("username")?,
        display_name: r.try_get("display_name")?,
        role: Role::parse(&role).ok_or_else(|| sqlx::Error::Decode(format!("unknown role {role}").into()))?,
        school_id: r.try_get("school_id")?,
    })
}

/// Checks a sign-in. Runs the hash even for an unknown user, so timing does not tell which names exist.
pub async fn authenticate<'c>(
    e: impl Executor<'c, Database = Any>,
    username: &str,
    password: &str,
) -> Result<Option<User>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, username, display_name, role, school_id, password_hash FROM users WHERE username = $1 AND active = 1",
    )
    .bind(username)
    .fetch_optional(e)
    .await?;
    let hash = match &row {
        Some(r) => r.try_get::<String, _>("password_hash")?,
        None => DUMMY_HASH.to_owned(),
    };
    let ok = tokio::task::spawn_blocking({
        let password = password.to_owned();
        move || verify_password(&password, &hash)
    })
    .await
    .unwrap_or(false);
    match row {
        Some(r) if ok => Ok(Some(user_from_row(&r)?)),
        _ => Ok(None),
    }
}

/// An argon2id hash of a random password, used to spend the same time on unknown names.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3wq3Q3cYlXbuMC0I0m2WrD6P2W4y3E5d5xSP8k0eY+c";

/// The sha256 of a session token, as stored.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new random token (256 bits, URL-safe base64).
pub fn new_token() -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// A live session.
#[derive(Debug, Clone)]
pub struct Session {
    /// The account.
    pub user: User,
    /// The CSRF token forms must echo.
    pub csrf: String,
    /// The sha256 of the cookie token.
    pub token_hash: String,
}

/// Starts a session for a user and returns the cookie token. Any session the
/// browser held before is ended by the caller (rotation at sign-in).
pub async fn create_session<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: i64,
    client: &str,
    now: i64,
) -> Result<(String, String), sqlx::Error> {
    let token = new_token();
    let csrf = new_token();
    sqlx::query("INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, last_seen, client) VALUES ($1, $2, $3, $4, $4, $5)")
        .bind(token_hash(&token))
        .bind(user_id)
        .bind(&csrf)
        .bind(now)
        .bind(client)
        .execute(e)
        .await?;
    Ok((token, csrf))
}

/// Looks up a session, ending it if it is past its idle or absolute timeout, and marks it seen.
pub async fn session(
    pool: &sqlx::AnyPool,
    token: &str,
    now: i64,
    idle_secs: i64,
    absolute_secs: i64,
) -> Result<Option<Session>, sqlx::Error> {
    let th = token_hash(token);
    let row = sqlx::query(
        "SELECT u.id, u.username, u.display_name, u.role, u.school_id, s.csrf_token, s.created_at, s.last_seen
         FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND u.active = 1",
    )
    .bind(&th)
    .fetch_optional(pool)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let created: i64 = r.try_get("created_at")?;
    let last_seen: i64 = r.try_get("last_seen")?;
    if now - last_seen > idle_secs || now - created > absolute_secs {
        end_session(pool, &th).await?;
        return Ok(None);
    }
    // Touch at most once a minute: a page with many requests writes once.
    if now - last_seen >= 60 {
        sqlx::query("UPDATE sessions SET last_seen = $1 WHERE token_hash = $2")
            .bind(now)
            .bind(&th)
            .execute(pool)
            .await?;
    }
    Ok(Some(Session { user: user_from_row(&r)?, csrf: r.try_get("csrf_token")?, token_hash: th }))
}

/// Ends a session.
pub async fn end_session<'c>(e: impl Executor<'c, Database = Any>, token_hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(e).await?;
    Ok(())
}

/// Removes sessions past their timeouts.
pub async fn purge_sessions<'c>(
    e: impl Executor<'c, Database = Any>,
    now: i64,
    idle_secs: i64,
    absolute_secs: i64,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM sessions WHERE last_seen < $1 OR created_at < $2")
        .bind(now - idle_secs)
        .bind(now - absolute_secs)
        .execute(e)
        .await?
        .rows_affected())
}

/// Number of accounts.
pub async fn count<'c>(e: impl Executor<'c, Database = Any>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(e).await
}

/// Finds an account by name.
pub async fn by_username<'c>(
    e: impl Executor<'c, Database = Any>,
    username: &str,
) -> Result<Option<User>, sqlx::Error> {
    let row = sqlx::query("SELECT id, username, display_name, role, school_id FROM users WHERE username = $1")
        .bind(username)
        .fetch_optional(e)
        .await?;
    row.as_ref().map(user_from_row).transpose()
}

/// The failed sign-ins recorded under `key` (`account:<name>` or
/// `address:<ip>`); none recorded is zero failures.
pub async fn attempts<'c>(e: impl Executor<'c, Database = Any>, key: &str) -> Result<Attempts, sqlx::Error> {
    let row = sqlx::query("SELECT failures, last_failure_at FROM login_attempts WHERE key = $1")
        .bind(key)
        .fetch_optional(e)
        .await?;
    row.map(|r| {
        Ok(Attempts {
            failures: u32::try_from(r.try_get::<i64, _>("failures")?).unwrap_or(u32::MAX),
            last_failure_at: r.try_get("last_failure_at")?,
        })
    })
    .transpose()
    .map(Option::unwrap_or_default)
}

/// Records one more failed sign-in under `key` at `now` (Unix milliseconds),
/// in one statement so that attempts at the same time all count; failures
/// older than `forget_ms` start anew. Returns the record after it.
pub async fn record_failure<'c>(
    e: impl Executor<'c, Database = Any>,
    key: &str,
    now: i64,
    forget_ms: i64,
) -> Result<Attempts, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO login_attempts (key, failures, last_failure_at) VALUES ($1, 1, $2)
         ON CONFLICT (key) DO UPDATE SET
             failures = CASE WHEN $2 - login_attempts.last_failure_at >= $3 THEN 1
                             ELSE login_attempts.failures + 1 END,
             last_failure_at = $2
         RETURNING failures, last_failure_at",
    )
    .bind(key)
    .bind(now)
    .bind(forget_ms)
    .fetch_one(e)
    .await?;
    Ok(Attempts {
        failures: u32::try_from(row.try_get::<i64, _>("failures")?).unwrap_or(u32::MAX),
        last_failure_at: row.try_get("last_failure_at")?,
    })
}

/// Forgets the failed sign-ins under `key`; whether there were any.
pub async fn clear_attempts<'c>(e: impl Executor<'c, Database = Any>, key: &str) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM login_attempts WHERE key = $1").bind(key).execute(e).await?.rows_affected() > 0)
}

/// Every account's display name by username, for lists that name who did
/// something (an archive entry records the username).
pub async fn display_names<'c>(
    e: impl Executor<'c, Database = Any>,
) -> Result<std::collections::HashMap<String, String>, sqlx::Error> {
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT username, display_name FROM users").fetch_all(e).await?;
    Ok(rows.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_themselves() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse batterY", &h));
        assert!(!verify_password("x", DUMMY_HASH));
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }
}
