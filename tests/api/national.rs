//! The national system's spreadsheets against a real server (Art. 10): the
//! 学前调档名单 recorded as a school's intake list, the 调档学生导出 out and
//! back in, and the registrars' traps, each refusal with its row, column
//! and code, and nothing written.

use crate::helpers::*;
use calamine::Reader;
use chrono::{Days, NaiveDate};
use reqwest::StatusCode;
use rust_xlsxwriter::{Workbook, Worksheet};
use serde_json::Value;
use std::collections::HashMap;
use xueji::domain::IdNumber;
use xueji::roster::national::{INTAKE, RECORD};
use xueji::roster::{COLUMNS, Row};

/// A workbook of one sheet: the header row, then the rows, every cell as a
/// string; `edit` may change the sheet afterwards (as a registrar would).
fn workbook(headers: &[&str], rows: &[Vec<String>], edit: impl FnOnce(&mut Worksheet)) -> Vec<u8> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in headers.iter().enumerate() {
        sheet.write_string(0, u16::try_from(c).unwrap(), *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            if !cell.is_empty() {
                sheet.write_string(u32::try_from(r + 1).unwrap(), u16::try_from(c).unwrap(), cell).unwrap();
            }
        }
    }
    edit(sheet);
    book.save_to_buffer().unwrap()
}

fn record_headers() -> Vec<&'static str> {
    RECORD.iter().map(|c| c.header).collect()
}

fn intake_headers() -> Vec<&'static str> {
    INTAKE.iter().map(|c| c.header).collect()
}

fn record_col(header: &str) -> usize {
    RECORD.iter().position(|c| c.header == header).unwrap()
}

/// Rows in our template, as a workbook built cell by cell.
fn template_book(rows: &[Row], edit: impl FnOnce(&mut Worksheet)) -> Vec<u8> {
    let headers: Vec<&str> = COLUMNS.iter().map(|c| c.header).collect();
    let rows: Vec<Vec<String>> = rows.iter().map(|r| r.cells().iter().map(|c| (*c).to_owned()).collect()).collect();
    workbook(&headers, &rows, edit)
}

fn template_col(header: &str) -> u16 {
    u16::try_from(xueji::roster::column_index(header).unwrap()).unwrap()
}

/// Every row of the one sheet of an xlsx, header first, every cell as text.
fn cells_of(bytes: &[u8]) -> Vec<Vec<String>> {
    let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    assert_eq!(book.sheet_names().len(), 1);
    let range = book.worksheet_range_at(0).unwrap().unwrap();
    let width = range.width();
    range
        .rows()
        .map(|r| {
            let mut cells: Vec<String> = r.iter().map(ToString::to_string).collect();
            cells.resize(width.max(RECORD.len()), String::new());
            cells.truncate(RECORD.len());
            cells
        })
        .collect()
}

async fn as_registrar(code: &str) -> TestApp {
    let mut app = spawn_app().await;
    app.login(&format!("r{code}")).await;
    app
}

/// Uploads a file to the roster endpoint; the status and the JSON answer.
async fn upload(app: &TestApp, code: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
    let res = app.import_roster(code, "", bytes).await;
    let status = res.status();
    (status, res.json().await.unwrap())
}

/// What an import may write: students, guardians, events, classes, and the intake lists.
async fn written(app: &TestApp) -> ((i64, i64, i64, i64), i64) {
    let lists: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM intake_list").fetch_one(&app.db().pool).await.unwrap();
    (counts(app.db()).await, lists)
}

/// Asserts a refused upload: the status, an error of that row, column and
/// code (its reason returned), and nothing written.
async fn assert_refused(app: &TestApp, bytes: Vec<u8>, row: u64, column: &str, code: &str) -> String {
    let before = written(app).await;
    let (status, report) = upload(app, TOWN, bytes).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{report}");
    let errors = report["errors"].as_array().unwrap();
    let hit = errors
        .iter()
        .find(|e| e["row"] == row && e["column"] == column && e["code"] == code)
        .unwrap_or_else(|| panic!("expected row {row} {column} {code}, got {errors:?}"));
    assert_eq!(report["committed"], false);
    assert_eq!(written(app).await, before, "nothing may be written");
    hit["reason"].as_str().unwrap().to_owned()
}

/// Asserts a file refused whole (400) with this code; its message.
async fn assert_file_refused(app: &TestApp, bytes: Vec<u8>, code: &str) -> String {
    let before = written(app).await;
    let (status, body) = upload(app, TOWN, bytes).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(written(app).await, before, "nothing may be written");
    body["message"].as_str().unwrap().to_owned()
}

fn id_of(birth: NaiveDate, seq: u16) -> IdNumber {
    IdNumber::from_parts("220122", birth, seq).unwrap()
}

fn gender_code(id: &IdNumber) -> &'static str {
    if id.gender() == xueji::domain::Gender::Male { "1" } else { "2" }
}

/// Every national item of a first grader (intake 2026), in national codes.
fn national_student(name: &str, seq: u16) -> Vec<String> {
    let birth = NaiveDate::from_ymd_opt(2020, 3, 1 + u32::from(seq % 28)).unwrap();
    national_child(name, birth, seq)
}

/// Every national item of a child, in national codes, in class 1 of grade 1.
fn national_child(name: &str, birth: NaiveDate, seq: u16) -> Vec<String> {
    let id = id_of(birth, seq);
    let father = id_of(NaiveDate::from_ymd_opt(1990, 5, 1).unwrap(), seq + 501);
    let mother = id_of(NaiveDate::from_ymd_opt(1992, 7, 9).unwrap(), seq + 600);
    let n = u32::from(seq);
    // Every third child is placed in a regular class with a visual disability.
    let (inclusive, disability, health) = if seq % 3 == 2 { ("1", "1", "6") } else { ("0", "0", "1") };
    let items: HashMap<&str, String> = [
        ("学籍号", format!("G{id}")),
        ("姓名", name.to_owned()),
        ("性别", gender_code(&id).to_owned()),
        ("出生日期", birth.format("%Y%m%d").to_string()),
        ("出生地", "220122100000".to_owned()),
        ("籍贯", "吉林省农安县".to_owned()),
        ("民族", "10".to_owned()),
        ("国籍/地区", "CHN".to_owned()),
        ("身份证件类型", "1".to_owned()),
        ("身份证件号", id.to_string()),
        ("港澳台侨外", "00".to_owned()),
        ("政治面貌", "14".to_owned()),
        ("健康状况", health.to_owned()),
        ("姓名拼音", format!("Xuesheng {n}")),
        ("曾用名", format!("{name}儿")),
        ("身份证件有效期", "2021.06.01-2026.06.01".to_owned()),
        ("户口所在地", format!("吉林省长春市农安县测试镇{n}号")),
        ("户口性质", "1".to_owned()),
        ("特长", "书法".to_owned()),
        ("学籍辅号", format!("FH{n:04}")),
        ("班内学号", format!("{n:02}")),
        ("年级", "一年级".to_owned()),
        ("班级", "1".to_owned()),
        ("入学年月", "202609".to_owned()),
        ("入学方式", "11".to_owned()),
        ("就读方式", "1".to_owned()),
        ("学生来源", "正常入学".to_owned()),
        ("现住址", format!("吉林省长春市农安县测试镇{n}号")),
        ("通信地址", format!("农安县测试镇邮政所{n}号信箱")),
        ("家庭地址", format!("吉林省长春市农安县测试镇{n}号")),
        ("联系电话", format!("1390000{n:04}")),
        ("邮政编码", "130200".to_owned()),
        ("电子信箱", format!("family{n}@example.cn")),
        ("主页地址", "无".to_owned()),
        ("是否独生子女", "1".to_owned()),
        ("是否受过学前教育", "1".to_owned()),
        ("是否留守儿童", "1".to_owned()),
        ("是否进城务工人员随迁子女", "0".to_owned()),
        ("是否孤儿", "0".to_owned()),
        ("是否烈士或优抚子女", "0".to_owned()),
        ("随班就读", inclusive.to_owned()),
        ("残疾类型", disability.to_owned()),
        ("成员1姓名", format!("{name}父")),
        ("成员1关系", "父亲".to_owned()),
        ("成员1关系说明", "生父".to_owned()),
        ("成员1现住址", "浙江省杭州市西湖区务工宿舍".to_owned()),
        ("成员1户口所在地", format!("吉林省长春市农安县测试镇{n}号")),
        ("成员1联系电话", format!("1380000{n:04}")),
        ("成员1是否监护人", "1".to_owned()),
        ("成员1身份证件类型", "1".to_owned()),
        ("成员1身份证件号", father.to_string()),
        ("成员1民族", "10".to_owned()),
        ("成员1工作单位", "杭州某建筑公司".to_owned()),
        ("成员1职务", "工人".to_owned()),
        ("成员2姓名", format!("{name}母")),
        ("成员2关系", "母亲".to_owned()),
        ("成员2关系说明", "生母".to_owned()),
        ("成员2现住址", format!("吉林省长春市农安县测试镇{n}号")),
        ("成员2户口所在地", format!("吉林省长春市农安县测试镇{n}号")),
        ("成员2联系电话", format!("1370000{n:04}")),
        ("成员2是否监护人", "1".to_owned()),
        ("成员2身份证件类型", "1".to_owned()),
        ("成员2身份证件号", mother.to_string()),
        ("成员2民族", "01".to_owned()),
        ("成员2工作单位", "务农".to_owned()),
        ("成员2职务", "无".to_owned()),
    ]
    .into_iter()
    .collect();
    assert_eq!(items.len(), RECORD.len(), "every national item is filled");
    RECORD.iter().map(|c| items[c.header].clone()).collect()
}

/// The five keys of a child for the 2027 intake, in national codes.
fn intake_child(name: &str, birth: NaiveDate, seq: u16) -> Vec<String> {
    let id = id_of(birth, seq);
    vec![
        name.to_owned(),
        gender_code(&id).to_owned(),
        birth.format("%Y%m%d").to_string(),
        "1".to_owned(),
        id.to_string(),
    ]
}

#[tokio::test]
async fn a_national_record_goes_in_and_out_and_a_changed_cell_is_what_the_record_says() {
    let app = as_registrar(TOWN).await;
    let rows: Vec<Vec<String>> = ["金小勇", "朴小英", "李小龙"]
        .iter()
        .enumerate()
        .map(|(i, name)| national_student(name, u16::try_from(i).unwrap() + 10))
        .collect();
    let (status, report) = upload(&app, TOWN, workbook(&record_headers(), &rows, |_| ())).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!((report["layout"].as_str(), report["inserted"].as_u64()), (Some("national_record"), Some(3)));
    assert_eq!(report["layout_name"], "调档学生导出（国家学籍系统）");
    // The school submits them and the bureau approves them: then they are on the roll.
    approve_new_records(app.db(), TOWN).await;

    // Out again in the national layout: every item as the file said.
    let res = app.national_export(TOWN, "students").await;
    assert_eq!(res.status(), StatusCode::OK);
    let disposition = res.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(disposition.contains("national-students-2122019003.xlsx"), "{disposition}");
    let mut cells = cells_of(&res.bytes().await.unwrap());
    assert_eq!(cells[0], record_headers());
    assert_eq!(cells[1..], rows[..]);
    assert_eq!(app.audit_count("national.export", TOWN, "ok").await, 1);

    // A registrar changes one cell and saves the workbook again.
    let moved = "吉林省长春市农安县测试镇新村88号";
    cells[2][record_col("现住址")] = moved.to_owned();
    let header: Vec<&str> = cells[0].iter().map(String::as_str).collect();
    let changed = workbook(&header, &cells[1..], |_| ());

    // Here the children have records already: one record per child (Art. 14).
    let before = written(&app).await;
    let (status, report) = upload(&app, TOWN, changed.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let codes: Vec<&str> = report["errors"].as_array().unwrap().iter().map(|e| e["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["student.duplicate_id"; 3]);
    assert_eq!(written(&app).await, before);

    // Into a county that does not know them yet, the file's every item becomes the record.
    let fresh = as_registrar(TOWN).await;
    let (status, report) = upload(&fresh, TOWN, changed).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["inserted"], 3);
    approve_new_records(fresh.db(), TOWN).await;
    let again = cells_of(&fresh.national_export(TOWN, "students").await.bytes().await.unwrap());
    assert_eq!(again, cells);
    let pid = fresh.public_id("朴小英").await;
    let record = fresh.student(&pid).await.json_ok().await;
    let s = &record["student"];
    assert_eq!(s["current_address"], moved);
    assert_eq!(s["home_address"], "吉林省长春市农安县测试镇11号", "the other cells are as they were");
    assert_eq!((s["ethnicity"].as_str(), s["nationality"].as_str()), (Some("朝鲜族"), Some("中国")));
    assert_eq!((s["id_type"].as_str(), s["household_type"].as_str()), (Some("居民身份证"), Some("农业户口")));
    assert_eq!((s["birthplace_code"].as_str(), s["entry_date"].as_str()), (Some("220122100000"), Some("2026-09-01")));
    assert_eq!(s["entry_mode"], "就近入学");
    assert_eq!((s["inclusive"]["code"].as_str(), s["disability"]["label"].as_str()), (Some("1"), Some("视力残疾")));
    assert_eq!((s["health"]["code"].as_str(), s["left_behind"]["label"].as_str()), (Some("6"), Some("单亲留守儿童")));
    assert_eq!((s["only_child"].as_bool(), s["orphan"].as_bool()), (Some(true), Some(false)));
    let father = &s["guardians"][0];
    assert_eq!((father["is_guardian"].as_bool(), father["ethnicity"].as_str()), (Some(true), Some("朝鲜族")));
    assert_eq!(s["guardians"][1]["ethnicity"], "汉族");
}

#[tokio::test]
async fn the_intake_list_goes_out_to_be_completed_and_comes_back_as_records() {
    let app = as_registrar(TOWN).await;
    let births =
        [(2020, 9, 1), (2021, 2, 14), (2021, 8, 31)].map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).unwrap());
    let children: Vec<Vec<String>> = ["赵一", "钱二", "孙三"]
        .iter()
        .zip(births)
        .enumerate()
        .map(|(i, (name, birth))| intake_child(name, birth, u16::try_from(i).unwrap() + 21))
        .collect();
    let list = workbook(&intake_headers(), &children, |_| ());

    // The page says what it recognised; a check writes nothing.
    let page = app.import_page(TOWN, list.clone(), true).await.text().await.unwrap();
    assert!(page.contains("识别的文件：<strong>学前调档名单模板（国家学籍系统）</strong>"), "{page}");
    assert_eq!(written(&app).await.1, 0);

    let (status, report) = upload(&app, TOWN, list).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!((report["layout"].as_str(), report["intake_year"].as_i64()), (Some("intake_list"), Some(2027)));
    assert_eq!(report["inserted"], 3);
    assert_eq!(written(&app).await, (counts(app.db()).await, 3), "children on the list are no student records");
    assert_eq!(app.audit_count("intake.import", TOWN, "ok").await, 1);

    // The 调档学生导出 of the list: the five keys, every other item empty.
    let res = app.national_export_page(TOWN, "intake").await;
    assert_eq!(res.status(), StatusCode::OK);
    let exported = cells_of(&res.bytes().await.unwrap());
    assert_eq!(exported.len(), 4);
    let keys = INTAKE.map(|c| record_col(c.header));
    for (row, child) in exported[1..].iter().zip(&children) {
        for (i, cell) in row.iter().enumerate() {
            match keys.iter().position(|k| *k == i) {
                Some(k) => assert_eq!(cell, &child[k]),
                None => assert!(cell.is_empty(), "{} is for the school to fill", RECORD[i].header),
            }
        }
    }
    assert_eq!(app.audit_count("national.export", TOWN, "ok").await, 1);

    // In August, after the guardians signed the printed forms, the school
    // brings back two of the three completed; the third has not come.
    let later = {
        let mut later = app.restart_at(NaiveDate::from_ymd_opt(2027, 8, 20).unwrap()).await;
        later.login(&format!("r{TOWN}")).await;
        later
    };
    let completed: Vec<Vec<String>> = exported[1..3]
        .iter()
        .zip(births)
        .enumerate()
        .map(|(i, (row, birth))| {
            let mut full = national_child(&row[record_col("姓名")], birth, u16::try_from(i).unwrap() + 21);
            full[record_col("学籍号")] = String::new();
            full[record_col("入学年月")] = "202709".into();
            for k in keys {
                assert_eq!(full[k], row[k], "the keys stay as the list gave them");
            }
            full
        })
        .collect();
    let header: Vec<&str> = exported[0].iter().map(String::as_str).collect();
    let (status, report) = upload(&later, TOWN, workbook(&header, &completed, |_| ())).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!((report["inserted"].as_u64(), report["taken_up"].as_u64()), (Some(2), Some(2)));
    let open = cells_of(&later.national_export(TOWN, "intake").await.bytes().await.unwrap());
    assert_eq!(open.len(), 2);
    assert_eq!(open[1][record_col("姓名")], "孙三");
    let taken: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM intake_list WHERE student_id IS NOT NULL")
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    assert_eq!(taken, 2);
}

/// A child for the 2027 intake, born in the year before 31 August 2021, with a distinct ID per `i`.
fn listed_child(i: usize) -> Vec<String> {
    let birth = NaiveDate::from_ymd_opt(2020, 9, 1).unwrap().checked_add_days(Days::new((i % 365) as u64)).unwrap();
    intake_child(&format!("儿童{i}"), birth, u16::try_from(100 + i / 365).unwrap())
}

#[tokio::test]
async fn a_list_of_2000_children_is_recorded_whole_and_the_2001st_is_refused() {
    let app = as_registrar(TOWN).await;
    let rows: Vec<Vec<String>> = (0..2000).map(listed_child).collect();
    let (status, report) = upload(&app, TOWN, workbook(&intake_headers(), &rows, |_| ())).await;
    assert_eq!(status, StatusCode::OK, "{}", report["errors"]);
    assert_eq!((report["rows"].as_u64(), report["inserted"].as_u64()), (Some(2000), Some(2000)));
    assert_eq!(written(&app).await, (counts(app.db()).await, 2000));
    assert_eq!(counts(app.db()).await.0, 0, "no student record yet");

    let rows: Vec<Vec<String>> = (2000..4001).map(listed_child).collect();
    let message = assert_file_refused(&app, workbook(&intake_headers(), &rows, |_| ()), "import.too_many_rows").await;
    assert!(message.contains("最多2000行"), "{message}");
}

#[tokio::test]
async fn every_refused_child_is_named_by_row_and_column_and_no_child_is_listed() {
    let app = as_registrar(TOWN).await;
    let born = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
    // One child has a record already, another is on a list already.
    assert!(import_rows(app.db(), VILLAGE, vec![first_grader("有学籍", 5)]).await.committed);
    let student = first_grader("有学籍", 5);
    let listed = intake_child("已列入", born(2021, 1, 5), 7);
    let (status, _) = upload(&app, TOWN, workbook(&intake_headers(), std::slice::from_ref(&listed), |_| ())).await;
    assert_eq!(status, StatusCode::OK);

    let good = intake_child("正常", born(2021, 3, 3), 31);
    let mut checksum = intake_child("校验码", born(2021, 3, 4), 33);
    let last = if checksum[4].ends_with('1') { '2' } else { '1' };
    checksum[4] = format!("{}{last}", &checksum[4][..17]);
    let twin = good.clone();
    let young = intake_child("太小", born(2021, 9, 1), 35);
    let has_record = vec![
        "有学籍".into(),
        if student.gender == "男" { "1".into() } else { "2".into() },
        student.birth_date.replace('-', ""),
        "1".into(),
        student.id_number.clone(),
    ];
    let mut mismatch = intake_child("日期不符", born(2021, 4, 4), 37);
    mismatch[2] = "20210405".into();
    let mut gender = intake_child("性别码", born(2021, 4, 6), 39);
    gender[1] = "3".into();
    let mut kind = intake_child("证件类型", born(2021, 4, 7), 41);
    kind[3] = "X".into();
    let rows = vec![good, checksum, twin, young, has_record, listed, mismatch, gender, kind];
    let before = written(&app).await;
    let (status, report) = upload(&app, TOWN, workbook(&intake_headers(), &rows, |_| ())).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{report}");
    let got: Vec<(u64, &str, &str)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_u64().unwrap(), e["column"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            (3, "身份证件号", "id.checksum"),
            (4, "身份证件号", "intake.duplicate_in_file"),
            (5, "出生日期", "age.too_young"),
            (6, "身份证件号", "intake.already_student"),
            (7, "身份证件号", "intake.already_listed"),
            (8, "出生日期", "id.birth_mismatch"),
            (9, "性别", "gender.invalid"),
            (10, "身份证件类型", "import.id_type_invalid"),
        ]
    );
    assert_eq!(report["valid_rows"], 1);
    assert_eq!(report["committed"], false);
    assert_eq!(written(&app).await, before, "no child may be listed");
    assert_eq!(app.audit_count("intake.import", TOWN, "refused").await, 1);

    // A registrar lists only for the schools in their scope.
    let mut other = spawn_app().await;
    other.login(&format!("r{JUNIOR}")).await;
    let res = other.import_roster(TOWN, "", workbook(&intake_headers(), &rows[..1], |_| ())).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // And a junior school has no grade-1 intake.
    let res = other.import_roster(JUNIOR, "", workbook(&intake_headers(), &rows[..1], |_| ())).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "intake.school_kind");
}

#[tokio::test]
async fn a_reformatted_national_header_is_refused_naming_the_column() {
    let app = as_registrar(TOWN).await;
    let mut header = record_headers();
    header[record_col("民族")] = "民族代码";
    let rows = [national_student("金小勇", 10)];
    let m = assert_file_refused(&app, workbook(&header, &rows, |_| ()), "import.header_changed").await;
    assert!(m.contains("《调档学生导出》") && m.contains("第7列（G列）应为“民族”，文件中为“民族代码”"), "{m}");

    let mut header = intake_headers();
    header[0] = "*姓名";
    let rows = [intake_child("赵一", NaiveDate::from_ymd_opt(2021, 1, 1).unwrap(), 3)];
    let m = assert_file_refused(&app, workbook(&header, &rows, |_| ()), "import.header_changed").await;
    assert!(m.contains("第1列（A列）表头“*姓名”应为“姓名”"), "{m}");

    // Our own template is read as before, stars and all.
    let mut header: Vec<&str> = COLUMNS.iter().map(|c| c.header).collect();
    header[0] = "*姓名";
    let row: Vec<String> = first_grader("模板", 9).cells().iter().map(|c| (*c).to_owned()).collect();
    let (status, report) = upload(&app, TOWN, workbook(&header, &[row], |_| ())).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["layout"], "roster");
}

#[tokio::test]
async fn an_id_in_scientific_notation_is_refused_in_either_form() {
    let app = as_registrar(TOWN).await;
    let mut bad = first_grader("甲", 1);
    bad.id_number = "2.20122E+17".into();
    let reason = assert_refused(
        &app,
        template_book(&[first_grader("乙", 2), bad], |_| ()),
        3,
        "身份证件号",
        "import.id_scientific",
    )
    .await;
    assert!(reason.contains("科学计数法"), "{reason}");

    let number = |s: &mut Worksheet| {
        s.write_number(1, template_col("身份证件号"), 220_122_202_003_010_011.0).unwrap();
    };
    assert_refused(&app, template_book(&[first_grader("甲", 1)], number), 2, "身份证件号", "import.id_as_number").await;

    // The national layouts too.
    let mut child = intake_child("赵一", NaiveDate::from_ymd_opt(2021, 1, 1).unwrap(), 3);
    child[4] = "2.20122E+17".into();
    assert_refused(&app, workbook(&intake_headers(), &[child], |_| ()), 2, "身份证件号", "import.id_scientific").await;
}

#[tokio::test]
async fn full_width_digits_are_refused_with_the_half_width_value_to_type() {
    let app = as_registrar(TOWN).await;
    let mut bad = first_grader("甲", 1);
    let phone = bad.guardian1_phone.clone();
    bad.guardian1_phone = phone.chars().map(|c| char::from_u32(u32::from(c) + 0xFEE0).unwrap()).collect();
    let reason = assert_refused(&app, template_book(&[bad], |_| ()), 2, "成员1联系电话", "import.full_width").await;
    assert!(reason.ends_with(&format!("：{phone}")), "{reason}");

    let mut child = intake_child("赵一", NaiveDate::from_ymd_opt(2021, 1, 1).unwrap(), 3);
    child[2] = "２０２１０１０１".into();
    let reason =
        assert_refused(&app, workbook(&intake_headers(), &[child], |_| ()), 2, "出生日期", "import.full_width").await;
    assert!(reason.ends_with("：20210101"), "{reason}");
}

#[tokio::test]
async fn a_date_given_as_an_excel_serial_number_is_refused_naming_the_date() {
    let app = as_registrar(TOWN).await;
    let pupil = first_grader("甲", 1);
    let serial = NaiveDate::parse_from_str(&pupil.birth_date, "%Y-%m-%d").unwrap()
        - NaiveDate::from_ymd_opt(1899, 12, 30).unwrap();
    let days = serial.num_days();
    let edit = |s: &mut Worksheet| {
        s.write_number(1, template_col("出生日期"), days as f64).unwrap();
    };
    let reason =
        assert_refused(&app, template_book(std::slice::from_ref(&pupil), edit), 2, "出生日期", "import.date_serial")
            .await;
    assert!(reason.contains(&format!("“{days}”是 Excel 的日期序号（即{}）", pupil.birth_date)), "{reason}");
    assert!(reason.contains("YYYY-MM-DD"), "{reason}");
}

#[tokio::test]
async fn merged_cells_are_refused() {
    let app = as_registrar(TOWN).await;
    let rows = [first_grader("甲", 1), first_grader("乙", 2)];
    let col = template_col("户口所在地");
    let merge = |s: &mut Worksheet| {
        s.merge_range(1, col, 2, col, "吉林省长春市农安县测试镇1号", &rust_xlsxwriter::Format::new()).unwrap();
    };
    let reason = assert_refused(&app, template_book(&rows, merge), 2, "户口所在地", "import.merged_cells").await;
    assert!(reason.starts_with("Q2:Q3是合并单元格"), "{reason}");
}

#[tokio::test]
async fn a_hidden_row_is_refused() {
    let app = as_registrar(TOWN).await;
    let rows = [first_grader("甲", 1), first_grader("乙", 2), first_grader("丙", 3)];
    let hide = |s: &mut Worksheet| {
        s.set_row_hidden(2).unwrap();
    };
    let reason = assert_refused(&app, template_book(&rows, hide), 3, "姓名", "import.hidden_row").await;
    assert!(reason.contains("第3行是隐藏行"), "{reason}");
}

#[tokio::test]
async fn data_on_more_than_one_sheet_is_refused_naming_the_sheets() {
    let app = as_registrar(TOWN).await;
    let headers: Vec<&str> = COLUMNS.iter().map(|c| c.header).collect();
    let mut book = Workbook::new();
    for (name, pupil) in [("一班", first_grader("甲", 1)), ("二班", first_grader("乙", 2))] {
        let sheet = book.add_worksheet();
        sheet.set_name(name).unwrap();
        for (c, h) in headers.iter().enumerate() {
            sheet.write_string(0, u16::try_from(c).unwrap(), *h).unwrap();
        }
        for (c, cell) in pupil.cells().iter().enumerate() {
            sheet.write_string(1, u16::try_from(c).unwrap(), *cell).unwrap();
        }
    }
    let m = assert_file_refused(&app, book.save_to_buffer().unwrap(), "import.many_sheets").await;
    assert!(m.contains("2个工作表有数据：“一班”、“二班”"), "{m}");
}

#[tokio::test]
async fn the_national_export_needs_a_login_and_the_school_in_scope() {
    let mut app = spawn_app().await;
    assert_eq!(app.national_export(TOWN, "intake").await.status(), StatusCode::UNAUTHORIZED);
    app.login(&format!("r{CENTRAL}")).await;
    assert_eq!(app.national_export(TOWN, "students").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.audit_count("national.export", TOWN, "refused").await, 1);
    let res = app.national_export(CENTRAL, "everyone").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "export.list");
    // An empty list still has the issued header row.
    let cells = cells_of(&app.national_export(CENTRAL, "intake").await.bytes().await.unwrap());
    assert_eq!(cells, [record_headers()]);
}
