//! Share codes (分享码): made by the school for a graduate's certificate,
//! typed by a third party on `/s` instead of scanning, counted, expired,
//! revoked; guessing is rate-limited like `/v/` and learns nothing.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A graduate of the junior school with the 毕业证书 the bureau issued.
async fn certificate(app: &TestApp, name: &str, seq: u16) -> String {
    assert!(import_rows(app.db(), JUNIOR, vec![pupil(name, (2011, 4, 4), seq, 9)]).await.committed);
    graduate_where(app.db(), "name", name).await;
    let bureau = sign_in(app, "bureau").await;
    let answer =
        bureau.issue_certificates(&json!({"school": JUNIOR, "kind": "graduation_certificate"})).await.json_ok().await;
    answer["issued"][0].as_str().unwrap_or_else(|| panic!("{answer}")).to_owned()
}

/// What a visitor sees after typing `code` on `/s`.
async fn typed(base: &str, code: &str) -> (StatusCode, String) {
    let res = reqwest::Client::new().post(format!("{base}/s")).form(&[("code", code)]).send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

async fn share_codes(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM share_codes").fetch_one(&app.db().pool).await.unwrap()
}

#[tokio::test]
async fn a_share_code_opens_the_certificate_until_it_expires_or_is_revoked() {
    let app = spawn_app().await;
    let number = certificate(&app, "分享生", 501).await;
    let school = sign_in(&app, &format!("r{JUNIOR}")).await;
    let path = format!("/api/certificates/{number}/share-codes");

    // Bad requests are refused with their code, and make nothing.
    for (body, status, code) in [
        (json!({"holder": "家长", "days": 29}), StatusCode::UNPROCESSABLE_ENTITY, "share.days"),
        (json!({"holder": "家长", "days": 181}), StatusCode::UNPROCESSABLE_ENTITY, "share.days"),
        (json!({"holder": " ", "days": 30}), StatusCode::BAD_REQUEST, "share.holder_required"),
    ] {
        refused_with(school.send_json(&path, &body).await, status, code).await;
    }
    let res = school
        .send_json("/api/certificates/2201222099G9999999/share-codes", &json!({"holder": "家长", "days": 30}))
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let other = sign_in(&app, &format!("r{TOWN}")).await;
    let res = other.send_json(&path, &json!({"holder": "家长", "days": 30})).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "another school's certificate is not found");
    assert_eq!(share_codes(&app).await, 0);

    // The school makes a code for 30 days; it is shown once, in three groups.
    let issued = school
        .send_json(&path, &json!({"holder": "分享生家长", "days": 30}))
        .await
        .json_with(StatusCode::CREATED)
        .await;
    let code = issued["code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 14, "{issued}");
    assert_eq!(code.matches('-').count(), 2);
    assert!(!code.contains(['I', 'L', 'O', 'U']), "{code}");
    let expires: chrono::NaiveDate = issued["expires_on"].as_str().unwrap().parse().unwrap();
    assert_eq!(expires, today() + chrono::Duration::days(29));
    let stored: String =
        sqlx::query_scalar("SELECT code_digest FROM share_codes").fetch_one(&app.db().pool).await.unwrap();
    assert!(!stored.contains(&code.replace('-', "")), "only a digest of the code is kept");
    assert_eq!(app.audit_count("share_code.issue", &number, "ok").await, 1);

    // A new school types it, in lower case with spaces: the certificate's verification.
    let (status, page) = typed(&app.base, &code.to_lowercase().replace('-', " ")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<h1>有效</h1>") && page.contains(&number) && page.contains("分*生"), "{page}");
    assert!(!page.contains("分享生"), "the full name is never shown");
    typed(&app.base, &code).await;
    // The holder learns from the school how often it was used.
    let list = school.fetch(&path).await.json_ok().await;
    assert_eq!(list[0]["uses"], 2, "{list}");
    assert_eq!(list[0]["holder"], "分享生家长");
    assert!(list[0].get("code").is_none() && list[0].get("code_digest").is_none());
    assert_eq!(app.audit_count("share_code.list", &number, "ok").await, 1);

    // An unknown code, a malformed one and nothing at all: one answer, alike.
    let (_, unknown) = typed(&app.base, "0000-0000-0000").await;
    assert!(unknown.contains("分享码无效、已过期或已撤销"), "{unknown}");
    assert_eq!(typed(&app.base, "not a code").await.1, unknown);
    assert_eq!(typed(&app.base, "").await.1, unknown);

    // On its last day it still opens; the day after, it does not.
    let last_day = app.restart_at(expires).await;
    assert!(typed(&last_day.base, &code).await.1.contains("<h1>有效</h1>"));
    let after = app.restart_at(expires + chrono::Duration::days(1)).await;
    assert_eq!(typed(&after.base, &code).await.1, unknown);

    // Revoked, it opens nothing; a second revocation is refused.
    let id = issued["id"].as_str().unwrap();
    let res = other.send_json(&format!("/api/share-codes/{id}/revoke"), &json!({})).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "another school cannot revoke it");
    let revoked = school.send_json(&format!("/api/share-codes/{id}/revoke"), &json!({})).await.json_ok().await;
    assert!(revoked["revoked_at"].is_string(), "{revoked}");
    assert_eq!(typed(&app.base, &code).await.1, unknown);
    refused_with(
        school.send_json(&format!("/api/share-codes/{id}/revoke"), &json!({})).await,
        StatusCode::CONFLICT,
        "share.already_revoked",
    )
    .await;
    let uses: i64 = sqlx::query_scalar("SELECT uses FROM share_codes").fetch_one(&app.db().pool).await.unwrap();
    assert_eq!(uses, 3, "two reads and the last day; not the refused ones");

    // The page: a code made there is shown once, the list shows the uses.
    let page_path = format!("/certificates/{number}/share-codes");
    let page = school.fetch(&page_path).await.text().await.unwrap();
    assert!(page.contains("分享生家长") && page.contains("已撤销"), "{page}");
    let csrf = school.csrf.clone();
    let made = school.send_form(&page_path, &[("csrf", csrf.as_str()), ("holder", "分享生"), ("days", "60")]).await;
    assert_eq!(made.status(), StatusCode::OK);
    let made = made.text().await.unwrap();
    let shown =
        made.split("<strong id=\"share-code\">").nth(1).and_then(|s| s.split("</strong>").next()).unwrap().to_owned();
    assert_eq!(shown.len(), 14, "{made}");
    assert!(typed(&app.base, &shown).await.1.contains("<h1>有效</h1>"));
    assert!(!school.fetch(&page_path).await.text().await.unwrap().contains(&shown), "shown once only");

    // The certificate revoked: a code still open says so; no new code is made for it.
    let doc_id: String = sqlx::query_scalar("SELECT doc_id FROM documents WHERE number = $1")
        .bind(&number)
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    let bureau = sign_in(&app, "bureau").await;
    let res = bureau.send_json(&format!("/api/documents/{doc_id}/revoke"), &json!({"reason": "错印"})).await;
    assert!(res.status().is_success());
    assert!(typed(&app.base, &shown).await.1.contains("<h1>已作废</h1>"));
    let before = share_codes(&app).await;
    refused_with(
        school.send_json(&path, &json!({"holder": "家长", "days": 30})).await,
        StatusCode::CONFLICT,
        "share.not_valid",
    )
    .await;
    assert_eq!(share_codes(&app).await, before);
}

#[tokio::test]
async fn a_thousand_guessed_codes_get_429s_and_learn_nothing() {
    let app = spawn_app_with(|c| {
        c.verify_rate_per_minute = 60;
        c.verify_burst = 10;
    })
    .await;
    let number = certificate(&app, "猜码生", 502).await;
    let school = sign_in(&app, &format!("r{JUNIOR}")).await;
    let path = format!("/api/certificates/{number}/share-codes");
    school.send_json(&path, &json!({"holder": "家长", "days": 90})).await.json_with(StatusCode::CREATED).await;

    let client = reqwest::Client::new();
    let (mut limited, mut answered) = (0, Vec::new());
    for i in 0..1000u64 {
        let guess = format!("{:012}", i * 7919);
        let res = client.post(format!("{}/s", app.base)).form(&[("code", guess.as_str())]).send().await.unwrap();
        match res.status() {
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(res.headers().contains_key("retry-after"));
                limited += 1;
            }
            StatusCode::OK => answered.push(res.text().await.unwrap()),
            other => panic!("guess {i}: {other}"),
        }
    }
    assert!(limited >= 980, "{limited} of 1000 guesses limited");
    assert!(answered.iter().all(|page| page.contains("分享码无效") && !page.contains(&number)), "nothing learned");
    let list: Value = school.fetch(&path).await.json_ok().await;
    assert_eq!(list[0]["uses"], 0, "guesses are not uses");
}
