//! The national system's spreadsheets, service side (Art. 10): a school's
//! 学前调档名单 recorded as its intake list for the coming autumn, and the
//! 调档学生导出 written for the school's open intake list (the five keys,
//! every other item left for the school to complete) or for its current
//! students (every item from the record). A completed 调档学生导出 comes back
//! through the ordinary roster import ([`super::roster::import`]), which
//! takes up the intake entries of the children it creates records for.

use super::audit::{self, Audit};
use super::roster::{Exported, Imported};
use crate::db::intake_list::{self, NewEntry};
use crate::db::{Db, schools};
use crate::domain::Actor;
use crate::domain::national::ID_TYPE;
use crate::error::{AppError, AppResult};
use crate::roster::national::{self, Layout};
use crate::roster::{Row, check, export, intake, read::Sheet};

/// Which children a 调档学生导出 lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NationalList {
    /// The school's open intake list: the five keys, the rest to complete.
    Intake,
    /// The school's current students, every item filled from the record.
    Students,
}

impl NationalList {
    /// Parses `intake` or `students` (refusing anything else with `export.list`).
    pub fn parse(s: &str) -> AppResult<Self> {
        match s.trim() {
            "intake" => Ok(Self::Intake),
            "students" => Ok(Self::Students),
            other => Err(AppError::bad_request(
                "export.list",
                format!("不支持的名单“{other}”：可选 intake（调档名单）或 students（在籍学生）"),
            )),
        }
    }

    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Intake => "intake",
            Self::Students => "students",
        }
    }

    /// What the file lists, for its name.
    pub fn label(self) -> &'static str {
        match self {
            Self::Intake => "调档名单",
            Self::Students => "在籍学生",
        }
    }
}

/// Records a checked 学前调档名单 as the school's intake list for the coming
/// autumn: every child or none, in one transaction with the `intake.import`
/// audit row; a dry run (`intake.check`) or a refused list writes its row
/// on its own. Registrars import for their own schools, the bureau for any.
///
/// # Errors
///
/// Not found for a school outside the actor's scope; `intake.school_kind`
/// for a school without a grade 1; a database failure.
pub async fn import_intake(
    db: &Db,
    actor: &Actor,
    school: &schools::School,
    sheet: &Sheet,
    opts: &check::Options,
) -> AppResult<Imported> {
    if !actor.may_see(school.id) {
        return Err(AppError::NotFound);
    }
    let action = if opts.dry_run { "intake.check" } else { "intake.import" };
    let detail = |r: &check::Report, year: i32| {
        format!("rows={} errors={} inserted={} year={year}", r.rows, r.errors.len(), r.inserted)
    };
    let answer = |report, year| Imported {
        layout: Layout::IntakeList,
        layout_name: Layout::IntakeList.label(),
        report,
        taken_up: 0,
        intake_year: Some(year),
    };
    let mut audit = Audit::new(actor, action, ("school", &school.code));
    audit.school(school.id);
    let checked = match intake::check(db, school, sheet, opts).await {
        Ok(c) => c,
        Err(e) => return audit.close(db, Err(e)).await,
    };
    let year = checked.intake_year;
    if !checked.writable() {
        let outcome = if checked.report.errors.is_empty() { "ok" } else { "refused" };
        let target = ("school", school.code.as_str());
        audit::write(&db.pool, actor, action, target, Some(school.id), outcome, &detail(&checked.report, year)).await?;
        return Ok(answer(checked.report, year));
    }
    let result = async {
        let intake::Checked { mut report, entries, .. } = checked;
        let mut tx = db.pool.begin().await?;
        let now = crate::db::now_text();
        for e in &entries {
            let entry = NewEntry {
                school_id: school.id,
                intake_year: year,
                name: &e.name,
                gender: e.gender,
                birth_date: e.birth_date,
                id_type: e.id_type.code(),
                id_number: &e.id_number,
            };
            intake_list::insert(&mut *tx, &entry, actor.user_id, &now).await?;
        }
        report.inserted = entries.len();
        audit.detail(detail(&report, year));
        audit.commit(tx).await?;
        Ok(report)
    }
    .await;
    let mut report = audit.close(db, result).await?;
    report.committed = true;
    Ok(answer(report, year))
}

/// An open intake entry as a template row: the five keys, nothing else.
fn intake_row(e: &intake_list::Entry) -> Row {
    Row {
        name: e.name.clone(),
        gender: e.gender.label().to_owned(),
        birth_date: e.birth_date.to_string(),
        id_type: ID_TYPE.by_code(&e.id_type).map_or_else(|| e.id_type.clone(), |c| c.label().to_owned()),
        id_number: e.id_number.clone(),
        ..Row::default()
    }
}

/// Writes the 调档学生导出 of the school with this code for `list`: 404 when
/// there is none or the actor may not see it; one `national.export` audit
/// row either way (the file is personal data).
pub async fn export(db: &Db, actor: &Actor, school_code: &str, list: NationalList) -> AppResult<Exported> {
    let code = school_code.trim();
    let mut audit = Audit::new(actor, "national.export", ("school", code));
    let result = async {
        let school = super::roster::school_in_view(db, actor, code, &mut audit).await?;
        let mut conn = db.pool.acquire().await?;
        let rows: Vec<Row> = match list {
            NationalList::Students => export::rows_for_school(&mut conn, &school).await?,
            NationalList::Intake => {
                intake_list::open_of_school(&mut *conn, school.id).await?.iter().map(intake_row).collect()
            }
        };
        drop(conn);
        let cells: Vec<Vec<String>> = rows.iter().map(|r| national::encode_row(Layout::NationalRecord, r)).collect();
        let bytes = national::write_xlsx(Layout::NationalRecord, &cells)?;
        audit.detail(format!("list={} rows={}", list.code(), rows.len()));
        audit.record(&db.pool).await?;
        Ok(Exported { school_code: school.code, school_name: school.name, rows: rows.len(), bytes })
    }
    .await;
    audit.close(db, result).await
}
