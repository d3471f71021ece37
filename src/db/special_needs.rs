//! The pupils with special needs (Art. 12): those in regular classes
//! (随班就读) and those the special school teaches at home (送教上门).

use crate::domain::national::{self, Table};
use crate::domain::{Gender, Grade};
use sqlx::{Any, Executor, Row};

/// One pupil of the list.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SpecialNeedsPupil {
    /// Public id (a link for those who may open the record).
    pub public_id: String,
    /// The school's id (for the link's right).
    #[serde(skip)]
    pub school_id: i64,
    /// 姓名.
    pub name: String,
    /// 性别.
    pub gender: &'static str,
    /// 年级.
    pub grade: &'static str,
    /// 班号.
    pub class_number: Option<i64>,
    /// The school.
    pub school_name: String,
    /// 随班就读 (label), empty when not in a regular class.
    pub inclusive: &'static str,
    /// 残疾类型 (label), empty when unknown.
    pub disability: &'static str,
    /// 就读方式 (label), empty when unknown.
    pub study_mode: &'static str,
}

fn label(table: &'static Table, code: Option<String>) -> &'static str {
    code.and_then(|c| table.by_code(&c)).map_or("", |c| c.label())
}

/// The approved records (在籍, 休学 …) in a regular class with a disability
/// (随班就读 other than 0) or taught at home (就读方式 3), of the given
/// schools (all: `None`), by school, grade and class.
pub async fn list<'c>(
    e: impl Executor<'c, Database = Any>,
    schools: Option<&[i64]>,
) -> Result<Vec<SpecialNeedsPupil>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT s.public_id, s.school_id, s.name, s.gender, s.grade, c.number AS class_number, sc.name AS school_name,
                s.inclusive, s.disability, s.study_mode
         FROM students s JOIN schools sc ON sc.id = s.school_id LEFT JOIN classes c ON c.id = s.class_id
         WHERE s.status IN ('active', 'transfer_pending', 'suspended', 'suspected_dropout')
           AND ((s.inclusive IS NOT NULL AND s.inclusive <> '0') OR s.study_mode = '3')
         ORDER BY sc.code, s.grade, c.number, s.name",
    )
    .fetch_all(e)
    .await?;
    let mut out = Vec::new();
    for r in rows {
        let school_id: i64 = r.try_get("school_id")?;
        if schools.is_some_and(|ids| !ids.contains(&school_id)) {
            continue;
        }
        let gender: String = r.try_get("gender")?;
        let grade: i64 = r.try_get("grade")?;
        out.push(SpecialNeedsPupil {
            public_id: r.try_get("public_id")?,
            school_id,
            name: r.try_get("name")?,
            gender: Gender::parse(&gender).map_or("", Gender::label),
            grade: u8::try_from(grade).ok().and_then(|g| Grade::new(g).ok()).map_or("", Grade::label),
            class_number: r.try_get("class_number")?,
            school_name: r.try_get("school_name")?,
            inclusive: label(&national::INCLUSIVE, r.try_get("inclusive")?),
            disability: label(&national::DISABILITY, r.try_get("disability")?),
            study_mode: label(&national::STUDY_MODE, r.try_get("study_mode")?),
        });
    }
    Ok(out)
}
