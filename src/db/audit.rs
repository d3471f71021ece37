//! The audit log: every read of a student's personal data by staff, and every
//! refused attempt, with who, when, what and from where. Append-only.

pub use crate::domain::audit_chain::Entry;
use crate::domain::audit_chain::Link;
use sqlx::{Acquire, Any, Executor, Row};

/// Writes an entry, chained to the one before it: the head row is locked,
/// the entry's hash computed over its fields and the head's hash, the entry
/// inserted and the head moved, all in one transaction (a savepoint when `e`
/// is already a transaction, whose commit then releases the head). Rows
/// therefore chain in the order they commit.
pub async fn record<'a>(e: impl Acquire<'a, Database = Any>, entry: &Entry<'_>) -> Result<(), sqlx::Error> {
    let mut tx = e.begin().await?;
    let prev: String = sqlx::query_scalar("UPDATE audit_head SET rows = rows + 1 WHERE id = 1 RETURNING hash")
        .fetch_one(&mut *tx)
        .await?;
    let at = super::now_text();
    let hash = Link { at: &at, entry: *entry }.hash(&prev);
    sqlx::query(
        "INSERT INTO audit_log (at, user_id, username, action, target_kind, target_id, school_id, outcome, client,
             detail, via, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(&at)
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
    .bind(&prev)
    .bind(&hash)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1").bind(&hash).execute(&mut *tx).await?;
    tx.commit().await
}

/// The chain's head: the last row's hash and how many rows are chained.
pub async fn head<'c>(e: impl Executor<'c, Database = Any>) -> Result<(String, i64), sqlx::Error> {
    let row = sqlx::query("SELECT hash, rows FROM audit_head WHERE id = 1").fetch_one(e).await?;
    Ok((row.try_get("hash")?, row.try_get("rows")?))
}

/// A stored row with what its hash covers, for walking the chain.
#[derive(Debug, Clone)]
pub struct ChainRow {
    /// The row's id.
    pub id: i64,
    /// When.
    pub at: String,
    /// The account, if any.
    pub user_id: Option<i64>,
    /// Who.
    pub username: String,
    /// What.
    pub action: String,
    /// Kind of target.
    pub target_kind: String,
    /// Target.
    pub target_id: String,
    /// The target's school.
    pub school_id: Option<i64>,
    /// Outcome.
    pub outcome: String,
    /// From where.
    pub client: String,
    /// How.
    pub via: String,
    /// Extra facts.
    pub detail: String,
    /// The hash it says came before it.
    pub prev_hash: String,
    /// Its hash as stored.
    pub hash: String,
}

impl ChainRow {
    /// The fields its hash covers.
    pub fn link(&self) -> Link<'_> {
        Link {
            at: &self.at,
            entry: Entry {
                user_id: self.user_id,
                username: &self.username,
                action: &self.action,
                target_kind: &self.target_kind,
                target_id: &self.target_id,
                school_id: self.school_id,
                outcome: &self.outcome,
                client: &self.client,
                via: &self.via,
                detail: &self.detail,
            },
        }
    }
}

/// Rows after `after_id`, in id order, at most `limit`.
pub async fn chain_page<'c>(
    e: impl Executor<'c, Database = Any>,
    after_id: i64,
    limit: i64,
) -> Result<Vec<ChainRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, at, user_id, username, action, target_kind, target_id, school_id, outcome, client, via, detail,
             prev_hash, hash
         FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2",
    )
    .bind(after_id)
    .bind(limit)
    .fetch_all(e)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ChainRow {
                id: r.try_get("id")?,
                at: r.try_get("at")?,
                user_id: r.try_get("user_id")?,
                username: r.try_get("username")?,
                action: r.try_get("action")?,
                target_kind: r.try_get("target_kind")?,
                target_id: r.try_get("target_id")?,
                school_id: r.try_get("school_id")?,
                outcome: r.try_get("outcome")?,
                client: r.try_get("client")?,
                via: r.try_get("via")?,
                detail: r.try_get("detail")?,
                prev_hash: r.try_get("prev_hash")?,
                hash: r.try_get("hash")?,
            })
        })
        .collect()
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

/// What to look for in the audit log; empty fields match everything.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub struct Filter {
    /// Who (exactly, e.g. `r2122012002` or `cli:operator`).
    #[serde(default)]
    pub username: String,
    /// What: an action, or its first part (`student` finds `student.view`, …).
    #[serde(default)]
    pub action: String,
    /// The target's id (a student's public id, a school code, a number).
    #[serde(default)]
    pub target: String,
    /// How it ended: `ok`, `denied`, `refused`, `error`, `not_found`, …
    #[serde(default)]
    pub outcome: String,
    /// From this day on (`YYYY-MM-DD`, UTC, as the rows are stamped).
    #[serde(default)]
    pub from: String,
    /// Up to and including this day.
    #[serde(default)]
    pub to: String,
}

/// The entries matching `filter`, newest first (`limit` from `offset`), and how many match.
pub async fn search(
    conn: &mut sqlx::AnyConnection,
    filter: &Filter,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Logged>, i64), sqlx::Error> {
    const WHERE: &str = "WHERE ($1 = '' OR username = $1)
        AND ($2 = '' OR action = $2 OR action LIKE $3)
        AND ($4 = '' OR target_id = $4)
        AND ($5 = '' OR outcome = $5)
        AND ($6 = '' OR at >= $6)
        AND ($7 = '' OR at < $7)";
    // `to` is inclusive: rows stamped before the next day.
    let to = chrono::NaiveDate::parse_from_str(filter.to.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|d| d.succ_opt())
        .map(|d| d.to_string())
        .unwrap_or_default();
    let action = filter.action.trim();
    let prefix = format!("{}.%", action.replace(['%', '_'], ""));
    let binds = [
        filter.username.trim(),
        action,
        prefix.as_str(),
        filter.target.trim(),
        filter.outcome.trim(),
        filter.from.trim(),
        to.as_str(),
    ];
    let count_sql = format!("SELECT COUNT(*) FROM audit_log {WHERE}");
    let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
    for value in binds {
        count = count.bind(value);
    }
    let total = count.fetch_one(&mut *conn).await?;
    let sql = format!(
        "SELECT at, username, action, target_kind, target_id, outcome, client, via, detail FROM audit_log {WHERE}
         ORDER BY id DESC LIMIT {limit} OFFSET {offset}"
    );
    let mut query = sqlx::query(&sql);
    for value in binds {
        query = query.bind(value);
    }
    let rows = query.fetch_all(&mut *conn).await?;
    let entries = rows.iter().map(logged_from_row).collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok((entries, total))
}

/// A stored entry from a row of `SELECT at, username, action, target_kind,
/// target_id, outcome, client, via, detail`.
fn logged_from_row(r: &sqlx::any::AnyRow) -> Result<Logged, sqlx::Error> {
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
    rows.iter().map(logged_from_row).collect()
}

/// The school of the student with this public id (the audit row names it).
pub async fn school_of_student<'c>(
    e: impl Executor<'c, Database = Any>,
    public_id: &str,
) -> Result<Option<i64>, sqlx::Error> {
    Ok(super::students::locate(e, public_id).await?.map(|(_, school)| school))
}
