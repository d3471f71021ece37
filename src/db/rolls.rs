//! Class rolls: who is seated in a class, placing a student in a grade and
//! class, the student a junior school names for its intake, the students a
//! batch prints for, and clearing every student (the bench's reset).

use sqlx::{Any, Executor};

/// The students seated in a class now: active, awaiting a transfer, or suspected dropouts.
pub async fn seated_in_class<'c>(e: impl Executor<'c, Database = Any>, class_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM students WHERE class_id = $1 AND status IN ('active', 'transfer_pending', 'suspected_dropout')",
    )
    .bind(class_id)
    .fetch_one(e)
    .await
}

/// Puts the student in `grade` and class `class_id` (of the same school).
pub async fn set_grade_and_class<'c>(
    e: impl Executor<'c, Database = Any>,
    student_id: i64,
    grade: i64,
    class_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE students SET grade = $1, class_id = $2 WHERE id = $3")
        .bind(grade)
        .bind(class_id)
        .bind(student_id)
        .execute(e)
        .await?;
    Ok(())
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
