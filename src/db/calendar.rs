//! The working-day calendar: the listed dates of the State Council's holiday
//! schedule (`calendar_days`) and the log of every year written
//! (`calendar_updates`). Dates are `YYYY-MM-DD` text, so a year is a range.

use crate::domain::working_days::CalendarDay;
use sqlx::{Any, Executor, Row};

/// A listed date as stored, not yet checked against the schedule's rules.
#[derive(Debug, Clone)]
pub struct StoredDay {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// `holiday` or `workday`.
    pub kind: String,
    /// The holiday's name.
    pub name: String,
}

/// Every listed date, by date.
pub async fn days<'c>(e: impl Executor<'c, Database = Any>) -> Result<Vec<StoredDay>, sqlx::Error> {
    let rows = sqlx::query("SELECT date, kind, name FROM calendar_days ORDER BY date").fetch_all(e).await?;
    rows.iter()
        .map(|r| Ok(StoredDay { date: r.try_get("date")?, kind: r.try_get("kind")?, name: r.try_get("name")? }))
        .collect()
}

/// One year as written, for its line in `calendar_updates`.
#[derive(Debug, Clone, Copy)]
pub struct YearWrite<'a> {
    /// The calendar year.
    pub year: i32,
    /// The source note.
    pub source: &'a str,
    /// The sha256 of the file the year came from.
    pub sha256: &'a str,
    /// Days off written.
    pub holidays: i64,
    /// Make-up workdays written.
    pub workdays: i64,
    /// When (RFC 3339 UTC).
    pub at: &'a str,
}

/// Logs a year as seeded from the bundled schedule unless any update (or
/// another process's seed) has written it already; returns whether this
/// call claimed it.
pub async fn claim_seed_year<'c>(e: impl Executor<'c, Database = Any>, w: &YearWrite<'_>) -> Result<bool, sqlx::Error> {
    let claimed = sqlx::query(
        "INSERT INTO calendar_updates (year, via, source, sha256, holidays, workdays, replaced, updated_by, username, at)
         SELECT $1, 'seed', $2, $3, $4, $5, 0, NULL, '-', $6
         WHERE NOT EXISTS (SELECT 1 FROM calendar_updates WHERE year = $1)
         ON CONFLICT DO NOTHING",
    )
    .bind(i64::from(w.year))
    .bind(w.source)
    .bind(w.sha256)
    .bind(w.holidays)
    .bind(w.workdays)
    .bind(w.at)
    .execute(e)
    .await?
    .rows_affected();
    Ok(claimed != 0)
}

/// Lists a seeded date, by nobody, unless the date is listed already.
pub async fn insert_seed_day<'c>(
    e: impl Executor<'c, Database = Any>,
    day: &CalendarDay,
    now: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO calendar_days (date, kind, name, updated_by, updated_at) VALUES ($1, $2, $3, NULL, $4)
         ON CONFLICT (date) DO NOTHING",
    )
    .bind(day.date.to_string())
    .bind(day.kind.as_str())
    .bind(&day.name)
    .bind(now)
    .execute(e)
    .await?;
    Ok(())
}

/// Removes every listed date of `year`; returns how many there were.
pub async fn delete_year<'c>(e: impl Executor<'c, Database = Any>, year: i32) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM calendar_days WHERE date >= $1 AND date <= $2")
        .bind(format!("{year:04}-01-01"))
        .bind(format!("{year:04}-12-31"))
        .execute(e)
        .await?
        .rows_affected())
}

/// Lists a date, written by `updated_by` (`None`: the command line).
pub async fn insert_day<'c>(
    e: impl Executor<'c, Database = Any>,
    day: &CalendarDay,
    updated_by: Option<i64>,
    now: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO calendar_days (date, kind, name, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(day.date.to_string())
        .bind(day.kind.as_str())
        .bind(&day.name)
        .bind(updated_by)
        .bind(now)
        .execute(e)
        .await?;
    Ok(())
}

/// Logs a year replaced by an update: how (`via`), the rows it had before,
/// and who.
pub async fn log_update<'c>(
    e: impl Executor<'c, Database = Any>,
    w: &YearWrite<'_>,
    via: &str,
    replaced: i64,
    updated_by: Option<i64>,
    username: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO calendar_updates (year, via, source, sha256, holidays, workdays, replaced, updated_by, username, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(i64::from(w.year))
    .bind(via)
    .bind(w.source)
    .bind(w.sha256)
    .bind(w.holidays)
    .bind(w.workdays)
    .bind(replaced)
    .bind(updated_by)
    .bind(username)
    .bind(w.at)
    .execute(e)
    .await?;
    Ok(())
}

/// One logged update of a year, as stored.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoggedUpdate {
    /// The year written.
    pub year: i64,
    /// How: `seed`, `web`, `api` or `cli`.
    pub via: String,
    /// The source note.
    pub source: String,
    /// The sha256 of the file.
    pub sha256: String,
    /// Days off written.
    pub holidays: i64,
    /// Make-up workdays written.
    pub workdays: i64,
    /// Rows the year had before.
    pub replaced: i64,
    /// The account, or `-`.
    pub username: String,
    /// When (RFC 3339 UTC).
    pub at: String,
}

/// The newest logged updates, newest first (at most `limit`).
pub async fn updates<'c>(e: impl Executor<'c, Database = Any>, limit: i64) -> Result<Vec<LoggedUpdate>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT year, via, source, sha256, holidays, workdays, replaced, username, at FROM calendar_updates
         ORDER BY id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(e)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(LoggedUpdate {
                year: r.try_get("year")?,
                via: r.try_get("via")?,
                source: r.try_get("source")?,
                sha256: r.try_get("sha256")?,
                holidays: r.try_get("holidays")?,
                workdays: r.try_get("workdays")?,
                replaced: r.try_get("replaced")?,
                username: r.try_get("username")?,
                at: r.try_get("at")?,
            })
        })
        .collect()
}
