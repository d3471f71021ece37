//! The archive on a real S3-compatible server (SeaweedFS in `.ci/run`):
//! the same guarantees as on the local disk. Runs when `XUEJI_TEST_S3_URL`
//! names a bucket (`s3://bucket/prefix?endpoint=http://127.0.0.1:8333`, keys
//! in `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`); each test works under
//! a prefix of its own.

mod common;

use std::io::Read;

use xueji_archive::{
    Archive, ArchiveConfig, Digest, ExportOptions, NewVersion, PaperKind, S3Credentials, S3Location, S3Store,
    SweepOptions, key_id_for,
};

/// A fresh prefix in the test bucket, or `None` (with a note) when no server is configured.
fn location() -> Option<S3Location> {
    let Ok(url) = std::env::var("XUEJI_TEST_S3_URL") else {
        assert!(std::env::var_os("CI").is_none(), "XUEJI_TEST_S3_URL is not set under CI (.ci/run starts SeaweedFS)");
        eprintln!("XUEJI_TEST_S3_URL is not set: the S3 tests need a server (.ci/run starts SeaweedFS)");
        return None;
    };
    let mut location = S3Location::parse(&url).expect("XUEJI_TEST_S3_URL");
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_nanos();
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let own = format!("t-{}-{nanos}-{n}", std::process::id());
    location.prefix = if location.prefix.is_empty() { own } else { format!("{}/{own}", location.prefix) };
    Some(location)
}

fn open(dir: &std::path::Path, location: &S3Location) -> Archive {
    Archive::open_s3(dir.join("archive"), ArchiveConfig::default(), location.clone(), credentials()).expect("open s3")
}

fn credentials() -> S3Credentials {
    S3Credentials::from_env().expect("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
}

fn version(entries: Vec<xueji_archive::Entry>, note: &str) -> NewVersion {
    NewVersion { created_at: common::NOW.into(), created_by: "clerk-01".into(), entries, note: note.into() }
}

#[test]
fn each_dossier_has_a_plain_inventory_and_the_root_a_readme() {
    let Some(location) = location() else { return };
    let dir = tempfile::tempdir().expect("dir");
    common::check_inventories(&open(dir.path(), &location));
}

#[test]
fn objects_are_write_once_named_by_their_hash_and_read_back_whole() {
    let Some(location) = location() else { return };
    let dir = tempfile::tempdir().expect("dir");
    let archive = open(dir.path(), &location);
    let store = archive.store();
    let bytes = common::png(40, 30);
    let first = store.put(&mut &bytes[..], 1 << 20).expect("put");
    assert!(first.created);
    assert_eq!(first.digest, Digest::of(&bytes));
    let again = store.put(&mut &bytes[..], 1 << 20).expect("put again");
    assert!(!again.created, "same bytes, same object");
    assert!(store.exists(&first.digest).expect("exists"));
    assert_eq!(store.size(&first.digest).expect("size"), bytes.len() as u64);
    assert_eq!(store.list().expect("list"), vec![first.digest]);
    let mut back = Vec::new();
    archive.open_verified(&first.digest).expect("get").read_to_end(&mut back).expect("read");
    assert_eq!(back, bytes);

    let missing = Digest::of(b"never stored");
    assert_eq!(store.get(&missing).err().map(|e| e.code()), Some("archive.object_not_found"));
    assert!(!store.exists(&missing).expect("exists"));

    // Over the limit: refused while streaming, nothing stored, no temp file left.
    let err = store.put(&mut &vec![7u8; 2048][..], 1024).expect_err("too large");
    assert_eq!(err.code(), "archive.too_large");
    assert_eq!(store.list().expect("list").len(), 1);
    assert_eq!(common::temp_count(dir.path()), 0);

    // A name is never written twice: a put under an existing key changes nothing.
    let remote = archive.remote().expect("remote");
    let key = S3Store::object_rel(&first.digest);
    assert!(!remote.put_new(&key, bytes::Bytes::from_static(b"other bytes")).expect("put_new"));
    let mut back = Vec::new();
    archive.open_verified(&first.digest).expect("get").read_to_end(&mut back).expect("read");
    assert_eq!(back, bytes, "the object kept its bytes");
}

#[test]
fn dossiers_ingest_version_verify_and_sweep_on_the_store() {
    let Some(location) = location() else { return };
    let dir = tempfile::tempdir().expect("dir");
    let archive = open(dir.path(), &location);
    let a = common::entry(&archive, &common::png(32, 32), "户口簿.png", PaperKind::HouseholdRegister);
    let b = common::entry(&archive, &common::pdf(2), "登记表.pdf", PaperKind::RegistrationForm);
    assert_eq!(b.pages, 2);
    let v1 = archive.add_version("S-001", version(vec![a.clone()], "首次建档")).expect("v1");
    let v2 = archive.add_version("S-001", version(vec![b.clone()], "补充")).expect("v2");
    assert_eq!((v1.version, v2.version), (1, 2));
    assert_eq!(archive.latest("S-001").expect("latest").expect("some").version, 2);
    assert_eq!(archive.history("S-001").expect("history").len(), 2);
    assert_eq!(archive.manifests().dossier_ids().expect("ids"), vec!["S-001".to_owned()]);
    // A second service instance on the same bucket sees the same dossier.
    let other_dir = tempfile::tempdir().expect("dir");
    let other = open(other_dir.path(), &location);
    assert_eq!(other.history("S-001").expect("history"), archive.history("S-001").expect("history"));
    // An entry whose object is not stored is refused.
    let mut ghost = a.clone();
    ghost.digest = Digest::of(b"ghost");
    assert_eq!(
        archive.add_version("S-001", version(vec![ghost], "")).expect_err("ghost").code(),
        "archive.object_not_found"
    );
    // Thumbnails and page counts read a checked local copy, removed afterwards.
    let pages = archive
        .with_local_copy(&b.digest, |path| Ok(xueji_archive::inspect(path, "", &Default::default())?.pages))
        .expect("inspect");
    assert_eq!(pages, 2);
    assert_eq!(common::temp_count(dir.path()), 0);

    let clean = archive.verify(&|_| ()).expect("verify");
    assert!(clean.is_clean(), "{clean:?}");
    assert_eq!((clean.objects_checked, clean.manifests_checked), (2, 2));

    // Damage the store behind the archive's back: an object under the wrong
    // name, a referenced object gone, a stray key, an unreferenced object.
    let remote = archive.remote().expect("remote");
    let liar = Digest::of(b"what the name promises");
    remote.put_new(&S3Store::object_rel(&liar), bytes::Bytes::from_static(b"something else")).expect("liar");
    remote.delete(&S3Store::object_rel(&a.digest)).expect("delete");
    remote.put_new("objects/notes.txt", bytes::Bytes::from_static(b"?")).expect("stray");
    let report = archive.verify(&|_| ()).expect("verify");
    assert_eq!(report.changed.len(), 1, "{report:?}");
    assert_eq!(report.changed[0].expected, liar);
    assert_eq!(report.missing.iter().map(|m| m.digest).collect::<Vec<_>>(), vec![a.digest]);
    assert_eq!(report.stray.len(), 1);
    assert!(report.stray[0].to_string_lossy().starts_with("s3://"), "{:?}", report.stray);
    assert!(report.stray[0].to_string_lossy().ends_with("objects/notes.txt"));
    assert_eq!(report.unreferenced_recent.len(), 1, "the liar is young and unreferenced");

    // The sweep removes what no version names once it is old enough, and only that.
    let swept = archive
        .sweep(&SweepOptions { older_than: std::time::Duration::ZERO, unreferenced: true, ..SweepOptions::default() })
        .expect("sweep");
    assert_eq!(swept.objects_removed.len(), 1, "{swept:?}");
    assert!(!archive.store().exists(&liar).expect("exists"));
    assert!(archive.store().exists(&b.digest).expect("exists"), "a referenced object stays");
}

#[test]
fn a_dossier_travels_between_a_bucket_and_a_local_archive_byte_for_byte() {
    let Some(location) = location() else { return };
    let dir = tempfile::tempdir().expect("dir");
    let remote = open(dir.path(), &location);
    let scan = common::tiff(3, 64, 48);
    let entry = common::entry(&remote, &scan, "学籍卡.tiff", PaperKind::Other);
    remote.add_version("S-9", version(vec![entry.clone()], "")).expect("v1");

    let key = common::signing_key(3);
    let verifying = key.verifying_key();
    let id = key_id_for(&verifying);
    let mut bag = std::io::Cursor::new(Vec::new());
    let options = ExportOptions {
        signing_key: &key,
        derived: &[],
        source_organization: "测试县教育局",
        bagging_date: "2024-09-01",
        key_id: &id,
    };
    remote.export_bag("S-9", b"{}", &options, &mut bag).expect("export");

    let (_local_dir, local) = common::archive(ArchiveConfig::default());
    bag.set_position(0);
    let imported = local.import_bag(bag, &|k| (k == id).then_some(verifying)).expect("import");
    assert_eq!(imported.manifests.len(), 1);
    assert_eq!(local.read_verified(&entry.digest).expect("read"), scan);

    // And back into a fresh prefix of the bucket.
    let Some(second) = self::location() else { return };
    let dir2 = tempfile::tempdir().expect("dir");
    let remote2 = open(dir2.path(), &second);
    let mut bag = std::io::Cursor::new(Vec::new());
    local.add_version("S-9", version(vec![entry.clone()], "")).expect("v1 local");
    local.export_bag("S-9", b"{}", &options, &mut bag).expect("export local");
    bag.set_position(0);
    remote2.import_bag(bag, &|k| (k == id).then_some(verifying)).expect("import to s3");
    assert_eq!(remote2.read_verified(&entry.digest).expect("read"), scan);
}

#[test]
fn wrong_keys_or_a_missing_bucket_are_told_at_open_with_a_code() {
    let Some(location) = location() else { return };
    let dir = tempfile::tempdir().expect("dir");
    let wrong = S3Credentials { access_key_id: "nobody".into(), secret_access_key: "wrong-secret".into() };
    let err = Archive::open_s3(dir.path(), ArchiveConfig::default(), location.clone(), wrong).expect_err("wrong keys");
    assert_eq!(err.code(), "archive.store_denied", "{err}");
    assert!(!err.to_string().contains("wrong-secret"));

    let nowhere = S3Location { endpoint: "http://127.0.0.1:9".into(), ..location };
    let started = std::time::Instant::now();
    let err = Archive::open_s3(dir.path(), ArchiveConfig::default(), nowhere, credentials()).expect_err("no server");
    assert_eq!(err.code(), "archive.store_unavailable", "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(60), "gives up after its retries");
}
