//! A school's roll as exported: students with their class, their guardians,
//! a class's head count and the numbers already given.

use sqlx::{Any, Executor, Row};

/// A school's students who are on its roll (在籍, 转出中, 疑似辍学, 休学), by
/// grade, class and id, with every item of the record (guardians apart).
pub async fn roll_of_school<'c>(
    e: impl Executor<'c, Database = Any>,
    school_id: i64,
) -> Result<Vec<super::Student>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "{} WHERE s.school_id = $1 AND s.status IN ('active', 'transfer_pending', 'suspected_dropout', 'suspended')
         ORDER BY s.grade, c.number, s.id",
        *super::STUDENT_SELECT
    ))
    .bind(school_id)
    .fetch_all(e)
    .await?;
    rows.iter().map(super::student_from_row).collect()
}

/// The family members of every student of a school (on its roll or not), by
/// student and position (main one first), with the student's internal id.
pub async fn guardians_of_school<'c>(
    e: impl Executor<'c, Database = Any>,
    school_id: i64,
) -> Result<Vec<(i64, super::Guardian)>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT g.student_id, {} FROM guardians g JOIN students s ON s.id = g.student_id
         WHERE s.school_id = $1 ORDER BY g.student_id, g.position",
        super::GUARDIAN_COLUMNS.split(',').map(|c| format!("g.{}", c.trim())).collect::<Vec<_>>().join(", ")
    ))
    .bind(school_id)
    .fetch_all(e)
    .await?;
    rows.iter().map(|r| Ok((r.try_get("student_id")?, super::guardian_from_row(r)?))).collect()
}

/// The highest student number that starts with `prefix` (compared as text), if any.
pub async fn highest_student_no_with_prefix<'c>(
    e: impl Executor<'c, Database = Any>,
    prefix: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT MAX(student_no) FROM students WHERE student_no LIKE $1")
        .bind(format!("{prefix}%"))
        .fetch_one(e)
        .await
}
