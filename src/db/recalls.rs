//! Recall notices (劝返复学通知书): the notice with its number and return-by
//! date, its delivery and the student's return, and the status of the
//! printed notice it was issued as.

use chrono::NaiveDate;
use sqlx::{Any, Executor, Row};

/// A recall notice as stored.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Recall {
    /// Notice number.
    pub number: String,
    /// The student's public id.
    pub student: String,
    /// First day of absence.
    pub absent_since: String,
    /// Issued on.
    pub issued_on: String,
    /// Return by.
    pub return_by: String,
    /// The printed document.
    pub doc_id: Option<String>,
    /// Delivered on.
    pub delivered_on: Option<String>,
    /// Delivered to.
    pub delivered_to: Option<String>,
    /// How (当面送达, 邮寄, …).
    pub delivery: Option<String>,
    /// The student returned on.
    pub returned_on: Option<String>,
    /// The school that issued it (never shown outside).
    #[serde(skip)]
    pub school_id: i64,
}

const RECALL_SELECT: &str = "SELECT r.number, s.public_id, r.absent_since, r.issued_on, r.return_by, r.doc_id,
    r.delivered_on, r.delivered_to, r.delivery, r.returned_on, r.school_id FROM recalls r JOIN students s ON s.id = r.student_id";

fn recall_from_row(r: &sqlx::any::AnyRow) -> Result<Recall, sqlx::Error> {
    Ok(Recall {
        number: r.try_get("number")?,
        student: r.try_get("public_id")?,
        absent_since: r.try_get("absent_since")?,
        issued_on: r.try_get("issued_on")?,
        return_by: r.try_get("return_by")?,
        doc_id: r.try_get("doc_id")?,
        delivered_on: r.try_get("delivered_on")?,
        delivered_to: r.try_get("delivered_to")?,
        delivery: r.try_get("delivery")?,
        returned_on: r.try_get("returned_on")?,
        school_id: r.try_get("school_id")?,
    })
}

/// A student's recall notices, newest first.
pub async fn of_student<'c>(e: impl Executor<'c, Database = Any>, student_id: i64) -> Result<Vec<Recall>, sqlx::Error> {
    let rows = sqlx::query(&format!("{RECALL_SELECT} WHERE r.student_id = $1 ORDER BY r.id DESC"))
        .bind(student_id)
        .fetch_all(e)
        .await?;
    rows.iter().map(recall_from_row).collect()
}

/// One notice by number.
pub async fn by_number<'c>(e: impl Executor<'c, Database = Any>, number: &str) -> Result<Option<Recall>, sqlx::Error> {
    let row = sqlx::query(&format!("{RECALL_SELECT} WHERE r.number = $1")).bind(number).fetch_optional(e).await?;
    row.as_ref().map(recall_from_row).transpose()
}

/// How many notices the school has issued in `year` (for the next number).
pub async fn count_in_year<'c>(
    e: impl Executor<'c, Database = Any>,
    school_id: i64,
    year: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM recalls WHERE school_id = $1 AND issued_on LIKE $2")
        .bind(school_id)
        .bind(format!("{year}-%"))
        .fetch_one(e)
        .await
}

/// A notice to record.
#[derive(Debug, Clone, Copy)]
pub struct NewRecall<'a> {
    /// Notice number.
    pub number: &'a str,
    /// The student (internal id).
    pub student_id: i64,
    /// The student's school.
    pub school_id: i64,
    /// First day of absence, as stored on the student's row.
    pub absent_since: &'a str,
    /// Issued on.
    pub issued_on: NaiveDate,
    /// Return by.
    pub return_by: NaiveDate,
    /// The printed notice.
    pub doc_id: &'a str,
    /// Who issued it.
    pub issued_by: Option<i64>,
}

/// Records a notice.
pub async fn insert<'c>(e: impl Executor<'c, Database = Any>, r: &NewRecall<'_>, now: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO recalls (number, student_id, school_id, absent_since, issued_on, return_by, doc_id, issued_by, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(r.number)
    .bind(r.student_id)
    .bind(r.school_id)
    .bind(r.absent_since)
    .bind(r.issued_on.to_string())
    .bind(r.return_by.to_string())
    .bind(r.doc_id)
    .bind(r.issued_by)
    .bind(now)
    .execute(e)
    .await?;
    Ok(())
}

/// Records the notice's delivery: on which day, to whom, how.
pub async fn set_delivery<'c>(
    e: impl Executor<'c, Database = Any>,
    number: &str,
    on: NaiveDate,
    to: &str,
    method: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE recalls SET delivered_on = $1, delivered_to = $2, delivery = $3 WHERE number = $4")
        .bind(on.to_string())
        .bind(to)
        .bind(method)
        .bind(number)
        .execute(e)
        .await?;
    Ok(())
}

/// The student a notice was issued to (internal id).
pub async fn student_of<'c>(e: impl Executor<'c, Database = Any>, number: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT student_id FROM recalls WHERE number = $1").bind(number).fetch_one(e).await
}

/// Marks the student's open notices answered: back on `on`.
pub async fn set_returned<'c>(
    e: impl Executor<'c, Database = Any>,
    student_id: i64,
    on: NaiveDate,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE recalls SET returned_on = $1 WHERE student_id = $2 AND returned_on IS NULL")
        .bind(on.to_string())
        .bind(student_id)
        .execute(e)
        .await?;
    Ok(())
}

/// Voids a printed notice that could not be recorded (its document row turns `revoked`).
pub async fn void_notice<'c>(
    e: impl Executor<'c, Database = Any>,
    doc_id: &str,
    reason: &str,
    now: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE documents SET status = 'revoked', status_at = $1, status_reason = $2 WHERE doc_id = $3")
        .bind(now)
        .bind(reason)
        .bind(doc_id)
        .execute(e)
        .await?;
    Ok(())
}

/// Marks the previous notice's document, if still valid, superseded by the new one.
pub async fn supersede_notice<'c>(
    e: impl Executor<'c, Database = Any>,
    old_doc_id: &str,
    new_doc_id: &str,
    reason: &str,
    now: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE documents SET status = 'superseded', status_at = $1, status_reason = $2, replaced_by = $3
         WHERE doc_id = $4 AND status = 'valid'",
    )
    .bind(now)
    .bind(reason)
    .bind(new_doc_id)
    .bind(old_doc_id)
    .execute(e)
    .await?;
    Ok(())
}
