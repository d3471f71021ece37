//! The people a school's papers name, as JSON: `PUT /api/schools/{code}`
//! with `{"principal": …, "registrar": …}` (bureau staff; an omitted name is
//! kept, an empty one cleared) and `PUT /api/schools/{code}/classes/{grade}/{number}`
//! with `{"head_teacher": …}` (the school's registrar or bureau staff). Both
//! go through [`crate::service::schools`], which checks the right and audits.

use crate::db::schools::{Class, School};
use crate::domain::Grade;
use crate::error::AppError;
use crate::http::auth::Staff;
use crate::http::{ApiJson, Web};
use crate::service::schools::{self, Officers};
use axum::extract::{Path, State};
use axum::routing::put;
use axum::{Json, Router};
use std::sync::Arc;

/// The school routes.
pub fn router() -> Router<Arc<Web>> {
    Router::new()
        .route("/api/schools/{code}", put(officers_api))
        .route("/api/schools/{code}/classes/{grade}/{number}", put(head_teacher_api))
}

/// `PUT /api/schools/{code}`: records the principal and the registrar; the school as recorded now.
async fn officers_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(code): Path<String>,
    ApiJson(body): ApiJson<Officers>,
) -> Result<Json<School>, AppError> {
    Ok(Json(schools::set_officers(&app.db, &app.coverage, &staff.actor, code.trim(), &body).await?))
}

/// A class's head teacher.
#[derive(Debug, serde::Deserialize)]
pub struct HeadTeacherBody {
    /// 班主任 (empty clears it).
    head_teacher: String,
}

/// `PUT /api/schools/{code}/classes/{grade}/{number}`: records the class's head teacher; the class.
async fn head_teacher_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path((code, grade, number)): Path<(String, String, String)>,
    ApiJson(body): ApiJson<HeadTeacherBody>,
) -> Result<Json<Class>, AppError> {
    let grade = Grade::parse(&grade)?;
    let number: i64 = number
        .trim()
        .parse()
        .map_err(|_| AppError::bad_request("class.number", format!("班号“{number}”应为数字，如 1")))?;
    let class =
        schools::set_head_teacher(&app.db, &app.coverage, &staff.actor, code.trim(), grade, number, &body.head_teacher)
            .await?;
    Ok(Json(class))
}
