//! Object store behaviour on a real filesystem: deduplication, concurrent
//! puts, size limit, no leftovers.

mod common;

use std::io::{Cursor, Read};
use std::sync::{Arc, Barrier};

use xueji_archive::{Digest, LocalStore, ObjectStore};

#[test]
fn same_bytes_twice_is_one_object() {
    let dir = tempfile::tempdir().expect("dir");
    let store = LocalStore::open(dir.path()).expect("open");
    let bytes = common::png(50, 40);
    let a = store.put(&mut &bytes[..], u64::MAX).expect("put");
    let b = store.put(&mut &bytes[..], u64::MAX).expect("put");
    assert!(a.created);
    assert!(!b.created);
    assert_eq!(a.digest, b.digest);
    assert_eq!(a.digest, Digest::of(&bytes));
    assert_eq!(store.list().expect("list"), vec![a.digest]);
    let path = store.object_path(&a.digest);
    assert_eq!(
        path.strip_prefix(dir.path()).expect("under root"),
        std::path::Path::new("objects").join(&a.digest.to_hex()[..2]).join(a.digest.to_hex())
    );
    assert_eq!(std::fs::read(&path).expect("read"), bytes);
    assert_eq!(common::temp_count(dir.path()), 0);
}

#[test]
fn fifty_concurrent_puts_of_the_same_file() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Arc::new(LocalStore::open(dir.path()).expect("open"));
    let bytes = Arc::new(common::jpeg(300, 200));
    let barrier = Arc::new(Barrier::new(50));
    let handles: Vec<_> = (0..50)
        .map(|_| {
            let store = Arc::clone(&store);
            let bytes = Arc::clone(&bytes);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                store.put(&mut Cursor::new(&bytes[..]), u64::MAX).expect("put")
            })
        })
        .collect();
    let outcomes: Vec<_> = handles.into_iter().map(|h| h.join().expect("thread")).collect();
    let expected = Digest::of(&bytes);
    assert!(outcomes.iter().all(|o| o.digest == expected));
    assert_eq!(outcomes.iter().filter(|o| o.created).count(), 1);
    assert_eq!(store.list().expect("list"), vec![expected]);
    assert_eq!(common::temp_count(dir.path()), 0);
    let mut back = Vec::new();
    store.get(&expected).expect("get").read_to_end(&mut back).expect("read");
    assert_eq!(&back, &*bytes);
}

#[test]
fn size_limit_enforced_while_streaming() {
    let dir = tempfile::tempdir().expect("dir");
    let store = LocalStore::open(dir.path()).expect("open");
    // An endless stream: only a streaming limit can stop it.
    let mut endless = std::io::repeat(7);
    let err = store.put(&mut endless, 1024 * 1024).expect_err("limit");
    assert_eq!(err.code(), "archive.too_large");
    assert!(store.list().expect("list").is_empty());
    assert_eq!(common::temp_count(dir.path()), 0);
}
