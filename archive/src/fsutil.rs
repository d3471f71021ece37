//! Small filesystem helpers shared by the store, the manifests and the bag
//! importer: durable directory syncs, temp-file naming and bounded reads.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use crate::error::{IoContext, Result};

/// Every temporary file or directory this crate creates starts with this
/// prefix, so the fixity check can tell it from an object or a manifest.
pub const TEMP_PREFIX: &str = ".tmp-";

/// Whether a file name is one of this crate's temporary names.
pub(crate) fn is_temp_name(name: &str) -> bool {
    name.starts_with(TEMP_PREFIX)
}

/// Flushes a directory's entries to disk, so a rename into it survives a
/// power cut. A no-op where directories cannot be opened (non-unix).
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        File::open(dir).and_then(|d| d.sync_all()).ctx("同步目录", dir)?;
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
    }
    Ok(())
}

/// Reads at most `limit` bytes of a small file (a tag file, a manifest).
/// Returns `Ok(None)` if the file is longer than `limit`.
pub(crate) fn read_bounded(path: &Path, limit: u64) -> Result<Option<Vec<u8>>> {
    let file = File::open(path).ctx("读取文件", path)?;
    let mut buf = Vec::new();
    file.take(limit.saturating_add(1)).read_to_end(&mut buf).ctx("读取文件", path)?;
    if buf.len() as u64 > limit {
        return Ok(None);
    }
    Ok(Some(buf))
}

/// `read` that retries on `Interrupted`.
pub(crate) fn read_retrying(reader: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match reader.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}
