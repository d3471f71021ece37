//! Ingest: stream an upload to a temp file while hashing it, inspect the
//! temp file, then either hand it to the store or drop it.
//!
//! A refused file leaves neither an object nor a temp file behind.

use std::io::Read;
use std::path::Path;

use crate::digest::Digest;
use crate::error::Result;
use crate::inspect::{InspectConfig, Inspection, inspect};
use crate::store::{ObjectStore, StagedObject};

/// An accepted, stored file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ingested {
    /// The object's name.
    pub digest: Digest,
    /// Its length in bytes.
    pub size: u64,
    /// `false` if the same bytes were already stored.
    pub created: bool,
    /// What the checks found (type, pages, thumbnail).
    pub inspection: Inspection,
}

/// Streams `reader` into a temp file in `staging_dir` (hashing it on the
/// way, refusing it once it exceeds `config.max_size`), inspects it as a
/// file named `original_name`, and on success puts it into `store`.
///
/// `staging_dir` should be on the same filesystem as a local store's
/// objects (use [`crate::LocalStore::objects_dir`]) so that accepting the
/// file is a rename rather than a copy.
pub fn ingest(
    store: &dyn ObjectStore,
    staging_dir: &Path,
    reader: &mut dyn Read,
    original_name: &str,
    config: &InspectConfig,
) -> Result<Ingested> {
    let staged = StagedObject::write(staging_dir, reader, config.max_size)?;
    // On refusal `staged` drops here and its temp file is deleted.
    let inspection = inspect(staged.path(), original_name, config)?;
    let outcome = store.put_staged(staged)?;
    Ok(Ingested { digest: outcome.digest, size: outcome.size, created: outcome.created, inspection })
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;
    use crate::inspect::FileType;
    use crate::store::MemoryStore;

    fn png_bytes(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 128]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).expect("encode");
        out.into_inner()
    }

    #[test]
    fn ingest_into_memory_store() {
        let staging = tempfile::tempdir().expect("dir");
        let store = MemoryStore::new();
        let png = png_bytes(600, 300);
        let got =
            ingest(&store, staging.path(), &mut &png[..], "户口簿.png", &InspectConfig::default()).expect("ingest");
        assert_eq!(got.digest, Digest::of(&png));
        assert!(got.created);
        assert_eq!(got.inspection.file_type, FileType::Png);
        assert_eq!(got.inspection.pages, 1);
        let thumb = got.inspection.thumbnail.expect("thumbnail");
        assert_eq!((thumb.width, thumb.height), (256, 128));
        assert_eq!(store.len(), 1);
        assert_eq!(std::fs::read_dir(staging.path()).expect("ls").count(), 0);

        let refused = ingest(&store, staging.path(), &mut &png[..], "户口簿.jpg", &InspectConfig::default())
            .expect_err("mismatch");
        assert_eq!(refused.code(), "archive.extension_mismatch");
        assert_eq!(store.len(), 1);
        assert_eq!(std::fs::read_dir(staging.path()).expect("ls").count(), 0);
    }
}
