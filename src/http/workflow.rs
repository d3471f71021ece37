//! The status workflows as JSON (see [`crate::workflow`]): applications and
//! their approvals, the school's reports, the yearly runs, the overdue list.
//!
//! Every write carries the `X-CSRF-Token` header and is audited with its
//! outcome; every read of a case or list (personal data) is audited.

use crate::dossier::{self, Failure, Upload};
use crate::error::AppError;
use crate::http::ApiJson;
use crate::http::Web;
use crate::http::archive::{UploadSource, add_upload, parse_kind, run_import, spool_upload};
use crate::http::auth::Staff;
use crate::http::documents::pdf_response;
use crate::http::streams::{attachment, content_length, stream_body};
use crate::workflow::cases::{self, Case, CaseKind};
use crate::workflow::{direct, overdue, yearly};
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use xueji_archive::ArchiveError;

/// The workflow API routes.
pub fn router() -> Router<Arc<Web>> {
    Router::new()
        .route("/api/transfers", post(open_transfer))
        .route("/api/junior-intake", post(junior_intake))
        .route("/api/students/{id}/abroad", post(open_abroad))
        .route("/api/students/{id}/suspension", post(open_suspension))
        .route("/api/students/{id}/renewal", post(open_renewal))
        .route("/api/students/{id}/resumption", post(open_resumption))
        .route("/api/students/{id}/info-change", post(open_info_change))
        .route("/api/students/{id}/dropout/suspected", post(suspect_dropout))
        .route("/api/students/{id}/dropout", post(report_dropout))
        .route("/api/students/{id}/recalls", get(list_recalls).post(issue_recall))
        .route("/api/recalls/delivery", post(record_delivery))
        .route("/api/students/{id}/return", post(record_return))
        .route("/api/students/{id}/death", post(record_death))
        .route("/api/students/{id}/missing", post(report_missing))
        .route("/api/cases", get(list_cases))
        .route("/api/cases/{case}", get(case_api))
        .route("/api/cases/{case}/decision", post(decide))
        .route("/api/cases/{case}/withdraw", post(withdraw))
        .route("/api/cases/{case}/form", get(form))
        .route("/api/cases/{case}/proofs", post(upload_proof))
        .route("/api/cases/{case}/package", get(export_package).post(import_package))
        .route("/api/years/{kind}/{year}", get(year_preview).post(year_run))
        .route("/api/overdue", get(overdue_api))
        // Proof scans and packages are size-checked while streaming.
        .layer(DefaultBodyLimit::disable())
}

/// Audits a workflow write with its outcome, then passes the result on.
async fn case_answer(app: &Web, staff: &Staff, case: &Case, status: StatusCode) -> Result<Response, AppError> {
    let view = cases::view(app, &staff.actor, case).await?;
    Ok((status, Json(view)).into_response())
}

async fn open_transfer(
    State(app): State<Arc<Web>>,
    staff: Staff,
    ApiJson(req): ApiJson<cases::TransferRequest>,
) -> Result<Response, AppError> {
    let result = cases::open_transfer(&app, &staff.actor, &req).await;
    let case = result?;
    case_answer(&app, &staff, &case, StatusCode::CREATED).await
}

async fn junior_intake(
    State(app): State<Arc<Web>>,
    staff: Staff,
    ApiJson(req): ApiJson<yearly::IntakeRequest>,
) -> Result<Json<Value>, AppError> {
    let result = yearly::junior_intake(&app, &staff.actor, &req).await;
    let id = result?;
    Ok(Json(json!({"student": id})))
}

async fn open_abroad(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<cases::AbroadRequest>,
) -> Result<Response, AppError> {
    let result = cases::open_abroad(&app, &staff.actor, &id, &req).await;
    let case = result?;
    case_answer(&app, &staff, &case, StatusCode::CREATED).await
}

async fn open_suspension_kind(
    app: &Web,
    staff: &Staff,
    id: &str,
    kind: CaseKind,
    req: &cases::SuspensionRequest,
) -> Result<Response, AppError> {
    let result = cases::open_suspension(app, &staff.actor, id, kind, req).await;
    let case = result?;
    case_answer(app, staff, &case, StatusCode::CREATED).await
}

async fn open_suspension(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<cases::SuspensionRequest>,
) -> Result<Response, AppError> {
    open_suspension_kind(&app, &staff, &id, CaseKind::Suspension, &req).await
}

async fn open_renewal(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<cases::SuspensionRequest>,
) -> Result<Response, AppError> {
    open_suspension_kind(&app, &staff, &id, CaseKind::Renewal, &req).await
}

async fn open_resumption(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<cases::SuspensionRequest>,
) -> Result<Response, AppError> {
    open_suspension_kind(&app, &staff, &id, CaseKind::Resumption, &req).await
}

async fn open_info_change(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<cases::InfoChangeRequest>,
) -> Result<Response, AppError> {
    let result = cases::open_info_change(&app, &staff.actor, &id, &req).await;
    let case = result?;
    case_answer(&app, &staff, &case, StatusCode::CREATED).await
}

fn status_answer(id: &str, result: Result<crate::domain::StudentStatus, AppError>) -> Result<Json<Value>, AppError> {
    let to = result?;
    Ok(Json(json!({"student": id, "status": to.code(), "status_label": to.label()})))
}

async fn suspect_dropout(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<direct::DropoutReport>,
) -> Result<Json<Value>, AppError> {
    let result = direct::suspect_dropout(&app, &staff.actor, &id, &req).await;
    status_answer(&id, result)
}

async fn report_dropout(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<direct::DropoutReport>,
) -> Result<Json<Value>, AppError> {
    let result = direct::report_dropout(&app, &staff.actor, &id, &req).await;
    status_answer(&id, result)
}

async fn record_return(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<direct::Return>,
) -> Result<Json<Value>, AppError> {
    let result = direct::record_return(&app, &staff.actor, &id, &req).await;
    status_answer(&id, result)
}

async fn report_missing(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<direct::Missing>,
) -> Result<Json<Value>, AppError> {
    let result = direct::report_missing(&app, &staff.actor, &id, &req).await;
    status_answer(&id, result)
}

async fn record_death(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<direct::Death>,
) -> Result<Json<direct::DeathRecorded>, AppError> {
    let result = direct::record_death(&app, &staff.actor, &id, &req).await;
    Ok(Json(result?))
}

async fn issue_recall(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<direct::RecallRequest>,
) -> Result<Response, AppError> {
    let result = direct::issue_recall(&app, &staff.actor, &id, &req).await;
    let (recall, issued) = result?;
    Ok((StatusCode::CREATED, Json(json!({"recall": recall, "doc_id": issued.doc_id, "verify_url": issued.verify_url})))
        .into_response())
}

async fn list_recalls(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Json<Vec<direct::Recall>>, AppError> {
    let student = crate::http::documents::student_for(&app, &staff, &id, "student.recalls").await?;
    staff.audit(&app, "student.recalls", ("student", &id), Some(student.school_id), "ok", "").await?;
    Ok(Json(direct::recalls_of(&app, student.id).await?))
}

/// A delivery, naming the notice.
#[derive(Debug, Deserialize)]
struct DeliveryBody {
    number: String,
    #[serde(flatten)]
    delivery: direct::Delivery,
}

async fn record_delivery(
    State(app): State<Arc<Web>>,
    staff: Staff,
    ApiJson(req): ApiJson<DeliveryBody>,
) -> Result<Json<direct::Recall>, AppError> {
    let result = direct::record_delivery(&app, &staff.actor, &req.number, &req.delivery).await;
    Ok(Json(result?))
}

/// Case list filters.
#[derive(Debug, Deserialize)]
struct CaseQuery {
    #[serde(default)]
    open: Option<String>,
}

async fn list_cases(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Query(q): Query<CaseQuery>,
) -> Result<Json<Vec<cases::CaseView>>, AppError> {
    let only_open = q.open.as_deref().is_some_and(|v| v == "1" || v == "true");
    let list = cases::list(&app, &staff.actor, only_open, None).await?;
    let mut views = Vec::with_capacity(list.len());
    for c in &list {
        views.push(cases::view(&app, &staff.actor, c).await?);
    }
    staff.audit(&app, "case.list", ("case", "*"), None, "ok", &format!("shown={}", views.len())).await?;
    Ok(Json(views))
}

async fn case_api(State(app): State<Arc<Web>>, staff: Staff, Path(id): Path<String>) -> Result<Response, AppError> {
    let case = match cases::visible(&app, &staff.actor, &id).await {
        Ok(c) => c,
        Err(e) => {
            staff.audit(&app, "case.view", ("case", &id), None, "not_found", "").await?;
            return Err(e);
        }
    };
    staff.audit(&app, "case.view", ("case", &id), Some(case.school_id), "ok", "").await?;
    case_answer(&app, &staff, &case, StatusCode::OK).await
}

async fn decide(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(id): Path<String>,
    ApiJson(d): ApiJson<cases::Decision>,
) -> Result<Response, AppError> {
    let result = cases::decide(&app, &staff.actor, &id, &d).await;
    let case = result?;
    case_answer(&app, &staff, &case, StatusCode::OK).await
}

/// A withdrawal.
#[derive(Debug, Deserialize)]
struct WithdrawBody {
    reason: String,
}

async fn withdraw(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<WithdrawBody>,
) -> Result<Response, AppError> {
    let result = cases::withdraw(&app, &staff.actor, &id, &b.reason).await;
    let case = result?;
    case_answer(&app, &staff, &case, StatusCode::OK).await
}

async fn form(State(app): State<Arc<Web>>, staff: Staff, Path(id): Path<String>) -> Result<Response, AppError> {
    let case = cases::visible(&app, &staff.actor, &id).await?;
    let issued = cases::print_form(&app, &staff.actor, &case).await?;
    Ok(pdf_response(issued))
}

/// What an uploaded proof is.
#[derive(Debug, Deserialize)]
struct ProofQuery {
    kind: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    label: Option<String>,
}

/// Uploads a proof scan into the student's dossier and files it with the
/// case: either school party may (the receiving school collects the
/// guardian's papers for a transfer).
async fn upload_proof(
    State(app): State<Arc<Web>>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<ProofQuery>,
    body: Body,
) -> Result<Response, Failure> {
    let case = cases::visible(&app, &staff.actor, &id).await?;
    if staff.user.role.is_bureau() {
        return Err(AppError::not_permitted("workflow.school_step", "证明材料由学校学籍管理员扫描上传").into());
    }
    if case.state != "open" {
        return Err(AppError::conflict("case.closed", "该申请已办结，不能再添加材料").into());
    }
    let kind = parse_kind(q.kind.as_deref())?;
    // A label the forms cannot print is refused before the scan is stored.
    if let Some(label) = q.label.as_deref() {
        cases::check_proof_label(&app, label.trim())?;
    }
    let limit = app.archive.config().inspect.max_size;
    if content_length(&headers).is_some_and(|n| n > limit) {
        return Err(ArchiveError::TooLarge { limit }.into());
    }
    let student = cases::dossier_student(&app, &case).await?;
    let upload = Upload {
        kind,
        original_name: q.name.clone().unwrap_or_default(),
        supersedes: None,
        note: format!("随{}申请提交", case.kind.label()),
    };
    let added = add_upload(&app, &staff, &student, upload, UploadSource::Body(body)).await;
    let outcome = match &added {
        Ok(_) => "ok",
        Err(e) if e.is_refusal() => "refused",
        Err(_) => "error",
    };
    staff.audit(&app, "case.proof_upload", ("case", &id), Some(case.school_id), outcome, "").await?;
    let added = added?;
    let digest = added.entry.digest.to_string();
    let label = q.label.clone().unwrap_or_else(|| added.entry.kind.label().to_owned());
    cases::add_proof(&app, &staff.actor, &case, &digest, &label).await?;
    Ok((StatusCode::CREATED, Json(json!({"digest": digest, "label": label, "version": added.version}))).into_response())
}

/// The sending school hands the dossier over: the signed transfer package of
/// a completed transfer (recorded as handed over).
async fn export_package(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let case = cases::visible(&app, &staff.actor, &id).await?;
    if case.kind != CaseKind::Transfer || case.state != "completed" {
        return Err(AppError::conflict("case.not_completed_transfer", "只有已办结的转学才能移交学籍档案").into());
    }
    if staff.user.role.is_bureau() || !staff.may_see(case.school_id) {
        return Err(AppError::not_permitted("workflow.school_step", "学籍档案由转出学校移交").into());
    }
    let student = cases::dossier_student(&app, &case).await?;
    let file = tempfile::tempfile_in(&app.config.data_dir).map_err(|e| Failure::from(anyhow::Error::new(e)))?;
    let out = file.try_clone().map_err(|e| Failure::from(anyhow::Error::new(e)))?;
    let result = dossier::export(&app.db, &app.archive, &app.keys, &student, app.today(), &app.config, out).await;
    let outcome = if result.is_ok() { "ok" } else { "refused" };
    staff.audit(&app, "case.handover", ("case", &id), Some(case.school_id), outcome, "").await?;
    result?;
    cases::mark_handed_over(&app, &case, app.today()).await?;
    let mut file = file;
    let len =
        std::io::Seek::seek(&mut file, std::io::SeekFrom::End(0)).map_err(|e| Failure::from(anyhow::Error::new(e)))?;
    std::io::Seek::rewind(&mut file).map_err(|e| Failure::from(anyhow::Error::new(e)))?;
    let name = format!("transfer-{id}.zip");
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("application/zip")),
        (header::CONTENT_LENGTH, HeaderValue::from(len)),
        (header::CONTENT_DISPOSITION, attachment(&name, &name)),
    ];
    Ok((headers, stream_body(Box::new(file))).into_response())
}

/// The receiving school files the received package (verified, all or
/// nothing) under the student's dossier and records the receipt.
async fn import_package(
    State(app): State<Arc<Web>>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, Failure> {
    let case = cases::visible(&app, &staff.actor, &id).await?;
    may_receive(&staff, &case)?;
    let limit = app.archive.config().import.max_unpacked_bytes;
    if content_length(&headers).is_some_and(|n| n > limit) {
        return Err(ArchiveError::TooLarge { limit }.into());
    }
    let file = spool_upload(&app, UploadSource::Body(body), limit).await?;
    let imported = receive_package(&app, &staff, &case, file).await?;
    Ok((StatusCode::CREATED, Json(imported)).into_response())
}

/// Whether the staff member receives this case's dossier: a completed
/// transfer, and the receiving school's registrar.
pub(crate) fn may_receive(staff: &Staff, case: &Case) -> Result<(), AppError> {
    if case.kind != CaseKind::Transfer || case.state != "completed" {
        return Err(AppError::conflict("case.not_completed_transfer", "只有已办结的转学才能接收学籍档案"));
    }
    let receiver = case.to_school_id.is_some_and(|s| staff.may_see(s));
    if staff.user.role.is_bureau() || !receiver {
        return Err(AppError::not_permitted("workflow.school_step", "学籍档案由转入学校接收"));
    }
    Ok(())
}

/// Files a received (spooled) package under the student's dossier, verified
/// and all or nothing, and records the receipt. Only this transfer's student:
/// the package's number is read (unverified) before anything is stored.
pub(crate) async fn receive_package(
    app: &Web,
    staff: &Staff,
    case: &Case,
    file: std::fs::File,
) -> Result<dossier::Imported, Failure> {
    let (file, student_no) = tokio::task::spawn_blocking(move || {
        let mut file = file;
        dossier::peek_student_no(&mut file).map(|no| (file, no))
    })
    .await
    .map_err(|e| Failure::from(anyhow::Error::new(e)))??;
    let expected = crate::db::students::student_no_of(&app.db.pool, case.student_id).await?;
    if student_no != expected {
        let target = ("case", case.public_id.as_str());
        staff.audit(app, "case.receive", target, case.to_school_id, "refused", "other student").await?;
        return Err(
            AppError::bad_request("case.package_other_student", "该传输包不是本次转学学生的档案，未导入").into()
        );
    }
    let imported = run_import(app, staff, file).await?;
    cases::mark_received(app, case, app.today()).await?;
    Ok(imported)
}

fn run_kind(kind: &str) -> Result<yearly::RunKind, AppError> {
    match kind {
        "graduation" => Ok(yearly::RunKind::Graduation),
        "promotion" => Ok(yearly::RunKind::Promotion),
        other => Err(AppError::bad_request("year.kind", format!("“{other}”应为 graduation 或 promotion"))),
    }
}

fn run_year(year: &str) -> Result<i32, AppError> {
    year.parse::<i32>()
        .ok()
        .filter(|y| (2000..=2100).contains(y))
        .ok_or_else(|| AppError::bad_request("year.invalid", format!("年份“{year}”无效")))
}

async fn year_preview(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path((kind, year)): Path<(String, String)>,
) -> Result<Json<yearly::Preview>, AppError> {
    staff.require_bureau()?;
    Ok(Json(yearly::preview(&app, run_kind(&kind)?, run_year(&year)?).await?))
}

/// A run's confirmation.
#[derive(Debug, Deserialize, Default)]
struct RunBody {
    #[serde(default)]
    late_reason: Option<String>,
}

async fn year_run(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path((kind, year)): Path<(String, String)>,
    body: Option<Json<RunBody>>,
) -> Result<Json<yearly::RunSummary>, AppError> {
    let kind = run_kind(&kind)?;
    let year = run_year(&year)?;
    let body = body.map(|b| b.0).unwrap_or_default();
    let result = yearly::run(&app, &staff.actor, kind, year, body.late_reason.as_deref()).await;
    Ok(Json(result?))
}

async fn overdue_api(State(app): State<Arc<Web>>, staff: Staff) -> Result<Json<Vec<overdue::Item>>, AppError> {
    let items = overdue::list(&app, staff.actor.scope.as_deref()).await?;
    staff.audit(&app, "overdue.list", ("overdue", "*"), None, "ok", &format!("shown={}", items.len())).await?;
    Ok(Json(items))
}
