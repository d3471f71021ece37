//! The rows behind the overdue list (Art. 34), across cases, students,
//! recalls and schools: each query returns the candidates with their school,
//! and the caller decides, by the calendar, which are overdue. Dates come
//! back as stored (text), so a row whose date does not parse can be skipped.

use crate::domain::StudentStatus;
use chrono::NaiveDate;
use sqlx::{Any, Executor, Row};

/// The school and student an item concerns.
#[derive(Debug, Clone)]
pub struct Whose {
    /// The school whose item it is (for the caller's scope check).
    pub school_id: i64,
    /// The school shown: its code.
    pub school_code: String,
    /// The school shown: its name.
    pub school_name: String,
    /// The student's public id.
    pub student: String,
    /// The student's name.
    pub student_name: String,
}

fn whose(r: &sqlx::any::AnyRow, student: &str, student_name: &str) -> Result<Whose, sqlx::Error> {
    Ok(Whose {
        school_id: r.try_get("school_id")?,
        school_code: r.try_get("code")?,
        school_name: r.try_get("school_name")?,
        student: r.try_get(student)?,
        student_name: r.try_get(student_name)?,
    })
}

/// An open case whose stage is past its due date.
#[derive(Debug, Clone)]
pub struct LateStage {
    /// The case's public id.
    pub case: String,
    /// Case kind code.
    pub kind: String,
    /// Stage code (the column is empty only for a case no longer open).
    pub stage: Option<String>,
    /// When the stage was due.
    pub stage_due: String,
    /// The receiving school of a transfer.
    pub to_school_id: Option<i64>,
    /// The case's school (`school_id`), the school acting at this stage (code and
    /// name: the receiving school at its stage), and the student.
    pub whose: Whose,
}

/// Open cases whose stage was due before `today`.
pub async fn late_stages<'c>(
    e: impl Executor<'c, Database = Any>,
    today: NaiveDate,
) -> Result<Vec<LateStage>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT c.public_id, c.kind, c.stage, c.stage_due, c.school_id, c.to_school_id, s.public_id AS student,
                s.name, sc.code, sc.name AS school_name
         FROM cases c JOIN students s ON s.id = c.student_id
         JOIN schools sc ON sc.id = CASE WHEN c.stage = 'receiving_school' THEN c.to_school_id ELSE c.school_id END
         WHERE c.state = 'open' AND c.stage_due < $1",
    )
    .bind(today.to_string())
    .fetch_all(e)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(LateStage {
                case: r.try_get("public_id")?,
                kind: r.try_get("kind")?,
                stage: r.try_get("stage")?,
                stage_due: r.try_get("stage_due")?,
                to_school_id: r.try_get("to_school_id")?,
                whose: whose(r, "student", "name")?,
            })
        })
        .collect()
}

/// A completed transfer whose dossier was not handed over in time.
#[derive(Debug, Clone)]
pub struct LateHandover {
    /// The case's public id.
    pub case: String,
    /// When the handover was due.
    pub handover_due: String,
    /// The sending school, and the student.
    pub whose: Whose,
}

/// Completed transfers not handed over, due before `today`.
pub async fn late_handovers<'c>(
    e: impl Executor<'c, Database = Any>,
    today: NaiveDate,
) -> Result<Vec<LateHandover>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT c.public_id, c.handover_due, c.school_id, s.public_id AS student, s.name, sc.code, sc.name AS school_name
         FROM cases c JOIN students s ON s.id = c.student_id JOIN schools sc ON sc.id = c.school_id
         WHERE c.state = 'completed' AND c.kind = 'transfer' AND c.handed_over_on IS NULL AND c.handover_due < $1",
    )
    .bind(today.to_string())
    .fetch_all(e)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(LateHandover {
                case: r.try_get("public_id")?,
                handover_due: r.try_get("handover_due")?,
                whose: whose(r, "student", "name")?,
            })
        })
        .collect()
}

/// A suspected dropout or a suspended student, with the status dates.
#[derive(Debug, Clone)]
pub struct Watched {
    /// `suspected_dropout` or `suspended`.
    pub status: StudentStatus,
    /// When the status began.
    pub status_since: Option<String>,
    /// When it runs out.
    pub status_until: Option<String>,
    /// The student's school, and the student.
    pub whose: Whose,
}

/// Every suspected dropout and suspended student.
pub async fn watched<'c>(e: impl Executor<'c, Database = Any>) -> Result<Vec<Watched>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT s.public_id, s.name, s.status, s.status_since, s.status_until, s.school_id, sc.code,
                sc.name AS school_name
         FROM students s JOIN schools sc ON sc.id = s.school_id
         WHERE s.status IN ('suspected_dropout', 'suspended')",
    )
    .fetch_all(e)
    .await?;
    rows.iter()
        .map(|r| {
            let status =
                StudentStatus::parse(&r.try_get::<String, _>("status")?).map_err(|e| sqlx::Error::Decode(e.into()))?;
            Ok(Watched {
                status,
                status_since: r.try_get("status_since")?,
                status_until: r.try_get("status_until")?,
                whose: whose(r, "public_id", "name")?,
            })
        })
        .collect()
}

/// A recall notice whose return-by date passed without a return.
#[derive(Debug, Clone)]
pub struct LateRecall {
    /// Notice number.
    pub number: String,
    /// Return by.
    pub return_by: String,
    /// The issuing school, and the student.
    pub whose: Whose,
}

/// Unanswered recall notices due before `today` to students still (suspected) dropouts.
pub async fn late_recalls<'c>(
    e: impl Executor<'c, Database = Any>,
    today: NaiveDate,
) -> Result<Vec<LateRecall>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT r.number, r.return_by, r.school_id, s.public_id, s.name, sc.code, sc.name AS school_name
         FROM recalls r JOIN students s ON s.id = r.student_id JOIN schools sc ON sc.id = r.school_id
         WHERE r.returned_on IS NULL AND r.return_by < $1 AND s.status IN ('suspected_dropout', 'dropout')",
    )
    .bind(today.to_string())
    .fetch_all(e)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(LateRecall {
                number: r.try_get("number")?,
                return_by: r.try_get("return_by")?,
                whose: whose(r, "public_id", "name")?,
            })
        })
        .collect()
}

/// A record created after the day of its registration.
#[derive(Debug, Clone)]
pub struct LateRecord {
    /// Registered on.
    pub registered_on: String,
    /// Created at (an instant).
    pub created_at: String,
    /// The student's school, and the student.
    pub whose: Whose,
}

/// Records created on a later day than their registration.
pub async fn created_after_registration<'c>(
    e: impl Executor<'c, Database = Any>,
) -> Result<Vec<LateRecord>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT s.public_id, s.name, s.registered_on, s.created_at, s.school_id, sc.code, sc.name AS school_name
         FROM students s JOIN schools sc ON sc.id = s.school_id WHERE substr(s.created_at, 1, 10) > s.registered_on",
    )
    .fetch_all(e)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(LateRecord {
                registered_on: r.try_get("registered_on")?,
                created_at: r.try_get("created_at")?,
                whose: whose(r, "public_id", "name")?,
            })
        })
        .collect()
}
