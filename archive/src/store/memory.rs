//! An in-memory [`ObjectStore`] for unit tests and tools.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::sync::{Arc, PoisonError, RwLock};

use super::{ObjectStore, PutOutcome};
use crate::digest::{Digest, Hasher};
use crate::error::{ArchiveError, IoContext, Result};
use crate::fsutil::read_retrying;

/// Objects kept in a map in memory. Behaves like [`super::LocalStore`]:
/// write-once, same bytes give the same object, size limit enforced while
/// reading.
#[derive(Debug, Default)]
pub struct MemoryStore {
    objects: RwLock<BTreeMap<Digest, Arc<[u8]>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of stored objects.
    pub fn len(&self) -> usize {
        self.objects.read().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Whether the store holds no object.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lookup(&self, digest: &Digest) -> Option<Arc<[u8]>> {
        self.objects.read().unwrap_or_else(PoisonError::into_inner).get(digest).cloned()
    }
}

impl ObjectStore for MemoryStore {
    fn put(&self, reader: &mut dyn Read, max_size: u64) -> Result<PutOutcome> {
        let mut hasher = Hasher::new();
        let mut data = Vec::new();
        let mut buf = vec![0u8; crate::CHUNK_SIZE];
        loop {
            let n = read_retrying(reader, &mut buf).ctx("读取上传内容", "<memory>")?;
            if n == 0 {
                break;
            }
            if hasher.len() + n as u64 > max_size {
                return Err(ArchiveError::TooLarge { limit: max_size });
            }
            hasher.update(&buf[..n]);
            data.extend_from_slice(&buf[..n]);
        }
        let (digest, size) = hasher.finish();
        let mut map = self.objects.write().unwrap_or_else(PoisonError::into_inner);
        let created = !map.contains_key(&digest);
        if created {
            map.insert(digest, data.into());
        }
        Ok(PutOutcome { digest, size, created })
    }

    fn get(&self, digest: &Digest) -> Result<Box<dyn Read + Send>> {
        self.lookup(digest)
            .map(|bytes| Box::new(Cursor::new(bytes)) as Box<dyn Read + Send>)
            .ok_or(ArchiveError::ObjectNotFound { digest: *digest })
    }

    fn exists(&self, digest: &Digest) -> Result<bool> {
        Ok(self.lookup(digest).is_some())
    }

    fn size(&self, digest: &Digest) -> Result<u64> {
        self.lookup(digest).map(|b| b.len() as u64).ok_or(ArchiveError::ObjectNotFound { digest: *digest })
    }

    fn list(&self) -> Result<Vec<Digest>> {
        Ok(self.objects.read().unwrap_or_else(PoisonError::into_inner).keys().copied().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_bytes_same_object() {
        let store = MemoryStore::new();
        let a = store.put(&mut &b"one"[..], 10).expect("put");
        let b = store.put(&mut &b"one"[..], 10).expect("put");
        assert!(a.created && !b.created);
        assert_eq!(a.digest, b.digest);
        assert_eq!(store.len(), 1);
        assert_eq!(store.size(&a.digest).expect("size"), 3);
        let mut back = String::new();
        store.get(&a.digest).expect("get").read_to_string(&mut back).expect("read");
        assert_eq!(back, "one");
    }

    #[test]
    fn limit_enforced() {
        let store = MemoryStore::new();
        let err = store.put(&mut &b"toolong"[..], 3).expect_err("limit");
        assert_eq!(err.code(), "archive.too_large");
        assert!(store.is_empty());
    }
}
