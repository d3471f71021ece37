//! Checking one roster row against the regulation: every cell, the ID
//! number against the birth date and gender, the entry age, the class, and
//! the row against the rows before it in the same sheet. No I/O: the
//! database checks and the commit are in `check.rs`.

use super::Row;
use super::check::{Options, RowError};
use crate::db::schools::School;
use crate::db::students::{Guardian, NewStudent};
use crate::domain::student_no::StudentNoKind;
use crate::domain::{DomainError, Gender, Grade, IdNumber, StudentNo, check_entry_age, first_grade_year};
use crate::render::{Coverage, Unprintable};
use chrono::NaiveDate;

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
pub(super) struct Candidate {
    pub(super) row: usize,
    pub(super) student: NewStudent,
    pub(super) class_number: i64,
    pub(super) provisional: Option<(StudentNoKind, String)>,
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

pub(super) fn class_number(value: &str) -> Option<i64> {
    let digits: String = value.chars().filter(char::is_ascii_digit).collect();
    let rest_ok = value.chars().all(|c| c.is_ascii_digit() || matches!(c, '班' | '(' | ')' | '（' | '）' | ' '));
    digits.parse::<i64>().ok().filter(|n| (1..=99).contains(n) && rest_ok)
}

/// Checks one row on its own (no database): every cell, the ID against the
/// record, the entry age, the grade against the school.
pub(super) fn check_row(
    row_no: usize,
    r: &Row,
    school: &School,
    opts: &Options,
    errors: &mut Vec<RowError>,
) -> Option<Candidate> {
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
