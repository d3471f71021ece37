//! The statistics (see [`crate::service::reports`]): pages and API.
//!
//! - `GET /statistics`: the county dashboard, each chart beside its table;
//! - `GET /reports`: the tables; `GET /reports/{name}?as_of=&school=`: one
//!   table, each count a link to its list; `GET /reports/{name}/xlsx`;
//! - `GET /reports/{name}/cell?row=&col=&as_of=&school=&page=`: the
//!   students behind a count (audited); `POST /reports/{name}/approve` (the
//!   bureau records its approval for that list); `POST /reports/{name}/export`
//!   (the list as xlsx, under an approval's number); `GET /reports/approvals?page=`:
//!   the bureau's register of those approvals;
//! - `GET /api/reports`, `GET /api/reports/{name}`, `GET /api/reports/{name}/cell`,
//!   `GET /api/reports/{name}/xlsx`, `POST /api/reports/{name}/approvals`,
//!   `POST /api/reports/{name}/export`, `GET /api/reports/approvals?page=`.

use crate::error::AppError;
use crate::http::Web;
use crate::http::auth::Staff;
use crate::http::charts::{Bars, Series};
use crate::http::pages::{PageError, render};
use crate::http::streams::disposition;
use crate::service::reports::{
    self, ApprovalRequest, CellRequest, ExportRequest, ListFile, TableRequest, approvals, dashboard,
};
use axum::extract::{Form, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use minijinja::context;
use std::sync::Arc;

/// The routes.
pub fn router() -> Router<Arc<Web>> {
    Router::new()
        .route("/statistics", get(dashboard_page))
        .route("/reports", get(list_page))
        .route("/reports/approvals", get(approvals_page))
        .route("/reports/{name}", get(table_page))
        .route("/reports/{name}/xlsx", get(table_xlsx))
        .route("/reports/{name}/cell", get(cell_page))
        .route("/reports/{name}/approve", post(approve_form))
        .route("/reports/{name}/export", post(export_form))
        .route("/api/reports", get(list_api))
        .route("/api/reports/approvals", get(approvals_api))
        .route("/api/reports/{name}", get(table_api))
        .route("/api/reports/{name}/xlsx", get(table_xlsx))
        .route("/api/reports/{name}/cell", get(cell_api))
        .route("/api/reports/{name}/approvals", post(approve_api))
        .route("/api/reports/{name}/export", post(export_api))
}

/// The query of a table or a cell, as typed.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Params {
    #[serde(default)]
    as_of: String,
    #[serde(default)]
    school: String,
    #[serde(default)]
    row: String,
    #[serde(default)]
    col: Option<usize>,
    #[serde(default)]
    page: Option<usize>,
    #[serde(default)]
    ok: String,
    // The page forms' fields.
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    document_no: String,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    recipient: String,
    #[serde(default)]
    days: Option<i64>,
    #[serde(default)]
    approval: String,
}

impl Params {
    fn table(&self, name: &str) -> Result<TableRequest, AppError> {
        let as_of = match self.as_of.trim() {
            "" => None,
            d => Some(crate::domain::parse_date("统计基准日", d)?),
        };
        let school = Some(self.school.trim().to_owned()).filter(|s| !s.is_empty());
        Ok(TableRequest { name: name.to_owned(), as_of, school })
    }

    fn cell(&self, name: &str) -> Result<CellRequest, AppError> {
        let col =
            self.col.ok_or_else(|| AppError::bad_request("report.cell_required", "请指明单元格（row 与 col）"))?;
        if self.row.trim().is_empty() {
            return Err(AppError::bad_request("report.cell_required", "请指明单元格（row 与 col）"));
        }
        Ok(CellRequest { table: self.table(name)?, row: self.row.trim().to_owned(), col, page: self.page })
    }

    /// The link back to this table (and the same reference date and school).
    fn query(&self, as_of: chrono::NaiveDate) -> String {
        let mut q = format!("as_of={as_of}");
        if !self.school.trim().is_empty() {
            q.push_str(&format!("&school={}", urlencode(self.school.trim())));
        }
        q
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn xlsx(file: ListFile) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            ),
            (header::CONTENT_DISPOSITION, disposition("attachment", &file.file_name, "report.xlsx")),
        ],
        file.bytes,
    )
        .into_response()
}

async fn list_api(State(app): State<Arc<Web>>, _staff: Staff) -> Result<Json<serde_json::Value>, AppError> {
    let c = reports::catalogue(&app.config)?;
    let list: Vec<_> = c
        .names()
        .into_iter()
        .map(|r| serde_json::json!({ "name": r.name, "year": r.year, "title": r.def.title, "form": r.def.form, "unit": format!("{:?}", r.def.unit).to_lowercase() }))
        .collect();
    Ok(Json(serde_json::json!({ "reports": list })))
}

async fn table_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(name): Path<String>,
    Query(p): Query<Params>,
) -> Result<Json<crate::domain::report::engine::Table>, AppError> {
    Ok(Json(reports::table(&app, &staff.actor, &p.table(&name)?).await?))
}

async fn table_xlsx(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(name): Path<String>,
    Query(p): Query<Params>,
) -> Result<Response, AppError> {
    Ok(xlsx(reports::export_table(&app, &staff.actor, &p.table(&name)?).await?))
}

async fn cell_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(name): Path<String>,
    Query(p): Query<Params>,
) -> Result<Json<reports::CellList>, AppError> {
    Ok(Json(reports::cell(&app, &staff.actor, &p.cell(&name)?).await?))
}

/// An approval, as the API takes it.
#[derive(Debug, serde::Deserialize)]
pub struct ApprovalBody {
    #[serde(default)]
    as_of: String,
    #[serde(default)]
    school: String,
    row: String,
    col: usize,
    document_no: String,
    purpose: String,
    recipient: String,
    #[serde(default)]
    days: Option<i64>,
}

async fn approve_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(name): Path<String>,
    Json(b): Json<ApprovalBody>,
) -> Result<Response, AppError> {
    let p = Params { as_of: b.as_of, school: b.school, row: b.row, col: Some(b.col), ..Params::default() };
    let req = ApprovalRequest {
        cell: p.cell(&name)?,
        document_no: b.document_no,
        purpose: b.purpose,
        recipient: b.recipient,
        days: b.days,
    };
    let approval = reports::approve(&app, &staff.actor, &req).await?;
    Ok((StatusCode::CREATED, Json(approval)).into_response())
}

/// An export, as the API takes it.
#[derive(Debug, serde::Deserialize)]
pub struct ExportBody {
    #[serde(default)]
    as_of: String,
    #[serde(default)]
    school: String,
    row: String,
    col: usize,
    #[serde(default)]
    approval: String,
}

async fn export_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(name): Path<String>,
    Json(b): Json<ExportBody>,
) -> Result<Response, AppError> {
    let p = Params { as_of: b.as_of, school: b.school, row: b.row, col: Some(b.col), ..Params::default() };
    let req = ExportRequest { cell: p.cell(&name)?, approval: b.approval };
    Ok(xlsx(reports::export_list(&app, &staff.actor, &req).await?))
}

/// The page asked for.
#[derive(Debug, Default, serde::Deserialize)]
pub struct PageParam {
    #[serde(default)]
    page: Option<usize>,
}

async fn approvals_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Query(p): Query<PageParam>,
) -> Result<Json<approvals::Register>, AppError> {
    Ok(Json(approvals::register(&app, &staff.actor, p.page).await?))
}

async fn approvals_page(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Query(p): Query<PageParam>,
) -> Result<Response, PageError> {
    let r = approvals::register(&app, &staff.actor, p.page).await?;
    Ok(render(&app, "report_approvals.html", Some(&staff), context! { r => r })?.into_response())
}

async fn list_page(State(app): State<Arc<Web>>, staff: Staff) -> Result<Response, PageError> {
    let c = reports::catalogue(&app.config)?;
    let list: Vec<_> = c
        .names()
        .into_iter()
        .map(|r| context! { name => r.name, year => r.year, title => r.def.title, form => r.def.form })
        .collect();
    let html =
        render(&app, "reports.html", Some(&staff), context! { reports => list, today => app.today().to_string() })?;
    Ok(html.into_response())
}

async fn table_page(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(name): Path<String>,
    Query(p): Query<Params>,
) -> Result<Response, PageError> {
    let table = reports::table(&app, &staff.actor, &p.table(&name)?).await?;
    let schools = crate::http::students::scope_schools(&app, &staff).await?;
    let html = render(
        &app,
        "report.html",
        Some(&staff),
        context! {
            t => table, name => name, query => p.query(table.as_of), school => p.school.trim(), schools => schools,
            today => app.today().to_string(),
        },
    )?;
    Ok(html.into_response())
}

async fn cell_page(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(name): Path<String>,
    Query(p): Query<Params>,
) -> Result<Response, PageError> {
    show_cell(&app, &staff, &name, &p, None, StatusCode::OK).await
}

async fn show_cell(
    app: &Web,
    staff: &Staff,
    name: &str,
    p: &Params,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let list = reports::cell(app, &staff.actor, &p.cell(name)?).await?;
    let message = (!p.ok.is_empty())
        .then(|| format!("已登记外发审批，编号 {}。凭此编号可导出这份名单（导出文件每页印有该编号）。", p.ok));
    let html = render(
        app,
        "report_cell.html",
        Some(staff),
        context! {
            l => list, name => name, query => p.query(list.as_of), school => p.school.trim(), error => error,
            message => message, approval => p.ok.clone(),
        },
    )?;
    Ok((status, html).into_response())
}

async fn approve_form(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(name): Path<String>,
    Form(p): Form<Params>,
) -> Result<Response, PageError> {
    staff.check_csrf(&p.csrf)?;
    let req = ApprovalRequest {
        cell: p.cell(&name)?,
        document_no: p.document_no.clone(),
        purpose: p.purpose.clone(),
        recipient: p.recipient.clone(),
        days: p.days,
    };
    match reports::approve(&app, &staff.actor, &req).await {
        Ok(a) => {
            let back = format!(
                "/reports/{}/cell?{}&row={}&col={}&ok={}",
                urlencode(&name),
                p.query(chrono::NaiveDate::parse_from_str(&a.as_of, "%Y-%m-%d").unwrap_or(app.today())),
                urlencode(&req.cell.row),
                req.cell.col,
                urlencode(&a.number)
            );
            Ok(Redirect::to(&back).into_response())
        }
        Err(e) if e.is_refusal() => show_cell(&app, &staff, &name, &p, Some(e.to_string()), e.status()).await,
        Err(e) => Err(e.into()),
    }
}

async fn export_form(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(name): Path<String>,
    Form(p): Form<Params>,
) -> Result<Response, PageError> {
    staff.check_csrf(&p.csrf)?;
    let req = ExportRequest { cell: p.cell(&name)?, approval: p.approval.clone() };
    match reports::export_list(&app, &staff.actor, &req).await {
        Ok(file) => Ok(xlsx(file)),
        Err(e) if e.is_refusal() => show_cell(&app, &staff, &name, &p, Some(e.to_string()), e.status()).await,
        Err(e) => Err(e.into()),
    }
}

async fn dashboard_page(State(app): State<Arc<Web>>, staff: Staff) -> Result<Response, PageError> {
    let d = dashboard::dashboard(&app, &staff.actor).await?;
    let charts: Vec<_> = d
        .charts
        .iter()
        .map(|f| {
            let svg = Bars {
                title: f.title.clone(),
                categories: f.categories.clone(),
                series: f
                    .series
                    .iter()
                    .map(|(name, values)| Series { name: name.clone(), values: values.clone() })
                    .collect(),
                highlight: f.highlight.clone(),
                unit: f.unit.clone(),
            }
            .svg();
            let rows: Vec<_> = f
                .categories
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let values: Vec<String> = f
                        .series
                        .iter()
                        .map(|(_, v)| {
                            v.get(i)
                                .copied()
                                .flatten()
                                .map(|x| crate::http::charts::figure(x, &f.unit))
                                .unwrap_or_default()
                        })
                        .collect();
                    context! { label => c, values => values, highlight => f.highlight.get(i).copied().unwrap_or(false) }
                })
                .collect();
            let names: Vec<&str> = f.series.iter().map(|(n, _)| n.as_str()).collect();
            context! { title => f.title, svg => minijinja::Value::from_safe_string(svg), rows => rows, series => names,
            report => f.report, as_of => f.as_of.map(|d| d.to_string()) }
        })
        .collect();
    let html = render(
        &app,
        "statistics.html",
        Some(&staff),
        context! { charts => charts, enrolled_now => d.enrolled_now, conflicts => d.conflicts, today => app.today().to_string() },
    )?;
    Ok(html.into_response())
}
