//! Suspension, its renewal and resumption (Art. 22-24): opened by the
//! student's school (or recorded by the bureau with an override reason),
//! approved by the school, then the bureau.

use super::{Case, CaseKind, NewCase, ProofRef, checked_proofs, ensure_no_open_case, insert_case};
use super::{optional_override, proof_texts};
use crate::app::App;
use crate::db::schools;
use crate::domain::{Action, Actor, DomainError};
use crate::error::{AppError, AppResult};
use crate::service::audit::Audit;
use crate::workflow::{
    class_with_room, facts, lock_visible, parse_date, printable, require_school, required, school_of, status_dates,
};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::json;

/// A suspension, renewal or resumption application.
#[derive(Debug, Clone, Deserialize)]
pub struct SuspensionRequest {
    /// Why (illness: a county-level hospital's diagnosis and receipts; otherwise police or civil-affairs proof).
    pub reason: String,
    /// Suspension: the first day (default today).
    #[serde(default)]
    pub start_date: Option<String>,
    /// Resumption: `same` or `next` grade, as the family chooses.
    #[serde(default)]
    pub resume_grade: Option<String>,
    /// Resumption: the class number in that grade.
    #[serde(default)]
    pub class_number: Option<i64>,
    /// The applying guardian.
    pub guardian_name: String,
    /// Their phone.
    #[serde(default)]
    pub guardian_phone: String,
    /// Proofs in the dossier.
    #[serde(default)]
    pub proofs: Vec<ProofRef>,
    /// Bureau only: the reason to override an in-principle refusal.
    #[serde(default)]
    pub override_reason: Option<String>,
}

/// Opens a suspension, renewal or resumption application (Art. 22-24).
pub async fn open_suspension(
    app: &App,
    actor: &Actor,
    public_id: &str,
    kind: CaseKind,
    req: &SuspensionRequest,
) -> AppResult<Case> {
    let mut audit = Audit::new(actor, format!("case.{}.open", kind.code()), ("student", public_id));
    let result = open_suspension_in(app, actor, public_id, kind, req, &mut audit).await;
    audit.close(&app.db, result).await
}

async fn open_suspension_in(
    app: &App,
    actor: &Actor,
    public_id: &str,
    kind: CaseKind,
    req: &SuspensionRequest,
    audit: &mut Audit<'_>,
) -> AppResult<Case> {
    let today = app.today();
    let reason = required("申请原因", &req.reason)?;
    let guardian = required("监护人姓名", &req.guardian_name)?;
    let override_reason = optional_override(actor, req.override_reason.as_deref())?;
    let mut texts = vec![("申请原因", reason.as_str()), ("监护人姓名", guardian.as_str())];
    texts.push(("监护人电话", req.guardian_phone.as_str()));
    texts.extend(proof_texts(&req.proofs));
    printable(&app.coverage, &texts)?;
    let mut tx = app.db.pool.begin().await?;
    let student = lock_visible(&mut tx, actor, public_id).await?;
    if override_reason.is_none() {
        require_school(actor, student.school_id)?;
    }
    ensure_no_open_case(&mut tx, student.id).await?;
    let school = school_of(&mut *tx, &student).await?;
    let f = facts(&student, &school, override_reason.is_some());
    let (_, until) = status_dates(&mut *tx, student.id).await?;
    let mut detail = json!({
        "reason": reason, "guardian_name": guardian, "guardian_phone": req.guardian_phone.trim(),
        "apply_date": today.to_string(), "grade": student.grade,
    });
    let mut to_class_id = None;
    match kind {
        CaseKind::Suspension => {
            crate::domain::transitions::apply(student.status, Action::Suspend, f)?;
            let start = match req.start_date.as_deref().filter(|d| !d.trim().is_empty()) {
                Some(d) => parse_date("休学开始日期", d)?,
                None => today,
            };
            let end = suspension_end(start);
            detail["start_date"] = json!(start.to_string());
            detail["end_date"] = json!(end.to_string());
        }
        CaseKind::Renewal => {
            crate::domain::transitions::apply(student.status, Action::RenewSuspension, f)?;
            let from = until.as_deref().and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()).unwrap_or(today);
            let start = from.succ_opt().unwrap_or(from);
            detail["start_date"] = json!(start.to_string());
            detail["end_date"] = json!(suspension_end(start).to_string());
        }
        CaseKind::Resumption => {
            crate::domain::transitions::apply(student.status, Action::Resume, f)?;
            let next = match req.resume_grade.as_deref().unwrap_or("same") {
                "same" => false,
                "next" => true,
                other => {
                    return Err(DomainError::new(
                        "resumption.grade",
                        "复学年级",
                        other,
                        "应为 same（原年级）或 next（下一年级）",
                    )
                    .into());
                }
            };
            let grade = i64::from(student.grade) + i64::from(next);
            if grade > i64::from(school.kind.graduating_grade()) {
                return Err(DomainError::new(
                    "resumption.no_next_grade",
                    "复学年级",
                    schools::grade_name(grade),
                    &format!("超出{}的年级，请选择回原年级", school.kind.label()),
                )
                .into());
            }
            let number = req.class_number.ok_or_else(|| {
                AppError::bad_request("resumption.class_required", "请选择复学后就读的班级（class_number）")
            })?;
            let class = class_with_room(&mut tx, &school, grade, number).await?;
            to_class_id = Some(class.id);
            detail["resume_grade"] = json!(grade);
            detail["resume_class"] = json!(class.name());
            detail["start_date"] = json!(today.to_string());
        }
        _ => return Err(AppError::bad_request("case.kind", "不是休学、续办休学或复学申请")),
    }
    let proofs = checked_proofs(app, &student, kind, &req.proofs).await?;
    let new = NewCase { to_class_id, override_reason, ..NewCase::at_school(kind, &student, detail, proofs) };
    let case = insert_case(app, &mut tx, actor, new, today).await?;
    audit.commit(tx).await?;
    Ok(case)
}

/// One year of suspension from `start` (Art. 23): the last day is the day before the anniversary.
pub fn suspension_end(start: NaiveDate) -> NaiveDate {
    let anniversary = start.checked_add_months(chrono::Months::new(12)).unwrap_or(start);
    anniversary.pred_opt().unwrap_or(anniversary)
}
