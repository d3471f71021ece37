//! Transfer (Art. 16-21): opened in this system by the receiving school,
//! or by the sending school to a school outside this system, with the other
//! side's two approvals recorded by hand from their scanned papers.

use super::{Case, CaseKind, NewCase, ProofRef, Stage, checked_proofs, ensure_no_open_case, insert_case};
use super::{optional_override, proof_texts};
use crate::app::App;
use crate::db::{schools, students};
use crate::domain::{Action, Actor, DomainError};
use crate::error::{AppError, AppResult};
use crate::service::audit::Audit;
use crate::workflow::{
    StatusDates, change_status, check_proofs, class_with_room, facts, lock_student, not_future, parse_date, printable,
    require_school, required, school_of,
};
use serde::Deserialize;
use serde_json::json;

/// An approval of the other side, recorded by hand from its paper.
#[derive(Debug, Clone, Deserialize)]
pub struct ManualStep {
    /// `receiving_school` or `receiving_bureau`.
    pub stage: String,
    /// `approve` (a refusal by the other side is no transfer to record).
    #[serde(default = "approve")]
    pub decision: String,
    /// Opinion as written.
    #[serde(default)]
    pub opinion: String,
    /// Who signed.
    pub signer: String,
    /// The date on the paper.
    pub date: String,
    /// The scanned paper (in the student's dossier); required, refused with
    /// `transfer.external_approval_missing` when left out.
    #[serde(default)]
    pub proof: String,
}

fn approve() -> String {
    "approve".into()
}

/// The other side of a transfer that is not in this system.
#[derive(Debug, Clone, Deserialize)]
pub struct External {
    /// Province.
    pub province: String,
    /// County.
    pub county: String,
    /// School.
    pub school: String,
    /// Its approvals (receiving school and bureau), recorded by hand.
    #[serde(default)]
    pub approvals: Vec<ManualStep>,
}

/// A transfer application.
#[derive(Debug, Clone, Deserialize)]
pub struct TransferRequest {
    /// In this system: the receiving school names the student by number and name.
    #[serde(default)]
    pub student_no: Option<String>,
    /// The student's name (with `student_no`).
    #[serde(default)]
    pub name: Option<String>,
    /// To a school outside this system: the sending school names its student by public id.
    #[serde(default)]
    pub student: Option<String>,
    /// The receiving school's code (in this system; default the registrar's school).
    #[serde(default)]
    pub to_school: Option<String>,
    /// The receiving class number, in the student's grade (in this system).
    #[serde(default)]
    pub to_class: Option<i64>,
    /// The grade of the class picked, when the form's picker gives it: it
    /// must be the student's (a transfer never changes the grade).
    #[serde(default)]
    pub to_grade: Option<i64>,
    /// The receiving school outside this system.
    #[serde(default)]
    pub external: Option<External>,
    /// Why (家庭迁居, 随迁子女, …).
    pub reason: String,
    /// The applying guardian.
    pub guardian_name: String,
    /// Their phone.
    #[serde(default)]
    pub guardian_phone: String,
    /// Date of the written application (default today).
    #[serde(default)]
    pub apply_date: Option<String>,
    /// Proofs already in the student's dossier.
    #[serde(default)]
    pub proofs: Vec<ProofRef>,
    /// Bureau only: the reason to override an in-principle refusal.
    #[serde(default)]
    pub override_reason: Option<String>,
}

/// Opens a transfer: in this system by the receiving school (the student
/// becomes 转出中, the first stage is the receiving school's); to a school
/// outside this system by the sending school, with the other side's two
/// approvals recorded by hand from their scanned papers.
pub async fn open_transfer(app: &App, actor: &Actor, req: &TransferRequest) -> AppResult<Case> {
    let mut audit = Audit::new(actor, "case.transfer.open", ("case", "-"));
    let result = open_transfer_in(app, actor, req, &mut audit).await;
    audit.close(&app.db, result).await
}

async fn open_transfer_in(app: &App, actor: &Actor, req: &TransferRequest, audit: &mut Audit<'_>) -> AppResult<Case> {
    let today = app.today();
    let reason = required("转学原因", &req.reason)?;
    let guardian = required("监护人姓名", &req.guardian_name)?;
    let apply_date = match req.apply_date.as_deref().filter(|d| !d.trim().is_empty()) {
        Some(d) => parse_date("申请日期", d)?,
        None => today,
    };
    let override_reason = optional_override(actor, req.override_reason.as_deref())?;
    // What the 转学申请表 prints, checked before anything is written.
    let mut texts = vec![("转学原因", reason.as_str()), ("监护人姓名", guardian.as_str())];
    texts.push(("监护人电话", req.guardian_phone.as_str()));
    if let Some(ext) = &req.external {
        texts.extend([("转入省份", ext.province.as_str()), ("转入县区", ext.county.as_str())]);
        texts.push(("转入学校", ext.school.as_str()));
        for m in &ext.approvals {
            texts.extend([("审批意见", m.opinion.as_str()), ("签署人", m.signer.as_str())]);
        }
    }
    texts.extend(proof_texts(&req.proofs));
    printable(&app.coverage, &texts)?;
    let mut tx = app.db.pool.begin().await?;
    let case = if let Some(ext) = &req.external {
        let public_id = req.student.as_deref().ok_or_else(|| {
            AppError::bad_request("transfer.student_required", "转往系统外学校时须指明本校学生（student）")
        })?;
        let student = lock_student(&mut tx, public_id).await?.ok_or(AppError::NotFound)?;
        if !actor.may_see(student.school_id) {
            return Err(AppError::NotFound);
        }
        if override_reason.is_none() {
            require_school(actor, student.school_id)?;
        }
        ensure_no_open_case(&mut tx, student.id).await?;
        let school = school_of(&mut *tx, &student).await?;
        let province = required("转入省份", &ext.province)?;
        let county = required("转入县区", &ext.county)?;
        let to_school = required("转入学校", &ext.school)?;
        let mut manual = Vec::new();
        for stage in [Stage::ReceivingSchool, Stage::ReceivingBureau] {
            let Some(m) = ext.approvals.iter().find(|m| m.stage == stage.code()) else {
                return Err(DomainError::new(
                    "transfer.external_approval_missing",
                    "审批",
                    stage.label(),
                    "缺少：转往系统外学校须先登记对方学校和教育局的同意意见，并上传其纸质材料扫描件",
                )
                .into());
            };
            if m.decision != "approve" {
                return Err(AppError::bad_request(
                    "transfer.external_refused",
                    format!("{}未同意，转学不能继续办理", stage.label()),
                ));
            }
            if m.proof.trim().is_empty() {
                return Err(DomainError::new(
                    "transfer.external_approval_missing",
                    "审批",
                    stage.label(),
                    "缺少纸质材料扫描件：转往系统外学校须上传对方同意意见的扫描件",
                )
                .into());
            }
            required("签署人", &m.signer)?;
            let date = parse_date("审批日期", &m.date)?;
            not_future("审批日期", date, today)?;
            let digest = check_proofs(app, &student, std::slice::from_ref(&m.proof)).await?.remove(0);
            manual.push((stage, m.clone(), date, digest));
        }
        let proofs = checked_proofs(app, &student, CaseKind::Transfer, &req.proofs).await?;
        let facts = facts(&student, &school, override_reason.is_some());
        let detail = json!({
            "reason": reason, "guardian_name": guardian, "guardian_phone": req.guardian_phone.trim(),
            "apply_date": apply_date.to_string(), "external": true,
            "to_province": province, "to_county": county, "to_school": to_school,
            "from_school": school.name, "grade": student.grade,
        });
        change_status(
            &mut tx,
            &student,
            Action::StartTransfer,
            facts,
            StatusDates { since: Some(today), until: None },
            &json!({"to_school": to_school, "to_county": county, "to_province": province, "external": true,
                    "override_reason": override_reason}),
            &proofs.iter().map(|p| p.0.clone()).collect::<Vec<_>>(),
            actor.user_id,
            today,
        )
        .await?;
        let new = NewCase {
            kind: CaseKind::Transfer,
            student: &student,
            to_school_id: None,
            to_class_id: None,
            detail,
            override_reason,
            proofs,
            manual,
        };
        insert_case(app, &mut tx, actor, new, today).await?
    } else {
        let (no, name) = match (req.student_no.as_deref(), req.name.as_deref()) {
            (Some(no), Some(name)) if !no.trim().is_empty() && !name.trim().is_empty() => {
                (no.trim(), crate::domain::initials::middle_dot(name.trim()))
            }
            _ => {
                return Err(AppError::bad_request(
                    "transfer.student_required",
                    "请填写转学学生的学籍号和姓名（转入学校据此查找学生）",
                ));
            }
        };
        let to_school = match req.to_school.as_deref().filter(|c| !c.trim().is_empty()) {
            Some(code) => schools::by_code(&mut *tx, code.trim()).await?.ok_or_else(|| {
                AppError::from(DomainError::new("school.unknown", "转入学校", code, "不是本县学校代码"))
            })?,
            None => {
                let id = actor.school_id.ok_or_else(|| {
                    AppError::bad_request("transfer.to_school_required", "请指明转入学校（to_school）")
                })?;
                schools::by_id(&mut *tx, id).await?.ok_or(AppError::NotFound)?
            }
        };
        if override_reason.is_none() {
            require_school(actor, to_school.id)?;
        }
        let id = students::public_id_by_no_and_name(&mut *tx, &no.to_ascii_uppercase(), &name).await?;
        let not_found = || {
            AppError::from(DomainError::new(
                "transfer.student_not_found",
                "学籍号",
                no,
                "与所填姓名不符，或本系统中没有该学生",
            ))
        };
        let student = match id {
            Some(id) => lock_student(&mut tx, &id).await?.ok_or_else(not_found)?,
            None => return Err(not_found()),
        };
        let from = school_of(&mut *tx, &student).await?;
        if from.id == to_school.id {
            return Err(AppError::bad_request("transfer.same_school", "转入学校与学生所在学校相同，不是转学"));
        }
        if from.county_town && to_school.county_town && override_reason.is_none() {
            return Err(DomainError::new(
                "transfer.county_town",
                "转入学校",
                &to_school.name,
                &format!(
                    "与{}均为县城学校，县城学校之间原则上不允许转学（第十八条），确需办理的须由教育局记录理由",
                    from.name
                ),
            )
            .into());
        }
        let grade = student.grade;
        grade.check_school(to_school.kind).map_err(|_| {
            AppError::from(DomainError::new(
                "transfer.grade_mismatch",
                "转入学校",
                &to_school.name,
                &format!("没有{}，转学不得变更年级（第二十条）", grade.label()),
            ))
        })?;
        if let Some(g) = req.to_grade.filter(|g| *g != i64::from(grade.number())) {
            return Err(DomainError::new(
                "transfer.grade_changed",
                "转入班级",
                crate::db::schools::grade_name(g),
                &format!("与学生所在年级（{}）不同，转学不得变更年级（第二十条）", grade.label()),
            )
            .into());
        }
        let class_number = req.to_class.ok_or_else(|| {
            AppError::bad_request("transfer.class_required", "请选择转入班级（to_class，同一年级的班号）")
        })?;
        let class = class_with_room(&mut tx, &to_school, i64::from(student.grade), class_number).await?;
        within_plan(&mut tx, &to_school, &student, class.number, today).await?;
        ensure_no_open_case(&mut tx, student.id).await?;
        let proofs = checked_proofs(app, &student, CaseKind::Transfer, &req.proofs).await?;
        let facts = facts(&student, &from, override_reason.is_some());
        change_status(
            &mut tx,
            &student,
            Action::StartTransfer,
            facts,
            StatusDates { since: Some(today), until: None },
            &json!({"to_school": to_school.code, "to_class": class.name(), "override_reason": override_reason}),
            &proofs.iter().map(|p| p.0.clone()).collect::<Vec<_>>(),
            actor.user_id,
            today,
        )
        .await?;
        let detail = json!({
            "reason": reason, "guardian_name": guardian, "guardian_phone": req.guardian_phone.trim(),
            "apply_date": apply_date.to_string(), "external": false,
            "from_school": from.name, "to_school": to_school.name, "to_class": class.name(), "grade": student.grade,
        });
        let new = NewCase {
            kind: CaseKind::Transfer,
            student: &student,
            to_school_id: Some(to_school.id),
            to_class_id: Some(class.id),
            detail,
            override_reason,
            proofs,
            manual: Vec::new(),
        };
        insert_case(app, &mut tx, actor, new, today).await?
    };
    audit.target(&case.public_id);
    audit.commit(tx).await?;
    Ok(case)
}

/// A pupil of this year's intake who transfers into the receiving school's
/// entry grade takes one of the places of its intake plan, when the bureau
/// has issued one (Art. 7): beyond it, `intake.over_plan`. Other grades are
/// held by the class caps alone.
async fn within_plan(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    to_school: &crate::db::schools::School,
    student: &crate::db::students::Student,
    class_number: i64,
    today: chrono::NaiveDate,
) -> AppResult<()> {
    use crate::domain::intake::{entry_grade, intake_year_of};
    let Ok(entry) = student.entry_date.parse::<chrono::NaiveDate>() else { return Ok(()) };
    let year = intake_year_of(entry);
    if student.grade.number() != entry_grade(to_school.kind) || year < crate::domain::school_year_start(today) {
        return Ok(());
    }
    if crate::db::intake::plan_for(&mut **tx, to_school.id, year).await?.is_none() {
        return Ok(());
    }
    let into = std::collections::BTreeSet::from([class_number]);
    crate::service::plans::check_room(tx, to_school, today, year, 1, &into).await.map(|_| ())
}
