//! Dossier manifests: append-only, numbered versions listing the scanned
//! papers of one dossier.
//!
//! A dossier is named by an opaque id chosen by the caller. Its versions
//! live in `dossiers/<safe id>/v<N>.json`; each is written to a temp file,
//! synced, moved into place with a no-clobber rename and the directory
//! synced. A version is never overwritten: of two writers racing for the
//! same number, the loser sees the file exist and retries with the next one.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::error::{ArchiveError, IoContext, Result, shown_name};
use crate::fsutil::{TEMP_PREFIX, read_bounded, sync_dir};
pub use crate::paper_kind::PaperKind;
use crate::store::S3Store;

/// Name of the manifests directory under the archive root.
pub const DOSSIERS_DIR: &str = "dossiers";

/// Largest manifest file read back, in bytes.
pub const MAX_MANIFEST_BYTES: u64 = 64 * 1024 * 1024;

/// How many times a writer retries after losing a race for a version number.
const MAX_APPEND_ATTEMPTS: u32 = 1_000;

/// One scanned paper in a dossier version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The stored object.
    pub digest: Digest,
    /// What the paper is.
    pub kind: PaperKind,
    /// Number of pages (from the ingest checks).
    pub pages: u32,
    /// The file name it was uploaded under.
    pub original_name: String,
    /// Its media type, e.g. `image/jpeg`.
    pub media_type: String,
    /// Its length in bytes.
    pub size: u64,
    /// Who added it (the caller's user id or name).
    pub added_by: String,
    /// When it was added, RFC 3339.
    pub added_at: String,
    /// The earlier scan this one replaces, if any.
    pub supersedes: Option<Digest>,
}

/// One version of a dossier: the full list of its papers at that time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The caller's opaque dossier id.
    pub dossier_id: String,
    /// 1 for the first version, then 2, 3, …
    pub version: u32,
    /// When this version was made, RFC 3339 (given by the caller).
    pub created_at: String,
    /// Who made it.
    pub created_by: String,
    /// Every paper in the dossier as of this version.
    pub entries: Vec<Entry>,
    /// Why this version was made (may be empty).
    #[serde(default)]
    pub note: String,
}

/// The caller's part of a new version; the store assigns the number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewVersion {
    /// When, RFC 3339.
    pub created_at: String,
    /// Who.
    pub created_by: String,
    /// Every paper in the dossier as of this version.
    pub entries: Vec<Entry>,
    /// Why (may be empty).
    pub note: String,
}

/// The dossier versions of an archive: the `dossiers/` directory, or the
/// `dossiers/` keys of an S3-compatible store (same names, same write-once
/// rule: a version is put with `If-None-Match: *`).
#[derive(Debug, Clone)]
pub struct ManifestStore {
    /// The directory, or for a remote store the place shown in messages
    /// (`s3://bucket/prefix/dossiers`).
    dir: PathBuf,
    remote: Option<S3Store>,
}

impl ManifestStore {
    /// Opens (creating if needed) `<root>/dossiers`.
    pub fn open(root: impl AsRef<Path>) -> Result<Self> {
        let dir = root.as_ref().join(DOSSIERS_DIR);
        fs::create_dir_all(&dir).ctx("创建档案清单目录", &dir)?;
        Ok(Self { dir, remote: None })
    }

    /// The versions kept in `store` under `dossiers/`.
    pub fn remote(store: S3Store) -> Self {
        Self { dir: store.location().display_root().join(DOSSIERS_DIR), remote: Some(store) }
    }

    /// The `dossiers/` directory (for a remote store, its place as shown).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The directory holding a dossier's versions.
    pub fn dossier_dir(&self, dossier_id: &str) -> Result<PathBuf> {
        Ok(self.dir.join(encode_dossier_id(dossier_id)?))
    }

    /// The file of one version (whether or not it exists).
    pub fn version_path(&self, dossier_id: &str, version: u32) -> Result<PathBuf> {
        Ok(self.dossier_dir(dossier_id)?.join(version_file_name(version)))
    }

    /// The key of one version in a remote store.
    fn version_rel(dossier_id: &str, version: u32) -> Result<String> {
        Ok(format!("{DOSSIERS_DIR}/{}/{}", encode_dossier_id(dossier_id)?, version_file_name(version)))
    }

    /// The dossier's version numbers, ascending (empty if it has none).
    pub fn versions(&self, dossier_id: &str) -> Result<Vec<u32>> {
        let mut out = Vec::new();
        if let Some(remote) = &self.remote {
            let listed = remote.list_all(&format!("{DOSSIERS_DIR}/{}/", encode_dossier_id(dossier_id)?))?;
            out.extend(listed.iter().filter_map(|l| parse_version_file_name(l.rel.rsplit('/').next()?)));
        } else {
            let dir = self.dossier_dir(dossier_id)?;
            let entries = match fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
                Err(e) => return Err(ArchiveError::io("列出档案版本", &dir, e)),
            };
            for entry in entries {
                let entry = entry.ctx("列出档案版本", &dir)?;
                if let Some(v) = parse_version_file_name(&entry.file_name().to_string_lossy()) {
                    out.push(v);
                }
            }
        }
        out.sort_unstable();
        Ok(out)
    }

    /// Reads one version.
    pub fn get(&self, dossier_id: &str, version: u32) -> Result<Manifest> {
        let path = self.version_path(dossier_id, version)?;
        let not_found = || ArchiveError::ManifestNotFound { dossier_id: shown_name(dossier_id), version };
        let manifest = if let Some(remote) = &self.remote {
            let bytes = remote.get_bytes(&Self::version_rel(dossier_id, version)?, MAX_MANIFEST_BYTES)?;
            let bytes = bytes.ok_or_else(not_found)?;
            parse_manifest(&bytes).map_err(|detail| ArchiveError::ManifestInvalid { path: path.clone(), detail })?
        } else {
            if !path.is_file() {
                return Err(not_found());
            }
            read_manifest_file(&path)?
        };
        if manifest.dossier_id != dossier_id || manifest.version != version {
            return Err(ArchiveError::ManifestInvalid {
                path,
                detail: "文件中的档案编号或版本号与文件位置不符".into(),
            });
        }
        Ok(manifest)
    }

    /// One version's bytes exactly as stored (for a backup copy).
    pub fn version_bytes(&self, dossier_id: &str, version: u32) -> Result<Vec<u8>> {
        let path = self.version_path(dossier_id, version)?;
        let not_found = || ArchiveError::ManifestNotFound { dossier_id: shown_name(dossier_id), version };
        let bytes = if let Some(remote) = &self.remote {
            remote.get_bytes(&Self::version_rel(dossier_id, version)?, MAX_MANIFEST_BYTES)?.ok_or_else(not_found)?
        } else {
            if !path.is_file() {
                return Err(not_found());
            }
            read_bounded(&path, MAX_MANIFEST_BYTES)?
                .ok_or_else(|| ArchiveError::ManifestInvalid { path: path.clone(), detail: "文件过大".into() })?
        };
        Ok(bytes)
    }

    /// Writes one version's bytes as a backup holds them, write-once like
    /// [`ManifestStore::append`]: they must parse as that dossier's version
    /// `version`; `Ok(false)` when the same bytes are already there, an
    /// error when different ones are.
    pub fn put_version_bytes(&self, dossier_id: &str, version: u32, bytes: &[u8]) -> Result<bool> {
        let path = self.version_path(dossier_id, version)?;
        let manifest =
            parse_manifest(bytes).map_err(|detail| ArchiveError::ManifestInvalid { path: path.clone(), detail })?;
        if manifest.dossier_id != dossier_id || manifest.version != version {
            return Err(ArchiveError::ManifestInvalid {
                path,
                detail: "文件中的档案编号或版本号与文件位置不符".into(),
            });
        }
        let written = if let Some(remote) = &self.remote {
            remote.put_new(&Self::version_rel(dossier_id, version)?, bytes::Bytes::copy_from_slice(bytes))?
        } else {
            let dir = self.dossier_dir(dossier_id)?;
            if !dir.is_dir() {
                fs::create_dir_all(&dir).ctx("创建档案目录", &dir)?;
                sync_dir(&self.dir)?;
            }
            write_no_clobber(&dir, &version_file_name(version), bytes)?
        };
        if !written && self.version_bytes(dossier_id, version)? != bytes {
            return Err(ArchiveError::ManifestInvalid { path, detail: "该版本已存在，且内容不同".into() });
        }
        Ok(written)
    }

    /// The newest version, if any.
    pub fn latest(&self, dossier_id: &str) -> Result<Option<Manifest>> {
        match self.versions(dossier_id)?.last() {
            Some(&v) => self.get(dossier_id, v).map(Some),
            None => Ok(None),
        }
    }

    /// Every version, oldest first.
    pub fn history(&self, dossier_id: &str) -> Result<Vec<Manifest>> {
        self.versions(dossier_id)?.into_iter().map(|v| self.get(dossier_id, v)).collect()
    }

    /// Every dossier id that has a directory here, sorted.
    pub fn dossier_ids(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        if let Some(remote) = &self.remote {
            out.extend(remote.list_dirs(DOSSIERS_DIR)?.iter().filter_map(|name| decode_dossier_dir_name(name)));
        } else {
            for entry in fs::read_dir(&self.dir).ctx("列出档案", &self.dir)? {
                let entry = entry.ctx("列出档案", &self.dir)?;
                // A stray file here is the fixity check's to report, not a dossier.
                if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                    continue;
                }
                if let Some(id) = decode_dossier_dir_name(&entry.file_name().to_string_lossy()) {
                    out.push(id);
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Writes the next version of a dossier and returns it.
    ///
    /// Validates the timestamps, that `created_by` is not blank, and that
    /// every `supersedes` names a digest listed in an earlier version.
    /// Whether the entries' objects are stored is the caller's check (see
    /// [`crate::Archive::add_version`]).
    pub fn append(&self, dossier_id: &str, new: NewVersion) -> Result<Manifest> {
        validate_new_version(&new)?;
        if let Some(remote) = &self.remote {
            return self.append_with(dossier_id, new, &|version, bytes| {
                remote.put_new(&Self::version_rel(dossier_id, version)?, bytes::Bytes::copy_from_slice(bytes))
            });
        }
        let dir = self.dossier_dir(dossier_id)?;
        let created = !dir.is_dir();
        if created {
            fs::create_dir_all(&dir).ctx("创建档案目录", &dir)?;
            sync_dir(&self.dir)?;
        }
        let result = self
            .append_with(dossier_id, new, &|version, bytes| write_no_clobber(&dir, &version_file_name(version), bytes));
        if result.is_err() && created {
            // A first version that could not be written (a full disk) leaves
            // no empty dossier directory behind; `remove_dir` only removes it
            // while it is empty.
            let _ = fs::remove_dir(&dir);
        }
        result
    }

    /// Numbers and writes the version with `write`, which returns `false`
    /// when that number was taken meanwhile (then the next one is tried).
    fn append_with(
        &self,
        dossier_id: &str,
        new: NewVersion,
        write: &dyn Fn(u32, &[u8]) -> Result<bool>,
    ) -> Result<Manifest> {
        for _ in 0..MAX_APPEND_ATTEMPTS {
            let history = self.history(dossier_id)?;
            for entry in &new.entries {
                if let Some(old) = entry.supersedes {
                    let known = history.iter().any(|m| m.entries.iter().any(|e| e.digest == old));
                    if !known {
                        return Err(ArchiveError::SupersedesUnknown { digest: old });
                    }
                }
            }
            let version = history
                .last()
                .map_or(Some(1), |m| m.version.checked_add(1))
                .ok_or_else(|| ArchiveError::FieldInvalid { field: "版本号", reason: "已达上限".into() })?;
            let manifest = Manifest {
                dossier_id: dossier_id.to_owned(),
                version,
                created_at: new.created_at.clone(),
                created_by: new.created_by.clone(),
                entries: new.entries.clone(),
                note: new.note.clone(),
            };
            if write(version, &manifest_bytes(&manifest)?)? {
                return Ok(manifest);
            }
        }
        Err(ArchiveError::ManifestConflict { dossier_id: shown_name(dossier_id) })
    }
}

/// The canonical JSON form of a manifest (pretty, trailing newline).
pub(crate) fn manifest_bytes(manifest: &Manifest) -> Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(manifest)
        .map_err(|e| ArchiveError::FieldInvalid { field: "档案清单", reason: e.to_string() })?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Reads and parses a manifest file (bounded in size).
pub(crate) fn read_manifest_file(path: &Path) -> Result<Manifest> {
    let bytes = read_bounded(path, MAX_MANIFEST_BYTES)?
        .ok_or_else(|| ArchiveError::ManifestInvalid { path: path.to_path_buf(), detail: "文件过大".into() })?;
    parse_manifest(&bytes).map_err(|detail| ArchiveError::ManifestInvalid { path: path.to_path_buf(), detail })
}

/// Parses manifest JSON and checks its fields; the error is a short reason.
pub(crate) fn parse_manifest(bytes: &[u8]) -> std::result::Result<Manifest, String> {
    let manifest: Manifest = serde_json::from_slice(bytes).map_err(|e| format!("JSON 无法解析：{e}"))?;
    encode_dossier_id(&manifest.dossier_id).map_err(|e| e.to_string())?;
    if manifest.version == 0 {
        return Err("版本号为 0".into());
    }
    Ok(manifest)
}

/// Writes `bytes` to `dir/name` via a synced temp file and a no-clobber
/// rename, then syncs `dir`. Returns `false` (and leaves nothing behind) if
/// `dir/name` already exists.
fn write_no_clobber(dir: &Path, name: &str, bytes: &[u8]) -> Result<bool> {
    let mut temp = tempfile::Builder::new().prefix(TEMP_PREFIX).tempfile_in(dir).ctx("创建临时文件", dir)?;
    temp.write_all(bytes).ctx("写入临时文件", temp.path())?;
    let mut perms = temp.as_file().metadata().ctx("读取临时文件属性", temp.path())?.permissions();
    perms.set_readonly(true);
    temp.as_file().set_permissions(perms).ctx("设置清单只读", temp.path())?;
    temp.as_file().sync_all().ctx("同步临时文件", temp.path())?;
    let target = dir.join(name);
    match temp.persist_noclobber(&target) {
        Ok(_) => {
            sync_dir(dir)?;
            Ok(true)
        }
        Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(ArchiveError::io("保存档案清单", &target, e.error)),
    }
}

fn version_file_name(version: u32) -> String {
    format!("v{version}.json")
}

/// `v<N>.json` with N ≥ 1 written without leading zeros.
pub(crate) fn parse_version_file_name(name: &str) -> Option<u32> {
    let digits = name.strip_prefix('v')?.strip_suffix(".json")?;
    if digits.is_empty() || digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Maps a dossier id to a directory name, reversibly: ASCII letters,
/// digits, `-`, `_` and (not leading) `.` are kept, every other byte becomes
/// `%XX`. Refuses empty ids, ids with control characters and ids whose
/// directory name would exceed 240 bytes.
pub fn encode_dossier_id(id: &str) -> Result<String> {
    if id.is_empty() {
        return Err(ArchiveError::DossierIdInvalid { reason: "为空" });
    }
    if id.chars().any(char::is_control) {
        return Err(ArchiveError::DossierIdInvalid { reason: "含有控制字符" });
    }
    let mut out = String::with_capacity(id.len());
    for (i, b) in id.bytes().enumerate() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || (b == b'.' && i > 0) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.len() > 240 {
        return Err(ArchiveError::DossierIdInvalid { reason: "过长" });
    }
    Ok(out)
}

/// The inverse of [`encode_dossier_id`]; `None` for a name it would never
/// produce (temp files, strays).
pub(crate) fn decode_dossier_dir_name(name: &str) -> Option<String> {
    let bytes = name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = name.get(i + 1..i + 3)?;
            if !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'A'..=b'F')) {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let id = String::from_utf8(out).ok()?;
    (encode_dossier_id(&id).ok()? == name).then_some(id)
}

fn validate_new_version(new: &NewVersion) -> Result<()> {
    check_rfc3339(&new.created_at)?;
    if new.created_by.trim().is_empty() {
        return Err(ArchiveError::FieldInvalid { field: "创建人", reason: "不能为空".into() });
    }
    for entry in &new.entries {
        check_rfc3339(&entry.added_at)?;
        if entry.added_by.trim().is_empty() {
            return Err(ArchiveError::FieldInvalid { field: "添加人", reason: "不能为空".into() });
        }
    }
    Ok(())
}

/// Checks `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)` with real calendar ranges.
pub fn check_rfc3339(value: &str) -> Result<()> {
    if is_rfc3339(value) { Ok(()) } else { Err(ArchiveError::TimestampInvalid { value: shown_name(value) }) }
}

fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = b.get(range)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        part.iter().try_fold(0u32, |acc, d| Some(acc * 10 + u32::from(d - b'0')))
    };
    let sep = |i: usize, c: &[u8]| b.get(i).is_some_and(|x| c.contains(x));
    let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) =
        (num(0..4), num(5..7), num(8..10), num(11..13), num(14..16), num(17..19))
    else {
        return false;
    };
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt") && sep(13, b":") && sep(16, b":")) {
        return false;
    }
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    if day == 0 || day > days_in_month || hour > 23 || minute > 59 || second > 60 {
        return false;
    }
    let mut i = 19;
    if sep(i, b".") {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match b.get(i) {
        Some(b'Z' | b'z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            let (Some(oh), Some(om)) = (num(i + 1..i + 3), num(i + 4..i + 6)) else {
                return false;
            };
            sep(i + 3, b":") && oh <= 23 && om <= 59 && i + 6 == b.len()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dossier_id_encoding_is_reversible_and_safe() {
        for id in ["2024-001", "学籍/张三", "..", ".hidden", "a.b", "%41", "x y"] {
            let enc = encode_dossier_id(id).expect("encode");
            assert!(!enc.contains('/') && !enc.starts_with('.'), "{enc}");
            assert_eq!(decode_dossier_dir_name(&enc).as_deref(), Some(id));
        }
        assert_eq!(encode_dossier_id("2024-001").expect("enc"), "2024-001");
        assert!(encode_dossier_id("").is_err());
        assert!(encode_dossier_id("a\nb").is_err());
        assert!(encode_dossier_id(&"学".repeat(100)).is_err());
        assert_eq!(decode_dossier_dir_name(".tmp-abc"), None);
        assert_eq!(decode_dossier_dir_name("%4a"), None);
        assert_eq!(decode_dossier_dir_name("%41"), None); // would be "A"
    }

    #[test]
    fn version_file_names() {
        assert_eq!(parse_version_file_name("v1.json"), Some(1));
        assert_eq!(parse_version_file_name("v12.json"), Some(12));
        for bad in ["v0.json", "v01.json", "v.json", "1.json", "v1.json.tmp", ".tmp-v1.json"] {
            assert_eq!(parse_version_file_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn rfc3339() {
        for ok in [
            "2024-09-01T08:30:00+08:00",
            "2024-02-29T23:59:60Z",
            "2024-09-01t08:30:00.123456z",
            "1999-12-31T00:00:00-05:30",
        ] {
            assert!(is_rfc3339(ok), "{ok}");
        }
        for bad in [
            "",
            "2024-09-01",
            "2024-09-01 08:30:00+08:00",
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-09-01T24:00:00Z",
            "2024-09-01T08:30:00",
            "2024-09-01T08:30:00.Z",
            "2024-09-01T08:30:00+0800",
            "2024-09-01T08:30:00Zjunk",
        ] {
            assert!(!is_rfc3339(bad), "{bad}");
        }
    }

    fn entry(digest: Digest, supersedes: Option<Digest>) -> Entry {
        Entry {
            digest,
            kind: PaperKind::Other,
            pages: 1,
            original_name: "a.png".into(),
            media_type: "image/png".into(),
            size: 1,
            added_by: "clerk".into(),
            added_at: "2024-09-01T08:30:00+08:00".into(),
            supersedes,
        }
    }

    fn new_version(entries: Vec<Entry>) -> NewVersion {
        NewVersion {
            created_at: "2024-09-01T08:30:00+08:00".into(),
            created_by: "clerk".into(),
            entries,
            note: String::new(),
        }
    }

    #[test]
    fn append_versions_never_overwrite() {
        let root = tempfile::tempdir().expect("dir");
        let store = ManifestStore::open(root.path()).expect("open");
        let a = Digest::of(b"a");
        let b = Digest::of(b"b");
        let v1 = store.append("学籍/001", new_version(vec![entry(a, None)])).expect("v1");
        assert_eq!(v1.version, 1);
        let v2 = store.append("学籍/001", new_version(vec![entry(b, Some(a))])).expect("v2");
        assert_eq!(v2.version, 2);
        assert_eq!(store.versions("学籍/001").expect("versions"), vec![1, 2]);
        assert_eq!(store.get("学籍/001", 1).expect("get"), v1);
        assert_eq!(store.latest("学籍/001").expect("latest"), Some(v2));
        assert_eq!(store.dossier_ids().expect("ids"), vec!["学籍/001".to_string()]);
        assert_eq!(store.latest("none").expect("latest"), None);
        assert_eq!(store.get("学籍/001", 3).err().map(|e| e.code()), Some("archive.manifest_not_found"));
        let unknown =
            store.append("学籍/001", new_version(vec![entry(b, Some(Digest::of(b"zzz")))])).expect_err("supersedes");
        assert_eq!(unknown.code(), "archive.supersedes_unknown");
        let mut bad_time = new_version(vec![]);
        bad_time.created_at = "yesterday".into();
        assert_eq!(store.append("学籍/001", bad_time).err().map(|e| e.code()), Some("archive.timestamp_invalid"));
    }
}
