//! The statistics as spreadsheets: a table as the bureau sends it upward
//! (title, reference date, headings, counts as numbers, the totals row in
//! bold, 大班额 columns shaded), and a list of students under an approval,
//! the approval's number in the header of every printed page and on the
//! sheet itself.

use crate::db::schools::grade_name;
use crate::db::students::StudentSummary;
use crate::domain::report::engine::{Cell, Table};
use crate::error::{AppError, AppResult};
use chrono::NaiveDate;
use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook, Worksheet};

fn xlsx_err(e: rust_xlsxwriter::XlsxError) -> AppError {
    AppError::Internal(anyhow::anyhow!("xlsx: {e}"))
}

fn col(i: usize) -> u16 {
    u16::try_from(i).unwrap_or(u16::MAX)
}

fn row(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// A table, formatted, with its totals row.
pub fn table(t: &Table) -> AppResult<Vec<u8>> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    write_table(sheet, t).map_err(xlsx_err)?;
    book.save_to_buffer().map_err(xlsx_err)
}

fn write_table(sheet: &mut Worksheet, t: &Table) -> Result<(), rust_xlsxwriter::XlsxError> {
    let width = t.columns.len() + 1;
    sheet.set_name("统计表")?;
    let title = Format::new().set_bold().set_font_size(14).set_align(FormatAlign::Center);
    let plain = Format::new().set_border(FormatBorder::Thin);
    let head = Format::new().set_bold().set_border(FormatBorder::Thin).set_align(FormatAlign::Center).set_text_wrap();
    let shaded = head.clone().set_background_color("FCE4D6");
    let number = Format::new().set_border(FormatBorder::Thin).set_num_format("0");
    let percent = Format::new().set_border(FormatBorder::Thin).set_num_format("0.00");
    let total = Format::new().set_bold().set_border(FormatBorder::Thin);
    let total_number = total.clone().set_num_format("0");
    sheet.merge_range(0, 0, 0, col(width - 1), &t.title, &title)?;
    let period = match t.since {
        Some(s) => format!("统计期间：{s}（不含）至{}", t.as_of),
        None => format!("统计基准日：{}", t.as_of),
    };
    let form = t.form.as_deref().map(|f| format!("表号：{f}　")).unwrap_or_default();
    sheet.merge_range(1, 0, 1, col(width - 1), &format!("{form}{period}"), &Format::new())?;
    sheet.write_string_with_format(2, 0, "", &head)?;
    sheet.set_column_width(0, 18)?;
    for (i, c) in t.columns.iter().enumerate() {
        let label = if c.rate { format!("{}（%）", c.label) } else { c.label.clone() };
        sheet.write_string_with_format(2, col(i + 1), &label, if c.highlight { &shaded } else { &head })?;
        sheet.set_column_width(col(i + 1), 10)?;
    }
    for (r, line) in t.rows.iter().enumerate() {
        let y = row(r + 3);
        sheet.write_string_with_format(y, 0, &line.label, if line.total { &total } else { &plain })?;
        for (i, cell) in line.cells.iter().enumerate() {
            match cell {
                Cell::Count(n) => {
                    #[expect(clippy::cast_precision_loss, reason = "counts are far below 2^52")]
                    let v = *n as f64;
                    sheet.write_number_with_format(
                        y,
                        col(i + 1),
                        v,
                        if line.total { &total_number } else { &number },
                    )?;
                }
                Cell::Rate(Some(p)) => {
                    sheet.write_number_with_format(y, col(i + 1), *p, &percent)?;
                }
                Cell::Rate(None) => {
                    sheet.write_string_with_format(y, col(i + 1), "", &plain)?;
                }
            }
        }
    }
    let mut y = row(t.rows.len() + 4);
    if let Some(note) = &t.note {
        sheet.merge_range(y, 0, y, col(width - 1), &format!("说明：{note}"), &Format::new().set_text_wrap())?;
        sheet.set_row_height(y, 45)?;
        y += 1;
    }
    if !t.imbalances.is_empty() {
        sheet.write_string(
            y,
            0,
            format!("不平衡：{} 名学生的变动与学年初、学年末人数不符，名单见系统", t.imbalances.len()),
        )?;
    }
    sheet.set_landscape();
    sheet.set_print_fit_to_pages(1, 0);
    Ok(())
}

/// What marks an exported list.
#[derive(Debug, Clone)]
pub struct Watermark {
    /// The approval's number.
    pub number: String,
    /// The bureau's 文号.
    pub document_no: String,
    /// Why.
    pub purpose: String,
    /// To whom.
    pub recipient: String,
    /// Who exported.
    pub exported_by: String,
    /// When.
    pub exported_on: NaiveDate,
}

/// A list of students under an approval.
pub fn list(heading: &str, students: &[StudentSummary], mark: &Watermark) -> AppResult<Vec<u8>> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    write_list(sheet, heading, students, mark).map_err(xlsx_err)?;
    book.save_to_buffer().map_err(xlsx_err)
}

fn write_list(
    sheet: &mut Worksheet,
    heading: &str,
    students: &[StudentSummary],
    mark: &Watermark,
) -> Result<(), rust_xlsxwriter::XlsxError> {
    sheet.set_name("名单")?;
    let banner = Format::new().set_bold().set_font_color("C00000").set_text_wrap();
    let head = Format::new().set_bold().set_border(FormatBorder::Thin).set_background_color("DDEBF7");
    let text = Format::new().set_border(FormatBorder::Thin).set_num_format("@");
    let line = format!(
        "外发审批编号 {}　批准文号 {}　用途 {}　接收单位 {}　导出人 {}　导出日期 {}　仅限批准用途使用，不得转发",
        mark.number, mark.document_no, mark.purpose, mark.recipient, mark.exported_by, mark.exported_on
    );
    // On every printed page (the header) and on the sheet itself.
    sheet.set_header(format!("&C&\"-,Bold\"&KC00000外发审批编号 {}　仅限批准用途", mark.number));
    sheet.set_footer(format!("&L{}&R第 &P 页，共 &N 页", mark.number));
    sheet.merge_range(0, 0, 0, 7, &line, &banner)?;
    sheet.set_row_height(0, 36)?;
    sheet.merge_range(1, 0, 1, 7, heading, &Format::new().set_bold())?;
    let headers = ["序号", "学籍号", "姓名", "性别", "出生日期", "学校", "年级班级", "学籍状态"];
    for (i, h) in headers.iter().enumerate() {
        sheet.write_string_with_format(2, col(i), *h, &head)?;
    }
    for (i, w) in [6.0, 22.0, 12.0, 6.0, 12.0, 26.0, 14.0, 10.0].iter().enumerate() {
        sheet.set_column_width(col(i), *w)?;
    }
    for (n, s) in students.iter().enumerate() {
        let y = row(n + 3);
        let class = match s.class_number {
            Some(c) => format!("{}{c}班", grade_name(s.grade)),
            None => grade_name(s.grade),
        };
        let cells = [
            (n + 1).to_string(),
            s.student_no.clone(),
            s.name.clone(),
            s.gender.label().to_owned(),
            s.birth_date.clone(),
            s.school_name.clone(),
            class,
            s.status.label().to_owned(),
        ];
        for (i, c) in cells.iter().enumerate() {
            sheet.write_string_with_format(y, col(i), c, &text)?;
        }
    }
    sheet.set_repeat_rows(2, 2)?;
    sheet.set_landscape();
    Ok(())
}
