//! Ingest checks on real files: accepted types, page counts, thumbnails, and
//! every refusal leaving neither object nor temp file.

mod common;

use std::time::{Duration, Instant};

use xueji_archive::{Archive, ArchiveConfig, FileType, InspectConfig};

/// Ingests `bytes` as `name`, expects refusal with `code`, and checks that
/// nothing was left behind.
fn assert_refused(archive: &Archive, bytes: &[u8], name: &str, code: &str) {
    let objects = common::object_count(archive);
    let temps = common::temp_count(archive.root());
    let err = archive.ingest(&mut &bytes[..], name).expect_err("should be refused");
    assert_eq!(err.code(), code, "{name}: {err}");
    assert!(!err.to_string().is_empty());
    assert_eq!(common::object_count(archive), objects, "{name}: object left");
    assert_eq!(common::temp_count(archive.root()), temps, "{name}: temp left");
}

#[test]
fn accepts_jpeg_png_tiff_pdf_with_pages_and_thumbnails() {
    let (_dir, archive) = common::archive(ArchiveConfig::default());

    let jpeg = common::jpeg(800, 600);
    let got = archive.ingest(&mut &jpeg[..], "登记表.JPG").expect("jpeg");
    assert_eq!(got.inspection.file_type, FileType::Jpeg);
    assert_eq!(got.inspection.media_type(), "image/jpeg");
    assert_eq!(got.inspection.pages, 1);
    assert_eq!((got.inspection.width, got.inspection.height), (Some(800), Some(600)));
    let thumb = got.inspection.thumbnail.expect("thumbnail");
    assert_eq!((thumb.width, thumb.height), (256, 192));
    assert_eq!(image::load_from_memory(&thumb.bytes).expect("thumbnail decodes").width(), 256);

    let png = common::png(120, 300);
    let got = archive.ingest(&mut &png[..], "户口簿").expect("png");
    assert_eq!(got.inspection.file_type, FileType::Png);
    let thumb = got.inspection.thumbnail.expect("thumbnail");
    assert!(thumb.width <= 256 && thumb.height == 256);

    let pdf = common::pdf(3);
    let got = archive.ingest(&mut &pdf[..], "诊断证明.pdf").expect("pdf");
    assert_eq!(got.inspection.file_type, FileType::Pdf);
    assert_eq!(got.inspection.pages, 3);
    assert!(got.inspection.thumbnail.is_none());

    assert_eq!(common::object_count(&archive), 3);
    assert_eq!(common::temp_count(archive.root()), 0);
}

#[test]
fn multi_page_tiff_counts_its_pages() {
    let (_dir, archive) = common::archive(ArchiveConfig::default());
    let tiff = common::tiff(4, 64, 48);
    let got = archive.ingest(&mut &tiff[..], "转学证明.tif").expect("tiff");
    assert_eq!(got.inspection.file_type, FileType::Tiff);
    assert_eq!(got.inspection.pages, 4);
    assert_eq!((got.inspection.width, got.inspection.height), (Some(64), Some(48)));
    assert!(got.inspection.thumbnail.is_some());

    // A layout only the tiff crate decodes: still validated and counted,
    // without a thumbnail.
    let gray32 = common::tiff_gray32(3, 20, 10);
    let got = archive.ingest(&mut &gray32[..], "gray.tif").expect("gray32 tiff");
    assert_eq!(got.inspection.pages, 3);
    assert_eq!((got.inspection.width, got.inspection.height), (Some(20), Some(10)));
    assert!(got.inspection.thumbnail.is_none());
    assert_refused(&archive, &gray32[..gray32.len() / 2], "gray-cut.tif", "archive.corrupt");

    let single = common::tiff(1, 10, 10);
    let got = archive.ingest(&mut &single[..], "x.tiff").expect("tiff");
    assert_eq!(got.inspection.pages, 1);
}

#[test]
fn refuses_unsupported_types() {
    let (_dir, archive) = common::archive(ArchiveConfig::default());
    assert_refused(&archive, b"GIF89a\x01\x00\x01\x00rest", "scan.gif", "archive.type_unsupported");
    assert_refused(&archive, b"PK\x03\x04 a docx", "scan.docx", "archive.type_unsupported");
    assert_refused(&archive, "只是一段文字".as_bytes(), "note.jpg", "archive.type_unsupported");
    assert_refused(&archive, b"", "empty.png", "archive.empty");
}

#[test]
fn refuses_name_contradicting_bytes() {
    let (_dir, archive) = common::archive(ArchiveConfig::default());
    assert_refused(&archive, &common::png(10, 10), "scan.jpg", "archive.extension_mismatch");
    assert_refused(&archive, &common::jpeg(10, 10), "scan.pdf", "archive.extension_mismatch");
    assert_refused(&archive, &common::pdf(1), "scan.tif", "archive.extension_mismatch");
    assert_refused(&archive, &common::tiff(1, 8, 8), "scan.png", "archive.extension_mismatch");
}

#[test]
fn refuses_truncated_images() {
    let (_dir, archive) = common::archive(ArchiveConfig::default());
    let jpeg = common::jpeg(400, 300);
    assert_refused(&archive, &jpeg[..jpeg.len() * 6 / 10], "a.jpg", "archive.corrupt");
    assert_refused(&archive, &jpeg[..jpeg.len() - 2], "b.jpg", "archive.corrupt");
    let png = common::png(400, 300);
    assert_refused(&archive, &png[..png.len() * 6 / 10], "a.png", "archive.corrupt");
    assert_refused(&archive, &png[..png.len() - 12], "b.png", "archive.corrupt");
    let tiff = common::tiff(3, 64, 64);
    assert_refused(&archive, &tiff[..tiff.len() / 2], "a.tif", "archive.corrupt");
    let pdf = common::pdf(2);
    assert_refused(&archive, &pdf[..pdf.len() - 10], "a.pdf", "archive.corrupt");

    // A PNG with a damaged data chunk (bad CRC) is refused too.
    let mut damaged = common::png(64, 64);
    let idat = damaged.windows(4).position(|w| w == b"IDAT").expect("IDAT");
    damaged[idat + 10] ^= 0xFF;
    assert_refused(&archive, &damaged, "c.png", "archive.corrupt");
}

#[test]
fn refuses_huge_pixel_count_from_header_quickly() {
    let (_dir, archive) = common::archive(ArchiveConfig::default());
    let bomb = common::png_claiming(100_000, 100_000);
    let started = Instant::now();
    assert_refused(&archive, &bomb, "bomb.png", "archive.image_too_large");
    assert!(started.elapsed() < Duration::from_secs(1), "took {:?}", started.elapsed());
    let err = archive.ingest(&mut &bomb[..], "bomb.png").expect_err("refused");
    assert!(err.to_string().contains("100000×100000"), "{err}");

    // A JPEG whose frame header claims 60000×60000.
    let mut jpeg = common::jpeg(16, 16);
    let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).expect("SOF0");
    jpeg[sof + 5..sof + 7].copy_from_slice(&60_000u16.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&60_000u16.to_be_bytes());
    let started = Instant::now();
    assert_refused(&archive, &jpeg, "huge.jpg", "archive.image_too_large");
    assert!(started.elapsed() < Duration::from_secs(1));

    // Within each side's limit but too many pixels overall.
    let config = ArchiveConfig {
        inspect: InspectConfig { max_image_pixels: 1_000_000, ..InspectConfig::default() },
        ..ArchiveConfig::default()
    };
    let (_dir2, strict) = common::archive(config);
    assert_refused(&strict, &common::png_claiming(2000, 2000), "wide.png", "archive.image_too_large");
}

#[test]
fn refuses_images_needing_more_memory_than_allowed() {
    let config = ArchiveConfig {
        inspect: InspectConfig { max_decode_alloc: 50_000, ..InspectConfig::default() },
        ..ArchiveConfig::default()
    };
    let (_dir, archive) = common::archive(config);
    // 200×200 RGB needs 120 000 bytes decoded.
    assert_refused(&archive, &common::png(200, 200), "m.png", "archive.image_too_large");
    assert_refused(&archive, &common::jpeg(200, 200), "m.jpg", "archive.image_too_large");
    assert_refused(&archive, &common::tiff(2, 200, 200), "m.tif", "archive.image_too_large");
    assert!(archive.ingest(&mut &common::png(50, 50)[..], "ok.png").is_ok());
}

#[test]
fn refuses_oversize_files() {
    let config = ArchiveConfig {
        inspect: InspectConfig { max_size: 2_000, ..InspectConfig::default() },
        ..ArchiveConfig::default()
    };
    let (_dir, archive) = common::archive(config);
    let big = common::png(200, 200);
    assert!(big.len() > 2_000);
    assert_refused(&archive, &big, "big.png", "archive.too_large");
    let small = common::png(4, 4);
    assert!(archive.ingest(&mut &small[..], "small.png").is_ok());
}

#[test]
fn refuses_too_many_pages() {
    let config = ArchiveConfig {
        inspect: InspectConfig { max_pages: 2, ..InspectConfig::default() },
        ..ArchiveConfig::default()
    };
    let (_dir, archive) = common::archive(config);
    assert_refused(&archive, &common::tiff(3, 8, 8), "p.tif", "archive.too_many_pages");
    assert_refused(&archive, &common::pdf(3), "p.pdf", "archive.too_many_pages");
    assert!(archive.ingest(&mut &common::pdf(2)[..], "ok.pdf").is_ok());
}

#[test]
fn same_file_twice_is_one_object() {
    let (_dir, archive) = common::archive(ArchiveConfig::default());
    let png = common::png(30, 30);
    let a = archive.ingest(&mut &png[..], "a.png").expect("a");
    let b = archive.ingest(&mut &png[..], "b.png").expect("b");
    assert!(a.created && !b.created);
    assert_eq!(a.digest, b.digest);
    assert_eq!(common::object_count(&archive), 1);
}
