//! The registrars' known traps in one cell (`national-fields.md`): IDs that
//! Excel turned into numbers or scientific notation, full-width digits, dates
//! as Excel serial numbers. Each is a [`CellProblem`] naming row and column.

use super::{Cell, CellProblem};
use chrono::NaiveDate;

/// A registrar's trap in one cell, if any.
pub(super) fn trap(row: usize, column: &'static str, cell: &Cell) -> Option<CellProblem> {
    let v = cell.text.as_str();
    if v.is_empty() {
        return None;
    }
    let id_like = column.ends_with("身份证件号") || column == "学籍号";
    let date_like = matches!(column, "出生日期" | "入学日期" | "报到日期");
    let phone_like = column.ends_with("联系电话");
    let problem = |code, reason: String| Some(CellProblem { row, column, value: v.to_owned(), code, reason });
    if (id_like || date_like || phone_like) && v.chars().any(is_full_width) {
        let half: String = v.chars().map(half_width).collect();
        return problem(
            "import.full_width",
            format!("{column}“{v}”含有全角字符，请切换到半角（英文）输入法重新输入：{}", half.trim()),
        );
    }
    if id_like && is_scientific(v) {
        return problem(
            "import.id_scientific",
            format!(
                "{column}“{v}”是科学计数法，Excel 已改写号码、末几位已丢失：\
                 请把该列设为文本格式，再按户口簿重新填写完整号码"
            ),
        );
    }
    if id_like && cell.numeric && v.len() > 15 {
        return problem(
            "import.id_as_number",
            format!(
                "{column}“{v}”以数字格式保存，Excel 只保留15位有效数字，末几位已被改写：\
                 请将该列设为文本格式后按户口簿重新填写"
            ),
        );
    }
    if date_like && let Some(date) = excel_serial(v) {
        return problem(
            "import.date_serial",
            format!(
                "{column}“{v}”是 Excel 的日期序号（即{date}），不是日期文本：\
                 请把该列设为文本格式，填写为 {date}（YYYY-MM-DD）"
            ),
        );
    }
    None
}

/// Full-width ASCII (U+FF01-U+FF5E) and the ideographic space.
fn is_full_width(c: char) -> bool {
    matches!(c, '\u{FF01}'..='\u{FF5E}' | '\u{3000}')
}

/// The half-width character a full-width one stands for.
fn half_width(c: char) -> char {
    match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        other => other,
    }
}

/// `2.20122E+17`, `1E18`, `-3.5e-2`: a number in scientific notation.
fn is_scientific(v: &str) -> bool {
    let Some((mantissa, exponent)) = v.split_once(['e', 'E']) else { return false };
    let mantissa = mantissa.strip_prefix(['+', '-']).unwrap_or(mantissa);
    let exponent = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => digits(int) && (frac.is_empty() || digits(frac)),
        None => digits(mantissa),
    };
    mantissa_ok && digits(exponent)
}

/// The date an Excel serial number stands for, when a date cell holds one:
/// five digits (10000 is 1927-05-18, 99999 is 2173-10-14), maybe with a
/// time of day as a fraction. Shorter numbers are left to the date check
/// (a year alone is no serial number).
fn excel_serial(v: &str) -> Option<NaiveDate> {
    let (days, frac) = v.split_once('.').unwrap_or((v, "0"));
    if days.len() != 5 || !days.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Excel counts from 1899-12-30 for every serial past its 1900 leap-day slip.
    NaiveDate::from_ymd_opt(1899, 12, 30)?.checked_add_days(chrono::Days::new(days.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use super::*;
    use rust_xlsxwriter::{Workbook, Worksheet};

    /// A workbook whose first sheet has the template's header and whatever `fill` writes.
    fn book(fill: impl FnOnce(&mut Worksheet)) -> Vec<u8> {
        let mut book = Workbook::new();
        let sheet = book.add_worksheet();
        for (i, c) in COLUMNS.iter().enumerate() {
            sheet.write_string(0, u16::try_from(i).unwrap(), c.header).unwrap();
        }
        sheet.write_string(1, 0, "王小明").unwrap();
        sheet.write_string(2, 0, "李小红").unwrap();
        fill(sheet);
        book.save_to_buffer().unwrap()
    }

    fn col(header: &str) -> u16 {
        u16::try_from(crate::roster::column_index(header).unwrap()).unwrap()
    }

    fn problems(bytes: &[u8]) -> Vec<(usize, &'static str, &'static str, String)> {
        let sheet = read(bytes).unwrap();
        sheet.cell_problems.into_iter().map(|p| (p.row, p.column, p.code, p.reason)).collect()
    }

    #[test]
    fn ids_in_scientific_notation_or_as_numbers_are_refused() {
        let got = problems(&book(|s| {
            s.write_string(1, col("身份证件号"), "2.20122E+17").unwrap();
            s.write_number(2, col("身份证件号"), 220_122_202_003_010_011.0).unwrap();
            s.write_string(2, col("学籍号"), "2.20122E17").unwrap();
        }));
        let codes: Vec<_> = got.iter().map(|p| (p.0, p.1, p.2)).collect();
        assert_eq!(
            codes,
            [
                (2, "身份证件号", "import.id_scientific"),
                (3, "身份证件号", "import.id_as_number"),
                (3, "学籍号", "import.id_scientific")
            ]
        );
        assert!(got[0].3.contains("身份证件号“2.20122E+17”是科学计数法"), "{}", got[0].3);
        assert!(is_scientific("1e18") && is_scientific("-3.5E-2") && !is_scientific("E17") && !is_scientific("2.2E"));
    }

    #[test]
    fn full_width_digits_are_refused_with_the_half_width_value() {
        let got = problems(&book(|s| {
            s.write_string(1, col("成员1联系电话"), "１３８００１３８０００").unwrap();
            s.write_string(2, col("出生日期"), "２０２０－０３－０１").unwrap();
            s.write_string(2, col("姓名拼音"), "ＷＡＮＧ").unwrap();
        }));
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!((got[0].0, got[0].1, got[0].2), (2, "成员1联系电话", "import.full_width"));
        assert!(got[0].3.ends_with("：13800138000"), "{}", got[0].3);
        assert_eq!((got[1].0, got[1].1), (3, "出生日期"));
        assert!(got[1].3.ends_with("：2020-03-01"), "{}", got[1].3);
    }

    #[test]
    fn a_date_as_an_excel_serial_number_is_refused_naming_the_date() {
        let got = problems(&book(|s| {
            s.write_number(1, col("出生日期"), 43831.0).unwrap();
            s.write_string(2, col("报到日期"), "46000").unwrap();
            s.write_string(2, col("入学日期"), "2019").unwrap();
        }));
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!((got[0].0, got[0].1, got[0].2), (2, "出生日期", "import.date_serial"));
        assert!(got[0].3.contains("（即2020-01-01）") && got[0].3.contains("填写为 2020-01-01"), "{}", got[0].3);
        assert_eq!((got[1].0, got[1].1), (3, "报到日期"));
        assert_eq!(excel_serial("43831.75"), NaiveDate::from_ymd_opt(2020, 1, 1));
        assert_eq!(excel_serial("202009"), None);
        // CSV too.
        let csv = format!("{}\n王小明,,,男,43831\n", COLUMNS.iter().map(|c| c.header).collect::<Vec<_>>().join(","));
        assert_eq!(read(csv.as_bytes()).unwrap().cell_problems[0].code, "import.date_serial");
    }

    #[test]
    fn merged_cells_are_refused_in_the_data_and_above_the_header() {
        let got = problems(&book(|s| {
            let f = rust_xlsxwriter::Format::new();
            s.merge_range(1, col("户口所在地"), 2, col("户口所在地"), "吉林省长春市农安县", &f).unwrap();
        }));
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!((got[0].0, got[0].1, got[0].2), (2, "户口所在地", "import.merged_cells"));
        assert!(got[0].3.starts_with("Q2:Q3是合并单元格"), "{}", got[0].3);

        let mut title = Workbook::new();
        let s = title.add_worksheet();
        s.merge_range(0, 0, 0, 5, "农安县学生名册", &rust_xlsxwriter::Format::new()).unwrap();
        for (i, c) in COLUMNS.iter().enumerate() {
            s.write_string(1, u16::try_from(i).unwrap(), c.header).unwrap();
        }
        let e = read(&title.save_to_buffer().unwrap()).unwrap_err();
        assert_eq!(e.code(), "import.merged_cells");
        assert!(e.to_string().contains("A1:F1"), "{e}");
    }

    #[test]
    fn a_hidden_row_is_refused() {
        let got = problems(&book(|s| {
            s.set_row_hidden(2).unwrap();
        }));
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!((got[0].0, got[0].1, got[0].2), (3, "姓名", "import.hidden_row"));
    }

    #[test]
    fn data_on_two_sheets_is_refused_naming_them_but_an_empty_sheet_is_not() {
        let mut b = Workbook::new();
        b.add_worksheet().set_name("说明").unwrap();
        let s = b.add_worksheet();
        s.set_name("学籍名册").unwrap();
        for (i, c) in COLUMNS.iter().enumerate() {
            s.write_string(0, u16::try_from(i).unwrap(), c.header).unwrap();
        }
        s.write_string(1, 0, "王小明").unwrap();
        let sheet = read(&b.save_to_buffer().unwrap()).unwrap();
        assert_eq!(sheet.rows[0].1.name, "王小明", "the one sheet with data is read, wherever it is");

        let hidden = b.add_worksheet();
        hidden.set_name("旧名单").unwrap();
        hidden.write_string(5, 2, "李小红").unwrap();
        hidden.set_hidden(true);
        let e = read(&b.save_to_buffer().unwrap()).unwrap_err();
        assert_eq!(e.code(), "import.many_sheets");
        assert!(e.to_string().contains("2个工作表有数据：“学籍名册”、“旧名单”（隐藏）"), "{e}");
    }

    #[test]
    fn a_national_file_is_read_into_template_rows() {
        let header = national::INTAKE.iter().map(|c| c.header).collect::<Vec<_>>().join(",");
        let sheet = read(format!("{header}\n王小明,1,20200301,1,220122202003010011\n").as_bytes()).unwrap();
        assert_eq!(sheet.layout, Layout::IntakeList);
        let r = &sheet.rows[0].1;
        assert_eq!((r.gender.as_str(), r.birth_date.as_str(), r.id_type.as_str()), ("男", "20200301", "居民身份证"));

        let mut b = Workbook::new();
        let s = b.add_worksheet();
        for (i, c) in national::RECORD.iter().enumerate() {
            s.write_string(0, u16::try_from(i).unwrap(), c.header).unwrap();
        }
        s.write_string(1, 1, "王小明").unwrap();
        s.write_string(1, 4, "220122100000").unwrap();
        s.write_string(1, 23, "２０２６０９").unwrap();
        let sheet = read(&b.save_to_buffer().unwrap()).unwrap();
        assert_eq!(sheet.layout, Layout::NationalRecord);
        assert_eq!(sheet.rows[0].1.birthplace_code, "220122100000");
        let p = &sheet.cell_problems[0];
        assert_eq!((p.column, p.code), ("入学日期", "import.full_width"));
        assert_eq!(sheet.header_in_file(p.column), "入学年月");
    }

    #[test]
    fn a_national_sheet_holds_at_most_2000_rows() {
        let header = national::INTAKE.iter().map(|c| c.header).collect::<Vec<_>>().join(",");
        let mut text = format!("{header}\n");
        for i in 0..=national::MAX_NATIONAL_ROWS {
            text.push_str(&format!("学生{i},1,20200301,1,\n"));
        }
        let e = read(text.as_bytes()).unwrap_err();
        assert_eq!(e.code(), "import.too_many_rows");
        assert!(e.to_string().contains("最多2000行"), "{e}");
    }
}
