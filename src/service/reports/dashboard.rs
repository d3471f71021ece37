//! The county dashboard's figures: enrolment by grade over the last years,
//! the class-size bands, retention and dropout by school, and the dropout-
//! control ledger's open entries at each month's end.
//! All from the same record and the same definitions as the tables.

use super::{Catalogue, catalogue, prepare};
use crate::app::App;
use crate::domain::report::engine::{self, Cell, Prepared, Scope, Table};
use crate::domain::{Actor, school_year_start};
use crate::error::AppResult;
use chrono::{Datelike, Months, NaiveDate};

/// A small table a chart is drawn from.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Figures {
    /// Title.
    pub title: String,
    /// The report it comes from (its cells open lists there), if any.
    pub report: Option<String>,
    /// The reference date of the report.
    pub as_of: Option<NaiveDate>,
    /// Category labels.
    pub categories: Vec<String>,
    /// Series: name and one value per category.
    pub series: Vec<(String, Vec<Option<f64>>)>,
    /// Highlighted categories.
    pub highlight: Vec<bool>,
    /// `%` for rates.
    pub unit: String,
}

/// Everything the dashboard shows.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Dashboard {
    /// Enrolled now.
    pub enrolled_now: u64,
    /// The charts' figures.
    pub charts: Vec<Figures>,
    /// Students whose history disagrees with their row.
    pub conflicts: usize,
}

fn run(c: &Catalogue, prep: &Prepared, name: &str, as_of: NaiveDate, scope: &Scope) -> Option<Table> {
    c.layout(name, school_year_start(as_of)).map(|r| engine::compute(r, prep, as_of, scope))
}

fn value(cell: Cell) -> Option<f64> {
    #[expect(clippy::cast_precision_loss, reason = "counts are far below 2^52")]
    match cell {
        Cell::Count(n) => Some(n as f64),
        Cell::Rate(r) => r,
    }
}

/// The dashboard for `actor` (their schools only, for a registrar).
pub async fn dashboard(app: &App, actor: &Actor) -> AppResult<Dashboard> {
    let c = catalogue(&app.config)?;
    let prep = prepare(app, &c).await?;
    let scope = Scope::of(actor);
    let today = app.today();
    let mut charts = Vec::new();
    let now = run(&c, &prep, "grade", today, &scope);
    let enrolled_now = now
        .as_ref()
        .and_then(|t| t.rows.iter().find(|r| r.total))
        .and_then(|r| r.cells.first().copied())
        .and_then(Cell::count)
        .unwrap_or(0);
    // Enrolment by grade: each of the last three 1 Septembers, and today.
    let year = school_year_start(today);
    // Only dates the record covers: before it began it cannot say (zeros would mislead).
    let first = prep.first_day().unwrap_or(today);
    let mut dates: Vec<NaiveDate> = (0..3)
        .rev()
        .filter_map(|k| NaiveDate::from_ymd_opt(year - k, 9, 1))
        .filter(|d| *d <= today && *d >= first)
        .collect();
    dates.push(today);
    let grades: Vec<String> =
        (1..=9u8).filter_map(|g| crate::domain::Grade::new(g).ok()).map(|g| g.label().to_owned()).collect();
    let mut series = Vec::new();
    for d in &dates {
        if let Some(t) = run(&c, &prep, "grade", *d, &scope) {
            let values = (1..=9u8)
                .map(|g| t.rows.iter().find(|r| r.key == format!("g{g}")).map_or(Some(0.0), |r| value(r.cells[0])))
                .collect();
            let name = if *d == today { "今天".to_owned() } else { format!("{}年9月1日", d.year()) };
            series.push((name, values));
        }
    }
    charts.push(Figures {
        title: "各年级在校生数（历年9月1日与今天）".into(),
        report: Some("grade".into()),
        as_of: Some(today),
        categories: grades,
        highlight: Vec::new(),
        series,
        unit: String::new(),
    });
    if let Some(t) = run(&c, &prep, "class_size", today, &scope)
        && let Some(total) = t.rows.iter().find(|r| r.total)
    {
        charts.push(Figures {
            title: "班额分布（班数，今天）".into(),
            report: Some("class_size".into()),
            as_of: Some(t.as_of),
            categories: t.columns.iter().skip(1).map(|c| c.label.clone()).collect(),
            highlight: t.columns.iter().skip(1).map(|c| c.highlight).collect(),
            series: vec![("班数".into(), total.cells.iter().skip(1).map(|c| value(*c)).collect())],
            unit: String::new(),
        });
    }
    for (name, label) in [("retention_primary", "小学"), ("retention_junior", "初中")] {
        let reference = c.layout(name, year).map_or(today, |r| r.default_as_of(today));
        if let Some(t) = run(&c, &prep, name, reference, &scope) {
            let col = |label: &str| t.columns.iter().position(|c| c.label == label);
            let (Some(r), Some(d)) = (col("巩固率"), col("辍学率")) else { continue };
            let rows: Vec<_> = t.rows.iter().collect();
            charts.push(Figures {
                title: format!("{label}巩固率与辍学率（%，截至{}）", t.as_of),
                report: Some(name.into()),
                as_of: Some(t.as_of),
                categories: rows.iter().map(|r| r.label.clone()).collect(),
                highlight: Vec::new(),
                series: vec![
                    ("巩固率".into(), rows.iter().map(|x| value(x.cells[r])).collect()),
                    ("辍学率".into(), rows.iter().map(|x| value(x.cells[d])).collect()),
                ],
                unit: "%".into(),
            });
        }
    }
    charts.push(ledger_over_time(app, today, &scope).await?);
    Ok(Dashboard { enrolled_now, charts, conflicts: prep.conflicts().len() })
}

/// The dropout-control ledger's open entries at the end of each of the last twelve months, by kind.
async fn ledger_over_time(app: &App, today: NaiveDate, scope: &Scope) -> AppResult<Figures> {
    let this_month = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap_or(today);
    let ends: Vec<String> = (0..12u32)
        .rev()
        .filter_map(|k| this_month.checked_sub_months(Months::new(k)))
        .map(|first| first.checked_add_months(Months::new(1)).and_then(|d| d.pred_opt()).unwrap_or(first).min(today))
        .map(|d| d.to_string())
        .collect();
    let spans = crate::db::dropout::spans(&app.db.pool).await?;
    let series = crate::service::dropout::KINDS
        .iter()
        .map(|(code, label)| {
            let values = ends.iter().map(|end| {
                let open = spans.iter().filter(|(school, kind, opened, closed)| {
                    kind == code
                        && scope.allows(*school)
                        && opened.as_str() <= end.as_str()
                        && closed.as_deref().is_none_or(|c| c > end.as_str())
                });
                #[expect(clippy::cast_precision_loss, reason = "counts are far below 2^52")]
                let n = open.count() as f64;
                Some(n)
            });
            ((*label).to_owned(), values.collect())
        })
        .collect();
    Ok(Figures {
        title: "控辍保学台账在册人数（各月末）".into(),
        report: None,
        as_of: Some(today),
        categories: ends.iter().map(|d| format!("{}月", d.get(5..7).unwrap_or("").trim_start_matches('0'))).collect(),
        highlight: Vec::new(),
        series,
        unit: String::new(),
    })
}
