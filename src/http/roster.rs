//! Roster import and export over HTTP: the registrar's upload page and the
//! JSON API. Same checks as `xueji import`: every bad row reported, all rows
//! or none written. An upload may be our template or one of the national
//! system's spreadsheets (学前调档名单, 调档学生导出), recognised from its
//! header row; the 调档学生导出 downloads for a school's intake list or its
//! current students.

use crate::db::schools::{self, School};
use crate::error::AppError;
use crate::http::Web;
use crate::http::auth::Staff;
use crate::http::pages::{PageError, render};
use crate::http::streams::attachment;
use crate::roster::{check, read};
use crate::service::national::NationalList;
use crate::service::roster::{ExportFormat, Imported};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use minijinja::context;
use std::sync::Arc;

/// The largest roster upload.
pub const MAX_UPLOAD: usize = 32 * 1024 * 1024;

/// The roster routes.
pub fn router() -> Router<Arc<Web>> {
    Router::new()
        .route("/roster", get(roster_page))
        .route("/roster/import", post(import_page))
        .route("/roster/export", get(export_page))
        .route("/roster/template.xlsx", get(template))
        .route("/roster/national", get(national_page))
        .route("/api/schools/{code}/roster", post(import_api).get(export_api))
        .route("/api/schools/{code}/national", get(national_api))
        .layer(DefaultBodyLimit::max(MAX_UPLOAD))
}

async fn school_in_scope(app: &Web, staff: &Staff, code: &str) -> Result<School, AppError> {
    let school = schools::by_code(&app.db.pool, code.trim()).await?.ok_or(AppError::NotFound)?;
    if staff.may_see(school.id) { Ok(school) } else { Err(AppError::NotFound) }
}

async fn roster_page(State(app): State<Arc<Web>>, staff: Staff) -> Result<Html<String>, PageError> {
    let schools: Vec<_> = schools::list(&app.db.pool).await?.into_iter().filter(|s| staff.may_see(s.id)).collect();
    render(&app, "import.html", Some(&staff), context! { schools => schools, report => (), school => () })
}

async fn run_import(
    app: &Web,
    staff: &Staff,
    school: &School,
    bytes: &[u8],
    dry_run: bool,
    create_classes: bool,
) -> Result<Imported, AppError> {
    let sheet = read::read(bytes)?;
    let opts = check::Options {
        dry_run,
        create_classes,
        actor_id: Some(staff.user.id),
        today: app.today(),
        coverage: app.coverage.clone(),
    };
    crate::service::roster::import(&app.db, &staff.actor, school, sheet, &opts).await
}

async fn import_page(
    State(app): State<Arc<Web>>,
    staff: Staff,
    mut form: Multipart,
) -> Result<Html<String>, PageError> {
    let (mut file, mut code, mut csrf, mut dry_run, mut create) = (None, String::new(), String::new(), false, false);
    while let Some(field) =
        form.next_field().await.map_err(|_| AppError::bad_request("import.upload", "上传中断，请重试"))?
    {
        match field.name().unwrap_or("") {
            "file" => {
                file =
                    Some(field.bytes().await.map_err(|_| AppError::bad_request("import.upload", "上传中断，请重试"))?)
            }
            "school" => code = field.text().await.unwrap_or_default(),
            "csrf" => csrf = field.text().await.unwrap_or_default(),
            "dry_run" => dry_run = true,
            "create_classes" => create = true,
            _ => {}
        }
    }
    staff.check_csrf(&csrf)?;
    let school = school_in_scope(&app, &staff, &code).await?;
    let file = file.ok_or_else(|| AppError::bad_request("import.empty_file", "请选择要导入的名册文件"))?;
    let report = run_import(&app, &staff, &school, &file, dry_run, create).await?;
    let schools: Vec<_> = schools::list(&app.db.pool).await?.into_iter().filter(|s| staff.may_see(s.id)).collect();
    render(&app, "import.html", Some(&staff), context! { schools => schools, report => report, school => school })
}

/// Import options for the API.
#[derive(Debug, Default, serde::Deserialize)]
pub struct ImportQuery {
    /// Check only.
    #[serde(default)]
    dry_run: bool,
    /// Create missing classes.
    #[serde(default)]
    create_classes: bool,
}

async fn import_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(code): Path<String>,
    Query(q): Query<ImportQuery>,
    body: Bytes,
) -> Result<Response, AppError> {
    let school = school_in_scope(&app, &staff, &code).await?;
    let report = run_import(&app, &staff, &school, &body, q.dry_run, q.create_classes).await?;
    let status = if report.report.errors.is_empty() {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, Json(report)).into_response())
}

/// Export options.
#[derive(Debug, Default, serde::Deserialize)]
pub struct ExportQuery {
    /// School code (pages).
    #[serde(default)]
    school: String,
    /// `xlsx` (default) or `csv`.
    #[serde(default)]
    format: Option<String>,
}

async fn export(app: &Web, staff: &Staff, code: &str, format: Option<&str>) -> Result<Response, AppError> {
    let format = ExportFormat::parse(format.unwrap_or("xlsx"))?;
    let out = crate::service::roster::export(&app.db, &staff.actor, code, format).await?;
    let ext = format.ext();
    let name = format!("学籍名册-{}.{ext}", out.school_code);
    let disposition = attachment(&name, &format!("roster-{}.{ext}", out.school_code));
    let mime = HeaderValue::from_static(format.mime());
    Ok(([(header::CONTENT_TYPE, mime), (header::CONTENT_DISPOSITION, disposition)], out.bytes).into_response())
}

/// `GET /roster/template.xlsx`: the blank roster in the template's layout
/// (the headers, required ones in red, every column as text), to fill in.
async fn template(_staff: Staff) -> Result<Response, AppError> {
    let bytes = crate::roster::export::write_xlsx(&[]).map_err(AppError::Internal)?;
    let mime = HeaderValue::from_static(ExportFormat::Xlsx.mime());
    let disposition = attachment("学籍名册模板.xlsx", "roster-template.xlsx");
    Ok(([(header::CONTENT_TYPE, mime), (header::CONTENT_DISPOSITION, disposition)], bytes).into_response())
}

async fn export_page(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Query(q): Query<ExportQuery>,
) -> Result<Response, PageError> {
    Ok(export(&app, &staff, &q.school, q.format.as_deref()).await?)
}

async fn export_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(code): Path<String>,
    Query(q): Query<ExportQuery>,
) -> Result<Response, AppError> {
    export(&app, &staff, &code, q.format.as_deref()).await
}

/// Which 调档学生导出 to download.
#[derive(Debug, Default, serde::Deserialize)]
pub struct NationalQuery {
    /// School code (pages).
    #[serde(default)]
    school: String,
    /// `intake` (the open intake list, the default) or `students`.
    #[serde(default)]
    list: Option<String>,
}

async fn national(app: &Web, staff: &Staff, code: &str, list: Option<&str>) -> Result<Response, AppError> {
    let list = NationalList::parse(list.unwrap_or("intake"))?;
    let out = crate::service::national::export(&app.db, &staff.actor, code, list).await?;
    let name = format!("调档学生导出-{}-{}.xlsx", list.label(), out.school_code);
    let disposition = attachment(&name, &format!("national-{}-{}.xlsx", list.code(), out.school_code));
    let mime = HeaderValue::from_static(ExportFormat::Xlsx.mime());
    Ok(([(header::CONTENT_TYPE, mime), (header::CONTENT_DISPOSITION, disposition)], out.bytes).into_response())
}

/// `GET /roster/national?school=&list=`: the page's download of 调档学生导出.
async fn national_page(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Query(q): Query<NationalQuery>,
) -> Result<Response, PageError> {
    Ok(national(&app, &staff, &q.school, q.list.as_deref()).await?)
}

/// `GET /api/schools/{code}/national?list=intake|students`: 调档学生导出 as xlsx.
async fn national_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(code): Path<String>,
    Query(q): Query<NationalQuery>,
) -> Result<Response, AppError> {
    national(&app, &staff, &code, q.list.as_deref()).await
}
