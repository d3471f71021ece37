//! Reading a roster file: xlsx/xls (calamine) or CSV (UTF-8 or GB18030, as
//! Chinese Excel saves it), recognised from its bytes, not its name.

use super::{COLUMNS, Row};
use crate::error::AppError;
use calamine::{Data, DataType, Reader};

/// The largest roster accepted in one file.
pub const MAX_ROWS: usize = 20_000;

/// A cell refused while reading, before any rule is checked.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CellProblem {
    /// Spreadsheet row number (the header is row 1).
    pub row: usize,
    /// Column header.
    pub column: &'static str,
    /// What the cell held.
    pub value: String,
    /// Why it was refused.
    pub reason: String,
}

/// The rows of a roster, with their spreadsheet row numbers.
#[derive(Debug, Clone, Default)]
pub struct Sheet {
    /// `(row number, row)`; row numbers count the header as row 1.
    pub rows: Vec<(usize, Row)>,
    /// Headers present in the file that the template does not have (ignored).
    pub unknown_columns: Vec<String>,
    /// Cells refused while reading (e.g. an ID number stored as a number).
    pub cell_problems: Vec<CellProblem>,
    /// `(template header, header in the file)` for columns the file names by
    /// an older header, so that a refusal names the column the registrar sees.
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
    let grid = if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        read_workbook(bytes)?
    } else if let Some(text) = decode_text(bytes) {
        read_csv(&text)?
    } else {
        return Err(file_error(
            "import.not_spreadsheet",
            "文件不是电子表格：请上传 Excel（.xlsx/.xls）或 CSV 格式的学籍名册",
        ));
    };
    from_grid(grid)
}

/// Rows as read, each with its spreadsheet row number (1-based).
type Grid = Vec<(usize, Vec<Cell>)>;

/// One cell as read: its text and whether the spreadsheet stored it as a number.
#[derive(Debug, Clone, Default)]
struct Cell {
    text: String,
    numeric: bool,
}

fn read_workbook(bytes: &[u8]) -> Result<Grid, AppError> {
    let unreadable = || file_error("import.unreadable", "无法读取该 Excel 文件：文件可能已损坏或受密码保护");
    let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes)).map_err(|_| unreadable())?;
    let range = match book.worksheet_range_at(0) {
        Some(Ok(r)) => r,
        Some(Err(_)) => return Err(unreadable()),
        None => return Err(file_error("import.empty_file", "Excel 文件中没有工作表")),
    };
    let first = range.start().map_or(0, |(r, _)| r as usize);
    Ok(range.rows().enumerate().map(|(i, r)| (first + i + 1, r.iter().map(cell_of).collect())).collect())
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

/// Normalises a header: trims, drops required-field markers (`*`, `＊`) and spaces.
fn normalise_header(h: &str) -> String {
    h.chars().filter(|c| !matches!(c, '*' | '＊' | ' ' | '\u{3000}')).collect()
}

fn from_grid(grid: Grid) -> Result<Sheet, AppError> {
    let mut rows = grid.into_iter().filter(|(_, r)| r.iter().any(|c| !c.text.is_empty()));
    let Some((_, header)) = rows.next() else {
        return Err(file_error("import.empty_file", "文件中没有任何内容"));
    };
    let headers: Vec<String> = header.iter().map(|c| normalise_header(&c.text)).collect();
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
    let mut sheet = Sheet { unknown_columns, renamed, ..Sheet::default() };
    for (row_no, cells) in rows {
        if sheet.rows.len() >= MAX_ROWS {
            return Err(file_error(
                "import.too_many_rows",
                format!("名册超过{MAX_ROWS}行，请按学校或年级分成多个文件导入"),
            ));
        }
        let mut row = Row::default();
        for ((slot, col), i) in row.cells_mut().into_iter().zip(COLUMNS.iter()).zip(index) {
            let Some(cell) = i.and_then(|i| cells.get(i)) else { continue };
            if cell.numeric && (col.header.ends_with("身份证件号") || col.header == "学籍号") && cell.text.len() > 15
            {
                sheet.cell_problems.push(CellProblem {
                    row: row_no,
                    column: col.header,
                    value: cell.text.clone(),
                    reason: "以数字格式保存，末几位已被 Excel 改写；请将该列设为文本格式后重新填写".into(),
                });
            }
            slot.clone_from(&cell.text);
        }
        sheet.rows.push((row_no, row));
    }
    if sheet.rows.is_empty() {
        return Err(file_error("import.no_rows", "名册只有表头，没有学生数据"));
    }
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
