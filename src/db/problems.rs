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
