//! The bureau's hold on new records (Art. 10 step 6, Art. 13), against a real
//! server: an imported record is 待审核, the school submits, the bureau
//! approves (在籍) or refuses with a reason (不予建籍, kept); every refusal
//! of a request writes nothing.

use crate::endpoints::{Answer, Endpoints, sign_in};
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

/// Every student's status, and the row counts of what a decision writes.
async fn written(app: &TestApp) -> (Vec<(String, String)>, i64, i64) {
    let pool = &app.db().pool;
    let statuses = sqlx::query_as("SELECT name, status FROM students ORDER BY id").fetch_all(pool).await.unwrap();
    let events = sqlx::query_scalar("SELECT COUNT(*) FROM student_events").fetch_one(pool).await.unwrap();
    let oks = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE outcome = 'ok' AND action LIKE 'record.%' AND action <> 'record.list_awaiting'")
        .fetch_one(pool)
        .await
        .unwrap();
    (statuses, events, oks)
}

#[tokio::test]
async fn a_new_record_is_in_the_register_only_once_the_bureau_approves_it() {
    let app = spawn_app().await;
    let rows = vec![first_grader("待审甲", 31), first_grader("待审乙", 32), first_grader("待审丙", 33)];
    assert!(import_pending(app.db(), TOWN, rows).await.committed);
    for name in ["待审甲", "待审乙", "待审丙"] {
        assert_eq!(status_named(&app, name).await, "pending");
    }
    let town = sign_in(&app, &format!("r{TOWN}")).await;
    let bureau = sign_in(&app, "bureau").await;
    let pid = app.public_id("待审甲").await;

    // Not yet 在籍: no workflow, not on the roster the school exports.
    let before = written(&app).await;
    refused_with(
        town.apply_suspension(
            &pid,
            &json!({"reason": "因病", "guardian_name": "家长", "guardian_phone": "13904310001"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "status.transition",
    )
    .await;
    assert_eq!(written(&app).await, before);
    let roster = town.export_roster(TOWN, "?format=csv").await;
    assert_eq!(roster.status(), StatusCode::OK);
    assert!(!roster.text().await.unwrap().contains("待审甲"), "a record awaiting approval is not on the roster");

    // The bureau cannot submit for the school, the school cannot review.
    refused_with(
        bureau.send_json("/api/records/submit", &json!({"school": TOWN})).await,
        StatusCode::FORBIDDEN,
        "workflow.school_step",
    )
    .await;
    let decide_all = |approve: bool| json!({"decisions": [{"student": pid, "approve": approve, "reason": "测试"}]});
    refused_with(
        town.send_json("/api/records/review", &decide_all(true)).await,
        StatusCode::FORBIDDEN,
        "workflow.bureau_step",
    )
    .await;
    // A record not yet submitted can be neither approved nor refused.
    for approve in [true, false] {
        refused_with(
            bureau.send_json("/api/records/review", &decide_all(approve)).await,
            StatusCode::CONFLICT,
            "record.not_submitted",
        )
        .await;
    }
    assert_eq!(written(&app).await, before);

    // The school submits its new records, all at once.
    let done = town.send_json("/api/records/submit", &json!({"school": TOWN})).await.json_ok().await;
    assert_eq!(done["submitted"], 3);
    assert_eq!(status_named(&app, "待审乙").await, "submitted");
    refused_with(
        town.send_json("/api/records/submit", &json!({"school": TOWN})).await,
        StatusCode::CONFLICT,
        "record.nothing_to_submit",
    )
    .await;
    assert_eq!(app.audit_count("record.submit", TOWN, "ok").await, 1);

    // The bureau sees them; its reading is audited.
    let list = bureau.fetch("/api/records/awaiting").await.json_ok().await;
    assert_eq!(list["total"], 3, "{list}");
    let ids: Vec<String> =
        list["records"].as_array().unwrap().iter().map(|r| r["public_id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(app.audit_count("record.list_awaiting", "*", "ok").await, 1);

    // A refusal without a reason refuses the whole batch: nothing written.
    let before = written(&app).await;
    let batch = json!({"decisions": [
        {"student": ids[0], "approve": true},
        {"student": ids[1], "approve": false, "reason": " "},
    ]});
    let msg = refused_with(
        bureau.send_json("/api/records/review", &batch).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "record.reason_required",
    )
    .await;
    assert!(msg.contains("理由"), "{msg}");
    let twice = json!({"decisions": [{"student": ids[0], "approve": true}, {"student": ids[0], "approve": true}]});
    refused_with(bureau.send_json("/api/records/review", &twice).await, StatusCode::BAD_REQUEST, "record.listed_twice")
        .await;
    assert_eq!(written(&app).await, before);

    // Approved, refused with its reason, and one left for later.
    let batch = json!({"decisions": [
        {"student": ids[0], "approve": true},
        {"student": ids[1], "approve": false, "reason": "户籍不在本学区，属跨区招生（第七条）"},
    ]});
    let done = bureau.send_json("/api/records/review", &batch).await.json_ok().await;
    assert_eq!(done, json!({"approved": 1, "refused": 1}));
    assert_eq!(status_named(&app, "待审甲").await, "active");
    assert_eq!(status_named(&app, "待审乙").await, "refused");
    assert_eq!(status_named(&app, "待审丙").await, "submitted");
    assert_eq!(app.audit_count("record.approve", &ids[0], "ok").await, 1);
    assert_eq!(app.audit_count("record.refuse", &ids[1], "ok").await, 1);
    let history = town.student(&ids[1]).await.json_ok().await;
    let last = history["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["kind"].as_str(), last["to_status"].as_str()), (Some("record_refused"), Some("refused")));
    assert_eq!(last["detail"]["reason"], "户籍不在本学区，属跨区招生（第七条）");
    assert!(town.export_roster(TOWN, "?format=csv").await.text().await.unwrap().contains("待审甲"));

    // The school sees the refusal and its reason, corrects and submits it again.
    let mine = town.fetch("/api/records/awaiting").await.json_ok().await;
    let refused_row = mine["records"].as_array().unwrap().iter().find(|r| r["public_id"] == ids[1]).unwrap().clone();
    assert_eq!(refused_row["status"], "refused");
    assert_eq!(refused_row["refusal"], "户籍不在本学区，属跨区招生（第七条）");
    let page = town.fetch("/records").await.text().await.unwrap();
    assert!(page.contains("待审乙") && page.contains("属跨区招生") && page.contains("重新上报"), "{page}");
    let again = town.send_json("/api/records/submit", &json!({"school": TOWN, "students": [ids[1]]})).await;
    assert_eq!(again.json_ok().await["submitted"], 1);
    assert_eq!(status_named(&app, "待审乙").await, "submitted");
}

#[tokio::test]
async fn the_approval_pages_submit_and_review_by_form() {
    let app = spawn_app().await;
    assert!(
        import_pending(app.db(), TOWN, vec![first_grader("页面甲", 41), first_grader("页面乙", 42)]).await.committed
    );
    let town = sign_in(&app, &format!("r{TOWN}")).await;
    let page = town.fetch("/records").await.text().await.unwrap();
    assert!(page.contains("页面甲") && page.contains("审核上报（2 条待审核）"), "{page}");
    let res = town.send_form("/records", &[("csrf", town.csrf.as_str()), ("action", "submit"), ("school", TOWN)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(status_named(&app, "页面乙").await, "submitted");

    let bureau = sign_in(&app, "bureau").await;
    let page = bureau.fetch("/records").await.text().await.unwrap();
    assert!(page.contains("页面甲") && page.contains("保存审核决定"), "{page}");
    let a = app.public_id("页面甲").await;
    let b = app.public_id("页面乙").await;
    // A refusal without its reason: the page says why, nothing is written.
    let before = written(&app).await;
    let fields = vec![
        ("csrf".to_owned(), bureau.csrf.clone()),
        ("action".to_owned(), "review".to_owned()),
        (format!("decision_{a}"), "approve".to_owned()),
        (format!("decision_{b}"), "refuse".to_owned()),
        (format!("reason_{b}"), String::new()),
    ];
    let res = bureau.send_form("/records", &fields).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("须写明不予建籍的理由"));
    assert_eq!(written(&app).await, before);
    let mut fields = fields;
    fields[4].1 = "年龄不足（第四条）".to_owned();
    let res = bureau.send_form("/records", &fields).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(status_named(&app, "页面甲").await, "active");
    assert_eq!(status_named(&app, "页面乙").await, "refused");
}
