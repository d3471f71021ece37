//! Checking one roster row against the regulation: every cell, the ID
//! number against the birth date and gender, the entry age, the class, and
//! the row against the rows before it in the same sheet. No I/O: the
//! database checks and the commit are in `check.rs`.

use super::Row;
use super::check::{Options, RowError};
use super::member::{MEMBER1, MEMBER2, Member};
use crate::db::schools::School;
use crate::db::students::{Guardian, NationalItems, NewStudent};
use crate::domain::national::{self, Coded, Table};
use crate::domain::student_no::StudentNoKind;
use crate::domain::{DomainError, Gender, Grade, IdNumber, StudentNo, check_entry_age, first_grade_year};
use crate::render::{Coverage, Unprintable};
use chrono::NaiveDate;

/// A row that passed the per-row checks.
#[derive(Debug)]
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

    /// A yes/no item: `None` when the cell is empty (unknown).
    fn flag(&mut self, column: &'static str, value: &str) -> Option<bool> {
        national::parse_flag(column, value).unwrap_or_else(|e| {
            self.fail(column, value.trim(), e.code, format!("{column}只能填“是”或“否”（不知道时留空）"));
            None
        })
    }

    /// A coded item: a code, a label or a known spelling; `None` when empty.
    fn coded(&mut self, column: &'static str, value: &str, table: &'static Table) -> Option<Coded> {
        table.parse(value).unwrap_or_else(|e| {
            self.fail(
                column,
                value.trim(),
                e.code,
                format!("{column}“{}”无效（可填：{}）", value.trim(), table.choices()),
            );
            None
        })
    }

    /// A text item the record keeps as a label: a code becomes its label, a
    /// label or a known finer spelling is kept as written, anything else is refused.
    fn labelled(&mut self, column: &'static str, value: &str, table: &'static Table) -> String {
        let v = value.trim();
        if v.is_empty() || table.entries.iter().any(|(_, l)| *l == v) || table.aliases.iter().any(|(a, _)| *a == v) {
            return v.to_owned();
        }
        match table.by_code(v) {
            Some(c) => c.label().to_owned(),
            None => {
                self.fail(column, v, table.error_code, format!("{column}“{v}”无效（可填：{}）", table.choices()));
                String::new()
            }
        }
    }

    /// A date, or a month (`YYYYMM`, `YYYY-MM`, `YYYY年MM月`) read as its first day.
    fn month_or_date(&mut self, column: &'static str, value: &str) -> Option<NaiveDate> {
        let v = value.trim();
        let digits: String = v.chars().filter(char::is_ascii_digit).collect();
        let is_month =
            digits.len() == 6 && v.chars().all(|c| c.is_ascii_digit() || matches!(c, '-' | '/' | '.' | '年' | '月'));
        if is_month {
            let (y, m) = digits.split_at(4);
            if let (Ok(y), Ok(m)) = (y.parse::<i32>(), m.parse::<u32>())
                && let Some(d) = NaiveDate::from_ymd_opt(y, m, 1)
            {
                return Some(d);
            }
        }
        self.date(column, value)
    }

    /// Optional text of a fixed shape (digits of given lengths); empty is fine.
    fn digits(&mut self, column: &'static str, value: &str, lens: &[usize], what: &str) -> String {
        let v = value.trim();
        let shaped = lens.contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit());
        if !v.is_empty() && !shaped {
            self.fail(column, v, "import.format_invalid", format!("{column}“{v}”应为{what}"));
        }
        v.to_owned()
    }

    /// One family member: all of 姓名, 关系, 联系电话 when any item is given
    /// (or always, for the first); the other items optional.
    fn member(&mut self, n: usize, m: &Member<'_>, required: bool) -> Option<Guardian> {
        let h = if n == 1 { &MEMBER1 } else { &MEMBER2 };
        let any = m.cells().iter().any(|v| !v.trim().is_empty());
        if !required && !any {
            return None;
        }
        let name = self.required(h[0], m.name);
        let relation = self.required(h[1], m.relation);
        let phone = self.required(h[5], m.phone).and_then(|p| self.phone(h[5], &p));
        let relation_note = self.optional(h[2], m.relation_note);
        let current_address = self.optional(h[3], m.current_address);
        let household_address = self.optional(h[4], m.household_address);
        let is_guardian = self.flag(h[6], m.is_guardian);
        let id_type = self.labelled(h[7], m.id_type, &national::ID_TYPE);
        let id_number = self.optional(h[8], m.id_number).to_uppercase();
        if !id_number.is_empty()
            && (id_type.is_empty() || id_type == "居民身份证")
            && let Err(e) = IdNumber::parse(&id_number)
        {
            self.fail(h[8], &id_number, e.code, format!("{}：{}", h[8], e.message));
        }
        let ethnicity = self.optional(h[9], m.ethnicity);
        let ethnicity = match national::ETHNICITY.parse(&ethnicity) {
            Ok(v) => v.map(|v| v.label().to_owned()).unwrap_or_default(),
            Err(_) => {
                self.fail(
                    h[9],
                    &ethnicity,
                    "import.ethnicity_invalid",
                    format!("{}“{ethnicity}”不是有效的民族名称", h[9]),
                );
                String::new()
            }
        };
        let workplace = self.optional(h[10], m.workplace);
        let job_title = self.optional(h[11], m.job_title);
        Some(Guardian {
            name: name?,
            relation: relation?,
            phone: phone?,
            workplace,
            relation_note,
            current_address,
            household_address,
            is_guardian,
            id_type,
            id_number,
            ethnicity,
            job_title,
        })
    }

    /// The national items beyond the core ones.
    fn national(&mut self, r: &Row) -> Option<NationalItems> {
        let left_behind = if r.left_behind.trim() == "是" {
            self.fail(
                "是否留守儿童",
                "是",
                "national.left_behind_invalid",
                "是否留守儿童须写明“单亲留守儿童”或“双亲留守儿童”（代码1或2），“是”分不出是哪一种",
            );
            None
        } else {
            self.coded("是否留守儿童", &r.left_behind, &national::LEFT_BEHIND)
        };
        let disability = self.coded("残疾类型", &r.disability_type, &national::DISABILITY);
        let inclusive = match r.inclusive.trim() {
            // 是: the kind of placement follows the disability.
            "是" => match disability.map(|d| d.code()) {
                None | Some("0") => {
                    self.fail(
                        "残疾类型",
                        r.disability_type.trim(),
                        "import.disability_required",
                        "随班就读学生须填写残疾类型",
                    );
                    None
                }
                Some(d) => national::INCLUSIVE.by_code(match d {
                    "1" => "1",
                    "2" => "2",
                    "5" => "3",
                    _ => "4",
                }),
            },
            _ => {
                let v = self.coded("随班就读", &r.inclusive, &national::INCLUSIVE);
                if v.is_some_and(|v| v.code() != "0") && disability.is_none_or(|d| d.code() == "0") {
                    self.fail(
                        "残疾类型",
                        r.disability_type.trim(),
                        "import.disability_required",
                        "随班就读学生须填写残疾类型",
                    );
                }
                v
            }
        };
        let phone = r.phone.trim();
        let phone =
            if phone.is_empty() { String::new() } else { self.phone("联系电话", phone).unwrap_or_default() };
        let email = self.optional("电子信箱", &r.email);
        if !email.is_empty() && (!email.contains('@') || email.contains(char::is_whitespace)) {
            self.fail("电子信箱", &email, "import.format_invalid", format!("电子信箱“{email}”不是有效的邮箱地址"));
        }
        let items = NationalItems {
            native_place: self.optional("籍贯", &r.native_place),
            birthplace_code: self.digits("出生地行政区划代码", &r.birthplace_code, &[6, 12], "6位或12位行政区划代码"),
            hmt: self.coded("港澳台侨外", &r.hmt, &national::HMT),
            political: self.coded("政治面貌", &r.political, &national::POLITICAL),
            health: self.coded("健康状况", &r.health, &national::HEALTH),
            id_valid: self.optional("身份证件有效期", &r.id_valid),
            specialty: self.optional("特长", &r.specialty),
            aux_no: self.optional("学籍辅号", &r.aux_no),
            seat_no: self.optional("班内学号", &r.seat_no),
            study_mode: self.coded("就读方式", &r.study_mode, &national::STUDY_MODE),
            source: self.optional("学生来源", &r.source),
            mailing_address: self.optional("通信地址", &r.mailing_address),
            home_address: self.optional("家庭地址", &r.home_address),
            phone,
            postcode: self.digits("邮政编码", &r.postcode, &[6], "6位数字"),
            email,
            homepage: self.optional("主页地址", &r.homepage),
            only_child: self.flag("是否独生子女", &r.only_child),
            preschool: self.flag("是否受过学前教育", &r.preschool),
            left_behind,
            migrant_child: self.flag("是否进城务工人员随迁子女", &r.migrant_child),
            orphan: self.flag("是否孤儿", &r.orphan),
            martyr_child: self.flag("是否烈士或优抚子女", &r.martyr_child),
            inclusive,
            disability,
        };
        Some(items)
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
    let ethnicity = c.required("民族", &r.ethnicity).and_then(|e| match national::ETHNICITY.parse(&e) {
        Ok(v) => v.map(|v| v.label().to_owned()),
        Err(_) => {
            c.fail("民族", &e, "import.ethnicity_invalid", format!("民族“{e}”不是有效的民族名称（如“汉族”“满族”）"));
            None
        }
    });
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
        // The national file's types (6, 7, 9, A, Z) and the county's finer spellings.
        Some(
            "护照"
            | "香港特区护照/身份证明"
            | "澳门特区护照/身份证明"
            | "境外永久居住证"
            | "港澳台居民居住证"
            | "港澳居民来往内地通行证"
            | "台湾居民来往大陆通行证"
            | "外国人永久居留身份证"
            | "无"
            | "其他",
        ) => {
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
    let mut guardians = Vec::new();
    if let Some(g) = c.member(1, &r.member(1), true) {
        guardians.push(g);
    }
    if let Some(g) = c.member(2, &r.member(2), false) {
        guardians.push(g);
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
        c.month_or_date("入学日期", &r.entry_date)
    };
    let registered_on = if r.registered_on.trim().is_empty() {
        Some(today)
    } else {
        c.date("报到日期", &r.registered_on).filter(|d| {
            let future = *d > today;
            if future {
                c.fail("报到日期", &r.registered_on, "import.date_future", "报到日期晚于今天");
            }
            !future
        })
    };
    let national = c.national(r);
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
    let nationality = match national::NATIONALITY.parse(&nationality) {
        Ok(Some(v)) => v.label().to_owned(),
        _ if nationality.is_empty() => "中国".to_owned(),
        _ => nationality,
    };
    let household_type = c.labelled("户口性质", &r.household_type, &national::HOUSEHOLD);
    let entry_mode = c.labelled("入学方式", &r.entry_mode, &national::ENTRY_MODE);
    if c.failed {
        return None;
    }
    let (name, gender, birth, grade, class_no, entry_date, registered_on) =
        (name?, gender?, birth?, grade?, class_no?, entry_date?, registered_on?);
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
            nationality,
            id_type: id_type?,
            id_number,
            household_address: household_address?,
            household_type,
            current_address: current_address?,
            entry_date,
            entry_mode,
            national: national?,
            guardians,
            registered_on,
        },
    })
}

/// The county area code used for provisional student numbers.
fn school_area(_school: &School) -> String {
    crate::COUNTY_AREA_CODE.to_owned()
}
