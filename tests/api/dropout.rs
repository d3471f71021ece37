//! Dropout control (控辍保学) through the real server: the ledger follows
//! the statuses, the school enters pupils gone otherwise, names the teacher
//! responsible and records home visits, submits the month by the 28th and
//! the bureau closes it; a late school is on the overdue list, and an
//! absence of three school days is a to-do. Every refusal writes nothing.

use crate::helpers::*;
use chrono::NaiveDate;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn written(app: &TestApp) -> (i64, i64, i64, i64) {
    let n = |t: &'static str| async move {
        sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM {t}")).fetch_one(&app.db().pool).await.unwrap()
    };
    (n("dropout_watch").await, n("dropout_visits").await, n("dropout_months").await, n("absences").await)
}

fn items_of<'a>(items: &'a Value, kind: &str) -> Vec<&'a Value> {
    items.as_array().unwrap().iter().filter(|i| i["kind"] == kind).collect()
}

#[tokio::test]
async fn the_monthly_ledger_follows_the_statuses_and_is_submitted_and_closed_in_time() {
    let app = spawn_app().await;
    let rows = vec![
        pupil("缺课甲", (2018, 3, 1), 91, 3),
        pupil("缺课乙", (2018, 3, 2), 92, 3),
        pupil("离校丙", (2018, 3, 3), 93, 3),
        pupil("缺课丁", (2018, 3, 4), 94, 3),
    ];
    assert!(import_rows(app.db(), TOWN, rows).await.committed);
    let (jia, yi, bing, ding) = (
        app.public_id("缺课甲").await,
        app.public_id("缺课乙").await,
        app.public_id("离校丙").await,
        app.public_id("缺课丁").await,
    );
    let town = sign_in(&app, &format!("r{TOWN}")).await;
    let bureau = sign_in(&app, "bureau").await;

    // Absences: 乙 since Wednesday 25 November (three school days by Sunday the
    // 29th) is a to-do; 丁 since Friday (one) is not yet; 甲's ends when reported.
    for (pid, since) in [(&yi, "2026-11-25"), (&ding, "2026-11-27"), (&jia, "2026-11-20")] {
        let res = town.send_json(&format!("/api/students/{pid}/absence"), &json!({"since": since})).await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    let before = written(&app).await;
    refused_with(
        town.send_json(&format!("/api/students/{yi}/absence"), &json!({"since": "2026-12-01"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "date.future",
    )
    .await;
    assert_eq!(written(&app).await, before);
    let res = town.suspect_dropout(&jia, &json!({"absent_since": "2026-11-20"})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let todo = town.overdue().await.json_ok().await;
    let warnings = items_of(&todo, "absence_warning");
    assert_eq!(warnings.len(), 1, "{todo}");
    assert_eq!(warnings[0]["student"], yi.as_str());
    assert!(warnings[0]["what"].as_str().unwrap().contains("缺课3个上学日"), "{todo}");

    // The suspected dropout is on the ledger; the school adds a pupil gone otherwise.
    let before = written(&app).await;
    refused_with(
        town.send_json(
            &format!("/api/students/{bing}/dropout-watch"),
            &json!({"kind": "dropout", "since": "2026-11-23"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "dropout.kind_invalid",
    )
    .await;
    assert_eq!(written(&app).await, before);
    let body = json!({"kind": "left_other", "since": "2026-11-23", "reason": "随父母外出务工"});
    assert_eq!(
        town.send_json(&format!("/api/students/{bing}/dropout-watch"), &body).await.status(),
        StatusCode::CREATED
    );
    let ledger = town.fetch(&format!("/api/dropout/{TOWN}/2026-11")).await.json_ok().await;
    let lines = ledger["lines"].as_array().unwrap();
    let kinds: Vec<(&str, &str)> =
        lines.iter().map(|l| (l["name"].as_str().unwrap(), l["kind_label"].as_str().unwrap())).collect();
    assert_eq!(kinds, [("缺课甲", "疑似辍学"), ("离校丙", "其他离校")]);
    assert_eq!(ledger["due"], "2026-11-28");
    assert_eq!(ledger["late"], true, "the 28th has passed");
    assert!(app.audit_count("dropout.ledger", TOWN, "ok").await >= 1);

    // Submitting needs every teacher named.
    let before = written(&app).await;
    let msg = refused_with(
        town.send_json(&format!("/api/dropout/{TOWN}/2026-11/submit"), &json!({})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "dropout.teacher_missing",
    )
    .await;
    assert!(msg.contains('2'), "{msg}");
    assert_eq!(written(&app).await, before);
    for l in lines {
        let res =
            town.put_json(&format!("/api/dropout/entries/{}/teacher", l["id"]), &json!({"teacher": "王老师"})).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
    }
    let entry = lines[0]["id"].clone();
    let visit = |on: &str| json!({"visited_on": on, "visitor": "王老师、李主任", "result": "家长同意下周一送回"});
    refused_with(
        town.send_json(&format!("/api/dropout/entries/{entry}/visits"), &visit("2026-11-30")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "dropout.visit_date",
    )
    .await;
    assert_eq!(
        town.send_json(&format!("/api/dropout/entries/{entry}/visits"), &visit("2026-11-28")).await.status(),
        StatusCode::CREATED
    );
    // The bureau cannot submit for the school, nor close what is not submitted.
    refused_with(
        bureau.send_json(&format!("/api/dropout/{TOWN}/2026-11/close"), &json!({})).await,
        StatusCode::CONFLICT,
        "dropout.not_submitted",
    )
    .await;
    let done = town.send_json(&format!("/api/dropout/{TOWN}/2026-11/submit"), &json!({})).await.json_ok().await;
    assert_eq!(done["entries"], 2);
    refused_with(
        town.send_json(&format!("/api/dropout/{TOWN}/2026-11/submit"), &json!({})).await,
        StatusCode::CONFLICT,
        "dropout.already_submitted",
    )
    .await;
    refused_with(
        town.send_json(&format!("/api/dropout/{TOWN}/2026-11/close"), &json!({})).await,
        StatusCode::FORBIDDEN,
        "workflow.bureau_step",
    )
    .await;
    assert_eq!(
        bureau.send_json(&format!("/api/dropout/{TOWN}/2026-11/close"), &json!({})).await.status(),
        StatusCode::NO_CONTENT
    );
    let ledger = bureau.fetch(&format!("/api/dropout/{TOWN}/2026-11")).await.json_ok().await;
    assert_eq!(
        (ledger["submitted_on"].as_str(), ledger["closed_on"].as_str()),
        (Some("2026-11-29"), Some("2026-11-29"))
    );
    assert_eq!(ledger["lines"][0]["visits"][0]["result"], "家长同意下周一送回");
    // Another school's registrar sees nothing of it.
    let central = sign_in(&app, &format!("r{CENTRAL}")).await;
    assert_eq!(central.fetch(&format!("/api/dropout/{TOWN}/2026-11")).await.status(), StatusCode::NOT_FOUND);

    // 29 December: December's ledger is late; 甲 came back, so the entry closed with the status.
    let later = app.restart_at(NaiveDate::from_ymd_opt(2026, 12, 29).unwrap()).await;
    let town = sign_in(&later, &format!("r{TOWN}")).await;
    let res = town.record_return(&jia, &json!({"returned_on": "2026-12-07"})).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap());
    let todo = sign_in(&later, "bureau").await.overdue().await.json_ok().await;
    let late = items_of(&todo, "dropout_ledger_late");
    assert_eq!(late.len(), 1, "only the school whose record had begun: {todo}");
    assert_eq!((late[0]["school_code"].as_str(), late[0]["what"].as_str()), (Some(TOWN), Some("2026-12")));
    let ledger = town.fetch(&format!("/api/dropout/{TOWN}/2026-12")).await.json_ok().await;
    let jia_line = ledger["lines"].as_array().unwrap().iter().find(|l| l["name"] == "缺课甲").unwrap().clone();
    assert_eq!(
        (jia_line["returned_on"].as_str(), jia_line["closed_on"].as_str()),
        (Some("2026-12-07"), Some("2026-12-29"))
    );
    // The school's own entry it ends itself; a status entry it cannot.
    let bing_line = ledger["lines"].as_array().unwrap().iter().find(|l| l["name"] == "离校丙").unwrap().clone();
    let end = json!({"returned_on": "2026-12-20", "outcome": "返校"});
    assert_eq!(
        town.send_json(&format!("/api/dropout/entries/{}/close", bing_line["id"]), &end).await.status(),
        StatusCode::NO_CONTENT
    );
    refused_with(
        town.send_json(&format!("/api/dropout/entries/{}/close", jia_line["id"]), &end).await,
        StatusCode::CONFLICT,
        "dropout.closed",
    )
    .await;
}

#[tokio::test]
async fn the_ledger_page_shows_the_month_and_the_bureau_sees_every_schools_standing() {
    let app = spawn_app().await;
    assert!(import_rows(app.db(), TOWN, vec![pupil("页面缺课", (2018, 5, 1), 95, 3)]).await.committed);
    let pid = app.public_id("页面缺课").await;
    let town = sign_in(&app, &format!("r{TOWN}")).await;
    assert_eq!(town.suspect_dropout(&pid, &json!({"absent_since": "2026-11-20"})).await.status(), StatusCode::OK);
    let page = town.fetch("/dropout?month=2026-11").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("页面缺课") && html.contains("疑似辍学") && html.contains("报送本月台账"), "{html}");
    let html = sign_in(&app, "bureau").await.fetch("/dropout?month=2026-11").await.text().await.unwrap();
    assert!(html.contains("各校报送情况") && html.contains("测试县城小学"), "{html}");
}
