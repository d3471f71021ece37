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
use crate::db::students::Student;
use crate::db::{Db, now_text};
use crate::documents::{self, Issued, Options};
use crate::error::{AppError, AppResult};
use crate::render::DocKind;
use serde_json::json;
use sqlx::Row;

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
    // The first statement writes, so SQLite takes its write lock at once (no
    // upgrade deadlock between processes); PostgreSQL locks the counter row.
    sqlx::query(
        "INSERT INTO certificate_counters (kind, year, last) VALUES ($1, $2, 0) ON CONFLICT (kind, year) DO NOTHING",
    )
    .bind(kind.code())
    .bind(i64::from(year))
    .execute(&mut *tx)
    .await?;
    let seq: i64 = sqlx::query_scalar(
        "UPDATE certificate_counters SET last = last + 1 WHERE kind = $1 AND year = $2 RETURNING last",
    )
    .bind(kind.code())
    .bind(i64::from(year))
    .fetch_one(&mut *tx)
    .await?;
    if seq > 999_999 {
        return Err(AppError::conflict("certificate.exhausted", "本年度该类证书编号已用完"));
    }
    let number = format_number(kind, year, seq).expect("numbered kind");
    sqlx::query(
        "INSERT INTO certificate_numbers (number, kind, year, seq, state, student_id, actor_id, at)
         VALUES ($1, $2, $3, $4, 'allocated', $5, $6, $7)",
    )
    .bind(&number)
    .bind(kind.code())
    .bind(i64::from(year))
    .bind(seq)
    .bind(student_id)
    .bind(actor_id)
    .bind(now_text())
    .execute(&mut *tx)
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
    let existing: Option<(String, String)> = sqlx::query_as(
        "SELECT number, status FROM documents WHERE student_id = $1 AND kind = $2 AND status IN ('valid', 'lost') AND number IS NOT NULL",
    )
    .bind(student.id)
    .bind(kind.code())
    .fetch_optional(&app.db.pool)
    .await?;
    if let Some((number, status)) = existing {
        let what =
            if status == "lost" { "已挂失（证书不补发，可开具学历证明书）" } else { "已颁发" };
        return Err(AppError::conflict(
            "certificate.already_issued",
            format!("该学生的《{}》（编号 {number}）{what}，不能再次颁发", kind.title_zh()),
        ));
    }
    let pending: Option<String> = sqlx::query_scalar(
        "SELECT number FROM certificate_numbers WHERE student_id = $1 AND kind = $2 AND state = 'allocated' ORDER BY seq LIMIT 1",
    )
    .bind(student.id)
    .bind(kind.code())
    .fetch_optional(&app.db.pool)
    .await?;
    let number = match pending {
        Some(n) => n,
        None => allocate(&app.db, kind, chrono::Datelike::year(&app.today()), Some(student.id), actor_id).await?,
    };
    let issued =
        documents::issue(app, student, kind, Options { number: Some(number.clone()), extra, actor_id }).await?;
    sqlx::query("UPDATE certificate_numbers SET state = 'issued', doc_id = $1, at = $2 WHERE number = $3")
        .bind(&issued.doc_id)
        .bind(now_text())
        .bind(&number)
        .execute(&app.db.pool)
        .await?;
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
    let state: Option<String> = sqlx::query_scalar("SELECT state FROM certificate_numbers WHERE number = $1")
        .bind(number)
        .fetch_optional(&mut *tx)
        .await?;
    match state.as_deref() {
        None => return Err(AppError::NotFound),
        Some("voided") => {
            return Err(AppError::conflict("certificate.already_voided", format!("编号 {number} 已作废")));
        }
        Some(_) => {}
    }
    let now = now_text();
    sqlx::query(
        "UPDATE certificate_numbers SET state = 'voided', reason = $1, actor_id = $2, at = $3 WHERE number = $4",
    )
    .bind(reason)
    .bind(actor_id)
    .bind(&now)
    .bind(number)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE documents SET status = 'revoked', status_reason = $1, status_at = $2 WHERE number = $3 AND status = 'valid'",
    )
    .bind(format!("作废：{reason}"))
    .bind(&now)
    .bind(number)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Records a certificate as lost and issues the 学历证明书 that replaces it
/// (Art. 31): the proof names the lost number; the lost certificate's status
/// becomes "lost, replaced by proof no. …".
pub async fn report_lost(app: &App, number: &str, reason: &str, actor_id: Option<i64>) -> AppResult<Issued> {
    let row = sqlx::query("SELECT doc_id, kind, student_id, issue_date, status FROM documents WHERE number = $1")
        .bind(number)
        .fetch_optional(&app.db.pool)
        .await?
        .ok_or(AppError::NotFound)?;
    let (doc_id, kind, student_id, issue_date, status): (String, String, i64, String, String) = (
        row.try_get("doc_id")?,
        row.try_get("kind")?,
        row.try_get("student_id")?,
        row.try_get("issue_date")?,
        row.try_get("status")?,
    );
    let kind: DocKind = kind.parse().map_err(|_| AppError::NotFound)?;
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
    let stage = if student.grade > 6 { "初中" } else { "小学" };
    extra.insert(
        "certificate".into(),
        json!({
            "stage": stage,
            "years": if stage == "初中" { "三" } else { "六" },
            "study_from": student.entry_date,
            "replaces_number": number,
            "replaces_kind": kind.title_zh(),
            "original_issue_date": issue_date,
            "reason": if reason.trim().is_empty() { "遗失" } else { reason.trim() },
        }),
    );
    let proof = issue_to(app, &student, DocKind::AcademicProof, actor_id, extra).await?;
    sqlx::query(
        "UPDATE documents SET status = 'lost', status_reason = $1, status_at = $2, replaced_by = $3 WHERE doc_id = $4",
    )
    .bind(if reason.trim().is_empty() { "遗失" } else { reason.trim() })
    .bind(now_text())
    .bind(proof.number.as_deref())
    .bind(&doc_id)
    .execute(&app.db.pool)
    .await?;
    Ok(proof)
}

/// Revokes a document (bureau staff, with a reason): from then on it verifies as 已作废.
pub async fn revoke(app: &App, doc_id: &str, reason: &str) -> AppResult<()> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(AppError::bad_request("certificate.reason_required", "撤销须填写原因"));
    }
    let n = sqlx::query("UPDATE documents SET status = 'revoked', status_reason = $1, status_at = $2 WHERE doc_id = $3 AND status = 'valid'")
        .bind(reason)
        .bind(now_text())
        .bind(doc_id)
        .execute(&app.db.pool)
        .await?
        .rows_affected();
    if n == 0 {
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
    let rows = sqlx::query(&format!(
        "SELECT n.number, n.kind, n.state, d.status AS document_status, d.doc_id, d.replaced_by, s.name AS student,
                sc.name AS school, COALESCE(n.reason, d.status_reason) AS reason, n.at
         FROM certificate_numbers n
         LEFT JOIN documents d ON d.number = n.number
         LEFT JOIN students s ON s.id = n.student_id
         LEFT JOIN schools sc ON sc.id = s.school_id
         WHERE ($1 = '' OR n.state = $1 OR d.status = $1) AND ($2 = '' OR n.number LIKE $2)
         ORDER BY n.kind, n.year DESC, n.seq DESC LIMIT {limit}"
    ))
    .bind(state.unwrap_or(""))
    .bind(number.filter(|n| !n.is_empty()).map(|n| format!("{}%", n.trim())).unwrap_or_default())
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            let kind: String = r.try_get("kind")?;
            let title = kind.parse::<DocKind>().map_or("", |k| k.title_zh());
            Ok(NumberRow {
                number: r.try_get("number")?,
                title,
                kind,
                state: r.try_get("state")?,
                document_status: r.try_get("document_status")?,
                doc_id: r.try_get("doc_id")?,
                replaced_by: r.try_get("replaced_by")?,
                student: r.try_get("student")?,
                school: r.try_get("school")?,
                reason: r.try_get("reason")?,
                at: r.try_get("at")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(AppError::from)
}

/// The graduates of a school who may receive `kind` and do not have it yet.
pub async fn graduates_without(app: &App, school_id: i64, kind: DocKind) -> AppResult<Vec<i64>> {
    let grade_clause = if kind == DocKind::CompulsoryCertificate { "AND s.grade = 9" } else { "" };
    Ok(sqlx::query_scalar(&format!(
        "SELECT s.id FROM students s WHERE s.school_id = $1 AND s.status = 'graduated' {grade_clause}
           AND NOT EXISTS (SELECT 1 FROM documents d WHERE d.student_id = s.id AND d.kind = $2
                           AND d.status IN ('valid', 'lost') AND d.number IS NOT NULL)
         ORDER BY s.grade, s.class_id, s.id"
    ))
    .bind(school_id)
    .bind(kind.code())
    .fetch_all(&app.db.pool)
    .await?)
}
