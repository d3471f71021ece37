//! The intake pages: `GET /intake?school=…` shows a school's plans with
//! their history and its catchment area, the delayed-entry applications,
//! and for the bureau the requests awaiting it; the forms post to
//! `/intake/plan-request` and `/intake/delays` (multipart, with the scan),
//! `/intake/plan-decision` and `/intake/delay-decision`. `GET /special-needs`
//! lists the pupils with special needs the staff member may know of. Every
//! action goes through its service, as the JSON API's do.

use crate::error::AppError;
use crate::http::Web;
use crate::http::auth::Staff;
use crate::http::intake::paper_form;
use crate::http::pages::{PageError, render};
use crate::service::delays::{self, Verdict};
use crate::service::plans::{self, Figures};
use axum::Router;
use axum::extract::{DefaultBodyLimit, Form, Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::context;
use std::sync::Arc;

/// The intake page routes.
pub fn router() -> Router<Arc<Web>> {
    Router::new()
        .route("/intake", get(page))
        .route("/intake/plan-request", post(plan_request_form))
        .route("/intake/plan-decision", post(plan_decision_form))
        .route("/intake/delays", post(delay_form))
        .route("/intake/delay-decision", post(delay_decision_form))
        .route("/special-needs", get(special_needs_page))
        .layer(DefaultBodyLimit::disable())
}

/// `?school=…`, and `?ok=…` after an action.
#[derive(Debug, Default, serde::Deserialize)]
pub struct IntakeQuery {
    #[serde(default)]
    school: Option<String>,
    #[serde(default)]
    ok: Option<String>,
}

async fn page(State(app): State<Arc<Web>>, staff: Staff, Query(q): Query<IntakeQuery>) -> Result<Response, PageError> {
    let message = match q.ok.as_deref() {
        Some("requested") => Some("调整申请已提交，等待教育局审核。"),
        Some("decided") => Some("审核决定已保存。"),
        Some("filed") => Some("延缓入学申请已提交，等待教育局审核。"),
        _ => None,
    };
    show(&app, &staff, q.school.as_deref(), message, None, StatusCode::OK).await
}

async fn show(
    app: &Web,
    staff: &Staff,
    school: Option<&str>,
    message: Option<&str>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let visible: Vec<_> =
        crate::db::schools::list(&app.db.pool).await?.into_iter().filter(|s| staff.may_see(s.id)).collect();
    let code = match school.map(str::trim).filter(|c| !c.is_empty()) {
        Some(c) => Some(c.to_owned()),
        None if visible.len() == 1 || staff.actor.school_id.is_some() => staff
            .actor
            .school_id
            .and_then(|id| visible.iter().find(|s| s.id == id))
            .or(visible.first())
            .map(|s| s.code.clone()),
        None => None,
    };
    let (chosen, plan_views, district) = match &code {
        Some(c) => {
            let (school, views) = plans::list(&app.db, &staff.actor, app.today(), c).await?;
            let (_, district) = crate::service::schools::district(&app.db, &staff.actor, c).await?;
            (Some(school), views, Some(district))
        }
        None => (None, Vec::new(), None),
    };
    let requests = if staff.user.role.is_bureau() { plans::pending(&app.db, &staff.actor).await? } else { Vec::new() };
    let requests: Vec<_> = requests
        .into_iter()
        .map(|(plan, request)| {
            let school_name = visible.iter().find(|s| s.id == plan.school_id).map(|s| s.name.clone());
            context! { plan => plan, request => request, school_name => school_name }
        })
        .collect();
    let applications = delays::list(&app.db, &staff.actor, app.today(), None, false).await?;
    let html = render(
        app,
        "intake.html",
        Some(staff),
        context! {
            schools => visible,
            school => chosen,
            plans => plan_views,
            district => district,
            requests => requests,
            delays => applications,
            message => message,
            error => error,
            this_year => crate::domain::school_year_start(app.today()),
        },
    )?;
    Ok((status, html).into_response())
}

/// A refusal the person can act on is shown on the page; anything else is an error page.
async fn answer(
    app: &Web,
    staff: &Staff,
    school: Option<&str>,
    result: Result<&str, AppError>,
) -> Result<Response, PageError> {
    match result {
        Ok(done) => {
            let school = school.map(|c| format!("&school={c}")).unwrap_or_default();
            Ok(Redirect::to(&format!("/intake?ok={done}{school}")).into_response())
        }
        Err(e) if e.is_refusal() => show(app, staff, school, None, Some(e.to_string()), e.status()).await,
        Err(e) => Err(e.into()),
    }
}

async fn plan_request_form(State(app): State<Arc<Web>>, staff: Staff, form: Multipart) -> Result<Response, PageError> {
    let mut form = paper_form(&app, form, Some(&staff)).await?;
    staff.check_csrf(&form.text("csrf"))?;
    let code = form.text("school");
    let result = async {
        let year: i32 = form.number("year", "招生年度")?;
        let figures = Figures {
            classes: form.number("classes", "计划班数")?,
            places: form.number("places", "计划人数")?,
        };
        let reason = form.text("reason");
        let (reader, name) = form.scan()?;
        plans::request_change(
            &app.db,
            &app.archive,
            &app.coverage,
            &staff.actor,
            &code,
            year,
            figures,
            &reason,
            (reader, &name),
        )
        .await
        .map(|_| "requested")
    }
    .await;
    answer(&app, &staff, Some(&code), result).await
}

/// The bureau's decision on a plan change request.
#[derive(Debug, serde::Deserialize)]
pub struct PlanDecisionForm {
    #[serde(default)]
    csrf: String,
    id: i64,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    note: String,
}

async fn plan_decision_form(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Form(f): Form<PlanDecisionForm>,
) -> Result<Response, PageError> {
    staff.check_csrf(&f.csrf)?;
    let approve = match f.decision.as_str() {
        "approve" => true,
        "refuse" => false,
        _ => {
            return answer(&app, &staff, None, Err(AppError::bad_request("form.decision", "请选择批准或不予批准")))
                .await;
        }
    };
    let result = plans::decide(&app.db, &app.coverage, &staff.actor, app.today(), f.id, approve, &f.note).await;
    answer(&app, &staff, None, result.map(|_| "decided")).await
}

async fn delay_form(State(app): State<Arc<Web>>, staff: Staff, form: Multipart) -> Result<Response, PageError> {
    let mut form = paper_form(&app, form, Some(&staff)).await?;
    staff.check_csrf(&form.text("csrf"))?;
    let code = form.text("school");
    let result = async {
        let req = form.delay_request()?;
        let (reader, name) = form.scan()?;
        delays::file(&app.db, &app.archive, &app.coverage, &staff.actor, app.today(), &req, (reader, &name))
            .await
            .map(|_| "filed")
    }
    .await;
    answer(&app, &staff, Some(&code), result).await
}

/// The bureau's verdict on a delayed-entry application.
#[derive(Debug, serde::Deserialize)]
pub struct DelayDecisionForm {
    #[serde(default)]
    csrf: String,
    id: String,
    #[serde(default)]
    verdict: String,
    #[serde(default)]
    note: String,
}

async fn delay_decision_form(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Form(f): Form<DelayDecisionForm>,
) -> Result<Response, PageError> {
    staff.check_csrf(&f.csrf)?;
    let verdict = match f.verdict.as_str() {
        "approve" => Verdict::Approve,
        "refuse" => Verdict::Refuse,
        "withdraw" => Verdict::Withdraw,
        _ => return answer(&app, &staff, None, Err(AppError::bad_request("form.decision", "请选择审核决定"))).await,
    };
    let result = delays::decide(&app.db, &app.coverage, &staff.actor, &f.id, verdict, &f.note).await;
    answer(&app, &staff, None, result.map(|_| "decided")).await
}

async fn special_needs_page(State(app): State<Arc<Web>>, staff: Staff) -> Result<Response, PageError> {
    let pupils = crate::service::special_needs::list(&app.db, &staff.actor).await?;
    let rows: Vec<_> = pupils
        .into_iter()
        .map(|p| {
            let linked = staff.may_see(p.school_id);
            context! { pupil => p, linked => linked }
        })
        .collect();
    Ok(render(&app, "special_needs.html", Some(&staff), context! { rows => rows })?.into_response())
}
