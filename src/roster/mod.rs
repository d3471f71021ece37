//! Roster spreadsheets (学籍名册): the columns schools already use, read from
//! xlsx or CSV, checked row by row, and written back in the same template.
//! The template holds every item of the national record
//! (`national-fields.md`): the student's items and two family members'.
//! The national system's own spreadsheets are recognised from their header
//! row and decoded into template rows ([`national`]).

pub mod check;
pub mod export;
mod hold;
pub mod intake;
mod member;
pub mod national;
pub mod read;
mod rows;

/// One column of the roster template: its Chinese header and whether a row must fill it.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// The header as printed in the template's first row.
    pub header: &'static str,
    /// Older headers of the same column, still read.
    pub aliases: &'static [&'static str],
    /// Whether the column must be in the file.
    pub required: bool,
}

impl Column {
    /// Whether a (normalised) header names this column.
    pub fn is(&self, header: &str) -> bool {
        self.header == header || self.aliases.contains(&header)
    }
}

macro_rules! roster_columns {
    ($( #[doc = $doc:literal] $field:ident : $header:literal [$($alias:literal),*] $req:ident, )*) => {
        /// One row of a roster as the spreadsheet gives it: every cell as text, in
        /// the order of [`COLUMNS`]. Checking turns it into a validated student.
        #[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        pub struct Row {
            $( #[doc = $doc] #[serde(default)] pub $field: String, )*
        }

        /// The roster template, in order.
        pub const COLUMNS: [Column; 68] = [
            $( Column { header: $header, aliases: &[$($alias),*], required: roster_columns!(@req $req) }, )*
        ];

        impl Row {
            /// The cells in the order of [`COLUMNS`].
            pub fn cells(&self) -> [&str; 68] {
                [$( &self.$field ),*]
            }

            /// Mutable access to the cells in the order of [`COLUMNS`].
            pub fn cells_mut(&mut self) -> [&mut String; 68] {
                [$( &mut self.$field ),*]
            }
        }
    };
    (@req required) => { true };
    (@req optional) => { false };
}

roster_columns! {
    /// 姓名
    name: "姓名" [] required,
    /// 曾用名
    former_name: "曾用名" [] optional,
    /// 姓名拼音
    pinyin: "姓名拼音" [] optional,
    /// 性别: 男/女
    gender: "性别" [] required,
    /// 出生日期: YYYY-MM-DD
    birth_date: "出生日期" [] required,
    /// 出生地
    birthplace: "出生地" [] optional,
    /// 出生地行政区划代码: 12 (or 6) digits
    birthplace_code: "出生地行政区划代码" [] optional,
    /// 籍贯
    native_place: "籍贯" [] optional,
    /// 民族, e.g. 汉族 (or its GB 3304 code)
    ethnicity: "民族" [] required,
    /// 国籍/地区, e.g. 中国 (or CHN)
    nationality: "国籍/地区" [] optional,
    /// 身份证件类型: 居民身份证 (G number), 未办理 (temporary L number), 护照/其他/无 (J number)
    id_type: "身份证件类型" [] required,
    /// 身份证件号 (18 characters for 居民身份证; may be empty for 未办理/无)
    id_number: "身份证件号" [] required,
    /// 身份证件有效期, e.g. 2020.06.01-2030.06.01
    id_valid: "身份证件有效期" [] optional,
    /// 港澳台侨外: 否, 香港同胞, … (or the code)
    hmt: "港澳台侨外" [] optional,
    /// 政治面貌: 少先队员/共青团员/群众
    political: "政治面貌" [] optional,
    /// 健康状况: 健康或良好/一般或较弱/有慢性病/残疾
    health: "健康状况" [] optional,
    /// 户口所在地
    household_address: "户口所在地" [] required,
    /// 户口性质: 农业户口/非农业户口/居民户口
    household_type: "户口性质" [] optional,
    /// 特长
    specialty: "特长" [] optional,
    /// 学籍辅号
    aux_no: "学籍辅号" [] optional,
    /// 班内学号
    seat_no: "班内学号" [] optional,
    /// 年级: 1-9 or 一年级…九年级
    grade: "年级" [] required,
    /// 班级: the class number within the grade, e.g. `2` or `2班`
    class: "班级" [] required,
    /// 入学日期: YYYY-MM-DD or YYYYMM (default: 1 September of the grade's intake year)
    entry_date: "入学日期" ["入学年月"] optional,
    /// 入学方式: 就近入学/其他 (统一招生, 转学转入)
    entry_mode: "入学方式" [] optional,
    /// 就读方式: 走读/住校/送教上门
    study_mode: "就读方式" [] optional,
    /// 学生来源: 正常入学/借读/其他
    source: "学生来源" [] optional,
    /// 现住址
    current_address: "现住址" [] required,
    /// 通信地址
    mailing_address: "通信地址" [] optional,
    /// 家庭地址
    home_address: "家庭地址" [] optional,
    /// 联系电话
    phone: "联系电话" [] optional,
    /// 邮政编码: 6 digits
    postcode: "邮政编码" [] optional,
    /// 电子信箱
    email: "电子信箱" [] optional,
    /// 主页地址
    homepage: "主页地址" [] optional,
    /// 是否独生子女: 是/否
    only_child: "是否独生子女" [] optional,
    /// 是否受过学前教育: 是/否
    preschool: "是否受过学前教育" [] optional,
    /// 是否留守儿童: 非留守儿童/单亲留守儿童/双亲留守儿童 (0/1/2)
    left_behind: "是否留守儿童" [] optional,
    /// 是否进城务工人员随迁子女: 是/否
    migrant_child: "是否进城务工人员随迁子女" [] optional,
    /// 是否孤儿: 是/否
    orphan: "是否孤儿" [] optional,
    /// 是否烈士或优抚子女: 是/否
    martyr_child: "是否烈士或优抚子女" [] optional,
    /// 随班就读: 非随班就读/视力残疾随班就读/…, or 是/否 (then the kind follows 残疾类型)
    inclusive: "随班就读" ["是否随班就读"] optional,
    /// 残疾类型: 视力/听力/言语/肢体/智力/精神/多重 (残疾), 无残疾
    disability_type: "残疾类型" [] optional,
    /// 成员1姓名
    guardian1_name: "成员1姓名" ["监护人姓名"] required,
    /// 成员1关系: 父亲/母亲/祖父/祖母/外祖父/外祖母/其他
    guardian1_relation: "成员1关系" ["监护人关系"] required,
    /// 成员1关系说明
    guardian1_relation_note: "成员1关系说明" [] optional,
    /// 成员1现住址
    guardian1_current_address: "成员1现住址" [] optional,
    /// 成员1户口所在地
    guardian1_household_address: "成员1户口所在地" [] optional,
    /// 成员1联系电话: 11-digit mobile or a landline with area code
    guardian1_phone: "成员1联系电话" ["监护人电话"] required,
    /// 成员1是否监护人: 是/否
    guardian1_is_guardian: "成员1是否监护人" [] optional,
    /// 成员1身份证件类型
    guardian1_id_type: "成员1身份证件类型" [] optional,
    /// 成员1身份证件号
    guardian1_id_number: "成员1身份证件号" [] optional,
    /// 成员1民族
    guardian1_ethnicity: "成员1民族" [] optional,
    /// 成员1工作单位
    guardian1_workplace: "成员1工作单位" [] optional,
    /// 成员1职务
    guardian1_job_title: "成员1职务" [] optional,
    /// 成员2姓名
    guardian2_name: "成员2姓名" ["监护人2姓名"] optional,
    /// 成员2关系: 父亲/母亲/祖父/祖母/外祖父/外祖母/其他
    guardian2_relation: "成员2关系" ["监护人2关系"] optional,
    /// 成员2关系说明
    guardian2_relation_note: "成员2关系说明" [] optional,
    /// 成员2现住址
    guardian2_current_address: "成员2现住址" [] optional,
    /// 成员2户口所在地
    guardian2_household_address: "成员2户口所在地" [] optional,
    /// 成员2联系电话: 11-digit mobile or a landline with area code
    guardian2_phone: "成员2联系电话" ["监护人2电话"] optional,
    /// 成员2是否监护人: 是/否
    guardian2_is_guardian: "成员2是否监护人" [] optional,
    /// 成员2身份证件类型
    guardian2_id_type: "成员2身份证件类型" [] optional,
    /// 成员2身份证件号
    guardian2_id_number: "成员2身份证件号" [] optional,
    /// 成员2民族
    guardian2_ethnicity: "成员2民族" [] optional,
    /// 成员2工作单位
    guardian2_workplace: "成员2工作单位" [] optional,
    /// 成员2职务
    guardian2_job_title: "成员2职务" [] optional,
    /// 报到日期: the day the child first registered (default: the import day; Art. 9)
    registered_on: "报到日期" [] optional,
    /// 学籍号: empty for new students (it is derived), else the existing number
    student_no: "学籍号" [] optional,
}

/// The index in [`COLUMNS`] of the column with this header.
pub fn column_index(header: &str) -> Option<usize> {
    COLUMNS.iter().position(|c| c.is(header))
}

impl Row {
    /// The twelve cells of family member `n` (1 or 2; any other: 2), in the template's order.
    pub fn member_mut(&mut self, n: usize) -> [&mut String; 12] {
        if n == 1 {
            [
                &mut self.guardian1_name,
                &mut self.guardian1_relation,
                &mut self.guardian1_relation_note,
                &mut self.guardian1_current_address,
                &mut self.guardian1_household_address,
                &mut self.guardian1_phone,
                &mut self.guardian1_is_guardian,
                &mut self.guardian1_id_type,
                &mut self.guardian1_id_number,
                &mut self.guardian1_ethnicity,
                &mut self.guardian1_workplace,
                &mut self.guardian1_job_title,
            ]
        } else {
            [
                &mut self.guardian2_name,
                &mut self.guardian2_relation,
                &mut self.guardian2_relation_note,
                &mut self.guardian2_current_address,
                &mut self.guardian2_household_address,
                &mut self.guardian2_phone,
                &mut self.guardian2_is_guardian,
                &mut self.guardian2_id_type,
                &mut self.guardian2_id_number,
                &mut self.guardian2_ethnicity,
                &mut self.guardian2_workplace,
                &mut self.guardian2_job_title,
            ]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_aliases_are_unique() {
        let mut all: Vec<&str> =
            COLUMNS.iter().flat_map(|c| std::iter::once(c.header).chain(c.aliases.iter().copied())).collect();
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n);
        assert_eq!(column_index("监护人姓名"), column_index("成员1姓名"));
    }
}
