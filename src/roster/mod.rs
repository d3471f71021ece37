//! Roster spreadsheets (学籍名册): the columns schools already use, read from
//! xlsx or CSV, checked row by row, and written back in the same template.

pub mod check;
pub mod export;
pub mod read;
mod rows;

/// One column of the roster template: its Chinese header and whether a row must fill it.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// The header as printed in the template's first row.
    pub header: &'static str,
    /// Whether every row must give a value.
    pub required: bool,
}

const fn col(header: &'static str, required: bool) -> Column {
    Column { header, required }
}

/// The roster template, in order.
pub const COLUMNS: [Column; 29] = [
    col("姓名", true),
    col("曾用名", false),
    col("姓名拼音", false),
    col("性别", true),
    col("出生日期", true),
    col("出生地", false),
    col("民族", true),
    col("国籍/地区", false),
    col("身份证件类型", true),
    col("身份证件号", true),
    col("户口所在地", true),
    col("户口性质", false),
    col("现住址", true),
    col("监护人姓名", true),
    col("监护人关系", true),
    col("监护人电话", true),
    col("监护人2姓名", false),
    col("监护人2关系", false),
    col("监护人2电话", false),
    col("年级", true),
    col("班级", true),
    col("入学日期", false),
    col("入学方式", false),
    col("就读方式", false),
    col("是否留守儿童", false),
    col("是否进城务工人员随迁子女", false),
    col("是否随班就读", false),
    col("残疾类型", false),
    col("学籍号", false),
];

/// One row of a roster as the spreadsheet gives it: every cell as text, in
/// the order of [`COLUMNS`]. Checking turns it into a validated student.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Row {
    /// 姓名
    pub name: String,
    /// 曾用名
    pub former_name: String,
    /// 姓名拼音
    pub pinyin: String,
    /// 性别: 男/女
    pub gender: String,
    /// 出生日期: YYYY-MM-DD
    pub birth_date: String,
    /// 出生地
    pub birthplace: String,
    /// 民族, e.g. 汉族
    pub ethnicity: String,
    /// 国籍/地区, e.g. 中国
    pub nationality: String,
    /// 身份证件类型: 居民身份证 (G number), 未办理 (temporary L number), 护照/其他/无 (J number)
    pub id_type: String,
    /// 身份证件号 (18 characters for 居民身份证; may be empty for 未办理/无)
    pub id_number: String,
    /// 户口所在地
    pub household_address: String,
    /// 户口性质: 农业户口/非农业户口/居民户口
    pub household_type: String,
    /// 现住址
    pub current_address: String,
    /// 监护人姓名
    pub guardian1_name: String,
    /// 监护人关系: 父亲/母亲/祖父/祖母/外祖父/外祖母/其他
    pub guardian1_relation: String,
    /// 监护人电话: 11-digit mobile number
    pub guardian1_phone: String,
    /// 监护人2姓名
    pub guardian2_name: String,
    /// 监护人2关系
    pub guardian2_relation: String,
    /// 监护人2电话
    pub guardian2_phone: String,
    /// 年级: 1-9 or 一年级…九年级
    pub grade: String,
    /// 班级: the class number within the grade, e.g. `2` or `2班`
    pub class: String,
    /// 入学日期: YYYY-MM-DD (default: 1 September of the grade's intake year)
    pub entry_date: String,
    /// 入学方式: 就近入学/统一招生/转学转入/其他
    pub entry_mode: String,
    /// 就读方式: 走读/住校
    pub boarding: String,
    /// 是否留守儿童: 是/否
    pub left_behind: String,
    /// 是否进城务工人员随迁子女: 是/否
    pub migrant_child: String,
    /// 是否随班就读: 是/否
    pub special_needs: String,
    /// 残疾类型: 视力/听力/言语/肢体/智力/精神/多重 (with 随班就读)
    pub disability_type: String,
    /// 学籍号: empty for new students (it is derived), else the existing number
    pub student_no: String,
}

impl Row {
    /// The cells in the order of [`COLUMNS`].
    pub fn cells(&self) -> [&str; 29] {
        [
            &self.name,
            &self.former_name,
            &self.pinyin,
            &self.gender,
            &self.birth_date,
            &self.birthplace,
            &self.ethnicity,
            &self.nationality,
            &self.id_type,
            &self.id_number,
            &self.household_address,
            &self.household_type,
            &self.current_address,
            &self.guardian1_name,
            &self.guardian1_relation,
            &self.guardian1_phone,
            &self.guardian2_name,
            &self.guardian2_relation,
            &self.guardian2_phone,
            &self.grade,
            &self.class,
            &self.entry_date,
            &self.entry_mode,
            &self.boarding,
            &self.left_behind,
            &self.migrant_child,
            &self.special_needs,
            &self.disability_type,
            &self.student_no,
        ]
    }

    /// Mutable access to the cells in the order of [`COLUMNS`].
    pub fn cells_mut(&mut self) -> [&mut String; 29] {
        [
            &mut self.name,
            &mut self.former_name,
            &mut self.pinyin,
            &mut self.gender,
            &mut self.birth_date,
            &mut self.birthplace,
            &mut self.ethnicity,
            &mut self.nationality,
            &mut self.id_type,
            &mut self.id_number,
            &mut self.household_address,
            &mut self.household_type,
            &mut self.current_address,
            &mut self.guardian1_name,
            &mut self.guardian1_relation,
            &mut self.guardian1_phone,
            &mut self.guardian2_name,
            &mut self.guardian2_relation,
            &mut self.guardian2_phone,
            &mut self.grade,
            &mut self.class,
            &mut self.entry_date,
            &mut self.entry_mode,
            &mut self.boarding,
            &mut self.left_behind,
            &mut self.migrant_child,
            &mut self.special_needs,
            &mut self.disability_type,
            &mut self.student_no,
        ]
    }
}
