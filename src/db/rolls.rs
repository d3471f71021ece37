//! Class rolls: who is seated in a class, placing a student in a grade and
//! class, the student a junior school names for its intake, the students a
//! batch prints for, and clearing every student (the bench's reset).

use sqlx::{Any, Executor};

/// The students seated in a class now: active, awaiting a transfer, suspected
/// dropouts, and new records awaiting approval (`seated_statuses!`).
pub async fn seated_in_class<'c>(e: impl Executor<'c, Database = Any>, class_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(concat!("SELECT COUNT(*) FROM students WHERE class_id = $1 AND status IN ", seated_statuses!()))
        .bind(class_id)
        .fetch_one(e)
        .await
}

/// Moves the student into grade 7, class `class_id` of the junior school `school_id`.
pub async fn enter_junior<'c>(
    e: impl Executor<'c, Database = Any>,
    student_id: i64,
    school_id: i64,
    class_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE students SET school_id = $1, class_id = $2, grade = 7 WHERE id = $3")
        .bind(school_id)
        .bind(class_id)
        .bind(student_id)
        .execute(e)
        .await?;
    Ok(())
}

/// The public id of the student with this 学籍号 and name, if any.
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

/// The school's students (internal ids), optionally of one grade and class
/// number, by grade, class and id.
pub async fn ids_in_school<'c>(
    e: impl Executor<'c, Database = Any>,
    school_id: i64,
    grade: Option<i64>,
    class_number: Option<i64>,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT s.id FROM students s LEFT JOIN classes c ON c.id = s.class_id
         WHERE s.school_id = $1 AND ($2 = 0 OR s.grade = $2) AND ($3 = 0 OR c.number = $3)
         ORDER BY s.grade, c.number, s.id",
    )
    .bind(school_id)
    .bind(grade.unwrap_or(0))
    .bind(class_number.unwrap_or(0))
    .fetch_all(e)
    .await
}

/// The school's students holding a valid numbered document of `kind` (a
/// document kind code), in the order of the numbers.
pub async fn ids_with_numbered<'c>(
    e: impl Executor<'c, Database = Any>,
    school_id: i64,
    kind: &str,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT s.id FROM students s JOIN documents d ON d.student_id = s.id
         WHERE s.school_id = $1 AND d.kind = $2 AND d.status = 'valid' AND d.number IS NOT NULL
         ORDER BY d.number",
    )
    .bind(school_id)
    .bind(kind)
    .fetch_all(e)
    .await
}

/// Removes every student with their guardians, events and problem records,
/// one statement at a time (the bench's reset between runs).
pub async fn delete_all<'c, E>(e: E) -> Result<(), sqlx::Error>
where
    E: Executor<'c, Database = Any> + Copy,
{
    sqlx::query("DELETE FROM problem_records").execute(e).await?;
    sqlx::query("DELETE FROM student_events").execute(e).await?;
    sqlx::query("DELETE FROM guardians").execute(e).await?;
    sqlx::query("DELETE FROM students").execute(e).await?;
    Ok(())
}
