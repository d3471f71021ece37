//! Ingest: stream an upload to a temp file while hashing it, inspect the
//! temp file, then either hand it to the store or drop it.
//!
//! A refused file leaves neither an object nor a temp file behind, and nor
//! does one whose inspection panicked: [`inspect`] contains the panic and
//! returns [`crate::ArchiveError::Panicked`], and the staged file is dropped
//! like for any refusal. (Should a panic ever escape from here, unwinding
//! drops the staged file too.)

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
/// file named `original_name`, and on success puts it into `store`. A panic
/// while inspecting is returned as [`crate::ArchiveError::Panicked`].
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
    // On refusal (or a contained panic) `staged` drops here and its temp
    // file is deleted.
    let inspection = inspect(staged.path(), original_name, config)?;
    let outcome = store.put_staged(staged)?;
    Ok(Ingested { digest: outcome.digest, size: outcome.size, created: outcome.created, inspection })
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;
    use crate::inspect::{FileType, injected, stage};
    use crate::store::{LocalStore, MemoryStore};

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

    /// Every file anywhere under `dir` (objects and temp files alike).
    fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).expect("ls") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                out.extend(files_under(&path));
            } else {
                out.push(path);
            }
        }
        out
    }

    fn tiff_bytes(pages: u32) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        {
            let mut enc = tiff::encoder::TiffEncoder::new(&mut out).expect("tiff");
            for _ in 0..pages {
                enc.write_image::<tiff::encoder::colortype::RGB8>(8, 8, &[90; 8 * 8 * 3]).expect("page");
            }
        }
        out.into_inner()
    }

    /// A panic injected inside the real decoder, TIFF walk, PDF scan or
    /// thumbnail code, on a local store: the coded error, no object and no
    /// temp file in `objects/`; and the very same file is accepted once the
    /// fault is gone (nothing was left half-done).
    #[test]
    fn a_panic_while_inspecting_is_an_error_and_leaves_nothing() {
        let root = tempfile::tempdir().expect("dir");
        let store = LocalStore::open(root.path()).expect("store");
        let objects = store.objects_dir().to_path_buf();
        let config = InspectConfig::default();
        let png = png_bytes(300, 200);
        let tif = tiff_bytes(3);
        let pdf = b"%PDF-1.4\n1 0 obj << /Type /Page >> endobj\ntrailer << >>\n%%EOF\n".to_vec();
        let cases: [(&str, &[u8], &str); 6] = [
            (stage::INSPECT, &png, "户口簿.png"),
            (stage::DECODE, &png, "户口簿.png"),
            (stage::THUMBNAIL, &png, "户口簿.png"),
            (stage::DECODE, &tif, "转学证明.tif"),
            (stage::TIFF_PAGES, &tif, "转学证明.tif"),
            (stage::PDF_SCAN, &pdf, "诊断证明.pdf"),
        ];
        for (at, bytes, name) in cases {
            injected::panic_at(Some(at));
            let err = ingest(&store, &objects, &mut &bytes[..], name, &config).expect_err("panicked");
            injected::panic_at(None);
            assert_eq!(err.code(), "archive.inspect_panicked", "{at}: {err}");
            assert!(matches!(&err, crate::ArchiveError::Panicked { stage, .. } if *stage == at), "{at}: {err:?}");
            assert!(err.to_string().contains(at), "{err}");
            assert!(store.list().expect("list").is_empty(), "{at}: an object was stored");
            assert_eq!(files_under(&objects), Vec::<std::path::PathBuf>::new(), "{at}: something left in objects/");
        }
        for (_, bytes, name) in cases {
            let got = ingest(&store, &objects, &mut &bytes[..], name, &config).expect("accepted without the fault");
            assert_eq!(got.digest, Digest::of(bytes));
        }
        assert_eq!(store.list().expect("list").len(), 3);
        assert_eq!(files_under(&objects).len(), 3, "exactly the three objects, no temp file");
    }
}
