//! BagIt transfer packages: a full round trip between two archives, and
//! every refusal leaving the receiving store untouched.

mod common;

use std::fs::File;
use std::io::{Cursor, Read, Seek, Write};

use ed25519_dalek::VerifyingKey;
use xueji_archive::{Archive, ArchiveConfig, Entry, ExportOptions, ImportLimits, NewVersion, PaperKind, key_id_for};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

const RECORD: &[u8] = br#"{"student":"opaque to the archive","grade":3}"#;
/// The text read off the registration form (a derived file, opaque here).
const FORM_TEXT: &[u8] = r#"{"format":"xueji-text/1","pages":[{"page":1,"text":"登记表"}]}"#.as_bytes();

/// A source archive with one dossier in two versions, exported to bytes.
fn exported() -> (tempfile::TempDir, Archive, Vec<u8>) {
    let (dir, archive) = common::archive(ArchiveConfig::default());
    let form = common::entry(&archive, &common::png(80, 60), "登记表.png", PaperKind::RegistrationForm);
    let household = common::entry(&archive, &common::jpeg(90, 70), "户口簿.jpg", PaperKind::HouseholdRegister);
    let proof = common::entry(&archive, &common::tiff(2, 30, 30), "转学证明.tif", PaperKind::TransferProof);
    let diagnosis = common::entry(&archive, &common::pdf(2), "诊断证明.pdf", PaperKind::Diagnosis);
    archive
        .add_version(
            "学籍-2024-0001",
            NewVersion {
                created_at: common::NOW.into(),
                created_by: "clerk-01".into(),
                entries: vec![form.clone(), household.clone()],
                note: "首次建档".into(),
            },
        )
        .expect("v1");
    let rescan = common::entry(&archive, &common::png(81, 60), "登记表-重扫.png", PaperKind::RegistrationForm);
    let rescan = Entry { supersedes: Some(form.digest), ..rescan };
    archive
        .add_version(
            "学籍-2024-0001",
            NewVersion {
                created_at: "2024-10-08T10:00:00+08:00".into(),
                created_by: "clerk-02".into(),
                entries: vec![rescan, household, proof, diagnosis],
                note: "转学".into(),
            },
        )
        .expect("v2");
    let key = common::signing_key(1);
    let key_id = key_id_for(&key.verifying_key());
    // One text of an object in the bag, one of an object that is not.
    let derived = [(form.digest, FORM_TEXT.to_vec()), (xueji_archive::Digest::of(b"elsewhere"), b"{}".to_vec())];
    let mut bag = Cursor::new(Vec::new());
    let summary = archive
        .export_bag(
            "学籍-2024-0001",
            RECORD,
            &ExportOptions {
                source_organization: "某某县教育局",
                bagging_date: "2024-10-08",
                key_id: &key_id,
                signing_key: &key,
                derived: &derived,
            },
            &mut bag,
        )
        .expect("export");
    assert_eq!(summary.versions, 2);
    assert_eq!(summary.objects, 5);
    // record, versions, objects, the form's text, README and inventory.
    assert_eq!(summary.payload_files, 1 + 2 + 5 + 1 + 2);
    (dir, archive, bag.into_inner())
}

fn trusted(id: &str) -> Option<VerifyingKey> {
    let key = common::signing_key(1).verifying_key();
    (id == key_id_for(&key)).then_some(key)
}

/// Imports `bag` into `target`, expects refusal with `code`, and checks the
/// target store and staging area are unchanged.
fn assert_refused(target: &Archive, bag: &[u8], code: &str) {
    assert_refused_with(target, bag, &trusted, code);
}

fn assert_refused_with(target: &Archive, bag: &[u8], keys: &dyn Fn(&str) -> Option<VerifyingKey>, code: &str) {
    let before = target.store().list().expect("list");
    let err = target.import_bag(Cursor::new(bag), keys).expect_err("should be refused");
    assert_eq!(err.code(), code, "{err}");
    assert_eq!(target.store().list().expect("list"), before);
    assert_eq!(common::temp_count(target.root()), 0);
    assert!(target.verify(&|_| {}).expect("verify").is_clean());
}

/// Rewrites a zip entry by entry: `edit` may change or drop each entry;
/// `extra` entries are appended.
fn rewrite(bag: &[u8], edit: impl Fn(&str, Vec<u8>) -> Option<Vec<u8>>, extra: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = ZipArchive::new(Cursor::new(bag)).expect("zip");
    let mut out = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).expect("entry");
        let name = entry.name().expect("name").into_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).expect("read");
        if let Some(bytes) = edit(&name, bytes) {
            out.start_file(name, options).expect("start");
            out.write_all(&bytes).expect("write");
        }
    }
    for (name, bytes) in extra {
        out.start_file(*name, options).expect("start");
        out.write_all(bytes).expect("write");
    }
    out.finish().expect("finish").into_inner()
}

fn zip_with(entries: &[(&str, &[u8])]) -> Vec<u8> {
    rewrite(&zip_empty(), |_, b| Some(b), entries)
}

fn zip_empty() -> Vec<u8> {
    ZipWriter::new(Cursor::new(Vec::new())).finish().expect("finish").into_inner()
}

#[test]
fn round_trip_gives_identical_objects_and_equal_manifests() {
    let (_src_dir, source, bag) = exported();
    let form = source.history("学籍-2024-0001").expect("history")[0].entries[0].clone();
    let (_dst_dir, target) = common::archive(ArchiveConfig::default());

    let imported = target.import_bag(Cursor::new(&bag), &trusted).expect("import");
    assert_eq!(imported.dossier_id, "学籍-2024-0001");
    assert_eq!(imported.manifests, source.history("学籍-2024-0001").expect("history"));
    assert_eq!(imported.record_json, RECORD);
    assert_eq!(imported.key_id, key_id_for(&common::signing_key(1).verifying_key()));
    assert_eq!(imported.objects_created, 5);
    assert_eq!(
        imported.bag_info.iter().find(|(k, _)| k == "Source-Organization").map(|(_, v)| v.as_str()),
        Some("某某县教育局")
    );

    let objects = source.store().list().expect("list");
    assert_eq!(imported.objects, objects);
    assert_eq!(target.store().list().expect("list"), objects);
    for d in &objects {
        let a = std::fs::read(source.local_store().expect("local store").object_path(d)).expect("read");
        let b = std::fs::read(target.local_store().expect("local store").object_path(d)).expect("read");
        assert_eq!(a, b, "object {d} differs");
    }
    assert_eq!(common::temp_count(target.root()), 0);
    assert!(target.verify(&|_| {}).expect("verify").is_clean());

    // The bag's layout as documented.
    let mut zip = ZipArchive::new(Cursor::new(&bag)).expect("zip");
    let mut bagit = String::new();
    zip.by_name("bagit.txt").expect("bagit").read_to_string(&mut bagit).expect("read");
    assert_eq!(bagit, "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n");
    let names: Vec<String> = zip.file_names().map(|n| n.expect("name").into_owned()).collect();
    for required in [
        "bag-info.txt",
        "data/record.json",
        "data/manifest/v1.json",
        "data/manifest/v2.json",
        "manifest-sha256.txt",
        "tagmanifest-sha256.txt",
        "signature.ed25519",
    ] {
        assert!(names.iter().any(|n| n == required), "{required} missing");
    }
    assert_eq!(names.iter().filter(|n| n.starts_with("data/objects/")).count(), 5);
    assert_eq!(names.iter().filter(|n| n.starts_with("data/text/")).count(), 1);
    assert_eq!(imported.derived.len(), 1);
    assert_eq!(imported.derived[0].1, FORM_TEXT);
    assert!(imported.manifests[0].entries.iter().any(|e| e.digest == imported.derived[0].0));

    // Readable without the program: a README in Chinese, and an inventory
    // naming every payload file by its sha256 and each version's papers.
    let mut readme = String::new();
    zip.by_name("data/README.txt").expect("README").read_to_string(&mut readme).expect("read");
    assert!(readme.contains("objects/") && readme.contains("SHA-256"), "{readme}");
    let mut inventory = String::new();
    zip.by_name("data/inventory.json").expect("inventory").read_to_string(&mut inventory).expect("read");
    let inventory: serde_json::Value = serde_json::from_str(&inventory).expect("inventory is JSON");
    assert_eq!(inventory["head"], "v2");
    let mut listed = String::new();
    zip.by_name("manifest-sha256.txt").expect("manifest").read_to_string(&mut listed).expect("read");
    for line in listed.lines().filter(|l| !l.ends_with("data/inventory.json")) {
        let (digest, path) = line.split_once("  ").expect("a checksum line");
        let paths = inventory["manifest"][digest].as_array().unwrap_or_else(|| panic!("{path} not in the inventory"));
        assert!(paths.iter().any(|p| p == path.trim_start_matches("data/")), "{path}");
    }
    assert_eq!(inventory["versions"]["v2"]["state"].as_object().expect("state").len(), 4);
    assert_eq!(inventory["versions"]["v1"]["state"][form.digest.to_hex()]["kind"], "登记表");

    // Importing the same bag again adds nothing.
    let again = target.import_bag(Cursor::new(&bag), &trusted).expect("import again");
    assert_eq!(again.objects_created, 0);
}

#[test]
fn refuses_unsafe_entry_names() {
    let (_dir, target) = common::archive(ArchiveConfig::default());
    assert_refused(&target, &zip_with(&[("../evil", b"x")]), "archive.bag_path_traversal");
    assert_refused(&target, &zip_with(&[("data/../../evil", b"x")]), "archive.bag_path_traversal");
    assert_refused(&target, &zip_with(&[("/abs", b"x")]), "archive.bag_path_absolute");
    assert_refused(&target, &zip_with(&[("C:evil", b"x")]), "archive.bag_path_drive");
    assert_refused(&target, &zip_with(&[("data\\evil", b"x")]), "archive.bag_path_invalid");
    assert!(!target.root().parent().expect("parent").join("evil").exists());
}

#[test]
fn refuses_symlink_entries() {
    let (_dir, target) = common::archive(ArchiveConfig::default());
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    zip.add_symlink("data/link", "/etc/passwd", SimpleFileOptions::default()).expect("symlink");
    let bag = zip.finish().expect("finish").into_inner();
    assert_refused(&target, &bag, "archive.bag_symlink");
}

#[test]
fn refuses_too_many_entries() {
    let config = ArchiveConfig {
        import: ImportLimits { max_entries: 10, ..ImportLimits::default() },
        ..ArchiveConfig::default()
    };
    let (_dir, target) = common::archive(config);
    let names: Vec<String> = (0..11).map(|i| format!("data/f{i}")).collect();
    let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
    assert_refused(&target, &zip_with(&entries), "archive.bag_too_many_entries");
}

/// Writes a zip holding 200 MiB of zeros, deflated, to a temp file without
/// holding the data in memory.
fn zip_bomb(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("bomb.zip");
    let mut zip = ZipWriter::new(File::create(&path).expect("create"));
    zip.start_file("data/objects/zeros", SimpleFileOptions::default().compression_method(CompressionMethod::Deflated))
        .expect("start");
    let zeros = vec![0u8; 1024 * 1024];
    for _ in 0..200 {
        zip.write_all(&zeros).expect("write");
    }
    zip.finish().expect("finish");
    path
}

#[test]
fn refuses_zip_bomb_by_actual_bytes_and_by_ratio() {
    let work = tempfile::tempdir().expect("dir");
    let bomb = zip_bomb(work.path());
    assert!(std::fs::metadata(&bomb).expect("meta").len() < 2 * 1024 * 1024);

    // Size limit, with the ratio check out of the way.
    let config = ArchiveConfig {
        import: ImportLimits {
            max_unpacked_bytes: 50 * 1024 * 1024,
            max_compression_ratio: u64::MAX,
            ..ImportLimits::default()
        },
        ..ArchiveConfig::default()
    };
    let (_dir, target) = common::archive(config);
    let bytes = std::fs::read(&bomb).expect("read");
    assert_refused(&target, &bytes, "archive.bag_too_large");

    // Ratio limit, with a generous size limit.
    let config = ArchiveConfig {
        import: ImportLimits {
            max_unpacked_bytes: 1024 * 1024 * 1024,
            max_compression_ratio: 100,
            ..ImportLimits::default()
        },
        ..ArchiveConfig::default()
    };
    let (_dir2, target2) = common::archive(config);
    let mut reader = File::open(&bomb).expect("open");
    reader.rewind().expect("rewind");
    let before = target2.store().list().expect("list");
    let err = target2.import_bag(reader, &trusted).expect_err("refused");
    assert_eq!(err.code(), "archive.bag_compression_ratio");
    assert_eq!(target2.store().list().expect("list"), before);
    assert_eq!(common::temp_count(target2.root()), 0);

    // A central directory that lies about the packed size (claiming ~4 GiB)
    // does not hide the ratio: the packed bytes are bounded by the layout.
    let mut lying = bytes.clone();
    let cd = lying.windows(4).rposition(|w| w == b"PK\x01\x02").expect("central directory header");
    lying[cd + 20..cd + 24].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    assert_refused(&target2, &lying, "archive.bag_compression_ratio");
}

#[test]
fn refuses_changed_payload_byte() {
    let (_src, _source, bag) = exported();
    let (_dir, target) = common::archive(ArchiveConfig::default());
    let tampered = rewrite(
        &bag,
        |name, mut bytes| {
            if name.starts_with("data/objects/") && name.ends_with(".png") {
                let mid = bytes.len() / 2;
                bytes[mid] ^= 0x01;
            }
            Some(bytes)
        },
        &[],
    );
    assert_refused(&target, &tampered, "archive.bag_hash_mismatch");
}

#[test]
fn refuses_changed_record_and_tag_files() {
    let (_src, _source, bag) = exported();
    let (_dir, target) = common::archive(ArchiveConfig::default());
    let record =
        rewrite(&bag, |name, bytes| Some(if name == "data/record.json" { b"{}".to_vec() } else { bytes }), &[]);
    assert_refused(&target, &record, "archive.bag_hash_mismatch");
    let info = rewrite(
        &bag,
        |name, bytes| {
            Some(if name == "bag-info.txt" {
                String::from_utf8(bytes).expect("utf8").replace("学籍-2024-0001", "学籍-2024-9999").into_bytes()
            } else {
                bytes
            })
        },
        &[],
    );
    assert_refused(&target, &info, "archive.bag_hash_mismatch");
}

#[test]
fn refuses_missing_and_extra_files() {
    let (_src, _source, bag) = exported();
    let (_dir, target) = common::archive(ArchiveConfig::default());
    let missing = rewrite(
        &bag,
        |name, bytes| (!(name.starts_with("data/objects/") && name.ends_with(".jpg"))).then_some(bytes),
        &[],
    );
    assert_refused(&target, &missing, "archive.bag_file_missing");
    let extra = rewrite(&bag, |_, b| Some(b), &[("data/extra.txt", b"surprise")]);
    assert_refused(&target, &extra, "archive.bag_file_extra");
    let extra_tag = rewrite(&bag, |_, b| Some(b), &[("notes.txt", b"surprise")]);
    assert_refused(&target, &extra_tag, "archive.bag_file_extra");
}

#[test]
fn refuses_bad_or_missing_signature_and_unknown_key() {
    let (_src, _source, bag) = exported();
    let (_dir, target) = common::archive(ArchiveConfig::default());

    let tampered_sig = rewrite(
        &bag,
        |name, bytes| {
            if name != "signature.ed25519" {
                return Some(bytes);
            }
            let text = String::from_utf8(bytes).expect("utf8");
            let (head, sig) = text.split_once("Signature: ").expect("signature line");
            let mut sig: Vec<u8> = sig.trim().bytes().collect();
            sig[10] = if sig[10] == b'0' { b'1' } else { b'0' };
            Some(format!("{head}Signature: {}\n", String::from_utf8(sig).expect("hex")).into_bytes())
        },
        &[],
    );
    assert_refused(&target, &tampered_sig, "archive.bag_signature_invalid");

    let tampered_tagmanifest = rewrite(
        &bag,
        |name, mut bytes| {
            if name == "tagmanifest-sha256.txt" {
                bytes.extend_from_slice(b"\n");
            }
            Some(bytes)
        },
        &[],
    );
    assert_refused(&target, &tampered_tagmanifest, "archive.bag_signature_invalid");

    let unsigned = rewrite(&bag, |name, b| (name != "signature.ed25519").then_some(b), &[]);
    assert_refused(&target, &unsigned, "archive.bag_signature_missing");

    assert_refused_with(&target, &bag, &|_| None, "archive.bag_key_unknown");

    // Signed by a key the receiver knows under that id, but a different one.
    let impostor = |_: &str| Some(common::signing_key(2).verifying_key());
    assert_refused_with(&target, &bag, &impostor, "archive.bag_signature_invalid");
}

#[test]
fn refuses_garbage() {
    let (_dir, target) = common::archive(ArchiveConfig::default());
    assert_refused(&target, b"not a zip at all", "archive.bag_zip");
    assert_refused(&target, &zip_with(&[("data/x", b"x")]), "archive.bag_invalid");
}
