//! Delayed entry (Art. 4), against a real server: filed by the school with
//! the diagnosis scan, decided by the bureau, the child kept out of the
//! intake stayed away from, expected and listed while absent. Every refusal
//! writes nothing.

use crate::archive::png;
use crate::endpoints::{Answer, sign_in};
use crate::helpers::*;
use crate::intake::{IntakeEndpoints, errors_with, import, written};
use reqwest::StatusCode;

/// The fields of a delayed-entry application for the child born `birth`, `seq`.
fn child(name: &str, birth: (i32, u32, u32), seq: u16) -> (String, Vec<(&'static str, String)>) {
    let birth = chrono::NaiveDate::from_ymd_opt(birth.0, birth.1, birth.2).unwrap();
    let id = xueji::domain::IdNumber::from_parts("220122", birth, seq).unwrap().to_string();
    let fields = vec![
        ("name", name.to_owned()),
        ("id_number", id.clone()),
        ("guardian_name", "李淑芬".to_owned()),
        ("guardian_phone", "13904310002".to_owned()),
        ("hospital", "农安县人民医院".to_owned()),
        ("diagnosis", "先天性心脏病术后康复期，建议暂缓入学一年".to_owned()),
    ];
    (id, fields)
}

fn pairs<'a>(fields: &'a [(&'static str, String)], extra: &[(&'static str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut out: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    for (k, v) in extra {
        out.retain(|(key, _)| key != k);
        out.push((k, v));
    }
    out
}

#[tokio::test]
async fn a_delayed_child_is_expected_next_year_and_listed_while_absent() {
    let app = spawn_app().await;
    let bureau = sign_in(&app, "bureau").await;
    let town = sign_in(&app, &format!("r{TOWN}")).await;
    let (id, fields) = child("缓入学", (2020, 3, 8), 71);
    let year = [("intake_year", "2026")];
    let before = written(&app).await;
    // Bad applications: the bureau filing, no scan, a bad ID, nothing diagnosed, a child too young.
    let refused = |res, status, code| refused_with(res, status, code);
    let scan = || Some(png(40, 30, 5));
    refused(
        bureau.file_delay(&pairs(&fields, &[("school", TOWN)]), scan()).await,
        StatusCode::FORBIDDEN,
        "workflow.school_step",
    )
    .await;
    refused(town.file_delay(&pairs(&fields, &year), None).await, StatusCode::BAD_REQUEST, "paper.scan_required").await;
    let bad_id = format!("{}0", &id[..17]);
    refused(
        town.file_delay(&pairs(&fields, &[("id_number", bad_id.as_str())]), scan()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "id.checksum",
    )
    .await;
    refused(
        town.file_delay(&pairs(&fields, &[("diagnosis", "")]), scan()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "delay.field_required",
    )
    .await;
    let (_, young) = child("太小", (2021, 1, 5), 72);
    refused(town.file_delay(&pairs(&young, &year), scan()).await, StatusCode::UNPROCESSABLE_ENTITY, "delay.not_of_age")
        .await;
    assert_eq!(written(&app).await, before);

    // Filed for this year's intake, approved by the bureau.
    let delay = town.file_delay(&pairs(&fields, &year), scan()).await.json_ok().await;
    assert_eq!((delay["state"].as_str(), delay["expected_year"].as_i64()), (Some("pending"), Some(2027)));
    refused(town.file_delay(&pairs(&fields, &year), scan()).await, StatusCode::CONFLICT, "delay.exists").await;
    let pid = delay["public_id"].as_str().unwrap();
    refused(town.decide_delay(pid, "approve", "").await, StatusCode::FORBIDDEN, "workflow.bureau_step").await;
    refused(bureau.decide_delay(pid, "refuse", "").await, StatusCode::UNPROCESSABLE_ENTITY, "plan.reason_required")
        .await;
    refused(bureau.decide_delay(pid, "withdraw", "家长改变主意").await, StatusCode::CONFLICT, "delay.state").await;
    assert_eq!(bureau.decide_delay(pid, "approve", "").await.json_ok().await["state"], "approved");
    assert_eq!(bureau.intake_paper(delay["diagnosis_digest"].as_str().unwrap()).await.status(), StatusCode::OK);

    // This year's import of the child is refused; nothing written.
    let mut row = first_grader("缓入学", 71);
    row.id_number = id.clone();
    row.birth_date = "2020-03-08".into();
    row.gender = xueji::domain::IdNumber::parse(&id).unwrap().gender().label().into();
    let before = written(&app).await;
    let (status, report) = import(&town, TOWN, std::slice::from_ref(&row), "").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(errors_with(&report, "intake.delayed")[0]["reason"].as_str().unwrap().contains("2027年入学"), "{report}");
    assert_eq!(written(&app).await, before);

    // Expected in 2027: not absent yet; absent once the 2027 school year has begun.
    let listed = bureau.delays("expected=2027").await.json_ok().await;
    assert_eq!((listed[0]["name"].as_str(), listed[0]["absent"].as_bool()), (Some("缓入学"), Some(false)));
    assert_eq!(app.audit_count("delay.list", "*", "ok").await, 1);
    let autumn = app.restart_at(chrono::NaiveDate::from_ymd_opt(2027, 9, 10).unwrap()).await;
    let bureau27 = sign_in(&autumn, "bureau").await;
    let absent = bureau27.delays("absent=true").await.json_ok().await;
    assert_eq!(absent.as_array().unwrap().len(), 1, "{absent}");
    // The 2027 import takes the application up; the child is no longer absent.
    let town27 = sign_in(&autumn, &format!("r{TOWN}")).await;
    row.entry_date = "2027-09-01".into();
    let (status, report) = import(&town27, TOWN, &[row], "").await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert!(bureau27.delays("absent=true").await.json_ok().await.as_array().unwrap().is_empty());
    let listed = bureau27.delays("expected=2027").await.json_ok().await;
    assert_eq!(listed[0]["entered"], true);

    // Once the child has a record, no delay: suspension is the way (Art. 22).
    refused(town27.file_delay(&pairs(&fields, &[]), scan()).await, StatusCode::CONFLICT, "delay.has_record").await;
}

#[tokio::test]
async fn a_withdrawn_delay_lets_the_child_enter_at_once() {
    let app = spawn_app().await;
    let bureau = sign_in(&app, "bureau").await;
    let town = sign_in(&app, &format!("r{TOWN}")).await;
    let (id, fields) = child("撤销缓", (2020, 4, 9), 81);
    let delay =
        town.file_delay(&pairs(&fields, &[("intake_year", "2026")]), Some(png(40, 30, 6))).await.json_ok().await;
    let pid = delay["public_id"].as_str().unwrap();
    bureau.decide_delay(pid, "approve", "").await.json_ok().await;
    let withdrawn = bureau.decide_delay(pid, "withdraw", "监护人申请今年入学，复查已康复").await.json_ok().await;
    assert_eq!(withdrawn["state"], "withdrawn");
    let mut row = first_grader("撤销缓", 81);
    row.id_number = id.clone();
    row.birth_date = "2020-04-09".into();
    row.gender = xueji::domain::IdNumber::parse(&id).unwrap().gender().label().into();
    let (status, report) = import(&town, TOWN, &[row], "").await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(app.audit_count("delay.decide", pid, "ok").await, 2);
}
