//! Dropout control (控辍保学): the ledger's entries, their home visits, each
//! school's monthly submission and the bureau's close, and the absences a
//! school reports before a pupil is a suspected dropout.

use sqlx::{Any, Executor, Row};

/// One entry of the ledger, with the pupil and school it concerns.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Entry {
    /// Internal id.
    pub id: i64,
    /// The pupil (internal id).
    pub student_id: i64,
    /// The pupil's public id.
    pub public_id: String,
    /// 学籍号.
    pub student_no: String,
    /// Name.
    pub name: String,
    /// Grade now.
    pub grade: i64,
    /// Class number now.
    pub class_number: Option<i64>,
    /// The school (internal id).
    pub school_id: i64,
    /// `suspected`, `dropout`, `missing`, `abroad_unapplied`, `left_other`.
    pub kind: String,
    /// The first day of absence (or of leaving).
    pub since: String,
    /// 包保教师 (empty while not named).
    pub teacher: String,
    /// Why, as the school wrote it.
    pub reason: String,
    /// When the entry opened.
    pub opened_on: String,
    /// The day the pupil came back.
    pub returned_on: Option<String>,
    /// How it ended.
    pub outcome: Option<String>,
    /// When it closed.
    pub closed_on: Option<String>,
}

const ENTRY_SELECT: &str =
    "SELECT w.id, w.student_id, s.public_id, s.student_no, s.name, s.grade, c.number AS class_number,
        w.school_id, w.kind, w.since, w.teacher, w.reason, w.opened_on, w.returned_on, w.outcome, w.closed_on
     FROM dropout_watch w JOIN students s ON s.id = w.student_id LEFT JOIN classes c ON c.id = s.class_id";

fn entry_from_row(r: &sqlx::any::AnyRow) -> Result<Entry, sqlx::Error> {
    Ok(Entry {
        id: r.try_get("id")?,
        student_id: r.try_get("student_id")?,
        public_id: r.try_get("public_id")?,
        student_no: r.try_get("student_no")?,
        name: r.try_get("name")?,
        grade: r.try_get("grade")?,
        class_number: r.try_get("class_number")?,
        school_id: r.try_get("school_id")?,
        kind: r.try_get("kind")?,
        since: r.try_get("since")?,
        teacher: r.try_get("teacher")?,
        reason: r.try_get("reason")?,
        opened_on: r.try_get("opened_on")?,
        returned_on: r.try_get("returned_on")?,
        outcome: r.try_get("outcome")?,
        closed_on: r.try_get("closed_on")?,
    })
}

/// The pupil's open entry, if any.
pub async fn open_of<'c>(e: impl Executor<'c, Database = Any>, student_id: i64) -> Result<Option<Entry>, sqlx::Error> {
    let row =
        sqlx::query(&format!("{ENTRY_SELECT} WHERE w.student_id = $1 AND w.closed_on IS NULL ORDER BY w.id DESC"))
            .bind(student_id)
            .fetch_optional(e)
            .await?;
    row.as_ref().map(entry_from_row).transpose()
}

/// The entry with this id.
pub async fn entry<'c>(e: impl Executor<'c, Database = Any>, id: i64) -> Result<Option<Entry>, sqlx::Error> {
    let row = sqlx::query(&format!("{ENTRY_SELECT} WHERE w.id = $1")).bind(id).fetch_optional(e).await?;
    row.as_ref().map(entry_from_row).transpose()
}

/// The school's entries open at any time from `first` to `last` (a month), oldest first.
pub async fn of_month<'c>(
    e: impl Executor<'c, Database = Any>,
    school_id: i64,
    first: &str,
    last: &str,
) -> Result<Vec<Entry>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "{ENTRY_SELECT} WHERE w.school_id = $1 AND w.opened_on <= $2 AND (w.closed_on IS NULL OR w.closed_on >= $3)
         ORDER BY w.since, w.id"
    ))
    .bind(school_id)
    .bind(last)
    .bind(first)
    .fetch_all(e)
    .await?;
    rows.iter().map(entry_from_row).collect()
}

/// A new entry.
#[derive(Debug, Clone)]
pub struct NewEntry<'a> {
    /// The pupil.
    pub student_id: i64,
    /// Their school.
    pub school_id: i64,
    /// Kind code.
    pub kind: &'a str,
    /// First day of absence.
    pub since: &'a str,
    /// 包保教师.
    pub teacher: &'a str,
    /// Why.
    pub reason: &'a str,
    /// Who.
    pub opened_by: Option<i64>,
    /// When.
    pub opened_on: &'a str,
}

/// Opens an entry.
pub async fn insert<'c>(e: impl Executor<'c, Database = Any>, n: &NewEntry<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO dropout_watch (student_id, school_id, kind, since, teacher, reason, opened_by, opened_on)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(n.student_id)
    .bind(n.school_id)
    .bind(n.kind)
    .bind(n.since)
    .bind(n.teacher)
    .bind(n.reason)
    .bind(n.opened_by)
    .bind(n.opened_on)
    .execute(e)
    .await?;
    Ok(())
}

/// Changes an open entry's kind (a suspected dropout confirmed, found missing).
pub async fn set_kind<'c>(e: impl Executor<'c, Database = Any>, id: i64, kind: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE dropout_watch SET kind = $1 WHERE id = $2").bind(kind).bind(id).execute(e).await?;
    Ok(())
}

/// Names the teacher responsible; returns the rows changed (0: closed or no such entry).
pub async fn set_teacher<'c>(e: impl Executor<'c, Database = Any>, id: i64, teacher: &str) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("UPDATE dropout_watch SET teacher = $1 WHERE id = $2 AND closed_on IS NULL")
        .bind(teacher)
        .bind(id)
        .execute(e)
        .await?
        .rows_affected())
}

/// Closes an entry: the day back (if they came back), how it ended, when.
pub async fn close<'c>(
    e: impl Executor<'c, Database = Any>,
    id: i64,
    returned_on: Option<&str>,
    outcome: &str,
    closed_on: &str,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE dropout_watch SET returned_on = $1, outcome = $2, closed_on = $3 WHERE id = $4 AND closed_on IS NULL",
    )
    .bind(returned_on)
    .bind(outcome)
    .bind(closed_on)
    .bind(id)
    .execute(e)
    .await?
    .rows_affected())
}

/// A home visit.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Visit {
    /// The entry.
    pub watch_id: i64,
    /// Day of the visit.
    pub visited_on: String,
    /// Who went.
    pub visitor: String,
    /// What came of it.
    pub result: String,
}

/// Records a home visit.
pub async fn add_visit<'c>(
    e: impl Executor<'c, Database = Any>,
    v: &Visit,
    by: Option<i64>,
    at: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO dropout_visits (watch_id, visited_on, visitor, result, recorded_by, at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(v.watch_id)
    .bind(&v.visited_on)
    .bind(&v.visitor)
    .bind(&v.result)
    .bind(by)
    .bind(at)
    .execute(e)
    .await?;
    Ok(())
}

/// The visits of an entry, in order.
pub async fn visits<'c>(e: impl Executor<'c, Database = Any>, watch_id: i64) -> Result<Vec<Visit>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT watch_id, visited_on, visitor, result FROM dropout_visits WHERE watch_id = $1 ORDER BY visited_on, id",
    )
    .bind(watch_id)
    .fetch_all(e)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Visit {
                watch_id: r.try_get("watch_id")?,
                visited_on: r.try_get("visited_on")?,
                visitor: r.try_get("visitor")?,
                result: r.try_get("result")?,
            })
        })
        .collect()
}

/// A school's ledger for a month, as submitted and closed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Month {
    /// The school.
    pub school_id: i64,
    /// `YYYY-MM`.
    pub month: String,
    /// Entries it held.
    pub entries: i64,
    /// Submitted on.
    pub submitted_on: String,
    /// Closed by the bureau on.
    pub closed_on: Option<String>,
}

/// The school's ledger for `month`, if submitted.
pub async fn month<'c>(
    e: impl Executor<'c, Database = Any>,
    school_id: i64,
    month: &str,
) -> Result<Option<Month>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT school_id, month, entries, submitted_on, closed_on FROM dropout_months WHERE school_id = $1 AND month = $2",
    )
    .bind(school_id)
    .bind(month)
    .fetch_optional(e)
    .await?;
    row.as_ref().map(month_from_row).transpose()
}

fn month_from_row(r: &sqlx::any::AnyRow) -> Result<Month, sqlx::Error> {
    Ok(Month {
        school_id: r.try_get("school_id")?,
        month: r.try_get("month")?,
        entries: r.try_get("entries")?,
        submitted_on: r.try_get("submitted_on")?,
        closed_on: r.try_get("closed_on")?,
    })
}

/// Every school's submission for `month`.
pub async fn months<'c>(e: impl Executor<'c, Database = Any>, month: &str) -> Result<Vec<Month>, sqlx::Error> {
    let rows =
        sqlx::query("SELECT school_id, month, entries, submitted_on, closed_on FROM dropout_months WHERE month = $1")
            .bind(month)
            .fetch_all(e)
            .await?;
    rows.iter().map(month_from_row).collect()
}

/// Records the school's submission (fails on a second one: the primary key).
pub async fn submit<'c>(
    e: impl Executor<'c, Database = Any>,
    school_id: i64,
    month: &str,
    entries: i64,
    by: Option<i64>,
    on: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO dropout_months (school_id, month, entries, submitted_by, submitted_on) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(school_id)
    .bind(month)
    .bind(entries)
    .bind(by)
    .bind(on)
    .execute(e)
    .await?;
    Ok(())
}

/// The bureau closes a submitted month; returns the rows changed.
pub async fn close_month<'c>(
    e: impl Executor<'c, Database = Any>,
    school_id: i64,
    month: &str,
    by: Option<i64>,
    on: &str,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE dropout_months SET closed_by = $1, closed_on = $2 WHERE school_id = $3 AND month = $4 AND closed_on IS NULL",
    )
    .bind(by)
    .bind(on)
    .bind(school_id)
    .bind(month)
    .execute(e)
    .await?
    .rows_affected())
}

/// An absence the school reported, with the pupil.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Absence {
    /// The pupil (internal id).
    pub student_id: i64,
    /// Public id.
    pub public_id: String,
    /// Name.
    pub name: String,
    /// School.
    pub school_id: i64,
    /// First day absent.
    pub since: String,
}

/// Records an absence (one open per pupil: an earlier open one is ended first by the caller).
pub async fn report_absence<'c>(
    e: impl Executor<'c, Database = Any>,
    student_id: i64,
    school_id: i64,
    since: &str,
    note: &str,
    by: Option<i64>,
    on: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO absences (student_id, school_id, since, note, reported_by, reported_on) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(student_id)
    .bind(school_id)
    .bind(since)
    .bind(note)
    .bind(by)
    .bind(on)
    .execute(e)
    .await?;
    Ok(())
}

/// Ends the pupil's open absences; returns how many.
pub async fn end_absences<'c>(
    e: impl Executor<'c, Database = Any>,
    student_id: i64,
    on: &str,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("UPDATE absences SET ended_on = $1 WHERE student_id = $2 AND ended_on IS NULL")
        .bind(on)
        .bind(student_id)
        .execute(e)
        .await?
        .rows_affected())
}

/// Every open absence, oldest first.
pub async fn open_absences<'c>(e: impl Executor<'c, Database = Any>) -> Result<Vec<Absence>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT a.student_id, s.public_id, s.name, a.school_id, a.since FROM absences a JOIN students s ON s.id = a.student_id
         WHERE a.ended_on IS NULL ORDER BY a.since, a.id",
    )
    .fetch_all(e)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Absence {
                student_id: r.try_get("student_id")?,
                public_id: r.try_get("public_id")?,
                name: r.try_get("name")?,
                school_id: r.try_get("school_id")?,
                since: r.try_get("since")?,
            })
        })
        .collect()
}

/// Each school's first day on the record (its earliest event), `YYYY-MM-DD`.
pub async fn first_days<'c>(e: impl Executor<'c, Database = Any>) -> Result<Vec<(i64, String)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT s.school_id, MIN(COALESCE(e.on_date, substr(e.at, 1, 10))) AS first
         FROM student_events e JOIN students s ON s.id = e.student_id GROUP BY s.school_id",
    )
    .fetch_all(e)
    .await?;
    rows.iter().map(|r| Ok((r.try_get("school_id")?, r.try_get("first")?))).collect()
}

/// Every entry's school, kind and span (`opened_on`, `closed_on`), for counting open entries over time.
pub async fn spans<'c>(
    e: impl Executor<'c, Database = Any>,
) -> Result<Vec<(i64, String, String, Option<String>)>, sqlx::Error> {
    let rows = sqlx::query("SELECT school_id, kind, opened_on, closed_on FROM dropout_watch").fetch_all(e).await?;
    rows.iter()
        .map(|r| Ok((r.try_get("school_id")?, r.try_get("kind")?, r.try_get("opened_on")?, r.try_get("closed_on")?)))
        .collect()
}
