//! Batch print jobs' rows: progress, heartbeat, outcome, expiry.

use sqlx::{Any, Executor, Row};

/// A job as its owner sees it.
#[derive(Debug, Clone)]
pub struct JobRow {
    /// Random id.
    pub id: String,
    /// Who started it (`None`: the command line).
    pub owner_id: Option<i64>,
    /// Document title.
    pub title: String,
    /// School name.
    pub school_name: String,
    /// Documents in all.
    pub total: i64,
    /// Documents done.
    pub done: i64,
    /// Students skipped.
    pub skipped: i64,
    /// `running`, `done` or `failed`.
    pub state: String,
    /// What failed.
    pub error: Option<String>,
    /// The finished file's download name.
    pub result_name: Option<String>,
    /// Its media type.
    pub result_mime: Option<String>,
    /// The last sign of life of the instance running it (RFC 3339 UTC).
    pub heartbeat_at: String,
}

/// A new job's row.
#[derive(Debug)]
pub struct NewJob<'a> {
    /// Random id.
    pub id: &'a str,
    /// Who starts it.
    pub owner_id: Option<i64>,
    /// Document title.
    pub title: &'a str,
    /// School name.
    pub school_name: &'a str,
    /// Documents in all.
    pub total: i64,
    /// The instance that runs it.
    pub instance: &'a str,
    /// Now.
    pub now: &'a str,
}

/// Inserts a running job.
pub async fn insert<'c>(e: impl Executor<'c, Database = Any>, job: &NewJob<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO batch_jobs (id, owner_id, title, school_name, total, state, instance, heartbeat_at, created_at)
         VALUES ($1, $2, $3, $4, $5, 'running', $6, $7, $7)",
    )
    .bind(job.id)
    .bind(job.owner_id)
    .bind(job.title)
    .bind(job.school_name)
    .bind(job.total)
    .bind(job.instance)
    .bind(job.now)
    .execute(e)
    .await?;
    Ok(())
}

/// One job.
pub async fn get<'c>(e: impl Executor<'c, Database = Any>, id: &str) -> Result<Option<JobRow>, sqlx::Error> {
    let r = sqlx::query(
        "SELECT id, owner_id, title, school_name, total, done, skipped, state, error, result_name, result_mime,
                heartbeat_at
         FROM batch_jobs WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(e)
    .await?;
    r.map(|r| {
        Ok(JobRow {
            id: r.try_get("id")?,
            owner_id: r.try_get("owner_id")?,
            title: r.try_get("title")?,
            school_name: r.try_get("school_name")?,
            total: r.try_get("total")?,
            done: r.try_get("done")?,
            skipped: r.try_get("skipped")?,
            state: r.try_get("state")?,
            error: r.try_get("error")?,
            result_name: r.try_get("result_name")?,
            result_mime: r.try_get("result_mime")?,
            heartbeat_at: r.try_get("heartbeat_at")?,
        })
    })
    .transpose()
}

/// Records progress and a heartbeat of a job still running.
pub async fn progress<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
    done: i64,
    skipped: i64,
    now: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE batch_jobs SET done = $2, skipped = $3, heartbeat_at = $4 WHERE id = $1 AND state = 'running'")
        .bind(id)
        .bind(done)
        .bind(skipped)
        .bind(now)
        .execute(e)
        .await?;
    Ok(())
}

/// A heartbeat alone (while a long render gives no progress).
pub async fn heartbeat<'c>(e: impl Executor<'c, Database = Any>, id: &str, now: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE batch_jobs SET heartbeat_at = $2 WHERE id = $1 AND state = 'running'")
        .bind(id)
        .bind(now)
        .execute(e)
        .await?;
    Ok(())
}

/// Marks a running job done, its file stored. `false` if it was no longer
/// running (another instance declared it failed meanwhile).
pub async fn finish_done<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
    name: &str,
    mime: &str,
    now: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE batch_jobs SET state = 'done', done = total, result_name = $2, result_mime = $3, heartbeat_at = $4,
                finished_at = $4
         WHERE id = $1 AND state = 'running'",
    )
    .bind(id)
    .bind(name)
    .bind(mime)
    .bind(now)
    .execute(e)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks a running job failed.
pub async fn finish_failed<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
    error: &str,
    now: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE batch_jobs SET state = 'failed', error = $2, finished_at = $3 WHERE id = $1 AND state = 'running'",
    )
    .bind(id)
    .bind(error)
    .bind(now)
    .execute(e)
    .await?;
    Ok(())
}

/// Marks failed every running job whose heartbeat is older than `cutoff`
/// (its instance stopped); returns how many.
pub async fn fail_stale<'c>(
    e: impl Executor<'c, Database = Any>,
    cutoff: &str,
    error: &str,
    now: &str,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE batch_jobs SET state = 'failed', error = $2, finished_at = $3
         WHERE state = 'running' AND heartbeat_at < $1",
    )
    .bind(cutoff)
    .bind(error)
    .bind(now)
    .execute(e)
    .await?;
    Ok(done.rows_affected())
}

/// Finished jobs that ended before `cutoff`: their ids and whether a file was stored.
pub async fn expired<'c>(
    e: impl Executor<'c, Database = Any>,
    cutoff: &str,
) -> Result<Vec<(String, bool)>, sqlx::Error> {
    let rows =
        sqlx::query("SELECT id, result_name FROM batch_jobs WHERE state <> 'running' AND finished_at < $1 ORDER BY id")
            .bind(cutoff)
            .fetch_all(e)
            .await?;
    rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get::<Option<String>, _>("result_name")?.is_some()))).collect()
}

/// Removes a job's row.
pub async fn delete<'c>(e: impl Executor<'c, Database = Any>, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM batch_jobs WHERE id = $1").bind(id).execute(e).await?;
    Ok(())
}
