//! Schools and their classes.

use crate::domain::{ClassCap, DomainError, Grade, SchoolKind};
use sqlx::{Any, Executor, Row};

/// A school.
#[derive(Debug, Clone, serde::Serialize)]
pub struct School {
    /// Internal id.
    pub id: i64,
    /// 学校标识码.
    pub code: String,
    /// Name.
    pub name: String,
    /// Primary, junior or special.
    pub kind: SchoolKind,
    /// In the county town (县城) rather than a township.
    pub county_town: bool,
    /// The central school that holds this township school's files.
    pub central_school_id: Option<i64>,
    /// 学区 or township.
    pub district: String,
    /// Address.
    pub address: String,
    /// 校长, as printed on the certificates (empty while not recorded).
    pub principal: String,
    /// 学籍管理员, as printed on the forms they sign (empty while not recorded).
    pub registrar: String,
    /// On the bureau's list of schools for migrant workers' children (Art. 18).
    pub migrant_children: bool,
}

/// A school to create.
#[derive(Debug, Clone)]
pub struct NewSchool<'a> {
    /// 学校标识码.
    pub code: &'a str,
    /// Name.
    pub name: &'a str,
    /// Kind.
    pub kind: SchoolKind,
    /// In the county town.
    pub county_town: bool,
    /// The central school holding the files.
    pub central_school_id: Option<i64>,
    /// District or township.
    pub district: &'a str,
    /// Address.
    pub address: &'a str,
}

const SCHOOL_COLUMNS: &str =
    "id, code, name, kind, county_town, central_school_id, district, address, principal, registrar, migrant_children";

fn school_from_row(row: &sqlx::any::AnyRow) -> Result<School, sqlx::Error> {
    let kind: String = row.try_get("kind")?;
    Ok(School {
        id: row.try_get("id")?,
        code: row.try_get("code")?,
        name: row.try_get("name")?,
        kind: SchoolKind::parse(&kind).map_err(|e| sqlx::Error::Decode(e.into()))?,
        county_town: row.try_get::<i64, _>("county_town")? != 0,
        central_school_id: row.try_get("central_school_id")?,
        district: row.try_get("district")?,
        address: row.try_get("address")?,
        principal: row.try_get("principal")?,
        registrar: row.try_get("registrar")?,
        migrant_children: row.try_get::<i64, _>("migrant_children")? != 0,
    })
}

/// Creates a school and returns its id.
pub async fn insert<'c>(e: impl Executor<'c, Database = Any>, s: &NewSchool<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO schools (code, name, kind, county_town, central_school_id, district, address)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(s.code)
    .bind(s.name)
    .bind(s.kind.code())
    .bind(super::flag(s.county_town))
    .bind(s.central_school_id)
    .bind(s.district)
    .bind(s.address)
    .fetch_one(e)
    .await
}

/// The school with this 学校标识码.
pub async fn by_code<'c>(e: impl Executor<'c, Database = Any>, code: &str) -> Result<Option<School>, sqlx::Error> {
    let row = sqlx::query(&format!("SELECT {SCHOOL_COLUMNS} FROM schools WHERE code = $1"))
        .bind(code)
        .fetch_optional(e)
        .await?;
    row.as_ref().map(school_from_row).transpose()
}

/// The school with this id.
pub async fn by_id<'c>(e: impl Executor<'c, Database = Any>, id: i64) -> Result<Option<School>, sqlx::Error> {
    let row =
        sqlx::query(&format!("SELECT {SCHOOL_COLUMNS} FROM schools WHERE id = $1")).bind(id).fetch_optional(e).await?;
    row.as_ref().map(school_from_row).transpose()
}

/// Records the school's principal (校长) and registrar (学籍管理员) as the
/// forms print them; returns the rows changed (0: no such school).
pub async fn set_officers<'c>(
    e: impl Executor<'c, Database = Any>,
    school_id: i64,
    principal: &str,
    registrar: &str,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("UPDATE schools SET principal = $1, registrar = $2 WHERE id = $3")
        .bind(principal)
        .bind(registrar)
        .bind(school_id)
        .execute(e)
        .await?
        .rows_affected())
}

/// The name of the school with this 学校标识码, if any.
pub async fn name_by_code<'c>(e: impl Executor<'c, Database = Any>, code: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT name FROM schools WHERE code = $1").bind(code).fetch_optional(e).await
}

/// Every school, by code.
pub async fn list<'c>(e: impl Executor<'c, Database = Any>) -> Result<Vec<School>, sqlx::Error> {
    let rows = sqlx::query(&format!("SELECT {SCHOOL_COLUMNS} FROM schools ORDER BY code")).fetch_all(e).await?;
    rows.iter().map(school_from_row).collect()
}

/// The ids of the schools whose files this school holds: itself and, for a
/// central school, the township schools attached to it.
pub async fn held_by<'c>(e: impl Executor<'c, Database = Any>, school_id: i64) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM schools WHERE id = $1 OR central_school_id = $1 ORDER BY id")
        .bind(school_id)
        .fetch_all(e)
        .await
}

/// A class.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Class {
    /// Internal id.
    pub id: i64,
    /// The school.
    pub school_id: i64,
    /// Grade 1-9.
    pub grade: i64,
    /// Class number within the grade.
    pub number: i64,
    /// 班主任.
    pub head_teacher: String,
    /// Size cap.
    pub cap: i64,
    /// Students on its roll now.
    pub enrolled: i64,
}

impl Class {
    /// The Chinese name, e.g. `三年级2班`.
    pub fn name(&self) -> String {
        class_name(self.grade, self.number)
    }
}

/// The Chinese name of a grade, e.g. `三年级` (`10年级` for a number outside 1-9).
pub fn grade_name(grade: i64) -> String {
    u8::try_from(grade)
        .ok()
        .and_then(|g| Grade::new(g).ok())
        .map_or_else(|| format!("{grade}年级"), |g| g.label().to_owned())
}

/// The Chinese name of a class, e.g. `三年级2班`.
pub fn class_name(grade: i64, number: i64) -> String {
    format!("{}{number}班", grade_name(grade))
}

/// Creates a class after checking the grade fits the school and the cap the regulation.
pub async fn insert_class<'c>(
    e: impl Executor<'c, Database = Any>,
    school: &School,
    grade: Grade,
    number: u8,
    head_teacher: &str,
    cap: Option<u16>,
) -> Result<i64, anyhow::Error> {
    grade.check_school(school.kind)?;
    let cap = ClassCap::new(school.kind, cap)?;
    if number == 0 {
        return Err(DomainError::new("class.number", "班级", "0", "班号须从1开始").into());
    }
    Ok(sqlx::query_scalar(
        "INSERT INTO classes (school_id, grade, number, head_teacher, cap) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(school.id)
    .bind(i64::from(grade.number()))
    .bind(i64::from(number))
    .bind(head_teacher)
    .bind(i64::from(cap.get()))
    .fetch_one(e)
    .await?)
}

const CLASS_SELECT: &str = concat!(
    "SELECT c.id, c.school_id, c.grade, c.number, c.head_teacher, c.cap,
    (SELECT COUNT(*) FROM students s WHERE s.class_id = c.id AND s.status IN ",
    seated_statuses!(),
    ") AS enrolled FROM classes c"
);

fn class_from_row(row: &sqlx::any::AnyRow) -> Result<Class, sqlx::Error> {
    Ok(Class {
        id: row.try_get("id")?,
        school_id: row.try_get("school_id")?,
        grade: row.try_get("grade")?,
        number: row.try_get("number")?,
        head_teacher: row.try_get("head_teacher")?,
        cap: row.try_get("cap")?,
        enrolled: row.try_get("enrolled")?,
    })
}

/// A school's classes, by grade and number, with their current rolls.
pub async fn classes_of<'c>(e: impl Executor<'c, Database = Any>, school_id: i64) -> Result<Vec<Class>, sqlx::Error> {
    let rows = sqlx::query(&format!("{CLASS_SELECT} WHERE c.school_id = $1 ORDER BY c.grade, c.number"))
        .bind(school_id)
        .fetch_all(e)
        .await?;
    rows.iter().map(class_from_row).collect()
}

/// One class by school, grade and number.
pub async fn class_by<'c>(
    e: impl Executor<'c, Database = Any>,
    school_id: i64,
    grade: i64,
    number: i64,
) -> Result<Option<Class>, sqlx::Error> {
    let row = sqlx::query(&format!("{CLASS_SELECT} WHERE c.school_id = $1 AND c.grade = $2 AND c.number = $3"))
        .bind(school_id)
        .bind(grade)
        .bind(number)
        .fetch_optional(e)
        .await?;
    row.as_ref().map(class_from_row).transpose()
}

/// A class's grade, number and size cap, as stored.
#[derive(Debug, Clone, Copy)]
pub struct ClassCapacity {
    /// Grade 1-9.
    pub grade: i64,
    /// Class number within the grade.
    pub number: i64,
    /// Size cap.
    pub cap: i64,
}

/// The grade, number and cap of the class with this id (an error if there is none).
pub async fn capacity_of_class<'c>(
    e: impl Executor<'c, Database = Any>,
    class_id: i64,
) -> Result<ClassCapacity, sqlx::Error> {
    let (grade, number, cap) =
        sqlx::query_as::<_, (i64, i64, i64)>("SELECT c.grade, c.number, c.cap FROM classes c WHERE c.id = $1")
            .bind(class_id)
            .fetch_one(e)
            .await?;
    Ok(ClassCapacity { grade, number, cap })
}

/// Takes the write lock on a class row for the rest of the transaction
/// (SQLite: the database's write lock; PostgreSQL: the row lock), so that two
/// imports cannot both fill its last seats.
pub async fn lock_class<'c>(e: impl Executor<'c, Database = Any>, class_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE classes SET cap = cap WHERE id = $1").bind(class_id).execute(e).await?;
    Ok(())
}

/// Number of schools.
pub async fn count<'c>(e: impl Executor<'c, Database = Any>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM schools").fetch_one(e).await
}

/// A class's size cap.
pub async fn class_cap<'c>(e: impl Executor<'c, Database = Any>, class_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT cap FROM classes WHERE id = $1").bind(class_id).fetch_one(e).await
}

/// A class's number, by id.
pub async fn class_number<'c>(e: impl Executor<'c, Database = Any>, class_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT number FROM classes WHERE id = $1").bind(class_id).fetch_one(e).await
}

/// Records a class's head teacher (班主任); returns the rows changed (0: no such class).
pub async fn set_head_teacher<'c>(
    e: impl Executor<'c, Database = Any>,
    class_id: i64,
    head_teacher: &str,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("UPDATE classes SET head_teacher = $1 WHERE id = $2")
        .bind(head_teacher)
        .bind(class_id)
        .execute(e)
        .await?
        .rows_affected())
}

/// The head teacher (班主任) of a class as recorded (may be empty); `None`
/// if there is no such class.
pub async fn head_teacher_of<'c>(
    e: impl Executor<'c, Database = Any>,
    class_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT head_teacher FROM classes WHERE id = $1").bind(class_id).fetch_optional(e).await
}
