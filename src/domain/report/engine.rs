//! Computes a report from the record: every cell is the set of students
//! (or classes) its row and column select, so every count can be opened
//! into its list ([`members`]) by the same code that counted it.

use super::history::{Event, Place, Pupil, Timeline, age_on};
pub use super::history::{Location, SchoolFact};
use super::{Dimension, Field, Measure, Report, Unit};
use crate::domain::SchoolKind;
use chrono::{Months, NaiveDate};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

mod conds;
mod flows;
use conds::{Ctx, match_text};
use flows::{movement, retention};

/// Everything the reports read, loaded once.
#[derive(Debug, Clone, Default)]
pub struct Record {
    /// The schools.
    pub schools: Vec<SchoolFact>,
    /// The students.
    pub pupils: Vec<Pupil>,
    /// Their events, grouped by student (in `pupils` order is not required), each group in order.
    pub events: Vec<Event>,
    /// The county's area code (six digits), for 非本区县户籍 and 随迁子女's origin.
    pub county_area: String,
}

/// The record with each student's history replayed, ready for any report.
#[derive(Debug)]
pub struct Prepared {
    record: Record,
    /// Per pupil: the range of their events and the replayed timeline.
    histories: Vec<(std::ops::Range<usize>, Timeline)>,
    schools: HashMap<i64, usize>,
}

impl Prepared {
    /// Replays every student's history.
    pub fn new(mut record: Record) -> Self {
        record.events.sort_by_key(|e| e.student_id);
        let mut ranges: HashMap<i64, std::ops::Range<usize>> = HashMap::new();
        let mut i = 0;
        while i < record.events.len() {
            let id = record.events[i].student_id;
            let start = i;
            while i < record.events.len() && record.events[i].student_id == id {
                i += 1;
            }
            ranges.insert(id, start..i);
        }
        let histories = record
            .pupils
            .iter()
            .map(|p| {
                let range = ranges.get(&p.id).cloned().unwrap_or(0..0);
                let t = Timeline::replay(p.now, &record.events[range.clone()]);
                (range, t)
            })
            .collect();
        let schools = record.schools.iter().enumerate().map(|(i, s)| (s.id, i)).collect();
        Self { record, histories, schools }
    }

    /// The record.
    pub fn record(&self) -> &Record {
        &self.record
    }

    fn school(&self, id: i64) -> Option<&SchoolFact> {
        self.schools.get(&id).map(|&i| &self.record.schools[i])
    }

    fn events_of(&self, i: usize) -> &[Event] {
        &self.record.events[self.histories[i].0.clone()]
    }

    fn place_at(&self, i: usize, date: NaiveDate) -> Place {
        let (range, t) = &self.histories[i];
        t.at(&self.record.events[range.clone()], self.record.pupils[i].now, date)
    }

    /// The earliest day any event took effect (the record's beginning).
    pub fn first_day(&self) -> Option<NaiveDate> {
        self.record.events.iter().map(|e| e.on).min()
    }

    /// Students whose history disagrees with their row, with the reason.
    pub fn conflicts(&self) -> Vec<(i64, String)> {
        self.histories
            .iter()
            .zip(&self.record.pupils)
            .filter_map(|((_, t), p)| t.conflict.clone().map(|c| (p.id, c)))
            .collect()
    }
}

/// Which schools a reader may see: all, or these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The bureau: every school.
    County,
    /// A registrar: their schools only.
    Schools(Vec<i64>),
}

impl Scope {
    /// The schools `actor` may see.
    pub fn of(actor: &crate::domain::Actor) -> Self {
        match &actor.scope {
            None => Self::County,
            Some(ids) => Self::Schools(ids.clone()),
        }
    }

    /// Whether the reader may see this school.
    pub fn allows(&self, school_id: i64) -> bool {
        match self {
            Self::County => true,
            Self::Schools(ids) => ids.contains(&school_id),
        }
    }
}

/// A row's stable key, used to open its cells' lists.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum RowKey {
    /// A grade.
    Grade(u8),
    /// A stage: `primary` / `junior`.
    Stage(&'static str),
    /// A school (internal id).
    School(i64),
    /// A location.
    Location(Location),
    /// An age (clamped into 0..=30).
    Age(i64),
    /// The n-th hand-given row.
    Item(usize),
    /// The totals row.
    Total,
}

impl RowKey {
    /// As it travels in a link: `g3`, `s12`, `i0`, `total`, …
    pub fn code(&self) -> String {
        match self {
            Self::Grade(g) => format!("g{g}"),
            Self::Stage(s) => format!("st-{s}"),
            Self::School(id) => format!("s{id}"),
            Self::Location(l) => format!("loc-{}", l.code()),
            Self::Age(a) => format!("a{a}"),
            Self::Item(i) => format!("i{i}"),
            Self::Total => "total".into(),
        }
    }

    /// Parses [`RowKey::code`].
    pub fn parse(code: &str) -> Option<Self> {
        Some(match code {
            "total" => Self::Total,
            "st-primary" => Self::Stage("primary"),
            "st-junior" => Self::Stage("junior"),
            "loc-urban" => Self::Location(Location::Urban),
            "loc-town" => Self::Location(Location::Town),
            "loc-rural" => Self::Location(Location::Rural),
            _ => {
                let (head, n) = code.split_at(code.find(|c: char| c.is_ascii_digit())?);
                match head {
                    "g" => Self::Grade(n.parse().ok()?),
                    "s" => Self::School(n.parse().ok()?),
                    "a" => Self::Age(n.parse().ok()?),
                    "i" => Self::Item(n.parse().ok()?),
                    _ => return None,
                }
            }
        })
    }
}

/// One cell.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Cell {
    /// A count (opens its list).
    Count(u64),
    /// A percentage, `None` when the base is 0.
    Rate(Option<f64>),
}

impl Cell {
    /// The count, for a count cell.
    pub fn count(self) -> Option<u64> {
        match self {
            Self::Count(n) => Some(n),
            Self::Rate(_) => None,
        }
    }
}

/// A column heading.
#[derive(Debug, Clone, Serialize)]
pub struct Column {
    /// As printed.
    pub label: String,
    /// Highlighted (大班额).
    pub highlight: bool,
    /// Holds rates (no list behind it).
    pub rate: bool,
}

/// A row.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// As printed.
    pub label: String,
    /// Its key (`RowKey::code`).
    pub key: String,
    /// Its cells, one per column.
    pub cells: Vec<Cell>,
    /// The totals row.
    pub total: bool,
}

/// A student a balance check could not account for.
#[derive(Debug, Clone, Serialize)]
pub struct Imbalance {
    /// The student (internal id).
    pub student_id: i64,
    /// The school whose balance they upset.
    pub school_id: i64,
    /// Why, in Chinese.
    pub reason: String,
}

/// A computed table.
#[derive(Debug, Clone, Serialize)]
pub struct Table {
    /// The report's name.
    pub name: String,
    /// The layout's year.
    pub year: i32,
    /// Title.
    pub title: String,
    /// The national form number.
    pub form: Option<String>,
    /// The reference date.
    pub as_of: NaiveDate,
    /// The start of the year a movement, graduate or retention table covers (exclusive).
    pub since: Option<NaiveDate>,
    /// Columns.
    pub columns: Vec<Column>,
    /// Rows, the totals row last.
    pub rows: Vec<Row>,
    /// Students the balance could not account for (movement tables).
    pub imbalances: Vec<Imbalance>,
    /// The rows split the population: their counts add up to the totals row.
    pub rows_add_up: bool,
    /// Each row's columns after the first split it: they add up to the first.
    pub columns_add_up: bool,
    /// The note under the table.
    pub note: Option<String>,
}

/// The day a year covered by the report began: one year before `as_of` (exclusive).
pub fn year_before(as_of: NaiveDate) -> NaiveDate {
    as_of.checked_sub_months(Months::new(12)).unwrap_or(as_of)
}

/// What a counted unit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Hit {
    Student(i64),
    Class(usize),
}

/// Computes `report` as of `as_of` for `scope`.
pub fn compute(report: &Report, prep: &Prepared, as_of: NaiveDate, scope: &Scope) -> Table {
    let mut cells: BTreeMap<(RowKey, usize), Vec<Hit>> = BTreeMap::new();
    let mut imbalances = Vec::new();
    tally(
        report,
        prep,
        as_of,
        scope,
        &mut |row, col, hit| cells.entry((row, col)).or_default().push(hit),
        &mut imbalances,
    );
    let mut keys: Vec<RowKey> = match (&report.def.rows.by, report.def.unit) {
        (Some(Dimension::School), _) => prep
            .record
            .schools
            .iter()
            .filter(|s| scope.allows(s.id) && school_in(report, s))
            .map(|s| RowKey::School(s.id))
            .collect(),
        (Some(Dimension::Stage), _) => vec![RowKey::Stage("primary"), RowKey::Stage("junior")],
        (Some(Dimension::Location), _) => {
            vec![RowKey::Location(Location::Urban), RowKey::Location(Location::Town), RowKey::Location(Location::Rural)]
        }
        // Grades and ages: those that occur, in order.
        (Some(_), _) => {
            let mut seen: Vec<RowKey> = cells.keys().map(|(k, _)| k.clone()).filter(|k| *k != RowKey::Total).collect();
            seen.dedup();
            seen
        }
        (None, _) => (0..report.def.rows.items.len()).map(RowKey::Item).collect(),
    };
    if report.def.total_row.is_some() {
        keys.push(RowKey::Total);
    }
    let count = |k: &RowKey, c: usize| cells.get(&(k.clone(), c)).map_or(0, |v| v.len() as u64);
    let rows = keys
        .iter()
        .map(|k| {
            let values = report
                .def
                .columns
                .iter()
                .enumerate()
                .map(|(c, col)| match col.measure {
                    Some(Measure::RetentionRate) => rate(
                        count(k, measure_col(report, Measure::Graduates)),
                        count(k, measure_col(report, Measure::CohortBase)),
                    ),
                    Some(Measure::DropoutRate) => rate(
                        count(k, measure_col(report, Measure::Dropouts)),
                        count(k, measure_col(report, Measure::Opening)),
                    ),
                    _ => Cell::Count(count(k, c)),
                })
                .collect();
            Row { label: row_label(report, prep, k), key: k.code(), cells: values, total: *k == RowKey::Total }
        })
        .collect();
    let since =
        matches!(report.def.unit, Unit::Movement | Unit::Graduates | Unit::Retention).then(|| year_before(as_of));
    Table {
        name: report.name.clone(),
        year: report.year,
        title: report.def.title.clone(),
        form: report.def.form.clone(),
        as_of,
        since,
        columns: report
            .def
            .columns
            .iter()
            .map(|c| Column {
                label: c.label.clone(),
                highlight: c.highlight,
                rate: c.measure.is_some_and(Measure::is_rate),
            })
            .collect(),
        rows,
        imbalances,
        rows_add_up: report.def.rows.by.is_some() || report.def.rows.partition,
        columns_add_up: report.def.columns_partition,
        note: report.def.note.clone(),
    }
}

fn rate(num: u64, den: u64) -> Cell {
    #[expect(clippy::cast_precision_loss, reason = "counts of students are far below 2^52")]
    Cell::Rate((den > 0).then(|| (num as f64) * 100.0 / (den as f64)))
}

fn measure_col(report: &Report, m: Measure) -> usize {
    report.def.columns.iter().position(|c| c.measure == Some(m)).unwrap_or(usize::MAX)
}

/// The students behind one cell (internal ids, each once), or `None` when
/// the row is not the reader's to see or the cell is a rate.
pub fn members(
    report: &Report,
    prep: &Prepared,
    as_of: NaiveDate,
    scope: &Scope,
    row: &RowKey,
    col: usize,
) -> Option<Vec<i64>> {
    if let RowKey::School(id) = row
        && !scope.allows(*id)
    {
        return None;
    }
    let column = report.def.columns.get(col)?;
    if column.measure.is_some_and(Measure::is_rate) {
        return None;
    }
    let mut hits = Vec::new();
    let mut ignored = Vec::new();
    tally(
        report,
        prep,
        as_of,
        scope,
        &mut |r, c, hit| {
            if c == col && r == *row {
                hits.push(hit);
            }
        },
        &mut ignored,
    );
    let classes = if report.def.unit == Unit::Classes { class_members(prep, as_of, scope) } else { Vec::new() };
    let mut ids: Vec<i64> = hits
        .into_iter()
        .flat_map(|h| match h {
            Hit::Student(id) => vec![id],
            Hit::Class(i) => classes.get(i).map(|c| c.1.clone()).unwrap_or_default(),
        })
        .collect();
    ids.sort_unstable();
    ids.dedup();
    Some(ids)
}

fn school_in(report: &Report, s: &SchoolFact) -> bool {
    report.population.iter().all(|c| match c.field {
        Field::Stage => match_text(&c.op, Some(stage_of_kind(s.kind))),
        Field::Location => match_text(&c.op, Some(s.location.label())),
        _ => true,
    })
}

fn stage_of_kind(kind: SchoolKind) -> &'static str {
    match kind {
        SchoolKind::Junior => "junior",
        _ => "primary",
    }
}

fn stage_of_grade(grade: u8) -> &'static str {
    if grade >= 7 { "junior" } else { "primary" }
}

fn row_label(report: &Report, prep: &Prepared, k: &RowKey) -> String {
    match k {
        RowKey::Grade(g) => crate::domain::Grade::new(*g).map(|g| g.label().to_owned()).unwrap_or_default(),
        RowKey::Stage(s) => if *s == "junior" { "初中" } else { "小学" }.to_owned(),
        RowKey::School(id) => prep.school(*id).map(|s| s.name.clone()).unwrap_or_default(),
        RowKey::Location(l) => l.label().to_owned(),
        RowKey::Age(a) => format!("{a}岁"),
        RowKey::Item(i) => report.def.rows.items.get(*i).map(|r| r.label.clone()).unwrap_or_default(),
        RowKey::Total => report.def.total_row.clone().unwrap_or_default(),
    }
}

/// Every class with students on `as_of`: its school, grade, number, and the students seated.
fn class_members(prep: &Prepared, as_of: NaiveDate, scope: &Scope) -> Vec<((i64, u8, i64), Vec<i64>)> {
    let mut classes: BTreeMap<(i64, u8, i64), Vec<i64>> = BTreeMap::new();
    for (i, p) in prep.record.pupils.iter().enumerate() {
        let place = prep.place_at(i, as_of);
        if let (true, Some(n)) = (place.enrolled() && scope.allows(place.school_id), place.class_number) {
            classes.entry((place.school_id, place.grade, n)).or_default().push(p.id);
        }
    }
    classes.into_iter().collect()
}

fn tally(
    report: &Report,
    prep: &Prepared,
    as_of: NaiveDate,
    scope: &Scope,
    hit: &mut dyn FnMut(RowKey, usize, Hit),
    imbalances: &mut Vec<Imbalance>,
) {
    let area = prep.record.county_area.as_str();
    match report.def.unit {
        Unit::Students => {
            for (i, p) in prep.record.pupils.iter().enumerate() {
                let place = prep.place_at(i, as_of);
                if !place.enrolled() || !scope.allows(place.school_id) {
                    continue;
                }
                let Some(school) = prep.school(place.school_id) else { continue };
                let entered = entered_on(prep.events_of(i), p, place);
                let ctx = Ctx { pupil: Some(p), place, school, as_of, size: None, county_area: area, entered };
                count_one(report, &ctx, Hit::Student(p.id), hit);
            }
        }
        Unit::Graduates => {
            let since = year_before(as_of);
            for (i, p) in prep.record.pupils.iter().enumerate() {
                let events = prep.events_of(i);
                for s in &prep.histories[i].1.steps {
                    let e = &events[s.event];
                    if e.kind != "graduated" || e.on <= since || e.on > as_of || !scope.allows(s.after.school_id) {
                        continue;
                    }
                    let Some(school) = prep.school(s.after.school_id) else { continue };
                    let ctx = Ctx {
                        pupil: Some(p),
                        place: s.after,
                        school,
                        as_of,
                        size: None,
                        county_area: area,
                        entered: None,
                    };
                    count_one(report, &ctx, Hit::Student(p.id), hit);
                }
            }
        }
        Unit::Classes => {
            for (i, ((school_id, grade, _), seated)) in class_members(prep, as_of, scope).into_iter().enumerate() {
                let Some(school) = prep.school(school_id) else { continue };
                let place = Place {
                    exists: true,
                    school_id,
                    grade,
                    class_number: None,
                    status: crate::domain::StudentStatus::Active,
                };
                let size = i64::try_from(seated.len()).unwrap_or(i64::MAX);
                let ctx = Ctx { pupil: None, place, school, as_of, size: Some(size), county_area: area, entered: None };
                count_one(report, &ctx, Hit::Class(i), hit);
            }
        }
        Unit::Movement => movement(report, prep, as_of, scope, hit, imbalances),
        Unit::Retention => retention(report, prep, as_of, scope, hit),
    }
}

/// The day the student entered their current stage: the junior intake for a junior student, else 入学年月.
fn entered_on(events: &[Event], p: &Pupil, place: Place) -> Option<NaiveDate> {
    if place.grade >= 7
        && let Some(e) = events.iter().rev().find(|e| e.kind == "junior_intake")
    {
        return Some(e.on);
    }
    p.entry_date
}

fn count_one(report: &Report, ctx: &Ctx<'_>, unit: Hit, hit: &mut dyn FnMut(RowKey, usize, Hit)) {
    if !ctx.matches(&report.population) {
        return;
    }
    let rows: Vec<RowKey> = match report.def.rows.by {
        Some(Dimension::Grade) => vec![RowKey::Grade(ctx.place.grade)],
        Some(Dimension::Stage) => vec![RowKey::Stage(stage_of_grade(ctx.place.grade))],
        Some(Dimension::School) => vec![RowKey::School(ctx.school.id)],
        Some(Dimension::Location) => vec![RowKey::Location(ctx.school.location)],
        Some(Dimension::Age) => match ctx.pupil {
            Some(p) => vec![RowKey::Age(age_on(p.birth_date, ctx.as_of).clamp(0, 30))],
            None => Vec::new(),
        },
        None => {
            report.row_conds.iter().enumerate().filter(|(_, c)| ctx.matches(c)).map(|(i, _)| RowKey::Item(i)).collect()
        }
    };
    for (c, conds) in report.col_conds.iter().enumerate() {
        if !ctx.matches(conds) {
            continue;
        }
        for r in &rows {
            hit(r.clone(), c, unit);
        }
        if report.def.total_row.is_some() {
            hit(RowKey::Total, c, unit);
        }
    }
}
