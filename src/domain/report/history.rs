//! Where each student stood on a date, read from the event history (never
//! kept apart): a student's events replayed from the record's creation give
//! their school, grade, class and status after each change, so a count "as
//! of 1 September" counts students where they were that day, not where
//! they are now.
//!
//! - An event takes effect on its `on_date`, the record's own day; a state
//!   "as of" a date includes that day's events.
//! - A student created by an event (`enrolled`, `historical_graduation`)
//!   did not exist before it; a student whose history starts elsewhere
//!   (records older than the history) is taken as they are now.
//! - After the last event the record is what the row says now. Where the
//!   replayed history ends somewhere else than the row, the record changed
//!   without its event: the student is listed as a conflict, and the
//!   movement table does not balance for their school.
//! - Attributes other than place and status (gender, birth date, the
//!   national items) are read as they are now.

use crate::domain::{Gender, Grade, SchoolKind, StudentStatus};
use chrono::NaiveDate;
use serde::Serialize;

/// Where a student stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    /// The record exists (created on or before the date).
    pub exists: bool,
    /// School (internal id).
    pub school_id: i64,
    /// Grade, 1-9.
    pub grade: u8,
    /// Class number within the grade, when known.
    pub class_number: Option<i64>,
    /// Status.
    pub status: StudentStatus,
}

impl Place {
    /// Counted as 在校生: enrolled and attending (在籍, a transfer under way,
    /// a suspected dropout not yet confirmed). Not 休学, not a record still
    /// awaiting the bureau's approval.
    pub fn enrolled(&self) -> bool {
        self.exists
            && matches!(
                self.status,
                StudentStatus::Active | StudentStatus::TransferPending | StudentStatus::SuspectedDropout
            )
    }

    fn nowhere() -> Self {
        Self { exists: false, school_id: 0, grade: 1, class_number: None, status: StudentStatus::Pending }
    }
}

/// A student's facts that do not move with the history, and where they are now.
#[derive(Debug, Clone)]
pub struct Pupil {
    /// Internal id.
    pub id: i64,
    /// The row as it is now.
    pub now: Place,
    /// Gender.
    pub gender: Gender,
    /// Birth date.
    pub birth_date: NaiveDate,
    /// Not 汉族 (`None`: the record's 民族 is not a known label).
    pub minority: Option<bool>,
    /// 入学年月, when recorded as a date.
    pub entry_date: Option<NaiveDate>,
    /// The first six digits of a resident ID (the area of the household register).
    pub id_area: Option<String>,
    /// 是否受过学前教育.
    pub preschool: Option<bool>,
    /// 留守儿童 code.
    pub left_behind: Option<String>,
    /// 随迁子女.
    pub migrant: Option<bool>,
    /// 孤儿.
    pub orphan: Option<bool>,
    /// 烈士或优抚子女.
    pub martyr: Option<bool>,
    /// 独生子女.
    pub only_child: Option<bool>,
    /// 随班就读 code.
    pub inclusive: Option<String>,
    /// 残疾类型 code.
    pub disability: Option<String>,
    /// 就读方式 code.
    pub study_mode: Option<String>,
    /// 港澳台侨外 code.
    pub hmt: Option<String>,
    /// 户口性质 code.
    pub household: Option<String>,
    /// 入学方式 code.
    pub entry_mode: Option<String>,
    /// An open problem record.
    pub problem: bool,
}

/// What an event did, as the history needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The student (internal id).
    pub student_id: i64,
    /// The kind (`enrolled`, `transferred`, an action code, …).
    pub kind: String,
    /// Status before, for a status change.
    pub from: Option<StudentStatus>,
    /// Status after, for a status change.
    pub to: Option<StudentStatus>,
    /// The day it took effect.
    pub on: NaiveDate,
    /// The school it moved the student to (`enrolled`: where the record was made).
    pub to_school: Option<i64>,
    /// The school it moved the student from.
    pub from_school: Option<i64>,
    /// The grade after (`enrolled`, `promoted`, a class named by grade).
    pub to_grade: Option<u8>,
    /// The class number after, when the event names a class.
    pub to_class: Option<i64>,
}

impl Event {
    fn creates(&self) -> bool {
        self.from.is_none() && self.to.is_some() && matches!(self.kind.as_str(), "enrolled" | "historical_graduation")
    }
}

/// One event applied: where the student stood before and after.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    /// The event's index in the student's slice.
    pub event: usize,
    /// Before.
    pub before: Place,
    /// After.
    pub after: Place,
}

/// A student's history replayed.
#[derive(Debug, Clone)]
pub struct Timeline {
    /// Before the first event.
    pub start: Place,
    /// Each event, in order.
    pub steps: Vec<Step>,
    /// Where the history and the row disagree, in Chinese; `None` when they agree.
    pub conflict: Option<String>,
}

impl Timeline {
    /// Replays `events` (the student's, in order) against the row as it is now.
    pub fn replay(now: Place, events: &[Event]) -> Self {
        let start = match events.first() {
            Some(e) if e.creates() => Place::nowhere(),
            // A record older than its history: as it is now.
            _ => now,
        };
        let mut place = start;
        let mut steps = Vec::with_capacity(events.len());
        let mut conflict = None;
        for (i, e) in events.iter().enumerate() {
            let before = place;
            if e.creates() {
                place.exists = true;
                place.school_id = e.to_school.unwrap_or(now.school_id);
                place.grade = e.to_grade.unwrap_or(now.grade);
                place.class_number = e.to_class;
            }
            if let (Some(from), true) = (e.from, before.exists)
                && from != before.status
                && conflict.is_none()
            {
                conflict = Some(format!("变动“{}”前的学籍状态与历史不符", e.kind));
            }
            if let Some(to) = e.to {
                place.status = to;
            }
            if let Some(s) = e.to_school.filter(|_| !e.creates()) {
                place.school_id = s;
                place.class_number = e.to_class;
            }
            if let Some(g) = e.to_grade.filter(|_| !e.creates()) {
                place.grade = g;
            }
            if let Some(c) = e.to_class.filter(|_| !e.creates()) {
                place.class_number = Some(c);
            }
            steps.push(Step { event: i, before, after: place });
        }
        let ended = steps.last().map_or(start, |s| s.after);
        if conflict.is_none() && !same_place(ended, now) {
            conflict = Some(differences(ended, now));
        }
        Self { start, steps, conflict }
    }

    /// Where the student stood at the end of `date` (`now` after the last event).
    pub fn at(&self, events: &[Event], now: Place, date: NaiveDate) -> Place {
        match self.steps.iter().rposition(|s| events[s.event].on <= date) {
            Some(i) if i + 1 == self.steps.len() => now,
            Some(i) => self.steps[i].after,
            None => self.start,
        }
    }
}

/// School, grade and status agree (a class the events never named is not a conflict).
fn same_place(a: Place, b: Place) -> bool {
    a.exists == b.exists && (!a.exists || (a.school_id == b.school_id && a.grade == b.grade && a.status == b.status))
}

fn differences(history: Place, row: Place) -> String {
    let mut what = Vec::new();
    if history.exists != row.exists {
        what.push("建籍".to_owned());
    }
    if history.school_id != row.school_id {
        what.push("学校".to_owned());
    }
    if history.grade != row.grade {
        what.push(format!("年级（历史{}，现为{}）", history.grade, row.grade));
    }
    if history.status != row.status {
        what.push(format!("学籍状态（历史“{}”，现为“{}”）", history.status.label(), row.status.label()));
    }
    format!("现有学籍的{}与变动历史不符", what.join("、"))
}

/// 城区, 镇区 or 乡村: the school's place, as the base tables break it down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Location {
    /// 城区: a county-town school.
    Urban,
    /// 镇区: a township's own school (its central school, a township junior school).
    Town,
    /// 乡村: a village school attached to a central school.
    Rural,
}

impl Location {
    /// Stable code, as in a row's link.
    pub fn code(self) -> &'static str {
        match self {
            Self::Urban => "urban",
            Self::Town => "town",
            Self::Rural => "rural",
        }
    }

    /// As printed.
    pub fn label(self) -> &'static str {
        match self {
            Self::Urban => "城区",
            Self::Town => "镇区",
            Self::Rural => "乡村",
        }
    }

    /// From the school's record.
    pub fn of(county_town: bool, has_central_school: bool) -> Self {
        match (county_town, has_central_school) {
            (true, _) => Self::Urban,
            (false, false) => Self::Town,
            (false, true) => Self::Rural,
        }
    }
}

/// A school as the statistics see it.
#[derive(Debug, Clone)]
pub struct SchoolFact {
    /// Internal id.
    pub id: i64,
    /// 学校标识码.
    pub code: String,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: SchoolKind,
    /// Place.
    pub location: Location,
}

/// Full years of age on `date`.
pub fn age_on(birth: NaiveDate, date: NaiveDate) -> i64 {
    use chrono::Datelike;
    let mut age = i64::from(date.year() - birth.year());
    if (date.month(), date.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age
}

/// Reads a class name as the events write it (`三年级2班`): grade and number.
pub fn parse_class_name(name: &str) -> Option<(u8, i64)> {
    let number = name.strip_suffix('班')?;
    (1..=9u8).find_map(|g| {
        let label = Grade::new(g).ok()?.label();
        number.strip_prefix(label)?.parse::<i64>().ok().map(|n| (g, n))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    fn ev(kind: &str, from: Option<StudentStatus>, to: Option<StudentStatus>, on: NaiveDate) -> Event {
        Event {
            student_id: 1,
            kind: kind.into(),
            from,
            to,
            on,
            to_school: None,
            from_school: None,
            to_grade: None,
            to_class: None,
        }
    }

    #[test]
    fn a_transfer_moves_the_student_on_its_day_and_the_history_agrees_with_the_row() {
        use StudentStatus::*;
        let mut enrolled = ev("enrolled", None, Some(Pending), d(3, 1));
        enrolled.to_school = Some(10);
        enrolled.to_grade = Some(3);
        let mut moved = ev("transferred", Some(TransferPending), Some(Active), d(10, 8));
        moved.to_school = Some(20);
        moved.to_class = Some(2);
        let events = vec![
            enrolled,
            ev("record_submitted", Some(Pending), Some(Submitted), d(3, 2)),
            ev("record_approved", Some(Submitted), Some(Active), d(3, 3)),
            ev("transfer_started", Some(Active), Some(TransferPending), d(10, 1)),
            moved,
        ];
        let now = Place { exists: true, school_id: 20, grade: 3, class_number: Some(2), status: Active };
        let t = Timeline::replay(now, &events);
        assert_eq!(t.conflict, None);
        assert!(!t.at(&events, now, d(2, 28)).exists);
        assert!(!t.at(&events, now, d(3, 2)).enrolled(), "submitted, not yet approved");
        let sept = t.at(&events, now, d(9, 1));
        assert!(sept.enrolled());
        assert_eq!(sept.school_id, 10);
        assert_eq!(t.at(&events, now, d(10, 8)).school_id, 20);
    }

    #[test]
    fn a_row_changed_without_its_event_is_a_conflict() {
        use StudentStatus::*;
        let mut enrolled = ev("enrolled", None, Some(Active), d(3, 1));
        enrolled.to_school = Some(10);
        enrolled.to_grade = Some(3);
        let now = Place { exists: true, school_id: 10, grade: 3, class_number: None, status: Dropout };
        let t = Timeline::replay(now, &[enrolled]);
        assert!(t.conflict.unwrap().contains("学籍状态"));
    }

    #[test]
    fn ages_and_class_names() {
        assert_eq!(age_on(NaiveDate::from_ymd_opt(2020, 9, 1).unwrap(), d(9, 1)), 6);
        assert_eq!(age_on(NaiveDate::from_ymd_opt(2020, 9, 2).unwrap(), d(9, 1)), 5);
        assert_eq!(parse_class_name("三年级2班"), Some((3, 2)));
        assert_eq!(parse_class_name("十年级2班"), None);
    }
}
