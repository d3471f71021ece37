//! The status workflows (Art. 15-30): every change of a student's status
//! goes through here, as one database transaction that moves the status
//! through the machine in [`crate::domain::transitions`] and writes the
//! event (who, when, why, which proofs, which document).
//!
//! - [`cases`]: applications that need approvals in order — transfer
//!   (four), abroad, suspension, renewal, resumption, information change
//!   (school then bureau) — each stage due within 10 working days;
//! - [`direct`]: what the school records and reports at once — suspected
//!   dropout, dropout, recall notices and their delivery, return, death,
//!   missing or detained;
//! - [`yearly`]: graduation by 31 July, promotion on 10 August, junior intake;
//! - [`overdue`]: what has passed its deadline, for the bureau (Art. 34).
//!
//! Who may act: school steps by the registrar of the school concerned (a
//! central school's registrar also for its township schools), bureau steps
//! by bureau staff. The caller is a signed-in [`Staff`].

pub mod cases;
pub mod direct;
pub mod overdue;
pub mod yearly;

use crate::app::App;
use crate::db::events;
use crate::db::schools::{self, Class, School};
use crate::db::students::{self, Student};
use crate::domain::Actor;
pub use crate::domain::parse_date;
use crate::domain::{Action, ClassCap, DomainError, Facts, SchoolKind, StudentStatus, transitions};
use crate::error::{AppError, AppResult};
use crate::render::{Coverage, Unprintable};
use chrono::NaiveDate;
use serde_json::Value;
use sqlx::{Any, Executor, Transaction};

/// Working days each party has for its step (Art. 21, 28).
pub const STEP_WORKING_DAYS: u32 = 10;

/// Refuses a date after today (an event cannot be recorded before it happens).
pub fn not_future(field: &'static str, date: NaiveDate, today: NaiveDate) -> AppResult<()> {
    if date > today {
        return Err(DomainError::new("date.future", field, date.to_string(), "晚于今天，不能登记尚未发生的事").into());
    }
    Ok(())
}

/// A date one calendar month later (the last day of the month when shorter).
pub fn one_month_after(date: NaiveDate) -> NaiveDate {
    date.checked_add_months(chrono::Months::new(1)).unwrap_or(date)
}

/// Requires a non-empty text field.
pub fn required(field: &'static str, value: &str) -> AppResult<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(DomainError::new("field.required", field, "", "不能为空").into());
    }
    if v.chars().count() > 500 {
        return Err(DomainError::new("field.too_long", field, "", "过长（最多500字）").into());
    }
    Ok(v.to_owned())
}

/// Refuses a text the bundled fonts cannot print (`text.unprintable`, naming
/// the field, the character and its code point). Every text of a request that
/// a form prints is checked with it before anything is written, against the
/// same coverage the renderer checks each document's data with.
pub fn printable(coverage: &Coverage, texts: &[(&'static str, &str)]) -> AppResult<()> {
    for &(field, value) in texts {
        if let Err(e) = coverage.check(field, value) {
            let message = e.to_string();
            return Err(DomainError { code: Unprintable::CODE, field, value: value.trim().to_owned(), message }.into());
        }
    }
    Ok(())
}

/// The staff member acts for this school (its registrar, or the registrar of
/// its central school). Bureau staff get 403: school steps are the school's.
pub fn require_school(actor: &Actor, school_id: i64) -> AppResult<()> {
    if actor.is_bureau() {
        return Err(AppError::not_permitted("workflow.school_step", "此步骤由学校学籍管理员办理，教育局不能代办"));
    }
    if actor.may_see(school_id) { Ok(()) } else { Err(AppError::NotFound) }
}

/// The staff member is bureau staff.
pub fn require_bureau(actor: &Actor) -> AppResult<()> {
    if actor.is_bureau() {
        Ok(())
    } else {
        Err(AppError::not_permitted("workflow.bureau_step", "此步骤由教育局办理，学校不能代办"))
    }
}

/// Takes the write lock on the student's row for the rest of the
/// transaction (SQLite: the database write lock; PostgreSQL: the row lock),
/// then reads the record. `None` if there is no such student.
pub async fn lock_student(tx: &mut Transaction<'static, Any>, public_id: &str) -> AppResult<Option<Student>> {
    let n = events::lock_by_public_id(&mut **tx, public_id).await?;
    if n == 0 {
        return Ok(None);
    }
    Ok(students::by_public_id(&mut *tx, public_id).await?)
}

/// A visible student, locked: 404 when missing or outside the staff member's schools.
pub async fn lock_visible(tx: &mut Transaction<'static, Any>, actor: &Actor, public_id: &str) -> AppResult<Student> {
    match lock_student(tx, public_id).await? {
        Some(s) if actor.may_see(s.school_id) => Ok(s),
        _ => Err(AppError::NotFound),
    }
}

/// The student's school.
pub async fn school_of<'c>(e: impl Executor<'c, Database = Any>, student: &Student) -> AppResult<School> {
    schools::by_id(e, student.school_id).await?.ok_or(AppError::NotFound)
}

/// What the status machine needs to know about this student.
pub fn facts(student: &Student, school: &School, bureau_override: bool) -> Facts {
    Facts {
        graduating_grade: student.grade.number() == school.kind.graduating_grade(),
        primary_graduate_grade: school.kind == SchoolKind::Primary && student.grade.number() == 6,
        bureau_override,
    }
}

/// The status dates kept on the record: when the current status began and
/// when it runs out (suspension) — `None` leaves a column as it is.
#[derive(Debug, Clone, Copy, Default)]
pub struct StatusDates {
    /// When the new status began.
    pub since: Option<NaiveDate>,
    /// When it runs out.
    pub until: Option<NaiveDate>,
}

/// One status change: checks it against the machine, updates the record
/// (only if the status is still what was read: the row is locked), writes the
/// event. Returns the new status.
#[expect(clippy::too_many_arguments, reason = "one part of the event each")]
pub async fn change_status(
    tx: &mut Transaction<'static, Any>,
    student: &Student,
    action: Action,
    facts: Facts,
    dates: StatusDates,
    detail: &Value,
    proofs: &[String],
    actor_id: Option<i64>,
    on: NaiveDate,
) -> AppResult<StudentStatus> {
    let to = transitions::apply(student.status, action, facts)?;
    // An open problem record (Art. 11) holds the record where it is, as in
    // the national system, until it is resolved or merged away.
    if !matches!(action, Action::MergeInto | Action::ChangeInfo | Action::RefuseRecord)
        && crate::db::problems::open_of_student(&mut **tx, student.id).await? > 0
    {
        return Err(AppError::conflict(
            "problem.open",
            "该学生有未处理的问题学籍（第十一条），须先在“问题学籍”页处理，之后才能办理学籍变动",
        ));
    }
    let now = crate::db::now_text();
    let change = events::StatusChange {
        student_id: student.id,
        from: student.status,
        to,
        since: dates.since,
        until: dates.until,
        clear_until: !(to == StudentStatus::Suspended || dates.until.is_some()),
    };
    let changed = events::set_status(&mut **tx, &change, &now).await?;
    if changed != 1 {
        return Err(AppError::conflict("status.changed", "该学生的学籍状态刚被他人修改，请刷新后重试"));
    }
    record_event(tx, student.id, action.code(), Some(student.status), Some(to), detail, proofs, actor_id, on).await?;
    // The dropout-control ledger follows the status in the same transaction.
    crate::service::dropout::follow_status(tx, student, to, action, dates.since.unwrap_or(on), on, actor_id).await?;
    Ok(to)
}

/// Appends an event with its proofs (digests of dossier objects).
#[expect(clippy::too_many_arguments, reason = "one column each")]
pub async fn record_event(
    tx: &mut Transaction<'static, Any>,
    student_id: i64,
    kind: &str,
    from: Option<StudentStatus>,
    to: Option<StudentStatus>,
    detail: &Value,
    proofs: &[String],
    actor_id: Option<i64>,
    on: NaiveDate,
) -> AppResult<()> {
    let event = events::NewEvent { student_id, kind, from, to, detail, proofs, actor_id, on };
    events::insert(&mut **tx, &event, &crate::db::now_text()).await?;
    Ok(())
}

/// A class of `school` in `grade` numbered `number`, locked, with room for one more.
pub async fn class_with_room(
    tx: &mut Transaction<'static, Any>,
    school: &School,
    grade: i64,
    number: i64,
) -> AppResult<Class> {
    let Some(class) = schools::class_by(&mut **tx, school.id, grade, number).await? else {
        return Err(DomainError::new(
            "class.not_found",
            "班级",
            schools::class_name(grade, number),
            &format!("在{}不存在，请先建立班级", school.name),
        )
        .into());
    };
    schools::lock_class(&mut **tx, class.id).await?;
    let enrolled = crate::db::rolls::seated_in_class(&mut **tx, class.id).await?;
    let cap = ClassCap::new(school.kind, u16::try_from(class.cap).ok())
        .map_err(|_| AppError::Internal(anyhow::anyhow!("class {} has cap {}", class.id, class.cap)))?;
    cap.check_room(&class.name(), u64::try_from(enrolled).unwrap_or(0), 1)?;
    Ok(class)
}

/// Checks that every digest names an object in the student's dossier;
/// returns them normalised.
pub async fn check_proofs(app: &App, student: &Student, digests: &[String]) -> AppResult<Vec<String>> {
    let r = crate::dossier::StudentRef {
        id: student.id,
        public_id: student.public_id.clone(),
        school_id: student.school_id,
    };
    let mut out = Vec::with_capacity(digests.len());
    for d in digests {
        let digest: xueji_archive::Digest = d.trim().parse().map_err(|_| {
            AppError::from(DomainError::new("proof.invalid", "证明材料", d.as_str(), "不是档案中材料的 sha256 摘要"))
        })?;
        let found = crate::dossier::find_entry(&app.db, &app.archive, &r, &digest)
            .await
            .map_err(|e| AppError::Internal(anyhow::anyhow!("proof lookup: {}", e.code())))?;
        if found.is_none() {
            return Err(DomainError::new(
                "proof.not_in_dossier",
                "证明材料",
                digest.to_string(),
                "不在该学生的纸质档案中，请先扫描上传",
            )
            .into());
        }
        out.push(digest.to_string());
    }
    Ok(out)
}

/// The student's status dates (`status_since`, `status_until`).
pub async fn status_dates<'c>(
    e: impl Executor<'c, Database = Any>,
    student_id: i64,
) -> AppResult<(Option<String>, Option<String>)> {
    let dates = events::status_dates(e, student_id).await?;
    Ok((dates.since, dates.until))
}
