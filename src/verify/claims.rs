//! What a verification token asserts about one printed document.
//!
//! Every field of [`Claims`] is a type that can only hold a value the token
//! format can carry, so [`sign`](super::sign) cannot fail and a name can only
//! enter a token masked ([`MaskedName`] is built only by masking).

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A field of [`Claims`] given as text was not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimsError {
    /// Not 32 hexadecimal digits.
    #[error("文书标识 {0:?} 无效（应为 32 位十六进制数字）")]
    InvalidDocumentId(String),
    /// Not at most 32 ASCII digits and letters.
    #[error("证书编号 {0:?} 无效（只能包含英文字母和数字，最多 32 位）")]
    InvalidNumber(String),
    /// Not exactly 10 ASCII digits.
    #[error("学校标识码 {0:?} 无效（应为 10 位数字）")]
    InvalidSchoolCode(String),
}

/// The unguessable identity of one printed document: 16 random bytes.
///
/// Written as 32 lowercase hex digits; parsing also accepts upper case.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocumentId([u8; 16]);

impl DocumentId {
    /// Length in bytes.
    pub const LEN: usize = 16;

    /// A fresh id from the thread-local CSPRNG (ChaCha, seeded by the OS).
    pub fn random() -> Self {
        Self(rand::random::<[u8; 16]>())
    }

    /// The id with these bytes.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The raw bytes.
    pub fn to_bytes(self) -> [u8; 16] {
        self.0
    }
}

impl fmt::Display for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DocumentId({self})")
    }
}

impl FromStr for DocumentId {
    type Err = ClaimsError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut bytes = [0u8; 16];
        hex::decode_to_slice(s, &mut bytes).map_err(|_| ClaimsError::InvalidDocumentId(s.to_owned()))?;
        Ok(Self(bytes))
    }
}

impl Serialize for DocumentId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DocumentId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The kind of a printed document: the domain's [`DocKind`](crate::domain::DocKind),
/// whose [`wire`](crate::domain::DocKind::wire) code the token carries (the
/// table of codes is on that type; they must never be renumbered).
pub use crate::domain::DocKind as DocumentKind;

/// A document or certificate number: 0 to 32 ASCII digits and letters
/// (case kept). Empty for forms that carry no number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct DocumentNumber(String);

impl DocumentNumber {
    /// Longest number, in characters (= bytes).
    pub const MAX_LEN: usize = 32;

    /// Checks and wraps `number` (no trimming).
    pub fn new(number: &str) -> Result<Self, ClaimsError> {
        if Self::is_valid(number.as_bytes()) {
            Ok(Self(number.to_owned()))
        } else {
            Err(ClaimsError::InvalidNumber(number.to_owned()))
        }
    }

    /// The empty number of an unnumbered form.
    pub fn none() -> Self {
        Self(String::new())
    }

    /// The number as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is the empty number.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn is_valid(bytes: &[u8]) -> bool {
        bytes.len() <= Self::MAX_LEN && bytes.iter().all(u8::is_ascii_alphanumeric)
    }
}

impl fmt::Display for DocumentNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for DocumentNumber {
    type Err = ClaimsError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl Serialize for DocumentNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// A school's 学校标识码: exactly 10 ASCII digits (leading zeros kept).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SchoolCode(u64);

impl SchoolCode {
    /// One past the largest value (10^10).
    pub(super) const LIMIT: u64 = 10_000_000_000;

    /// Checks and wraps `code` (no trimming).
    pub fn new(code: &str) -> Result<Self, ClaimsError> {
        if code.len() != 10 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ClaimsError::InvalidSchoolCode(code.to_owned()));
        }
        code.parse().map(Self).map_err(|_| ClaimsError::InvalidSchoolCode(code.to_owned()))
    }

    /// The code as a number below 10^10.
    pub(super) fn value(self) -> u64 {
        self.0
    }

    /// The code with this numeric value, if below 10^10.
    pub(super) fn from_value(value: u64) -> Option<Self> {
        (value < Self::LIMIT).then_some(Self(value))
    }
}

impl fmt::Display for SchoolCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:010}", self.0)
    }
}

impl fmt::Debug for SchoolCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SchoolCode({self})")
    }
}

impl FromStr for SchoolCode {
    type Err = ClaimsError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl Serialize for SchoolCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A student's name after [`mask_name`]: only ever built by masking (or read
/// back from a signed token), so a full name cannot reach a token by mistake.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MaskedName(String);

impl MaskedName {
    /// Longest masked name in UTF-8 bytes; [`mask_name`] uses fewer `*` for
    /// (unrealistically) long names to stay within it.
    pub const MAX_BYTES: usize = 64;

    /// Masks a full name (see [`mask_name`]).
    pub fn mask(full_name: &str) -> Self {
        Self(mask_name(full_name))
    }

    /// The masked name, e.g. `欧**明`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Wraps text read from a signed token.
    pub(super) fn from_token(text: String) -> Option<Self> {
        (text.len() <= Self::MAX_BYTES).then_some(Self(text))
    }
}

impl fmt::Display for MaskedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for MaskedName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// Masks a name for the public page: keeps the first and the last character
/// and writes one `*` for every character between them.
///
/// Characters are Unicode scalar values, not bytes (𠮷 U+20BB7 counts as
/// one). Surrounding white space is trimmed first. A middle dot is masked like
/// any other character, so its position is not revealed:
///
/// | name | masked |
/// |------|--------|
/// | 张小明 | 张*明 |
/// | 欧阳小明 | 欧**明 |
/// | 张三 | 张* |
/// | 张 | * |
/// | 阿依古丽·买买提 | 阿******提 |
/// | (empty) | (empty) |
///
/// The result is at most [`MaskedName::MAX_BYTES`] bytes: a name longer than
/// about 56 characters gets fewer `*` than hidden characters.
pub fn mask_name(name: &str) -> String {
    let name = name.trim();
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    let Some(last) = chars.next_back() else {
        return "*".to_owned();
    };
    let middle = chars.count();
    if middle == 0 {
        // Two characters: the last one is hidden.
        return format!("{first}*");
    }
    let room = MaskedName::MAX_BYTES - first.len_utf8() - last.len_utf8();
    let stars = "*".repeat(middle.min(room));
    format!("{first}{stars}{last}")
}

/// What a token asserts about one printed document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Claims {
    /// The document's random id (the key to its database row).
    pub document_id: DocumentId,
    /// Which document this is.
    pub kind: DocumentKind,
    /// The certificate number; empty for unnumbered forms.
    pub number: DocumentNumber,
    /// The date printed as the issue date.
    pub issue_date: NaiveDate,
    /// The issuing school's 学校标识码.
    pub school_code: SchoolCode,
    /// The student's masked name.
    pub masked_name: MaskedName,
    /// The document's bit in the published status list, if it has one
    /// (documents printed before the list have none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_index: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_name_cases() {
        let cases = [
            ("张小明", "张*明"),
            ("欧阳小明", "欧**明"),
            ("张三", "张*"),
            ("张", "*"),
            ("", ""),
            ("   ", ""),
            (" 张小明 ", "张*明"),
            ("阿依古丽·买买提", "阿******提"),
            ("𠮷", "*"),
            ("𠮷野", "𠮷*"),
            ("𠮷田家", "𠮷*家"),
            ("王𠮷", "王*"),
            ("李𠮷明", "李*明"),
            ("Ann Lee", "A*****e"),
        ];
        for (name, want) in cases {
            assert_eq!(mask_name(name), want, "mask_name({name:?})");
            assert_eq!(MaskedName::mask(name).as_str(), want);
        }
    }

    #[test]
    fn mask_name_stays_within_the_byte_limit() {
        let long = "阿".repeat(200);
        let masked = mask_name(&long);
        assert!(masked.len() <= MaskedName::MAX_BYTES, "{}", masked.len());
        assert!(masked.starts_with('阿') && masked.ends_with('阿'));
        assert_eq!(masked.len(), MaskedName::MAX_BYTES);
    }

    #[test]
    fn document_id_hex_round_trip() {
        let id = DocumentId::random();
        let text = id.to_string();
        assert_eq!(text.len(), 32);
        assert!(text.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(text.parse::<DocumentId>().unwrap(), id);
        assert_eq!(text.to_uppercase().parse::<DocumentId>().unwrap(), id);
        assert_ne!(DocumentId::random(), id);
        for bad in ["", "00", &"g".repeat(32), &"0".repeat(31), &"0".repeat(33)] {
            assert!(bad.parse::<DocumentId>().is_err(), "{bad:?}");
        }
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<DocumentId>(&json).unwrap(), id);
    }

    #[test]
    fn kind_tables_are_consistent() {
        for (i, kind) in DocumentKind::ALL.into_iter().enumerate() {
            assert_eq!(usize::from(kind.wire()), i + 1);
            assert_eq!(DocumentKind::from_wire(kind.wire()), Some(kind));
            assert_eq!(kind.code().parse::<DocumentKind>().unwrap(), kind);
        }
        assert_eq!(DocumentKind::from_wire(0), None);
        assert_eq!(DocumentKind::from_wire(11), None);
        assert!("diploma".parse::<DocumentKind>().is_err());
    }

    #[test]
    fn number_and_school_code_validation() {
        assert!(DocumentNumber::new("2201222026G1000123").is_ok());
        assert!(DocumentNumber::new("").unwrap().is_empty());
        assert!(DocumentNumber::new(&"9".repeat(32)).is_ok());
        for bad in [&"9".repeat(33), "2201-01", " 123", "一二三", "12\n"] {
            assert!(DocumentNumber::new(bad).is_err(), "{bad:?}");
        }
        let code = SchoolCode::new("0122000001").unwrap();
        assert_eq!(code.to_string(), "0122000001");
        assert_eq!(SchoolCode::from_value(code.value()), Some(code));
        assert_eq!(SchoolCode::from_value(SchoolCode::LIMIT), None);
        for bad in ["212200000", "21220000011", "21220000a1", "+212200001", "２１２２０００００１"] {
            assert!(SchoolCode::new(bad).is_err(), "{bad:?}");
        }
    }
}
