//! Compact signed tokens for the QR code: `HTTPS://…/V/{token}`.
//!
//! A token is `payload || signature`, spelled as decimal digits
//! ([`super::digits`]: every 7 bytes as 17 digits), so that the whole
//! upper-cased URL is in the QR code's alphanumeric set and the token in
//! its numeric mode: a certificate's URL fits a version-8 code at level M.
//! Tokens printed before (spelled `base64url(payload || signature)` without
//! padding, RFC 4648 §5, canonical: non-zero trailing bits are refused)
//! keep verifying: the same bytes, another spelling. The payload, all
//! integers big-endian:
//!
//! | offset | bytes | field |
//! |-------:|------:|-------|
//! | 0 | 1 | format version, `1` |
//! | 1 | 4 | [`Kid`]: first 4 bytes of SHA-256 of the signing public key |
//! | 5 | 16 | [`DocumentId`](super::DocumentId) |
//! | 21 | 1 | [`DocumentKind`] wire code (1–10) |
//! | 22 | 4 | issue date: `i32`, days from the common era (0001-01-01 = 1, chrono's `num_days_from_ce`) |
//! | 26 | 5 | school code: 40-bit unsigned integer below 10^10, shown as 10 digits |
//! | 31 | 1 | `n`, length of the number (0–32) |
//! | 32 | n | certificate number, ASCII digits and letters |
//! | 32+n | 1 | `m`, length of the masked name in bytes (0–64) |
//! | 33+n | m | masked name, UTF-8 |
//!
//! Format 2 ([`TOKEN_VERSION_INDEXED`], written for every document with a
//! status index) differs in two fields: the issue date at offset 22 is 2
//! bytes, `u16` days from 2000-01-01, and the school code (now at 24) is
//! followed by the document's 3-byte index in the status list (at 29), so
//! `n` stands at 32 and the payload is one byte longer.
//!
//! followed by the 64-byte Ed25519 signature of [`SIGNING_DOMAIN`]` || payload`.
//! Parsing is strict: every length and value is checked, and trailing bytes
//! are refused. The signature covers every byte of the payload, so no field can
//! be changed; the document id is random, so no token can be guessed.
//!
//! A certificate with an 18-character number and a 4-character name gives a
//! 124-byte token of 302 digits in format 2 (123 bytes, 299 digits in format
//! 1, 164 characters as base64url); the longest possible token is
//! [`MAX_TOKEN_CHARS`] digits.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Datelike, NaiveDate};
use ed25519_dalek::Signature;

use super::claims::{Claims, DocumentId, DocumentKind, DocumentNumber, MaskedName, SchoolCode};
use super::digits;
use super::keys::{KeyStatus, Kid, Signer};
use super::keyset::VerifyingKeys;

/// The token format version of tokens without a status index (read, and
/// written for a document that has none).
pub const TOKEN_VERSION: u8 = 1;
/// The token format version carrying the document's index in the status
/// list (see [`super::status_list`]): the issue date as 2 bytes, days from
/// 2000-01-01, then after the school code the 3-byte index.
pub const TOKEN_VERSION_INDEXED: u8 = 2;
/// Status indexes fit 3 bytes.
pub const MAX_STATUS_INDEX: u32 = (1 << 24) - 1;
/// Prefix of every signed message, so a token signature means nothing elsewhere.
pub const SIGNING_DOMAIN: &[u8] = b"xueji-verify-v1\0";

const SIGNATURE_LEN: usize = 64;
/// Payload bytes before the variable-length fields, plus their two length bytes.
const FIXED_LEN: usize = 1 + Kid::LEN + DocumentId::LEN + 1 + 4 + 5 + 1 + 1;
/// Version 2: the date takes 2 bytes less, the index 3 more.
const FIXED_LEN_INDEXED: usize = FIXED_LEN - 2 + 3;
const MAX_PAYLOAD_LEN: usize = FIXED_LEN_INDEXED + DocumentNumber::MAX_LEN + MaskedName::MAX_BYTES;
const MIN_TOKEN_BYTES: usize = FIXED_LEN + SIGNATURE_LEN;
const MAX_TOKEN_BYTES: usize = MAX_PAYLOAD_LEN + SIGNATURE_LEN;

/// The longest token [`sign`] can produce (32-character number, 64-byte
/// name), in digits; longer than any base64url spelling of the same bytes.
pub const MAX_TOKEN_CHARS: usize = digits::encoded_len(MAX_TOKEN_BYTES);

/// Why a token does not verify.
///
/// Every variant means "无法验证" on the public page
/// ([`public_message`](Self::public_message)); [`code`](Self::code) and the
/// Chinese `Display` tell an operator which check failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The token is empty.
    #[error("验证令牌为空")]
    Empty,
    /// Not a token of a known format: bad base64, wrong length, trailing
    /// bytes, unknown version or kind, invalid number, date or UTF-8.
    #[error("验证令牌格式错误：{0}")]
    Malformed(&'static str),
    /// Signed by a key this service does not know.
    #[error("签发密钥 {0} 不存在")]
    UnknownKey(Kid),
    /// Signed by a key marked compromised: nothing it signed is trusted.
    #[error("签发密钥 {0} 已标记为泄露，其签发的文书一律不予认可")]
    Compromised(Kid),
    /// The signature does not match (forged or altered).
    #[error("签名无效，内容可能被伪造或篡改")]
    BadSignature,
    /// The document's date is outside its key's validity window (before the
    /// key was made, or after it was retired): nobody signs with a key then.
    #[error("签发日期不在密钥 {0} 的有效期内")]
    OutsideKeyWindow(Kid),
}

impl TokenError {
    /// Stable machine code: `empty`, `malformed`, `unknown_key`,
    /// `compromised`, `bad_signature`, `outside_key_window`.
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::Empty => "empty",
            TokenError::Malformed(_) => "malformed",
            TokenError::UnknownKey(_) => "unknown_key",
            TokenError::Compromised(_) => "compromised",
            TokenError::BadSignature => "bad_signature",
            TokenError::OutsideKeyWindow(_) => "outside_key_window",
        }
    }

    /// What the public page says for every error.
    pub fn public_message(&self) -> &'static str {
        "无法验证"
    }
}

/// A token that verified: who signed it and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The signing key.
    pub kid: Kid,
    /// The signing key's status: [`KeyStatus::Active`] or
    /// [`KeyStatus::Retired`] (both are genuine).
    pub key_status: KeyStatus,
    /// The signed content.
    pub claims: Claims,
}

/// Signs `claims` with `signer`; the result is decimal digits, URL-safe as
/// it stands.
pub fn sign(signer: &Signer, claims: &Claims) -> String {
    digits::encode(&encode_signed(signer, &encode_payload(signer.kid(), claims)))
}

/// The bytes of a token in either spelling: digits, or base64url (tokens
/// printed before the digits).
fn token_bytes(token: &str) -> Result<Vec<u8>, TokenError> {
    if digits::is_digits(token) {
        digits::decode(token).ok_or(TokenError::Malformed("不是有效的数字编码"))
    } else {
        URL_SAFE_NO_PAD.decode(token).map_err(|_| TokenError::Malformed("不是有效的 base64url 编码"))
    }
}

/// Checks a token against a key source (the service's
/// [`KeyStore`](super::KeyStore), or a published [`KeySet`](super::KeySet)
/// offline): format, key, key status, signature.
///
/// Never panics, whatever the input.
pub fn verify(token: &str, keys: &(impl VerifyingKeys + ?Sized)) -> Result<Verified, TokenError> {
    if token.is_empty() {
        return Err(TokenError::Empty);
    }
    if token.len() > MAX_TOKEN_CHARS {
        return Err(TokenError::Malformed("过长"));
    }
    let bytes = token_bytes(token)?;
    if bytes.len() < MIN_TOKEN_BYTES {
        return Err(TokenError::Malformed("长度不足"));
    }
    let (payload, signature) = bytes.split_at(bytes.len() - SIGNATURE_LEN);
    let (kid, claims) = parse_payload(payload)?;
    let key = keys.lookup(kid).ok_or(TokenError::UnknownKey(kid))?;
    let (public_key, key_status) = (key.public_key, key.status);
    if key_status == KeyStatus::Compromised {
        return Err(TokenError::Compromised(kid));
    }
    if !key.signs_on(claims.issue_date) {
        return Err(TokenError::OutsideKeyWindow(kid));
    }
    let signature = <[u8; SIGNATURE_LEN]>::try_from(signature)
        .map(|bytes| Signature::from_bytes(&bytes))
        .map_err(|_| TokenError::Malformed("长度不足"))?;
    public_key.verify_strict(&signed_message(payload), &signature).map_err(|_| TokenError::BadSignature)?;
    Ok(Verified { kid, key_status, claims })
}

fn signed_message(payload: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(SIGNING_DOMAIN.len() + payload.len());
    message.extend_from_slice(SIGNING_DOMAIN);
    message.extend_from_slice(payload);
    message
}

fn encode_signed(signer: &Signer, payload: &[u8]) -> Vec<u8> {
    let signature = signer.sign_message(&signed_message(payload));
    let mut bytes = Vec::with_capacity(payload.len() + SIGNATURE_LEN);
    bytes.extend_from_slice(payload);
    bytes.extend_from_slice(&signature.to_bytes());
    bytes
}

/// The first day a version-2 date can say.
fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(2000, 1, 1).expect("a date")
}

/// The version-2 date and index of `claims`, if it has an index and both fit.
fn indexed(claims: &Claims) -> Option<(u16, u32)> {
    let index = claims.status_index.filter(|i| *i <= MAX_STATUS_INDEX)?;
    let days = u16::try_from((claims.issue_date - epoch()).num_days()).ok()?;
    Some((days, index))
}

fn encode_payload(kid: Kid, claims: &Claims) -> Vec<u8> {
    let number = claims.number.as_str().as_bytes();
    let name = claims.masked_name.as_str().as_bytes();
    let mut out = Vec::with_capacity(FIXED_LEN_INDEXED + number.len() + name.len());
    let indexed = indexed(claims);
    out.push(if indexed.is_some() { TOKEN_VERSION_INDEXED } else { TOKEN_VERSION });
    out.extend_from_slice(&kid.to_bytes());
    out.extend_from_slice(&claims.document_id.to_bytes());
    out.push(claims.kind.wire());
    match indexed {
        Some((days, _)) => out.extend_from_slice(&days.to_be_bytes()),
        None => out.extend_from_slice(&claims.issue_date.num_days_from_ce().to_be_bytes()),
    }
    out.extend_from_slice(&claims.school_code.value().to_be_bytes()[3..]);
    if let Some((_, index)) = indexed {
        out.extend_from_slice(&index.to_be_bytes()[1..]);
    }
    // Both lengths are bounded by their types (32 and 64), so they fit a byte.
    out.push(number.len() as u8);
    out.extend_from_slice(number);
    out.push(name.len() as u8);
    out.extend_from_slice(name);
    out
}

/// Reads fixed-size fields off the front of a byte slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], TokenError> {
        if self.0.len() < n {
            return Err(TokenError::Malformed("数据被截断"));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], TokenError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn byte(&mut self) -> Result<u8, TokenError> {
        Ok(self.array::<1>()?[0])
    }
}

fn parse_payload(payload: &[u8]) -> Result<(Kid, Claims), TokenError> {
    let mut r = Reader(payload);
    let version = r.byte()?;
    if version != TOKEN_VERSION && version != TOKEN_VERSION_INDEXED {
        return Err(TokenError::Malformed("格式版本不受支持"));
    }
    let kid = Kid::from_bytes(r.array()?);
    let document_id = DocumentId::from_bytes(r.array()?);
    let kind = DocumentKind::from_wire(r.byte()?).ok_or(TokenError::Malformed("文书类型未知"))?;
    let issue_date = if version == TOKEN_VERSION_INDEXED {
        epoch().checked_add_signed(chrono::Duration::days(i64::from(u16::from_be_bytes(r.array()?))))
    } else {
        NaiveDate::from_num_days_from_ce_opt(i32::from_be_bytes(r.array()?))
    }
    .ok_or(TokenError::Malformed("签发日期无效"))?;
    let [a, b, c, d, e] = r.array()?;
    let school_code = SchoolCode::from_value(u64::from_be_bytes([0, 0, 0, a, b, c, d, e]))
        .ok_or(TokenError::Malformed("学校标识码无效"))?;
    let status_index = if version == TOKEN_VERSION_INDEXED {
        let [a, b, c] = r.array()?;
        Some(u32::from_be_bytes([0, a, b, c]))
    } else {
        None
    };
    let number_len = usize::from(r.byte()?);
    let number = std::str::from_utf8(r.take(number_len)?)
        .ok()
        .and_then(|n| DocumentNumber::new(n).ok())
        .ok_or(TokenError::Malformed("证书编号无效"))?;
    let name_len = usize::from(r.byte()?);
    let name = std::str::from_utf8(r.take(name_len)?).map_err(|_| TokenError::Malformed("姓名不是有效的 UTF-8"))?;
    let masked_name = MaskedName::from_token(name.to_owned()).ok_or(TokenError::Malformed("姓名过长"))?;
    if !r.0.is_empty() {
        return Err(TokenError::Malformed("末尾有多余数据"));
    }
    Ok((kid, Claims { document_id, kind, number, issue_date, school_code, masked_name, status_index }))
}

#[cfg(test)]
mod tests;
