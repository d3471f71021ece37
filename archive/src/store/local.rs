//! The filesystem object store: `objects/<first 2 hex>/<64 hex>` under a
//! root directory, objects read-only, temp files `objects/.tmp-*`.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::{ObjectStore, PutOutcome, StagedObject};
use crate::digest::Digest;
use crate::error::{ArchiveError, IoContext, Result};
use crate::fsutil::sync_dir;

/// Name of the objects directory under the archive root.
pub const OBJECTS_DIR: &str = "objects";

/// Objects stored as files under `<root>/objects/`.
///
/// A put streams into a temp file directly in `objects/` (same filesystem as
/// every target), hashes while writing, syncs it, then moves it to
/// `objects/<xx>/<hex>` without ever replacing an existing file (a no-clobber
/// rename); the directory is synced afterwards. If the object already exists
/// the temp file is dropped: same bytes, same object.
#[derive(Debug, Clone)]
pub struct LocalStore {
    objects: PathBuf,
}

impl LocalStore {
    /// Opens (creating if needed) the store under `root`.
    ///
    /// The root is resolved once, here, to its canonical absolute path (no
    /// `.`/`..`, no symlinks), so that every path the store compares or
    /// hands out has one spelling whatever the working directory or the way
    /// the caller wrote it (`data`, `./data`, a symlinked parent).
    pub fn open(root: impl AsRef<Path>) -> Result<Self> {
        let objects = root.as_ref().join(OBJECTS_DIR);
        fs::create_dir_all(&objects).ctx("创建对象目录", &objects)?;
        let objects = fs::canonicalize(&objects).ctx("解析对象目录路径", &objects)?;
        Ok(Self { objects })
    }

    /// The `objects/` directory; temp files for puts are created here.
    pub fn objects_dir(&self) -> &Path {
        &self.objects
    }

    /// Where the object named `digest` lives (whether or not it exists).
    pub fn object_path(&self, digest: &Digest) -> PathBuf {
        self.objects.join(digest.prefix()).join(digest.to_hex())
    }

    /// Streams `reader` into a temp file in `objects/`, hashing it; see
    /// [`StagedObject::write`]. Accept it with [`LocalStore::commit`] or drop
    /// it to discard.
    pub fn stage(&self, reader: &mut dyn Read, max_size: u64) -> Result<StagedObject> {
        StagedObject::write(&self.objects, reader, max_size)
    }

    /// Moves a temp file staged by [`LocalStore::stage`] into place without
    /// overwriting anything.
    ///
    /// Only a file staged in this store's own `objects/` directory can be
    /// moved; anything else is refused with `archive.staged_elsewhere` (use
    /// [`ObjectStore::put_staged`], which copies such a file). This never
    /// re-enters itself.
    pub fn commit(&self, staged: StagedObject) -> Result<PutOutcome> {
        if !self.staged_here(&staged) {
            return Err(ArchiveError::StagedElsewhere {
                staged: staged.path().to_path_buf(),
                objects: self.objects.clone(),
            });
        }
        let digest = staged.digest();
        let size = staged.size();
        let target = self.object_path(&digest);
        let not_created = PutOutcome { digest, size, created: false };
        if fs::symlink_metadata(&target).is_ok() {
            // Already stored: keep the existing object, drop the temp file,
            // and mark it as just written, so a sweep of unreferenced objects
            // leaves it to the version about to name it.
            touch(&target);
            return Ok(not_created);
        }
        let dir = self.objects.join(digest.prefix());
        if !dir.is_dir() {
            fs::create_dir_all(&dir).ctx("创建对象目录", &dir)?;
            sync_dir(&self.objects)?;
        }
        let temp = staged.into_temp();
        let mut perms = temp.as_file().metadata().ctx("读取临时文件属性", temp.path())?.permissions();
        perms.set_readonly(true);
        temp.as_file().set_permissions(perms).ctx("设置对象只读", temp.path())?;
        match temp.persist_noclobber(&target) {
            Ok(_) => {
                sync_dir(&dir)?;
                sync_dir(&self.objects)?;
                Ok(PutOutcome { digest, size, created: true })
            }
            // Another writer won the race with the same bytes; our temp file
            // is deleted when `e.file` drops.
            Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => {
                touch(&target);
                Ok(not_created)
            }
            Err(e) => Err(ArchiveError::io("保存对象", &target, e.error)),
        }
    }

    /// Whether `staged` lives directly in `objects/`. Both sides are
    /// absolute: the store's path is canonical, and a temp file's path is
    /// its directory's path as given to [`StagedObject::write`], made
    /// absolute against the working directory, which is canonical too.
    /// A symlinked spelling of the same directory is resolved before it is
    /// called unequal.
    fn staged_here(&self, staged: &StagedObject) -> bool {
        match staged.path().parent() {
            Some(parent) if parent == self.objects => true,
            Some(parent) => fs::canonicalize(parent).is_ok_and(|p| p == self.objects),
            None => false,
        }
    }

    fn put_stream(&self, reader: &mut dyn Read, max_size: u64) -> Result<PutOutcome> {
        let staged = self.stage(reader, max_size)?;
        self.commit(staged)
    }
}

impl ObjectStore for LocalStore {
    fn put(&self, reader: &mut dyn Read, max_size: u64) -> Result<PutOutcome> {
        self.put_stream(reader, max_size)
    }

    fn put_staged(&self, staged: StagedObject) -> Result<PutOutcome> {
        if self.staged_here(&staged) {
            return self.commit(staged);
        }
        // Staged elsewhere (another filesystem, perhaps): copy it through a
        // temp file of our own, which `commit` can move.
        let mut file = staged.reopen()?;
        let outcome = self.put_stream(&mut file, staged.size())?;
        if outcome.digest != staged.digest() {
            return Err(ArchiveError::ObjectCorrupt { digest: staged.digest() });
        }
        Ok(outcome)
    }

    fn get(&self, digest: &Digest) -> Result<Box<dyn Read + Send>> {
        let path = self.object_path(digest);
        match File::open(&path) {
            Ok(f) => Ok(Box::new(f)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(ArchiveError::ObjectNotFound { digest: *digest }),
            Err(e) => Err(ArchiveError::io("读取对象", &path, e)),
        }
    }

    fn exists(&self, digest: &Digest) -> Result<bool> {
        let path = self.object_path(digest);
        match fs::symlink_metadata(&path) {
            Ok(m) => Ok(m.is_file()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(ArchiveError::io("查询对象", &path, e)),
        }
    }

    fn size(&self, digest: &Digest) -> Result<u64> {
        let path = self.object_path(digest);
        match fs::symlink_metadata(&path) {
            Ok(m) if m.is_file() => Ok(m.len()),
            Ok(_) => Err(ArchiveError::ObjectNotFound { digest: *digest }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(ArchiveError::ObjectNotFound { digest: *digest }),
            Err(e) => Err(ArchiveError::io("查询对象", &path, e)),
        }
    }

    fn list(&self) -> Result<Vec<Digest>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.objects).ctx("列出对象目录", &self.objects)? {
            let entry = entry.ctx("列出对象目录", &self.objects)?;
            let prefix = entry.file_name();
            let Some(prefix) = prefix.to_str().filter(|p| is_prefix_name(p)) else {
                continue;
            };
            if !entry.file_type().ctx("列出对象目录", entry.path())?.is_dir() {
                continue;
            }
            let dir = entry.path();
            for obj in fs::read_dir(&dir).ctx("列出对象目录", &dir)? {
                let obj = obj.ctx("列出对象目录", &dir)?;
                if !obj.file_type().ctx("列出对象目录", obj.path())?.is_file() {
                    continue;
                }
                if let Some(d) = parse_object_name(prefix, &obj.file_name().to_string_lossy()) {
                    out.push(d);
                }
            }
        }
        out.sort();
        Ok(out)
    }
}

/// Whether `name` is a well-formed fan-out directory name (two lowercase hex).
pub(crate) fn is_prefix_name(name: &str) -> bool {
    name.len() == 2 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The digest named by `name` if it is a well-formed object name inside the
/// fan-out directory `prefix`.
pub(crate) fn parse_object_name(prefix: &str, name: &str) -> Option<Digest> {
    let digest: Digest = name.parse().ok()?;
    (digest.prefix() == prefix).then_some(digest)
}

/// Sets an object's modification time to now (the bytes stay as they are).
/// Best effort: a failure only makes the object look older to a sweep,
/// which still checks every manifest before it removes anything.
fn touch(path: &Path) {
    if let Ok(file) = fs::File::open(path) {
        let _ = file.set_modified(std::time::SystemTime::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_exists_size_list() {
        let root = tempfile::tempdir().expect("dir");
        let store = LocalStore::open(root.path()).expect("open");
        let out = store.put(&mut &b"scan"[..], 100).expect("put");
        assert!(out.created);
        let path = store.object_path(&out.digest);
        assert!(path.is_file());
        assert!(fs::metadata(&path).expect("meta").permissions().readonly());
        assert!(store.exists(&out.digest).expect("exists"));
        assert_eq!(store.size(&out.digest).expect("size"), 4);
        let mut back = Vec::new();
        store.get(&out.digest).expect("get").read_to_end(&mut back).expect("read");
        assert_eq!(back, b"scan");
        assert_eq!(store.list().expect("list"), vec![out.digest]);

        let again = store.put(&mut &b"scan"[..], 100).expect("put again");
        assert!(!again.created);
        assert_eq!(again.digest, out.digest);

        let missing = Digest::of(b"nope");
        assert!(!store.exists(&missing).expect("exists"));
        assert_eq!(store.get(&missing).err().map(|e| e.code()), Some("archive.object_not_found"));
    }

    #[test]
    fn object_names() {
        let d = Digest::of(b"x");
        assert_eq!(parse_object_name(&d.prefix(), &d.to_hex()), Some(d));
        assert_eq!(parse_object_name("00", &d.to_hex()), None);
        assert!(is_prefix_name("0a"));
        assert!(!is_prefix_name("0A"));
        assert!(!is_prefix_name(".tmp-x"));
    }
}
