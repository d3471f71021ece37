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
