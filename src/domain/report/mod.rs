//! The bureau's statistics (`statistics.md`) as data: a report definition
//! says what it counts (its unit), its rows, its columns and their
//! conditions; the engine ([`engine`]) computes it from the record as it
//! stood on a reference date ([`history`]). Next year's layout is a new
//! definition file, not new code.
//!
//! A condition is a short text, `field op value`, joined by `and`:
//! `gender = female`, `age <= 5`, `left_behind in 1,2`, `minority`. A
//! field the record does not know for a student is `unknown`: it matches
//! `field = unknown` and nothing else (never a "no").

pub mod engine;
pub mod history;

use super::DomainError;
use chrono::{Datelike, NaiveDate};
use serde::Deserialize;

/// What a report counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Students enrolled (在校生) on the reference date.
    Students,
    /// Students who graduated in the year up to the reference date, where they graduated.
    Graduates,
    /// Classes on the reference date, by the students seated in them.
    Classes,
    /// The movement table: opening + in − out = closing, per school, over the year.
    Movement,
    /// 巩固率 and the dropout rate, per school, for the cohort graduating in the year.
    Retention,
}

/// A grouping of students (or classes, or schools) into rows by one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// 一年级 … 九年级.
    Grade,
    /// 小学, 初中.
    Stage,
    /// Each school.
    School,
    /// 城区, 镇区, 乡村.
    Location,
    /// Age in full years on the reference date.
    Age,
}

/// One row or column given by hand.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemDef {
    /// The printed heading.
    pub label: String,
    /// Conditions (`a and b`); none: everything.
    #[serde(default)]
    pub when: Option<String>,
    /// Shown highlighted (the 大班额 bands).
    #[serde(default)]
    pub highlight: bool,
    /// For the movement table: what this column counts.
    #[serde(default)]
    pub measure: Option<Measure>,
    /// For the movement table: the event kinds a movement column counts.
    #[serde(default)]
    pub kinds: Vec<String>,
}

/// What a column of the movement or retention table holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// 学年初人数: enrolled on the day the year began.
    Opening,
    /// An increase by the events of `kinds`.
    In,
    /// A decrease by the events of `kinds`.
    Out,
    /// 学年末人数: enrolled on the reference date.
    Closing,
    /// Opening + in − out − closing: 0 when the record balances.
    Difference,
    /// Retention: the cohort's entrants at the school.
    CohortEntrants,
    /// Retention: the cohort's transfers in.
    CohortIn,
    /// Retention: the cohort's transfers out.
    CohortOut,
    /// Retention: entrants + in − out.
    CohortBase,
    /// Retention: the cohort's graduates.
    Graduates,
    /// Retention: graduates ÷ base, a percentage.
    RetentionRate,
    /// Dropout reports over the year.
    Dropouts,
    /// Dropouts ÷ the year's opening enrolment, a percentage.
    DropoutRate,
}

impl Measure {
    /// Whether the cell is a rate (not a count that opens a list).
    pub fn is_rate(self) -> bool {
        matches!(self, Self::RetentionRate | Self::DropoutRate)
    }
}

/// One axis: grouped by a dimension, or items given by hand.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AxisDef {
    /// Grouped by this dimension.
    #[serde(default)]
    pub by: Option<Dimension>,
    /// Or these items.
    #[serde(default)]
    pub items: Vec<ItemDef>,
    /// The items split the population (each student in exactly one): then
    /// they add up to the total, and the test suite checks it.
    #[serde(default)]
    pub partition: bool,
}

/// A report definition, as a file of `templates/reports/<year>/` holds it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    /// The printed title.
    pub title: String,
    /// The national form it follows (`基础基211`), when it follows one.
    #[serde(default)]
    pub form: Option<String>,
    /// What it counts.
    pub unit: Unit,
    /// The reference day within the year, `MM-DD` (default `09-01`).
    #[serde(default = "default_reference")]
    pub reference: String,
    /// Who is counted at all, beyond the unit (`stage = primary`).
    #[serde(default)]
    pub population: Option<String>,
    /// Rows.
    pub rows: AxisDef,
    /// Columns.
    pub columns: Vec<ItemDef>,
    /// The columns split each row (each student in exactly one of them but
    /// the first, which is the row's total).
    #[serde(default)]
    pub columns_partition: bool,
    /// The heading of the totals row; none: no totals row.
    #[serde(default)]
    pub total_row: Option<String>,
    /// A note printed under the table (definitions, sources).
    #[serde(default)]
    pub note: Option<String>,
    /// Shown on the county dashboard as this chart.
    #[serde(default)]
    pub chart: Option<ChartKind>,
}

/// How a report is drawn on the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartKind {
    /// One bar per row (the first column).
    Bars,
    /// One bar per column (the totals row).
    ColumnBars,
}

fn default_reference() -> String {
    "09-01".into()
}

/// A definition checked: conditions parsed, everything resolvable.
#[derive(Debug, Clone)]
pub struct Report {
    /// File stem, e.g. `grade`.
    pub name: String,
    /// The layout's year (its folder).
    pub year: i32,
    /// As written.
    pub def: Definition,
    /// `population`, parsed.
    pub population: Vec<Cond>,
    /// Row items' conditions, parsed.
    pub row_conds: Vec<Vec<Cond>>,
    /// Columns' conditions, parsed.
    pub col_conds: Vec<Vec<Cond>>,
    /// Reference month and day.
    pub reference: (u32, u32),
}

impl Report {
    /// Checks a definition read from `name` (the file stem) of `year`.
    pub fn new(name: &str, year: i32, def: Definition) -> Result<Self, DomainError> {
        let bad = |why: String| DomainError::new("report.definition_invalid", "统计表定义", name, &format!("：{why}"));
        let reference =
            parse_month_day(&def.reference).ok_or_else(|| bad(format!("基准日“{}”不是 MM-DD", def.reference)))?;
        let parse = |text: &Option<String>| -> Result<Vec<Cond>, DomainError> {
            match text {
                Some(t) => parse_conds(t).map_err(&bad),
                None => Ok(Vec::new()),
            }
        };
        if def.rows.by.is_some() != def.rows.items.is_empty() {
            return Err(bad("行（rows）须且只须给出 by 或 items 之一".into()));
        }
        if def.columns.is_empty() {
            return Err(bad("没有列（columns）".into()));
        }
        let population = parse(&def.population)?;
        let row_conds = def.rows.items.iter().map(|i| parse(&i.when)).collect::<Result<Vec<_>, _>>()?;
        let col_conds = def.columns.iter().map(|i| parse(&i.when)).collect::<Result<Vec<_>, _>>()?;
        let needs_measure = matches!(def.unit, Unit::Movement | Unit::Retention);
        for c in &def.columns {
            if needs_measure != c.measure.is_some() {
                return Err(bad(format!(
                    "列“{}”{}",
                    c.label,
                    if needs_measure {
                        "缺少 measure"
                    } else {
                        "不应有 measure（只用于变动表和巩固率表）"
                    }
                )));
            }
            if matches!(c.measure, Some(Measure::In | Measure::Out)) && c.kinds.is_empty() {
                return Err(bad(format!("列“{}”缺少 kinds（计入的变动种类）", c.label)));
            }
        }
        if needs_measure && def.rows.by != Some(Dimension::School) {
            return Err(bad("变动表和巩固率表按学校分行（rows.by = \"school\"）".into()));
        }
        Ok(Self { name: name.to_owned(), year, def, population, row_conds, col_conds, reference })
    }

    /// The reference date of the layout's year on or before `today`: the
    /// count a bureau makes "as of 1 September".
    pub fn default_as_of(&self, today: NaiveDate) -> NaiveDate {
        let (m, d) = self.reference;
        let this = NaiveDate::from_ymd_opt(today.year(), m, d).unwrap_or(today);
        if this <= today { this } else { NaiveDate::from_ymd_opt(today.year() - 1, m, d).unwrap_or(today) }
    }
}

fn parse_month_day(text: &str) -> Option<(u32, u32)> {
    let (m, d) = text.split_once('-')?;
    let (m, d) = (m.parse().ok()?, d.parse().ok()?);
    NaiveDate::from_ymd_opt(2024, m, d).map(|_| (m, d))
}

/// A field a condition reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// `male` / `female`.
    Gender,
    /// Not 汉族.
    Minority,
    /// Full years on the reference date.
    Age,
    /// 1 … 9.
    Grade,
    /// `primary` / `junior`.
    Stage,
    /// `城区` / `镇区` / `乡村`.
    Location,
    /// In the graduating grade of the school's kind (6 or 9).
    Graduating,
    /// In the first grade of the stage, entered this school year.
    Entrant,
    /// 是否受过学前教育.
    Preschool,
    /// 留守儿童 code 0/1/2.
    LeftBehind,
    /// 进城务工人员随迁子女.
    Migrant,
    /// For a 随迁子女: `外省` / `本省`, by the ID's area code.
    MigrantOrigin,
    /// 随班就读 code.
    Inclusive,
    /// 残疾类型 code.
    Disability,
    /// 就读方式 code (3: 送教上门).
    StudyMode,
    /// 孤儿.
    Orphan,
    /// 烈士或优抚子女.
    Martyr,
    /// 港澳台侨外 code.
    Hmt,
    /// 户口性质 code.
    Household,
    /// 入学方式 code.
    EntryMode,
    /// 非本区县户籍, by the ID's area code.
    NonLocal,
    /// 独生子女.
    OnlyChild,
    /// An open problem record (问题学籍).
    Problem,
    /// Classes only: students seated.
    Size,
}

impl Field {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "gender" => Self::Gender,
            "minority" => Self::Minority,
            "age" => Self::Age,
            "grade" => Self::Grade,
            "stage" => Self::Stage,
            "location" => Self::Location,
            "graduating" => Self::Graduating,
            "entrant" => Self::Entrant,
            "preschool" => Self::Preschool,
            "left_behind" => Self::LeftBehind,
            "migrant" => Self::Migrant,
            "migrant_origin" => Self::MigrantOrigin,
            "inclusive" => Self::Inclusive,
            "disability" => Self::Disability,
            "study_mode" => Self::StudyMode,
            "orphan" => Self::Orphan,
            "martyr" => Self::Martyr,
            "hmt" => Self::Hmt,
            "household" => Self::Household,
            "entry_mode" => Self::EntryMode,
            "non_local" => Self::NonLocal,
            "only_child" => Self::OnlyChild,
            "problem" => Self::Problem,
            "size" => Self::Size,
            _ => return None,
        })
    }

    fn numeric(self) -> bool {
        matches!(self, Self::Age | Self::Grade | Self::Size)
    }
}

/// How a condition compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `field` alone: a yes/no field that is yes.
    Yes,
    /// `=`.
    Eq(String),
    /// `!=`.
    Ne(String),
    /// `<=` (numeric).
    Le(i64),
    /// `>=` (numeric).
    Ge(i64),
    /// `in a,b,c`.
    In(Vec<String>),
}

/// One condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cond {
    /// What it reads.
    pub field: Field,
    /// How it compares.
    pub op: Op,
}

/// Parses `a and b and c`.
pub fn parse_conds(text: &str) -> Result<Vec<Cond>, String> {
    text.split(" and ").map(str::trim).filter(|t| !t.is_empty()).map(parse_cond).collect()
}

fn parse_cond(text: &str) -> Result<Cond, String> {
    let unknown = |f: &str| format!("条件“{text}”中的字段“{f}”不认识");
    for (sym, build) in [("!=", 1), ("<=", 2), (">=", 3), ("=", 0)] {
        if let Some((f, v)) = text.split_once(sym) {
            let (f, v) = (f.trim(), v.trim().to_owned());
            let field = Field::parse(f).ok_or_else(|| unknown(f))?;
            let number = || v.parse::<i64>().map_err(|_| format!("条件“{text}”的值“{v}”不是整数"));
            let op = match build {
                0 => Op::Eq(v),
                1 => Op::Ne(v),
                2 if field.numeric() => Op::Le(number()?),
                3 if field.numeric() => Op::Ge(number()?),
                _ => return Err(format!("条件“{text}”：字段“{f}”不是数值，不能比较大小")),
            };
            return Ok(Cond { field, op });
        }
    }
    if let Some((f, v)) = text.split_once(" in ") {
        let field = Field::parse(f.trim()).ok_or_else(|| unknown(f.trim()))?;
        let values = v.split(',').map(|x| x.trim().to_owned()).filter(|x| !x.is_empty()).collect::<Vec<_>>();
        if values.is_empty() {
            return Err(format!("条件“{text}”的 in 后没有取值"));
        }
        return Ok(Cond { field, op: Op::In(values) });
    }
    let field = Field::parse(text).ok_or_else(|| unknown(text))?;
    Ok(Cond { field, op: Op::Yes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_parse_and_refuse_with_the_text_named() {
        let c = parse_conds("gender = female and age <= 5 and left_behind in 1,2 and minority").unwrap();
        assert_eq!(c.len(), 4);
        assert_eq!(c[1], Cond { field: Field::Age, op: Op::Le(5) });
        assert_eq!(c[2].op, Op::In(vec!["1".into(), "2".into()]));
        assert_eq!(c[3], Cond { field: Field::Minority, op: Op::Yes });
        assert!(parse_conds("colour = red").unwrap_err().contains("colour"));
        assert!(parse_conds("gender <= 3").unwrap_err().contains("不是数值"));
        assert!(parse_conds("age >= x").unwrap_err().contains("不是整数"));
    }

    #[test]
    fn the_default_reference_date_is_the_last_one_passed() {
        let def: Definition = toml::from_str(
            "title = \"t\"\nunit = \"students\"\nrows = { by = \"grade\" }\n[[columns]]\nlabel = \"合计\"\n",
        )
        .unwrap();
        let r = Report::new("t", 2026, def).unwrap();
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(r.default_as_of(d(2026, 12, 3)), d(2026, 9, 1));
        assert_eq!(r.default_as_of(d(2026, 8, 31)), d(2025, 9, 1));
        assert_eq!(r.default_as_of(d(2026, 9, 1)), d(2026, 9, 1));
    }
}
