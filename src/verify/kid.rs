//! Key ids: the first 4 bytes of SHA-256 of a public key, written as 8
//! lowercase hex digits; stable, derived from the key alone, and carried as
//! 4 raw bytes in tokens.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use super::keys::KeyError;

/// A key id: the first 4 bytes of SHA-256 of the public key, shown as 8
/// lowercase hex digits (parsing also accepts upper case).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Kid([u8; 4]);

impl Kid {
    /// Length in bytes (as carried in tokens).
    pub const LEN: usize = 4;

    /// The id of a public key.
    pub fn of(key: &VerifyingKey) -> Kid {
        let digest = Sha256::digest(key.as_bytes());
        Kid([digest[0], digest[1], digest[2], digest[3]])
    }

    /// The id with these bytes (e.g. read from a token).
    pub fn from_bytes(bytes: [u8; 4]) -> Kid {
        Kid(bytes)
    }

    /// The raw bytes.
    pub fn to_bytes(self) -> [u8; 4] {
        self.0
    }
}

impl fmt::Display for Kid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Kid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kid({self})")
    }
}

impl FromStr for Kid {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut bytes = [0u8; 4];
        hex::decode_to_slice(s, &mut bytes).map_err(|_| KeyError::InvalidKid(s.to_owned()))?;
        Ok(Kid(bytes))
    }
}

impl Serialize for Kid {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Kid {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}
