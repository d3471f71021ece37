//! Printing: one student's document as a PDF, the list of documents issued,
//! and batches (a class, a grade, a school's graduates) as one print-ready
//! PDF, or a zip of one PDF per student, with progress shown on a page.

use crate::db::students;
use crate::documents;
use crate::error::AppError;
use crate::http::Web;
use crate::http::auth::Staff;
use crate::http::pages::{PageError, render};
use crate::render::DocKind;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use minijinja::context;
use std::sync::Arc;

/// The document routes.
pub fn router() -> Router<Arc<Web>> {
    Router::new()
        .route("/students/{id}/documents/{kind}", get(student_document))
        .route("/api/students/{id}/documents", get(list_api))
        .route("/api/students/{id}/documents/{kind}", get(student_document))
        .route("/batches", get(batch_form).post(batch_start))
        .route("/batches/{job}", get(batch_status))
        .route("/batches/{job}/download", get(batch_download))
        .route("/api/batches/{job}", get(batch_status_api))
}

fn parse_kind(code: &str) -> Result<DocKind, AppError> {
    let code = code.strip_suffix(".pdf").unwrap_or(code);
    DocKind::ALL
        .into_iter()
        .find(|k| k.code() == code)
        .ok_or_else(|| AppError::bad_request("document.unknown_kind", format!("没有名为“{code}”的文书种类")))
}

/// Loads a student the staff member may see, auditing the read (404 outside the scope).
pub async fn student_for(
    app: &Web,
    staff: &Staff,
    public_id: &str,
    action: &str,
) -> Result<students::Student, AppError> {
    let located = students::locate(&app.db.pool, public_id).await?;
    if located.is_none_or(|(_, school)| !staff.may_see(school)) {
        let school = located.map(|(_, s)| s);
        staff
            .audit(
                app,
                action,
                ("student", public_id),
                school,
                if school.is_some() { "denied" } else { "not_found" },
                "",
            )
            .await?;
        return Err(AppError::NotFound);
    }
    let mut conn = app.db.pool.acquire().await?;
    let student = students::by_public_id(&mut conn, public_id).await?.ok_or(AppError::NotFound)?;
    Ok(student)
}

/// A PDF answer: inline, named in Chinese (`filename*`) with the ASCII
/// name as the fallback.
pub fn pdf_response(issued: crate::documents::Issued) -> Response {
    let disposition = crate::http::streams::disposition("inline", &issued.display_name, &issued.file_name);
    let content_type = axum::http::HeaderValue::from_static("application/pdf");
    ([(header::CONTENT_TYPE, content_type), (header::CONTENT_DISPOSITION, disposition)], issued.pdf.bytes)
        .into_response()
}

async fn student_document(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path((id, kind)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let kind = parse_kind(&kind)?;
    let student = student_for(&app, &staff, &id, "document.print").await?;
    let issued = crate::service::documents::print(&app, &staff.actor, &student, kind).await?;
    Ok(pdf_response(issued))
}

async fn list_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, AppError> {
    let student = student_for(&app, &staff, &id, "document.list").await?;
    let school = crate::db::schools::by_id(&app.db.pool, student.school_id).await?.ok_or(AppError::NotFound)?;
    let docs = documents::of_student(&app, student.id).await?;
    staff.audit(&app, "document.list", ("student", &id), Some(student.school_id), "ok", "").await?;
    let printable: Vec<&str> = documents::printable_kinds(&student, school.kind).iter().map(|k| k.code()).collect();
    Ok(Json(serde_json::json!({ "documents": docs, "printable": printable })))
}

/// A batch request from the page.
#[derive(Debug, serde::Deserialize)]
pub struct BatchForm {
    csrf: String,
    school: String,
    kind: String,
    #[serde(default)]
    grade: String,
    #[serde(default)]
    class: String,
    #[serde(default)]
    zip: Option<String>,
}

async fn batch_form(State(app): State<Arc<Web>>, staff: Staff) -> Result<Html<String>, PageError> {
    let schools: Vec<_> =
        crate::db::schools::list(&app.db.pool).await?.into_iter().filter(|s| staff.may_see(s.id)).collect();
    let kinds: Vec<(&str, &str)> =
        DocKind::ALL.iter().filter(|k| !k.is_certificate()).map(|k| (k.code(), k.title_zh())).collect();
    render(&app, "batch.html", Some(&staff), context! { schools => schools, kinds => kinds, job => () })
}

async fn batch_start(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Form(form): Form<BatchForm>,
) -> Result<Response, PageError> {
    staff.check_csrf(&form.csrf)?;
    let kind = parse_kind(&form.kind)?;
    let school = crate::db::schools::by_code(&app.db.pool, &form.school).await?.ok_or(AppError::NotFound)?;
    if !staff.may_see(school.id) {
        return Err(AppError::NotFound.into());
    }
    let (grade, class) = batch_scope(&app, &school, &form.grade, &form.class).await?;
    let job = crate::batch::start(app.app.clone(), staff.actor.clone(), school, kind, grade, class, form.zip.is_some())
        .await?;
    Ok(Redirect::to(&format!("/batches/{job}")).into_response())
}

/// The grade and class a batch is limited to, checked against the school
/// (see [`crate::service::schools::class_scope`]): a grade the school does
/// not teach or a class it lacks is refused by name; it never widens the
/// batch to the whole school.
async fn batch_scope(
    app: &Web,
    school: &crate::db::schools::School,
    grade: &str,
    class: &str,
) -> Result<(Option<i64>, Option<i64>), AppError> {
    let codes = crate::service::schools::ClassCodes {
        invalid: "batch.class_invalid",
        needs_grade: "batch.class_needs_grade",
        unknown: "batch.class_unknown",
    };
    // The batch form also reads a class typed as 「1班」.
    let class = class.trim().trim_end_matches('班');
    let (grade, class) = crate::service::schools::class_scope(&app.db, Some(school), grade, class, &codes).await?;
    if let Some(g) = grade {
        g.check_school(school.kind)?;
    }
    Ok((grade.map(i64::from), class))
}

async fn batch_status(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(job): Path<String>,
) -> Result<Html<String>, PageError> {
    let status = crate::batch::status(&app, &job, staff.actor.user_id).await?.ok_or(AppError::NotFound)?;
    let keep_hours = app.config.batch_keep_hours;
    render(&app, "batch.html", Some(&staff), context! { job => status, schools => (), kinds => (), keep_hours })
}

/// `GET /api/batches/{job}`: a job's progress as JSON, from any instance.
async fn batch_status_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(job): Path<String>,
) -> Result<Json<crate::batch::JobStatus>, AppError> {
    Ok(Json(crate::batch::status(&app, &job, staff.actor.user_id).await?.ok_or(AppError::NotFound)?))
}

async fn batch_download(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(job): Path<String>,
) -> Result<Response, AppError> {
    let status = crate::batch::status(&app, &job, staff.actor.user_id).await?;
    let (bytes, name, mime) = crate::batch::take_result(&app, &job, staff.actor.user_id).await?;
    // Named as a person would: 《title》 and school, in Chinese, with the ASCII name as the fallback.
    let ext = name.rsplit('.').next().unwrap_or("pdf");
    let shown = status.map_or_else(|| name.clone(), |s| format!("{}-{}.{ext}", s.title, s.school));
    let mut res = ([(header::CONTENT_TYPE, mime)], bytes).into_response();
    res.headers_mut()
        .insert(header::CONTENT_DISPOSITION, crate::http::streams::disposition("attachment", &shown, &name));
    Ok(res)
}
