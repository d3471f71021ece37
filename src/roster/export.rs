//! Writing a roster back in the template schools import: xlsx (text-formatted
//! ID and phone columns, so Excel keeps every digit) or CSV (UTF-8 with BOM,
//! which Excel opens correctly).

use super::{COLUMNS, Row};
use crate::db::schools::School;
use crate::db::students::{self, Guardian, Student};
use crate::domain::national::{self, Coded};
use rust_xlsxwriter::{Format, Workbook};

/// The roster rows of a school's students who are on its roll (在籍, 转出中, 疑似辍学, 休学), by grade and class.
pub async fn rows_for_school(conn: &mut sqlx::AnyConnection, school: &School) -> Result<Vec<Row>, sqlx::Error> {
    let roll = students::roll_of_school(&mut *conn, school.id).await?;
    let guardians = students::guardians_of_school(&mut *conn, school.id).await?;
    let mut by_student: std::collections::HashMap<i64, Vec<Guardian>> = Default::default();
    for (student_id, g) in guardians {
        by_student.entry(student_id).or_default().push(g);
    }
    Ok(roll.iter().map(|s| row_of(s, by_student.get(&s.id).map(Vec::as_slice).unwrap_or_default())).collect())
}

fn label(c: Option<Coded>) -> String {
    c.map(Coded::label).unwrap_or_default().to_owned()
}

fn flag(v: Option<bool>) -> String {
    national::flag_label(v).to_owned()
}

/// A student's record as a roster row: every item as the template spells it,
/// unknown items empty (so that importing the row again keeps them unknown).
pub fn row_of(s: &Student, guardians: &[Guardian]) -> Row {
    let n = &s.national;
    let mut row = Row {
        name: s.name.clone(),
        former_name: s.former_name.clone(),
        pinyin: s.pinyin.clone(),
        gender: s.gender.label().to_owned(),
        birth_date: s.birth_date.to_string(),
        birthplace: s.birthplace.clone(),
        birthplace_code: n.birthplace_code.clone(),
        native_place: n.native_place.clone(),
        ethnicity: s.ethnicity.clone(),
        nationality: s.nationality.clone(),
        id_type: s.id_type.clone(),
        id_number: s.id_number.clone().unwrap_or_default(),
        id_valid: n.id_valid.clone(),
        hmt: label(n.hmt),
        political: label(n.political),
        health: label(n.health),
        household_address: s.household_address.clone(),
        household_type: s.household_type.clone(),
        specialty: n.specialty.clone(),
        aux_no: n.aux_no.clone(),
        seat_no: n.seat_no.clone(),
        grade: s.grade.label().to_owned(),
        class: s.class_number.map(|n| n.to_string()).unwrap_or_default(),
        entry_date: s.entry_date.clone(),
        entry_mode: s.entry_mode.clone(),
        study_mode: label(n.study_mode),
        source: n.source.clone(),
        current_address: s.current_address.clone(),
        mailing_address: n.mailing_address.clone(),
        home_address: n.home_address.clone(),
        phone: n.phone.clone(),
        postcode: n.postcode.clone(),
        email: n.email.clone(),
        homepage: n.homepage.clone(),
        only_child: flag(n.only_child),
        preschool: flag(n.preschool),
        left_behind: label(n.left_behind),
        migrant_child: flag(n.migrant_child),
        orphan: flag(n.orphan),
        martyr_child: flag(n.martyr_child),
        inclusive: label(n.inclusive),
        disability_type: label(n.disability),
        registered_on: s.registered_on.clone(),
        student_no: s.student_no.clone(),
        ..Row::default()
    };
    for (i, g) in guardians.iter().take(2).enumerate() {
        let cells = row.member_mut(i + 1);
        let values = [
            &g.name,
            &g.relation,
            &g.relation_note,
            &g.current_address,
            &g.household_address,
            &g.phone,
            national::flag_label(g.is_guardian),
            &g.id_type,
            &g.id_number,
            &g.ethnicity,
            &g.workplace,
            &g.job_title,
        ];
        for (cell, value) in cells.into_iter().zip(values) {
            value.clone_into(cell);
        }
    }
    row
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
                h if h.ends_with("身份证件号") || h == "学籍号" => 22.0,
                h if h.ends_with("所在地") || h.ends_with("住址") || h.ends_with("地址") || h.ends_with("工作单位") => {
                    30.0
                }
                h if h.ends_with("日期") || h.ends_with("电话") => 13.0,
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
