//! Batch printing jobs: every student of a class, a grade or a school, one
//! document each, as one print-ready PDF (chunked by the renderer: a zip of
//! chunk PDFs when there is more than one) or a zip of one PDF per student.
//! Jobs run in the background; their progress is polled by the page. Each
//! document is issued and recorded as if printed singly.
//!
//! A job lives in the database (`batch_jobs`) and its file in the archive's
//! store (`results/`), so with several instances of the service any of them
//! reports a job's progress and serves its download. The instance running a
//! job writes a heartbeat every 2 s; a job whose heartbeat is 15 s old was
//! on an instance that stopped and is marked failed (never silently lost).
//! Finished jobs are removed after `XUEJI_BATCH_KEEP_HOURS`.

use crate::app::App;
use crate::db::schools::School;
use crate::documents::{self, Options};
use crate::domain::Actor;
use crate::error::{AppError, AppResult};
use crate::render::{DocKind, RenderRequest};
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

/// What a job looks like to its owner.
#[derive(Debug, Clone, serde::Serialize)]
pub struct JobStatus {
    /// Job id.
    pub id: String,
    /// Document title.
    pub title: String,
    /// School name.
    pub school: String,
    /// Documents done.
    pub done: i64,
    /// Documents in all.
    pub total: i64,
    /// Students skipped because their status does not allow the document.
    pub skipped: i64,
    /// `running`, `done` or `failed`.
    pub state: String,
    /// What failed.
    pub error: Option<String>,
}

impl From<crate::db::batch_jobs::JobRow> for JobStatus {
    fn from(r: crate::db::batch_jobs::JobRow) -> Self {
        JobStatus {
            id: r.id,
            title: r.title,
            school: r.school_name,
            done: r.done,
            total: r.total,
            skipped: r.skipped,
            state: r.state,
            error: r.error,
        }
    }
}

/// How often a running job shows it is alive.
const HEARTBEAT: Duration = Duration::from_secs(2);
/// A running job without a heartbeat for this long was on an instance that
/// stopped (a restart, a crash): it is marked failed.
const STALE: Duration = Duration::from_secs(15);
/// Progress is written at most this often (and at the end).
const PROGRESS_EVERY: Duration = Duration::from_millis(500);
/// What a job interrupted by its instance stopping says.
const INTERRUPTED: &str = "批量打印在服务重启或停止时中断，请重新开始";

/// The file name a job's result is kept under.
fn result_name(id: &str) -> String {
    format!("batch-{id}")
}

fn instant(at: std::time::SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(at).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn now() -> String {
    instant(std::time::SystemTime::now())
}

/// Marks failed the running jobs whose instance stopped; returns how many.
pub async fn fail_stale(app: &App) -> AppResult<u64> {
    let cutoff = instant(std::time::SystemTime::now() - STALE);
    Ok(crate::db::batch_jobs::fail_stale(&app.db.pool, &cutoff, INTERRUPTED, &now()).await?)
}

/// A job's status, for its owner only, from whichever instance runs it.
pub async fn status(app: &App, id: &str, owner: Option<i64>) -> AppResult<Option<JobStatus>> {
    let Some(mut row) = crate::db::batch_jobs::get(&app.db.pool, id).await? else { return Ok(None) };
    if row.owner_id != owner {
        return Ok(None);
    }
    if row.state == "running" && row.heartbeat_at < instant(std::time::SystemTime::now() - STALE) {
        fail_stale(app).await?;
        row = crate::db::batch_jobs::get(&app.db.pool, id).await?.ok_or(AppError::NotFound)?;
    }
    Ok(Some(row.into()))
}

/// A finished job's file, its name and media type; on any instance, as
/// often as asked until the job expires.
pub async fn take_result(app: &App, id: &str, owner: Option<i64>) -> AppResult<(Vec<u8>, String, String)> {
    let Some(row) = crate::db::batch_jobs::get(&app.db.pool, id).await?.filter(|r| r.owner_id == owner) else {
        return Err(AppError::NotFound);
    };
    if row.state == "failed" {
        let why = row.error.unwrap_or_default();
        return Err(AppError::conflict("batch.failed", format!("批量打印失败，没有可下载的文件：{why}")));
    }
    let (Some(name), Some(mime)) = (row.result_name, row.result_mime) else {
        return Err(AppError::conflict("batch.not_ready", "批量打印尚未完成"));
    };
    let archive = app.archive.clone();
    let key = result_name(id);
    let bytes = tokio::task::spawn_blocking(move || archive.get_result(&key))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(|e| AppError::Internal(e.into()))?
        .ok_or(AppError::NotFound)?;
    Ok((bytes, name, mime))
}

/// Every minute, marks failed the jobs of instances that stopped; every
/// hour, removes finished jobs (row and file) older than
/// `XUEJI_BATCH_KEEP_HOURS`.
pub async fn schedule(app: Arc<App>) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    let mut minutes = 0u64;
    loop {
        tick.tick().await;
        match fail_stale(&app).await {
            Ok(n) if n > 0 => tracing::warn!(jobs = n, "batch jobs of a stopped instance marked failed"),
            Ok(_) => {}
            Err(e) => e.log(),
        }
        if minutes.is_multiple_of(60)
            && let Err(e) = expire(&app).await
        {
            e.log();
        }
        minutes += 1;
    }
}

/// Removes finished jobs older than the configured time, their files first.
pub async fn expire(app: &App) -> AppResult<usize> {
    let keep = Duration::from_secs(app.config.batch_keep_hours.saturating_mul(3600));
    let cutoff = instant(std::time::SystemTime::now() - keep);
    let expired = crate::db::batch_jobs::expired(&app.db.pool, &cutoff).await?;
    for (id, has_file) in &expired {
        if *has_file {
            let archive = app.archive.clone();
            let key = result_name(id);
            tokio::task::spawn_blocking(move || archive.delete_result(&key))
                .await
                .map_err(|e| AppError::Internal(e.into()))?
                .map_err(|e| AppError::Internal(e.into()))?;
        }
        crate::db::batch_jobs::delete(&app.db.pool, id).await?;
    }
    Ok(expired.len())
}

/// The students of a batch: on the school's roll, by grade, class and id.
pub async fn students_for(app: &App, school: &School, grade: Option<i64>, class: Option<i64>) -> AppResult<Vec<i64>> {
    Ok(crate::db::rolls::ids_in_school(&app.db.pool, school.id, grade, class).await?)
}

/// Starts a job printing the numbered certificates of `kind` already issued
/// to a school's graduates (after the bureau has issued their numbers).
pub async fn start_graduates(app: Arc<App>, actor: Actor, school: School, kind: DocKind) -> AppResult<String> {
    let ids = crate::db::rolls::ids_with_numbered(&app.db.pool, school.id, kind.code()).await?;
    launch(app, actor, school, kind, ids, false).await
}

/// Starts a job; returns its id.
pub async fn start(
    app: Arc<App>,
    actor: Actor,
    school: School,
    kind: DocKind,
    grade: Option<i64>,
    class: Option<i64>,
    zip: bool,
) -> AppResult<String> {
    let ids = students_for(&app, &school, grade, class).await?;
    launch(app, actor, school, kind, ids, zip).await
}

async fn launch(
    app: Arc<App>,
    actor: Actor,
    school: School,
    kind: DocKind,
    ids: Vec<i64>,
    zip: bool,
) -> AppResult<String> {
    if ids.is_empty() {
        return Err(AppError::bad_request("batch.empty", "所选范围内没有学生"));
    }
    let id = hex::encode(rand::random::<[u8; 12]>());
    let total = i64::try_from(ids.len()).unwrap_or(i64::MAX);
    let new = crate::db::batch_jobs::NewJob {
        id: &id,
        owner_id: actor.user_id,
        title: kind.title_zh(),
        school_name: &school.name,
        total,
        instance: crate::lease::instance(),
        now: &now(),
    };
    crate::db::batch_jobs::insert(&app.db.pool, &new).await?;
    crate::service::documents::record_batch(&app.db, &actor, &school, kind, ids.len()).await?;
    let job = id.clone();
    tokio::spawn(async move {
        let beat = {
            let (app, job) = (app.clone(), job.clone());
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(HEARTBEAT);
                loop {
                    tick.tick().await;
                    if let Err(e) = crate::db::batch_jobs::heartbeat(&app.db.pool, &job, &now()).await {
                        tracing::warn!(error = %e, "batch heartbeat not written");
                    }
                }
            })
        };
        let outcome = match run(&app, &actor, &school, kind, &ids, zip, &job).await {
            Ok((bytes, name, mime)) => keep_result(&app, &job, bytes, &name, mime).await,
            Err(e) => Err(e),
        };
        beat.abort();
        if let Err(e) = outcome {
            e.log();
            if let Err(e) = crate::db::batch_jobs::finish_failed(&app.db.pool, &job, &e.to_string(), &now()).await {
                tracing::error!(error = %e, "batch job's failure not recorded");
            }
        }
    });
    Ok(id)
}

/// Stores a finished job's file where every instance finds it, then marks it done.
async fn keep_result(app: &App, job: &str, bytes: Vec<u8>, name: &str, mime: &str) -> AppResult<()> {
    let archive = app.archive.clone();
    let key = result_name(job);
    tokio::task::spawn_blocking(move || archive.put_result(&key, bytes))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(|e| AppError::Internal(e.into()))?;
    if !crate::db::batch_jobs::finish_done(&app.db.pool, job, name, mime, &now()).await? {
        // Declared failed meanwhile (its heartbeat was late): the file goes.
        let archive = app.archive.clone();
        let key = result_name(job);
        let _ = tokio::task::spawn_blocking(move || archive.delete_result(&key)).await;
    }
    Ok(())
}

async fn run(
    app: &Arc<App>,
    actor: &Actor,
    school: &School,
    kind: DocKind,
    ids: &[i64],
    zip: bool,
    job: &str,
) -> AppResult<(Vec<u8>, String, &'static str)> {
    let mut requests: Vec<RenderRequest> = Vec::new();
    let mut singles: Vec<(String, Vec<u8>)> = Vec::new();
    let mut skipped = 0i64;
    let mut last = std::time::Instant::now();
    for (i, id) in ids.iter().enumerate() {
        let mut conn = app.db.pool.acquire().await?;
        let student = crate::db::students::by_id(&mut conn, *id).await?.ok_or(AppError::NotFound)?;
        drop(conn);
        if documents::check_allowed(kind, &student, school.kind).is_err() {
            skipped += 1;
        } else {
            let issued =
                documents::issue(app, &student, kind, Options { actor_id: actor.user_id, ..Options::default() })
                    .await?;
            if zip {
                singles.push((format!("{:03}-{}-{}.pdf", i + 1, kind.code(), student.public_id), issued.pdf.bytes));
            } else {
                requests.push(issued.request);
            }
        }
        if last.elapsed() >= PROGRESS_EVERY || i + 1 == ids.len() {
            let done = i64::try_from(i + 1).unwrap_or(i64::MAX);
            crate::db::batch_jobs::progress(&app.db.pool, job, done, skipped, &now()).await?;
            last = std::time::Instant::now();
        }
    }
    let stamp = format!("{}-{}", kind.code(), school.code);
    if zip {
        return Ok((zip_files(&singles)?, format!("{stamp}.zip"), "application/zip"));
    }
    if requests.is_empty() {
        return Err(AppError::bad_request("batch.empty", "所选学生的学籍状态都不适用此文书"));
    }
    let renderer = app.renderer.clone();
    let chunks = tokio::task::spawn_blocking(move || renderer.render_batch(&requests, &|_, _| {}))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(documents::render_error)?;
    if chunks.len() == 1 {
        let pdf = chunks.into_iter().next().expect("one chunk");
        return Ok((pdf.bytes, format!("{stamp}.pdf"), "application/pdf"));
    }
    let files: Vec<(String, Vec<u8>)> =
        chunks.into_iter().enumerate().map(|(i, c)| (format!("{stamp}-part{:02}.pdf", i + 1), c.bytes)).collect();
    Ok((zip_files(&files)?, format!("{stamp}.zip"), "application/zip"))
}

/// A zip of named files (stored: PDFs do not compress further).
pub fn zip_files(files: &[(String, Vec<u8>)]) -> AppResult<Vec<u8>> {
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, bytes) in files {
        out.start_file(name.as_str(), options).map_err(|e| AppError::Internal(e.into()))?;
        out.write_all(bytes).map_err(|e| AppError::Internal(e.into()))?;
    }
    Ok(out.finish().map_err(|e| AppError::Internal(e.into()))?.into_inner())
}
