//! The signing keys' life cycle at the command line, against a running
//! service: rotation, retirement and compromise, with printing going on.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::Value;
use std::process::Command;

/// `xueji keys …` on the test server's data directory, as `operator-7`.
fn keys(app: &TestApp, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_xueji"))
        .arg("keys")
        .args(args)
        .env("XUEJI_DATA_DIR", &app.app.config.data_dir)
        .env("XUEJI_DATABASE_URL", &app.app.config.database_url)
        .env("XUEJI_LOG", "warn")
        .env("USER", "operator-7")
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

/// The active kid in the published key set, waiting (at most 10 s) until it is not `old`.
async fn active_after(app: &TestApp, old: &str) -> String {
    for _ in 0..100 {
        let set: Value = app.key_set().await.json().await.unwrap();
        let active = set["keys"].as_array().unwrap().iter().find(|k| k["status"] == "active").map(|k| k["kid"].clone());
        if let Some(Value::String(kid)) = active
            && kid != old
        {
            return kid;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the published key set still has {old} active");
}

/// The verdict of a verification URL's JSON answer.
async fn verdict(url: &str) -> Value {
    let res = reqwest::get(format!("{url}.json")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json::<Value>().await.unwrap()["verdict"].clone()
}

/// The verification URL of the student's current document of `kind`.
async fn url_of(app: &TestApp, pid: &str, kind: &str) -> String {
    sqlx::query_scalar(
        "SELECT d.verify_url FROM documents d JOIN students s ON s.id = d.student_id
         WHERE s.public_id = $1 AND d.kind = $2 AND d.status = 'valid'",
    )
    .bind(pid)
    .bind(kind)
    .fetch_one(&app.db().pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn rotate_retire_and_compromise_at_the_command_line_while_printing_goes_on() {
    // The test polls the public pages while it waits for the server to follow.
    let mut app = spawn_app_with(|c| {
        c.verify_burst = 10_000;
        c.verify_rate_per_minute = 100_000;
    })
    .await;
    assert!(import_rows(app.db(), TOWN, vec![first_grader("密钥甲", 71)]).await.committed);
    assert_eq!(app.login(&format!("r{TOWN}")).await, StatusCode::OK);
    let pid = app.public_id("密钥甲").await;
    assert_eq!(app.document(&pid, "basic_info").await.status(), StatusCode::OK);
    let first_url = url_of(&app, &pid, "basic_info").await;
    assert_eq!(verdict(&first_url).await, "valid");
    let first = app.app.keys.active_signer().unwrap().kid().to_string();

    // Rotation: the running service signs with the new key, and publishes it, within seconds.
    let (code, out) = keys(&app, &["rotate", "--reason", "年度轮换"]);
    assert_eq!(code, 0, "{out}");
    let second = active_after(&app, &first).await;
    assert!(out.contains(&second), "{out}");
    assert_eq!(app.document(&pid, "registration").await.status(), StatusCode::OK);
    let kid: String = sqlx::query_scalar("SELECT kid FROM documents WHERE kind = 'registration'")
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    assert_eq!(kid, second);
    assert_eq!(verdict(&first_url).await, "valid", "the retired key still verifies");

    // Retiring needs a reason, and not the active key.
    assert_eq!(keys(&app, &["retire", &second, "--reason", "试试"]).0, 1);
    let (code, out) = keys(&app, &["retire", &first, "--reason", ""]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("key.reason_required"), "{out}");

    // Compromising the old key fails what it signed.
    let (code, out) = keys(&app, &["compromise", &first, "--reason", "备份盘遗失"]);
    assert_eq!(code, 0, "{out}");
    for _ in 0..100 {
        if verdict(&first_url).await != "valid" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(verdict(&first_url).await, "invalid");

    // Compromising the active key makes a new one: printing goes on.
    let (code, out) = keys(&app, &["compromise", &second, "--reason", "服务器被入侵"]);
    assert_eq!(code, 0, "{out}");
    let third = active_after(&app, &second).await;
    assert_ne!(third, first);
    assert_eq!(app.document(&pid, "record_card").await.status(), StatusCode::OK);
    assert_eq!(verdict(&url_of(&app, &pid, "record_card").await).await, "valid");

    let (code, out) = keys(&app, &["list"]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 3, "{out}");
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT action, outcome, username FROM audit_log WHERE action LIKE 'key.%' ORDER BY id")
            .fetch_all(&app.db().pool)
            .await
            .unwrap();
    let seen: Vec<(&str, &str)> = rows.iter().map(|r| (r.0.as_str(), r.1.as_str())).collect();
    assert_eq!(
        seen,
        [
            ("key.rotate", "ok"),
            ("key.retire", "refused"),
            ("key.retire", "refused"),
            ("key.compromise", "ok"),
            ("key.compromise", "ok")
        ]
    );
    assert!(rows.iter().all(|r| r.2 == "cli:operator-7"));
}

#[tokio::test]
async fn the_bureau_administrator_rotates_and_marks_keys_on_the_keys_page() {
    let mut app = spawn_app_with(|c| {
        c.verify_burst = 10_000;
        c.verify_rate_per_minute = 100_000;
    })
    .await;
    assert!(import_rows(app.db(), TOWN, vec![first_grader("密钥乙", 72)]).await.committed);
    let first = app.app.keys.active_signer().unwrap().kid().to_string();

    // Only the administrator: a registrar is refused, and the refusal is audited.
    app.login(&format!("r{TOWN}")).await;
    let pid = app.public_id("密钥乙").await;
    assert_eq!(app.document(&pid, "basic_info").await.status(), StatusCode::OK);
    let first_url = url_of(&app, &pid, "basic_info").await;
    assert_eq!(app.keys_page().await.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.keys_rotate("试试").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.audit_count("access.denied", "/keys", "forbidden").await, 1);
    assert_eq!(app.audit_count("key.rotate", "-", "refused").await, 1);
    assert_eq!(app.app.keys.active_signer().unwrap().kid().to_string(), first);

    let mut admin = app;
    admin.client = client();
    admin.login("admin").await;
    let page = admin.keys_page().await.text().await.unwrap();
    assert!(page.contains(&first) && page.contains("启用"), "{page}");

    // Rotation from the page: a new active key, signing the next print, published at once.
    let res = admin.keys_form("rotate", "", "年度轮换").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/keys?ok=rotate");
    let second = admin.app.keys.active_signer().unwrap().kid().to_string();
    assert_ne!(second, first);
    let set: Value = admin.key_set().await.json().await.unwrap();
    assert!(set["keys"].as_array().unwrap().iter().any(|k| k["kid"] == second.as_str() && k["status"] == "active"));
    let page = admin.fetch("/keys?ok=rotate").await.text().await.unwrap();
    assert!(page.contains("已生成并启用新密钥") && page.contains("停用（仅验证）"), "{page}");
    assert_eq!(verdict(&first_url).await, "valid", "the retired key still verifies");

    // Marking a key compromised needs a reason: the page says so and nothing changes.
    let res = admin.keys_form("compromise", &first, " ").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("须写明原因"));
    assert_eq!(verdict(&first_url).await, "valid");
    let res = admin.keys_form("compromise", &first, "备份盘遗失").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(verdict(&first_url).await, "invalid");

    // The API: the list, and compromising the active key makes a new one.
    let listed: Value = admin.keys_list().await.json().await.unwrap();
    let statuses: Vec<&str> = listed.as_array().unwrap().iter().map(|k| k["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["compromised", "active"]);
    let res = admin.keys_change(&second, "compromise", "服务器被入侵").await;
    assert_eq!(res.status(), StatusCode::OK);
    let changed: Value = res.json().await.unwrap();
    assert_eq!(changed["kid"], second.as_str());
    let third = changed["active"].as_str().unwrap().to_owned();
    assert!(third != first && third != second);
    assert_eq!(admin.keys_change("not-a-kid", "compromise", "x").await.status(), StatusCode::BAD_REQUEST);
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT action, outcome FROM audit_log WHERE action LIKE 'key.%' AND username = 'admin' ORDER BY id",
    )
    .fetch_all(&admin.db().pool)
    .await
    .unwrap();
    let seen: Vec<(&str, &str)> = rows.iter().map(|r| (r.0.as_str(), r.1.as_str())).collect();
    assert_eq!(
        seen,
        [("key.rotate", "ok"), ("key.compromise", "refused"), ("key.compromise", "ok"), ("key.compromise", "ok")]
    );
}
