//! Files made to hurt the checks: deeply nested PDFs, TIFFs whose image
//! file directories loop or never end. Each is refused quickly with its
//! code, without deep recursion, and leaves neither object nor temp file.
//! (A panic inside the checks is tested in the crate's unit tests, where a
//! fault can be injected into the real decoding code.)

mod common;

use std::time::{Duration, Instant};

use xueji_archive::{Archive, ArchiveConfig};

/// Ingests `bytes` as `name`, expects refusal with `code` within `within`,
/// and checks that nothing was left behind.
fn assert_refused_fast(archive: &Archive, bytes: &[u8], name: &str, code: &str, within: Duration) {
    let objects = common::object_count(archive);
    let temps = common::temp_count(archive.root());
    let started = Instant::now();
    let err = archive.ingest(&mut &bytes[..], name).expect_err("should be refused");
    let took = started.elapsed();
    assert_eq!(err.code(), code, "{name}: {err}");
    assert!(took < within, "{name}: refused after {took:?}");
    assert_eq!(common::object_count(archive), objects, "{name}: object left");
    assert_eq!(common::temp_count(archive.root()), temps, "{name}: temp left");
}

fn pdf_around(body: &[u8]) -> Vec<u8> {
    let mut pdf = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj\n".to_vec();
    pdf.extend_from_slice(body);
    pdf.extend_from_slice(b"\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n");
    pdf
}

#[test]
fn deeply_nested_pdfs_are_refused_fast_without_recursion() {
    let (_dir, archive) = common::archive(ArchiveConfig::default());
    let within = Duration::from_secs(5);
    // 100,000 open arrays, then as many dictionaries, then both mixed and
    // closed again (a balanced file is just as deep).
    assert_refused_fast(&archive, &pdf_around(&b"[".repeat(100_000)), "a.pdf", "archive.pdf_too_deep", within);
    assert_refused_fast(&archive, &pdf_around(&b"<<".repeat(100_000)), "d.pdf", "archive.pdf_too_deep", within);
    let mut balanced = b"<< /K [".repeat(50_000);
    balanced.extend(b"] >>".repeat(50_000));
    assert_refused_fast(&archive, &pdf_around(&balanced), "b.pdf", "archive.pdf_too_deep", within);
    let err = archive.ingest(&mut &pdf_around(&b"[".repeat(65))[..], "x.pdf").expect_err("65 deep");
    assert!(err.to_string().contains("64 层"), "{err}");

    // What a scan holds is accepted: modest nesting, and brackets inside
    // strings, comments and stream data, which do not nest anything.
    let mut fine =
        b"<< /Type /Page /Annots [ << /Rect [ 0 0 10 10 ] /C [ 1 0 0 ] >> ] /T (a ([[[[) \\) [[[[) >>\n".to_vec();
    fine.extend_from_slice(b"% [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n");
    fine.extend_from_slice(b"endobj\n2 0 obj\n<< /Length 100000 >>\nstream\n");
    fine.extend(b"[<<".repeat(100_000 / 3));
    fine.extend_from_slice(b"\nendstream");
    let got = archive.ingest(&mut &pdf_around(&fine)[..], "fine.pdf").expect("an ordinary PDF");
    assert_eq!(got.inspection.pages, 1);
}

#[test]
fn a_pdf_claiming_endless_pages_stops_at_the_limit() {
    let (_dir, archive) = common::archive(ArchiveConfig::default());
    let pages = b"<< /Type /Page >>\n".repeat(200_000);
    assert_refused_fast(&archive, &pdf_around(&pages), "p.pdf", "archive.too_many_pages", Duration::from_secs(5));
}

/// A little-endian TIFF of `ifds` 1×1 grey pages sharing one pixel; the
/// last directory points back to directory `loop_to` (or ends the chain).
fn tiff_chain(ifds: usize, loop_to: Option<usize>) -> Vec<u8> {
    const FIRST: usize = 10;
    const IFD_LEN: usize = 2 + 8 * 12 + 4;
    let offset = |i: usize| u32::try_from(FIRST + i * IFD_LEN).expect("offset");
    let mut out = b"II\x2a\x00".to_vec();
    out.extend_from_slice(&offset(0).to_le_bytes());
    out.extend_from_slice(&[0x80, 0]); // the pixel at offset 8, and a pad byte
    let short = |tag: u16, v: u16| {
        let mut e = tag.to_le_bytes().to_vec();
        e.extend_from_slice(&3u16.to_le_bytes());
        e.extend_from_slice(&1u32.to_le_bytes());
        e.extend_from_slice(&v.to_le_bytes());
        e.extend_from_slice(&[0, 0]);
        e
    };
    let long = |tag: u16, v: u32| {
        let mut e = tag.to_le_bytes().to_vec();
        e.extend_from_slice(&4u16.to_le_bytes());
        e.extend_from_slice(&1u32.to_le_bytes());
        e.extend_from_slice(&v.to_le_bytes());
        e
    };
    for i in 0..ifds {
        out.extend_from_slice(&8u16.to_le_bytes());
        out.extend(short(256, 1)); // ImageWidth
        out.extend(short(257, 1)); // ImageLength
        out.extend(short(258, 8)); // BitsPerSample
        out.extend(short(259, 1)); // Compression: none
        out.extend(short(262, 1)); // PhotometricInterpretation: black is zero
        out.extend(long(273, 8)); // StripOffsets
        out.extend(short(278, 1)); // RowsPerStrip
        out.extend(long(279, 1)); // StripByteCounts
        let next = if i + 1 < ifds { offset(i + 1) } else { loop_to.map_or(0, offset) };
        out.extend_from_slice(&next.to_le_bytes());
    }
    out
}

#[test]
fn tiffs_whose_directories_loop_or_never_end_are_refused() {
    let (_dir, archive) = common::archive(ArchiveConfig::default());
    // The hand-made file is sound when its chain simply ends.
    let got = archive.ingest(&mut &tiff_chain(3, None)[..], "ok.tif").expect("a plain 3-page TIFF");
    assert_eq!(got.inspection.pages, 3);

    let within = Duration::from_secs(10);
    // A directory pointing at itself, and a chain that comes back to its start.
    assert_refused_fast(&archive, &tiff_chain(1, Some(0)), "self.tif", "archive.corrupt", within);
    assert_refused_fast(&archive, &tiff_chain(5, Some(0)), "ring.tif", "archive.corrupt", within);
    assert_refused_fast(&archive, &tiff_chain(5, Some(3)), "tail.tif", "archive.corrupt", within);
    // 100,000 pages (10 MB): the walk stops at the 2,000-page limit.
    assert_refused_fast(&archive, &tiff_chain(100_000, None), "many.tif", "archive.too_many_pages", within);
}
