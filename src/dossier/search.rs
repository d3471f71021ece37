//! Searching the index: by student number, name, school, kind of paper and
//! the day a scan was added, within the caller's schools.

use super::files::EntryView;
use super::{Failure, Result};
use crate::db::Db;
use crate::error::AppError;
use sqlx::Row;
use std::str::FromStr;
use xueji_archive::PaperKind;

/// Results per search page.
pub const SEARCH_PAGE_SIZE: i64 = 100;

/// A search of the index. Every field is optional; names are matched by
/// substring, student numbers by prefix, dates on the day a scan was added.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub struct SearchQuery {
    /// Student number (prefix).
    #[serde(default)]
    pub student_no: Option<String>,
    /// Name (substring).
    #[serde(default)]
    pub name: Option<String>,
    /// School code.
    #[serde(default)]
    pub school: Option<String>,
    /// Kind of paper (code or label).
    #[serde(default)]
    pub kind: Option<String>,
    /// Added on or after (YYYY-MM-DD).
    #[serde(default)]
    pub from: Option<String>,
    /// Added on or before (YYYY-MM-DD).
    #[serde(default)]
    pub to: Option<String>,
    /// Page, from 1.
    #[serde(default)]
    pub page: Option<i64>,
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl SearchQuery {
    /// Which criteria are used (names of fields, never their values).
    pub fn criteria(&self) -> String {
        let mut out = Vec::new();
        for (name, v) in [
            ("student_no", &self.student_no),
            ("name", &self.name),
            ("school", &self.school),
            ("kind", &self.kind),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if given(v).is_some() {
                out.push(name);
            }
        }
        if out.is_empty() { "-".to_owned() } else { out.join(",") }
    }
}

/// One search result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Hit {
    /// The student's public id (links).
    pub public_id: String,
    /// 学籍号.
    pub student_no: String,
    /// 姓名.
    pub name: String,
    /// School name.
    pub school_name: String,
    /// The entry.
    #[serde(flatten)]
    pub entry: EntryView,
    /// Day added.
    pub added_on: String,
}

/// A page of search results.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SearchResult {
    /// Results on this page.
    pub hits: Vec<Hit>,
    /// Matches in all.
    pub total: i64,
    /// This page.
    pub page: i64,
    /// Pages in all.
    pub pages: i64,
}

enum Param {
    Int(i64),
    Text(String),
}

fn mark(params: &mut Vec<Param>, p: Param) -> String {
    params.push(p);
    format!("${}", params.len())
}

fn parse_date(field: &str, v: &str) -> Result<String> {
    chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .map(|d| d.to_string())
        .map_err(|_| Failure::bad("archive.search_date", format!("{field}应为 YYYY-MM-DD 格式的日期")))
}

/// Searches the index within `scope` (`None`: every school). A school
/// outside the scope is answered as not found.
pub async fn search(db: &Db, scope: Option<&[i64]>, q: &SearchQuery) -> Result<SearchResult> {
    let mut params = Vec::new();
    let mut clauses = Vec::new();
    if let Some(ids) = scope {
        if ids.is_empty() {
            return Ok(SearchResult { hits: Vec::new(), total: 0, page: 1, pages: 0 });
        }
        let marks: Vec<String> = ids.iter().map(|id| mark(&mut params, Param::Int(*id))).collect();
        clauses.push(format!("s.school_id IN ({})", marks.join(", ")));
    }
    if let Some(code) = given(&q.school) {
        let school = crate::db::schools::by_code(&db.pool, code).await?.ok_or(AppError::NotFound)?;
        if scope.is_some_and(|ids| !ids.contains(&school.id)) {
            return Err(AppError::NotFound.into());
        }
        clauses.push(format!("s.school_id = {}", mark(&mut params, Param::Int(school.id))));
    }
    if let Some(kind) = given(&q.kind) {
        let kind = PaperKind::from_str(kind)?;
        clauses.push(format!("e.kind = {}", mark(&mut params, Param::Text(kind.code().to_owned()))));
    }
    let escape = |v: &str| v.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    if let Some(no) = given(&q.student_no) {
        let m = mark(&mut params, Param::Text(format!("{}%", escape(&no.to_ascii_uppercase()))));
        clauses.push(format!("s.student_no LIKE {m} ESCAPE '\\'"));
    }
    if let Some(name) = given(&q.name) {
        let m = mark(&mut params, Param::Text(format!("%{}%", escape(name))));
        clauses.push(format!("s.name LIKE {m} ESCAPE '\\'"));
    }
    if let Some(from) = given(&q.from) {
        let m = mark(&mut params, Param::Text(parse_date("起始日期", from)?));
        clauses.push(format!("e.added_on >= {m}"));
    }
    if let Some(to) = given(&q.to) {
        let m = mark(&mut params, Param::Text(parse_date("截止日期", to)?));
        clauses.push(format!("e.added_on <= {m}"));
    }
    let where_ = if clauses.is_empty() { String::new() } else { format!("WHERE {}", clauses.join(" AND ")) };
    let from = "FROM archive_entries e JOIN students s ON s.id = e.student_id JOIN schools sc ON sc.id = s.school_id";
    let count_sql = format!("SELECT COUNT(*) {from} {where_}");
    let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
    for p in &params {
        count = match p {
            Param::Int(v) => count.bind(*v),
            Param::Text(v) => count.bind(v.as_str()),
        };
    }
    let total = count.fetch_one(&db.pool).await?;
    let page = q.page.unwrap_or(1).max(1);
    let sql = format!(
        "SELECT s.public_id, s.student_no, s.name, sc.name AS school_name, e.digest, e.kind, e.original_name,
                e.pages, e.media_type, e.size, e.added_by, e.added_at, e.added_on, e.supersedes
         {from} {where_} ORDER BY e.added_at DESC, e.id DESC LIMIT {SEARCH_PAGE_SIZE} OFFSET {}",
        (page - 1) * SEARCH_PAGE_SIZE
    );
    let mut query = sqlx::query(&sql);
    for p in &params {
        query = match p {
            Param::Int(v) => query.bind(*v),
            Param::Text(v) => query.bind(v.as_str()),
        };
    }
    let rows = query.fetch_all(&db.pool).await?;
    let mut hits = Vec::with_capacity(rows.len());
    for r in &rows {
        let kind = PaperKind::from_str(&r.try_get::<String, _>("kind")?).unwrap_or(PaperKind::Other);
        let media_type: String = r.try_get("media_type")?;
        hits.push(Hit {
            public_id: r.try_get("public_id")?,
            student_no: r.try_get("student_no")?,
            name: r.try_get("name")?,
            school_name: r.try_get("school_name")?,
            added_on: r.try_get("added_on")?,
            entry: EntryView {
                digest: r.try_get("digest")?,
                kind: kind.code(),
                kind_label: kind.label(),
                pages: u32::try_from(r.try_get::<i64, _>("pages")?).unwrap_or(0),
                original_name: r.try_get("original_name")?,
                has_thumbnail: media_type.starts_with("image/"),
                media_type,
                size: u64::try_from(r.try_get::<i64, _>("size")?).unwrap_or(0),
                added_by: r.try_get("added_by")?,
                added_at: r.try_get("added_at")?,
                supersedes: r.try_get("supersedes")?,
            },
        });
    }
    Ok(SearchResult { hits, total, page, pages: (total + SEARCH_PAGE_SIZE - 1) / SEARCH_PAGE_SIZE })
}
