//! Schools and grades: primary (小学, grades 1-6), junior (初中, 7-9), special (特殊教育学校, 1-9).

use super::DomainError;
use std::fmt;

/// The kind of school (Art. 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SchoolKind {
    /// 小学
    Primary,
    /// 初中
    Junior,
    /// 特殊教育学校
    Special,
}

impl SchoolKind {
    /// Parses the stable code or the Chinese label.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s.trim() {
            "primary" | "小学" => Ok(Self::Primary),
            "junior" | "初中" => Ok(Self::Junior),
            "special" | "特殊教育学校" | "特教" => Ok(Self::Special),
            other => Err(DomainError::new(
                "school.kind",
                "学校类型",
                other,
                "不是有效的学校类型（小学、初中、特殊教育学校）",
            )),
        }
    }

    /// Stable code stored in the database.
    pub fn code(self) -> &'static str {
        match self {
            Self::Primary => "primary",
            Self::Junior => "junior",
            Self::Special => "special",
        }
    }

    /// Chinese label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Primary => "小学",
            Self::Junior => "初中",
            Self::Special => "特殊教育学校",
        }
    }

    /// The grades this kind of school teaches.
    pub fn grades(self) -> std::ops::RangeInclusive<u8> {
        match self {
            Self::Primary => 1..=6,
            Self::Junior => 7..=9,
            Self::Special => 1..=9,
        }
    }

    /// The graduating grade (毕业年级).
    pub fn graduating_grade(self) -> u8 {
        *self.grades().end()
    }

    /// The largest class the regulation allows (Art. 6). Special schools follow the
    /// primary cap; their classes are usually far smaller and set per class.
    pub fn max_class_size(self) -> u16 {
        match self {
            Self::Primary | Self::Special => 45,
            Self::Junior => 50,
        }
    }
}

/// A grade, 1 to 9 (一年级 … 九年级; 7-9 are 初一 to 初三).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Grade(u8);

const GRADE_NAMES: [&str; 9] =
    ["一年级", "二年级", "三年级", "四年级", "五年级", "六年级", "七年级", "八年级", "九年级"];
const GRADE_ALIASES: [(&str, u8); 3] = [("初一", 7), ("初二", 8), ("初三", 9)];

impl From<Grade> for i64 {
    fn from(g: Grade) -> Self {
        i64::from(g.0)
    }
}

impl Grade {
    /// Parses `1`…`9`, `一年级`…`九年级` or `初一`…`初三`.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let t = s.trim();
        let n = t
            .parse::<u8>()
            .ok()
            .or_else(|| GRADE_NAMES.iter().position(|g| *g == t).map(|i| i as u8 + 1))
            .or_else(|| GRADE_ALIASES.iter().find(|(g, _)| *g == t).map(|(_, n)| *n));
        match n {
            Some(n @ 1..=9) => Ok(Self(n)),
            _ => Err(DomainError::new("grade.invalid", "年级", t, "不是有效的年级（1-9或“一年级”等）")),
        }
    }

    /// Builds a grade from its number.
    pub fn new(n: u8) -> Result<Self, DomainError> {
        Self::parse(&n.to_string())
    }

    /// Checks that a school of `kind` teaches this grade.
    pub fn check_school(self, kind: SchoolKind) -> Result<Self, DomainError> {
        if kind.grades().contains(&self.0) {
            Ok(self)
        } else {
            Err(DomainError::new(
                "grade.school_kind",
                "年级",
                self.label(),
                &format!("不属于{}的年级范围", kind.label()),
            ))
        }
    }

    /// The grade number.
    pub fn number(self) -> u8 {
        self.0
    }

    /// The Chinese label.
    pub fn label(self) -> &'static str {
        GRADE_NAMES[usize::from(self.0 - 1)]
    }
}

/// A class as a form names it: its number within a grade (`2`), or grade
/// and number as a class picker sends them (`3-2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassRef {
    /// The grade, when the text gives it.
    pub grade: Option<Grade>,
    /// The class number, 1 to 99.
    pub number: i64,
}

impl ClassRef {
    /// Reads a class as typed or picked; `None` when the text is not one.
    pub fn parse(s: &str) -> Option<Self> {
        let (grade, number) = match s.trim().split_once('-') {
            Some((g, n)) => (Some(Grade::parse(g).ok()?), n),
            None => (None, s.trim()),
        };
        let number = number.trim().parse::<i64>().ok().filter(|n| (1..=99).contains(n))?;
        Some(Self { grade, number })
    }
}

impl fmt::Display for Grade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_class_is_read_as_typed_or_picked() {
        let three = Grade::parse("3").ok();
        assert_eq!(ClassRef::parse("2"), Some(ClassRef { grade: None, number: 2 }));
        assert_eq!(ClassRef::parse(" 2 "), Some(ClassRef { grade: None, number: 2 }));
        assert_eq!(ClassRef::parse("3-2"), Some(ClassRef { grade: three, number: 2 }));
        for bad in ["", "一班", "2班", "0", "100", "10-1", "3-", "-2"] {
            assert_eq!(ClassRef::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn grades_parse_in_all_spellings() {
        assert_eq!(Grade::parse("3").unwrap().number(), 3);
        assert_eq!(Grade::parse("六年级").unwrap().number(), 6);
        assert_eq!(Grade::parse("初二").unwrap().number(), 8);
        assert_eq!(Grade::parse("10").unwrap_err().code, "grade.invalid");
        assert_eq!(Grade::parse("高一").unwrap_err().code, "grade.invalid");
    }

    #[test]
    fn grade_must_fit_the_school() {
        let g7 = Grade::new(7).unwrap();
        assert!(g7.check_school(SchoolKind::Junior).is_ok());
        assert_eq!(g7.check_school(SchoolKind::Primary).unwrap_err().code, "grade.school_kind");
        assert!(g7.check_school(SchoolKind::Special).is_ok());
    }

    #[test]
    fn caps_and_graduating_grades() {
        assert_eq!(SchoolKind::Primary.max_class_size(), 45);
        assert_eq!(SchoolKind::Junior.max_class_size(), 50);
        assert_eq!(SchoolKind::Primary.graduating_grade(), 6);
        assert_eq!(SchoolKind::Junior.graduating_grade(), 9);
        assert_eq!(SchoolKind::parse("初中").unwrap(), SchoolKind::Junior);
    }
}
