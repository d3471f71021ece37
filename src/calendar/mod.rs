//! The working-day calendar as data the bureau updates.
//!
//! The State Council's holiday schedule lives in the table `calendar_days`
//! (one row per listed date: a day off or a make-up working Saturday or
//! Sunday). On start ([`open`]) every year of the bundled `holidays_cn.csv`
//! that the table has never had is copied into it in one transaction
//! ([`seed`]); from then on the table is the truth and the bundled file is
//! only the seed.
//!
//! The bureau replaces whole years ([`replace_years`], [`import`]) from CSV
//! text in the format [`WorkingCalendar::parse`] reads (`date,kind,name`):
//!
//! - every year that has a date in the file is replaced by exactly the
//!   file's dates of that year; other years are untouched;
//! - the whole file goes in one transaction: a refused line (named with its
//!   number) or any failure leaves the table as it was;
//! - each replaced year is logged in `calendar_updates` (who, when, how, from
//!   what source, the file's sha256, the counts before and after).
//!
//! The running service's calendar ([`App::calendar`]) is refreshed after an
//! update made through it, and re-read from the table every ten minutes
//! ([`refresh_schedule`]) so that an import from the command line reaches a
//! running service too.

use crate::app::App;
use crate::db::Db;
use crate::db::calendar::{self as table, YearWrite};
use crate::domain::working_days::{CalendarDay, CalendarError, DayKind};
use crate::domain::{Actor, WorkingCalendar};
use crate::error::AppError;
use crate::service::audit;
use anyhow::Context;
use chrono::{Datelike, NaiveDate};
use sha2::{Digest, Sha256};
use std::sync::Arc;

mod views;

pub use views::*;

/// The longest source note kept with an update (characters).
pub const MAX_SOURCE_CHARS: usize = 300;

/// The largest calendar file accepted (bytes): a year is about 40 lines.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;

/// Serialises updates made through one process, so the calendar it keeps in
/// memory is the table as its last update left it.
static UPDATE_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How a year was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// Copied from the bundled `holidays_cn.csv`.
    Seed,
    /// Uploaded on the `/calendar` page.
    Web,
    /// Sent to `PUT /api/calendar`.
    Api,
    /// `xueji calendar import`.
    Cli,
}

impl Via {
    /// The stable code stored in `calendar_updates.via`.
    pub fn code(self) -> &'static str {
        match self {
            Via::Seed => "seed",
            Via::Web => "web",
            Via::Api => "api",
            Via::Cli => "cli",
        }
    }

    /// The Chinese label.
    pub fn label(self) -> &'static str {
        match self {
            Via::Seed => "内置数据",
            Via::Web => "网页上传",
            Via::Api => "接口上传",
            Via::Cli => "命令行导入",
        }
    }

    /// Parses a stable code.
    pub fn parse(code: &str) -> Option<Self> {
        [Via::Seed, Via::Web, Via::Api, Via::Cli].into_iter().find(|via| via.code() == code)
    }
}

/// What an update did to one year.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct YearReport {
    /// The calendar year.
    pub year: i32,
    /// Days off now listed for it.
    pub holidays: usize,
    /// Make-up workdays now listed for it.
    pub workdays: usize,
    /// Rows the year had before (all removed).
    pub replaced: u64,
}

/// What an update did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    /// Each replaced year, ascending.
    pub years: Vec<YearReport>,
    /// The sha256 of the file's bytes.
    pub sha256: String,
}

/// Why an update was refused or failed. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A line of the file broke the format (its number is in the error).
    #[error("{0}")]
    Parse(CalendarError),
    /// The file as a whole was refused.
    #[error("{message}")]
    Refused {
        /// Stable code, e.g. `calendar.empty`.
        code: &'static str,
        /// Chinese message.
        message: String,
    },
    /// A fault on our side.
    #[error("{0:#}")]
    Internal(#[from] anyhow::Error),
}

impl ImportError {
    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            ImportError::Parse(e) => e.code(),
            ImportError::Refused { code, .. } => code,
            ImportError::Internal(_) => "internal",
        }
    }

    fn refused(code: &'static str, message: impl Into<String>) -> Self {
        ImportError::Refused { code, message: message.into() }
    }
}

impl From<sqlx::Error> for ImportError {
    fn from(e: sqlx::Error) -> Self {
        ImportError::Internal(e.into())
    }
}

impl From<ImportError> for crate::error::AppError {
    fn from(e: ImportError) -> Self {
        match e {
            ImportError::Parse(e) => crate::error::AppError::Domain(crate::domain::DomainError {
                code: e.code(),
                field: "节假日安排",
                value: e.value,
                message: e.message,
            }),
            ImportError::Refused { code, message } => crate::error::AppError::bad_request(code, message),
            ImportError::Internal(e) => crate::error::AppError::Internal(e),
        }
    }
}

/// Seeds the years never written (see [`seed`]) and reads the calendar from
/// the table: what the service starts with.
///
/// # Errors
///
/// A database failure, or a table whose rows break the schedule's rules.
pub async fn open(db: &Db) -> anyhow::Result<WorkingCalendar> {
    let years = seed(db).await.context("无法写入内置节假日安排")?;
    if !years.is_empty() {
        tracing::info!(?years, "calendar seeded from the bundled schedule");
    }
    load(db).await
}

/// Copies into the table, in one transaction, every year of the bundled
/// schedule that has never been written (no row in `calendar_updates`), and
/// returns those years. A year the bureau has written is never overwritten;
/// two processes starting at once seed a year once.
///
/// # Errors
///
/// A database failure (nothing is written then).
pub async fn seed(db: &Db) -> anyhow::Result<Vec<i32>> {
    let seeded = WorkingCalendar::seeded();
    let sha256 = hex::encode(Sha256::digest(WorkingCalendar::seeded_csv().as_bytes()));
    let now = crate::db::now_text();
    let mut tx = db.pool.begin().await?;
    let mut written = Vec::new();
    for year in seeded.years() {
        let days = seeded.days_in_year(year);
        let (holidays, workdays) = counts(&days);
        // Claim the year first: the insert is a no-op if any update (or
        // another process's seed) already wrote it.
        let write = YearWrite {
            year,
            source: "内置 holidays_cn.csv",
            sha256: &sha256,
            holidays: count_i64(holidays),
            workdays: count_i64(workdays),
            at: &now,
        };
        if !table::claim_seed_year(&mut *tx, &write).await? {
            continue;
        }
        for day in &days {
            table::insert_seed_day(&mut *tx, day, &now).await?;
        }
        written.push(year);
    }
    tx.commit().await?;
    Ok(written)
}

/// Reads the calendar from the table.
///
/// # Errors
///
/// A database failure, or rows that break the schedule's rules (a bad date
/// or kind, a make-up workday on Monday to Friday).
pub async fn load(db: &Db) -> anyhow::Result<WorkingCalendar> {
    let rows = table::days(&db.pool).await?;
    let mut days = Vec::with_capacity(rows.len());
    for table::StoredDay { date, kind, name } in rows {
        let date = NaiveDate::parse_from_str(&date, "%Y-%m-%d")
            .with_context(|| format!("数据库中的节假日安排有误：日期“{date}”无效"))?;
        let kind = DayKind::parse(&kind)
            .with_context(|| format!("数据库中的节假日安排有误：{date} 的类型“{kind}”无法识别"))?;
        days.push(CalendarDay { date, kind, name });
    }
    WorkingCalendar::from_days(days).map_err(|e| anyhow::anyhow!("数据库表 calendar_days 有误（按日期排序计行）：{e}"))
}

/// The schedule in the table as CSV text ([`WorkingCalendar::to_csv`]), which
/// [`replace_years`] takes back.
///
/// # Errors
///
/// As [`load`].
pub async fn export_csv(db: &Db) -> anyhow::Result<String> {
    Ok(load(db).await?.to_csv())
}

/// Replaces, in one transaction, every year that has a date in `bytes` (CSV
/// text, UTF-8 or GB18030) by the file's dates of that year, logs each year in
/// `calendar_updates`, and returns what was done and the calendar now in the
/// table. Nothing is written if anything is refused.
///
/// # Errors
///
/// - [`ImportError::Parse`]: a line broke the format (its number is in the
///   error);
/// - [`ImportError::Refused`]: the file is not text (`calendar.unreadable`),
///   too large (`calendar.too_large`), lists no date (`calendar.empty`), has
///   only December dates of a year the table has earlier dates for
///   (`calendar.partial_year`: most likely the turn of the year of the next
///   year's notice, which would wipe that year), or the source note is too
///   long (`calendar.source_too_long`);
/// - [`ImportError::Internal`]: a database failure.
pub async fn replace_years(
    db: &Db,
    bytes: &[u8],
    via: Via,
    source: &str,
    actor: &Actor,
) -> Result<(ImportReport, WorkingCalendar), ImportError> {
    let result = write_years(db, bytes, via, source, actor).await;
    if let Err(e) = &result {
        let (outcome, line) = match e {
            ImportError::Internal(_) => ("error", String::new()),
            ImportError::Parse(p) => ("refused", format!(" line={}", p.line)),
            ImportError::Refused { .. } => ("refused", String::new()),
        };
        let detail = format!("via={} code={}{line}", via.code(), e.code());
        // The refusal stands whether or not its row could be written; a
        // failure to write it is logged by code only.
        if let Err(audit_error) =
            audit::write(&db.pool, actor, "calendar.import", ("calendar", "-"), None, outcome, &detail).await
        {
            tracing::error!(code = audit_error.code(), "calendar import: the refusal's audit row was not written");
        }
    }
    result
}

/// [`replace_years`] but for the audit row of a refusal.
async fn write_years(
    db: &Db,
    bytes: &[u8],
    via: Via,
    source: &str,
    actor: &Actor,
) -> Result<(ImportReport, WorkingCalendar), ImportError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(ImportError::refused(
            "calendar.too_large",
            format!("文件过大（超过 {} KB），节假日安排每年只有几十行", MAX_FILE_BYTES / 1024),
        ));
    }
    let source = clean_source(source)?;
    let text = decode_text(bytes).ok_or_else(|| {
        ImportError::refused(
            "calendar.unreadable",
            "无法读取文件：应为 UTF-8 或 GB18030 编码的 CSV 文本（date,kind,name）",
        )
    })?;
    let upload = WorkingCalendar::parse(&text).map_err(ImportError::Parse)?;
    let years = upload.years();
    if years.is_empty() {
        return Err(ImportError::refused("calendar.empty", "文件中没有任何日期，未作任何更改"));
    }
    let current = load(db).await?;
    for &year in &years {
        let new_days = upload.days_in_year(year);
        let only_december = new_days.iter().all(|day| day.date.month() == 12);
        let earlier_in_table = current.days_in_year(year).iter().any(|day| day.date.month() < 12);
        if only_december && earlier_in_table {
            return Err(ImportError::refused(
                "calendar.partial_year",
                format!(
                    "文件中 {year} 年只有 12 月的日期（可能是下一年通知中的跨年安排），而现有的 {year} 年安排还有更早的日期；\
                     上传会整年替换 {year} 年，请把 {year} 年的完整安排一并写入文件（可先导出再修改），未作任何更改"
                ),
            ));
        }
    }
    let sha256 = hex::encode(Sha256::digest(bytes));
    let now = crate::db::now_text();
    let mut tx = db.pool.begin().await?;
    let mut reports = Vec::new();
    for year in years {
        let replaced = table::delete_year(&mut *tx, year).await?;
        let days = upload.days_in_year(year);
        for day in &days {
            table::insert_day(&mut *tx, day, actor.user_id, &now).await?;
        }
        let (holidays, workdays) = counts(&days);
        let write = YearWrite {
            year,
            source: &source,
            sha256: &sha256,
            holidays: count_i64(holidays),
            workdays: count_i64(workdays),
            at: &now,
        };
        let replaced_rows = i64::try_from(replaced).unwrap_or(i64::MAX);
        table::log_update(&mut *tx, &write, via.code(), replaced_rows, actor.user_id, &actor.username).await?;
        reports.push(YearReport { year, holidays, workdays, replaced });
    }
    let years: Vec<String> = reports.iter().map(|y| y.year.to_string()).collect();
    let counts = reports
        .iter()
        .map(|y| format!("{}:holidays={},workdays={},replaced={}", y.year, y.holidays, y.workdays, y.replaced))
        .collect::<Vec<_>>()
        .join(" ");
    let detail = format!("via={} sha256={sha256} {counts}", via.code());
    audit::write(&mut *tx, actor, "calendar.import", ("calendar", &years.join(",")), None, "ok", &detail)
        .await
        .map_err(|e| match e {
            AppError::Internal(e) => ImportError::Internal(e.context("calendar import: audit row")),
            e => ImportError::Internal(anyhow::anyhow!("calendar import: audit row: {}", e.code())),
        })?;
    tx.commit().await?;
    let calendar = load(db).await?;
    Ok((ImportReport { years: reports, sha256 }, calendar))
}

/// [`replace_years`], then the service's calendar ([`App::set_calendar`]) is
/// the table's.
///
/// # Errors
///
/// As [`replace_years`].
pub async fn import(
    app: &App,
    bytes: &[u8],
    via: Via,
    source: &str,
    actor: &Actor,
) -> Result<ImportReport, ImportError> {
    let _guard = UPDATE_LOCK.lock().await;
    let (report, calendar) = replace_years(&app.db, bytes, via, source, actor).await?;
    app.set_calendar(calendar);
    Ok(report)
}

/// Re-reads the table into the service's calendar; returns whether it changed.
///
/// # Errors
///
/// As [`load`]; the calendar in force is kept then.
pub async fn refresh(app: &App) -> anyhow::Result<bool> {
    let _guard = UPDATE_LOCK.lock().await;
    let calendar = load(&app.db).await?;
    let changed = *app.calendar() != calendar;
    if changed {
        app.set_calendar(calendar);
    }
    Ok(changed)
}

/// Re-reads the table every ten minutes (an import from the command line
/// reaches a running service this way).
pub async fn refresh_schedule(app: Arc<App>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
    tick.tick().await;
    loop {
        tick.tick().await;
        match refresh(&app).await {
            Ok(true) => tracing::info!(years = ?app.calendar().years(), "calendar reloaded from the database"),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = format!("{e:#}"), "calendar reload failed; keeping the one in force"),
        }
    }
}

/// One logged update of a year: as stored, with how it came in, in Chinese.
#[derive(Debug, Clone, serde::Serialize)]
pub struct UpdateRow {
    /// The year, how, from what source, the counts, who and when.
    #[serde(flatten)]
    pub logged: table::LoggedUpdate,
    /// How, in Chinese.
    pub via_label: &'static str,
}

/// The newest logged updates, newest first.
///
/// # Errors
///
/// A database failure.
pub async fn updates(db: &Db, limit: i64) -> anyhow::Result<Vec<UpdateRow>> {
    let rows = table::updates(&db.pool, limit).await?;
    Ok(rows
        .into_iter()
        .map(|logged| UpdateRow { via_label: Via::parse(&logged.via).map_or("未知", Via::label), logged })
        .collect())
}

/// The text of an upload: UTF-8 (with or without BOM) or GB18030 (as Chinese
/// Excel saves CSV), without control characters.
fn decode_text(bytes: &[u8]) -> Option<String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => {
            let (text, _, had_errors) = encoding_rs::GB18030.decode(bytes);
            if had_errors {
                return None;
            }
            text.into_owned()
        }
    };
    let binary = text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'));
    (!binary).then_some(text)
}

/// The source note, trimmed, one line, at most [`MAX_SOURCE_CHARS`].
fn clean_source(source: &str) -> Result<String, ImportError> {
    let source: String = source.split_whitespace().collect::<Vec<_>>().join(" ");
    if source.chars().count() > MAX_SOURCE_CHARS {
        return Err(ImportError::refused(
            "calendar.source_too_long",
            format!("来源说明过长（最多 {MAX_SOURCE_CHARS} 字），请只写通知名称或网址"),
        ));
    }
    if source.chars().any(char::is_control) {
        return Err(ImportError::refused("calendar.source_invalid", "来源说明含有控制字符"));
    }
    Ok(source)
}

/// Days off and make-up workdays among `days`.
fn counts(days: &[CalendarDay]) -> (usize, usize) {
    let holidays = days.iter().filter(|day| day.kind == DayKind::Holiday).count();
    (holidays, days.len() - holidays)
}

fn count_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::views::spans_label;
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn year_view_of_2026_and_of_an_uncovered_year() {
        let cal = WorkingCalendar::seeded();
        let view = YearView::new(&cal, 2026);
        assert!(view.covered);
        assert_eq!(view.warning, None);
        assert_eq!((view.holiday_days, view.workday_days), (33, 6));
        assert_eq!(view.working_days, 261 - 19 + 6);
        let national = view.holidays.iter().find(|h| h.name == "国庆节").unwrap();
        assert_eq!(national.off, "10月1日（星期四）至10月7日（星期三）");
        assert_eq!(national.days, 7);
        assert_eq!(national.workdays, "9月20日（星期日）、10月10日（星期六）");
        let qingming = view.holidays.iter().find(|h| h.name == "清明节").unwrap();
        assert_eq!(qingming.workdays, "");

        let view = YearView::new(&cal, 2027);
        assert!(!view.covered);
        assert_eq!(view.warning.as_deref(), Some("2027 年节假日安排尚未录入，期限按周一至周五计算"));
        assert!(view.holidays.is_empty());
        // 2027 has 261 Mondays to Fridays.
        assert_eq!(view.working_days, 261);
    }

    #[test]
    fn spans_join_consecutive_days_only() {
        let dates = [d("2026-01-01"), d("2026-01-02"), d("2026-01-03"), d("2026-01-05")];
        assert_eq!(spans_label(&dates), "1月1日（星期四）至1月3日（星期六）、1月5日（星期一）");
        assert_eq!(spans_label(&[]), "");
    }

    #[test]
    fn years_to_show_add_this_year_and_next() {
        let cal = WorkingCalendar::seeded();
        assert_eq!(years_to_show(&cal, d("2026-11-29")), [2027, 2026, 2025, 2024]);
        assert_eq!(years_to_show(&cal, d("2025-03-01")), [2026, 2025, 2024]);
    }

    #[test]
    fn deadlines_warn_for_uncovered_years() {
        let cal = WorkingCalendar::seeded();
        let deadline = Deadline::new(&cal, d("2026-09-28"), 10).unwrap();
        assert_eq!(deadline.deadline, d("2026-10-16"));
        assert_eq!(deadline.weekday, "星期五");
        assert!(deadline.covered);
        assert_eq!(deadline.warning, None);
        let deadline = Deadline::new(&cal, d("2026-12-24"), 10).unwrap();
        assert_eq!(deadline.deadline, d("2027-01-07"));
        assert!(!deadline.covered);
        assert_eq!(
            deadline.warning.as_deref(),
            Some("2027 年节假日安排尚未录入，期限按周一至周五计算，通知发布后可能变化")
        );
    }

    #[test]
    fn uploads_are_utf8_or_gb18030_text() {
        let text = "date,kind,name\n2027-10-01,holiday,国庆节\n";
        assert_eq!(decode_text(text.as_bytes()).as_deref(), Some(text));
        assert_eq!(decode_text(format!("\u{feff}{text}").as_bytes()).as_deref(), Some(text));
        let (gbk, _, _) = encoding_rs::GB18030.encode(text);
        assert_eq!(decode_text(&gbk).as_deref(), Some(text));
        assert_eq!(decode_text(b"PK\x03\x04\x00\x00binary"), None);
    }

    #[test]
    fn source_notes_are_one_short_line() {
        assert_eq!(
            clean_source("  国务院办公厅通知\n https://example.invalid/x ").unwrap(),
            "国务院办公厅通知 https://example.invalid/x"
        );
        assert_eq!(clean_source(&"字".repeat(MAX_SOURCE_CHARS + 1)).unwrap_err().code(), "calendar.source_too_long");
        assert_eq!(clean_source("").unwrap(), "");
    }

    #[test]
    fn via_codes_round_trip() {
        for via in [Via::Seed, Via::Web, Via::Api, Via::Cli] {
            assert_eq!(Via::parse(via.code()), Some(via));
        }
        assert_eq!(Via::parse("x"), None);
    }
}
