//! The bureau's statistics through the real server: a dozen pupils with
//! known ages, groups and movements, made through the real import and the
//! real workflows over a school year (a transfer, a suspension, a death, a
//! dropout, graduation, promotion, a junior intake), every table compared
//! with figures worked out by hand; "as of" a past date counting pupils
//! where they were then; the movement table balancing, and not balancing
//! when a row is changed behind the history's back; drill-downs scoped and
//! audited; a list leaving only under the bureau's recorded approval.

use crate::helpers::*;
use chrono::NaiveDate;
use reqwest::StatusCode;
use serde_json::{Value, json};
use xueji::domain::IdNumber;
use xueji::roster::Row;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// A pupil born on `birth`, in `grade`, entered on `entry`, with `set` applied.
fn kid(name: &str, birth: (i32, u32, u32), seq: u16, grade: u8, entry: &str, set: impl FnOnce(&mut Row)) -> Row {
    let mut r = pupil(name, birth, seq, grade);
    r.entry_date = entry.into();
    set(&mut r);
    r
}

/// The table `name` as of `as_of`, as a reader sees it.
async fn table(s: &Session, name: &str, as_of: &str) -> Value {
    s.fetch(&format!("/api/reports/{name}?as_of={as_of}")).await.json_ok().await
}

/// The cells of the row labelled `label`, as numbers (a rate as its value, an empty rate as -1).
fn row(t: &Value, label: &str) -> Vec<f64> {
    let r = t["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["label"] == label)
        .unwrap_or_else(|| panic!("row {label} in {t}"));
    r["cells"].as_array().unwrap().iter().map(|c| c.as_f64().unwrap_or(-1.0)).collect()
}

fn key(t: &Value, label: &str) -> String {
    t["rows"].as_array().unwrap().iter().find(|r| r["label"] == label).unwrap()["key"].as_str().unwrap().to_owned()
}

fn labels(t: &Value) -> Vec<String> {
    t["rows"].as_array().unwrap().iter().map(|r| r["label"].as_str().unwrap().to_owned()).collect()
}

/// Makes the county and moves it through the year 2026-2027; the last
/// server, on 30 November 2027, is returned with the first (which owns the data).
async fn a_year_of_the_county() -> (TestApp, TestApp) {
    let app = spawn_app().await;
    let id_elsewhere = IdNumber::from_parts("110105", day(2014, 5, 1), 41).unwrap().to_string();
    let town = vec![
        kid("城一", (2020, 3, 5), 12, 1, "2026-09-01", |r| {
            r.preschool = "是".into();
            r.left_behind = "单亲留守儿童".into();
        }),
        kid("城二", (2019, 10, 1), 11, 1, "2026-09-01", |r| r.preschool = "否".into()),
        kid("城三", (2018, 2, 1), 14, 3, "2024-09-01", |r| {
            r.ethnicity = "满族".into();
        }),
        kid("城四", (2014, 5, 1), 41, 6, "2021-09-01", |r| {
            r.id_number = id_elsewhere.clone();
            r.migrant_child = "是".into();
        }),
    ];
    let central = vec![
        kid("镇一", (2018, 6, 1), 21, 3, "2024-09-01", |r| r.left_behind = "双亲留守儿童".into()),
        kid("镇二", (2014, 9, 15), 22, 6, "2021-09-01", |_| {}),
        kid("镇三", (2014, 12, 1), 23, 6, "2021-09-01", |r| r.orphan = "是".into()),
    ];
    let village = vec![
        kid("村一", (2019, 1, 1), 32, 2, "2025-09-01", |r| {
            r.inclusive = "视力残疾随班就读".into();
            r.disability_type = "视力残疾".into();
        }),
        kid("村二", (2016, 8, 1), 31, 4, "2023-09-01", |_| {}),
    ];
    let junior = vec![
        kid("中一", (2013, 3, 1), 52, 7, "2026-09-01", |_| {}),
        kid("中二", (2012, 7, 1), 53, 8, "2025-09-01", |r| {
            r.study_mode = "送教上门".into();
            r.disability_type = "智力残疾".into();
        }),
        kid("中三", (2011, 5, 5), 54, 9, "2024-09-01", |r| {
            r.ethnicity = "蒙古族".into();
        }),
    ];
    for (code, rows) in [(TOWN, town), (CENTRAL, central), (VILLAGE, village), (JUNIOR, junior)] {
        let n = rows.len();
        let report = import_rows(app.db(), code, rows).await;
        assert!(report.committed, "{code}: {:?}", report.errors);
        assert_eq!(report.inserted, n);
    }

    // 10 December 2026: 城三 moves from the county-town school to the central school.
    let dec = app.restart_at(day(2026, 12, 10)).await;
    let central_r = sign_in(&dec, &format!("r{CENTRAL}")).await;
    let town_r = sign_in(&dec, &format!("r{TOWN}")).await;
    let bureau = sign_in(&dec, "bureau").await;
    let no: String = sqlx::query_scalar("SELECT student_no FROM students WHERE name = '城三'")
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    let body = json!({"student_no": no, "name": "城三", "to_class": 1, "reason": "家庭迁居", "guardian_name": "家长",
                      "guardian_phone": "13904310001"});
    let case = central_r.open_transfer(&body).await.json_with(StatusCode::CREATED).await;
    let id = case["id"].as_str().unwrap().to_owned();
    central_r.case_proof(&id, "transfer_proof", "户口簿", 3).await;
    central_r.approve(&id, "receiving_school", "同意接收", "王").await;
    bureau.approve(&id, "receiving_bureau", "同意", "李").await;
    town_r.approve(&id, "sending_school", "同意转出", "赵").await;
    assert_eq!(bureau.approve(&id, "sending_bureau", "同意", "钱").await["state"], "completed");
    drop(dec);

    // 11 January 2027: 村二 is suspended (the central school holds the village school's files).
    let jan = app.restart_at(day(2027, 1, 11)).await;
    let central_r = sign_in(&jan, &format!("r{CENTRAL}")).await;
    let cun2 = jan.public_id("村二").await;
    let body = json!({"reason": "因病住院治疗", "guardian_name": "家长", "guardian_phone": "13904310001"});
    let case = central_r.apply_suspension(&cun2, &body).await.json_with(StatusCode::CREATED).await;
    let id = case["id"].as_str().unwrap().to_owned();
    central_r.case_proof(&id, "diagnosis", "县医院诊断证明", 51).await;
    central_r.approve(&id, "school", "同意", "周").await;
    assert_eq!(sign_in(&jan, "bureau").await.approve(&id, "bureau", "同意", "吴").await["state"], "completed");
    drop(jan);

    // 1 March 2027: 镇一 died on 26 February.
    let mar = app.restart_at(day(2027, 3, 1)).await;
    let central_r = sign_in(&mar, &format!("r{CENTRAL}")).await;
    let zhen1 = mar.public_id("镇一").await;
    let proof = central_r.scan(&zhen1, "death_certificate", 91).await;
    let res = central_r.record_death(&zhen1, &json!({"died_on": "2027-02-26", "proofs": [proof]})).await;
    assert_eq!(res.status(), StatusCode::OK);
    drop(mar);

    // 村一 stops coming on 22 March: suspected on 1 April, a dropout on 6 May.
    let cun1 = app.public_id("村一").await;
    let apr = app.restart_at(day(2027, 4, 1)).await;
    let r = sign_in(&apr, &format!("r{CENTRAL}"))
        .await
        .suspect_dropout(&cun1, &json!({"absent_since": "2027-03-22"}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    drop(apr);
    let may = app.restart_at(day(2027, 5, 6)).await;
    let r =
        sign_in(&may, &format!("r{CENTRAL}")).await.report_dropout(&cun1, &json!({"absent_since": "2027-03-22"})).await;
    assert_eq!(r.status(), StatusCode::OK);
    drop(may);

    // 15 June: graduation; 10 August: promotion; 20 August: 城四 enters the junior school.
    let june = app.restart_at(day(2027, 6, 15)).await;
    let g = sign_in(&june, "bureau").await.run_graduation(2027, &json!({})).await.json_with(StatusCode::OK).await;
    assert_eq!(g["moved"], 4, "城四, 镇二, 镇三, 中三");
    drop(june);
    let aug = app.restart_at(day(2027, 8, 10)).await;
    sign_in(&aug, "bureau").await.run_promotion(2027, &json!({})).await.json_with(StatusCode::OK).await;
    drop(aug);
    let intake = app.restart_at(day(2027, 8, 20)).await;
    let no: String = sqlx::query_scalar("SELECT student_no FROM students WHERE name = '城四'")
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    let r = sign_in(&intake, &format!("r{JUNIOR}"))
        .await
        .junior_intake(&json!({"student_no": no, "name": "城四", "class_number": 1}))
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    drop(intake);
    let last = app.restart_at(day(2027, 11, 30)).await;
    (app, last)
}

#[tokio::test]
async fn every_table_counts_a_hand_built_county_as_worked_out_by_hand() {
    let (_app, last) = a_year_of_the_county().await;
    let bureau = sign_in(&last, "bureau").await;

    // As of 5 December 2026: all twelve, where they were (城三 still in the county town).
    let t = table(&bureau, "grade", "2026-12-05").await;
    assert_eq!(row(&t, "总计"), [12.0, 6.0, 2.0, 4.0], "合计, 女, 少数民族, 毕业班: {t}");
    assert_eq!(labels(&t), ["一年级", "二年级", "三年级", "四年级", "六年级", "七年级", "八年级", "九年级", "总计"]);
    assert_eq!(row(&t, "六年级"), [3.0, 1.0, 0.0, 3.0]);
    assert_eq!(row(&t, "三年级"), [2.0, 1.0, 1.0, 0.0]);
    let overview = table(&bureau, "overview", "2026-12-05").await;
    assert_eq!(row(&overview, "测试县城小学")[0], 4.0);
    assert_eq!(row(&overview, "测试镇中心小学")[0], 3.0);
    // After the transfer, as of 10 December: counted where they were that day.
    let overview = table(&bureau, "overview", "2026-12-10").await;
    assert_eq!(row(&overview, "测试县城小学")[0], 3.0);
    assert_eq!(row(&overview, "测试镇中心小学")[0], 4.0);
    // 学生概况: 男, 女, 少数民族, 随迁子女, 非本区县户籍, 留守儿童 … 孤儿 … 残疾, 问题学籍.
    let total = row(&overview, "合计");
    assert_eq!(&total[..7], [12.0, 6.0, 6.0, 2.0, 1.0, 1.0, 2.0]);
    assert_eq!(total[12], 1.0, "孤儿");
    assert_eq!(total[14], 2.0, "残疾");
    assert_eq!(total[15], 0.0, "问题学籍");

    let locations = table(&bureau, "location", "2026-12-05").await;
    assert_eq!(row(&locations, "城区"), [7.0, 4.0, 3.0, 4.0], "county-town primary and junior");
    assert_eq!(row(&locations, "镇区"), [3.0, 3.0, 0.0, 1.0]);
    assert_eq!(row(&locations, "乡村"), [2.0, 2.0, 0.0, 1.0]);

    // Ages in full years on 5 December 2026.
    let ages = table(&bureau, "age", "2026-12-05").await;
    assert_eq!(row(&ages, "总计"), [12.0, 0.0, 1.0, 2.0, 2.0, 0.0, 1.0, 0.0, 3.0, 1.0, 1.0, 1.0]);
    assert_eq!(row(&ages, "一年级")[..4], [2.0, 0.0, 1.0, 1.0], "城一 is 6, 城二 7");

    let entrants = table(&bureau, "entrants", "2026-12-05").await;
    assert_eq!(row(&entrants, "一年级"), [2.0, 1.0, 1.0, 1.0, 0.0], "招生, 女, 学前 是/否/不详");
    assert_eq!(row(&entrants, "七年级"), [1.0, 1.0, 0.0, 0.0, 1.0], "中一's preschool is not recorded");

    let groups = table(&bureau, "special_groups", "2026-12-05").await;
    assert_eq!(row(&groups, "进城务工人员随迁子女"), [1.0, 1.0, 0.0, 0.0]);
    assert_eq!(row(&groups, "　其中：外省迁入")[0], 1.0);
    assert_eq!(row(&groups, "农村留守儿童"), [2.0, 2.0, 0.0, 1.0]);
    assert_eq!(row(&groups, "　其中：单亲留守")[0], 1.0);
    assert_eq!(row(&groups, "　　　　双亲留守")[0], 1.0);
    assert_eq!(row(&groups, "随班就读")[0], 1.0);
    assert_eq!(row(&groups, "送教上门"), [1.0, 0.0, 1.0, 0.0]);
    assert_eq!(row(&groups, "孤儿")[0], 1.0);
    assert_eq!(row(&groups, "烈士子女或优抚对象子女")[0], 0.0);
    let disability = table(&bureau, "disability", "2026-12-05").await;
    assert_eq!(row(&disability, "视力残疾"), [1.0, 1.0, 0.0]);
    assert_eq!(row(&disability, "智力残疾"), [1.0, 0.0, 1.0]);

    let classes = table(&bureau, "class_size", "2026-12-05").await;
    assert_eq!(row(&classes, "小学")[..2], [7.0, 7.0], "seven primary classes, all of 25 or fewer");
    assert_eq!(row(&classes, "初中")[..2], [3.0, 3.0]);

    // A year later: six enrolled (two promoted first-graders, 城三 in grade 4, three in the junior school).
    let t = table(&bureau, "grade", "2027-11-30").await;
    assert_eq!(labels(&t), ["二年级", "四年级", "七年级", "八年级", "九年级", "总计"]);
    assert_eq!(row(&t, "总计"), [6.0, 3.0, 1.0, 1.0]);
    let grads = table(&bureau, "graduates", "2027-11-30").await;
    assert_eq!(row(&grads, "小学"), [3.0, 1.0, 0.0]);
    assert_eq!(row(&grads, "初中"), [1.0, 1.0, 1.0]);

    // The movement table over the year to 30 November 2027 balances school by school.
    let m = table(&bureau, "movement", "2027-11-30").await;
    assert_eq!(m["imbalances"], json!([]), "{m}");
    // 学年初, 招生, 转入, 复学, 毕业, 转出, 休学, 死亡, 其他, 学年末, 不平衡.
    assert_eq!(row(&m, "测试县城小学"), [4.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 2.0, 0.0]);
    assert_eq!(row(&m, "测试镇中心小学"), [3.0, 0.0, 1.0, 0.0, 2.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0]);
    assert_eq!(row(&m, "测试镇村小学"), [2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0]);
    assert_eq!(row(&m, "测试县城中学"), [3.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 3.0, 0.0]);
    assert_eq!(row(&m, "合计"), [12.0, 1.0, 1.0, 0.0, 4.0, 1.0, 1.0, 1.0, 1.0, 6.0, 0.0]);

    // 巩固率: each graduating cohort kept whole; dropout rate on the year's opening.
    let p = table(&bureau, "retention_primary", "2027-11-30").await;
    // 该届入学, 转入, 转出, 应毕业, 毕业, 巩固率, 学年初在校, 辍学, 辍学率.
    assert_eq!(row(&p, "测试县城小学"), [1.0, 0.0, 0.0, 1.0, 1.0, 100.0, 4.0, 0.0, 0.0]);
    assert_eq!(row(&p, "测试镇中心小学"), [2.0, 0.0, 0.0, 2.0, 2.0, 100.0, 3.0, 0.0, 0.0]);
    assert_eq!(row(&p, "测试镇村小学"), [0.0, 0.0, 0.0, 0.0, 0.0, -1.0, 2.0, 1.0, 50.0]);
    let county = row(&p, "合计");
    assert_eq!(county[5], 100.0);
    assert!((county[8] - 100.0 / 9.0).abs() < 1e-9, "{county:?}");
    let j = table(&bureau, "retention_junior", "2027-11-30").await;
    assert_eq!(row(&j, "测试县城中学")[..6], [1.0, 0.0, 0.0, 1.0, 1.0, 100.0]);
}

#[tokio::test]
async fn a_row_changed_behind_the_historys_back_unbalances_the_movement_table_by_name() {
    let (app, last) = a_year_of_the_county().await;
    sqlx::query("UPDATE students SET status = 'dropout' WHERE name = '中一'").execute(&app.db().pool).await.unwrap();
    let bureau = sign_in(&last, "bureau").await;
    let m = table(&bureau, "movement", "2027-11-30").await;
    let junior = row(&m, "测试县城中学");
    assert_eq!((junior[9], junior[10]), (2.0, 1.0), "closing, 不平衡: {m}");
    let reason = m["imbalances"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("学籍状态") && reason.contains("变动历史"), "{reason}");
    // The difference column opens the one student.
    let k = key(&m, "测试县城中学");
    let list =
        bureau.fetch(&format!("/api/reports/movement/cell?as_of=2027-11-30&row={k}&col=10")).await.json_ok().await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["students"][0]["name"], "中一");
}

#[tokio::test]
async fn a_cell_opens_its_pupils_scoped_and_audited_and_a_list_leaves_only_under_an_approval() {
    let app = spawn_app().await;
    let rows = vec![pupil("统计甲", (2018, 3, 1), 61, 3), pupil("统计乙", (2018, 4, 1), 62, 3)];
    assert!(import_rows(app.db(), CENTRAL, rows).await.committed);
    assert!(import_rows(app.db(), TOWN, vec![pupil("统计丙", (2018, 5, 1), 63, 3)]).await.committed);
    let today = today().to_string();
    let bureau = sign_in(&app, "bureau").await;
    let t = table(&bureau, "overview", &today).await;
    let central = key(&t, "测试镇中心小学");
    let list =
        bureau.fetch(&format!("/api/reports/overview/cell?as_of={today}&row={central}&col=0")).await.json_ok().await;
    let names: Vec<&str> = list["students"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"统计甲") && names.contains(&"统计乙"));
    assert_eq!(app.audit_count("report.cell", "overview", "ok").await, 1);

    // The county-town registrar sees their own school's row only; another's is 404, audited.
    let town = sign_in(&app, &format!("r{TOWN}")).await;
    let mine = table(&town, "overview", &today).await;
    assert_eq!(labels(&mine), ["测试县城小学", "合计"]);
    let res = town.fetch(&format!("/api/reports/overview/cell?as_of={today}&row={central}&col=0")).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.audit_count("report.cell", "overview", "refused").await, 1);
    // … and the bureau's school filter does not widen a registrar's view.
    let res = town.fetch(&format!("/api/reports/overview?school={CENTRAL}")).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // A list without an approval is refused, and nothing counts as exported.
    let cell = json!({"as_of": today, "row": central, "col": 0});
    let msg = refused_with(
        bureau.send_json("/api/reports/overview/export", &cell).await,
        StatusCode::FORBIDDEN,
        "report.export_unapproved",
    )
    .await;
    assert!(msg.contains("第三十三条"), "{msg}");
    assert_eq!(app.audit_count("report.list_export", "overview", "refused").await, 1);
    // A registrar cannot approve; an approval needs its 文号, purpose and recipient.
    let mut approval = cell.clone();
    approval["document_no"] = json!("农教字〔2026〕12号");
    approval["purpose"] = json!("核对营养餐补助名单");
    approval["recipient"] = json!("县财政局");
    let res = town.send_json("/api/reports/overview/approvals", &approval).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let mut empty = approval.clone();
    empty["purpose"] = json!(" ");
    refused_with(
        bureau.send_json("/api/reports/overview/approvals", &empty).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "report.approval_incomplete",
    )
    .await;
    let approved =
        bureau.send_json("/api/reports/overview/approvals", &approval).await.json_with(StatusCode::CREATED).await;
    let number = approved["number"].as_str().unwrap().to_owned();
    assert!(number.starts_with("外发-2026-"), "{number}");
    // The approval is for that list only.
    let mut other = cell.clone();
    other["col"] = json!(1);
    other["approval"] = json!(number);
    refused_with(
        bureau.send_json("/api/reports/overview/export", &other).await,
        StatusCode::FORBIDDEN,
        "report.export_unapproved",
    )
    .await;
    let mut export = cell.clone();
    export["approval"] = json!(number);
    let res = bureau.send_json("/api/reports/overview/export", &export).await;
    assert_eq!(res.status(), StatusCode::OK);
    let bytes = res.bytes().await.unwrap().to_vec();
    let sheet = xlsx_text(&bytes);
    assert!(sheet.contains(&number) && sheet.contains("统计甲") && sheet.contains("县财政局"), "{sheet}");
    assert!(!sheet.contains("统计丙"), "only the cell's pupils");
    let header = xlsx_part(&bytes, "xl/worksheets/sheet1.xml");
    assert!(header.contains("oddHeader") && header.contains(&number), "the number is on every printed page");
    assert_eq!(app.audit_count("report.list_export", "overview", "ok").await, 1);
    let exports: i64 = sqlx::query_scalar("SELECT exports FROM export_approvals WHERE number = $1")
        .bind(&number)
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    assert_eq!(exports, 1);

    // The bureau's register lists the approval: who, why, to whom, what, until when, how often used.
    let register = bureau.fetch("/api/reports/approvals").await.json_ok().await;
    assert_eq!(register["total"], 1);
    let entry = &register["approvals"][0];
    assert_eq!(entry["number"], number.as_str());
    assert_eq!(entry["document_no"], "农教字〔2026〕12号");
    assert_eq!(entry["recipient"], "县财政局");
    assert_eq!(entry["purpose"], "核对营养餐补助名单");
    assert_eq!(entry["row_key"], central.as_str());
    assert_eq!(entry["exports"], 1);
    assert_eq!(entry["in_force"], true);
    assert!(entry["approved_by_name"].as_str().is_some_and(|n| !n.is_empty()), "{entry}");
    assert!(entry["title"].as_str().is_some_and(|t| !t.is_empty()) && entry["column_label"].is_string(), "{entry}");
    let page = bureau.fetch("/reports/approvals").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains(&number) && html.contains("县财政局") && html.contains("1 次"), "{html}");
    assert!(!html.contains("统计甲"), "the register names no pupil");
    // A school's registrar does not see it.
    assert_eq!(town.fetch("/api/reports/approvals").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(town.fetch("/reports/approvals").await.status(), StatusCode::FORBIDDEN);

    // A table (counts only) exports as xlsx for anyone who may read it.
    let res = town.fetch(&format!("/api/reports/grade/xlsx?as_of={today}")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let sheet = xlsx_text(&res.bytes().await.unwrap());
    assert!(sheet.contains("在校学生数（分年级）") && sheet.contains("总计"), "{sheet}");
}

/// The shared strings and cell values of an xlsx file, as one text.
fn xlsx_text(bytes: &[u8]) -> String {
    format!("{}{}", xlsx_part(bytes, "xl/sharedStrings.xml"), xlsx_part(bytes, "xl/worksheets/sheet1.xml"))
}

fn xlsx_part(bytes: &[u8], name: &str) -> String {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut out = String::new();
    if let Ok(mut f) = zip.by_name(name) {
        f.read_to_string(&mut out).unwrap();
    }
    out
}
