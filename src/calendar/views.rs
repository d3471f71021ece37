//! The calendar as people read it: each year's holidays and make-up
//! workdays with their dates spelled out, the years a page shows, the
//! warning for a year not yet entered, and a deadline counted in working days.

use crate::domain::WorkingCalendar;
use crate::domain::working_days::{HolidayGroup, weekday_zh};
use chrono::{Datelike, NaiveDate};

/// The warning for a year the schedule does not cover.
pub fn uncovered_warning(year: i32) -> String {
    format!("{year} 年节假日安排尚未录入，期限按周一至周五计算")
}

/// `10月1日`.
pub fn date_label(date: NaiveDate) -> String {
    format!("{}月{}日", date.month(), date.day())
}

/// `10月10日（星期六）`.
pub fn date_weekday_label(date: NaiveDate) -> String {
    format!("{}（{}）", date_label(date), weekday_zh(date.weekday()))
}

/// Consecutive dates as spans: `10月1日至10月7日`, or one date with its weekday.
pub(super) fn spans_label(dates: &[NaiveDate]) -> String {
    let mut spans: Vec<(NaiveDate, NaiveDate)> = Vec::new();
    for &date in dates {
        match spans.last_mut() {
            Some((_, last)) if last.succ_opt() == Some(date) => *last = date,
            _ => spans.push((date, date)),
        }
    }
    spans
        .iter()
        .map(|&(first, last)| {
            if first == last {
                date_weekday_label(first)
            } else {
                format!("{}至{}", date_weekday_label(first), date_weekday_label(last))
            }
        })
        .collect::<Vec<_>>()
        .join("、")
}

/// One holiday of a year, for pages and the command line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HolidayView {
    /// The holiday's name (`（未命名）` if the schedule gives none).
    pub name: String,
    /// The days off as spans, e.g. `10月1日（星期四）至10月7日（星期三）`.
    pub off: String,
    /// How many days off.
    pub days: usize,
    /// The make-up workdays, e.g. `9月20日（星期日）、10月10日（星期六）`; empty if none.
    pub workdays: String,
}

/// One year of the schedule, for pages and the command line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct YearView {
    /// The calendar year.
    pub year: i32,
    /// Whether the schedule has data for it.
    pub covered: bool,
    /// The warning for an uncovered year.
    pub warning: Option<String>,
    /// Each holiday.
    pub holidays: Vec<HolidayView>,
    /// Days off listed.
    pub holiday_days: usize,
    /// Make-up workdays listed.
    pub workday_days: usize,
    /// Working days in the whole year under this schedule.
    pub working_days: i64,
}

impl YearView {
    /// The view of `year` in `calendar`.
    pub fn new(calendar: &WorkingCalendar, year: i32) -> Self {
        let groups: Vec<HolidayGroup> = calendar.year_summary(year);
        let covered = calendar.covers(year);
        let working_days = match (NaiveDate::from_ymd_opt(year - 1, 12, 31), NaiveDate::from_ymd_opt(year, 12, 31)) {
            (Some(from), Some(to)) => calendar.working_days_between(from, to),
            _ => 0,
        };
        YearView {
            year,
            covered,
            warning: (!covered).then(|| uncovered_warning(year)),
            holiday_days: groups.iter().map(|g| g.holidays.len()).sum(),
            workday_days: groups.iter().map(|g| g.workdays.len()).sum(),
            holidays: groups
                .iter()
                .map(|g| HolidayView {
                    name: if g.name.is_empty() { "（未命名）".to_owned() } else { g.name.clone() },
                    off: spans_label(&g.holidays),
                    days: g.holidays.len(),
                    workdays: g.workdays.iter().map(|d| date_weekday_label(*d)).collect::<Vec<_>>().join("、"),
                })
                .collect(),
            working_days,
        }
    }
}

/// The years to show: every year with data, plus `today`'s year and the next
/// (so a year not yet entered is visible with its warning), newest first.
pub fn years_to_show(calendar: &WorkingCalendar, today: NaiveDate) -> Vec<i32> {
    let mut years = calendar.years();
    for year in [today.year(), today.year() + 1] {
        if !years.contains(&year) {
            years.push(year);
        }
    }
    years.sort_unstable_by(|a, b| b.cmp(a));
    years
}

/// A deadline: `days` working days after `from`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Deadline {
    /// The starting day (not counted).
    pub from: NaiveDate,
    /// How many working days.
    pub days: u32,
    /// The last day on time.
    pub deadline: NaiveDate,
    /// Its weekday, e.g. `星期五`.
    pub weekday: &'static str,
    /// Whether the schedule covers every year from `from` to the deadline.
    pub covered: bool,
    /// The warning when it does not.
    pub warning: Option<String>,
}

impl Deadline {
    /// The deadline `days` working days after `from`, or `None` if it is
    /// past the last representable date.
    pub fn new(calendar: &WorkingCalendar, from: NaiveDate, days: u32) -> Option<Self> {
        let deadline = calendar.checked_add_working_days(from, days)?;
        let uncovered: Vec<i32> = (from.year()..=deadline.year()).filter(|y| !calendar.covers(*y)).collect();
        let warning = (!uncovered.is_empty()).then(|| {
            let years: Vec<String> = uncovered.iter().map(ToString::to_string).collect();
            format!("{} 年节假日安排尚未录入，期限按周一至周五计算，通知发布后可能变化", years.join("、"))
        });
        Some(Deadline {
            from,
            days,
            deadline,
            weekday: weekday_zh(deadline.weekday()),
            covered: uncovered.is_empty(),
            warning,
        })
    }
}
