//! The bureau's statistics (`statistics.md`): report definitions read from
//! `templates/reports/<year>/*.toml`, computed from the record as of a
//! reference date, every count opening the list of students behind it
//! (scoped, audited as a read of personal data), tables exported as xlsx,
//! and a list exported only under a recorded approval of the bureau (Art.
//! 33), whose number is printed on every page of the file.

pub mod approvals;
pub mod dashboard;
pub mod xlsx;

use crate::app::App;
use crate::config::Config;
use crate::db::reports::{self, Approval, NewApproval};
use crate::db::students::{StudentSummary, summaries_by_ids};
use crate::domain::national::{ENTRY_MODE, ETHNICITY, HOUSEHOLD};
use crate::domain::report::engine::{self, Location, Prepared, Record, RowKey, SchoolFact, Scope, Table};
use crate::domain::report::history::{Event, Place, Pupil, parse_class_name};
use crate::domain::report::{Definition, Report};
use crate::domain::{Actor, DomainError, Gender, StudentStatus, school_year_start};
use crate::error::{AppError, AppResult};
use crate::service::audit::Audit;
use chrono::{Datelike, NaiveDate};
use std::collections::HashMap;
use std::path::Path;

/// Rows of a list to a page.
pub const PAGE_SIZE: usize = 50;

/// The county's area code when `templates/reports/county.toml` names none (农安县).
const DEFAULT_AREA: &str = "220122";

/// The report definitions the service ships, by year.
#[derive(Debug, Clone)]
pub struct Catalogue {
    /// Every definition, by year then name.
    pub reports: Vec<Report>,
    /// The county's area code.
    pub county_area: String,
}

impl Catalogue {
    /// The layouts' names, once each, in order.
    pub fn names(&self) -> Vec<&Report> {
        let mut seen: Vec<&Report> = Vec::new();
        for r in &self.reports {
            if !seen.iter().any(|s| s.name == r.name) {
                seen.push(self.layout(&r.name, i32::MAX).unwrap_or(r));
            }
        }
        seen
    }

    /// The layout of `name` for the school year starting in `year`: the
    /// newest one not after it (or the oldest, for a year before them all).
    pub fn layout(&self, name: &str, year: i32) -> Option<&Report> {
        let of: Vec<&Report> = self.reports.iter().filter(|r| r.name == name).collect();
        of.iter()
            .filter(|r| r.year <= year)
            .max_by_key(|r| r.year)
            .or_else(|| of.iter().min_by_key(|r| r.year))
            .copied()
    }
}

/// Reads `templates/reports/`: one folder per layout year, one TOML file per table.
pub fn catalogue(config: &Config) -> AppResult<Catalogue> {
    let root = config.templates_dir().map_err(AppError::Internal)?.join("reports");
    read_catalogue(&root)
}

fn read_catalogue(root: &Path) -> AppResult<Catalogue> {
    let bad = |file: &Path, why: String| {
        AppError::from(DomainError::new(
            "report.definition_invalid",
            "统计表定义",
            file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            &format!("：{why}"),
        ))
    };
    let read =
        |p: &Path| std::fs::read_to_string(p).map_err(|e| AppError::Internal(anyhow::anyhow!("{}: {e}", p.display())));
    let mut county_area = DEFAULT_AREA.to_owned();
    let county = root.join("county.toml");
    if county.is_file() {
        let v: toml::Table = toml::from_str(&read(&county)?).map_err(|e| bad(&county, e.message().to_owned()))?;
        if let Some(a) = v.get("area_code").and_then(toml::Value::as_str) {
            a.clone_into(&mut county_area);
        }
    }
    let mut reports = Vec::new();
    let years = std::fs::read_dir(root).map_err(|e| AppError::Internal(anyhow::anyhow!("{}: {e}", root.display())))?;
    let mut dirs: Vec<(i32, std::path::PathBuf)> = years
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()).map(|y| (y, e.path())))
        .collect();
    dirs.sort();
    for (year, dir) in dirs {
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("{}: {e}", dir.display())))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        for file in files {
            let def: Definition = toml::from_str(&read(&file)?).map_err(|e| bad(&file, e.message().to_owned()))?;
            let name = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            reports.push(Report::new(&name, year, def)?);
        }
    }
    Ok(Catalogue { reports, county_area })
}

/// Loads the record and replays every history: once per request, for any
/// number of tables. The students and their events are read on two
/// connections at once, each read turned into the engine's facts on its own
/// task (the database's work and ours on both cores).
pub async fn prepare(app: &App, catalogue: &Catalogue) -> AppResult<Prepared> {
    let t = std::time::Instant::now();
    let pool = app.db.pool.clone();
    let pupils = tokio::spawn(async move {
        let mut conn = pool.acquire().await?;
        let rows = reports::pupils(&mut conn).await?;
        Ok::<_, AppError>((rows.into_iter().filter_map(pupil).collect::<Vec<Pupil>>(), t.elapsed()))
    });
    let mut conn = app.db.pool.acquire().await?;
    let schools = crate::db::schools::list(&mut *conn).await?;
    let codes: HashMap<String, i64> = schools.iter().map(|s| (s.code.clone(), s.id)).collect();
    let facts = schools
        .iter()
        .map(|s| SchoolFact {
            id: s.id,
            code: s.code.clone(),
            name: s.name.clone(),
            kind: s.kind,
            location: Location::of(s.county_town, s.central_school_id.is_some()),
        })
        .collect();
    let classes: HashMap<i64, i64> = reports::class_numbers(&mut *conn).await?.into_iter().collect();
    let events: Vec<Event> =
        reports::moving_events(&mut conn).await?.into_iter().filter_map(|e| event(e, &codes, &classes)).collect();
    drop(conn);
    let t_events = t.elapsed();
    let (pupils, t_pupils) =
        pupils.await.map_err(|e| AppError::Internal(anyhow::anyhow!("statistics read: {e}")))??;
    let t_read = t.elapsed();
    let (n_pupils, n_events) = (pupils.len(), events.len());
    let prep = Prepared::new(Record { schools: facts, pupils, events, county_area: catalogue.county_area.clone() });
    tracing::debug!(
        pupils = n_pupils,
        events = n_events,
        pupils_ms = t_pupils.as_millis(),
        events_ms = t_events.as_millis(),
        replay_ms = (t.elapsed() - t_read).as_millis(),
        "statistics: record read"
    );
    Ok(prep)
}

fn pupil(r: reports::PupilRow) -> Option<Pupil> {
    let status = StudentStatus::parse(&r.status).ok()?;
    let birth_date = NaiveDate::parse_from_str(&r.birth_date, "%Y-%m-%d").ok()?;
    let code =
        |t: &'static crate::domain::national::Table, v: &str| t.parse(v).ok().flatten().map(|c| c.code().to_owned());
    let [preschool, migrant, orphan, martyr, only_child] = r.flags.map(|f| f.map(|v| v != 0));
    let [left_behind, inclusive, disability, study_mode, hmt] = r.codes;
    let resident = r.id_type.contains("居民身份证");
    Some(Pupil {
        id: r.id,
        now: Place {
            exists: true,
            school_id: r.school_id,
            grade: u8::try_from(r.grade).ok()?,
            class_number: r.class_number,
            status,
        },
        gender: Gender::parse(&r.gender).ok()?,
        birth_date,
        minority: code(&ETHNICITY, &r.ethnicity).map(|c| c != "01"),
        entry_date: parse_entry(&r.entry_date),
        id_area: r.id_number.filter(|n| resident && n.len() == 18).map(|n| n[..6].to_owned()),
        preschool,
        left_behind,
        migrant,
        orphan,
        martyr,
        only_child,
        inclusive,
        disability,
        study_mode,
        hmt,
        household: code(&HOUSEHOLD, &r.household_type),
        entry_mode: code(&ENTRY_MODE, &r.entry_mode),
        problem: r.problem,
    })
}

/// 入学年月 as stored: `YYYY-MM-DD` or `YYYY-MM` (the first of the month).
fn parse_entry(text: &str) -> Option<NaiveDate> {
    let t = text.trim();
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .or_else(|| NaiveDate::parse_from_str(&format!("{t}-01"), "%Y-%m-%d").ok())
}

fn event(r: reports::EventRow, codes: &HashMap<String, i64>, classes: &HashMap<i64, i64>) -> Option<Event> {
    let on = NaiveDate::parse_from_str(r.on_date.get(..10)?, "%Y-%m-%d").ok()?;
    let status = |s: Option<String>| s.and_then(|s| StudentStatus::parse(&s).ok());
    let detail: serde_json::Value = r.detail.as_deref().and_then(|d| serde_json::from_str(d).ok()).unwrap_or_default();
    let school = |key: &str| detail[key].as_str().and_then(|c| codes.get(c).copied());
    let class = |key: &str| detail[key].as_str().and_then(parse_class_name);
    let (mut to_school, mut from_school, mut to_grade, mut to_class) = (None, None, None, None);
    match r.kind.as_str() {
        "enrolled" => {
            to_school = detail["school_id"].as_i64();
            to_grade = detail["grade"].as_i64().and_then(|g| u8::try_from(g).ok());
            to_class = detail["class_id"].as_i64().and_then(|c| classes.get(&c).copied());
        }
        "transferred" => {
            to_school = school("to_school");
            from_school = school("from_school");
            to_class = class("to_class").map(|c| c.1);
        }
        "junior_intake" => {
            to_school = school("to_school");
            from_school = school("from_school");
            let c = class("class");
            to_grade = Some(c.map_or(7, |c| c.0));
            to_class = c.map(|c| c.1);
        }
        "promoted" => to_grade = detail["to_grade"].as_i64().and_then(|g| u8::try_from(g).ok()),
        "returned" | "found" => {
            let c = class("class");
            to_grade = c.map(|c| c.0);
            to_class = c.map(|c| c.1);
        }
        _ => {}
    }
    Some(Event {
        student_id: r.student_id,
        kind: r.kind,
        from: status(r.from_status),
        to: status(r.to_status),
        on,
        to_school,
        from_school,
        to_grade,
        to_class,
    })
}

/// What a table is asked for.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct TableRequest {
    /// The report's name.
    pub name: String,
    /// The reference date (default: the layout's reference day last passed, or today while the record is younger).
    #[serde(default)]
    pub as_of: Option<NaiveDate>,
    /// One school's code (default: every school the reader may see).
    #[serde(default)]
    pub school: Option<String>,
}

/// The reader's scope, narrowed to one school when asked.
async fn scope_of(app: &App, actor: &Actor, school: Option<&str>) -> AppResult<Scope> {
    let Some(code) = school.map(str::trim).filter(|c| !c.is_empty()) else {
        return Ok(Scope::of(actor));
    };
    let s = crate::db::schools::by_code(&app.db.pool, code).await?.ok_or(AppError::NotFound)?;
    if !actor.may_see(s.id) {
        return Err(AppError::NotFound);
    }
    Ok(Scope::Schools(vec![s.id]))
}

/// The report, its reference date and the reader's scope.
pub struct Resolved<'a> {
    /// The layout used.
    pub report: &'a Report,
    /// The reference date.
    pub as_of: NaiveDate,
    /// Whose schools.
    pub scope: Scope,
}

/// Finds the layout and the date a request means.
pub async fn resolve<'a>(
    app: &App,
    actor: &Actor,
    catalogue: &'a Catalogue,
    prep: &Prepared,
    req: &TableRequest,
) -> AppResult<Resolved<'a>> {
    let today = app.today();
    let any = catalogue.layout(&req.name, school_year_start(today)).ok_or(AppError::NotFound)?;
    let as_of = match req.as_of {
        Some(d) if d > today => {
            return Err(
                DomainError::new("report.future_date", "统计基准日", d.to_string(), "晚于今天，不能统计").into()
            );
        }
        Some(d) => d,
        None => {
            let reference = any.default_as_of(today);
            // A record younger than the reference date cannot say where anyone stood then.
            if prep.first_day().is_some_and(|f| f > reference) { today } else { reference }
        }
    };
    let report = catalogue.layout(&req.name, school_year_start(as_of)).ok_or(AppError::NotFound)?;
    Ok(Resolved { report, as_of, scope: scope_of(app, actor, req.school.as_deref()).await? })
}

/// One table, computed.
pub async fn table(app: &App, actor: &Actor, req: &TableRequest) -> AppResult<Table> {
    let catalogue = catalogue(&app.config)?;
    let prep = prepare(app, &catalogue).await?;
    let r = resolve(app, actor, &catalogue, &prep, req).await?;
    Ok(engine::compute(r.report, &prep, r.as_of, &r.scope))
}

/// The students behind one cell, a page of them.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CellList {
    /// The table's title.
    pub title: String,
    /// The report's name.
    pub name: String,
    /// The reference date.
    pub as_of: NaiveDate,
    /// The row's heading.
    pub row_label: String,
    /// The row's key.
    pub row: String,
    /// The column's heading.
    pub column_label: String,
    /// The column.
    pub col: usize,
    /// Students in the cell.
    pub total: usize,
    /// This page, from 1.
    pub page: usize,
    /// Pages.
    pub pages: usize,
    /// The page's students.
    pub students: Vec<StudentSummary>,
    /// Why a student is listed, for the movement table's difference column (by public id).
    pub reasons: HashMap<String, String>,
}

/// A cell asked for.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct CellRequest {
    /// The table.
    #[serde(flatten)]
    pub table: TableRequest,
    /// The row's key (`g3`, `s12`, `total`, …).
    pub row: String,
    /// The column, from 0.
    pub col: usize,
    /// The page, from 1.
    #[serde(default)]
    pub page: Option<usize>,
}

struct Members {
    table: Table,
    ids: Vec<i64>,
    row_label: String,
    column_label: String,
    as_of: NaiveDate,
    reasons: HashMap<i64, String>,
}

async fn members_of(app: &App, actor: &Actor, req: &CellRequest) -> AppResult<Members> {
    let catalogue = catalogue(&app.config)?;
    let prep = prepare(app, &catalogue).await?;
    let r = resolve(app, actor, &catalogue, &prep, &req.table).await?;
    let row = RowKey::parse(&req.row).ok_or(AppError::NotFound)?;
    let table = engine::compute(r.report, &prep, r.as_of, &r.scope);
    let line = table.rows.iter().find(|l| l.key == req.row).ok_or(AppError::NotFound)?;
    let ids = engine::members(r.report, &prep, r.as_of, &r.scope, &row, req.col).ok_or(AppError::NotFound)?;
    let reasons = table.imbalances.iter().map(|i| (i.student_id, i.reason.clone())).collect();
    Ok(Members {
        row_label: line.label.clone(),
        column_label: table.columns.get(req.col).map(|c| c.label.clone()).unwrap_or_default(),
        as_of: r.as_of,
        ids,
        reasons,
        table,
    })
}

fn cell_audit_detail(req: &CellRequest, as_of: NaiveDate, n: usize) -> String {
    format!("report={} as_of={as_of} row={} col={} count={n}", req.table.name, req.row, req.col)
}

/// The students behind a cell, paged: a read of personal data, audited
/// (a row outside the reader's schools is 404, and audited as such).
pub async fn cell(app: &App, actor: &Actor, req: &CellRequest) -> AppResult<CellList> {
    let mut audit = Audit::new(actor, "report.cell", ("report", &req.table.name));
    let result = cell_in(app, actor, req, &mut audit).await;
    audit.close(&app.db, result).await
}

async fn cell_in(app: &App, actor: &Actor, req: &CellRequest, audit: &mut Audit<'_>) -> AppResult<CellList> {
    audit.detail(format!("row={} col={}", req.row, req.col));
    let m = members_of(app, actor, req).await?;
    let pages = m.ids.len().div_ceil(PAGE_SIZE).max(1);
    let page = req.page.unwrap_or(1).clamp(1, pages);
    let slice = &m.ids[((page - 1) * PAGE_SIZE).min(m.ids.len())..(page * PAGE_SIZE).min(m.ids.len())];
    let mut conn = app.db.pool.acquire().await?;
    let found = summaries_by_ids(&mut conn, slice).await?;
    audit.detail(cell_audit_detail(req, m.as_of, m.ids.len()));
    audit.record(&app.db.pool).await?;
    let reasons =
        found.iter().filter_map(|(id, s)| m.reasons.get(id).map(|r| (s.public_id.clone(), r.clone()))).collect();
    Ok(CellList {
        title: m.table.title.clone(),
        name: req.table.name.clone(),
        as_of: m.as_of,
        row_label: m.row_label,
        row: req.row.clone(),
        column_label: m.column_label,
        col: req.col,
        total: m.ids.len(),
        page,
        pages,
        students: found.into_iter().map(|(_, s)| s).collect(),
        reasons,
    })
}

/// The bureau's approval for a list to leave, as filled in.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ApprovalRequest {
    /// The cell.
    #[serde(flatten)]
    pub cell: CellRequest,
    /// The bureau's written approval (文号).
    pub document_no: String,
    /// Why the list leaves.
    pub purpose: String,
    /// To whom.
    pub recipient: String,
    /// Days it may be used (1-30, default 7).
    #[serde(default)]
    pub days: Option<i64>,
}

/// Records the bureau's approval for one list (bureau staff only), audited.
pub async fn approve(app: &App, actor: &Actor, req: &ApprovalRequest) -> AppResult<Approval> {
    let mut audit = Audit::new(actor, "report.export_approve", ("report", &req.cell.table.name));
    let result = approve_in(app, actor, req, &mut audit).await;
    audit.close(&app.db, result).await
}

async fn approve_in(app: &App, actor: &Actor, req: &ApprovalRequest, audit: &mut Audit<'_>) -> AppResult<Approval> {
    crate::workflow::require_bureau(actor)?;
    let required = |field: &'static str, v: &str| -> AppResult<String> {
        let v = v.trim();
        if v.is_empty() {
            return Err(DomainError::new(
                "report.approval_incomplete",
                field,
                "",
                "不能为空（第三十三条：外发须经教育局书面批准，写明用途和接收方）",
            )
            .into());
        }
        crate::workflow::printable(&app.coverage, &[(field, v)])?;
        Ok(v.chars().take(200).collect())
    };
    let document_no = required("批准文号", &req.document_no)?;
    let purpose = required("用途", &req.purpose)?;
    let recipient = required("接收单位", &req.recipient)?;
    let days = req.days.unwrap_or(7);
    if !(1..=30).contains(&days) {
        return Err(DomainError::new("report.approval_days", "有效天数", days.to_string(), "须在1至30天之间").into());
    }
    let m = members_of(app, actor, &req.cell).await?;
    let today = app.today();
    let expires = today + chrono::Days::new(u64::try_from(days).unwrap_or(7));
    let mut tx = app.db.pool.begin().await?;
    let approval = reports::insert_approval(
        &mut tx,
        &NewApproval {
            document_no: &document_no,
            purpose: &purpose,
            recipient: &recipient,
            report: &req.cell.table.name,
            as_of: &m.as_of.to_string(),
            row_key: &req.cell.row,
            col: i64::try_from(req.cell.col).unwrap_or(i64::MAX),
            approved_by: actor.user_id,
            approved_at: &crate::db::now_text(),
            expires_on: &expires.to_string(),
        },
        today.year(),
    )
    .await?;
    audit.detail(format!("{} number={}", cell_audit_detail(&req.cell, m.as_of, m.ids.len()), approval.number));
    audit.commit(tx).await?;
    Ok(approval)
}

/// A list asked for export.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ExportRequest {
    /// The cell.
    #[serde(flatten)]
    pub cell: CellRequest,
    /// The approval's number (`外发-2026-0001`); without one, refused.
    #[serde(default)]
    pub approval: String,
}

/// An exported list: the file's name and bytes.
pub struct ListFile {
    /// `…名单（外发-2026-0001）.xlsx`.
    pub file_name: String,
    /// The workbook.
    pub bytes: Vec<u8>,
}

/// Exports the students behind a cell as xlsx, only under the bureau's
/// approval for exactly that list, still in force; the approval's number
/// is on every page; audited with it.
pub async fn export_list(app: &App, actor: &Actor, req: &ExportRequest) -> AppResult<ListFile> {
    let mut audit = Audit::new(actor, "report.list_export", ("report", &req.cell.table.name));
    let result = export_in(app, actor, req, &mut audit).await;
    audit.close(&app.db, result).await
}

async fn export_in(app: &App, actor: &Actor, req: &ExportRequest, audit: &mut Audit<'_>) -> AppResult<ListFile> {
    let refused = |why: &str| -> AppError {
        AppError::not_permitted(
            "report.export_unapproved",
            format!("学生名单外发须经教育局书面批准（第三十三条）：{why}"),
        )
    };
    let number = req.approval.trim();
    audit.detail(format!("row={} col={} approval={number}", req.cell.row, req.cell.col));
    if number.is_empty() {
        return Err(refused("未填写外发审批编号"));
    }
    let approval = reports::approval(&app.db.pool, number).await?.ok_or_else(|| refused("没有这个外发审批编号"))?;
    let m = members_of(app, actor, &req.cell).await?;
    let same = approval.report == req.cell.table.name
        && approval.as_of == m.as_of.to_string()
        && approval.row_key == req.cell.row
        && usize::try_from(approval.col).ok() == Some(req.cell.col);
    if !same {
        return Err(refused("该审批批准的不是这份名单"));
    }
    if approval.expires_on.as_str() < app.today().to_string().as_str() {
        return Err(refused(&format!("该审批已于{}过期", approval.expires_on)));
    }
    let mut conn = app.db.pool.acquire().await?;
    let mut students = Vec::with_capacity(m.ids.len());
    for chunk in m.ids.chunks(500) {
        students.extend(summaries_by_ids(&mut conn, chunk).await?.into_iter().map(|(_, s)| s));
    }
    drop(conn);
    let mark = xlsx::Watermark {
        number: approval.number.clone(),
        document_no: approval.document_no.clone(),
        purpose: approval.purpose.clone(),
        recipient: approval.recipient.clone(),
        exported_by: actor.display_name.clone(),
        exported_on: app.today(),
    };
    let heading = format!("{}（{}）·{}·{}", m.table.title, m.as_of, m.row_label, m.column_label);
    let bytes = xlsx::list(&heading, &students, &mark)?;
    let mut tx = app.db.pool.begin().await?;
    reports::count_export(&mut *tx, approval.id).await?;
    audit.detail(format!("{} approval={}", cell_audit_detail(&req.cell, m.as_of, m.ids.len()), approval.number));
    audit.commit(tx).await?;
    Ok(ListFile { file_name: format!("{}名单（{}）.xlsx", m.table.title, approval.number), bytes })
}

/// A table as an xlsx file: its name and bytes (counts only, no personal data).
pub async fn export_table(app: &App, actor: &Actor, req: &TableRequest) -> AppResult<ListFile> {
    let t = table(app, actor, req).await?;
    let bytes = xlsx::table(&t)?;
    Ok(ListFile { file_name: format!("{}（{}）.xlsx", t.title, t.as_of), bytes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_definitions_all_read() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates").join("reports");
        let c = read_catalogue(&root).expect("definitions");
        assert!(c.reports.len() >= 8, "{}", c.reports.len());
        assert_eq!(c.county_area, "220122");
        assert!(c.layout("grade", 2026).is_some());
    }

    #[test]
    fn a_bad_definition_is_refused_with_its_file_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("2026")).unwrap();
        std::fs::write(dir.path().join("2026").join("broken.toml"), "title = \"t\"\nunit = \"students\"\nrows = { by = \"grade\" }\n[[columns]]\nlabel = \"x\"\nwhen = \"colour = red\"\n").unwrap();
        let e = read_catalogue(dir.path()).unwrap_err().to_string();
        assert!(e.contains("broken") && e.contains("colour"), "{e}");
    }
}
