//! What every kind shares once opened: the decisions in stage order (the
//! last approval applies the change in the same transaction), withdrawal,
//! proofs filed later, the printed form and the dossier handover dates.

use super::info_change::{CHANGEABLE, check_changes};
use super::{Case, CaseKind, Stage, add_proof_row, by_public_id, party, proof_label, proofs_of, state_label, steps_of};
use crate::app::App;
use crate::db::students::{self, Student};
use crate::db::{self, schools};
use crate::domain::{Action, Actor, DomainError, StudentStatus};
use crate::error::{AppError, AppResult};
use crate::render::Coverage;
use crate::service::audit::Audit;
use crate::workflow::{
    STEP_WORKING_DAYS, StatusDates, change_status, class_with_room, facts, lock_student, one_month_after, printable,
    record_event, require_bureau, require_school, required, school_of,
};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::{Any, Transaction};

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
                today,
            )
            .await?;
        } else {
            record_event(&mut tx, student.id, "application_refused", None, None, &detail, &[], actor.user_id, today)
                .await?;
        }
    } else if let Some(next) = stages.get(pos + 1) {
        let due = app.calendar().add_working_days(today, STEP_WORKING_DAYS);
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
            let class = class_with_room(tx, &to, i64::from(student.grade), number).await?;
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
                today,
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
                today,
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
                today,
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
            change_status(tx, &student, action, f, StatusDates { since, until: end }, &detail, &proofs, actor, today)
                .await?;
        }
        CaseKind::Resumption => {
            let grade = case.detail["resume_grade"].as_i64().unwrap_or(i64::from(student.grade));
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
                today,
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
            record_event(tx, student.id, Action::ChangeInfo.code(), None, None, &detail, &proofs, actor, today).await?;
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
        change_status(
            &mut tx,
            &student,
            Action::StopTransfer,
            f,
            StatusDates::default(),
            &detail,
            &[],
            actor.user_id,
            today,
        )
        .await?;
    } else {
        record_event(&mut tx, student.id, "application_withdrawn", None, None, &detail, &[], actor.user_id, today)
            .await?;
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
            let grade = schools::grade_name(d["grade"].as_i64().unwrap_or(i64::from(student.grade)));
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
        // How far the application stood when printed, for the verification page.
        let approved = steps.iter().filter(|st| st.decision == "approve").count();
        let refused = steps.iter().any(|st| st.decision != "approve");
        extra.insert(
            "approval_state".into(),
            json!({"approved": approved, "needed": case.kind.stages().len(), "refused": refused}),
        );
        extra.insert("approvals".into(), Value::Array(approvals));
    }
    Ok(extra)
}

/// Prints the case's form with the opinions so far (at any stage), and
/// remembers which document was printed.
pub async fn print_form(app: &App, actor: &Actor, case: &Case) -> AppResult<crate::documents::Issued> {
    let mut audit = Audit::new(actor, "case.print", ("case", &case.public_id));
    let result = print_form_in(app, actor, case, &mut audit).await;
    audit.close(&app.db, result).await
}

/// Renders the case's form, then records it, the form's id on the open case
/// and the audit row in one transaction.
async fn print_form_in(
    app: &App,
    actor: &Actor,
    case: &Case,
    audit: &mut Audit<'_>,
) -> AppResult<crate::documents::Issued> {
    let mut conn = app.db.pool.acquire().await?;
    let student = students::by_id(&mut conn, case.student_id).await?.ok_or(AppError::NotFound)?;
    drop(conn);
    let extra = form_extra(app, case, &student).await?;
    let kind = case.kind.form();
    let prepared = crate::documents::prepare(
        app,
        &student,
        kind,
        crate::documents::Options { number: None, extra, actor_id: actor.user_id, ..Default::default() },
    )
    .await?;
    let mut tx = app.db.pool.begin().await?;
    prepared.record(&mut tx).await?;
    if case.state == "open" {
        let mut d = case.detail.clone();
        d["form_doc_id"] = json!(prepared.issued.doc_id);
        db::cases::set_detail(&mut *tx, case.id, &d.to_string()).await?;
    }
    audit.commit(tx).await?;
    Ok(prepared.issued)
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
