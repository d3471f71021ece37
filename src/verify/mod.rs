//! Verification of printed documents: signing keys and QR-code tokens.
//!
//! Every certificate and form carries a QR code with
//! `HTTPS://<HOST>/V/{token}` ([`qr_url`]: upper case, the token in
//! digits, so the code uses the QR alphanumeric and numeric modes). The
//! token is a compact Ed25519-signed record of the document (kind, number,
//! issue date, school, masked name, a random document id and its index in
//! the [`status_list`]); the public page calls [`verify`] and shows either the signed
//! content or "无法验证" ([`TokenError::public_message`]).
//!
//! - [`KeyStore`] keeps the keys in a directory (`data/keys/`): private seeds
//!   in `<kid>.key` (mode 0600), the public set in `keys.json`, published as
//!   `/.well-known/xueji-keys.json` via [`KeyStore::public_key_set`]. Keys are
//!   `active` (signs), `retired` (verifies only) or `compromised` (everything
//!   it signed fails).
//! - [`sign`] and [`verify`] write and check tokens,
//!   `payload || Ed25519 signature` spelled in decimal digits (earlier
//!   tokens in base64url still verify); the byte layout is the table at the
//!   top of `token.rs` (124 bytes, 302 digits for a certificate).
//! - [`KeySet`] is the published key set alone (no private key), for checking
//!   tokens offline; [`verify`] takes either ([`VerifyingKeys`]).
//! - [`mask_name`] hides all but the first and last character of a name.
//!
//! Signing a certificate (the same flow runs in the `token` unit tests):
//!
//! ```ignore
//! use xueji::verify::{self, Claims, DocumentId, DocumentKind, DocumentNumber, KeyStore, MaskedName, SchoolCode};
//! let (keys, _created) = KeyStore::init("data/keys")?;
//! let claims = Claims {
//!     document_id: DocumentId::random(),
//!     kind: DocumentKind::GraduationCertificate,
//!     number: DocumentNumber::new("2201222026G1000123")?,
//!     issue_date: chrono::NaiveDate::from_ymd_opt(2026, 7, 1).unwrap(),
//!     school_code: SchoolCode::new("2122000001")?,
//!     masked_name: MaskedName::mask("欧阳小明"),
//!     status_index: Some(41),
//! };
//! let token = verify::sign(&keys.active_signer()?, &claims);
//! let url = verify::qr_url("https://verify.example.cn", &token); // HTTPS://VERIFY.EXAMPLE.CN/V/…
//! assert_eq!(verify::verify(&token, &keys)?.claims, claims);
//! ```

mod claims;
pub mod digits;
mod keys;
mod keyset;
mod kid;
pub mod status_list;
mod token;

pub use claims::{Claims, ClaimsError, DocumentId, DocumentKind, DocumentNumber, MaskedName, SchoolCode, mask_name};
pub use keys::{ALGORITHM, KEY_SET_FORMAT, KEYS_FILE, KeyError, KeyInfo, KeyStatus, KeyStore, Kid, Signer};
pub use keyset::{KeySet, VerifyingKeys};
pub use token::{
    MAX_STATUS_INDEX, MAX_TOKEN_CHARS, SIGNING_DOMAIN, TOKEN_VERSION, TOKEN_VERSION_INDEXED, TokenError, Verified,
    sign, verify,
};

/// The URL a document's QR code carries: the service's public base URL
/// with its scheme and host upper-cased (both are case-insensitive), then
/// `/V/` and the token. Upper-case letters, digits and `:/.` are all in the
/// QR alphanumeric set (and the token's digits in its numeric mode), so the
/// code is smaller than for the same URL in lower case; a path in the base
/// URL is kept as it is written.
pub fn qr_url(base: &str, token: &str) -> String {
    let base = base.trim_end_matches('/');
    let (scheme, rest) = base.split_once("://").unwrap_or(("", base));
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let scheme = if scheme.is_empty() { String::new() } else { format!("{}://", scheme.to_ascii_uppercase()) };
    format!("{scheme}{}{path}/V/{token}", host.to_ascii_uppercase())
}

/// The token inside a verification URL (or the input itself when it is
/// one): the part after the last `/v/` (or `/V/`, as a QR code spells it),
/// without a query, fragment, `.json` or `/check`.
pub fn token_in(input: &str) -> &str {
    let s = input.trim();
    let s = [s.rfind("/v/"), s.rfind("/V/")].into_iter().flatten().max().map_or(s, |i| &s[i + 3..]);
    let s = s.split(['?', '#']).next().unwrap_or_default();
    let s = s.strip_suffix(".json").unwrap_or(s);
    let s = s.strip_suffix("/check").unwrap_or(s);
    s.trim_end_matches('/')
}

#[cfg(test)]
mod tests {
    use super::{qr_url, token_in};

    #[test]
    fn tokens_are_found_in_urls() {
        assert_eq!(token_in("AbC-_1"), "AbC-_1");
        assert_eq!(token_in(" https://verify.example.cn/v/AbC-_1 \n"), "AbC-_1");
        assert_eq!(token_in("http://127.0.0.1:8080/v/AbC-_1/"), "AbC-_1");
        assert_eq!(token_in("http://h/v/AbC-_1?from=wechat#top"), "AbC-_1");
        assert_eq!(token_in("http://h/v/AbC-_1.json"), "AbC-_1");
        assert_eq!(token_in("http://h/v/AbC-_1/check"), "AbC-_1");
        assert_eq!(token_in("http://h/v/"), "");
        assert_eq!(token_in("HTTPS://VERIFY.EXAMPLE.CN/V/0123456789"), "0123456789");
        assert_eq!(token_in("https://h/V/x/v/0123"), "0123");
    }

    #[test]
    fn the_qr_url_is_upper_case_but_for_a_path() {
        assert_eq!(qr_url("https://verify.example.cn", "0123"), "HTTPS://VERIFY.EXAMPLE.CN/V/0123");
        assert_eq!(qr_url("http://127.0.0.1:8080/", "9"), "HTTP://127.0.0.1:8080/V/9");
        assert_eq!(qr_url("https://jyj.example.cn/xueji", "1"), "HTTPS://JYJ.EXAMPLE.CN/xueji/V/1");
    }
}
