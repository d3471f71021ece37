//! Numbered certificates: the per-kind-and-year counters
//! (`certificate_counters`), every number ever taken (`certificate_numbers`:
//! allocated, issued or voided) and the certificate documents' status as
//! issuing, voiding, loss and revocation change it (`documents`).

use crate::domain::DocKind;
use chrono::NaiveDate;
use sqlx::{Any, Executor, Row, Transaction};

/// Takes the next sequence number of `kind` for `year` from its counter row,
/// creating the row at 0 if needed. The first statement writes, so SQLite
/// takes its write lock at once (no upgrade deadlock between processes);
/// PostgreSQL locks the counter row until the transaction ends.
pub async fn next_seq(tx: &mut Transaction<'static, Any>, kind: DocKind, year: i32) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "INSERT INTO certificate_counters (kind, year, last) VALUES ($1, $2, 0) ON CONFLICT (kind, year) DO NOTHING",
    )
    .bind(kind.code())
    .bind(i64::from(year))
    .execute(&mut **tx)
    .await?;
    sqlx::query_scalar("UPDATE certificate_counters SET last = last + 1 WHERE kind = $1 AND year = $2 RETURNING last")
        .bind(kind.code())
        .bind(i64::from(year))
        .fetch_one(&mut **tx)
        .await
}

/// A number just taken, to record as allocated.
#[derive(Debug, Clone, Copy)]
pub struct Allocated<'a> {
    /// The printed number.
    pub number: &'a str,
    /// Kind.
    pub kind: DocKind,
    /// Year.
    pub year: i32,
    /// Sequence within the kind and year.
    pub seq: i64,
    /// The student it is taken for (`None`: stock).
    pub student_id: Option<i64>,
    /// The stage it is taken for (`None`: stock).
    pub stage: Option<&'a str>,
    /// Who took it.
    pub actor_id: Option<i64>,
    /// When (RFC 3339 UTC).
    pub at: &'a str,
}

/// Records a number as allocated.
pub async fn insert_allocated<'c>(e: impl Executor<'c, Database = Any>, n: &Allocated<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO certificate_numbers (number, kind, year, seq, state, student_id, actor_id, at, stage)
         VALUES ($1, $2, $3, $4, 'allocated', $5, $6, $7, $8)",
    )
    .bind(n.number)
    .bind(n.kind.code())
    .bind(i64::from(n.year))
    .bind(n.seq)
    .bind(n.student_id)
    .bind(n.actor_id)
    .bind(n.at)
    .bind(n.stage)
    .execute(e)
    .await?;
    Ok(())
}

/// A numbered certificate a student holds: issued and still valid, or lost.
#[derive(Debug, Clone)]
pub struct Held {
    /// The number.
    pub number: String,
    /// `valid` or `lost`.
    pub status: String,
}

/// The certificate of `kind` and stage the student holds (valid or lost), if any.
pub async fn held_by<'c>(
    e: impl Executor<'c, Database = Any>,
    student_id: i64,
    kind: DocKind,
    stage: &str,
) -> Result<Option<Held>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT number, status FROM documents WHERE student_id = $1 AND kind = $2 AND stage = $3
           AND status IN ('valid', 'lost') AND number IS NOT NULL",
    )
    .bind(student_id)
    .bind(kind.code())
    .bind(stage)
    .fetch_optional(e)
    .await?;
    row.map(|r| Ok(Held { number: r.try_get("number")?, status: r.try_get("status")? })).transpose()
}

/// The lowest number of `kind` allocated to the student for the stage (or
/// for no stage, before stages were kept) and not yet printed, if any.
pub async fn pending_for<'c>(
    e: impl Executor<'c, Database = Any>,
    student_id: i64,
    kind: DocKind,
    stage: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT number FROM certificate_numbers WHERE student_id = $1 AND kind = $2 AND state = 'allocated'
           AND (stage = $3 OR stage IS NULL) ORDER BY seq LIMIT 1",
    )
    .bind(student_id)
    .bind(kind.code())
    .bind(stage)
    .fetch_optional(e)
    .await
}

/// Marks a number as issued on the document `doc_id`.
pub async fn mark_issued<'c>(
    e: impl Executor<'c, Database = Any>,
    number: &str,
    doc_id: &str,
    now: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE certificate_numbers SET state = 'issued', doc_id = $1, at = $2 WHERE number = $3")
        .bind(doc_id)
        .bind(now)
        .bind(number)
        .execute(e)
        .await?;
    Ok(())
}

/// A number's state (`allocated`, `issued`, `voided`), if it was ever taken.
pub async fn state_of<'c>(e: impl Executor<'c, Database = Any>, number: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT state FROM certificate_numbers WHERE number = $1").bind(number).fetch_optional(e).await
}

/// Marks a number as voided, with the reason and who voided it.
pub async fn mark_voided<'c>(
    e: impl Executor<'c, Database = Any>,
    number: &str,
    reason: &str,
    actor_id: Option<i64>,
    now: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE certificate_numbers SET state = 'voided', reason = $1, actor_id = $2, at = $3 WHERE number = $4",
    )
    .bind(reason)
    .bind(actor_id)
    .bind(now)
    .bind(number)
    .execute(e)
    .await?;
    Ok(())
}

/// Revokes the valid document printed with `number`, if there is one.
pub async fn revoke_printed<'c>(
    e: impl Executor<'c, Database = Any>,
    number: &str,
    status_reason: &str,
    now: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE documents SET status = 'revoked', status_reason = $1, status_at = $2 WHERE number = $3 AND status = 'valid'",
    )
    .bind(status_reason)
    .bind(now)
    .bind(number)
    .execute(e)
    .await?;
    Ok(())
}

/// The document printed with a number, as a loss report reads it.
#[derive(Debug, Clone)]
pub struct Printed {
    /// The document's random id (hex).
    pub doc_id: String,
    /// Kind code, as stored.
    pub kind: String,
    /// The student's internal id.
    pub student_id: i64,
    /// Issue date.
    pub issue_date: NaiveDate,
    /// `valid`, `revoked`, `lost`, `superseded`.
    pub status: String,
    /// The stage the certificate is of.
    pub stage: Option<String>,
    /// The school that issued it.
    pub school_id: i64,
}

/// The document printed with `number`, if any.
pub async fn printed_with<'c>(
    e: impl Executor<'c, Database = Any>,
    number: &str,
) -> Result<Option<Printed>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT doc_id, kind, student_id, issue_date, status, stage, school_id FROM documents WHERE number = $1",
    )
    .bind(number)
    .fetch_optional(e)
    .await?;
    row.map(|r| {
        let issue_date: String = r.try_get("issue_date")?;
        Ok(Printed {
            doc_id: r.try_get("doc_id")?,
            kind: r.try_get("kind")?,
            student_id: r.try_get("student_id")?,
            issue_date: NaiveDate::parse_from_str(&issue_date, "%Y-%m-%d")
                .map_err(|e| sqlx::Error::Decode(e.into()))?,
            status: r.try_get("status")?,
            stage: r.try_get("stage")?,
            school_id: r.try_get("school_id")?,
        })
    })
    .transpose()
}

/// Marks a document as lost, replaced by the 学历证明书 numbered `replaced_by`.
pub async fn mark_lost<'c>(
    e: impl Executor<'c, Database = Any>,
    doc_id: &str,
    reason: &str,
    replaced_by: Option<&str>,
    now: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE documents SET status = 'lost', status_reason = $1, status_at = $2, replaced_by = $3 WHERE doc_id = $4",
    )
    .bind(reason)
    .bind(now)
    .bind(replaced_by)
    .bind(doc_id)
    .execute(e)
    .await?;
    Ok(())
}

/// Revokes the document `doc_id` if it is valid; returns whether it was.
pub async fn revoke_document<'c>(
    e: impl Executor<'c, Database = Any>,
    doc_id: &str,
    reason: &str,
    now: &str,
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query(
        "UPDATE documents SET status = 'revoked', status_reason = $1, status_at = $2 WHERE doc_id = $3 AND status = 'valid'",
    )
    .bind(reason)
    .bind(now)
    .bind(doc_id)
    .execute(e)
    .await?
    .rows_affected();
    Ok(n != 0)
}

/// One taken number with what became of it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NumberEntry {
    /// The number.
    pub number: String,
    /// Kind code, as stored.
    pub kind: String,
    /// `allocated`, `issued`, `voided`.
    pub state: String,
    /// The document's status when printed.
    pub document_status: Option<String>,
    /// The document's id.
    pub doc_id: Option<String>,
    /// Replaced by (a lost certificate's proof number).
    pub replaced_by: Option<String>,
    /// Student's name.
    pub student: Option<String>,
    /// School name.
    pub school: Option<String>,
    /// Void or status reason.
    pub reason: Option<String>,
    /// When it last changed.
    pub at: String,
    /// The day it was handed over (颁发), if it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handed_over_on: Option<String>,
}

/// Numbers whose state or document status is `state` (all when `None` or
/// empty) and that start with `number` (trimmed; all when `None` or empty),
/// by kind, then newest first (at most `limit`).
pub async fn list<'c>(
    e: impl Executor<'c, Database = Any>,
    state: Option<&str>,
    number: Option<&str>,
    limit: i64,
) -> Result<Vec<NumberEntry>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT n.number, n.kind, n.state, d.status AS document_status, d.doc_id, d.replaced_by, s.name AS student,
                sc.name AS school, COALESCE(n.reason, d.status_reason) AS reason, n.at, d.handed_over_on
         FROM certificate_numbers n
         LEFT JOIN documents d ON d.number = n.number
         LEFT JOIN students s ON s.id = n.student_id
         LEFT JOIN schools sc ON sc.id = s.school_id
         WHERE ($1 = '' OR n.state = $1 OR d.status = $1) AND ($2 = '' OR n.number LIKE $2)
         ORDER BY n.kind, n.year DESC, n.seq DESC LIMIT {limit}"
    ))
    .bind(state.unwrap_or(""))
    .bind(number.filter(|n| !n.is_empty()).map(|n| format!("{}%", n.trim())).unwrap_or_default())
    .fetch_all(e)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(NumberEntry {
                number: r.try_get("number")?,
                kind: r.try_get("kind")?,
                state: r.try_get("state")?,
                document_status: r.try_get("document_status")?,
                doc_id: r.try_get("doc_id")?,
                replaced_by: r.try_get("replaced_by")?,
                student: r.try_get("student")?,
                school: r.try_get("school")?,
                reason: r.try_get("reason")?,
                at: r.try_get("at")?,
                handed_over_on: r.try_get("handed_over_on")?,
            })
        })
        .collect()
}

/// A certificate's hand-over (颁发): the day and who received it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HandOver {
    /// The day (`YYYY-MM-DD`).
    pub on: String,
    /// Who received it: the guardian's or the graduate's name.
    pub to: String,
}

/// The hand-over of the document `doc_id`, if it was handed over.
pub async fn hand_over_of<'c>(
    e: impl Executor<'c, Database = Any>,
    doc_id: &str,
) -> Result<Option<HandOver>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT handed_over_on, handed_over_to FROM documents WHERE doc_id = $1 AND handed_over_on IS NOT NULL",
    )
    .bind(doc_id)
    .fetch_optional(e)
    .await?;
    row.map(|r| Ok(HandOver { on: r.try_get("handed_over_on")?, to: r.try_get("handed_over_to")? })).transpose()
}

/// Records the valid certificate printed with `number` as handed over, if it
/// was not yet; whether it was.
pub async fn record_hand_over<'c>(
    e: impl Executor<'c, Database = Any>,
    number: &str,
    hand_over: &HandOver,
    by: Option<i64>,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE documents SET handed_over_on = $1, handed_over_to = $2, handed_over_by = $3
         WHERE number = $4 AND status = 'valid' AND handed_over_on IS NULL",
    )
    .bind(&hand_over.on)
    .bind(&hand_over.to)
    .bind(by)
    .bind(number)
    .execute(e)
    .await?
    .rows_affected()
        == 1)
}
