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
mod traps;

use traps::trap;

use super::national::{self, Layout};
use super::{COLUMNS, Row};
use crate::error::AppError;
use calamine::{Data, DataType, Dimensions, Reader, SheetType, Sheets};

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
    let Some((name, _, mut range)) = with_data.pop() else {
        return Err(file_error("import.empty_file", "文件中没有任何内容"));
    };
    // An xlsx sheet's hidden rows and merged regions come from one pass over its XML; where that
    // pass cannot read the sheet, calamine's merged regions still count (and no row is hidden).
    let layout = if bytes.starts_with(b"PK") { sheet_xml::layout(bytes, &name) } else { None };
    let (merged, hidden_rows) = match (layout, &mut book) {
        (Some(layout), _) => (layout.merged, layout.hidden_rows),
        (None, Sheets::Xlsx(x)) => (x.merge_cells_by_sheet_name(&name).unwrap_or_default(), Vec::new()),
        (None, Sheets::Xls(x)) => (x.merge_cells_by_sheet_name(&name).unwrap_or_default(), Vec::new()),
        (None, _) => (Vec::new(), Vec::new()),
    };
    let (first, first_col) = range.start().map_or((0, 0), |(r, c)| (r as usize, c));
    // The cells are moved out of the range, not copied: a roster has some 700,000 of them.
    let (height, width) = range.get_size();
    let grid = (0..height)
        .map(|i| (first + i + 1, (0..width).map(|j| cell_of(std::mem::take(&mut range[(i, j)]))).collect()))
        .collect();
    Ok(Found { grid, first_col, merged, hidden_rows })
}

fn cell_of(d: Data) -> Cell {
    match d {
        Data::Empty => Cell::default(),
        Data::String(s) if s.trim().len() == s.len() => Cell { text: s, numeric: false },
        Data::String(s) => Cell { text: s.trim().to_owned(), numeric: false },
        Data::Int(i) => Cell { text: i.to_string(), numeric: true },
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => Cell { text: format!("{f:.0}"), numeric: true },
        Data::Float(f) => Cell { text: f.to_string(), numeric: true },
        Data::Bool(b) => Cell { text: if b { "是" } else { "否" }.into(), numeric: false },
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
        for (cell, target) in cells.into_iter().zip(&targets) {
            let Some(target) = *target else { continue };
            if !cell.text.is_empty() {
                first_filled.get_or_insert(target.header());
            }
            if let Some(p) = trap(row_no, target.header(), &cell) {
                sheet.cell_problems.push(p);
            }
            match target {
                Target::Template(i) => *slots[i] = cell.text,
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
