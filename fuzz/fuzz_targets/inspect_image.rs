//! `xueji_archive::inspect` on arbitrary bytes, seeded with JPEG, PNG and
//! TIFF files: type detection, end-marker check, header limits, full
//! decoding, the TIFF page walk and the thumbnail.
//!
//! `inspect` reads a path, so each input is written to one scratch file
//! per process. The name has no extension, so the name check never
//! refuses before the bytes are looked at. libfuzzer-sys aborts on any
//! panic, even one that `inspect` contains and turns into
//! `ArchiveError::Panicked`: such panics are reported as crashes.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use xueji_archive::{InspectConfig, inspect};

fn scratch() -> &'static PathBuf {
    static SCRATCH: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &SCRATCH
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("scratch dir");
            let path = dir.path().join("upload");
            (dir, path)
        })
        .1
}

fuzz_target!(|data: &[u8]| {
    let path = scratch();
    std::fs::write(path, data).expect("write scratch file");
    let config = InspectConfig::default();
    if let Ok(found) = inspect(path, "upload", &config) {
        assert!(found.file_type.is_image() || found.thumbnail.is_none());
        assert!(found.pages >= 1 || !found.file_type.is_image());
        assert!(found.pages <= config.max_pages);
        if let Some(t) = &found.thumbnail {
            assert!(t.width <= config.thumbnail_size && t.height <= config.thumbnail_size);
        }
    }
});
