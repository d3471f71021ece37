//! A verifying-only key set: public keys and their statuses, no private key.
//!
//! [`KeySet`] reads the published key set (`/.well-known/xueji-keys.json`,
//! the same format as a key directory's `keys.json`, [`KEY_SET_FORMAT`]) so
//! anyone can check a token offline with [`verify`](super::verify) — the
//! CLI's `xueji verify --keys keys.json`. Every record is checked as strictly
//! as the key store checks its own file: the algorithm, the public key (32
//! bytes, not a weak point), the key id derived from it, no duplicates.
//!
//! [`VerifyingKeys`] is what [`verify`](super::verify) needs from a key
//! source; both [`KeyStore`] and [`KeySet`] provide it.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use ed25519_dalek::VerifyingKey;
use serde::Deserialize;

use super::keys::{ALGORITHM, KEY_SET_FORMAT, KeyError, KeyInfo, KeyStatus, KeyStore, Kid};

/// A published key set is a few hundred bytes per key.
const MAX_KEY_SET_BYTES: u64 = 1 << 20;

/// A source of public keys for [`verify`](super::verify).
pub trait VerifyingKeys {
    /// The public key, status and validity window of `kid`, if known.
    fn lookup(&self, kid: Kid) -> Option<KeyInfo>;
}

impl VerifyingKeys for KeyStore {
    fn lookup(&self, kid: Kid) -> Option<KeyInfo> {
        self.info(kid)
    }
}

/// Public keys with their statuses, read from a published key set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySet {
    keys: Vec<KeyInfo>,
}

#[derive(Deserialize)]
struct File {
    format: String,
    keys: Vec<Record>,
}

#[derive(Deserialize)]
struct Record {
    kid: String,
    algorithm: String,
    public_key: String,
    status: KeyStatus,
    created: DateTime<Utc>,
    #[serde(default)]
    retired: Option<DateTime<Utc>>,
}

impl KeySet {
    /// Reads and checks a key set file (`keys.json` or a downloaded
    /// `xueji-keys.json`).
    pub fn from_file(path: impl AsRef<Path>) -> Result<KeySet, KeyError> {
        use std::io::Read;
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|source| KeyError::Io { path: path.to_owned(), source })?;
        let mut bytes = Vec::new();
        file.take(MAX_KEY_SET_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|source| KeyError::Io { path: path.to_owned(), source })?;
        if bytes.len() as u64 > MAX_KEY_SET_BYTES {
            return Err(corrupt(path, "文件过大"));
        }
        Self::parse(&bytes, path)
    }

    /// Parses and checks a key set; `origin` names it in errors.
    pub fn parse(json: &[u8], origin: &Path) -> Result<KeySet, KeyError> {
        let file: File = serde_json::from_slice(json).map_err(|e| corrupt(origin, format!("不是有效的密钥集：{e}")))?;
        if file.format != KEY_SET_FORMAT {
            return Err(corrupt(origin, format!("格式 {:?} 不受支持（应为 {KEY_SET_FORMAT}）", file.format)));
        }
        let mut keys: Vec<KeyInfo> = Vec::with_capacity(file.keys.len());
        for record in file.keys {
            let kid: Kid = record.kid.parse()?;
            if record.algorithm != ALGORITHM {
                return Err(corrupt(origin, format!("密钥 {kid} 的算法 {:?} 不受支持", record.algorithm)));
            }
            let public_key = URL_SAFE_NO_PAD
                .decode(&record.public_key)
                .ok()
                .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
                .and_then(|bytes| VerifyingKey::from_bytes(&bytes).ok())
                .filter(|key| !key.is_weak())
                .ok_or_else(|| corrupt(origin, format!("密钥 {kid} 的公钥无效")))?;
            if Kid::of(&public_key) != kid {
                return Err(corrupt(origin, format!("密钥编号 {kid} 与其公钥不符")));
            }
            if keys.iter().any(|k| k.kid == kid) {
                return Err(corrupt(origin, format!("密钥编号 {kid} 重复")));
            }
            keys.push(KeyInfo {
                kid,
                public_key,
                status: record.status,
                created: record.created,
                retired: record.retired,
            });
        }
        Ok(KeySet { keys })
    }

    /// The public half of a key store (what it publishes).
    pub fn of_store(store: &KeyStore) -> KeySet {
        KeySet { keys: store.list() }
    }

    /// Every key, in file order.
    pub fn keys(&self) -> &[KeyInfo] {
        &self.keys
    }
}

impl VerifyingKeys for KeySet {
    fn lookup(&self, kid: Kid) -> Option<KeyInfo> {
        self.keys.iter().find(|k| k.kid == kid).cloned()
    }
}

fn corrupt(origin: &Path, reason: impl Into<String>) -> KeyError {
    KeyError::Corrupt { path: PathBuf::from(origin), reason: reason.into() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::{Claims, DocumentId, DocumentKind, DocumentNumber, MaskedName, SchoolCode, sign, verify};

    fn claims() -> Claims {
        Claims {
            document_id: DocumentId::random(),
            kind: DocumentKind::CompulsoryCertificate,
            number: DocumentNumber::new("2201222026C000001").unwrap(),
            issue_date: chrono::NaiveDate::from_ymd_opt(2026, 7, 1).unwrap(),
            school_code: SchoolCode::new("2122019004").unwrap(),
            masked_name: MaskedName::mask("王小明"),
            status_index: None,
        }
    }

    #[test]
    fn the_published_set_verifies_what_the_store_signed() {
        let tmp = tempfile::tempdir().unwrap();
        let (store, _) = KeyStore::init(tmp.path()).unwrap();
        let token = sign(&store.active_signer().unwrap(), &claims());
        let published = serde_json::to_vec(&store.public_key_set()).unwrap();
        let set = KeySet::parse(&published, Path::new("xueji-keys.json")).unwrap();
        assert_eq!(set, KeySet::of_store(&store));
        assert_eq!(verify(&token, &set).unwrap(), verify(&token, &store).unwrap());
        // The directory's own keys.json reads the same.
        assert_eq!(KeySet::from_file(tmp.path().join("keys.json")).unwrap(), set);

        // Compromised in the set: refused offline too.
        let kid = store.active_signer().unwrap().kid();
        store.rotate().unwrap();
        store.mark_compromised(kid).unwrap();
        let set = KeySet::from_file(tmp.path().join("keys.json")).unwrap();
        assert_eq!(verify(&token, &set).unwrap_err().code(), "compromised");

        // A set without that key: unknown.
        let other = tempfile::tempdir().unwrap();
        let (other, _) = KeyStore::init(other.path()).unwrap();
        assert_eq!(verify(&token, &KeySet::of_store(&other)).unwrap_err().code(), "unknown_key");
    }

    #[test]
    fn bad_sets_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let (store, _) = KeyStore::init(tmp.path()).unwrap();
        let good = store.public_key_set();
        let origin = Path::new("k.json");
        let mutate = |f: &dyn Fn(&mut serde_json::Value)| {
            let mut v = good.clone();
            f(&mut v);
            KeySet::parse(&serde_json::to_vec(&v).unwrap(), origin)
        };
        assert!(mutate(&|_| ()).is_ok());
        assert!(mutate(&|v| v["format"] = "xueji-keys/2".into()).is_err());
        assert!(mutate(&|v| v["keys"][0]["algorithm"] = "RS256".into()).is_err());
        assert!(mutate(&|v| v["keys"][0]["kid"] = "00000000".into()).is_err());
        assert!(mutate(&|v| v["keys"][0]["public_key"] = "AAAA".into()).is_err());
        assert!(mutate(&|v| v["keys"][0]["status"] = "revoked".into()).is_err());
        assert!(
            mutate(&|v| {
                let k = v["keys"][0].clone();
                v["keys"].as_array_mut().unwrap().push(k);
            })
            .is_err()
        );
        assert!(KeySet::parse(b"not json", origin).is_err());
        assert!(KeySet::from_file(tmp.path().join("missing.json")).is_err());
    }
}
