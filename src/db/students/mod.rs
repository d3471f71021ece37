//! Students, their guardians and their append-only history of status events.

use crate::domain::{Gender, Grade, IdNumber, StudentNo, StudentStatus};
use chrono::NaiveDate;
use sqlx::{Any, Executor, Row};

mod bulk;
mod changes;
mod items;
mod lookup;
mod rolls;

/// The staff search.
pub mod search;
pub use bulk::insert_all;
pub use changes::*;
pub use items::NationalItems;
pub use lookup::*;
pub use rolls::*;

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
    /// 关系说明.
    #[serde(default)]
    pub relation_note: String,
    /// 现住址.
    #[serde(default)]
    pub current_address: String,
    /// 户口所在地.
    #[serde(default)]
    pub household_address: String,
    /// 是否监护人: yes, no, or unknown.
    #[serde(default)]
    pub is_guardian: Option<bool>,
    /// 身份证件类型.
    #[serde(default)]
    pub id_type: String,
    /// 身份证件号.
    #[serde(default)]
    pub id_number: String,
    /// 民族.
    #[serde(default)]
    pub ethnicity: String,
    /// 职务.
    #[serde(default)]
    pub job_title: String,
}

impl Guardian {
    /// A family member known by name, relation and phone only.
    pub fn new(name: String, relation: String, phone: String) -> Self {
        Self {
            name,
            relation,
            phone,
            workplace: String::new(),
            relation_note: String::new(),
            current_address: String::new(),
            household_address: String::new(),
            is_guardian: None,
            id_type: String::new(),
            id_number: String::new(),
            ethnicity: String::new(),
            job_title: String::new(),
        }
    }
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
    /// The other national items.
    pub national: NationalItems,
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
    pub grade: Grade,
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
    pub birth_date: NaiveDate,
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
    /// The other national items.
    #[serde(flatten)]
    pub national: NationalItems,
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
        self.class_number.map(|n| super::schools::class_name(i64::from(self.grade), n))
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

pub(super) const GUARDIAN_COLUMNS: &str = "name, relation, phone, workplace, relation_note, current_address,
    household_address, is_guardian, id_type, id_number, ethnicity, job_title";

/// Writes one family member at a position of a student's list.
pub async fn insert_guardian(
    conn: &mut sqlx::AnyConnection,
    student_id: i64,
    pos: usize,
    g: &Guardian,
) -> Result<(), sqlx::Error> {
    let sql = format!(
        "INSERT INTO guardians (student_id, position, {GUARDIAN_COLUMNS})
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    );
    let q = sqlx::query(&sql);
    bind_guardian(q, student_id, pos, g).execute(&mut *conn).await?;
    Ok(())
}

type AnyQuery<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>;

/// Binds one family member's row: student, position, then [`GUARDIAN_COLUMNS`].
pub(super) fn bind_guardian<'q>(q: AnyQuery<'q>, student_id: i64, pos: usize, g: &'q Guardian) -> AnyQuery<'q> {
    q.bind(student_id)
        .bind(pos as i64)
        .bind(&g.name)
        .bind(&g.relation)
        .bind(&g.phone)
        .bind(&g.workplace)
        .bind(&g.relation_note)
        .bind(&g.current_address)
        .bind(&g.household_address)
        .bind(g.is_guardian.map(i64::from))
        .bind(&g.id_type)
        .bind(&g.id_number)
        .bind(&g.ethnicity)
        .bind(&g.job_title)
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
    on: NaiveDate,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO student_events (student_id, kind, from_status, to_status, detail, proofs, actor_id, at, on_date)
         VALUES ($1, $2, $3, $4, $5, '[]', $6, $7, $8)",
    )
    .bind(student_id)
    .bind(kind)
    .bind(from.map(|s| s.code()))
    .bind(to.map(|s| s.code()))
    .bind(detail.to_string())
    .bind(actor_id)
    .bind(now)
    .bind(on.to_string())
    .execute(e)
    .await?;
    Ok(())
}

pub(super) static STUDENT_SELECT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT s.id, s.public_id, s.student_no, s.school_id, sc.code AS school_code,
    sc.name AS school_name, s.class_id, c.number AS class_number, s.grade, s.status, s.name, s.former_name,
    s.pinyin, s.gender, s.birth_date, s.birthplace, s.ethnicity, s.nationality, s.id_type, s.id_number,
    s.household_address, s.household_type, s.current_address, s.entry_date, s.entry_mode, {},
    CASE WHEN s.photo IS NULL THEN 0 ELSE 1 END AS has_photo, s.registered_on, s.created_at
    FROM students s JOIN schools sc ON sc.id = s.school_id LEFT JOIN classes c ON c.id = s.class_id",
        items::select_columns()
    )
});

/// A stored grade as a [`Grade`] (a column outside 1 to 9 is a decode error).
pub(crate) fn grade_of(n: i64) -> Result<Grade, sqlx::Error> {
    Grade::new(u8::try_from(n).unwrap_or(0)).map_err(decode_err)
}

/// A stored `YYYY-MM-DD` date (anything else is a decode error).
pub(crate) fn date_of(text: &str) -> Result<NaiveDate, sqlx::Error> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

fn decode_err(e: crate::domain::DomainError) -> sqlx::Error {
    sqlx::Error::Decode(e.into())
}

pub(super) fn student_from_row(r: &sqlx::any::AnyRow) -> Result<Student, sqlx::Error> {
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
        grade: grade_of(r.try_get("grade")?)?,
        status: StudentStatus::parse(&r.try_get::<String, _>("status")?).map_err(decode_err)?,
        name: r.try_get("name")?,
        former_name: r.try_get("former_name")?,
        pinyin: r.try_get("pinyin")?,
        gender: Gender::parse(&r.try_get::<String, _>("gender")?).map_err(decode_err)?,
        birth_date: date_of(&r.try_get::<String, _>("birth_date")?)?,
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
        national: items::from_row(r)?,
        has_photo: flag("has_photo")?,
        registered_on: r.try_get("registered_on")?,
        created_at: r.try_get("created_at")?,
        guardians: Vec::new(),
    })
}

/// One student's full record, with guardians.
pub async fn by_public_id(conn: &mut sqlx::AnyConnection, public_id: &str) -> Result<Option<Student>, sqlx::Error> {
    let row = sqlx::query(&format!("{} WHERE s.public_id = $1", *STUDENT_SELECT))
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
    let row = sqlx::query(&format!("{} WHERE s.id = $1", *STUDENT_SELECT)).bind(id).fetch_optional(&mut *conn).await?;
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
        sqlx::query(&format!("SELECT {GUARDIAN_COLUMNS} FROM guardians WHERE student_id = $1 ORDER BY position"))
            .bind(student_id)
            .fetch_all(e)
            .await?;
    rows.iter().map(guardian_from_row).collect()
}

pub(super) fn guardian_from_row(r: &sqlx::any::AnyRow) -> Result<Guardian, sqlx::Error> {
    Ok(Guardian {
        name: r.try_get("name")?,
        relation: r.try_get("relation")?,
        phone: r.try_get("phone")?,
        workplace: r.try_get("workplace")?,
        relation_note: r.try_get("relation_note")?,
        current_address: r.try_get("current_address")?,
        household_address: r.try_get("household_address")?,
        is_guardian: r.try_get::<Option<i64>, _>("is_guardian")?.map(|v| v != 0),
        id_type: r.try_get("id_type")?,
        id_number: r.try_get("id_number")?,
        ethnicity: r.try_get("ethnicity")?,
        job_title: r.try_get("job_title")?,
    })
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

/// The read-only record of a graduate from before this system (status
/// `historical`), as the bureau types it from the school's ledger: only
/// what the ledger and the ID number say; every other item unknown.
#[derive(Debug, Clone)]
pub struct NewHistoricalStudent<'a> {
    /// 学籍号 (`G` + the ID number).
    pub student_no: &'a str,
    /// The school graduated from.
    pub school_id: i64,
    /// The last grade of the stage.
    pub grade: Grade,
    /// 姓名.
    pub name: &'a str,
    /// 性别.
    pub gender: Gender,
    /// 出生日期.
    pub birth_date: NaiveDate,
    /// 身份证件号 (a resident ID).
    pub id_number: &'a str,
    /// The day the stage began.
    pub entry_date: NaiveDate,
    /// The day the bureau recorded it (its 报到日期 here).
    pub recorded_on: NaiveDate,
}

/// Inserts a historical record; returns its internal id and public id.
pub async fn insert_historical(
    conn: &mut sqlx::AnyConnection,
    s: &NewHistoricalStudent<'_>,
    now: &str,
) -> Result<(i64, String), sqlx::Error> {
    let public_id = new_public_id();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO students (public_id, student_no, school_id, class_id, grade, status, name, gender, birth_date,
            ethnicity, id_type, id_number, entry_date, registered_on, created_at, updated_at, name_initials)
         VALUES ($1, $2, $3, NULL, $4, $5, $6, $7, $8, '', '居民身份证', $9, $10, $11, $12, $12, $13)
         RETURNING id",
    )
    .bind(&public_id)
    .bind(s.student_no)
    .bind(s.school_id)
    .bind(i64::from(s.grade.number()))
    .bind(StudentStatus::Historical.code())
    .bind(s.name)
    .bind(s.gender.code())
    .bind(s.birth_date.to_string())
    .bind(s.id_number)
    .bind(s.entry_date.to_string())
    .bind(s.recorded_on.to_string())
    .bind(now)
    .bind(crate::domain::name_initials(s.name))
    .fetch_one(&mut *conn)
    .await?;
    Ok((id, public_id))
}
