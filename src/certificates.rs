//! Numbered certificates (Art. 30-31): the bureau's numbering, issuing to a
//! school's graduates, voiding spoiled sheets, lost certificates replaced by
//! a 学历证明书, and revocation.
//!
//! Number format: the county's area code, the year, one digit for the kind
//! and a six-digit sequence — `220122` `2026` `2` `000123` is the 123rd
//! 毕业证书 of 2026. Kind digits: 1 义务教育证书, 2 毕业证书, 3 学历证明书.
//! A number is taken in the transaction that records it (`certificate_numbers`),
//! from a per-kind-and-year counter row that the transaction locks, so numbers
//! are unique and gap-free across tasks and server processes sharing a
//! database. Every number ever taken stays listed: allocated (taken for a
//! student, not yet printed), issued, or voided with a reason.

use crate::app::App;
use crate::db::certificates::{self as numbers, Allocated};
use crate::db::students::Student;
use crate::db::{Db, now_text};
use crate::documents::{self, Issued, Options};
use crate::error::{AppError, AppResult};
use crate::render::DocKind;
use serde_json::json;

/// The kind digit of a numbered certificate.
pub fn kind_digit(kind: DocKind) -> Option<char> {
    match kind {
        DocKind::CompulsoryCertificate => Some('1'),
        DocKind::GraduationCertificate => Some('2'),
        DocKind::AcademicProof => Some('3'),
        _ => None,
    }
}

/// The printed number.
pub fn format_number(kind: DocKind, year: i32, seq: i64) -> Option<String> {
    Some(format!("{}{year:04}{}{seq:06}", crate::COUNTY_AREA_CODE, kind_digit(kind)?))
}

fn numbered(kind: DocKind) -> AppResult<char> {
    kind_digit(kind)
        .ok_or_else(|| AppError::bad_request("certificate.kind", format!("《{}》不是编号证书", kind.title_zh())))
}

/// Takes the next number of `kind` for `year`, recording it as allocated (to a
/// student, or to stock when `student_id` is `None`).
pub async fn allocate(
    db: &Db,
    kind: DocKind,
    year: i32,
    student_id: Option<i64>,
    actor_id: Option<i64>,
) -> AppResult<String> {
    numbered(kind)?;
    let mut tx = db.pool.begin().await?;
    let seq = numbers::next_seq(&mut tx, kind, year).await?;
    if seq > 999_999 {
        return Err(AppError::conflict("certificate.exhausted", "本年度该类证书编号已用完"));
    }
    let number = format_number(kind, year, seq).expect("numbered kind");
    let at = now_text();
    numbers::insert_allocated(&mut *tx, &Allocated { number: &number, kind, year, seq, student_id, actor_id, at: &at })
        .await?;
    tx.commit().await?;
    Ok(number)
}

/// Issues a numbered certificate to a student: reuses a number already taken
/// for them and not yet printed, else takes the next; renders and records it.
/// Refused when the student already has one of this kind (issued or lost).
pub async fn issue_to(
    app: &App,
    student: &Student,
    kind: DocKind,
    actor_id: Option<i64>,
    extra: serde_json::Map<String, serde_json::Value>,
) -> AppResult<Issued> {
    numbered(kind)?;
    let school = crate::db::schools::by_id(&app.db.pool, student.school_id).await?.ok_or(AppError::NotFound)?;
    documents::check_allowed(kind, student, school.kind)?;
    if let Some(numbers::Held { number, status }) = numbers::held_by(&app.db.pool, student.id, kind).await? {
        let what =
            if status == "lost" { "已挂失（证书不补发，可开具学历证明书）" } else { "已颁发" };
        return Err(AppError::conflict(
            "certificate.already_issued",
            format!("该学生的《{}》（编号 {number}）{what}，不能再次颁发", kind.title_zh()),
        ));
    }
    let number = match numbers::pending_for(&app.db.pool, student.id, kind).await? {
        Some(n) => n,
        None => allocate(&app.db, kind, chrono::Datelike::year(&app.today()), Some(student.id), actor_id).await?,
    };
    let issued =
        documents::issue(app, student, kind, Options { number: Some(number.clone()), extra, actor_id }).await?;
    numbers::mark_issued(&app.db.pool, &number, &issued.doc_id, &now_text()).await?;
    Ok(issued)
}

/// Voids a number (a spoiled sheet: misprint, jam). The number is never used
/// again; a certificate printed on it is revoked, so the student can be issued
/// a fresh one.
pub async fn void(app: &App, number: &str, reason: &str, actor_id: Option<i64>) -> AppResult<()> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(AppError::bad_request("certificate.reason_required", "作废须填写原因（如：打印错误、卡纸）"));
    }
    let mut tx = app.db.pool.begin().await?;
    match numbers::state_of(&mut *tx, number).await?.as_deref() {
        None => return Err(AppError::NotFound),
        Some("voided") => {
            return Err(AppError::conflict("certificate.already_voided", format!("编号 {number} 已作废")));
        }
        Some(_) => {}
    }
    let now = now_text();
    numbers::mark_voided(&mut *tx, number, reason, actor_id, &now).await?;
    numbers::revoke_printed(&mut *tx, number, &format!("作废：{reason}"), &now).await?;
    tx.commit().await?;
    Ok(())
}

/// Records a certificate as lost and issues the 学历证明书 that replaces it
/// (Art. 31): the proof names the lost number; the lost certificate's status
/// becomes "lost, replaced by proof no. …".
pub async fn report_lost(app: &App, number: &str, reason: &str, actor_id: Option<i64>) -> AppResult<Issued> {
    let numbers::Printed { doc_id, kind, student_id, issue_date, status } =
        numbers::printed_with(&app.db.pool, number).await?.ok_or(AppError::NotFound)?;
    let kind = DocKind::from_code(&kind).ok_or(AppError::NotFound)?;
    if !matches!(kind, DocKind::GraduationCertificate | DocKind::CompulsoryCertificate) {
        return Err(AppError::bad_request(
            "certificate.not_replaceable",
            "只有毕业证书和义务教育证书遗失时开具学历证明书",
        ));
    }
    if status != "valid" {
        return Err(AppError::conflict(
            "certificate.not_valid",
            format!("编号 {number} 的证书当前不是有效状态，不能挂失"),
        ));
    }
    let mut conn = app.db.pool.acquire().await?;
    let student = crate::db::students::by_id(&mut conn, student_id).await?.ok_or(AppError::NotFound)?;
    drop(conn);
    let mut extra = serde_json::Map::new();
    let stage = if student.grade.number() > 6 { "初中" } else { "小学" };
    extra.insert(
        "certificate".into(),
        json!({
            "stage": stage,
            "years": if stage == "初中" { "三" } else { "六" },
            "study_from": student.entry_date,
            "replaces_number": number,
            "replaces_kind": kind.title_zh(),
            "original_issue_date": issue_date.to_string(),
            "reason": if reason.trim().is_empty() { "遗失" } else { reason.trim() },
        }),
    );
    let proof = issue_to(app, &student, DocKind::AcademicProof, actor_id, extra).await?;
    let reason = if reason.trim().is_empty() { "遗失" } else { reason.trim() };
    numbers::mark_lost(&app.db.pool, &doc_id, reason, proof.number.as_deref(), &now_text()).await?;
    Ok(proof)
}

/// Revokes a document (bureau staff, with a reason): from then on it verifies as 已作废.
pub async fn revoke(app: &App, doc_id: &str, reason: &str) -> AppResult<()> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(AppError::bad_request("certificate.reason_required", "撤销须填写原因"));
    }
    if !numbers::revoke_document(&app.db.pool, doc_id, reason, &now_text()).await? {
        return Err(AppError::conflict("certificate.not_valid", "该文书不存在或已不是有效状态"));
    }
    Ok(())
}

/// One allocated, issued or voided number, for the bureau's lists and stock count.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NumberRow {
    /// The number.
    pub number: String,
    /// Kind code.
    pub kind: String,
    /// Kind title.
    pub title: &'static str,
    /// `allocated`, `issued`, `voided`.
    pub state: String,
    /// The document's status when printed: `valid`, `revoked`, `lost`.
    pub document_status: Option<String>,
    /// The document's id (for revocation).
    pub doc_id: Option<String>,
    /// Replaced by (a lost certificate's proof number).
    pub replaced_by: Option<String>,
    /// Student's name.
    pub student: Option<String>,
    /// School name.
    pub school: Option<String>,
    /// Void or status reason.
    pub reason: Option<String>,
    /// When it last changed.
    pub at: String,
}

/// Numbers by state and/or number prefix, newest first (at most `limit`).
pub async fn list(db: &Db, state: Option<&str>, number: Option<&str>, limit: i64) -> AppResult<Vec<NumberRow>> {
    let rows = numbers::list(&db.pool, state, number, limit).await?;
    Ok(rows
        .into_iter()
        .map(|r| NumberRow {
            title: DocKind::from_code(&r.kind).map_or("", DocKind::title_zh),
            number: r.number,
            kind: r.kind,
            state: r.state,
            document_status: r.document_status,
            doc_id: r.doc_id,
            replaced_by: r.replaced_by,
            student: r.student,
            school: r.school,
            reason: r.reason,
            at: r.at,
        })
        .collect())
}

/// The graduates of a school who may receive `kind` and do not have it yet.
pub async fn graduates_without(app: &App, school_id: i64, kind: DocKind) -> AppResult<Vec<i64>> {
    Ok(numbers::graduates_without(&app.db.pool, school_id, kind).await?)
}
