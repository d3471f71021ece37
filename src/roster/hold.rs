//! The bureau's hold on an import's intake rows: the rows of the school's
//! entry grade (一年级, or 初一) that enter in the current school year's
//! intake or later. Each needs the bureau's plan for its year (Art. 3) and
//! room in it (`intake.over_plan`, Art. 7), an entry date in the autumn
//! window or in the late intake the bureau allowed (`intake.out_of_window`),
//! and no approved delayed entry still running (`intake.delayed`, Art. 4).
//! An intake whose addresses lie outside the school's catchment area is
//! imported and flagged for the bureau's decision (Art. 7, 18).

use super::check::{RowError, RowWarning};
use super::rows::Candidate;
use crate::db::intake;
use crate::db::schools::School;
use crate::domain::intake::{AreaFinding, Catchment, entry_grade, intake_year_of, judge_area};
use crate::error::AppResult;
use crate::service::plans::{check_room, check_window};
use chrono::NaiveDate;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// What the hold found: rows refused, and the intake rows flagged.
#[derive(Debug, Default)]
pub(super) struct Findings {
    /// Rows refused.
    pub refused: HashSet<usize>,
    /// Row → why it is outside the catchment area (the problem's reason).
    pub out_of_area: HashMap<usize, String>,
    /// Rows whose child's approved delay ends with this intake (taken up on write).
    pub delay_ends: HashSet<usize>,
}

/// The intake year of a candidate, if it is an intake row.
pub(super) fn intake_year(c: &Candidate, school: &School, today: NaiveDate) -> Option<i32> {
    let year = intake_year_of(c.student.entry_date);
    (c.student.grade.number() == entry_grade(school.kind) && year >= crate::domain::school_year_start(today))
        .then_some(year)
}

/// Checks the intake rows of `candidates`.
pub(super) async fn check(
    conn: &mut sqlx::AnyConnection,
    school: &School,
    candidates: &[Candidate],
    today: NaiveDate,
    errors: &mut Vec<RowError>,
    warnings: &mut Vec<RowWarning>,
) -> AppResult<Findings> {
    let mut found = Findings::default();
    let mut by_year: BTreeMap<i32, Vec<&Candidate>> = BTreeMap::new();
    for c in candidates {
        if let Some(y) = intake_year(c, school, today) {
            by_year.entry(y).or_default().push(c);
        }
    }
    if by_year.is_empty() {
        return Ok(found);
    }
    // Approved delays (Art. 4).
    let ids: Vec<String> = by_year
        .values()
        .flatten()
        .filter_map(|c| c.student.id_number.as_ref().map(|i| i.as_str().to_owned()))
        .collect();
    let delays: HashMap<String, (i64, i64)> = crate::db::delays::approved_delays(&mut *conn, &ids)
        .await?
        .into_iter()
        .map(|(id, from, to)| (id, (from, to)))
        .collect();
    for (year, rows) in &mut by_year {
        rows.retain(|c| {
            let Some((from, to)) = c.student.id_number.as_ref().and_then(|i| delays.get(i.as_str())) else {
                return true;
            };
            if i64::from(*year) >= *to {
                found.delay_ends.insert(c.row);
                return true;
            }
            errors.push(RowError {
                row: c.row,
                column: "身份证件号",
                value: c.student.id_number.as_ref().map(ToString::to_string).unwrap_or_default(),
                code: "intake.delayed",
                reason: format!(
                    "该儿童已获教育局批准延缓入学（不参加{from}年招生，{to}年入学，第四条）；监护人决定提前入学的，须先由教育局撤销延缓入学"
                ),
            });
            found.refused.insert(c.row);
            false
        });
    }
    // The plan of each year, the window and the room.
    for (year, rows) in &by_year {
        let plan = intake::plan_for(&mut *conn, school.id, *year).await?;
        let mut open = Vec::new();
        for c in rows {
            match check_window(plan.as_ref(), c.student.entry_date) {
                Ok(()) => open.push(*c),
                Err(e) => {
                    errors.push(RowError {
                        row: c.row,
                        column: "入学日期",
                        value: e.value,
                        code: e.code,
                        reason: e.message,
                    });
                    found.refused.insert(c.row);
                }
            }
        }
        let Some(first) = open.first() else { continue };
        let into: BTreeSet<i64> = open.iter().map(|c| c.class_number).collect();
        if let Err(e) = check_room(conn, school, today, *year, open.len() as u64, &into).await {
            let (code, reason) = match e {
                crate::error::AppError::Domain(d) => (d.code, d.message),
                other => return Err(other),
            };
            errors.push(RowError {
                row: first.row,
                column: "年级",
                value: format!("{year}年入学{}人", open.len()),
                code,
                reason,
            });
            // Every intake row of the year waits for the plan.
            found.refused.extend(open.iter().map(|c| c.row));
        }
    }
    // Catchment areas (Art. 7, 18): flagged, not refused.
    let area = Catchment::new(&intake::places_of(&mut *conn, school.id).await?)?;
    let migrant_schools =
        if school.county_town { intake::migrant_schools(&mut *conn, school.kind.code()).await? } else { Vec::new() };
    for c in by_year.values().flatten().filter(|c| !found.refused.contains(&c.row)) {
        let finding = judge_area(
            &area,
            &c.student.household_address,
            &c.student.current_address,
            c.student.national.migrant_child,
            school.county_town,
            school.migrant_children,
        );
        let reason = match finding {
            AreaFinding::Inside | AreaFinding::MigrantSchool => continue,
            AreaFinding::Outside => {
                format!("户口所在地和现住址均不在{}学区内，不得跨学区招生（第七条）：由教育局审核决定", school.name)
            }
            AreaFinding::MigrantElsewhere => format!(
                "进城务工人员随迁子女，住址不在{}学区内；随迁子女由教育局安排到{}就读（第十八条）：由教育局审核决定",
                school.name,
                if migrant_schools.is_empty() { "指定学校".to_owned() } else { migrant_schools.join("、") }
            ),
        };
        warnings.push(RowWarning {
            row: c.row,
            code: "intake.out_of_area",
            message: format!("{reason}；将导入并列为问题学籍"),
        });
        found.out_of_area.insert(c.row, reason);
    }
    Ok(found)
}

/// Re-checks the plans under the write's transaction, after the classes
/// were created: the intake rows of each year still fit.
pub(super) async fn recheck(
    conn: &mut sqlx::AnyConnection,
    school: &School,
    today: NaiveDate,
    years: &BTreeMap<i32, (u64, BTreeSet<i64>)>,
) -> AppResult<()> {
    for (year, (n, into)) in years {
        check_room(conn, school, today, *year, *n, into).await?;
    }
    Ok(())
}
