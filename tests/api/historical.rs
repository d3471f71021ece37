//! Pre-system graduates: the bureau records a graduation from the school's
//! paper ledger (the scan into the archive), and issues a 学历证明书 for it;
//! never a certificate, never a second proof; the record is read-only and
//! every step audited.

use crate::archive::png;
use crate::endpoints::{Answer, Endpoints, Session, sign_in};
use crate::helpers::*;
use crate::intake::IntakeEndpoints;
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use xueji::domain::IdNumber;

fn id_born(y: i32, m: u32, d: u32, seq: u16) -> String {
    IdNumber::from_parts("220122", chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap(), seq).unwrap().to_string()
}

fn ledger_form(fields: &[(&str, &str)], scan: Option<Vec<u8>>) -> Form {
    let mut form = Form::new();
    for (k, v) in fields {
        form = form.text((*k).to_owned(), (*v).to_owned());
    }
    if let Some(bytes) = scan {
        form = form.part("file", Part::bytes(bytes).file_name("毕业生登记册-2012.png"));
    }
    form
}

async fn record(who: &Session, fields: &[(&str, &str)], scan: Option<Vec<u8>>) -> reqwest::Response {
    who.send_api_multipart("/api/historical", ledger_form(fields, scan)).await
}

/// The status and stable code of a refusal.
async fn refusal(res: reqwest::Response) -> (StatusCode, String) {
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert!(status.is_client_error(), "{status} {body}");
    (status, body["code"].as_str().unwrap_or_default().to_owned())
}

/// A form's text fields.
type Fields<'a> = Vec<(&'a str, &'a str)>;

/// `fields` with `key` set to `value`.
fn with<'a>(fields: &[(&'a str, &'a str)], key: &str, value: &'a str) -> Vec<(&'a str, &'a str)> {
    fields.iter().map(|&(k, v)| if k == key { (k, value) } else { (k, v) }).collect()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.db().pool).await.unwrap()
}

#[tokio::test]
async fn a_pre_system_graduate_is_recorded_from_the_ledger_and_gets_a_proof_never_a_certificate() {
    let app = spawn_app().await;
    let bureau = sign_in(&app, "bureau").await;
    let registrar = sign_in(&app, &format!("r{CENTRAL}")).await;
    let id = id_born(2000, 5, 5, 601);
    let good = [
        ("name", "旧档生"),
        ("id_number", id.as_str()),
        ("school", CENTRAL),
        ("stage", "primary"),
        ("year", "2012"),
        ("original_number", "2012-0456"),
    ];
    let students_before = count(&app, "SELECT COUNT(*) FROM students").await;

    // Each bad request is refused with its code, and nothing is written.
    let res = record(&registrar, &good, Some(png(40, 30, 1))).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "only the bureau records a pre-system graduate");
    let bad_id = {
        let mut s = id.clone();
        let last = s.pop().unwrap();
        s.push(if last == '1' { '2' } else { '1' });
        s
    };
    let junior_year = with(&good, "stage", "junior");
    let cases: Vec<(Fields, Option<Vec<u8>>, &str)> = vec![
        (with(&good, "id_number", &bad_id), Some(png(40, 30, 1)), "id."),
        (with(&good, "school", "9999999999"), Some(png(40, 30, 1)), "historical.school_unknown"),
        (junior_year, Some(png(40, 30, 1)), "historical.stage_school"),
        (with(&good, "year", "2027"), Some(png(40, 30, 1)), "historical.year_invalid"),
        (with(&good, "year", "2005"), Some(png(40, 30, 1)), "historical.age_implausible"),
        (with(&good, "year", "二〇一二"), Some(png(40, 30, 1)), "form.number_invalid"),
        (with(&good, "name", " "), Some(png(40, 30, 1)), "historical.name_invalid"),
        (good.to_vec(), None, "paper.scan_required"),
        (good.to_vec(), Some(b"not a scan at all, only text".to_vec()), "archive."),
    ];
    for (fields, scan, code) in cases {
        let (status, got) = refusal(record(&bureau, &fields, scan).await).await;
        assert!(got.starts_with(code), "{code}: {status} {got}");
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM students").await, students_before);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM graduations").await, 0);
    assert_eq!(app.audit_count("historical.record", "-", "ok").await, 0);

    // Recorded: a read-only record, its graduation marked as typed in, the scan in its dossier.
    let done = record(&bureau, &good, Some(png(40, 30, 2))).await.json_with(StatusCode::CREATED).await;
    assert_eq!(done["new_record"], true, "{done}");
    assert_eq!(done["in_dossier"], true, "{done}");
    assert_eq!(done["student_no"], format!("G{id}"));
    let pid = done["public_id"].as_str().unwrap().to_owned();
    assert_eq!(status_named(&app, "旧档生").await, "historical");
    let (historical, entered, number): (i64, String, String) =
        sqlx::query_as("SELECT historical, entered_on, original_number FROM graduations")
            .fetch_one(&app.db().pool)
            .await
            .unwrap();
    assert_eq!((historical, entered.as_str(), number.as_str()), (1, "2006-09-01", "2012-0456"));
    let dossier = bureau.dossier(&pid).await.json_ok().await;
    let entries = dossier["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{dossier}");
    assert_eq!(entries[0]["kind"], "graduate_ledger");
    assert_eq!(entries[0]["digest"], done["evidence_sha256"]);
    assert_eq!(app.audit_count("historical.record", &pid, "ok").await, 1);
    let (_, code) = refusal(record(&bureau, &good, Some(png(40, 30, 3))).await).await;
    assert_eq!(code, "historical.already_graduated");

    // Read-only: no workflow applies to it.
    let apply = json!({"reason": "因病住院治疗", "guardian_name": "王秀兰", "guardian_phone": "13904310602"});
    let (_, code) = refusal(registrar.apply_suspension(&pid, &apply).await).await;
    assert_eq!(code, "status.transition");

    // Never a certificate: the school's batch does not include it, nor can one be printed.
    let issued =
        bureau.issue_certificates(&json!({"school": CENTRAL, "kind": "graduation_certificate"})).await.json_ok().await;
    assert_eq!(issued["issued"].as_array().unwrap().len(), 0, "{issued}");
    assert!(!bureau.document(&pid, "graduation_certificate").await.status().is_success());
    assert_eq!(count(&app, "SELECT COUNT(*) FROM documents").await, 0);

    // The proof: only the bureau; it names the ledger and the old number.
    let res = registrar.send_json(&format!("/api/historical/{pid}/proof"), &json!({"stage": "primary"})).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let (_, code) =
        refusal(bureau.send_json(&format!("/api/historical/{pid}/proof"), &json!({"stage": "junior"})).await).await;
    assert_eq!(code, "historical.no_graduation");
    let proof = bureau
        .send_json(&format!("/api/historical/{pid}/proof"), &json!({"stage": "primary"}))
        .await
        .json_with(StatusCode::CREATED)
        .await;
    let number = proof["number"].as_str().unwrap().to_owned();
    assert_eq!(number, "22012220263000001", "{proof}");
    let text = bureau.document(&pid, "academic_proof").await.pdf_text().await;
    for shown in ["学历证明书", "旧档生", "2006.09—2012.07", "2012-0456", "毕业生登记册", "纸质档案", "遗失"]
    {
        assert!(text.contains(shown), "{shown}: {text}");
    }
    let (_, code) =
        refusal(bureau.send_json(&format!("/api/historical/{pid}/proof"), &json!({"stage": "primary"})).await).await;
    assert_eq!(code, "certificate.already_issued", "one valid proof for a graduation");
    assert_eq!(app.audit_count("historical.proof", &pid, "ok").await, 1);

    // It verifies as a genuine proof, and the list shows it.
    let url = proof["verify_url"].as_str().unwrap();
    let path = &url[url.find("/V/").unwrap()..];
    let page = client().get(format!("{}{path}", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("学历证明书") && page.contains(&number), "{page}");
    let list = bureau.fetch("/api/historical").await.json_ok().await;
    assert_eq!(list[0]["proof_number"], number.as_str(), "{list}");
    assert_eq!(list[0]["original_number"], "2012-0456");
    assert!(app.audit_count("historical.list", "*", "ok").await >= 1);
    let page = bureau.fetch("/historical").await.text().await.unwrap();
    assert!(page.contains("旧档生") && page.contains(&number), "{page}");
    assert_eq!(registrar.fetch("/historical").await.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_record_in_the_system_gets_its_earlier_graduation_with_that_stage_s_dates() {
    let app = spawn_app().await;
    let bureau = sign_in(&app, "bureau").await;
    assert!(import_rows(app.db(), JUNIOR, vec![pupil("初二生", (2012, 3, 3), 602, 8)]).await.committed);
    let pid = app.public_id("初二生").await;
    let id: String = sqlx::query_scalar("SELECT id_number FROM students WHERE name = '初二生'")
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    let fields = |name: &'static str| {
        vec![
            ("name", name),
            ("id_number", id.as_str()),
            ("school", CENTRAL),
            ("stage", "primary"),
            ("year", "2024"),
            ("entry_year", "2018"),
        ]
    };
    let (_, code) = refusal(record(&bureau, &fields("别人"), Some(png(40, 30, 4))).await).await;
    assert_eq!(code, "historical.id_mismatch", "the ID number's record has another name");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM graduations").await, 0);

    let done = record(&bureau, &fields("初二生"), Some(png(40, 30, 5))).await.json_with(StatusCode::CREATED).await;
    assert_eq!(done["new_record"], false, "{done}");
    assert_eq!(done["public_id"], pid.as_str());
    assert_eq!(status_named(&app, "初二生").await, "active", "the pupil's own record goes on");
    bureau
        .send_json(&format!("/api/historical/{pid}/proof"), &json!({"stage": "primary", "reason": "损毁"}))
        .await
        .json_with(StatusCode::CREATED)
        .await;
    let text = bureau.document(&pid, "academic_proof").await.pdf_text().await;
    for shown in ["2018.09—2024.07", "小学", "损毁"] {
        assert!(text.contains(shown), "{shown}: {text}");
    }
    assert!(!text.contains("编号：\n") && !text.contains("（编号：）"), "no blank number: {text}");
}
