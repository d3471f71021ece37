//! Rendering pages and page errors.

use crate::error::AppError;
use crate::http::Web;
use crate::http::auth::Staff;
use axum::http::StatusCode;
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
        let status = e.status();
        let body = format!(
            "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{0}</title></head>\
             <body style=\"font-family:sans-serif;max-width:40rem;margin:3rem auto\"><h1>{0}</h1><p>{1}</p>\
             <p><a href=\"/students\">返回学生名单</a></p><p style=\"color:#888\">错误代码：{2}</p></body></html>",
            status_title(status),
            html_escape(&e.to_string()),
            e.code()
        );
        let mut response = (status, Html(body)).into_response();
        if let AppError::Busy = e {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static(crate::http::error::RETRY_AFTER_SECS),
            );
        }
        response
    }
}

fn status_title(s: StatusCode) -> &'static str {
    match s.as_u16() {
        400 | 422 => "输入有误",
        401 => "请先登录",
        403 => "没有权限",
        404 => "未找到",
        409 => "记录冲突",
        413 => "文件过大",
        415 => "文件类型不受支持",
        503 => "服务繁忙",
        _ => "服务器错误",
    }
}

/// Escapes text for HTML.
pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}
