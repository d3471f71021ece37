//! Students, their guardians and their append-only history of status events.

use crate::domain::{Gender, Grade, IdNumber, StudentNo, StudentStatus};
use chrono::NaiveDate;
use sqlx::{Any, Executor, Row};

/// A guardian (监护人).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Guardian {
    /// Name.
    pub name: String,
    /// Relation to the student (父亲, 母亲, …).
    pub relation: String,
    /// Phone.
    pub phone: String,
    /// Workplace.
    pub workplace: String,
}

/// A checked student record, ready to insert.
#[derive(Debug, Clone)]
pub struct NewStudent {
    /// 学籍号.
    pub student_no: StudentNo,
    /// School.
    pub school_id: i64,
    /// Class.
    pub class_id: i64,
    /// Grade.
    pub grade: Grade,
    /// 姓名.
    pub name: String,
    /// 曾用名.
    pub former_name: String,
    /// 姓名拼音.
    pub pinyin: String,
    /// 性别.
    pub gender: Gender,
    /// 出生日期.
    pub birth_date: NaiveDate,
    /// 出生地.
    pub birthplace: String,
    /// 民族.
    pub ethnicity: String,
    /// 国籍/地区.
    pub nationality: String,
    /// 身份证件类型.
    pub id_type: String,
    /// 身份证件号, when the type is 居民身份证.
    pub id_number: Option<IdNumber>,
    /// 户口所在地.
    pub household_address: String,
    /// 户口性质.
    pub household_type: String,
    /// 现住址.
    pub current_address: String,
    /// 入学日期.
    pub entry_date: NaiveDate,
    /// 入学方式.
    pub entry_mode: String,
    /// 住校.
    pub boarding: bool,
    /// 留守儿童.
    pub left_behind: bool,
    /// 进城务工人员随迁子女.
    pub migrant_child: bool,
    /// 随班就读.
    pub special_needs: bool,
    /// 残疾类型.
    pub disability_type: String,
    /// Guardians, first the main one.
    pub guardians: Vec<Guardian>,
    /// The day of first registration (for the one-month rule, Art. 9).
    pub registered_on: NaiveDate,
}

/// A student's full record.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Student {
    /// Internal id (never shown outside).
    #[serde(skip)]
    pub id: i64,
    /// Opaque id used in URLs.
    pub public_id: String,
    /// 学籍号.
    pub student_no: String,
    /// School id.
    #[serde(skip)]
    pub school_id: i64,
    /// School code.
    pub school_code: String,
    /// School name.
    pub school_name: String,
    /// Class id.
    #[serde(skip)]
    pub class_id: Option<i64>,
    /// Class number.
    pub class_number: Option<i64>,
    /// Grade.
    pub grade: i64,
    /// Status.
    pub status: StudentStatus,
    /// 姓名.
    pub name: String,
    /// 曾用名.
    pub former_name: String,
    /// 姓名拼音.
    pub pinyin: String,
    /// 性别.
    pub gender: Gender,
    /// 出生日期.
    pub birth_date: String,
    /// 出生地.
    pub birthplace: String,
    /// 民族.
    pub ethnicity: String,
    /// 国籍/地区.
    pub nationality: String,
    /// 身份证件类型.
    pub id_type: String,
    /// 身份证件号.
    pub id_number: Option<String>,
    /// 户口所在地.
    pub household_address: String,
    /// 户口性质.
    pub household_type: String,
    /// 现住址.
    pub current_address: String,
    /// 入学日期.
    pub entry_date: String,
    /// 入学方式.
    pub entry_mode: String,
    /// 住校.
    pub boarding: bool,
    /// 留守儿童.
    pub left_behind: bool,
    /// 进城务工人员随迁子女.
    pub migrant_child: bool,
    /// 随班就读.
    pub special_needs: bool,
    /// 残疾类型.
    pub disability_type: String,
    /// Has a photo.
    pub has_photo: bool,
    /// First registration.
    pub registered_on: String,
    /// Record created.
    pub created_at: String,
    /// Guardians.
    pub guardians: Vec<Guardian>,
}

impl Student {
    /// The class's Chinese name, if in a class.
    pub fn class_name(&self) -> Option<String> {
        self.class_number.map(|n| super::schools::class_name(self.grade, n))
    }
}

/// One line of a student list.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StudentSummary {
    /// Opaque id used in URLs.
    pub public_id: String,
    /// 学籍号.
    pub student_no: String,
    /// 姓名.
    pub name: String,
    /// 性别.
    pub gender: Gender,
    /// 出生日期.
    pub birth_date: String,
    /// Grade.
    pub grade: i64,
    /// Class number.
    pub class_number: Option<i64>,
    /// School name.
    pub school_name: String,
    /// Status.
    pub status: StudentStatus,
}

/// A status event of a student's history.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Event {
    /// What happened (`enrolled`, `student_no_converted`, …).
    pub kind: String,
    /// Status before.
    pub from_status: Option<String>,
    /// Status after.
    pub to_status: Option<String>,
    /// Details, JSON.
    pub detail: serde_json::Value,
    /// Proofs (archive digests), JSON.
    pub proofs: serde_json::Value,
    /// Who.
    pub actor: Option<String>,
    /// When.
    pub at: String,
}

/// A new opaque public id: 96 random bits, hex.
pub fn new_public_id() -> String {
    let bytes: [u8; 12] = rand::random();
    hex::encode(bytes)
}

/// Inserts a student with guardians and the `enrolled` event; returns the internal id.
pub async fn insert(
    conn: &mut sqlx::AnyConnection,
    s: &NewStudent,
    actor_id: Option<i64>,
    now: &str,
) -> Result<i64, sqlx::Error> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO students (public_id, student_no, school_id, class_id, grade, status, name, former_name, pinyin,
            gender, birth_date, birthplace, ethnicity, nationality, id_type, id_number, household_address,
            household_type, current_address, entry_date, entry_mode, boarding, left_behind, migrant_child,
            special_needs, disability_type, registered_on, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
            $22, $23, $24, $25, $26, $27, $28, $28)
         RETURNING id",
    )
    .bind(new_public_id())
    .bind(s.student_no.as_str())
    .bind(s.school_id)
    .bind(s.class_id)
    .bind(i64::from(s.grade.number()))
    .bind(StudentStatus::Active.code())
    .bind(&s.name)
    .bind(&s.former_name)
    .bind(&s.pinyin)
    .bind(s.gender.code())
    .bind(s.birth_date.to_string())
    .bind(&s.birthplace)
    .bind(&s.ethnicity)
    .bind(&s.nationality)
    .bind(&s.id_type)
    .bind(s.id_number.as_ref().map(|i| i.as_str().to_owned()))
    .bind(&s.household_address)
    .bind(&s.household_type)
    .bind(&s.current_address)
    .bind(s.entry_date.to_string())
    .bind(&s.entry_mode)
    .bind(super::flag(s.boarding))
    .bind(super::flag(s.left_behind))
    .bind(super::flag(s.migrant_child))
    .bind(super::flag(s.special_needs))
    .bind(&s.disability_type)
    .bind(s.registered_on.to_string())
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    for (pos, g) in s.guardians.iter().enumerate() {
        sqlx::query(
            "INSERT INTO guardians (student_id, position, name, relation, phone, workplace) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(pos as i64)
        .bind(&g.name)
        .bind(&g.relation)
        .bind(&g.phone)
        .bind(&g.workplace)
        .execute(&mut *conn)
        .await?;
    }
    add_event(
        &mut *conn,
        id,
        "enrolled",
        None,
        Some(StudentStatus::Active),
        &serde_json::json!({"school_id": s.school_id, "grade": s.grade.number()}),
        actor_id,
        now,
    )
    .await?;
    Ok(id)
}

/// Appends an event to a student's history. Events are never changed or removed.
#[expect(clippy::too_many_arguments, reason = "one column each, all required")]
pub async fn add_event<'c>(
    e: impl Executor<'c, Database = Any>,
    student_id: i64,
    kind: &str,
    from: Option<StudentStatus>,
    to: Option<StudentStatus>,
    detail: &serde_json::Value,
    actor_id: Option<i64>,
    now: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO student_events (student_id, kind, from_status, to_status, detail, proofs, actor_id, at)
         VALUES ($1, $2, $3, $4, $5, '[]', $6, $7)",
    )
    .bind(student_id)
    .bind(kind)
    .bind(from.map(|s| s.code()))
    .bind(to.map(|s| s.code()))
    .bind(detail.to_string())
    .bind(actor_id)
    .bind(now)
    .execute(e)
    .await?;
    Ok(())
}

const STUDENT_SELECT: &str = "SELECT s.id, s.public_id, s.student_no, s.school_id, sc.code AS school_code,
    sc.name AS school_name, s.class_id, c.number AS class_number, s.grade, s.status, s.name, s.former_name,
    s.pinyin, s.gender, s.birth_date, s.birthplace, s.ethnicity, s.nationality, s.id_type, s.id_number,
    s.household_address, s.household_type, s.current_address, s.entry_date, s.entry_mode, s.boarding,
    s.left_behind, s.migrant_child, s.special_needs, s.disability_type,
    CASE WHEN s.photo IS NULL THEN 0 ELSE 1 END AS has_photo, s.registered_on, s.created_at
    FROM students s JOIN schools sc ON sc.id = s.school_id LEFT JOIN classes c ON c.id = s.class_id";

fn decode_err(e: crate::domain::DomainError) -> sqlx::Error {
    sqlx::Error::Decode(e.into())
}

fn student_from_row(r: &sqlx::any::AnyRow) -> Result<Student, sqlx::Error> {
    let flag = |c: &str| r.try_get::<i64, _>(c).map(|v| v != 0);
    Ok(Student {
        id: r.try_get("id")?,
        public_id: r.try_get("public_id")?,
        student_no: r.try_get("student_no")?,
        school_id: r.try_get("school_id")?,
        school_code: r.try_get("school_code")?,
        school_name: r.try_get("school_name")?,
        class_id: r.try_get("class_id")?,
        class_number: r.try_get("class_number")?,
        grade: r.try_get("grade")?,
        status: StudentStatus::parse(&r.try_get::<String, _>("status")?).map_err(decode_err)?,
        name: r.try_get("name")?,
        former_name: r.try_get("former_name")?,
        pinyin: r.try_get("pinyin")?,
        gender: Gender::parse(&r.try_get::<String, _>("gender")?).map_err(decode_err)?,
        birth_date: r.try_get("birth_date")?,
        birthplace: r.try_get("birthplace")?,
        ethnicity: r.try_get("ethnicity")?,
        nationality: r.try_get("nationality")?,
        id_type: r.try_get("id_type")?,
        id_number: r.try_get("id_number")?,
        household_address: r.try_get("household_address")?,
        household_type: r.try_get("household_type")?,
        current_address: r.try_get("current_address")?,
        entry_date: r.try_get("entry_date")?,
        entry_mode: r.try_get("entry_mode")?,
        boarding: flag("boarding")?,
        left_behind: flag("left_behind")?,
        migrant_child: flag("migrant_child")?,
        special_needs: flag("special_needs")?,
        disability_type: r.try_get("disability_type")?,
        has_photo: flag("has_photo")?,
        registered_on: r.try_get("registered_on")?,
        created_at: r.try_get("created_at")?,
        guardians: Vec::new(),
    })
}

/// One student's full record, with guardians.
pub async fn by_public_id(conn: &mut sqlx::AnyConnection, public_id: &str) -> Result<Option<Student>, sqlx::Error> {
    let row = sqlx::query(&format!("{STUDENT_SELECT} WHERE s.public_id = $1"))
        .bind(public_id)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let mut s = student_from_row(&row)?;
    s.guardians = guardians_of(&mut *conn, s.id).await?;
    Ok(Some(s))
}

/// One student's full record by internal id, with guardians.
pub async fn by_id(conn: &mut sqlx::AnyConnection, id: i64) -> Result<Option<Student>, sqlx::Error> {
    let row = sqlx::query(&format!("{STUDENT_SELECT} WHERE s.id = $1")).bind(id).fetch_optional(&mut *conn).await?;
    let Some(row) = row else { return Ok(None) };
    let mut s = student_from_row(&row)?;
    s.guardians = guardians_of(&mut *conn, s.id).await?;
    Ok(Some(s))
}

/// A student's guardians, main one first.
pub async fn guardians_of<'c>(
    e: impl Executor<'c, Database = Any>,
    student_id: i64,
) -> Result<Vec<Guardian>, sqlx::Error> {
    let rows =
        sqlx::query("SELECT name, relation, phone, workplace FROM guardians WHERE student_id = $1 ORDER BY position")
            .bind(student_id)
            .fetch_all(e)
            .await?;
    rows.iter()
        .map(|r| {
            Ok(Guardian {
                name: r.try_get("name")?,
                relation: r.try_get("relation")?,
                phone: r.try_get("phone")?,
                workplace: r.try_get("workplace")?,
            })
        })
        .collect()
}

/// A student's history, oldest first.
pub async fn events_of<'c>(e: impl Executor<'c, Database = Any>, student_id: i64) -> Result<Vec<Event>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT e.kind, e.from_status, e.to_status, e.detail, e.proofs, u.display_name AS actor, e.at
         FROM student_events e LEFT JOIN users u ON u.id = e.actor_id WHERE e.student_id = $1 ORDER BY e.id",
    )
    .bind(student_id)
    .fetch_all(e)
    .await?;
    rows.iter()
        .map(|r| {
            let json = |c: &str| -> Result<serde_json::Value, sqlx::Error> {
                let t: String = r.try_get(c)?;
                serde_json::from_str(&t).map_err(|e| sqlx::Error::Decode(e.into()))
            };
            Ok(Event {
                kind: r.try_get("kind")?,
                from_status: r.try_get("from_status")?,
                to_status: r.try_get("to_status")?,
                detail: json("detail")?,
                proofs: json("proofs")?,
                actor: r.try_get("actor")?,
                at: r.try_get("at")?,
            })
        })
        .collect()
}

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
    /// Name or student number contains / starts with this.
    pub query: Option<String>,
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
    if let Some(q) = filter.query.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let escaped = q.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        texts.push(format!("%{escaped}%"));
        let n = text_base + texts.len();
        texts.push(format!("{}%", escaped.to_ascii_uppercase()));
        let m = text_base + texts.len();
        clauses.push(format!("(s.name LIKE ${n} ESCAPE '\\' OR s.student_no LIKE ${m} ESCAPE '\\')"));
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
    let list = rows
        .iter()
        .map(|r| {
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
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok((list, total))
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

// What the cases (transfer, resumption, change of basic information) read and
// write of a student.

/// A student's public id and school, by internal id.
pub async fn public_id_and_school<'c>(
    e: impl Executor<'c, Database = Any>,
    id: i64,
) -> Result<(String, i64), sqlx::Error> {
    let row = sqlx::query("SELECT public_id, school_id FROM students WHERE id = $1").bind(id).fetch_one(e).await?;
    Ok((row.try_get("public_id")?, row.try_get("school_id")?))
}

/// A student's public id, by internal id.
pub async fn public_id_of<'c>(e: impl Executor<'c, Database = Any>, id: i64) -> Result<String, sqlx::Error> {
    sqlx::query_scalar("SELECT public_id FROM students WHERE id = $1").bind(id).fetch_one(e).await
}

/// A student's 学籍号 as stored, by internal id.
pub async fn student_no_of<'c>(e: impl Executor<'c, Database = Any>, id: i64) -> Result<String, sqlx::Error> {
    sqlx::query_scalar("SELECT student_no FROM students WHERE id = $1").bind(id).fetch_one(e).await
}

/// The public id of the student with this 学籍号 (as stored) and name, if any.
pub async fn public_id_by_no_and_name<'c>(
    e: impl Executor<'c, Database = Any>,
    student_no: &str,
    name: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT public_id FROM students WHERE student_no = $1 AND name = $2")
        .bind(student_no)
        .bind(name)
        .fetch_optional(e)
        .await
}

/// A student as a case shows them, with the name of a school of the case.
#[derive(Debug, Clone)]
pub struct CaseStudent {
    /// Opaque id used in URLs.
    pub public_id: String,
    /// 姓名.
    pub name: String,
    /// 学籍号.
    pub student_no: String,
    /// Grade.
    pub grade: i64,
    /// The named school's name.
    pub school: String,
}

/// The student `id` with the name of the school `school_id` (which need not be theirs now).
pub async fn case_student<'c>(
    e: impl Executor<'c, Database = Any>,
    id: i64,
    school_id: i64,
) -> Result<CaseStudent, sqlx::Error> {
    let row = sqlx::query(
        "SELECT s.public_id, s.name, s.student_no, s.grade, sc.name AS school FROM students s
         JOIN schools sc ON sc.id = $2 WHERE s.id = $1",
    )
    .bind(id)
    .bind(school_id)
    .fetch_one(e)
    .await?;
    Ok(CaseStudent {
        public_id: row.try_get("public_id")?,
        name: row.try_get("name")?,
        student_no: row.try_get("student_no")?,
        grade: row.try_get("grade")?,
        school: row.try_get("school")?,
    })
}

/// Moves a student to another school's class (a completed transfer).
pub async fn move_to_school<'c>(
    e: impl Executor<'c, Database = Any>,
    id: i64,
    school_id: i64,
    class_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE students SET school_id = $1, class_id = $2 WHERE id = $3")
        .bind(school_id)
        .bind(class_id)
        .bind(id)
        .execute(e)
        .await?;
    Ok(())
}

/// Puts a student in a class of a grade of their school (a resumption).
pub async fn set_grade_and_class<'c>(
    e: impl Executor<'c, Database = Any>,
    id: i64,
    grade: i64,
    class_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE students SET grade = $1, class_id = $2 WHERE id = $3")
        .bind(grade)
        .bind(class_id)
        .bind(id)
        .execute(e)
        .await?;
    Ok(())
}

/// The text columns of basic information a change of basic information may set.
pub const BASIC_COLUMNS: [&str; 11] = [
    "name",
    "former_name",
    "pinyin",
    "gender",
    "birth_date",
    "birthplace",
    "ethnicity",
    "nationality",
    "household_address",
    "household_type",
    "current_address",
];

/// Sets one column of [`BASIC_COLUMNS`] (any other is refused, never written).
pub async fn set_basic<'c>(
    e: impl Executor<'c, Database = Any>,
    id: i64,
    column: &str,
    value: &str,
) -> Result<(), sqlx::Error> {
    // The column is named in the statement, so only a known one gets there.
    let Some(column) = BASIC_COLUMNS.iter().find(|c| **c == column) else {
        return Err(sqlx::Error::ColumnNotFound(column.to_owned()));
    };
    sqlx::query(&format!("UPDATE students SET {column} = $1 WHERE id = $2")).bind(value).bind(id).execute(e).await?;
    Ok(())
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

/// A student's photo, if one was given; [`sqlx::Error::RowNotFound`] if
/// there is no such student.
pub async fn photo_of<'c>(
    e: impl Executor<'c, Database = Any>,
    student_id: i64,
) -> Result<Option<Vec<u8>>, sqlx::Error> {
    sqlx::query_scalar("SELECT photo FROM students WHERE id = $1").bind(student_id).fetch_one(e).await
}

/// Stores a student's (normalised) photo.
pub async fn set_photo<'c>(
    e: impl Executor<'c, Database = Any>,
    student_id: i64,
    photo: &[u8],
    now: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE students SET photo = $1, updated_at = $2 WHERE id = $3")
        .bind(photo)
        .bind(now)
        .bind(student_id)
        .execute(e)
        .await?;
    Ok(())
}

/// Records the resident ID number a student received, with the student
/// number it gives (the ID type becomes 居民身份证).
pub async fn set_resident_id<'c>(
    e: impl Executor<'c, Database = Any>,
    student_id: i64,
    student_no: &StudentNo,
    id_number: &IdNumber,
    now: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE students SET student_no = $1, id_number = $2, id_type = '居民身份证', updated_at = $3 WHERE id = $4",
    )
    .bind(student_no.as_str())
    .bind(id_number.as_str())
    .bind(now)
    .bind(student_id)
    .execute(e)
    .await?;
    Ok(())
}

/// A student on a school's roll, with the columns of the roster template.
#[derive(Debug, Clone)]
pub struct RollEntry {
    /// Internal id.
    pub id: i64,
    /// 姓名.
    pub name: String,
    /// 曾用名.
    pub former_name: String,
    /// 姓名拼音.
    pub pinyin: String,
    /// 性别 (stored code).
    pub gender: String,
    /// 出生日期.
    pub birth_date: String,
    /// 出生地.
    pub birthplace: String,
    /// 民族.
    pub ethnicity: String,
    /// 国籍/地区.
    pub nationality: String,
    /// 身份证件类型.
    pub id_type: String,
    /// 身份证件号.
    pub id_number: Option<String>,
    /// 户口所在地.
    pub household_address: String,
    /// 户口性质.
    pub household_type: String,
    /// 现住址.
    pub current_address: String,
    /// Grade.
    pub grade: i64,
    /// Class number.
    pub class_number: Option<i64>,
    /// 入学日期.
    pub entry_date: String,
    /// 入学方式.
    pub entry_mode: String,
    /// 住校.
    pub boarding: bool,
    /// 留守儿童.
    pub left_behind: bool,
    /// 进城务工人员随迁子女.
    pub migrant_child: bool,
    /// 随班就读.
    pub special_needs: bool,
    /// 残疾类型.
    pub disability_type: String,
    /// 学籍号.
    pub student_no: String,
}

/// A school's students who are on its roll (在籍, 转出中, 疑似辍学, 休学), by grade, class and id.
pub async fn roll_of_school<'c>(
    e: impl Executor<'c, Database = Any>,
    school_id: i64,
) -> Result<Vec<RollEntry>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT s.id, s.name, s.former_name, s.pinyin, s.gender, s.birth_date, s.birthplace, s.ethnicity, s.nationality,
                s.id_type, s.id_number, s.household_address, s.household_type, s.current_address, s.grade, c.number AS class_number,
                s.entry_date, s.entry_mode, s.boarding, s.left_behind, s.migrant_child, s.special_needs, s.disability_type,
                s.student_no
         FROM students s LEFT JOIN classes c ON c.id = s.class_id
         WHERE s.school_id = $1 AND s.status IN ('active', 'transfer_pending', 'suspected_dropout', 'suspended')
         ORDER BY s.grade, c.number, s.id",
    )
    .bind(school_id)
    .fetch_all(e)
    .await?;
    rows.iter()
        .map(|s| {
            let flag = |c: &str| s.try_get::<i64, _>(c).map(|v| v != 0);
            Ok(RollEntry {
                id: s.try_get("id")?,
                name: s.try_get("name")?,
                former_name: s.try_get("former_name")?,
                pinyin: s.try_get("pinyin")?,
                gender: s.try_get("gender")?,
                birth_date: s.try_get("birth_date")?,
                birthplace: s.try_get("birthplace")?,
                ethnicity: s.try_get("ethnicity")?,
                nationality: s.try_get("nationality")?,
                id_type: s.try_get("id_type")?,
                id_number: s.try_get("id_number")?,
                household_address: s.try_get("household_address")?,
                household_type: s.try_get("household_type")?,
                current_address: s.try_get("current_address")?,
                grade: s.try_get("grade")?,
                class_number: s.try_get("class_number")?,
                entry_date: s.try_get("entry_date")?,
                entry_mode: s.try_get("entry_mode")?,
                boarding: flag("boarding")?,
                left_behind: flag("left_behind")?,
                migrant_child: flag("migrant_child")?,
                special_needs: flag("special_needs")?,
                disability_type: s.try_get("disability_type")?,
                student_no: s.try_get("student_no")?,
            })
        })
        .collect()
}

/// A guardian of one of a school's students, as the roster shows them.
#[derive(Debug, Clone)]
pub struct SchoolGuardian {
    /// The student's internal id.
    pub student_id: i64,
    /// Name.
    pub name: String,
    /// Relation to the student.
    pub relation: String,
    /// Phone.
    pub phone: String,
}

/// The guardians of every student of a school (on its roll or not), by
/// student and position (main one first).
pub async fn guardians_of_school<'c>(
    e: impl Executor<'c, Database = Any>,
    school_id: i64,
) -> Result<Vec<SchoolGuardian>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT g.student_id, g.name, g.relation, g.phone FROM guardians g JOIN students s ON s.id = g.student_id
         WHERE s.school_id = $1 ORDER BY g.student_id, g.position",
    )
    .bind(school_id)
    .fetch_all(e)
    .await?;
    rows.iter()
        .map(|g| {
            Ok(SchoolGuardian {
                student_id: g.try_get("student_id")?,
                name: g.try_get("name")?,
                relation: g.try_get("relation")?,
                phone: g.try_get("phone")?,
            })
        })
        .collect()
}

/// The students on a class's roll now (在籍, 转出中, 疑似辍学).
pub async fn enrolled_in_class<'c>(e: impl Executor<'c, Database = Any>, class_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM students WHERE class_id = $1 AND status IN ('active', 'transfer_pending', 'suspected_dropout')",
    )
    .bind(class_id)
    .fetch_one(e)
    .await
}

/// The highest student number that starts with `prefix` (compared as text), if any.
pub async fn highest_student_no_with_prefix<'c>(
    e: impl Executor<'c, Database = Any>,
    prefix: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT MAX(student_no) FROM students WHERE student_no LIKE $1")
        .bind(format!("{prefix}%"))
        .fetch_one(e)
        .await
}
