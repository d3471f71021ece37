//! The paper-file archive, service side: which student owns which dossier,
//! the search index, thumbnails, fixity runs and transfer packages.
//!
//! The `xueji-archive` crate keeps the bytes and the dossier manifests and
//! knows nothing of students; this module ties them to the records:
//!
//! - every student has at most one dossier (`dossiers`), named in the archive
//!   by a random opaque id, never by the student number;
//! - a new manifest version is written for every upload, listing every entry
//!   (a correction names the scan it `supersedes`, which leaves the list; the
//!   old version stays readable);
//! - `archive_entries` indexes the newest version of each dossier for search;
//!   the manifests are the source of truth and [`reindex_all`] rebuilds the
//!   index from them;
//! - versions are appended under a lock on the dossier's row, so concurrent
//!   uploads (server and CLI alike) never lose each other's entries. The
//!   manifest is written before the index row is committed: a crash between
//!   the two leaves the index one version behind, which the next upload, a
//!   reindex, and the fixity report all see;
//! - transfer packages are the crate's signed BagIt zips with the student's
//!   record as `data/record.json`, signed with the service key; an import is
//!   filed under the local student with the same student number.
//!
//! Settings (environment):
//!
//! | variable | default |
//! | --- | --- |
//! | `XUEJI_ARCHIVE_MAX_MB` | `200`: largest scan accepted |
//! | `XUEJI_ARCHIVE_IMPORT_MAX_MB` | `20480`: largest transfer package, unpacked |
//! | `XUEJI_FIXITY_HOURS` | `24`: hours between scheduled fixity checks (`0`: none) |
//! | `XUEJI_FIXITY_DELAY_MINUTES` | `10`: first scheduled check after start-up |
//! | `XUEJI_ORGANIZATION` | `农安县教育局`: `Source-Organization` of exported packages |
//!
//! Packages signed by another service are accepted when its published key
//! set (`xueji-keys/1`, as in `keys.json`) is copied into
//! `{data}/trusted-keys/*.json`.
//!
//! No personal data goes into logs or error messages: messages name paper
//! kinds, digests and counts, never a student.

use crate::app::App;
use crate::db::{Db, students};
use crate::error::AppError;
use crate::verify::{KeyStatus, KeyStore, Kid};
use anyhow::Context;
use axum::http::StatusCode;
use ed25519_dalek::{SigningKey, VerifyingKey};
use sqlx::Row;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use xueji_archive::{
    Archive, ArchiveConfig, ArchiveError, Digest, Entry, ExportOptions, ExportSummary, FixityReport, Manifest,
    NewVersion, PaperKind, VerifyProgress,
};

/// Where other services' published key sets are kept, under the data directory.
pub const TRUSTED_KEYS_DIR: &str = "trusted-keys";

/// Results per search page.
pub const SEARCH_PAGE_SIZE: i64 = 100;

/// Longest original file name kept, in characters.
const MAX_NAME_CHARS: usize = 200;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn env_u64(name: &str, default: u64) -> anyhow::Result<u64> {
    match env(name) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| anyhow::anyhow!("环境变量 {name} 的值“{v}”不是非负整数")),
    }
}

/// The archive's limits: the crate's defaults, with the upload and package
/// sizes from `XUEJI_ARCHIVE_MAX_MB` and `XUEJI_ARCHIVE_IMPORT_MAX_MB`.
pub fn archive_config() -> anyhow::Result<ArchiveConfig> {
    let mut config = ArchiveConfig::default();
    let max_mb = env_u64("XUEJI_ARCHIVE_MAX_MB", config.inspect.max_size / (1024 * 1024))?;
    anyhow::ensure!(max_mb > 0, "环境变量 XUEJI_ARCHIVE_MAX_MB 须大于 0");
    config.inspect.max_size = max_mb.saturating_mul(1024 * 1024);
    let import_mb = env_u64("XUEJI_ARCHIVE_IMPORT_MAX_MB", config.import.max_unpacked_bytes / (1024 * 1024))?;
    anyhow::ensure!(import_mb > 0, "环境变量 XUEJI_ARCHIVE_IMPORT_MAX_MB 须大于 0");
    config.import.max_unpacked_bytes = import_mb.saturating_mul(1024 * 1024);
    Ok(config)
}

/// `Source-Organization` of exported packages.
pub fn organization() -> String {
    env("XUEJI_ORGANIZATION").unwrap_or_else(|| "农安县教育局".to_owned())
}

/// What went wrong: an archive refusal or fault, or a service error.
///
/// Faults answer 500 with the generic message and the code `internal`,
/// except panics, which keep a code of their own so that they can be
/// counted and told apart: `archive.inspect_panicked` (checking an uploaded
/// or stored file panicked; the archive crate caught it and stored nothing)
/// and `internal.panicked` (blocking work panicked elsewhere; tokio caught
/// it). See `docs/failures.md`.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// From the archive crate: a refusal (422/413) or a fault (500).
    #[error("{0}")]
    Archive(#[from] ArchiveError),
    /// Not found, forbidden, a database fault, …
    #[error("{0}")]
    App(#[from] AppError),
    /// Blocking work run by [`blocking`] panicked (its task's `JoinError`).
    #[error("服务器内部错误（后台任务异常中止），操作未完成，请稍后重试或联系管理员")]
    TaskPanicked {
        /// The panic message, for the log only.
        detail: String,
    },
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Self {
        Self::App(e.into())
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Self::App(AppError::Internal(e))
    }
}

impl Failure {
    fn internal(e: impl Into<anyhow::Error>) -> Self {
        Self::App(AppError::Internal(e.into()))
    }

    fn bad(code: &'static str, message: impl Into<String>) -> Self {
        Self::App(AppError::bad_request(code, message))
    }

    /// The HTTP status: 413 for a file over the limit, 422 for any other
    /// refusal of a file or package, 500 for faults on our side.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::App(e) => e.status(),
            Self::Archive(e) => archive_status(e),
            Self::TaskPanicked { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine code (`archive.type_unsupported`, `not_found`, …).
    pub fn code(&self) -> &'static str {
        match self {
            Self::App(e) => e.code(),
            Self::TaskPanicked { .. } => "internal.panicked",
            Self::Archive(e @ ArchiveError::Panicked { .. }) => e.code(),
            Self::Archive(e) if archive_status(e).is_server_error() => "internal",
            Self::Archive(ArchiveError::Io { op: "读取上传内容", .. }) => "archive.upload_interrupted",
            Self::Archive(e) => e.code(),
        }
    }

    /// The Chinese message for the client: generic for faults on our side.
    pub fn message(&self) -> String {
        match self {
            Self::App(e) => e.to_string(),
            // Names the step, never the file or the panic message.
            Self::TaskPanicked { .. } | Self::Archive(ArchiveError::Panicked { .. }) => self.to_string(),
            Self::Archive(_) if self.status().is_server_error() => {
                AppError::Internal(anyhow::anyhow!("archive")).to_string()
            }
            Self::Archive(ArchiveError::Io { op: "读取上传内容", .. }) => {
                "上传未完成：连接中断，请重新上传".to_owned()
            }
            Self::Archive(e) => e.to_string(),
        }
    }

    /// Whether the file or package was refused (as opposed to a fault).
    pub fn is_refusal(&self) -> bool {
        self.status().is_client_error()
    }

    /// Logs a fault on our side (codes and paths inside the archive only).
    pub fn log(&self) {
        match self {
            Self::App(e) => e.log(),
            Self::TaskPanicked { detail } => {
                tracing::error!(
                    code = self.code(),
                    panic = %detail,
                    "blocking task panicked; the request failed, the server goes on"
                );
            }
            Self::Archive(e @ ArchiveError::Panicked { stage, detail }) => {
                tracing::error!(
                    code = e.code(),
                    stage = *stage,
                    panic = %detail,
                    "checking a file panicked; contained, nothing stored"
                );
            }
            Self::Archive(e) if self.status().is_server_error() => {
                tracing::error!(code = e.code(), error = %e, "archive fault");
            }
            Self::Archive(_) => {}
        }
    }
}

/// The status an archive error answers with.
pub fn archive_status(e: &ArchiveError) -> StatusCode {
    match e {
        ArchiveError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        ArchiveError::Io { op: "读取上传内容", .. } => StatusCode::BAD_REQUEST,
        ArchiveError::ManifestConflict { .. } => StatusCode::CONFLICT,
        ArchiveError::Empty
        | ArchiveError::TypeUnsupported
        | ArchiveError::ExtensionMismatch { .. }
        | ArchiveError::Corrupt { .. }
        | ArchiveError::ImageTooLarge { .. }
        | ArchiveError::TooManyPages { .. }
        | ArchiveError::PdfTooDeep { .. }
        | ArchiveError::DigestInvalid
        | ArchiveError::TimestampInvalid { .. }
        | ArchiveError::FieldInvalid { .. }
        | ArchiveError::SupersedesUnknown { .. }
        | ArchiveError::PaperKindUnknown { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        e if e.code().starts_with("archive.bag_") => StatusCode::UNPROCESSABLE_ENTITY,
        // A fault on our side set off by the file, not a refusal of it.
        ArchiveError::Panicked { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Result alias for this module.
pub type Result<T, E = Failure> = std::result::Result<T, E>;

/// Who is acting, for manifests and the audit log.
pub use crate::domain::Actor;

/// A student as the archive sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudentRef {
    /// Internal id.
    pub id: i64,
    /// Opaque public id.
    pub public_id: String,
    /// School (for access checks).
    pub school_id: i64,
}

fn student_ref(r: &sqlx::any::AnyRow) -> Result<StudentRef, sqlx::Error> {
    Ok(StudentRef { id: r.try_get("id")?, public_id: r.try_get("public_id")?, school_id: r.try_get("school_id")? })
}

/// A student by opaque public id.
pub async fn student_by_public_id(db: &Db, public_id: &str) -> Result<Option<StudentRef>, sqlx::Error> {
    let row = sqlx::query("SELECT id, public_id, school_id FROM students WHERE public_id = $1")
        .bind(public_id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(student_ref).transpose()
}

/// A student by student number (any case, surrounding blanks ignored).
pub async fn student_by_no(db: &Db, student_no: &str) -> Result<Option<StudentRef>, sqlx::Error> {
    let row = sqlx::query("SELECT id, public_id, school_id FROM students WHERE student_no = $1")
        .bind(student_no.trim().to_ascii_uppercase())
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(student_ref).transpose()
}

/// A student's dossier row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DossierRow {
    /// Internal id.
    pub id: i64,
    /// The dossier's id in the archive (opaque).
    pub archive_id: String,
    /// The newest version the index reflects (0: none yet).
    pub versions: i64,
}

fn dossier_row(r: &sqlx::any::AnyRow) -> Result<DossierRow, sqlx::Error> {
    Ok(DossierRow { id: r.try_get("id")?, archive_id: r.try_get("archive_id")?, versions: r.try_get("versions")? })
}

/// The student's dossier, if one was started.
pub async fn dossier_of(db: &Db, student_id: i64) -> Result<Option<DossierRow>, sqlx::Error> {
    let row = sqlx::query("SELECT id, archive_id, versions FROM dossiers WHERE student_id = $1")
        .bind(student_id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(dossier_row).transpose()
}

/// A new opaque dossier id: `d-` and 128 random bits in hex.
fn new_archive_id() -> String {
    format!("d-{}", hex::encode(rand::random::<[u8; 16]>()))
}

/// The current instant with the local offset (manifests keep local time, so
/// the date part is the day at the counter).
pub fn local_now() -> String {
    chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// Cleans an uploaded file's name: the last path component, no control
/// characters, at most 200 characters.
pub fn clean_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = base.chars().filter(|c| !c.is_control()).collect();
    cleaned.trim().chars().take(MAX_NAME_CHARS).collect()
}

/// Runs blocking archive work off the async threads. A panic in `f` stays
/// in its blocking thread: it comes back as [`Failure::TaskPanicked`] (500,
/// `internal.panicked`), and the server goes on. (Panics while checking a
/// file are already caught inside the archive crate, with their own code.)
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result,
        Err(e) if e.is_panic() => Err(Failure::TaskPanicked { detail: panic_text(e.into_panic()) }),
        Err(e) => Err(Failure::internal(e)),
    }
}

/// A panic payload's message, shortened for a log line.
fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    let text = match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(payload) => payload.downcast_ref::<&str>().map_or_else(|| "(no message)".to_owned(), |s| (*s).to_owned()),
    };
    text.chars().filter(|c| !c.is_control()).take(200).collect()
}

/// Starts a transaction holding the lock on the student's dossier row
/// (creating the row if needed): the row lock on PostgreSQL, the write lock
/// on SQLite. One writer per dossier at a time, across processes.
async fn lock_dossier(db: &Db, student: &StudentRef) -> Result<(sqlx::Transaction<'static, sqlx::Any>, DossierRow)> {
    let now = crate::db::now_text();
    let mut tx = db.pool.begin().await?;
    sqlx::query(
        "INSERT INTO dossiers (archive_id, student_id, versions, created_at, updated_at) VALUES ($1, $2, 0, $3, $3)
         ON CONFLICT (student_id) DO NOTHING",
    )
    .bind(new_archive_id())
    .bind(student.id)
    .bind(&now)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE dossiers SET updated_at = $1 WHERE student_id = $2")
        .bind(&now)
        .bind(student.id)
        .execute(&mut *tx)
        .await?;
    let row = sqlx::query("SELECT id, archive_id, versions FROM dossiers WHERE student_id = $1")
        .bind(student.id)
        .fetch_one(&mut *tx)
        .await?;
    Ok((tx, dossier_row(&row)?))
}

/// Under the dossier lock, writes the versions `make` returns (given the
/// newest version's entries), in order. Nothing is written if `make` fails.
async fn write_versions(
    archive: &Archive,
    dossier: &DossierRow,
    make: impl FnOnce(Vec<Entry>) -> Result<Vec<NewVersion>> + Send + 'static,
) -> Result<Vec<Manifest>> {
    let archive = archive.clone();
    let archive_id = dossier.archive_id.clone();
    blocking(move || {
        let latest = archive.latest(&archive_id)?;
        let versions = make(latest.map(|m| m.entries).unwrap_or_default())?;
        let mut written = Vec::with_capacity(versions.len());
        for v in versions {
            written.push(archive.add_version(&archive_id, v)?);
        }
        if written.is_empty() {
            return Err(Failure::internal(anyhow::anyhow!("no version to append")));
        }
        Ok(written)
    })
    .await
}

/// Appends versions to the student's dossier under its lock and indexes
/// the last one in the same transaction. The manifests are written before
/// the index commits: a crash in between leaves the index behind, never
/// ahead.
async fn append_versions(
    db: &Db,
    archive: &Archive,
    student: &StudentRef,
    make: impl FnOnce(Vec<Entry>) -> Result<Vec<NewVersion>> + Send + 'static,
) -> Result<(DossierRow, Vec<Manifest>)> {
    let (mut tx, dossier) = lock_dossier(db, student).await?;
    let written = write_versions(archive, &dossier, make).await?;
    let last = written.last().ok_or_else(|| Failure::internal(anyhow::anyhow!("no version")))?;
    index_manifest(&mut tx, &dossier, student, last).await?;
    tx.commit().await?;
    Ok((DossierRow { versions: i64::from(last.version), ..dossier }, written))
}

/// Replaces the dossier's index rows with `manifest`'s entries.
async fn index_manifest(
    conn: &mut sqlx::AnyConnection,
    dossier: &DossierRow,
    student: &StudentRef,
    manifest: &Manifest,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM archive_entries WHERE dossier_id = $1").bind(dossier.id).execute(&mut *conn).await?;
    for (position, e) in manifest.entries.iter().enumerate() {
        sqlx::query(
            "INSERT INTO archive_entries (dossier_id, student_id, school_id, position, digest, kind, original_name,
                pages, media_type, size, added_by, added_at, added_on, supersedes)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(dossier.id)
        .bind(student.id)
        .bind(student.school_id)
        .bind(position as i64)
        .bind(e.digest.to_hex())
        .bind(e.kind.code())
        .bind(&e.original_name)
        .bind(i64::from(e.pages))
        .bind(&e.media_type)
        .bind(i64::try_from(e.size).unwrap_or(i64::MAX))
        .bind(&e.added_by)
        .bind(&e.added_at)
        .bind(e.added_at.get(..10).unwrap_or(""))
        .bind(e.supersedes.map(|d| d.to_hex()))
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query("UPDATE dossiers SET versions = $1, updated_at = $2 WHERE id = $3")
        .bind(i64::from(manifest.version))
        .bind(crate::db::now_text())
        .bind(dossier.id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// What an upload is.
#[derive(Debug, Clone)]
pub struct Upload {
    /// Kind of paper.
    pub kind: PaperKind,
    /// The file's name as uploaded (cleaned with [`clean_name`]).
    pub original_name: String,
    /// The earlier scan this one corrects.
    pub supersedes: Option<Digest>,
    /// Why (may be empty).
    pub note: String,
}

/// A stored upload.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Added {
    /// The new entry.
    pub entry: Entry,
    /// The dossier version that lists it.
    pub version: u32,
    /// Entries in that version.
    pub entries: usize,
    /// `false` when the same bytes were already stored (one object, another reference).
    pub new_object: bool,
}

/// Checks and stores a scan streamed from `reader`, then appends a dossier
/// version listing it. A refused file leaves nothing behind (no object, no
/// version, no dossier).
pub async fn add_file(
    db: &Db,
    archive: &Archive,
    student: &StudentRef,
    upload: Upload,
    reader: Box<dyn Read + Send>,
    actor: &Actor,
) -> Result<Added> {
    if let Some(old) = upload.supersedes {
        let known = match dossier_of(db, student.id).await? {
            Some(d) => history_has(archive, &d.archive_id, old).await?,
            None => false,
        };
        if !known {
            return Err(ArchiveError::SupersedesUnknown { digest: old }.into());
        }
    }
    let name = clean_name(&upload.original_name);
    let ingested = {
        let archive = archive.clone();
        let name = name.clone();
        let mut reader = reader;
        blocking(move || Ok(archive.ingest(&mut reader, &name)?)).await?
    };
    let file_type = ingested.inspection.file_type;
    let entry = Entry {
        digest: ingested.digest,
        kind: upload.kind,
        pages: ingested.inspection.pages,
        original_name: if name.is_empty() { format!("扫描件.{}", file_type.extension()) } else { name },
        media_type: file_type.media_type().to_owned(),
        size: ingested.size,
        added_by: actor.username.clone(),
        added_at: local_now(),
        supersedes: upload.supersedes,
    };
    let new_entry = entry.clone();
    let note = if upload.note.trim().is_empty() {
        match upload.supersedes {
            Some(_) => format!("更正：{}", upload.kind.label()),
            None => format!("添加：{}", upload.kind.label()),
        }
    } else {
        upload.note.trim().chars().take(500).collect()
    };
    let created_by = actor.username.clone();
    let (_, written) = append_versions(db, archive, student, move |mut entries| {
        if let Some(old) = new_entry.supersedes {
            entries.retain(|e| e.digest != old);
        }
        entries.push(new_entry);
        Ok(vec![NewVersion { created_at: local_now(), created_by, entries, note }])
    })
    .await?;
    let manifest = written.last().ok_or_else(|| Failure::internal(anyhow::anyhow!("no version")))?;
    if let Some(thumb) = &ingested.inspection.thumbnail {
        store_thumbnail(db, &entry.digest, thumb.media_type, thumb.width, thumb.height, &thumb.bytes).await?;
    }
    Ok(Added { entry, version: manifest.version, entries: manifest.entries.len(), new_object: ingested.created })
}

async fn store_thumbnail(
    db: &Db,
    digest: &Digest,
    media_type: &str,
    width: u32,
    height: u32,
    bytes: &[u8],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO archive_thumbnails (digest, media_type, width, height, bytes) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (digest) DO NOTHING",
    )
    .bind(digest.to_hex())
    .bind(media_type)
    .bind(i64::from(width))
    .bind(i64::from(height))
    .bind(bytes.to_vec())
    .execute(&db.pool)
    .await?;
    Ok(())
}

async fn history_has(archive: &Archive, archive_id: &str, digest: Digest) -> Result<bool> {
    let archive = archive.clone();
    let archive_id = archive_id.to_owned();
    blocking(move || Ok(archive.history(&archive_id)?.iter().any(|m| m.entries.iter().any(|e| e.digest == digest))))
        .await
}

/// One version's number, date, author, note and size, for the history list.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VersionSummary {
    /// Version number.
    pub version: u32,
    /// When.
    pub created_at: String,
    /// Who.
    pub created_by: String,
    /// Why.
    pub note: String,
    /// Entries listed.
    pub entries: usize,
}

/// An entry as shown: the manifest entry plus its kind's label.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EntryView {
    /// Digest (hex).
    pub digest: String,
    /// Kind code.
    pub kind: &'static str,
    /// Kind label.
    pub kind_label: &'static str,
    /// Pages.
    pub pages: u32,
    /// File name as uploaded.
    pub original_name: String,
    /// Media type.
    pub media_type: String,
    /// Bytes.
    pub size: u64,
    /// Who.
    pub added_by: String,
    /// When.
    pub added_at: String,
    /// What it corrects.
    pub supersedes: Option<String>,
    /// Whether a thumbnail can be shown.
    pub has_thumbnail: bool,
}

impl From<&Entry> for EntryView {
    fn from(e: &Entry) -> Self {
        Self {
            digest: e.digest.to_hex(),
            kind: e.kind.code(),
            kind_label: e.kind.label(),
            pages: e.pages,
            original_name: e.original_name.clone(),
            media_type: e.media_type.clone(),
            size: e.size,
            added_by: e.added_by.clone(),
            added_at: e.added_at.clone(),
            supersedes: e.supersedes.map(|d| d.to_hex()),
            has_thumbnail: e.media_type.starts_with("image/"),
        }
    }
}

/// A dossier as shown: one version's entries and the list of versions.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DossierView {
    /// The version shown (0: the dossier is empty).
    pub version: u32,
    /// The newest version.
    pub latest: u32,
    /// When the shown version was made.
    pub created_at: String,
    /// Who made it.
    pub created_by: String,
    /// Its note.
    pub note: String,
    /// Its entries.
    pub entries: Vec<EntryView>,
    /// Every version, newest first.
    pub versions: Vec<VersionSummary>,
}

/// The student's dossier at `version` (default: the newest).
pub async fn view(db: &Db, archive: &Archive, student: &StudentRef, version: Option<u32>) -> Result<DossierView> {
    let Some(dossier) = dossier_of(db, student.id).await? else {
        if version.is_some_and(|v| v > 0) {
            return Err(AppError::NotFound.into());
        }
        return Ok(DossierView {
            version: 0,
            latest: 0,
            created_at: String::new(),
            created_by: String::new(),
            note: String::new(),
            entries: Vec::new(),
            versions: Vec::new(),
        });
    };
    let archive = archive.clone();
    blocking(move || {
        let history = archive.history(&dossier.archive_id)?;
        let latest = history.last().map_or(0, |m| m.version);
        let shown = match version {
            None | Some(0) => history.last(),
            Some(v) => Some(history.iter().find(|m| m.version == v).ok_or(AppError::NotFound)?),
        };
        let versions = history
            .iter()
            .rev()
            .map(|m| VersionSummary {
                version: m.version,
                created_at: m.created_at.clone(),
                created_by: m.created_by.clone(),
                note: m.note.clone(),
                entries: m.entries.len(),
            })
            .collect();
        Ok(DossierView {
            version: shown.map_or(0, |m| m.version),
            latest,
            created_at: shown.map(|m| m.created_at.clone()).unwrap_or_default(),
            created_by: shown.map(|m| m.created_by.clone()).unwrap_or_default(),
            note: shown.map(|m| m.note.clone()).unwrap_or_default(),
            entries: shown.map(|m| m.entries.iter().map(EntryView::from).collect()).unwrap_or_default(),
            versions,
        })
    })
    .await
}

/// Every version of the student's dossier, oldest first (empty if none).
pub async fn history(db: &Db, archive: &Archive, student: &StudentRef) -> Result<Vec<Manifest>> {
    let Some(dossier) = dossier_of(db, student.id).await? else { return Ok(Vec::new()) };
    let archive = archive.clone();
    blocking(move || Ok(archive.history(&dossier.archive_id)?)).await
}

/// The entry for `digest` in the student's dossier: the newest version's
/// first, else any earlier version's. `None` if the dossier never held it:
/// an object is reachable only through a student's dossier.
pub async fn find_entry(db: &Db, archive: &Archive, student: &StudentRef, digest: &Digest) -> Result<Option<Entry>> {
    let Some(dossier) = dossier_of(db, student.id).await? else { return Ok(None) };
    let archive = archive.clone();
    let digest = *digest;
    blocking(move || {
        let history = archive.history(&dossier.archive_id)?;
        Ok(history.iter().rev().flat_map(|m| m.entries.iter()).find(|e| e.digest == digest).cloned())
    })
    .await
}

/// Opens a stored object for reading (after [`find_entry`] allowed it).
pub async fn open_object(archive: &Archive, digest: &Digest) -> Result<Box<dyn Read + Send>> {
    let archive = archive.clone();
    let digest = *digest;
    blocking(move || Ok(archive.open_object(&digest)?)).await
}

/// A JPEG preview of an image entry: stored at upload, or made now from the
/// object (imported scans) and kept. `None` for a PDF.
pub async fn thumbnail(db: &Db, archive: &Archive, entry: &Entry) -> Result<Option<(String, Vec<u8>)>> {
    let row = sqlx::query("SELECT media_type, bytes FROM archive_thumbnails WHERE digest = $1")
        .bind(entry.digest.to_hex())
        .fetch_optional(&db.pool)
        .await?;
    if let Some(row) = row {
        return Ok(Some((row.try_get("media_type")?, row.try_get("bytes")?)));
    }
    if !entry.media_type.starts_with("image/") {
        return Ok(None);
    }
    let archive2 = archive.clone();
    let digest = entry.digest;
    let made = blocking(move || {
        let path = archive2.store().object_path(&digest);
        Ok(xueji_archive::inspect(&path, "", &archive2.config().inspect)?.thumbnail)
    })
    .await?;
    let Some(t) = made else { return Ok(None) };
    store_thumbnail(db, &entry.digest, t.media_type, t.width, t.height, &t.bytes).await?;
    Ok(Some((t.media_type.to_owned(), t.bytes)))
}

/// A search of the index. Every field is optional; names are matched by
/// substring, student numbers by prefix, dates on the day a scan was added.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub struct SearchQuery {
    /// Student number (prefix).
    #[serde(default)]
    pub student_no: Option<String>,
    /// Name (substring).
    #[serde(default)]
    pub name: Option<String>,
    /// School code.
    #[serde(default)]
    pub school: Option<String>,
    /// Kind of paper (code or label).
    #[serde(default)]
    pub kind: Option<String>,
    /// Added on or after (YYYY-MM-DD).
    #[serde(default)]
    pub from: Option<String>,
    /// Added on or before (YYYY-MM-DD).
    #[serde(default)]
    pub to: Option<String>,
    /// Page, from 1.
    #[serde(default)]
    pub page: Option<i64>,
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl SearchQuery {
    /// Which criteria are used (names of fields, never their values).
    pub fn criteria(&self) -> String {
        let mut out = Vec::new();
        for (name, v) in [
            ("student_no", &self.student_no),
            ("name", &self.name),
            ("school", &self.school),
            ("kind", &self.kind),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if given(v).is_some() {
                out.push(name);
            }
        }
        if out.is_empty() { "-".to_owned() } else { out.join(",") }
    }
}

/// One search result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Hit {
    /// The student's public id (links).
    pub public_id: String,
    /// 学籍号.
    pub student_no: String,
    /// 姓名.
    pub name: String,
    /// School name.
    pub school_name: String,
    /// The entry.
    #[serde(flatten)]
    pub entry: EntryView,
    /// Day added.
    pub added_on: String,
}

/// A page of search results.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SearchResult {
    /// Results on this page.
    pub hits: Vec<Hit>,
    /// Matches in all.
    pub total: i64,
    /// This page.
    pub page: i64,
    /// Pages in all.
    pub pages: i64,
}

enum Param {
    Int(i64),
    Text(String),
}

fn mark(params: &mut Vec<Param>, p: Param) -> String {
    params.push(p);
    format!("${}", params.len())
}

fn parse_date(field: &str, v: &str) -> Result<String> {
    chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .map(|d| d.to_string())
        .map_err(|_| Failure::bad("archive.search_date", format!("{field}应为 YYYY-MM-DD 格式的日期")))
}

/// Searches the index within `scope` (`None`: every school). A school
/// outside the scope is answered as not found.
pub async fn search(db: &Db, scope: Option<&[i64]>, q: &SearchQuery) -> Result<SearchResult> {
    let mut params = Vec::new();
    let mut clauses = Vec::new();
    if let Some(ids) = scope {
        if ids.is_empty() {
            return Ok(SearchResult { hits: Vec::new(), total: 0, page: 1, pages: 0 });
        }
        let marks: Vec<String> = ids.iter().map(|id| mark(&mut params, Param::Int(*id))).collect();
        clauses.push(format!("s.school_id IN ({})", marks.join(", ")));
    }
    if let Some(code) = given(&q.school) {
        let school = crate::db::schools::by_code(&db.pool, code).await?.ok_or(AppError::NotFound)?;
        if scope.is_some_and(|ids| !ids.contains(&school.id)) {
            return Err(AppError::NotFound.into());
        }
        clauses.push(format!("s.school_id = {}", mark(&mut params, Param::Int(school.id))));
    }
    if let Some(kind) = given(&q.kind) {
        let kind = PaperKind::from_str(kind)?;
        clauses.push(format!("e.kind = {}", mark(&mut params, Param::Text(kind.code().to_owned()))));
    }
    let escape = |v: &str| v.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    if let Some(no) = given(&q.student_no) {
        let m = mark(&mut params, Param::Text(format!("{}%", escape(&no.to_ascii_uppercase()))));
        clauses.push(format!("s.student_no LIKE {m} ESCAPE '\\'"));
    }
    if let Some(name) = given(&q.name) {
        let m = mark(&mut params, Param::Text(format!("%{}%", escape(name))));
        clauses.push(format!("s.name LIKE {m} ESCAPE '\\'"));
    }
    if let Some(from) = given(&q.from) {
        let m = mark(&mut params, Param::Text(parse_date("起始日期", from)?));
        clauses.push(format!("e.added_on >= {m}"));
    }
    if let Some(to) = given(&q.to) {
        let m = mark(&mut params, Param::Text(parse_date("截止日期", to)?));
        clauses.push(format!("e.added_on <= {m}"));
    }
    let where_ = if clauses.is_empty() { String::new() } else { format!("WHERE {}", clauses.join(" AND ")) };
    let from = "FROM archive_entries e JOIN students s ON s.id = e.student_id JOIN schools sc ON sc.id = s.school_id";
    let count_sql = format!("SELECT COUNT(*) {from} {where_}");
    let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
    for p in &params {
        count = match p {
            Param::Int(v) => count.bind(*v),
            Param::Text(v) => count.bind(v.as_str()),
        };
    }
    let total = count.fetch_one(&db.pool).await?;
    let page = q.page.unwrap_or(1).max(1);
    let sql = format!(
        "SELECT s.public_id, s.student_no, s.name, sc.name AS school_name, e.digest, e.kind, e.original_name,
                e.pages, e.media_type, e.size, e.added_by, e.added_at, e.added_on, e.supersedes
         {from} {where_} ORDER BY e.added_at DESC, e.id DESC LIMIT {SEARCH_PAGE_SIZE} OFFSET {}",
        (page - 1) * SEARCH_PAGE_SIZE
    );
    let mut query = sqlx::query(&sql);
    for p in &params {
        query = match p {
            Param::Int(v) => query.bind(*v),
            Param::Text(v) => query.bind(v.as_str()),
        };
    }
    let rows = query.fetch_all(&db.pool).await?;
    let mut hits = Vec::with_capacity(rows.len());
    for r in &rows {
        let kind = PaperKind::from_str(&r.try_get::<String, _>("kind")?).unwrap_or(PaperKind::Other);
        let media_type: String = r.try_get("media_type")?;
        hits.push(Hit {
            public_id: r.try_get("public_id")?,
            student_no: r.try_get("student_no")?,
            name: r.try_get("name")?,
            school_name: r.try_get("school_name")?,
            added_on: r.try_get("added_on")?,
            entry: EntryView {
                digest: r.try_get("digest")?,
                kind: kind.code(),
                kind_label: kind.label(),
                pages: u32::try_from(r.try_get::<i64, _>("pages")?).unwrap_or(0),
                original_name: r.try_get("original_name")?,
                has_thumbnail: media_type.starts_with("image/"),
                media_type,
                size: u64::try_from(r.try_get::<i64, _>("size")?).unwrap_or(0),
                added_by: r.try_get("added_by")?,
                added_at: r.try_get("added_at")?,
                supersedes: r.try_get("supersedes")?,
            },
        });
    }
    Ok(SearchResult { hits, total, page, pages: (total + SEARCH_PAGE_SIZE - 1) / SEARCH_PAGE_SIZE })
}

/// Rebuilds the index of one dossier from its newest manifest.
async fn reindex_dossier(db: &Db, archive: &Archive, student: &StudentRef) -> Result<bool> {
    let (mut tx, dossier) = lock_dossier(db, student).await?;
    let archive = archive.clone();
    let archive_id = dossier.archive_id.clone();
    let latest = blocking(move || Ok(archive.latest(&archive_id)?)).await?;
    let Some(manifest) = latest else { return Ok(false) };
    index_manifest(&mut tx, &dossier, student, &manifest).await?;
    tx.commit().await?;
    Ok(true)
}

/// What [`reindex_all`] did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ReindexReport {
    /// Dossiers indexed.
    pub dossiers: usize,
    /// Entries indexed.
    pub entries: i64,
}

/// Rebuilds the whole index from the manifests.
pub async fn reindex_all(db: &Db, archive: &Archive) -> Result<ReindexReport> {
    let rows = sqlx::query(
        "SELECT s.id, s.public_id, s.school_id FROM dossiers d JOIN students s ON s.id = d.student_id ORDER BY d.id",
    )
    .fetch_all(&db.pool)
    .await?;
    let mut report = ReindexReport::default();
    for row in &rows {
        if reindex_dossier(db, archive, &student_ref(row)?).await? {
            report.dossiers += 1;
        }
    }
    report.entries = sqlx::query_scalar("SELECT COUNT(*) FROM archive_entries").fetch_one(&db.pool).await?;
    Ok(report)
}

/// A missing object, for the report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MissingItem {
    /// The digest.
    pub digest: String,
    /// Where it should be (relative to the archive root).
    pub path: String,
    /// Manifests naming it (relative).
    pub referenced_by: Vec<String>,
}

/// A fixity run as kept and shown. Paths are relative to the archive root.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FixitySummary {
    /// `schedule`, `cli`, or a user name.
    pub started_by: String,
    /// When it started (RFC 3339 UTC).
    pub started_at: String,
    /// When it ended.
    pub finished_at: String,
    /// Objects re-hashed.
    pub objects_checked: u64,
    /// Bytes re-hashed.
    pub bytes_hashed: u64,
    /// Manifests read.
    pub manifests_checked: u64,
    /// Objects whose bytes changed: path, then the digest found.
    pub changed: Vec<(String, String)>,
    /// Objects referenced but absent.
    pub missing: Vec<MissingItem>,
    /// Files that do not belong.
    pub stray: Vec<String>,
    /// Temp files left by a crash (older than an hour).
    pub stale_temps: Vec<String>,
    /// Writes in progress while checking (not a problem).
    pub temps_in_progress: usize,
    /// Objects or manifests that could not be read: path and reason.
    pub unreadable: Vec<(String, String)>,
    /// Dossiers whose index is older than their newest manifest (run
    /// `xueji archive reindex`; not a loss).
    pub index_behind: Vec<String>,
    /// Dossiers whose index names versions the archive lacks (a loss).
    pub index_ahead: Vec<String>,
    /// Dossiers in the archive that no student owns here.
    pub unowned_dossiers: Vec<String>,
    /// Whether nothing is wrong.
    pub clean: bool,
    /// Seconds taken.
    pub seconds: f64,
    /// Hashing throughput, bytes per second.
    pub bytes_per_second: f64,
}

impl FixitySummary {
    fn from_report(root: &Path, r: &FixityReport) -> Self {
        let rel = |p: &Path| p.strip_prefix(root).unwrap_or(p).display().to_string();
        Self {
            objects_checked: r.objects_checked,
            bytes_hashed: r.bytes_hashed,
            manifests_checked: r.manifests_checked,
            changed: r.changed.iter().map(|c| (rel(&c.path), c.actual.to_hex())).collect(),
            missing: r
                .missing
                .iter()
                .map(|m| MissingItem {
                    digest: m.digest.to_hex(),
                    path: rel(&m.path),
                    referenced_by: m.referenced_by.iter().map(|p| rel(p)).collect(),
                })
                .collect(),
            stray: r.stray.iter().map(|p| rel(p)).collect(),
            stale_temps: r.stale_temps.iter().map(|p| rel(p)).collect(),
            temps_in_progress: r.temps_in_progress.len(),
            unreadable: r
                .unreadable_objects
                .iter()
                .chain(&r.unreadable_manifests)
                .map(|u| (rel(&u.path), u.reason.clone()))
                .collect(),
            seconds: r.elapsed.as_secs_f64(),
            bytes_per_second: r.bytes_per_second(),
            ..Self::default()
        }
    }

    /// Problems found (index lag is not one).
    pub fn problems(&self) -> usize {
        self.changed.len()
            + self.missing.len()
            + self.stray.len()
            + self.stale_temps.len()
            + self.unreadable.len()
            + self.index_ahead.len()
    }
}

/// Archive roots with a fixity run in progress in this process.
static RUNNING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

struct RunGuard(PathBuf);

impl Drop for RunGuard {
    fn drop(&mut self) {
        let mut running = RUNNING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        running.retain(|p| p != &self.0);
    }
}

/// Whether a fixity run over this archive is in progress in this process.
pub fn fixity_running(archive: &Archive) -> bool {
    RUNNING.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter().any(|p| p == archive.root())
}

/// Runs the fixity check over the whole archive, compares the index with
/// the manifests, and keeps the result in `fixity_runs`. Refuses (409) while
/// another run over the same archive is in progress in this process.
pub async fn run_fixity(
    db: &Db,
    archive: &Archive,
    started_by: &str,
    progress: Arc<dyn Fn(&VerifyProgress) + Send + Sync>,
) -> Result<FixitySummary> {
    let _guard = {
        let mut running = RUNNING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if running.iter().any(|p| p == archive.root()) {
            return Err(AppError::conflict("archive.fixity_running", "完整性检查正在进行，请稍后查看结果").into());
        }
        running.push(archive.root().to_path_buf());
        RunGuard(archive.root().to_path_buf())
    };
    let started_at = crate::db::now_text();
    let dossiers: Vec<(String, i64)> = sqlx::query("SELECT archive_id, versions FROM dossiers")
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("archive_id")?, r.try_get("versions")?)))
        .collect::<Result<_, sqlx::Error>>()?;
    let archive2 = archive.clone();
    let (mut summary, latest) = blocking(move || {
        let report = archive2.verify(&|p| progress(p))?;
        let summary = FixitySummary::from_report(archive2.root(), &report);
        let mut latest: HashMap<String, u32> = HashMap::new();
        for id in archive2.manifests().dossier_ids()? {
            let v = archive2.manifests().versions(&id)?.last().copied().unwrap_or(0);
            latest.insert(id, v);
        }
        Ok((summary, latest))
    })
    .await?;
    let owned: HashSet<&str> = dossiers.iter().map(|(id, _)| id.as_str()).collect();
    for (id, indexed) in &dossiers {
        let have = i64::from(latest.get(id).copied().unwrap_or(0));
        if have > *indexed {
            summary.index_behind.push(id.clone());
        } else if have < *indexed {
            summary.index_ahead.push(id.clone());
        }
    }
    summary.unowned_dossiers =
        latest.keys().filter(|id| !owned.contains(id.as_str())).cloned().collect::<BTreeSet<_>>().into_iter().collect();
    summary.index_behind.sort();
    summary.index_ahead.sort();
    summary.clean = summary.problems() == 0;
    summary.started_by = started_by.to_owned();
    summary.started_at = started_at;
    summary.finished_at = crate::db::now_text();
    let findings = serde_json::to_string(&summary).map_err(Failure::internal)?;
    sqlx::query(
        "INSERT INTO fixity_runs (started_by, started_at, finished_at, objects_checked, bytes_hashed,
            manifests_checked, changed, missing, stray, stale_temps, unreadable, index_behind, clean, findings)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(&summary.started_by)
    .bind(&summary.started_at)
    .bind(&summary.finished_at)
    .bind(i64::try_from(summary.objects_checked).unwrap_or(i64::MAX))
    .bind(i64::try_from(summary.bytes_hashed).unwrap_or(i64::MAX))
    .bind(i64::try_from(summary.manifests_checked).unwrap_or(i64::MAX))
    .bind(summary.changed.len() as i64)
    .bind(summary.missing.len() as i64)
    .bind(summary.stray.len() as i64)
    .bind(summary.stale_temps.len() as i64)
    .bind(summary.unreadable.len() as i64)
    .bind(summary.index_behind.len() as i64)
    .bind(crate::db::flag(summary.clean))
    .bind(findings)
    .execute(&db.pool)
    .await?;
    Ok(summary)
}

/// The newest fixity run's result.
pub async fn last_fixity(db: &Db) -> Result<Option<FixitySummary>> {
    let findings: Option<String> = sqlx::query_scalar("SELECT findings FROM fixity_runs ORDER BY id DESC LIMIT 1")
        .fetch_optional(&db.pool)
        .await?;
    findings.map(|f| serde_json::from_str(&f).map_err(Failure::internal)).transpose()
}

/// Runs the fixity check every `XUEJI_FIXITY_HOURS` hours (default 24; `0`
/// turns it off), the first `XUEJI_FIXITY_DELAY_MINUTES` (default 10) after
/// start-up. Logs counts only.
pub async fn fixity_schedule(app: Arc<App>) {
    let hours = env_u64("XUEJI_FIXITY_HOURS", 24).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "fixity schedule: using 24 hours");
        24
    });
    if hours == 0 {
        tracing::info!("fixity schedule off (XUEJI_FIXITY_HOURS=0)");
        return;
    }
    let delay = env_u64("XUEJI_FIXITY_DELAY_MINUTES", 10).unwrap_or(10);
    tokio::time::sleep(std::time::Duration::from_secs(delay * 60)).await;
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(hours.saturating_mul(3600)));
    loop {
        tick.tick().await;
        match run_fixity(&app.db, &app.archive, "schedule", Arc::new(|_| {})).await {
            Ok(s) => tracing::info!(
                objects = s.objects_checked,
                bytes = s.bytes_hashed,
                problems = s.problems(),
                index_behind = s.index_behind.len(),
                "fixity check done"
            ),
            Err(e) => {
                e.log();
                tracing::warn!(code = e.code(), "fixity check failed");
            }
        }
    }
}

/// The service key for signing packages: the key store's active key (its
/// kid is the bag's key id), loaded with the key store's own checks.
fn bag_signing_key(keys: &KeyStore) -> Result<(String, SigningKey)> {
    let signer = keys.active_signer().map_err(|e| Failure::bad("archive.no_key", e.to_string()))?;
    Ok((signer.kid().to_string(), signer.signing_key().clone()))
}

/// The keys a package may be signed with: this service's (not compromised)
/// and those of the key sets in `{data}/trusted-keys/`.
pub fn trusted_keys(keys: &KeyStore, data_dir: &Path) -> Result<HashMap<String, VerifyingKey>> {
    let mut out = HashMap::new();
    for info in keys.list() {
        if info.status != KeyStatus::Compromised {
            out.insert(info.kid.to_string(), info.public_key);
        }
    }
    let dir = data_dir.join(TRUSTED_KEYS_DIR);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Failure::internal(anyhow::Error::new(e).context(format!("无法读取 {}", dir.display())))),
    };
    for entry in entries {
        let path = entry.map_err(Failure::internal)?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let text = std::fs::read(&path).with_context(|| format!("无法读取 {}", path.display()))?;
        let set: serde_json::Value =
            serde_json::from_slice(&text).with_context(|| format!("{} 不是有效的密钥集", path.display()))?;
        for key in set["keys"].as_array().into_iter().flatten() {
            let (Some(kid), Some(public), status) =
                (key["kid"].as_str(), key["public_key"].as_str(), key["status"].as_str().unwrap_or(""))
            else {
                continue;
            };
            use base64::Engine;
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(public).ok();
            let vk = bytes
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .and_then(|b| VerifyingKey::from_bytes(&b).ok())
                .filter(|vk| Kid::of(vk).to_string() == kid);
            match vk {
                Some(vk) if status != "compromised" && key["algorithm"].as_str() == Some("Ed25519") => {
                    out.entry(kid.to_owned()).or_insert(vk);
                }
                _ => tracing::warn!(file = %path.display(), "trusted key set: a key was skipped"),
            }
        }
    }
    Ok(out)
}

/// The record sent with a package (`data/record.json`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Record {
    /// `xueji-record/1`.
    pub format: String,
    /// When exported.
    pub exported_at: String,
    /// The student's record, as `students::by_public_id` gives it.
    pub student: serde_json::Value,
    /// Its status history.
    #[serde(default)]
    pub history: serde_json::Value,
}

/// The record format tag.
pub const RECORD_FORMAT: &str = "xueji-record/1";

/// Writes the student's dossier, every version, with the record, as a
/// signed BagIt zip to `out`.
pub async fn export(
    db: &Db,
    archive: &Archive,
    keys: &KeyStore,
    student: &StudentRef,
    bagging_date: chrono::NaiveDate,
    out: std::fs::File,
) -> Result<ExportSummary> {
    let dossier = dossier_of(db, student.id).await?;
    let Some(dossier) = dossier.filter(|d| d.versions > 0) else {
        return Err(Failure::bad("archive.dossier_empty", "该学生的纸质档案还没有任何材料，无法导出"));
    };
    let mut conn = db.pool.acquire().await?;
    let record = students::by_public_id(&mut conn, &student.public_id).await?.ok_or(AppError::NotFound)?;
    let events = students::events_of(&mut *conn, record.id).await?;
    drop(conn);
    let record = Record {
        format: RECORD_FORMAT.to_owned(),
        exported_at: local_now(),
        student: serde_json::to_value(&record).map_err(Failure::internal)?,
        history: serde_json::to_value(&events).map_err(Failure::internal)?,
    };
    let record_json = serde_json::to_vec_pretty(&record).map_err(Failure::internal)?;
    let (kid, key) = bag_signing_key(keys)?;
    let archive = archive.clone();
    let org = organization();
    blocking(move || {
        let date = bagging_date.to_string();
        let options = ExportOptions { source_organization: &org, bagging_date: &date, key_id: &kid, signing_key: &key };
        let mut out = out;
        let summary = archive.export_bag(&dossier.archive_id, &record_json, &options, &mut out)?;
        out.sync_all().map_err(Failure::internal)?;
        Ok(summary)
    })
    .await
}

/// What an import did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Imported {
    /// The receiving student's public id.
    pub public_id: String,
    /// The sender (`Source-Organization`).
    pub source_organization: String,
    /// Versions received.
    pub versions_received: usize,
    /// Local versions written.
    pub first_version: u32,
    /// The newest local version.
    pub last_version: u32,
    /// Objects in the package.
    pub objects: usize,
    /// Of which new here.
    pub objects_created: usize,
}

/// Reads the unverified student number from a package, to find the local
/// student before anything is stored.
pub fn peek_student_no(file: &mut std::fs::File) -> Result<String> {
    let refuse =
        || Failure::Archive(ArchiveError::BagInvalid { detail: "data/record.json 缺失或格式不正确".into() });
    let mut zip = zip::ZipArchive::new(&mut *file).map_err(|e| ArchiveError::BagZip { detail: e.to_string() })?;
    let entry = zip.by_name("data/record.json").map_err(|_| refuse())?;
    let mut bytes = Vec::new();
    // A record is a few KiB: read at most 1 MiB of it, so a bomb here inflates nothing.
    entry.take(1024 * 1024 + 1).read_to_end(&mut bytes).map_err(|_| refuse())?;
    if bytes.len() > 1024 * 1024 {
        return Err(refuse());
    }
    drop(zip);
    file.rewind().map_err(Failure::internal)?;
    student_no_of(&bytes).ok_or_else(refuse)
}

fn student_no_of(record_json: &[u8]) -> Option<String> {
    let record: Record = serde_json::from_slice(record_json).ok()?;
    if record.format != RECORD_FORMAT {
        return None;
    }
    record.student["student_no"].as_str().map(|s| s.trim().to_ascii_uppercase()).filter(|s| !s.is_empty())
}

fn no_such_student() -> Failure {
    Failure::App(AppError::bad_request(
        "archive.import_no_student",
        "传输包中的学生在本系统中没有学籍：请先为该生办理转入、建立学籍，再导入纸质档案",
    ))
}

/// Verifies a package (every hash, the signature, the limits: all or
/// nothing) and files its versions under the dossier of the local student
/// with the same student number, in order; if that dossier already had
/// scans, a last version lists them together with the received ones.
pub async fn import(
    db: &Db,
    archive: &Archive,
    keys: &HashMap<String, VerifyingKey>,
    file: std::fs::File,
    actor: &Actor,
) -> Result<Imported> {
    let (mut file, student_no) = blocking(move || {
        let mut file = file;
        let no = peek_student_no(&mut file)?;
        Ok((file, no))
    })
    .await?;
    let student = student_by_no(db, &student_no).await?.ok_or_else(no_such_student)?;
    let keys = keys.clone();
    let archive2 = archive.clone();
    let bag = blocking(move || {
        file.rewind().map_err(Failure::internal)?;
        Ok(archive2.import_bag(file, &|id| keys.get(id).copied())?)
    })
    .await?;
    if student_no_of(&bag.record_json).as_deref() != Some(student_no.as_str()) {
        return Err(ArchiveError::BagInvalid { detail: "data/record.json 前后读取不一致".into() }.into());
    }
    let org = bag
        .bag_info
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Source-Organization"))
        .map_or_else(String::new, |(_, v)| v.clone());
    let source_versions = bag.manifests.last().map_or(0, |m| m.version);
    let (mut tx, dossier) = lock_dossier(db, &student).await?;
    let seen: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM archive_imports WHERE dossier_id = $1 AND source_organization = $2
         AND source_dossier = $3 AND source_versions = $4",
    )
    .bind(dossier.id)
    .bind(&org)
    .bind(&bag.dossier_id)
    .bind(i64::from(source_versions))
    .fetch_one(&mut *tx)
    .await?;
    if seen > 0 {
        return Err(AppError::conflict("archive.import_duplicate", "该传输包已经导入过，未重复导入").into());
    }
    let received = bag.manifests.clone();
    let org2 = org.clone();
    let merged_by = actor.username.clone();
    let written = write_versions(archive, &dossier, move |local| {
        let mut out: Vec<NewVersion> = received
            .iter()
            .map(|m| NewVersion {
                created_at: m.created_at.clone(),
                created_by: m.created_by.clone(),
                entries: m.entries.clone(),
                note: if m.note.is_empty() {
                    format!("转入：{org2}档案第 {} 版", m.version)
                } else {
                    format!("转入：{org2}档案第 {} 版（{}）", m.version, m.note)
                },
            })
            .collect();
        let newest: HashSet<Digest> =
            received.last().map(|m| m.entries.iter().map(|e| e.digest).collect()).unwrap_or_default();
        let local_only: Vec<Entry> = local.into_iter().filter(|e| !newest.contains(&e.digest)).collect();
        if !local_only.is_empty() {
            let mut entries = received.last().map(|m| m.entries.clone()).unwrap_or_default();
            entries.extend(local_only);
            out.push(NewVersion {
                created_at: local_now(),
                created_by: merged_by,
                entries,
                note: "合并转入前已有的本地材料".into(),
            });
        }
        Ok(out)
    })
    .await?;
    let (Some(first), Some(last)) = (written.first(), written.last()) else {
        return Err(ArchiveError::BagInvalid { detail: "没有任何档案版本".into() }.into());
    };
    index_manifest(&mut tx, &dossier, &student, last).await?;
    sqlx::query(
        "INSERT INTO archive_imports (dossier_id, source_organization, source_dossier, source_versions, key_id,
            first_version, last_version, objects, imported_by, imported_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(dossier.id)
    .bind(&org)
    .bind(&bag.dossier_id)
    .bind(i64::from(source_versions))
    .bind(&bag.key_id)
    .bind(i64::from(first.version))
    .bind(i64::from(last.version))
    .bind(bag.objects.len() as i64)
    .bind(&actor.username)
    .bind(crate::db::now_text())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Imported {
        public_id: student.public_id,
        source_organization: org,
        versions_received: bag.manifests.len(),
        first_version: first.version,
        last_version: last.version,
        objects: bag.objects.len(),
        objects_created: bag.objects_created,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cleaned() {
        assert_eq!(clean_name("C:\\扫描\\户口簿.jpg"), "户口簿.jpg");
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name(" a\u{0}b\n.png "), "ab.png");
        assert_eq!(clean_name(&"字".repeat(300)).chars().count(), 200);
        assert_eq!(clean_name(""), "");
    }

    #[test]
    fn refusals_map_to_statuses() {
        assert_eq!(archive_status(&ArchiveError::TooLarge { limit: 1 }), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(archive_status(&ArchiveError::TypeUnsupported), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(archive_status(&ArchiveError::BagSignatureInvalid), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(archive_status(&ArchiveError::BagTooLarge { limit: 1 }), StatusCode::UNPROCESSABLE_ENTITY);
        let io = ArchiveError::Io { op: "保存对象", path: "/x".into(), source: std::io::Error::other("disk") };
        let f = Failure::from(io);
        assert_eq!(f.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(f.code(), "internal");
        assert!(!f.message().contains("/x"));
    }

    #[test]
    fn panics_are_500_with_their_own_code_and_a_chinese_message() {
        let f = Failure::from(ArchiveError::Panicked { stage: "图像解码", detail: "index out of bounds".into() });
        assert_eq!(f.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(f.code(), "archive.inspect_panicked");
        assert!(f.message().contains("图像解码"), "{}", f.message());
        assert!(!f.message().contains("index"), "the panic message is for the log: {}", f.message());
        assert!(!f.is_refusal());
        assert_eq!(archive_status(&ArchiveError::PdfTooDeep { limit: 64 }), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(Failure::from(ArchiveError::PdfTooDeep { limit: 64 }).code(), "archive.pdf_too_deep");
    }

    #[tokio::test]
    async fn a_panic_in_blocking_work_is_a_500_with_a_code() {
        let f = blocking::<()>(|| panic!("boom\nsecond line")).await.expect_err("panicked");
        assert_eq!(f.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(f.code(), "internal.panicked");
        assert!(!f.message().contains("boom"));
        assert!(matches!(&f, Failure::TaskPanicked { detail } if detail == "boomsecond line"), "{f:?}");
        let f = blocking::<()>(|| std::panic::panic_any(7_u8)).await.expect_err("panicked");
        assert!(matches!(&f, Failure::TaskPanicked { detail } if detail == "(no message)"), "{f:?}");
        assert_eq!(blocking(|| Ok(3)).await.expect("ok"), 3);
    }

    #[test]
    fn record_student_no() {
        let json = serde_json::json!({"format": RECORD_FORMAT, "exported_at": "x", "student": {"student_no": " g1 "}});
        assert_eq!(student_no_of(json.to_string().as_bytes()).as_deref(), Some("G1"));
        assert_eq!(student_no_of(b"{}"), None);
    }
}
