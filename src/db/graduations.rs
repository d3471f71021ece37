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
}

const COLUMNS: &str = "g.student_id, g.school_id, g.stage, g.year, g.graduated_on";

fn row_of(r: &sqlx::any::AnyRow) -> Result<Graduation, sqlx::Error> {
    let stage: String = r.try_get("stage")?;
    let on: String = r.try_get("graduated_on")?;
    Ok(Graduation {
        student_id: r.try_get("student_id")?,
        school_id: r.try_get("school_id")?,
        stage: Stage::parse(&stage).map_err(|e| sqlx::Error::Decode(e.message.into()))?,
        year: i32::try_from(r.try_get::<i64, _>("year")?).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        graduated_on: super::students::date_of(&on)?,
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
         WHERE g.school_id = $1 {stage_clause}
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
