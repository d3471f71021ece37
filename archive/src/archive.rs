//! [`Archive`]: one root directory holding the object store, the dossier
//! manifests and the bag staging area, with the limits that apply to them.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use ed25519_dalek::VerifyingKey;

use crate::bag::{ExportOptions, ExportSummary, ImportLimits, ImportedBag, STAGING_DIR, export_bag, import_bag};
use crate::digest::{Digest, Hasher};
use crate::error::{ArchiveError, IoContext, Result, shown_name};
use crate::fixity::{FixityReport, Source, VerifyOptions, VerifyProgress, verify_in};
use crate::ingest::{Ingested, ingest};
use crate::inspect::InspectConfig;
use crate::manifest::{Manifest, ManifestStore, NewVersion};
use crate::store::{LocalStore, ObjectStore, S3Credentials, S3Location, S3Store};

/// Limits and tuning for an [`Archive`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArchiveConfig {
    /// Ingest checks and limits.
    pub inspect: InspectConfig,
    /// Bag import limits.
    pub import: ImportLimits,
    /// Fixity check settings.
    pub verify: VerifyOptions,
}

/// The archive under one root directory:
///
/// ```text
/// <root>/objects/<xx>/<64 hex>      objects (read-only files)
/// <root>/objects/.tmp-*             puts in progress
/// <root>/dossiers/<id>/v<N>.json    dossier versions
/// <root>/staging/.tmp-bag-*         bags being verified
/// ```
///
/// or, opened with [`Archive::open_s3`], with objects and dossier versions
/// in an S3-compatible bucket (the same names under its prefix) and only
/// temp files under the local root (`tmp/`, `staging/`).
#[derive(Debug, Clone)]
pub struct Archive {
    root: PathBuf,
    config: ArchiveConfig,
    objects: Objects,
    manifests: ManifestStore,
}

/// Where the objects are.
#[derive(Debug, Clone)]
enum Objects {
    Local(LocalStore),
    S3(S3Store),
}

/// Where [`Archive::put_result`] keeps its files, beside `objects/` and `dossiers/`.
pub const RESULTS_DIR: &str = "results";

/// A local path to an object's bytes (see [`Archive::local_copy`]).
#[derive(Debug)]
pub enum LocalCopy {
    /// The stored object itself (read it, never write it).
    Stored(PathBuf),
    /// A temp copy, removed when this is dropped.
    Temp(tempfile::TempPath),
}

impl LocalCopy {
    /// The path.
    pub fn path(&self) -> &Path {
        match self {
            Self::Stored(p) => p,
            Self::Temp(p) => p,
        }
    }
}

/// Where [`Archive::put_derived`] keeps its files, beside `objects/` and `dossiers/`.
pub const DERIVED_DIR: &str = "derived";

fn side_rel(dir: &str, name: &str) -> Result<String> {
    let sound = !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    if !sound {
        return Err(ArchiveError::FieldInvalid {
            field: "结果文件名", reason: "只能含小写字母、数字、- 和 .".into()
        });
    }
    Ok(format!("{dir}/{name}"))
}

fn derived_name(digest: &Digest, ext: &str) -> Result<String> {
    if ext.is_empty() || ext.len() > 8 || !ext.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) {
        return Err(ArchiveError::FieldInvalid {
            field: "派生文件类型", reason: "只能含小写字母和数字".into()
        });
    }
    Ok(format!("{}.{ext}", digest.to_hex()))
}

/// The local directory for a remote store's temp files.
const REMOTE_TEMP_DIR: &str = "tmp";

impl Archive {
    /// Opens the archive at `root`, creating its directories if needed.
    ///
    /// `root` is resolved once, here, to its canonical absolute path, so a
    /// relative data directory (the default `data/`), `./data` and a
    /// symlinked parent all name the same files, and a later change of the
    /// working directory changes nothing.
    pub fn open(root: impl Into<PathBuf>, config: ArchiveConfig) -> Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(&root).ctx("创建档案目录", &root)?;
        let root = std::fs::canonicalize(&root).ctx("解析档案目录路径", &root)?;
        let store = LocalStore::open(&root)?;
        let manifests = ManifestStore::open(&root)?;
        Ok(Self { root, config, objects: Objects::Local(store), manifests })
    }

    /// Opens the archive in an S3-compatible bucket, keeping temp files
    /// (uploads being hashed, downloads being read, bags being checked)
    /// under the local `root`. Fails at once if the bucket does not answer
    /// or refuses the keys.
    pub fn open_s3(
        root: impl Into<PathBuf>,
        config: ArchiveConfig,
        location: S3Location,
        credentials: S3Credentials,
    ) -> Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(&root).ctx("创建档案目录", &root)?;
        let root = std::fs::canonicalize(&root).ctx("解析档案目录路径", &root)?;
        let store = S3Store::open(location, credentials, root.join(REMOTE_TEMP_DIR))?;
        let manifests = ManifestStore::remote(store.clone());
        Ok(Self { root, config, objects: Objects::S3(store), manifests })
    }

    /// The local root directory (for a remote store, of temp files only).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where objects and dossier versions are, as fixity and sweep reports
    /// name them: the local root, or `s3://bucket/prefix`.
    pub fn location(&self) -> PathBuf {
        match &self.objects {
            Objects::Local(_) => self.root.clone(),
            Objects::S3(s3) => s3.location().display_root(),
        }
    }

    /// The S3-compatible store, if the archive is kept in one.
    pub fn remote(&self) -> Option<&S3Store> {
        match &self.objects {
            Objects::Local(_) => None,
            Objects::S3(s3) => Some(s3),
        }
    }

    /// The local store, if the archive is kept on this machine's disk.
    pub fn local_store(&self) -> Option<&LocalStore> {
        match &self.objects {
            Objects::Local(local) => Some(local),
            Objects::S3(_) => None,
        }
    }

    fn source(&self) -> Source<'_> {
        match &self.objects {
            Objects::Local(_) => Source::Local(&self.root),
            Objects::S3(store) => Source::Remote { store, local_root: &self.root },
        }
    }

    /// Where puts stage their temp files (on the same filesystem as the
    /// objects for the local store, so a put is a rename).
    fn staging_dir(&self) -> &Path {
        match &self.objects {
            Objects::Local(local) => local.objects_dir(),
            Objects::S3(s3) => s3.staging_dir(),
        }
    }

    /// The limits in force.
    pub fn config(&self) -> &ArchiveConfig {
        &self.config
    }

    /// The object store.
    pub fn store(&self) -> &dyn ObjectStore {
        match &self.objects {
            Objects::Local(local) => local,
            Objects::S3(s3) => s3,
        }
    }

    /// Keeps a short-lived file beside the archive (a batch print's result,
    /// for whichever instance of the service is asked for it): `results/NAME`
    /// in the same store, not part of the archive (not checked, copied or
    /// swept; the caller removes it). `name` is lowercase ASCII letters,
    /// digits, `-` and `.`.
    pub fn put_result(&self, name: &str, bytes: Vec<u8>) -> Result<()> {
        self.put_side(RESULTS_DIR, name, bytes)
    }

    /// A file kept by [`Archive::put_result`], if it is there.
    pub fn get_result(&self, name: &str) -> Result<Option<Vec<u8>>> {
        self.get_side(RESULTS_DIR, name)
    }

    /// Removes a file kept by [`Archive::put_result`] (nothing if it is not there).
    pub fn delete_result(&self, name: &str) -> Result<()> {
        self.delete_side(RESULTS_DIR, name)
    }

    /// Keeps a file derived from an object (the text read off a scan):
    /// `derived/{sha256 of the bytes}.{ext}`, beside the objects, never
    /// replacing them. The name is the bytes' own digest, so a derived file
    /// cannot change silently either: [`Archive::get_derived`] checks it.
    /// Putting the same bytes again writes nothing (a damaged file under that
    /// name is replaced). `ext` is lowercase ASCII.
    pub fn put_derived(&self, ext: &str, bytes: Vec<u8>) -> Result<Digest> {
        let digest = Digest::of(&bytes);
        let name = derived_name(&digest, ext)?;
        match self.get_side(DERIVED_DIR, &name)? {
            Some(there) if Digest::of(&there) == digest => {}
            Some(_) => {
                // A damaged copy under this name: replaced by the right bytes.
                self.delete_side(DERIVED_DIR, &name)?;
                self.put_side(DERIVED_DIR, &name, bytes)?;
            }
            None => self.put_side(DERIVED_DIR, &name, bytes)?,
        }
        Ok(digest)
    }

    /// A derived file by its digest, checked against it: `None` if it is
    /// not there, [`ArchiveError::ObjectCorrupt`] if its bytes changed.
    pub fn get_derived(&self, digest: &Digest, ext: &str) -> Result<Option<Vec<u8>>> {
        let name = derived_name(digest, ext)?;
        let Some(bytes) = self.get_side(DERIVED_DIR, &name)? else { return Ok(None) };
        let actual = Digest::of(&bytes);
        if actual != *digest {
            return Err(ArchiveError::ObjectCorrupt { digest: *digest });
        }
        Ok(Some(bytes))
    }

    /// Every derived file in the store, by its digest and extension, sorted;
    /// names that are not `<sha256>.<ext>` (temp files, strays) are left out.
    pub fn derived_files(&self) -> Result<Vec<(Digest, String)>> {
        let names: Vec<String> = match &self.objects {
            Objects::S3(s3) => s3
                .list_all(&format!("{DERIVED_DIR}/"))?
                .into_iter()
                .filter_map(|l| l.rel.strip_prefix(&format!("{DERIVED_DIR}/")).map(str::to_owned))
                .collect(),
            Objects::Local(_) => {
                let dir = self.root.join(DERIVED_DIR);
                match std::fs::read_dir(&dir) {
                    Ok(entries) => {
                        let mut names = Vec::new();
                        for entry in entries {
                            names.push(entry.ctx("读取目录", &dir)?.file_name().to_string_lossy().into_owned());
                        }
                        names
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
                    Err(e) => return Err(ArchiveError::io("读取目录", &dir, e)),
                }
            }
        };
        let mut out: Vec<(Digest, String)> = names
            .iter()
            .filter_map(|name| {
                let (hex, ext) = name.split_once('.')?;
                let digest: Digest = hex.parse().ok()?;
                derived_name(&digest, ext).ok().filter(|n| n == name).map(|_| (digest, ext.to_owned()))
            })
            .collect();
        out.sort();
        Ok(out)
    }

    /// Writes `bytes` at `rel` (a path under the root made by this crate,
    /// `/`-separated): only if nothing is there when `replace` is false
    /// (`false` returned if something was), else replacing what is.
    pub(crate) fn write_beside(&self, rel: &str, bytes: Vec<u8>, replace: bool) -> Result<bool> {
        match &self.objects {
            Objects::S3(s3) if replace => s3.put_replacing(rel, bytes::Bytes::from(bytes)).map(|()| true),
            Objects::S3(s3) => s3.put_new(rel, bytes::Bytes::from(bytes)),
            Objects::Local(_) => {
                let target = self.root.join(rel);
                let dir = target.parent().unwrap_or(&self.root).to_path_buf();
                std::fs::create_dir_all(&dir).ctx("创建目录", &dir)?;
                let mut temp = tempfile::Builder::new()
                    .prefix(crate::fsutil::TEMP_PREFIX)
                    .tempfile_in(&dir)
                    .ctx("创建临时文件", &dir)?;
                std::io::Write::write_all(&mut temp, &bytes).ctx("写入临时文件", temp.path())?;
                temp.as_file().sync_all().ctx("同步临时文件", temp.path())?;
                if replace {
                    temp.persist(&target).map_err(|e| ArchiveError::io("保存文件", &target, e.error))?;
                } else if let Err(e) = temp.persist_noclobber(&target) {
                    if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                        return Ok(false);
                    }
                    return Err(ArchiveError::io("保存文件", &target, e.error));
                }
                crate::fsutil::sync_dir(&dir)?;
                Ok(true)
            }
        }
    }

    /// Whether a file beside the objects exists (a stat, or a HEAD request).
    pub(crate) fn exists_beside(&self, rel: &str) -> Result<bool> {
        match &self.objects {
            Objects::S3(s3) => Ok(s3.head(rel)?.is_some()),
            Objects::Local(_) => Ok(self.root.join(rel).is_file()),
        }
    }

    /// The file at `rel` (see [`Archive::write_beside`]), if it is there.
    pub(crate) fn read_beside(&self, rel: &str, max: u64) -> Result<Option<Vec<u8>>> {
        match &self.objects {
            Objects::S3(s3) => s3.get_bytes(rel, max),
            Objects::Local(_) => {
                let path = self.root.join(rel);
                if !path.is_file() {
                    return Ok(None);
                }
                crate::fsutil::read_bounded(&path, max)?.map(Some).ok_or(ArchiveError::TooLarge { limit: max })
            }
        }
    }

    fn put_side(&self, dir_name: &str, name: &str, bytes: Vec<u8>) -> Result<()> {
        let rel = side_rel(dir_name, name)?;
        match &self.objects {
            Objects::S3(s3) => {
                s3.put_new(&rel, bytes::Bytes::from(bytes))?;
            }
            Objects::Local(_) => {
                self.write_beside(&rel, bytes, true)?;
            }
        }
        Ok(())
    }

    fn get_side(&self, dir_name: &str, name: &str) -> Result<Option<Vec<u8>>> {
        let rel = side_rel(dir_name, name)?;
        match &self.objects {
            Objects::S3(s3) => s3.get_bytes(&rel, u64::MAX),
            Objects::Local(_) => {
                let path = self.root.join(dir_name).join(name);
                match std::fs::read(&path) {
                    Ok(bytes) => Ok(Some(bytes)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(ArchiveError::io("读取文件", &path, e)),
                }
            }
        }
    }

    fn delete_side(&self, dir_name: &str, name: &str) -> Result<()> {
        let rel = side_rel(dir_name, name)?;
        match &self.objects {
            Objects::S3(s3) => s3.delete(&rel),
            Objects::Local(_) => {
                let path = self.root.join(dir_name).join(name);
                match std::fs::remove_file(&path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(ArchiveError::io("删除文件", &path, e)),
                    _ => Ok(()),
                }
            }
        }
    }

    /// The dossier manifests.
    pub fn manifests(&self) -> &ManifestStore {
        &self.manifests
    }

    /// Checks and stores an uploaded file (see [`ingest`]); a refused file
    /// leaves neither object nor temp file.
    pub fn ingest(&self, reader: &mut dyn Read, original_name: &str) -> Result<Ingested> {
        ingest(self.store(), self.staging_dir(), reader, original_name, &self.config.inspect)
    }

    /// Runs `f` on the object as a file on this machine: the object itself
    /// in a local store, a checked temp copy of a remote one (removed
    /// afterwards). For inspecting a stored scan (thumbnails, page counts).
    pub fn with_local_copy<T>(&self, digest: &Digest, f: impl FnOnce(&Path) -> Result<T>) -> Result<T> {
        let copy = self.local_copy(digest)?;
        f(copy.path())
    }

    /// A local file holding the object's bytes, for a program that reads a
    /// path (the text reader): the object itself in a local store, a
    /// checked temp copy (removed when dropped) for a remote one.
    pub fn local_copy(&self, digest: &Digest) -> Result<LocalCopy> {
        match &self.objects {
            Objects::Local(local) => {
                if !local.exists(digest)? {
                    return Err(ArchiveError::ObjectNotFound { digest: *digest });
                }
                Ok(LocalCopy::Stored(local.object_path(digest)))
            }
            Objects::S3(_) => {
                let dir = self.staging_dir();
                let mut temp =
                    tempfile::Builder::new().prefix(crate::TEMP_PREFIX).tempfile_in(dir).ctx("创建临时文件", dir)?;
                let mut reader = self.open_verified(digest)?;
                std::io::copy(&mut reader, temp.as_file_mut()).map_err(|e| corrupt_or_io(digest, e))?;
                Ok(LocalCopy::Temp(temp.into_temp_path()))
            }
        }
    }

    /// Opens a stored object for reading, unchecked (fixity and export check
    /// on their own). To hand an object out, use [`read_verified`](Self::read_verified)
    /// or [`open_verified`](Self::open_verified).
    pub fn open_object(&self, digest: &Digest) -> Result<Box<dyn Read + Send>> {
        self.store().get(digest)
    }

    /// Reads a stored object whole and checks it against its digest before
    /// anything is handed out: [`ArchiveError::ObjectCorrupt`] if the bytes
    /// changed, [`ArchiveError::ObjectNotFound`] if it is gone.
    pub fn read_verified(&self, digest: &Digest) -> Result<Vec<u8>> {
        let mut bytes = Vec::new();
        self.open_verified(digest)?.read_to_end(&mut bytes).map_err(|e| corrupt_or_io(digest, e))?;
        Ok(bytes)
    }

    /// Opens a stored object for streaming out, hashing it as it is read: at
    /// the end, bytes that do not match the digest make the last read fail
    /// (an `InvalidData` error carrying [`ArchiveError::ObjectCorrupt`]), so
    /// the transfer breaks off instead of completing with changed bytes.
    pub fn open_verified(&self, digest: &Digest) -> Result<Box<dyn Read + Send>> {
        let inner = self.store().get(digest)?;
        Ok(Box::new(VerifiedReader { inner, expected: *digest, hasher: Some(Hasher::new()) }))
    }

    /// Appends a version to a dossier after checking that every entry's
    /// object is stored with the stated size.
    pub fn add_version(&self, dossier_id: &str, new: NewVersion) -> Result<Manifest> {
        for entry in &new.entries {
            let size = self.store().size(&entry.digest)?;
            if size != entry.size {
                return Err(ArchiveError::FieldInvalid {
                    field: "材料大小",
                    reason: format!(
                        "“{}”登记为 {} 字节，存档对象为 {size} 字节",
                        shown_name(&entry.original_name),
                        entry.size
                    ),
                });
            }
        }
        self.manifests.append(dossier_id, new)
    }

    /// One version of a dossier.
    pub fn manifest(&self, dossier_id: &str, version: u32) -> Result<Manifest> {
        self.manifests.get(dossier_id, version)
    }

    /// The newest version of a dossier, if any.
    pub fn latest(&self, dossier_id: &str) -> Result<Option<Manifest>> {
        self.manifests.latest(dossier_id)
    }

    /// Every version of a dossier, oldest first.
    pub fn history(&self, dossier_id: &str) -> Result<Vec<Manifest>> {
        self.manifests.history(dossier_id)
    }

    /// Runs the fixity check over the whole archive.
    pub fn verify(&self, progress: &(dyn Fn(&VerifyProgress) + Sync)) -> Result<FixityReport> {
        verify_in(self.source(), &self.config.verify, progress)
    }

    /// Removes stale temp files and, if asked, unreferenced objects (see
    /// [`sweep`](crate::sweep::sweep)).
    pub fn sweep(&self, options: &crate::sweep::SweepOptions) -> Result<crate::sweep::SweepReport> {
        crate::sweep::sweep_in(self.source(), options)
    }

    /// Writes a signed bag with every version of a dossier.
    pub fn export_bag<W: Write + Seek>(
        &self,
        dossier_id: &str,
        record_json: &[u8],
        options: &ExportOptions<'_>,
        writer: W,
    ) -> Result<ExportSummary> {
        let history = self.history(dossier_id)?;
        export_bag(self.store(), &history, record_json, options, writer)
    }

    /// Verifies a bag and, if it is sound, stores its objects; the
    /// manifests are returned for the caller to file (see [`import_bag`]).
    pub fn import_bag<R: Read + Seek>(
        &self,
        reader: R,
        keys: &dyn Fn(&str) -> Option<VerifyingKey>,
    ) -> Result<ImportedBag> {
        import_bag(reader, keys, &self.config.import, &self.root.join(STAGING_DIR), self.store())
    }
}

/// A reader that hashes what passes through it and fails at the end when
/// the bytes do not match `expected`.
struct VerifiedReader {
    inner: Box<dyn Read + Send>,
    expected: Digest,
    /// `None` once the end was checked.
    hasher: Option<Hasher>,
}

impl Read for VerifiedReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let Some(hasher) = self.hasher.as_mut() else { return Ok(n) };
        if n > 0 {
            hasher.update(&buf[..n]);
            return Ok(n);
        }
        let (digest, _) = self.hasher.take().map(Hasher::finish).unwrap_or((self.expected, 0));
        if digest != self.expected {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                ArchiveError::ObjectCorrupt { digest: self.expected },
            ));
        }
        Ok(0)
    }
}

/// A read error of a verified object as the archive reports it.
fn corrupt_or_io(digest: &Digest, e: std::io::Error) -> ArchiveError {
    if e.kind() == std::io::ErrorKind::InvalidData {
        ArchiveError::ObjectCorrupt { digest: *digest }
    } else {
        ArchiveError::Io { op: "读取对象", path: PathBuf::from(digest.to_hex()), source: e }
    }
}

#[cfg(test)]
mod verified_tests {
    use super::*;

    fn read_all(bytes: &'static [u8], expected: Digest) -> std::io::Result<Vec<u8>> {
        let mut r = VerifiedReader { inner: Box::new(bytes), expected, hasher: Some(Hasher::new()) };
        let mut out = Vec::new();
        // Small reads, as a response body pulls them.
        let mut buf = [0u8; 3];
        loop {
            let n = r.read(&mut buf)?;
            if n == 0 {
                return Ok(out);
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    #[test]
    fn matching_bytes_read_through_and_changed_bytes_fail_at_the_end() {
        let good: &'static [u8] = b"scan bytes, many of them";
        assert_eq!(read_all(good, Digest::of(good)).unwrap(), good);
        let err = read_all(b"scan bytes, many of theM", Digest::of(good)).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
        assert!(matches!(corrupt_or_io(&Digest::of(good), err), ArchiveError::ObjectCorrupt { .. }));
        assert!(read_all(b"", Digest::of(good)).is_err(), "a truncated object fails too");
    }
}
