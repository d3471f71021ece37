//! Enrolment rules: the entry age (Art. 4, 7) and class caps (Art. 6).

use super::{DomainError, SchoolKind};
use chrono::{Datelike, NaiveDate};

/// Checks that a child is 6 on or before 31 August of the intake year (Art. 7).
pub fn check_entry_age(birth: NaiveDate, intake_year: i32) -> Result<(), DomainError> {
    let latest = NaiveDate::from_ymd_opt(intake_year - 6, 8, 31).expect("31 August exists");
    if birth > latest {
        return Err(DomainError::new(
            "age.too_young",
            "出生日期",
            birth.to_string(),
            &format!("的儿童截至{intake_year}年8月31日未满6周岁，不能入学（须在{latest}或之前出生）"),
        ));
    }
    Ok(())
}

/// The intake year of an entry date: autumn intake, so the calendar year.
pub fn intake_year(entry: NaiveDate) -> i32 {
    entry.year()
}

/// A class's size cap: the regulation's cap for the school kind, or lower.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ClassCap(u16);

impl ClassCap {
    /// A cap for a class of a school of `kind`; `requested` may only lower the regulation's cap.
    pub fn new(kind: SchoolKind, requested: Option<u16>) -> Result<Self, DomainError> {
        let max = kind.max_class_size();
        match requested {
            None => Ok(Self(max)),
            Some(0) => Err(DomainError::new("class.cap_invalid", "班额", "0", "须至少为1人")),
            Some(n) if n > max => Err(DomainError::new(
                "class.cap_too_high",
                "班额",
                n.to_string(),
                &format!("超过{}班额上限{max}人（第六条）", kind.label()),
            )),
            Some(n) => Ok(Self(n)),
        }
    }

    /// The cap.
    pub fn get(self) -> u16 {
        self.0
    }

    /// Checks that `adding` more pupils fit into a class that has `current`.
    pub fn check_room(self, class_name: &str, current: u64, adding: u64) -> Result<(), DomainError> {
        if current + adding > u64::from(self.0) {
            return Err(DomainError::new(
                "class.full",
                "班级",
                class_name,
                &format!("已有{current}人，再加入{adding}人将超过班额{}人", self.0),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn six_on_31_august_may_enter() {
        check_entry_age(d(2020, 8, 31), 2026).unwrap();
        check_entry_age(d(2019, 12, 1), 2026).unwrap();
    }

    #[test]
    fn six_on_1_september_is_too_young() {
        let e = check_entry_age(d(2020, 9, 1), 2026).unwrap_err();
        assert_eq!(e.code, "age.too_young");
        assert!(e.message.contains("2020-09-01"));
    }

    #[test]
    fn caps_follow_article_6_and_only_go_down() {
        assert_eq!(ClassCap::new(SchoolKind::Primary, None).unwrap().get(), 45);
        assert_eq!(ClassCap::new(SchoolKind::Junior, None).unwrap().get(), 50);
        assert_eq!(ClassCap::new(SchoolKind::Primary, Some(40)).unwrap().get(), 40);
        assert_eq!(ClassCap::new(SchoolKind::Primary, Some(46)).unwrap_err().code, "class.cap_too_high");
        assert_eq!(ClassCap::new(SchoolKind::Junior, Some(0)).unwrap_err().code, "class.cap_invalid");
    }

    #[test]
    fn the_46th_pupil_of_a_primary_class_is_refused() {
        let cap = ClassCap::new(SchoolKind::Primary, None).unwrap();
        cap.check_room("一年级1班", 44, 1).unwrap();
        assert_eq!(cap.check_room("一年级1班", 45, 1).unwrap_err().code, "class.full");
    }
}

/// The calendar year in which the current school year began. The electronic
/// system moves every student up on 10 August (Art. 25), so from that day on
/// the new school year counts, and the autumn intake registered in August
/// belongs to it.
pub fn school_year_start(today: NaiveDate) -> i32 {
    let promotion = NaiveDate::from_ymd_opt(today.year(), 8, 10).expect("10 August exists");
    if today >= promotion { today.year() } else { today.year() - 1 }
}

/// The year of the coming autumn intake, for which schools list the
/// children they expect (学前调档名单, Art. 10): this year's until the school
/// year begins on 1 September, next year's from then on.
pub fn coming_intake_year(today: NaiveDate) -> i32 {
    if today.month() >= 9 { today.year() + 1 } else { today.year() }
}

/// The year a student now in `grade` entered grade 1 (for the entry-age rule).
pub fn first_grade_year(today: NaiveDate, grade: u8) -> i32 {
    school_year_start(today) - i32::from(grade) + 1
}

#[cfg(test)]
mod school_year_tests {
    use super::*;

    #[test]
    fn school_year_turns_on_10_august() {
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        assert_eq!(school_year_start(d(8, 9)), 2025);
        assert_eq!(school_year_start(d(8, 10)), 2026);
        assert_eq!(school_year_start(d(11, 29)), 2026);
        assert_eq!(first_grade_year(d(11, 29), 1), 2026);
        assert_eq!(first_grade_year(d(11, 29), 7), 2020);
    }

    #[test]
    fn the_coming_intake_is_next_autumns_once_school_has_begun() {
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        assert_eq!(coming_intake_year(d(3, 1)), 2026);
        assert_eq!(coming_intake_year(d(8, 31)), 2026);
        assert_eq!(coming_intake_year(d(9, 1)), 2027);
        assert_eq!(coming_intake_year(d(11, 29)), 2027);
    }
}
