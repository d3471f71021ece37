//! Checking a 学前调档名单 (the primary intake list, Art. 10) for a school:
//! the five keys of each child, the ID number against the birth date and
//! gender, the entry age for the coming autumn intake (Art. 4, 7), and
//! duplicates: within the file, against the records (the child has one
//! already) and against the intake lists (the child is listed already).
//! Nothing is written here; the service writes every entry or none.

use super::check::{Options, Report, RowError, drop_repeated, reading_errors};
use super::read::Sheet;
use crate::db::schools::School;
use crate::db::{Db, intake_list, students};
use crate::domain::national::{self, Coded};
use crate::domain::{Gender, IdNumber, check_entry_age, coming_intake_year};
use crate::error::{AppError, AppResult};
use crate::render::Unprintable;
use chrono::NaiveDate;
use std::collections::{HashMap, HashSet};

/// A child of the list that passed the checks.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Spreadsheet row.
    pub row: usize,
    /// 姓名.
    pub name: String,
    /// 性别.
    pub gender: Gender,
    /// 出生日期.
    pub birth_date: NaiveDate,
    /// 身份证件类型.
    pub id_type: Coded,
    /// 身份证件号 (`''` for a 其他 child without one).
    pub id_number: String,
}

/// An intake list checked for a school.
#[derive(Debug)]
pub struct Checked {
    /// What the check found (`inserted` stays 0 until the list is written).
    pub report: Report,
    /// The children, when every row passed.
    pub entries: Vec<Entry>,
    /// The autumn intake they are listed for.
    pub intake_year: i32,
}

impl Checked {
    /// Whether the list is to be written: every row passed and this is no dry run.
    pub fn writable(&self) -> bool {
        !self.report.dry_run && self.report.errors.is_empty()
    }
}

struct RowCheck<'a> {
    row: usize,
    errors: &'a mut Vec<RowError>,
    failed: bool,
}

impl RowCheck<'_> {
    fn fail(&mut self, column: &'static str, value: &str, code: &'static str, reason: impl Into<String>) {
        self.failed = true;
        self.errors.push(RowError {
            row: self.row,
            column,
            value: value.trim().to_owned(),
            code,
            reason: reason.into(),
        });
    }

    fn required<'v>(&mut self, column: &'static str, value: &'v str) -> Option<&'v str> {
        let v = value.trim();
        if v.is_empty() {
            self.fail(column, v, "import.required", format!("{column}为必填项，不能为空"));
            return None;
        }
        Some(v)
    }
}

/// Checks one row on its own.
fn check_entry(
    row: usize,
    r: &super::Row,
    opts: &Options,
    intake_year: i32,
    errors: &mut Vec<RowError>,
) -> Option<Entry> {
    let mut c = RowCheck { row, errors, failed: false };
    let name = c.required("姓名", &r.name).and_then(|n| {
        if n.chars().any(char::is_control) || n.chars().count() > 50 {
            c.fail("姓名", n, "import.text_invalid", "姓名含有非法字符或超过50字");
            return None;
        }
        if let Err(e) = opts.coverage.check("姓名", n) {
            c.fail("姓名", n, Unprintable::CODE, e.to_string());
            return None;
        }
        Some(n.to_owned())
    });
    let gender = c.required("性别", &r.gender).and_then(|g| match Gender::parse(g) {
        Ok(g) => Some(g),
        Err(e) => {
            c.fail("性别", g, e.code, format!("性别“{g}”无效：填 1（男）或 2（女）"));
            None
        }
    });
    let birth = c.required("出生日期", &r.birth_date).and_then(|d| {
        let parsed = ["%Y%m%d", "%Y-%m-%d"].iter().find_map(|f| NaiveDate::parse_from_str(d, f).ok());
        match parsed {
            None => {
                c.fail(
                    "出生日期",
                    d,
                    "import.date_invalid",
                    format!("出生日期“{d}”不是真实存在的日期（填 YYYYMMDD，如 20200301）"),
                );
                None
            }
            Some(b) if b > opts.today => {
                c.fail("出生日期", d, "import.birth_future", "出生日期晚于今天");
                None
            }
            Some(b) => Some(b),
        }
    });
    let id_type = c.required("身份证件类型", &r.id_type).and_then(|t| match national::ID_TYPE.parse(t) {
        Ok(v) => v,
        Err(e) => {
            let choices: Vec<String> =
                national::ID_TYPE.entries.iter().map(|(code, l)| format!("{code} {l}")).collect();
            c.fail("身份证件类型", t, e.code, format!("身份证件类型“{t}”无效（可填：{}）", choices.join("、")));
            None
        }
    });
    let number = r.id_number.trim().to_uppercase();
    let mut id_number = None;
    match id_type.map(Coded::code) {
        Some("1") => {
            if let Some(v) = c.required("身份证件号", &number) {
                match IdNumber::parse(v) {
                    Ok(id) => {
                        if let (Some(b), Some(g)) = (birth, gender)
                            && let Err(e) = id.check_matches(b, g)
                        {
                            let (column, value) = if e.code == "id.birth_mismatch" {
                                ("出生日期", r.birth_date.as_str())
                            } else {
                                ("性别", r.gender.as_str())
                            };
                            c.fail(column, value, e.code, e.message);
                        }
                        id_number = Some(id.as_str().to_owned());
                    }
                    Err(e) => c.fail("身份证件号", v, e.code, e.message),
                }
            }
        }
        // 其他: the school keeps a signed proof of attendance; no number is needed.
        Some("Z") => id_number = Some(number.clone()),
        Some(_) => {
            if let Some(v) = c.required("身份证件号", &number) {
                if v.chars().count() > 30 || v.chars().any(|ch| ch.is_control() || ch.is_whitespace()) {
                    c.fail("身份证件号", v, "import.format_invalid", format!("身份证件号“{v}”含有非法字符或超过30位"));
                } else {
                    id_number = Some(v.to_owned());
                }
            }
        }
        None => {}
    }
    if let Some(b) = birth
        && let Err(e) = check_entry_age(b, intake_year)
    {
        c.fail("出生日期", &r.birth_date, e.code, e.message);
    }
    if c.failed {
        return None;
    }
    Some(Entry { row, name: name?, gender: gender?, birth_date: birth?, id_type: id_type?, id_number: id_number? })
}

/// Checks an intake list for a school against the rules and the database.
///
/// # Errors
///
/// `intake.school_kind` for a school without a grade 1; a database failure.
pub async fn check(db: &Db, school: &School, sheet: &Sheet, opts: &Options) -> AppResult<Checked> {
    if !school.kind.grades().contains(&1) {
        return Err(AppError::bad_request(
            "intake.school_kind",
            format!("学前调档名单用于小学一年级新生，{}没有一年级", school.name),
        ));
    }
    let intake_year = coming_intake_year(opts.today);
    let mut errors = reading_errors(sheet);
    let mut entries: Vec<Entry> =
        sheet.rows.iter().filter_map(|(n, r)| check_entry(*n, r, opts, intake_year, &mut errors)).collect();
    drop_repeated(&mut errors, sheet);
    let refused_rows: HashSet<usize> = sheet.cell_problems.iter().map(|p| p.row).collect();
    entries.retain(|e| !refused_rows.contains(&e.row));

    // Duplicates within the file.
    let mut first_row: HashMap<&str, usize> = HashMap::new();
    let mut refused = HashSet::new();
    for e in entries.iter().filter(|e| !e.id_number.is_empty()) {
        if let Some(first) = first_row.get(e.id_number.as_str()) {
            errors.push(RowError {
                row: e.row,
                column: "身份证件号",
                value: e.id_number.clone(),
                code: "intake.duplicate_in_file",
                reason: format!("身份证件号“{}”与本文件第{first}行重复，同一儿童只能列入一次", e.id_number),
            });
            refused.insert(e.row);
        } else {
            first_row.insert(&e.id_number, e.row);
        }
    }
    entries.retain(|e| !refused.contains(&e.row));

    // Against the records and the lists.
    let ids: Vec<String> = entries.iter().filter(|e| !e.id_number.is_empty()).map(|e| e.id_number.clone()).collect();
    let mut conn = db.pool.acquire().await?;
    let records: HashSet<String> =
        students::existing_by_numbers(&mut conn, &ids, &[]).await?.into_iter().filter_map(|s| s.id_number).collect();
    let lists: HashMap<String, intake_list::Listed> =
        intake_list::listed(&mut conn, &ids).await?.into_iter().map(|l| (l.id_number.clone(), l)).collect();
    drop(conn);
    for e in &entries {
        let reason = if records.contains(&e.id_number) {
            Some((
                "intake.already_student",
                format!("身份证件号“{}”的学生已有学籍，不能再列入调档名单（第十四条）", e.id_number),
            ))
        } else {
            lists.get(&e.id_number).map(|l| {
                let whose = if l.school_id == school.id { "本校" } else { "其他学校" };
                (
                    "intake.already_listed",
                    format!(
                        "身份证件号“{}”的儿童已列入{whose}{}年的调档名单，不能重复列入",
                        e.id_number, l.intake_year
                    ),
                )
            })
        };
        if let Some((code, reason)) = reason {
            errors.push(RowError { row: e.row, column: "身份证件号", value: e.id_number.clone(), code, reason });
            refused.insert(e.row);
        }
    }
    entries.retain(|e| !refused.contains(&e.row));

    errors.sort_by_key(|e| e.row);
    let error_rows: HashSet<usize> = errors.iter().map(|e| e.row).collect();
    let total = sheet.rows.len();
    let report = Report {
        rows: total,
        valid_rows: total - error_rows.len(),
        errors,
        warnings: Vec::new(),
        ignored_columns: Vec::new(),
        created_classes: Vec::new(),
        dry_run: opts.dry_run,
        committed: false,
        inserted: 0,
    };
    Ok(Checked { report, entries, intake_year })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roster::Row;

    fn opts() -> Options {
        let fonts = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fonts");
        Options {
            dry_run: true,
            create_classes: false,
            actor_id: None,
            today: NaiveDate::from_ymd_opt(2026, 11, 29).unwrap(),
            coverage: crate::render::Coverage::load(&fonts).unwrap(),
        }
    }

    fn child(birth: &str, id: &str) -> Row {
        Row {
            name: "王小明".into(),
            gender: "男".into(),
            birth_date: birth.into(),
            id_type: "居民身份证".into(),
            id_number: id.into(),
            ..Row::default()
        }
    }

    #[test]
    fn a_child_of_the_coming_intake_passes_and_a_younger_one_does_not() {
        let opts = opts();
        let birth = NaiveDate::from_ymd_opt(2021, 8, 31).unwrap();
        let id = IdNumber::from_parts("220122", birth, 11).unwrap();
        let mut errors = Vec::new();
        let e = check_entry(2, &child("20210831", id.as_str()), &opts, 2027, &mut errors).unwrap();
        assert_eq!((e.gender, e.birth_date, e.id_type.code()), (Gender::Male, birth, "1"));
        assert!(errors.is_empty());

        let young = NaiveDate::from_ymd_opt(2021, 9, 1).unwrap();
        let id = IdNumber::from_parts("220122", young, 11).unwrap();
        assert!(check_entry(3, &child("20210901", id.as_str()), &opts, 2027, &mut errors).is_none());
        assert_eq!((errors[0].row, errors[0].column, errors[0].code), (3, "出生日期", "age.too_young"));
    }

    #[test]
    fn the_id_must_match_and_a_z_child_needs_no_number() {
        let opts = opts();
        let birth = NaiveDate::from_ymd_opt(2020, 5, 5).unwrap();
        let id = IdNumber::from_parts("220122", birth, 11).unwrap();
        let mut errors = Vec::new();
        assert!(check_entry(2, &child("20200506", id.as_str()), &opts, 2027, &mut errors).is_none());
        assert_eq!(errors[0].code, "id.birth_mismatch");
        let mut girl = child("20200505", id.as_str());
        girl.gender = "女".into();
        errors.clear();
        assert!(check_entry(2, &girl, &opts, 2027, &mut errors).is_none());
        assert_eq!((errors[0].column, errors[0].code), ("性别", "id.gender_mismatch"));
        let z = Row { id_type: "其他".into(), id_number: String::new(), ..child("20200505", "") };
        errors.clear();
        assert_eq!(check_entry(2, &z, &opts, 2027, &mut errors).unwrap().id_number, "");
        let passport = Row { id_type: "护照".into(), ..child("20200505", "") };
        assert!(check_entry(2, &passport, &opts, 2027, &mut errors).is_none());
        assert_eq!((errors[0].column, errors[0].code), ("身份证件号", "import.required"));
        let mut bad = child("2020-05-05", id.as_str());
        bad.gender = "3".into();
        errors.clear();
        assert!(check_entry(2, &bad, &opts, 2027, &mut errors).is_none());
        assert_eq!(errors[0].reason, "性别“3”无效：填 1（男）或 2（女）");
    }
}
