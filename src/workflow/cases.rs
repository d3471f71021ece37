//! Applications with ordered approvals ("cases"): transfer (Art. 16-21,
//! four approvals: receiving school, receiving bureau, sending school,
//! sending bureau), going abroad (Art. 19), suspension, renewal and
//! resumption (Art. 22-24), and a change of basic information (Art. 15),
//! the last four approved by the school, then the bureau.
//!
//! Each stage is due 10 working days after the previous one (Art. 21); a
//! late decision is recorded as late. A refusal closes the case with its
//! reason. The last approval applies the change in the same transaction.
//! A student has at most one open case.

use super::{
    STEP_WORKING_DAYS, StatusDates, change_status, check_proofs, class_with_room, facts, lock_student, one_month_after,
    parse_date, printable, record_event, require_bureau, require_school, required, school_of, status_dates,
};
use crate::app::App;
use crate::db::students::{self, Student};
use crate::db::{self, schools};
use crate::domain::Actor;
use crate::domain::{Action, DomainError, Gender, Grade, IdNumber, StudentStatus};
use crate::error::{AppError, AppResult};
use crate::render::{Coverage, DocKind};
use crate::service::audit::Audit;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::{Any, Transaction};

// The kinds, stages and the case as stored live with their table.
pub use crate::db::cases::{Case, CaseKind, Proof, Stage, Step, by_public_id, proofs_of, steps_of};

impl CaseKind {
    /// The form printed for it.
    pub fn form(self) -> DocKind {
        match self {
            Self::Transfer | Self::Abroad => DocKind::TransferApplication,
            Self::Suspension | Self::Renewal | Self::Resumption => DocKind::SuspensionApplication,
            Self::InfoChange => DocKind::BasicInfo,
        }
    }
}

/// A case's state.
pub fn state_label(state: &str) -> &'static str {
    match state {
        "open" => "办理中",
        "completed" => "已办结",
        "refused" => "未批准",
        "withdrawn" => "已撤回",
        _ => "未知",
    }
}

/// A case the staff member is party to (either school, or the bureau); 404 otherwise.
pub async fn visible(app: &App, actor: &Actor, public_id: &str) -> AppResult<Case> {
    let case = by_public_id(&app.db.pool, public_id).await?.ok_or(AppError::NotFound)?;
    if party(actor, &case) { Ok(case) } else { Err(AppError::NotFound) }
}

/// Whether the staff member is party to the case.
pub fn party(actor: &Actor, case: &Case) -> bool {
    actor.may_see(case.school_id) || case.to_school_id.is_some_and(|id| actor.may_see(id))
}

/// The case's student as the archive sees them (their school now, which a
/// completed transfer has changed).
pub async fn dossier_student(app: &App, case: &Case) -> AppResult<crate::dossier::StudentRef> {
    let (public_id, school_id) = students::public_id_and_school(&app.db.pool, case.student_id).await?;
    Ok(crate::dossier::StudentRef { id: case.student_id, public_id, school_id })
}

/// A proof given with a request: an object already in the student's dossier.
#[derive(Debug, Clone, Deserialize)]
pub struct ProofRef {
    /// sha256 of the object.
    pub digest: String,
    /// What it is.
    #[serde(default)]
    pub label: String,
}

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

/// An application to study abroad (Art. 19).
#[derive(Debug, Clone, Deserialize)]
pub struct AbroadRequest {
    /// Departure date.
    pub departure_date: String,
    /// Country or region.
    pub country: String,
    /// Why.
    #[serde(default)]
    pub reason: String,
    /// The applying guardian.
    pub guardian_name: String,
    /// Their phone.
    #[serde(default)]
    pub guardian_phone: String,
    /// Proofs in the dossier.
    #[serde(default)]
    pub proofs: Vec<ProofRef>,
}

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

/// A change of basic information (Art. 15).
#[derive(Debug, Clone, Deserialize)]
pub struct InfoChangeRequest {
    /// Field code → new value (see [`CHANGEABLE`]).
    pub changes: serde_json::Map<String, Value>,
    /// Why.
    #[serde(default)]
    pub reason: String,
    /// The applying guardian.
    pub guardian_name: String,
    /// Proofs (household register, …) in the dossier.
    #[serde(default)]
    pub proofs: Vec<ProofRef>,
}

/// The basic information a guardian may ask to change, with its label.
pub const CHANGEABLE: [(&str, &str); 11] = [
    ("name", "姓名"),
    ("former_name", "曾用名"),
    ("pinyin", "姓名拼音"),
    ("gender", "性别"),
    ("birth_date", "出生日期"),
    ("birthplace", "出生地"),
    ("ethnicity", "民族"),
    ("nationality", "国籍/地区"),
    ("household_address", "户口所在地"),
    ("household_type", "户口性质"),
    ("current_address", "现住址"),
];

/// A decision at the current stage.
#[derive(Debug, Clone, Deserialize)]
pub struct Decision {
    /// The stage decided (must be the one waiting: a stale page cannot decide another).
    pub stage: String,
    /// `approve` or `refuse`.
    pub decision: String,
    /// Opinion (required for a refusal).
    #[serde(default)]
    pub opinion: String,
    /// Signer, if not the signed-in user.
    #[serde(default)]
    pub signer: Option<String>,
}

fn proof_label(kind: CaseKind, label: &str) -> String {
    let l = label.trim();
    if !l.is_empty() {
        return l.chars().take(50).collect();
    }
    match kind {
        CaseKind::Transfer | CaseKind::Abroad => "转学证明材料".into(),
        CaseKind::Suspension | CaseKind::Renewal | CaseKind::Resumption => "证明材料".into(),
        CaseKind::InfoChange => "户口簿或其他证明".into(),
    }
}

/// The labels of a request's proofs, as printed in the form's list of proofs.
fn proof_texts(proofs: &[ProofRef]) -> impl Iterator<Item = (&'static str, &str)> {
    proofs.iter().map(|p| ("证明材料名称", p.label.as_str()))
}

fn optional_override(actor: &Actor, reason: Option<&str>) -> AppResult<Option<String>> {
    match reason.map(str::trim).filter(|r| !r.is_empty()) {
        None => Ok(None),
        Some(r) => {
            require_bureau(actor).map_err(|_| {
                AppError::not_permitted("case.override_bureau_only", "只有教育局可以记录特批理由，学校不能自行特批")
            })?;
            Ok(Some(r.chars().take(500).collect()))
        }
    }
}

async fn ensure_no_open_case(tx: &mut Transaction<'static, Any>, student_id: i64) -> AppResult<()> {
    let open = db::cases::open_kind_of(&mut **tx, student_id).await?;
    if let Some(kind) = open {
        let label = CaseKind::parse(&kind).map_or("其他", CaseKind::label);
        return Err(AppError::conflict(
            "case.open_exists",
            format!("该学生有一项未办结的{label}申请，办结或撤回后才能提出新的申请"),
        ));
    }
    Ok(())
}

/// What [`insert_case`] writes.
struct NewCase<'a> {
    kind: CaseKind,
    student: &'a Student,
    to_school_id: Option<i64>,
    to_class_id: Option<i64>,
    detail: Value,
    override_reason: Option<String>,
    proofs: Vec<(String, String)>,
    /// Stages already decided (recorded by hand) before the first open one.
    manual: Vec<(Stage, ManualStep, NaiveDate, String)>,
}

impl<'a> NewCase<'a> {
    /// A case of the student's own school (school, then bureau), with no receiving side.
    fn at_school(kind: CaseKind, student: &'a Student, detail: Value, proofs: Vec<(String, String)>) -> Self {
        Self {
            kind,
            student,
            to_school_id: None,
            to_class_id: None,
            detail,
            override_reason: None,
            proofs,
            manual: Vec::new(),
        }
    }
}

async fn insert_case(
    app: &App,
    tx: &mut Transaction<'static, Any>,
    actor: &Actor,
    new: NewCase<'_>,
    today: NaiveDate,
) -> AppResult<Case> {
    let public_id = students::new_public_id();
    let now = crate::db::now_text();
    let first = new.kind.stages()[new.manual.len()];
    let due = app.calendar().add_working_days(today, STEP_WORKING_DAYS);
    let opened_on = today.to_string();
    let row = db::cases::NewCase {
        public_id: &public_id,
        kind: new.kind,
        student_id: new.student.id,
        school_id: new.student.school_id,
        to_school_id: new.to_school_id,
        to_class_id: new.to_class_id,
        stage: first,
        stage_due: &due.to_string(),
        detail: &new.detail,
        override_reason: new.override_reason.as_deref(),
        opened_by: actor.user_id,
        opened_on: &opened_on,
        opened_at: &now,
    };
    let id = db::cases::insert(&mut **tx, &row).await?;
    for (digest, label) in &new.proofs {
        add_proof_row(tx, id, digest, label, actor.user_id).await?;
    }
    for (stage, m, date, digest) in &new.manual {
        let step = db::cases::HandStep {
            case_id: id,
            stage: *stage,
            opinion: m.opinion.trim(),
            signer: m.signer.trim(),
            decided_on: &date.to_string(),
            proof: digest,
            recorded_by: actor.user_id,
            at: &now,
        };
        db::cases::insert_step_by_hand(&mut **tx, &step).await?;
        add_proof_row(tx, id, digest, &format!("{}（纸质，手工登记）", stage.label()), actor.user_id).await?;
    }
    let case = by_public_id(&mut **tx, &public_id).await?.ok_or(AppError::NotFound)?;
    // A transfer's opening is its status change (转出中), written by the caller; the others
    // change nothing until approved, so their history notes the application here.
    if case.kind != CaseKind::Transfer {
        let detail = json!({"case": case.public_id, "kind": case.kind.code()});
        record_event(tx, new.student.id, "application_opened", None, None, &detail, &[], actor.user_id).await?;
    }
    Ok(case)
}

async fn add_proof_row(
    tx: &mut Transaction<'static, Any>,
    case_id: i64,
    digest: &str,
    label: &str,
    user: Option<i64>,
) -> AppResult<()> {
    db::cases::add_proof(&mut **tx, case_id, digest, label, user, &db::now_text()).await?;
    Ok(())
}

async fn checked_proofs(
    app: &App,
    student: &Student,
    kind: CaseKind,
    proofs: &[ProofRef],
) -> AppResult<Vec<(String, String)>> {
    let digests: Vec<String> = proofs.iter().map(|p| p.digest.clone()).collect();
    let checked = check_proofs(app, student, &digests).await?;
    Ok(checked.into_iter().zip(proofs).map(|(d, p)| (d, proof_label(kind, &p.label))).collect())
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
            super::not_future("审批日期", date, today)?;
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
            (Some(no), Some(name)) if !no.trim().is_empty() && !name.trim().is_empty() => (no.trim(), name.trim()),
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
        let id = students::public_id_by_no_and_name(&mut *tx, &no.to_ascii_uppercase(), name).await?;
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
        let grade = Grade::new(u8::try_from(student.grade).unwrap_or(0))?;
        grade.check_school(to_school.kind).map_err(|_| {
            AppError::from(DomainError::new(
                "transfer.grade_mismatch",
                "转入学校",
                &to_school.name,
                &format!("没有{}，转学不得变更年级（第二十条）", grade.label()),
            ))
        })?;
        let class_number = req.to_class.ok_or_else(|| {
            AppError::bad_request("transfer.class_required", "请选择转入班级（to_class，同一年级的班号）")
        })?;
        let class = class_with_room(&mut tx, &to_school, student.grade, class_number).await?;
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

/// Opens an application to study abroad (Art. 19), by the student's school.
pub async fn open_abroad(app: &App, actor: &Actor, public_id: &str, req: &AbroadRequest) -> AppResult<Case> {
    let mut audit = Audit::new(actor, "case.abroad.open", ("student", public_id));
    let result = open_abroad_in(app, actor, public_id, req, &mut audit).await;
    audit.close(&app.db, result).await
}

async fn open_abroad_in(
    app: &App,
    actor: &Actor,
    public_id: &str,
    req: &AbroadRequest,
    audit: &mut Audit<'_>,
) -> AppResult<Case> {
    let today = app.today();
    let departure = parse_date("出境日期", &req.departure_date)?;
    let country = required("前往国家或地区", &req.country)?;
    let guardian = required("监护人姓名", &req.guardian_name)?;
    let mut texts = vec![("前往国家或地区", country.as_str()), ("出境原因", req.reason.as_str())];
    texts.extend([("监护人姓名", guardian.as_str()), ("监护人电话", req.guardian_phone.as_str())]);
    texts.extend(proof_texts(&req.proofs));
    printable(&app.coverage, &texts)?;
    let mut tx = app.db.pool.begin().await?;
    let student = super::lock_visible(&mut tx, actor, public_id).await?;
    require_school(actor, student.school_id)?;
    ensure_no_open_case(&mut tx, student.id).await?;
    let school = school_of(&mut *tx, &student).await?;
    // Checked now so the application cannot be approved into a forbidden state later.
    crate::domain::transitions::apply(student.status, Action::GoAbroad, facts(&student, &school, false))?;
    let proofs = checked_proofs(app, &student, CaseKind::Abroad, &req.proofs).await?;
    let detail = json!({
        "departure_date": departure.to_string(), "country": country, "reason": req.reason.trim(),
        "guardian_name": guardian, "guardian_phone": req.guardian_phone.trim(), "apply_date": today.to_string(),
        "from_school": school.name, "grade": student.grade,
    });
    let new = NewCase::at_school(CaseKind::Abroad, &student, detail, proofs);
    let case = insert_case(app, &mut tx, actor, new, today).await?;
    audit.commit(tx).await?;
    Ok(case)
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
    let student = super::lock_visible(&mut tx, actor, public_id).await?;
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
            let grade = student.grade + i64::from(next);
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

/// Opens a change of basic information (Art. 15), by the student's school.
pub async fn open_info_change(app: &App, actor: &Actor, public_id: &str, req: &InfoChangeRequest) -> AppResult<Case> {
    let mut audit = Audit::new(actor, "case.info_change.open", ("student", public_id));
    let result = open_info_change_in(app, actor, public_id, req, &mut audit).await;
    audit.close(&app.db, result).await
}

async fn open_info_change_in(
    app: &App,
    actor: &Actor,
    public_id: &str,
    req: &InfoChangeRequest,
    audit: &mut Audit<'_>,
) -> AppResult<Case> {
    let today = app.today();
    let guardian = required("监护人姓名", &req.guardian_name)?;
    let mut tx = app.db.pool.begin().await?;
    let student = super::lock_visible(&mut tx, actor, public_id).await?;
    require_school(actor, student.school_id)?;
    ensure_no_open_case(&mut tx, student.id).await?;
    let school = school_of(&mut *tx, &student).await?;
    crate::domain::transitions::apply(student.status, Action::ChangeInfo, facts(&student, &school, false))?;
    let changes = check_changes(&app.coverage, &student, &req.changes)?;
    let proofs = checked_proofs(app, &student, CaseKind::InfoChange, &req.proofs).await?;
    let detail = json!({
        "changes": changes, "reason": req.reason.trim(), "guardian_name": guardian, "apply_date": today.to_string(),
    });
    let new = NewCase::at_school(CaseKind::InfoChange, &student, detail, proofs);
    let case = insert_case(app, &mut tx, actor, new, today).await?;
    audit.commit(tx).await?;
    Ok(case)
}

fn current_value(s: &Student, field: &str) -> String {
    match field {
        "name" => s.name.clone(),
        "former_name" => s.former_name.clone(),
        "pinyin" => s.pinyin.clone(),
        "gender" => s.gender.code().to_owned(),
        "birth_date" => s.birth_date.clone(),
        "birthplace" => s.birthplace.clone(),
        "ethnicity" => s.ethnicity.clone(),
        "nationality" => s.nationality.clone(),
        "household_address" => s.household_address.clone(),
        "household_type" => s.household_type.clone(),
        "current_address" => s.current_address.clone(),
        _ => String::new(),
    }
}

/// Checks the requested changes: known fields, valid values the bundled fonts
/// can print, consistent with the ID number. Returns `{field: {label, old, new}}`.
fn check_changes(coverage: &Coverage, s: &Student, changes: &serde_json::Map<String, Value>) -> AppResult<Value> {
    if changes.is_empty() {
        return Err(AppError::bad_request("info_change.empty", "请填写要变更的项目"));
    }
    let mut out = serde_json::Map::new();
    let mut gender = s.gender;
    let mut birth = s.birth_date.clone();
    for (field, value) in changes {
        let Some((_, label)) = CHANGEABLE.iter().find(|(f, _)| f == field) else {
            return Err(DomainError::new(
                "info_change.field",
                "变更项目",
                field.as_str(),
                "不能通过信息变更修改（身份证件号请用临时学籍号转正式学籍号）",
            )
            .into());
        };
        let new = value.as_str().unwrap_or_default().trim().to_owned();
        let new = match field.as_str() {
            "gender" => {
                let g = Gender::parse(&new)?;
                gender = g;
                g.code().to_owned()
            }
            "birth_date" => {
                let d = parse_date("出生日期", &new)?;
                birth = d.to_string();
                birth.clone()
            }
            "name" | "ethnicity" => required(label, &new)?,
            _ => new,
        };
        printable(coverage, &[(label, &new)])?;
        let old = current_value(s, field);
        if old == new {
            return Err(DomainError::new("info_change.unchanged", label, new, "与现有信息相同，无需变更").into());
        }
        out.insert(field.clone(), json!({"label": label, "old": old, "new": new}));
    }
    if let Some(id) = s.id_number.as_deref() {
        let id = IdNumber::parse(id)?;
        if id.birth_date().to_string() != birth || id.gender() != gender {
            return Err(DomainError::new(
                "info_change.id_mismatch",
                "出生日期或性别",
                format!("{birth} {}", gender.label()),
                "与身份证件号不符，不能变更",
            )
            .into());
        }
    }
    Ok(Value::Object(out))
}

/// Decides the waiting stage: approve (the last approval applies the
/// change) or refuse (the case closes; a transfer's student stays).
pub async fn decide(app: &App, actor: &Actor, case_id: &str, d: &Decision) -> AppResult<Case> {
    let mut audit = Audit::new(actor, format!("case.decide.{}", d.decision), ("case", case_id));
    let result = decide_in(app, actor, case_id, d, &mut audit).await;
    audit.close(&app.db, result).await
}

async fn decide_in(app: &App, actor: &Actor, case_id: &str, d: &Decision, audit: &mut Audit<'_>) -> AppResult<Case> {
    let today = app.today();
    let approve = match d.decision.as_str() {
        "approve" => true,
        "refuse" => false,
        other => {
            return Err(AppError::bad_request("case.decision", format!("审批意见“{other}”应为 approve 或 refuse")));
        }
    };
    let opinion = d.opinion.trim().chars().take(500).collect::<String>();
    if !approve && opinion.is_empty() {
        return Err(DomainError::new("case.reason_required", "审批意见", "", "不同意时须写明理由").into());
    }
    // Printed in the form's approval blocks.
    printable(&app.coverage, &[("审批意见", &opinion), ("签署人", d.signer.as_deref().unwrap_or_default())])?;
    let stage = Stage::parse(&d.stage)?;
    let mut tx = app.db.pool.begin().await?;
    // Lock the case row first (the write lock), then read it.
    db::cases::lock(&mut *tx, case_id).await?;
    let case = by_public_id(&mut *tx, case_id).await?.ok_or(AppError::NotFound)?;
    if !party(actor, &case) && !actor.is_bureau() {
        return Err(AppError::NotFound);
    }
    if case.state != "open" {
        return Err(AppError::conflict("case.closed", format!("该申请{}，不能再审批", state_label(&case.state))));
    }
    if case.stage != Some(stage) {
        return Err(AppError::conflict(
            "case.stage_mismatch",
            format!("该申请当前在“{}”环节，不是“{}”", case.stage.map_or("", Stage::label), stage.label()),
        ));
    }
    // The caller is party to the case: a school stage of the other school is a role refusal, not "not found".
    let other_school = |e: AppError| match e {
        AppError::NotFound => AppError::not_permitted(
            "workflow.school_step",
            format!("“{}”由该校学籍管理员办理，不能代办", stage.label()),
        ),
        other => other,
    };
    match stage {
        s if s.is_bureau() => require_bureau(actor)?,
        Stage::ReceivingSchool => require_school(actor, case.to_school_id.unwrap_or(-1)).map_err(other_school)?,
        _ => require_school(actor, case.school_id).map_err(other_school)?,
    }
    if stage == case.kind.stages()[0] && approve {
        let n = db::cases::proof_count(&mut *tx, case.id).await?;
        if n == 0 {
            return Err(AppError::conflict(
                "case.proof_required",
                "请先上传监护人提交的证明材料（扫描件），再审核同意",
            ));
        }
    }
    let due = case.stage_due.as_deref().and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    let late = due.is_some_and(|due| today > due);
    let signer = d.signer.as_deref().map(str::trim).filter(|s| !s.is_empty()).unwrap_or(&actor.display_name);
    let step = db::cases::NewStep {
        case_id: case.id,
        stage,
        decision: if approve { "approve" } else { "refuse" },
        opinion: &opinion,
        signer,
        decided_on: &today.to_string(),
        due_on: case.stage_due.as_deref(),
        late,
        recorded_by: actor.user_id,
        at: &db::now_text(),
    };
    db::cases::insert_step(&mut *tx, &step).await?;
    let stages = case.kind.stages();
    let pos = stages.iter().position(|s| *s == stage).unwrap_or(stages.len() - 1);
    if !approve {
        close(&mut tx, &case, "refused", today).await?;
        let student = lock_student_by_id(&mut tx, case.student_id).await?;
        let detail =
            json!({"case": case.public_id, "kind": case.kind.code(), "stage": stage.code(), "opinion": opinion});
        if student.status == StudentStatus::TransferPending && case.kind == CaseKind::Transfer {
            let school = school_of(&mut *tx, &student).await?;
            let f = facts(&student, &school, false);
            change_status(
                &mut tx,
                &student,
                Action::StopTransfer,
                f,
                StatusDates::default(),
                &detail,
                &[],
                actor.user_id,
            )
            .await?;
        } else {
            record_event(&mut tx, student.id, "application_refused", None, None, &detail, &[], actor.user_id).await?;
        }
    } else if let Some(next) = stages.get(pos + 1) {
        let due = app.calendar().add_working_days(today, super::STEP_WORKING_DAYS);
        db::cases::advance(&mut *tx, case.id, *next, &today.to_string(), &due.to_string()).await?;
    } else {
        complete(&mut tx, &case, actor, &app.coverage, today).await?;
    }
    audit.commit(tx).await?;
    by_public_id(&app.db.pool, case_id).await?.ok_or(AppError::NotFound)
}

async fn lock_student_by_id(tx: &mut Transaction<'static, Any>, id: i64) -> AppResult<Student> {
    let public_id = students::public_id_of(&mut **tx, id).await?;
    lock_student(tx, &public_id).await?.ok_or(AppError::NotFound)
}

async fn close(tx: &mut Transaction<'static, Any>, case: &Case, state: &str, today: NaiveDate) -> AppResult<()> {
    db::cases::close(&mut **tx, case.id, state, &today.to_string()).await?;
    Ok(())
}

/// The last approval: applies the change.
async fn complete(
    tx: &mut Transaction<'static, Any>,
    case: &Case,
    actor: &Actor,
    coverage: &Coverage,
    today: NaiveDate,
) -> AppResult<()> {
    let student = lock_student_by_id(tx, case.student_id).await?;
    let school = school_of(&mut **tx, &student).await?;
    let f = facts(&student, &school, case.override_reason.is_some());
    let proofs: Vec<String> = proofs_of(&mut **tx, case.id).await?.into_iter().map(|p| p.digest).collect();
    let form: Option<String> = case.detail.get("form_doc_id").and_then(Value::as_str).map(str::to_owned);
    let mut detail = json!({"case": case.public_id, "form": form});
    let actor = actor.user_id;
    close(tx, case, "completed", today).await?;
    match case.kind {
        CaseKind::Transfer if case.to_school_id.is_some() => {
            let to =
                schools::by_id(&mut **tx, case.to_school_id.unwrap_or_default()).await?.ok_or(AppError::NotFound)?;
            let number: i64 = match case.to_class_id {
                Some(id) => schools::class_number(&mut **tx, id).await?,
                None => return Err(AppError::Internal(anyhow::anyhow!("transfer case {} without class", case.id))),
            };
            let class = class_with_room(tx, &to, student.grade, number).await?;
            detail["from_school"] = json!(school.code);
            detail["to_school"] = json!(to.code);
            detail["to_class"] = json!(class.name());
            change_status(
                tx,
                &student,
                Action::CompleteTransferIn,
                f,
                StatusDates { since: Some(today), until: None },
                &detail,
                &proofs,
                actor,
            )
            .await?;
            students::move_to_school(&mut **tx, student.id, to.id, class.id).await?;
            set_handover(tx, case, today).await?;
        }
        CaseKind::Transfer => {
            detail["to_school"] = case.detail["to_school"].clone();
            detail["to_county"] = case.detail["to_county"].clone();
            change_status(
                tx,
                &student,
                Action::CompleteTransferOut,
                f,
                StatusDates { since: Some(today), until: None },
                &detail,
                &proofs,
                actor,
            )
            .await?;
            set_handover(tx, case, today).await?;
        }
        CaseKind::Abroad => {
            let departure =
                case.detail["departure_date"].as_str().and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
            detail["country"] = case.detail["country"].clone();
            detail["departure_date"] = case.detail["departure_date"].clone();
            change_status(
                tx,
                &student,
                Action::GoAbroad,
                f,
                StatusDates { since: departure.or(Some(today)), until: None },
                &detail,
                &proofs,
                actor,
            )
            .await?;
        }
        CaseKind::Suspension | CaseKind::Renewal => {
            let date = |k: &str| case.detail[k].as_str().and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
            let (start, end) = (date("start_date"), date("end_date"));
            detail["start_date"] = case.detail["start_date"].clone();
            detail["end_date"] = case.detail["end_date"].clone();
            detail["reason"] = case.detail["reason"].clone();
            let action = if case.kind == CaseKind::Suspension { Action::Suspend } else { Action::RenewSuspension };
            let since = if case.kind == CaseKind::Suspension { start } else { None };
            change_status(tx, &student, action, f, StatusDates { since, until: end }, &detail, &proofs, actor).await?;
        }
        CaseKind::Resumption => {
            let grade = case.detail["resume_grade"].as_i64().unwrap_or(student.grade);
            let number: i64 = match case.to_class_id {
                Some(id) => schools::class_number(&mut **tx, id).await?,
                None => return Err(AppError::Internal(anyhow::anyhow!("resumption case {} without class", case.id))),
            };
            let class = class_with_room(tx, &school, grade, number).await?;
            detail["grade"] = json!(grade);
            detail["class"] = json!(class.name());
            change_status(
                tx,
                &student,
                Action::Resume,
                f,
                StatusDates { since: Some(today), until: None },
                &detail,
                &proofs,
                actor,
            )
            .await?;
            students::set_grade_and_class(&mut **tx, student.id, grade, class.id).await?;
        }
        CaseKind::InfoChange => {
            let changes = case.detail["changes"].as_object().cloned().unwrap_or_default();
            // Re-check against the record as it is now (another change may have landed).
            let requested: serde_json::Map<String, Value> =
                changes.iter().map(|(k, v)| (k.clone(), v["new"].clone())).collect();
            let checked = check_changes(coverage, &student, &requested)?;
            for (field, v) in checked.as_object().into_iter().flatten() {
                let Some((column, _)) = CHANGEABLE.iter().find(|(f, _)| f == field) else { continue };
                students::set_basic(&mut **tx, student.id, column, v["new"].as_str().unwrap_or_default()).await?;
            }
            detail["changes"] = checked;
            crate::domain::transitions::apply(student.status, Action::ChangeInfo, f)?;
            record_event(tx, student.id, Action::ChangeInfo.code(), None, None, &detail, &proofs, actor).await?;
        }
    }
    Ok(())
}

async fn set_handover(tx: &mut Transaction<'static, Any>, case: &Case, today: NaiveDate) -> AppResult<()> {
    db::cases::set_handover_due(&mut **tx, case.id, &one_month_after(today).to_string()).await?;
    Ok(())
}

/// Withdraws an open case (the guardian withdrew the application). Either
/// school party or the bureau may record it; the reason is required.
pub async fn withdraw(app: &App, actor: &Actor, case_id: &str, reason: &str) -> AppResult<Case> {
    let mut audit = Audit::new(actor, "case.withdraw", ("case", case_id));
    let result = withdraw_in(app, actor, case_id, reason, &mut audit).await;
    audit.close(&app.db, result).await
}

async fn withdraw_in(app: &App, actor: &Actor, case_id: &str, reason: &str, audit: &mut Audit<'_>) -> AppResult<Case> {
    let today = app.today();
    let reason = required("撤回原因", reason)?;
    let mut tx = app.db.pool.begin().await?;
    db::cases::lock(&mut *tx, case_id).await?;
    let case = by_public_id(&mut *tx, case_id).await?.ok_or(AppError::NotFound)?;
    if !party(actor, &case) {
        return Err(AppError::NotFound);
    }
    if case.state != "open" {
        return Err(AppError::conflict("case.closed", format!("该申请{}，不能撤回", state_label(&case.state))));
    }
    close(&mut tx, &case, "withdrawn", today).await?;
    let student = lock_student_by_id(&mut tx, case.student_id).await?;
    let detail = json!({"case": case.public_id, "kind": case.kind.code(), "reason": reason});
    if case.kind == CaseKind::Transfer && student.status == StudentStatus::TransferPending {
        let school = school_of(&mut *tx, &student).await?;
        let f = facts(&student, &school, false);
        change_status(&mut tx, &student, Action::StopTransfer, f, StatusDates::default(), &detail, &[], actor.user_id)
            .await?;
    } else {
        record_event(&mut tx, student.id, "application_withdrawn", None, None, &detail, &[], actor.user_id).await?;
    }
    audit.commit(tx).await?;
    by_public_id(&app.db.pool, case_id).await?.ok_or(AppError::NotFound)
}

/// Files an uploaded scan with an open case (it is already in the student's dossier).
pub async fn add_proof(app: &App, actor: &Actor, case: &Case, digest: &str, label: &str) -> AppResult<()> {
    if case.state != "open" {
        return Err(AppError::conflict("case.closed", format!("该申请{}，不能再添加材料", state_label(&case.state))));
    }
    check_proof_label(app, label)?;
    let mut tx = app.db.pool.begin().await?;
    add_proof_row(&mut tx, case.id, digest, &proof_label(case.kind, label), actor.user_id).await?;
    tx.commit().await?;
    Ok(())
}

/// Refuses a proof label the form could not print (checked by [`add_proof`];
/// callers that store the scan first check it before the upload).
pub fn check_proof_label(app: &App, label: &str) -> AppResult<()> {
    printable(&app.coverage, &[("证明材料名称", label)])
}

/// The case's form data for the templates (`transfer`/`suspension` and `approvals`).
pub async fn form_extra(app: &App, case: &Case, student: &Student) -> AppResult<serde_json::Map<String, Value>> {
    let steps = steps_of(&app.db.pool, case.id).await?;
    let proofs = proofs_of(&app.db.pool, case.id).await?;
    let proof_text = proofs.iter().map(|p| p.label.as_str()).collect::<Vec<_>>().join("、");
    let d = &case.detail;
    let s = |k: &str| d.get(k).cloned().unwrap_or(Value::Null);
    let approvals: Vec<Value> = steps
        .iter()
        .map(|st| {
            let stage = match (case.kind, st.stage) {
                (CaseKind::Abroad, Stage::School) => "sending_school",
                (CaseKind::Abroad, Stage::Bureau) => "sending_bureau",
                (_, other) => other.code(),
            };
            json!({
                "stage": stage,
                "decision": if st.decision == "approve" { "同意" } else { "不同意" },
                "opinion": st.opinion,
                "by": st.signer,
                "date": st.decided_on,
            })
        })
        .collect();
    let mut extra = serde_json::Map::new();
    match case.kind {
        CaseKind::Transfer | CaseKind::Abroad => {
            let grade = schools::grade_name(d["grade"].as_i64().unwrap_or(student.grade));
            let abroad = case.kind == CaseKind::Abroad;
            extra.insert(
                "transfer".into(),
                json!({
                    "from_province": "吉林省", "from_county": "农安县", "from_school": s("from_school"),
                    "from_grade": grade,
                    "to_province": if abroad { s("country") } else if d["external"] == json!(true) { s("to_province") } else { json!("吉林省") },
                    "to_county": if abroad { json!("") } else if d["external"] == json!(true) { s("to_county") } else { json!("农安县") },
                    "to_school": if abroad { json!(format!("出境就读（{}出境）", d["departure_date"].as_str().unwrap_or(""))) } else { s("to_school") },
                    "to_grade": grade,
                    "reason": s("reason"), "proofs": proof_text,
                    "guardian_name": s("guardian_name"), "guardian_phone": s("guardian_phone"),
                    "apply_date": s("apply_date"),
                }),
            );
        }
        CaseKind::Suspension | CaseKind::Renewal | CaseKind::Resumption => {
            let resume = case.kind == CaseKind::Resumption;
            let reason = match case.kind {
                CaseKind::Renewal => json!(format!("续办休学：{}", d["reason"].as_str().unwrap_or(""))),
                _ => s("reason"),
            };
            extra.insert(
                "suspension".into(),
                json!({
                    "type": if resume { "复学" } else { "休学" },
                    "reason": reason, "start_date": s("start_date"), "end_date": s("end_date"),
                    "proof": proof_text,
                    "resume_grade": d.get("resume_grade").and_then(Value::as_i64).map(schools::grade_name),
                    "guardian_name": s("guardian_name"), "guardian_phone": s("guardian_phone"),
                    "apply_date": s("apply_date"),
                }),
            );
        }
        CaseKind::InfoChange => {}
    }
    if case.kind != CaseKind::InfoChange {
        extra.insert("approvals".into(), Value::Array(approvals));
    }
    Ok(extra)
}

/// Prints the case's form with the opinions so far (at any stage), and
/// remembers which document was printed.
pub async fn print_form(app: &App, actor: &Actor, case: &Case) -> AppResult<crate::documents::Issued> {
    let mut audit = Audit::new(actor, "case.print", ("case", &case.public_id));
    let result = print_form_in(app, actor, case).await;
    if result.is_ok() {
        // The document's own transaction is the renderer's (shared with every document).
        audit.record(&app.db.pool).await?;
    }
    audit.close(&app.db, result).await
}

async fn print_form_in(app: &App, actor: &Actor, case: &Case) -> AppResult<crate::documents::Issued> {
    let mut conn = app.db.pool.acquire().await?;
    let student = students::by_id(&mut conn, case.student_id).await?.ok_or(AppError::NotFound)?;
    drop(conn);
    let extra = form_extra(app, case, &student).await?;
    let kind = case.kind.form();
    let issued = crate::documents::issue(
        app,
        &student,
        kind,
        crate::documents::Options { number: None, extra, actor_id: actor.user_id },
    )
    .await?;
    if case.state == "open" {
        let mut d = case.detail.clone();
        d["form_doc_id"] = json!(issued.doc_id);
        db::cases::set_detail(&app.db.pool, case.id, &d.to_string()).await?;
    }
    Ok(issued)
}

/// Records that the sending school handed the dossier over (it exported the transfer package).
pub async fn mark_handed_over(app: &App, case: &Case, today: NaiveDate) -> AppResult<()> {
    db::cases::mark_handed_over(&app.db.pool, case.id, &today.to_string()).await?;
    Ok(())
}

/// Records that the receiving school received (imported) the dossier.
pub async fn mark_received(app: &App, case: &Case, today: NaiveDate) -> AppResult<()> {
    db::cases::mark_received(&app.db.pool, case.id, &today.to_string()).await?;
    Ok(())
}

/// A case for pages and JSON.
#[derive(Debug, Clone, Serialize)]
pub struct CaseView {
    /// Public id.
    pub id: String,
    /// Kind code.
    pub kind: CaseKind,
    /// Kind label.
    pub kind_label: &'static str,
    /// State code.
    pub state: String,
    /// State label.
    pub state_label: &'static str,
    /// Waiting stage.
    pub stage: Option<Stage>,
    /// Its label.
    pub stage_label: Option<&'static str>,
    /// Since when it waits.
    pub stage_since: String,
    /// Due by.
    pub stage_due: Option<String>,
    /// Working days past due (0 when not overdue).
    pub overdue_days: i64,
    /// The student's public id.
    pub student: String,
    /// Name.
    pub student_name: String,
    /// 学籍号.
    pub student_no: String,
    /// Grade label.
    pub grade: String,
    /// Sending school.
    pub school: String,
    /// Receiving school (in this system).
    pub to_school: Option<String>,
    /// Details.
    pub detail: Value,
    /// Override reason.
    pub override_reason: Option<String>,
    /// Opened on.
    pub opened_on: String,
    /// Closed on.
    pub closed_on: Option<String>,
    /// Decisions so far.
    pub steps: Vec<Step>,
    /// Proofs.
    pub proofs: Vec<Proof>,
    /// Dossier handover deadline.
    pub handover_due: Option<String>,
    /// Dossier handed over on.
    pub handed_over_on: Option<String>,
    /// Dossier received on.
    pub received_on: Option<String>,
    /// Whether the signed-in staff member decides the waiting stage.
    pub my_turn: bool,
}

/// Who decides a stage of this case.
pub fn my_turn(actor: &Actor, case: &Case) -> bool {
    match case.stage {
        None => false,
        Some(s) if s.is_bureau() => actor.is_bureau(),
        Some(Stage::ReceivingSchool) => !actor.is_bureau() && case.to_school_id.is_some_and(|id| actor.may_see(id)),
        Some(_) => !actor.is_bureau() && actor.may_see(case.school_id),
    }
}

/// The full view of a case.
pub async fn view(app: &App, actor: &Actor, case: &Case) -> AppResult<CaseView> {
    let row = students::case_student(&app.db.pool, case.student_id, case.school_id).await?;
    let to_school = match case.to_school_id {
        Some(id) => schools::by_id(&app.db.pool, id).await?.map(|s| s.name),
        None => None,
    };
    let today = app.today();
    let overdue_days = case
        .stage_due
        .as_deref()
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .filter(|due| today > *due)
        .map_or(0, |due| app.calendar().working_days_between(due, today));
    Ok(CaseView {
        id: case.public_id.clone(),
        kind: case.kind,
        kind_label: case.kind.label(),
        state: case.state.clone(),
        state_label: state_label(&case.state),
        stage: case.stage,
        stage_label: case.stage.map(Stage::label),
        stage_since: case.stage_since.clone(),
        stage_due: case.stage_due.clone(),
        overdue_days,
        student: row.public_id,
        student_name: row.name,
        student_no: row.student_no,
        grade: schools::grade_name(row.grade),
        school: row.school,
        to_school,
        detail: case.detail.clone(),
        override_reason: case.override_reason.clone(),
        opened_on: case.opened_on.clone(),
        closed_on: case.closed_on.clone(),
        steps: steps_of(&app.db.pool, case.id).await?,
        proofs: proofs_of(&app.db.pool, case.id).await?,
        handover_due: case.handover_due.clone(),
        handed_over_on: case.handed_over_on.clone(),
        received_on: case.received_on.clone(),
        my_turn: my_turn(actor, case),
    })
}

/// The cases a staff member is party to: `open` only, or all; newest first (at most 500).
pub async fn list(app: &App, actor: &Actor, only_open: bool, student_id: Option<i64>) -> AppResult<Vec<Case>> {
    db::cases::list(&app.db.pool, actor.scope.as_deref(), only_open, student_id).await
}
