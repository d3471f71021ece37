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
use crate::db::graduations::{self, Graduation};
use crate::db::students::Student;
use crate::db::{Db, now_text};
use crate::documents::{self, Issued, Options, Prepared};
use crate::domain::{Actor, Stage};
use crate::error::{AppError, AppResult};
use crate::render::DocKind;
use crate::service::audit::Audit;
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
/// student's graduation of a stage, or to stock when `student_id` is `None`).
pub async fn allocate(
    db: &Db,
    kind: DocKind,
    year: i32,
    student_id: Option<i64>,
    stage: Option<Stage>,
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
    let stage = stage.map(Stage::code);
    numbers::insert_allocated(
        &mut *tx,
        &Allocated { number: &number, kind, year, seq, student_id, stage, actor_id, at: &at },
    )
    .await?;
    tx.commit().await?;
    Ok(number)
}

/// Issues a numbered certificate for a graduation: reuses a number already
/// taken for it and not yet printed, else takes the next; renders and records
/// it. Refused when the student already holds one of this kind for the
/// graduation's stage (issued or lost).
pub async fn issue_to(
    app: &App,
    student: &Student,
    graduation: &Graduation,
    kind: DocKind,
    actor_id: Option<i64>,
    extra: serde_json::Map<String, serde_json::Value>,
) -> AppResult<Issued> {
    let prepared = prepare_issue(app, student, graduation, kind, actor_id, extra).await?;
    let mut tx = app.db.pool.begin().await?;
    record_issue(&mut tx, &prepared).await?;
    tx.commit().await?;
    Ok(prepared.issued)
}

/// [`issue_to`] up to the render: the number is taken, nothing else is written.
pub(crate) async fn prepare_issue(
    app: &App,
    student: &Student,
    graduation: &Graduation,
    kind: DocKind,
    actor_id: Option<i64>,
    extra: serde_json::Map<String, serde_json::Value>,
) -> AppResult<Prepared> {
    numbered(kind)?;
    if kind == DocKind::CompulsoryCertificate && graduation.stage != Stage::Junior {
        return Err(AppError::conflict(
            "certificate.not_allowed",
            "义务教育证书在初中（九年级）毕业时颁发，小学毕业只颁发小学毕业证书",
        ));
    }
    let stage = graduation.stage;
    if let Some(numbers::Held { number, status }) =
        numbers::held_by(&app.db.pool, student.id, kind, stage.code()).await?
    {
        let what =
            if status == "lost" { "已挂失（证书不补发，可开具学历证明书）" } else { "已颁发" };
        return Err(AppError::conflict(
            "certificate.already_issued",
            format!("该学生的{}《{}》（编号 {number}）{what}，不能再次颁发", stage.label(), kind.title_zh()),
        ));
    }
    let number = match numbers::pending_for(&app.db.pool, student.id, kind, stage.code()).await? {
        Some(n) => n,
        None => {
            let year = chrono::Datelike::year(&app.today());
            allocate(&app.db, kind, year, Some(student.id), Some(stage), actor_id).await?
        }
    };
    let opts =
        Options { number: Some(number), extra, actor_id, graduation: Some(graduation.clone()), status_index: None };
    documents::prepare(app, student, kind, opts).await
}

/// Records a prepared certificate and marks its number issued, in `tx`.
pub(crate) async fn record_issue(tx: &mut sqlx::Transaction<'static, sqlx::Any>, prepared: &Prepared) -> AppResult<()> {
    prepared.record(tx).await?;
    let number = prepared.issued.number.as_deref().unwrap_or_default();
    numbers::mark_issued(&mut **tx, number, &prepared.issued.doc_id, &now_text()).await?;
    Ok(())
}

/// What issuing to a school's graduates did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IssueResult {
    /// Numbers issued.
    pub issued: Vec<String>,
    /// Graduates refused, with why.
    pub refused: Vec<String>,
}

/// Issues certificates of `kind` to every graduate of the school who has
/// none (bureau staff): each certificate is recorded on its own; one
/// `certificate.issue` row counts them.
///
/// # Errors
///
/// Not bureau staff, an unknown school or kind, or a database failure (a
/// refusal for one graduate is listed, and the others go on).
pub async fn issue_for_school(app: &App, actor: &Actor, school_code: &str, kind: DocKind) -> AppResult<IssueResult> {
    if !actor.is_bureau() {
        return Err(AppError::Forbidden);
    }
    numbered(kind)?;
    let school = crate::db::schools::by_code(&app.db.pool, school_code).await?.ok_or(AppError::NotFound)?;
    let mut audit = Audit::new(actor, "certificate.issue", ("school", &school.code));
    audit.school(school.id);
    let result = async {
        let due = graduations::without_certificate(&app.db.pool, school.id, kind).await?;
        let mut result = IssueResult { issued: Vec::new(), refused: Vec::new() };
        for graduation in due {
            let mut conn = app.db.pool.acquire().await?;
            let student =
                crate::db::students::by_id(&mut conn, graduation.student_id).await?.ok_or(AppError::NotFound)?;
            drop(conn);
            match issue_to(app, &student, &graduation, kind, actor.user_id, serde_json::Map::new()).await {
                Ok(issued) => result.issued.push(issued.number.unwrap_or_default()),
                Err(AppError::Internal(e)) => return Err(AppError::Internal(e)),
                Err(e) => result.refused.push(format!("{}：{e}", student.student_no)),
            }
        }
        audit.detail(format!("kind={} issued={} refused={}", kind.code(), result.issued.len(), result.refused.len()));
        audit.record(&app.db.pool).await?;
        Ok(result)
    }
    .await;
    audit.close(&app.db, result).await
}

/// Voids a number (a spoiled sheet: misprint, jam). The number is never used
/// again; a certificate printed on it is revoked, so the student can be issued
/// a fresh one.
pub async fn void(app: &App, actor: &Actor, number: &str, reason: &str) -> AppResult<()> {
    let mut audit = Audit::new(actor, "certificate.void", ("certificate", number));
    let result = void_in(app, actor, number, reason, &mut audit).await;
    audit.close(&app.db, result).await
}

async fn void_in(app: &App, actor: &Actor, number: &str, reason: &str, audit: &mut Audit<'_>) -> AppResult<()> {
    if !actor.is_bureau() {
        return Err(AppError::Forbidden);
    }
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
    // Only a sheet never handed over is spoiled; one in a family's hands is never voided (Art. 31).
    if let Some(printed) = numbers::printed_with(&mut *tx, number).await? {
        if let Some(h) = numbers::hand_over_of(&mut *tx, &printed.doc_id).await? {
            return Err(handed_over(number, &h));
        }
        if printed.status == "lost" {
            return Err(AppError::conflict("certificate.not_valid", format!("编号 {number} 的证书已挂失，不能作废")));
        }
    }
    let now = now_text();
    numbers::mark_voided(&mut *tx, number, reason, actor.user_id, &now).await?;
    numbers::revoke_printed(&mut *tx, number, &format!("作废：{reason}"), &now).await?;
    audit.commit(tx).await
}

/// The refusal for a certificate already handed over: never voided, never
/// printed again; a loss goes through the 学历证明书.
pub fn handed_over(number: &str, h: &numbers::HandOver) -> AppError {
    AppError::conflict(
        "certificate.handed_over",
        format!(
            "编号 {number} 的证书已于{}颁发，证书不作废、不补发、不重印；遗失时由学校申请、教育局开具学历证明书（第三十一条）",
            h.on
        ),
    )
}

/// Records that the printed certificate `number` was handed over (颁发) on
/// `on` (default today) to `received_by` (the guardian or the graduate). The
/// school that issued it or bureau staff; once.
pub async fn hand_over(
    app: &App,
    actor: &Actor,
    number: &str,
    received_by: &str,
    on: Option<chrono::NaiveDate>,
) -> AppResult<numbers::HandOver> {
    let mut audit = Audit::new(actor, "certificate.hand_over", ("certificate", number));
    let result = async {
        let printed = numbers::printed_with(&app.db.pool, number).await?.ok_or(AppError::NotFound)?;
        if !actor.may_see(printed.school_id) {
            return Err(AppError::NotFound);
        }
        audit.school(printed.school_id);
        let to = received_by.trim();
        if to.is_empty() || to.chars().count() > 50 {
            return Err(AppError::bad_request(
                "certificate.receiver_required",
                "请填写领取人姓名（监护人或毕业生本人，不超过50字）",
            ));
        }
        app.coverage.check("领取人", to).map_err(|e| AppError::bad_request("text.unprintable", e.to_string()))?;
        let today = app.today();
        let on = on.unwrap_or(today);
        if on > today || on < printed.issue_date {
            return Err(AppError::bad_request(
                "certificate.hand_over_date",
                format!("颁发日期须在证书签发日期（{}）与今天之间", printed.issue_date),
            ));
        }
        let mut tx = app.db.pool.begin().await?;
        if let Some(h) = numbers::hand_over_of(&mut *tx, &printed.doc_id).await? {
            return Err(AppError::conflict(
                "certificate.already_handed_over",
                format!("编号 {number} 的证书已于{}颁发，不能再次登记", h.on),
            ));
        }
        let h = numbers::HandOver { on: on.to_string(), to: to.to_owned() };
        if !numbers::record_hand_over(&mut *tx, number, &h, actor.user_id).await? {
            return Err(AppError::conflict(
                "certificate.not_valid",
                format!("编号 {number} 的证书当前不是有效状态，不能登记颁发"),
            ));
        }
        audit.detail(format!("on={on}"));
        audit.commit(tx).await?;
        Ok(h)
    }
    .await;
    audit.close(&app.db, result).await
}

/// Records a certificate as lost and issues the 学历证明书 that replaces it
/// (Art. 31): the proof names the lost number; the lost certificate's status
/// becomes "lost, replaced by proof no. …".
pub async fn report_lost(app: &App, actor: &Actor, number: &str, reason: &str) -> AppResult<Issued> {
    let mut audit = Audit::new(actor, "certificate.lost", ("certificate", number));
    let result = report_lost_in(app, actor, number, reason, &mut audit).await;
    audit.close(&app.db, result).await
}

async fn report_lost_in(
    app: &App,
    actor: &Actor,
    number: &str,
    reason: &str,
    audit: &mut Audit<'_>,
) -> AppResult<Issued> {
    if !actor.is_bureau() {
        return Err(AppError::Forbidden);
    }
    let numbers::Printed { doc_id, kind, student_id, issue_date, status, stage, .. } =
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
    // Only a certificate handed over can be lost by its holder (Art. 31); a
    // sheet spoiled or mislaid at the school is voided and printed again.
    if numbers::hand_over_of(&app.db.pool, &doc_id).await?.is_none() {
        return Err(AppError::conflict(
            "certificate.not_handed_over",
            format!("编号 {number} 的证书尚未登记颁发：未颁发的证书损坏或遗失时应作废后重新印制，不开具学历证明书"),
        ));
    }
    let mut conn = app.db.pool.acquire().await?;
    let student = crate::db::students::by_id(&mut conn, student_id).await?.ok_or(AppError::NotFound)?;
    drop(conn);
    // The proof stands for the lost certificate: the same graduation.
    let stage = stage.as_deref().map(Stage::parse).transpose()?;
    let graduation = crate::db::graduations::of_student(&app.db.pool, student.id)
        .await?
        .into_iter()
        .find(|g| Some(g.stage) == stage)
        .ok_or_else(|| {
            AppError::conflict("certificate.no_graduation", format!("编号 {number} 的证书找不到对应的毕业记录"))
        })?;
    let mut extra = serde_json::Map::new();
    extra.insert(
        "certificate".into(),
        json!({
            "replaces_number": number,
            "replaces_kind": kind.title_zh(),
            "original_issue_date": issue_date.to_string(),
            "reason": if reason.trim().is_empty() { "遗失" } else { reason.trim() },
        }),
    );
    let proof = prepare_issue(app, &student, &graduation, DocKind::AcademicProof, actor.user_id, extra).await?;
    let reason = if reason.trim().is_empty() { "遗失" } else { reason.trim() };
    let mut tx = app.db.pool.begin().await?;
    record_issue(&mut tx, &proof).await?;
    numbers::mark_lost(&mut *tx, &doc_id, reason, proof.issued.number.as_deref(), &now_text()).await?;
    audit.detail(format!("proof={}", proof.issued.number.as_deref().unwrap_or("")));
    audit.commit(tx).await?;
    Ok(proof.issued)
}

/// Revokes a document (bureau staff, with a reason): from then on it verifies as 已作废.
pub async fn revoke(app: &App, actor: &Actor, doc_id: &str, reason: &str) -> AppResult<()> {
    let mut audit = Audit::new(actor, "document.revoke", ("document", doc_id));
    let result = async {
        if !actor.is_bureau() {
            return Err(AppError::Forbidden);
        }
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(AppError::bad_request("certificate.reason_required", "撤销须填写原因"));
        }
        let mut tx = app.db.pool.begin().await?;
        if !numbers::revoke_document(&mut *tx, doc_id, reason, &now_text()).await? {
            return Err(AppError::conflict("certificate.not_valid", "该文书不存在或已不是有效状态"));
        }
        audit.commit(tx).await
    }
    .await;
    audit.close(&app.db, result).await
}

/// One allocated, issued or voided number, for the bureau's lists and stock
/// count: the stored entry with its kind's title.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NumberRow {
    /// The number, its state, the document printed on it.
    #[serde(flatten)]
    pub entry: numbers::NumberEntry,
    /// Kind title.
    pub title: &'static str,
}

/// Numbers by state and/or number prefix, newest first (at most `limit`).
pub async fn list(db: &Db, state: Option<&str>, number: Option<&str>, limit: i64) -> AppResult<Vec<NumberRow>> {
    let rows = numbers::list(&db.pool, state, number, limit).await?;
    Ok(rows
        .into_iter()
        .map(|entry| NumberRow { title: DocKind::from_code(&entry.kind).map_or("", DocKind::title_zh), entry })
        .collect())
}

/// A student's valid certificates (and 学历证明书) with their hand-over, for
/// the student's page: number, title, and who received it when.
pub async fn of_student(app: &App, student_id: i64) -> AppResult<Vec<serde_json::Value>> {
    let mut out = Vec::new();
    for d in crate::documents::of_student(app, student_id).await? {
        let Some(kind) = DocKind::from_code(&d.kind).filter(|k| k.is_certificate()) else { continue };
        let (Some(number), "valid") = (d.number.as_deref(), d.status.as_str()) else { continue };
        let hand_over = numbers::hand_over_of(&app.db.pool, &d.doc_id).await?;
        out.push(json!({
            "number": number,
            "title": kind.title_zh(),
            "issue_date": d.issue_date,
            "handed_over_on": hand_over.as_ref().map(|h| h.on.clone()),
            "handed_over_to": hand_over.map(|h| h.to),
        }));
    }
    Ok(out)
}
