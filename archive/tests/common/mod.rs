//! Helpers shared by the integration tests: real image files made with the
//! `image` and `tiff` crates, a small PDF, counters for objects and temp
//! files, and a signing key.

#![allow(dead_code)]

use std::io::Cursor;
use std::path::Path;

use ed25519_dalek::SigningKey;
use xueji_archive::{Archive, ArchiveConfig, Entry, PaperKind};

/// A PNG of `w`×`h` with a gradient (so it does not compress to nothing).
pub fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 7) as u8, (y * 3) as u8, ((x + y) * 5) as u8]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).expect("encode png");
    out.into_inner()
}

/// A JPEG of `w`×`h`.
pub fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 5) as u8, (y * 9) as u8, ((x ^ y) * 3) as u8]));
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85).encode_image(&img).expect("encode jpeg");
    out
}

/// A TIFF with `pages` RGB pages of `w`×`h`.
pub fn tiff(pages: u32, w: u32, h: u32) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    {
        let mut enc = tiff::encoder::TiffEncoder::new(&mut out).expect("tiff encoder");
        for p in 0..pages {
            let data: Vec<u8> = (0..w * h * 3).map(|i| (i * (p + 1)) as u8).collect();
            enc.write_image::<tiff::encoder::colortype::RGB8>(w, h, &data).expect("tiff page");
        }
    }
    out.into_inner()
}

/// A TIFF with `pages` 32-bit greyscale pages: valid, decodable by the
/// `tiff` crate, but a layout the `image` crate does not render.
pub fn tiff_gray32(pages: u32, w: u32, h: u32) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    {
        let mut enc = tiff::encoder::TiffEncoder::new(&mut out).expect("tiff encoder");
        for p in 0..pages {
            let data: Vec<u32> = (0..w * h).map(|i| i.wrapping_mul(p + 1)).collect();
            enc.write_image::<tiff::encoder::colortype::Gray32>(w, h, &data).expect("tiff page");
        }
    }
    out.into_inner()
}

/// A small but well-formed PDF with `pages` pages.
pub fn pdf(pages: u32) -> Vec<u8> {
    let mut s = String::from("%PDF-1.4\n");
    let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", i + 3)).collect();
    s.push_str("1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
    s.push_str(&format!("2 0 obj\n<< /Type /Pages /Kids [{}] /Count {pages} >>\nendobj\n", kids.join(" ")));
    for i in 0..pages {
        s.push_str(&format!("{} 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>\nendobj\n", i + 3));
    }
    s.push_str("trailer\n<< /Root 1 0 R >>\n%%EOF\n");
    s.into_bytes()
}

/// CRC-32 (IEEE), for patching PNG chunks.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// A valid small PNG whose IHDR claims `w`×`h` (CRC fixed up).
pub fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut bytes = png(4, 4);
    // Signature (8) + length (4) + "IHDR" (4), then width and height.
    bytes[16..20].copy_from_slice(&w.to_be_bytes());
    bytes[20..24].copy_from_slice(&h.to_be_bytes());
    let crc = crc32(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    bytes
}

/// An archive in a fresh temp dir.
pub fn archive(config: ArchiveConfig) -> (tempfile::TempDir, Archive) {
    let dir = tempfile::tempdir().expect("temp dir");
    let archive = Archive::open(dir.path().join("archive"), config).expect("open archive");
    (dir, archive)
}

/// Number of objects in the archive.
pub fn object_count(archive: &Archive) -> usize {
    archive.store().list().expect("list").len()
}

/// Number of `.tmp-*` entries anywhere under `dir`.
pub fn temp_count(dir: &Path) -> usize {
    let mut n = 0;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    for entry in entries {
        let entry = entry.expect("entry");
        if entry.file_name().to_string_lossy().starts_with(".tmp-") {
            n += 1;
        }
        if entry.file_type().expect("type").is_dir() {
            n += temp_count(&entry.path());
        }
    }
    n
}

/// A fixed signing key (tests must be reproducible).
pub fn signing_key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

/// An RFC 3339 timestamp.
pub const NOW: &str = "2024-09-01T08:30:00+08:00";

/// Ingests `bytes` and returns the dossier entry for it, added by `clerk-01` at [`NOW`].
pub fn entry(archive: &Archive, bytes: &[u8], name: &str, kind: PaperKind) -> Entry {
    let got = archive.ingest(&mut &bytes[..], name).expect("ingest");
    Entry {
        digest: got.digest,
        kind,
        pages: got.inspection.pages,
        original_name: name.into(),
        media_type: got.inspection.media_type().into(),
        size: got.size,
        added_by: "clerk-01".into(),
        added_at: NOW.into(),
        supersedes: None,
    }
}

/// A file of the archive by its path under the root, whichever store.
pub fn read_rel(archive: &Archive, rel: &str) -> Option<Vec<u8>> {
    match archive.remote() {
        Some(s3) => s3.get_bytes(rel, u64::MAX).expect("get"),
        None => std::fs::read(archive.root().join(rel)).ok(),
    }
}

/// The kept archive's inventories, in whichever store `archive` is: a
/// dossier of two versions, a text read after version 1 was filed. Version
/// inventories are written once; the current one lists every file by its
/// path and sha256, each version's papers and their texts; the README is
/// at the root; the fixity check sees no strays.
pub fn check_inventories(archive: &Archive) {
    use std::collections::BTreeMap;
    use xueji_archive::{Digest, NewVersion};
    let version = |entries: Vec<Entry>, note: &str| NewVersion {
        created_at: NOW.into(),
        created_by: "clerk-01".into(),
        entries,
        note: note.into(),
    };
    let form = entry(archive, &png(40, 30), "登记表.png", PaperKind::RegistrationForm);
    archive.add_version("d-1", version(vec![form.clone()], "建档")).expect("v1");
    let none = BTreeMap::new();
    let first = archive.write_inventory("d-1", &none).expect("inventory");
    assert_eq!((first.versions, first.version_files_written, first.texts), (1, 1, 0));
    let v1 = archive.version_inventory("d-1", 1).expect("read").expect("v1 inventory");

    let text = archive.put_derived("json", br#"{"format":"xueji-text/1"}"#.to_vec()).expect("text");
    let register = entry(archive, &pdf(2), "户口簿.pdf", PaperKind::HouseholdRegister);
    archive.add_version("d-1", version(vec![form.clone(), register.clone()], "补充")).expect("v2");
    let texts = BTreeMap::from([(form.digest, text), (Digest::of(b"not in this dossier"), text)]);
    let second = archive.write_inventory("d-1", &texts).expect("inventory");
    assert_eq!((second.versions, second.version_files_written, second.texts), (2, 1, 1));
    assert_eq!(archive.version_inventory("d-1", 1).expect("read"), Some(v1), "written once");

    let current: serde_json::Value =
        serde_json::from_slice(&archive.inventory("d-1").expect("read").expect("current")).expect("JSON");
    assert_eq!(current["type"], "xueji-dossier-inventory/1");
    assert_eq!(current["head"], "v2");
    let paper = &current["versions"]["v2"]["state"][form.digest.to_hex()];
    assert_eq!(paper["kind"], "登记表");
    assert_eq!(paper["added_at"], NOW);
    assert_eq!(paper["text"], format!("derived/{text}.json"));
    assert_eq!(current["versions"]["v2"]["state"][register.digest.to_hex()]["pages"], 2);
    assert_eq!(current["versions"]["v1"]["file"], "dossiers/d-1/v1.json");
    // Two objects, two versions, one text: each where it says, with its sum.
    let listed = current["manifest"].as_object().expect("manifest");
    assert_eq!(listed.len(), 5, "{current}");
    for (sum, paths) in listed {
        for path in paths.as_array().expect("paths") {
            let bytes = read_rel(archive, path.as_str().expect("path")).unwrap_or_else(|| panic!("{path} is there"));
            assert_eq!(&Digest::of(&bytes).to_hex(), sum, "{path}");
        }
    }
    let readme = String::from_utf8(read_rel(archive, "README.txt").expect("README")).expect("UTF-8");
    assert!(readme.contains("objects/") && readme.contains("inventories/") && readme.contains("derived/"));
    // Nothing to write the second time; the listings are no strays.
    assert_eq!(archive.write_inventory("d-1", &texts).expect("again").version_files_written, 0);
    let report = archive.verify(&|_| {}).expect("fixity");
    assert!(report.stray.is_empty(), "{:?}", report.stray);
}
