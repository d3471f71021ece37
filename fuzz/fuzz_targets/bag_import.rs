//! `xueji_archive::import_bag` on arbitrary bytes read as a zip, seeded
//! with packages made by `export_bag` and signed with the key trusted here
//! (`[1; 32]`, the integration tests' `signing_key(1)`).
//!
//! The objects go to a `MemoryStore` made afresh for each input; the
//! staging directory is one temp directory per process, and after every
//! input it must be empty again (import removes its staging whatever
//! happens). The import limits are the defaults: what the service uses.

#![no_main]

use std::io::Cursor;
use std::path::PathBuf;
use std::sync::OnceLock;

use ed25519_dalek::{SigningKey, VerifyingKey};
use libfuzzer_sys::fuzz_target;
use xueji_archive::{ImportLimits, MemoryStore, ObjectStore, import_bag, key_id_for};

fn staging() -> &'static PathBuf {
    static STAGING: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &STAGING
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("staging dir");
            let path = dir.path().join("staging");
            (dir, path)
        })
        .1
}

fn trusted(id: &str) -> Option<VerifyingKey> {
    static KEY: OnceLock<(String, VerifyingKey)> = OnceLock::new();
    let (key_id, key) = KEY.get_or_init(|| {
        let key = SigningKey::from_bytes(&[1; 32]).verifying_key();
        (key_id_for(&key), key)
    });
    (id == key_id).then_some(*key)
}

fuzz_target!(|data: &[u8]| {
    let store = MemoryStore::new();
    let staging = staging();
    let result = import_bag(Cursor::new(data), &trusted, &ImportLimits::default(), staging, &store);
    match result {
        Ok(bag) => assert_eq!(store.list().expect("list").len(), bag.objects.len()),
        Err(_) => assert!(store.list().expect("list").is_empty(), "a refused bag stored objects"),
    }
    if let Ok(mut left) = std::fs::read_dir(staging) {
        assert!(left.next().is_none(), "staging not cleaned up");
    }
});
