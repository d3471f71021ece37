//! The store opened through the spellings a user's set-up gives it: a
//! relative path (the README's default `data/`), one with `./` and `..`, and
//! one through a symlinked parent. Once, a relative root made every commit
//! fall back to a copy that staged and committed again, without end: the
//! server died of a stack overflow on its first upload.

use std::io::Cursor;
use std::path::{Component, Path, PathBuf};

use xueji_archive::{Archive, ArchiveConfig, Digest, LocalStore, ObjectStore, StagedObject, TEMP_PREFIX};

/// `to` relative to `from` (both absolute), e.g. `../target/tmp/x`.
fn relative(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<Component<'_>> = from.components().collect();
    let to: Vec<Component<'_>> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for c in &to[common..] {
        out.push(c.as_os_str());
    }
    out
}

/// A fresh directory under cargo's temp dir for integration tests, and its
/// spelling relative to the working directory the tests run in.
fn fresh_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let cwd = std::env::current_dir().expect("working directory");
    let rel = relative(&cwd, &std::fs::canonicalize(dir.path()).expect("canonical"));
    assert!(rel.is_relative(), "{}", rel.display());
    (dir, rel)
}

fn temp_files(objects: &Path) -> usize {
    std::fs::read_dir(objects)
        .expect("objects dir")
        .filter(|e| e.as_ref().expect("entry").file_name().to_string_lossy().starts_with(TEMP_PREFIX))
        .count()
}

fn put_twice(store: &LocalStore) {
    let bytes = b"\xFF\xD8\xFF one scan, put twice";
    let first = store.put(&mut &bytes[..], 1 << 20).expect("first put");
    assert!(first.created);
    let second = store.put(&mut &bytes[..], 1 << 20).expect("second put");
    assert!(!second.created);
    assert_eq!(first.digest, second.digest);
    assert_eq!(first.digest, Digest::of(bytes));
    assert_eq!(store.list().expect("list"), vec![first.digest]);
    assert!(store.objects_dir().is_absolute(), "{}", store.objects_dir().display());
    assert_eq!(temp_files(store.objects_dir()), 0, "no temp file left");
}

#[test]
fn relative_root_puts_the_same_bytes_twice() {
    let (_dir, rel) = fresh_dir();
    put_twice(&LocalStore::open(rel.join("archive")).expect("open relative"));
}

#[test]
fn dotted_root_puts_the_same_bytes_twice() {
    let (dir, rel) = fresh_dir();
    std::fs::create_dir(dir.path().join("sub")).expect("sub");
    let dotted = Path::new(".").join(&rel).join("sub").join("..").join(".").join("archive");
    let store = LocalStore::open(&dotted).expect("open dotted");
    put_twice(&store);
    // The same directory spelled absolutely sees the same object.
    let again = LocalStore::open(dir.path().join("archive")).expect("open absolute");
    assert_eq!(again.objects_dir(), store.objects_dir());
    assert_eq!(again.list().expect("list").len(), 1);
}

#[test]
fn symlinked_parent_puts_the_same_bytes_twice() {
    let (dir, rel) = fresh_dir();
    std::fs::create_dir(dir.path().join("real")).expect("real");
    std::os::unix::fs::symlink("real", dir.path().join("link")).expect("symlink");
    let store = LocalStore::open(rel.join("link").join("archive")).expect("open through symlink");
    put_twice(&store);
    assert!(dir.path().join("real").join("archive").join("objects").is_dir());
}

#[test]
fn archive_on_a_relative_root_ingests_twice() {
    let (_dir, rel) = fresh_dir();
    let archive = Archive::open(rel.join("data").join("archive"), ArchiveConfig::default()).expect("open");
    assert!(archive.root().is_absolute());
    let img = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8, y as u8, 7]));
    let mut jpeg = Cursor::new(Vec::new());
    img.write_to(&mut jpeg, image::ImageFormat::Jpeg).expect("encode");
    let jpeg = jpeg.into_inner();
    let a = archive.ingest(&mut &jpeg[..], "户口簿.jpg").expect("first ingest");
    let b = archive.ingest(&mut &jpeg[..], "户口簿.jpg").expect("second ingest");
    assert!(a.created && !b.created);
    assert_eq!(a.digest, b.digest);
    assert_eq!(temp_files(archive.local_store().expect("local store").objects_dir()), 0);
}

#[test]
fn a_file_staged_elsewhere_is_refused_by_commit_and_copied_by_put_staged() {
    let (dir, _) = fresh_dir();
    let store = LocalStore::open(dir.path().join("archive")).expect("open");
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).expect("elsewhere");

    let staged = StagedObject::write(&elsewhere, &mut &b"bytes"[..], 100).expect("stage");
    let err = store.commit(staged).expect_err("not ours to move");
    assert_eq!(err.code(), "archive.staged_elsewhere");
    assert!(store.list().expect("list").is_empty());

    let staged = StagedObject::write(&elsewhere, &mut &b"bytes"[..], 100).expect("stage");
    let out = store.put_staged(staged).expect("copied");
    assert!(out.created);
    assert_eq!(out.digest, Digest::of(b"bytes"));
    assert_eq!(std::fs::read_dir(&elsewhere).expect("ls").count(), 0, "the foreign temp file is gone");
    assert_eq!(temp_files(store.objects_dir()), 0);
}
