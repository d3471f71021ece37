//! `xueji_archive::inspect` on arbitrary bytes, seeded with PDFs: the
//! `%%EOF` check and the one-pass scan (nesting depth, active content,
//! page count).
//!
//! The scan reads the file in chunks of `CHUNK_SIZE` with a small
//! look-ahead carried across chunk edges, and the seeds are far smaller
//! than a chunk. So each input is inspected twice: as it is, and moved
//! back by up to 64 KiB of spaces inserted after the header line (an
//! offset derived from the input), which puts its bytes across the chunk
//! and look-ahead edges. Spaces there change nothing in the PDF's syntax,
//! so both must give the same outcome, and an accepted file's page count
//! must be the number of `/Type /Page` entries counted over the whole
//! buffer at once. One input in four is moved: a long file is slow to
//! scan under the fuzzer's comparison tracing.

#![no_main]

use std::path::{Path, PathBuf};
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

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' | b'\0')
}

/// `/Type`, whitespace, `/Page`, then the end or a delimiter: the count
/// documented for `Inspection::pages`, over the whole buffer.
fn reference_pages(pdf: &[u8]) -> u32 {
    let mut count = 0;
    for start in 0..pdf.len() {
        let Some(rest) = pdf[start..].strip_prefix(b"/Type") else { continue };
        match rest.first() {
            Some(&b) if is_space(b) || b == b'/' => {}
            _ => continue,
        }
        let rest = &rest[rest.iter().take_while(|b| is_space(**b)).count()..];
        let Some(after) = rest.strip_prefix(b"/Page") else { continue };
        if after.first().is_none_or(|&b| is_space(b) || b"/<>[]()%{}".contains(&b)) {
            count += 1;
        }
    }
    count
}

/// Whether `%%EOF` is in the last KiB, as `inspect` checks.
fn has_eof_marker(pdf: &[u8]) -> bool {
    pdf[pdf.len().saturating_sub(1024)..].windows(5).any(|w| w == b"%%EOF")
}

/// The outcome reduced to what must not depend on where the bytes sit.
fn outcome(path: &Path, bytes: &[u8], config: &InspectConfig) -> Result<u32, &'static str> {
    std::fs::write(path, bytes).expect("write scratch file");
    match inspect(path, "upload", config) {
        Ok(found) => {
            if found.file_type.is_image() {
                return Err("image");
            }
            assert_eq!(found.pages, reference_pages(bytes), "page count");
            assert!(found.pages <= config.max_pages);
            Ok(found.pages)
        }
        Err(e) => Err(e.code()),
    }
}

fuzz_target!(|data: &[u8]| {
    let path = scratch();
    let config = InspectConfig::default();
    let plain = outcome(path, data, &config);
    if !data.starts_with(b"%PDF-") {
        return;
    }
    // After the header line (a comment), if there is one near the start.
    let Some(eol) = data.iter().take(1024).position(|&b| b == b'\n') else { return };
    // A file moved this far takes some milliseconds to scan under the
    // fuzzer's comparison tracing: one input in four is moved.
    let hash = data.iter().fold(0x9E37_u32, |h, &b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    if hash % 4 != 0 {
        return;
    }
    let offset = (hash >> 2) % 65_536;
    let mut moved = Vec::with_capacity(data.len() + offset as usize);
    moved.extend_from_slice(&data[..=eol]);
    moved.resize(eol + 1 + offset as usize, b' ');
    moved.extend_from_slice(&data[eol + 1..]);
    // The `%%EOF` check looks at the last KiB only: moving a marker that
    // sits in the header line out of it changes the outcome, rightly.
    if has_eof_marker(&moved) != has_eof_marker(data) {
        return;
    }
    assert_eq!(outcome(path, &moved, &config), plain, "moved by {offset} bytes");
});
