//! Cases (applications with ordered approvals), their decisions
//! (`case_steps`) and the scans filed with them (`case_proofs`).
//!
//! The kinds and stages are stored by their codes; the functions that read a
//! case or its decisions decode them (and the JSON details) and answer
//! [`AppResult`], a stored code that is no kind or stage being the same
//! error as one sent by a user.

use crate::error::{AppError, AppResult};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::{Any, Executor, Row};

mod steps;
pub use steps::*;

/// What a case is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseKind {
    /// 转学.
    Transfer,
    /// 出境就读.
    Abroad,
    /// 休学.
    Suspension,
    /// 续办休学.
    Renewal,
    /// 复学.
    Resumption,
    /// 基本信息变更.
    InfoChange,
}

impl CaseKind {
    /// Every kind.
    pub const ALL: [Self; 6] =
        [Self::Transfer, Self::Abroad, Self::Suspension, Self::Renewal, Self::Resumption, Self::InfoChange];

    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Transfer => "transfer",
            Self::Abroad => "abroad",
            Self::Suspension => "suspension",
            Self::Renewal => "renewal",
            Self::Resumption => "resumption",
            Self::InfoChange => "info_change",
        }
    }

    /// Chinese label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Transfer => "转学",
            Self::Abroad => "出境就读",
            Self::Suspension => "休学",
            Self::Renewal => "续办休学",
            Self::Resumption => "复学",
            Self::InfoChange => "基本信息变更",
        }
    }

    /// Parses a code.
    pub fn parse(s: &str) -> AppResult<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.code() == s)
            .ok_or_else(|| AppError::bad_request("case.kind", format!("申请类型“{s}”无法识别")))
    }

    /// The stages, in order.
    pub fn stages(self) -> &'static [Stage] {
        match self {
            Self::Transfer => {
                &[Stage::ReceivingSchool, Stage::ReceivingBureau, Stage::SendingSchool, Stage::SendingBureau]
            }
            _ => &[Stage::School, Stage::Bureau],
        }
    }
}

/// An approval stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// 转入学校.
    ReceivingSchool,
    /// 转入地教育局.
    ReceivingBureau,
    /// 转出学校.
    SendingSchool,
    /// 转出地教育局.
    SendingBureau,
    /// 学校审核.
    School,
    /// 教育局批准.
    Bureau,
}

impl Stage {
    const ALL: [Self; 6] = [
        Self::ReceivingSchool,
        Self::ReceivingBureau,
        Self::SendingSchool,
        Self::SendingBureau,
        Self::School,
        Self::Bureau,
    ];

    /// Stable code (as the templates name the approval blocks).
    pub fn code(self) -> &'static str {
        match self {
            Self::ReceivingSchool => "receiving_school",
            Self::ReceivingBureau => "receiving_bureau",
            Self::SendingSchool => "sending_school",
            Self::SendingBureau => "sending_bureau",
            Self::School => "school",
            Self::Bureau => "bureau",
        }
    }

    /// Chinese label.
    pub fn label(self) -> &'static str {
        match self {
            Self::ReceivingSchool => "转入学校审核",
            Self::ReceivingBureau => "转入地教育局审核",
            Self::SendingSchool => "转出学校审核",
            Self::SendingBureau => "转出地教育局审核",
            Self::School => "学校审核",
            Self::Bureau => "教育局批准",
        }
    }

    /// Parses a code.
    pub fn parse(s: &str) -> AppResult<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.code() == s)
            .ok_or_else(|| AppError::bad_request("case.stage", format!("审批环节“{s}”无法识别")))
    }

    /// Whether bureau staff decide it.
    pub fn is_bureau(self) -> bool {
        matches!(self, Self::ReceivingBureau | Self::SendingBureau | Self::Bureau)
    }
}

/// A case as stored. Serialized (in a case's page and JSON) without its
/// internal ids, with the public id as `id`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Case {
    /// Internal id.
    #[serde(skip)]
    pub id: i64,
    /// Public id (URLs).
    #[serde(rename = "id")]
    pub public_id: String,
    /// Kind.
    pub kind: CaseKind,
    /// Student.
    #[serde(skip)]
    pub student_id: i64,
    /// The student's school when opened (sending school).
    #[serde(skip)]
    pub school_id: i64,
    /// Receiving school in this system.
    #[serde(skip)]
    pub to_school_id: Option<i64>,
    /// Receiving class.
    #[serde(skip)]
    pub to_class_id: Option<i64>,
    /// `open`, `completed`, `refused`, `withdrawn`.
    pub state: String,
    /// The stage waiting, while open.
    pub stage: Option<Stage>,
    /// Since when it waits.
    pub stage_since: String,
    /// Its deadline.
    pub stage_due: Option<String>,
    /// Kind-specific details.
    pub detail: Value,
    /// The bureau's reason for overriding an in-principle refusal.
    pub override_reason: Option<String>,
    /// Opened on.
    pub opened_on: String,
    /// Closed on.
    pub closed_on: Option<String>,
    /// Dossier handover deadline (completed transfers).
    pub handover_due: Option<String>,
    /// Dossier handed over on.
    pub handed_over_on: Option<String>,
    /// Dossier received on.
    pub received_on: Option<String>,
}

const CASE_SELECT: &str = "SELECT id, public_id, kind, student_id, school_id, to_school_id, to_class_id, state, stage,
    stage_since, stage_due, detail, override_reason, opened_on, closed_on, handover_due, handed_over_on, received_on
    FROM cases";

fn case_from_row(r: &sqlx::any::AnyRow) -> AppResult<Case> {
    let stage: Option<String> = r.try_get("stage")?;
    let detail: String = r.try_get("detail")?;
    Ok(Case {
        id: r.try_get("id")?,
        public_id: r.try_get("public_id")?,
        kind: CaseKind::parse(&r.try_get::<String, _>("kind")?)?,
        student_id: r.try_get("student_id")?,
        school_id: r.try_get("school_id")?,
        to_school_id: r.try_get("to_school_id")?,
        to_class_id: r.try_get("to_class_id")?,
        state: r.try_get("state")?,
        stage: stage.as_deref().map(Stage::parse).transpose()?,
        stage_since: r.try_get("stage_since")?,
        stage_due: r.try_get("stage_due")?,
        detail: serde_json::from_str(&detail).map_err(|e| AppError::Internal(e.into()))?,
        override_reason: r.try_get("override_reason")?,
        opened_on: r.try_get("opened_on")?,
        closed_on: r.try_get("closed_on")?,
        handover_due: r.try_get("handover_due")?,
        handed_over_on: r.try_get("handed_over_on")?,
        received_on: r.try_get("received_on")?,
    })
}

/// A case by public id.
pub async fn by_public_id<'c>(e: impl Executor<'c, Database = Any>, public_id: &str) -> AppResult<Option<Case>> {
    let row = sqlx::query(&format!("{CASE_SELECT} WHERE public_id = $1")).bind(public_id).fetch_optional(e).await?;
    row.as_ref().map(case_from_row).transpose()
}

/// The cases of the schools in `scope` (as sending or receiving school; every
/// case when `None`): `open` only, or all; of one student, or all; newest
/// first (at most 500).
pub async fn list<'c>(
    e: impl Executor<'c, Database = Any>,
    scope: Option<&[i64]>,
    only_open: bool,
    student_id: Option<i64>,
) -> AppResult<Vec<Case>> {
    let mut sql = format!("{CASE_SELECT} WHERE 1 = 1");
    if let Some(ids) = scope {
        // Internal integer ids from the database, not user input.
        let list =
            if ids.is_empty() { "-1".to_owned() } else { ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",") };
        sql.push_str(&format!(" AND (school_id IN ({list}) OR to_school_id IN ({list}))"));
    }
    if only_open {
        sql.push_str(" AND state = 'open'");
    }
    if student_id.is_some() {
        sql.push_str(" AND student_id = $1");
    }
    sql.push_str(" ORDER BY id DESC LIMIT 500");
    let mut q = sqlx::query(&sql);
    if let Some(id) = student_id {
        q = q.bind(id);
    }
    let rows = q.fetch_all(e).await?;
    rows.iter().map(case_from_row).collect()
}

/// The kind code of the student's open case, if they have one.
pub async fn open_kind_of<'c>(
    e: impl Executor<'c, Database = Any>,
    student_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT kind FROM cases WHERE student_id = $1 AND state = 'open'")
        .bind(student_id)
        .fetch_optional(e)
        .await
}

/// A case to open, waiting at its first undecided stage.
#[derive(Debug, Clone)]
pub struct NewCase<'a> {
    /// Public id.
    pub public_id: &'a str,
    /// Kind.
    pub kind: CaseKind,
    /// Student.
    pub student_id: i64,
    /// The student's school (sending school).
    pub school_id: i64,
    /// Receiving school in this system.
    pub to_school_id: Option<i64>,
    /// Receiving class.
    pub to_class_id: Option<i64>,
    /// The stage waiting.
    pub stage: Stage,
    /// Its deadline, `YYYY-MM-DD`.
    pub stage_due: &'a str,
    /// Kind-specific details.
    pub detail: &'a Value,
    /// The bureau's reason for overriding an in-principle refusal.
    pub override_reason: Option<&'a str>,
    /// Who opened it.
    pub opened_by: Option<i64>,
    /// Opened on (also since when the stage waits), `YYYY-MM-DD`.
    pub opened_on: &'a str,
    /// The instant, RFC 3339.
    pub opened_at: &'a str,
}

/// Inserts an open case; returns its internal id.
pub async fn insert<'c>(e: impl Executor<'c, Database = Any>, new: &NewCase<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO cases (public_id, kind, student_id, school_id, to_school_id, to_class_id, state, stage,
             stage_since, stage_due, detail, override_reason, opened_by, opened_on, opened_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
    )
    .bind(new.public_id)
    .bind(new.kind.code())
    .bind(new.student_id)
    .bind(new.school_id)
    .bind(new.to_school_id)
    .bind(new.to_class_id)
    .bind(new.stage.code())
    .bind(new.opened_on)
    .bind(new.stage_due)
    .bind(new.detail.to_string())
    .bind(new.override_reason)
    .bind(new.opened_by)
    .bind(new.opened_on)
    .bind(new.opened_at)
    .fetch_one(e)
    .await
}

/// Takes the write lock on the case's row for the rest of the transaction
/// (SQLite: the database write lock; PostgreSQL: the row lock), before it is read.
pub async fn lock<'c>(e: impl Executor<'c, Database = Any>, public_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE cases SET stage = stage WHERE public_id = $1").bind(public_id).execute(e).await?;
    Ok(())
}

/// Moves an open case to its next stage, waiting since `since` and due by `due`.
pub async fn advance<'c>(
    e: impl Executor<'c, Database = Any>,
    case_id: i64,
    next: Stage,
    since: &str,
    due: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE cases SET stage = $1, stage_since = $2, stage_due = $3 WHERE id = $4")
        .bind(next.code())
        .bind(since)
        .bind(due)
        .bind(case_id)
        .execute(e)
        .await?;
    Ok(())
}

/// Closes a case (`completed`, `refused`, `withdrawn`) on `closed_on`: no stage waits any more.
pub async fn close<'c>(
    e: impl Executor<'c, Database = Any>,
    case_id: i64,
    state: &str,
    closed_on: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE cases SET state = $1, stage = NULL, stage_due = NULL, closed_on = $2 WHERE id = $3")
        .bind(state)
        .bind(closed_on)
        .bind(case_id)
        .execute(e)
        .await?;
    Ok(())
}

/// Sets the dossier handover deadline of a completed transfer.
pub async fn set_handover_due<'c>(
    e: impl Executor<'c, Database = Any>,
    case_id: i64,
    due: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE cases SET handover_due = $1 WHERE id = $2").bind(due).bind(case_id).execute(e).await?;
    Ok(())
}

/// Replaces the case's details (JSON text).
pub async fn set_detail<'c>(
    e: impl Executor<'c, Database = Any>,
    case_id: i64,
    detail: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE cases SET detail = $1 WHERE id = $2").bind(detail).bind(case_id).execute(e).await?;
    Ok(())
}

/// Records the day the dossier was handed over, unless it already was.
pub async fn mark_handed_over<'c>(
    e: impl Executor<'c, Database = Any>,
    case_id: i64,
    on: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE cases SET handed_over_on = COALESCE(handed_over_on, $1) WHERE id = $2")
        .bind(on)
        .bind(case_id)
        .execute(e)
        .await?;
    Ok(())
}

/// Records the day the dossier was received (and so handed over), unless it already was.
pub async fn mark_received<'c>(
    e: impl Executor<'c, Database = Any>,
    case_id: i64,
    on: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE cases SET received_on = COALESCE(received_on, $1), handed_over_on = COALESCE(handed_over_on, $1)
         WHERE id = $2",
    )
    .bind(on)
    .bind(case_id)
    .execute(e)
    .await?;
    Ok(())
}
