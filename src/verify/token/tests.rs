//! The token format's tests: round trips, every refusal, both spellings.

use super::*;
use crate::verify::KeyStore;
use ed25519_dalek::SigningKey;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const URL_PREFIX: &str = "https://verify.example.cn/v/";

fn store() -> (tempfile::TempDir, KeyStore) {
    let tmp = tempfile::tempdir().unwrap();
    let (store, _) = KeyStore::init(tmp.path()).unwrap();
    (tmp, store)
}

fn certificate() -> Claims {
    Claims {
        document_id: DocumentId::random(),
        kind: DocumentKind::GraduationCertificate,
        number: DocumentNumber::new("2201222026G1000123").unwrap(),
        issue_date: NaiveDate::from_ymd_opt(2026, 7, 1).unwrap(),
        school_code: SchoolCode::new("2122000001").unwrap(),
        masked_name: MaskedName::mask("欧阳小明"),
        status_index: None,
    }
}

/// The bytes of a token (either spelling).
fn raw(token: &str) -> Vec<u8> {
    token_bytes(token).unwrap()
}

/// Bytes spelled as [`sign`] spells them.
fn spell(bytes: &[u8]) -> String {
    digits::encode(bytes)
}

fn flip(token: &str, index: usize, mask: u8) -> String {
    let mut bytes = raw(token);
    bytes[index] ^= mask;
    spell(&bytes)
}

/// Signs raw payload bytes, to show the parser is strict even for data
/// that carries a valid signature.
fn sign_raw(signer: &Signer, payload: &[u8]) -> String {
    spell(&encode_signed(signer, payload))
}

#[test]
fn a_token_with_a_status_index_carries_it_and_fits_the_same_code() {
    let (_tmp, keys) = store();
    let signer = keys.active_signer().unwrap();
    let mut claims = certificate();
    claims.status_index = Some(123_456);
    let token = sign(&signer, &claims);
    assert_eq!(raw(&token)[0], TOKEN_VERSION_INDEXED);
    assert_eq!(token.len(), 302, "124 bytes: the date 2 bytes shorter, the index 3 longer");
    assert_eq!(verify(&token, &keys).unwrap().claims, claims);
    // The index and the two-byte date are signed like the rest.
    for index in [22, 23, 45, 46, 47] {
        assert!(verify(&flip(&token, index, 1), &keys).is_err(), "byte {index}");
    }
    // Indexes and dates it cannot carry fall back to a token without an index.
    for (index, date) in
        [(MAX_STATUS_INDEX + 1, claims.issue_date), (1, NaiveDate::from_ymd_opt(1999, 12, 31).unwrap())]
    {
        let mut c = claims.clone();
        (c.status_index, c.issue_date) = (Some(index), date);
        let back = verify(&sign(&signer, &c), &keys).unwrap().claims;
        assert_eq!((back.status_index, back.issue_date), (None, date));
    }
    claims.issue_date = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap();
    assert_eq!(verify(&sign(&signer, &claims), &keys).unwrap().claims, claims, "the first day it can say");
}

#[test]
fn a_token_dated_after_its_key_was_retired_fails_online_and_offline() {
    let (_tmp, keys) = store();
    let first = keys.active_signer().unwrap();
    keys.rotate().unwrap();
    let china = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    let retired = keys.info(first.kid()).unwrap().retired.expect("rotation records the end of the window");
    let last_day = retired.with_timezone(&china).date_naive();
    let published = serde_json::to_vec(&keys.public_key_set()).unwrap();
    assert!(String::from_utf8_lossy(&published).contains("\"retired\""));
    let offline = crate::verify::KeySet::parse(&published, std::path::Path::new("xueji-keys.json")).unwrap();
    let mut claims = certificate();
    claims.issue_date = last_day;
    let on_the_day = sign(&first, &claims);
    claims.issue_date = last_day.succ_opt().unwrap();
    let after = sign(&first, &claims);
    for keys in [&keys as &dyn VerifyingKeys, &offline] {
        assert_eq!(verify(&on_the_day, keys).unwrap().key_status, KeyStatus::Retired);
        let err = verify(&after, keys).unwrap_err();
        assert_eq!(err, TokenError::OutsideKeyWindow(first.kid()));
        assert_eq!((err.code(), err.public_message()), ("outside_key_window", "无法验证"));
    }
    // The active key's window is open: a document dated next year verifies.
    claims.issue_date = last_day + chrono::Duration::days(365);
    assert!(verify(&sign(&keys.active_signer().unwrap(), &claims), &keys).is_ok());
}

#[test]
fn a_token_printed_as_base64url_keeps_verifying() {
    let (_tmp, keys) = store();
    let claims = certificate();
    let token = sign(&keys.active_signer().unwrap(), &claims);
    let old = URL_SAFE_NO_PAD.encode(raw(&token));
    assert_eq!(old.len(), 164);
    assert_eq!(verify(&old, &keys).unwrap().claims, claims);
    // One bit changed in the old spelling fails as it always did.
    let mut bytes = raw(&token);
    bytes[40] ^= 1;
    assert_eq!(verify(&URL_SAFE_NO_PAD.encode(&bytes), &keys), Err(TokenError::BadSignature));
    // Non-canonical digits (a group past its bytes) are malformed, not another token.
    let mut bad = token.clone().into_bytes();
    bad[..3].copy_from_slice(b"999");
    assert_eq!(verify(std::str::from_utf8(&bad).unwrap(), &keys).unwrap_err().code(), "malformed");
}

#[test]
fn round_trip() {
    let (_tmp, keys) = store();
    let signer = keys.active_signer().unwrap();
    for kind in DocumentKind::ALL {
        let mut claims = certificate();
        claims.kind = kind;
        let token = sign(&signer, &claims);
        let verified = verify(&token, &keys).unwrap();
        assert_eq!(verified.claims, claims);
        assert_eq!(verified.kid, signer.kid());
        assert_eq!(verified.key_status, KeyStatus::Active);
    }
    // Unnumbered form, empty name, extreme dates and codes.
    for date in [NaiveDate::MIN, NaiveDate::MAX, NaiveDate::from_ymd_opt(1, 1, 1).unwrap()] {
        let claims = Claims {
            document_id: DocumentId::random(),
            kind: DocumentKind::BasicInfo,
            number: DocumentNumber::none(),
            issue_date: date,
            school_code: SchoolCode::new("0000000000").unwrap(),
            masked_name: MaskedName::mask(""),
            status_index: None,
        };
        let token = sign(&signer, &claims);
        assert_eq!(verify(&token, &keys).unwrap().claims, claims);
    }
    // Longest token.
    let mut claims = certificate();
    claims.number = DocumentNumber::new(&"Z".repeat(32)).unwrap();
    claims.school_code = SchoolCode::new("9999999999").unwrap();
    claims.masked_name = MaskedName::mask(&"𠮷".repeat(80));
    claims.status_index = Some(MAX_STATUS_INDEX);
    assert_eq!(claims.masked_name.as_str().len(), MaskedName::MAX_BYTES);
    let token = sign(&signer, &claims);
    assert_eq!(token.len(), MAX_TOKEN_CHARS);
    assert_eq!(verify(&token, &keys).unwrap().claims, claims);
    let json = serde_json::to_value(&claims).unwrap();
    assert_eq!(json["school_code"], "9999999999");
    assert_eq!(json["kind"], "graduation_certificate");
}

#[test]
fn realistic_certificate_fits_a_small_qr_code() {
    let (_tmp, keys) = store();
    let claims = certificate();
    assert_eq!(claims.masked_name.as_str(), "欧**明");
    let token = sign(&keys.active_signer().unwrap(), &claims);
    let url = format!("{URL_PREFIX}{token}");
    println!(
        "realistic certificate: payload {} bytes + 64-byte signature, token {} chars, URL {} chars (longest possible token {MAX_TOKEN_CHARS} chars)",
        raw(&token).len() - SIGNATURE_LEN,
        token.len(),
        url.len()
    );
    println!("{url}");
    assert_eq!(token.len(), 299);
    assert!(token.bytes().all(|b| b.is_ascii_digit()));
    assert!(URL_PREFIX.len() + MAX_TOKEN_CHARS <= crate::render::MAX_VERIFY_URL);
}

#[test]
fn every_flipped_byte_fails() {
    let (_tmp, keys) = store();
    let token = sign(&keys.active_signer().unwrap(), &certificate());
    let len = raw(&token).len();
    for index in 0..len {
        for bit in 0..8 {
            let bad = flip(&token, index, 1 << bit);
            assert!(verify(&bad, &keys).is_err(), "byte {index} bit {bit}");
        }
        assert!(verify(&flip(&token, index, 0xff), &keys).is_err(), "byte {index}");
    }
    // Any one character replaced.
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=. ";
    for index in 0..token.len() {
        for &c in alphabet {
            if token.as_bytes()[index] == c {
                continue;
            }
            let mut bad = token.clone().into_bytes();
            bad[index] = c;
            let bad = String::from_utf8(bad).unwrap();
            assert!(verify(&bad, &keys).is_err(), "char {index} -> {}", c as char);
        }
    }
}

#[test]
fn flipped_payload_and_signature_bytes_give_the_expected_errors() {
    let (_tmp, keys) = store();
    let token = sign(&keys.active_signer().unwrap(), &certificate());
    let len = raw(&token).len();
    // Version → malformed; kid → unknown key; document id → bad signature;
    // signature → bad signature.
    assert_eq!(verify(&flip(&token, 0, 1), &keys).unwrap_err().code(), "malformed");
    assert_eq!(verify(&flip(&token, 1, 1), &keys).unwrap_err().code(), "unknown_key");
    assert_eq!(verify(&flip(&token, 10, 1), &keys), Err(TokenError::BadSignature));
    assert_eq!(verify(&flip(&token, len - 1, 1), &keys), Err(TokenError::BadSignature));
    assert_eq!(verify(&flip(&token, len - 64, 1), &keys), Err(TokenError::BadSignature));
}

#[test]
fn truncated_and_extended_tokens_fail() {
    let (_tmp, keys) = store();
    let token = sign(&keys.active_signer().unwrap(), &certificate());
    for end in 0..token.len() {
        let err = verify(&token[..end], &keys).unwrap_err();
        if end == 0 {
            assert_eq!(err, TokenError::Empty);
        }
    }
    // Dropping whole bytes (re-encoded canonically) is malformed.
    let bytes = raw(&token);
    for end in 1..bytes.len() {
        let short = spell(&bytes[..end]);
        assert_eq!(verify(&short, &keys).unwrap_err().code(), "malformed", "{end} bytes");
    }
    for suffix in ["A", "AA", "AAAA", "=", "==", " ", "\n", "/"] {
        assert!(verify(&format!("{token}{suffix}"), &keys).is_err(), "{suffix:?}");
    }
    assert!(verify(&format!(" {token}"), &keys).is_err());
}

#[test]
fn empty_token() {
    let (_tmp, keys) = store();
    let err = verify("", &keys).unwrap_err();
    assert_eq!(err, TokenError::Empty);
    assert_eq!(err.code(), "empty");
    assert_eq!(err.public_message(), "无法验证");
    assert_eq!(err.to_string(), "验证令牌为空");
}

#[test]
fn unknown_kid() {
    let (_tmp, keys) = store();
    let (_other_tmp, other) = store();
    let token = sign(&other.active_signer().unwrap(), &certificate());
    let other_kid = other.active_signer().unwrap().kid();
    let err = verify(&token, &keys).unwrap_err();
    assert_eq!(err, TokenError::UnknownKey(other_kid));
    assert_eq!(err.code(), "unknown_key");
    assert!(err.to_string().contains(&other_kid.to_string()));
}

#[test]
fn different_key_under_a_known_kid_is_a_bad_signature() {
    let (_tmp, keys) = store();
    let kid = keys.active_signer().unwrap().kid();
    let forger = Signer::forged(kid, SigningKey::from_bytes(&rand::random::<[u8; 32]>()));
    let token = sign(&forger, &certificate());
    let err = verify(&token, &keys).unwrap_err();
    assert_eq!(err, TokenError::BadSignature);
    assert_eq!(err.code(), "bad_signature");
}

#[test]
fn signature_without_the_domain_prefix_fails() {
    let (_tmp, keys) = store();
    let signer = keys.active_signer().unwrap();
    let payload = encode_payload(signer.kid(), &certificate());
    let bare = signer_sign_without_domain(&signer, &payload);
    assert_eq!(verify(&bare, &keys), Err(TokenError::BadSignature));
}

fn signer_sign_without_domain(signer: &Signer, payload: &[u8]) -> String {
    let signature = signer.sign_message(payload);
    let mut bytes = payload.to_vec();
    bytes.extend_from_slice(&signature.to_bytes());
    spell(&bytes)
}

#[test]
fn compromised_key_fails_and_retired_key_still_verifies() {
    let (_tmp, keys) = store();
    let first = keys.active_signer().unwrap();
    let old = sign(&first, &certificate());

    let second_kid = keys.rotate().unwrap();
    let second = keys.active_signer().unwrap();
    assert_eq!(second.kid(), second_kid);
    let new = sign(&second, &certificate());
    assert_eq!(verify(&new, &keys).unwrap().kid, second_kid);
    // New documents carry the new kid; old ones still verify.
    let verified_old = verify(&old, &keys).unwrap();
    assert_eq!(verified_old.kid, first.kid());
    assert_eq!(verified_old.key_status, KeyStatus::Retired);

    keys.mark_compromised(first.kid()).unwrap();
    let err = verify(&old, &keys).unwrap_err();
    assert_eq!(err, TokenError::Compromised(first.kid()));
    assert_eq!(err.code(), "compromised");
    assert_eq!(err.public_message(), "无法验证");
    assert!(verify(&new, &keys).is_ok());

    keys.mark_compromised(second_kid).unwrap();
    assert_eq!(verify(&new, &keys), Err(TokenError::Compromised(second_kid)));
}

#[test]
fn signed_but_malformed_payloads_are_refused() {
    let (_tmp, keys) = store();
    let signer = keys.active_signer().unwrap();
    let good = encode_payload(signer.kid(), &certificate());
    assert!(verify(&sign_raw(&signer, &good), &keys).is_ok());
    let number_at = FIXED_LEN - 2; // the number's length byte
    let name_at = number_at + 1 + 18; // the name's length byte

    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
    let mut trailing = good.clone();
    trailing.push(0);
    cases.push(("末尾有多余数据", trailing));
    for v in [0u8, 3, 255] {
        let mut version = good.clone();
        version[0] = v;
        cases.push(("格式版本不受支持", version));
    }
    for kind in [0u8, 11, 255] {
        let mut bad = good.clone();
        bad[21] = kind;
        cases.push(("文书类型未知", bad));
    }
    let mut date = good.clone();
    date[22..26].copy_from_slice(&i32::MAX.to_be_bytes());
    cases.push(("签发日期无效", date));
    let mut school = good.clone();
    school[26..31].copy_from_slice(&[0xff; 5]);
    cases.push(("学校标识码无效", school));
    let mut number = good.clone();
    number[number_at + 1] = b'-';
    cases.push(("证书编号无效", number));
    let mut number_len = good.clone();
    number_len[number_at] = 40;
    cases.push(("数据被截断", number_len));
    let mut utf8 = good.clone();
    utf8[name_at + 1] = 0xff;
    cases.push(("姓名不是有效的 UTF-8", utf8));
    let mut name_len = good.clone();
    name_len[name_at] += 1;
    cases.push(("数据被截断", name_len));
    let mut long_name = good[..name_at].to_vec();
    long_name.push(65);
    long_name.extend_from_slice(&[b'*'; 65]);
    cases.push(("姓名过长", long_name));

    for (reason, payload) in cases {
        let token = sign_raw(&signer, &payload);
        assert_eq!(verify(&token, &keys), Err(TokenError::Malformed(reason)));
    }
    // A number longer than 32 characters, even when the bytes are there.
    let mut payload = good[..number_at].to_vec();
    payload.push(33);
    payload.extend_from_slice(&[b'1'; 33]);
    payload.extend_from_slice(&good[name_at..]);
    let token = sign_raw(&signer, &payload);
    assert_eq!(verify(&token, &keys), Err(TokenError::Malformed("证书编号无效")));
}

#[test]
fn errors_have_stable_codes_and_chinese_messages() {
    let kid = Kid::from_bytes([1, 2, 3, 4]);
    let all = [
        TokenError::Empty,
        TokenError::Malformed("长度不足"),
        TokenError::UnknownKey(kid),
        TokenError::Compromised(kid),
        TokenError::BadSignature,
    ];
    let codes: Vec<_> = all.iter().map(TokenError::code).collect();
    assert_eq!(codes, ["empty", "malformed", "unknown_key", "compromised", "bad_signature"]);
    for err in &all {
        assert_eq!(err.public_message(), "无法验证");
        assert!(err.to_string().chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)));
    }
}

#[test]
fn random_input_never_panics() {
    let (_tmp, keys) = store();
    let signer = keys.active_signer().unwrap();
    let token = sign(&signer, &certificate());
    let good = raw(&token);
    let mut rng = StdRng::seed_from_u64(0x0078_7565_6a69);
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for round in 0..10_000 {
        let len = rng.random_range(0..400);
        let input = match round % 4 {
            // Arbitrary bytes, lossily made text.
            0 => {
                let bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
                String::from_utf8_lossy(&bytes).into_owned()
            }
            // Arbitrary base64url text.
            1 => (0..len).map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())])).collect(),
            // Random bytes behind a valid version and the real kid.
            2 => {
                let mut bytes = good[..5].to_vec();
                bytes.extend((0..len % 200).map(|_| rng.random::<u8>()));
                spell(&bytes)
            }
            // The valid token with a few random bytes changed, in the old spelling.
            _ => {
                let mut bytes = good.clone();
                for _ in 0..rng.random_range(1..4) {
                    let i = rng.random_range(0..bytes.len());
                    bytes[i] ^= rng.random_range(1..=255u8);
                }
                URL_SAFE_NO_PAD.encode(bytes)
            }
        };
        assert!(verify(&input, &keys).is_err(), "round {round}: {input:?}");
    }
    // Every single-byte value at every position of the valid token.
    for index in 0..good.len() {
        for value in 0..=255u8 {
            if value == good[index] {
                continue;
            }
            let mut bytes = good.clone();
            bytes[index] = value;
            assert!(verify(&spell(&bytes), &keys).is_err());
        }
    }
}
