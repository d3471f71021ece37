//! Every form prints from the record what its paper carries: the pupils come
//! in through the roster import over the API, the school's principal,
//! registrar and head teacher are recorded through the API and the command
//! line, the history through the workflows; the PDFs are read back with
//! `pdftotext -layout` (and, for a tick box, rasterised). The full record's
//! papers are left in `target/test-artefacts/forms-*.pdf` to look at.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;
use xueji::roster::Row;

/// Runs `xueji ARGS` against the test server's database, as operator `clerk-3`; (exit code, stdout + stderr).
fn xueji(app: &TestApp, args: &[&str]) -> (i32, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_xueji"))
        .args(args)
        .env("XUEJI_DATA_DIR", &app.app.config.data_dir)
        .env("XUEJI_DATABASE_URL", &app.app.config.database_url)
        .env("XUEJI_FONTS_DIR", std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fonts"))
        .env("XUEJI_LOG", "warn")
        .env("USER", "clerk-3")
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

/// The recorded principal and registrar of a school.
async fn officers(app: &TestApp, code: &str) -> (String, String) {
    let school = xueji::db::schools::by_code(&app.db().pool, code).await.unwrap().unwrap();
    (school.principal, school.registrar)
}

#[tokio::test]
async fn the_bureau_records_a_schools_principal_and_registrar_and_a_school_cannot() {
    let app = spawn_app().await;
    let bureau = sign_in(&app, "bureau").await;
    let town = sign_in(&app, &format!("r{TOWN}")).await;

    let school = bureau
        .set_school_officers(TOWN, &json!({"principal": " 孙立新 ", "registrar": "赵敏"}))
        .await
        .json_with(StatusCode::OK)
        .await;
    assert_eq!((school["principal"].as_str(), school["registrar"].as_str()), (Some("孙立新"), Some("赵敏")));
    assert_eq!(app.audit_count("school.officers", TOWN, "ok").await, 1);
    // An omitted name is kept; the list shows both.
    bureau.set_school_officers(TOWN, &json!({"registrar": "高红"})).await.json_with(StatusCode::OK).await;
    assert_eq!(officers(&app, TOWN).await, ("孙立新".into(), "高红".into()));
    let listed = town.schools().await.json_ok().await;
    assert_eq!(listed[0]["principal"], "孙立新", "{listed}");

    // A school's registrar may not, and the attempt is audited once.
    let res = town.set_school_officers(TOWN, &json!({"principal": "王自封"})).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["code"], "school.bureau_only");
    assert_eq!(app.audit_count("school.officers", TOWN, "denied").await, 1);
    assert_eq!(app.audit_count("access.denied", "/api/schools/{code}", "forbidden").await, 0);
    // Without the CSRF header, nothing is written.
    let (client, base, _) = bureau.parts();
    let res = client.put(format!("{base}/api/schools/{TOWN}")).json(&json!({"principal": "甲"})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // A name the fonts cannot print, a name too long, an unknown school.
    let res = bureau.set_school_officers(TOWN, &json!({"principal": "王\u{E000}"})).await;
    assert_eq!(res.json_with(StatusCode::UNPROCESSABLE_ENTITY).await["code"], "text.unprintable");
    let long = "长".repeat(31);
    let res = bureau.set_school_officers(TOWN, &json!({"registrar": long})).await;
    assert_eq!(res.json_with(StatusCode::UNPROCESSABLE_ENTITY).await["code"], "field.too_long");
    assert_eq!(
        bureau.set_school_officers("2122010000", &json!({"principal": "甲"})).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(officers(&app, TOWN).await, ("孙立新".into(), "高红".into()), "refusals change nothing");

    // The command line, audited as the operator.
    let (code, out) = xueji(&app, &["schools", "set", JUNIOR, "--principal", "周志强", "--registrar", "陈静"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("校长 周志强") && out.contains("学籍管理员 陈静"), "{out}");
    assert_eq!(officers(&app, JUNIOR).await, ("周志强".into(), "陈静".into()));
    let who: String =
        sqlx::query_scalar("SELECT username FROM audit_log WHERE action = 'school.officers' AND target_id = $1")
            .bind(JUNIOR)
            .fetch_one(&app.db().pool)
            .await
            .unwrap();
    assert_eq!(who, "cli:clerk-3");
    let (code, out) = xueji(&app, &["schools", "set", JUNIOR]);
    assert_ne!(code, 0, "a name is required: {out}");

    // The certificates print the principal, the proof of a lost one too.
    assert!(import_rows(app.db(), JUNIOR, vec![pupil("毕业生", (2011, 10, 2), 611, 9)]).await.committed);
    let pid = app.public_id("毕业生").await;
    graduate_where(app.db(), "public_id", &pid).await;
    let issued = bureau.issue_certificates(&json!({"school": JUNIOR, "kind": "graduation_certificate"})).await;
    let number = issued.json_ok().await["issued"][0].as_str().unwrap().to_owned();
    let text = pdftotext(&bureau.document(&pid, "graduation_certificate").await.bytes().await.unwrap());
    assert!(text.contains("校长：周志强"), "{text}");
    bureau.hand_over_certificate(&number, "毕业生").await.json_ok().await;
    bureau.report_certificate_lost(&number, &json!({"reason": "遗失"})).await.json_ok().await;
    let text = pdftotext(&bureau.document(&pid, "academic_proof").await.bytes().await.unwrap());
    assert!(text.contains("校长：周志强") && text.contains("经办人：") && text.contains("陈静"), "{text}");
}

#[tokio::test]
async fn a_registrar_records_the_head_teacher_of_their_own_classes_only() {
    let app = spawn_app().await;
    let town = sign_in(&app, &format!("r{TOWN}")).await;
    let central = sign_in(&app, &format!("r{CENTRAL}")).await;
    let class = town.set_head_teacher(TOWN, 3, 1, "刘淑华").await.json_with(StatusCode::OK).await;
    assert_eq!(class["head_teacher"], "刘淑华");
    assert_eq!(app.audit_count("class.head_teacher", &format!("{TOWN}/3/1"), "ok").await, 1);
    // Another school's registrar does not see the school; a class that does not exist is named.
    assert_eq!(central.set_head_teacher(TOWN, 3, 1, "王冒名").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.audit_count("class.head_teacher", &format!("{TOWN}/3/1"), "denied").await, 1);
    let res = town.set_head_teacher(TOWN, 3, 9, "刘淑华").await;
    assert_eq!(res.json_with(StatusCode::UNPROCESSABLE_ENTITY).await["code"], "class.not_found");
    // The central school's registrar holds the village school's files.
    central.set_head_teacher(VILLAGE, 2, 1, "何静").await.json_with(StatusCode::OK).await;
    // The command line.
    let (code, out) =
        xueji(&app, &["schools", "head-teacher", TOWN, "--grade", "三年级", "--class", "1", "--name", "李红"]);
    assert_eq!(code, 0, "{out}");
    let head: Option<String> =
        xueji::db::schools::head_teacher_of(&app.db().pool, class_id(&app, TOWN, 3, 1).await).await.unwrap();
    assert_eq!(head.as_deref(), Some("李红"));
}

/// The id of a fixture class.
async fn class_id(app: &TestApp, code: &str, grade: i64, number: i64) -> i64 {
    let school = xueji::db::schools::by_code(&app.db().pool, code).await.unwrap().unwrap();
    xueji::db::schools::class_by(&app.db().pool, school.id, grade, number).await.unwrap().unwrap().id
}

// ---- the record on the papers ----

/// The id number of a family member born on `birth` (odd `seq`: a man).
fn adult_id(birth: (i32, u32, u32), seq: u16) -> String {
    let birth = chrono::NaiveDate::from_ymd_opt(birth.0, birth.1, birth.2).unwrap();
    xueji::domain::IdNumber::from_parts("220122", birth, seq).unwrap().to_string()
}

/// A third grader of the county town with every national item filled, and
/// both family members with all twelve of theirs.
fn every_item() -> Row {
    let mut r = pupil("林沐阳", (2018, 3, 9), 601, 3);
    let items: [(&mut String, &str); 28] = [
        (&mut r.former_name, "林小阳"),
        (&mut r.pinyin, "LIN MUYANG"),
        (&mut r.birthplace, "吉林省长春市农安县"),
        (&mut r.birthplace_code, "220122000000"),
        (&mut r.native_place, "山东省临沂市"),
        (&mut r.nationality, "中国"),
        (&mut r.id_valid, "2023.05.01-2028.05.01"),
        (&mut r.hmt, "侨眷"),
        (&mut r.political, "少先队员"),
        (&mut r.health, "一般或较弱"),
        (&mut r.household_type, "农业户口"),
        (&mut r.specialty, "书法"),
        (&mut r.aux_no, "NA2026031"),
        (&mut r.seat_no, "17"),
        (&mut r.entry_date, "2024-09-01"),
        (&mut r.entry_mode, "就近入学"),
        (&mut r.study_mode, "住校"),
        (&mut r.source, "正常入学"),
        (&mut r.mailing_address, "吉林省长春市农安县测试镇邮政所"),
        (&mut r.home_address, "吉林省长春市农安县测试镇林家屯5号"),
        (&mut r.phone, "13944310617"),
        (&mut r.postcode, "130200"),
        (&mut r.email, "linmy@example.cn"),
        (&mut r.homepage, "example.cn/linmy"),
        (&mut r.only_child, "是"),
        (&mut r.preschool, "是"),
        (&mut r.left_behind, "单亲留守儿童"),
        (&mut r.migrant_child, "否"),
    ];
    for (cell, value) in items {
        *cell = value.into();
    }
    r.orphan = "否".into();
    r.martyr_child = "是".into();
    r.inclusive = "非随班就读".into();
    r.disability_type = "无残疾".into();
    let family = [
        (
            [
                &mut r.guardian1_name,
                &mut r.guardian1_relation,
                &mut r.guardian1_relation_note,
                &mut r.guardian1_current_address,
                &mut r.guardian1_household_address,
                &mut r.guardian1_phone,
                &mut r.guardian1_is_guardian,
                &mut r.guardian1_id_type,
                &mut r.guardian1_ethnicity,
                &mut r.guardian1_workplace,
                &mut r.guardian1_job_title,
            ],
            [
                "林建军",
                "父亲",
                "外出务工",
                "浙江省宁波市北仑区新碶街道",
                "吉林省长春市农安县测试镇林家屯5号",
                "13904310601",
                "否",
                "居民身份证",
                "汉族",
                "宁波北仑港务公司",
                "装卸工",
            ],
        ),
        (
            [
                &mut r.guardian2_name,
                &mut r.guardian2_relation,
                &mut r.guardian2_relation_note,
                &mut r.guardian2_current_address,
                &mut r.guardian2_household_address,
                &mut r.guardian2_phone,
                &mut r.guardian2_is_guardian,
                &mut r.guardian2_id_type,
                &mut r.guardian2_ethnicity,
                &mut r.guardian2_workplace,
                &mut r.guardian2_job_title,
            ],
            [
                "王秀兰",
                "祖母",
                "隔代抚养",
                "吉林省长春市农安县测试镇林家屯5号",
                "吉林省长春市农安县测试镇林家屯5号",
                "13904310602",
                "是",
                "居民身份证",
                "满族",
                "测试镇林家屯村民委员会",
                "保洁员",
            ],
        ),
    ];
    for (cells, values) in family {
        for (cell, value) in cells.into_iter().zip(values) {
            *cell = value.into();
        }
    }
    r.guardian1_id_number = adult_id((1985, 6, 12), 17);
    r.guardian2_id_number = adult_id((1958, 11, 3), 18);
    r
}

/// Imports rows into the county-town school through the API, as its
/// registrar would; the school submits them and the bureau approves them.
async fn import(app: &TestApp, session: &Session, rows: &[Row]) {
    let bytes = xueji::roster::export::write_xlsx(rows).unwrap();
    let report = session.import_roster(TOWN, "", bytes).await.json_with(StatusCode::OK).await;
    assert_eq!(report["committed"], true, "{report}");
    approve_new_records(app.db(), TOWN).await;
}

/// The whitespace-separated word after `label` on each line that has it.
fn after(layout: &str, label: &str) -> Vec<String> {
    layout
        .lines()
        .filter_map(|l| l.split_once(label))
        .map(|(_, rest)| rest.split_whitespace().next().unwrap_or("").to_owned())
        .collect()
}

/// A PDF answered with 200.
async fn pdf_of(res: reqwest::Response) -> Vec<u8> {
    let status = res.status();
    let bytes = res.bytes().await.unwrap().to_vec();
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&bytes));
    bytes
}

/// Uploads a proof with a case and approves it at the school, then at the bureau.
async fn approve_both(school: &Session, bureau: &Session, case: &str, seed: u8) {
    let query = format!("kind=household_register&name=proof{seed}.png&label=户口簿");
    let res = school.upload_case_proof(case, &query, crate::archive::png(48, 32, seed)).await;
    res.json_with(StatusCode::CREATED).await;
    let approve = |stage: &str| json!({"stage": stage, "decision": "approve", "opinion": "同意", "signer": "周校长"});
    school.decide(case, &approve("school")).await.json_with(StatusCode::OK).await;
    bureau.decide(case, &approve("bureau")).await.json_with(StatusCode::OK).await;
}

#[tokio::test]
async fn every_item_of_the_record_prints_and_the_history_is_listed() {
    let app = spawn_app().await;
    let bureau = sign_in(&app, "bureau").await;
    let town = sign_in(&app, &format!("r{TOWN}")).await;
    bureau.set_school_officers(TOWN, &json!({"principal": "孙立新", "registrar": "赵敏"})).await.json_ok().await;
    town.set_head_teacher(TOWN, 3, 1, "刘淑华").await.json_ok().await;
    let row = every_item();
    import(&app, &town, std::slice::from_ref(&row)).await;
    let pid = app.public_id("林沐阳").await;
    let page = town.student_page(&pid).await.text().await.unwrap();
    for shown in ["<td>住校</td>", "<td>单亲留守儿童</td>", "<th>随迁子女</th><td>否</td>", "<td>非随班就读</td>"]
    {
        assert!(page.contains(shown), "{shown}: {page}");
    }

    // 休学, then 复学, each through both approvals; the suspension form is printed while open.
    let apply = json!({"reason": "因病住院治疗", "guardian_name": "王秀兰", "guardian_phone": "13904310602"});
    let case = town.apply_suspension(&pid, &apply).await.json_with(StatusCode::CREATED).await;
    let suspension = case["id"].as_str().unwrap().to_owned();
    pdf_of(town.case_form(&suspension).await).await;
    approve_both(&town, &bureau, &suspension, 81).await;
    let form: String = sqlx::query_scalar("SELECT doc_id FROM documents WHERE kind = 'suspension_application'")
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    let mut resume = apply.clone();
    resume["resume_grade"] = json!("same");
    resume["class_number"] = json!(1);
    let case = town.apply_resumption(&pid, &resume).await.json_with(StatusCode::CREATED).await;
    approve_both(&town, &bureau, case["id"].as_str().unwrap(), 82).await;

    let student_no: String = sqlx::query_scalar("SELECT student_no FROM students WHERE public_id = $1")
        .bind(&pid)
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    let everywhere = [
        "林沐阳",
        &student_no,
        &row.id_number,
        "山东省临沂市",
        "一般或较弱",
        "少先队员",
        "侨眷",
        "农业户口",
        "住校",
        "林建军",
        "宁波北仑港务公司",
        "王秀兰",
        "测试镇林家屯村民委员会",
    ];

    // 学生基本信息表: every national item, both members' twelve, 是/否 beside their labels.
    let pdf = pdf_of(town.document(&pid, "basic_info").await).await;
    std::fs::write(artefacts_dir().join("forms-basic-info.pdf"), &pdf).unwrap();
    let (text, layout) = (pdftotext(&pdf), pdftotext_layout(&pdf));
    for v in everywhere.iter().copied().chain([
        "林小阳",
        "LINMUYANG",
        "2023.05.01-2028.05.01",
        "220122000000",
        "书法",
        "NA2026031",
        "正常入学",
        "吉林省长春市农安县测试镇邮政所",
        "吉林省长春市农安县测试镇林家屯5号",
        "13944310617",
        "130200",
        "linmy@example.cn",
        "example.cn/linmy",
        "单亲留守儿童",
        "非随班就读",
        "无残疾",
        "2024年9月",
        "就近入学",
        "外出务工",
        "隔代抚养",
        "浙江省宁波市北仑区新碶街道",
        "装卸工",
        "保洁员",
        "满族",
        "13904310601",
        "13904310602",
        &row.guardian1_id_number,
        &row.guardian2_id_number,
    ]) {
        assert!(text.contains(v), "basic_info: {v} printed:\n{layout}");
    }
    for (label, value) in [
        ("是否独生子女", "是"),
        ("是否受过学前教育", "是"),
        ("是否孤儿", "否"),
        ("是否烈士或优抚子女", "是"),
        ("是否进城务工人员随迁子女", "否"),
        ("是否留守儿童", "单亲留守儿童"),
    ] {
        assert_eq!(after(&layout, label), [value], "basic_info: {label}\n{layout}");
    }
    assert_eq!(after(&layout, "是否监护人"), ["否", "是"], "{layout}");

    // 登记表: the tick boxes, the family's workplaces and posts, the two changes with the form's number.
    let pdf = pdf_of(town.document(&pid, "registration").await).await;
    std::fs::write(artefacts_dir().join("forms-registration.pdf"), &pdf).unwrap();
    let (text, layout) = (pdftotext(&pdf), pdftotext_layout(&pdf));
    for v in everywhere.iter().copied().chain([
        "■独生子女",
        "■留守儿童（单亲留守儿童）",
        "□进城务工人员随迁子女",
        "□孤儿",
        "■烈士或优抚子女",
        "□残疾",
        "□随班就读",
        "装卸工",
        "保洁员",
        "刘淑华",
        "赵敏",
        "休学",
        "复学，编入三年级1班",
        &form,
    ]) {
        assert!(text.contains(v), "registration: {v} printed:\n{layout}");
    }
    let changes: Vec<&str> = layout.lines().filter(|l| l.contains("2026.11.29")).collect();
    assert_eq!(changes.len(), 2, "two rows of 学籍变动, none for the enrolment:\n{layout}");
    assert!(changes[0].contains("休学") && changes[1].contains("复学"), "{changes:?}");
    assert!(!text.contains("建立学籍") && !text.contains("提出申请"), "{layout}");

    // 学籍卡 a school year later: both years, the changes, the record's entry date.
    let june = app.restart_at(chrono::NaiveDate::from_ymd_opt(2027, 6, 15).unwrap()).await;
    sign_in(&june, "bureau").await.run_graduation(2027, &json!({})).await.json_ok().await;
    drop(june);
    let august = app.restart_at(chrono::NaiveDate::from_ymd_opt(2027, 8, 12).unwrap()).await;
    sign_in(&august, "bureau").await.run_promotion(2027, &json!({})).await.json_ok().await;
    let registrar = sign_in(&august, &format!("r{TOWN}")).await;
    registrar.set_head_teacher(TOWN, 4, 1, "陈静").await.json_ok().await;
    let pdf = pdf_of(registrar.document(&pid, "record_card").await).await;
    std::fs::write(artefacts_dir().join("forms-record-card.pdf"), &pdf).unwrap();
    let (text, layout) = (pdftotext(&pdf), pdftotext_layout(&pdf));
    let years: Vec<String> = layout
        .lines()
        .filter(|l| l.contains("—20"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        years,
        ["2026—2027 三年级 三年级 1 班 在籍 休学、复学", "2027—2028 四年级 四年级 1 班 在籍 陈静"],
        "{layout}"
    );
    for v in ["2024年9月", "赵敏", "山东省临沂市", "一般或较弱", &form] {
        assert!(text.contains(v), "record_card: {v} printed:\n{layout}");
    }
}

#[tokio::test]
async fn an_unknown_item_prints_an_empty_cell_and_no_box() {
    let app = spawn_app().await;
    let town = sign_in(&app, &format!("r{TOWN}")).await;
    // Only the required columns: every yes/no item unknown.
    import(&app, &town, &[pupil("空项生", (2018, 4, 2), 603, 3)]).await;
    let pid = app.public_id("空项生").await;
    let layout = pdftotext_layout(&pdf_of(town.document(&pid, "basic_info").await).await);
    for (label, next) in [
        ("是否独生子女", "是否受过学前教育"),
        ("是否受过学前教育", ""),
        ("是否孤儿", "是否留守儿童"),
        ("是否留守儿童", ""),
        ("是否烈士或优抚子女", "是否进城务工人员随迁子女"),
        ("是否进城务工人员随迁子女", ""),
    ] {
        assert_eq!(after(&layout, label), [next], "{label} is empty:\n{layout}");
    }
    let words: Vec<&str> = layout.split_whitespace().collect();
    assert!(!words.contains(&"否") && !words.contains(&"是"), "no 是/否 for an unknown:\n{layout}");
    let text = pdftotext(&pdf_of(town.document(&pid, "registration").await).await);
    assert!(!text.contains('□') && !text.contains('■'), "no box for an unknown: {text}");
    for label in ["独生子女", "留守儿童", "孤儿", "烈士或优抚子女", "残疾", "随班就读"] {
        assert!(text.contains(label), "{label} still printed");
    }
}

/// The share of dark pixels inside the tick box that starts `word` on the
/// first page (its place from `pdftotext -bbox`, the page rasterised at 300 dpi).
fn box_ink(pdf: &[u8], word: &str) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out =
        std::process::Command::new("pdftotext").args(["-bbox", "-f", "1", "-l", "1"]).arg(&path).arg("-").output();
    let html = String::from_utf8(out.expect("pdftotext (poppler-utils) installed").stdout).unwrap();
    let line =
        html.lines().find(|l| l.contains(&format!(">{word}</word>"))).unwrap_or_else(|| panic!("{word} in {html}"));
    let coord = |name: &str| -> f64 {
        let rest = line.split(&format!("{name}=\"")).nth(1).unwrap();
        rest.split('"').next().unwrap().parse().unwrap()
    };
    let (x0, y0, y1) = (coord("xMin"), coord("yMin"), coord("yMax"));
    let img = image::open(rasterise(pdf, dir.path())).unwrap().to_luma8();
    let scale = 300.0 / 72.0;
    // The box is the first, full-width character: about as wide as the line is high. Look inside its frame.
    let side = y1 - y0;
    let (left, right) = ((x0 + side * 0.3) * scale, (x0 + side * 0.6) * scale);
    let (top, bottom) = ((y0 + side * 0.4) * scale, (y0 + side * 0.7) * scale);
    let (mut dark, mut all) = (0u32, 0u32);
    for y in top as u32..bottom as u32 {
        for x in left as u32..right as u32 {
            all += 1;
            dark += u32::from(img.get_pixel(x, y).0[0] < 128);
        }
    }
    f64::from(dark) / f64::from(all.max(1))
}

#[tokio::test]
async fn a_pupil_in_an_inclusive_class_has_the_disability_box_ticked() {
    let app = spawn_app().await;
    let town = sign_in(&app, &format!("r{TOWN}")).await;
    let mut row = pupil("随班生", (2018, 5, 6), 605, 3);
    row.inclusive = "智力残疾随班就读".into();
    row.disability_type = "智力残疾".into();
    row.orphan = "否".into();
    import(&app, &town, &[row]).await;
    let pid = app.public_id("随班生").await;
    let pdf = pdf_of(town.document(&pid, "registration").await).await;
    let text = pdftotext(&pdf);
    assert!(text.contains("■残疾（智力残疾）"), "{text}");
    assert!(text.contains("■随班就读"), "{text}");
    // The box itself, on the rasterised page: inked where ■ stands, hollow where □ does.
    let (disabled, orphan) = (box_ink(&pdf, "■残疾（智力残疾）"), box_ink(&pdf, "□孤儿"));
    assert!(disabled > 0.8 && orphan < 0.3, "ink in the box: 残疾 {disabled:.2}, 孤儿 {orphan:.2}");
    let basic = pdftotext(&pdf_of(town.document(&pid, "basic_info").await).await);
    assert!(basic.contains("智力残疾随班就读"), "{basic}");
    // The student's page says the same, and leaves what is unknown empty, never 否 or 走读.
    let page = town.student_page(&pid).await.text().await.unwrap();
    assert!(page.contains("<td>智力残疾随班就读（智力残疾）</td>"), "{page}");
    for unknown in ["就读方式", "留守儿童", "随迁子女"] {
        assert!(page.contains(&format!("<th>{unknown}</th><td></td>")), "{unknown} unknown: {page}");
    }
}

#[tokio::test]
async fn a_long_history_continues_on_a_second_page_with_every_change() {
    let app = spawn_app().await;
    let bureau = sign_in(&app, "bureau").await;
    let town = sign_in(&app, &format!("r{TOWN}")).await;
    import(&app, &town, &[pupil("多变生", (2018, 6, 8), 607, 3)]).await;
    let pid = app.public_id("多变生").await;
    let streets: Vec<String> = (1..=12).map(|i| format!("吉林省长春市农安县新城路{i}号")).collect();
    for (i, street) in streets.iter().enumerate() {
        let body = json!({"changes": {"current_address": street}, "reason": "搬家", "guardian_name": "家长"});
        let case = town.apply_info_change(&pid, &body).await.json_with(StatusCode::CREATED).await;
        approve_both(&town, &bureau, case["id"].as_str().unwrap(), 100 + i as u8).await;
    }
    let pdf = pdf_of(town.document(&pid, "registration").await).await;
    std::fs::write(artefacts_dir().join("forms-registration-two-pages.pdf"), &pdf).unwrap();
    let layout = pdftotext_layout(&pdf);
    let pages: Vec<&str> = layout.split('\u{c}').filter(|p| !p.trim().is_empty()).collect();
    assert_eq!(pages.len(), 2, "{layout}");
    assert!(pages[1].contains("学籍变动") && pages[1].contains("变动情况"), "the header repeats:\n{}", pages[1]);
    let text = pdftotext(&pdf);
    assert_eq!(text.matches("信息变更").count(), streets.len(), "{layout}");
    for street in &streets {
        assert!(text.contains(&format!("改为“{street}”")), "{street}:\n{layout}");
    }
    assert!(pages[1].contains("第 2 页") || pages[1].contains("第2页"), "{}", pages[1]);
}

/// The key paths of a JSON value (`a.b`, `a[].c`).
fn paths(v: &serde_json::Value, prefix: &str, out: &mut std::collections::BTreeSet<String>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                out.insert(p.clone());
                paths(v, &p, out);
            }
        }
        serde_json::Value::Array(items) => {
            for v in items {
                paths(v, &format!("{prefix}[]"), out);
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn the_samples_carry_what_the_code_sends() {
    use xueji::render::DocKind;
    let app = spawn_app().await;
    let bureau = sign_in(&app, "bureau").await;
    let town = sign_in(&app, &format!("r{TOWN}")).await;
    let mut row = every_item();
    row.grade = "1".into();
    row.birth_date = "2020-03-09".into();
    row.id_number = adult_id((2020, 3, 9), 601);
    row.entry_date = "2026-09-01".into();
    import(&app, &town, &[row]).await;
    let pid = app.public_id("林沐阳").await;
    // A history with a change, so the rows of `changes` have their keys.
    let body = json!({"changes": {"current_address": "吉林省长春市农安县新城路1号"}, "guardian_name": "王秀兰"});
    let case = town.apply_info_change(&pid, &body).await.json_with(StatusCode::CREATED).await;
    approve_both(&town, &bureau, case["id"].as_str().unwrap(), 90).await;
    let mut conn = app.db().pool.acquire().await.unwrap();
    let student = xueji::db::students::by_public_id(&mut conn, &pid).await.unwrap().unwrap();
    drop(conn);
    let school = xueji::db::schools::by_code(&app.db().pool, TOWN).await.unwrap().unwrap();
    // Parts the workflows give (cases, recalls, a lost certificate), and the renderer's template version.
    let given = [
        "document.template_version",
        "transfer",
        "suspension",
        "approvals",
        "recall",
        "certificate.replaces",
        "certificate.original",
        "certificate.reason",
    ];
    let samples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/forms/samples");
    for kind in DocKind::ALL {
        let opts = xueji::documents::Options::default();
        let id = xueji::verify::DocumentId::random();
        let req = xueji::documents::request(&app.app, &student, &school, kind, id, None, today(), &opts).await.unwrap();
        let text = std::fs::read_to_string(samples.join(format!("{}.json", kind.code()))).unwrap();
        let sample: serde_json::Value = serde_json::from_str(&text).unwrap();
        let (mut sent, mut kept) = (Default::default(), Default::default());
        paths(&req.data, "", &mut sent);
        paths(&sample, "", &mut kept);
        let missing: Vec<&String> = sent.difference(&kept).collect();
        assert!(missing.is_empty(), "{kind}: the sample lacks what the code sends: {missing:?}");
        let extra: Vec<&String> = kept.difference(&sent).filter(|p| !given.iter().any(|g| p.starts_with(g))).collect();
        assert!(extra.is_empty(), "{kind}: the sample has what the code never sends: {extra:?}");
    }
}
