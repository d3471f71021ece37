//! The autumn intake plan (招生计划, Art. 3, 7). The bureau issues each
//! school's plan for a year: the classes and places of its entry grade (一年级,
//! or 初一 for a junior school). The plan then changes only on the school's
//! written request (its scan kept in the archive), approved by the bureau;
//! every issue, request, decision and late-intake permission is kept in the
//! plan's history. An import or transfer-in beyond the plan is refused
//! (`intake.over_plan`, see [`check_room`]); intake after the autumn window
//! needs the bureau's recorded reason ([`allow_late`]).

use crate::db::Db;
use crate::db::intake::{self, Plan, PlanEvent};
use crate::db::schools::{self, School};
use crate::domain::intake::{PlanFigures, check_plan, entry_grade};
use crate::domain::{Actor, DomainError, school_year_start};
use crate::error::{AppError, AppResult};
use crate::render::Coverage;
use crate::service::audit::Audit;
use crate::workflow::{require_bureau, require_school};
use chrono::NaiveDate;
use std::io::Read;
use xueji_archive::Archive;

/// The longest reason kept.
pub const MAX_REASON_CHARS: usize = 300;

/// A plan with its history and what the school has of it now.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PlanView {
    /// The plan in force.
    pub plan: Plan,
    /// Its history, oldest first.
    pub history: Vec<PlanEvent>,
    /// Seated records of the entry grade that entered in the plan's year.
    pub enrolled: i64,
    /// Classes the plan's pupils sit in now.
    pub classes_now: i64,
}

/// A plan's figures as asked: the year and the classes and places.
#[derive(Debug, Clone, Copy, serde::Deserialize)]
pub struct Figures {
    /// 计划班数.
    pub classes: u32,
    /// 计划人数.
    pub places: u32,
}

/// The years a plan may be issued for: the current school year's intake and
/// the next one.
fn check_year(today: NaiveDate, year: i32) -> AppResult<()> {
    let now = school_year_start(today);
    if year < now || year > now + 1 {
        return Err(DomainError::new(
            "plan.year_invalid",
            "招生年度",
            year.to_string(),
            &format!("只能是本学年（{now}年）或下一学年（{}年）的秋季招生", now + 1),
        )
        .into());
    }
    Ok(())
}

/// A reason as kept: trimmed, 2 to [`MAX_REASON_CHARS`] characters, printable.
pub fn checked_reason(coverage: &Coverage, field: &'static str, reason: &str) -> AppResult<String> {
    let r = reason.trim();
    if r.chars().count() < 2 {
        return Err(DomainError::new("plan.reason_required", field, r, "须写明理由").into());
    }
    if r.chars().count() > MAX_REASON_CHARS || r.chars().any(|c| c.is_control() && c != '\n') {
        return Err(DomainError::new(
            "plan.reason_invalid",
            field,
            "",
            &format!("超过{MAX_REASON_CHARS}字或含有控制字符"),
        )
        .into());
    }
    crate::workflow::printable(coverage, &[(field, r)])?;
    Ok(r.to_owned())
}

async fn school_by_code(db: &Db, actor: &Actor, code: &str) -> AppResult<School> {
    match schools::by_code(&db.pool, code.trim()).await? {
        Some(s) if actor.may_see(s.id) => Ok(s),
        _ => Err(AppError::NotFound),
    }
}

/// The bureau issues a school's plan for a year (once: a change then goes
/// through [`request_change`]). Audited as `plan.issue`.
pub async fn issue(db: &Db, actor: &Actor, today: NaiveDate, code: &str, year: i32, f: Figures) -> AppResult<Plan> {
    let mut audit = Audit::new(actor, "plan.issue", ("school", code.trim()));
    let result = async {
        require_bureau(actor)?;
        check_year(today, year)?;
        let school = school_by_code(db, actor, code).await?;
        audit.school(school.id);
        let figures = PlanFigures::new(school.kind, f.classes, f.places)?;
        let mut tx = db.pool.begin().await?;
        if intake::plan_for(&mut *tx, school.id, year).await?.is_some() {
            return Err(AppError::conflict(
                "plan.exists",
                format!(
                    "{}{year}年的招生计划已下达；调整计划须由学校提出书面申请，经教育局审核批准（第三条）",
                    school.name
                ),
            ));
        }
        let now = crate::db::now_text();
        let grade = entry_grade(school.kind);
        let id = intake::insert_plan(
            &mut tx,
            school.id,
            year,
            grade,
            figures.classes,
            figures.places,
            &actor.username,
            &now,
        )
        .await?;
        audit.detail(format!("year={year} classes={} places={}", figures.classes, figures.places));
        let plan = intake::plan_by_id(&mut *tx, id).await?.ok_or(AppError::NotFound)?;
        audit.commit(tx).await?;
        Ok(plan)
    }
    .await;
    audit.close(db, result).await
}

/// A school's plans with their history (the school's own staff or the bureau).
pub async fn list(db: &Db, actor: &Actor, today: NaiveDate, code: &str) -> AppResult<(School, Vec<PlanView>)> {
    let school = school_by_code(db, actor, code).await?;
    let mut conn = db.pool.acquire().await?;
    let mut out = Vec::new();
    for plan in intake::plans_of(&mut *conn, school.id).await? {
        let history = intake::history_of(&mut *conn, plan.id).await?;
        let grade = u8::try_from(plan.grade).unwrap_or(1);
        let year = i32::try_from(plan.year).unwrap_or(0);
        let (enrolled, classes) =
            intake::cohort(&mut conn, school.id, grade, year, year == school_year_start(today)).await?;
        out.push(PlanView { plan, history, enrolled, classes_now: classes.len() as i64 });
    }
    Ok((school, out))
}

/// The change requests awaiting the bureau, of the actor's schools.
pub async fn pending(db: &Db, actor: &Actor) -> AppResult<Vec<(Plan, PlanEvent)>> {
    Ok(intake::pending_requests(&db.pool, actor.scope.as_deref()).await?)
}

/// A school's written request to change its plan (the school's registrar):
/// the figures asked for, the reason, and the scan of the signed request,
/// stored in the archive first. One request may be pending at a time.
/// Audited as `plan.request`.
#[expect(clippy::too_many_arguments, reason = "the request's parts, each required")]
pub async fn request_change(
    db: &Db,
    archive: &Archive,
    coverage: &Coverage,
    actor: &Actor,
    code: &str,
    year: i32,
    f: Figures,
    reason: &str,
    scan: (Box<dyn Read + Send>, &str),
) -> AppResult<PlanEvent> {
    let mut audit = Audit::new(actor, "plan.request", ("school", code.trim()));
    let result = async {
        let school = school_by_code(db, actor, code).await?;
        require_school(actor, school.id)?;
        audit.school(school.id);
        let figures = PlanFigures::new(school.kind, f.classes, f.places)?;
        let reason = checked_reason(coverage, "调整理由", reason)?;
        let plan = intake::plan_for(&db.pool, school.id, year).await?.ok_or_else(|| no_plan(&school, year))?;
        if let Some(id) = intake::pending_request(&db.pool, plan.id).await? {
            return Err(AppError::conflict(
                "plan.request_pending",
                format!("本校{year}年招生计划已有一份调整申请（第{id}号）待教育局审核，请等待审核结果"),
            ));
        }
        let digest = crate::dossier::papers::store(archive, scan.0, scan.1).await?;
        let mut tx = db.pool.begin().await?;
        let now = crate::db::now_text();
        let id = intake::insert_request(
            &mut *tx,
            plan.id,
            figures.classes,
            figures.places,
            &reason,
            &digest,
            &actor.username,
            &now,
        )
        .await?;
        audit.target(&id.to_string());
        audit.detail(format!("year={year} classes={} places={}", figures.classes, figures.places));
        let event = intake::event_by_id(&mut *tx, id).await?.ok_or(AppError::NotFound)?;
        audit.commit(tx).await?;
        Ok(event)
    }
    .await;
    audit.close(db, result).await
}

/// The bureau approves (the asked figures come into force) or refuses a
/// change request, with a note. A plan is not lowered below what the school
/// has already enrolled. Audited as `plan.decide`.
pub async fn decide(
    db: &Db,
    coverage: &Coverage,
    actor: &Actor,
    today: NaiveDate,
    request: i64,
    approve: bool,
    note: &str,
) -> AppResult<Plan> {
    let mut audit = Audit::new(actor, "plan.decide", ("plan_request", &request.to_string()));
    let result = async {
        require_bureau(actor)?;
        let note = if approve && note.trim().is_empty() {
            String::new()
        } else {
            checked_reason(coverage, if approve { "审核意见" } else { "不予批准的理由" }, note)?
        };
        let mut tx = db.pool.begin().await?;
        let event = intake::event_by_id(&mut *tx, request).await?.filter(|e| e.kind == "request");
        let event = event.ok_or(AppError::NotFound)?;
        let plan = intake::plan_by_id(&mut *tx, event.plan_id).await?.ok_or(AppError::NotFound)?;
        if !actor.may_see(plan.school_id) {
            return Err(AppError::NotFound);
        }
        audit.school(plan.school_id);
        if event.state != "pending" {
            return Err(AppError::conflict("plan.request_decided", "该调整申请已审核"));
        }
        let now = crate::db::now_text();
        if approve {
            let (classes, places) = (event.classes.unwrap_or(plan.classes), event.places.unwrap_or(plan.places));
            let grade = u8::try_from(plan.grade).unwrap_or(1);
            let year = i32::try_from(plan.year).unwrap_or(0);
            let current = year == school_year_start(today);
            let (enrolled, seated_in) = intake::cohort(&mut tx, plan.school_id, grade, year, current).await?;
            let classes_now = seated_in.len() as i64;
            if places < enrolled || classes < classes_now {
                return Err(AppError::conflict(
                    "plan.below_enrolled",
                    format!(
                        "申请的计划（{classes}个班{places}人）少于本校{}年已有的{classes_now}个班{enrolled}人，不能批准",
                        plan.year
                    ),
                ));
            }
            intake::set_figures(&mut *tx, plan.id, classes, places, &now).await?;
        }
        if intake::decide_request(&mut *tx, request, approve, &actor.username, &note, &now).await? != 1 {
            return Err(AppError::conflict("plan.request_decided", "该调整申请刚被他人审核"));
        }
        audit.detail(if approve { "approved" } else { "refused" });
        let plan = intake::plan_by_id(&mut *tx, plan.id).await?.ok_or(AppError::NotFound)?;
        audit.commit(tx).await?;
        Ok(plan)
    }
    .await;
    audit.close(db, result).await
}

/// The bureau allows a school's intake after the autumn window, until a
/// day, and records why. Audited as `plan.late_intake`.
#[expect(clippy::too_many_arguments, reason = "the permission's parts, each required")]
pub async fn allow_late(
    db: &Db,
    coverage: &Coverage,
    actor: &Actor,
    today: NaiveDate,
    code: &str,
    year: i32,
    until: NaiveDate,
    reason: &str,
) -> AppResult<Plan> {
    let mut audit = Audit::new(actor, "plan.late_intake", ("school", code.trim()));
    let result = async {
        require_bureau(actor)?;
        let school = school_by_code(db, actor, code).await?;
        audit.school(school.id);
        let reason = checked_reason(coverage, "延期招生理由", reason)?;
        let (_, window_end) = crate::domain::intake::autumn_window(year);
        if until <= window_end || until < today || until > NaiveDate::from_ymd_opt(year + 1, 7, 31).unwrap_or(until) {
            return Err(DomainError::new(
                "plan.late_until_invalid",
                "延期招生截止日期",
                until.to_string(),
                &format!("应在{window_end}之后、{}年7月31日之前，且不早于今天", year + 1),
            )
            .into());
        }
        let mut tx = db.pool.begin().await?;
        let plan = intake::plan_for(&mut *tx, school.id, year).await?.ok_or_else(|| no_plan(&school, year))?;
        let now = crate::db::now_text();
        intake::set_late_intake(&mut tx, plan.id, until, &reason, &actor.username, &now).await?;
        audit.detail(format!("year={year} until={until}"));
        let plan = intake::plan_by_id(&mut *tx, plan.id).await?.ok_or(AppError::NotFound)?;
        audit.commit(tx).await?;
        Ok(plan)
    }
    .await;
    audit.close(db, result).await
}

fn no_plan(school: &School, year: i32) -> AppError {
    DomainError::new(
        "intake.no_plan",
        "招生计划",
        format!("{year}年"),
        &format!("教育局尚未给{}下达，不能招生（第三条）", school.name),
    )
    .into()
}

/// Whether an intake of `adding` children into the classes numbered
/// `into` of a school's entry grade for `year` fits its plan: its places,
/// and its classes counting those the year's pupils sit in already;
/// refused with `intake.no_plan` or `intake.over_plan` otherwise. Read
/// inside the caller's transaction.
pub async fn check_room(
    conn: &mut sqlx::AnyConnection,
    school: &School,
    today: NaiveDate,
    year: i32,
    adding: u64,
    into: &std::collections::BTreeSet<i64>,
) -> AppResult<Plan> {
    let plan = intake::plan_for(&mut *conn, school.id, year).await?.ok_or_else(|| no_plan(school, year))?;
    let current = year == school_year_start(today);
    let (enrolled, classes) = intake::cohort(conn, school.id, entry_grade(school.kind), year, current).await?;
    let figures = PlanFigures {
        classes: u32::try_from(plan.classes).unwrap_or(0),
        places: u32::try_from(plan.places).unwrap_or(0),
    };
    let opened = into.difference(&classes).count() as u64;
    check_plan(figures, year, enrolled.unsigned_abs(), adding, classes.len() as u64, opened)?;
    Ok(plan)
}

/// Whether an entry date is open for intake: within the autumn window, or
/// within the late intake the bureau allowed in `plan` (the plan of the
/// entry's intake year); refused with `intake.out_of_window` otherwise.
pub fn check_window(plan: Option<&Plan>, entry: NaiveDate) -> Result<(), DomainError> {
    use crate::domain::intake::{autumn_window, in_autumn_window};
    if in_autumn_window(entry) {
        return Ok(());
    }
    if let Some(p) = plan
        && let Some(until) = p.late_until
        && (autumn_window(i32::try_from(p.year).unwrap_or(0)).0..=until).contains(&entry)
    {
        return Ok(());
    }
    Err(DomainError::new(
        "intake.out_of_window",
        "入学日期",
        entry.to_string(),
        "不在秋季招生期间（8月1日至9月30日，第三条）；秋季以外入学须由教育局登记延期招生及其理由",
    ))
}
