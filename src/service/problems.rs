//! Problem records resolved (问题学籍, Art. 11): a record without an ID number
//! (临时学籍号 L / 无证件 J) or one that looks like another child's record
//! (same name, birth date and guardian phone) stays open until it is
//! resolved, and while it is open the record changes no status (as in the
//! national system). It is resolved
//! - with a proof (佐证): a scan already filed in the student's dossier (the
//!   school's signed proof of attendance, or papers showing two children);
//! - with a change: a completed information-change case of the student;
//! - by a merge of the duplicate (bureau only): the record merged away stays
//!   readable, closed as 已合并 and pointing to the record kept;
//! - for a missing ID, by the ID itself once issued (see
//!   [`crate::service::students::receive_resident_id`]);
//! - for an intake outside the school's catchment area (Art. 7, 18), by the
//!   bureau's decision: accepted with its reason (the record goes on to be
//!   submitted), or refused (the record becomes 不予建籍, kept and marked).

use crate::db::{Db, cases, dossier, problems, students};
use crate::domain::{Action, Actor, DomainError};
use crate::error::{AppError, AppResult};
use crate::service::audit::Audit;
use crate::workflow::{StatusDates, change_status, facts, lock_visible, require_bureau, school_of};
use chrono::NaiveDate;
use serde_json::json;

/// How a problem is resolved.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(tag = "how", rename_all = "snake_case")]
pub enum Resolution {
    /// A scan in the student's dossier proves the record right.
    Proof {
        /// The scan's sha256 (hex), as the dossier lists it.
        sha256: String,
        /// What it shows.
        #[serde(default)]
        note: String,
    },
    /// A completed information-change case corrected the record.
    Change {
        /// The case's public id.
        case: String,
    },
    /// The duplicate is merged into the record kept (bureau only).
    Merge {
        /// The record kept: the flagged one or the one it duplicates (public id).
        keep: String,
    },
    /// The bureau decides on an intake outside the catchment area.
    Decide {
        /// Accept the intake (or refuse the record: 不予建籍).
        accept: bool,
        /// Why (2 to 200 characters).
        reason: String,
    },
}

/// What a resolution did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Resolved {
    /// The problem's id.
    pub problem: i64,
    /// `proof`, `change` or `merge`.
    pub how: &'static str,
    /// The record merged away, when merged (public id).
    pub merged: Option<String>,
}

/// The open problem records of the actor's schools (all, for the bureau).
/// A read of personal data: audited.
pub async fn open_list(db: &Db, actor: &Actor) -> AppResult<Vec<problems::Problem>> {
    let list = problems::open_for(&db.pool, actor.scope.as_deref()).await?;
    let mut audit = Audit::new(actor, "problem.list", ("problem", "*"));
    audit.detail(format!("shown={}", list.len()));
    audit.record(&db.pool).await?;
    Ok(list)
}

/// Resolves an open problem record. The student's school resolves with a
/// proof or a change; the bureau merges. Audited with the change.
pub async fn resolve(
    db: &Db,
    actor: &Actor,
    today: NaiveDate,
    problem_id: i64,
    how: &Resolution,
) -> AppResult<Resolved> {
    let mut audit = Audit::new(actor, "problem.resolve", ("problem", &problem_id.to_string()));
    let result = resolve_in(db, actor, today, problem_id, how, &mut audit).await;
    audit.close(db, result).await
}

async fn resolve_in(
    db: &Db,
    actor: &Actor,
    today: NaiveDate,
    problem_id: i64,
    how: &Resolution,
    audit: &mut Audit<'_>,
) -> AppResult<Resolved> {
    let mut tx = db.pool.begin().await?;
    let problem = problems::by_id(&mut *tx, problem_id).await?.ok_or(AppError::NotFound)?;
    let ids = students::ids_by_internal(&mut *tx, problem.student_id).await?.ok_or(AppError::NotFound)?;
    let student = lock_visible(&mut tx, actor, &ids.public_id).await?;
    audit.school(student.school_id);
    if problem.state != "open" {
        return Err(AppError::conflict("problem.resolved", "该问题学籍已处理"));
    }
    let now = crate::db::now_text();
    let bureau_decides = problem.kind == "out_of_area";
    if bureau_decides != matches!(how, Resolution::Decide { .. }) {
        return Err(if bureau_decides {
            AppError::conflict(
                "problem.bureau_decides",
                "学区外招生由教育局审核决定（第七条、第十八条），不能以佐证、变更或合并处理",
            )
        } else {
            AppError::conflict("problem.not_out_of_area", "该问题学籍不是学区外招生，不能以审核决定处理")
        });
    }
    let (name, resolution, merged) = match how {
        Resolution::Decide { accept, reason } => {
            require_bureau(actor)?;
            let reason = reason.trim();
            if reason.chars().count() < 2 || reason.chars().count() > 200 || reason.chars().any(char::is_control) {
                return Err(
                    DomainError::new("problem.reason_required", "审核理由", reason, "须写明理由（2至200字）").into()
                );
            }
            if !accept {
                let school = school_of(&mut *tx, &student).await?;
                change_status(
                    &mut tx,
                    &student,
                    Action::RefuseRecord,
                    facts(&student, &school, false),
                    StatusDates::default(),
                    &json!({ "reason": reason, "problem": problem.id }),
                    &[],
                    actor.user_id,
                    today,
                )
                .await?;
            }
            (
                if *accept { "accept" } else { "refuse" },
                json!({"how": "decide", "accept": accept, "reason": reason}),
                None,
            )
        }
        Resolution::Proof { sha256, note } => {
            school_step(actor)?;
            let digest = sha256.trim().to_ascii_lowercase();
            if !dossier::holds_document(&mut *tx, student.id, &digest).await? {
                return Err(DomainError::new(
                    "problem.proof_missing",
                    "佐证材料",
                    digest,
                    "不在该学生的纸质档案中：请先将佐证材料扫描归档，再选择它处理问题学籍",
                )
                .into());
            }
            let note: String = note.trim().chars().take(200).collect();
            ("proof", json!({"how": "proof", "sha256": digest, "note": note}), None)
        }
        Resolution::Change { case } => {
            school_step(actor)?;
            let c = cases::by_public_id(&mut *tx, case.trim()).await?.ok_or(AppError::NotFound)?;
            if c.student_id != student.id || c.kind != cases::CaseKind::InfoChange || c.state != "completed" {
                return Err(DomainError::new(
                    "problem.change_not_done",
                    "信息变更",
                    case.trim(),
                    "不是该学生已办结的基本信息变更，不能据此处理问题学籍",
                )
                .into());
            }
            ("change", json!({"how": "change", "case": c.public_id}), None)
        }
        Resolution::Merge { keep } => {
            require_bureau(actor)?;
            let Some(other_id) = problem.other_student_id.filter(|_| problem.kind == "suspected_duplicate") else {
                return Err(AppError::conflict("problem.not_duplicate", "该问题学籍不是疑似重复，无可合并的学籍"));
            };
            let other = students::ids_by_internal(&mut *tx, other_id).await?.ok_or(AppError::NotFound)?;
            let keep = keep.trim();
            let (kept, away) = if keep == student.public_id {
                (student.public_id.clone(), other.public_id.clone())
            } else if keep == other.public_id {
                (other.public_id.clone(), student.public_id.clone())
            } else {
                return Err(DomainError::new("problem.keep_invalid", "保留的学籍", keep, "不是这两条学籍之一").into());
            };
            let away_student =
                if away == student.public_id { student.clone() } else { lock_visible(&mut tx, actor, &away).await? };
            let school = school_of(&mut *tx, &away_student).await?;
            change_status(
                &mut tx,
                &away_student,
                Action::MergeInto,
                facts(&away_student, &school, false),
                StatusDates::default(),
                &json!({"merged_into": kept, "problem": problem.id}),
                &[],
                actor.user_id,
                today,
            )
            .await?;
            ("merge", json!({"how": "merge", "kept": kept, "merged": away}), Some(away))
        }
    };
    if problems::resolve(&mut *tx, problem.id, actor.user_id, &resolution.to_string(), &now).await? != 1 {
        return Err(AppError::conflict("problem.resolved", "该问题学籍刚被他人处理"));
    }
    students::add_event(
        &mut *tx,
        student.id,
        "problem_resolved",
        None,
        None,
        &json!({"problem": problem.id, "kind": problem.kind, "resolution": resolution}),
        actor.user_id,
        &now,
        today,
    )
    .await?;
    audit.detail(format!("how={name}"));
    audit.commit(tx).await?;
    Ok(Resolved { problem: problem.id, how: name, merged })
}

fn school_step(actor: &Actor) -> AppResult<()> {
    if actor.is_bureau() {
        Err(AppError::not_permitted("workflow.school_step", "此步骤由学校学籍管理员办理，教育局不能代办"))
    } else {
        Ok(())
    }
}
