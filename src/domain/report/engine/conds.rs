//! The report definitions' conditions, checked against one pupil (or one
//! class) at the reference date.

use chrono::NaiveDate;

use super::super::history::{Place, Pupil, age_on};
use super::super::{Cond, Field, Op};
use super::{SchoolFact, stage_of_grade};
use crate::domain::{Gender, school_year_start};

/// What a condition is checked against.
pub(super) struct Ctx<'a> {
    pub(super) pupil: Option<&'a Pupil>,
    pub(super) place: Place,
    pub(super) school: &'a SchoolFact,
    pub(super) as_of: NaiveDate,
    pub(super) size: Option<i64>,
    pub(super) county_area: &'a str,
    pub(super) entered: Option<NaiveDate>,
}

impl Ctx<'_> {
    pub(super) fn matches(&self, conds: &[Cond]) -> bool {
        conds.iter().all(|c| self.check(c))
    }

    fn check(&self, c: &Cond) -> bool {
        let p = self.pupil;
        fn code(v: Option<&Option<String>>) -> Option<&str> {
            v.and_then(|o| o.as_deref())
        }
        match c.field {
            Field::Age => p.is_some_and(|p| match_number(&c.op, age_on(p.birth_date, self.as_of))),
            Field::Grade => match_number(&c.op, i64::from(self.place.grade)),
            Field::Size => self.size.is_some_and(|s| match_number(&c.op, s)),
            Field::Gender => match_text(&c.op, p.map(|p| if p.gender == Gender::Female { "female" } else { "male" })),
            Field::Stage => match_text(&c.op, Some(stage_of_grade(self.place.grade))),
            Field::Location => match_text(&c.op, Some(self.school.location.label())),
            Field::Graduating => match_flag(&c.op, Some(self.place.grade == self.school.kind.graduating_grade())),
            Field::Entrant => match_flag(&c.op, Some(self.is_entrant())),
            Field::Minority => match_flag(&c.op, p.and_then(|p| p.minority)),
            Field::Preschool => match_flag(&c.op, p.and_then(|p| p.preschool)),
            Field::Migrant => match_flag(&c.op, p.and_then(|p| p.migrant)),
            Field::Orphan => match_flag(&c.op, p.and_then(|p| p.orphan)),
            Field::Martyr => match_flag(&c.op, p.and_then(|p| p.martyr)),
            Field::OnlyChild => match_flag(&c.op, p.and_then(|p| p.only_child)),
            Field::Problem => match_flag(&c.op, p.map(|p| p.problem)),
            Field::NonLocal => match_flag(&c.op, p.and_then(|p| p.id_area.as_deref()).map(|a| a != self.county_area)),
            Field::MigrantOrigin => match_text(
                &c.op,
                p.filter(|p| p.migrant == Some(true))
                    .and_then(|p| p.id_area.as_deref())
                    .map(|a| if a.get(..2) == self.county_area.get(..2) { "本省" } else { "外省" }),
            ),
            Field::LeftBehind => match_text(&c.op, code(p.map(|p| &p.left_behind))),
            Field::Inclusive => match_text(&c.op, code(p.map(|p| &p.inclusive))),
            Field::Disability => match_text(&c.op, code(p.map(|p| &p.disability))),
            Field::StudyMode => match_text(&c.op, code(p.map(|p| &p.study_mode))),
            Field::Hmt => match_text(&c.op, code(p.map(|p| &p.hmt))),
            Field::Household => match_text(&c.op, code(p.map(|p| &p.household))),
            Field::EntryMode => match_text(&c.op, code(p.map(|p| &p.entry_mode))),
        }
    }

    /// In the stage's first grade and entered since the summer before the
    /// school year of the reference date (registration runs from July).
    fn is_entrant(&self) -> bool {
        let first = matches!(self.place.grade, 1 | 7);
        let from = NaiveDate::from_ymd_opt(school_year_start(self.as_of), 7, 1);
        first && matches!((self.entered, from), (Some(e), Some(f)) if e >= f && e <= self.as_of)
    }
}

fn match_number(op: &Op, v: i64) -> bool {
    match op {
        Op::Yes => v != 0,
        Op::Eq(x) => x.parse::<i64>().is_ok_and(|x| x == v),
        Op::Ne(x) => x.parse::<i64>().is_ok_and(|x| x != v),
        Op::Le(x) => v <= *x,
        Op::Ge(x) => v >= *x,
        Op::In(xs) => xs.iter().any(|x| x.parse::<i64>().is_ok_and(|x| x == v)),
    }
}

pub(super) fn match_text(op: &Op, v: Option<&str>) -> bool {
    let v = v.unwrap_or("unknown");
    match op {
        Op::Yes => v != "unknown",
        Op::Eq(x) => x == v,
        Op::Ne(x) => v != "unknown" && x != v,
        Op::In(xs) => xs.iter().any(|x| x == v),
        Op::Le(_) | Op::Ge(_) => false,
    }
}

fn match_flag(op: &Op, v: Option<bool>) -> bool {
    let text = match v {
        Some(true) => "yes",
        Some(false) => "no",
        None => "unknown",
    };
    match op {
        Op::Yes => v == Some(true),
        other => match_text(other, Some(text)),
    }
}
