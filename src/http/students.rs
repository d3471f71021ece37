//! Students: the list and search of one's scope, one student's record with
//! its history, and the problem-record list; as pages and as JSON.
//!
//! Every read of personal data writes an audit entry; a registrar asking for
//! another school's student gets 404, and the attempt is audited as `denied`.

use crate::db::schools;
use crate::db::students::search::Flag;
use crate::db::students::{self, Filter};
use crate::domain::StudentStatus;
use crate::error::AppError;
use crate::http::Web;
use crate::http::auth::Staff;
use crate::http::pages::{PageError, render};
use crate::http::workflow_pages::{Notice, OkQuery};
use crate::service::search::{SearchPage, SearchRequest};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use minijinja::context;
use std::sync::Arc;

const PAGE_SIZE: i64 = 50;

/// The student routes.
pub fn router() -> Router<Arc<Web>> {
    Router::new()
        .route("/students", get(list_page))
        .route("/students/search", post(search_page))
        .route("/students/{id}", get(student_page))
        .route("/api/students", get(list_api))
        .route("/api/students/search", post(search_api))
        .route("/api/students/{id}", get(student_api))
        .route("/api/students/{id}/id-number", post(convert_api))
        .route(
            "/api/students/{id}/photo",
            axum::routing::put(photo_api).layer(axum::extract::DefaultBodyLimit::max(8 * 1024 * 1024)),
        )
        .route("/api/schools", get(schools_api))
}

/// List filters (none of them personal).
#[derive(Debug, Default, serde::Deserialize)]
pub struct ListQuery {
    /// School code.
    #[serde(default)]
    school: Option<String>,
    /// Grade 1-9.
    #[serde(default)]
    grade: Option<String>,
    /// Status code.
    #[serde(default)]
    status: Option<String>,
    /// Page, from 1.
    #[serde(default)]
    page: Option<i64>,
}

/// The page's search form (sent in the body, so names and ID numbers never
/// stand in a URL or a log): the API's [`SearchRequest`] with one checkbox
/// per flag (`flag_left_behind=on`), and the session's CSRF token.
#[derive(Debug, Default, serde::Deserialize)]
pub struct SearchForm {
    #[serde(default)]
    q: String,
    #[serde(default)]
    school: String,
    #[serde(default)]
    grade: String,
    #[serde(default)]
    class: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    after: String,
    #[serde(default)]
    before: String,
    #[serde(default)]
    page: Option<i64>,
    #[serde(default)]
    flag_left_behind: Option<String>,
    #[serde(default)]
    flag_migrant_child: Option<String>,
    #[serde(default)]
    flag_inclusive: Option<String>,
    #[serde(default)]
    flag_boarding: Option<String>,
    #[serde(default)]
    flag_orphan: Option<String>,
    #[serde(default)]
    flag_martyr_child: Option<String>,
    #[serde(default)]
    flag_no_id: Option<String>,
    /// The form's CSRF token.
    #[serde(default)]
    csrf: String,
}

impl SearchForm {
    fn request(&self) -> SearchRequest {
        let flags = [
            (&self.flag_left_behind, Flag::LeftBehind),
            (&self.flag_migrant_child, Flag::MigrantChild),
            (&self.flag_inclusive, Flag::Inclusive),
            (&self.flag_boarding, Flag::Boarding),
            (&self.flag_orphan, Flag::Orphan),
            (&self.flag_martyr_child, Flag::MartyrChild),
            (&self.flag_no_id, Flag::NoId),
        ]
        .into_iter()
        .filter(|(v, _)| v.as_deref().is_some_and(|v| !v.is_empty()))
        .map(|(_, f)| f.code().to_owned())
        .collect();
        SearchRequest {
            q: self.q.clone(),
            school: self.school.clone(),
            grade: self.grade.clone(),
            class: self.class.clone(),
            status: self.status.clone(),
            flags,
            after: self.after.clone(),
            before: self.before.clone(),
            page: self.page,
        }
    }
}

/// A list page's results.
#[derive(Debug, serde::Serialize)]
pub struct ListResult {
    /// Students on this page.
    pub students: Vec<students::StudentSummary>,
    /// Matches in all.
    pub total: i64,
    /// This page.
    pub page: i64,
    /// Pages in all.
    pub pages: i64,
}

async fn build_filter(app: &Web, staff: &Staff, q: &ListQuery) -> Result<Filter, AppError> {
    let mut filter = Filter { school_ids: staff.actor.scope.clone(), ..Filter::default() };
    if let Some(code) = q.school.as_deref().filter(|c| !c.is_empty()) {
        let school = schools::by_code(&app.db.pool, code).await?.ok_or(AppError::NotFound)?;
        if !staff.may_see(school.id) {
            return Err(AppError::NotFound);
        }
        filter.school_id = Some(school.id);
    }
    if let Some(g) = q.grade.as_deref().filter(|g| !g.is_empty()) {
        filter.grade = Some(i64::from(crate::domain::Grade::parse(g)?.number()));
    }
    if let Some(s) = q.status.as_deref().filter(|s| !s.is_empty()) {
        filter.status = Some(StudentStatus::parse(s)?);
    }
    Ok(filter)
}

async fn run_list(app: &Web, staff: &Staff, filter: &Filter, page: i64) -> Result<ListResult, AppError> {
    let page = page.max(1);
    let mut conn = app.db.pool.acquire().await?;
    let (list, total) = students::list(&mut conn, filter, PAGE_SIZE, (page - 1) * PAGE_SIZE).await?;
    // One connection at a time: the audit row takes its own.
    drop(conn);
    let target = filter.school_id.map_or_else(|| "*".to_owned(), |id| id.to_string());
    staff
        .audit(
            app,
            "student.list",
            ("school", &target),
            filter.school_id,
            "ok",
            &format!("shown={} total={total} page={page}", list.len()),
        )
        .await?;
    Ok(ListResult { students: list, total, page, pages: (total + PAGE_SIZE - 1) / PAGE_SIZE })
}

pub(crate) async fn scope_schools(app: &Web, staff: &Staff) -> Result<Vec<schools::School>, AppError> {
    let all = schools::list(&app.db.pool).await?;
    Ok(all.into_iter().filter(|s| staff.may_see(s.id)).collect())
}

fn statuses() -> Vec<(&'static str, &'static str)> {
    StudentStatus::ALL.iter().map(|s| (s.code(), s.label())).collect()
}

async fn list_page(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    // The list's filters (none personal) may stand in the URL; the rest of
    // the search, and every further page, is a POST of the same form.
    let req = SearchRequest {
        school: q.school.unwrap_or_default(),
        grade: q.grade.unwrap_or_default(),
        status: q.status.unwrap_or_default(),
        ..SearchRequest::default()
    };
    let result = crate::service::search::search(&app, &staff.actor, &req).await?;
    let schools = scope_schools(&app, &staff).await?;
    let classes = classes_for(&app, &staff, &schools, &req.school).await?;
    let html = render(
        &app,
        "students.html",
        Some(&staff),
        context! { search => result, schools => schools, statuses => statuses(), flags => flag_choices(),
        classes => classes, q => req, searched => false, error => () },
    )?;
    Ok(html.into_response())
}

async fn search_page(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Form(form): Form<SearchForm>,
) -> Result<Response, PageError> {
    staff.check_csrf(&form.csrf)?;
    let req = form.request();
    let schools = scope_schools(&app, &staff).await?;
    let (result, error, status) = match crate::service::search::search(&app, &staff.actor, &req).await {
        Ok(r) => (Some(r), None, StatusCode::OK),
        // A value the search does not know is shown beside the form as typed.
        Err(e) if e.is_refusal() => (None, Some(e.to_string()), e.status()),
        Err(e) => return Err(e.into()),
    };
    let classes = classes_for(&app, &staff, &schools, &req.school).await?;
    let html = render(
        &app,
        "students.html",
        Some(&staff),
        context! { search => result, schools => schools, statuses => statuses(), flags => flag_choices(),
        classes => classes, q => req, searched => true, error => error },
    )?;
    Ok((status, html).into_response())
}

/// The flags the form offers: code and label.
fn flag_choices() -> Vec<(&'static str, &'static str)> {
    Flag::ALL.iter().map(|f| (f.code(), f.label())).collect()
}

/// The classes the form offers: those of the chosen school, or of the
/// caller's only school.
async fn classes_for(
    app: &Web,
    staff: &Staff,
    visible: &[schools::School],
    chosen: &str,
) -> Result<Vec<minijinja::Value>, AppError> {
    let school = match chosen.trim() {
        "" if visible.len() == 1 => visible.first(),
        "" => None,
        code => visible.iter().find(|s| s.code == code),
    };
    match school.filter(|s| staff.may_see(s.id)) {
        Some(school) => crate::http::pages::class_choices(app, school.id).await,
        None => Ok(Vec::new()),
    }
}

async fn list_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Query(q): Query<ListQuery>,
) -> Result<Json<ListResult>, AppError> {
    let filter = build_filter(&app, &staff, &q).await?;
    Ok(Json(run_list(&app, &staff, &filter, q.page.unwrap_or(1)).await?))
}

async fn search_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Json(req): Json<SearchRequest>,
) -> Result<Json<SearchPage>, AppError> {
    Ok(Json(crate::service::search::search(&app, &staff.actor, &req).await?))
}

/// One student's record and history, after the access check and its audit entry.
async fn load_student(
    app: &Web,
    staff: &Staff,
    public_id: &str,
) -> Result<(students::Student, Vec<students::Event>), AppError> {
    let located = students::locate(&app.db.pool, public_id).await?;
    match located {
        Some((_, school_id)) if staff.may_see(school_id) => {
            let mut conn = app.db.pool.acquire().await?;
            let student = students::by_public_id(&mut conn, public_id).await?.ok_or(AppError::NotFound)?;
            let events = students::events_of(&mut *conn, student.id).await?;
            // One connection at a time: the audit row takes its own.
            drop(conn);
            staff.audit(app, "student.view", ("student", public_id), Some(school_id), "ok", "").await?;
            Ok((student, events))
        }
        Some((_, school_id)) => {
            staff
                .audit(app, "student.view", ("student", public_id), Some(school_id), "denied", "outside scope")
                .await?;
            Err(AppError::NotFound)
        }
        None => {
            staff.audit(app, "student.view", ("student", public_id), None, "not_found", "").await?;
            Err(AppError::NotFound)
        }
    }
}

async fn student_page(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(id): Path<String>,
    Query(q): Query<OkQuery>,
) -> Result<Response, PageError> {
    render_student(&app, &staff, &id, Notice::ok(q.ok.as_deref()), StatusCode::OK).await
}

/// The student's page with its "学籍异动" section, and above it the outcome
/// of the last change or a refused form (kept as typed), answered with `status`.
pub(crate) async fn render_student(
    app: &Web,
    staff: &Staff,
    id: &str,
    notice: Notice,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (student, events) = load_student(app, staff, id).await?;
    let school = schools::by_id(&app.db.pool, student.school_id).await?.ok_or(AppError::NotFound)?;
    let printable: Vec<_> = crate::documents::printable_kinds(&student, school.kind)
        .into_iter()
        .map(|k| context! { code => k.code(), title => k.title_zh() })
        .collect();
    let workflow = crate::http::workflow_pages::student_section(app, staff, &student, &school).await?;
    let certificates = crate::certificates::of_student(app, student.id).await?;
    let class_name = student.class_name();
    let status_label = student.status.label();
    let events: Vec<_> = events
        .into_iter()
        .map(|e| {
            let label = |s: &Option<String>| s.as_deref().and_then(|c| StudentStatus::parse(c).ok()).map(|s| s.label());
            context! { kind => event_label(&e.kind), from => label(&e.from_status), to => label(&e.to_status),
            actor => e.actor, at => e.at, detail => e.detail }
        })
        .collect();
    let html = render(
        app,
        "student.html",
        Some(staff),
        context! { s => student, class_name => class_name, status_label => status_label, events => events,
        printable => printable, certificates => certificates, wf => workflow, error => notice.error, message => notice.message,
        form => notice.form, prev => notice.values },
    )?;
    Ok((status, html).into_response())
}

/// The Chinese name of an event kind.
pub fn event_label(kind: &str) -> &str {
    match kind {
        "enrolled" => "建立学籍",
        "student_no_converted" => "临时学籍号转正式学籍号",
        "application_opened" => "提出申请",
        "application_refused" => "申请未获批准",
        "application_withdrawn" => "申请撤回",
        "recall_issued" => "开具劝返复学通知书",
        "recall_delivered" => "劝返复学通知书送达",
        "historical_graduation" => "据纸质毕业生登记册补录毕业",
        other => crate::domain::Action::ALL.into_iter().find(|a| a.code() == other).map_or(other, |a| a.label()),
    }
}

async fn student_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, AppError> {
    let (student, events) = load_student(&app, &staff, &id).await?;
    Ok(Json(serde_json::json!({ "student": student, "class_name": student.class_name(), "history": events })))
}

async fn schools_api(State(app): State<Arc<Web>>, staff: Staff) -> Result<Json<Vec<schools::School>>, AppError> {
    Ok(Json(scope_schools(&app, &staff).await?))
}

/// `PUT /api/students/{id}/photo`: the student's 1-inch photo (JPEG or PNG, at
/// most 8 MiB), normalised once to 25 × 35 mm (295 × 413 px JPEG) and stored
/// with the record; the forms and certificates print it from then on.
async fn photo_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<axum::http::StatusCode, AppError> {
    crate::service::students::set_photo(&app, &staff.actor, &id, body).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// The ID number issued to a student who had a temporary number.
#[derive(Debug, serde::Deserialize)]
pub struct IdNumberBody {
    /// The new resident ID number.
    id_number: String,
}

/// `POST /api/students/{id}/id-number`: a student with a temporary `L` (or
/// no-ID `J`) number receives their resident ID number; the student number
/// becomes `G` + ID, and the old number stays in the history (Art. 11).
async fn convert_api(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(id): Path<String>,
    Json(body): Json<IdNumberBody>,
) -> Result<Json<serde_json::Value>, AppError> {
    let id_number = crate::domain::IdNumber::parse(&body.id_number)?;
    let new = crate::service::students::receive_resident_id(&app, &staff.actor, &id, &id_number).await?;
    Ok(Json(serde_json::json!({ "student_no": new.as_str() })))
}
