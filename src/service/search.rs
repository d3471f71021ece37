//! Finding students (staff): the typed text (name, pinyin initials, 学籍号,
//! 身份证件号 or its last digits) combined with school, grade, class, status
//! and flags, in the caller's scope; 50 to a page, paged by key, with the
//! count of all matches. A value the search does not know is refused with
//! a message naming it: a search never widens because a field failed to
//! parse. Every search is audited, with what was searched by (never the
//! text itself).

use crate::app::App;
use crate::db::schools;
use crate::db::students::StudentSummary;
use crate::db::students::search::{self, Flag, Key, Page, Search, Text};
use crate::domain::{Actor, DomainError, StudentStatus};
use crate::error::{AppError, AppResult};
use crate::service::audit::Audit;
use crate::service::schools::{ClassCodes, class_scope};

/// Rows to a page.
pub const PAGE_SIZE: i64 = 50;

/// A search as typed (a page form or the API's JSON).
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub struct SearchRequest {
    /// 姓名 (or part), pinyin initials, 学籍号 (or its start), 身份证件号 (or its last digits).
    #[serde(default)]
    pub q: String,
    /// A school's code.
    #[serde(default)]
    pub school: String,
    /// A grade (`3`, `三年级`).
    #[serde(default)]
    pub grade: String,
    /// A class: its number within the grade (`2`), or grade and number (`3-2`).
    #[serde(default)]
    pub class: String,
    /// A status code or label.
    #[serde(default)]
    pub status: String,
    /// Flag codes that must all be set ([`Flag`]).
    #[serde(default)]
    pub flags: Vec<String>,
    /// The page after this key (from a result's `next`).
    #[serde(default)]
    pub after: String,
    /// The page before this key (from a result's `prev`).
    #[serde(default)]
    pub before: String,
    /// The number of the page asked for (shown; the key decides the rows).
    #[serde(default)]
    pub page: Option<i64>,
}

/// One page of results.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SearchPage {
    /// The students of this page.
    pub students: Vec<StudentSummary>,
    /// Matches in all.
    pub total: i64,
    /// This page's number, from 1.
    pub page: i64,
    /// Pages in all.
    pub pages: i64,
    /// The rank of this page's first row, from 1.
    pub first_rank: i64,
    /// The key that opens the next page, if there is one.
    pub next: Option<String>,
    /// The key that opens the previous page, if there is one.
    pub prev: Option<String>,
    /// What the text was taken for (`name`, `initials`, `student_no`, `id_number`, `id_suffix`).
    pub text_kind: Option<&'static str>,
}

fn refused(code: &'static str, field: &'static str, value: &str, why: &str) -> AppError {
    DomainError::new(code, field, value, why).into()
}

/// The typed text, classified. A name typed with 「.」 or 「•」 between
/// its parts is read with the 「·」 the record uses.
pub fn classify(q: &str) -> AppResult<Option<Text>> {
    let q = q.trim();
    if q.is_empty() {
        return Ok(None);
    }
    if q.chars().count() > 40 || q.chars().any(char::is_control) {
        return Err(refused("search.text_invalid", "查找内容", "", "不超过40字"));
    }
    let upper = q.to_ascii_uppercase();
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let id_like = |s: &str| {
        let (body, last) = s.split_at(s.len() - 1);
        digits(body) && (digits(last) || last == "X")
    };
    if upper.is_ascii() && id_like(&upper) {
        return match upper.len() {
            18 => Ok(Some(Text::IdNumber(upper))),
            4..=17 => Ok(Some(Text::IdSuffix(upper))),
            _ => Err(refused("search.too_short", "身份证件号", q, "请至少输入后4位")),
        };
    }
    if upper.len() >= 5 && upper.starts_with(['G', 'L', 'J']) && digits(&upper[1..]) {
        return Ok(Some(Text::StudentNo(upper)));
    }
    if crate::domain::initials::looks_like_initials(q) {
        return Ok(Some(Text::Initials(q.to_ascii_lowercase())));
    }
    Ok(Some(Text::Name(crate::domain::initials::middle_dot(q))))
}

fn text_kind(t: &Text) -> &'static str {
    match t {
        Text::Name(_) => "name",
        Text::Initials(_) => "initials",
        Text::StudentNo(_) => "student_no",
        Text::IdNumber(_) => "id_number",
        Text::IdSuffix(_) => "id_suffix",
    }
}

/// The request checked against what the system knows, in the actor's scope.
async fn criteria(app: &App, actor: &Actor, req: &SearchRequest) -> AppResult<(Search, Option<schools::School>)> {
    let mut s = Search { scope: actor.scope.clone(), text: classify(&req.q)?, ..Search::default() };
    let school = match req.school.trim() {
        "" => None,
        code => {
            let school = schools::by_code(&app.db.pool, code)
                .await?
                .ok_or_else(|| refused("search.school_unknown", "学校", code, "不是本县的学校代码，请从列表中选择"))?;
            if !actor.may_see(school.id) {
                return Err(AppError::NotFound);
            }
            s.school_id = Some(school.id);
            Some(school)
        }
    };
    let codes = ClassCodes {
        invalid: "search.class_invalid",
        needs_grade: "search.class_needs_grade",
        unknown: "search.class_unknown",
    };
    let (grade, class) = class_scope(&app.db, school.as_ref(), &req.grade, &req.class, &codes).await?;
    s.grade = grade.map(i64::from);
    s.class_number = class;
    s.status = match req.status.trim() {
        "" => None,
        st => Some(StudentStatus::parse(st)?),
    };
    for f in &req.flags {
        let flag = Flag::parse(f).ok_or_else(|| refused("search.flag_unknown", "标记", f, "不是可查找的标记"))?;
        if !s.flags.contains(&flag) {
            s.flags.push(flag);
        }
    }
    Ok((s, school))
}

fn key_of(token: &str) -> AppResult<Key> {
    Key::parse(token).ok_or_else(|| AppError::bad_request("search.page_invalid", "翻页参数无效，请重新查找"))
}

/// Runs a search (see the module documentation).
pub async fn search(app: &App, actor: &Actor, req: &SearchRequest) -> AppResult<SearchPage> {
    let mut audit = Audit::new(actor, "student.search", ("school", "*"));
    let result = async {
        let (criteria, school) = criteria(app, actor, req).await?;
        if let Some(school) = &school {
            audit.target(&school.code);
            audit.school(school.id);
        }
        let page = match (req.after.trim(), req.before.trim()) {
            ("", "") => Page::First,
            (after, "") => Page::After(key_of(after)?),
            ("", before) => Page::Before(key_of(before)?),
            _ => return Err(AppError::bad_request("search.page_invalid", "翻页参数无效，请重新查找")),
        };
        let mut conn = app.db.pool.acquire().await?;
        // One more row than a page says whether another page follows.
        let (mut found, total) = search::search(&mut conn, &criteria, &page, PAGE_SIZE + 1).await?;
        drop(conn);
        let more = found.len() as i64 > PAGE_SIZE;
        if more {
            match page {
                Page::Before(_) => found.remove(0),
                _ => found.pop().expect("more than a page"),
            };
        }
        let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
        let number = match page {
            Page::First => 1,
            _ => req.page.unwrap_or(1).clamp(1, pages),
        };
        let (has_next, has_prev) = match page {
            Page::First => (more, false),
            Page::After(_) => (more, true),
            Page::Before(_) => (true, more),
        };
        let next = found.last().filter(|_| has_next).map(|f| f.key.token());
        let prev = found.first().filter(|_| has_prev && number > 1).map(|f| f.key.token());
        let kind = criteria.text.as_ref().map(text_kind);
        let by: Vec<String> = [
            kind.map(|k| format!("text={k}")),
            criteria.grade.map(|g| format!("grade={g}")),
            criteria.class_number.map(|c| format!("class={c}")),
            criteria.status.map(|s| format!("status={}", s.code())),
        ]
        .into_iter()
        .flatten()
        .chain(criteria.flags.iter().map(|f| format!("flag={}", f.code())))
        .collect();
        audit.detail(format!("shown={} total={total} page={number} {}", found.len(), by.join(" ")).trim().to_owned());
        audit.record(&app.db.pool).await?;
        Ok(SearchPage {
            students: found.into_iter().map(|f| f.summary).collect(),
            total,
            page: number,
            pages,
            first_rank: (number - 1) * PAGE_SIZE + 1,
            next,
            prev,
            text_kind: kind,
        })
    }
    .await;
    audit.close(&app.db, result).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_is_read_for_what_it_is() {
        let id = "220122201203036026";
        assert_eq!(classify(id).unwrap(), Some(Text::IdNumber(id.into())));
        assert_eq!(classify("22012220120303602x").unwrap(), Some(Text::IdNumber("22012220120303602X".into())));
        assert_eq!(classify(" 6026 ").unwrap(), Some(Text::IdSuffix("6026".into())));
        assert_eq!(classify("602").unwrap_err().code(), "search.too_short");
        assert_eq!(classify("g2201222012").unwrap(), Some(Text::StudentNo("G2201222012".into())));
        assert_eq!(classify("LHR").unwrap(), Some(Text::Initials("lhr".into())));
        assert_eq!(classify("刘").unwrap(), Some(Text::Name("刘".into())));
        assert_eq!(classify("阿依古丽.买买提").unwrap(), Some(Text::Name("阿依古丽·买买提".into())));
        assert_eq!(classify("  ").unwrap(), None);
    }
}
