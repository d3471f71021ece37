//! A student's scans: putting one in (checked, stored, a new version), the
//! dossier as shown, its history, one entry, the object's bytes, and
//! thumbnails.

use super::index::append_versions;
use super::{Actor, Failure, Result, StudentRef, blocking, dossier_of, local_now};
use crate::db::{self, Db};
use crate::error::AppError;
use std::io::Read;
use xueji_archive::{Archive, ArchiveError, Digest, Entry, Manifest, NewVersion, PaperKind};

/// Longest original file name kept, in characters.
const MAX_NAME_CHARS: usize = 200;

/// Cleans an uploaded file's name: the last path component, no control
/// characters, at most 200 characters.
pub fn clean_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = base.chars().filter(|c| !c.is_control()).collect();
    cleaned.trim().chars().take(MAX_NAME_CHARS).collect()
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
        db::dossier::insert_thumbnail(
            &db.pool,
            &entry.digest,
            thumb.media_type,
            thumb.width,
            thumb.height,
            &thumb.bytes,
        )
        .await?;
    }
    Ok(Added { entry, version: manifest.version, entries: manifest.entries.len(), new_object: ingested.created })
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
    /// The text read off each object of the newest version.
    pub texts: Vec<TextView>,
}

/// Whether and how an object's text was read.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TextView {
    /// The object.
    pub digest: String,
    /// `queued`, `running`, `done`, `failed`, or `none` (not queued).
    pub state: String,
    /// Why it failed.
    pub error_code: Option<String>,
    /// `ocr` or `pdf_text`, once read.
    pub source: Option<String>,
    /// The engine and its version, once read.
    pub engine: Option<String>,
    /// Pages read.
    pub pages: Option<i64>,
    /// The derived text file's digest.
    pub text_digest: Option<String>,
}

impl From<db::archive_text::TextState> for TextView {
    fn from(t: db::archive_text::TextState) -> Self {
        let state = match (&t.job, &t.text) {
            (Some(job), _) => job.clone(),
            (None, Some(_)) => "done".to_owned(),
            (None, None) => "none".to_owned(),
        };
        Self {
            digest: t.digest,
            state,
            error_code: t.error_code,
            source: t.text.as_ref().map(|x| x.source.clone()),
            engine: t.text.as_ref().map(|x| format!("{} {}", x.engine, x.engine_version)),
            pages: t.text.as_ref().map(|x| x.pages),
            text_digest: t.text.map(|x| x.text_digest),
        }
    }
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
            texts: Vec::new(),
        });
    };
    let mut texts: Vec<TextView> =
        db::archive_text::states_of_student(&db.pool, student.id).await?.into_iter().map(TextView::from).collect();
    texts.sort_by(|a, b| a.digest.cmp(&b.digest));
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
            texts,
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

/// Objects up to this size are read and checked whole before any byte is
/// handed out; larger ones are checked while they stream.
const CHECK_BEFORE_SENDING: u64 = 16 * 1024 * 1024;

/// Opens a stored object for handing out (after [`find_entry`] allowed
/// it), checked against its digest on the way: an object of up to 16 MiB
/// is read and checked before the first byte goes out
/// ([`ArchiveError::ObjectCorrupt`](xueji_archive::ArchiveError::ObjectCorrupt)
/// then); a larger one is hashed while it streams, and a mismatch breaks the
/// transfer off at its end. A changed or missing object is logged as a
/// fixity alert (by digest only).
pub async fn open_object(archive: &Archive, entry: &Entry) -> Result<Box<dyn Read + Send>> {
    let archive = archive.clone();
    let (digest, size) = (entry.digest, entry.size);
    let opened = blocking(move || {
        Ok(if size <= CHECK_BEFORE_SENDING {
            Box::new(std::io::Cursor::new(archive.read_verified(&digest)?)) as Box<dyn Read + Send>
        } else {
            archive.open_verified(&digest)?
        })
    })
    .await;
    if let Err(Failure::Archive(
        e @ (xueji_archive::ArchiveError::ObjectCorrupt { .. } | xueji_archive::ArchiveError::ObjectNotFound { .. }),
    )) = &opened
    {
        tracing::error!(code = e.code(), digest = %digest, "fixity alert: an object handed out is changed or missing; run xueji archive verify");
    }
    opened
}

/// A JPEG preview of an image entry: stored at upload, or made now from the
/// object (imported scans) and kept. `None` for a PDF.
pub async fn thumbnail(db: &Db, archive: &Archive, entry: &Entry) -> Result<Option<(String, Vec<u8>)>> {
    if let Some(kept) = db::dossier::thumbnail(&db.pool, &entry.digest).await? {
        return Ok(Some((kept.media_type, kept.bytes)));
    }
    if !entry.media_type.starts_with("image/") {
        return Ok(None);
    }
    let archive2 = archive.clone();
    let digest = entry.digest;
    let made = blocking(move || {
        let config = archive2.config().inspect.clone();
        Ok(archive2.with_local_copy(&digest, |path| Ok(xueji_archive::inspect(path, "", &config)?.thumbnail))?)
    })
    .await?;
    let Some(t) = made else { return Ok(None) };
    db::dossier::insert_thumbnail(&db.pool, &entry.digest, t.media_type, t.width, t.height, &t.bytes).await?;
    Ok(Some((t.media_type.to_owned(), t.bytes)))
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
}
