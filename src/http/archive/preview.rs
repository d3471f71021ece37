//! `GET /api/students/{id}/archive/{digest}/pages/{page}/preview`: a small
//! JPEG of one page of a scan in the student's dossier (staff only, within
//! their schools, audited as `archive.page_preview`), made once and kept.
//! A page the object does not have is 404 `archive.page_not_found`.

use super::entry_for;
use crate::dossier::{self, Failure};
use crate::error::ErrorBody;
use crate::http::Web;
use crate::http::auth::Staff;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

const ACTION: &str = "archive.page_preview";

pub(super) async fn page_preview_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path((id, digest, page)): Path<(String, String, String)>,
) -> Result<Response, Failure> {
    let (student, entry) = entry_for(&app, &staff, &id, &digest, ACTION).await?;
    let made = match page.parse::<u32>() {
        Ok(n) => dossier::page_preview(&app.db, &app.archive, &app.config, &entry, n).await,
        Err(_) => Ok(None),
    };
    let detail = format!("digest={} page={page}", entry.digest);
    let bytes = match made {
        Ok(Some(bytes)) => bytes,
        Ok(None) => {
            staff.audit(&app, ACTION, ("student", &id), Some(student.school_id), "not_found", &detail).await?;
            let body = ErrorBody {
                code: "archive.page_not_found",
                message: format!("该扫描件没有第 {page} 页（共 {} 页）", entry.pages),
                field: None,
            };
            return Ok((StatusCode::NOT_FOUND, Json(body)).into_response());
        }
        Err(e) => {
            let outcome = if e.is_refusal() { "refused" } else { "error" };
            let detail = format!("{detail} code={}", e.code());
            staff.audit(&app, ACTION, ("student", &id), Some(student.school_id), outcome, &detail).await?;
            return Err(e);
        }
    };
    staff.audit(&app, ACTION, ("student", &id), Some(student.school_id), "ok", &detail).await?;
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg")),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=300")),
    ];
    Ok((headers, bytes).into_response())
}
