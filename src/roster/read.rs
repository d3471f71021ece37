//! Reading a roster file: xlsx/xls (calamine) or CSV (UTF-8 or GB18030, as
//! Chinese Excel saves it), recognised from its bytes, not its name; then
//! its layout from the header row: our template, or one of the national
//! system's spreadsheets ([`super::national`]), decoded into template rows.
//!
//! Registrars' known traps are caught here, for every layout, each with the
//! row and column named and a stable code, before any rule is checked:
//! an ID or student number that Excel turned into a number or into
//! scientific notation (`import.id_as_number`, `import.id_scientific`),
//! full-width digits or letters in an ID, phone, date or student-number
//! cell (`import.full_width`), a date given as an Excel serial number
//! (`import.date_serial`), merged cells (`import.merged_cells`), hidden rows
//! (`import.hidden_row`), and data on more than one sheet
//! (`import.many_sheets`).

mod sheet_xml;

use super::national::{self, Layout};
use super::{COLUMNS, Row};
use crate::error::AppError;
use calamine::{Data, DataType, Dimensions, Reader, SheetType, Sheets};
use chrono::NaiveDate;

/// The largest roster accepted in one file.
pub const MAX_ROWS: usize = 20_000;

/// A cell refused while reading, before any rule is checked.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CellProblem {
    /// Spreadsheet row number (the header is row 1).
    pub row: usize,
    /// Column header (the template's; a refusal shows the file's).
    pub column: &'static str,
    /// What the cell held.
    pub value: String,
    /// Stable code.
    pub code: &'static str,
    /// Why it was refused.
    pub reason: String,
}

/// The rows of a roster, with their spreadsheet row numbers.
#[derive(Debug, Clone, Default)]
pub struct Sheet {
    /// Which spreadsheet the file is, from its header row.
    pub layout: Layout,
    /// `(row number, row)`; row numbers count the header as row 1.
    pub rows: Vec<(usize, Row)>,
    /// Headers present in the file that the template does not have (ignored).
    pub unknown_columns: Vec<String>,
    /// Cells refused while reading (e.g. an ID number stored as a number).
    pub cell_problems: Vec<CellProblem>,
    /// `(template header, header in the file)` for columns the file names
    /// otherwise, so that a refusal names the column the registrar sees.
    pub renamed: Vec<(&'static str, &'static str)>,
}

impl Sheet {
    /// The header this file uses for a template column.
    pub fn header_in_file(&self, header: &'static str) -> &'static str {
        self.renamed.iter().find(|(h, _)| *h == header).map_or(header, |(_, a)| a)
    }
}

fn file_error(code: &'static str, message: impl Into<String>) -> AppError {
    AppError::bad_request(code, message)
}

/// Reads a roster from bytes.
pub fn read(bytes: &[u8]) -> Result<Sheet, AppError> {
    if bytes.is_empty() {
        return Err(file_error("import.empty_file", "文件为空，请选择填写好的学籍名册（xlsx 或 csv）"));
    }
    let found = if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        read_workbook(bytes)?
    } else if let Some(text) = decode_text(bytes) {
        Found { grid: read_csv(&text)?, ..Found::default() }
    } else {
        return Err(file_error(
            "import.not_spreadsheet",
            "文件不是电子表格：请上传 Excel（.xlsx/.xls）或 CSV 格式的学籍名册",
        ));
    };
    from_grid(found)
}

/// Rows as read, each with its spreadsheet row number (1-based).
type Grid = Vec<(usize, Vec<Cell>)>;

/// One cell as read: its text and whether the spreadsheet stored it as a number.
#[derive(Debug, Clone, Default)]
struct Cell {
    text: String,
    numeric: bool,
}

/// What was read from the one sheet with data.
#[derive(Debug, Default)]
struct Found {
    grid: Grid,
    /// The sheet column of the grid's first column (0-based).
    first_col: u32,
    /// Merged regions (0-based sheet coordinates).
    merged: Vec<Dimensions>,
    /// Hidden rows (1-based).
    hidden_rows: Vec<u32>,
}

fn read_workbook(bytes: &[u8]) -> Result<Found, AppError> {
    let unreadable = || file_error("import.unreadable", "无法读取该 Excel 文件：文件可能已损坏或受密码保护");
    let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes)).map_err(|_| unreadable())?;
    let sheets: Vec<(String, bool)> = book
        .sheets_metadata()
        .iter()
        .filter(|s| s.typ == SheetType::WorkSheet)
        .map(|s| (s.name.clone(), s.visible != calamine::SheetVisible::Visible))
        .collect();
    if sheets.is_empty() {
        return Err(file_error("import.empty_file", "Excel 文件中没有工作表"));
    }
    let mut with_data = Vec::new();
    for (name, hidden) in &sheets {
        let range = book.worksheet_range(name).map_err(|_| unreadable())?;
        if range
            .used_cells()
            .any(|(_, _, d)| !matches!(d, Data::Empty) && !matches!(d, Data::String(s) if s.trim().is_empty()))
        {
            with_data.push((name.clone(), *hidden, range));
        }
    }
    if with_data.len() > 1 {
        let names: Vec<String> = with_data
            .iter()
            .map(|(n, hidden, _)| if *hidden { format!("“{n}”（隐藏）") } else { format!("“{n}”") })
            .collect();
        return Err(file_error(
            "import.many_sheets",
            format!(
                "文件中有{}个工作表有数据：{}。每个文件只能有一个工作表有数据（其余工作表的数据不会被导入），\
                 请删除多余工作表的数据，或把每个工作表另存为单独的文件分别导入",
                names.len(),
                names.join("、")
            ),
        ));
    }
    let Some((name, _, range)) = with_data.pop() else {
        return Err(file_error("import.empty_file", "文件中没有任何内容"));
    };
    let merged = match &mut book {
        Sheets::Xlsx(x) => x.merge_cells_by_sheet_name(&name).unwrap_or_default(),
        Sheets::Xls(x) => x.merge_cells_by_sheet_name(&name).unwrap_or_default(),
        _ => Vec::new(),
    };
    let hidden_rows = if bytes.starts_with(b"PK") { sheet_xml::hidden_rows(bytes, &name) } else { Vec::new() };
    let (first, first_col) = range.start().map_or((0, 0), |(r, c)| (r as usize, c));
    let grid = range.rows().enumerate().map(|(i, r)| (first + i + 1, r.iter().map(cell_of).collect())).collect();
    Ok(Found { grid, first_col, merged, hidden_rows })
}

fn cell_of(d: &Data) -> Cell {
    match d {
        Data::Empty => Cell::default(),
        Data::String(s) => Cell { text: s.trim().to_owned(), numeric: false },
        Data::Int(i) => Cell { text: i.to_string(), numeric: true },
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => Cell { text: format!("{f:.0}"), numeric: true },
        Data::Float(f) => Cell { text: f.to_string(), numeric: true },
        Data::Bool(b) => Cell { text: if *b { "是" } else { "否" }.into(), numeric: false },
        Data::DateTime(_) | Data::DateTimeIso(_) => {
            Cell { text: d.as_date().map(|x| x.to_string()).unwrap_or_else(|| d.to_string()), numeric: false }
        }
        other => Cell { text: other.to_string(), numeric: false },
    }
}
/// Text if the bytes are UTF-8 (with or without BOM) or GB18030 without NULs or control bytes.
fn decode_text(bytes: &[u8]) -> Option<String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t.to_owned(),
        Err(_) => {
            let (t, _, had_errors) = encoding_rs::GB18030.decode(bytes);
            if had_errors {
                return None;
            }
            t.into_owned()
        }
    };
    let binary = text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'));
    (!binary).then_some(text)
}

fn read_csv(text: &str) -> Result<Grid, AppError> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut grid = Vec::new();
    // Newlines before byte `counted`: records come in order, so each byte is
    // looked at once (counting from the start for every record was
    // quadratic: some 300 GiB read for a 32 MiB upload of 20,000 lines).
    let (mut counted, mut newlines) = (0, 0);
    for rec in reader.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            file_error("import.unreadable", format!("CSV 文件第{line}行格式错误，无法读取"))
        })?;
        // The line a person sees in an editor: newlines before the record's first byte, plus one.
        let line = rec.position().map_or(grid.len() + 1, |p| {
            let mut at = usize::try_from(p.byte()).unwrap_or(usize::MAX).min(text.len());
            // The reported start can be that of blank lines the reader skipped.
            while matches!(text.as_bytes().get(at), Some(b'\n' | b'\r')) {
                at += 1;
            }
            if at < counted {
                // Not expected from the reader; counting again stays exact.
                (counted, newlines) = (0, 0);
            }
            newlines += text.as_bytes()[counted..at].iter().filter(|b| **b == b'\n').count();
            counted = at;
            newlines + 1
        });
        grid.push((line, rec.iter().map(|c| Cell { text: c.trim().to_owned(), numeric: false }).collect()));
        if grid.len() > MAX_ROWS + 10 {
            break;
        }
    }
    Ok(grid)
}

/// Where the cells of one file column go.
#[derive(Debug, Clone, Copy)]
enum Target {
    /// A template column, by its index in [`COLUMNS`].
    Template(usize),
    /// A national column, decoded into the template column at the index
    /// (出生地: the second index when the cell is a division code).
    National(&'static national::NationalColumn, usize, usize),
}

impl Target {
    /// The template column's header (what the traps look at).
    fn header(self) -> &'static str {
        match self {
            Self::Template(i) => COLUMNS[i].header,
            Self::National(c, _, _) => c.template,
        }
    }
}

fn template_index(header: &str) -> usize {
    super::column_index(header).expect("every national column has a template column (tested)")
}

/// Our template's columns: by header or an older alias, in any order; the
/// required ones must be there.
fn roster_targets(headers: &[String]) -> Result<(Vec<Option<Target>>, Sheet), AppError> {
    let headers: Vec<String> = headers.iter().map(|h| national::normalise_header(h)).collect();
    let mut index = [None; COLUMNS.len()];
    for (i, col) in COLUMNS.iter().enumerate() {
        index[i] = headers.iter().position(|h| col.is(h));
    }
    let missing: Vec<&str> =
        COLUMNS.iter().zip(&index).filter(|(c, i)| c.required && i.is_none()).map(|(c, _)| c.header).collect();
    if !missing.is_empty() {
        return Err(file_error(
            "import.missing_columns",
            format!("名册缺少必填列：{}。请使用系统导出的学籍名册模板（第一行为列名）", missing.join("、")),
        ));
    }
    let unknown_columns =
        headers.iter().filter(|h| !h.is_empty() && !COLUMNS.iter().any(|c| c.is(h))).cloned().collect();
    let renamed = COLUMNS
        .iter()
        .zip(&index)
        .filter_map(|(c, i)| {
            let h = &headers[(*i)?];
            c.aliases.iter().find(|a| **a == h.as_str()).map(|a| (c.header, *a))
        })
        .collect();
    let mut targets = vec![None; headers.len()];
    for (i, f) in index.iter().enumerate() {
        if let Some(f) = f {
            targets[*f] = Some(Target::Template(i));
        }
    }
    Ok((targets, Sheet { unknown_columns, renamed, ..Sheet::default() }))
}

/// A national layout's columns, one per file column, in the issued order.
fn national_targets(layout: Layout) -> (Vec<Option<Target>>, Sheet) {
    let code_index = template_index(national::BIRTHPLACE_CODE);
    let targets = layout
        .columns()
        .unwrap_or_default()
        .iter()
        .map(|c| Some(Target::National(c, template_index(c.template), code_index)))
        .collect();
    (targets, Sheet { layout, renamed: national::renamed(layout), ..Sheet::default() })
}

fn from_grid(found: Found) -> Result<Sheet, AppError> {
    let Found { grid, first_col, merged, hidden_rows } = found;
    let mut rows = grid.into_iter().filter(|(_, r)| r.iter().any(|c| !c.text.is_empty()));
    let Some((header_row, header)) = rows.next() else {
        return Err(file_error("import.empty_file", "文件中没有任何内容"));
    };
    let cell_name = |row: u32, col: u32| format!("{}{}", national::column_letters(col as usize), row + 1);
    let range_name = |m: &Dimensions| format!("{}:{}", cell_name(m.start.0, m.start.1), cell_name(m.end.0, m.end.1));
    if let Some(m) = merged.iter().find(|m| (m.start.0 as usize) < header_row) {
        return Err(file_error(
            "import.merged_cells",
            format!(
                "表头（第{header_row}行）或其上方有合并单元格 {}：第一行须为列名、每个列名单独一格。\
                 请删除标题行、取消合并后再导入",
                range_name(m)
            ),
        ));
    }
    let raw: Vec<String> = header.iter().map(|c| c.text.clone()).collect();
    let layout = national::recognise(&raw)?.unwrap_or_default();
    let (targets, mut sheet) = match layout {
        Layout::Roster => roster_targets(&raw)?,
        national => national_targets(national),
    };
    let cap = layout.max_rows();
    for (row_no, cells) in rows {
        if sheet.rows.len() >= cap {
            return Err(file_error(
                "import.too_many_rows",
                match layout {
                    Layout::Roster => format!("名册超过{cap}行，请按学校或年级分成多个文件导入"),
                    _ => format!("国家学籍系统的表格每个工作表最多{cap}行数据，本表超过{cap}行：请分成多个文件导入"),
                },
            ));
        }
        let mut row = Row::default();
        let slots = row.cells_mut();
        let mut first_filled = None;
        for (cell, target) in cells.iter().zip(&targets) {
            let Some(target) = *target else { continue };
            if !cell.text.is_empty() {
                first_filled.get_or_insert(target.header());
            }
            if let Some(p) = trap(row_no, target.header(), cell) {
                sheet.cell_problems.push(p);
            }
            match target {
                Target::Template(i) => slots[i].clone_from(&cell.text),
                Target::National(c, i, code_index) => {
                    let decoded = national::decode(c.code, &cell.text);
                    let i = if national::is_division_code(c, &decoded) { code_index } else { i };
                    *slots[i] = decoded;
                }
            }
        }
        if u32::try_from(row_no).is_ok_and(|r| hidden_rows.contains(&r)) {
            sheet.cell_problems.push(CellProblem {
                row: row_no,
                column: first_filled.unwrap_or(COLUMNS[0].header),
                value: String::new(),
                code: "import.hidden_row",
                reason: format!(
                    "第{row_no}行是隐藏行：隐藏的行也会被导入，请取消隐藏、核对后再导入（不需要的行请删除）"
                ),
            });
        }
        sheet.rows.push((row_no, row));
    }
    if sheet.rows.is_empty() {
        return Err(file_error("import.no_rows", "名册只有表头，没有学生数据"));
    }
    for m in &merged {
        let (top, bottom) = (m.start.0 as usize + 1, m.end.0 as usize + 1);
        let Some(row) = sheet.rows.iter().map(|(n, _)| *n).find(|n| (top..=bottom).contains(n)) else { continue };
        let column = (m.start.1..=m.end.1)
            .filter_map(|c| c.checked_sub(first_col))
            .find_map(|c| targets.get(c as usize).copied().flatten())
            .map_or(COLUMNS[0].header, Target::header);
        let range = range_name(m);
        sheet.cell_problems.push(CellProblem {
            row,
            column,
            value: range.clone(),
            code: "import.merged_cells",
            reason: format!(
                "{range}是合并单元格：合并后只有左上角一格有内容，其余各格会被当作空白。请取消合并，在每一格填写完整内容"
            ),
        });
    }
    sheet.cell_problems.sort_by_key(|p| p.row);
    Ok(sheet)
}

/// A registrar's trap in one cell, if any.
fn trap(row: usize, column: &'static str, cell: &Cell) -> Option<CellProblem> {
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
    use super::*;

    fn header() -> String {
        COLUMNS.iter().map(|c| c.header).collect::<Vec<_>>().join(",")
    }

    #[test]
    fn empty_and_binary_files_are_refused() {
        assert_eq!(read(b"").unwrap_err().code(), "import.empty_file");
        assert_eq!(read(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").unwrap_err().code(), "import.not_spreadsheet");
        assert_eq!(read(b"   \n\n").unwrap_err().code(), "import.empty_file");
    }

    #[test]
    fn missing_columns_are_named() {
        let e = read("姓名,性别\n张三,男\n".as_bytes()).unwrap_err();
        assert_eq!(e.code(), "import.missing_columns");
        assert!(e.to_string().contains("身份证件号"), "{e}");
    }

    #[test]
    fn header_only_is_refused() {
        assert_eq!(read(header().as_bytes()).unwrap_err().code(), "import.no_rows");
    }

    #[test]
    fn csv_rows_keep_their_row_numbers_and_gbk_is_read() {
        let text = format!("{}\n\n王小明,,,男\n", header().replace("姓名", "*姓名"));
        let (gbk, _, _) = encoding_rs::GB18030.encode(&text);
        let sheet = read(&gbk).unwrap();
        assert_eq!(sheet.rows.len(), 1);
        assert_eq!(sheet.rows[0].0, 3);
        assert_eq!(sheet.rows[0].1.name, "王小明");
        assert_eq!(sheet.rows[0].1.gender, "男");
    }

    #[test]
    fn long_csv_line_numbers_are_counted_once() {
        // 20,000 rows of 200 bytes, blank lines and a quoted newline among
        // them: every row keeps the line a person sees in an editor, and the
        // count no longer goes back to the start of the file for each row.
        let filler = "x".repeat(150);
        let mut text = format!("{}\n", header());
        let mut expected = Vec::new();
        let mut line = 2;
        for i in 0..20_000 {
            if i % 1000 == 0 {
                text.push_str("\n\r\n");
                line += 2;
            }
            if i == 5 {
                text.push_str(&format!("\"学生\n{i}\",,{filler},男\n"));
                expected.push(line);
                line += 2;
                continue;
            }
            text.push_str(&format!("学生{i},,{filler},男\n"));
            expected.push(line);
            line += 1;
        }
        let sheet = read(text.as_bytes()).unwrap();
        assert_eq!(sheet.rows.iter().map(|(n, _)| *n).collect::<Vec<_>>(), expected);
        assert_eq!(sheet.rows[5].1.name, "学生\n5");
    }

    #[test]
    fn a_broken_zip_is_unreadable() {
        assert_eq!(read(b"PK\x03\x04garbage").unwrap_err().code(), "import.unreadable");
    }
}

#[cfg(test)]
mod trap_tests {
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
        u16::try_from(super::super::column_index(header).unwrap()).unwrap()
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
