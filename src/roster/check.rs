//! Checking roster rows against the regulation and the database, and
//! committing them all or none.

use super::Row;
use super::read::Sheet;
use crate::db::schools::{self, School};
use crate::db::students::{self, Guardian, NewStudent};
use crate::db::{Db, problems};
use crate::domain::student_no::StudentNoKind;
use crate::domain::{DomainError, Gender, Grade, IdNumber, StudentNo, check_entry_age, first_grade_year};
use crate::error::AppResult;
use crate::render::{Coverage, Unprintable};
use chrono::NaiveDate;
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

const ETHNIC_GROUPS: [&str; 56] = [
    "汉族",
    "蒙古族",
    "回族",
    "藏族",
    "维吾尔族",
    "苗族",
    "彝族",
    "壮族",
    "布依族",
    "朝鲜族",
    "满族",
    "侗族",
    "瑶族",
    "白族",
    "土家族",
    "哈尼族",
    "哈萨克族",
    "傣族",
    "黎族",
    "傈僳族",
    "佤族",
    "畲族",
    "高山族",
    "拉祜族",
    "水族",
    "东乡族",
    "纳西族",
    "景颇族",
    "柯尔克孜族",
    "土族",
    "达斡尔族",
    "仫佬族",
    "羌族",
    "布朗族",
    "撒拉族",
    "毛南族",
    "仡佬族",
    "锡伯族",
    "阿昌族",
    "普米族",
    "塔吉克族",
    "怒族",
    "乌孜别克族",
    "俄罗斯族",
    "鄂温克族",
    "德昂族",
    "保安族",
    "裕固族",
    "京族",
    "塔塔尔族",
    "独龙族",
    "鄂伦春族",
    "赫哲族",
    "门巴族",
    "珞巴族",
    "基诺族",
];

/// A row that passed the per-row checks.
struct Candidate {
    row: usize,
    student: NewStudent,
    class_number: i64,
    provisional: Option<(StudentNoKind, String)>,
}

struct RowChecker<'a> {
    row: usize,
    errors: &'a mut Vec<RowError>,
    failed: bool,
    coverage: &'a Coverage,
}

impl RowChecker<'_> {
    fn fail(&mut self, column: &'static str, value: &str, code: &'static str, reason: impl Into<String>) {
        self.failed = true;
        self.errors.push(RowError { row: self.row, column, value: value.to_owned(), code, reason: reason.into() });
    }

    fn domain(&mut self, column: &'static str, value: &str, e: DomainError) {
        self.fail(column, value, e.code, e.message);
    }

    fn required(&mut self, column: &'static str, value: &str) -> Option<String> {
        let v = value.trim();
        if v.is_empty() {
            self.fail(column, value, "import.required", format!("{column}为必填项，不能为空"));
            None
        } else if v.chars().any(char::is_control) || v.chars().count() > 100 {
            self.fail(column, value, "import.text_invalid", format!("{column}含有非法字符或超过100字"));
            None
        } else if !self.printable(column, v) {
            None
        } else {
            Some(v.to_owned())
        }
    }

    fn optional(&mut self, column: &'static str, value: &str) -> String {
        let v = value.trim();
        if v.chars().any(char::is_control) || v.chars().count() > 100 {
            self.fail(column, value, "import.text_invalid", format!("{column}含有非法字符或超过100字"));
        } else {
            self.printable(column, v);
        }
        v.to_owned()
    }

    /// Refuses a cell the bundled fonts cannot print (the renderer's own check).
    fn printable(&mut self, column: &'static str, value: &str) -> bool {
        match self.coverage.check(column, value) {
            Ok(()) => true,
            Err(e) => {
                self.fail(column, value, Unprintable::CODE, e.to_string());
                false
            }
        }
    }

    fn flag(&mut self, column: &'static str, value: &str) -> bool {
        match value.trim() {
            "是" | "Y" | "y" | "1" | "true" => true,
            "否" | "N" | "n" | "0" | "false" | "" => false,
            other => {
                self.fail(column, other, "import.flag_invalid", format!("{column}只能填“是”或“否”"));
                false
            }
        }
    }

    fn date(&mut self, column: &'static str, value: &str) -> Option<NaiveDate> {
        let v = value.trim();
        let parsed = ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日"]
            .iter()
            .find_map(|f| NaiveDate::parse_from_str(v, f).ok());
        if parsed.is_none() {
            self.fail(
                column,
                value,
                "import.date_invalid",
                format!("{column}“{v}”不是真实存在的日期（格式如 2019-05-12）"),
            );
        }
        parsed
    }

    fn phone(&mut self, column: &'static str, value: &str) -> Option<String> {
        let v: String = value.trim().chars().filter(|c| *c != ' ' && *c != '-').collect();
        let mobile = v.len() == 11 && v.starts_with('1') && v.bytes().all(|b| b.is_ascii_digit());
        let landline = v.starts_with('0') && (10..=12).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit());
        if mobile || landline {
            Some(v)
        } else {
            self.fail(
                column,
                value,
                "import.phone_invalid",
                format!("{column}“{}”不是有效的电话号码（11位手机号或带区号的固定电话）", value.trim()),
            );
            None
        }
    }
}

fn class_number(value: &str) -> Option<i64> {
    let digits: String = value.chars().filter(char::is_ascii_digit).collect();
    let rest_ok = value.chars().all(|c| c.is_ascii_digit() || matches!(c, '班' | '(' | ')' | '（' | '）' | ' '));
    digits.parse::<i64>().ok().filter(|n| (1..=99).contains(n) && rest_ok)
}

/// Checks one row on its own (no database): every cell, the ID against the
/// record, the entry age, the grade against the school.
fn check_row(row_no: usize, r: &Row, school: &School, opts: &Options, errors: &mut Vec<RowError>) -> Option<Candidate> {
    let today = opts.today;
    let mut c = RowChecker { row: row_no, errors, failed: false, coverage: &opts.coverage };
    let name = c.required("姓名", &r.name);
    let gender =
        c.required("性别", &r.gender).and_then(|g| Gender::parse(&g).map_err(|e| c.domain("性别", &r.gender, e)).ok());
    let birth = c.required("出生日期", &r.birth_date).and_then(|d| c.date("出生日期", &d));
    let ethnicity = c.required("民族", &r.ethnicity);
    if let Some(e) = &ethnicity
        && !ETHNIC_GROUPS.contains(&e.as_str())
        && e != "其他"
        && e != "外国血统中国籍人士"
    {
        c.fail("民族", e, "import.ethnicity_invalid", format!("民族“{e}”不是有效的民族名称（如“汉族”“满族”）"));
    }
    let id_type = c.required("身份证件类型", &r.id_type);
    let mut id_number = None;
    let mut provisional = None;
    match id_type.as_deref() {
        Some("居民身份证") => {
            if let Some(v) = c.required("身份证件号", &r.id_number) {
                match IdNumber::parse(&v) {
                    Ok(id) => {
                        if let (Some(b), Some(g)) = (birth, gender)
                            && let Err(e) = id.check_matches(b, g)
                        {
                            let (col, val) = if e.code == "id.birth_mismatch" {
                                ("出生日期", r.birth_date.as_str())
                            } else {
                                ("性别", r.gender.as_str())
                            };
                            c.domain(col, val, e);
                        }
                        id_number = Some(id);
                    }
                    Err(e) => c.domain("身份证件号", &v, e),
                }
            }
        }
        Some("未办理") => provisional = Some((StudentNoKind::Temporary, r.id_number.trim().to_owned())),
        Some(
            t @ ("护照"
            | "港澳台居民居住证"
            | "港澳居民来往内地通行证"
            | "台湾居民来往大陆通行证"
            | "外国人永久居留身份证"
            | "无"
            | "其他"),
        ) => {
            let _ = t;
            provisional = Some((StudentNoKind::NoId, r.id_number.trim().to_owned()));
        }
        Some(other) => c.fail(
            "身份证件类型",
            other,
            "import.id_type_invalid",
            format!("身份证件类型“{other}”无效（居民身份证、未办理、护照、港澳台居民居住证、无等）"),
        ),
        None => {}
    }
    let household_address = c.required("户口所在地", &r.household_address);
    let current_address = c.required("现住址", &r.current_address);
    let g1_name = c.required("监护人姓名", &r.guardian1_name);
    let g1_relation = c.required("监护人关系", &r.guardian1_relation);
    let g1_phone = c.required("监护人电话", &r.guardian1_phone).and_then(|p| c.phone("监护人电话", &p));
    let mut guardians = Vec::new();
    if let (Some(name), Some(relation), Some(phone)) = (g1_name, g1_relation, g1_phone) {
        guardians.push(Guardian { name, relation, phone, workplace: String::new() });
    }
    if [&r.guardian2_name, &r.guardian2_relation, &r.guardian2_phone].iter().any(|v| !v.trim().is_empty()) {
        let n = c.required("监护人2姓名", &r.guardian2_name);
        let rel = c.required("监护人2关系", &r.guardian2_relation);
        let p = c.required("监护人2电话", &r.guardian2_phone).and_then(|p| c.phone("监护人2电话", &p));
        if let (Some(name), Some(relation), Some(phone)) = (n, rel, p) {
            guardians.push(Guardian { name, relation, phone, workplace: String::new() });
        }
    }
    let grade = c.required("年级", &r.grade).and_then(|g| {
        Grade::parse(&g).and_then(|g| g.check_school(school.kind)).map_err(|e| c.domain("年级", &r.grade, e)).ok()
    });
    let class_no = c.required("班级", &r.class).and_then(|v| {
        let n = class_number(&v);
        if n.is_none() {
            c.fail("班级", &v, "import.class_invalid", format!("班级“{v}”应为班号，如“2”或“2班”"));
        }
        n
    });
    if let (Some(b), Some(g)) = (birth, grade) {
        if let Err(e) = check_entry_age(b, first_grade_year(today, g.number())) {
            c.domain("出生日期", &r.birth_date, e);
        }
        if b > today {
            c.fail("出生日期", &r.birth_date, "import.birth_future", "出生日期晚于今天");
        }
    }
    let entry_date = if r.entry_date.trim().is_empty() {
        grade.and_then(|g| {
            let first = school.kind.grades().start().to_owned();
            NaiveDate::from_ymd_opt(crate::domain::school_year_start(today) - i32::from(g.number() - first), 9, 1)
        })
    } else {
        c.date("入学日期", &r.entry_date)
    };
    let boarding = match r.boarding.trim() {
        "住校" => true,
        "走读" | "" => false,
        other => {
            c.fail("就读方式", other, "import.boarding_invalid", "就读方式只能填“走读”或“住校”");
            false
        }
    };
    let left_behind = c.flag("是否留守儿童", &r.left_behind);
    let migrant_child = c.flag("是否进城务工人员随迁子女", &r.migrant_child);
    let special_needs = c.flag("是否随班就读", &r.special_needs);
    let disability_type = c.optional("残疾类型", &r.disability_type);
    if special_needs && disability_type.is_empty() {
        c.fail("残疾类型", "", "import.disability_required", "随班就读学生须填写残疾类型");
    }
    let given_no = r.student_no.trim();
    let mut student_no = None;
    if !given_no.is_empty() {
        match StudentNo::parse(given_no) {
            Ok(no) => {
                if let (Some(id), Some(given_id)) = (&id_number, no.id_number())
                    && *id != given_id
                {
                    c.fail("学籍号", given_no, "student_no.id_mismatch", "学籍号与身份证件号不一致");
                }
                student_no = Some(no);
            }
            Err(e) => c.domain("学籍号", given_no, e),
        }
    }
    let former_name = c.optional("曾用名", &r.former_name);
    let pinyin = c.optional("姓名拼音", &r.pinyin);
    let birthplace = c.optional("出生地", &r.birthplace);
    let nationality = c.optional("国籍/地区", &r.nationality);
    let household_type = c.optional("户口性质", &r.household_type);
    let entry_mode = c.optional("入学方式", &r.entry_mode);
    if c.failed {
        return None;
    }
    let (name, gender, birth, grade, class_no, entry_date) = (name?, gender?, birth?, grade?, class_no?, entry_date?);
    let student_no = match (student_no, &id_number) {
        (Some(no), _) => no,
        (None, Some(id)) => StudentNo::from_id(id),
        // Allocated later, once the serials in use are known.
        (None, None) => StudentNo::parse(&format!("J{}{}0000", &school_area(school), birth.format("%Y%m%d"))).ok()?,
    };
    let provisional = if r.student_no.trim().is_empty() { provisional } else { None };
    Some(Candidate {
        row: row_no,
        class_number: class_no,
        provisional,
        student: NewStudent {
            student_no,
            school_id: school.id,
            class_id: 0,
            grade,
            name,
            former_name,
            pinyin,
            gender,
            birth_date: birth,
            birthplace,
            ethnicity: ethnicity?,
            nationality: if nationality.is_empty() { "中国".into() } else { nationality },
            id_type: id_type?,
            id_number,
            household_address: household_address?,
            household_type,
            current_address: current_address?,
            entry_date,
            entry_mode,
            boarding,
            left_behind,
            migrant_child,
            special_needs,
            disability_type,
            guardians,
            registered_on: today,
        },
    })
}

/// The county area code used for provisional student numbers.
fn school_area(_school: &School) -> String {
    crate::COUNTY_AREA_CODE.to_owned()
}

/// Checks a roster for a school and, unless it is a dry run and only if every
/// row passes, writes all its rows in one transaction.
pub async fn import(db: &Db, school: &School, sheet: Sheet, opts: &Options) -> AppResult<Report> {
    let mut errors: Vec<RowError> = sheet
        .cell_problems
        .iter()
        .map(|p| RowError {
            row: p.row,
            column: p.column,
            value: p.value.clone(),
            code: "import.cell_format",
            reason: p.reason.clone(),
        })
        .collect();
    let mut warnings = Vec::new();
    let total = sheet.rows.len();
    let mut candidates: Vec<Candidate> =
        sheet.rows.iter().filter_map(|(n, r)| check_row(*n, r, school, opts, &mut errors)).collect();
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
    let error_rows: std::collections::HashSet<usize> = errors.iter().map(|e| e.row).chain(unplaced).collect();
    let mut report = Report {
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
    if opts.dry_run || !report.errors.is_empty() {
        return Ok(report);
    }
    drop(conn);

    // Commit: all rows or none.
    let mut tx = db.pool.begin().await?;
    let now = crate::db::now_text();
    let mut class_id_of: HashMap<(i64, i64), i64> = HashMap::new();
    for (key, (id, _, _)) in &class_ids {
        let id = match id {
            Some(id) => *id,
            None => {
                let grade = Grade::new(u8::try_from(key.0).unwrap_or(0))?;
                schools::insert_class(&mut *tx, school, grade, u8::try_from(key.1).unwrap_or(0), "", None).await?
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
        schools::lock_class(&mut *tx, *class_id).await?;
        let k = schools::capacity_of_class(&mut *tx, *class_id).await?;
        let enrolled = students::enrolled_in_class(&mut *tx, *class_id).await?;
        let cap = crate::domain::ClassCap::new(school.kind, u16::try_from(k.cap).ok())?;
        cap.check_room(&schools::class_name(k.grade, k.number), enrolled.unsigned_abs(), *n)?;
    }
    let mut serials: HashMap<String, u16> = HashMap::new();
    let flagged_rows: std::collections::HashSet<usize> = report.warnings.iter().map(|w| w.row).collect();
    let mut inserted_ids: HashMap<usize, i64> = HashMap::new();
    for (i, mut c) in candidates.into_iter().enumerate() {
        c.student.class_id = class_id_of[&(i64::from(c.student.grade.number()), c.class_number)];
        if let Some((kind, _)) = c.provisional {
            c.student.student_no = next_provisional(&mut tx, &mut serials, kind, c.student.birth_date).await?;
        }
        let id = students::insert(&mut tx, &c.student, opts.actor_id, &now).await?;
        inserted_ids.insert(i, id);
        if flagged_rows.contains(&c.row) {
            let others = flagged.get(&i).cloned().unwrap_or_default();
            let other =
                others.first().copied().or_else(|| in_file_similar.get(&i).and_then(|j| inserted_ids.get(j).copied()));
            problems::flag(
                &mut *tx,
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
    tx.commit().await?;
    report.committed = true;
    Ok(report)
}

/// The next free `L`/`J` number for a birth date.
async fn next_provisional(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
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
