//! The text of archived papers: read in the background after ingest (OCR
//! of scans, a PDF's own text layer as it is), kept as a derived file beside
//! the object, indexed for full-text search, and rebuilt from those files.
//!
//! - Every object an index row names gets a job in `ocr_jobs` (queued in the
//!   same transaction as the row). Workers — the server's background task on
//!   each instance, or `xueji archive ocr` — take jobs one at a time; a job
//!   whose worker stops is taken again once its heartbeat is old.
//! - A reading is a JSON file, `derived/{sha256}.json` in the archive's store
//!   ([`TEXT_FORMAT`]): the object's digest, the engine and its version, and
//!   each page's text with its own sha256. It never replaces the scan. The
//!   database keeps which file holds each object's reading, and the pages'
//!   text and terms for search; `xueji archive reindex` rebuilds those from
//!   the files.
//! - A reading that fails (a corrupt page, a timeout) leaves the scan as it
//!   is archived; the job is tried three times, then marked failed with its
//!   code, shown to the bureau on the archive page.
//!
//! No personal data goes into logs: digests and codes only.

pub mod engine;

use crate::app::App;
use crate::db::{self, Db, archive_text::TextRow};
use crate::domain::text;
use crate::error::AppError;
use std::sync::Arc;
use std::time::Duration;
use xueji_archive::{Archive, Digest};

/// The derived file's format name.
pub const TEXT_FORMAT: &str = "xueji-text/1";
/// Tries before a job is marked failed.
pub const MAX_ATTEMPTS: i64 = 3;
/// A running job whose heartbeat is older than this is taken again.
const STALE: Duration = Duration::from_secs(120);
/// How often a worker marks its job alive.
const HEARTBEAT: Duration = Duration::from_secs(20);
/// How often the background worker looks for queued jobs.
const POLL: Duration = Duration::from_secs(10);

/// One page of a reading, as kept in the derived file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PageText {
    /// From 1.
    pub page: u32,
    /// The text, normalized (see [`text::normalize`]).
    pub text: String,
    /// sha256 of `text` (UTF-8), hex.
    pub sha256: String,
}

/// A derived text file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TextFile {
    /// [`TEXT_FORMAT`].
    pub format: String,
    /// The object read (sha256, hex).
    pub object: String,
    /// Its media type.
    pub media_type: String,
    /// `ocr` or `pdf_text`.
    pub source: String,
    /// `tesseract` or `pdftotext`.
    pub engine: String,
    /// The engine's version.
    pub engine_version: String,
    /// The languages read (OCR only).
    pub languages: String,
    /// When (RFC 3339).
    pub created_at: String,
    /// The pages.
    pub pages: Vec<PageText>,
}

impl TextFile {
    fn row(&self, text_digest: &Digest) -> TextRow {
        TextRow {
            digest: self.object.clone(),
            text_digest: text_digest.to_hex(),
            source: self.source.clone(),
            engine: self.engine.clone(),
            engine_version: self.engine_version.clone(),
            pages: self.pages.len() as i64,
            chars: self.pages.iter().map(|p| p.text.chars().count() as i64).sum(),
            created_at: self.created_at.clone(),
        }
    }

    /// Each page's text and terms: the text's, and the owners' names' (see
    /// [`text`]: a name is found even where OCR misread it).
    fn indexed_pages(&self, names: &[String]) -> Vec<(String, Vec<String>)> {
        let name_terms: Vec<String> = names.iter().flat_map(|n| text::index_terms(n)).collect();
        self.pages
            .iter()
            .map(|p| {
                let mut terms = text::index_terms(&p.text);
                terms.extend(name_terms.iter().cloned());
                (p.text.clone(), terms)
            })
            .collect()
    }
}

/// The reading limits from the settings.
pub fn limits(config: &crate::config::Config, archive: &Archive) -> engine::Limits {
    engine::Limits {
        page_time: Duration::from_secs(config.ocr_page_seconds),
        memory: config.ocr_memory_mb.saturating_mul(1024 * 1024),
        max_pages: archive.config().inspect.max_pages,
    }
}

/// What one job came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Read and indexed: pages.
    Done(u32),
    /// Failed; tried again later unless `last`.
    Failed {
        /// The error code.
        code: &'static str,
        /// Whether the job is now marked failed.
        last: bool,
    },
    /// The reading program is not installed: the job went back to the queue.
    EngineMissing,
}

/// Takes and runs one queued job; `None` if the queue is empty.
pub async fn run_one(db: &Db, archive: &Archive, limits: &engine::Limits) -> Result<Option<Outcome>, AppError> {
    let instance = crate::lease::instance();
    let stale = (chrono::Utc::now() - chrono::Duration::from_std(STALE).unwrap_or_default())
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut conn = db.pool.acquire().await?;
    let Some(job) = db::archive_text::claim(&mut conn, instance, &stale).await? else { return Ok(None) };
    drop(conn);
    let beat = {
        let db = db.clone();
        let digest = job.digest.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(HEARTBEAT);
            tick.tick().await;
            loop {
                tick.tick().await;
                if let Err(e) = db::archive_text::heartbeat(&db.pool, &digest, instance).await {
                    AppError::from(e).log();
                }
            }
        })
    };
    let result = read_and_keep(db, archive, &job, limits).await;
    beat.abort();
    let outcome = match result {
        Ok(pages) => Outcome::Done(pages),
        Err(JobError::Read(engine::ReadError::Missing(program))) => {
            tracing::warn!(program, "the text reader is not installed; OCR jobs wait in the queue");
            db::archive_text::release(&db.pool, &job.digest).await?;
            return Ok(Some(Outcome::EngineMissing));
        }
        Err(JobError::Read(e)) => {
            let last = job.attempts >= MAX_ATTEMPTS;
            let state = if last { "failed" } else { "queued" };
            db::archive_text::finish(&db.pool, &job.digest, state, Some(e.code())).await?;
            tracing::warn!(digest = %job.digest, code = e.code(), attempt = job.attempts, "reading a scan's text failed");
            Outcome::Failed { code: e.code(), last }
        }
        Err(JobError::App(e)) => {
            // A fault on our side (database, store): the job is tried again.
            let last = job.attempts >= MAX_ATTEMPTS;
            let code = if e.code() == "not_found" { "ocr.object_missing" } else { "ocr.internal" };
            db::archive_text::finish(&db.pool, &job.digest, if last { "failed" } else { "queued" }, Some(code)).await?;
            e.log();
            Outcome::Failed { code, last }
        }
    };
    Ok(Some(outcome))
}

/// Runs blocking archive work off the async threads; a panic is a fault.
async fn on_archive<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, xueji_archive::ArchiveError> + Send + 'static,
) -> Result<Result<T, xueji_archive::ArchiveError>, AppError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| AppError::Internal(e.into()))
}

enum JobError {
    Read(engine::ReadError),
    App(AppError),
}

impl<E: Into<AppError>> From<E> for JobError {
    fn from(e: E) -> Self {
        Self::App(e.into())
    }
}

fn archive_fault(e: xueji_archive::ArchiveError) -> AppError {
    match e {
        xueji_archive::ArchiveError::ObjectNotFound { .. } => AppError::NotFound,
        e => AppError::Internal(e.into()),
    }
}

async fn read_and_keep(
    db: &Db,
    archive: &Archive,
    job: &db::archive_text::Claimed,
    limits: &engine::Limits,
) -> Result<u32, JobError> {
    let digest = job.digest.parse::<Digest>().map_err(|e| AppError::Internal(e.into()))?;
    let copy = {
        let archive = archive.clone();
        on_archive(move || archive.local_copy(&digest)).await?.map_err(archive_fault)?
    };
    let pages = u32::try_from(job.pages).unwrap_or(1);
    let reading = engine::read(copy.path(), &job.media_type, pages, limits).await.map_err(JobError::Read)?;
    drop(copy);
    let file = TextFile {
        format: TEXT_FORMAT.to_owned(),
        object: job.digest.clone(),
        media_type: job.media_type.clone(),
        source: reading.source.to_owned(),
        engine: reading.engine.to_owned(),
        engine_version: reading.engine_version,
        languages: if reading.engine == "tesseract" { engine::LANGUAGES.to_owned() } else { String::new() },
        created_at: db::now_text(),
        pages: reading
            .pages
            .iter()
            .enumerate()
            .map(|(i, raw)| {
                let text = text::normalize(raw);
                PageText { page: i as u32 + 1, sha256: Digest::of(text.as_bytes()).to_hex(), text }
            })
            .collect(),
    };
    let bytes = serde_json::to_vec_pretty(&file).map_err(|e| AppError::Internal(e.into()))?;
    let text_digest = {
        let archive = archive.clone();
        on_archive(move || archive.put_derived("json", bytes)).await?.map_err(archive_fault)?
    };
    let mut tx = db.pool.begin().await?;
    let names = db::archive_text::owner_names(&mut *tx, &job.digest).await?;
    db::archive_text::save(&mut tx, db.backend, &file.row(&text_digest), &file.indexed_pages(&names)).await?;
    db::archive_text::finish(&mut *tx, &job.digest, "done", None).await?;
    tx.commit().await?;
    crate::dossier::inventory::write_listing(db, archive, &job.digest).await;
    Ok(file.pages.len() as u32)
}

/// The derived text file of an object, read back and checked.
pub async fn text_file(db: &Db, archive: &Archive, digest: &Digest) -> Result<Option<TextFile>, AppError> {
    let Some(row) = db::archive_text::text_of(&db.pool, &digest.to_hex()).await? else { return Ok(None) };
    derived_file(archive, &row).await?.map_err(archive_fault)
}

/// The derived file a reading row names: `Ok(Err(..))` when the file is
/// missing (`ObjectNotFound`), damaged (`ObjectCorrupt`) or not a text file.
async fn derived_file(
    archive: &Archive,
    row: &TextRow,
) -> Result<Result<Option<TextFile>, xueji_archive::ArchiveError>, AppError> {
    Ok(derived_bytes(archive, row).await?.map(|bytes| bytes.and_then(|b| serde_json::from_slice(&b).ok())))
}

/// The bytes of the derived file a reading row names, checked against its digest.
async fn derived_bytes(
    archive: &Archive,
    row: &TextRow,
) -> Result<Result<Option<Vec<u8>>, xueji_archive::ArchiveError>, AppError> {
    let text_digest = row.text_digest.parse::<Digest>().map_err(|e| AppError::Internal(e.into()))?;
    let archive = archive.clone();
    on_archive(move || archive.get_derived(&text_digest, "json")).await
}

/// What [`reindex`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextReindex {
    /// Readings indexed again from their files.
    pub texts: usize,
    /// Pages.
    pub pages: usize,
    /// Readings whose file is missing or damaged: their objects are queued
    /// to be read again.
    pub requeued: usize,
}

/// Rebuilds the text index from the derived files; an object whose file is
/// missing or damaged is queued to be read again, and every listed object
/// without a job is queued.
pub async fn reindex(db: &Db, archive: &Archive) -> Result<TextReindex, AppError> {
    let rows = db::archive_text::all_texts(&db.pool).await?;
    let mut files = Vec::new();
    let mut report = TextReindex::default();
    let mut broken = Vec::new();
    for row in rows {
        match derived_file(archive, &row).await? {
            Ok(Some(file)) if file.object == row.digest => files.push((row, file)),
            // Missing, not a text file of this object, or damaged: read again.
            Ok(_) | Err(xueji_archive::ArchiveError::ObjectCorrupt { .. }) => broken.push(row.digest),
            Err(e) => return Err(archive_fault(e)),
        }
    }
    let mut tx = db.pool.begin().await?;
    db::archive_text::clear(&mut tx, db.backend).await?;
    for (row, file) in &files {
        let names = db::archive_text::owner_names(&mut *tx, &row.digest).await?;
        db::archive_text::save(&mut tx, db.backend, row, &file.indexed_pages(&names)).await?;
        report.texts += 1;
        report.pages += file.pages.len();
    }
    for digest in &broken {
        db::archive_text::finish(&mut *tx, digest, "queued", None).await?;
        tracing::warn!(digest = %digest, "derived text file missing or damaged; queued to be read again");
    }
    report.requeued = broken.len();
    db::archive_text::enqueue_missing(&mut *tx).await?;
    tx.commit().await?;
    Ok(report)
}

/// The background worker: reads queued jobs while there are any, then
/// waits. Off with `XUEJI_OCR=off`, or when Tesseract is not installed (said
/// once in the log; the queue waits for `xueji archive ocr` on a machine that
/// has it).
pub async fn schedule(app: Arc<App>) {
    if !app.config.ocr {
        tracing::info!("text reading of scans off (XUEJI_OCR=off)");
        return;
    }
    if !engine::available().await {
        tracing::warn!("tesseract with chi_sim is not installed: scans are archived but their text is not read");
        return;
    }
    // Scans archived before the queue existed (or by a build without it).
    match requeue(&app.db, None).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(queued = n, "scans queued for text reading"),
        Err(e) => e.log(),
    }
    let limits = limits(&app.config, &app.archive);
    loop {
        match run_one(&app.db, &app.archive, &limits).await {
            Ok(Some(Outcome::EngineMissing)) => return,
            Ok(Some(_)) => continue,
            Ok(None) => {}
            Err(e) => e.log(),
        }
        tokio::time::sleep(POLL).await;
    }
}

pub use db::archive_text::Requeue;

/// Queues objects to be read again (see [`Requeue`]), and every listed
/// object that has no job yet; returns how many were queued.
pub async fn requeue(db: &Db, which: Option<Requeue>) -> Result<u64, AppError> {
    let mut tx = db.pool.begin().await?;
    let mut queued = db::archive_text::enqueue_missing(&mut *tx).await?;
    if let Some(which) = which {
        queued += db::archive_text::requeue(&mut *tx, which).await?;
    }
    tx.commit().await?;
    Ok(queued)
}

/// The queue, for the bureau's archive page and the command line.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct QueueStatus {
    /// Waiting.
    pub queued: i64,
    /// Being read now.
    pub running: i64,
    /// Read.
    pub done: i64,
    /// Failed after every try.
    pub failed: i64,
    /// Pages in the full-text index.
    pub pages: i64,
    /// The newest failures (no student named).
    pub failures: Vec<FailureView>,
}

/// A failed reading, for the list.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FailureView {
    /// The object.
    pub digest: String,
    /// Its media type.
    pub media_type: String,
    /// The error code.
    pub error_code: String,
    /// Tries.
    pub attempts: i64,
    /// When it last ended.
    pub finished_at: String,
}

/// How the queue stands.
pub async fn status(db: &Db) -> Result<QueueStatus, AppError> {
    let mut status = QueueStatus::default();
    for (state, n) in db::archive_text::counts(&db.pool).await? {
        match state.as_str() {
            "queued" => status.queued = n,
            "running" => status.running = n,
            "done" => status.done = n,
            "failed" => status.failed = n,
            _ => {}
        }
    }
    status.pages = db::archive_text::size(&db.pool).await?.0;
    status.failures = db::archive_text::failed(&db.pool, 20)
        .await?
        .into_iter()
        .map(|f| FailureView {
            digest: f.digest,
            media_type: f.media_type,
            error_code: f.error_code,
            attempts: f.attempts,
            finished_at: f.finished_at,
        })
        .collect();
    Ok(status)
}

/// The derived text files of a student's scans (newest dossier version), for
/// a transfer package: each object's digest and its file's bytes.
pub async fn derived_of_student(
    db: &Db,
    archive: &Archive,
    student_id: i64,
) -> Result<Vec<(Digest, Vec<u8>)>, AppError> {
    let mut out = Vec::new();
    for state in db::archive_text::states_of_student(&db.pool, student_id).await? {
        let Some(row) = state.text else { continue };
        let object = row.digest.parse::<Digest>().map_err(|e| AppError::Internal(e.into()))?;
        let bytes = derived_bytes(archive, &row).await?.map_err(archive_fault)?;
        // A missing file is left out: the receiver reads that scan itself.
        if let Some(bytes) = bytes {
            out.push((object, bytes));
        }
    }
    Ok(out)
}

/// Keeps readings that came with a transfer package as this archive's own:
/// each one that is a [`TEXT_FORMAT`] file of its object is stored as a
/// derived file, indexed, and its job marked done; others are left to be
/// read here. Returns how many were kept.
pub async fn adopt(db: &Db, archive: &Archive, derived: &[(Digest, Vec<u8>)]) -> Result<usize, AppError> {
    let mut kept = 0;
    for (object, bytes) in derived {
        let Ok(file) = serde_json::from_slice::<TextFile>(bytes) else { continue };
        let sound = file.format == TEXT_FORMAT
            && file.object == object.to_hex()
            && file.pages.iter().all(|p| Digest::of(p.text.as_bytes()).to_hex() == p.sha256);
        if !sound {
            tracing::warn!(digest = %object, "a transfer package's text file is not usable; the scan is read here");
            continue;
        }
        let text_digest = {
            let archive = archive.clone();
            let bytes = bytes.clone();
            on_archive(move || archive.put_derived("json", bytes)).await?.map_err(archive_fault)?
        };
        let mut tx = db.pool.begin().await?;
        let names = db::archive_text::owner_names(&mut *tx, &file.object).await?;
        db::archive_text::save(&mut tx, db.backend, &file.row(&text_digest), &file.indexed_pages(&names)).await?;
        db::archive_text::enqueue(&mut tx, &file.object, &file.media_type).await?;
        db::archive_text::finish(&mut *tx, &file.object, "done", None).await?;
        tx.commit().await?;
        crate::dossier::inventory::write_listing(db, archive, &file.object).await;
        kept += 1;
    }
    Ok(kept)
}
