//! Object storage: the [`ObjectStore`] trait, the filesystem store
//! [`LocalStore`], the in-memory twin [`MemoryStore`], and [`StagedObject`],
//! a hashed temp file waiting to be accepted or dropped.
//!
//! Objects are immutable and named by the sha256 of their bytes. No code in
//! this crate deletes or overwrites an object.

pub(crate) mod local;
mod memory;
pub mod s3;

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;

use tempfile::NamedTempFile;

pub use local::LocalStore;
pub use memory::MemoryStore;
pub use s3::{S3Credentials, S3Location, S3Store};

use crate::digest::{Digest, Hasher};
use crate::error::{ArchiveError, IoContext, Result};
use crate::fsutil::{TEMP_PREFIX, read_retrying};

/// What a put did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PutOutcome {
    /// The object's name.
    pub digest: Digest,
    /// Its length in bytes.
    pub size: u64,
    /// `true` if this put created the object, `false` if it was already
    /// stored (same bytes, same object; the existing copy is kept).
    pub created: bool,
}

/// A content-addressed, write-once object store.
///
/// Implementations must be safe to share between threads; concurrent puts of
/// the same bytes must end with exactly one object. The interface streams in
/// both directions so that an S3-compatible store can implement it later.
pub trait ObjectStore: Send + Sync {
    /// Streams `reader` into the store while hashing it. Fails with
    /// [`ArchiveError::TooLarge`] as soon as more than `max_size` bytes have
    /// been read, leaving nothing behind.
    fn put(&self, reader: &mut dyn Read, max_size: u64) -> Result<PutOutcome>;

    /// Accepts an already hashed temp file (see [`StagedObject`]). The
    /// default re-reads the temp file through [`ObjectStore::put`] and checks
    /// that the digest did not change; a local store can instead move the
    /// file into place. The temp file is gone afterwards, whatever happens.
    fn put_staged(&self, staged: StagedObject) -> Result<PutOutcome> {
        let mut file = staged.reopen()?;
        let outcome = self.put(&mut file, staged.size())?;
        if outcome.digest != staged.digest() {
            return Err(ArchiveError::ObjectCorrupt { digest: staged.digest() });
        }
        Ok(outcome)
    }

    /// Opens an object for reading.
    fn get(&self, digest: &Digest) -> Result<Box<dyn Read + Send>>;

    /// Whether the object is stored.
    fn exists(&self, digest: &Digest) -> Result<bool>;

    /// The object's length in bytes.
    fn size(&self, digest: &Digest) -> Result<u64>;

    /// Every stored object, sorted.
    fn list(&self) -> Result<Vec<Digest>>;
}

/// A stream written to a temp file and hashed, not yet an object.
///
/// Dropping it deletes the temp file. Its name starts with
/// [`crate::TEMP_PREFIX`].
#[derive(Debug)]
pub struct StagedObject {
    file: NamedTempFile,
    digest: Digest,
    size: u64,
}

impl StagedObject {
    /// Streams `reader` into a new temp file in `dir`, hashing as it goes,
    /// and syncs the file to disk. Fails with [`ArchiveError::TooLarge`] as
    /// soon as more than `max_size` bytes arrive; the temp file is removed.
    pub fn write(dir: &Path, reader: &mut dyn Read, max_size: u64) -> Result<Self> {
        let mut file = tempfile::Builder::new().prefix(TEMP_PREFIX).tempfile_in(dir).ctx("创建临时文件", dir)?;
        let mut hasher = Hasher::new();
        let mut buf = vec![0u8; crate::CHUNK_SIZE];
        loop {
            let n = read_retrying(reader, &mut buf).ctx("读取上传内容", file.path())?;
            if n == 0 {
                break;
            }
            if hasher.len() + n as u64 > max_size {
                return Err(ArchiveError::TooLarge { limit: max_size });
            }
            hasher.update(&buf[..n]);
            file.write_all(&buf[..n]).ctx("写入临时文件", file.path())?;
        }
        file.as_file().sync_all().ctx("同步临时文件", file.path())?;
        let (digest, size) = hasher.finish();
        Ok(Self { file, digest, size })
    }

    /// The digest of the staged bytes.
    pub fn digest(&self) -> Digest {
        self.digest
    }

    /// The number of staged bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The temp file's path (for inspection).
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// Opens the temp file again for reading from the start.
    pub fn reopen(&self) -> Result<File> {
        File::open(self.file.path()).ctx("打开临时文件", self.file.path())
    }

    /// Gives up the temp file handle (for a store that moves it into place).
    pub(crate) fn into_temp(self) -> NamedTempFile {
        self.file
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_count(dir: &Path) -> usize {
        std::fs::read_dir(dir)
            .expect("read dir")
            .filter(|e| e.as_ref().expect("entry").file_name().to_string_lossy().starts_with(TEMP_PREFIX))
            .count()
    }

    #[test]
    fn staged_hashes_and_cleans_up() {
        let dir = tempfile::tempdir().expect("dir");
        let staged = StagedObject::write(dir.path(), &mut &b"hello"[..], 5).expect("stage");
        assert_eq!(staged.digest(), Digest::of(b"hello"));
        assert_eq!(staged.size(), 5);
        assert_eq!(temp_count(dir.path()), 1);
        drop(staged);
        assert_eq!(temp_count(dir.path()), 0);
    }

    #[test]
    fn staged_over_limit_leaves_nothing() {
        let dir = tempfile::tempdir().expect("dir");
        let err = StagedObject::write(dir.path(), &mut &b"hello!"[..], 5).expect_err("limit");
        assert_eq!(err.code(), "archive.too_large");
        assert_eq!(temp_count(dir.path()), 0);
    }

    #[test]
    fn default_put_staged_goes_through_put() {
        let dir = tempfile::tempdir().expect("dir");
        let store = MemoryStore::new();
        let staged = StagedObject::write(dir.path(), &mut &b"abc"[..], 10).expect("stage");
        let out = store.put_staged(staged).expect("put");
        assert!(out.created);
        assert_eq!(out.digest, Digest::of(b"abc"));
        assert_eq!(temp_count(dir.path()), 0);
    }
}
