//! The bureau's hold on new records (Art. 10 step 6, Art. 13): a record the
//! school creates starts as 待审核; the school submits (审核上报) its new
//! records, the bureau approves each (it becomes 在籍) or refuses it with a
//! reason (不予建籍: kept, marked, never deleted). A refused record may be
//! corrected and submitted again; the history keeps every decision.

use crate::db::students::{self, AwaitingRecord};
use crate::db::{Db, schools};
use crate::domain::{Action, Actor, DomainError, StudentStatus};
use crate::error::{AppError, AppResult};
use crate::service::audit::{self, Audit};
use crate::workflow::{StatusDates, change_status, facts, lock_visible, require_bureau, require_school, school_of};
use chrono::NaiveDate;
use serde_json::json;

/// The most records one list shows.
pub const LIST_LIMIT: i64 = 2000;

/// What a school submits: all its 待审核 records, or the ones named
/// (待审核 or 不予建籍, after correction).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct SubmitRequest {
    /// The school's code.
    pub school: String,
    /// The records to submit (public ids); empty: every 待审核 record.
    #[serde(default)]
    pub students: Vec<String>,
}

/// The bureau's decision on one submitted record.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Decision {
    /// The record (public id).
    pub student: String,
    /// Approve (在籍) or refuse (不予建籍).
    pub approve: bool,
    /// Why it is refused (required then; at most 200 characters).
    #[serde(default)]
    pub reason: String,
}

/// How a review ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Reviewed {
    /// Records approved.
    pub approved: usize,
    /// Records refused.
    pub refused: usize,
}

/// The school submits its new records to the bureau: each goes from 待审核
/// (or 不予建籍, when named) to 已上报, with its event; one audit row.
pub async fn submit(db: &Db, actor: &Actor, today: NaiveDate, req: &SubmitRequest) -> AppResult<usize> {
    let mut audit = Audit::new(actor, "record.submit", ("school", req.school.trim()));
    let result = submit_in(db, actor, today, req, &mut audit).await;
    audit.close(db, result).await
}

async fn submit_in(
    db: &Db,
    actor: &Actor,
    today: NaiveDate,
    req: &SubmitRequest,
    audit: &mut Audit<'_>,
) -> AppResult<usize> {
    let mut tx = db.pool.begin().await?;
    let school = schools::by_code(&mut *tx, req.school.trim()).await?.ok_or(AppError::NotFound)?;
    require_school(actor, school.id)?;
    audit.school(school.id);
    let ids = if req.students.is_empty() {
        // Records with an open problem (Art. 11) wait until it is resolved.
        let held = crate::db::problems::students_with_open_problems(&mut *tx, school.id).await?;
        let mut ids = students::public_ids_in_status(&mut tx, school.id, &[StudentStatus::Pending]).await?;
        ids.retain(|id| !held.contains(id));
        ids
    } else {
        dedup(&req.students)?
    };
    if ids.is_empty() {
        return Err(AppError::conflict(
            "record.nothing_to_submit",
            "本校没有可上报的待审核学籍（有未处理问题学籍的，须先处理问题学籍）",
        ));
    }
    for id in &ids {
        let student = lock_visible(&mut tx, actor, id).await?;
        if student.school_id != school.id {
            return Err(AppError::NotFound);
        }
        let school = school_of(&mut *tx, &student).await?;
        change_status(
            &mut tx,
            &student,
            Action::SubmitRecord,
            facts(&student, &school, false),
            StatusDates::default(),
            &json!({}),
            &[],
            actor.user_id,
            today,
        )
        .await?;
    }
    audit.detail(format!("count={}", ids.len()));
    audit.commit(tx).await?;
    Ok(ids.len())
}

fn dedup(ids: &[String]) -> AppResult<Vec<String>> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for id in ids.iter().map(|i| i.trim()) {
        if !seen.insert(id) {
            return Err(AppError::bad_request("record.listed_twice", "同一学籍在本次提交中出现了两次"));
        }
        out.push(id.to_owned());
    }
    Ok(out)
}

/// The records a school has yet to submit or correct (待审核, 不予建籍), for
/// its registrar; or, for the bureau, the records awaiting its review
/// (已上报), optionally of one school. A read of personal data: audited.
pub async fn awaiting(db: &Db, actor: &Actor, school: Option<&str>) -> AppResult<(Vec<AwaitingRecord>, i64)> {
    let mut audit = Audit::new(actor, "record.list_awaiting", ("school", school.unwrap_or("*")));
    let result = awaiting_in(db, actor, school, &mut audit).await;
    audit.close(db, result).await
}

async fn awaiting_in(
    db: &Db,
    actor: &Actor,
    school: Option<&str>,
    audit: &mut Audit<'_>,
) -> AppResult<(Vec<AwaitingRecord>, i64)> {
    let mut conn = db.pool.acquire().await?;
    let school = match school.map(str::trim).filter(|s| !s.is_empty()) {
        Some(code) => {
            let s = schools::by_code(&mut *conn, code).await?.ok_or(AppError::NotFound)?;
            if !actor.may_see(s.id) {
                return Err(AppError::NotFound);
            }
            audit.school(s.id);
            Some(s.id)
        }
        None => None,
    };
    let statuses: &[StudentStatus] = if actor.is_bureau() {
        &[StudentStatus::Submitted]
    } else {
        &[StudentStatus::Pending, StudentStatus::Refused, StudentStatus::Submitted]
    };
    let scope: Option<Vec<i64>> = match (school, &actor.scope) {
        (Some(id), _) => Some(vec![id]),
        (None, Some(ids)) => Some(ids.clone()),
        (None, None) => None,
    };
    let found = students::awaiting(&mut conn, scope.as_deref(), statuses, LIST_LIMIT).await?;
    audit.detail(format!("count={}", found.0.len()));
    audit.record(&mut *conn).await?;
    Ok(found)
}

/// The bureau decides on submitted records, all in one transaction: each
/// approved record becomes 在籍, each refused one 不予建籍 with its reason;
/// one event and one audit row per record. Any bad decision refuses the lot.
pub async fn review(db: &Db, actor: &Actor, today: NaiveDate, decisions: &[Decision]) -> AppResult<Reviewed> {
    let mut audit = Audit::new(actor, "record.review", ("batch", "-"));
    let result = review_in(db, actor, today, decisions, &mut audit).await;
    audit.close(db, result).await
}

async fn review_in(
    db: &Db,
    actor: &Actor,
    today: NaiveDate,
    decisions: &[Decision],
    audit: &mut Audit<'_>,
) -> AppResult<Reviewed> {
    require_bureau(actor)?;
    if decisions.is_empty() {
        return Err(AppError::bad_request("record.no_decision", "请至少对一条学籍作出审核决定"));
    }
    let ids: Vec<String> = decisions.iter().map(|d| d.student.clone()).collect();
    dedup(&ids)?;
    for d in decisions.iter().filter(|d| !d.approve) {
        let reason = d.reason.trim();
        if reason.chars().count() < 2 {
            return Err(
                DomainError::new("record.reason_required", "不予建籍理由", reason, "须写明不予建籍的理由").into()
            );
        }
        if reason.chars().count() > 200 || reason.chars().any(char::is_control) {
            return Err(DomainError::new("record.reason_invalid", "不予建籍理由", "", "超过200字或含有非法字符").into());
        }
    }
    let mut tx = db.pool.begin().await?;
    let mut done = Reviewed { approved: 0, refused: 0 };
    for d in decisions {
        let student = lock_visible(&mut tx, actor, d.student.trim()).await?;
        if student.status != StudentStatus::Submitted {
            return Err(AppError::conflict(
                "record.not_submitted",
                format!("学籍“{}”不是已上报待审核的学籍，不能审核", student.name),
            ));
        }
        let school = school_of(&mut *tx, &student).await?;
        let (action, detail, name) = if d.approve {
            done.approved += 1;
            (Action::ApproveRecord, json!({}), "record.approve")
        } else {
            done.refused += 1;
            (Action::RefuseRecord, json!({ "reason": d.reason.trim() }), "record.refuse")
        };
        change_status(
            &mut tx,
            &student,
            action,
            facts(&student, &school, false),
            StatusDates::default(),
            &detail,
            &[],
            actor.user_id,
            today,
        )
        .await?;
        audit::write(&mut *tx, actor, name, ("student", &student.public_id), Some(student.school_id), "ok", "").await?;
    }
    audit.detail(format!("approved={} refused={}", done.approved, done.refused));
    audit.commit(tx).await?;
    Ok(done)
}
