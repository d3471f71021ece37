//! Certificate numbering, issuing, voids, losses and revocation.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use xueji::render::DocKind;

fn seqs(numbers: &[String]) -> BTreeSet<u32> {
    numbers.iter().map(|n| n[11..].parse().unwrap()).collect()
}

#[tokio::test]
async fn eight_tasks_allocating_1000_numbers_get_1000_distinct_gap_free_numbers() {
    let app = spawn_app().await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let db = app.db().clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for _ in 0..125 {
                got.push(
                    xueji::certificates::allocate(&db, DocKind::GraduationCertificate, 2026, None, None, None)
                        .await
                        .unwrap(),
                );
            }
            got
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    assert_eq!(all.len(), 1000);
    assert!(all.iter().all(|n| n.len() == 17 && n.starts_with("22012220262")), "{:?}", &all[..3]);
    assert_eq!(seqs(&all), (1..=1000).collect());
}

#[tokio::test]
async fn two_processes_on_one_database_get_distinct_gap_free_numbers() {
    let app = spawn_app().await;
    let url = app.app.config.database_url.clone();
    let data = app.app.config.data_dir.clone();
    let spawn = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_xueji"))
            .args(["certificates", "allocate", "--kind", "compulsory_certificate", "--year", "2026", "--count", "500"])
            .env("XUEJI_DATABASE_URL", &url)
            .env("XUEJI_DATA_DIR", &data)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let mut all = Vec::new();
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        all.extend(String::from_utf8(out.stdout).unwrap().lines().map(str::to_owned));
    }
    assert_eq!(all.len(), 1000);
    assert_eq!(seqs(&all), (1..=1000).collect());
}

async fn graduate(app: &mut TestApp, name: &str) -> String {
    assert!(import_rows(app.db(), JUNIOR, vec![pupil(name, (2011, 4, 4), 61, 9)]).await.committed);
    graduate_where(app.db(), "name", name).await;
    app.login("bureau").await;
    app.public_id(name).await
}

#[tokio::test]
async fn a_certificate_is_issued_once_voided_sheets_are_never_reused_and_a_loss_gets_a_proof() {
    let mut app = spawn_app().await;
    let id = graduate(&mut app, "毕业甲").await;
    let res = app.issue_certificates(&json!({"school": JUNIOR, "kind": "graduation_certificate"})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    let first = body["issued"][0].as_str().unwrap().to_owned();
    assert_eq!(first, "22012220262000001");
    snap_json!("certificates_issued", body);
    // Printing it again is the same certificate.
    let pdf = app.document(&id, "graduation_certificate").await;
    assert_eq!(pdf.status(), StatusCode::OK);
    // Issuing again gives nothing new.
    let again: Value = app
        .issue_certificates(&json!({"school": JUNIOR, "kind": "graduation_certificate"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["issued"].as_array().unwrap().len(), 0);

    // A jammed sheet: void it with a reason; the student gets the next number; the void is listed.
    let res = app.void_certificate(&first, &json!({"reason": "卡纸"})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = app
        .issue_certificates(&json!({"school": JUNIOR, "kind": "graduation_certificate"}))
        .await
        .json()
        .await
        .unwrap();
    let second = body["issued"][0].as_str().unwrap().to_owned();
    assert_eq!(second, "22012220262000002");
    let voids: Value = app.certificates_in_state("voided").await.json().await.unwrap();
    assert_eq!(voids[0]["number"], first.as_str());
    assert_eq!(voids[0]["reason"], "卡纸");
    snap_json!("certificates_voided", voids);
    let res = app.void_certificate(&first, &json!({"reason": "再次"})).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);

    // Lost: only once handed over; then a 学历证明书 naming the lost number,
    // and the certificate shows "lost, replaced by …".
    let res = app.report_certificate_lost(&second, &json!({"reason": "遗失"})).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "certificate.not_handed_over");
    assert_eq!(app.certificates_in_state("voided").await.json::<Value>().await.unwrap().as_array().unwrap().len(), 1);
    app.hand_over_certificate(&second, "家长").await.json_ok().await;
    let res = app.report_certificate_lost(&second, &json!({"reason": "遗失"})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    let proof = body["proof_number"].as_str().unwrap().to_owned();
    assert_eq!(proof, "22012220263000001");
    snap_json!("certificate_lost_answer", body);
    let (status, replaced_by): (String, String) =
        sqlx::query_as("SELECT status, replaced_by FROM documents WHERE number = $1")
            .bind(&second)
            .fetch_one(&app.db().pool)
            .await
            .unwrap();
    assert_eq!((status.as_str(), replaced_by.as_str()), ("lost", proof.as_str()));
    let pdf = app.document(&id, "academic_proof").await.bytes().await.unwrap();
    let text = pdftotext(&pdf);
    assert!(text.contains(&second) && text.contains(&proof), "the proof names the number it replaces");
    // A lost certificate is never issued again.
    let body: Value = app
        .issue_certificates(&json!({"school": JUNIOR, "kind": "graduation_certificate"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["issued"].as_array().unwrap().len(), 0);

    // Revocation, audited.
    let doc: String = sqlx::query_scalar("SELECT doc_id FROM documents WHERE number = $1")
        .bind(&proof)
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    let res = app.revoke_document(&doc, &json!({"reason": "信息有误"})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(app.audit_count("document.revoke", &doc, "ok").await, 1);
    let page = app.certificates_page().await.text().await.unwrap();
    assert!(page.contains(&first) && page.contains("已作废") && page.contains("已挂失") && page.contains("已撤销"));
    snap_page!("page_certificates", page);
}

#[tokio::test]
async fn certificates_are_for_graduates_and_for_bureau_staff() {
    let mut app = spawn_app().await;
    assert!(import_rows(app.db(), JUNIOR, vec![pupil("在读乙", (2011, 4, 4), 63, 9)]).await.committed);
    app.login(&format!("r{JUNIOR}")).await;
    let res = app.issue_certificates(&json!({"school": JUNIOR, "kind": "graduation_certificate"})).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let id = app.public_id("在读乙").await;
    let res = app.document(&id, "graduation_certificate").await;
    assert_eq!(res.status(), StatusCode::CONFLICT, "not a graduate");
    app.login("bureau").await;
    let body: Value = app
        .issue_certificates(&json!({"school": JUNIOR, "kind": "graduation_certificate"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["issued"].as_array().unwrap().len(), 0, "only graduates receive certificates");
    let res = app.void_certificate("2201222026200000x", &json!({"reason": ""})).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}
