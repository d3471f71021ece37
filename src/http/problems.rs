//! Problem records (问题学籍, Art. 11): `GET /problems` lists the open ones
//! with a form to resolve each, `POST /problems` takes it; the JSON API is
//! `GET /api/problems` and `POST /api/problems/{id}/resolve` with a
//! [`Resolution`] (`{"how": "proof", "sha256": …}`, `{"how": "change",
//! "case": …}` or `{"how": "merge", "keep": …}`).

use crate::error::AppError;
use crate::http::Web;
use crate::http::auth::Staff;
use crate::http::pages::{PageError, render};
use crate::service::problems::{self, Resolution, Resolved};
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use minijinja::context;
use std::sync::Arc;

/// The problem routes.
pub fn router() -> Router<Arc<Web>> {
    Router::new()
        .route("/problems", get(page).post(form))
        .route("/api/problems", get(list_api))
        .route("/api/problems/{id}/resolve", post(resolve_api))
}

/// `?ok=1` after a resolution; `?kind=` to show one kind, `?sort=school`
/// to order by school (default: the oldest first).
#[derive(Debug, Default, serde::Deserialize)]
pub struct ProblemsQuery {
    #[serde(default)]
    ok: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    sort: Option<String>,
}

/// The kinds of problem record, as the list's filter names them.
const KINDS: [(&str, &str); 3] =
    [("suspected_duplicate", "疑似重复"), ("no_id", "无身份证件号"), ("out_of_area", "学区外入学")];

async fn page(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Query(q): Query<ProblemsQuery>,
) -> Result<Response, PageError> {
    let message = q.ok.is_some().then_some("问题学籍已处理，处理经过已记入该学生的学籍变动记录。");
    show_list(&app, &staff, &q, message, None, StatusCode::OK).await
}

async fn show(
    app: &Web,
    staff: &Staff,
    message: Option<&str>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    show_list(app, staff, &ProblemsQuery::default(), message, error, status).await
}

async fn show_list(
    app: &Web,
    staff: &Staff,
    q: &ProblemsQuery,
    message: Option<&str>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let kind = match q.kind.as_deref().filter(|k| !k.is_empty()) {
        Some(k) if KINDS.iter().any(|(c, _)| *c == k) => Some(k),
        Some(k) => return Err(AppError::bad_request("problem.kind_unknown", format!("没有“{k}”这类问题学籍")).into()),
        None => None,
    };
    let all = problems::open_list(&app.db, &staff.actor).await?;
    let counts: Vec<(&str, &str, usize)> =
        KINDS.iter().map(|(c, l)| (*c, *l, all.iter().filter(|p| p.kind == *c).count())).collect();
    let total = all.len();
    let mut list: Vec<_> = all.into_iter().filter(|p| kind.is_none_or(|k| p.kind == k)).collect();
    let by_school = q.sort.as_deref() == Some("school");
    if by_school {
        list.sort_by(|a, b| a.school_name.cmp(&b.school_name).then(a.created_at.cmp(&b.created_at)));
    } else {
        list.sort_by(|a, b| a.created_at.cmp(&b.created_at));
    }
    // The school resolves with a proof from the dossier: its documents, to pick from.
    let mut rows = Vec::with_capacity(list.len());
    for p in list {
        let documents = if staff.user.role.is_bureau() || p.kind == "out_of_area" {
            Vec::new()
        } else {
            crate::db::dossier::documents_of(&app.db.pool, &p.student_public_id).await?
        };
        rows.push(context! { p => p, documents => documents });
    }
    let html = render(
        app,
        "problems.html",
        Some(staff),
        context! { problems => rows, message => message, error => error, counts => counts, total => total,
        kind => kind, sort => if by_school { "school" } else { "time" } },
    )?;
    Ok((status, html).into_response())
}

/// The page's form: one problem, how, and what the chosen way needs.
#[derive(Debug, serde::Deserialize)]
pub struct ResolveForm {
    #[serde(default)]
    csrf: String,
    problem: i64,
    #[serde(default)]
    how: String,
    #[serde(default)]
    sha256: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    case: String,
    #[serde(default)]
    keep: String,
    #[serde(default)]
    decision: String,
}

async fn form(State(app): State<Arc<Web>>, staff: Staff, Form(f): Form<ResolveForm>) -> Result<Response, PageError> {
    staff.check_csrf(&f.csrf)?;
    let how = match f.how.as_str() {
        "proof" => Resolution::Proof { sha256: f.sha256, note: f.note },
        "change" => Resolution::Change { case: f.case },
        "merge" => Resolution::Merge { keep: f.keep },
        "decide" => match f.decision.as_str() {
            "accept" | "refuse" => Resolution::Decide { accept: f.decision == "accept", reason: f.note },
            _ => {
                return show(&app, &staff, None, Some("请选择同意接收或不予建籍".into()), StatusCode::BAD_REQUEST)
                    .await;
            }
        },
        _ => return show(&app, &staff, None, Some("请选择处理方式".into()), StatusCode::BAD_REQUEST).await,
    };
    match problems::resolve(&app.db, &staff.actor, app.today(), f.problem, &how).await {
        Ok(_) => Ok(Redirect::to("/problems?ok=1").into_response()),
        Err(e) if matches!(e, AppError::Conflict { .. } | AppError::Domain(_) | AppError::BadRequest { .. }) => {
            show(&app, &staff, None, Some(e.to_string()), e.status()).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn list_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
) -> Result<Json<Vec<crate::db::problems::Problem>>, AppError> {
    Ok(Json(problems::open_list(&app.db, &staff.actor).await?))
}

async fn resolve_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(id): Path<i64>,
    Json(how): Json<Resolution>,
) -> Result<Json<Resolved>, AppError> {
    Ok(Json(problems::resolve(&app.db, &staff.actor, app.today(), id, &how).await?))
}
