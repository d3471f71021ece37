//! The two stages of compulsory education (Art. 30): primary school (小学,
//! six years, grades 1-6) and junior school (初中, three years, grades 7-9).
//! Each ends in its own 毕业证书; the end of the junior stage also in the
//! 义务教育证书.

use super::{DomainError, Grade, SchoolKind};

/// A stage of compulsory education.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// 小学.
    Primary,
    /// 初中.
    Junior,
}

impl Stage {
    /// The stage a grade belongs to.
    pub fn of_grade(grade: Grade) -> Self {
        if grade.number() <= 6 { Self::Primary } else { Self::Junior }
    }

    /// The stage a school's graduation ends (a special school's grade 9 ends the junior stage).
    pub fn ended_by(kind: SchoolKind) -> Self {
        match kind {
            SchoolKind::Primary => Self::Primary,
            SchoolKind::Junior | SchoolKind::Special => Self::Junior,
        }
    }

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Primary => "primary",
            Self::Junior => "junior",
        }
    }

    /// Parses the stored code or the Chinese label.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s.trim() {
            "primary" | "小学" => Ok(Self::Primary),
            "junior" | "初中" => Ok(Self::Junior),
            other => Err(DomainError::new("stage.unknown", "学段", other, "学段只能是小学或初中")),
        }
    }

    /// 小学 / 初中.
    pub fn label(self) -> &'static str {
        match self {
            Self::Primary => "小学",
            Self::Junior => "初中",
        }
    }

    /// The length of the stage as the certificate prints it (学制六年 / 学制三年).
    pub fn years_zh(self) -> &'static str {
        match self {
            Self::Primary => "六",
            Self::Junior => "三",
        }
    }

    /// The grade the stage starts in.
    pub fn entry_grade(self) -> u8 {
        match self {
            Self::Primary => 1,
            Self::Junior => 7,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grades_and_schools_fall_in_their_stage() {
        assert_eq!(Stage::of_grade(Grade::new(6).unwrap()), Stage::Primary);
        assert_eq!(Stage::of_grade(Grade::new(7).unwrap()), Stage::Junior);
        assert_eq!(Stage::ended_by(SchoolKind::Primary), Stage::Primary);
        assert_eq!(Stage::ended_by(SchoolKind::Special), Stage::Junior);
        for s in [Stage::Primary, Stage::Junior] {
            assert_eq!(Stage::parse(s.code()).unwrap(), s);
            assert_eq!(Stage::parse(s.label()).unwrap(), s);
        }
        assert_eq!(Stage::parse("高中").unwrap_err().code, "stage.unknown");
    }
}
