//! The national student-status system's spreadsheets (`national-fields.md`),
//! recognised from their header row:
//!
//! - 学前调档名单模板 ([`Layout::IntakeList`]): the primary intake list, only
//!   the five keys 姓名, 性别, 出生日期, 身份证件类型, 身份证件号;
//! - 调档学生导出 ([`Layout::NationalRecord`]): the full record, one column
//!   per national item in the national order ([`RECORD`]), then the two
//!   family members, every coded item as its national code.
//!
//! The national system refuses a file whose header row was changed, so a
//! national layout is read only when its header row is exactly as issued: a
//! file that is recognisably national (most headers match) but has one
//! column renamed, reformatted, moved or missing is refused with
//! `import.header_changed`, naming that column. Our own template
//! ([`Layout::Roster`]) is read as before.
//!
//! Decoding turns a national cell into what the roster template accepts
//! (性别 `1` → 男, 身份证件类型 `Z` → 其他, 民族 `01` → 汉族, …), so the
//! ordinary row checks apply; encoding is the reverse, for the export. A
//! cell that is not a known code is passed on as written, for the row
//! checks to refuse or accept.

use super::Row;
use crate::domain::national::{self, Table};
use crate::error::AppError;
use rust_xlsxwriter::{Format, Workbook};

/// Which spreadsheet a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// Our roster template (学籍名册).
    #[default]
    Roster,
    /// 调档学生导出: the full national record, in national codes.
    NationalRecord,
    /// 学前调档名单模板: the five keys of the primary intake list.
    IntakeList,
}

impl Layout {
    /// The spreadsheet's name, as people know it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Roster => "学籍名册（本系统模板）",
            Self::NationalRecord => "调档学生导出（国家学籍系统）",
            Self::IntakeList => "学前调档名单模板（国家学籍系统）",
        }
    }

    /// The most data rows one sheet of this layout may have.
    pub fn max_rows(self) -> usize {
        match self {
            Self::Roster => super::read::MAX_ROWS,
            Self::NationalRecord | Self::IntakeList => MAX_NATIONAL_ROWS,
        }
    }

    /// The header row, in order, for a national layout.
    pub fn columns(self) -> Option<&'static [NationalColumn]> {
        match self {
            Self::Roster => None,
            Self::NationalRecord => Some(&RECORD),
            Self::IntakeList => Some(&INTAKE),
        }
    }

    /// The name of the issued sheet, for messages.
    fn issued_name(self) -> &'static str {
        match self {
            Self::Roster => "学籍名册",
            Self::NationalRecord => "调档学生导出",
            Self::IntakeList => "学前调档名单模板",
        }
    }
}

/// The national system's cap on the data rows of one sheet.
pub const MAX_NATIONAL_ROWS: usize = 2_000;

/// How a national cell is written.
#[derive(Debug, Clone, Copy)]
pub enum Code {
    /// Free text (names, addresses, numbers), the same in both.
    Text,
    /// `1` 男, `2` 女.
    Gender,
    /// `YYYYMMDD` (the template writes `YYYY-MM-DD`).
    Date,
    /// `YYYYMM` (the template's 入学日期 is a date).
    Month,
    /// A yes/no item: `1`/`0` (the template writes 是/否).
    Flag,
    /// A coded item of a national table: the code (the template writes the label).
    Table(&'static Table),
    /// 出生地: the 12-digit division code when there is one (the template
    /// keeps it in 出生地行政区划代码), else the place's name.
    Birthplace,
}

/// One column of a national spreadsheet.
#[derive(Debug, Clone, Copy)]
pub struct NationalColumn {
    /// The header exactly as the national system issues it.
    pub header: &'static str,
    /// The template column the cell goes to (its header in [`super::COLUMNS`]).
    pub template: &'static str,
    /// How the cell is coded.
    pub code: Code,
}

const fn col(header: &'static str, code: Code) -> NationalColumn {
    NationalColumn { header, template: header, code }
}

/// 学前调档名单模板: the five keys, as issued.
pub static INTAKE: [NationalColumn; 5] = [
    col("姓名", Code::Text),
    col("性别", Code::Gender),
    col("出生日期", Code::Date),
    col("身份证件类型", Code::Table(&national::ID_TYPE)),
    col("身份证件号", Code::Text),
];

/// 调档学生导出: 学籍号, the national items 1-42 in their order (13 照片 is
/// not a cell), then family members 1 and 2 with their twelve items each.
pub static RECORD: [NationalColumn; 66] = [
    col("学籍号", Code::Text),
    col("姓名", Code::Text),
    col("性别", Code::Gender),
    col("出生日期", Code::Date),
    col("出生地", Code::Birthplace),
    col("籍贯", Code::Text),
    col("民族", Code::Table(&national::ETHNICITY)),
    col("国籍/地区", Code::Table(&national::NATIONALITY)),
    col("身份证件类型", Code::Table(&national::ID_TYPE)),
    col("身份证件号", Code::Text),
    col("港澳台侨外", Code::Table(&national::HMT)),
    col("政治面貌", Code::Table(&national::POLITICAL)),
    col("健康状况", Code::Table(&national::HEALTH)),
    col("姓名拼音", Code::Text),
    col("曾用名", Code::Text),
    col("身份证件有效期", Code::Text),
    col("户口所在地", Code::Text),
    col("户口性质", Code::Table(&national::HOUSEHOLD)),
    col("特长", Code::Text),
    col("学籍辅号", Code::Text),
    col("班内学号", Code::Text),
    col("年级", Code::Text),
    col("班级", Code::Text),
    NationalColumn { header: "入学年月", template: "入学日期", code: Code::Month },
    col("入学方式", Code::Table(&national::ENTRY_MODE)),
    col("就读方式", Code::Table(&national::STUDY_MODE)),
    col("学生来源", Code::Text),
    col("现住址", Code::Text),
    col("通信地址", Code::Text),
    col("家庭地址", Code::Text),
    col("联系电话", Code::Text),
    col("邮政编码", Code::Text),
    col("电子信箱", Code::Text),
    col("主页地址", Code::Text),
    col("是否独生子女", Code::Flag),
    col("是否受过学前教育", Code::Flag),
    col("是否留守儿童", Code::Table(&national::LEFT_BEHIND)),
    col("是否进城务工人员随迁子女", Code::Flag),
    col("是否孤儿", Code::Flag),
    col("是否烈士或优抚子女", Code::Flag),
    col("随班就读", Code::Table(&national::INCLUSIVE)),
    col("残疾类型", Code::Table(&national::DISABILITY)),
    col("成员1姓名", Code::Text),
    col("成员1关系", Code::Text),
    col("成员1关系说明", Code::Text),
    col("成员1现住址", Code::Text),
    col("成员1户口所在地", Code::Text),
    col("成员1联系电话", Code::Text),
    col("成员1是否监护人", Code::Flag),
    col("成员1身份证件类型", Code::Table(&national::ID_TYPE)),
    col("成员1身份证件号", Code::Text),
    col("成员1民族", Code::Table(&national::ETHNICITY)),
    col("成员1工作单位", Code::Text),
    col("成员1职务", Code::Text),
    col("成员2姓名", Code::Text),
    col("成员2关系", Code::Text),
    col("成员2关系说明", Code::Text),
    col("成员2现住址", Code::Text),
    col("成员2户口所在地", Code::Text),
    col("成员2联系电话", Code::Text),
    col("成员2是否监护人", Code::Flag),
    col("成员2身份证件类型", Code::Table(&national::ID_TYPE)),
    col("成员2身份证件号", Code::Text),
    col("成员2民族", Code::Table(&national::ETHNICITY)),
    col("成员2工作单位", Code::Text),
    col("成员2职务", Code::Text),
];

/// The template column 出生地行政区划代码, where a coded 出生地 goes.
pub const BIRTHPLACE_CODE: &str = "出生地行政区划代码";

/// Template columns a national file names otherwise: `(template header,
/// national header)`, so that a refusal names the column the registrar sees.
pub fn renamed(layout: Layout) -> Vec<(&'static str, &'static str)> {
    match layout {
        Layout::NationalRecord => vec![(BIRTHPLACE_CODE, "出生地"), ("入学日期", "入学年月")],
        Layout::Roster | Layout::IntakeList => Vec::new(),
    }
}

/// Drops what registrars add to headers: required-field stars and spaces.
pub fn normalise_header(h: &str) -> String {
    h.chars().filter(|c| !matches!(c, '*' | '＊' | ' ' | '\u{3000}')).collect()
}

/// Recognises a header row (cells as written, trimmed): `Ok(Some(layout))`
/// for a national layout exactly as issued, `Ok(None)` for anything else
/// (our template, or a file that is no national one), and
/// `import.header_changed` for a national header that was changed.
pub fn recognise(headers: &[String]) -> Result<Option<Layout>, AppError> {
    let end = headers.iter().rposition(|h| !h.trim().is_empty()).map_or(0, |i| i + 1);
    let headers = &headers[..end];
    for layout in [Layout::IntakeList, Layout::NationalRecord] {
        let expected = layout.columns().unwrap_or_default();
        if headers.len() == expected.len() && headers.iter().zip(expected).all(|(h, c)| h == c.header) {
            return Ok(Some(layout));
        }
    }
    let norm: Vec<String> = headers.iter().map(|h| normalise_header(h)).collect();
    if looks_like_intake(&norm) {
        return Err(header_changed(Layout::IntakeList, headers));
    }
    if looks_like_record(&norm) {
        return Err(header_changed(Layout::NationalRecord, headers));
    }
    Ok(None)
}

/// At least four of the five keys, and hardly anything else: no roster
/// template has so few columns (it requires thirteen).
fn looks_like_intake(norm: &[String]) -> bool {
    let keys = INTAKE.iter().filter(|c| norm.iter().any(|h| h == c.header)).count();
    keys >= 4 && norm.len() <= INTAKE.len() + 2
}

/// Two thirds of the national columns, in an order closer to the national
/// one than to our template's (the two share most items but not their order:
/// the template puts 曾用名 and 姓名拼音 beside 姓名, has 出生地行政区划代码,
/// 入学日期 and 报到日期, and 学籍号 last).
fn looks_like_record(norm: &[String]) -> bool {
    if norm.len() > 4 * RECORD.len() {
        return false;
    }
    let national: Vec<usize> = norm.iter().filter_map(|h| RECORD.iter().position(|c| c.header == h)).collect();
    let mut distinct = national.clone();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() * 3 < RECORD.len() * 2 {
        return false;
    }
    let template: Vec<usize> = norm.iter().filter_map(|h| super::column_index(h)).collect();
    increasing_run(&national) > increasing_run(&template)
}

/// The length of the longest strictly increasing subsequence: how many of
/// the columns stand in the reference order.
fn increasing_run(seq: &[usize]) -> usize {
    let mut tails: Vec<usize> = Vec::new();
    for &x in seq {
        match tails.binary_search(&x) {
            Ok(_) => {}
            Err(i) if i == tails.len() => tails.push(x),
            Err(i) => tails[i] = x,
        }
    }
    tails.len()
}

/// The spreadsheet column letters of a 0-based index (A, …, Z, AA, …).
pub fn column_letters(index: usize) -> String {
    let mut n = index + 1;
    let mut out = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        out.push(char::from(b'A' + u8::try_from(rem).unwrap_or(0)));
        n = (n - 1) / 26;
    }
    out.iter().rev().collect()
}

/// The refusal of a changed national header, naming the first column that
/// differs from the issued header row and how.
fn header_changed(layout: Layout, headers: &[String]) -> AppError {
    let expected: Vec<&str> = layout.columns().unwrap_or_default().iter().map(|c| c.header).collect();
    let what = first_difference(headers, &expected);
    AppError::bad_request(
        "import.header_changed",
        format!(
            "该文件像是国家学籍系统的《{}》，但表头被改动：{what}。国家系统只接受原样的表头，\
             请从国家系统重新下载该表、把数据粘贴进去（不要改动、移动或删除表头）；\
             若要导入本系统的学籍名册，请使用本系统的名册模板",
            layout.issued_name()
        ),
    )
}

/// What differs first between a header row and the issued one.
fn first_difference(headers: &[String], expected: &[&str]) -> String {
    let norm: Vec<String> = headers.iter().map(|h| normalise_header(h)).collect();
    let at = |i: usize| format!("第{}列（{}列）", i + 1, column_letters(i));
    for i in 0..headers.len().max(expected.len()) {
        let (Some(got), Some(want)) = (headers.get(i), expected.get(i)) else {
            return match expected.get(i) {
                Some(want) => format!("缺少{}“{want}”", at(i)),
                None => format!("{}“{}”是多出的列", at(i), headers[i]),
            };
        };
        if got == want {
            continue;
        }
        if norm[i] == *want {
            return format!("{}表头“{got}”应为“{want}”（不能加空格、星号等符号）", at(i));
        }
        let got_elsewhere = expected.contains(&norm[i].as_str());
        let want_at = norm.iter().position(|h| h == want);
        return match (got_elsewhere, want_at) {
            (false, None) => format!("{}应为“{want}”，文件中为“{got}”（表头被改名）", at(i)),
            (false, Some(_)) => format!("{}“{got}”不是该表的列（多出的列）", at(i)),
            (true, None) => format!("缺少“{want}”列（应为{}）", at(i)),
            (true, Some(j)) => format!("“{want}”列应为{}，文件中在{}（列被移动）", at(i), at(j)),
        };
    }
    "表头格式不同".to_owned()
}

/// Decodes one national cell into what the template column accepts.
pub fn decode(code: Code, value: &str) -> String {
    let v = value.trim();
    match code {
        Code::Text | Code::Date | Code::Month | Code::Birthplace => v.to_owned(),
        Code::Gender => match v {
            "1" => "男".to_owned(),
            "2" => "女".to_owned(),
            other => other.to_owned(),
        },
        Code::Flag => match v {
            "1" => "是".to_owned(),
            "0" => "否".to_owned(),
            other => other.to_owned(),
        },
        Code::Table(t) => t.by_code(v).map_or_else(|| v.to_owned(), |c| c.label().to_owned()),
    }
}

/// Whether a decoded cell of this column goes to 出生地行政区划代码 rather
/// than the column's own template column: a 出生地 given as digits.
pub fn is_division_code(column: &NationalColumn, decoded: &str) -> bool {
    matches!(column.code, Code::Birthplace) && !decoded.is_empty() && decoded.bytes().all(|b| b.is_ascii_digit())
}

/// Puts one national cell, decoded, into its row.
pub fn put(row: &mut Row, column: &NationalColumn, value: &str) {
    let decoded = decode(column.code, value);
    let target = if is_division_code(column, &decoded) { BIRTHPLACE_CODE } else { column.template };
    if let Some(i) = super::column_index(target) {
        *row.cells_mut()[i] = decoded;
    }
}

/// One template cell written in the national code.
pub fn encode(code: Code, value: &str) -> String {
    let v = value.trim();
    match code {
        Code::Text | Code::Birthplace => v.to_owned(),
        Code::Gender => match v {
            "男" => "1".to_owned(),
            "女" => "2".to_owned(),
            other => other.to_owned(),
        },
        Code::Date => match chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d") {
            Ok(d) => d.format("%Y%m%d").to_string(),
            Err(_) => v.to_owned(),
        },
        Code::Month => match chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d") {
            Ok(d) => d.format("%Y%m").to_string(),
            Err(_) => v.to_owned(),
        },
        Code::Flag => match v {
            "是" => "1".to_owned(),
            "否" => "0".to_owned(),
            other => other.to_owned(),
        },
        Code::Table(t) => match t.parse(v) {
            Ok(Some(c)) => c.code().to_owned(),
            _ => v.to_owned(),
        },
    }
}

/// A template row as the cells of a national layout, in its order.
pub fn encode_row(layout: Layout, row: &Row) -> Vec<String> {
    let cells = row.cells();
    let cell = |header: &str| super::column_index(header).map_or("", |i| cells[i]);
    layout
        .columns()
        .unwrap_or_default()
        .iter()
        .map(|c| match c.code {
            Code::Birthplace => {
                let code = cell(BIRTHPLACE_CODE);
                if code.trim().is_empty() { cell(c.template).trim().to_owned() } else { code.trim().to_owned() }
            }
            _ => encode(c.code, cell(c.template)),
        })
        .collect()
}

/// Rows as a national workbook: the issued header row, every column as
/// text (so Excel keeps every digit of an ID, a date or a phone number),
/// at most [`MAX_NATIONAL_ROWS`] rows per sheet (a sheet more for each
/// 2,000 rows; an empty list still gets its header row).
pub fn write_xlsx(layout: Layout, rows: &[Vec<String>]) -> anyhow::Result<Vec<u8>> {
    let columns = layout.columns().ok_or_else(|| anyhow::anyhow!("not a national layout"))?;
    let mut book = Workbook::new();
    let text = Format::new().set_num_format("@");
    let header = text.clone().set_bold();
    let parts: Vec<&[Vec<String>]> = if rows.is_empty() { vec![&[]] } else { rows.chunks(MAX_NATIONAL_ROWS).collect() };
    let many = parts.len() > 1;
    for (n, part) in parts.into_iter().enumerate() {
        let sheet = book.add_worksheet();
        let name = if many { format!("{}{}", layout.issued_name(), n + 1) } else { layout.issued_name().to_owned() };
        sheet.set_name(name)?;
        for (i, c) in columns.iter().enumerate() {
            let i = u16::try_from(i)?;
            sheet.write_string_with_format(0, i, c.header, &header)?;
            sheet.set_column_format(i, &text)?;
            sheet.set_column_width(
                i,
                if c.header.ends_with("号") || c.header.ends_with("地址") { 22.0 } else { 12.0 },
            )?;
        }
        sheet.set_freeze_panes(1, 0)?;
        for (r, row) in part.iter().enumerate() {
            let r = u32::try_from(r + 1)?;
            for (c, cell) in row.iter().enumerate() {
                if !cell.is_empty() {
                    sheet.write_string_with_format(r, u16::try_from(c)?, cell, &text)?;
                }
            }
        }
    }
    Ok(book.save_to_buffer()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(layout: Layout) -> Vec<String> {
        layout.columns().unwrap().iter().map(|c| c.header.to_owned()).collect()
    }

    #[test]
    fn every_national_column_has_a_template_column_and_a_unique_header() {
        for layout in [Layout::IntakeList, Layout::NationalRecord] {
            let mut seen = std::collections::HashSet::new();
            for c in layout.columns().unwrap() {
                assert!(super::super::column_index(c.template).is_some(), "{}", c.header);
                assert!(seen.insert(c.header), "{}", c.header);
            }
        }
        assert!(super::super::column_index(BIRTHPLACE_CODE).is_some());
    }

    #[test]
    fn the_issued_headers_are_recognised_and_our_template_is_not_national() {
        assert_eq!(recognise(&headers(Layout::IntakeList)).unwrap(), Some(Layout::IntakeList));
        assert_eq!(recognise(&headers(Layout::NationalRecord)).unwrap(), Some(Layout::NationalRecord));
        let ours: Vec<String> = super::super::COLUMNS.iter().map(|c| c.header.to_owned()).collect();
        assert_eq!(recognise(&ours).unwrap(), None);
        // The template's required columns alone, in its order.
        let required: Vec<String> =
            super::super::COLUMNS.iter().filter(|c| c.required).map(|c| c.header.to_owned()).collect();
        assert_eq!(recognise(&required).unwrap(), None);
        assert_eq!(recognise(&["姓名".to_owned(), "性别".to_owned()]).unwrap(), None);
        // Trailing empty header cells do not count.
        let mut padded = headers(Layout::IntakeList);
        padded.extend(["".to_owned(), " ".to_owned()]);
        assert_eq!(recognise(&padded).unwrap(), Some(Layout::IntakeList));
    }

    fn refusal(headers: &[String]) -> String {
        let e = recognise(headers).unwrap_err();
        assert_eq!(e.code(), "import.header_changed");
        e.to_string()
    }

    #[test]
    fn a_changed_national_header_is_refused_naming_the_column() {
        let mut renamed = headers(Layout::NationalRecord);
        renamed[6] = "民族名称".into();
        let m = refusal(&renamed);
        assert!(m.contains("《调档学生导出》") && m.contains("第7列（G列）应为“民族”，文件中为“民族名称”"), "{m}");

        let mut starred = headers(Layout::NationalRecord);
        starred[1] = "*姓名".into();
        let m = refusal(&starred);
        assert!(m.contains("第2列（B列）表头“*姓名”应为“姓名”"), "{m}");

        let mut missing = headers(Layout::NationalRecord);
        missing.remove(10);
        let m = refusal(&missing);
        assert!(m.contains("缺少“港澳台侨外”列（应为第11列（K列））"), "{m}");

        let mut moved = headers(Layout::NationalRecord);
        let g = moved.remove(2);
        moved.push(g);
        let m = refusal(&moved);
        assert!(m.contains("“性别”列应为第3列（C列），文件中在第66列（BN列）"), "{m}");

        let mut intake = headers(Layout::IntakeList);
        intake.swap(3, 4);
        let m = refusal(&intake);
        assert!(
            m.contains("《学前调档名单模板》") && m.contains("“身份证件类型”列应为第4列（D列），文件中在第5列"),
            "{m}"
        );
        intake.swap(3, 4);
        intake[3] = "证件类型".into();
        assert!(refusal(&intake).contains("第4列（D列）应为“身份证件类型”，文件中为“证件类型”"));
        intake.pop();
        intake[3] = "身份证件类型".into();
        assert!(refusal(&intake).contains("缺少第5列（E列）“身份证件号”"));
    }

    #[test]
    fn national_codes_decode_to_what_the_template_accepts() {
        let mut row = Row::default();
        let values = [
            ("性别", "2"),
            ("民族", "11"),
            ("国籍/地区", "CHN"),
            ("身份证件类型", "Z"),
            ("港澳台侨外", "00"),
            ("健康状况", "3"),
            ("户口性质", "1"),
            ("入学方式", "11"),
            ("就读方式", "2"),
            ("是否独生子女", "1"),
            ("是否孤儿", "0"),
            ("是否留守儿童", "2"),
            ("随班就读", "3"),
            ("残疾类型", "5"),
            ("出生地", "220122000000"),
            ("入学年月", "202609"),
            ("成员1是否监护人", "1"),
            ("成员1身份证件类型", "1"),
            ("成员1民族", "01"),
        ];
        for (h, v) in values {
            put(&mut row, RECORD.iter().find(|c| c.header == h).unwrap(), v);
        }
        assert_eq!(row.gender, "女");
        assert_eq!(row.ethnicity, "满族");
        assert_eq!(row.nationality, "中国");
        assert_eq!(row.id_type, "其他");
        assert_eq!(row.hmt, "否");
        assert_eq!(row.health, "有慢性病");
        assert_eq!(row.household_type, "农业户口");
        assert_eq!(row.entry_mode, "就近入学");
        assert_eq!(row.study_mode, "住校");
        assert_eq!((row.only_child.as_str(), row.orphan.as_str()), ("是", "否"));
        assert_eq!(row.left_behind, "双亲留守儿童");
        assert_eq!(row.inclusive, "智力残疾随班就读");
        assert_eq!(row.disability_type, "智力残疾");
        assert_eq!((row.birthplace_code.as_str(), row.birthplace.as_str()), ("220122000000", ""));
        assert_eq!(row.entry_date, "202609");
        assert_eq!(row.guardian1_is_guardian, "是");
        assert_eq!(row.guardian1_id_type, "居民身份证");
        assert_eq!(row.guardian1_ethnicity, "汉族");
        // A name of a place stays a name; an unknown code is passed on for the row check.
        put(&mut row, &RECORD[4], "吉林省长春市农安县");
        assert_eq!(row.birthplace, "吉林省长春市农安县");
        put(&mut row, &RECORD[2], "3");
        assert_eq!(row.gender, "3");
        for (code, label) in national::ID_TYPE.entries {
            assert_eq!(decode(Code::Table(&national::ID_TYPE), code), *label);
        }
    }

    #[test]
    fn encoding_then_decoding_gives_the_row_back() {
        let row = Row {
            name: "王小明".into(),
            gender: "男".into(),
            birth_date: "2020-03-01".into(),
            birthplace_code: "220122100000".into(),
            ethnicity: "朝鲜族".into(),
            nationality: "中国".into(),
            id_type: "居民身份证".into(),
            id_number: "11010519491231002X".into(),
            hmt: "否".into(),
            political: "少先队员".into(),
            health: "健康或良好".into(),
            household_type: "非农业户口".into(),
            grade: "一年级".into(),
            class: "2".into(),
            entry_date: "2026-09-01".into(),
            entry_mode: "就近入学".into(),
            study_mode: "走读".into(),
            only_child: "否".into(),
            preschool: "是".into(),
            left_behind: "非留守儿童".into(),
            inclusive: "非随班就读".into(),
            disability_type: "无残疾".into(),
            guardian1_name: "王大明".into(),
            guardian1_is_guardian: "是".into(),
            guardian1_id_type: "居民身份证".into(),
            guardian1_ethnicity: "朝鲜族".into(),
            student_no: "G11010519491231002X".into(),
            ..Row::default()
        };
        let cells = encode_row(Layout::NationalRecord, &row);
        let at = |h: &str| cells[RECORD.iter().position(|c| c.header == h).unwrap()].as_str();
        assert_eq!(at("性别"), "1");
        assert_eq!(at("出生日期"), "20200301");
        assert_eq!(at("出生地"), "220122100000");
        assert_eq!(at("民族"), "10");
        assert_eq!(at("国籍/地区"), "CHN");
        assert_eq!(at("身份证件类型"), "1");
        assert_eq!(at("港澳台侨外"), "00");
        assert_eq!(at("政治面貌"), "14");
        assert_eq!(at("入学年月"), "202609");
        assert_eq!(at("入学方式"), "11");
        assert_eq!(at("是否受过学前教育"), "1");
        assert_eq!(at("是否留守儿童"), "0");
        assert_eq!(at("成员1民族"), "10");
        let mut back = Row::default();
        for (c, v) in RECORD.iter().zip(&cells) {
            put(&mut back, c, v);
        }
        let expected = Row { birth_date: "20200301".into(), entry_date: "202609".into(), ..row };
        assert_eq!(back, expected);
    }

    #[test]
    fn the_county_spellings_encode_to_national_codes() {
        let t = Code::Table(&national::ID_TYPE);
        assert_eq!(encode(t, "未办理"), "Z");
        assert_eq!(encode(t, "无"), "Z");
        assert_eq!(encode(t, "护照"), "A");
        assert_eq!(encode(Code::Table(&national::NATIONALITY), "德国"), "德国");
        assert_eq!(encode(Code::Flag, ""), "");
        assert_eq!(encode(Code::Month, "202609"), "202609");
    }

    #[test]
    fn column_letters_run_past_z() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(65), "BN");
        assert_eq!(column_letters(701), "ZZ");
        assert_eq!(column_letters(702), "AAA");
    }

    #[test]
    fn the_workbook_splits_at_the_national_cap_and_reads_back() {
        let rows: Vec<Vec<String>> =
            (0..MAX_NATIONAL_ROWS + 1).map(|i| vec![format!("学生{i}"), "1".into(), "20200301".into()]).collect();
        let bytes = write_xlsx(Layout::IntakeList, &rows).unwrap();
        let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes)).unwrap();
        use calamine::Reader;
        assert_eq!(book.sheet_names(), ["学前调档名单模板1", "学前调档名单模板2"]);
        let first = book.worksheet_range("学前调档名单模板1").unwrap();
        assert_eq!(first.height(), MAX_NATIONAL_ROWS + 1);
    }
}
