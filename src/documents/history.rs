//! A student's history as the paper record prints it, read from the events
//! (never kept apart): the 学籍变动 rows of the 登记表 and the 学籍卡, and
//! the school years of the 学籍卡's 在校记录.
//!
//! - A 变动 is a change of the record after enrolment: 转入, 转出, 休学,
//!   复学, 学籍号变更, 信息变更, 出国（境）, 辍学, 返校, 死亡, 失踪. The
//!   enrolment itself, promotions, graduation and the steps of an
//!   application (opened, refused, withdrawn) are not.
//! - Its date is the day it took effect as the record knows it: the last
//!   approval of its case, the day a student came back, died or was reported.
//!   Events are in order, so a date is never later than the next event's
//!   (nor than the issue date): a clock that disagreed is bounded by the
//!   history's own order.
//! - Its approving document is the application form its case printed (the
//!   form the approvals were given on, by its 文书编号), or for a return
//!   after a recall, the recall notice's number.
//! - The papers cover the current stage: for a junior student taken in from
//!   a primary school, the history starts at that intake, and the primary
//!   school is named as 毕业小学.
//! - A school year's row shows the grade, class and status at its end (or
//!   now, for the current year); the head teacher only for the current year,
//!   as no earlier one is recorded; a class the events do not name is empty.

use crate::db::schools;
use crate::db::students::Event;
use crate::domain::{Gender, Grade, StudentStatus, school_year_start};
use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;

/// The events that complete an application (their date is the case's last approval).
const CASE_KINDS: [&str; 7] =
    ["transferred", "transferred_out", "abroad", "suspended", "suspension_renewed", "resumed", "info_changed"];

/// At most this many school years are listed (a record is not older).
const MAX_YEARS: i32 = 12;

/// What the events point at, looked up before reading them.
#[derive(Debug, Clone, Default)]
pub struct Lookups {
    /// School names by 学校标识码.
    pub schools: HashMap<String, String>,
    /// The day each completed case closed (its last approval), by the case's public id.
    pub case_closed: HashMap<String, NaiveDate>,
}

/// The student as the record holds them now: the current year's row.
#[derive(Debug, Clone)]
pub struct Now {
    /// Grade.
    pub grade: Grade,
    /// Class name, if in a class.
    pub class_name: Option<String>,
    /// Status.
    pub status: StudentStatus,
    /// The class's head teacher, if recorded.
    pub head_teacher: Option<String>,
}

/// One row of 学籍变动.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// When it took effect, `YYYY-MM-DD`.
    pub date: String,
    /// 类别, in Chinese.
    pub kind: &'static str,
    /// 变动情况: what changed.
    pub detail: String,
    /// 批准文号: the approving document, where the workflow has one.
    pub approval_no: Option<String>,
}

/// One school year of 在校记录.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Year {
    /// `2026—2027`.
    pub school_year: String,
    /// Grade at the year's end (or now).
    pub grade: Option<String>,
    /// Class at the year's end (or now), when the record says.
    pub class_name: Option<String>,
    /// Status at the year's end (or now).
    pub status: Option<String>,
    /// Head teacher (the current year only).
    pub head_teacher: Option<String>,
    /// The year's changes, by kind (`休学、复学`).
    pub note: Option<String>,
}

/// What the papers print of a student's history.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct History {
    /// 学籍变动, oldest first.
    pub changes: Vec<Change>,
    /// 在校记录, one row per school year, oldest first.
    pub years: Vec<Year>,
    /// 毕业小学 (a junior student taken in from a primary school).
    pub primary_school: Option<String>,
    /// The school the student came from by the last transfer in (原就读学校).
    pub previous_school: Option<String>,
}

/// The school codes and cases the events name, to look up before [`read`].
pub fn references(events: &[Event]) -> (Vec<String>, Vec<String>) {
    let mut codes = Vec::new();
    let mut cases = Vec::new();
    for e in events {
        if matches!(e.kind.as_str(), "transferred" | "junior_intake") {
            for key in ["from_school", "to_school"] {
                if let Some(code) = text(&e.detail, key)
                    && !codes.iter().any(|c| c == code)
                {
                    codes.push(code.to_owned());
                }
            }
        }
        if CASE_KINDS.contains(&e.kind.as_str())
            && let Some(case) = text(&e.detail, "case")
            && !cases.iter().any(|c| c == case)
        {
            cases.push(case.to_owned());
        }
    }
    (codes, cases)
}

/// Reads the history of the events (oldest first) as printed on `issue_date`.
pub fn read(events: &[Event], lookups: &Lookups, now: &Now, issue_date: NaiveDate) -> History {
    let dates = effective_dates(events, lookups, issue_date);
    // The papers cover the current stage: from the last junior intake, if any.
    let start = events.iter().rposition(|e| e.kind == "junior_intake").unwrap_or(0);
    let mut history = History::default();
    if let Some(intake) = events.get(start).filter(|e| e.kind == "junior_intake") {
        history.primary_school = text(&intake.detail, "from_school").map(|c| school_name(lookups, c));
    }
    let mut recall: Option<String> = None;
    let mut changes: Vec<(usize, Change)> = Vec::new();
    for (i, e) in events.iter().enumerate() {
        if e.kind == "recall_issued" {
            recall = text(&e.detail, "number").map(str::to_owned);
        }
        if i < start {
            continue;
        }
        if e.kind == "transferred" {
            history.previous_school = text(&e.detail, "from_school").map(|c| school_name(lookups, c));
        }
        if let Some(change) = change_of(e, lookups, dates[i], &mut recall) {
            changes.push((i, change));
        }
    }
    history.years = years(&events[start..], &dates[start..], &changes, start, now, issue_date);
    history.changes = changes.into_iter().map(|(_, c)| c).collect();
    history
}

/// Each event's date: where it took effect, bounded by the next event's and the issue date.
fn effective_dates(events: &[Event], lookups: &Lookups, issue_date: NaiveDate) -> Vec<NaiveDate> {
    let mut dates = vec![issue_date; events.len()];
    let mut bound = issue_date;
    for (i, e) in events.iter().enumerate().rev() {
        let d = raw_date(e, lookups).map_or(bound, |d| d.min(bound));
        dates[i] = d;
        bound = d;
    }
    dates
}

fn raw_date(e: &Event, lookups: &Lookups) -> Option<NaiveDate> {
    let on = |k: &str| text(&e.detail, k).and_then(parse_date);
    let specific = match e.kind.as_str() {
        "returned" | "found" | "returned_from_abroad" => on("returned_on"),
        "deceased" => on("died_on"),
        "junior_intake" => on("entered_on"),
        "dropout_suspected" | "dropout_reported" | "missing_reported" => on("reported_to_bureau"),
        "promoted" => e
            .detail
            .get("year")
            .and_then(Value::as_i64)
            .and_then(|y| i32::try_from(y).ok())
            .and_then(|y| NaiveDate::from_ymd_opt(y, 8, 10)),
        k if CASE_KINDS.contains(&k) => text(&e.detail, "case").and_then(|c| lookups.case_closed.get(c).copied()),
        _ => None,
    };
    specific.or_else(|| instant_date(&e.at))
}

/// The day the record's (last) junior intake took effect, if it went
/// through one: where its junior stage began. Without one the stage began at
/// the record's entry date, which a transfer keeps (years spent before
/// transferring in count).
pub fn junior_intake_date(events: &[Event]) -> Option<NaiveDate> {
    let intake = events.iter().rev().find(|e| e.kind == "junior_intake")?;
    text(&intake.detail, "entered_on").and_then(parse_date).or_else(|| instant_date(&intake.at))
}

/// The calendar day (China time) of a stored instant.
fn instant_date(at: &str) -> Option<NaiveDate> {
    let china = chrono::FixedOffset::east_opt(8 * 3600)?;
    chrono::DateTime::parse_from_rfc3339(at)
        .map(|t| t.with_timezone(&china).date_naive())
        .ok()
        .or_else(|| at.get(..10).and_then(parse_date))
}

/// A stored date, or nothing (the domain's reading, its error dropped).
fn parse_date(s: &str) -> Option<NaiveDate> {
    crate::domain::parse_date("", s).ok()
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

/// `2026-11-29` as `2026年11月29日` (anything else as given).
fn zh_date(s: &str) -> String {
    parse_date(s).map_or_else(|| s.to_owned(), |d| format!("{}年{}月{}日", d.year(), d.month(), d.day()))
}

fn school_name(lookups: &Lookups, code: &str) -> String {
    lookups.schools.get(code).cloned().unwrap_or_else(|| code.to_owned())
}

/// The 学籍变动 row of an event, if it is one.
fn change_of(e: &Event, lookups: &Lookups, date: NaiveDate, recall: &mut Option<String>) -> Option<Change> {
    let d = &e.detail;
    let t = |k: &str| text(d, k).unwrap_or_default();
    let form = text(d, "form").map(str::to_owned);
    let (kind, detail, approval_no) = match e.kind.as_str() {
        "student_no_converted" => ("学籍号变更", format!("学籍号由{}变更为{}", t("from"), t("to")), None),
        "info_changed" => ("信息变更", info_changes(d), form),
        "transferred" => {
            let from = text(d, "from_school").map(|c| school_name(lookups, c)).unwrap_or_default();
            let to = text(d, "to_school").map(|c| school_name(lookups, c)).unwrap_or_default();
            ("转入", format!("由{from}转入{to}{}", t("to_class")), form)
        }
        "transferred_out" => ("转出", format!("转往{}{}", t("to_county"), t("to_school")), form),
        "abroad" => ("出国（境）", format!("{}出境，前往{}", zh_date(t("departure_date")), t("country")), form),
        "returned_from_abroad" => ("回国（境）复学", format!("回国（境）复学，编入{}", t("class")), None),
        "suspended" => {
            let mut text = format!("休学{}至{}", zh_date(t("start_date")), zh_date(t("end_date")));
            if !t("reason").is_empty() {
                text.push_str(&format!("，原因：{}", t("reason")));
            }
            ("休学", text, form)
        }
        "suspension_renewed" => ("续办休学", format!("休学延至{}", zh_date(t("end_date"))), form),
        "resumed" => ("复学", format!("复学，编入{}", t("class")), form),
        "dropout_suspected" => ("疑似辍学", format!("自{}起未到校", zh_date(t("absent_since"))), None),
        "dropout_reported" => ("辍学", format!("自{}起未到校，已报教育局", zh_date(t("absent_since"))), None),
        "returned" => ("返校复学", format!("返校复学，编入{}", t("class")), recall.take()),
        "found" => ("返校", format!("返校，编入{}", t("class")), None),
        "deceased" => ("死亡", format!("{}死亡，学籍注销", zh_date(t("died_on"))), None),
        "missing_reported" => {
            let what = if t("kind").is_empty() { "失踪" } else { t("kind") };
            let kind = if what == "失踪" { "失踪" } else { "羁押" };
            (kind, format!("自{}起{what}，保留学籍", zh_date(t("since"))), None)
        }
        _ => return None,
    };
    Some(Change { date: date.to_string(), kind, detail, approval_no })
}

/// `现住址由“…”改为“…”；…` from an information change's `{field: {label, old, new}}`.
fn info_changes(d: &Value) -> String {
    let Some(changes) = d.get("changes").and_then(Value::as_object) else { return String::new() };
    changes
        .iter()
        .map(|(field, c)| {
            let label = c.get("label").and_then(Value::as_str).unwrap_or(field);
            let shown = |k: &str| {
                let v = c.get(k).and_then(Value::as_str).unwrap_or_default();
                let v = if field == "gender" { Gender::parse(v).map_or(v, |g| g.label()) } else { v };
                if v.is_empty() { "（空）".to_owned() } else { format!("“{v}”") }
            };
            format!("{label}由{}改为{}", shown("old"), shown("new"))
        })
        .collect::<Vec<_>>()
        .join("；")
}

/// The grade and class a class name (`四年级1班`) says.
fn class_parts(name: &str) -> (Option<Grade>, Option<i64>) {
    let grade = (1..=9).filter_map(|n| Grade::new(n).ok()).find(|g| name.starts_with(g.label()));
    let number = grade
        .and_then(|g| name.strip_prefix(g.label()))
        .and_then(|rest| rest.strip_suffix('班'))
        .and_then(|n| n.parse::<i64>().ok());
    (grade, number)
}

/// Where the student stands after each event, for the years' rows.
#[derive(Debug, Clone, Default)]
struct Standing {
    grade: Option<Grade>,
    class_number: Option<i64>,
    status: Option<StudentStatus>,
}

impl Standing {
    fn apply(&mut self, e: &Event) {
        let d = &e.detail;
        match e.kind.as_str() {
            "enrolled" => {
                self.grade = d
                    .get("grade")
                    .and_then(Value::as_u64)
                    .and_then(|g| u8::try_from(g).ok())
                    .and_then(|g| Grade::new(g).ok());
            }
            "promoted" => {
                if let Some(g) = d.get("to_grade").and_then(Value::as_u64).and_then(|g| u8::try_from(g).ok()) {
                    self.grade = Grade::new(g).ok();
                }
            }
            _ => {}
        }
        for key in ["to_class", "class"] {
            if let Some(name) = text(d, key)
                && matches!(
                    e.kind.as_str(),
                    "transferred" | "resumed" | "returned" | "found" | "returned_from_abroad" | "junior_intake"
                )
            {
                let (grade, number) = class_parts(name);
                self.grade = grade.or(self.grade);
                self.class_number = number;
            }
        }
        if let Some(to) = e.to_status.as_deref().and_then(|s| StudentStatus::parse(s).ok()) {
            self.status = Some(to);
        }
    }
}

/// The rows of 在校记录: one per school year from the stage's start to the
/// issue date's year (or the year the student left).
fn years(
    events: &[Event],
    dates: &[NaiveDate],
    changes: &[(usize, Change)],
    offset: usize,
    now: &Now,
    issue_date: NaiveDate,
) -> Vec<Year> {
    let Some(first) = dates.first() else { return Vec::new() };
    let current = school_year_start(issue_date);
    let first_year = school_year_start(*first).min(current);
    // A class the events never name is the one the student is in now (promotions keep the number).
    let names_a_class = events
        .iter()
        .skip(1)
        .any(|e| matches!(e.kind.as_str(), "transferred" | "resumed" | "returned" | "found" | "returned_from_abroad"));
    let now_number = now.class_name.as_deref().and_then(|n| class_parts(n).1);
    let mut standing = Standing::default();
    if !names_a_class {
        standing.class_number = now_number;
    }
    let mut rows = Vec::new();
    let mut next = 0;
    for year in first_year..=current.min(first_year + MAX_YEARS - 1) {
        let mut kinds: Vec<&str> = Vec::new();
        while next < events.len() && school_year_start(dates[next]) <= year {
            standing.apply(&events[next]);
            if let Some((_, c)) = changes.iter().find(|(i, _)| *i == next + offset)
                && !kinds.contains(&c.kind)
            {
                kinds.push(c.kind);
            }
            next += 1;
        }
        let note = (!kinds.is_empty()).then(|| kinds.join("、"));
        let school_year = format!("{year}—{}", year + 1);
        if year == current {
            rows.push(Year {
                school_year,
                grade: Some(now.grade.label().to_owned()),
                class_name: now.class_name.clone(),
                status: Some(now.status.label().to_owned()),
                head_teacher: now.head_teacher.clone(),
                note,
            });
        } else {
            rows.push(Year {
                school_year,
                grade: standing.grade.map(|g| g.label().to_owned()),
                class_name: standing
                    .grade
                    .zip(standing.class_number)
                    .map(|(g, n)| schools::class_name(i64::from(g.number()), n)),
                status: standing.status.map(|s| s.label().to_owned()),
                head_teacher: None,
                note,
            });
        }
        // No rows after the year the student left.
        let left = matches!(
            standing.status,
            Some(StudentStatus::Graduated | StudentStatus::TransferredOut | StudentStatus::Deceased)
        );
        if left && next == events.len() {
            break;
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(kind: &str, to: Option<&str>, detail: Value, at: &str) -> Event {
        Event {
            kind: kind.into(),
            from_status: None,
            to_status: to.map(str::to_owned),
            detail,
            proofs: json!([]),
            actor: None,
            at: at.into(),
        }
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn now(grade: u8, class: &str, status: StudentStatus) -> Now {
        Now {
            grade: Grade::new(grade).unwrap(),
            class_name: Some(class.into()),
            status,
            head_teacher: Some("刘淑华".into()),
        }
    }

    #[test]
    fn enrolment_is_no_change_and_a_suspension_and_resumption_are() {
        let events = [
            event("enrolled", Some("active"), json!({"school_id": 1, "grade": 3}), "2026-09-01T01:00:00Z"),
            event("application_opened", None, json!({"case": "c1", "kind": "suspension"}), "2026-09-20T01:00:00Z"),
            event(
                "suspended",
                Some("suspended"),
                json!({"case": "c1", "form": "ab12", "start_date": "2026-09-20", "end_date": "2027-09-19", "reason": "因病"}),
                "2026-10-01T01:00:00Z",
            ),
            event(
                "resumed",
                Some("active"),
                json!({"case": "c2", "form": null, "grade": 3, "class": "三年级1班"}),
                "2026-11-01T01:00:00Z",
            ),
        ];
        let lookups = Lookups { case_closed: [("c1".to_owned(), day(2026, 9, 28))].into(), ..Lookups::default() };
        let h = read(&events, &lookups, &now(3, "三年级1班", StudentStatus::Active), day(2026, 11, 29));
        assert_eq!(h.changes.len(), 2);
        assert_eq!(
            h.changes[0],
            Change {
                date: "2026-09-28".into(),
                kind: "休学",
                detail: "休学2026年9月20日至2027年9月19日，原因：因病".into(),
                approval_no: Some("ab12".into())
            }
        );
        assert_eq!((h.changes[1].kind, h.changes[1].date.as_str()), ("复学", "2026-11-01"));
        assert_eq!(h.changes[1].approval_no, None);
        assert_eq!(h.years.len(), 1);
        assert_eq!(h.years[0].note.as_deref(), Some("休学、复学"));
        assert_eq!(h.years[0].head_teacher.as_deref(), Some("刘淑华"));
    }

    #[test]
    fn a_clock_ahead_of_the_history_is_bounded_by_the_next_event_and_the_issue_date() {
        let events = [
            event("enrolled", Some("active"), json!({"grade": 1}), "2027-01-05T01:00:00Z"),
            event(
                "info_changed",
                None,
                json!({"case": "c9", "changes": {"gender": {"label": "性别", "old": "male", "new": "female"}}}),
                "2027-01-06T01:00:00Z",
            ),
            event("student_no_converted", Some("active"), json!({"from": "L1", "to": "G1"}), "2027-02-01T01:00:00Z"),
        ];
        let lookups = Lookups { case_closed: [("c9".to_owned(), day(2026, 12, 1))].into(), ..Lookups::default() };
        let h = read(&events, &lookups, &now(1, "一年级1班", StudentStatus::Active), day(2026, 12, 20));
        assert_eq!(h.changes[0].date, "2026-12-01");
        assert_eq!(h.changes[0].detail, "性别由“男”改为“女”");
        assert_eq!(h.changes[1].date, "2026-12-20", "not after the issue date");
        assert_eq!(h.years.len(), 1, "the enrolment is not later than the change after it");
    }

    #[test]
    fn every_school_year_has_its_row_from_enrolment_to_now() {
        let events = [
            event("enrolled", Some("active"), json!({"grade": 3}), "2025-09-01T01:00:00Z"),
            event(
                "promoted",
                Some("active"),
                json!({"year": 2026, "from_grade": 3, "to_grade": 4}),
                "2026-08-12T01:00:00Z",
            ),
            event(
                "transferred",
                Some("active"),
                json!({"case": "t1", "from_school": "A", "to_school": "B", "to_class": "四年级2班"}),
                "2026-10-09T01:00:00Z",
            ),
        ];
        let lookups = Lookups {
            schools: [("A".to_owned(), "甲小学".to_owned()), ("B".to_owned(), "乙小学".to_owned())].into(),
            case_closed: [("t1".to_owned(), day(2026, 10, 8))].into(),
        };
        let h = read(&events, &lookups, &now(5, "五年级2班", StudentStatus::Active), day(2027, 9, 1));
        let years: Vec<String> = h
            .years
            .iter()
            .map(|y| {
                let o = |v: &Option<String>| v.clone().unwrap_or_default();
                format!("{} {} {} {}", y.school_year, o(&y.grade), o(&y.class_name), o(&y.note))
            })
            .collect();
        assert_eq!(years, ["2025—2026 三年级  ", "2026—2027 四年级 四年级2班 转入", "2027—2028 五年级 五年级2班 "]);
        assert_eq!(h.changes[0].detail, "由甲小学转入乙小学四年级2班");
        assert_eq!(h.previous_school.as_deref(), Some("甲小学"));
        assert_eq!(h.years[0].head_teacher, None, "only the current head teacher is recorded");
    }

    #[test]
    fn a_junior_record_starts_at_the_intake_and_names_the_primary_school() {
        let events = [
            event("enrolled", Some("active"), json!({"grade": 6}), "2026-09-01T01:00:00Z"),
            event("student_no_converted", Some("active"), json!({"from": "L1", "to": "G1"}), "2026-10-01T01:00:00Z"),
            event("graduated", Some("graduated"), json!({"year": 2027}), "2027-07-10T01:00:00Z"),
            event(
                "junior_intake",
                Some("active"),
                json!({"from_school": "P", "to_school": "J", "class": "七年级3班"}),
                "2027-08-20T01:00:00Z",
            ),
        ];
        let lookups = Lookups { schools: [("P".to_owned(), "测试小学".to_owned())].into(), ..Lookups::default() };
        let h = read(&events, &lookups, &now(7, "七年级3班", StudentStatus::Active), day(2027, 9, 1));
        assert!(h.changes.is_empty(), "{:?}", h.changes);
        assert_eq!(h.primary_school.as_deref(), Some("测试小学"));
        assert_eq!(h.years.len(), 1);
        assert_eq!(h.years[0].class_name.as_deref(), Some("七年级3班"));
    }

    #[test]
    fn a_return_after_a_recall_names_the_notice_and_a_graduate_has_no_later_years() {
        let events = [
            event("enrolled", Some("active"), json!({"grade": 6}), "2026-09-01T01:00:00Z"),
            event(
                "dropout_suspected",
                Some("suspected_dropout"),
                json!({"absent_since": "2026-10-08", "reported_to_bureau": "2026-10-15"}),
                "2026-10-15T01:00:00Z",
            ),
            event("recall_issued", None, json!({"number": "QF20262122019003001"}), "2026-10-16T01:00:00Z"),
            event(
                "returned",
                Some("active"),
                json!({"returned_on": "2026-10-20", "class": "六年级1班"}),
                "2026-10-20T01:00:00Z",
            ),
            event("graduated", Some("graduated"), json!({"year": 2027}), "2027-07-10T01:00:00Z"),
        ];
        let h = read(&events, &Lookups::default(), &now(6, "六年级1班", StudentStatus::Graduated), day(2028, 3, 1));
        let kinds: Vec<&str> = h.changes.iter().map(|c| c.kind).collect();
        assert_eq!(kinds, ["疑似辍学", "返校复学"]);
        assert_eq!(h.changes[1].approval_no.as_deref(), Some("QF20262122019003001"));
        assert_eq!(h.years.len(), 1, "{:?}", h.years);
        assert_eq!(h.years[0].status.as_deref(), Some("毕业"));
    }
}
