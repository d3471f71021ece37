//! The resident identity number (居民身份证号码, GB 11643-1999).
//!
//! 18 characters: a 6-digit area code, an 8-digit birth date, a 3-digit
//! sequence whose parity gives the gender (odd = male), and a check
//! character computed with ISO 7064 MOD 11-2.

use super::DomainError;
use chrono::NaiveDate;
use std::fmt;

const FIELD: &str = "身份证件号";
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// Gender as recorded on the ID card and the forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Gender {
    /// 男
    Male,
    /// 女
    Female,
}

impl Gender {
    /// Parses 男/女 (or `male`/`female`, `M`/`F`).
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s.trim() {
            "男" | "male" | "M" | "m" => Ok(Self::Male),
            "女" | "female" | "F" | "f" => Ok(Self::Female),
            other => Err(DomainError::new("gender.invalid", "性别", other, "不是有效的性别，应为“男”或“女”")),
        }
    }

    /// The Chinese label printed on forms.
    pub fn label(self) -> &'static str {
        match self {
            Self::Male => "男",
            Self::Female => "女",
        }
    }

    /// The stable code stored in the database.
    pub fn code(self) -> &'static str {
        match self {
            Self::Male => "male",
            Self::Female => "female",
        }
    }
}

/// A valid 18-character resident identity number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdNumber(String);

/// Computes the check character for the first 17 digits.
///
/// # Panics
/// Never for input of 17 ASCII digits; callers in this module ensure that.
pub fn check_char(first17: &[u8; 17]) -> char {
    let sum: u32 = first17.iter().zip(WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
    CHECK_CHARS[(sum % 11) as usize]
}

impl IdNumber {
    /// Parses and checks an ID number: length, digits, a real birth date, the check character.
    /// A lowercase `x` is accepted and stored as `X`; surrounding whitespace is ignored.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let raw = s.trim();
        let upper = raw.to_ascii_uppercase();
        let bytes = upper.as_bytes();
        if upper.chars().count() != 18 {
            return Err(DomainError::new("id.length", FIELD, raw, "长度不是18位"));
        }
        if !bytes[..17].iter().all(u8::is_ascii_digit) || !(bytes[17].is_ascii_digit() || bytes[17] == b'X') {
            return Err(DomainError::new("id.characters", FIELD, raw, "含有非法字符：前17位须为数字，末位为数字或X"));
        }
        if birth_date_of(bytes).is_none() {
            return Err(DomainError::new("id.birth_date", FIELD, raw, "中的出生日期不是真实存在的日期"));
        }
        let mut first17 = [0u8; 17];
        first17.copy_from_slice(&bytes[..17]);
        let expected = check_char(&first17);
        if char::from(bytes[17]) != expected {
            return Err(DomainError::new("id.checksum", FIELD, raw, "校验码错误（末位应为按GB 11643计算的校验码）"));
        }
        Ok(Self(upper))
    }

    /// The number as 18 characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 6-digit administrative area code.
    pub fn area_code(&self) -> &str {
        &self.0[..6]
    }

    /// The birth date encoded in the number.
    pub fn birth_date(&self) -> NaiveDate {
        birth_date_of(self.0.as_bytes()).expect("checked at parse")
    }

    /// The gender encoded by the sequence's parity.
    pub fn gender(&self) -> Gender {
        if (self.0.as_bytes()[16] - b'0') % 2 == 1 { Gender::Male } else { Gender::Female }
    }

    /// Checks the record's birth date and gender against the number.
    pub fn check_matches(&self, birth_date: NaiveDate, gender: Gender) -> Result<(), DomainError> {
        if self.birth_date() != birth_date {
            return Err(DomainError::new(
                "id.birth_mismatch",
                "出生日期",
                birth_date.to_string(),
                &format!("与身份证件号中的出生日期（{}）不一致", self.birth_date()),
            ));
        }
        if self.gender() != gender {
            return Err(DomainError::new(
                "id.gender_mismatch",
                "性别",
                gender.label(),
                &format!("与身份证件号中的性别（{}）不一致", self.gender().label()),
            ));
        }
        Ok(())
    }

    /// Builds a valid number from its parts, computing the check character.
    /// Used by the sample-county generator; `seq` is taken modulo 1000.
    pub fn from_parts(area: &str, birth: NaiveDate, seq: u16) -> Result<Self, DomainError> {
        let body = format!("{area}{}{:03}", birth.format("%Y%m%d"), seq % 1000);
        let mut first17 = [0u8; 17];
        if body.len() != 17 || !body.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DomainError::new("id.characters", FIELD, body, "不是17位数字"));
        }
        first17.copy_from_slice(body.as_bytes());
        Self::parse(&format!("{body}{}", check_char(&first17)))
    }
}

fn birth_date_of(bytes: &[u8]) -> Option<NaiveDate> {
    let s = std::str::from_utf8(bytes.get(6..14)?).ok()?;
    NaiveDate::parse_from_str(s, "%Y%m%d").ok()
}

impl fmt::Display for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_standards_examples() {
        let id = IdNumber::parse("11010519491231002X").unwrap();
        assert_eq!(id.birth_date(), NaiveDate::from_ymd_opt(1949, 12, 31).unwrap());
        assert_eq!(id.gender(), Gender::Female);
        assert_eq!(id.area_code(), "110105");
        let id = IdNumber::parse("440524188001010014").unwrap();
        assert_eq!(id.gender(), Gender::Male);
    }

    #[test]
    fn lowercase_x_is_normalised() {
        assert_eq!(IdNumber::parse(" 11010519491231002x ").unwrap().as_str(), "11010519491231002X");
    }

    #[test]
    fn wrong_check_character_is_refused() {
        let e = IdNumber::parse("110105194912310021").unwrap_err();
        assert_eq!(e.code, "id.checksum");
        assert!(e.message.contains("身份证件号") && e.message.contains("110105194912310021"));
    }

    #[test]
    fn impossible_dates_are_refused() {
        for body in ["22012220180230001", "22012220181301001", "22012220190229001"] {
            let mut first17 = [0u8; 17];
            first17.copy_from_slice(body.as_bytes());
            let id = format!("{body}{}", check_char(&first17));
            assert_eq!(IdNumber::parse(&id).unwrap_err().code, "id.birth_date", "{id}");
        }
    }

    #[test]
    fn length_and_characters_are_checked() {
        assert_eq!(IdNumber::parse("2201222018").unwrap_err().code, "id.length");
        assert_eq!(IdNumber::parse("22012220180101A01X").unwrap_err().code, "id.characters");
        assert_eq!(IdNumber::parse("").unwrap_err().code, "id.length");
        assert_eq!(IdNumber::parse("２２０１２２２０１８０１０１００１X").unwrap_err().code, "id.characters");
    }

    #[test]
    fn birth_date_and_gender_must_match_the_record() {
        let birth = NaiveDate::from_ymd_opt(2018, 3, 4).unwrap();
        let id = IdNumber::from_parts("220122", birth, 13).unwrap();
        assert_eq!(id.gender(), Gender::Male);
        id.check_matches(birth, Gender::Male).unwrap();
        assert_eq!(id.check_matches(birth.succ_opt().unwrap(), Gender::Male).unwrap_err().code, "id.birth_mismatch");
        assert_eq!(id.check_matches(birth, Gender::Female).unwrap_err().code, "id.gender_mismatch");
    }

    #[test]
    fn from_parts_always_gives_a_valid_number() {
        let birth = NaiveDate::from_ymd_opt(2016, 8, 31).unwrap();
        for seq in 0..1000 {
            let id = IdNumber::from_parts("220122", birth, seq).unwrap();
            assert_eq!(IdNumber::parse(id.as_str()).unwrap(), id);
        }
    }

    #[test]
    fn gender_parses_chinese_labels() {
        assert_eq!(Gender::parse("男").unwrap(), Gender::Male);
        assert_eq!(Gender::parse(" 女").unwrap(), Gender::Female);
        assert_eq!(Gender::parse("未知").unwrap_err().code, "gender.invalid");
    }
}
