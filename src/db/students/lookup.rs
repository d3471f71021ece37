//! Finding students: the filtered list, the count, the duplicates an import
//! checks against, similar records, and a student's ids by public id or 学籍号.

use super::*;
use sqlx::{Any, Executor, Row};

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only these schools (`None`: all, for bureau staff).
    pub school_ids: Option<Vec<i64>>,
    /// Only this school.
    pub school_id: Option<i64>,
    /// Only this grade.
    pub grade: Option<i64>,
    /// Only this class.
    pub class_id: Option<i64>,
    /// Only this status.
    pub status: Option<StudentStatus>,
}

/// A page of students matching `filter`, and the total count.
pub async fn list(
    conn: &mut sqlx::AnyConnection,
    filter: &Filter,
    limit: i64,
    offset: i64,
) -> Result<(Vec<StudentSummary>, i64), sqlx::Error> {
    let mut clauses = Vec::new();
    let mut ints: Vec<i64> = Vec::new();
    let mut texts: Vec<String> = Vec::new();
    // Integer parameters first ($1…), then text ones, so the placeholders can be numbered up front.
    if let Some(ids) = &filter.school_ids {
        if ids.is_empty() {
            return Ok((Vec::new(), 0));
        }
        let start = ints.len();
        ints.extend(ids);
        let marks: Vec<String> = (start..ints.len()).map(|i| format!("${}", i + 1)).collect();
        clauses.push(format!("s.school_id IN ({})", marks.join(", ")));
    }
    for (col, v) in [("s.school_id", filter.school_id), ("s.grade", filter.grade), ("s.class_id", filter.class_id)] {
        if let Some(v) = v {
            ints.push(v);
            clauses.push(format!("{col} = ${}", ints.len()));
        }
    }
    let text_base = ints.len();
    if let Some(st) = filter.status {
        texts.push(st.code().to_owned());
        clauses.push(format!("s.status = ${}", text_base + texts.len()));
    }
    let where_ = if clauses.is_empty() { String::new() } else { format!("WHERE {}", clauses.join(" AND ")) };
    let count_sql = format!("SELECT COUNT(*) FROM students s {where_}");
    let mut q = sqlx::query_scalar::<_, i64>(&count_sql);
    for v in &ints {
        q = q.bind(*v);
    }
    for v in &texts {
        q = q.bind(v.as_str());
    }
    let total = q.fetch_one(&mut *conn).await?;
    let sql = format!(
        "SELECT s.public_id, s.student_no, s.name, s.gender, s.birth_date, s.grade, c.number AS class_number,
                sc.name AS school_name, s.status
         FROM students s JOIN schools sc ON sc.id = s.school_id LEFT JOIN classes c ON c.id = s.class_id
         {where_} ORDER BY sc.code, s.grade, c.number, s.id LIMIT {limit} OFFSET {offset}"
    );
    let mut q = sqlx::query(&sql);
    for v in &ints {
        q = q.bind(*v);
    }
    for v in &texts {
        q = q.bind(v.as_str());
    }
    let rows = q.fetch_all(&mut *conn).await?;
    let list = rows.iter().map(summary_from_row).collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok((list, total))
}

/// A list line from a row selecting public_id, student_no, name, gender,
/// birth_date, grade, class_number, school_name and status.
pub(super) fn summary_from_row(r: &sqlx::any::AnyRow) -> Result<StudentSummary, sqlx::Error> {
    Ok(StudentSummary {
        public_id: r.try_get("public_id")?,
        student_no: r.try_get("student_no")?,
        name: r.try_get("name")?,
        gender: Gender::parse(&r.try_get::<String, _>("gender")?).map_err(decode_err)?,
        birth_date: r.try_get("birth_date")?,
        grade: r.try_get("grade")?,
        class_number: r.try_get("class_number")?,
        school_name: r.try_get("school_name")?,
        status: StudentStatus::parse(&r.try_get::<String, _>("status")?).map_err(decode_err)?,
    })
}

/// Number of students.
pub async fn count<'c>(e: impl Executor<'c, Database = Any>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM students").fetch_one(e).await
}

/// An existing record that shares an identifier with a new one.
#[derive(Debug, Clone)]
pub struct Existing {
    /// Internal id.
    pub id: i64,
    /// 身份证件号.
    pub id_number: Option<String>,
    /// 学籍号.
    pub student_no: String,
    /// Status.
    pub status: String,
    /// 姓名.
    pub name: String,
    /// 出生日期.
    pub birth_date: String,
}

/// Existing students whose ID number or student number is among those given.
pub async fn existing_by_numbers(
    conn: &mut sqlx::AnyConnection,
    id_numbers: &[String],
    student_nos: &[String],
) -> Result<Vec<Existing>, sqlx::Error> {
    let mut out = Vec::new();
    for (col, values) in [("id_number", id_numbers), ("student_no", student_nos)] {
        for chunk in values.chunks(400) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT id, id_number, student_no, status, name, birth_date FROM students WHERE {col} IN ({})",
                marks.join(", ")
            );
            let mut q = sqlx::query(&sql);
            for v in chunk {
                q = q.bind(v.as_str());
            }
            for r in q.fetch_all(&mut *conn).await? {
                out.push(Existing {
                    id: r.try_get("id")?,
                    id_number: r.try_get("id_number")?,
                    student_no: r.try_get("student_no")?,
                    status: r.try_get("status")?,
                    name: r.try_get("name")?,
                    birth_date: r.try_get("birth_date")?,
                });
            }
        }
    }
    Ok(out)
}

/// Existing students with the same name and birth date as one of `keys`, with a
/// guardian's phone among `phones` of that key: `(key index, student id)` pairs.
pub async fn similar(
    conn: &mut sqlx::AnyConnection,
    keys: &[(String, String, Vec<String>)],
) -> Result<Vec<(usize, i64)>, sqlx::Error> {
    let mut names: Vec<&str> = keys.iter().map(|k| k.0.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let mut found = std::collections::HashMap::<(String, String), Vec<(i64, String)>>::new();
    for chunk in names.chunks(400) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT s.id, s.name, s.birth_date, g.phone FROM students s JOIN guardians g ON g.student_id = s.id
             WHERE s.name IN ({})",
            marks.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for v in chunk {
            q = q.bind(*v);
        }
        for r in q.fetch_all(&mut *conn).await? {
            found
                .entry((r.try_get("name")?, r.try_get("birth_date")?))
                .or_default()
                .push((r.try_get("id")?, r.try_get("phone")?));
        }
    }
    let mut out = Vec::new();
    for (i, (name, birth, phones)) in keys.iter().enumerate() {
        if let Some(hits) = found.get(&(name.clone(), birth.clone())) {
            let mut ids: Vec<i64> = hits.iter().filter(|(_, p)| phones.contains(p)).map(|(id, _)| *id).collect();
            ids.dedup();
            out.extend(ids.into_iter().map(|id| (i, id)));
        }
    }
    Ok(out)
}

/// A student's internal id and school, by public id (for access checks).
pub async fn locate<'c>(
    e: impl Executor<'c, Database = Any>,
    public_id: &str,
) -> Result<Option<(i64, i64)>, sqlx::Error> {
    let row = sqlx::query("SELECT id, school_id FROM students WHERE public_id = $1")
        .bind(public_id)
        .fetch_optional(e)
        .await?;
    row.map(|r| Ok((r.try_get("id")?, r.try_get("school_id")?))).transpose()
}

/// A student's internal id, opaque public id and school: what access checks
/// and the archive go by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudentIds {
    /// Internal id.
    pub id: i64,
    /// Opaque public id.
    pub public_id: String,
    /// School.
    pub school_id: i64,
}

fn ids_from_row(r: &sqlx::any::AnyRow) -> Result<StudentIds, sqlx::Error> {
    Ok(StudentIds { id: r.try_get("id")?, public_id: r.try_get("public_id")?, school_id: r.try_get("school_id")? })
}

/// The ids of the student with this public id.
pub async fn ids_by_public_id<'c>(
    e: impl Executor<'c, Database = Any>,
    public_id: &str,
) -> Result<Option<StudentIds>, sqlx::Error> {
    let row = sqlx::query("SELECT id, public_id, school_id FROM students WHERE public_id = $1")
        .bind(public_id)
        .fetch_optional(e)
        .await?;
    row.as_ref().map(ids_from_row).transpose()
}

/// The ids of the student with this student number, exactly as given (the
/// caller trims and upper-cases what a person typed).
pub async fn ids_by_student_no<'c>(
    e: impl Executor<'c, Database = Any>,
    student_no: &str,
) -> Result<Option<StudentIds>, sqlx::Error> {
    let row = sqlx::query("SELECT id, public_id, school_id FROM students WHERE student_no = $1")
        .bind(student_no)
        .fetch_optional(e)
        .await?;
    row.as_ref().map(ids_from_row).transpose()
}

/// A record awaiting the school's submission or the bureau's review, with
/// the reason of its last refusal, if any.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AwaitingRecord {
    /// The list line.
    #[serde(flatten)]
    pub summary: StudentSummary,
    /// The school's code.
    pub school_code: String,
    /// Why the bureau last refused it (`None` if never refused).
    pub refusal: Option<String>,
}

/// Records in one of `statuses` (in the given schools, or all), by school,
/// grade, class and id, at most `limit`; and how many there are in all.
pub async fn awaiting(
    conn: &mut sqlx::AnyConnection,
    school_ids: Option<&[i64]>,
    statuses: &[StudentStatus],
    limit: i64,
) -> Result<(Vec<AwaitingRecord>, i64), sqlx::Error> {
    let status_list: Vec<String> = statuses.iter().map(|s| format!("'{}'", s.code())).collect();
    let mut where_ = format!("s.status IN ({})", status_list.join(", "));
    if let Some(ids) = school_ids {
        if ids.is_empty() {
            return Ok((Vec::new(), 0));
        }
        let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        where_.push_str(&format!(" AND s.school_id IN ({})", marks.join(", ")));
    }
    fn bind_all<'q>(
        sql: &'q str,
        school_ids: Option<&[i64]>,
    ) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
        let mut q = sqlx::query(sql);
        for id in school_ids.unwrap_or_default() {
            q = q.bind(*id);
        }
        q
    }
    let count_sql = format!("SELECT COUNT(*) AS n FROM students s WHERE {where_}");
    let total: i64 = bind_all(&count_sql, school_ids).fetch_one(&mut *conn).await?.try_get("n")?;
    let sql = format!(
        "SELECT s.public_id, s.student_no, s.name, s.gender, s.birth_date, s.grade, c.number AS class_number,
                sc.code AS school_code, sc.name AS school_name, s.status,
                (SELECT e.detail FROM student_events e WHERE e.student_id = s.id AND e.kind = 'record_refused'
                 ORDER BY e.id DESC LIMIT 1) AS refusal
         FROM students s JOIN schools sc ON sc.id = s.school_id LEFT JOIN classes c ON c.id = s.class_id
         WHERE {where_} ORDER BY sc.code, s.grade, c.number, s.id LIMIT {limit}"
    );
    let rows = bind_all(&sql, school_ids).fetch_all(&mut *conn).await?;
    let list = rows
        .iter()
        .map(|r| {
            let refusal: Option<String> = r.try_get("refusal")?;
            Ok(AwaitingRecord {
                summary: summary_from_row(r)?,
                school_code: r.try_get("school_code")?,
                refusal: refusal
                    .and_then(|d| serde_json::from_str::<serde_json::Value>(&d).ok())
                    .and_then(|d| d["reason"].as_str().map(str::to_owned)),
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok((list, total))
}

/// The public ids of a school's records in one of `statuses`, by id.
pub async fn public_ids_in_status(
    conn: &mut sqlx::AnyConnection,
    school_id: i64,
    statuses: &[StudentStatus],
) -> Result<Vec<String>, sqlx::Error> {
    let status_list: Vec<String> = statuses.iter().map(|s| format!("'{}'", s.code())).collect();
    sqlx::query_scalar(&format!(
        "SELECT public_id FROM students WHERE school_id = $1 AND status IN ({}) ORDER BY id",
        status_list.join(", ")
    ))
    .bind(school_id)
    .fetch_all(&mut *conn)
    .await
}

/// Every student's ids and name, by internal id (the benchmarks).
pub async fn all_with_names<'c>(
    e: impl Executor<'c, Database = Any>,
) -> Result<Vec<(StudentIds, String)>, sqlx::Error> {
    let rows = sqlx::query("SELECT id, public_id, school_id, name FROM students ORDER BY id").fetch_all(e).await?;
    rows.iter().map(|r| Ok((ids_from_row(r)?, r.try_get("name")?))).collect()
}

/// The ids of the student with this internal id.
pub async fn ids_by_internal<'c>(
    e: impl Executor<'c, Database = Any>,
    id: i64,
) -> Result<Option<StudentIds>, sqlx::Error> {
    let row =
        sqlx::query("SELECT id, public_id, school_id FROM students WHERE id = $1").bind(id).fetch_optional(e).await?;
    row.as_ref().map(ids_from_row).transpose()
}

/// List lines of these students (internal ids, at most a page of them), in
/// the order given; an id with no row is left out.
pub async fn summaries_by_ids(
    conn: &mut sqlx::AnyConnection,
    ids: &[i64],
) -> Result<Vec<(i64, StudentSummary)>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let marks = (1..=ids.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "SELECT s.id, s.public_id, s.student_no, s.name, s.gender, s.birth_date, s.grade, c.number AS class_number,
                sc.name AS school_name, s.status
         FROM students s JOIN schools sc ON sc.id = s.school_id LEFT JOIN classes c ON c.id = s.class_id
         WHERE s.id IN ({marks})"
    );
    let mut q = sqlx::query(&sql);
    for id in ids {
        q = q.bind(*id);
    }
    let rows = q.fetch_all(&mut *conn).await?;
    let mut found: std::collections::HashMap<i64, StudentSummary> = std::collections::HashMap::new();
    for r in &rows {
        found.insert(r.try_get("id")?, summary_from_row(r)?);
    }
    Ok(ids.iter().filter_map(|id| found.remove(id).map(|s| (*id, s))).collect())
}
