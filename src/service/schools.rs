//! The people a school's papers name: its principal (校长, on the
//! certificates) and registrar (学籍管理员, the 经办人 of the forms), which
//! the bureau records, and each class's head teacher (班主任), which the
//! school's registrar or the bureau records. Each change is audited in the
//! transaction that writes it; a refusal is audited on its own.

use crate::db::Db;
use crate::db::schools::{self, Class, School};
use crate::domain::{Actor, DomainError, Grade};
use crate::error::{AppError, AppResult};
use crate::render::Coverage;
use crate::service::audit::{self, Audit};

/// The longest name kept for a principal, registrar or head teacher.
pub const MAX_NAME_CHARS: usize = 30;

/// The audit action of [`set_officers`].
const OFFICERS: &str = "school.officers";
/// The audit action of [`set_head_teacher`].
const HEAD_TEACHER: &str = "class.head_teacher";

/// A school's principal and registrar to record: `None` keeps what is
/// recorded, an empty name clears it (the forms then print an empty line).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Officers {
    /// 校长.
    #[serde(default)]
    pub principal: Option<String>,
    /// 学籍管理员.
    #[serde(default)]
    pub registrar: Option<String>,
}

/// A person's name as the forms print it: trimmed, at most
/// [`MAX_NAME_CHARS`] characters, no control characters, every character in
/// the bundled fonts.
fn checked_name(coverage: &Coverage, field: &'static str, value: &str) -> AppResult<String> {
    let v = value.trim();
    if v.chars().count() > MAX_NAME_CHARS {
        return Err(DomainError::new("field.too_long", field, v, &format!("过长（最多{MAX_NAME_CHARS}字）")).into());
    }
    if v.chars().any(char::is_control) {
        return Err(DomainError::new("field.invalid", field, "", "含有控制字符").into());
    }
    crate::workflow::printable(coverage, &[(field, v)])?;
    Ok(v.to_owned())
}

/// Records a school's principal and registrar (bureau staff, or the command
/// line): `school.officers`, with which of the two changed. Returns the
/// school as recorded now.
///
/// # Errors
///
/// A school's own registrar (403, audited as `denied`), an unknown school,
/// a name that is too long or cannot be printed, or a database failure.
pub async fn set_officers(
    db: &Db,
    coverage: &Coverage,
    actor: &Actor,
    code: &str,
    req: &Officers,
) -> AppResult<School> {
    if !actor.is_bureau() {
        audit::write(&db.pool, actor, OFFICERS, ("school", code), None, "denied", "role").await?;
        return Err(AppError::not_permitted("school.bureau_only", "学校的校长和学籍管理员由教育局登记"));
    }
    let mut audit = Audit::new(actor, OFFICERS, ("school", code));
    let result = async {
        let principal = req.principal.as_deref().map(|p| checked_name(coverage, "校长", p)).transpose()?;
        let registrar = req.registrar.as_deref().map(|r| checked_name(coverage, "学籍管理员", r)).transpose()?;
        let mut tx = db.pool.begin().await?;
        let school = schools::by_code(&mut *tx, code).await?.ok_or(AppError::NotFound)?;
        audit.school(school.id);
        let changed = |new: &Option<String>, old: &str| match new {
            None => "kept",
            Some(n) if n == old => "same",
            Some(n) if n.is_empty() => "cleared",
            Some(_) => "set",
        };
        audit.detail(format!(
            "principal={} registrar={}",
            changed(&principal, &school.principal),
            changed(&registrar, &school.registrar)
        ));
        let principal = principal.unwrap_or_else(|| school.principal.clone());
        let registrar = registrar.unwrap_or_else(|| school.registrar.clone());
        schools::set_officers(&mut *tx, school.id, &principal, &registrar).await?;
        audit.commit(tx).await?;
        Ok(School { principal, registrar, ..school })
    }
    .await;
    audit.close(db, result).await
}

/// Records the head teacher (班主任) of a school's class, by grade and class
/// number (the school's registrar, bureau staff, or the command line):
/// `class.head_teacher`. An empty name clears it. Returns the class.
///
/// # Errors
///
/// A school outside the actor's scope or an unknown school (404, audited as
/// `denied` / `refused`), no such class, a name that is too long or cannot
/// be printed, or a database failure.
pub async fn set_head_teacher(
    db: &Db,
    coverage: &Coverage,
    actor: &Actor,
    code: &str,
    grade: Grade,
    number: i64,
    name: &str,
) -> AppResult<Class> {
    let target = format!("{code}/{}/{number}", grade.number());
    let visible = schools::by_code(&db.pool, code).await?.filter(|s| actor.may_see(s.id));
    let Some(school) = visible else {
        audit::write(&db.pool, actor, HEAD_TEACHER, ("class", &target), None, "denied", "").await?;
        return Err(AppError::NotFound);
    };
    let mut audit = Audit::new(actor, HEAD_TEACHER, ("class", &target));
    audit.school(school.id);
    let result = async {
        let name = checked_name(coverage, "班主任", name)?;
        let mut tx = db.pool.begin().await?;
        let class =
            schools::class_by(&mut *tx, school.id, i64::from(grade.number()), number).await?.ok_or_else(|| {
                AppError::from(DomainError::new(
                    "class.not_found",
                    "班级",
                    schools::class_name(i64::from(grade.number()), number),
                    &format!("在{}不存在", school.name),
                ))
            })?;
        audit.detail(if name.is_empty() { "cleared" } else { "set" });
        schools::set_head_teacher(&mut *tx, class.id, &name).await?;
        audit.commit(tx).await?;
        Ok(Class { head_teacher: name, ..class })
    }
    .await;
    audit.close(db, result).await
}

/// A school's catchment area (学区, Art. 7, 18) as the bureau records it:
/// the place names addresses in it name, and whether the school is one the
/// bureau directs migrant workers' children to.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub struct District {
    /// Streets, compounds, villages or townships, as addresses spell them.
    #[serde(default)]
    pub places: Vec<String>,
    /// On the bureau's list for migrant workers' children (Art. 18).
    #[serde(default)]
    pub migrant_children: bool,
}

/// The audit action of [`set_district`].
const DISTRICT: &str = "school.district";

/// A school's catchment area, as recorded.
pub async fn district(db: &Db, actor: &Actor, code: &str) -> AppResult<(School, District)> {
    let school = schools::by_code(&db.pool, code.trim()).await?.filter(|s| actor.may_see(s.id));
    let school = school.ok_or(AppError::NotFound)?;
    let places = crate::db::intake::places_of(&db.pool, school.id).await?;
    let migrant_children = school.migrant_children;
    Ok((school, District { places, migrant_children }))
}

/// The bureau records a school's catchment area and whether it takes
/// migrant workers' children (replacing what was recorded):
/// `school.district`. Returns the area as kept.
///
/// # Errors
///
/// A school's own registrar (403), an unknown school, a place name that is
/// empty, too long, given twice or cannot be printed, or a database failure.
pub async fn set_district(
    db: &Db,
    coverage: &Coverage,
    actor: &Actor,
    code: &str,
    req: &District,
) -> AppResult<District> {
    if !actor.is_bureau() {
        audit::write(&db.pool, actor, DISTRICT, ("school", code), None, "denied", "role").await?;
        return Err(AppError::not_permitted("school.bureau_only", "学校的学区由教育局划定"));
    }
    let mut audit = Audit::new(actor, DISTRICT, ("school", code));
    let result = async {
        let area = crate::domain::intake::Catchment::new(&req.places)?;
        for p in area.places() {
            crate::workflow::printable(coverage, &[("学区地名", p.as_str())])?;
        }
        let mut tx = db.pool.begin().await?;
        let school = schools::by_code(&mut *tx, code.trim()).await?.ok_or(AppError::NotFound)?;
        audit.school(school.id);
        crate::db::intake::set_district(&mut tx, school.id, area.places(), req.migrant_children).await?;
        audit.detail(format!("places={} migrant_children={}", area.places().len(), req.migrant_children));
        audit.commit(tx).await?;
        Ok(District { places: area.places().to_vec(), migrant_children: req.migrant_children })
    }
    .await;
    audit.close(db, result).await
}

/// The stable codes a caller's refusals of a grade and class carry.
#[derive(Debug, Clone, Copy)]
pub struct ClassCodes {
    /// The class text is not a class.
    pub invalid: &'static str,
    /// A class named without its grade.
    pub needs_grade: &'static str,
    /// The school has no such class.
    pub unknown: &'static str,
}

/// The grade and class a form names, checked against what the system
/// knows: `grade` as `3` or `三年级`, `class` as `2` or (a picker's) `3-2`; a class needs a grade, and in `school` it must exist. Empty texts
/// are `None`: a value that fails is refused by name, never dropped.
pub async fn class_scope(
    db: &Db,
    school: Option<&School>,
    grade: &str,
    class: &str,
    codes: &ClassCodes,
) -> AppResult<(Option<Grade>, Option<i64>)> {
    let grade = match grade.trim() {
        "" => None,
        g => Some(Grade::parse(g)?),
    };
    let class = match class.trim() {
        "" => return Ok((grade, None)),
        c => c,
    };
    let picked = crate::domain::ClassRef::parse(class)
        .ok_or_else(|| AppError::from(DomainError::new(codes.invalid, "班级", class, "应为班号，如 2")))?;
    let grade = match (grade, picked.grade) {
        (Some(a), Some(b)) if a != b => {
            return Err(DomainError::new(codes.invalid, "班级", class, "与所选年级不符").into());
        }
        (a, b) => a.or(b).ok_or_else(|| DomainError::new(codes.needs_grade, "班级", class, "须同时选择年级"))?,
    };
    if let Some(school) = school
        && schools::class_by(&db.pool, school.id, i64::from(grade), picked.number).await?.is_none()
    {
        let name = schools::class_name(i64::from(grade), picked.number);
        return Err(DomainError::new(codes.unknown, "班级", name, &format!("在{}不存在", school.name)).into());
    }
    Ok((Some(grade), Some(picked.number)))
}
