//! What the cases (transfer, resumption, change of basic information) read
//! and write of a student, and the photo and resident ID a student receives.

use super::*;
use sqlx::{Any, Executor, Row};

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
    if *column == "name" {
        // The initials the search finds a name by change with it.
        sqlx::query("UPDATE students SET name = $1, name_initials = $2 WHERE id = $3")
            .bind(value)
            .bind(crate::domain::name_initials(value))
            .bind(id)
            .execute(e)
            .await?;
        return Ok(());
    }
    sqlx::query(&format!("UPDATE students SET {column} = $1 WHERE id = $2")).bind(value).bind(id).execute(e).await?;
    Ok(())
}

/// Computes the name initials of every record that has none yet (rows
/// written before the column, or by an older binary); returns how many.
pub async fn fill_name_initials(pool: &sqlx::AnyPool) -> Result<u64, sqlx::Error> {
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, name FROM students WHERE name_initials IS NULL").fetch_all(pool).await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut tx = pool.begin().await?;
    for (id, name) in &rows {
        sqlx::query("UPDATE students SET name_initials = $1 WHERE id = $2 AND name_initials IS NULL")
            .bind(crate::domain::name_initials(name))
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(rows.len() as u64)
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
