//! Working days (工作日) under the State Council's yearly holiday schedule.
//!
//! The county regulation sets its deadlines in working days: each party of a
//! transfer has 10 working days (Art. 21), a death must be reported within 10
//! working days (Art. 28). A working day is
//!
//! - Monday to Friday, unless the schedule lists it as a `holiday` (放假日);
//! - Saturday or Sunday only if the schedule lists it as a `workday`
//!   (调休上班日, a make-up working day).
//!
//! The schedule is data, not code: [`WorkingCalendar::parse`] reads CSV text
//! with the columns `date,kind,name`, and [`WorkingCalendar::seeded`] parses the
//! bundled `holidays_cn.csv` (transcribed from the notices of the General
//! Office of the State Council, 国务院办公厅关于部分节假日安排的通知). The
//! bureau updates that file when a new notice is published.
//!
//! # Counting convention
//!
//! A deadline of `n` working days from an event on day `D` is the `n`-th
//! working day *after* `D`; `D` itself is never counted, whether or not it is a
//! working day. So "report within 10 working days" of an event on `D` means the
//! act is on time if done on or before
//! [`add_working_days(D, 10)`](WorkingCalendar::add_working_days), and
//! [`working_days_between(deadline, today)`](WorkingCalendar::working_days_between)
//! is the number of working days it is overdue (when positive).
//!
//! # Years without data
//!
//! For a year the schedule does not cover (see [`WorkingCalendar::covers`]),
//! every Monday to Friday counts as a working day and no weekend does; callers
//! should warn that such a count may change once the State Council publishes
//! that year's schedule.
//!
//! This module does no I/O: it parses the text it is given.

use chrono::{Datelike, Days, NaiveDate, Weekday};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Bound;

/// The bundled schedule, `holidays_cn.csv` beside this file.
const SEEDED_CSV: &str = include_str!("holidays_cn.csv");

/// The optional header line of the CSV (compared field by field, ignoring case
/// and surrounding spaces).
const HEADER: [&str; 3] = ["date", "kind", "name"];

/// What the schedule says about one listed date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DayKind {
    /// `holiday` (放假日): a day of an official holiday span; not a working day
    /// even if it falls on Monday to Friday.
    Holiday,
    /// `workday` (调休上班日): a Saturday or Sunday that is a working day.
    Workday,
}

impl DayKind {
    /// The word used in the CSV `kind` column: `holiday` or `workday`.
    pub fn as_str(self) -> &'static str {
        match self {
            DayKind::Holiday => "holiday",
            DayKind::Workday => "workday",
        }
    }

    /// The Chinese name: `放假` or `调休上班`.
    pub fn label(self) -> &'static str {
        match self {
            DayKind::Holiday => "放假",
            DayKind::Workday => "调休上班",
        }
    }
}

impl fmt::Display for DayKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One date listed in the schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    /// Holiday or make-up workday.
    kind: DayKind,
    /// The holiday's name as written in the CSV (e.g. `国庆节、中秋节`).
    name: String,
    /// The 1-based line of the CSV text it came from (for duplicate messages).
    line: usize,
}

/// Which rule a line of the schedule broke; see [`CalendarError::code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CalendarErrorKind {
    /// The line does not have the columns `date,kind[,name]`.
    Format,
    /// The date is not a real date in `YYYY-MM-DD` form.
    BadDate,
    /// The kind is neither `holiday` nor `workday`.
    UnknownKind,
    /// A `workday` on Monday to Friday (already a working day: a typo).
    WorkdayOnWeekday,
    /// The same date listed twice with different kinds.
    ConflictingDuplicate,
}

/// A refusal of the schedule text: which line, what value, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarError {
    /// The 1-based line number in the text given to [`WorkingCalendar::parse`].
    pub line: usize,
    /// Which rule was broken.
    pub kind: CalendarErrorKind,
    /// The offending value (the date, the kind, or the whole line), as given.
    pub value: String,
    /// A clear Chinese message naming the line and the value.
    pub message: String,
}

impl CalendarError {
    /// Builds an error whose message is `节假日安排第{line}行：{detail}`.
    fn new(line: usize, kind: CalendarErrorKind, value: &str, detail: &str) -> Self {
        Self { line, kind, value: value.to_owned(), message: format!("节假日安排第{line}行：{detail}") }
    }

    /// A stable machine code, e.g. `calendar.bad_date`.
    pub fn code(&self) -> &'static str {
        match self.kind {
            CalendarErrorKind::Format => "calendar.format",
            CalendarErrorKind::BadDate => "calendar.bad_date",
            CalendarErrorKind::UnknownKind => "calendar.unknown_kind",
            CalendarErrorKind::WorkdayOnWeekday => "calendar.workday_on_weekday",
            CalendarErrorKind::ConflictingDuplicate => "calendar.conflicting_duplicate",
        }
    }
}

impl fmt::Display for CalendarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CalendarError {}

/// The working-day calendar: weekends plus the listed holidays and make-up
/// workdays.
///
/// An empty calendar ([`Default`]) treats every Monday to Friday as a working
/// day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkingCalendar {
    /// Every listed date.
    days: BTreeMap<NaiveDate, Entry>,
    /// The calendar years that have at least one listed date.
    years: BTreeSet<i32>,
}

/// `星期一` … `星期日`, for messages.
fn weekday_zh(weekday: Weekday) -> &'static str {
    match weekday {
        Weekday::Mon => "星期一",
        Weekday::Tue => "星期二",
        Weekday::Wed => "星期三",
        Weekday::Thu => "星期四",
        Weekday::Fri => "星期五",
        Weekday::Sat => "星期六",
        Weekday::Sun => "星期日",
    }
}

/// Whether the date is a Saturday or Sunday.
fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

/// The number of Mondays-to-Fridays in (some fixed origin, `date`]: the
/// difference of two values is the number of weekdays between them.
fn weekday_index(date: NaiveDate) -> i64 {
    let day = i64::from(date.num_days_from_ce());
    let from_monday = i64::from(date.weekday().num_days_from_monday());
    // The Monday of `date`'s week, counted in whole weeks; each whole week
    // holds 5 weekdays, and Monday..=date holds min(from_monday + 1, 5).
    let week = (day - from_monday).div_euclid(7);
    5 * week + (from_monday + 1).min(5)
}

impl WorkingCalendar {
    /// Parses the schedule from CSV text.
    ///
    /// Each line is `date,kind,name`:
    ///
    /// - `date`: `YYYY-MM-DD`;
    /// - `kind`: `holiday` (a day of an official holiday span: every day of
    ///   the span may be listed, weekend days included) or `workday` (a
    ///   make-up working day, which must be a Saturday or Sunday);
    /// - `name`: the holiday's name, for display (may be empty or omitted; it
    ///   may itself contain commas).
    ///
    /// Blank lines and lines starting with `#` are ignored; the first other
    /// line may be the header `date,kind,name`. Spaces around fields, a UTF-8
    /// byte-order mark and Windows line endings are tolerated. Listing the same
    /// date twice with the same kind is allowed (the first name is kept).
    ///
    /// # Errors
    ///
    /// A [`CalendarError`] naming the 1-based line for a line without a kind,
    /// a bad date, an unknown kind, a `workday` on Monday to Friday, or a date
    /// listed again with the other kind.
    pub fn parse(csv_text: &str) -> Result<Self, CalendarError> {
        let text = csv_text.strip_prefix('\u{feff}').unwrap_or(csv_text);
        let mut calendar = Self::default();
        let mut header_allowed = true;
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let mut fields = trimmed.splitn(3, ',').map(str::trim);
            let date_field = fields.next().unwrap_or_default();
            let kind_field = fields.next();
            let name_field = fields.next().unwrap_or_default();
            if std::mem::take(&mut header_allowed) && is_header(trimmed) {
                continue;
            }
            let Some(kind_field) = kind_field else {
                return Err(CalendarError::new(
                    line,
                    CalendarErrorKind::Format,
                    trimmed,
                    &format!("“{trimmed}”格式有误，应为“日期,类型,名称”，如 2025-10-01,holiday,国庆节"),
                ));
            };
            let date = NaiveDate::parse_from_str(date_field, "%Y-%m-%d").map_err(|_| {
                CalendarError::new(
                    line,
                    CalendarErrorKind::BadDate,
                    date_field,
                    &format!("日期“{date_field}”无效，应为 YYYY-MM-DD 格式的真实日期"),
                )
            })?;
            let kind = match kind_field.to_ascii_lowercase().as_str() {
                "holiday" => DayKind::Holiday,
                "workday" => DayKind::Workday,
                _ => {
                    return Err(CalendarError::new(
                        line,
                        CalendarErrorKind::UnknownKind,
                        kind_field,
                        &format!("类型“{kind_field}”无法识别，应为 holiday（放假）或 workday（调休上班）"),
                    ));
                }
            };
            if kind == DayKind::Workday && !is_weekend(date) {
                return Err(CalendarError::new(
                    line,
                    CalendarErrorKind::WorkdayOnWeekday,
                    date_field,
                    &format!(
                        "{date}是{}，本来就是工作日，不能登记为调休上班日（workday 只用于星期六、星期日）",
                        weekday_zh(date.weekday())
                    ),
                ));
            }
            if let Some(previous) = calendar.days.get(&date) {
                if previous.kind != kind {
                    return Err(CalendarError::new(
                        line,
                        CalendarErrorKind::ConflictingDuplicate,
                        date_field,
                        &format!(
                            "{date}已在第{}行登记为{}（{}），与本行的{}（{kind}）冲突",
                            previous.line,
                            previous.kind.label(),
                            previous.kind,
                            kind.label()
                        ),
                    ));
                }
                continue;
            }
            calendar.years.insert(date.year());
            calendar.days.insert(date, Entry { kind, name: name_field.to_owned(), line });
        }
        Ok(calendar)
    }

    /// The calendar from the bundled `holidays_cn.csv` (the State Council's
    /// schedules; see the comments at the top of that file for the years and
    /// sources).
    ///
    /// # Panics
    ///
    /// Never in practice: the bundled file is checked by this module's tests.
    pub fn seeded() -> Self {
        match Self::parse(SEEDED_CSV) {
            Ok(calendar) => calendar,
            Err(err) => panic!("内置节假日安排 holidays_cn.csv 有误：{err}"),
        }
    }

    /// Whether `date` is a working day: Monday to Friday unless listed as a
    /// `holiday`; Saturday or Sunday only if listed as a `workday`.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        match self.days.get(&date) {
            Some(entry) => entry.kind == DayKind::Workday,
            None => !is_weekend(date),
        }
    }

    /// What the schedule lists for `date`, if anything: the kind and the
    /// holiday's name (e.g. `(DayKind::Holiday, "国庆节、中秋节")`).
    pub fn listed(&self, date: NaiveDate) -> Option<(DayKind, &str)> {
        self.days.get(&date).map(|entry| (entry.kind, entry.name.as_str()))
    }

    /// The deadline `n` working days after `start`: the `n`-th working day
    /// after `start`, not counting `start` itself (see the module docs).
    ///
    /// `n == 0` gives `start` unchanged. An event on day `D` that must be
    /// reported "within 10 working days" is on time up to and including
    /// `add_working_days(D, 10)`.
    ///
    /// # Panics
    ///
    /// If the result would be past [`NaiveDate::MAX`] (hundreds of thousands
    /// of years away); use [`checked_add_working_days`](Self::checked_add_working_days)
    /// for untrusted `n`.
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> NaiveDate {
        match self.checked_add_working_days(start, n) {
            Some(date) => date,
            None => panic!("{start} 之后第 {n} 个工作日超出了可表示的日期范围"),
        }
    }

    /// Like [`add_working_days`](Self::add_working_days), but `None` if the
    /// result would be past [`NaiveDate::MAX`].
    pub fn checked_add_working_days(&self, start: NaiveDate, n: u32) -> Option<NaiveDate> {
        let mut date = start;
        let mut left = u64::from(n);
        while left > 0 {
            // Jump whole weeks while no listed date can be stepped over: each
            // unlisted week holds exactly 5 working days. Keep 1..=5 to walk.
            let mut weeks = (left - 1) / 5;
            if weeks > 0 {
                let next_listed =
                    self.days.range((Bound::Excluded(date), Bound::Unbounded)).next().map(|(listed, _)| *listed);
                if let Some(listed) = next_listed {
                    let gap = listed.signed_duration_since(date).num_days();
                    // Whole weeks ending strictly before the listed date.
                    weeks = weeks.min(u64::try_from((gap - 1) / 7).unwrap_or(0));
                }
            }
            if weeks > 0 {
                date = date.checked_add_days(Days::new(weeks * 7))?;
                left -= weeks * 5;
            } else {
                date = date.succ_opt()?;
                if self.is_working_day(date) {
                    left -= 1;
                }
            }
        }
        Some(date)
    }

    /// The number of working days in `(from, to]`: `from` excluded, `to`
    /// included; negative (minus the count in `(to, from]`) if `to < from`,
    /// zero if equal.
    ///
    /// It is the inverse of [`add_working_days`](Self::add_working_days):
    /// `working_days_between(d, add_working_days(d, n)) == n`. With
    /// `from` = a deadline and `to` = today, a positive value is the number
    /// of working days overdue.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> i64 {
        if to < from {
            return -self.working_days_between(to, from);
        }
        let plain = weekday_index(to) - weekday_index(from);
        let adjustment: i64 = self
            .days
            .range((Bound::Excluded(from), Bound::Included(to)))
            .map(|(date, entry)| match (entry.kind, is_weekend(*date)) {
                (DayKind::Holiday, false) => -1,
                (DayKind::Workday, true) => 1,
                _ => 0,
            })
            .sum();
        plain + adjustment
    }

    /// Whether the schedule has data for `year` (at least one listed date in
    /// that calendar year). For a year it does not cover, every Monday to
    /// Friday counts as a working day: callers should say so.
    pub fn covers(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    /// Whether the schedule covers every calendar year from `from`'s to
    /// `to`'s (in either order): e.g. both the event and its deadline.
    pub fn covers_span(&self, from: NaiveDate, to: NaiveDate) -> bool {
        let (first, last) = if from <= to { (from.year(), to.year()) } else { (to.year(), from.year()) };
        (first..=last).all(|year| self.covers(year))
    }

    /// The calendar years that have data, ascending.
    pub fn years(&self) -> Vec<i32> {
        self.years.iter().copied().collect()
    }
}

/// Whether a data line is the header `date,kind,name` (any case, any spaces).
fn is_header(line: &str) -> bool {
    let fields: Vec<&str> = line.split(',').map(str::trim).collect();
    fields.len() == HEADER.len()
        && fields.iter().zip(HEADER).all(|(field, expected)| field.eq_ignore_ascii_case(expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses a `YYYY-MM-DD` date written in a test.
    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    /// The bundled calendar.
    fn cal() -> WorkingCalendar {
        WorkingCalendar::seeded()
    }

    /// Counts working days in (from, to] one day at a time.
    fn naive_between(cal: &WorkingCalendar, from: NaiveDate, to: NaiveDate) -> i64 {
        let (lo, hi, sign) = if from <= to { (from, to, 1) } else { (to, from, -1) };
        let mut count = 0;
        let mut day = lo;
        while day < hi {
            day = day.succ_opt().unwrap();
            if cal.is_working_day(day) {
                count += 1;
            }
        }
        sign * count
    }

    #[test]
    fn seeded_parses_and_covers_2024_to_2026() {
        let cal = cal();
        assert_eq!(cal.years(), vec![2024, 2025, 2026]);
        assert!(cal.covers(2025));
        assert!(cal.covers(2026));
        // Not yet published in the transcribed source.
        assert!(!cal.covers(2027));
        assert!(!cal.covers(2023));
        assert!(cal.covers_span(d("2025-12-25"), d("2026-01-09")));
        assert!(!cal.covers_span(d("2026-12-25"), d("2027-01-11")));
        assert!(!cal.covers_span(d("2027-01-11"), d("2026-12-25")));
    }

    #[test]
    fn national_day_2025_days() {
        let cal = cal();
        // Make-up workdays: Sunday 09-28 and Saturday 10-11.
        assert_eq!(d("2025-09-28").weekday(), Weekday::Sun);
        assert!(cal.is_working_day(d("2025-09-28")));
        assert_eq!(d("2025-10-11").weekday(), Weekday::Sat);
        assert!(cal.is_working_day(d("2025-10-11")));
        // The whole span 10-01..=10-08 is off, weekdays included.
        let mut day = d("2025-10-01");
        while day <= d("2025-10-08") {
            assert!(!cal.is_working_day(day), "{day}");
            assert_eq!(cal.listed(day), Some((DayKind::Holiday, "国庆节、中秋节")));
            day = day.succ_opt().unwrap();
        }
        // Holiday Monday 10-06; the ordinary days around the span.
        assert_eq!(d("2025-10-06").weekday(), Weekday::Mon);
        assert!(!cal.is_working_day(d("2025-10-06")));
        assert!(cal.is_working_day(d("2025-09-30")));
        assert!(cal.is_working_day(d("2025-10-09")));
        assert!(!cal.is_working_day(d("2025-10-12")), "an ordinary Sunday");
        assert_eq!(cal.listed(d("2025-10-12")), None);
    }

    #[test]
    fn ten_working_days_across_national_day_2025() {
        let cal = cal();
        // From Friday 2025-09-26, counting the days after it:
        //   09-27 Sat  off
        //   09-28 Sun  make-up workday ........ 1
        //   09-29 Mon ......................... 2
        //   09-30 Tue ......................... 3
        //   10-01 Wed .. 10-08 Wed  holiday span (8 days off)
        //   10-09 Thu ......................... 4
        //   10-10 Fri ......................... 5
        //   10-11 Sat  make-up workday ........ 6
        //   10-12 Sun  off
        //   10-13 Mon ......................... 7
        //   10-14 Tue ......................... 8
        //   10-15 Wed ......................... 9
        //   10-16 Thu ........................ 10
        assert_eq!(cal.add_working_days(d("2025-09-26"), 10), d("2025-10-16"));
        assert_eq!(cal.working_days_between(d("2025-09-26"), d("2025-10-16")), 10);
        // A death on Tuesday 2025-09-30 (Art. 28, within 10 working days):
        // 10-09(1) 10-10(2) 10-11 Sat(3) 10-13(4) 10-14(5) 10-15(6) 10-16(7)
        // 10-17(8) 10-20 Mon(9) 10-21 Tue(10).
        assert_eq!(cal.add_working_days(d("2025-09-30"), 10), d("2025-10-21"));
        // An event on a holiday: the holiday itself is never counted.
        assert_eq!(cal.add_working_days(d("2025-10-03"), 1), d("2025-10-09"));
        // The make-up Saturday is the first working day after Friday 10-10.
        assert_eq!(cal.add_working_days(d("2025-10-10"), 1), d("2025-10-11"));
    }

    #[test]
    fn ten_working_days_across_spring_festival_2025() {
        let cal = cal();
        assert!(cal.is_working_day(d("2025-01-26")), "Sunday make-up workday");
        assert!(cal.is_working_day(d("2025-02-08")), "Saturday make-up workday");
        assert!(!cal.is_working_day(d("2025-01-28")));
        assert!(!cal.is_working_day(d("2025-02-03")), "holiday Monday");
        assert!(!cal.is_working_day(d("2025-02-04")));
        assert!(cal.is_working_day(d("2025-02-05")));
        // From Friday 2025-01-24:
        //   01-25 Sat off; 01-26 Sun workday (1); 01-27 Mon (2);
        //   01-28 Tue .. 02-04 Tue holiday span;
        //   02-05 (3) 02-06 (4) 02-07 Fri (5) 02-08 Sat workday (6);
        //   02-09 Sun off; 02-10 (7) 02-11 (8) 02-12 (9) 02-13 Thu (10).
        assert_eq!(cal.add_working_days(d("2025-01-24"), 10), d("2025-02-13"));
        assert_eq!(cal.working_days_between(d("2025-01-24"), d("2025-02-13")), 10);
    }

    #[test]
    fn spring_festival_2026() {
        let cal = cal();
        assert!(cal.is_working_day(d("2026-02-14")), "Saturday make-up workday");
        assert!(!cal.is_working_day(d("2026-02-16")), "holiday Monday");
        assert!(!cal.is_working_day(d("2026-02-23")), "holiday Monday");
        assert!(cal.is_working_day(d("2026-02-28")), "Saturday make-up workday");
        // From Friday 02-13: 02-14 Sat (1); 02-15..02-23 off; 02-24 (2)
        // 02-25 (3) 02-26 (4) 02-27 (5) 02-28 Sat (6); 03-02 Mon (7)
        // 03-03 (8) 03-04 (9) 03-05 Thu (10).
        assert_eq!(cal.add_working_days(d("2026-02-13"), 10), d("2026-03-05"));
    }

    #[test]
    fn plain_week() {
        let cal = cal();
        // March 2025 has nothing listed.
        assert_eq!(cal.add_working_days(d("2025-03-03"), 0), d("2025-03-03"));
        assert_eq!(cal.add_working_days(d("2025-03-03"), 1), d("2025-03-04"));
        assert_eq!(cal.add_working_days(d("2025-03-03"), 4), d("2025-03-07"));
        assert_eq!(cal.add_working_days(d("2025-03-03"), 5), d("2025-03-10"));
        assert_eq!(cal.add_working_days(d("2025-03-03"), 10), d("2025-03-17"));
        assert_eq!(cal.add_working_days(d("2025-03-07"), 1), d("2025-03-10"));
        assert_eq!(cal.add_working_days(d("2025-03-08"), 1), d("2025-03-10"));
        assert_eq!(cal.add_working_days(d("2025-03-09"), 1), d("2025-03-10"));
        assert!(!cal.is_working_day(d("2025-03-08")));
        assert!(!cal.is_working_day(d("2025-03-09")));
        assert_eq!(cal.working_days_between(d("2025-03-07"), d("2025-03-09")), 0);
        assert_eq!(cal.working_days_between(d("2025-03-07"), d("2025-03-10")), 1);
        assert_eq!(cal.working_days_between(d("2025-03-03"), d("2025-03-03")), 0);
    }

    #[test]
    fn uncovered_year_counts_weekdays_only() {
        let cal = cal();
        // 2027-10-01 is a Friday; with no 2027 data it counts as working.
        assert!(!cal.covers(2027));
        assert!(cal.is_working_day(d("2027-10-01")));
        assert_eq!(cal.add_working_days(d("2027-09-24"), 10), d("2027-10-08"));
    }

    #[test]
    fn between_is_inverse_of_add_and_antisymmetric() {
        let cal = cal();
        let mut start = d("2023-12-01");
        while start <= d("2027-01-31") {
            for n in [0, 1, 2, 5, 9, 10, 11, 23, 60] {
                let end = cal.add_working_days(start, n);
                assert_eq!(cal.working_days_between(start, end), i64::from(n), "{start} + {n}");
                assert_eq!(cal.working_days_between(end, start), -i64::from(n), "{start} + {n}");
                if n > 0 {
                    assert!(cal.is_working_day(end), "{start} + {n} = {end}");
                    // The day before the deadline is one working day short.
                    let before = end.pred_opt().unwrap();
                    assert_eq!(cal.working_days_between(start, before), i64::from(n) - 1);
                }
            }
            start = start.succ_opt().unwrap();
        }
    }

    #[test]
    fn between_matches_day_by_day_count() {
        let cal = cal();
        let origin = d("2024-01-01");
        let mut to = d("2023-11-20");
        while to <= d("2027-02-10") {
            assert_eq!(cal.working_days_between(origin, to), naive_between(&cal, origin, to), "{to}");
            assert_eq!(cal.working_days_between(to, origin), naive_between(&cal, to, origin), "{to}");
            to = to.succ_opt().unwrap();
        }
        // Weekday arithmetic across a long span, far from any data.
        let empty = WorkingCalendar::default();
        for (from, to) in [("1999-12-30", "2001-01-02"), ("0001-01-01", "0002-03-04")] {
            assert_eq!(empty.working_days_between(d(from), d(to)), naive_between(&empty, d(from), d(to)));
        }
    }

    #[test]
    fn long_additions_jump_weeks_correctly() {
        let cal = cal();
        // Compare the week-jumping add with a plain day-by-day walk.
        for (start, n) in [("2024-01-05", 700), ("2023-06-01", 300), ("2026-12-30", 1000)] {
            let start = d(start);
            let mut day = start;
            let mut left = n;
            while left > 0 {
                day = day.succ_opt().unwrap();
                if cal.is_working_day(day) {
                    left -= 1;
                }
            }
            assert_eq!(cal.add_working_days(start, n), day, "{start} + {n}");
        }
        assert_eq!(cal.checked_add_working_days(d("2025-01-01"), u32::MAX), None);
    }

    #[test]
    fn is_working_day_for_make_up_saturday_and_holiday_monday() {
        let text = "date,kind,name\n2025-10-06,holiday,国庆节\n2025-10-11,workday,国庆节\n";
        let cal = WorkingCalendar::parse(text).unwrap();
        assert_eq!(d("2025-10-06").weekday(), Weekday::Mon);
        assert!(!cal.is_working_day(d("2025-10-06")));
        assert_eq!(d("2025-10-11").weekday(), Weekday::Sat);
        assert!(cal.is_working_day(d("2025-10-11")));
        assert!(!cal.is_working_day(d("2025-10-18")), "an unlisted Saturday");
        assert!(cal.is_working_day(d("2025-10-13")), "an unlisted Monday");
        assert_eq!(cal.listed(d("2025-10-11")), Some((DayKind::Workday, "国庆节")));
    }

    #[test]
    fn parse_accepts_comments_blank_lines_bom_crlf_and_repeats() {
        let text = "\u{feff}# 注释\r\n\r\n DATE , Kind , Name \r\n  # 缩进的注释\r\n\
                    2025-10-01 , HOLIDAY , 国庆节, 中秋节\r\n2025-10-01,holiday,重复\r\n\
                    2025-10-11,workday\r\n";
        let cal = WorkingCalendar::parse(text).unwrap();
        assert_eq!(cal.listed(d("2025-10-01")), Some((DayKind::Holiday, "国庆节, 中秋节")));
        assert_eq!(cal.listed(d("2025-10-11")), Some((DayKind::Workday, "")));
        assert_eq!(cal.years(), vec![2025]);
        let empty = WorkingCalendar::parse("# 只有注释\n").unwrap();
        assert!(empty.years().is_empty());
        assert_eq!(empty, WorkingCalendar::default());
    }

    #[test]
    fn parse_errors_name_the_line() {
        let err = WorkingCalendar::parse("date,kind,name\n# c\n2025-02-30,holiday,x\n").unwrap_err();
        assert_eq!((err.line, err.kind), (3, CalendarErrorKind::BadDate));
        assert_eq!(err.code(), "calendar.bad_date");
        assert_eq!(err.value, "2025-02-30");
        assert_eq!(err.to_string(), "节假日安排第3行：日期“2025-02-30”无效，应为 YYYY-MM-DD 格式的真实日期");

        let err = WorkingCalendar::parse("2025/10/01,holiday,x").unwrap_err();
        assert_eq!((err.line, err.kind), (1, CalendarErrorKind::BadDate));

        let err = WorkingCalendar::parse("date,kind,name\n2025-10-01,holiday,x\n2025-10-02,休,x\n").unwrap_err();
        assert_eq!((err.line, err.kind), (3, CalendarErrorKind::UnknownKind));
        assert_eq!(err.value, "休");
        assert!(err.message.contains("类型“休”无法识别"), "{}", err.message);

        // 2025-10-10 is a Friday: a workday there is a mistake.
        let err = WorkingCalendar::parse("\n\n\n2025-10-10,workday,国庆节\n").unwrap_err();
        assert_eq!((err.line, err.kind), (4, CalendarErrorKind::WorkdayOnWeekday));
        assert_eq!(
            err.message,
            "节假日安排第4行：2025-10-10是星期五，本来就是工作日，不能登记为调休上班日（workday 只用于星期六、星期日）"
        );

        let err =
            WorkingCalendar::parse("2025-10-11,workday,国庆节\n2025-10-12,holiday,x\n2025-10-11,holiday,国庆节\n")
                .unwrap_err();
        assert_eq!((err.line, err.kind), (3, CalendarErrorKind::ConflictingDuplicate));
        assert_eq!(
            err.message,
            "节假日安排第3行：2025-10-11已在第1行登记为调休上班（workday），与本行的放假（holiday）冲突"
        );

        let err = WorkingCalendar::parse("date,kind,name\n2025-10-01\n").unwrap_err();
        assert_eq!((err.line, err.kind), (2, CalendarErrorKind::Format));
        assert_eq!(err.code(), "calendar.format");

        // The header is only allowed as the first data line.
        let err = WorkingCalendar::parse("2025-10-01,holiday,x\ndate,kind,name\n").unwrap_err();
        assert_eq!((err.line, err.kind), (2, CalendarErrorKind::BadDate));
    }

    #[test]
    fn seeded_cross_checks() {
        let cal = cal();
        let workdays: Vec<NaiveDate> =
            ["2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11"].into_iter().map(d).collect();
        for day in &workdays {
            assert_eq!(cal.listed(*day).map(|(kind, _)| kind), Some(DayKind::Workday), "{day}");
        }
        // Every listed workday is a weekend, every year's holidays are as
        // many as the notices say (2025: 1 + 8 + 3 + 5 + 3 + 8 = 28 days;
        // 2026: 3 + 9 + 3 + 5 + 3 + 3 + 7 = 33 days).
        let count = |year: i32, kind: DayKind| {
            cal.days.iter().filter(|(date, entry)| date.year() == year && entry.kind == kind).count()
        };
        assert_eq!(count(2025, DayKind::Holiday), 28);
        assert_eq!(count(2025, DayKind::Workday), 5);
        assert_eq!(count(2026, DayKind::Holiday), 33);
        assert_eq!(count(2026, DayKind::Workday), 6);
        assert_eq!(count(2024, DayKind::Holiday), 28);
        assert_eq!(count(2024, DayKind::Workday), 8);
        // Working days in a whole year: 261 Mondays-to-Fridays in 2025 and in
        // 2026; minus the holidays that fall on them (2025: 01-01; 01-28..31,
        // 02-03, 02-04; 04-04; 05-01, 05-02, 05-05; 06-02; 10-01..03,
        // 10-06..08 = 18. 2026: 01-01, 01-02; 02-16..20, 02-23; 04-06; 05-01,
        // 05-04, 05-05; 06-19; 09-25; 10-01, 10-02, 10-05..07 = 19); plus the
        // make-up weekend days (2025: 5; 2026: 6). Both years: 248.
        assert_eq!(cal.working_days_between(d("2024-12-31"), d("2025-12-31")), 261 - 18 + 5);
        assert_eq!(cal.working_days_between(d("2025-12-31"), d("2026-12-31")), 261 - 19 + 6);
    }
}
