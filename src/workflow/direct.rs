//! What the school records and reports at once, without an approval chain:
//! a suspected dropout (a week absent) and a dropout (over a month absent),
//! each reported to the bureau as it is recorded (Art. 29); the recall
//! notice with its return-by date, its delivery, and the return; death
//! (within 10 working days, with proof) and missing or detained students
//! (Art. 28); the return of a student from abroad (Art. 19).

use super::{
    STEP_WORKING_DAYS, StatusDates, change_status, check_proofs, class_with_room, facts, lock_visible, not_future,
    one_month_after, parse_date, record_event, require_school, required, school_of,
};
use crate::app::App;
use crate::db::{events, recalls, students};
use crate::documents::Issued;
use crate::domain::Actor;
use crate::domain::{Action, DomainError, StudentStatus};
use crate::error::{AppError, AppResult};
use crate::render::DocKind;
use crate::service::audit::Audit;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Days of absence before a student may be reported as a suspected dropout.
pub const SUSPECT_AFTER_DAYS: i64 = 7;

/// A dropout report (suspected or confirmed).
#[derive(Debug, Clone, Deserialize)]
pub struct DropoutReport {
    /// First day of absence.
    pub absent_since: String,
    /// What the school knows (no more than needed).
    #[serde(default)]
    pub note: String,
}

/// Reports a suspected dropout: absent a week or more (Art. 29).
pub async fn suspect_dropout(app: &App, actor: &Actor, public_id: &str, r: &DropoutReport) -> AppResult<StudentStatus> {
    let mut audit = Audit::new(actor, "student.dropout_suspected", ("student", public_id));
    let result = suspect_dropout_in(app, actor, public_id, r, &mut audit).await;
    audit.close(&app.db, result).await
}

async fn suspect_dropout_in(
    app: &App,
    actor: &Actor,
    public_id: &str,
    r: &DropoutReport,
    audit: &mut Audit<'_>,
) -> AppResult<StudentStatus> {
    let today = app.today();
    let since = parse_date("缺课开始日期", &r.absent_since)?;
    not_future("缺课开始日期", since, today)?;
    if (today - since).num_days() < SUSPECT_AFTER_DAYS {
        return Err(DomainError::new(
            "dropout.too_soon",
            "缺课开始日期",
            since.to_string(),
            "距今不足一周，连续缺课满一周方可按疑似辍学上报",
        )
        .into());
    }
    report(app, actor, public_id, Action::SuspectDropout, since, &r.note, audit).await
}

/// Reports a dropout: absent over a month (Art. 29). Reported to the bureau in the same step.
pub async fn report_dropout(app: &App, actor: &Actor, public_id: &str, r: &DropoutReport) -> AppResult<StudentStatus> {
    let mut audit = Audit::new(actor, "student.dropout_reported", ("student", public_id));
    let result = report_dropout_in(app, actor, public_id, r, &mut audit).await;
    audit.close(&app.db, result).await
}

async fn report_dropout_in(
    app: &App,
    actor: &Actor,
    public_id: &str,
    r: &DropoutReport,
    audit: &mut Audit<'_>,
) -> AppResult<StudentStatus> {
    let today = app.today();
    let since = parse_date("缺课开始日期", &r.absent_since)?;
    not_future("缺课开始日期", since, today)?;
    if one_month_after(since) >= today {
        return Err(DomainError::new(
            "dropout.too_soon",
            "缺课开始日期",
            since.to_string(),
            "距今不足一个月：连续缺课超过一个月方按辍学上报，之前请按疑似辍学上报",
        )
        .into());
    }
    report(app, actor, public_id, Action::MarkDropout, since, &r.note, audit).await
}

async fn report(
    app: &App,
    actor: &Actor,
    public_id: &str,
    action: Action,
    since: NaiveDate,
    note: &str,
    audit: &mut Audit<'_>,
) -> AppResult<StudentStatus> {
    let mut tx = app.db.pool.begin().await?;
    let student = lock_visible(&mut tx, actor, public_id).await?;
    require_school(actor, student.school_id)?;
    let school = school_of(&mut *tx, &student).await?;
    let detail = json!({
        "absent_since": since.to_string(),
        "note": note.trim().chars().take(500).collect::<String>(),
        "reported_to_bureau": app.today().to_string(),
    });
    let to = change_status(
        &mut tx,
        &student,
        action,
        facts(&student, &school, false),
        StatusDates { since: Some(since), until: None },
        &detail,
        &[],
        actor.user_id,
        app.today(),
    )
    .await?;
    audit.commit(tx).await?;
    Ok(to)
}

/// A recall notice to issue.
#[derive(Debug, Clone, Deserialize)]
pub struct RecallRequest {
    /// Return-by date (default 10 working days from today).
    #[serde(default)]
    pub return_by: Option<String>,
    /// The school's contact person.
    pub contact_person: String,
    /// Their phone.
    pub contact_phone: String,
}

pub use crate::db::recalls::Recall;

/// A student's recall notices, newest first.
pub async fn recalls_of(app: &App, student_id: i64) -> AppResult<Vec<Recall>> {
    Ok(recalls::of_student(&app.db.pool, student_id).await?)
}

/// Issues a recall notice (劝返复学通知书) with a number and a return-by date,
/// and prints it. The student must be a (suspected) dropout. The notice is
/// rendered first; only then are the notice and its event recorded, so a
/// notice that cannot be printed leaves nothing behind.
pub async fn issue_recall(app: &App, actor: &Actor, public_id: &str, r: &RecallRequest) -> AppResult<(Recall, Issued)> {
    let mut audit = Audit::new(actor, "student.recall_issued", ("student", public_id));
    let result = issue_recall_in(app, actor, public_id, r, &mut audit).await;
    audit.close(&app.db, result).await
}

async fn issue_recall_in(
    app: &App,
    actor: &Actor,
    public_id: &str,
    r: &RecallRequest,
    audit: &mut Audit<'_>,
) -> AppResult<(Recall, Issued)> {
    let today = app.today();
    let contact_person = required("联系人", &r.contact_person)?;
    let contact_phone = required("联系电话", &r.contact_phone)?;
    super::printable(&app.coverage, &[("联系人", &contact_person), ("联系电话", &contact_phone)])?;
    let return_by = match r.return_by.as_deref().filter(|d| !d.trim().is_empty()) {
        Some(d) => parse_date("限期返校日期", d)?,
        None => app.calendar().add_working_days(today, STEP_WORKING_DAYS),
    };
    if return_by <= today {
        return Err(DomainError::new("recall.return_by", "限期返校日期", return_by.to_string(), "须晚于今天").into());
    }
    let mut conn = app.db.pool.acquire().await?;
    let student = students::by_public_id(&mut conn, public_id).await?.ok_or(AppError::NotFound)?;
    drop(conn);
    if !actor.may_see(student.school_id) {
        return Err(AppError::NotFound);
    }
    require_school(actor, student.school_id)?;
    if !matches!(student.status, StudentStatus::SuspectedDropout | StudentStatus::Dropout) {
        return Err(AppError::conflict(
            "recall.not_dropout",
            format!("该学生学籍状态为“{}”，劝返复学通知书只发给辍学或疑似辍学学生", student.status.label()),
        ));
    }
    let (since, _) = super::status_dates(&app.db.pool, student.id).await?;
    let absent_since = since.unwrap_or_else(|| today.to_string());
    let school = school_of(&app.db.pool, &student).await?;
    let year = today.format("%Y").to_string();
    let seq = recalls::count_in_year(&app.db.pool, school.id, &year).await?;
    // Letters and digits only: the number travels in the signed QR token.
    let number = format!("QF{year}{}{:03}", school.code, seq + 1);
    let previous = crate::documents::current(app, student.id, DocKind::RecallNotice).await?;
    let guardian = student.guardians.first().map(|g| g.name.clone()).unwrap_or_default();
    let mut extra = serde_json::Map::new();
    extra.insert(
        "recall".into(),
        json!({
            "guardian_name": guardian, "absent_since": absent_since, "return_by": return_by.to_string(),
            "contact_person": contact_person, "contact_phone": contact_phone,
        }),
    );
    let issued = crate::documents::issue_fresh(
        app,
        &student,
        DocKind::RecallNotice,
        crate::documents::Options {
            number: Some(number.clone()),
            extra,
            actor_id: actor.user_id,
            ..Default::default()
        },
    )
    .await?;
    let recorded =
        record_recall(app, actor, public_id, &student, &number, &absent_since, return_by, &issued, audit).await;
    if let Err(e) = recorded {
        // Not recorded (the status changed meanwhile, or the number was taken): the printed notice is void.
        recalls::void_notice(&app.db.pool, &issued.doc_id, "劝返复学通知书未能登记，作废", &crate::db::now_text())
            .await?;
        return Err(e);
    }
    if let Some(old) = previous {
        let reason = format!("由 {number} 取代");
        recalls::supersede_notice(&app.db.pool, &old.doc_id, &issued.doc_id, &reason, &crate::db::now_text()).await?;
    }
    let recall = recalls::by_number(&app.db.pool, &number).await?.ok_or(AppError::NotFound)?;
    Ok((recall, issued))
}

#[expect(clippy::too_many_arguments, reason = "the notice's parts")]
async fn record_recall(
    app: &App,
    actor: &Actor,
    public_id: &str,
    read: &students::Student,
    number: &str,
    absent_since: &str,
    return_by: NaiveDate,
    issued: &Issued,
    audit: &mut Audit<'_>,
) -> AppResult<()> {
    let mut tx = app.db.pool.begin().await?;
    let student = lock_visible(&mut tx, actor, public_id).await?;
    if student.status != read.status {
        return Err(AppError::conflict("status.changed", "该学生的学籍状态刚被他人修改，请刷新后重试"));
    }
    let recall = recalls::NewRecall {
        number,
        student_id: student.id,
        school_id: student.school_id,
        absent_since,
        issued_on: app.today(),
        return_by,
        doc_id: &issued.doc_id,
        issued_by: actor.user_id,
    };
    recalls::insert(&mut *tx, &recall, &crate::db::now_text()).await?;
    record_event(
        &mut tx,
        student.id,
        "recall_issued",
        None,
        None,
        &json!({"number": number, "return_by": return_by.to_string(), "document": issued.doc_id}),
        &[],
        actor.user_id,
        app.today(),
    )
    .await?;
    audit.commit(tx).await?;
    Ok(())
}

/// The delivery of a recall notice.
#[derive(Debug, Clone, Deserialize)]
pub struct Delivery {
    /// Delivered on.
    pub delivered_on: String,
    /// To whom (the guardian who signed the receipt).
    pub delivered_to: String,
    /// How.
    #[serde(default)]
    pub method: String,
}

/// Records that a recall notice was delivered (the signed receipt).
pub async fn record_delivery(app: &App, actor: &Actor, number: &str, d: &Delivery) -> AppResult<Recall> {
    let mut audit = Audit::new(actor, "student.recall_delivered", ("student", "-"));
    let result = record_delivery_in(app, actor, number, d, &mut audit).await;
    audit.close(&app.db, result).await
}

async fn record_delivery_in(
    app: &App,
    actor: &Actor,
    number: &str,
    d: &Delivery,
    audit: &mut Audit<'_>,
) -> AppResult<Recall> {
    let today = app.today();
    let on = parse_date("送达日期", &d.delivered_on)?;
    not_future("送达日期", on, today)?;
    let to = required("签收人", &d.delivered_to)?;
    let mut tx = app.db.pool.begin().await?;
    let Some(recall) = recalls::by_number(&mut *tx, number).await? else { return Err(AppError::NotFound) };
    let school_id = recall.school_id;
    if !actor.may_see(school_id) {
        return Err(AppError::NotFound);
    }
    require_school(actor, school_id)?;
    if recall.delivered_on.is_some() {
        return Err(AppError::conflict("recall.delivered", "该通知书已登记送达，不能重复登记"));
    }
    if on.to_string() < recall.issued_on {
        return Err(DomainError::new(
            "recall.delivered_before_issue",
            "送达日期",
            on.to_string(),
            "早于通知书开具日期",
        )
        .into());
    }
    let method = if d.method.trim().is_empty() { "当面送达".to_owned() } else { d.method.trim().to_owned() };
    recalls::set_delivery(&mut *tx, number, on, &to, &method).await?;
    let student_id = recalls::student_of(&mut *tx, number).await?;
    record_event(
        &mut tx,
        student_id,
        "recall_delivered",
        None,
        None,
        &json!({"number": number, "delivered_on": on.to_string(), "method": method}),
        &[],
        actor.user_id,
        app.today(),
    )
    .await?;
    audit.target(&recall.student);
    audit.school(school_id);
    audit.commit(tx).await?;
    recalls::by_number(&app.db.pool, number).await?.ok_or(AppError::NotFound)
}

/// A student back at school.
#[derive(Debug, Clone, Deserialize)]
pub struct Return {
    /// Back on.
    pub returned_on: String,
    /// Grade (back from abroad: the school places the student; default the record's grade).
    #[serde(default)]
    pub grade: Option<i64>,
    /// Class number (default the class the student left, if it has room).
    #[serde(default)]
    pub class_number: Option<i64>,
    /// Note.
    #[serde(default)]
    pub note: String,
}

/// Records a return: a (suspected) dropout back after recall, a missing
/// student found, a student back from abroad (the record continues).
pub async fn record_return(app: &App, actor: &Actor, public_id: &str, r: &Return) -> AppResult<StudentStatus> {
    let mut audit = Audit::new(actor, "student.returned", ("student", public_id));
    let result = record_return_in(app, actor, public_id, r, &mut audit).await;
    audit.close(&app.db, result).await
}

async fn record_return_in(
    app: &App,
    actor: &Actor,
    public_id: &str,
    r: &Return,
    audit: &mut Audit<'_>,
) -> AppResult<StudentStatus> {
    let today = app.today();
    let on = parse_date("返校日期", &r.returned_on)?;
    not_future("返校日期", on, today)?;
    let mut tx = app.db.pool.begin().await?;
    let student = lock_visible(&mut tx, actor, public_id).await?;
    require_school(actor, student.school_id)?;
    let school = school_of(&mut *tx, &student).await?;
    let action = match student.status {
        StudentStatus::SuspectedDropout | StudentStatus::Dropout => Action::ReturnToSchool,
        StudentStatus::Missing => Action::ReturnFound,
        StudentStatus::Abroad => Action::ReturnFromAbroad,
        other => {
            return Err(DomainError::new("status.transition", "学籍状态", other.label(), "，不能登记返校").into());
        }
    };
    let grade = match (action, r.grade) {
        (Action::ReturnFromAbroad, Some(g)) => {
            crate::domain::Grade::new(u8::try_from(g).unwrap_or(0))?.check_school(school.kind)?;
            g
        }
        _ => i64::from(student.grade),
    };
    let number = match (r.class_number, student.class_number) {
        (Some(n), _) | (None, Some(n)) if grade == i64::from(student.grade) || r.class_number.is_some() => n,
        _ => {
            return Err(AppError::bad_request("return.class_required", "请选择返校后就读的班级（class_number）"));
        }
    };
    let class = class_with_room(&mut tx, &school, grade, number).await?;
    let detail = json!({"returned_on": on.to_string(), "class": class.name(), "note": r.note.trim()});
    let to = change_status(
        &mut tx,
        &student,
        action,
        facts(&student, &school, false),
        StatusDates { since: Some(on), until: None },
        &detail,
        &[],
        actor.user_id,
        app.today(),
    )
    .await?;
    students::set_grade_and_class(&mut *tx, student.id, grade, class.id).await?;
    if action == Action::ReturnToSchool {
        recalls::set_returned(&mut *tx, student.id, on).await?;
    }
    audit.commit(tx).await?;
    Ok(to)
}

/// A death to record (Art. 28).
#[derive(Debug, Clone, Deserialize)]
pub struct Death {
    /// Date of death.
    pub died_on: String,
    /// The proof (death certificate) in the student's dossier.
    #[serde(default)]
    pub proofs: Vec<String>,
    /// Note.
    #[serde(default)]
    pub note: String,
}

/// What recording a death found about its deadline.
#[derive(Debug, Clone, Serialize)]
pub struct DeathRecorded {
    /// The deadline (10 working days after the death).
    pub due: String,
    /// Recorded after the deadline.
    pub late: bool,
}

/// Cancels a record on death, with proof, and reports whether it was within 10 working days.
pub async fn record_death(app: &App, actor: &Actor, public_id: &str, d: &Death) -> AppResult<DeathRecorded> {
    let mut audit = Audit::new(actor, "student.deceased", ("student", public_id));
    let result = record_death_in(app, actor, public_id, d, &mut audit).await;
    audit.close(&app.db, result).await
}

async fn record_death_in(
    app: &App,
    actor: &Actor,
    public_id: &str,
    d: &Death,
    audit: &mut Audit<'_>,
) -> AppResult<DeathRecorded> {
    let today = app.today();
    let died = parse_date("死亡日期", &d.died_on)?;
    not_future("死亡日期", died, today)?;
    if d.proofs.is_empty() {
        return Err(DomainError::new(
            "death.proof_required",
            "证明材料",
            "",
            "注销学籍须上传死亡证明等相关证明（第二十八条）",
        )
        .into());
    }
    let mut tx = app.db.pool.begin().await?;
    let student = lock_visible(&mut tx, actor, public_id).await?;
    require_school(actor, student.school_id)?;
    let open = events::open_case_count(&mut *tx, student.id).await?;
    if open > 0 {
        return Err(AppError::conflict("case.open_exists", "该学生有未办结的申请，请先撤回后再注销学籍"));
    }
    let proofs = check_proofs(app, &student, &d.proofs).await?;
    let school = school_of(&mut *tx, &student).await?;
    let due = app.calendar().add_working_days(died, STEP_WORKING_DAYS);
    let late = today > due;
    let detail = json!({"died_on": died.to_string(), "due": due.to_string(), "late": late, "note": d.note.trim()});
    change_status(
        &mut tx,
        &student,
        Action::Decease,
        facts(&student, &school, false),
        StatusDates { since: Some(died), until: None },
        &detail,
        &proofs,
        actor.user_id,
        app.today(),
    )
    .await?;
    audit.commit(tx).await?;
    Ok(DeathRecorded { due: due.to_string(), late })
}

/// A missing or detained student to report (Art. 28).
#[derive(Debug, Clone, Deserialize)]
pub struct Missing {
    /// Since when.
    pub since: String,
    /// `missing` or `detained`.
    pub kind: String,
    /// Proofs (police notice, …), optional.
    #[serde(default)]
    pub proofs: Vec<String>,
    /// Note.
    #[serde(default)]
    pub note: String,
}

/// Reports a missing or detained student; the record is kept.
pub async fn report_missing(app: &App, actor: &Actor, public_id: &str, m: &Missing) -> AppResult<StudentStatus> {
    let mut audit = Audit::new(actor, "student.missing_reported", ("student", public_id));
    let result = report_missing_in(app, actor, public_id, m, &mut audit).await;
    audit.close(&app.db, result).await
}

async fn report_missing_in(
    app: &App,
    actor: &Actor,
    public_id: &str,
    m: &Missing,
    audit: &mut Audit<'_>,
) -> AppResult<StudentStatus> {
    let today = app.today();
    let since = parse_date("离校日期", &m.since)?;
    not_future("离校日期", since, today)?;
    let kind = match m.kind.as_str() {
        "missing" => "失踪",
        "detained" => "被刑事拘留",
        other => {
            return Err(
                DomainError::new("missing.kind", "情形", other, "应为 missing（失踪）或 detained（被拘留）").into()
            );
        }
    };
    let mut tx = app.db.pool.begin().await?;
    let student = lock_visible(&mut tx, actor, public_id).await?;
    require_school(actor, student.school_id)?;
    let proofs = check_proofs(app, &student, &m.proofs).await?;
    let school = school_of(&mut *tx, &student).await?;
    let detail = json!({"since": since.to_string(), "kind": kind, "note": m.note.trim(),
                        "reported_to_bureau": today.to_string()});
    let to = change_status(
        &mut tx,
        &student,
        Action::ReportMissing,
        facts(&student, &school, false),
        StatusDates { since: Some(since), until: None },
        &detail,
        &proofs,
        actor.user_id,
        app.today(),
    )
    .await?;
    audit.commit(tx).await?;
    Ok(to)
}
