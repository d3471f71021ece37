//! The working-day calendar page and API: the years covered, each year's
//! holidays and make-up workdays, a warning for a year not yet entered, a
//! deadline calculator, and the upload that replaces whole years (see
//! [`crate::calendar`]).
//!
//! Bureau staff see it; only the bureau administrator uploads; registrars are
//! refused. Uploads are audited (`calendar.import`), refused ones too.

use crate::calendar::{self, Deadline, ImportError, ImportReport, Via, YearView};
use crate::db::users::Role;
use crate::error::AppError;
use crate::http::Web;
use crate::http::auth::Staff;
use crate::http::pages::{PageError, render};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Multipart, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::NaiveDate;
use minijinja::context;
use std::sync::Arc;

/// The most working days the calculator counts.
const MAX_DEADLINE_DAYS: u32 = 1000;

/// The calendar routes.
pub fn router() -> Router<Arc<Web>> {
    Router::new()
        .route("/calendar", get(page).post(upload_page))
        .route("/api/calendar", get(get_api).put(put_api))
        .route("/api/calendar.csv", get(export_csv))
        .route("/api/calendar/deadline", get(deadline_api))
        .layer(DefaultBodyLimit::max(calendar::MAX_FILE_BYTES + 64 * 1024))
}

/// Refuses anyone but the bureau administrator (audited).
async fn require_admin(app: &Web, staff: &Staff) -> Result<(), AppError> {
    staff.require_bureau()?;
    if staff.user.role == Role::BureauAdmin {
        return Ok(());
    }
    staff.audit(app, "calendar.import", ("calendar", "-"), None, "denied", "role").await?;
    Err(AppError::Forbidden)
}

/// Replaces the years of an upload (the service audits the outcome).
async fn run_import(
    app: &Web,
    staff: &Staff,
    bytes: &[u8],
    via: Via,
    source: &str,
) -> Result<Result<ImportReport, ImportError>, AppError> {
    match calendar::import(app, bytes, via, source, &staff.actor).await {
        Ok(report) => Ok(Ok(report)),
        Err(ImportError::Internal(e)) => Err(AppError::Internal(e)),
        Err(e) => Ok(Err(e)),
    }
}

/// The page's query: the deadline calculator's fields.
#[derive(Debug, Default, serde::Deserialize)]
pub struct PageQuery {
    /// The starting day, `YYYY-MM-DD`.
    #[serde(default)]
    from: Option<String>,
    /// How many working days.
    #[serde(default)]
    days: Option<String>,
}

/// Parses the calculator's fields.
fn parse_deadline(calendar: &crate::domain::WorkingCalendar, from: &str, days: &str) -> Result<Deadline, AppError> {
    let from_date = NaiveDate::parse_from_str(from.trim(), "%Y-%m-%d")
        .map_err(|_| AppError::bad_request("calendar.bad_date", format!("日期“{from}”无效，应为 YYYY-MM-DD")))?;
    let n: u32 = days.trim().parse().ok().filter(|n| *n <= MAX_DEADLINE_DAYS).ok_or_else(|| {
        AppError::bad_request(
            "calendar.bad_days",
            format!("工作日天数“{days}”无效，应为 0 至 {MAX_DEADLINE_DAYS} 的整数"),
        )
    })?;
    Deadline::new(calendar, from_date, n)
        .ok_or_else(|| AppError::bad_request("calendar.bad_date", format!("日期“{from}”超出了可计算的范围")))
}

/// Everything the page shows besides the form's outcome.
async fn page_context(app: &Web, staff: &Staff, q: &PageQuery) -> Result<minijinja::Value, AppError> {
    calendar::refresh(app).await?;
    let current = app.calendar();
    let years: Vec<YearView> =
        calendar::years_to_show(&current, app.today()).into_iter().map(|y| YearView::new(&current, y)).collect();
    let updates = calendar::updates(&app.db, 20).await?;
    let (deadline, deadline_error) = match (q.from.as_deref(), q.days.as_deref()) {
        (Some(from), Some(days)) if !from.trim().is_empty() => match parse_deadline(&current, from, days) {
            Ok(d) => (Some(d), None),
            Err(e) => (None, Some(e.to_string())),
        },
        _ => (None, None),
    };
    Ok(context! {
        years => years,
        covered => current.years(),
        updates => updates,
        can_upload => staff.user.role == Role::BureauAdmin,
        deadline => deadline,
        deadline_error => deadline_error,
        q => context! { from => q.from.clone().unwrap_or_else(|| app.today().to_string()), days => q.days.clone().unwrap_or_else(|| "10".into()) },
    })
}

async fn page(State(app): State<Arc<Web>>, staff: Staff, Query(q): Query<PageQuery>) -> Result<Response, PageError> {
    staff.require_bureau()?;
    let ctx = page_context(&app, &staff, &q).await?;
    Ok(render(&app, "calendar.html", Some(&staff), context! { result => (), error => (), ..ctx })?.into_response())
}

async fn upload_page(State(app): State<Arc<Web>>, staff: Staff, mut form: Multipart) -> Result<Response, PageError> {
    let interrupted = || AppError::bad_request("calendar.upload", "上传中断，请重试");
    let (mut file, mut text, mut source, mut csrf) = (Bytes::new(), String::new(), String::new(), String::new());
    while let Some(field) = form.next_field().await.map_err(|_| interrupted())? {
        match field.name().unwrap_or("") {
            "file" => file = field.bytes().await.map_err(|_| interrupted())?,
            "text" => text = field.text().await.map_err(|_| interrupted())?,
            "source" => source = field.text().await.map_err(|_| interrupted())?,
            "csrf" => csrf = field.text().await.map_err(|_| interrupted())?,
            _ => {}
        }
    }
    staff.check_csrf(&csrf)?;
    require_admin(&app, &staff).await?;
    let bytes: &[u8] = if file.is_empty() { text.as_bytes() } else { &file };
    let outcome = if bytes.iter().all(u8::is_ascii_whitespace) {
        Err(ImportError::Refused {
            code: "calendar.empty", message: "请选择文件或粘贴节假日安排，未作任何更改".into()
        })
    } else {
        run_import(&app, &staff, bytes, Via::Web, &source).await?
    };
    let ctx = page_context(&app, &staff, &PageQuery::default()).await?;
    let (status, result, error) = match outcome {
        Ok(report) => (StatusCode::OK, Some(report), None),
        Err(e) => {
            let status = if matches!(e, ImportError::Parse(_)) {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::BAD_REQUEST
            };
            (status, None, Some(context! { code => e.code(), message => e.to_string() }))
        }
    };
    let page = render(&app, "calendar.html", Some(&staff), context! { result => result, error => error, ..ctx })?;
    Ok((status, page).into_response())
}

/// The API's query.
#[derive(Debug, Default, serde::Deserialize)]
pub struct YearQuery {
    /// One year only.
    #[serde(default)]
    year: Option<String>,
}

/// One listed date in the API.
#[derive(Debug, serde::Serialize)]
struct DayJson {
    date: NaiveDate,
    kind: crate::domain::working_days::DayKind,
    name: String,
    weekday: &'static str,
}

async fn get_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Query(q): Query<YearQuery>,
) -> Result<Json<serde_json::Value>, AppError> {
    staff.require_bureau()?;
    let year = match q.year.as_deref().map(str::trim).filter(|y| !y.is_empty()) {
        None => None,
        Some(y) => Some(y.parse::<i32>().ok().filter(|y| (1949..=2200).contains(y)).ok_or_else(|| {
            AppError::bad_request("calendar.bad_year", format!("年份“{y}”无效，应为 1949 至 2200 的整数"))
        })?),
    };
    calendar::refresh(&app).await?;
    let current = app.calendar();
    let days: Vec<DayJson> = match year {
        Some(y) => current.days_in_year(y),
        None => current.days().collect(),
    }
    .into_iter()
    .map(|d| DayJson {
        weekday: crate::domain::working_days::weekday_zh(chrono::Datelike::weekday(&d.date)),
        date: d.date,
        kind: d.kind,
        name: d.name,
    })
    .collect();
    let summary = year.map(|y| YearView::new(&current, y));
    Ok(Json(serde_json::json!({
        "years": current.years(),
        "year": year,
        "covered": year.map(|y| current.covers(y)),
        "warning": summary.as_ref().and_then(|s| s.warning.clone()),
        "summary": summary,
        "days": days,
        "updates": calendar::updates(&app.db, 20).await?,
    })))
}

/// The upload's query.
#[derive(Debug, Default, serde::Deserialize)]
pub struct PutQuery {
    /// A source note (e.g. the notice's address).
    #[serde(default)]
    source: String,
}

async fn put_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Query(q): Query<PutQuery>,
    body: Bytes,
) -> Result<Response, AppError> {
    require_admin(&app, &staff).await?;
    match run_import(&app, &staff, &body, Via::Api, &q.source).await? {
        Ok(report) => {
            Ok(Json(serde_json::json!({ "updated": report, "years": app.calendar().years() })).into_response())
        }
        Err(ImportError::Parse(e)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(serde_json::json!({
                "code": e.code(),
                "message": e.message,
                "field": "节假日安排",
                "line": e.line,
                "value": e.value,
            })),
        )
            .into_response()),
        Err(e) => Err(e.into()),
    }
}

async fn export_csv(State(app): State<Arc<Web>>, staff: Staff) -> Result<Response, AppError> {
    staff.require_bureau()?;
    let csv = calendar::export_csv(&app.db).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"holidays_cn.csv\""),
        ],
        csv,
    )
        .into_response())
}

/// The calculator's query.
#[derive(Debug, Default, serde::Deserialize)]
pub struct DeadlineQuery {
    /// The starting day, `YYYY-MM-DD` (not counted).
    #[serde(default)]
    from: String,
    /// How many working days.
    #[serde(default)]
    days: String,
}

async fn deadline_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Query(q): Query<DeadlineQuery>,
) -> Result<Json<Deadline>, AppError> {
    staff.require_bureau()?;
    Ok(Json(parse_deadline(&app.calendar(), &q.from, &q.days)?))
}
