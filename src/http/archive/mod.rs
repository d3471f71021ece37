//! The paper-file archive over HTTP: upload (raw body or a form), a
//! student's dossier, downloads, thumbnails, page previews, search, transfer packages and
//! the fixity status; as pages and as JSON.
//!
//! - Objects are reached only through a student the caller may see, and only
//!   if that student's dossier lists them: knowing a digest gives nothing. A
//!   registrar asking outside their scope gets 404 and the attempt is
//!   audited as `denied`.
//! - Uploads stream into the archive through a small bounded channel (never
//!   the whole file in memory). A `Content-Length` over the limit is
//!   answered 413 before the body is read; a body that grows past it is
//!   stopped while streaming.
//! - Every view, thumbnail, download, search, export and import is audited
//!   (details hold digests, kinds and counts, never personal data).
//! - Downloads carry `Content-Disposition: attachment`, the recorded media
//!   type and `X-Content-Type-Options: nosniff`.

use crate::db::{schools, students};
use crate::dossier::{self, Failure, SearchQuery, StudentRef, Upload};
use crate::error::{AppError, ErrorBody};
use crate::http::Web;
use crate::http::auth::Staff;
use crate::http::pages::{PageError, render};
use crate::http::streams::attachment;
use crate::http::streams::{self, channel, content_length, feed_body, feed_field, stream_body};
use axum::body::Body;
use axum::extract::multipart::Field;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use minijinja::context;
use std::io::{self, Read, Write};
use std::str::FromStr;
use std::sync::Arc;
use xueji_archive::{ArchiveError, Digest, FileType, PaperKind};

mod pages;
mod preview;

use pages::{archive_page, dossier_page, fixity_page, import_page, search_page, upload_page};

/// Room for the form fields around the file in a multipart upload.
const MULTIPART_SLACK: u64 = 1024 * 1024;

/// The archive routes.
pub fn router() -> Router<Arc<Web>> {
    Router::new()
        .route("/archive", get(archive_page))
        .route("/archive/search", post(search_page))
        .route("/archive/import", post(import_page))
        .route("/archive/fixity", post(fixity_page))
        .route("/students/{id}/archive", get(dossier_page).post(upload_page))
        .route("/api/students/{id}/archive", get(dossier_api).post(upload_api))
        .route("/api/students/{id}/archive/bag.zip", get(export_api))
        .route("/api/students/{id}/archive/{digest}", get(download_api))
        .route("/api/students/{id}/archive/{digest}/thumbnail", get(thumbnail_api))
        .route("/api/students/{id}/archive/{digest}/text", get(text_api))
        .route("/api/students/{id}/archive/{digest}/pages/{page}/preview", get(preview::page_preview_api))
        .route("/api/archive/search", post(search_api))
        .route("/api/archive/import", post(import_api))
        .route("/api/archive/fixity", get(fixity_api).post(fixity_start_api))
        // Sizes are enforced here, while streaming.
        .layer(DefaultBodyLimit::disable())
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        self.log();
        let body = ErrorBody { code: self.code(), message: self.message(), field: None };
        (self.status(), Json(body)).into_response()
    }
}

/// A failure shown as an error page.
fn page_error(f: Failure) -> PageError {
    match f {
        Failure::App(e) => PageError(e),
        f => {
            f.log();
            // A full disk is told as it is (the message says whom to call).
            if f.status().is_server_error() && f.status() != StatusCode::INSUFFICIENT_STORAGE {
                PageError(AppError::Internal(anyhow::anyhow!("archive fault")))
            } else {
                PageError(AppError::bad_request(f.code(), f.message()))
            }
        }
    }
}

/// The student behind a public id, if the caller may see them; otherwise
/// 404, with the attempt audited under `action`.
async fn student_for(app: &Web, staff: &Staff, public_id: &str, action: &str) -> Result<StudentRef, Failure> {
    match dossier::student_by_public_id(&app.db, public_id).await? {
        Some(s) if staff.may_see(s.school_id) => Ok(s),
        Some(s) => {
            staff.audit(app, action, ("student", public_id), Some(s.school_id), "denied", "outside scope").await?;
            Err(AppError::NotFound.into())
        }
        None => {
            staff.audit(app, action, ("student", public_id), None, "not_found", "").await?;
            Err(AppError::NotFound.into())
        }
    }
}

/// Where an upload's bytes come from: a raw request body, or a form's file field.
pub(crate) enum UploadSource<'a, 'f> {
    /// `PUT`/`POST` with the file as the body.
    Body(Body),
    /// The file field of a multipart form.
    Field(&'a mut Field<'f>),
}

impl UploadSource<'_, '_> {
    /// Feeds the bytes into the channel until they end or the reader stops.
    async fn feed(self, tx: tokio::sync::mpsc::Sender<std::io::Result<axum::body::Bytes>>) {
        match self {
            UploadSource::Body(body) => feed_body(body, tx).await,
            UploadSource::Field(field) => feed_field(field, tx).await,
        }
    }
}

/// Streams an upload into the student's dossier as the staff member.
pub(crate) async fn add_upload(
    app: &Web,
    staff: &Staff,
    student: &StudentRef,
    upload: Upload,
    source: UploadSource<'_, '_>,
) -> Result<dossier::Added, Failure> {
    let (tx, reader) = channel();
    let (added, ()) = tokio::join!(
        dossier::add_file(&app.db, &app.archive, student, upload, Box::new(reader), &staff.actor),
        source.feed(tx)
    );
    added
}

/// Reads a package form (`csrf`, then `file`): checks the token and spools
/// the file, refused past `limit` bytes. `None` when the form has no file;
/// a form without the token is refused. `bad` makes the form's own error.
pub(crate) async fn spool_package_form(
    app: &Web,
    staff: &Staff,
    multipart: &mut Multipart,
    limit: u64,
    bad: fn() -> AppError,
) -> Result<Option<Result<std::fs::File, Failure>>, PageError> {
    let mut csrf_ok = false;
    let mut file = None;
    while let Some(mut field) = multipart.next_field().await.map_err(|_| PageError(bad()))? {
        match field.name().unwrap_or("") {
            "csrf" => {
                staff.check_csrf(&streams::small_text(&mut field, bad).await?)?;
                csrf_ok = true;
            }
            "file" if csrf_ok => {
                file = Some(spool_upload(app, UploadSource::Field(&mut field), limit).await);
                break;
            }
            _ => break,
        }
    }
    if !csrf_ok {
        return Err(PageError(AppError::Csrf));
    }
    Ok(file)
}

/// Streams an upload (a transfer package) into an unnamed temp file under
/// the data directory, refused past `limit` bytes.
pub(crate) async fn spool_upload(
    app: &Web,
    source: UploadSource<'_, '_>,
    limit: u64,
) -> Result<std::fs::File, Failure> {
    let (tx, mut reader) = channel();
    let dir = app.config.data_dir.clone();
    let spooled = tokio::task::spawn_blocking(move || spool(&dir, &mut reader, limit));
    let (spooled, ()) = tokio::join!(spooled, source.feed(tx));
    spooled.map_err(|e| Failure::from(anyhow::Error::new(e)))?
}

pub(crate) fn parse_kind(kind: Option<&str>) -> Result<PaperKind, Failure> {
    match kind.map(str::trim).filter(|k| !k.is_empty()) {
        None => Err(AppError::bad_request("archive.kind_required", "请选择材料类别").into()),
        Some(k) => Ok(PaperKind::from_str(k)?),
    }
}

fn parse_supersedes(v: Option<&str>) -> Result<Option<Digest>, Failure> {
    match v.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => Ok(Some(Digest::from_str(v)?)),
    }
}

/// Audits an upload's outcome.
async fn audit_upload(
    app: &Web,
    staff: &Staff,
    student: &StudentRef,
    result: &Result<dossier::Added, Failure>,
) -> Result<(), AppError> {
    let (outcome, detail) = match result {
        Ok(a) => (
            "ok",
            format!(
                "digest={} kind={} pages={} size={} version={} new_object={}",
                a.entry.digest,
                a.entry.kind.code(),
                a.entry.pages,
                a.entry.size,
                a.version,
                a.new_object
            ),
        ),
        Err(e) if e.is_refusal() => ("refused", format!("code={}", e.code())),
        Err(e) => ("error", format!("code={}", e.code())),
    };
    staff.audit(app, "archive.upload", ("student", &student.public_id), Some(student.school_id), outcome, &detail).await
}

/// The query of a raw upload.
#[derive(Debug, Default, serde::Deserialize)]
pub struct UploadQuery {
    /// Kind of paper (code or label).
    #[serde(default)]
    kind: Option<String>,
    /// The original file name.
    #[serde(default)]
    name: Option<String>,
    /// The digest of the scan this one corrects.
    #[serde(default)]
    supersedes: Option<String>,
    /// Why.
    #[serde(default)]
    note: Option<String>,
}

/// The JSON answer to an upload.
#[derive(Debug, serde::Serialize)]
struct UploadAnswer {
    entry: dossier::EntryView,
    version: u32,
    entries: usize,
    new_object: bool,
}

async fn upload_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(id): Path<String>,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Failure> {
    let student = student_for(&app, &staff, &id, "archive.upload").await?;
    let result = async {
        let kind = parse_kind(q.kind.as_deref())?;
        let supersedes = parse_supersedes(q.supersedes.as_deref())?;
        let limit = app.archive.config().inspect.max_size;
        if content_length(&headers).is_some_and(|n| n > limit) {
            return Err(ArchiveError::TooLarge { limit }.into());
        }
        let upload = Upload {
            kind,
            original_name: q.name.clone().unwrap_or_default(),
            supersedes,
            note: q.note.clone().unwrap_or_default(),
        };
        add_upload(&app, &staff, &student, upload, UploadSource::Body(body)).await
    }
    .await;
    audit_upload(&app, &staff, &student, &result).await?;
    let added = result?;
    let answer = UploadAnswer {
        entry: dossier::EntryView::from(&added.entry),
        version: added.version,
        entries: added.entries,
        new_object: added.new_object,
    };
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

/// `?version=N`.
#[derive(Debug, Default, serde::Deserialize)]
pub struct VersionQuery {
    /// The version to show (default: the newest).
    #[serde(default)]
    version: Option<u32>,
    /// Set after a successful upload (the version written).
    #[serde(default)]
    added: Option<u32>,
}

async fn load_view(
    app: &Web,
    staff: &Staff,
    public_id: &str,
    version: Option<u32>,
) -> Result<(StudentRef, dossier::DossierView), Failure> {
    let student = student_for(app, staff, public_id, "archive.view").await?;
    let view = dossier::view(&app.db, &app.archive, &student, version).await?;
    staff
        .audit(
            app,
            "archive.view",
            ("student", public_id),
            Some(student.school_id),
            "ok",
            &format!("version={} entries={}", view.version, view.entries.len()),
        )
        .await?;
    Ok((student, view))
}

async fn dossier_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(id): Path<String>,
    Query(q): Query<VersionQuery>,
) -> Result<Json<dossier::DossierView>, Failure> {
    Ok(Json(load_view(&app, &staff, &id, q.version).await?.1))
}

/// Finds an object through the student's dossier and audits the access.
async fn entry_for(
    app: &Web,
    staff: &Staff,
    public_id: &str,
    digest: &str,
    action: &str,
) -> Result<(StudentRef, xueji_archive::Entry), Failure> {
    let student = student_for(app, staff, public_id, action).await?;
    let entry = match Digest::from_str(digest) {
        Ok(d) => dossier::find_entry(&app.db, &app.archive, &student, &d).await?,
        Err(_) => None,
    };
    let Some(entry) = entry else {
        staff
            .audit(app, action, ("student", public_id), Some(student.school_id), "not_found", "digest not in dossier")
            .await?;
        return Err(AppError::NotFound.into());
    };
    Ok((student, entry))
}

async fn download_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path((id, digest)): Path<(String, String)>,
) -> Result<Response, Failure> {
    let (student, entry) = entry_for(&app, &staff, &id, &digest, "archive.download").await?;
    let reader = match dossier::open_object(&app.archive, &entry).await {
        Ok(reader) => reader,
        Err(e) => {
            let outcome = match &e {
                Failure::Archive(ArchiveError::ObjectCorrupt { .. }) => "corrupt",
                Failure::Archive(ArchiveError::ObjectNotFound { .. }) => "missing",
                f if f.is_refusal() => "refused",
                _ => "error",
            };
            let detail = format!("digest={} code={}", entry.digest, e.code());
            staff.audit(&app, "archive.download", ("student", &id), Some(student.school_id), outcome, &detail).await?;
            return Err(e);
        }
    };
    staff
        .audit(
            &app,
            "archive.download",
            ("student", &id),
            Some(student.school_id),
            "ok",
            &format!("digest={} kind={} size={}", entry.digest, entry.kind.code(), entry.size),
        )
        .await?;
    let file_type = FileType::from_media_type(&entry.media_type);
    let media_type = file_type.map_or("application/octet-stream", FileType::media_type);
    let fallback = format!("scan-{}.{}", &entry.digest.to_hex()[..12], file_type.map_or("bin", FileType::extension));
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static(media_type)),
        (header::CONTENT_LENGTH, HeaderValue::from(entry.size)),
        (header::CONTENT_DISPOSITION, attachment(&entry.original_name, &fallback)),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::CACHE_CONTROL, HeaderValue::from_static("private, no-store")),
    ];
    Ok((headers, stream_body(reader)).into_response())
}

async fn thumbnail_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path((id, digest)): Path<(String, String)>,
) -> Result<Response, Failure> {
    let (student, entry) = entry_for(&app, &staff, &id, &digest, "archive.thumbnail").await?;
    let Some((media_type, bytes)) = dossier::thumbnail(&app.db, &app.archive, &entry).await? else {
        return Err(AppError::NotFound.into());
    };
    staff
        .audit(
            &app,
            "archive.thumbnail",
            ("student", &id),
            Some(student.school_id),
            "ok",
            &format!("digest={}", entry.digest),
        )
        .await?;
    let media_type = HeaderValue::from_str(&media_type).unwrap_or(HeaderValue::from_static("image/jpeg"));
    let headers = [
        (header::CONTENT_TYPE, media_type),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=300")),
    ];
    Ok((headers, bytes).into_response())
}

/// The text read off a scan: the derived file (`xueji-text/1` JSON), checked
/// against its digest.
async fn text_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path((id, digest)): Path<(String, String)>,
) -> Result<Response, Failure> {
    let (student, entry) = entry_for(&app, &staff, &id, &digest, "archive.text").await?;
    let Some(file) = crate::ocr::text_file(&app.db, &app.archive, &entry.digest).await? else {
        return Err(AppError::NotFound.into());
    };
    staff
        .audit(
            &app,
            "archive.text",
            ("student", &id),
            Some(student.school_id),
            "ok",
            &format!("digest={}", entry.digest),
        )
        .await?;
    let headers = [(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"))];
    Ok((headers, Json(file)).into_response())
}

async fn export_api(State(app): State<Arc<Web>>, staff: Staff, Path(id): Path<String>) -> Result<Response, Failure> {
    let student = student_for(&app, &staff, &id, "archive.export").await?;
    let file = tempfile::tempfile_in(&app.config.data_dir).map_err(|e| Failure::from(anyhow::Error::new(e)))?;
    let out = file.try_clone().map_err(|e| Failure::from(anyhow::Error::new(e)))?;
    let result = dossier::export(&app.db, &app.archive, &app.keys, &student, app.today(), &app.config, out).await;
    let (outcome, detail) = match &result {
        Ok(s) => ("ok", format!("versions={} objects={} bytes={}", s.versions, s.objects, s.payload_bytes)),
        Err(e) => (if e.is_refusal() { "refused" } else { "error" }, format!("code={}", e.code())),
    };
    staff.audit(&app, "archive.export", ("student", &id), Some(student.school_id), outcome, &detail).await?;
    result?;
    let mut file = file;
    let len = std::io::Seek::seek(&mut file, io::SeekFrom::End(0)).map_err(|e| Failure::from(anyhow::Error::new(e)))?;
    std::io::Seek::rewind(&mut file).map_err(|e| Failure::from(anyhow::Error::new(e)))?;
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("application/zip")),
        (header::CONTENT_LENGTH, HeaderValue::from(len)),
        (header::CONTENT_DISPOSITION, attachment(&format!("dossier-{id}.zip"), &format!("dossier-{id}.zip"))),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
    ];
    Ok((headers, stream_body(Box::new(file))).into_response())
}

/// Streams `reader` into an unnamed temp file under the data directory,
/// refusing it past `limit` bytes.
pub(crate) fn spool(dir: &std::path::Path, reader: &mut dyn Read, limit: u64) -> Result<std::fs::File, Failure> {
    let internal = |e: io::Error| Failure::from(anyhow::Error::new(e));
    let mut file = tempfile::tempfile_in(dir).map_err(internal)?;
    let mut buf = vec![0u8; xueji_archive::CHUNK_SIZE];
    let mut total: u64 = 0;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return Err(bad_upload()),
        };
        total += n as u64;
        if total > limit {
            return Err(ArchiveError::TooLarge { limit }.into());
        }
        file.write_all(&buf[..n]).map_err(internal)?;
    }
    Ok(file)
}

fn bad_upload() -> Failure {
    AppError::bad_request("archive.upload_interrupted", "上传未完成：连接中断，请重新上传").into()
}

pub(crate) async fn run_import(app: &Web, staff: &Staff, file: std::fs::File) -> Result<dossier::Imported, Failure> {
    let keys = dossier::trusted_keys(&app.keys, &app.config.data_dir)?;
    let result = dossier::import(&app.db, &app.archive, &keys, file, &staff.actor).await;
    // A filed package wrote its audit row with its record.
    if let Err(e) = &result {
        let outcome = if e.is_refusal() { "refused" } else { "error" };
        staff.audit(app, "archive.import", ("archive", "-"), None, outcome, &format!("code={}", e.code())).await?;
    }
    result
}

async fn import_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Failure> {
    staff.require_bureau()?;
    let limit = app.archive.config().import.max_unpacked_bytes;
    if content_length(&headers).is_some_and(|n| n > limit) {
        return Err(ArchiveError::TooLarge { limit }.into());
    }
    let file = spool_upload(&app, UploadSource::Body(body), limit).await?;
    let imported = run_import(&app, &staff, file).await?;
    Ok((StatusCode::CREATED, Json(imported)).into_response())
}

async fn search_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Json(q): Json<SearchQuery>,
) -> Result<Json<dossier::SearchResult>, Failure> {
    Ok(Json(run_search(&app, &staff, &q).await?))
}

async fn run_search(app: &Web, staff: &Staff, q: &SearchQuery) -> Result<dossier::SearchResult, Failure> {
    let result = dossier::search(&app.db, staff.actor.scope.as_deref(), q).await?;
    staff
        .audit(
            app,
            "archive.search",
            ("archive", "*"),
            None,
            "ok",
            &format!("shown={} total={} by={}", result.hits.len(), result.total, q.criteria()),
        )
        .await?;
    Ok(result)
}

/// The last fixity result and whether a run is going on.
#[derive(Debug, serde::Serialize)]
struct FixityStatus {
    running: bool,
    last: Option<dossier::FixitySummary>,
}

async fn fixity_status(app: &Web) -> Result<FixityStatus, Failure> {
    Ok(FixityStatus { running: dossier::fixity_running(&app.archive), last: dossier::last_fixity(&app.db).await? })
}

async fn fixity_api(State(app): State<Arc<Web>>, staff: Staff) -> Result<Json<FixityStatus>, Failure> {
    staff.require_bureau()?;
    Ok(Json(fixity_status(&app).await?))
}

/// Starts a fixity run in the background.
async fn start_fixity(app: &Arc<Web>, staff: &Staff) -> Result<(), Failure> {
    staff.require_bureau()?;
    if dossier::fixity_running(&app.archive) {
        return Err(AppError::conflict("archive.fixity_running", "完整性检查正在进行，请稍后查看结果").into());
    }
    staff.audit(app, "archive.fixity", ("archive", "*"), None, "ok", "started").await?;
    let app = app.clone();
    let by = staff.user.username.clone();
    tokio::spawn(async move {
        if let Err(e) = dossier::run_fixity(&app.db, &app.archive, &by, Arc::new(|_| {})).await {
            e.log();
        }
    });
    Ok(())
}

async fn fixity_start_api(State(app): State<Arc<Web>>, staff: Staff) -> Result<Response, Failure> {
    start_fixity(&app, &staff).await?;
    Ok((StatusCode::ACCEPTED, Json(serde_json::json!({ "started": true }))).into_response())
}

// ---- pages ----
