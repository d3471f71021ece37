//! Complete fixity and the sweep on a real archive: a stray file in
//! `dossiers/` does not stop the walk, unreferenced objects are reported by
//! name once they are old, and the sweep removes stale temp files (and, when
//! asked, old unreferenced objects) while keeping everything referenced,
//! young, or still needed.

mod common;

use std::collections::HashSet;
use std::fs::{self, File};
use std::path::Path;
use std::time::{Duration, SystemTime};

use xueji_archive::{Archive, ArchiveConfig, Entry, NewVersion, PaperKind, SweepOptions};

const TWO_HOURS: Duration = Duration::from_secs(2 * 3600);

/// Sets a file's (or a directory's) modification time `age` into the past.
fn age(path: &Path, age: Duration) {
    File::open(path).expect("open").set_modified(SystemTime::now() - age).expect("mtime");
}

/// An archive with one dossier version naming one PDF, and one old object
/// that no version names.
fn with_orphan() -> (tempfile::TempDir, Archive, Entry, xueji_archive::Digest) {
    let (dir, archive) = common::archive(ArchiveConfig::default());
    let kept = common::entry(&archive, &common::pdf(1), "登记表.pdf", PaperKind::Other);
    archive
        .add_version(
            "dossier-1",
            NewVersion {
                created_at: common::NOW.into(),
                created_by: "clerk-01".into(),
                entries: vec![kept.clone()],
                note: String::new(),
            },
        )
        .expect("version");
    let orphan = archive.ingest(&mut &common::pdf(3)[..], "中断.pdf").expect("ingest").digest;
    age(&archive.local_store().expect("local store").object_path(&orphan), TWO_HOURS);
    (dir, archive, kept, orphan)
}

#[test]
fn a_stray_file_in_dossiers_is_reported_and_the_walk_goes_on() {
    let (_dir, archive, kept, orphan) = with_orphan();
    let stray = archive.manifests().dir().join("notes.txt");
    fs::write(&stray, b"left here by hand").expect("write");
    let report = archive.verify(&|_| {}).expect("verify");
    assert_eq!(report.stray, vec![stray]);
    assert_eq!(report.manifests_checked, 1);
    assert_eq!(report.objects_checked, 2);
    assert!(report.missing.is_empty() && report.changed.is_empty());
    // The old object that no version names is reported by name.
    let unreferenced: Vec<_> = report.unreferenced.iter().map(|u| (u.digest, u.path.clone())).collect();
    assert_eq!(unreferenced, vec![(orphan, archive.local_store().expect("local store").object_path(&orphan))]);
    assert!(!unreferenced.iter().any(|(d, _)| *d == kept.digest));
    assert_eq!(report.problem_count(), 2);
}

#[test]
fn a_young_unreferenced_object_is_an_upload_in_progress_not_a_problem() {
    let (_dir, archive) = common::archive(ArchiveConfig::default());
    let digest = archive.ingest(&mut &common::pdf(2)[..], "刚上传.pdf").expect("ingest").digest;
    let report = archive.verify(&|_| {}).expect("verify");
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.unreferenced_recent, vec![archive.local_store().expect("local store").object_path(&digest)]);
}

#[test]
fn storing_the_same_bytes_again_makes_an_old_object_young() {
    let (_dir, archive, _, orphan) = with_orphan();
    archive.ingest(&mut &common::pdf(3)[..], "再次上传.pdf").expect("ingest");
    let report = archive.verify(&|_| {}).expect("verify");
    assert!(report.unreferenced.is_empty(), "{report:?}");
    // So a sweep running now leaves it to the version about to name it.
    let swept = archive.sweep(&SweepOptions { unreferenced: true, ..SweepOptions::default() }).expect("sweep");
    assert!(swept.objects_removed.is_empty());
    assert!(archive.store().exists(&orphan).expect("exists"));
}

#[test]
fn sweep_removes_stale_temps_and_leaves_young_ones_and_every_object() {
    let (_dir, archive, kept, orphan) = with_orphan();
    let objects = archive.local_store().expect("local store").objects_dir().to_path_buf();
    let stale = objects.join(".tmp-crashed");
    fs::write(&stale, vec![7u8; 1000]).expect("write");
    age(&stale, TWO_HOURS);
    let stale_in_dossier = archive.manifests().dossier_dir("dossier-1").expect("dir").join(".tmp-manifest");
    fs::write(&stale_in_dossier, b"{").expect("write");
    age(&stale_in_dossier, TWO_HOURS);
    // A staging directory whose files are old, and one still being written.
    let staging = archive.root().join("staging");
    fs::create_dir_all(&staging).expect("mkdir");
    let old_bag = staging.join(".tmp-bag-old");
    fs::create_dir(&old_bag).expect("mkdir");
    fs::write(old_bag.join("a"), vec![1u8; 500]).expect("write");
    age(&old_bag.join("a"), TWO_HOURS);
    age(&old_bag, TWO_HOURS);
    let live_bag = staging.join(".tmp-bag-live");
    fs::create_dir(&live_bag).expect("mkdir");
    fs::write(live_bag.join("b"), b"now").expect("write");
    age(&live_bag, TWO_HOURS); // the directory is old, its file is not
    let fresh = objects.join(".tmp-in-progress");
    fs::write(&fresh, b"x").expect("write");

    let dry = archive.sweep(&SweepOptions { dry_run: true, ..SweepOptions::default() }).expect("dry run");
    let mut expected = vec![stale.clone(), stale_in_dossier.clone(), old_bag.clone()];
    expected.sort();
    assert_eq!(dry.temps_removed, expected);
    assert!(stale.exists() && old_bag.exists(), "a dry run removes nothing");

    let swept = archive.sweep(&SweepOptions::default()).expect("sweep");
    assert_eq!(swept.temps_removed, expected);
    assert_eq!(swept.bytes_freed, 1000 + 1 + 500);
    assert_eq!(swept.temps_in_progress, 2);
    assert!(!stale.exists() && !stale_in_dossier.exists() && !old_bag.exists());
    assert!(fresh.exists() && live_bag.join("b").exists());
    // Unreferenced objects stay unless asked for.
    assert_eq!(swept.unreferenced_kept, 1);
    assert!(archive.store().exists(&orphan).expect("exists"));
    assert!(archive.store().exists(&kept.digest).expect("exists"));

    let report = archive.verify(&|_| {}).expect("verify");
    assert!(report.stale_temps.is_empty());
    assert_eq!(report.unreferenced.len(), 1);
}

#[test]
fn sweep_of_unreferenced_objects_keeps_what_is_referenced_or_still_needed() {
    let (_dir, archive, kept, orphan) = with_orphan();
    let needed = archive.ingest(&mut &common::pdf(4)[..], "导入中.pdf").expect("ingest").digest;
    age(&archive.local_store().expect("local store").object_path(&needed), TWO_HOURS);
    let options = SweepOptions { unreferenced: true, keep: HashSet::from([needed]), ..SweepOptions::default() };
    let swept = archive.sweep(&options).expect("sweep");
    assert_eq!(swept.objects_removed, vec![archive.local_store().expect("local store").object_path(&orphan)]);
    assert_eq!(swept.unreferenced_kept, 1);
    assert!(!archive.store().exists(&orphan).expect("exists"));
    assert!(archive.store().exists(&needed).expect("exists"));
    assert!(archive.store().exists(&kept.digest).expect("exists"));
    let report = archive.verify(&|_| {}).expect("verify");
    assert!(report.missing.is_empty() && report.changed.is_empty());
}

#[test]
fn an_unreadable_manifest_stops_the_sweep_of_unreferenced_objects() {
    let (_dir, archive, _, orphan) = with_orphan();
    let broken = archive.manifests().dossier_dir("dossier-1").expect("dir").join("v2.json");
    fs::write(&broken, b"{ not json").expect("write");
    let swept = archive.sweep(&SweepOptions { unreferenced: true, ..SweepOptions::default() }).expect("sweep");
    assert!(swept.objects_removed.is_empty());
    assert!(swept.unreferenced_refused.is_some());
    assert_eq!(swept.failed.iter().map(|f| f.path.clone()).collect::<Vec<_>>(), vec![broken]);
    assert!(archive.store().exists(&orphan).expect("exists"));
}
