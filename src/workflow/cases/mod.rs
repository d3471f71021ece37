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
//!
//! One file per kind for opening its application (`transfer`, `abroad`,
//! `suspension` for suspension, renewal and resumption, `info_change`), and
//! `decide` for what every kind shares once opened: the decisions, the
//! completion that applies the change, withdrawal, proofs, the printed form.
//! The SQL is in [`crate::db::cases`].

mod abroad;
mod decide;
mod info_change;
mod suspension;
mod transfer;

// The kinds, stages and the case as stored live with their table.
pub use crate::db::cases::{Case, CaseKind, Proof, Stage, Step, by_public_id, proofs_of, steps_of};

pub use abroad::{AbroadRequest, open_abroad};
pub use decide::{
    Decision, add_proof, check_proof_label, decide, form_extra, mark_handed_over, mark_received, print_form, withdraw,
};
pub use info_change::{CHANGEABLE, InfoChangeRequest, open_info_change};
pub use suspension::{SuspensionRequest, open_suspension, suspension_end};
pub use transfer::{External, ManualStep, TransferRequest, open_transfer};

use crate::app::App;
use crate::db::students::{self, Student};
use crate::db::{self, schools};
use crate::domain::Actor;
use crate::error::{AppError, AppResult};
use crate::render::DocKind;
use crate::workflow::{STEP_WORKING_DAYS, check_proofs, record_event, require_bureau};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::{Any, Transaction};

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
        record_event(tx, new.student.id, "application_opened", None, None, &detail, &[], actor.user_id, today).await?;
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

/// A case for pages and JSON: the stored case, with its labels, its
/// student and schools by name, its decisions and proofs.
#[derive(Debug, Clone, Serialize)]
pub struct CaseView {
    /// The case as stored (its public id serialized as `id`).
    #[serde(flatten)]
    pub case: Case,
    /// Kind label.
    pub kind_label: &'static str,
    /// State label.
    pub state_label: &'static str,
    /// Its label.
    pub stage_label: Option<&'static str>,
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
    /// Decisions so far.
    pub steps: Vec<Step>,
    /// Proofs.
    pub proofs: Vec<Proof>,
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
        kind_label: case.kind.label(),
        state_label: state_label(&case.state),
        stage_label: case.stage.map(Stage::label),
        overdue_days,
        student: row.public_id,
        student_name: row.name,
        student_no: row.student_no,
        grade: schools::grade_name(row.grade),
        school: row.school,
        to_school,
        steps: steps_of(&app.db.pool, case.id).await?,
        proofs: proofs_of(&app.db.pool, case.id).await?,
        my_turn: my_turn(actor, case),
        case: case.clone(),
    })
}

/// The cases a staff member is party to: `open` only, or all; newest first (at most 500).
pub async fn list(app: &App, actor: &Actor, only_open: bool, student_id: Option<i64>) -> AppResult<Vec<Case>> {
    db::cases::list(&app.db.pool, actor.scope.as_deref(), only_open, student_id).await
}
