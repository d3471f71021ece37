//! Dropout control (控辍保学, Art. 29): the monthly ledger of every pupil out
//! of school, kept by the school and closed by the bureau.
//!
//! - An entry opens when a pupil is reported a suspected dropout, a dropout
//!   or missing (with the status, in its transaction), and when the school
//!   enters a pupil abroad without an application (出境未办手续) or
//!   otherwise gone (其他离校); it closes when the status leaves those (a
//!   return, a death, a transfer) or, for the school's own entries, when
//!   the school records the return.
//! - Each entry names the teacher responsible (包保教师); its recall steps
//!   are the recall notices (issued, served) and the home visits recorded.
//! - A school submits its ledger for a month by the 28th (every open entry
//!   must name its teacher); the bureau closes it. A school that has not
//!   submitted by the 28th is on the overdue list.
//! - The early warning: an absence the school reports becomes a to-do once
//!   it reaches `XUEJI_ABSENCE_WARN_DAYS` school days (3 by default), until
//!   the pupil is back or reported a suspected dropout.

use crate::app::App;
use crate::db::dropout::{self, Entry, NewEntry, Visit};
use crate::db::schools::{self, School};
use crate::db::students::Student;
use crate::domain::{Action, Actor, DomainError, StudentStatus, parse_date};
use crate::error::{AppError, AppResult};
use crate::service::audit::Audit;
use crate::workflow::{lock_visible, require_bureau, require_school};
use chrono::{Datelike, NaiveDate};
use sqlx::{Any, Transaction};

/// The day of the month by which a school submits its ledger.
pub const DUE_DAY: u32 = 28;

/// The kinds of entry, code and label; the last two the school enters itself.
pub const KINDS: [(&str, &str); 5] = [
    ("suspected", "疑似辍学"),
    ("dropout", "辍学"),
    ("missing", "失踪"),
    ("abroad_unapplied", "出境未办手续"),
    ("left_other", "其他离校"),
];

fn kind_of_status(status: StudentStatus) -> Option<&'static str> {
    match status {
        StudentStatus::SuspectedDropout => Some("suspected"),
        StudentStatus::Dropout => Some("dropout"),
        StudentStatus::Missing => Some("missing"),
        _ => None,
    }
}

/// Follows a status change: opens, re-kinds or closes the pupil's entry.
pub async fn follow_status(
    tx: &mut Transaction<'static, Any>,
    student: &Student,
    to: StudentStatus,
    action: Action,
    since: NaiveDate,
    today: NaiveDate,
    actor_id: Option<i64>,
) -> AppResult<()> {
    let open = dropout::open_of(&mut **tx, student.id).await?;
    match (kind_of_status(to), open) {
        (Some(kind), None) => {
            let new = NewEntry {
                student_id: student.id,
                school_id: student.school_id,
                kind,
                since: &since.to_string(),
                teacher: "",
                reason: "",
                opened_by: actor_id,
                opened_on: &today.to_string(),
            };
            dropout::insert(&mut **tx, &new).await?;
            dropout::end_absences(&mut **tx, student.id, &today.to_string()).await?;
        }
        (Some(kind), Some(e)) if e.kind != kind => dropout::set_kind(&mut **tx, e.id, kind).await?,
        // Back, or gone from the school's roll for good (a transfer, a death, …).
        (None, Some(e)) if kind_of_status(student.status).is_some() || !to.occupies_seat() => {
            let back = matches!(action, Action::ReturnToSchool | Action::ReturnFound);
            // A return's status begins the day the pupil came back.
            let returned = back.then(|| since.to_string());
            dropout::close(&mut **tx, e.id, returned.as_deref(), action.label(), &today.to_string()).await?;
        }
        _ => {}
    }
    Ok(())
}

/// `YYYY-MM`, parsed: the month's first and last days.
pub fn parse_month(text: &str) -> AppResult<(NaiveDate, NaiveDate)> {
    let bad =
        || AppError::from(DomainError::new("dropout.month_invalid", "月份", text, "不是有效的月份，应为 YYYY-MM"));
    let first = NaiveDate::parse_from_str(&format!("{}-01", text.trim()), "%Y-%m-%d").map_err(|_| bad())?;
    let last = first.checked_add_months(chrono::Months::new(1)).and_then(|d| d.pred_opt()).ok_or_else(bad)?;
    Ok((first, last))
}

/// One entry as the ledger shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Line {
    /// The entry.
    #[serde(flatten)]
    pub entry: Entry,
    /// Its kind in Chinese.
    pub kind_label: &'static str,
    /// Recall notices: number, issued, served, return-by.
    pub recalls: Vec<serde_json::Value>,
    /// Home visits.
    pub visits: Vec<Visit>,
}

/// A school's ledger for a month.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Ledger {
    /// The school.
    pub school: School,
    /// `YYYY-MM`.
    pub month: String,
    /// The 28th.
    pub due: NaiveDate,
    /// The entries open during the month.
    pub lines: Vec<Line>,
    /// Submitted on, if submitted.
    pub submitted_on: Option<String>,
    /// Closed by the bureau on, if closed.
    pub closed_on: Option<String>,
    /// Submitted after the 28th, or not yet and the 28th has passed.
    pub late: bool,
}

async fn school_in_scope(app: &App, actor: &Actor, code: &str) -> AppResult<School> {
    let school = schools::by_code(&app.db.pool, code.trim()).await?.ok_or(AppError::NotFound)?;
    if !actor.may_see(school.id) {
        return Err(AppError::NotFound);
    }
    Ok(school)
}

/// The ledger (a read of personal data: audited).
pub async fn ledger(app: &App, actor: &Actor, school: &str, month: &str) -> AppResult<Ledger> {
    let mut audit = Audit::new(actor, "dropout.ledger", ("school", school));
    let result = ledger_in(app, actor, school, month, &mut audit).await;
    audit.close(&app.db, result).await
}

async fn ledger_in(app: &App, actor: &Actor, code: &str, month: &str, audit: &mut Audit<'_>) -> AppResult<Ledger> {
    let school = school_in_scope(app, actor, code).await?;
    audit.school(school.id);
    let (first, last) = parse_month(month)?;
    let mut conn = app.db.pool.acquire().await?;
    let entries = dropout::of_month(&mut *conn, school.id, &first.to_string(), &last.to_string()).await?;
    let mut lines = Vec::with_capacity(entries.len());
    for entry in entries {
        let recalls = crate::db::recalls::of_student(&mut *conn, entry.student_id)
            .await?
            .into_iter()
            .filter(|r| r.issued_on.as_str() >= entry.since.as_str())
            .map(|r| {
                serde_json::json!({ "number": r.number, "issued_on": r.issued_on, "delivered_on": r.delivered_on,
                                    "return_by": r.return_by })
            })
            .collect();
        let visits = dropout::visits(&mut *conn, entry.id).await?;
        let kind_label = KINDS.iter().find(|(c, _)| *c == entry.kind).map_or("", |(_, l)| l);
        lines.push(Line { entry, kind_label, recalls, visits });
    }
    let submitted = dropout::month(&mut *conn, school.id, &first.format("%Y-%m").to_string()).await?;
    drop(conn);
    let due = first.with_day(DUE_DAY).unwrap_or(last);
    let late = match &submitted {
        Some(m) => m.submitted_on.as_str() > due.to_string().as_str(),
        None => app.today() > due,
    };
    audit.detail(format!("month={} entries={}", first.format("%Y-%m"), lines.len()));
    audit.record(&app.db.pool).await?;
    Ok(Ledger {
        school,
        month: first.format("%Y-%m").to_string(),
        due,
        lines,
        submitted_on: submitted.as_ref().map(|m| m.submitted_on.clone()),
        closed_on: submitted.and_then(|m| m.closed_on),
        late,
    })
}

/// A pupil the school puts on the ledger itself.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct AddRequest {
    /// `abroad_unapplied` or `left_other`.
    pub kind: String,
    /// The first day gone.
    pub since: String,
    /// Why, as known.
    #[serde(default)]
    pub reason: String,
    /// 包保教师.
    #[serde(default)]
    pub teacher: String,
}

fn text(app: &App, field: &'static str, value: &str, max: usize) -> AppResult<String> {
    let v: String = value.trim().chars().take(max).collect();
    crate::workflow::printable(&app.coverage, &[(field, &v)])?;
    Ok(v)
}

/// The school enters a pupil abroad without an application or otherwise gone.
pub async fn add(app: &App, actor: &Actor, public_id: &str, req: &AddRequest) -> AppResult<()> {
    let mut audit = Audit::new(actor, "dropout.add", ("student", public_id));
    let result = add_in(app, actor, public_id, req, &mut audit).await;
    audit.close(&app.db, result).await
}

async fn add_in(app: &App, actor: &Actor, public_id: &str, req: &AddRequest, audit: &mut Audit<'_>) -> AppResult<()> {
    let kind = match req.kind.trim() {
        k @ ("abroad_unapplied" | "left_other") => k,
        other => {
            return Err(DomainError::new(
                "dropout.kind_invalid",
                "类别",
                other,
                "：学校只能登记出境未办手续（abroad_unapplied）或其他离校（left_other）；疑似辍学、辍学、失踪请在学生页上报",
            )
            .into());
        }
    };
    let since = parse_date("离校日期", &req.since)?;
    if since > app.today() {
        return Err(DomainError::new("date.future", "离校日期", since.to_string(), "晚于今天").into());
    }
    let reason = text(app, "原因", &req.reason, 200)?;
    let teacher = text(app, "包保教师", &req.teacher, 30)?;
    let mut tx = app.db.pool.begin().await?;
    let student = lock_visible(&mut tx, actor, public_id).await?;
    require_school(actor, student.school_id)?;
    if !matches!(student.status, StudentStatus::Active) {
        return Err(DomainError::new(
            "dropout.not_active",
            "学籍状态",
            student.status.label(),
            "：只有在籍学生可登记离校",
        )
        .into());
    }
    if dropout::open_of(&mut *tx, student.id).await?.is_some() {
        return Err(AppError::conflict("dropout.already_listed", "该学生已在控辍保学台账中"));
    }
    let new = NewEntry {
        student_id: student.id,
        school_id: student.school_id,
        kind,
        since: &since.to_string(),
        teacher: &teacher,
        reason: &reason,
        opened_by: actor.user_id,
        opened_on: &app.today().to_string(),
    };
    dropout::insert(&mut *tx, &new).await?;
    audit.detail(format!("kind={kind}"));
    audit.commit(tx).await
}

/// An entry the actor may change: open, in their school.
async fn open_entry(app: &App, actor: &Actor, id: i64) -> AppResult<Entry> {
    let e = dropout::entry(&app.db.pool, id).await?.filter(|e| actor.may_see(e.school_id)).ok_or(AppError::NotFound)?;
    require_school(actor, e.school_id)?;
    if e.closed_on.is_some() {
        return Err(AppError::conflict("dropout.closed", "该台账条目已结束"));
    }
    Ok(e)
}

/// Names the teacher responsible (包保教师).
pub async fn set_teacher(app: &App, actor: &Actor, id: i64, teacher: &str) -> AppResult<()> {
    let mut audit = Audit::new(actor, "dropout.teacher", ("dropout", &id.to_string()));
    let result = async {
        let e = open_entry(app, actor, id).await?;
        audit.school(e.school_id);
        let teacher = text(app, "包保教师", teacher, 30)?;
        if teacher.is_empty() {
            return Err(DomainError::new("dropout.teacher_required", "包保教师", "", "不能为空").into());
        }
        let mut tx = app.db.pool.begin().await?;
        dropout::set_teacher(&mut *tx, id, &teacher).await?;
        audit.commit(tx).await
    }
    .await;
    audit.close(&app.db, result).await
}

/// A home visit as recorded.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct VisitRequest {
    /// The day.
    pub visited_on: String,
    /// Who went.
    pub visitor: String,
    /// What came of it.
    pub result: String,
}

/// Records a home visit (家访) on an open entry.
pub async fn add_visit(app: &App, actor: &Actor, id: i64, req: &VisitRequest) -> AppResult<()> {
    let mut audit = Audit::new(actor, "dropout.visit", ("dropout", &id.to_string()));
    let result = async {
        let e = open_entry(app, actor, id).await?;
        audit.school(e.school_id);
        let on = parse_date("家访日期", &req.visited_on)?;
        if on > app.today() || on.to_string() < e.since {
            return Err(
                DomainError::new("dropout.visit_date", "家访日期", on.to_string(), "须在离校之后、今天之前").into()
            );
        }
        let visitor = text(app, "家访人", &req.visitor, 60)?;
        let result = text(app, "家访结果", &req.result, 500)?;
        if visitor.is_empty() || result.is_empty() {
            return Err(DomainError::new("dropout.visit_incomplete", "家访", "", "须写明家访人和结果").into());
        }
        let mut tx = app.db.pool.begin().await?;
        let v = Visit { watch_id: id, visited_on: on.to_string(), visitor, result };
        dropout::add_visit(&mut *tx, &v, actor.user_id, &crate::db::now_text()).await?;
        audit.commit(tx).await
    }
    .await;
    audit.close(&app.db, result).await
}

/// The school records a return (or another end) of an entry it entered itself.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct CloseRequest {
    /// The day back, if the pupil came back.
    #[serde(default)]
    pub returned_on: String,
    /// How it ended (返校, 已办理出境手续, …).
    pub outcome: String,
}

/// Ends an entry the school entered (the status kinds end with the status).
pub async fn close_entry(app: &App, actor: &Actor, id: i64, req: &CloseRequest) -> AppResult<()> {
    let mut audit = Audit::new(actor, "dropout.close_entry", ("dropout", &id.to_string()));
    let result = async {
        let e = open_entry(app, actor, id).await?;
        audit.school(e.school_id);
        if !matches!(e.kind.as_str(), "abroad_unapplied" | "left_other") {
            return Err(AppError::conflict(
                "dropout.follows_status",
                "疑似辍学、辍学、失踪的条目随学籍状态结束：请在学生页登记返校",
            ));
        }
        let returned = match req.returned_on.trim() {
            "" => None,
            d => {
                let d = parse_date("返校日期", d)?;
                if d > app.today() {
                    return Err(DomainError::new("date.future", "返校日期", d.to_string(), "晚于今天").into());
                }
                Some(d.to_string())
            }
        };
        let outcome = text(app, "结果", &req.outcome, 100)?;
        if outcome.is_empty() {
            return Err(DomainError::new("dropout.outcome_required", "结果", "", "不能为空").into());
        }
        let mut tx = app.db.pool.begin().await?;
        dropout::close(&mut *tx, id, returned.as_deref(), &outcome, &app.today().to_string()).await?;
        audit.commit(tx).await
    }
    .await;
    audit.close(&app.db, result).await
}

/// The school submits its ledger for the month (every open entry names its teacher).
pub async fn submit(app: &App, actor: &Actor, school: &str, month: &str) -> AppResult<usize> {
    let mut audit = Audit::new(actor, "dropout.submit", ("school", school));
    let result = async {
        let s = school_in_scope(app, actor, school).await?;
        audit.school(s.id);
        require_school(actor, s.id)?;
        let (first, last) = parse_month(month)?;
        let today = app.today();
        if first > today {
            return Err(DomainError::new("dropout.month_future", "月份", month, "尚未开始，不能报送").into());
        }
        let key = first.format("%Y-%m").to_string();
        let mut tx = app.db.pool.begin().await?;
        if dropout::month(&mut *tx, s.id, &key).await?.is_some() {
            return Err(AppError::conflict("dropout.already_submitted", "本月台账已报送"));
        }
        let entries = dropout::of_month(&mut *tx, s.id, &first.to_string(), &last.to_string()).await?;
        let unnamed = entries.iter().filter(|e| e.closed_on.is_none() && e.teacher.trim().is_empty()).count();
        if unnamed > 0 {
            return Err(DomainError::new(
                "dropout.teacher_missing",
                "包保教师",
                unnamed.to_string(),
                "名学生尚未指定包保教师，指定后才能报送",
            )
            .into());
        }
        let n = entries.len();
        dropout::submit(&mut *tx, s.id, &key, i64::try_from(n).unwrap_or(i64::MAX), actor.user_id, &today.to_string())
            .await?;
        audit.detail(format!("month={key} entries={n}"));
        audit.commit(tx).await?;
        Ok(n)
    }
    .await;
    audit.close(&app.db, result).await
}

/// The bureau closes a school's submitted month.
pub async fn close_month(app: &App, actor: &Actor, school: &str, month: &str) -> AppResult<()> {
    let mut audit = Audit::new(actor, "dropout.close_month", ("school", school));
    let result = async {
        require_bureau(actor)?;
        let s = school_in_scope(app, actor, school).await?;
        audit.school(s.id);
        let key = parse_month(month)?.0.format("%Y-%m").to_string();
        let mut tx = app.db.pool.begin().await?;
        match dropout::month(&mut *tx, s.id, &key).await? {
            None => return Err(AppError::conflict("dropout.not_submitted", "学校尚未报送本月台账，不能关账")),
            Some(m) if m.closed_on.is_some() => {
                return Err(AppError::conflict("dropout.already_closed", "本月台账已关账"));
            }
            Some(_) => {}
        }
        dropout::close_month(&mut *tx, s.id, &key, actor.user_id, &app.today().to_string()).await?;
        audit.detail(format!("month={key}"));
        audit.commit(tx).await
    }
    .await;
    audit.close(&app.db, result).await
}

/// A school's standing for a month, for the bureau's overview.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Standing {
    /// The school.
    pub school: School,
    /// Submitted on.
    pub submitted_on: Option<String>,
    /// Entries submitted.
    pub entries: Option<i64>,
    /// Closed on.
    pub closed_on: Option<String>,
    /// Past the 28th without a submission.
    pub late: bool,
}

/// Every school in the reader's scope and where its ledger for `month` stands.
pub async fn standings(app: &App, actor: &Actor, month: &str) -> AppResult<Vec<Standing>> {
    let (first, last) = parse_month(month)?;
    let key = first.format("%Y-%m").to_string();
    let due = first.with_day(DUE_DAY).unwrap_or(last);
    let months = dropout::months(&app.db.pool, &key).await?;
    let today = app.today();
    Ok(schools::list(&app.db.pool)
        .await?
        .into_iter()
        .filter(|s| actor.may_see(s.id))
        .map(|school| {
            let m = months.iter().find(|m| m.school_id == school.id);
            Standing {
                late: m.is_none() && today > due,
                submitted_on: m.map(|m| m.submitted_on.clone()),
                entries: m.map(|m| m.entries),
                closed_on: m.and_then(|m| m.closed_on.clone()),
                school,
            }
        })
        .collect())
}

/// The months whose ledger is overdue at `today`: last month, and this one after the 28th.
pub fn months_due(today: NaiveDate) -> Vec<(String, NaiveDate)> {
    let this = today.with_day(1).unwrap_or(today);
    let mut out = Vec::new();
    if let Some(prev) = this.checked_sub_months(chrono::Months::new(1)) {
        out.push((prev.format("%Y-%m").to_string(), prev.with_day(DUE_DAY).unwrap_or(prev)));
    }
    if today.day() > DUE_DAY {
        out.push((this.format("%Y-%m").to_string(), this.with_day(DUE_DAY).unwrap_or(this)));
    }
    out
}

/// An absence reported.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct AbsenceRequest {
    /// The first day absent.
    pub since: String,
    /// What the school knows.
    #[serde(default)]
    pub note: String,
}

/// The school reports a pupil absent since a day (the early warning).
pub async fn report_absence(app: &App, actor: &Actor, public_id: &str, req: &AbsenceRequest) -> AppResult<()> {
    let mut audit = Audit::new(actor, "student.absence", ("student", public_id));
    let result = async {
        let since = parse_date("缺课开始日期", &req.since)?;
        if since > app.today() {
            return Err(DomainError::new("date.future", "缺课开始日期", since.to_string(), "晚于今天").into());
        }
        let note = text(app, "说明", &req.note, 200)?;
        let mut tx = app.db.pool.begin().await?;
        let student = lock_visible(&mut tx, actor, public_id).await?;
        require_school(actor, student.school_id)?;
        if student.status != StudentStatus::Active {
            return Err(DomainError::new(
                "absence.not_active",
                "学籍状态",
                student.status.label(),
                "：只有在籍学生登记缺课",
            )
            .into());
        }
        let today = app.today().to_string();
        dropout::end_absences(&mut *tx, student.id, &today).await?;
        dropout::report_absence(
            &mut *tx,
            student.id,
            student.school_id,
            &since.to_string(),
            &note,
            actor.user_id,
            &today,
        )
        .await?;
        audit.commit(tx).await
    }
    .await;
    audit.close(&app.db, result).await
}

/// The pupil is back: their open absence ends.
pub async fn end_absence(app: &App, actor: &Actor, public_id: &str) -> AppResult<u64> {
    let mut audit = Audit::new(actor, "student.absence_end", ("student", public_id));
    let result = async {
        let mut tx = app.db.pool.begin().await?;
        let student = lock_visible(&mut tx, actor, public_id).await?;
        require_school(actor, student.school_id)?;
        let n = dropout::end_absences(&mut *tx, student.id, &app.today().to_string()).await?;
        if n == 0 {
            return Err(AppError::conflict("absence.none_open", "该学生没有未结束的缺课登记"));
        }
        audit.commit(tx).await?;
        Ok(n)
    }
    .await;
    audit.close(&app.db, result).await
}

/// School days absent from `since` to `today`, both included.
pub fn school_days_absent(cal: &crate::domain::WorkingCalendar, since: NaiveDate, today: NaiveDate) -> i64 {
    since.pred_opt().map_or(0, |before| cal.working_days_between(before, today))
}
