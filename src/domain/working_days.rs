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
//! service keeps the schedule in its database (seeded from that file, see
//! `crate::calendar`), where the bureau replaces a whole year when a new
//! notice is published; [`WorkingCalendar::from_days`] builds the calendar
//! from those rows and [`WorkingCalendar::to_csv`] writes them back out.
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
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

    /// Parses the CSV word, in any case: `holiday` or `workday`.
    pub fn parse(word: &str) -> Option<Self> {
        match word.trim().to_ascii_lowercase().as_str() {
            "holiday" => Some(DayKind::Holiday),
            "workday" => Some(DayKind::Workday),
            _ => None,
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

/// One listed date: what [`WorkingCalendar::days`] yields and
/// [`WorkingCalendar::from_days`] takes (a row of the `calendar_days` table).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CalendarDay {
    /// The date.
    pub date: NaiveDate,
    /// Holiday or make-up workday.
    pub kind: DayKind,
    /// The holiday's name, for display (may be empty).
    pub name: String,
}

/// One holiday of a year's schedule: see [`WorkingCalendar::year_summary`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HolidayGroup {
    /// The holiday's name (e.g. `国庆节`; empty if the schedule gives none).
    pub name: String,
    /// The days off, in date order.
    pub holidays: Vec<NaiveDate>,
    /// The make-up working Saturdays and Sundays, in date order.
    pub workdays: Vec<NaiveDate>,
}

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

/// `星期一` … `星期日`, for messages and pages.
pub fn weekday_zh(weekday: Weekday) -> &'static str {
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
            let Some(kind) = DayKind::parse(kind_field) else {
                return Err(CalendarError::new(
                    line,
                    CalendarErrorKind::UnknownKind,
                    kind_field,
                    &format!("类型“{kind_field}”无法识别，应为 holiday（放假）或 workday（调休上班）"),
                ));
            };
            calendar.insert(line, date_field, date, kind, name_field)?;
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

    /// The text of the bundled `holidays_cn.csv` that [`seeded`](Self::seeded)
    /// parses (its comments name each year's source).
    pub fn seeded_csv() -> &'static str {
        SEEDED_CSV
    }

    /// Builds the calendar from listed dates (e.g. the rows of a database
    /// table), with the same checks as [`parse`](Self::parse).
    ///
    /// # Errors
    ///
    /// A [`CalendarError`] whose `line` is the 1-based position of the
    /// offending day in `days`: a `workday` on Monday to Friday, or a date
    /// given twice with different kinds.
    pub fn from_days(days: impl IntoIterator<Item = CalendarDay>) -> Result<Self, CalendarError> {
        let mut calendar = Self::default();
        for (index, day) in days.into_iter().enumerate() {
            calendar.insert(index + 1, &day.date.to_string(), day.date, day.kind, &day.name)?;
        }
        Ok(calendar)
    }

    /// Adds one listed date from line `line` (`value` is the date as given),
    /// refusing a `workday` on Monday to Friday and a date listed again with
    /// the other kind; a repeat with the same kind keeps the first name.
    fn insert(
        &mut self,
        line: usize,
        value: &str,
        date: NaiveDate,
        kind: DayKind,
        name: &str,
    ) -> Result<(), CalendarError> {
        if kind == DayKind::Workday && !is_weekend(date) {
            return Err(CalendarError::new(
                line,
                CalendarErrorKind::WorkdayOnWeekday,
                value,
                &format!(
                    "{date}是{}，本来就是工作日，不能登记为调休上班日（workday 只用于星期六、星期日）",
                    weekday_zh(date.weekday())
                ),
            ));
        }
        if let Some(previous) = self.days.get(&date) {
            if previous.kind != kind {
                return Err(CalendarError::new(
                    line,
                    CalendarErrorKind::ConflictingDuplicate,
                    value,
                    &format!(
                        "{date}已在第{}行登记为{}（{}），与本行的{}（{kind}）冲突",
                        previous.line,
                        previous.kind.label(),
                        previous.kind,
                        kind.label()
                    ),
                ));
            }
            return Ok(());
        }
        self.years.insert(date.year());
        self.days.insert(date, Entry { kind, name: name.to_owned(), line });
        Ok(())
    }

    /// Every listed date, in date order.
    pub fn days(&self) -> impl Iterator<Item = CalendarDay> + '_ {
        self.days.iter().map(|(date, entry)| CalendarDay { date: *date, kind: entry.kind, name: entry.name.clone() })
    }

    /// The listed dates of one calendar year, in date order (empty for a
    /// year the schedule does not cover).
    pub fn days_in_year(&self, year: i32) -> Vec<CalendarDay> {
        let (Some(first), Some(last)) = (NaiveDate::from_ymd_opt(year, 1, 1), NaiveDate::from_ymd_opt(year, 12, 31))
        else {
            return Vec::new();
        };
        self.days
            .range(first..=last)
            .map(|(date, entry)| CalendarDay { date: *date, kind: entry.kind, name: entry.name.clone() })
            .collect()
    }

    /// One year's schedule grouped by holiday name, in the order the names
    /// first appear: each group's holiday dates and make-up workdays (e.g.
    /// 国庆节 2026: 10-01..=10-07 off, 09-20 and 10-10 worked). Dates with an
    /// empty name form one group with an empty name.
    pub fn year_summary(&self, year: i32) -> Vec<HolidayGroup> {
        let mut groups: Vec<HolidayGroup> = Vec::new();
        for day in self.days_in_year(year) {
            let index = match groups.iter().position(|group| group.name == day.name) {
                Some(index) => index,
                None => {
                    groups.push(HolidayGroup { name: day.name.clone(), holidays: Vec::new(), workdays: Vec::new() });
                    groups.len() - 1
                }
            };
            match day.kind {
                DayKind::Holiday => groups[index].holidays.push(day.date),
                DayKind::Workday => groups[index].workdays.push(day.date),
            }
        }
        groups
    }

    /// The schedule as CSV text in the format [`parse`](Self::parse) reads:
    /// a comment, the header `date,kind,name`, then one line per listed date
    /// in date order, each year introduced by a comment line. Parsing the
    /// result gives the same listed dates.
    pub fn to_csv(&self) -> String {
        let mut out = String::from(
            "# 节假日安排：date 日期（YYYY-MM-DD），kind 为 holiday（放假）或 workday（调休上班，仅限周六、周日），name 节日名称。\n\
             # 未列出的日期：周一至周五为工作日，周六、周日为休息日。\n\
             date,kind,name\n",
        );
        let mut year = None;
        for (date, entry) in &self.days {
            if year != Some(date.year()) {
                year = Some(date.year());
                out.push_str(&format!("\n# ==== {} 年 ====\n", date.year()));
            }
            out.push_str(&format!("{date},{},{}\n", entry.kind, entry.name));
        }
        out
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

    #[test]
    fn ten_working_days_across_national_day_2026() {
        let cal = cal();
        // The 2026 notice: 10-01 (Thu) ..= 10-07 (Wed) off; Sunday 09-20 and
        // Saturday 10-10 worked; 中秋节 09-25 (Fri) ..= 09-27 off.
        assert_eq!(d("2026-09-20").weekday(), Weekday::Sun);
        assert_eq!(cal.listed(d("2026-09-20")), Some((DayKind::Workday, "国庆节")));
        assert_eq!(d("2026-10-10").weekday(), Weekday::Sat);
        assert_eq!(cal.listed(d("2026-10-10")), Some((DayKind::Workday, "国庆节")));
        for day in ["2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07"] {
            assert_eq!(cal.listed(d(day)), Some((DayKind::Holiday, "国庆节")), "{day}");
            assert!(!cal.is_working_day(d(day)), "{day}");
        }
        // From Monday 2026-09-28:
        //   09-29 Tue (1) 09-30 Wed (2); 10-01 .. 10-07 off;
        //   10-08 Thu (3) 10-09 Fri (4) 10-10 Sat make-up (5); 10-11 Sun off;
        //   10-12 Mon (6) 10-13 (7) 10-14 (8) 10-15 (9) 10-16 Fri (10).
        assert_eq!(cal.add_working_days(d("2026-09-28"), 10), d("2026-10-16"));
        assert_eq!(cal.add_working_days(d("2026-09-28"), 5), d("2026-10-10"));
        assert_eq!(cal.working_days_between(d("2026-09-28"), d("2026-10-16")), 10);
        // Without the schedule the same count would end on Monday 10-12.
        assert_eq!(WorkingCalendar::default().add_working_days(d("2026-09-28"), 10), d("2026-10-12"));
        // The make-up Sunday is the first working day after Friday 09-18;
        // the 中秋节 Friday is skipped after Thursday 09-24.
        assert_eq!(cal.add_working_days(d("2026-09-18"), 1), d("2026-09-20"));
        assert_eq!(cal.add_working_days(d("2026-09-24"), 1), d("2026-09-28"));
    }

    #[test]
    fn days_round_trip_through_rows_and_csv() {
        let cal = cal();
        let days: Vec<CalendarDay> = cal.days().collect();
        assert_eq!(days.len(), 36 + 33 + 39);
        assert!(days.windows(2).all(|w| w[0].date < w[1].date));
        let rebuilt = WorkingCalendar::from_days(days.clone()).unwrap();
        assert_eq!(rebuilt.days().collect::<Vec<_>>(), days);
        assert_eq!(rebuilt.years(), vec![2024, 2025, 2026]);
        let csv = cal.to_csv();
        assert!(csv.contains("\ndate,kind,name\n"), "{csv}");
        assert!(csv.contains("\n# ==== 2026 年 ====\n2026-01-01,holiday,元旦\n"), "{csv}");
        assert!(csv.contains("\n2025-10-11,workday,国庆节、中秋节\n"), "{csv}");
        let reparsed = WorkingCalendar::parse(&csv).unwrap();
        assert_eq!(reparsed.days().collect::<Vec<_>>(), days);
        // An empty calendar writes only the comment and the header.
        let empty = WorkingCalendar::default().to_csv();
        assert!(empty.ends_with("date,kind,name\n"), "{empty}");
        assert!(WorkingCalendar::parse(&empty).unwrap().years().is_empty());
    }

    #[test]
    fn from_days_checks_like_parse() {
        let day = |date: &str, kind: DayKind| CalendarDay { date: d(date), kind, name: "国庆节".into() };
        // A workday on Wednesday 2025-10-08 is refused, naming its position.
        let err = WorkingCalendar::from_days([
            day("2025-10-01", DayKind::Holiday),
            day("2025-10-11", DayKind::Workday),
            day("2025-10-08", DayKind::Workday),
        ])
        .unwrap_err();
        assert_eq!((err.line, err.kind), (3, CalendarErrorKind::WorkdayOnWeekday));
        assert_eq!(err.value, "2025-10-08");
        let err =
            WorkingCalendar::from_days([day("2025-10-11", DayKind::Workday), day("2025-10-11", DayKind::Holiday)])
                .unwrap_err();
        assert_eq!((err.line, err.kind), (2, CalendarErrorKind::ConflictingDuplicate));
        let cal = WorkingCalendar::from_days([day("2027-10-01", DayKind::Holiday)]).unwrap();
        assert_eq!(cal.years(), vec![2027]);
        assert!(!cal.is_working_day(d("2027-10-01")));
    }

    #[test]
    fn days_in_year_and_summary() {
        let cal = cal();
        let days = cal.days_in_year(2026);
        assert_eq!(days.len(), 39);
        assert!(days.iter().all(|day| day.date.year() == 2026));
        assert_eq!(days.first().map(|day| day.date), Some(d("2026-01-01")));
        assert_eq!(days.last().map(|day| day.date), Some(d("2026-10-10")));
        assert!(cal.days_in_year(2027).is_empty());
        assert!(cal.year_summary(2027).is_empty());

        let summary = cal.year_summary(2025);
        let names: Vec<&str> = summary.iter().map(|group| group.name.as_str()).collect();
        assert_eq!(names, ["元旦", "春节", "清明节", "劳动节", "端午节", "国庆节、中秋节"]);
        let national = &summary[5];
        assert_eq!(national.holidays.len(), 8);
        assert_eq!(national.holidays.first(), Some(&d("2025-10-01")));
        assert_eq!(national.holidays.last(), Some(&d("2025-10-08")));
        assert_eq!(national.workdays, [d("2025-09-28"), d("2025-10-11")]);
        let summary = cal.year_summary(2026);
        let national = summary.iter().find(|group| group.name == "国庆节").unwrap();
        assert_eq!(national.holidays.len(), 7);
        assert_eq!(national.workdays, [d("2026-09-20"), d("2026-10-10")]);
        assert_eq!(summary.iter().map(|group| group.holidays.len()).sum::<usize>(), 33);
    }

    #[test]
    fn day_kind_words() {
        assert_eq!(DayKind::parse(" Holiday "), Some(DayKind::Holiday));
        assert_eq!(DayKind::parse("WORKDAY"), Some(DayKind::Workday));
        assert_eq!(DayKind::parse("休"), None);
        assert_eq!(serde_json::to_string(&DayKind::Workday).unwrap(), "\"workday\"");
        assert_eq!(weekday_zh(d("2026-10-10").weekday()), "星期六");
    }
}
