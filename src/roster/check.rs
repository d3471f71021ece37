//! Checking roster rows against the regulation and the database, and
//! committing them all or none.

use super::read::Sheet;
use super::rows::{Candidate, check_row};
use crate::db::schools::{self, School};
use crate::db::students;
use crate::db::{Db, problems};
use crate::domain::student_no::StudentNoKind;
use crate::domain::{Grade, StudentNo};
use crate::error::AppResult;
use crate::render::Coverage;
use chrono::NaiveDate;
use sqlx::{Any, Transaction};
use std::collections::{BTreeMap, HashMap};

/// A refused cell: its row, column, value and the reason, with a stable code.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RowError {
    /// Spreadsheet row number (header = 1).
    pub row: usize,
    /// Column header.
    pub column: &'static str,
    /// The value refused.
    pub value: String,
    /// Stable code.
    pub code: &'static str,
    /// Chinese reason.
    pub reason: String,
}

/// A row that imports but needs the registrar's attention.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RowWarning {
    /// Spreadsheet row number.
    pub row: usize,
    /// Stable code.
    pub code: &'static str,
    /// Chinese message.
    pub message: String,
}

/// What an import did or would do.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    /// Data rows in the file.
    pub rows: usize,
    /// Rows without any error.
    pub valid_rows: usize,
    /// Every refused cell.
    pub errors: Vec<RowError>,
    /// Rows imported with a problem flag.
    pub warnings: Vec<RowWarning>,
    /// Headers the template does not know (ignored).
    pub ignored_columns: Vec<String>,
    /// Classes created for this import.
    pub created_classes: Vec<String>,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Whether the rows were written (all of them).
    pub committed: bool,
    /// Students written.
    pub inserted: usize,
}

/// How to import.
#[derive(Debug, Clone)]
pub struct Options {
    /// Check only; write nothing.
    pub dry_run: bool,
    /// Create classes the file names that the school does not have yet.
    pub create_classes: bool,
    /// Who imports (for the history).
    pub actor_id: Option<i64>,
    /// Today, for the entry age and the registration date.
    pub today: NaiveDate,
    /// What the bundled fonts can print: a text cell with a character they
    /// cannot print is refused (`text.unprintable`), since every text of the
    /// record reaches a form.
    pub coverage: Coverage,
}

/// The cells refused while reading ([`Sheet::cell_problems`]), as row errors.
pub(super) fn reading_errors(sheet: &Sheet) -> Vec<RowError> {
    sheet
        .cell_problems
        .iter()
        .map(|p| RowError {
            row: p.row,
            column: p.column,
            value: p.value.clone(),
            code: p.code,
            reason: p.reason.clone(),
        })
        .collect()
}

/// Drops the rule errors of cells refused while reading, which come first
/// in `errors` ([`reading_errors`]): such a cell is reported for what it is
/// (an ID in scientific notation, a date as a serial number), not again by
/// the rules.
pub(super) fn drop_repeated(errors: &mut Vec<RowError>, sheet: &Sheet) {
    let refused_cells: std::collections::HashSet<(usize, &str)> =
        sheet.cell_problems.iter().map(|p| (p.row, p.column)).collect();
    let from_reading = sheet.cell_problems.len();
    let mut seen = 0;
    errors.retain(|e| {
        seen += 1;
        seen <= from_reading || !refused_cells.contains(&(e.row, e.column))
    });
}

/// A roster checked against the rules and the database: the report, and
/// what writing its rows takes ([`write`]).
#[derive(Debug)]
pub struct Checked {
    /// What the check found.
    pub report: Report,
    candidates: Vec<Candidate>,
    /// `(grade, class number)` → (class id if it exists, cap, enrolled).
    class_ids: BTreeMap<(i64, i64), (Option<i64>, i64, i64)>,
    /// Candidate index → existing students it resembles.
    flagged: HashMap<usize, Vec<i64>>,
    /// Candidate index → an earlier candidate of the file it resembles.
    in_file_similar: HashMap<usize, usize>,
    /// The intake rows flagged or ending a delay.
    hold: super::hold::Findings,
}

impl Checked {
    /// Whether the rows are to be written: every row passed and this is no dry run.
    pub fn writable(&self) -> bool {
        !self.report.dry_run && self.report.errors.is_empty()
    }
}

/// One student written by an import: the internal id and the ID number.
#[derive(Debug, Clone)]
pub struct Written {
    /// The student's internal id.
    pub student_id: i64,
    /// The resident ID number, when the student has one.
    pub id_number: Option<String>,
}

/// Checks a roster for a school and, unless it is a dry run and only if every
/// row passes, writes all its rows in one transaction.
pub async fn import(db: &Db, school: &School, sheet: Sheet, opts: &Options) -> AppResult<Report> {
    let checked = check(db, school, sheet, opts).await?;
    if !checked.writable() {
        return Ok(checked.report);
    }
    let mut tx = db.pool.begin().await?;
    let (mut report, _) = write(&mut tx, school, checked, opts).await?;
    tx.commit().await?;
    report.committed = true;
    Ok(report)
}

/// Checks a roster for a school against the rules and the database; writes nothing.
pub async fn check(db: &Db, school: &School, sheet: Sheet, opts: &Options) -> AppResult<Checked> {
    let mut errors = reading_errors(&sheet);
    let mut warnings = Vec::new();
    let total = sheet.rows.len();
    let mut candidates: Vec<Candidate> =
        sheet.rows.iter().filter_map(|(n, r)| check_row(*n, r, school, opts, &mut errors)).collect();
    drop_repeated(&mut errors, &sheet);
    // Rows refused while reading do not go on.
    let bad_cells: std::collections::HashSet<usize> = sheet.cell_problems.iter().map(|p| p.row).collect();
    candidates.retain(|c| !bad_cells.contains(&c.row));

    // Duplicates within the file.
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut dup_rows = std::collections::HashSet::new();
    for c in &candidates {
        let key = c.student.id_number.as_ref().map(|i| i.as_str().to_owned());
        if let Some(key) = key {
            if let Some(first) = seen.get(&key) {
                errors.push(RowError {
                    row: c.row,
                    column: "身份证件号",
                    value: key.clone(),
                    code: "student.duplicate_id",
                    reason: format!("身份证件号“{key}”与本文件第{first}行重复，同一学生不能重复建立学籍（第十四条）"),
                });
                dup_rows.insert(c.row);
            } else {
                seen.insert(key, c.row);
            }
        }
    }
    candidates.retain(|c| !dup_rows.contains(&c.row));

    let mut conn = db.pool.acquire().await?;
    // Against the database: the same ID or student number is refused; a graduate cannot be enrolled again.
    let ids: Vec<String> =
        candidates.iter().filter_map(|c| c.student.id_number.as_ref().map(|i| i.as_str().to_owned())).collect();
    let nos: Vec<String> = candidates
        .iter()
        .filter(|c| c.provisional.is_none())
        .map(|c| c.student.student_no.as_str().to_owned())
        .collect();
    let existing = students::existing_by_numbers(&mut conn, &ids, &nos).await?;
    let mut by_id: HashMap<&str, &students::Existing> = HashMap::new();
    let mut by_no: HashMap<&str, &students::Existing> = HashMap::new();
    for e in &existing {
        if let Some(i) = &e.id_number {
            by_id.insert(i.as_str(), e);
        }
        by_no.insert(e.student_no.as_str(), e);
    }
    let mut refused = std::collections::HashSet::new();
    for c in &candidates {
        let hit = c
            .student
            .id_number
            .as_ref()
            .and_then(|i| by_id.get(i.as_str()))
            .map(|e| ("身份证件号", c.student.id_number.as_ref().map(|i| i.to_string()).unwrap_or_default(), *e))
            .or_else(|| {
                (c.provisional.is_none())
                    .then(|| by_no.get(c.student.student_no.as_str()))
                    .flatten()
                    .map(|e| ("学籍号", c.student.student_no.to_string(), *e))
            });
        if let Some((column, value, e)) = hit {
            let (code, reason) = if e.status == "graduated" {
                (
                    "student.graduate_reenrol",
                    if school.kind == crate::domain::SchoolKind::Junior {
                        format!(
                            "{column}“{value}”的学生已毕业，不得招收已毕业学生回校重读（第七条）；\
                             本年度小学毕业生升入初中，请在“待办”页用“升入初中”办理（沿用原学籍）"
                        )
                    } else {
                        format!("{column}“{value}”的学生已毕业，不得招收已毕业学生回校重读（第七条）")
                    },
                )
            } else {
                ("student.duplicate_id", format!("{column}“{value}”已有学籍，同一学生不能重复建立学籍（第十四条）"))
            };
            errors.push(RowError { row: c.row, column, value, code, reason });
            refused.insert(c.row);
        }
    }
    candidates.retain(|c| !refused.contains(&c.row));

    // Classes and their caps (Art. 6).
    let classes = schools::classes_of(&mut *conn, school.id).await?;
    let mut class_ids: BTreeMap<(i64, i64), (Option<i64>, i64, i64)> =
        classes.iter().map(|k| ((k.grade, k.number), (Some(k.id), k.cap, k.enrolled))).collect();
    let mut created_classes = Vec::new();
    let mut over = std::collections::HashSet::new();
    let mut unplaced = std::collections::HashSet::new();
    let mut missing_classes: BTreeMap<(i64, i64), (usize, usize)> = BTreeMap::new();
    for c in &candidates {
        let key = (i64::from(c.student.grade.number()), c.class_number);
        let entry = match class_ids.get_mut(&key) {
            Some(e) => e,
            None if opts.create_classes => {
                created_classes.push(schools::class_name(key.0, key.1));
                class_ids.entry(key).or_insert((None, i64::from(school.kind.max_class_size()), 0))
            }
            None => {
                // One error per missing class, on its first row, rather than one per pupil.
                missing_classes.entry(key).or_insert((c.row, 0)).1 += 1;
                over.insert(c.row);
                unplaced.insert(c.row);
                continue;
            }
        };
        let cap = crate::domain::ClassCap::new(school.kind, u16::try_from(entry.1).ok())
            .map_err(crate::error::AppError::from)?;
        let name = schools::class_name(key.0, key.1);
        match cap.check_room(&name, entry.2.unsigned_abs(), 1) {
            Ok(()) => entry.2 += 1,
            Err(e) => {
                errors.push(RowError { row: c.row, column: "班级", value: name, code: e.code, reason: e.message });
                over.insert(c.row);
            }
        }
    }
    for ((grade, number), (first_row, n)) in missing_classes {
        errors.push(RowError {
            row: first_row,
            column: "班级",
            value: number.to_string(),
            code: "class.not_found",
            reason: format!(
                "本校没有{}（名册中共{n}名学生填写此班），请先创建班级，或导入时选择自动创建班级",
                schools::class_name(grade, number)
            ),
        });
    }
    candidates.retain(|c| !over.contains(&c.row));

    // The bureau's hold on the intake rows (Art. 3, 4, 7, 18).
    let hold = super::hold::check(&mut conn, school, &candidates, opts.today, &mut errors, &mut warnings).await?;
    candidates.retain(|c| !hold.refused.contains(&c.row));

    // Suspected duplicates (same name, birth date and a guardian's phone) are imported and flagged.
    let keys: Vec<(String, String, Vec<String>)> = candidates
        .iter()
        .map(|c| {
            (
                c.student.name.clone(),
                c.student.birth_date.to_string(),
                c.student.guardians.iter().map(|g| g.phone.clone()).collect(),
            )
        })
        .collect();
    let similar = students::similar(&mut conn, &keys).await?;
    let mut flagged: HashMap<usize, Vec<i64>> = HashMap::new();
    for (i, id) in similar {
        flagged.entry(i).or_default().push(id);
    }
    // Within the file too.
    type Phones<'a> = Vec<(usize, &'a Vec<String>)>;
    let mut by_key: HashMap<(String, String), Phones<'_>> = HashMap::new();
    for (i, k) in keys.iter().enumerate() {
        by_key.entry((k.0.clone(), k.1.clone())).or_default().push((i, &k.2));
    }
    let mut in_file_similar: HashMap<usize, usize> = HashMap::new();
    for group in by_key.values().filter(|g| g.len() > 1) {
        for (a, pa) in group {
            if let Some((b, _)) = group.iter().find(|(b, pb)| b != a && pb.iter().any(|p| pa.contains(p))) {
                in_file_similar.insert(*a, *b);
            }
        }
    }
    for (i, c) in candidates.iter().enumerate() {
        if flagged.contains_key(&i) || in_file_similar.contains_key(&i) {
            warnings.push(RowWarning {
                row: c.row,
                code: "student.suspected_duplicate",
                message: "姓名、出生日期和监护人电话与已有学生相同，将导入并列为问题学籍，请核实".into(),
            });
        }
    }

    errors.sort_by_key(|e| e.row);
    for e in &mut errors {
        e.column = sheet.header_in_file(e.column);
    }
    let error_rows: std::collections::HashSet<usize> =
        errors.iter().map(|e| e.row).chain(unplaced).chain(hold.refused.iter().copied()).collect();
    let report = Report {
        rows: total,
        valid_rows: total - error_rows.len(),
        errors,
        warnings,
        ignored_columns: sheet.unknown_columns,
        created_classes,
        dry_run: opts.dry_run,
        committed: false,
        inserted: 0,
    };
    Ok(Checked { report, candidates, class_ids, flagged, in_file_similar, hold })
}

/// Writes every row of a checked roster ([`Checked::writable`]) in the
/// caller's transaction, creating the classes it names and re-checking
/// their caps under lock. The caller commits, and then sets
/// [`Report::committed`].
pub async fn write(
    tx: &mut Transaction<'_, Any>,
    school: &School,
    checked: Checked,
    opts: &Options,
) -> AppResult<(Report, Vec<Written>)> {
    let Checked { mut report, candidates, class_ids, flagged, in_file_similar, hold } = checked;
    debug_assert!(report.errors.is_empty() && !report.dry_run, "only a roster that passed is written");
    let now = crate::db::now_text();
    let mut class_id_of: HashMap<(i64, i64), i64> = HashMap::new();
    for (key, (id, _, _)) in &class_ids {
        let id = match id {
            Some(id) => *id,
            None => {
                let grade = Grade::new(u8::try_from(key.0).unwrap_or(0))?;
                schools::insert_class(&mut **tx, school, grade, u8::try_from(key.1).unwrap_or(0), "", None).await?
            }
        };
        class_id_of.insert(*key, id);
    }
    // Lock the classes and re-check the caps inside the transaction.
    let mut adding: BTreeMap<i64, u64> = BTreeMap::new();
    for c in &candidates {
        *adding.entry(class_id_of[&(i64::from(c.student.grade.number()), c.class_number)]).or_default() += 1;
    }
    for (class_id, n) in &adding {
        schools::lock_class(&mut **tx, *class_id).await?;
        let k = schools::capacity_of_class(&mut **tx, *class_id).await?;
        let enrolled = crate::db::rolls::seated_in_class(&mut **tx, *class_id).await?;
        let cap = crate::domain::ClassCap::new(school.kind, u16::try_from(k.cap).ok())?;
        cap.check_room(&schools::class_name(k.grade, k.number), enrolled.unsigned_abs(), *n)?;
    }
    // The intake plans, again under the transaction (Art. 7).
    let mut intake_years: BTreeMap<i32, (u64, std::collections::BTreeSet<i64>)> = BTreeMap::new();
    for c in &candidates {
        if let Some(year) = super::hold::intake_year(c, school, opts.today) {
            let (n, into) = intake_years.entry(year).or_default();
            *n += 1;
            into.insert(c.class_number);
        }
    }
    super::hold::recheck(tx, school, opts.today, &intake_years).await?;
    let mut serials: HashMap<String, u16> = HashMap::new();
    let flagged_rows: std::collections::HashSet<usize> =
        report.warnings.iter().filter(|w| w.code == "student.suspected_duplicate").map(|w| w.row).collect();
    // Numbers first (a provisional number is the next free one), then every
    // student, family member and event in a few statements.
    let mut rows = Vec::with_capacity(candidates.len());
    let mut students = Vec::with_capacity(candidates.len());
    for mut c in candidates {
        c.student.class_id = class_id_of[&(i64::from(c.student.grade.number()), c.class_number)];
        let no_id = c.provisional.map(|(kind, _)| kind);
        if let Some(kind) = no_id {
            c.student.student_no = next_provisional(tx, &mut serials, kind, c.student.birth_date).await?;
        }
        rows.push((c.row, no_id));
        students.push(c.student);
    }
    let ids = students::insert_all(tx, &students, opts.actor_id, &now, opts.today).await?;
    let mut written = Vec::with_capacity(students.len());
    for (i, ((row, no_id), (s, &id))) in rows.into_iter().zip(students.iter().zip(&ids)).enumerate() {
        if let Some(kind) = no_id {
            let reason = match kind {
                StudentNoKind::Temporary => {
                    "尚未办理居民身份证，使用临时学籍号；办理后登记身份证件号，或归档就读证明（第十一条）"
                }
                _ => "无身份证件号，使用无证件学籍号；须归档学校出具的就读证明并报教育局备案（第十一条）",
            };
            problems::flag(&mut **tx, "no_id", id, None, reason, &now).await?;
        }
        if let Some(reason) = hold.out_of_area.get(&row) {
            problems::flag(&mut **tx, "out_of_area", id, None, reason, &now).await?;
        }
        if hold.delay_ends.contains(&row)
            && let Some(n) = &s.id_number
        {
            crate::db::delays::take_up_delay(&mut **tx, n.as_str(), id).await?;
        }
        written.push(Written { student_id: id, id_number: s.id_number.as_ref().map(|n| n.as_str().to_owned()) });
        if flagged_rows.contains(&row) {
            let others = flagged.get(&i).cloned().unwrap_or_default();
            let other = others.first().copied().or_else(|| in_file_similar.get(&i).and_then(|&j| ids.get(j).copied()));
            problems::flag(
                &mut **tx,
                "suspected_duplicate",
                id,
                other,
                "姓名、出生日期和监护人电话与另一学籍相同（第十一条）",
                &now,
            )
            .await?;
        }
        report.inserted += 1;
    }
    Ok((report, written))
}

/// The next free `L`/`J` number for a birth date.
async fn next_provisional(
    tx: &mut Transaction<'_, Any>,
    serials: &mut HashMap<String, u16>,
    kind: StudentNoKind,
    birth: NaiveDate,
) -> AppResult<StudentNo> {
    let prefix = format!(
        "{}{}{}",
        if kind == StudentNoKind::Temporary { 'L' } else { 'J' },
        crate::COUNTY_AREA_CODE,
        birth.format("%Y%m%d")
    );
    let next = match serials.get(&prefix) {
        Some(n) => n + 1,
        None => {
            let max = students::highest_student_no_with_prefix(&mut **tx, &prefix).await?;
            max.and_then(|m| m[15..].parse::<u16>().ok()).map_or(1, |n| n + 1)
        }
    };
    serials.insert(prefix, next);
    Ok(StudentNo::provisional(kind, crate::COUNTY_AREA_CODE, birth, next)?)
}

/// The checks of each row on its own, as [`import`] makes them before it
/// looks at the other rows or the database: every refusal, by spreadsheet
/// row (the first data row is 2). For tests of rosters built in code.
#[cfg(test)]
pub(crate) fn row_errors(school: &School, rows: &[super::Row], opts: &Options) -> Vec<RowError> {
    let mut errors = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let _ = check_row(i + 2, r, school, opts, &mut errors);
    }
    errors
}
