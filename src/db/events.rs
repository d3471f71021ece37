//! A student's status as the workflows move it: the row lock taken first,
//! the guarded status update, the status dates kept beside it, the events
//! that record each change (append-only; see [`super::students::events_of`]
//! for reading them), and the open applications a change must wait for.

use crate::domain::StudentStatus;
use chrono::NaiveDate;
use sqlx::{Any, Executor, Row};

/// Takes the write lock on the student's row for the rest of the
/// transaction (SQLite: the database write lock; PostgreSQL: the row lock);
/// returns the rows touched (0: no such student).
pub async fn lock_by_public_id<'c>(e: impl Executor<'c, Database = Any>, public_id: &str) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("UPDATE students SET updated_at = updated_at WHERE public_id = $1")
        .bind(public_id)
        .execute(e)
        .await?
        .rows_affected())
}

/// How many of the student's applications are still open.
pub async fn open_case_count<'c>(e: impl Executor<'c, Database = Any>, student_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM cases WHERE student_id = $1 AND state = 'open'")
        .bind(student_id)
        .fetch_one(e)
        .await
}

/// One status change to write onto a student's row.
#[derive(Debug, Clone, Copy)]
pub struct StatusChange {
    /// The student (internal id).
    pub student_id: i64,
    /// The status read under the row lock: the update applies only if it is still this.
    pub from: StudentStatus,
    /// The new status.
    pub to: StudentStatus,
    /// When the new status began (`None` keeps the column).
    pub since: Option<NaiveDate>,
    /// When it runs out (`None` keeps the column unless `clear_until`).
    pub until: Option<NaiveDate>,
    /// Empty `status_until` (a status that does not run out).
    pub clear_until: bool,
}

/// Moves the student from `from` to `to` with its dates; returns the rows
/// changed (0 when the status was no longer `from`).
pub async fn set_status<'c>(
    e: impl Executor<'c, Database = Any>,
    c: &StatusChange,
    now: &str,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE students SET status = $1, status_since = COALESCE($2, status_since),
             status_until = CASE WHEN $3 = 'clear' THEN NULL WHEN $4 IS NULL THEN status_until ELSE $4 END,
             updated_at = $5
         WHERE id = $6 AND status = $7",
    )
    .bind(c.to.code())
    .bind(c.since.map(|d| d.to_string()))
    .bind(if c.clear_until { "clear" } else { "keep" })
    .bind(c.until.map(|d| d.to_string()))
    .bind(now)
    .bind(c.student_id)
    .bind(c.from.code())
    .execute(e)
    .await?
    .rows_affected())
}

/// An event to append to a student's history.
#[derive(Debug, Clone, Copy)]
pub struct NewEvent<'a> {
    /// The student (internal id).
    pub student_id: i64,
    /// What happened (an action code, `recall_issued`, …).
    pub kind: &'a str,
    /// Status before, for a status change.
    pub from: Option<StudentStatus>,
    /// Status after, for a status change.
    pub to: Option<StudentStatus>,
    /// Details.
    pub detail: &'a serde_json::Value,
    /// Proofs: digests of dossier objects.
    pub proofs: &'a [String],
    /// Who (a user id; `None` for the command line).
    pub actor_id: Option<i64>,
    /// The day it took effect in the record (the service's today).
    pub on: NaiveDate,
}

/// Appends an event with its proofs.
pub async fn insert<'c>(e: impl Executor<'c, Database = Any>, ev: &NewEvent<'_>, now: &str) -> Result<(), sqlx::Error> {
    let proofs = serde_json::to_string(ev.proofs).map_err(|e| sqlx::Error::Encode(e.into()))?;
    sqlx::query(
        "INSERT INTO student_events (student_id, kind, from_status, to_status, detail, proofs, actor_id, at, on_date)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(ev.student_id)
    .bind(ev.kind)
    .bind(ev.from.map(StudentStatus::code))
    .bind(ev.to.map(StudentStatus::code))
    .bind(ev.detail.to_string())
    .bind(proofs)
    .bind(ev.actor_id)
    .bind(now)
    .bind(ev.on.to_string())
    .execute(e)
    .await?;
    Ok(())
}

/// The status dates on a student's row, as stored (`YYYY-MM-DD` text).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredDates {
    /// When the current status began.
    pub since: Option<String>,
    /// When it runs out.
    pub until: Option<String>,
}

/// The student's `status_since` and `status_until`.
pub async fn status_dates<'c>(
    e: impl Executor<'c, Database = Any>,
    student_id: i64,
) -> Result<StoredDates, sqlx::Error> {
    let row = sqlx::query("SELECT status_since, status_until FROM students WHERE id = $1")
        .bind(student_id)
        .fetch_one(e)
        .await?;
    Ok(StoredDates { since: row.try_get("status_since")?, until: row.try_get("status_until")? })
}

/// The detail (JSON text) of the student's latest `graduated` event, if any.
pub async fn last_graduation_detail<'c>(
    e: impl Executor<'c, Database = Any>,
    student_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT detail FROM student_events WHERE student_id = $1 AND kind = 'graduated' ORDER BY id DESC LIMIT 1",
    )
    .bind(student_id)
    .fetch_optional(e)
    .await
}
