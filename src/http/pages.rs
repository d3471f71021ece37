//! Rendering pages and page errors.

use crate::error::AppError;
use crate::http::Web;
use crate::http::auth::Staff;
use axum::response::{Html, IntoResponse, Response};
use minijinja::context;

/// Every page template; all are compiled at start-up.
pub const PAGES: &[&str] = &[
    "base.html",
    "login.html",
    "share.html",
    "share_codes.html",
    "students.html",
    "student.html",
    "problems.html",
    "intake.html",
    "special_needs.html",
    "audit.html",
    "import.html",
    "batch.html",
    "certificates.html",
    "archive.html",
    "archive_dossier.html",
    "verify.html",
    "calendar.html",
    "cases.html",
    "case.html",
    "transfer_new.html",
    "years.html",
    "overdue.html",
    "records.html",
    "historical.html",
];

/// Loads the page templates (`templates/web`), compiling every one of
/// [`PAGES`] now: a broken template stops the start, not a request.
pub fn environment(config: &crate::config::Config) -> anyhow::Result<minijinja::Environment<'static>> {
    use anyhow::Context;
    let dir = config.templates_dir()?.join("web");
    if !dir.join("base.html").exists() {
        anyhow::bail!("找不到页面模板目录 {}（应包含 base.html）", dir.display());
    }
    let mut env = minijinja::Environment::new();
    env.set_loader(minijinja::path_loader(dir));
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
    env.add_filter("status_label", |s: String| {
        crate::domain::StudentStatus::parse(&s).map_or("未知", crate::domain::StudentStatus::label)
    });
    // Instants (RFC 3339, stored in UTC) in the county's time, dates as the forms print them.
    let zone = config.time_zone;
    env.add_filter("local_time", move |s: Option<String>| {
        s.map(|s| crate::domain::date::local_time(&s, zone)).unwrap_or_default()
    });
    env.add_filter("date_zh", |s: Option<String>| s.map(|s| crate::domain::date::date_zh(&s)).unwrap_or_default());
    // Who, when no account has that name: the command line and the scheduler by what they are.
    env.add_filter("who", |s: Option<String>| match s.as_deref() {
        Some(u) if u.starts_with("cli:") => format!("命令行（{}）", &u[4..]),
        Some(u) if u.starts_with("scheduler") || u == "schedule" => "系统".to_owned(),
        Some(u) => u.to_owned(),
        None => String::new(),
    });
    env.add_filter("gender_label", |s: String| {
        crate::domain::Gender::parse(&s).map_or("", crate::domain::Gender::label)
    });
    for name in PAGES {
        env.get_template(name).with_context(|| format!("页面模板 {name} 有错误"))?;
    }
    Ok(env)
}

/// Renders a page for a signed-in staff member (the layout shows who and the CSRF token).
pub fn render(app: &Web, name: &str, staff: Option<&Staff>, ctx: minijinja::Value) -> Result<Html<String>, PageError> {
    let me = staff.map(|s| {
        context! {
            name => s.user.display_name.clone(),
            role => s.user.role.label(),
            is_bureau => s.user.role.is_bureau(),
            is_admin => s.user.role == crate::domain::Role::BureauAdmin,
            csrf => s.csrf.clone(),
        }
    });
    let tmpl = app.pages().get_template(name).map_err(|e| PageError(AppError::Internal(e.into())))?;
    tmpl.render(context! { me => me, ..ctx })
        .map(Html)
        .map_err(|e| PageError(AppError::Internal(anyhow::Error::new(e).context(format!("rendering {name}")))))
}

/// An error shown as a page (the JSON API uses [`AppError`] directly).
#[derive(Debug)]
pub struct PageError(pub AppError);

impl<E: Into<AppError>> From<E> for PageError {
    fn from(e: E) -> Self {
        Self(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let e = self.0;
        e.log();
        let mut response = crate::http::error_page::page(e.status(), &e.to_string(), e.code());
        if let AppError::Busy = e {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static(crate::http::error::RETRY_AFTER_SECS),
            );
        }
        response
    }
}

/// A school's classes as a picker offers them: value `grade-number` (read
/// back by [`crate::domain::ClassRef`]), the name, head teacher and free places.
pub async fn class_choices(app: &Web, school_id: i64) -> Result<Vec<minijinja::Value>, AppError> {
    Ok(crate::db::schools::classes_of(&app.db.pool, school_id)
        .await?
        .into_iter()
        .map(|c| {
            context! { value => format!("{}-{}", c.grade, c.number), name => c.name(),
            head_teacher => c.head_teacher, free => (c.cap - c.enrolled).max(0) }
        })
        .collect())
}

/// Escapes text for HTML.
pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}
