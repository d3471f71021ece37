//! Bytes written as decimal digits, for the QR code's numeric mode.
//!
//! A QR code stores digits at 10 bits for 3 (3.33 bits a digit), letters
//! and digits at 11 bits for 2, and other bytes at 8 bits each. A signed
//! token is random-looking bytes: as base64url (byte mode, since it mixes
//! cases) it costs 10.7 bits a byte, as upper-case base32 (alphanumeric
//! mode) 8.8, and as decimal digits 8.1. The 124 bytes of a certificate's
//! token become 302 digits, which behind an upper-case base URL of up to 33
//! characters fit a version-8 code at level M; the same token as base32
//! needs version 9.
//!
//! Every 7 bytes (a big-endian number below 2^56) are written as 17 digits,
//! zero-padded; a last group of `k` bytes (1–6) takes the fewest digits
//! that can hold 256^k − 1 (3, 5, 8, 10, 13, 15 digits). Every length of a last group gives
//! a different number of digits, so the digits decode without a length.
//! Decoding is canonical: a group whose value does not fit its bytes, or a
//! number of digits no byte count gives, is refused, so one byte string has
//! exactly one spelling.

/// Bytes in a full group.
const GROUP: usize = 7;

/// Digits for a group of `k` bytes (index `k`): ⌈8k·log10 2⌉.
const DIGITS: [usize; GROUP + 1] = [0, 3, 5, 8, 10, 13, 15, 17];

/// The number of digits `encode` writes for `n` bytes.
pub const fn encoded_len(n: usize) -> usize {
    n / GROUP * DIGITS[GROUP] + DIGITS[n % GROUP]
}

/// `bytes` as decimal digits.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(encoded_len(bytes.len()));
    for group in bytes.chunks(GROUP) {
        let value = group.iter().fold(0u64, |v, &b| (v << 8) | u64::from(b));
        out.push_str(&format!("{value:0width$}", width = DIGITS[group.len()]));
    }
    out
}

/// The bytes `digits` spell; `None` unless it is exactly what [`encode`]
/// writes for some bytes.
pub fn decode(digits: &str) -> Option<Vec<u8>> {
    let digits = digits.as_bytes();
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let full = DIGITS[GROUP];
    let last = DIGITS.iter().position(|&d| d == digits.len() % full)?;
    let mut out = Vec::with_capacity(digits.len() / full * GROUP + last);
    for group in digits.chunks(full) {
        let bytes = if group.len() == full { GROUP } else { last };
        let value = group.iter().fold(0u64, |v, &d| v * 10 + u64::from(d - b'0'));
        if bytes < 8 && value >> (8 * bytes) != 0 {
            return None;
        }
        out.extend_from_slice(&value.to_be_bytes()[8 - bytes..]);
    }
    Some(out)
}

/// Whether `text` is in this form (digits only) rather than base64url.
pub fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_counts_are_the_fewest_that_hold_each_group() {
        for (k, &d) in DIGITS.iter().enumerate().skip(1) {
            let max = (1u64 << (8 * k)) - 1;
            assert_eq!(max.to_string().len(), d, "{k} bytes");
        }
        assert_eq!(encoded_len(123), 299);
    }

    #[test]
    fn every_length_round_trips_and_has_one_spelling() {
        let mut seed = 0x2026_1203_u64;
        for len in 0..80 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                    (seed >> 56) as u8
                })
                .collect();
            for case in [bytes.clone(), vec![0xff; len], vec![0; len]] {
                let text = encode(&case);
                assert_eq!(text.len(), encoded_len(len));
                assert!(text.is_empty() || is_digits(&text));
                assert_eq!(decode(&text).as_deref(), Some(&case[..]), "{len} bytes");
            }
        }
    }

    #[test]
    fn what_encode_never_writes_is_refused() {
        // A 3-digit group holds one byte: 256 does not fit.
        assert_eq!(decode("255"), Some(vec![255]));
        assert_eq!(decode("256"), None);
        // 2^56 in a full group.
        assert_eq!(decode("72057594037927936"), None);
        assert_eq!(decode("72057594037927935"), Some(vec![0xff; 7]));
        // No byte count gives 1, 2, 4 or 16 digits.
        for bad in ["1", "12", "1234", "1234567890123456"] {
            assert_eq!(decode(bad), None, "{bad}");
        }
        assert_eq!(decode("12a"), None);
        assert_eq!(decode("１２３"), None, "full-width digits are not digits");
        assert!(!is_digits("") && !is_digits("AQ12"));
    }
}
