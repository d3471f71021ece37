//! Share codes (分享码): a short code a graduate or guardian gives a third
//! party (a new school, an employer), who types it on the public page
//! instead of scanning the certificate's QR code, as 学信网's online
//! reports are shared.
//!
//! A code is 12 characters of Crockford's base32 (digits and upper-case
//! letters without I, L, O and U: nothing to confuse), 60 random bits,
//! shown in three groups (`7KQ4-M2XD-9HTC`). Typing is forgiving: case,
//! spaces and hyphens do not matter, and `O`, `I`, `L` read as `0`, `1`,
//! `1`. Only a digest of the code is stored ([`ShareCode::digest`]): the
//! code is shown once, when it is made.

use sha2::{Digest as _, Sha256};

use super::DomainError;

/// The 32 symbols, in value order.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters in a code.
pub const LEN: usize = 12;
/// Shortest and longest validity a code may be given, in days.
pub const DAYS: std::ops::RangeInclusive<u32> = 30..=180;
/// Prefix of the stored digest, so it means nothing elsewhere.
const DIGEST_DOMAIN: &[u8] = b"xueji-share-v1\0";

/// A share code in its canonical form (12 symbols, no separators).
#[derive(Clone, PartialEq, Eq)]
pub struct ShareCode(String);

impl ShareCode {
    /// The code made from 60 random bits (the low 60 of `random`).
    pub fn from_random(random: u64) -> Self {
        let text = (0..LEN).map(|i| char::from(ALPHABET[((random >> (5 * (LEN - 1 - i))) & 31) as usize])).collect();
        Self(text)
    }

    /// The code a person typed, if it is one: case, spaces and hyphens are
    /// ignored, `O` reads as `0` and `I`, `L` as `1`. `None` for anything
    /// else (another length, a `U`, a symbol).
    pub fn parse(typed: &str) -> Option<Self> {
        let mut out = String::with_capacity(LEN);
        for c in typed.chars() {
            let c = match c.to_ascii_uppercase() {
                ' ' | '-' | '\u{3000}' => continue,
                'O' => '0',
                'I' | 'L' => '1',
                c if c.is_ascii() && ALPHABET.contains(&(c as u8)) => c,
                _ => return None,
            };
            if out.len() == LEN {
                return None;
            }
            out.push(c);
        }
        (out.len() == LEN).then_some(Self(out))
    }

    /// The code as printed for the holder: three groups of four.
    pub fn grouped(&self) -> String {
        let s = &self.0;
        format!("{}-{}-{}", &s[..4], &s[4..8], &s[8..])
    }

    /// What is stored and looked up: sha256 of the canonical code, hex.
    pub fn digest(&self) -> String {
        let mut h = Sha256::new();
        h.update(DIGEST_DOMAIN);
        h.update(self.0.as_bytes());
        hex::encode(h.finalize())
    }
}

/// Never printed in logs or errors: a code opens a document's verification.
impl std::fmt::Debug for ShareCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ShareCode(…)")
    }
}

/// The validity asked for, in days, if it is within [`DAYS`].
pub fn check_days(days: u32) -> Result<u32, DomainError> {
    if DAYS.contains(&days) {
        Ok(days)
    } else {
        Err(DomainError::new(
            "share.days",
            "有效期",
            format!("{days} 天"),
            &format!("不在允许范围内（{} 至 {} 天）", DAYS.start(), DAYS.end()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_twelve_unambiguous_symbols_and_read_back_however_typed() {
        let code = ShareCode::from_random(0x0fed_cba9_8765_4321);
        let grouped = code.grouped();
        assert_eq!(grouped.len(), LEN + 2);
        assert!(!grouped.contains(['I', 'L', 'O', 'U']));
        assert_eq!(ShareCode::parse(&grouped), Some(code.clone()));
        assert_eq!(ShareCode::parse(&grouped.to_lowercase().replace('-', " ")), Some(code.clone()));
        assert_eq!(ShareCode::parse(&format!(" {} ", code.0)), Some(code.clone()));
        // O, I and L are read as the digits a person meant.
        assert_eq!(ShareCode::parse("oooo-iiii-llll"), ShareCode::parse("0000-1111-1111"));
        for bad in ["", "ABCD-EFGH-JKM", "ABCD-EFGH-JKMNP", "ABCD-EFGH-JKMU", "ABCD-EFGH-JK#N", "ＡBCD-EFGH-JKMN"] {
            assert_eq!(ShareCode::parse(bad), None, "{bad}");
        }
        // Every value gives a different code, and the top 4 bits are not used.
        assert_ne!(ShareCode::from_random(1), ShareCode::from_random(2));
        assert_eq!(ShareCode::from_random(1 << 60), ShareCode::from_random(0));
        assert_eq!(format!("{code:?}"), "ShareCode(…)");
    }

    #[test]
    fn the_digest_is_of_the_canonical_code() {
        let code = ShareCode::parse("7kq4 m2xd 9htc").unwrap();
        assert_eq!(code.digest(), ShareCode::parse("7KQ4-M2XD-9HTC").unwrap().digest());
        assert_eq!(code.digest().len(), 64);
        assert_ne!(code.digest(), ShareCode::parse("7KQ4-M2XD-9HTD").unwrap().digest());
    }

    #[test]
    fn validity_is_thirty_to_a_hundred_and_eighty_days() {
        assert_eq!(check_days(30), Ok(30));
        assert_eq!(check_days(180), Ok(180));
        for bad in [0, 29, 181, 3650] {
            assert_eq!(check_days(bad).unwrap_err().code, "share.days");
        }
    }
}
