//! Copying an archive to a backup directory and back.
//!
//! A backup holds the archive's files under the names they have in a local
//! archive: `objects/<xx>/<sha256>` and `dossiers/<id>/v<N>.json`. Both are
//! write-once, so a second backup into the same directory copies only what
//! the first one lacks: an object already there under its name is kept (its
//! name is its sum, which `backup verify` re-checks), a dossier version
//! already there must have the same bytes. Every file arrives through a
//! synced temp file renamed into place, so an interrupted copy leaves no
//! half-written file under a real name, and running it again finishes it.
//!
//! An object is read through [`Archive::open_verified`]: a damaged object
//! stops the backup with [`ArchiveError::ObjectCorrupt`] instead of being
//! copied as if it were sound.
//!
//! The derived files (`derived/<sha256>.<ext>`: the text read off each scan,
//! page previews) are copied the same way, named by their own digest, each
//! checked against it as [`Archive::get_derived`] does. A damaged one is not
//! copied and does not stop the backup (it can be made again from its
//! object): it is listed in [`CopyReport::derived_damaged`] for the caller
//! to report.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::archive::Archive;
use crate::digest::{Digest, Hasher};
use crate::error::{ArchiveError, IoContext, Result};
use crate::fsutil::{TEMP_PREFIX, is_temp_name, read_bounded, read_retrying, sync_dir};
use crate::manifest::{MAX_MANIFEST_BYTES, decode_dossier_dir_name, encode_dossier_id, parse_version_file_name};

/// Where a copy stands, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub struct CopyProgress {
    /// Files handled so far.
    pub done: u64,
    /// Files in all (objects, then dossier versions).
    pub total: u64,
    /// Bytes copied so far.
    pub bytes: u64,
}

/// What a copy did.
#[derive(Debug, Clone, Default)]
pub struct CopyReport {
    /// Objects copied by this run.
    pub objects_copied: u64,
    /// Objects the other side already had.
    pub objects_kept: u64,
    /// Bytes of the objects copied by this run.
    pub bytes_copied: u64,
    /// Dossier versions copied by this run.
    pub versions_copied: u64,
    /// Dossier versions the other side already had.
    pub versions_kept: u64,
    /// Derived files copied by this run.
    pub derived_copied: u64,
    /// Derived files the other side already had.
    pub derived_kept: u64,
    /// Derived files not copied because their bytes no longer match their
    /// name (`derived/<name>`, as in the store).
    pub derived_damaged: Vec<String>,
    /// Every file of the copy, relative to its root with `/` separators,
    /// and its sha256: the objects, the dossier versions, the derived files.
    pub files: Vec<(String, Digest)>,
}

/// The objects directory of a backup (or of a local archive).
const OBJECTS: &str = "objects";
/// The dossiers directory of a backup (or of a local archive).
const DOSSIERS: &str = "dossiers";
/// The derived files' directory of a backup (or of a local archive).
const DERIVED: &str = crate::archive::DERIVED_DIR;

impl Archive {
    /// Copies every object and dossier version not yet in `dest` there
    /// (see the module documentation); `dest` is created if needed.
    pub fn copy_to_backup(&self, dest: &Path, progress: &(dyn Fn(CopyProgress) + Sync)) -> Result<CopyReport> {
        let digests = self.store().list()?;
        let dossiers = self.manifests().dossier_ids()?;
        let mut versions = Vec::new();
        for id in &dossiers {
            for v in self.manifests().versions(id)? {
                versions.push((id.clone(), v));
            }
        }
        let derived = self.derived_files()?;
        let total = (digests.len() + versions.len() + derived.len()) as u64;
        let mut report = CopyReport::default();
        let mut at = CopyProgress { done: 0, total, bytes: 0 };
        progress(at);
        for digest in digests {
            let dir = dest.join(OBJECTS).join(digest.prefix());
            let target = dir.join(digest.to_hex());
            if target.is_file() {
                report.objects_kept += 1;
            } else {
                create_dir(&dir)?;
                let mut reader = self.open_verified(&digest)?;
                let (written, size) = write_file(&dir, &target, &mut *reader)?;
                if written != digest {
                    return Err(ArchiveError::ObjectCorrupt { digest });
                }
                report.objects_copied += 1;
                report.bytes_copied += size;
                at.bytes += size;
            }
            report.files.push((format!("{OBJECTS}/{}/{}", digest.prefix(), digest.to_hex()), digest));
            at.done += 1;
            progress(at);
        }
        for (id, version) in versions {
            let bytes = self.manifests().version_bytes(&id, version)?;
            let encoded = encode_dossier_id(&id)?;
            let dir = dest.join(DOSSIERS).join(&encoded);
            let name = format!("v{version}.json");
            let target = dir.join(&name);
            if target.is_file() {
                let there = read_bounded(&target, MAX_MANIFEST_BYTES)?;
                if there.as_deref() != Some(&bytes[..]) {
                    return Err(ArchiveError::BackupInvalid {
                        path: target,
                        reason: "备份中已有该档案版本，但内容与档案库中的不同（备份目录可能属于另一个档案库）".into(),
                    });
                }
                report.versions_kept += 1;
            } else {
                create_dir(&dir)?;
                write_file(&dir, &target, &mut &bytes[..])?;
                report.versions_copied += 1;
            }
            report.files.push((format!("{DOSSIERS}/{encoded}/{name}"), Digest::of(&bytes)));
            at.done += 1;
            progress(at);
        }
        let dir = dest.join(DERIVED);
        for (digest, ext) in derived {
            let name = format!("{}.{ext}", digest.to_hex());
            let target = dir.join(&name);
            if target.is_file() {
                report.derived_kept += 1;
            } else {
                match self.get_derived(&digest, &ext) {
                    Ok(Some(bytes)) => {
                        create_dir(&dir)?;
                        let (_, size) = write_file(&dir, &target, &mut &bytes[..])?;
                        report.derived_copied += 1;
                        report.bytes_copied += size;
                        at.bytes += size;
                    }
                    // Removed since it was listed: nothing to copy.
                    Ok(None) => {
                        at.done += 1;
                        continue;
                    }
                    Err(ArchiveError::ObjectCorrupt { .. }) => {
                        report.derived_damaged.push(format!("{DERIVED}/{name}"));
                        at.done += 1;
                        progress(at);
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
            report.files.push((format!("{DERIVED}/{name}"), digest));
            at.done += 1;
            progress(at);
        }
        Ok(report)
    }

    /// Copies a backup's objects and dossier versions (from
    /// [`Archive::copy_to_backup`]) into this archive. An object whose
    /// bytes do not match its name, or a file that is neither an object nor
    /// a version, is refused with [`ArchiveError::BackupInvalid`].
    pub fn restore_from_backup(&self, src: &Path, progress: &(dyn Fn(CopyProgress) + Sync)) -> Result<CopyReport> {
        let objects = backup_objects(&src.join(OBJECTS))?;
        let versions = backup_versions(&src.join(DOSSIERS))?;
        let derived = backup_derived(&src.join(DERIVED))?;
        let total = (objects.len() + versions.len() + derived.len()) as u64;
        let mut report = CopyReport::default();
        let mut at = CopyProgress { done: 0, total, bytes: 0 };
        progress(at);
        for (digest, path) in objects {
            if self.store().exists(&digest)? {
                report.objects_kept += 1;
            } else {
                let mut file = File::open(&path).ctx("读取备份文件", &path)?;
                let put = self.store().put(&mut file, u64::MAX)?;
                if put.digest != digest {
                    return Err(ArchiveError::BackupInvalid {
                        path, reason: "文件内容与文件名中的摘要不符".into()
                    });
                }
                report.objects_copied += 1;
                report.bytes_copied += put.size;
                at.bytes += put.size;
            }
            report.files.push((format!("{OBJECTS}/{}/{}", digest.prefix(), digest.to_hex()), digest));
            at.done += 1;
            progress(at);
        }
        for (id, version, path) in versions {
            let bytes = read_bounded(&path, MAX_MANIFEST_BYTES)?
                .ok_or_else(|| ArchiveError::BackupInvalid {
                    path: path.clone(), reason: "档案清单文件过大".into()
                })?;
            if self.manifests().put_version_bytes(&id, version, &bytes)? {
                report.versions_copied += 1;
            } else {
                report.versions_kept += 1;
            }
            report.files.push((format!("{DOSSIERS}/{}/v{version}.json", encode_dossier_id(&id)?), Digest::of(&bytes)));
            at.done += 1;
            progress(at);
        }
        for (digest, ext, path) in derived {
            let bytes = fs::read(&path).ctx("读取备份文件", &path)?;
            if Digest::of(&bytes) != digest {
                return Err(ArchiveError::BackupInvalid {
                    path, reason: "文件内容与文件名中的摘要不符".into()
                });
            }
            let size = bytes.len() as u64;
            match self.get_derived(&digest, &ext) {
                Ok(Some(_)) => report.derived_kept += 1,
                // Absent, or a damaged copy that put_derived replaces.
                Ok(None) | Err(ArchiveError::ObjectCorrupt { .. }) => {
                    self.put_derived(&ext, bytes)?;
                    report.derived_copied += 1;
                    report.bytes_copied += size;
                    at.bytes += size;
                }
                Err(e) => return Err(e),
            }
            report.files.push((format!("{DERIVED}/{}.{ext}", digest.to_hex()), digest));
            at.done += 1;
            progress(at);
        }
        Ok(report)
    }
}

/// Every derived file under a backup's `derived/`, sorted; a file whose name
/// is not `<sha256>.<ext>` is refused.
fn backup_derived(dir: &Path) -> Result<Vec<(Digest, String, PathBuf)>> {
    let mut out = Vec::new();
    for (name, entry) in entries_of(dir)? {
        let parsed = name.split_once('.').and_then(|(hex, ext)| {
            let sound =
                !ext.is_empty() && ext.len() <= 8 && ext.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
            Some((hex.parse::<Digest>().ok()?, ext.to_owned())).filter(|(d, _)| sound && d.to_hex() == hex)
        });
        match parsed {
            Some((digest, ext)) if entry.file_type().is_ok_and(|t| t.is_file()) => {
                out.push((digest, ext, entry.path()))
            }
            _ => {
                return Err(ArchiveError::BackupInvalid {
                    path: entry.path(),
                    reason: "不是派生文件（文件名应为其 sha256 摘要加扩展名）".into(),
                });
            }
        }
    }
    out.sort();
    Ok(out)
}

fn create_dir(dir: &Path) -> Result<()> {
    if !dir.is_dir() {
        fs::create_dir_all(dir).ctx("创建备份目录", dir)?;
        if let Some(parent) = dir.parent() {
            sync_dir(parent)?;
        }
    }
    Ok(())
}

/// Streams `reader` into a synced temp file in `dir`, then renames it to
/// `target` (replacing nothing that is whole: callers only write names
/// that are absent). Returns the bytes' sha256 and length.
fn write_file(dir: &Path, target: &Path, reader: &mut dyn Read) -> Result<(Digest, u64)> {
    let mut temp = tempfile::Builder::new().prefix(TEMP_PREFIX).tempfile_in(dir).ctx("创建临时文件", dir)?;
    let mut hasher = Hasher::new();
    let mut buf = vec![0u8; crate::CHUNK_SIZE];
    loop {
        let n = read_retrying(reader, &mut buf).map_err(|e| read_error(e, target))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        temp.write_all(&buf[..n]).ctx("写入备份文件", temp.path())?;
    }
    temp.as_file().sync_all().ctx("同步备份文件", temp.path())?;
    temp.persist(target).map_err(|e| ArchiveError::io("保存备份文件", target, e.error))?;
    sync_dir(dir)?;
    Ok(hasher.finish())
}

/// A read error, unwrapping the [`ArchiveError::ObjectCorrupt`] a verified
/// reader reports inside an `io::Error`.
fn read_error(e: io::Error, path: &Path) -> ArchiveError {
    if e.get_ref().and_then(|inner| inner.downcast_ref::<ArchiveError>()).is_some() {
        if let Ok(inner) = e.into_inner().expect("checked above").downcast::<ArchiveError>() {
            return *inner;
        }
        unreachable!("downcast checked above")
    }
    ArchiveError::io("读取存档对象", path, e)
}

/// Every object file under a backup's `objects/`, by digest, sorted.
fn backup_objects(dir: &Path) -> Result<Vec<(Digest, PathBuf)>> {
    let mut out = Vec::new();
    for (prefix, prefix_path) in subdirs(dir)? {
        for entry in fs::read_dir(&prefix_path).ctx("读取备份目录", &prefix_path)? {
            let entry = entry.ctx("读取备份目录", &prefix_path)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_temp_name(&name) {
                continue;
            }
            let digest: Option<Digest> = name.parse().ok();
            match digest {
                Some(d) if d.prefix() == prefix && entry.file_type().is_ok_and(|t| t.is_file()) => {
                    out.push((d, entry.path()));
                }
                _ => {
                    return Err(ArchiveError::BackupInvalid {
                        path: entry.path(),
                        reason: "不是存档对象（文件名应为其 sha256 摘要）".into(),
                    });
                }
            }
        }
    }
    out.sort_by_key(|(d, _)| *d);
    Ok(out)
}

/// Every dossier version under a backup's `dossiers/`, sorted.
fn backup_versions(dir: &Path) -> Result<Vec<(String, u32, PathBuf)>> {
    let mut out = Vec::new();
    for (name, path) in subdirs(dir)? {
        let Some(id) = decode_dossier_dir_name(&name) else {
            return Err(ArchiveError::BackupInvalid { path, reason: "不是档案目录".into() });
        };
        for entry in fs::read_dir(&path).ctx("读取备份目录", &path)? {
            let entry = entry.ctx("读取备份目录", &path)?;
            let file = entry.file_name().to_string_lossy().into_owned();
            if is_temp_name(&file) {
                continue;
            }
            let Some(version) = parse_version_file_name(&file) else {
                return Err(ArchiveError::BackupInvalid {
                    path: entry.path(), reason: "不是档案版本文件".into()
                });
            };
            out.push((id.clone(), version, entry.path()));
        }
    }
    out.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    Ok(out)
}

/// The entries of a backup directory with their names (none if it does
/// not exist), temp names skipped.
fn entries_of(dir: &Path) -> Result<Vec<(String, fs::DirEntry)>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(ArchiveError::io("读取备份目录", dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.ctx("读取备份目录", dir)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !is_temp_name(&name) {
            out.push((name, entry));
        }
    }
    Ok(out)
}

/// The subdirectories of `dir` (none if it does not exist), skipping temp
/// names; a plain file there is refused.
fn subdirs(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for (name, entry) in entries_of(dir)? {
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            return Err(ArchiveError::BackupInvalid { path: entry.path(), reason: "此处应为目录".into() });
        }
        out.push((name, entry.path()));
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ArchiveConfig;
    use crate::manifest::{Entry, NewVersion, PaperKind};

    fn archive(dir: &Path) -> Archive {
        Archive::open(dir, ArchiveConfig::default()).expect("archive")
    }

    fn add(a: &Archive, id: &str, bytes: &[u8]) -> Digest {
        let put = a.store().put(&mut &bytes[..], u64::MAX).expect("put");
        let entry = Entry {
            digest: put.digest,
            size: put.size,
            media_type: "application/pdf".into(),
            original_name: "a.pdf".into(),
            kind: PaperKind::Other,
            pages: 1,
            supersedes: None,
            added_at: "2026-11-29T08:00:00Z".into(),
            added_by: "t".into(),
        };
        let new = NewVersion {
            created_at: "2026-11-29T08:00:00Z".into(),
            created_by: "t".into(),
            entries: vec![entry],
            note: String::new(),
        };
        a.add_version(id, new).expect("version");
        put.digest
    }

    #[test]
    fn copies_only_what_the_backup_lacks_and_restores_every_byte() {
        let tmp = tempfile::tempdir().expect("tmp");
        let a = archive(&tmp.path().join("a"));
        let first = add(&a, "s1", b"%PDF-1.4 one");
        let dest = tmp.path().join("backup");
        let once = a.copy_to_backup(&dest, &|_| {}).expect("backup");
        assert_eq!((once.objects_copied, once.versions_copied), (1, 1));
        add(&a, "s2", b"%PDF-1.4 two");
        let twice = a.copy_to_backup(&dest, &|_| {}).expect("backup again");
        assert_eq!(
            (twice.objects_copied, twice.objects_kept, twice.versions_copied, twice.versions_kept),
            (1, 1, 1, 1)
        );
        assert_eq!(twice.files.len(), 4);

        let b = archive(&tmp.path().join("b"));
        let restored = b.restore_from_backup(&dest, &|_| {}).expect("restore");
        assert_eq!((restored.objects_copied, restored.versions_copied), (2, 2));
        assert_eq!(b.read_verified(&first).expect("object"), b"%PDF-1.4 one");
        assert_eq!(b.manifests().version_bytes("s1", 1).ok(), a.manifests().version_bytes("s1", 1).ok());
        assert_eq!(restored.files, twice.files);
    }

    #[test]
    fn derived_files_are_copied_once_checked_and_restored_and_a_damaged_one_is_reported() {
        let tmp = tempfile::tempdir().expect("tmp");
        let a = archive(&tmp.path().join("a"));
        add(&a, "s1", b"%PDF-1.4 one");
        let text = a.put_derived("json", br#"{"format":"xueji-text/1"}"#.to_vec()).expect("text");
        let preview = a.put_derived("jpg", b"\xff\xd8 preview".to_vec()).expect("preview");
        let dest = tmp.path().join("backup");
        let once = a.copy_to_backup(&dest, &|_| {}).expect("backup");
        assert_eq!((once.derived_copied, once.derived_kept), (2, 0));
        assert!(once.files.contains(&(format!("derived/{}.json", text.to_hex()), text)), "{:?}", once.files);
        let twice = a.copy_to_backup(&dest, &|_| {}).expect("again");
        assert_eq!((twice.derived_copied, twice.derived_kept), (0, 2));

        // A derived file damaged in the archive is not copied, and said.
        let late = a.put_derived("json", br#"{"format":"xueji-text/1","late":1}"#.to_vec()).expect("late");
        let path = tmp.path().join("a").join(DERIVED).join(format!("{}.json", late.to_hex()));
        fs::write(&path, b"changed").expect("damage");
        let third = a.copy_to_backup(&dest, &|_| {}).expect("backup with a damaged text");
        assert_eq!(third.derived_damaged, vec![format!("derived/{}.json", late.to_hex())]);
        assert!(!dest.join(DERIVED).join(format!("{}.json", late.to_hex())).exists());
        assert!(!third.files.iter().any(|(_, d)| *d == late));

        let b = archive(&tmp.path().join("b"));
        let restored = b.restore_from_backup(&dest, &|_| {}).expect("restore");
        assert_eq!(restored.derived_copied, 2);
        assert_eq!(b.get_derived(&text, "json").expect("read").as_deref(), Some(&br#"{"format":"xueji-text/1"}"#[..]));
        assert!(b.get_derived(&preview, "jpg").expect("read").is_some());
        let mut want = vec![(text, "json".to_owned()), (preview, "jpg".to_owned())];
        want.sort();
        assert_eq!(b.derived_files().expect("list"), want);

        // A derived file changed in the backup is refused by the restore.
        fs::write(dest.join(DERIVED).join(format!("{}.jpg", preview.to_hex())), b"other").expect("damage backup");
        let c = archive(&tmp.path().join("c"));
        assert_eq!(c.restore_from_backup(&dest, &|_| {}).expect_err("damaged").code(), "archive.backup_invalid");
    }

    #[test]
    fn a_damaged_object_stops_the_backup_and_a_foreign_file_stops_the_restore() {
        let tmp = tempfile::tempdir().expect("tmp");
        let a = archive(&tmp.path().join("a"));
        let digest = add(&a, "s1", b"%PDF-1.4 one");
        let object = tmp.path().join("a").join(OBJECTS).join(digest.prefix()).join(digest.to_hex());
        let mut perms = fs::metadata(&object).expect("meta").permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        perms.set_readonly(false);
        fs::set_permissions(&object, perms).expect("writable");
        fs::write(&object, b"%PDF-1.4 changed").expect("damage");
        let dest = tmp.path().join("backup");
        let err = a.copy_to_backup(&dest, &|_| {}).expect_err("damaged");
        assert_eq!(err.code(), "archive.object_corrupt");
        assert!(!dest.join(OBJECTS).join(digest.prefix()).join(digest.to_hex()).exists());

        let other = tmp.path().join("other");
        fs::create_dir_all(other.join(OBJECTS).join("ab")).expect("dir");
        fs::write(other.join(OBJECTS).join("ab").join("notes.txt"), b"x").expect("stray");
        let b = archive(&tmp.path().join("b"));
        let err = b.restore_from_backup(&other, &|_| {}).expect_err("foreign");
        assert_eq!(err.code(), "archive.backup_invalid");
        assert!(b.store().list().expect("list").is_empty());
    }
}
