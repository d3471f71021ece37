//! Writes the seed files of the fuzz targets (`fuzz/seeds/`, see
//! docs/fuzzing.md) from the same helpers as the other tests. Ignored: run
//! it by hand after changing a format,
//! `cargo test -p xueji-archive --test fuzz_seeds -- --ignored`.

mod common;

use std::io::Cursor;
use std::path::{Path, PathBuf};

use xueji_archive::{ArchiveConfig, Entry, ExportOptions, NewVersion, PaperKind, key_id_for};

fn seeds(target: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds").join(target);
    std::fs::create_dir_all(&dir).expect("seed dir");
    dir
}

fn encoded(image: impl Into<image::DynamicImage>, format: image::ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.into().write_to(&mut out, format).expect("encode");
    out.into_inner()
}

/// A package of one dossier in `versions` (1 or 2) versions, signed with
/// `signing_key(1)`, the key the bag_import target trusts.
fn package(versions: u32) -> Vec<u8> {
    let (_dir, archive) = common::archive(ArchiveConfig::default());
    let form = common::entry(&archive, &common::png(6, 5), "登记表.png", PaperKind::RegistrationForm);
    let first = NewVersion {
        created_at: common::NOW.into(),
        created_by: "clerk-01".into(),
        entries: vec![form.clone()],
        note: "首次建档".into(),
    };
    archive.add_version("学籍-2024-0001", first).expect("v1");
    if versions > 1 {
        let diagnosis = common::entry(&archive, &common::pdf(1), "诊断证明.pdf", PaperKind::Diagnosis);
        let rescan = common::entry(&archive, &common::png(7, 5), "重扫.png", PaperKind::RegistrationForm);
        let second = NewVersion {
            created_at: "2024-10-08T10:00:00+08:00".into(),
            created_by: "clerk-02".into(),
            entries: vec![Entry { supersedes: Some(form.digest), ..rescan }, diagnosis],
            note: "转学".into(),
        };
        archive.add_version("学籍-2024-0001", second).expect("v2");
    }
    let key = common::signing_key(1);
    let key_id = key_id_for(&key.verifying_key());
    let options = ExportOptions {
        source_organization: "某某县教育局",
        bagging_date: "2024-10-08",
        key_id: &key_id,
        signing_key: &key,
        derived: &[],
    };
    let mut bag = Cursor::new(Vec::new());
    archive.export_bag("学籍-2024-0001", br#"{"student":"x"}"#, &options, &mut bag).expect("export");
    bag.into_inner()
}

#[test]
#[ignore = "writes fuzz/seeds; run by hand"]
fn write_fuzz_seeds() {
    use image::ImageFormat::Png;
    let images = seeds("inspect_image");
    let write = |dir: &Path, name: &str, bytes: &[u8]| std::fs::write(dir.join(name), bytes).expect("write seed");
    write(&images, "small.png", &common::png(8, 6));
    write(&images, "small.jpg", &common::jpeg(9, 7));
    write(&images, "two-pages.tif", &common::tiff(2, 4, 3));
    write(&images, "gray32.tif", &common::tiff_gray32(2, 3, 3));
    let gray = image::GrayImage::from_fn(5, 5, |x, y| image::Luma([(x * 40 + y) as u8]));
    write(&images, "gray.png", &encoded(gray, Png));
    let rgba = image::RgbaImage::from_fn(4, 4, |x, y| image::Rgba([x as u8 * 60, y as u8 * 60, 9, (x * y * 15) as u8]));
    write(&images, "rgba.png", &encoded(rgba, Png));
    let gray16 = image::ImageBuffer::<image::Luma<u16>, _>::from_fn(3, 3, |x, y| image::Luma([(x * 9000 + y) as u16]));
    write(&images, "gray16.png", &encoded(gray16, Png));
    let mut jpeg = Vec::new();
    let gray = image::GrayImage::from_fn(9, 9, |x, y| image::Luma([(x * 20 + y) as u8]));
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 70).encode_image(&gray).expect("jpeg");
    write(&images, "gray.jpg", &jpeg);

    let pdfs = seeds("inspect_pdf");
    write(&pdfs, "one-page.pdf", &common::pdf(1));
    write(&pdfs, "three-pages.pdf", &common::pdf(3));
    // Strings, a stream, a hex string and a comment holding brackets.
    let mut pdf = String::from("%PDF-1.7\n%\u{e2}\u{e3}\n");
    pdf.push_str("1 0 obj\n<< /Type /Catalog /Pages 2 0 R /Names << /Dests [ (a) [3 0 R /XYZ 0 0 0] ] >> >>\nendobj\n");
    pdf.push_str("2 0 obj\n<</Type/Pages/Kids[3 0 R]/Count 1>>\nendobj\n");
    pdf.push_str("3 0 obj\n<</Type/Page/Parent 2 0 R/Contents 4 0 R/MediaBox[0 0 595 842]>>\nendobj\n");
    pdf.push_str("4 0 obj\n<< /Length 44 >>\nstream\nBT /F1 12 Tf 72 712 Td (Hello \\) [[) Tj ET\nendstream\nendobj\n");
    pdf.push_str("5 0 obj\n<0a1B> % comment [[[\nendobj\n");
    pdf.push_str("xref\n0 6\n0000000000 65535 f \ntrailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n9\n%%EOF\n");
    write(&pdfs, "streams-strings.pdf", pdf.as_bytes());

    let bags = seeds("bag_import");
    write(&bags, "one-version.zip", &package(1));
    write(&bags, "two-versions.zip", &package(2));
}
