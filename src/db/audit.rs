//! The audit log: every read of a student's personal data by staff, and every
//! refused attempt, with who, when, what and from where. Append-only.

use sqlx::{Any, Executor, Row};

/// One audit entry to write.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    /// The account (None for an anonymous attempt).
    pub user_id: Option<i64>,
    /// The account name, or `-`.
    pub username: &'a str,
    /// What was done: `student.view`, `student.list`, `student.search`, `roster.export`, …
    pub action: &'a str,
    /// What kind of thing: `student`, `school`, …
    pub target_kind: &'a str,
    /// Which: a student's public id, a school code.
    pub target_id: &'a str,
    /// The school the target belongs to.
    pub school_id: Option<i64>,
    /// `ok`, `denied` or `not_found`.
    pub outcome: &'a str,
    /// Client address.
    pub client: &'a str,
    /// How the actor came in: `page`, `api`, `cli`, `scheduler`.
    pub via: &'a str,
    /// Extra facts (never personal data): counts, filters.
    pub detail: &'a str,
}

/// Writes an entry.
pub async fn record<'c>(e: impl Executor<'c, Database = Any>, entry: &Entry<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_log (at, user_id, username, action, target_kind, target_id, school_id, outcome, client, detail, via)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(super::now_text())
    .bind(entry.user_id)
    .bind(entry.username)
    .bind(entry.action)
    .bind(entry.target_kind)
    .bind(entry.target_id)
    .bind(entry.school_id)
    .bind(entry.outcome)
    .bind(entry.client)
    .bind(entry.detail)
    .bind(entry.via)
    .execute(e)
    .await?;
    Ok(())
}

/// A stored audit entry.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Logged {
    /// When.
    pub at: String,
    /// Who.
    pub username: String,
    /// What.
    pub action: String,
    /// Kind of target.
    pub target_kind: String,
    /// Target.
    pub target_id: String,
    /// Outcome.
    pub outcome: String,
    /// From where.
    pub client: String,
    /// How the actor came in (empty for rows older than the column).
    pub via: String,
    /// Extra facts.
    pub detail: String,
}

/// The newest entries, optionally for one target.
pub async fn recent<'c>(
    e: impl Executor<'c, Database = Any>,
    target_id: Option<&str>,
    limit: i64,
) -> Result<Vec<Logged>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT at, username, action, target_kind, target_id, outcome, client, via, detail FROM audit_log
         WHERE ($1 = '' OR target_id = $1) ORDER BY id DESC LIMIT {limit}"
    ))
    .bind(target_id.unwrap_or(""))
    .fetch_all(e)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Logged {
                at: r.try_get("at")?,
                username: r.try_get("username")?,
                action: r.try_get("action")?,
                target_kind: r.try_get("target_kind")?,
                target_id: r.try_get("target_id")?,
                outcome: r.try_get("outcome")?,
                client: r.try_get("client")?,
                via: r.try_get("via")?,
                detail: r.try_get("detail")?,
            })
        })
        .collect()
}

/// The school of the student with this public id (the audit row names it).
pub async fn school_of_student<'c>(
    e: impl Executor<'c, Database = Any>,
    public_id: &str,
) -> Result<Option<i64>, sqlx::Error> {
    Ok(super::students::locate(e, public_id).await?.map(|(_, school)| school))
}
