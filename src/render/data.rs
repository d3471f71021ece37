//! The record data handed to a template, and the checks made on it before
//! anything is compiled.
//!
//! The contract (documented in `templates/forms/README.md`) is a JSON object
//! with a `document` envelope, `school`, `student` and kind-specific parts.
//! The renderer owns three envelope fields and overwrites them:
//! `document.kind` (must match the request if given), `document.issue_date`
//! (from the request) and `document.template_version`; a missing
//! `document.verify_domain` is taken from the host of `document.verify_url`.

use serde_json::Value;

use super::error::RenderError;
use super::fonts::{Coverage, codepoint};
use super::kind::DocKind;

/// Checks the envelope, fills the renderer-owned fields, returns the verify URL.
pub(crate) fn prepare(
    kind: DocKind,
    data: &mut Value,
    issue_date: chrono::NaiveDate,
    template_version: &str,
) -> Result<String, RenderError> {
    let Value::Object(root) = data else {
        return Err(RenderError::Data("数据必须是 JSON 对象".into()));
    };
    let document = root.entry("document").or_insert_with(|| Value::Object(Default::default()));
    let Value::Object(document) = document else {
        return Err(RenderError::Data("document 必须是对象".into()));
    };
    match document.get("kind") {
        None | Some(Value::Null) => {}
        Some(Value::String(k)) if k == kind.code() => {}
        Some(other) => {
            return Err(RenderError::Data(format!("document.kind 为 {other}，与请求的文书类型 {} 不符", kind.code())));
        }
    }
    document.insert("kind".into(), Value::String(kind.code().into()));
    document.insert("issue_date".into(), Value::String(issue_date.format("%Y-%m-%d").to_string()));
    document.insert("template_version".into(), Value::String(template_version.into()));
    let url = match document.get("verify_url") {
        Some(Value::String(u)) if !u.trim().is_empty() => u.clone(),
        _ => {
            return Err(RenderError::Data("缺少 document.verify_url（每份文书都须印验证二维码）".into()));
        }
    };
    // The domain printed beside the QR code defaults to the URL's host.
    if matches!(document.get("verify_domain"), None | Some(Value::Null))
        && let Some(host) = url.split_once("://").and_then(|(_, rest)| rest.split(['/', '?', '#']).next())
    {
        document.insert("verify_domain".into(), Value::String(host.to_owned()));
    }
    for part in ["school", "student"] {
        match root.get(part) {
            None | Some(Value::Null) | Some(Value::Object(_)) => {}
            Some(_) => return Err(RenderError::Data(format!("{part} 必须是对象"))),
        }
    }
    Ok(url)
}

/// Fails with [`RenderError::MissingGlyph`] for the first character of any
/// string in `data` that no bundled font covers ([`Coverage::first_unprintable`],
/// the same check the records make where text enters them).
pub(crate) fn check_glyphs(coverage: &Coverage, data: &Value) -> Result<(), RenderError> {
    let mut path = String::new();
    walk(coverage, data, &mut path)
}

fn walk(coverage: &Coverage, value: &Value, path: &mut String) -> Result<(), RenderError> {
    match value {
        Value::String(s) => match coverage.first_unprintable(s) {
            Some(ch) => Err(RenderError::MissingGlyph {
                ch,
                codepoint: codepoint(ch),
                field: if path.is_empty() { "(根)".into() } else { path.clone() },
            }),
            None => Ok(()),
        },
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                walk(coverage, item, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        Value::Object(map) => {
            for (key, item) in map {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                walk(coverage, item, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
    }
}
