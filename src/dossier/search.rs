//! Searching the index: by student number, name, school, kind of paper and
//! the day a scan was added, within the caller's schools.

use super::files::EntryView;
use super::{Failure, Result};
use crate::db::{self, Db};
use crate::domain::text::{Query, Snippet};
use crate::error::AppError;
use std::str::FromStr;
use xueji_archive::PaperKind;

/// Results per search page.
pub const SEARCH_PAGE_SIZE: i64 = 100;
/// Most pages a full-text search looks at (best ranked first).
pub const TEXT_SEARCH_CAP: i64 = 1000;
/// Characters shown either side of a full-text match.
const SNIPPET_AROUND: usize = 30;

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
    /// Words or phrases in the papers' text (read by OCR or from a PDF's
    /// text layer); blanks separate them, quotation marks keep a phrase whole.
    #[serde(default)]
    pub text: Option<String>,
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
            ("text", &self.text),
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
    /// The page whose text matched (a full-text search).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_page: Option<u32>,
    /// The match in its context on that page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snippet: Option<Snippet>,
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

/// The domain's date reading, refused under the search's own code.
fn parse_date(field: &'static str, v: &str) -> Result<chrono::NaiveDate> {
    crate::domain::parse_date(field, v)
        .map_err(|_| Failure::bad("archive.search_date", format!("{field}应为 YYYY-MM-DD 格式的日期")))
}

/// Searches the index within `scope` (`None`: every school). A school
/// outside the scope is answered as not found.
pub async fn search(db: &Db, scope: Option<&[i64]>, q: &SearchQuery) -> Result<SearchResult> {
    if scope.is_some_and(<[i64]>::is_empty) {
        return Ok(SearchResult { hits: Vec::new(), total: 0, page: 1, pages: 0 });
    }
    let student_no = given(&q.student_no).map(str::to_ascii_uppercase);
    let mut filter = db::dossier::EntryFilter {
        school_ids: scope,
        student_no_prefix: student_no.as_deref(),
        name_contains: given(&q.name),
        ..Default::default()
    };
    if let Some(code) = given(&q.school) {
        let school = db::schools::by_code(&db.pool, code).await?.ok_or(AppError::NotFound)?;
        if scope.is_some_and(|ids| !ids.contains(&school.id)) {
            return Err(AppError::NotFound.into());
        }
        filter.school_id = Some(school.id);
    }
    if let Some(kind) = given(&q.kind) {
        filter.kind = Some(PaperKind::from_str(kind)?);
    }
    if let Some(from) = given(&q.from) {
        filter.added_from = Some(parse_date("起始日期", from)?);
    }
    if let Some(to) = given(&q.to) {
        filter.added_to = Some(parse_date("截止日期", to)?);
    }
    let page = q.page.unwrap_or(1).max(1);
    if let Some(text) = given(&q.text) {
        let query = Query::parse(text).map_err(|e| Failure::bad("archive.search_text", e.to_string()))?;
        let mut conn = db.pool.acquire().await?;
        let found = db::archive_text::search(&mut conn, db.backend, &filter, &query.terms(), TEXT_SEARCH_CAP).await?;
        drop(conn);
        let matching: Vec<_> = found.into_iter().filter(|f| query.matches(&f.text, &[&f.found.name])).collect();
        let total = matching.len() as i64;
        let hits = matching
            .into_iter()
            .skip(usize::try_from((page - 1) * SEARCH_PAGE_SIZE).unwrap_or(usize::MAX))
            .take(SEARCH_PAGE_SIZE as usize)
            .map(|f| {
                let mut hit = hit(f.found);
                hit.text_page = u32::try_from(f.page).ok();
                hit.snippet = query.snippet(&f.text, SNIPPET_AROUND);
                hit
            })
            .collect();
        return Ok(SearchResult { hits, total, page, pages: (total + SEARCH_PAGE_SIZE - 1) / SEARCH_PAGE_SIZE });
    }
    let mut conn = db.pool.acquire().await?;
    let (found, total) =
        db::dossier::search(&mut conn, &filter, SEARCH_PAGE_SIZE, (page - 1) * SEARCH_PAGE_SIZE).await?;
    drop(conn);
    let hits = found.into_iter().map(hit).collect();
    Ok(SearchResult { hits, total, page, pages: (total + SEARCH_PAGE_SIZE - 1) / SEARCH_PAGE_SIZE })
}

fn hit(f: db::dossier::Found) -> Hit {
    Hit {
        public_id: f.public_id,
        student_no: f.student_no,
        name: f.name,
        school_name: f.school_name,
        added_on: f.added_on,
        entry: EntryView {
            digest: f.digest,
            kind: f.kind.code(),
            kind_label: f.kind.label(),
            pages: f.pages,
            original_name: f.original_name,
            has_thumbnail: f.media_type.starts_with("image/"),
            media_type: f.media_type,
            size: f.size,
            added_by: f.added_by,
            added_at: f.added_at,
            supersedes: f.supersedes,
        },
        text_page: None,
        snippet: None,
    }
}
