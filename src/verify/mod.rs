//! Verification of printed documents: signing keys and QR-code tokens.
//!
//! Every certificate and form carries a QR code with
//! `https://<host>/v/{token}`. The token is a compact Ed25519-signed record of
//! the document (kind, number, issue date, school, masked name and a random
//! document id); the public page calls [`verify`] and shows either the signed
//! content or "无法验证" ([`TokenError::public_message`]).
//!
//! - [`KeyStore`] keeps the keys in a directory (`data/keys/`): private seeds
//!   in `<kid>.key` (mode 0600), the public set in `keys.json`, published as
//!   `/.well-known/xueji-keys.json` via [`KeyStore::public_key_set`]. Keys are
//!   `active` (signs), `retired` (verifies only) or `compromised` (everything
//!   it signed fails).
//! - [`sign`] and [`verify`] write and check tokens,
//!   `base64url(payload || Ed25519 signature)`; the byte layout is the table
//!   at the top of `token.rs` (123 bytes, 164 characters for a certificate).
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
//! };
//! let token = verify::sign(&keys.active_signer()?, &claims);
//! let url = format!("https://verify.example.cn/v/{token}");
//! assert_eq!(verify::verify(&token, &keys)?.claims, claims);
//! ```

mod claims;
mod keys;
mod keyset;
mod kid;
mod token;

pub use claims::{Claims, ClaimsError, DocumentId, DocumentKind, DocumentNumber, MaskedName, SchoolCode, mask_name};
pub use keys::{ALGORITHM, KEY_SET_FORMAT, KEYS_FILE, KeyError, KeyInfo, KeyStatus, KeyStore, Kid, Signer};
pub use keyset::{KeySet, VerifyingKeys};
pub use token::{MAX_TOKEN_CHARS, SIGNING_DOMAIN, TOKEN_VERSION, TokenError, Verified, sign, verify};
