//! The staff search over students: any combination of a typed text (name,
//! pinyin initials, 学籍号, 身份证件号 or its last digits), school, grade,
//! class, status and flags; paged by key (school code, grade, class, public
//! id), so a page never repeats or skips a row when records change between
//! pages, with the count of all matches.

use super::{StudentSummary, summary_from_row};
use crate::domain::StudentStatus;
use sqlx::Row;

/// What the typed text is taken for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Text {
    /// Part of the name (or former name).
    Name(String),
    /// Pinyin initials (`lhr`) or the start of the full pinyin (`liuh`), lower case.
    Initials(String),
    /// The start of a 学籍号 (`G2201…`), upper case.
    StudentNo(String),
    /// A whole 身份证件号, upper case.
    IdNumber(String),
    /// The last digits of a 身份证件号 (4 to 17), upper case.
    IdSuffix(String),
}

/// A flag of the national record searched for (only those set to yes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    /// 留守儿童 (either kind).
    LeftBehind,
    /// 进城务工人员随迁子女.
    MigrantChild,
    /// 随班就读.
    Inclusive,
    /// 住校.
    Boarding,
    /// 孤儿.
    Orphan,
    /// 烈士或优抚子女.
    MartyrChild,
    /// No 身份证件号 yet.
    NoId,
}

impl Flag {
    /// Every flag, in the order the form shows them.
    pub const ALL: [Self; 7] = [
        Self::LeftBehind,
        Self::MigrantChild,
        Self::Inclusive,
        Self::Boarding,
        Self::Orphan,
        Self::MartyrChild,
        Self::NoId,
    ];

    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            Self::LeftBehind => "left_behind",
            Self::MigrantChild => "migrant_child",
            Self::Inclusive => "inclusive",
            Self::Boarding => "boarding",
            Self::Orphan => "orphan",
            Self::MartyrChild => "martyr_child",
            Self::NoId => "no_id",
        }
    }

    /// The Chinese label.
    pub fn label(self) -> &'static str {
        match self {
            Self::LeftBehind => "留守儿童",
            Self::MigrantChild => "随迁子女",
            Self::Inclusive => "随班就读",
            Self::Boarding => "住校",
            Self::Orphan => "孤儿",
            Self::MartyrChild => "烈士或优抚子女",
            Self::NoId => "无身份证件号",
        }
    }

    /// The flag with this code, if any.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.code() == code.trim())
    }

    fn clause(self) -> &'static str {
        match self {
            Self::LeftBehind => "s.left_behind IN ('1', '2')",
            Self::MigrantChild => "s.migrant_child = 1",
            Self::Inclusive => "(s.inclusive IS NOT NULL AND s.inclusive <> '0')",
            Self::Boarding => "s.study_mode = '2'",
            Self::Orphan => "s.orphan = 1",
            Self::MartyrChild => "s.martyr_child = 1",
            Self::NoId => "s.id_number IS NULL",
        }
    }
}

/// The criteria, every one already checked.
#[derive(Debug, Clone, Default)]
pub struct Search {
    /// The caller's scope (`None`: every school).
    pub scope: Option<Vec<i64>>,
    /// One school.
    pub school_id: Option<i64>,
    /// One grade.
    pub grade: Option<i64>,
    /// One class number (within the grade).
    pub class_number: Option<i64>,
    /// One status.
    pub status: Option<StudentStatus>,
    /// Flags that must all be set.
    pub flags: Vec<Flag>,
    /// The typed text.
    pub text: Option<Text>,
}

/// A row's place in the order: school code, grade, class number (0 when
/// none), public id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// School code.
    pub school_code: String,
    /// Grade.
    pub grade: i64,
    /// Class number, 0 for none.
    pub class_number: i64,
    /// Public id.
    pub public_id: String,
}

impl Key {
    /// The key as a page link carries it (no personal data: codes and a random id).
    pub fn token(&self) -> String {
        format!("{}.{}.{}.{}", self.school_code, self.grade, self.class_number, self.public_id)
    }

    /// Reads a [`Key::token`]; `None` when it is not one.
    pub fn parse(token: &str) -> Option<Self> {
        let mut parts = token.trim().split('.');
        let school_code = parts.next()?.to_owned();
        let grade = parts.next()?.parse().ok()?;
        let class_number = parts.next()?.parse().ok()?;
        let public_id = parts.next()?.to_owned();
        let plain = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
        (parts.next().is_none() && plain(&school_code) && plain(&public_id)).then_some(Self {
            school_code,
            grade,
            class_number,
            public_id,
        })
    }
}

/// Which page: the first, the one after a key, or the one before it.
#[derive(Debug, Clone)]
pub enum Page {
    /// The first page.
    First,
    /// The rows after this key.
    After(Key),
    /// The rows before this key.
    Before(Key),
}

enum Bind {
    Int(i64),
    Text(String),
}

/// Adds a parameter; returns its placeholder.
fn next(b: Bind, binds: &mut Vec<Bind>) -> String {
    binds.push(b);
    format!("${}", binds.len())
}

fn like_escaped(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// The WHERE clauses and their parameters (numbered from 1 in order).
fn criteria(s: &Search) -> Option<(Vec<String>, Vec<Bind>)> {
    let mut clauses = Vec::new();
    let mut binds: Vec<Bind> = Vec::new();
    if let Some(ids) = &s.scope {
        if ids.is_empty() {
            return None;
        }
        let marks: Vec<String> = ids.iter().map(|id| next(Bind::Int(*id), &mut binds)).collect();
        clauses.push(format!("s.school_id IN ({})", marks.join(", ")));
    }
    for (col, v) in [("s.school_id", s.school_id), ("s.grade", s.grade), ("c.number", s.class_number)] {
        if let Some(v) = v {
            let m = next(Bind::Int(v), &mut binds);
            clauses.push(format!("{col} = {m}"));
        }
    }
    if let Some(st) = s.status {
        let m = next(Bind::Text(st.code().to_owned()), &mut binds);
        clauses.push(format!("s.status = {m}"));
    }
    for f in &s.flags {
        clauses.push(f.clause().to_owned());
    }
    match &s.text {
        None => {}
        Some(Text::Name(q)) => {
            let m = next(Bind::Text(format!("%{}%", like_escaped(q))), &mut binds);
            clauses.push(format!("(s.name LIKE {m} ESCAPE '\\' OR s.former_name LIKE {m} ESCAPE '\\')"));
        }
        Some(Text::Initials(q)) => {
            let word = next(Bind::Text(format!("% {}%", like_escaped(q))), &mut binds);
            let full = next(Bind::Text(format!("{}%", like_escaped(q))), &mut binds);
            clauses.push(format!(
                "((' ' || COALESCE(s.name_initials, '')) LIKE {word} ESCAPE '\\'
                  OR LOWER(REPLACE(REPLACE(s.pinyin, ' ', ''), '''', '')) LIKE {full} ESCAPE '\\')"
            ));
        }
        Some(Text::StudentNo(q)) => {
            let m = next(Bind::Text(format!("{}%", like_escaped(q))), &mut binds);
            clauses.push(format!("s.student_no LIKE {m} ESCAPE '\\'"));
        }
        Some(Text::IdNumber(q)) => {
            let m = next(Bind::Text(q.clone()), &mut binds);
            clauses.push(format!("s.id_number = {m}"));
        }
        Some(Text::IdSuffix(q)) => {
            let m = next(Bind::Text(format!("%{}", like_escaped(q))), &mut binds);
            clauses.push(format!("s.id_number LIKE {m} ESCAPE '\\'"));
        }
    }
    Some((clauses, binds))
}

const KEY_COLUMNS: [&str; 4] = ["sc.code", "s.grade", "COALESCE(c.number, 0)", "s.public_id"];
const FROM: &str = "FROM students s JOIN schools sc ON sc.id = s.school_id LEFT JOIN classes c ON c.id = s.class_id";

/// One found row and its key.
#[derive(Debug, Clone)]
pub struct Found {
    /// The list line.
    pub summary: StudentSummary,
    /// Its place in the order.
    pub key: Key,
}

/// At most `limit` rows of `page`, in key order, and the count of all matches.
pub async fn search(
    conn: &mut sqlx::AnyConnection,
    s: &Search,
    page: &Page,
    limit: i64,
) -> Result<(Vec<Found>, i64), sqlx::Error> {
    let Some((mut clauses, mut binds)) = criteria(s) else { return Ok((Vec::new(), 0)) };
    let where_of = |clauses: &[String]| {
        if clauses.is_empty() { String::new() } else { format!("WHERE {}", clauses.join(" AND ")) }
    };
    let count_sql = format!("SELECT COUNT(*) {FROM} {}", where_of(&clauses));
    let mut q = sqlx::query_scalar::<_, i64>(&count_sql);
    for b in &binds {
        q = match b {
            Bind::Int(v) => q.bind(*v),
            Bind::Text(v) => q.bind(v.as_str()),
        };
    }
    let total = q.fetch_one(&mut *conn).await?;
    let (op, order) = match page {
        Page::First => ("", "ASC"),
        Page::After(_) => (">", "ASC"),
        Page::Before(_) => ("<", "DESC"),
    };
    if let Page::After(k) | Page::Before(k) = page {
        let n = binds.len();
        binds.push(Bind::Text(k.school_code.clone()));
        binds.push(Bind::Int(k.grade));
        binds.push(Bind::Int(k.class_number));
        binds.push(Bind::Text(k.public_id.clone()));
        clauses.push(format!("({}) {op} (${}, ${}, ${}, ${})", KEY_COLUMNS.join(", "), n + 1, n + 2, n + 3, n + 4));
    }
    let order_by = KEY_COLUMNS.map(|c| format!("{c} {order}")).join(", ");
    let sql = format!(
        "SELECT s.public_id, s.student_no, s.name, s.gender, s.birth_date, s.grade, c.number AS class_number,
                sc.name AS school_name, s.status, sc.code AS school_code
         {FROM} {} ORDER BY {order_by} LIMIT {limit}",
        where_of(&clauses)
    );
    let mut q = sqlx::query(&sql);
    for b in &binds {
        q = match b {
            Bind::Int(v) => q.bind(*v),
            Bind::Text(v) => q.bind(v.as_str()),
        };
    }
    let mut found = Vec::new();
    for r in q.fetch_all(&mut *conn).await? {
        let summary = summary_from_row(&r)?;
        let key = Key {
            school_code: r.try_get("school_code")?,
            grade: summary.grade,
            class_number: summary.class_number.unwrap_or(0),
            public_id: summary.public_id.clone(),
        };
        found.push(Found { summary, key });
    }
    if matches!(page, Page::Before(_)) {
        found.reverse();
    }
    Ok((found, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_reads_back_and_nothing_else_does() {
        let k = Key { school_code: "2122019001".into(), grade: 3, class_number: 0, public_id: "ab12".into() };
        assert_eq!(Key::parse(&k.token()), Some(k));
        for bad in ["", "a.b.c.d", "1.2.3", "1.2.3.4.5", "x'y.1.1.ab", "1.1.1.a b"] {
            assert_eq!(Key::parse(bad), None, "{bad}");
        }
    }
}
