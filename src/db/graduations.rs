//! Each graduation of a student (`graduations`): the school and stage it
//! ended, its school year and day. The certificates of a stage are issued
//! against it, whatever school the student has gone on to since.

use crate::domain::{DocKind, Stage};
use chrono::NaiveDate;
use sqlx::{Any, Executor, Row};

/// One graduation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graduation {
    /// The student.
    pub student_id: i64,
    /// The school graduated from.
    pub school_id: i64,
    /// The stage it ended.
    pub stage: Stage,
    /// The school year, by the July it ended.
    pub year: i32,
    /// The day.
    pub graduated_on: NaiveDate,
    /// Recorded by the bureau from the school's paper ledger, for a
    /// graduation before this system: no certificate, only a 学历证明书.
    pub historical: bool,
    /// The day the stage began, when the graduation records it (historical
    /// ones do; otherwise the record's history says).
    pub entered_on: Option<NaiveDate>,
    /// The certificate number issued at the time, when known (historical).
    pub original_number: Option<String>,
}

const COLUMNS: &str =
    "g.student_id, g.school_id, g.stage, g.year, g.graduated_on, g.historical, g.entered_on, g.original_number";

fn row_of(r: &sqlx::any::AnyRow) -> Result<Graduation, sqlx::Error> {
    let stage: String = r.try_get("stage")?;
    let on: String = r.try_get("graduated_on")?;
    Ok(Graduation {
        student_id: r.try_get("student_id")?,
        school_id: r.try_get("school_id")?,
        stage: Stage::parse(&stage).map_err(|e| sqlx::Error::Decode(e.message.into()))?,
        year: i32::try_from(r.try_get::<i64, _>("year")?).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        graduated_on: super::students::date_of(&on)?,
        historical: r.try_get::<i64, _>("historical")? != 0,
        entered_on: r
            .try_get::<Option<String>, _>("entered_on")?
            .as_deref()
            .map(super::students::date_of)
            .transpose()?,
        original_number: r.try_get("original_number")?,
    })
}

/// Records the graduation of the school's active students of `grade` (in
/// the run's transaction, before their status changes).
pub async fn record_run<'c>(
    e: impl Executor<'c, Database = Any>,
    school_id: i64,
    grade: i64,
    stage: Stage,
    year: i32,
    on: NaiveDate,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "INSERT INTO graduations (student_id, school_id, stage, year, graduated_on)
         SELECT id, school_id, $1, $2, $3 FROM students WHERE school_id = $4 AND grade = $5 AND status = 'active'",
    )
    .bind(stage.code())
    .bind(i64::from(year))
    .bind(on.to_string())
    .bind(school_id)
    .bind(grade)
    .execute(e)
    .await?
    .rows_affected())
}

/// A student's graduations, oldest first.
pub async fn of_student<'c>(
    e: impl Executor<'c, Database = Any>,
    student_id: i64,
) -> Result<Vec<Graduation>, sqlx::Error> {
    let rows =
        sqlx::query(&format!("SELECT {COLUMNS} FROM graduations g WHERE g.student_id = $1 ORDER BY g.graduated_on"))
            .bind(student_id)
            .fetch_all(e)
            .await?;
    rows.iter().map(row_of).collect()
}

/// The school's graduations whose certificate of `kind` has not been issued
/// (nor lost): for the 义务教育证书 only the junior stage's. Oldest year
/// first, then by student.
pub async fn without_certificate<'c>(
    e: impl Executor<'c, Database = Any>,
    school_id: i64,
    kind: DocKind,
) -> Result<Vec<Graduation>, sqlx::Error> {
    let stage_clause = if kind == DocKind::CompulsoryCertificate { "AND g.stage = 'junior'" } else { "" };
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM graduations g JOIN students s ON s.id = g.student_id
         WHERE g.school_id = $1 AND g.historical = 0 {stage_clause}
           AND NOT EXISTS (SELECT 1 FROM documents d WHERE d.student_id = g.student_id AND d.kind = $2
                           AND d.stage = g.stage AND d.status IN ('valid', 'lost') AND d.number IS NOT NULL)
         ORDER BY g.year, s.grade, s.class_id, g.student_id"
    ))
    .bind(school_id)
    .bind(kind.code())
    .fetch_all(e)
    .await?;
    rows.iter().map(row_of).collect()
}

/// A graduation the bureau records from a school's paper ledger.
#[derive(Debug, Clone)]
pub struct NewHistorical<'a> {
    /// The student (an existing record, or the historical one just made).
    pub student_id: i64,
    /// The school graduated from.
    pub school_id: i64,
    /// The stage.
    pub stage: Stage,
    /// The school year, by the July it ended.
    pub year: i32,
    /// The day the stage began.
    pub entered_on: NaiveDate,
    /// The day it ended.
    pub graduated_on: NaiveDate,
    /// The certificate number of the time, if known.
    pub original_number: Option<&'a str>,
    /// The ledger scan's sha256.
    pub evidence_sha256: &'a str,
    /// Who recorded it.
    pub recorded_by: Option<i64>,
    /// When.
    pub recorded_at: &'a str,
}

/// Inserts a historical graduation; `false` when the student already has a
/// graduation of that stage.
pub async fn insert_historical<'c>(
    e: impl Executor<'c, Database = Any>,
    g: &NewHistorical<'_>,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "INSERT INTO graduations (student_id, school_id, stage, year, graduated_on, historical, entered_on,
                                  original_number, evidence_sha256, recorded_by, recorded_at)
         VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8, $9, $10)
         ON CONFLICT (student_id, stage) DO NOTHING",
    )
    .bind(g.student_id)
    .bind(g.school_id)
    .bind(g.stage.code())
    .bind(i64::from(g.year))
    .bind(g.graduated_on.to_string())
    .bind(g.entered_on.to_string())
    .bind(g.original_number)
    .bind(g.evidence_sha256)
    .bind(g.recorded_by)
    .bind(g.recorded_at)
    .execute(e)
    .await?
    .rows_affected()
        == 1)
}

/// One historical graduation as the bureau's list shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HistoricalRow {
    /// The student's public id (for the student's page and the proof).
    pub public_id: String,
    /// 学籍号.
    pub student_no: String,
    /// 姓名.
    pub name: String,
    /// The record is the bureau's read-only one (no other record in the system).
    pub record_historical: bool,
    /// School code and name.
    pub school_code: String,
    /// School name.
    pub school_name: String,
    /// Stage code.
    pub stage: String,
    /// The July it ended.
    pub year: i64,
    /// The day the stage began.
    pub entered_on: Option<String>,
    /// The certificate number of the time, if known.
    pub original_number: Option<String>,
    /// The ledger scan's sha256.
    pub evidence_sha256: Option<String>,
    /// Who recorded it (display name) and when.
    pub recorded_by: Option<String>,
    /// When.
    pub recorded_at: Option<String>,
    /// The valid 学历证明书 issued for it, if any.
    pub proof_number: Option<String>,
}

/// Historical graduations, newest recorded first (at most `limit`).
pub async fn historical<'c>(
    e: impl Executor<'c, Database = Any>,
    limit: i64,
) -> Result<Vec<HistoricalRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT s.public_id, s.student_no, s.name, s.status, sc.code AS school_code, sc.name AS school_name,
                g.stage, g.year, g.entered_on, g.original_number, g.evidence_sha256, g.recorded_at,
                COALESCE(NULLIF(u.display_name, ''), u.username) AS recorded_by,
                (SELECT d.number FROM documents d WHERE d.student_id = g.student_id AND d.kind = 'academic_proof'
                   AND d.stage = g.stage AND d.status = 'valid' AND d.number IS NOT NULL
                 ORDER BY d.id DESC LIMIT 1) AS proof_number
         FROM graduations g JOIN students s ON s.id = g.student_id JOIN schools sc ON sc.id = g.school_id
         LEFT JOIN users u ON u.id = g.recorded_by
         WHERE g.historical = 1
         ORDER BY g.id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(e)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(HistoricalRow {
                public_id: r.try_get("public_id")?,
                student_no: r.try_get("student_no")?,
                name: r.try_get("name")?,
                record_historical: r.try_get::<String, _>("status")? == "historical",
                school_code: r.try_get("school_code")?,
                school_name: r.try_get("school_name")?,
                stage: r.try_get("stage")?,
                year: r.try_get("year")?,
                entered_on: r.try_get("entered_on")?,
                original_number: r.try_get("original_number")?,
                evidence_sha256: r.try_get("evidence_sha256")?,
                recorded_by: r.try_get("recorded_by")?,
                recorded_at: r.try_get("recorded_at")?,
                proof_number: r.try_get("proof_number")?,
            })
        })
        .collect()
}

/// The ledger scans historical graduations name (kept from the sweep).
pub async fn evidence_digests<'c>(e: impl Executor<'c, Database = Any>) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT DISTINCT evidence_sha256 FROM graduations WHERE evidence_sha256 IS NOT NULL")
        .fetch_all(e)
        .await
}
