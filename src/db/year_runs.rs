//! The yearly runs (graduation, promotion): the once-a-year row in
//! `year_runs`, the counts their previews show, and the bulk moves that
//! write one event per student and update the students in two statements,
//! inside the run's transaction.

use sqlx::{Any, Executor, Row, Transaction};

/// The statuses of students seated in a class (on its roll).
const SEATED: &str = "('active', 'transfer_pending', 'suspected_dropout')";

/// When the run of `kind` (`graduation`, `promotion`) for `year` ran, if it did.
pub async fn ran_at<'c>(
    e: impl Executor<'c, Database = Any>,
    kind: &str,
    year: i32,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT run_at FROM year_runs WHERE kind = $1 AND year = $2")
        .bind(kind)
        .bind(i64::from(year))
        .fetch_optional(e)
        .await
}

/// Claims the year's run: inserts its row (which takes the write lock), or
/// returns `false` when it has run already.
pub async fn claim<'c>(
    e: impl Executor<'c, Database = Any>,
    kind: &str,
    year: i32,
    run_by: Option<i64>,
    now: &str,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO year_runs (kind, year, run_by, run_at, summary) VALUES ($1, $2, $3, $4, '{}')
         ON CONFLICT (kind, year) DO NOTHING",
    )
    .bind(kind)
    .bind(i64::from(year))
    .bind(run_by)
    .bind(now)
    .execute(e)
    .await?
    .rows_affected();
    Ok(inserted != 0)
}

/// Stores what the run did (JSON text).
pub async fn set_summary<'c>(
    e: impl Executor<'c, Database = Any>,
    kind: &str,
    year: i32,
    summary: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE year_runs SET summary = $1 WHERE kind = $2 AND year = $3")
        .bind(summary)
        .bind(kind)
        .bind(i64::from(year))
        .execute(e)
        .await?;
    Ok(())
}

/// How many students of a status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCount {
    /// The status code, as stored.
    pub status: String,
    /// How many.
    pub count: i64,
}

async fn status_counts<'c>(
    e: impl Executor<'c, Database = Any>,
    school_id: i64,
    grade_filter: &str,
) -> Result<Vec<StatusCount>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT status, COUNT(*) AS n FROM students WHERE school_id = $1 AND {grade_filter} GROUP BY status ORDER BY status"
    ))
    .bind(school_id)
    .fetch_all(e)
    .await?;
    rows.iter().map(|r| Ok(StatusCount { status: r.try_get("status")?, count: r.try_get("n")? })).collect()
}

/// The school's students in `grade`, counted by status, by status code.
pub async fn status_counts_in_grade<'c>(
    e: impl Executor<'c, Database = Any>,
    school_id: i64,
    grade: i64,
) -> Result<Vec<StatusCount>, sqlx::Error> {
    status_counts(e, school_id, &format!("grade = {grade}")).await
}

/// The school's suspended students below grade `top`, counted by status.
pub async fn suspended_below<'c>(
    e: impl Executor<'c, Database = Any>,
    school_id: i64,
    top: i64,
) -> Result<Vec<StatusCount>, sqlx::Error> {
    status_counts(e, school_id, &format!("grade < {top} AND status = 'suspended'")).await
}

/// Seated students of one grade and class number (`None`: without a class).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seated {
    /// Grade.
    pub grade: i64,
    /// Class number.
    pub number: Option<i64>,
    /// How many.
    pub count: i64,
}

/// The school's seated students below grade `top`, by grade and class number.
pub async fn seated_below<'c>(
    e: impl Executor<'c, Database = Any>,
    school_id: i64,
    top: i64,
) -> Result<Vec<Seated>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT s.grade, c.number, COUNT(*) AS n FROM students s LEFT JOIN classes c ON c.id = s.class_id
         WHERE s.school_id = $1 AND s.grade < $2 AND s.status IN {SEATED}
         GROUP BY s.grade, c.number ORDER BY s.grade, c.number"
    ))
    .bind(school_id)
    .bind(top)
    .fetch_all(e)
    .await?;
    rows.iter()
        .map(|r| Ok(Seated { grade: r.try_get("grade")?, number: r.try_get("number")?, count: r.try_get("n")? }))
        .collect()
}

/// The school's seated students in `grade` (left in the graduating grade).
pub async fn seated_in_grade<'c>(
    e: impl Executor<'c, Database = Any>,
    school_id: i64,
    grade: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM students WHERE school_id = $1 AND grade = $2 AND status IN {SEATED}"
    ))
    .bind(school_id)
    .bind(grade)
    .fetch_one(e)
    .await
}

/// What a bulk move writes into each student's event.
#[derive(Debug, Clone, Copy)]
pub struct BulkEvent<'a> {
    /// The event kind (an action code).
    pub kind: &'a str,
    /// Details, JSON text.
    pub detail: &'a str,
    /// Who.
    pub actor_id: Option<i64>,
    /// When (the run's instant).
    pub now: &'a str,
    /// The day it took effect (`YYYY-MM-DD`, the service's today).
    pub on: &'a str,
}

/// Graduates the school's active students of `grade`: one event each
/// (`active` to `to`), then the status, since `today`. Returns the students moved.
pub async fn graduate(
    tx: &mut Transaction<'static, Any>,
    school_id: i64,
    grade: i64,
    to: &str,
    today: chrono::NaiveDate,
    ev: &BulkEvent<'_>,
) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "INSERT INTO student_events (student_id, kind, from_status, to_status, detail, proofs, actor_id, at, on_date)
         SELECT id, $1, 'active', $2, $3, '[]', $4, $5, $8 FROM students
         WHERE school_id = $6 AND grade = $7 AND status = 'active'",
    )
    .bind(ev.kind)
    .bind(to)
    .bind(ev.detail)
    .bind(ev.actor_id)
    .bind(ev.now)
    .bind(school_id)
    .bind(grade)
    .bind(ev.on)
    .execute(&mut **tx)
    .await?;
    Ok(sqlx::query(
        "UPDATE students SET status = $1, status_since = $2, status_until = NULL, updated_at = $3
         WHERE school_id = $4 AND grade = $5 AND status = 'active'",
    )
    .bind(to)
    .bind(today.to_string())
    .bind(ev.now)
    .bind(school_id)
    .bind(grade)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

/// Moves the school's seated students of `grade` without a class up one
/// grade, one event each. Returns the students moved.
pub async fn promote_unclassed(
    tx: &mut Transaction<'static, Any>,
    school_id: i64,
    grade: i64,
    ev: &BulkEvent<'_>,
) -> Result<u64, sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO student_events (student_id, kind, from_status, to_status, detail, proofs, actor_id, at, on_date)
         SELECT id, $1, status, status, $2, '[]', $3, $4, $7 FROM students
         WHERE school_id = $5 AND class_id IS NULL AND grade = $6 AND status IN {SEATED}"
    ))
    .bind(ev.kind)
    .bind(ev.detail)
    .bind(ev.actor_id)
    .bind(ev.now)
    .bind(school_id)
    .bind(grade)
    .bind(ev.on)
    .execute(&mut **tx)
    .await?;
    Ok(sqlx::query(&format!(
        "UPDATE students SET grade = $1, updated_at = $2
         WHERE school_id = $3 AND class_id IS NULL AND grade = $4 AND status IN {SEATED}"
    ))
    .bind(grade + 1)
    .bind(ev.now)
    .bind(school_id)
    .bind(grade)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

/// Moves the seated students of class `class_id` in `grade` up one grade
/// into class `target`, one event each. Returns the students moved.
pub async fn promote_class(
    tx: &mut Transaction<'static, Any>,
    class_id: i64,
    grade: i64,
    target: i64,
    ev: &BulkEvent<'_>,
) -> Result<u64, sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO student_events (student_id, kind, from_status, to_status, detail, proofs, actor_id, at, on_date)
         SELECT id, $1, status, status, $2, '[]', $3, $4, $7 FROM students
         WHERE class_id = $5 AND grade = $6 AND status IN {SEATED}"
    ))
    .bind(ev.kind)
    .bind(ev.detail)
    .bind(ev.actor_id)
    .bind(ev.now)
    .bind(class_id)
    .bind(grade)
    .bind(ev.on)
    .execute(&mut **tx)
    .await?;
    Ok(sqlx::query(&format!(
        "UPDATE students SET grade = $1, class_id = $2, updated_at = $3
         WHERE class_id = $4 AND grade = $5 AND status IN {SEATED}"
    ))
    .bind(grade + 1)
    .bind(target)
    .bind(ev.now)
    .bind(class_id)
    .bind(grade)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}
