//! Problem records (问题学籍, Art. 11): suspected duplicates and other records
//! the registrar must resolve.

use sqlx::{Any, Executor, Row};

/// An open or resolved problem record.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Problem {
    /// Id.
    pub id: i64,
    /// `suspected_duplicate`, …
    pub kind: String,
    /// The student's public id.
    pub student_public_id: String,
    /// The student's name.
    pub student_name: String,
    /// The school's name.
    pub school_name: String,
    /// The other record's public id.
    pub other_public_id: Option<String>,
    /// The other record's school.
    pub other_school_name: Option<String>,
    /// Why it was flagged.
    pub reason: String,
    /// `open` or `resolved`.
    pub state: String,
    /// When flagged.
    pub created_at: String,
}

/// Flags a problem record.
pub async fn flag<'c>(
    e: impl Executor<'c, Database = Any>,
    kind: &str,
    student_id: i64,
    other_student_id: Option<i64>,
    reason: &str,
    now: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO problem_records (kind, student_id, other_student_id, reason, state, created_at)
         VALUES ($1, $2, $3, $4, 'open', $5)",
    )
    .bind(kind)
    .bind(student_id)
    .bind(other_student_id)
    .bind(reason)
    .bind(now)
    .execute(e)
    .await?;
    Ok(())
}

/// Open problem records of the given schools (`None`: all).
pub async fn open_for<'c>(
    e: impl Executor<'c, Database = Any>,
    school_ids: Option<&[i64]>,
) -> Result<Vec<Problem>, sqlx::Error> {
    let scope = match school_ids {
        None => String::new(),
        Some([]) => return Ok(Vec::new()),
        Some(ids) => format!(
            "AND (s.school_id IN ({0}) OR o.school_id IN ({0}))",
            ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
        ),
    };
    let rows = sqlx::query(&format!(
        "SELECT p.id, p.kind, s.public_id, s.name, sc.name AS school_name, o.public_id AS other_public_id,
                osc.name AS other_school_name, p.reason, p.state, p.created_at
         FROM problem_records p JOIN students s ON s.id = p.student_id JOIN schools sc ON sc.id = s.school_id
         LEFT JOIN students o ON o.id = p.other_student_id LEFT JOIN schools osc ON osc.id = o.school_id
         WHERE p.state = 'open' {scope} ORDER BY p.id"
    ))
    .fetch_all(e)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Problem {
                id: r.try_get("id")?,
                kind: r.try_get("kind")?,
                student_public_id: r.try_get("public_id")?,
                student_name: r.try_get("name")?,
                school_name: r.try_get("school_name")?,
                other_public_id: r.try_get("other_public_id")?,
                other_school_name: r.try_get("other_school_name")?,
                reason: r.try_get("reason")?,
                state: r.try_get("state")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

/// Number of open problem records.
pub async fn open_count<'c>(e: impl Executor<'c, Database = Any>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM problem_records WHERE state = 'open'").fetch_one(e).await
}

/// One problem record as its resolution needs it.
#[derive(Debug, Clone)]
pub struct ProblemRow {
    /// Id.
    pub id: i64,
    /// `no_id`, `suspected_duplicate`, …
    pub kind: String,
    /// The flagged record.
    pub student_id: i64,
    /// The record it may duplicate.
    pub other_student_id: Option<i64>,
    /// `open` or `resolved`.
    pub state: String,
}

/// A problem record by id.
pub async fn by_id<'c>(e: impl Executor<'c, Database = Any>, id: i64) -> Result<Option<ProblemRow>, sqlx::Error> {
    let row = sqlx::query("SELECT id, kind, student_id, other_student_id, state FROM problem_records WHERE id = $1")
        .bind(id)
        .fetch_optional(e)
        .await?;
    row.map(|r| {
        Ok(ProblemRow {
            id: r.try_get("id")?,
            kind: r.try_get("kind")?,
            student_id: r.try_get("student_id")?,
            other_student_id: r.try_get("other_student_id")?,
            state: r.try_get("state")?,
        })
    })
    .transpose()
}

/// Marks an open problem resolved (`resolution` is JSON); the number of rows
/// changed (0 if it was resolved meanwhile).
pub async fn resolve<'c>(
    e: impl Executor<'c, Database = Any>,
    id: i64,
    resolved_by: Option<i64>,
    resolution: &str,
    now: &str,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE problem_records SET state = 'resolved', resolved_by = $1, resolved_at = $2, resolution = $3
         WHERE id = $4 AND state = 'open'",
    )
    .bind(resolved_by)
    .bind(now)
    .bind(resolution)
    .bind(id)
    .execute(e)
    .await?
    .rows_affected())
}

/// Resolves every open problem of `kind` on a student (e.g. `no_id` once the ID is issued).
pub async fn resolve_kind_of_student<'c>(
    e: impl Executor<'c, Database = Any>,
    student_id: i64,
    kind: &str,
    resolved_by: Option<i64>,
    resolution: &str,
    now: &str,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE problem_records SET state = 'resolved', resolved_by = $1, resolved_at = $2, resolution = $3
         WHERE student_id = $4 AND kind = $5 AND state = 'open'",
    )
    .bind(resolved_by)
    .bind(now)
    .bind(resolution)
    .bind(student_id)
    .bind(kind)
    .execute(e)
    .await?
    .rows_affected())
}

/// The open problems flagged on a student's record.
pub async fn open_of_student<'c>(e: impl Executor<'c, Database = Any>, student_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM problem_records WHERE student_id = $1 AND state = 'open'")
        .bind(student_id)
        .fetch_one(e)
        .await
}

/// The students among a school's records in `status` that have an open problem.
pub async fn students_with_open_problems<'c>(
    e: impl Executor<'c, Database = Any>,
    school_id: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT DISTINCT s.public_id FROM problem_records p JOIN students s ON s.id = p.student_id
         WHERE s.school_id = $1 AND p.state = 'open'",
    )
    .bind(school_id)
    .fetch_all(e)
    .await
}
