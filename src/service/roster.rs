//! Roster import and export: a school's roll as the spreadsheet schools
//! use, from the API, the pages or the command line (`xueji import`,
//! `xueji export`), audited once per import, check or export. An import
//! takes our template and the national system's spreadsheets alike, as
//! their header row says ([`crate::roster::national`]).

use crate::db::{Db, intake_list, schools};
use crate::domain::Actor;
use crate::error::{AppError, AppResult};
use crate::roster::national::Layout;
use crate::roster::{check, export, read::Sheet};
use crate::service::audit::{self, Audit};

/// The file an export writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// Excel workbook (ID and phone columns as text).
    Xlsx,
    /// CSV, UTF-8 with BOM.
    Csv,
}

impl ExportFormat {
    /// Parses `xlsx` or `csv` (refusing anything else with `export.format`).
    pub fn parse(s: &str) -> AppResult<Self> {
        match s {
            "xlsx" => Ok(Self::Xlsx),
            "csv" => Ok(Self::Csv),
            other => {
                Err(AppError::bad_request("export.format", format!("不支持的导出格式“{other}”，可选 xlsx 或 csv")))
            }
        }
    }

    /// The file name extension.
    pub fn ext(self) -> &'static str {
        match self {
            Self::Xlsx => "xlsx",
            Self::Csv => "csv",
        }
    }

    /// The media type.
    pub fn mime(self) -> &'static str {
        match self {
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Self::Csv => "text/csv; charset=utf-8",
        }
    }
}

/// An exported roster.
#[derive(Debug)]
pub struct Exported {
    /// The school's code.
    pub school_code: String,
    /// The school's name.
    pub school_name: String,
    /// How many students it lists.
    pub rows: usize,
    /// The file.
    pub bytes: Vec<u8>,
}

/// The school with this code, named in the audit row; 404 when there is
/// none or the actor may not see it (the same answer, so a code tells nothing).
pub(crate) async fn school_in_view(
    db: &Db,
    actor: &Actor,
    code: &str,
    audit: &mut Audit<'_>,
) -> AppResult<schools::School> {
    let school = schools::by_code(&db.pool, code).await?.ok_or(AppError::NotFound)?;
    audit.school(school.id);
    if actor.may_see(school.id) { Ok(school) } else { Err(AppError::NotFound) }
}

/// Exports the roll of the school with this code: 404 when there is none or
/// the actor may not see it; one `roster.export` audit row either way.
pub async fn export(db: &Db, actor: &Actor, school_code: &str, format: ExportFormat) -> AppResult<Exported> {
    let code = school_code.trim();
    let mut audit = Audit::new(actor, "roster.export", ("school", code));
    let result = async {
        let school = school_in_view(db, actor, code, &mut audit).await?;
        let mut conn = db.pool.acquire().await?;
        let rows = export::rows_for_school(&mut conn, &school).await?;
        drop(conn);
        let bytes = match format {
            ExportFormat::Xlsx => export::write_xlsx(&rows)?,
            ExportFormat::Csv => export::write_csv(&rows)?,
        };
        audit.detail(format!("rows={}", rows.len()));
        audit.record(&db.pool).await?;
        Ok(Exported { school_code: school.code, school_name: school.name, rows: rows.len(), bytes })
    }
    .await;
    audit.close(db, result).await
}

/// What an import did: the file's layout and the report, with what the
/// import did to the intake lists.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Imported {
    /// Which spreadsheet the file was recognised as.
    pub layout: Layout,
    /// Its name, for people.
    pub layout_name: &'static str,
    /// The rows, their errors and what was written.
    #[serde(flatten)]
    pub report: check::Report,
    /// Intake-list entries taken up: children of a 学前调档名单 whose records
    /// this import created (matched by ID number).
    pub taken_up: u64,
    /// For an intake list: the autumn intake it was recorded for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intake_year: Option<i32>,
}

/// Imports a file for a school, as its header row says it is
/// ([`Sheet::layout`]): a 学前调档名单 becomes the school's intake list
/// ([`super::national::import_intake`]); our template and a completed
/// 调档学生导出 are checked against the rules and the database and, unless
/// `opts.dry_run`, written all or none, in one transaction with the intake
/// entries they take up and the `roster.import` audit row. A check, or a
/// refused file, writes its `roster.check` or `refused` row on its own.
pub async fn import(
    db: &Db,
    actor: &Actor,
    school: &schools::School,
    sheet: Sheet,
    opts: &check::Options,
) -> AppResult<Imported> {
    if !actor.may_see(school.id) {
        return Err(AppError::NotFound);
    }
    let layout = sheet.layout;
    if layout == Layout::IntakeList {
        return super::national::import_intake(db, actor, school, &sheet, opts).await;
    }
    let action = if opts.dry_run { "roster.check" } else { "roster.import" };
    let detail = |r: &check::Report, taken_up: u64| {
        format!(
            "layout={} rows={} errors={} inserted={} taken_up={taken_up}",
            layout_code(layout),
            r.rows,
            r.errors.len(),
            r.inserted
        )
    };
    let answer =
        |report, taken_up| Imported { layout, layout_name: layout.label(), report, taken_up, intake_year: None };
    let mut audit = Audit::new(actor, action, ("school", &school.code));
    audit.school(school.id);
    let checked = match check::check(db, school, sheet, opts).await {
        Ok(c) => c,
        Err(e) => return audit.close(db, Err(e)).await,
    };
    if !checked.writable() {
        let outcome = if checked.report.errors.is_empty() { "ok" } else { "refused" };
        let target = ("school", school.code.as_str());
        audit::write(&db.pool, actor, action, target, Some(school.id), outcome, &detail(&checked.report, 0)).await?;
        return Ok(answer(checked.report, 0));
    }
    let result = async {
        let mut tx = db.pool.begin().await?;
        let (report, written) = check::write(&mut tx, school, checked, opts).await?;
        let now = crate::db::now_text();
        let numbered: Vec<(&str, i64)> =
            written.iter().filter_map(|w| Some((w.id_number.as_deref()?, w.student_id))).collect();
        let taken_up = intake_list::take_up_all(&mut tx, &numbered, &now).await?;
        audit.detail(detail(&report, taken_up));
        audit.commit(tx).await?;
        Ok((report, taken_up))
    }
    .await;
    let (mut report, taken_up) = audit.close(db, result).await?;
    report.committed = true;
    Ok(answer(report, taken_up))
}

/// The layout's stable code, as the audit detail records it.
pub fn layout_code(layout: Layout) -> &'static str {
    match layout {
        Layout::Roster => "roster",
        Layout::NationalRecord => "national_record",
        Layout::IntakeList => "intake_list",
    }
}
