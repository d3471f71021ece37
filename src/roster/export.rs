//! Writing a roster back in the template schools import: xlsx (text-formatted
//! ID and phone columns, so Excel keeps every digit) or CSV (UTF-8 with BOM,
//! which Excel opens correctly).

use super::{COLUMNS, Row};
use crate::db::schools::School;
use crate::db::students;
use crate::domain::{Gender, Grade};
use rust_xlsxwriter::{Format, Workbook};

/// The roster rows of a school's students who are on its roll (在籍, 转出中, 疑似辍学, 休学), by grade and class.
pub async fn rows_for_school(conn: &mut sqlx::AnyConnection, school: &School) -> Result<Vec<Row>, sqlx::Error> {
    let roll = students::roll_of_school(&mut *conn, school.id).await?;
    let guardians = students::guardians_of_school(&mut *conn, school.id).await?;
    let mut by_student: std::collections::HashMap<i64, Vec<(String, String, String)>> = Default::default();
    for g in guardians {
        by_student.entry(g.student_id).or_default().push((g.name, g.relation, g.phone));
    }
    let yes = |v: bool| if v { "是" } else { "否" }.to_owned();
    Ok(roll
        .into_iter()
        .map(|s| {
            let gs = by_student.remove(&s.id).unwrap_or_default();
            let g = |i: usize| gs.get(i).cloned().unwrap_or_default();
            let grade = s.grade;
            Row {
                name: s.name,
                former_name: s.former_name,
                pinyin: s.pinyin,
                gender: Gender::parse(&s.gender).map(Gender::label).unwrap_or_default().to_owned(),
                birth_date: s.birth_date,
                birthplace: s.birthplace,
                ethnicity: s.ethnicity,
                nationality: s.nationality,
                id_type: s.id_type,
                id_number: s.id_number.unwrap_or_default(),
                household_address: s.household_address,
                household_type: s.household_type,
                current_address: s.current_address,
                guardian1_name: g(0).0,
                guardian1_relation: g(0).1,
                guardian1_phone: g(0).2,
                guardian2_name: g(1).0,
                guardian2_relation: g(1).1,
                guardian2_phone: g(1).2,
                grade: u8::try_from(grade)
                    .ok()
                    .and_then(|g| Grade::new(g).ok())
                    .map_or_else(|| grade.to_string(), |g| g.label().to_owned()),
                class: s.class_number.map(|n| n.to_string()).unwrap_or_default(),
                entry_date: s.entry_date,
                entry_mode: s.entry_mode,
                boarding: if s.boarding { "住校" } else { "走读" }.to_owned(),
                left_behind: yes(s.left_behind),
                migrant_child: yes(s.migrant_child),
                special_needs: yes(s.special_needs),
                disability_type: s.disability_type,
                student_no: s.student_no,
            }
        })
        .collect())
}

/// The rows as an xlsx workbook in the template's layout.
pub fn write_xlsx(rows: &[Row]) -> anyhow::Result<Vec<u8>> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("学籍名册")?;
    let header =
        Format::new().set_bold().set_background_color("DDEBF7").set_border(rust_xlsxwriter::FormatBorder::Thin);
    let required = header.clone().set_font_color("C00000");
    let text = Format::new().set_num_format("@");
    for (i, col) in COLUMNS.iter().enumerate() {
        let c = u16::try_from(i)?;
        sheet.write_string_with_format(0, c, col.header, if col.required { &required } else { &header })?;
        sheet.set_column_width(
            c,
            match col.header {
                "身份证件号" | "学籍号" => 22.0,
                "户口所在地" | "现住址" => 30.0,
                "出生日期" | "入学日期" | "监护人电话" | "监护人2电话" => 13.0,
                _ => 10.0,
            },
        )?;
        sheet.set_column_format(c, &text)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    for (r, row) in rows.iter().enumerate() {
        let r = u32::try_from(r + 1)?;
        for (c, cell) in row.cells().iter().enumerate() {
            if !cell.is_empty() {
                sheet.write_string_with_format(r, u16::try_from(c)?, *cell, &text)?;
            }
        }
    }
    Ok(book.save_to_buffer()?)
}

/// The rows as CSV, UTF-8 with a byte-order mark.
pub fn write_csv(rows: &[Row]) -> anyhow::Result<Vec<u8>> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        w.write_record(COLUMNS.iter().map(|c| c.header))?;
        for row in rows {
            w.write_record(row.cells())?;
        }
        w.flush()?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xlsx_and_csv_read_back_the_same_rows() {
        let row = Row {
            name: "王𠮷".into(),
            gender: "男".into(),
            id_number: "11010519491231002X".into(),
            guardian1_phone: "13800000000".into(),
            ..Row::default()
        };
        for bytes in [write_xlsx(std::slice::from_ref(&row)).unwrap(), write_csv(std::slice::from_ref(&row)).unwrap()] {
            let sheet = super::super::read::read(&bytes).unwrap();
            assert_eq!(sheet.rows.len(), 1);
            assert_eq!(sheet.rows[0].1, row);
            assert!(sheet.cell_problems.is_empty());
        }
    }
}
