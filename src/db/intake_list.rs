//! The primary intake list (学前调档名单, Art. 10): the children a school
//! expects for its autumn grade-1 intake, open until their record is
//! created, then taken up by it.

use crate::domain::Gender;
use chrono::NaiveDate;
use sqlx::{Any, Executor, Row};

/// A child to put on a school's intake list.
#[derive(Debug, Clone)]
pub struct NewEntry<'a> {
    /// The school.
    pub school_id: i64,
    /// The autumn intake the child is expected for.
    pub intake_year: i32,
    /// 姓名.
    pub name: &'a str,
    /// 性别.
    pub gender: Gender,
    /// 出生日期.
    pub birth_date: NaiveDate,
    /// 身份证件类型, the national code (`1` … `Z`).
    pub id_type: &'a str,
    /// 身份证件号 (`''` for a child without one).
    pub id_number: &'a str,
}

/// An open entry of an intake list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Internal id.
    pub id: i64,
    /// The autumn intake.
    pub intake_year: i64,
    /// 姓名.
    pub name: String,
    /// 性别.
    pub gender: Gender,
    /// 出生日期.
    pub birth_date: NaiveDate,
    /// 身份证件类型, the national code.
    pub id_type: String,
    /// 身份证件号.
    pub id_number: String,
}

/// An ID number already on an intake list.
#[derive(Debug, Clone)]
pub struct Listed {
    /// The ID number.
    pub id_number: String,
    /// The school whose list holds it.
    pub school_id: i64,
    /// For which intake.
    pub intake_year: i64,
}

/// Puts one child on a list.
pub async fn insert<'c>(
    e: impl Executor<'c, Database = Any>,
    entry: &NewEntry<'_>,
    created_by: Option<i64>,
    now: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO intake_list (school_id, intake_year, name, gender, birth_date, id_type, id_number, created_by,
            created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(entry.school_id)
    .bind(i64::from(entry.intake_year))
    .bind(entry.name)
    .bind(entry.gender.code())
    .bind(entry.birth_date.to_string())
    .bind(entry.id_type)
    .bind(entry.id_number)
    .bind(created_by)
    .bind(now)
    .execute(e)
    .await?;
    Ok(())
}

/// The entries, open or taken up, of any school that hold one of these ID numbers.
pub async fn listed(conn: &mut sqlx::AnyConnection, id_numbers: &[String]) -> Result<Vec<Listed>, sqlx::Error> {
    let mut out = Vec::new();
    for chunk in id_numbers.chunks(400) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT id_number, school_id, intake_year FROM intake_list WHERE id_number IN ({})",
            marks.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for v in chunk {
            q = q.bind(v.as_str());
        }
        for r in q.fetch_all(&mut *conn).await? {
            out.push(Listed {
                id_number: r.try_get("id_number")?,
                school_id: r.try_get("school_id")?,
                intake_year: r.try_get("intake_year")?,
            });
        }
    }
    Ok(out)
}

/// A school's open entries (no record yet), in the order they were listed.
pub async fn open_of_school<'c>(
    e: impl Executor<'c, Database = Any>,
    school_id: i64,
) -> Result<Vec<Entry>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, intake_year, name, gender, birth_date, id_type, id_number FROM intake_list
         WHERE school_id = $1 AND student_id IS NULL ORDER BY id",
    )
    .bind(school_id)
    .fetch_all(e)
    .await?;
    rows.iter()
        .map(|r| {
            let gender: String = r.try_get("gender")?;
            Ok(Entry {
                id: r.try_get("id")?,
                intake_year: r.try_get("intake_year")?,
                name: r.try_get("name")?,
                gender: Gender::parse(&gender).map_err(|e| sqlx::Error::Decode(e.into()))?,
                birth_date: super::students::date_of(&r.try_get::<String, _>("birth_date")?)?,
                id_type: r.try_get("id_type")?,
                id_number: r.try_get("id_number")?,
            })
        })
        .collect()
}

/// Marks the open entry with this ID number, if any, as taken up by the
/// student's record; how many entries it marked (0 or 1).
pub async fn take_up<'c>(
    e: impl Executor<'c, Database = Any>,
    id_number: &str,
    student_id: i64,
    now: &str,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE intake_list SET student_id = $1, taken_up_at = $2 WHERE id_number = $3 AND student_id IS NULL",
    )
    .bind(student_id)
    .bind(now)
    .bind(id_number)
    .execute(e)
    .await?;
    Ok(done.rows_affected())
}

/// [`take_up`] for every `(ID number, student)` of a roster just written:
/// one query per 500 ID numbers finds the open entries among them, and only
/// those are marked (a roster's pupils are rarely on the intake list, and a
/// statement per pupil was a round trip per row on PostgreSQL).
pub async fn take_up_all(
    conn: &mut sqlx::AnyConnection,
    written: &[(&str, i64)],
    now: &str,
) -> Result<u64, sqlx::Error> {
    let mut taken = 0;
    for chunk in written.chunks(500) {
        let list: Vec<String> = (1..=chunk.len()).map(|k| format!("${k}")).collect();
        let sql = format!(
            "SELECT id_number FROM intake_list WHERE student_id IS NULL AND id_number IN ({})",
            list.join(", ")
        );
        let mut q = sqlx::query_scalar::<_, String>(&sql);
        for (id_number, _) in chunk {
            q = q.bind(*id_number);
        }
        let open: std::collections::HashSet<String> = q.fetch_all(&mut *conn).await?.into_iter().collect();
        for (id_number, student_id) in chunk.iter().filter(|(n, _)| open.contains(*n)) {
            taken += take_up(&mut *conn, id_number, *student_id, now).await?;
        }
    }
    Ok(taken)
}

/// A school's entries: `(open, taken up)`.
pub async fn counts<'c>(e: impl Executor<'c, Database = Any>, school_id: i64) -> Result<(i64, i64), sqlx::Error> {
    let r = sqlx::query(
        "SELECT COALESCE(SUM(CASE WHEN student_id IS NULL THEN 1 ELSE 0 END), 0) AS open,
                COALESCE(SUM(CASE WHEN student_id IS NULL THEN 0 ELSE 1 END), 0) AS taken
         FROM intake_list WHERE school_id = $1",
    )
    .bind(school_id)
    .fetch_one(e)
    .await?;
    Ok((r.try_get("open")?, r.try_get("taken")?))
}
