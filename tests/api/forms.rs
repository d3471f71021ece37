//! Every form prints from the record what its paper carries: the pupils come
//! in through the roster import over the API, the school's principal,
//! registrar and head teacher are recorded through the API and the command
//! line, the history through the workflows; the PDFs are read back with
//! `pdftotext -layout` (and, for a tick box, rasterised).

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

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
