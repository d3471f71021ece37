//! The national student number (全国学籍号), 19 characters, one per person for life.
//!
//! - `G` + the 18-character resident ID number: the normal number;
//! - `L` + area code + birth date + 4 digits: temporary, for a student whose
//!   ID number is not yet issued;
//! - `J` + area code + birth date + 4 digits: for a student with no usable ID
//!   (e.g. a foreign or undocumented child).
//!
//! `L` and `J` numbers convert to `G` once an ID number exists; the database
//! keeps the old number in the student's history.

use super::{DomainError, IdNumber};
use chrono::NaiveDate;
use std::fmt;

const FIELD: &str = "学籍号";

/// A valid student number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StudentNo(String);

/// Which kind of student number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StudentNoKind {
    /// `G`: from the resident ID number.
    Normal,
    /// `L`: temporary, until an ID number is issued.
    Temporary,
    /// `J`: no usable ID.
    NoId,
}

impl StudentNo {
    /// Parses a student number of any of the three kinds.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let raw = s.trim();
        let upper = raw.to_ascii_uppercase();
        let Some(first) = upper.chars().next() else {
            return Err(DomainError::new("student_no.empty", FIELD, raw, "不能为空"));
        };
        if upper.chars().count() != 19 {
            return Err(DomainError::new("student_no.length", FIELD, raw, "长度不是19位"));
        }
        match first {
            'G' => {
                IdNumber::parse(&upper[1..]).map_err(|e| {
                    DomainError::new("student_no.id", FIELD, raw, &format!("中的身份证件号无效：{}", e.message))
                })?;
            }
            'L' | 'J' => {
                let body = &upper[1..];
                if !body.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(DomainError::new("student_no.characters", FIELD, raw, "的L/J号后18位须为数字"));
                }
                if NaiveDate::parse_from_str(&body[6..14], "%Y%m%d").is_err() {
                    return Err(DomainError::new(
                        "student_no.birth_date",
                        FIELD,
                        raw,
                        "中的出生日期不是真实存在的日期",
                    ));
                }
            }
            _ => return Err(DomainError::new("student_no.prefix", FIELD, raw, "须以G、L或J开头")),
        }
        Ok(Self(upper))
    }

    /// The normal number for an ID number.
    pub fn from_id(id: &IdNumber) -> Self {
        Self(format!("G{id}"))
    }

    /// A temporary (`L`) or no-ID (`J`) number from area code, birth date and a 4-digit serial.
    pub fn provisional(kind: StudentNoKind, area: &str, birth: NaiveDate, serial: u16) -> Result<Self, DomainError> {
        let prefix = match kind {
            StudentNoKind::Temporary => 'L',
            StudentNoKind::NoId => 'J',
            StudentNoKind::Normal => {
                return Err(DomainError::new("student_no.prefix", FIELD, "G", "须由身份证件号生成"));
            }
        };
        Self::parse(&format!("{prefix}{area}{}{:04}", birth.format("%Y%m%d"), serial % 10_000))
    }

    /// The kind of number.
    pub fn kind(&self) -> StudentNoKind {
        match self.0.as_bytes()[0] {
            b'G' => StudentNoKind::Normal,
            b'L' => StudentNoKind::Temporary,
            _ => StudentNoKind::NoId,
        }
    }

    /// The ID number inside a `G` number.
    pub fn id_number(&self) -> Option<IdNumber> {
        (self.kind() == StudentNoKind::Normal).then(|| IdNumber::parse(&self.0[1..]).expect("checked at parse"))
    }

    /// Converts an `L` or `J` number to `G` once the student has an ID number.
    /// The birth date in the old number must match the ID's.
    pub fn convert_to_normal(&self, id: &IdNumber) -> Result<Self, DomainError> {
        if self.kind() == StudentNoKind::Normal {
            return Err(DomainError::new("student_no.already_normal", FIELD, &self.0, "已是正式学籍号，无需转换"));
        }
        if self.0[7..15] != id.as_str()[6..14] {
            return Err(DomainError::new(
                "student_no.birth_mismatch",
                FIELD,
                &self.0,
                &format!("中的出生日期与身份证件号{id}不一致"),
            ));
        }
        Ok(Self::from_id(id))
    }

    /// The number as 19 characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StudentNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn birth() -> NaiveDate {
        NaiveDate::from_ymd_opt(2017, 5, 9).unwrap()
    }

    #[test]
    fn g_number_is_g_plus_id() {
        let id = IdNumber::from_parts("220122", birth(), 21).unwrap();
        let no = StudentNo::from_id(&id);
        assert_eq!(no.as_str(), format!("G{id}"));
        assert_eq!(StudentNo::parse(no.as_str()).unwrap(), no);
        assert_eq!(no.id_number().unwrap(), id);
    }

    #[test]
    fn g_number_with_bad_id_is_refused() {
        assert_eq!(StudentNo::parse("G110105194912310021").unwrap_err().code, "student_no.id");
    }

    #[test]
    fn provisional_numbers_convert_with_matching_birth_date() {
        let l = StudentNo::provisional(StudentNoKind::Temporary, "220122", birth(), 7).unwrap();
        assert_eq!(l.as_str(), "L220122201705090007");
        assert_eq!(l.kind(), StudentNoKind::Temporary);
        let id = IdNumber::from_parts("220122", birth(), 21).unwrap();
        assert_eq!(l.convert_to_normal(&id).unwrap(), StudentNo::from_id(&id));
        let other = IdNumber::from_parts("220122", NaiveDate::from_ymd_opt(2017, 5, 10).unwrap(), 21).unwrap();
        assert_eq!(l.convert_to_normal(&other).unwrap_err().code, "student_no.birth_mismatch");
        let g = StudentNo::from_id(&id);
        assert_eq!(g.convert_to_normal(&id).unwrap_err().code, "student_no.already_normal");
    }

    #[test]
    fn malformed_numbers_are_refused() {
        assert_eq!(StudentNo::parse("").unwrap_err().code, "student_no.empty");
        assert_eq!(StudentNo::parse("X220122201705090007").unwrap_err().code, "student_no.prefix");
        assert_eq!(StudentNo::parse("L22012220170509").unwrap_err().code, "student_no.length");
        assert_eq!(StudentNo::parse("L220122201713090007").unwrap_err().code, "student_no.birth_date");
        assert_eq!(StudentNo::parse("J22012220170509000A").unwrap_err().code, "student_no.characters");
    }
}
