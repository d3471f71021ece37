//! Problem records resolved (Art. 11), against a real server: a record
//! without an ID or suspected to duplicate another is held (no submission,
//! no status change) until resolved by the ID, by a proof in its dossier, or
//! by the bureau's merge; every refusal writes nothing.

use crate::archive::png;
use crate::endpoints::{Answer, Endpoints, sign_in};
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Statuses, open problems and event rows: what a resolution writes.
async fn written(app: &TestApp) -> (Vec<(String, String)>, i64, i64) {
    let pool = &app.db().pool;
    let statuses = sqlx::query_as("SELECT name, status FROM students ORDER BY id").fetch_all(pool).await.unwrap();
    let open =
        sqlx::query_scalar("SELECT COUNT(*) FROM problem_records WHERE state = 'open'").fetch_one(pool).await.unwrap();
    let events = sqlx::query_scalar("SELECT COUNT(*) FROM student_events").fetch_one(pool).await.unwrap();
    (statuses, open, events)
}

#[tokio::test]
async fn a_record_without_an_id_waits_until_the_id_is_issued() {
    let app = spawn_app().await;
    let mut row = first_grader("无证甲", 51);
    let id = row.id_number.clone();
    row.id_type = "未办理".into();
    row.id_number.clear();
    assert!(import_pending(app.db(), TOWN, vec![row, first_grader("有证乙", 52)]).await.committed);
    let town = sign_in(&app, &format!("r{TOWN}")).await;
    let list = town.problems().await.json_ok().await;
    let problem = list.as_array().unwrap().iter().find(|p| p["student_name"] == "无证甲").unwrap().clone();
    assert_eq!(problem["kind"], "no_id");
    assert!(problem["reason"].as_str().unwrap().contains("临时学籍号"), "{problem}");

    // Submitting all leaves it behind; naming it is refused; nothing written.
    let done = town.send_json("/api/records/submit", &json!({"school": TOWN})).await.json_ok().await;
    assert_eq!(done["submitted"], 1);
    assert_eq!(status_named(&app, "无证甲").await, "pending");
    let pid = app.public_id("无证甲").await;
    let before = written(&app).await;
    let msg = refused_with(
        town.send_json("/api/records/submit", &json!({"school": TOWN, "students": [pid]})).await,
        StatusCode::CONFLICT,
        "problem.open",
    )
    .await;
    assert!(msg.contains("问题学籍"), "{msg}");
    assert_eq!(written(&app).await, before);

    // The ID issued resolves it; then it goes up.
    let res = town.set_id_number(&pid, &json!({"id_number": id})).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap());
    assert!(town.problems().await.json_ok().await.as_array().unwrap().is_empty());
    let done = town.send_json("/api/records/submit", &json!({"school": TOWN})).await.json_ok().await;
    assert_eq!(done["submitted"], 1);
}

/// Two pupils of two schools with one name, birth date and guardian phone.
async fn twins_of_data(app: &TestApp) -> (String, String, i64) {
    let a = first_grader("王同名", 61);
    let mut b = first_grader("王同名", 63);
    b.birth_date = a.birth_date.clone();
    b.id_number = xueji::domain::IdNumber::from_parts("220122", a.birth_date.parse().unwrap(), 63).unwrap().to_string();
    b.gender = xueji::domain::IdNumber::parse(&b.id_number).unwrap().gender().label().into();
    b.guardian1_phone = a.guardian1_phone.clone();
    assert!(import_rows(app.db(), TOWN, vec![a]).await.committed);
    let report = import_rows(app.db(), CENTRAL, vec![b]).await;
    assert_eq!(report.warnings[0].code, "student.suspected_duplicate");
    let kept: String = sqlx::query_scalar(
        "SELECT s.public_id FROM students s JOIN schools sc ON sc.id = s.school_id WHERE sc.code = $1",
    )
    .bind(TOWN)
    .fetch_one(&app.db().pool)
    .await
    .unwrap();
    let flagged: String = sqlx::query_scalar(
        "SELECT s.public_id FROM students s JOIN schools sc ON sc.id = s.school_id WHERE sc.code = $1",
    )
    .bind(CENTRAL)
    .fetch_one(&app.db().pool)
    .await
    .unwrap();
    let problem: i64 = sqlx::query_scalar("SELECT id FROM problem_records WHERE state = 'open'")
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    (kept, flagged, problem)
}

#[tokio::test]
async fn a_suspected_duplicate_is_resolved_with_a_proof_from_its_dossier() {
    let app = spawn_app().await;
    let (_, flagged, problem) = twins_of_data(&app).await;
    let central = sign_in(&app, &format!("r{CENTRAL}")).await;
    assert_eq!(status_of_pid(&app, &flagged).await, "pending", "held: not submitted with the others");
    let path = format!("/api/problems/{problem}/resolve");

    // A digest not in the dossier, or a case that is not a completed change: refused, nothing written.
    let before = written(&app).await;
    let proof = json!({"how": "proof", "sha256": "ab".repeat(32), "note": "两名不同学生"});
    refused_with(central.send_json(&path, &proof).await, StatusCode::UNPROCESSABLE_ENTITY, "problem.proof_missing")
        .await;
    refused_with(
        central.send_json(&path, &json!({"how": "change", "case": "nosuchcase"})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // The bureau does not resolve with a proof for the school; a school does not merge.
    let bureau = sign_in(&app, "bureau").await;
    refused_with(bureau.send_json(&path, &proof).await, StatusCode::FORBIDDEN, "workflow.school_step").await;
    refused_with(
        central.send_json(&path, &json!({"how": "merge", "keep": flagged})).await,
        StatusCode::FORBIDDEN,
        "workflow.bureau_step",
    )
    .await;
    assert_eq!(written(&app).await, before);

    // Filed first, then named: resolved, with an event and an audit row.
    let res = central.upload_scan(&flagged, "kind=other&name=proof.png", png(40, 30, 9)).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let digest = res.json::<Value>().await.unwrap()["entry"]["digest"].as_str().unwrap().to_owned();
    // The page offers the dossier's documents to pick from, not a hash to type.
    let page = central.problems_page().await.text().await.unwrap();
    assert!(page.contains(&format!("<option value=\"{digest}\">")) && page.contains("proof.png"), "{page}");
    let proof = json!({"how": "proof", "sha256": digest, "note": "户口簿显示为两名不同学生"});
    let done = central.send_json(&path, &proof).await.json_ok().await;
    assert_eq!(done["how"], "proof");
    refused_with(central.send_json(&path, &proof).await, StatusCode::CONFLICT, "problem.resolved").await;
    assert_eq!(app.audit_count("problem.resolve", &problem.to_string(), "ok").await, 1);
    let history = central.student(&flagged).await.json_ok().await;
    let last = history["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "problem_resolved");
    assert_eq!(last["detail"]["resolution"]["sha256"], digest.as_str());
    approve_new_records(app.db(), CENTRAL).await;
    assert_eq!(status_of_pid(&app, &flagged).await, "active");
}

async fn status_of_pid(app: &TestApp, pid: &str) -> String {
    sqlx::query_scalar("SELECT status FROM students WHERE public_id = $1")
        .bind(pid)
        .fetch_one(&app.db().pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_bureau_merges_a_duplicate_and_the_merged_record_stays_readable() {
    let app = spawn_app().await;
    let (kept, flagged, problem) = twins_of_data(&app).await;
    let bureau = sign_in(&app, "bureau").await;
    let path = format!("/api/problems/{problem}/resolve");
    let before = written(&app).await;
    refused_with(
        bureau.send_json(&path, &json!({"how": "merge", "keep": "someone-else"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "problem.keep_invalid",
    )
    .await;
    assert_eq!(written(&app).await, before);
    let done = bureau.send_json(&path, &json!({"how": "merge", "keep": kept})).await.json_ok().await;
    assert_eq!(done["merged"], flagged.as_str());
    assert_eq!(status_of_pid(&app, &flagged).await, "merged");
    assert_eq!(status_of_pid(&app, &kept).await, "active");
    let central = sign_in(&app, &format!("r{CENTRAL}")).await;
    let view = central.student(&flagged).await.json_ok().await;
    assert_eq!(view["student"]["status"], "merged");
    let merged = view["history"].as_array().unwrap().iter().find(|e| e["kind"] == "merged").unwrap().clone();
    assert_eq!(merged["detail"]["merged_into"], kept.as_str());
    // Closed: no further status change.
    refused_with(
        central
            .apply_suspension(
                &flagged,
                &json!({"reason": "因病", "guardian_name": "家长", "guardian_phone": "13904310001"}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "status.transition",
    )
    .await;
    let page = bureau.fetch("/problems").await.text().await.unwrap();
    assert!(page.contains("暂无待处理的问题学籍"), "{page}");
}

#[tokio::test]
async fn a_suspected_duplicate_is_resolved_by_a_completed_information_change() {
    let app = spawn_app().await;
    let (_, flagged, problem) = twins_of_data(&app).await;
    let central = sign_in(&app, &format!("r{CENTRAL}")).await;
    let bureau = sign_in(&app, "bureau").await;
    // An information change runs on a record with an open problem (it changes no status).
    let body = json!({"changes": {"current_address": "吉林省长春市农安县测试镇2号"}, "reason": "更正", "guardian_name": "家长"});
    let case = central.apply_info_change(&flagged, &body).await.json_with(StatusCode::CREATED).await;
    let case = case["id"].as_str().unwrap().to_owned();
    let path = format!("/api/problems/{problem}/resolve");
    let by_change = json!({"how": "change", "case": case});

    // Not yet completed: refused, nothing written.
    let before = written(&app).await;
    refused_with(
        central.send_json(&path, &by_change).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "problem.change_not_done",
    )
    .await;
    assert_eq!(written(&app).await, before);

    let proof =
        central.upload_case_proof(&case, "kind=household_register&name=proof.png&label=户口簿", png(48, 32, 5)).await;
    assert_eq!(proof.status(), StatusCode::CREATED);
    for (who, stage) in [(&central, "school"), (&bureau, "bureau")] {
        let res = who
            .decide(&case, &json!({"stage": stage, "decision": "approve", "opinion": "核对无误", "signer": "经办人"}))
            .await;
        assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap());
    }
    let done = central.send_json(&path, &by_change).await.json_ok().await;
    assert_eq!(done["how"], "change");
    assert!(central.problems().await.json_ok().await.as_array().unwrap().is_empty());
}
