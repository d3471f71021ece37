//! The signed status list, published at `/.well-known/xueji-status.json`,
//! in the manner of the W3C Bitstring Status List: one bit per issued
//! document (its token carries the index, see [`super::TOKEN_VERSION_INDEXED`]),
//! set when the document is revoked or lost; the bits gzip-compressed and
//! base64url-encoded, dated, valid until a stated day, and signed with the
//! service's key. `xueji verify` keeps the latest list and answers offline
//! "有效，截至 (the list's date)" or the revocation; past its validity,
//! "status unknown since (its last day)".
//!
//! The signed message is [`STATUS_DOMAIN`] `|| issued || 0 || valid_until || 0
//! || size (u32, big-endian) || bits` (dates as `YYYY-MM-DD`, the bits
//! uncompressed, bit 0 the highest bit of the first byte): the compression
//! is not signed, so any gzip of the same bits verifies.

use std::io::{Read, Write};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::NaiveDate;
use ed25519_dalek::Signature;
use serde::{Deserialize, Serialize};

use super::keys::{KeyStatus, Kid, Signer};
use super::keyset::VerifyingKeys;
use super::token::MAX_STATUS_INDEX;

/// The format name in the published list.
pub const FORMAT: &str = "xueji-status/1";
/// Prefix of the signed message, so its signature means nothing elsewhere.
pub const STATUS_DOMAIN: &[u8] = b"xueji-status-v1\0";
/// Days a published list is valid for.
pub const VALID_DAYS: i64 = 7;

/// The published list, as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusList {
    /// [`FORMAT`].
    pub format: String,
    /// The key that signed it.
    pub kid: String,
    /// The day it was made.
    pub issued: NaiveDate,
    /// The last day it may be relied on.
    pub valid_until: NaiveDate,
    /// Bits in the list (every index below it is covered).
    pub size: u32,
    /// base64url (no padding) of the gzip of the bits.
    pub encoded_list: String,
    /// base64url (no padding) of the Ed25519 signature.
    pub signature: String,
}

/// Why a list cannot be relied on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusListError {
    /// Not a status list of this format, or its bits do not decode.
    #[error("状态清单格式错误：{0}")]
    Malformed(&'static str),
    /// Signed by a key the key set does not know.
    #[error("状态清单的签发密钥 {0} 不存在")]
    UnknownKey(Kid),
    /// Signed by a compromised key, or dated after its key was retired.
    #[error("状态清单的签发密钥 {0} 已泄露或已停用")]
    KeyNotTrusted(Kid),
    /// The signature does not match.
    #[error("状态清单签名无效")]
    BadSignature,
}

fn message(issued: NaiveDate, valid_until: NaiveDate, size: u32, bits: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(STATUS_DOMAIN.len() + 24 + bits.len());
    m.extend_from_slice(STATUS_DOMAIN);
    m.extend_from_slice(issued.to_string().as_bytes());
    m.push(0);
    m.extend_from_slice(valid_until.to_string().as_bytes());
    m.push(0);
    m.extend_from_slice(&size.to_be_bytes());
    m.extend_from_slice(bits);
    m
}

/// Makes and signs the list of `size` bits with the bits of `set` on, valid
/// from `issued` for [`VALID_DAYS`] days.
pub fn build(signer: &Signer, issued: NaiveDate, size: u32, set: impl IntoIterator<Item = u32>) -> StatusList {
    let size = size.min(MAX_STATUS_INDEX + 1);
    let mut bits = vec![0u8; size.div_ceil(8) as usize];
    for i in set.into_iter().filter(|i| *i < size) {
        bits[(i / 8) as usize] |= 0x80 >> (i % 8);
    }
    let valid_until = issued + chrono::Duration::days(VALID_DAYS - 1);
    let signature = signer.sign_message(&message(issued, valid_until, size, &bits));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing to a Vec cannot fail.
    let _ = gz.write_all(&bits);
    let compressed = gz.finish().unwrap_or_default();
    StatusList {
        format: FORMAT.to_owned(),
        kid: signer.kid().to_string(),
        issued,
        valid_until,
        size,
        encoded_list: URL_SAFE_NO_PAD.encode(compressed),
        signature: URL_SAFE_NO_PAD.encode(signature.to_bytes()),
    }
}

/// A list whose signature verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedList {
    /// The day it was made.
    pub issued: NaiveDate,
    /// The last day it may be relied on.
    pub valid_until: NaiveDate,
    size: u32,
    bits: Vec<u8>,
}

/// What a checked list says of one document on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Not revoked or lost as of the list's date.
    Valid {
        /// The list's date.
        as_of: NaiveDate,
    },
    /// Revoked or lost as of the list's date.
    Revoked {
        /// The list's date.
        as_of: NaiveDate,
    },
    /// The list is past its validity: the status is unknown since then.
    UnknownSince(NaiveDate),
    /// The document is not covered (no index, or an index past the list).
    NotCovered,
}

impl CheckedList {
    /// Whether bit `index` is set; `None` past the list's end.
    pub fn is_set(&self, index: u32) -> Option<bool> {
        (index < self.size).then(|| self.bits[(index / 8) as usize] & (0x80 >> (index % 8)) != 0)
    }

    /// What the list says, on `today`, of the document with `index`.
    pub fn standing(&self, index: Option<u32>, today: NaiveDate) -> Standing {
        if today > self.valid_until {
            return Standing::UnknownSince(self.valid_until);
        }
        match index.and_then(|i| self.is_set(i)) {
            None => Standing::NotCovered,
            Some(true) => Standing::Revoked { as_of: self.issued },
            Some(false) => Standing::Valid { as_of: self.issued },
        }
    }
}

/// Checks a published list against a key source: format, key, signature,
/// and that its bits decode to `size` bits. Never panics, whatever the input.
pub fn check(list: &StatusList, keys: &(impl VerifyingKeys + ?Sized)) -> Result<CheckedList, StatusListError> {
    if list.format != FORMAT {
        return Err(StatusListError::Malformed("格式不受支持"));
    }
    if list.size > MAX_STATUS_INDEX + 1 || list.valid_until < list.issued {
        return Err(StatusListError::Malformed("长度或日期无效"));
    }
    let kid: Kid = list.kid.parse().map_err(|_| StatusListError::Malformed("密钥编号无效"))?;
    let key = keys.lookup(kid).ok_or(StatusListError::UnknownKey(kid))?;
    if key.status == KeyStatus::Compromised || !key.signs_on(list.issued) {
        return Err(StatusListError::KeyNotTrusted(kid));
    }
    let compressed = URL_SAFE_NO_PAD.decode(&list.encoded_list).map_err(|_| StatusListError::Malformed("编码无效"))?;
    let want = list.size.div_ceil(8) as usize;
    let mut bits = Vec::with_capacity(want);
    // At most one byte more than the list needs is read: a gzip bomb stops there.
    flate2::read::GzDecoder::new(&compressed[..])
        .take(want as u64 + 1)
        .read_to_end(&mut bits)
        .map_err(|_| StatusListError::Malformed("压缩数据无效"))?;
    if bits.len() != want {
        return Err(StatusListError::Malformed("位数与长度不符"));
    }
    let signature = URL_SAFE_NO_PAD
        .decode(&list.signature)
        .ok()
        .and_then(|b| <[u8; 64]>::try_from(b).ok())
        .map(|b| Signature::from_bytes(&b))
        .ok_or(StatusListError::Malformed("签名格式无效"))?;
    key.public_key
        .verify_strict(&message(list.issued, list.valid_until, list.size, &bits), &signature)
        .map_err(|_| StatusListError::BadSignature)?;
    Ok(CheckedList { issued: list.issued, valid_until: list.valid_until, size: list.size, bits })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::{KeySet, KeyStore};

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_list_says_revoked_valid_or_unknown_since_its_end() {
        let tmp = tempfile::tempdir().unwrap();
        let (keys, _) = KeyStore::init(tmp.path()).unwrap();
        let list = build(&keys.active_signer().unwrap(), day("2026-12-01"), 100_000, [3, 7, 8, 99_999]);
        assert_eq!(list.valid_until, day("2026-12-07"));
        assert!(list.encoded_list.len() < 400, "100,000 bits compress: {}", list.encoded_list.len());
        // Offline, with the published key set.
        let set = KeySet::parse(&serde_json::to_vec(&keys.public_key_set()).unwrap(), "k.json".as_ref()).unwrap();
        let json = serde_json::to_vec(&list).unwrap();
        let checked = check(&serde_json::from_slice(&json).unwrap(), &set).unwrap();
        assert_eq!(checked.standing(Some(7), day("2026-12-03")), Standing::Revoked { as_of: day("2026-12-01") });
        assert_eq!(checked.standing(Some(99_999), day("2026-12-07")), Standing::Revoked { as_of: day("2026-12-01") });
        assert_eq!(checked.standing(Some(6), day("2026-12-03")), Standing::Valid { as_of: day("2026-12-01") });
        assert_eq!(checked.standing(Some(100_000), day("2026-12-03")), Standing::NotCovered);
        assert_eq!(checked.standing(None, day("2026-12-03")), Standing::NotCovered);
        assert_eq!(checked.standing(Some(6), day("2026-12-08")), Standing::UnknownSince(day("2026-12-07")));
    }

    #[test]
    fn a_changed_or_foreign_list_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let (keys, _) = KeyStore::init(tmp.path()).unwrap();
        let good = build(&keys.active_signer().unwrap(), day("2026-12-01"), 64, [5]);
        assert!(check(&good, &keys).is_ok());
        // A bit cleared (a revocation hidden), the date moved on, the size cut.
        let cleared = StatusList {
            encoded_list: build(&keys.active_signer().unwrap(), day("2026-12-01"), 64, []).encoded_list,
            ..good.clone()
        };
        assert_eq!(check(&cleared, &keys), Err(StatusListError::BadSignature));
        let later = StatusList { valid_until: day("2027-12-01"), ..good.clone() };
        assert_eq!(check(&later, &keys), Err(StatusListError::BadSignature));
        let shorter = StatusList { size: 56, ..good.clone() };
        assert!(check(&shorter, &keys).is_err());
        for bad in [
            StatusList { format: "other".into(), ..good.clone() },
            StatusList { encoded_list: "!!".into(), ..good.clone() },
            StatusList { signature: "AAAA".into(), ..good.clone() },
            StatusList { kid: "zz".into(), ..good.clone() },
        ] {
            assert_eq!(
                std::mem::discriminant(&check(&bad, &keys).unwrap_err()),
                std::mem::discriminant(&StatusListError::Malformed(""))
            );
        }
        // A list signed by another service's key.
        let other = tempfile::tempdir().unwrap();
        let (foreign, _) = KeyStore::init(other.path()).unwrap();
        let theirs = build(&foreign.active_signer().unwrap(), day("2026-12-01"), 64, []);
        assert!(matches!(check(&theirs, &keys), Err(StatusListError::UnknownKey(_))));
        // A gzip bomb: ten million zero bytes for a list of 64 bits.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&vec![0u8; 10_000_000]).unwrap();
        let bomb = StatusList { encoded_list: URL_SAFE_NO_PAD.encode(gz.finish().unwrap()), ..good };
        assert_eq!(check(&bomb, &keys), Err(StatusListError::Malformed("位数与长度不符")));
    }
}
