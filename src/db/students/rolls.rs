//! A school's roll as exported: students with their class, their guardians,
//! a class's head count and the numbers already given.

use sqlx::{Any, Executor, Row};

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
