//! Roster import and export: a school's roll as the spreadsheet schools
//! use, from the API, the pages or the command line (`xueji import`,
//! `xueji export`), audited once per import, check or export.

use crate::db::{Db, schools};
use crate::domain::Actor;
use crate::error::{AppError, AppResult};
use crate::roster::{check, export, read::Sheet};
use crate::service::audit::Audit;

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

/// Exports the roll of the school with this code: 404 when there is none or
/// the actor may not see it; one `roster.export` audit row either way.
pub async fn export(db: &Db, actor: &Actor, school_code: &str, format: ExportFormat) -> AppResult<Exported> {
    let code = school_code.trim();
    let mut audit = Audit::new(actor, "roster.export", ("school", code));
    let result = async {
        let school = schools::by_code(&db.pool, code).await?.ok_or(AppError::NotFound)?;
        audit.school(school.id);
        if !actor.may_see(school.id) {
            return Err(AppError::NotFound);
        }
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

/// Checks a roster against the rules and the database and, unless
/// `opts.dry_run`, writes all its rows or none ([`check::import`]); one
/// `roster.check` or `roster.import` audit row, `refused` when any row is.
pub async fn import(
    db: &Db,
    actor: &Actor,
    school: &schools::School,
    sheet: Sheet,
    opts: &check::Options,
) -> AppResult<check::Report> {
    let report = check::import(db, school, sheet, opts).await?;
    let action = if opts.dry_run { "roster.check" } else { "roster.import" };
    let outcome = if report.errors.is_empty() { "ok" } else { "refused" };
    let detail = format!("rows={} errors={} inserted={}", report.rows, report.errors.len(), report.inserted);
    crate::service::audit::write(&db.pool, actor, action, ("school", &school.code), Some(school.id), outcome, &detail)
        .await?;
    Ok(report)
}
