//! Roster import over the API: every bad input refused with its row, column
//! and reason, and the database unchanged afterwards.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::Value;
use xueji::roster::{Row, export};

async fn as_registrar(code: &str) -> TestApp {
    let mut app = spawn_app().await;
    app.login(&format!("r{code}")).await;
    app
}

/// Uploads rows as xlsx; returns the status and the report.
async fn upload(app: &TestApp, code: &str, rows: &[Row], query: &str) -> (StatusCode, Value) {
    let bytes = export::write_xlsx(rows).unwrap();
    let res = app.import_roster(code, query, bytes).await;
    let status = res.status();
    (status, res.json().await.unwrap())
}

/// Asserts one refused row: its number, column and code, and that nothing was written.
async fn assert_refused(rows: Vec<Row>, bad_row: u64, column: &str, code: &str) {
    let app = as_registrar(TOWN).await;
    let before = counts(app.db()).await;
    let (status, report) = upload(&app, TOWN, &rows, "").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{report}");
    let errors = report["errors"].as_array().unwrap();
    assert!(
        errors.iter().any(|e| e["row"] == bad_row && e["column"] == column && e["code"] == code),
        "expected row {bad_row} {column} {code}, got {errors:?}"
    );
    assert_eq!(report["committed"], false);
    assert_eq!(counts(app.db()).await, before, "nothing may be written");
}

#[tokio::test]
async fn a_wrong_check_character_is_refused() {
    let mut bad = first_grader("甲", 1);
    let last = if bad.id_number.ends_with('1') { '2' } else { '1' };
    bad.id_number = format!("{}{last}", &bad.id_number[..17]);
    assert_refused(vec![first_grader("乙", 2), bad], 3, "身份证件号", "id.checksum").await;
}

#[tokio::test]
async fn an_impossible_date_is_refused() {
    let mut bad = first_grader("甲", 1);
    bad.birth_date = "2020-02-30".into();
    assert_refused(vec![bad], 2, "出生日期", "import.date_invalid").await;
}

#[tokio::test]
async fn a_birth_date_not_matching_the_id_is_refused() {
    let mut bad = first_grader("甲", 1);
    bad.birth_date = "2020-01-01".into();
    assert_refused(vec![bad], 2, "出生日期", "id.birth_mismatch").await;
}

#[tokio::test]
async fn a_gender_not_matching_the_id_is_refused() {
    let mut bad = first_grader("甲", 1);
    bad.gender = other_gender(&bad.gender).into();
    assert_refused(vec![bad], 2, "性别", "id.gender_mismatch").await;
}

#[tokio::test]
async fn a_child_who_turns_6_on_1_september_is_refused() {
    let bad = pupil("小甲", (2020, 9, 1), 5, 1);
    assert_refused(vec![first_grader("乙", 2), bad], 3, "出生日期", "age.too_young").await;
}

#[tokio::test]
async fn the_46th_pupil_of_a_primary_class_is_refused() {
    let rows: Vec<Row> = (0..46).map(|i| first_grader(&format!("学生{i}"), 100 + i)).collect();
    assert_refused(rows, 47, "班级", "class.full").await;
}

#[tokio::test]
async fn the_46th_pupil_is_refused_even_across_imports() {
    let app = as_registrar(TOWN).await;
    let rows: Vec<Row> = (0..45).map(|i| first_grader(&format!("学生{i}"), 100 + i)).collect();
    let (status, report) = upload(&app, TOWN, &rows, "").await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["inserted"], 45);
    let before = counts(app.db()).await;
    let (status, report) = upload(&app, TOWN, &[first_grader("第四十六", 300)], "").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(report["errors"][0]["code"], "class.full");
    assert_eq!(counts(app.db()).await, before);
}

#[tokio::test]
async fn a_duplicate_id_is_refused_in_the_file_and_against_the_database() {
    let first = first_grader("甲", 1);
    let mut twin = first.clone();
    twin.name = "乙".into();
    assert_refused(vec![first.clone(), twin.clone()], 3, "身份证件号", "student.duplicate_id").await;

    let app = as_registrar(TOWN).await;
    assert!(import_rows(app.db(), VILLAGE, vec![first]).await.committed);
    let before = counts(app.db()).await;
    let (status, report) = upload(&app, TOWN, &[twin], "").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(report["errors"][0]["code"], "student.duplicate_id");
    assert_eq!(counts(app.db()).await, before);
}

#[tokio::test]
async fn a_graduate_cannot_be_enrolled_again() {
    let app = as_registrar(TOWN).await;
    let row = pupil("毕业生", (2014, 5, 5), 9, 6);
    assert!(import_rows(app.db(), TOWN, vec![row.clone()]).await.committed);
    sqlx::query("UPDATE students SET status = 'graduated' WHERE name = '毕业生'")
        .execute(&app.db().pool)
        .await
        .unwrap();
    let before = counts(app.db()).await;
    let (status, report) = upload(&app, TOWN, &[row], "").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(report["errors"][0]["code"], "student.graduate_reenrol");
    assert_eq!(counts(app.db()).await, before);
}

#[tokio::test]
async fn files_that_are_not_rosters_get_a_clear_answer() {
    let app = as_registrar(TOWN).await;
    let before = counts(app.db()).await;
    for (bytes, code) in [
        (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01".to_vec(), "import.not_spreadsheet"),
        (Vec::new(), "import.empty_file"),
        ("姓名,性别\n张三,男\n".as_bytes().to_vec(), "import.missing_columns"),
        (b"PK\x03\x04not really a zip".to_vec(), "import.unreadable"),
    ] {
        let res = app.import_roster(TOWN, "", bytes).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], code, "{body}");
        let name = format!("error_{}", code.replace('.', "_"));
        snap_json!(name.as_str(), body);
        assert!(!body["message"].as_str().unwrap().is_empty());
    }
    assert_eq!(counts(app.db()).await, before);
}

#[tokio::test]
async fn an_xlsx_with_3_bad_rows_among_100_reports_exactly_those_and_writes_nothing() {
    let app = as_registrar(TOWN).await;
    let mut rows: Vec<Row> = (0..100)
        .map(|i| {
            let mut r = first_grader(&format!("学生{i}"), 200 + i);
            r.class = (i / 40 + 1).to_string();
            r
        })
        .collect();
    let wrong = if rows[9].id_number.ends_with('0') { "1" } else { "0" };
    rows[9].id_number.replace_range(17.., wrong);
    rows[49].birth_date = "2019-13-01".into();
    rows[89].guardian1_phone = "1380013800".into();
    let before = counts(app.db()).await;
    let (status, report) = upload(&app, TOWN, &rows, "?create_classes=true").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let got: Vec<(u64, String)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_u64().unwrap(), e["column"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(got, vec![(11, "身份证件号".to_owned()), (51, "出生日期".to_owned()), (91, "成员1联系电话".to_owned())]);
    assert_eq!(report["valid_rows"], 97);
    snap_json!("roster_report_with_errors", report);
    assert_eq!(counts(app.db()).await, before);

    // Mended, the same file goes in whole, with the classes it names.
    rows[9] = first_grader("学生9", 209);
    rows[49] = first_grader("学生49", 249);
    rows[49].class = "2".into();
    rows[89] = first_grader("学生89", 289);
    rows[89].class = "3".into();
    let (status, dry) = upload(&app, TOWN, &rows, "?create_classes=true&dry_run=true").await;
    assert_eq!(status, StatusCode::OK, "{dry}");
    assert_eq!(counts(app.db()).await, before, "a dry run writes nothing");
    let (status, report) = upload(&app, TOWN, &rows, "?create_classes=true").await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["inserted"], 100);
    let after = counts(app.db()).await;
    assert_eq!(after.0, before.0 + 100);
    assert_eq!(after.3, before.3 + 2, "classes 2 and 3 of grade 1 were created");
}

#[tokio::test]
async fn a_registrar_cannot_import_into_another_school() {
    let app = as_registrar(CENTRAL).await;
    let (status, _) = upload(&app, TOWN, &[first_grader("甲", 1)], "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(counts(app.db()).await.0, 0);
}

#[tokio::test]
async fn same_name_birth_and_phone_is_imported_and_listed_as_a_problem_record() {
    let mut app = spawn_app().await;
    let a = first_grader("王小明", 21);
    let mut b = first_grader("王小明", 23);
    b.birth_date = a.birth_date.clone();
    b.id_number = xueji::domain::IdNumber::from_parts("220122", a.birth_date.parse().unwrap(), 23).unwrap().to_string();
    b.gender = xueji::domain::IdNumber::parse(&b.id_number).unwrap().gender().label().into();
    b.guardian1_phone = a.guardian1_phone.clone();
    assert!(import_rows(app.db(), TOWN, vec![a]).await.committed);
    let report = import_rows(app.db(), VILLAGE, vec![b]).await;
    assert!(report.committed);
    assert_eq!(report.warnings[0].code, "student.suspected_duplicate");
    app.login("bureau").await;
    let problems: Value = app.problems().await.json().await.unwrap();
    assert_eq!(problems.as_array().unwrap().len(), 1, "{problems}");
    assert_eq!(problems[0]["kind"], "suspected_duplicate");
    snap_json!("problems_list", problems);
    let page = app.problems_page().await.text().await.unwrap();
    assert!(page.contains("王小明"));
}

#[tokio::test]
async fn export_writes_the_template_back() {
    let mut app = spawn_app().await;
    assert!(import_rows(app.db(), TOWN, vec![first_grader("导出甲", 31), first_grader("导出乙", 33)]).await.committed);
    app.login(&format!("r{TOWN}")).await;
    let res = app.export_roster(TOWN, "").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    let sheet = xueji::roster::read::read(&res.bytes().await.unwrap()).unwrap();
    let names: Vec<&str> = sheet.rows.iter().map(|(_, r)| r.name.as_str()).collect();
    assert_eq!(names, ["导出甲", "导出乙"]);
    assert!(sheet.rows[0].1.student_no.starts_with('G'));
    assert_eq!(app.audit_count("roster.export", TOWN, "ok").await, 1);
}

#[tokio::test]
async fn a_character_the_fonts_cannot_print_is_refused_with_its_code_point_and_nothing_is_written() {
    let app = as_registrar(TOWN).await;
    // 䶮 (U+4DAE, CJK Extension A) is rare but printable; U+E000 is a private-use
    // code point old input methods produce, which no bundled font can print.
    let rare = first_grader("刘䶮", 41);
    let bad_name = first_grader("张\u{E000}", 42);
    let mut bad_guardian = first_grader("王小红", 43);
    bad_guardian.guardian1_name = "王\u{E000}国".into();
    let mut rows = vec![rare, bad_name, bad_guardian];
    let before = counts(app.db()).await;
    let (status, report) = upload(&app, TOWN, &rows, "").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{report}");
    let errors = report["errors"].as_array().unwrap();
    let got: Vec<(u64, &str, &str, &str)> = errors
        .iter()
        .map(|e| {
            (
                e["row"].as_u64().unwrap(),
                e["column"].as_str().unwrap(),
                e["code"].as_str().unwrap(),
                e["value"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [(3, "姓名", "text.unprintable", "张\u{E000}"), (4, "成员1姓名", "text.unprintable", "王\u{E000}国")],
        "{errors:?}"
    );
    let reason = errors[0]["reason"].as_str().unwrap();
    assert_eq!(reason, "字段“姓名”中的字符“\u{E000}”（U+E000）无法用随附字体打印，请改用规范汉字");
    assert_eq!(report["valid_rows"], 1);
    assert_eq!(report["committed"], false);
    assert_eq!(counts(app.db()).await, before, "nothing may be written");
    // The same check without HTTP (the way `xueji import` and the demo loader import).
    let direct = import_rows(app.db(), TOWN, vec![first_grader("赵\u{E000}", 44)]).await;
    assert!(!direct.committed);
    assert_eq!((direct.errors[0].row, direct.errors[0].column, direct.errors[0].code), (2, "姓名", "text.unprintable"));
    assert!(direct.errors[0].reason.contains("U+E000"), "{:?}", direct.errors);
    assert_eq!(counts(app.db()).await, before, "nothing may be written");

    // Mended, the rows go in; the rare character with them.
    rows[1].name = "张三".into();
    rows[2].guardian1_name = "王建国".into();
    let (status, report) = upload(&app, TOWN, &rows, "").await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["inserted"], 3);
    assert!(!app.public_id("刘䶮").await.is_empty());
}

#[tokio::test]
async fn the_blank_template_downloads_and_reads_back_as_an_empty_roster() {
    let mut app = spawn_app().await;
    assert_eq!(app.roster_template().await.status(), StatusCode::SEE_OTHER, "a page for signed-in staff");
    app.login(&format!("r{TOWN}")).await;
    let page = app.fetch("/roster").await.text().await.unwrap();
    assert!(page.contains("href=\"/roster/template.xlsx\""), "the import page links it");
    let res = app.roster_template().await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    let disposition = res.headers()["content-disposition"].to_str().unwrap().to_owned();
    // 学籍名册模板.xlsx, percent-encoded.
    assert!(disposition.ends_with("''%E5%AD%A6%E7%B1%8D%E5%90%8D%E5%86%8C%E6%A8%A1%E6%9D%BF.xlsx"), "{disposition}");
    // Every column the reader needs is there (a missing one is reported before this): only the rows are not.
    let refused = xueji::roster::read::read(&res.bytes().await.unwrap()).unwrap_err();
    assert_eq!(refused.code(), "import.no_rows");
}
