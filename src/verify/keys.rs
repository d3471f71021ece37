//! Ed25519 signing keys, kept in one directory (the service's `data/keys/`).
//!
//! Files in the directory (created with mode 0700):
//! - `keys.json`: the key set — kid, algorithm, public key, status, creation
//!   time — and never any private material. It is the source of truth for
//!   statuses and is replaced atomically (temp file, fsync, rename, fsync dir).
//! - `<kid>.key`: one private Ed25519 seed per key, 64 lowercase hex digits and
//!   a newline, created with mode 0600. A key file with any group or other
//!   permission bit is refused. Only the active key's file is read.
//! - `.lock`: every writer ([`KeyStore::init`], [`KeyStore::rotate`],
//!   [`KeyStore::mark_compromised`]) holds an exclusive lock on it and re-reads
//!   `keys.json` under the lock, so the CLI and the server never lose each
//!   other's changes.
//!
//! The key id ([`Kid`]) is the first 4 bytes of SHA-256 of the 32-byte public
//! key, written as 8 lowercase hex digits: stable, derived from the key alone
//! and carried as 4 raw bytes in tokens.
//!
//! A [`KeyStore`] holds an immutable snapshot behind an `RwLock<Arc<_>>`:
//! readers only clone the `Arc`, [`KeyStore::reload`] swaps in a new snapshot
//! read from disk (call it after the CLI rotated keys, e.g. on a timer or a
//! signal), and the store is `Send + Sync` for sharing in an `Arc`.

use std::fmt;
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use std::sync::{Arc, PoisonError, RwLock};

pub use super::kid::Kid;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SubsecRound, Utc};
use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

mod files;
use files::{add_active_key, load_snapshot, lock, read_key_set, write_key_set};

/// Name of the public key set file inside the key directory.
pub const KEYS_FILE: &str = "keys.json";
/// The only signature algorithm.
pub const ALGORITHM: &str = "Ed25519";
/// The `format` field of `keys.json` and of the published key set.
pub const KEY_SET_FORMAT: &str = "xueji-keys/1";

const LOCK_FILE: &str = ".lock";
const TEMP_FILE: &str = ".keys.json.tmp";
const KEY_SUFFIX: &str = ".key";
/// A private key file is 64 hex digits and a newline; anything longer is not one.
const MAX_KEY_FILE: u64 = 256;
/// `keys.json` is a few hundred bytes per key.
const MAX_KEYS_FILE: u64 = 1 << 20;

/// Errors of the key store, with Chinese messages for operators.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A file or directory could not be read or written.
    #[error("读写 {path} 失败：{source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The directory or its `keys.json` does not exist.
    #[error("密钥目录 {0} 不存在或尚未初始化（缺少 keys.json）")]
    NotInitialized(PathBuf),
    /// A private key file is accessible to the group or to others.
    #[error("私钥文件 {path} 的权限为 {mode:04o}，同组或其他用户可以访问，拒绝加载；请执行 chmod 600 {path}")]
    InsecurePermissions {
        /// The private key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A key file exists but its content is not valid.
    #[error("密钥文件 {path} 无效：{reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong, in Chinese.
        reason: String,
    },
    /// Text that is not 8 hex digits was given as a key id.
    #[error("密钥编号 {0:?} 无效（应为 8 位十六进制数字）")]
    InvalidKid(String),
    /// No key with this id is in the store.
    #[error("密钥 {0} 不存在")]
    UnknownKid(Kid),
    /// No key is active (the active one was marked compromised).
    #[error("没有可用于签发的密钥（启用中的密钥可能已标记为泄露），请先轮换生成新密钥")]
    NoActiveKey,
    /// The active key cannot be retired on its own.
    #[error("密钥 {0} 正在启用中，不能直接停用：请轮换（xueji keys rotate），旧密钥随之停用")]
    RetireActive(Kid),
}

impl KeyError {
    fn io(path: &Path) -> impl FnOnce(io::Error) -> KeyError + '_ {
        move |source| KeyError::Io { path: path.to_owned(), source }
    }

    fn corrupt(path: &Path, reason: impl Into<String>) -> KeyError {
        KeyError::Corrupt { path: path.to_owned(), reason: reason.into() }
    }
}

/// What a key may still do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    /// Signs new documents and verifies; at most one key is active.
    Active,
    /// Verifies documents it signed; signs nothing new.
    Retired,
    /// Everything it signed fails verification.
    Compromised,
}

impl KeyStatus {
    /// The stable code used in `keys.json`: `active`, `retired`, `compromised`.
    pub fn code(self) -> &'static str {
        match self {
            KeyStatus::Active => "active",
            KeyStatus::Retired => "retired",
            KeyStatus::Compromised => "compromised",
        }
    }

    /// Chinese label for the CLI.
    pub fn label_zh(self) -> &'static str {
        match self {
            KeyStatus::Active => "启用",
            KeyStatus::Retired => "停用（仅验证）",
            KeyStatus::Compromised => "已泄露（全部作废）",
        }
    }
}

impl fmt::Display for KeyStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The public facts about one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// The key id.
    pub kid: Kid,
    /// The public key.
    pub public_key: VerifyingKey,
    /// What the key may still do.
    pub status: KeyStatus,
    /// When the key was generated: the start of its validity window.
    pub created: DateTime<Utc>,
    /// When it stopped signing (a rotation retired it): the end of its
    /// validity window. `None` while active, and for keys retired before
    /// the end was recorded.
    pub retired: Option<DateTime<Utc>>,
}

impl KeyInfo {
    /// Whether a document dated `issue_date` (a calendar date in China,
    /// UTC+8) falls within this key's validity window: not after the day it
    /// was retired. A retired key signs nothing dated later, so a retired
    /// key that leaks cannot make a new document.
    ///
    /// The start of the window (`created`) is published but not enforced: a
    /// document's date is the record's, not the clock's — a form printed
    /// again keeps its date and is signed by the key active then, and the
    /// service's date can be set (`XUEJI_TODAY`) before its keys existed.
    pub fn signs_on(&self, issue_date: chrono::NaiveDate) -> bool {
        let china = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8");
        self.retired.as_ref().is_none_or(|r| issue_date <= r.with_timezone(&china).date_naive())
    }
}

/// The active private key, with its id. `Debug` shows only the id.
#[derive(Clone)]
pub struct Signer {
    kid: Kid,
    key: SigningKey,
}

impl Signer {
    /// The id of this key.
    pub fn kid(&self) -> Kid {
        self.kid
    }

    /// The private key, for signing other artefacts than tokens (the
    /// archive's transfer packages). Never serialised or logged.
    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// The public half.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// Ed25519 signature of `message`.
    pub(super) fn sign_message(&self, message: &[u8]) -> Signature {
        ed25519_dalek::Signer::sign(&self.key, message)
    }

    /// A signer claiming any kid, for forging tests.
    #[cfg(test)]
    pub(super) fn forged(kid: Kid, key: SigningKey) -> Signer {
        Signer { kid, key }
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer").field("kid", &self.kid).finish_non_exhaustive()
    }
}

/// One entry of `keys.json` and of the published key set.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct KeyRecord {
    kid: Kid,
    algorithm: String,
    /// The 32-byte public key, base64url without padding.
    public_key: String,
    status: KeyStatus,
    /// The start of the key's validity window.
    created: DateTime<Utc>,
    /// The end of its validity window, once a rotation retired it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retired: Option<DateTime<Utc>>,
}

impl KeyRecord {
    fn new(key: &VerifyingKey, status: KeyStatus, created: DateTime<Utc>, retired: Option<DateTime<Utc>>) -> KeyRecord {
        KeyRecord {
            kid: Kid::of(key),
            algorithm: ALGORITHM.to_owned(),
            public_key: URL_SAFE_NO_PAD.encode(key.as_bytes()),
            status,
            created,
            retired,
        }
    }
}

/// `keys.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct KeySetFile {
    format: String,
    keys: Vec<KeyRecord>,
}

impl KeySetFile {
    fn empty() -> KeySetFile {
        KeySetFile { format: KEY_SET_FORMAT.to_owned(), keys: Vec::new() }
    }

    fn from_infos(infos: &[KeyInfo]) -> KeySetFile {
        KeySetFile {
            format: KEY_SET_FORMAT.to_owned(),
            keys: infos.iter().map(|k| KeyRecord::new(&k.public_key, k.status, k.created, k.retired)).collect(),
        }
    }

    /// Checks every record: algorithm, public key, kid, unique kids, at most
    /// one active key.
    fn validate(&self, path: &Path) -> Result<Vec<KeyInfo>, KeyError> {
        if self.format != KEY_SET_FORMAT {
            return Err(KeyError::corrupt(path, format!("格式 {:?} 不受支持（应为 {KEY_SET_FORMAT}）", self.format)));
        }
        let mut infos: Vec<KeyInfo> = Vec::with_capacity(self.keys.len());
        for record in &self.keys {
            let kid = record.kid;
            if record.algorithm != ALGORITHM {
                return Err(KeyError::corrupt(path, format!("密钥 {kid} 的算法 {:?} 不受支持", record.algorithm)));
            }
            let public_key = URL_SAFE_NO_PAD
                .decode(&record.public_key)
                .ok()
                .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
                .and_then(|bytes| VerifyingKey::from_bytes(&bytes).ok())
                .filter(|key| !key.is_weak())
                .ok_or_else(|| KeyError::corrupt(path, format!("密钥 {kid} 的公钥无效")))?;
            if Kid::of(&public_key) != kid {
                return Err(KeyError::corrupt(path, format!("密钥编号 {kid} 与其公钥不符")));
            }
            if infos.iter().any(|k| k.kid == kid) {
                return Err(KeyError::corrupt(path, format!("密钥编号 {kid} 重复")));
            }
            infos.push(KeyInfo {
                kid,
                public_key,
                status: record.status,
                created: record.created,
                retired: record.retired,
            });
        }
        if infos.iter().filter(|k| k.status == KeyStatus::Active).count() > 1 {
            return Err(KeyError::corrupt(path, "有多个启用中的密钥"));
        }
        Ok(infos)
    }
}

/// What the store holds in memory: the key set and the active private key.
#[derive(Debug)]
struct Snapshot {
    keys: Vec<KeyInfo>,
    signer: Option<Signer>,
    /// `keys.json`'s modification time when it was read.
    modified: Option<std::time::SystemTime>,
}

/// The key directory: public key set, statuses and the active private key.
///
/// Cheap to read concurrently (`&self` everywhere, no I/O on reads); share it
/// as `Arc<KeyStore>`. Changes made by another process show after
/// [`reload`](Self::reload); changes made through this value show at once.
#[derive(Debug)]
pub struct KeyStore {
    dir: PathBuf,
    snapshot: RwLock<Arc<Snapshot>>,
}

impl KeyStore {
    /// Opens an initialised key directory and loads the active private key.
    ///
    /// Fails with [`KeyError::NotInitialized`] if the directory or its
    /// `keys.json` is missing, and with [`KeyError::InsecurePermissions`] if
    /// the active key file is accessible to the group or others.
    pub fn open(dir: impl AsRef<Path>) -> Result<KeyStore, KeyError> {
        let dir = dir.as_ref().to_owned();
        let snapshot = load_snapshot(&dir)?;
        Ok(KeyStore { dir, snapshot: RwLock::new(Arc::new(snapshot)) })
    }

    /// Opens the key directory, first creating it (mode 0700, with missing
    /// parents) and a first active key if it holds no key yet.
    ///
    /// Idempotent: `created` is `true` only when a key was generated. A store
    /// whose keys are all retired or compromised is opened as is (use
    /// [`rotate`](Self::rotate)).
    pub fn init(dir: impl AsRef<Path>) -> Result<(KeyStore, bool), KeyError> {
        let dir = dir.as_ref();
        DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(KeyError::io(dir))?;
        let created = {
            let _lock = lock(dir)?;
            let mut file = match read_key_set(dir)? {
                Some((file, _)) => file,
                None => KeySetFile::empty(),
            };
            if file.keys.is_empty() {
                add_active_key(dir, &mut file)?;
                write_key_set(dir, &file)?;
                true
            } else {
                false
            }
        };
        Ok((KeyStore::open(dir)?, created))
    }

    /// The key directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Re-reads the directory (after another process changed it). On error
    /// the previous snapshot stays in use.
    pub fn reload(&self) -> Result<(), KeyError> {
        let snapshot = load_snapshot(&self.dir)?;
        *self.snapshot.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(snapshot);
        Ok(())
    }

    /// Generates a new key and makes it the active one; the previously active
    /// key becomes retired (it still verifies). Returns the new key's id.
    pub fn rotate(&self) -> Result<Kid, KeyError> {
        self.modify(add_active_key)
    }

    /// Marks a key compromised: every token it signed fails from now on.
    /// Marking the active key leaves no active key until the next
    /// [`rotate`](Self::rotate). Marking an already compromised key is a no-op.
    pub fn mark_compromised(&self, kid: Kid) -> Result<(), KeyError> {
        self.modify(|_, file| {
            let record = file.keys.iter_mut().find(|r| r.kid == kid).ok_or(KeyError::UnknownKid(kid))?;
            record.status = KeyStatus::Compromised;
            Ok(())
        })
    }

    /// Retires a key: it still verifies what it signed, and signs no more.
    /// The active key is not retired this way ([`KeyError::RetireActive`]):
    /// rotate instead, which retires it and makes a new one active.
    /// Retiring a retired key is a no-op; a compromised key stays compromised.
    pub fn retire(&self, kid: Kid) -> Result<(), KeyError> {
        self.modify(|_, file| {
            let record = file.keys.iter_mut().find(|r| r.kid == kid).ok_or(KeyError::UnknownKid(kid))?;
            match record.status {
                KeyStatus::Active => Err(KeyError::RetireActive(kid)),
                KeyStatus::Retired | KeyStatus::Compromised => Ok(()),
            }
        })
    }

    /// Marks a key compromised, as [`mark_compromised`](Self::mark_compromised),
    /// and when it was the active key makes a new one active in the same
    /// change, so that printing goes on. Returns the new active key, if one
    /// was made.
    pub fn compromise(&self, kid: Kid) -> Result<Option<Kid>, KeyError> {
        self.modify(|dir, file| {
            let record = file.keys.iter_mut().find(|r| r.kid == kid).ok_or(KeyError::UnknownKid(kid))?;
            let was_active = record.status == KeyStatus::Active;
            record.status = KeyStatus::Compromised;
            if was_active { add_active_key(dir, file).map(Some) } else { Ok(None) }
        })
    }

    /// Re-reads the directory if `keys.json` changed since the snapshot was
    /// read (another process rotated or marked a key); whether it did.
    pub fn reload_if_changed(&self) -> Result<bool, KeyError> {
        let on_disk = fs::metadata(self.dir.join(KEYS_FILE)).and_then(|m| m.modified()).ok();
        if on_disk.is_none() || on_disk == self.snapshot().modified {
            return Ok(false);
        }
        self.reload()?;
        Ok(true)
    }

    /// The active key, for signing.
    pub fn active_signer(&self) -> Result<Signer, KeyError> {
        self.snapshot().signer.clone().ok_or(KeyError::NoActiveKey)
    }

    /// The public key and status of `kid`, if the store knows it.
    pub fn verifying_key(&self, kid: Kid) -> Option<(VerifyingKey, KeyStatus)> {
        self.snapshot().keys.iter().find(|k| k.kid == kid).map(|k| (k.public_key, k.status))
    }

    /// Everything known of `kid` (its validity window too).
    pub fn info(&self, kid: Kid) -> Option<KeyInfo> {
        self.snapshot().keys.iter().find(|k| k.kid == kid).cloned()
    }

    /// Every key, oldest first.
    pub fn list(&self) -> Vec<KeyInfo> {
        self.snapshot().keys.clone()
    }

    /// The public key set for `/.well-known/xueji-keys.json`:
    /// `{"format": "xueji-keys/1", "keys": [{"kid", "algorithm": "Ed25519",
    /// "public_key" (base64url, no padding), "status", "created" (RFC 3339),
    /// and "retired" (RFC 3339) once retired}]}`: a trust list, each key with
    /// its validity window.
    /// Holds no private material.
    pub fn public_key_set(&self) -> serde_json::Value {
        let file = KeySetFile::from_infos(&self.snapshot().keys);
        serde_json::to_value(file).unwrap_or(serde_json::Value::Null)
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(&self.snapshot.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Runs `change` on the key set read from disk under the directory lock,
    /// writes the result, then reloads.
    fn modify<T>(&self, change: impl FnOnce(&Path, &mut KeySetFile) -> Result<T, KeyError>) -> Result<T, KeyError> {
        let out = {
            let _lock = lock(&self.dir)?;
            let (mut file, _) = read_key_set(&self.dir)?.ok_or_else(|| KeyError::NotInitialized(self.dir.clone()))?;
            let out = change(&self.dir, &mut file)?;
            file.validate(&self.dir.join(KEYS_FILE))?;
            write_key_set(&self.dir, &file)?;
            out
        };
        self.reload()?;
        Ok(out)
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    fn mode_of(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn store_is_shareable() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<KeyStore>();
        assert_send_sync::<Arc<KeyStore>>();
    }

    #[test]
    fn init_creates_a_private_directory_and_an_active_key() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data").join("keys");
        let (store, created) = KeyStore::init(&dir).unwrap();
        assert!(created);
        assert_eq!(mode_of(&dir), 0o700);
        let signer = store.active_signer().unwrap();
        let key_file = dir.join(format!("{}.key", signer.kid()));
        assert_eq!(mode_of(&key_file), 0o600);
        assert_eq!(store.verifying_key(signer.kid()), Some((signer.verifying_key(), KeyStatus::Active)));
        assert_eq!(Kid::of(&signer.verifying_key()), signer.kid());
        let debug = format!("{signer:?}");
        assert!(debug.contains(&signer.kid().to_string()));
        assert!(!debug.contains(&hex::encode(signer.key.to_bytes())));

        // Idempotent.
        let (again, created) = KeyStore::init(&dir).unwrap();
        assert!(!created);
        assert_eq!(again.active_signer().unwrap().kid(), signer.kid());
        assert_eq!(again.list().len(), 1);
    }

    #[test]
    fn open_requires_an_initialised_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("nope");
        let err = KeyStore::open(&missing).unwrap_err();
        assert!(matches!(err, KeyError::NotInitialized(_)), "{err}");
        assert!(err.to_string().contains("nope"));
        // An existing but empty directory is not initialised either.
        let err = KeyStore::open(tmp.path()).unwrap_err();
        assert!(matches!(err, KeyError::NotInitialized(_)), "{err}");
    }

    #[test]
    fn group_readable_private_key_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let (store, _) = KeyStore::init(tmp.path()).unwrap();
        let kid = store.active_signer().unwrap().kid();
        let key_file = tmp.path().join(format!("{kid}.key"));
        fs::set_permissions(&key_file, fs::Permissions::from_mode(0o644)).unwrap();
        let err = KeyStore::open(tmp.path()).unwrap_err();
        assert!(matches!(err, KeyError::InsecurePermissions { mode: 0o644, .. }), "{err}");
        let message = err.to_string();
        assert!(message.contains(&key_file.display().to_string()), "{message}");
        assert!(message.contains("0644") && message.contains("chmod 600"), "{message}");
        // reload keeps the old snapshot on error.
        assert!(store.reload().is_err());
        assert_eq!(store.active_signer().unwrap().kid(), kid);

        fs::set_permissions(&key_file, fs::Permissions::from_mode(0o640)).unwrap();
        assert!(KeyStore::open(tmp.path()).is_err());
        fs::set_permissions(&key_file, fs::Permissions::from_mode(0o600)).unwrap();
        assert!(KeyStore::open(tmp.path()).is_ok());
    }

    #[test]
    fn mismatched_private_key_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let (store, _) = KeyStore::init(tmp.path()).unwrap();
        let kid = store.active_signer().unwrap().kid();
        let key_file = tmp.path().join(format!("{kid}.key"));
        fs::write(&key_file, format!("{}\n", "11".repeat(32))).unwrap();
        let err = KeyStore::open(tmp.path()).unwrap_err();
        assert!(matches!(err, KeyError::Corrupt { .. }), "{err}");
        fs::write(&key_file, "not hex").unwrap();
        assert!(matches!(KeyStore::open(tmp.path()), Err(KeyError::Corrupt { .. })));
    }

    #[test]
    fn keys_json_holds_no_private_material() {
        let tmp = tempfile::tempdir().unwrap();
        let (store, _) = KeyStore::init(tmp.path()).unwrap();
        store.rotate().unwrap();
        let seed = store.active_signer().unwrap().key.to_bytes();
        let on_disk = fs::read_to_string(tmp.path().join(KEYS_FILE)).unwrap();
        let published = store.public_key_set().to_string();
        for text in [&on_disk, &published] {
            assert!(!text.contains(&hex::encode(seed)));
            assert!(!text.contains(&URL_SAFE_NO_PAD.encode(seed)));
            assert!(!text.to_lowercase().contains("private"));
            assert!(!text.to_lowercase().contains("seed"));
        }
        let set = store.public_key_set();
        assert_eq!(set["format"], KEY_SET_FORMAT);
        let keys = set["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 2);
        for key in keys {
            let fields: Vec<&str> = key.as_object().unwrap().keys().map(String::as_str).collect();
            // The retired key's window has an end; the active key's has none yet.
            let window_end = usize::from(key["status"] == "retired");
            assert_eq!(fields.len(), 5 + window_end, "{fields:?}");
            for field in ["kid", "algorithm", "public_key", "status", "created"] {
                assert!(fields.contains(&field), "{field}");
            }
            assert_eq!(key["algorithm"], "Ed25519");
            assert_eq!(key["public_key"].as_str().unwrap().len(), 43);
        }
        assert_eq!(keys[0]["status"], "retired");
        assert_eq!(keys[1]["status"], "active");
        // keys.json on disk is the same document.
        let disk: serde_json::Value = serde_json::from_str(&on_disk).unwrap();
        assert_eq!(disk, set);
    }

    #[test]
    fn rotation_retires_the_previous_key() {
        let tmp = tempfile::tempdir().unwrap();
        let (store, _) = KeyStore::init(tmp.path()).unwrap();
        let first = store.active_signer().unwrap().kid();
        let second = store.rotate().unwrap();
        assert_ne!(first, second);
        assert_eq!(store.active_signer().unwrap().kid(), second);
        assert_eq!(store.verifying_key(first).unwrap().1, KeyStatus::Retired);
        assert_eq!(store.verifying_key(second).unwrap().1, KeyStatus::Active);
        assert_eq!(mode_of(&tmp.path().join(format!("{second}.key"))), 0o600);
        assert!(!tmp.path().join(TEMP_FILE).exists());
    }

    #[test]
    fn compromising_the_active_key_stops_signing_until_rotation() {
        let tmp = tempfile::tempdir().unwrap();
        let (store, _) = KeyStore::init(tmp.path()).unwrap();
        let first = store.active_signer().unwrap().kid();
        store.mark_compromised(first).unwrap();
        store.mark_compromised(first).unwrap();
        assert_eq!(store.verifying_key(first).unwrap().1, KeyStatus::Compromised);
        assert!(matches!(store.active_signer(), Err(KeyError::NoActiveKey)));
        // Still opens, and init does not silently add a key.
        let (reopened, created) = KeyStore::init(tmp.path()).unwrap();
        assert!(!created);
        assert!(reopened.active_signer().is_err());
        let second = store.rotate().unwrap();
        assert_eq!(store.active_signer().unwrap().kid(), second);
        assert_eq!(store.verifying_key(first).unwrap().1, KeyStatus::Compromised);

        let unknown = Kid::from_bytes([0, 0, 0, 0]);
        assert!(matches!(
            store.mark_compromised(unknown),
            Err(KeyError::UnknownKid(k)) if k == unknown
        ));
    }

    #[test]
    fn reload_sees_changes_from_another_process() {
        let tmp = tempfile::tempdir().unwrap();
        let (server, _) = KeyStore::init(tmp.path()).unwrap();
        let first = server.active_signer().unwrap().kid();
        let cli = KeyStore::open(tmp.path()).unwrap();
        let second = cli.rotate().unwrap();
        // The server still signs with its snapshot until it reloads.
        assert_eq!(server.active_signer().unwrap().kid(), first);
        assert!(server.verifying_key(second).is_none());
        server.reload().unwrap();
        assert_eq!(server.active_signer().unwrap().kid(), second);
        // A writer works from the file, not its stale snapshot: the server
        // rotating now keeps the CLI's key (retired), not a second active one.
        let third = server.rotate().unwrap();
        cli.reload().unwrap();
        let statuses: Vec<_> = cli.list().iter().map(|k| (k.kid, k.status)).collect();
        assert_eq!(
            statuses,
            vec![(first, KeyStatus::Retired), (second, KeyStatus::Retired), (third, KeyStatus::Active)]
        );
    }

    #[test]
    fn tampered_keys_json_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let (store, _) = KeyStore::init(tmp.path()).unwrap();
        let path = tmp.path().join(KEYS_FILE);
        let good = fs::read_to_string(&path).unwrap();
        let kid = store.active_signer().unwrap().kid().to_string();

        fs::write(&path, good.replace(&kid, "00000000")).unwrap();
        assert!(matches!(KeyStore::open(tmp.path()), Err(KeyError::Corrupt { .. })));
        fs::write(&path, good.replace("Ed25519", "RS256")).unwrap();
        assert!(matches!(KeyStore::open(tmp.path()), Err(KeyError::Corrupt { .. })));
        fs::write(&path, "{").unwrap();
        assert!(matches!(KeyStore::open(tmp.path()), Err(KeyError::Corrupt { .. })));
        fs::write(&path, &good).unwrap();
        assert!(KeyStore::open(tmp.path()).is_ok());
    }

    #[test]
    fn kid_text_round_trip() {
        let kid = Kid::from_bytes([0xde, 0xad, 0x00, 0x01]);
        assert_eq!(kid.to_string(), "dead0001");
        assert_eq!("DEAD0001".parse::<Kid>().unwrap(), kid);
        for bad in ["", "dead", "dead00011", "xyzw0001"] {
            assert!(matches!(bad.parse::<Kid>(), Err(KeyError::InvalidKid(_))));
        }
    }

    #[test]
    fn compromising_the_active_key_makes_a_new_one_and_retire_refuses_it() {
        let tmp = tempfile::tempdir().unwrap();
        let (store, _) = KeyStore::init(tmp.path()).unwrap();
        let first = store.active_signer().unwrap().kid();
        assert!(matches!(store.retire(first), Err(KeyError::RetireActive(k)) if k == first));
        let second = store.rotate().unwrap();
        store.retire(first).unwrap();
        assert_eq!(store.verifying_key(first).unwrap().1, KeyStatus::Retired, "retiring a retired key is a no-op");
        let third = store.compromise(second).unwrap().expect("the active key was replaced");
        assert_eq!(store.active_signer().unwrap().kid(), third, "printing goes on");
        assert_eq!(store.verifying_key(second).unwrap().1, KeyStatus::Compromised);
        assert_eq!(store.compromise(first).unwrap(), None, "a retired key: no new key");
        assert_eq!(store.verifying_key(first).unwrap().1, KeyStatus::Compromised);
        assert!(matches!(store.retire(Kid::from_bytes([0; 4])), Err(KeyError::UnknownKid(_))));
    }

    #[test]
    fn reload_if_changed_picks_up_another_process_and_only_then() {
        let tmp = tempfile::tempdir().unwrap();
        let (server, _) = KeyStore::init(tmp.path()).unwrap();
        assert!(!server.reload_if_changed().unwrap(), "nothing changed");
        let cli = KeyStore::open(tmp.path()).unwrap();
        // A filesystem whose clock ticks coarsely could give the same time.
        std::thread::sleep(std::time::Duration::from_millis(20));
        let second = cli.rotate().unwrap();
        assert!(server.reload_if_changed().unwrap());
        assert_eq!(server.active_signer().unwrap().kid(), second);
        assert!(!server.reload_if_changed().unwrap());
    }
}
