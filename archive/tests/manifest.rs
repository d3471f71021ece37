//! Dossier versions on a real filesystem: append-only, old versions stay
//! readable, concurrent writers lose nothing, entries must exist.

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Barrier};

use xueji_archive::{ArchiveConfig, Digest, Entry, NewVersion, PaperKind};

fn version(created_by: &str, entries: Vec<Entry>) -> NewVersion {
    NewVersion { created_at: common::NOW.into(), created_by: created_by.into(), entries, note: String::new() }
}

#[test]
fn concurrent_writers_lose_no_version() {
    let (_dir, archive) = common::archive(ArchiveConfig::default());
    let archive = Arc::new(archive);
    const WRITERS: usize = 8;
    const EACH: usize = 5;
    let barrier = Arc::new(Barrier::new(WRITERS));
    let handles: Vec<_> = (0..WRITERS)
        .map(|w| {
            let archive = Arc::clone(&archive);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                (0..EACH)
                    .map(|i| {
                        archive
                            .add_version("学籍-2024-0001", version(&format!("w{w}-{i}"), vec![]))
                            .expect("append")
                            .version
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut numbers = Vec::new();
    for h in handles {
        numbers.extend(h.join().expect("thread"));
    }
    numbers.sort_unstable();
    let expected: Vec<u32> = (1..=(WRITERS * EACH) as u32).collect();
    assert_eq!(numbers, expected);

    let history = archive.history("学籍-2024-0001").expect("history");
    assert_eq!(history.len(), WRITERS * EACH);
    let authors: BTreeSet<_> = history.iter().map(|m| m.created_by.clone()).collect();
    assert_eq!(authors.len(), WRITERS * EACH, "a version was overwritten");
    assert!(archive.verify(&|_| {}).expect("verify").is_clean());
}

#[test]
fn versions_are_files_that_are_never_overwritten() {
    let (_dir, archive) = common::archive(ArchiveConfig::default());
    let png = common::png(20, 20);
    let got = archive.ingest(&mut &png[..], "表.png").expect("ingest");
    let entry = Entry {
        digest: got.digest,
        kind: "学生基本信息表".parse().expect("kind"),
        pages: 1,
        original_name: "表.png".into(),
        media_type: "image/png".into(),
        size: got.size,
        added_by: "clerk".into(),
        added_at: common::NOW.into(),
        supersedes: None,
    };
    let v1 = archive.add_version("d/1", version("clerk", vec![entry.clone()])).expect("v1");
    let path1 = archive.manifests().version_path("d/1", 1).expect("path");
    let bytes1 = std::fs::read(&path1).expect("read");
    let json: serde_json::Value = serde_json::from_slice(&bytes1).expect("json");
    assert_eq!(json["entries"][0]["kind"], "basic_info_form");
    assert_eq!(json["entries"][0]["digest"], got.digest.to_hex());
    assert!(path1.ends_with("d%2F1/v1.json"), "{}", path1.display());

    let v2 = archive.add_version("d/1", version("clerk", vec![])).expect("v2");
    assert_eq!(v2.version, 2);
    assert_eq!(std::fs::read(&path1).expect("read"), bytes1);
    assert_eq!(archive.manifest("d/1", 1).expect("v1"), v1);
    assert_eq!(archive.latest("d/1").expect("latest"), Some(v2));
    assert_eq!(entry.kind, PaperKind::BasicInfoForm);
}

#[test]
fn entries_must_reference_stored_objects() {
    let (_dir, archive) = common::archive(ArchiveConfig::default());
    let ghost = Entry {
        digest: Digest::of(b"never stored"),
        kind: PaperKind::Other,
        pages: 1,
        original_name: "x.png".into(),
        media_type: "image/png".into(),
        size: 12,
        added_by: "clerk".into(),
        added_at: common::NOW.into(),
        supersedes: None,
    };
    let err = archive.add_version("d", version("clerk", vec![ghost])).expect_err("refused");
    assert_eq!(err.code(), "archive.object_not_found");
    assert!(archive.manifests().versions("d").expect("versions").is_empty());
}
