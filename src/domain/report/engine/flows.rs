//! The tables that follow pupils through the year rather than count them
//! on a day: the movement table (opening + in − out = closing, per school,
//! with the pupils who do not balance) and 巩固率 with the dropout rate.

use super::{Hit, Imbalance, Prepared, RowKey, Scope, school_in, year_before};
use crate::domain::report::{Measure, Report};
use crate::domain::school_year_start;
use chrono::NaiveDate;
use std::collections::BTreeMap;

/// The movement table: per school, the year's opening, each column's
/// movements, the closing, and the difference; a student whose own
/// movements do not take them from the opening to the closing is listed.
pub(super) fn movement(
    report: &Report,
    prep: &Prepared,
    as_of: NaiveDate,
    scope: &Scope,
    hit: &mut dyn FnMut(RowKey, usize, Hit),
    imbalances: &mut Vec<Imbalance>,
) {
    let since = year_before(as_of);
    let cols = &report.def.columns;
    let col_of = |m: Measure| cols.iter().position(|c| c.measure == Some(m));
    for (i, p) in prep.record.pupils.iter().enumerate() {
        let events = prep.events_of(i);
        // Per school this student touched: opening + in − out − closing.
        let mut balance: BTreeMap<i64, (i64, Vec<String>)> = BTreeMap::new();
        let mut emit = |school: i64, col: Option<usize>, delta: i64, why: Option<String>| {
            if !scope.allows(school) {
                return;
            }
            let entry = balance.entry(school).or_insert((0, Vec::new()));
            entry.0 += delta;
            if let Some(w) = why {
                entry.1.push(w);
            }
            if let Some(c) = col {
                hit(RowKey::School(school), c, Hit::Student(p.id));
                if report.def.total_row.is_some() {
                    hit(RowKey::Total, c, Hit::Student(p.id));
                }
            }
        };
        let open = prep.place_at(i, since);
        if open.enrolled() {
            emit(open.school_id, col_of(Measure::Opening), 1, None);
        }
        let steps = &prep.histories[i].1.steps;
        for s in steps {
            let e = &events[s.event];
            if e.on <= since || e.on > as_of {
                continue;
            }
            // Where the history says each event left the student; the closing
            // below reads the row, so a row changed without its event shows.
            let after = s.after;
            let left = s.before.enrolled() && !(after.enrolled() && after.school_id == s.before.school_id);
            let came = after.enrolled() && !(s.before.enrolled() && s.before.school_id == after.school_id);
            let find = |m: Measure| cols.iter().position(|c| c.measure == Some(m) && c.kinds.contains(&e.kind));
            if left {
                match find(Measure::Out) {
                    Some(c) => emit(s.before.school_id, Some(c), -1, None),
                    None => {
                        emit(s.before.school_id, None, -1, Some(format!("离开本校的变动“{}”未归入任何减少栏", e.kind)))
                    }
                }
            }
            if came {
                match find(Measure::In) {
                    Some(c) => emit(after.school_id, Some(c), 1, None),
                    None => emit(after.school_id, None, 1, Some(format!("进入本校的变动“{}”未归入任何增加栏", e.kind))),
                }
            }
        }
        let close = prep.place_at(i, as_of);
        if close.enrolled() {
            emit(close.school_id, col_of(Measure::Closing), -1, None);
        }
        let conflict = prep.histories[i].1.conflict.clone();
        for (school, (delta, why)) in balance {
            if delta != 0 {
                let reason = why.into_iter().chain(conflict.clone()).collect::<Vec<_>>().join("；");
                let reason = if reason.is_empty() { "学年初、变动与学年末不符".to_owned() } else { reason };
                if let Some(c) = col_of(Measure::Difference) {
                    hit(RowKey::School(school), c, Hit::Student(p.id));
                    if report.def.total_row.is_some() {
                        hit(RowKey::Total, c, Hit::Student(p.id));
                    }
                }
                imbalances.push(Imbalance { student_id: p.id, school_id: school, reason });
            }
        }
    }
}

/// 巩固率 for the cohort graduating in the year up to `as_of`, and the year's dropout rate.
pub(super) fn retention(
    report: &Report,
    prep: &Prepared,
    as_of: NaiveDate,
    scope: &Scope,
    hit: &mut dyn FnMut(RowKey, usize, Hit),
) {
    let since = year_before(as_of);
    let cohort = school_year_start(as_of);
    let cols = &report.def.columns;
    let col_of = |m: Measure| cols.iter().position(|c| c.measure == Some(m));
    for (i, p) in prep.record.pupils.iter().enumerate() {
        let events = prep.events_of(i);
        let mut emit = |school_id: i64, m: Measure| {
            let Some(school) = prep.school(school_id) else { return };
            if !scope.allows(school_id) || !school_in(report, school) {
                return;
            }
            if let Some(c) = col_of(m) {
                hit(RowKey::School(school_id), c, Hit::Student(p.id));
                if report.def.total_row.is_some() {
                    hit(RowKey::Total, c, Hit::Student(p.id));
                }
            }
        };
        let open = prep.place_at(i, since);
        if open.enrolled() {
            emit(open.school_id, Measure::Opening);
        }
        let mut counted_in: Option<i64> = None;
        for s in &prep.histories[i].1.steps {
            let e = &events[s.event];
            let graduating = |school: i64| prep.school(school).map_or(6, |s| s.kind.graduating_grade());
            let cohort_of =
                |school: i64, grade: u8| school_year_start(e.on) + i32::from(graduating(school)) - i32::from(grade) + 1;
            let came = s.after.enrolled() && !(s.before.enrolled() && s.before.school_id == s.after.school_id);
            if came && cohort_of(s.after.school_id, s.after.grade) == cohort {
                match e.kind.as_str() {
                    "transferred" => {
                        emit(s.after.school_id, Measure::CohortIn);
                        counted_in = Some(s.after.school_id);
                    }
                    "record_approved" | "junior_intake" | "enrolled" if counted_in != Some(s.after.school_id) => {
                        emit(s.after.school_id, Measure::CohortEntrants);
                        counted_in = Some(s.after.school_id);
                    }
                    _ => {}
                }
            }
            let moved_away = matches!(e.kind.as_str(), "transferred" | "transferred_out")
                && s.before.exists
                && (e.kind == "transferred_out" || s.after.school_id != s.before.school_id);
            if moved_away && counted_in == Some(s.before.school_id) {
                emit(s.before.school_id, Measure::CohortOut);
                counted_in = None;
            }
            if e.kind == "graduated" && e.on > since && e.on <= as_of {
                emit(s.after.school_id, Measure::Graduates);
            }
            if e.kind == "dropout_reported" && e.on > since && e.on <= as_of {
                emit(s.before.school_id, Measure::Dropouts);
            }
        }
        // Entrants + in − out: the students the cohort still holds at a school.
        if let Some(school) = counted_in {
            emit(school, Measure::CohortBase);
        }
    }
}
