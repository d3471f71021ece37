//! One error page for every page route, one JSON shape for every `/api/`
//! route, and a reference id that ties what the person sees to the log.
//!
//! Every request gets a reference (12 hex digits): the request's log line
//! and every line logged while it runs carry it, and it is sent back as
//! `x-request-id`. A page route that fails answers the error page: the
//! message in Chinese, what to do, the stable code and the reference, so a
//! registrar who calls the bureau can read it out and the administrator
//! finds the log line. Answers that are not already a page — a handler's
//! JSON error, an extractor's plain-text refusal, an empty 404 — are turned
//! into it here; under `/api/` a plain-text refusal becomes the JSON body
//! every other error has.

use crate::error::ErrorBody;
use crate::http::pages::html_escape as escape;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

tokio::task_local! {
    static REFERENCE: String;
}

/// The running request's reference (`-` outside a request).
pub fn reference() -> String {
    REFERENCE.try_with(Clone::clone).unwrap_or_else(|_| "-".to_owned())
}

/// A new reference: 48 random bits, hex.
pub fn new_reference() -> String {
    hex::encode(rand::random::<[u8; 6]>())
}

/// Runs `f` with `reference` as the request's reference.
pub async fn with_reference<F: std::future::Future>(reference: String, f: F) -> F::Output {
    REFERENCE.scope(reference, f).await
}

fn title(s: StatusCode) -> &'static str {
    match s.as_u16() {
        400 | 422 => "输入有误",
        401 => "请先登录",
        403 => "没有权限",
        404 => "未找到",
        405 => "操作方式不正确",
        409 => "记录冲突",
        413 => "文件过大",
        415 => "文件类型不受支持",
        429 => "请求过于频繁",
        503 => "服务繁忙",
        507 => "存储空间已满",
        _ => "服务器错误",
    }
}

/// What the person can do about it.
fn advice(s: StatusCode) -> &'static str {
    match s.as_u16() {
        400 | 422 => "请返回上一页，按提示改正后重新提交；已填写的内容不会因此保存。",
        401 => "登录已过期或尚未登录，请重新登录后再试。",
        403 => "该操作不在您的权限范围内；如确需办理，请联系教育局学籍管理人员。",
        404 => "要找的记录或页面不存在，或不在您的管理范围内。请从学生名单重新进入。",
        405 | 415 => "请从系统页面上的按钮或表单提交，不要直接输入网址。",
        409 => "记录已被他人或先前的操作改变。请返回刷新页面，查看当前状态后再办理。",
        413 => "请压缩或分页扫描后重新上传。",
        429 => "请稍等一分钟后再试。",
        503 => "系统正忙，请稍后重试。",
        507 => "请联系教育局系统管理员清理存储空间；已上传的材料没有丢失。",
        _ => "请稍后重试；如一再出现，请把下面的参考编号告诉系统管理员。",
    }
}

/// A message for a status when the answer carried none a person can read.
fn default_message(s: StatusCode) -> &'static str {
    match s.as_u16() {
        400 | 422 => "提交的内容格式不正确或不完整",
        404 => "没有这个页面或记录",
        405 => "不支持这种操作方式",
        413 => "提交的内容过大",
        415 => "提交的内容类型不受支持",
        _ => "处理请求时出错",
    }
}

/// The error page.
pub fn page(status: StatusCode, message: &str, code: &str) -> Response {
    let reference = reference();
    let back = if status == StatusCode::UNAUTHORIZED {
        "<a href=\"/login\">重新登录</a>"
    } else {
        // No script runs here (the CSP allows none inline): the browser's back button goes back.
        "<a href=\"/students\">学生名单</a> · <a href=\"/cases\">待办</a>"
    };
    let body = format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title></head>\
         <body style=\"font-family:sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#222\">\
         <h1>{title}</h1><p role=\"alert\">{message}</p><p>{advice}</p><p>{back}</p>\
         <p style=\"color:#555\">参考编号：<span id=\"reference\">{reference}</span>　错误代码：{code}</p></body></html>",
        title = title(status),
        message = escape(message),
        advice = advice(status),
        code = escape(code),
    );
    (status, Html(body)).into_response()
}

/// Paths whose answers are not staff pages: the API, and the public
/// verification pages and files, which answer in their own way.
fn is_page(path: &str) -> bool {
    !(path.starts_with("/api/")
        || path.starts_with("/.well-known/")
        || path.starts_with("/v/")
        || path.starts_with("/V/")
        || path == "/s"
        || path == "/health"
        || path == "/favicon.ico")
}

fn content_type(res: &Response) -> &str {
    res.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// The largest error body read back to be shown as a page.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Turns an error answer that is not already in the route's form into it
/// (see the module documentation).
pub async fn conform(path: &str, res: Response) -> Response {
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let kind = content_type(&res).to_owned();
    let page = is_page(path);
    if kind.starts_with("text/html") || (!page && kind.starts_with("application/json")) {
        return res;
    }
    if !page && !path.starts_with("/api/") {
        return res;
    }
    let (parts, body) = res.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_ERROR_BODY).await.unwrap_or_default();
    let (code, message) = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(v) if v.get("code").is_some() => (
            v["code"].as_str().unwrap_or("error").to_owned(),
            v["message"].as_str().map_or_else(|| default_message(status).to_owned(), str::to_owned),
        ),
        // An extractor's refusal is plain English text naming Rust types: not for people.
        _ => (request_code(status).to_owned(), default_message(status).to_owned()),
    };
    let mut answer = if page {
        self::page(status, &message, &code)
    } else {
        let body = ErrorBody { code: request_code(status), message, field: None };
        (status, axum::Json(body)).into_response()
    };
    for name in [header::RETRY_AFTER, header::WWW_AUTHENTICATE, header::ALLOW] {
        if let Some(v) = parts.headers.get(&name) {
            answer.headers_mut().insert(name, v.clone());
        }
    }
    answer
}

/// The stable code of a refusal that came without one.
fn request_code(status: StatusCode) -> &'static str {
    match status.as_u16() {
        404 => "not_found",
        405 => "request.method",
        413 => "request.too_large",
        415 => "request.media_type",
        s if s >= 500 => "internal",
        _ => "request.invalid",
    }
}

/// The reference as a header value.
pub fn header_value(reference: &str) -> HeaderValue {
    HeaderValue::from_str(reference).unwrap_or_else(|_| HeaderValue::from_static("-"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn empty(status: StatusCode) -> Response {
        (status, Body::empty()).into_response()
    }

    async fn text(res: Response) -> String {
        String::from_utf8(axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap().to_vec()).unwrap()
    }

    #[tokio::test]
    async fn a_page_route_answers_the_page_and_an_api_route_json() {
        let json = || {
            let body = serde_json::json!({"code": "document.not_allowed", "message": "不能打印《毕业证书》"});
            (StatusCode::CONFLICT, axum::Json(body)).into_response()
        };
        let page = with_reference("abc123".into(), conform("/students/x/documents/y", json())).await;
        assert_eq!(page.status(), StatusCode::CONFLICT);
        assert!(content_type(&page).starts_with("text/html"));
        let body = text(page).await;
        assert!(
            body.contains("不能打印《毕业证书》") && body.contains("abc123") && body.contains("document.not_allowed")
        );
        let api = conform("/api/students/x", json()).await;
        assert!(content_type(&api).starts_with("application/json"));

        let plain =
            || (StatusCode::UNPROCESSABLE_ENTITY, "Failed to deserialize form body: missing field `q`").into_response();
        let page = text(conform("/students/search", plain()).await).await;
        assert!(page.contains("提交的内容格式不正确") && !page.contains("deserialize"), "{page}");
        let api = conform("/api/students/search", plain()).await;
        let body: serde_json::Value = serde_json::from_str(&text(api).await).unwrap();
        assert_eq!(body["code"], "request.invalid");
        assert!(!body["message"].as_str().unwrap().contains("deserialize"));

        let not_found = text(conform("/nowhere", empty(StatusCode::NOT_FOUND)).await).await;
        assert!(not_found.contains("未找到"), "{not_found}");
        // Public verification answers are left as they are.
        let v = conform("/v/123", empty(StatusCode::TOO_MANY_REQUESTS)).await;
        assert!(text(v).await.is_empty());
    }
}
