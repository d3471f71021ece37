//! Batch printing jobs: every student of a class, a grade or a school, one
//! document each, as one print-ready PDF (chunked by the renderer: a zip of
//! chunk PDFs when there is more than one) or a zip of one PDF per student.
//! Jobs run in the background; their progress is polled by the page. Each
//! document is issued and recorded as if printed singly.

use crate::app::App;
use crate::db::schools::School;
use crate::documents::{self, Options};
use crate::domain::Actor;
use crate::error::{AppError, AppResult};
use crate::render::{DocKind, RenderRequest};
use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, LazyLock, Mutex};

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
    pub done: usize,
    /// Documents in all.
    pub total: usize,
    /// Students skipped because their status does not allow the document.
    pub skipped: usize,
    /// `running`, `done` or `failed`.
    pub state: &'static str,
    /// What failed.
    pub error: Option<String>,
}

struct Job {
    owner: Option<i64>,
    status: JobStatus,
    result: Option<(Vec<u8>, String, &'static str)>,
}

static JOBS: LazyLock<Mutex<HashMap<String, Job>>> = LazyLock::new(Default::default);

fn update(id: &str, f: impl FnOnce(&mut Job)) {
    if let Some(job) = JOBS.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get_mut(id) {
        f(job);
    }
}

/// A job's status, for its owner only.
pub fn status(id: &str, owner: Option<i64>) -> Option<JobStatus> {
    let jobs = JOBS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    jobs.get(id).filter(|j| j.owner == owner).map(|j| j.status.clone())
}

/// Takes a finished job's file (once).
pub fn take_result(id: &str, owner: Option<i64>) -> AppResult<(Vec<u8>, String, &'static str)> {
    let mut jobs = JOBS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    match jobs.get(id) {
        Some(j) if j.owner == owner && j.result.is_some() => {
            Ok(jobs.remove(id).and_then(|j| j.result).expect("checked above"))
        }
        Some(j) if j.owner == owner => Err(AppError::conflict("batch.not_ready", "批量打印尚未完成")),
        _ => Err(AppError::NotFound),
    }
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
    let status = JobStatus {
        id: id.clone(),
        title: kind.title_zh().to_owned(),
        school: school.name.clone(),
        done: 0,
        total: ids.len(),
        skipped: 0,
        state: "running",
        error: None,
    };
    JOBS.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(id.clone(), Job { owner: actor.user_id, status, result: None });
    crate::service::documents::record_batch(&app.db, &actor, &school, kind, ids.len()).await?;
    let job = id.clone();
    tokio::spawn(async move {
        let outcome = run(&app, &actor, &school, kind, &ids, zip, &job).await;
        update(&job, |j| match outcome {
            Ok(file) => {
                j.status.state = "done";
                j.result = Some(file);
            }
            Err(e) => {
                e.log();
                j.status.state = "failed";
                j.status.error = Some(e.to_string());
            }
        });
    });
    Ok(id)
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
    for (i, id) in ids.iter().enumerate() {
        let mut conn = app.db.pool.acquire().await?;
        let student = crate::db::students::by_id(&mut conn, *id).await?.ok_or(AppError::NotFound)?;
        drop(conn);
        if documents::check_allowed(kind, &student, school.kind).is_err() {
            update(job, |j| j.status.skipped += 1);
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
        update(job, |j| j.status.done = i + 1);
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
