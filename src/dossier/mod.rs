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
//!   filed under the local student with the same student number. An import
//!   is journaled in the database once its objects are stored and before any
//!   version is written; a journaled import left by a crash is finished at
//!   the next start ([`finish_pending_imports`]), and filing the same package
//!   again writes nothing;
//! - what crashed writes leave (temp files, and objects no version names) is
//!   reported by the fixity check and removed by [`sweep`].
//!
//! The parts: `files` (putting, listing and getting a student's scans),
//! `index` (appending versions under the lock, the search index and its
//! rebuild), `search`, `fixity` (checks and their schedule), `sweep` and
//! `transfer` (export and import of transfer packages), `preview` (a page's
//! small JPEG, kept as a derived file), `inventory` (each
//! dossier's inventory and the README in the kept archive). The settings (scan and package
//! size limits, the fixity schedule, the organization named in packages) are
//! read by [`crate::config`].
//!
//! Packages signed by another service are accepted when its published key
//! set (`xueji-keys/1`, as in `keys.json`) is copied into
//! `{data}/trusted-keys/*.json`.
//!
//! No personal data goes into logs or error messages: messages name paper
//! kinds, digests and counts, never a student.

mod files;
mod fixity;
mod index;
/// The kept archive's inventories and README.
pub mod inventory;
/// Intake papers kept outside any dossier.
pub mod papers;
mod preview;
mod search;
mod sweep;
mod transfer;

pub use crate::db::dossier::DossierRow;
pub use files::{
    Added, DossierView, EntryView, TextView, Upload, VersionSummary, add_file, clean_name, find_entry, history,
    open_object, thumbnail, view,
};
pub use fixity::{FixitySummary, MissingItem, fixity_running, fixity_schedule, last_fixity, run_fixity};
pub use index::{ReindexReport, reindex_all};
pub use preview::{PREVIEW_SIZE, page_preview};
pub use search::{Hit, SEARCH_PAGE_SIZE, SearchQuery, SearchResult, search};
pub use sweep::{SWEEP_AFTER, SweepSummary, sweep, sweep_schedule};
pub use transfer::{
    Imported, RECORD_FORMAT, Record, Recovered, TRUSTED_KEYS_DIR, export, finish_pending_imports, import,
    peek_student_no, trusted_keys,
};

use crate::config::Config;
use crate::db::{self, Db};
use crate::error::AppError;
use xueji_archive::{ArchiveConfig, ArchiveError};

/// The archive's limits: the crate's defaults, with the upload and package
/// sizes from the settings (`XUEJI_ARCHIVE_MAX_MB`, `XUEJI_ARCHIVE_IMPORT_MAX_MB`).
pub fn archive_config(config: &Config) -> ArchiveConfig {
    let mut archive = ArchiveConfig::default();
    archive.inspect.max_size = config.archive_max_mb.saturating_mul(1024 * 1024);
    archive.import.max_unpacked_bytes = config.archive_import_max_mb.saturating_mul(1024 * 1024);
    archive
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

    /// Whether this is a fault on our side (answered 500 with a generic
    /// message), not a refusal of what was sent.
    pub fn is_fault(&self) -> bool {
        match self {
            Self::App(e) => e.is_internal(),
            Self::Archive(e) => refusal(e).is_none(),
            Self::TaskPanicked { .. } => true,
        }
    }

    /// The stable machine code (`archive.type_unsupported`, `not_found`, …).
    pub fn code(&self) -> &'static str {
        match self {
            Self::App(e) => e.code(),
            Self::TaskPanicked { .. } => "internal.panicked",
            Self::Archive(e @ (ArchiveError::Panicked { .. } | ArchiveError::ObjectCorrupt { .. })) => e.code(),
            Self::Archive(e) if refusal(e).is_none() => "internal",
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
            Self::Archive(_) if self.is_fault() => AppError::Internal(anyhow::anyhow!("archive")).to_string(),
            Self::Archive(ArchiveError::Io { op: "读取上传内容", .. }) => {
                "上传未完成：连接中断，请重新上传".to_owned()
            }
            // The store's own error (its address, its words) is for the log.
            Self::Archive(ArchiveError::Store { .. }) => {
                "档案对象存储暂时无法访问，本次操作未保存任何内容，请稍后重试；如持续出现请联系管理员".to_owned()
            }
            Self::Archive(e) => e.to_string(),
        }
    }

    /// Whether the file or package was refused (as opposed to a fault).
    pub fn is_refusal(&self) -> bool {
        !self.is_fault()
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
            Self::Archive(e @ ArchiveError::StorageFull { op, .. }) => {
                tracing::error!(code = e.code(), op = *op, "archive storage is full; nothing was stored");
            }
            Self::Archive(e @ ArchiveError::Store { op, key, detail, .. }) => {
                tracing::error!(code = e.code(), op = *op, key = %key, detail = %detail, "object store failed");
            }
            Self::Archive(e) if self.is_fault() => {
                tracing::error!(code = e.code(), error = %e, "archive fault");
            }
            Self::Archive(_) => {}
        }
    }
}

/// What kind of refusal an archive error is; `None` for a fault on our side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The file is over the size limit.
    TooLarge,
    /// The upload broke off before its end.
    Interrupted,
    /// It contradicts what the dossier already records.
    Conflict,
    /// Not a kind of file the archive keeps (JPEG, PNG, TIFF, PDF).
    WrongType,
    /// The object the dossier lists is no longer stored.
    Gone,
    /// The disk or the quota is full: the file could not be kept (not the
    /// sender's fault; logged as an error for the administrator).
    StorageFull,
    /// The object store (S3) did not answer or refused the service's keys:
    /// nothing was kept; try again later (logged as an error for the
    /// administrator).
    StoreUnavailable,
    /// The file or package itself is refused: empty, of a type not kept,
    /// corrupt, too large an image or too deep a PDF, a bad package.
    Unprocessable,
}

/// The refusal an archive error is, or `None` if it is a fault on our side.
pub fn refusal(e: &ArchiveError) -> Option<Refusal> {
    match e {
        ArchiveError::TooLarge { .. } => Some(Refusal::TooLarge),
        ArchiveError::StorageFull { .. } => Some(Refusal::StorageFull),
        ArchiveError::Store { .. } => Some(Refusal::StoreUnavailable),
        ArchiveError::Io { op: "读取上传内容", .. } => Some(Refusal::Interrupted),
        ArchiveError::ManifestConflict { .. } => Some(Refusal::Conflict),
        ArchiveError::TypeUnsupported => Some(Refusal::WrongType),
        ArchiveError::ObjectNotFound { .. } => Some(Refusal::Gone),
        ArchiveError::Empty
        | ArchiveError::ExtensionMismatch { .. }
        | ArchiveError::Corrupt { .. }
        | ArchiveError::ImageTooLarge { .. }
        | ArchiveError::TooManyPages { .. }
        | ArchiveError::PdfTooDeep { .. }
        | ArchiveError::PdfActiveContent { .. }
        | ArchiveError::DigestInvalid
        | ArchiveError::TimestampInvalid { .. }
        | ArchiveError::FieldInvalid { .. }
        | ArchiveError::SupersedesUnknown { .. }
        | ArchiveError::PaperKindUnknown { .. } => Some(Refusal::Unprocessable),
        e if e.code().starts_with("archive.bag_") => Some(Refusal::Unprocessable),
        // A fault on our side set off by the file, not a refusal of it.
        ArchiveError::Panicked { .. } => None,
        _ => None,
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

impl From<db::students::StudentIds> for StudentRef {
    fn from(s: db::students::StudentIds) -> Self {
        Self { id: s.id, public_id: s.public_id, school_id: s.school_id }
    }
}

/// A student by opaque public id.
pub async fn student_by_public_id(db: &Db, public_id: &str) -> Result<Option<StudentRef>, sqlx::Error> {
    Ok(db::students::ids_by_public_id(&db.pool, public_id).await?.map(StudentRef::from))
}

/// A student by student number (any case, surrounding blanks ignored).
pub async fn student_by_no(db: &Db, student_no: &str) -> Result<Option<StudentRef>, sqlx::Error> {
    let no = student_no.trim().to_ascii_uppercase();
    Ok(db::students::ids_by_student_no(&db.pool, &no).await?.map(StudentRef::from))
}

/// The student's dossier, if one was started.
pub async fn dossier_of(db: &Db, student_id: i64) -> Result<Option<DossierRow>, sqlx::Error> {
    db::dossier::of_student(&db.pool, student_id).await
}

/// The current instant with the local offset (manifests keep local time, so
/// the date part is the day at the counter).
pub fn local_now() -> String {
    chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_told_from_faults() {
        assert_eq!(refusal(&ArchiveError::TooLarge { limit: 1 }), Some(Refusal::TooLarge));
        assert_eq!(refusal(&ArchiveError::TypeUnsupported), Some(Refusal::WrongType));
        assert_eq!(refusal(&ArchiveError::BagSignatureInvalid), Some(Refusal::Unprocessable));
        assert_eq!(refusal(&ArchiveError::BagTooLarge { limit: 1 }), Some(Refusal::Unprocessable));
        let io = ArchiveError::Io { op: "保存对象", path: "/x".into(), source: std::io::Error::other("disk") };
        let f = Failure::from(io);
        assert!(f.is_fault());
        assert_eq!(f.code(), "internal");
        assert!(!f.message().contains("/x"));
    }

    #[test]
    fn panics_are_faults_with_their_own_code_and_a_chinese_message() {
        let f = Failure::from(ArchiveError::Panicked { stage: "图像解码", detail: "index out of bounds".into() });
        assert!(f.is_fault());
        assert_eq!(f.code(), "archive.inspect_panicked");
        assert!(f.message().contains("图像解码"), "{}", f.message());
        assert!(!f.message().contains("index"), "the panic message is for the log: {}", f.message());
        assert!(!f.is_refusal());
        assert_eq!(refusal(&ArchiveError::PdfTooDeep { limit: 64 }), Some(Refusal::Unprocessable));
        assert_eq!(Failure::from(ArchiveError::PdfTooDeep { limit: 64 }).code(), "archive.pdf_too_deep");
    }

    #[tokio::test]
    async fn a_panic_in_blocking_work_is_a_fault_with_a_code() {
        let f = blocking::<()>(|| panic!("boom\nsecond line")).await.expect_err("panicked");
        assert!(f.is_fault());
        assert_eq!(f.code(), "internal.panicked");
        assert!(!f.message().contains("boom"));
        assert!(matches!(&f, Failure::TaskPanicked { detail } if detail == "boomsecond line"), "{f:?}");
        let f = blocking::<()>(|| std::panic::panic_any(7_u8)).await.expect_err("panicked");
        assert!(matches!(&f, Failure::TaskPanicked { detail } if detail == "(no message)"), "{f:?}");
        assert_eq!(blocking(|| Ok(3)).await.expect("ok"), 3);
    }
}
