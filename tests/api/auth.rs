//! Sign-in, sessions, CSRF.

use crate::helpers::*;
use reqwest::StatusCode;

#[tokio::test]
async fn no_login_means_401_for_the_api_and_a_redirect_for_pages() {
    let app = spawn_app().await;
    assert_eq!(app.list_students().await.status(), StatusCode::UNAUTHORIZED);
    snap_json!("error_not_signed_in", app.list_students().await.json::<serde_json::Value>().await.unwrap());
    let res = app.students_page().await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/login");
    assert_eq!(app.problems_page().await.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.health().await.status(), StatusCode::OK);
    let login = app.login_page().await;
    assert_eq!(login.status(), StatusCode::OK);
    let page = login.text().await.unwrap();
    assert!(page.contains("工作人员登录"));
    snap_page!("page_login", page);
}

#[tokio::test]
async fn wrong_password_is_refused_and_audited() {
    let app = spawn_app().await;
    let res = app.sign_in_with("admin", "wrong-password-9").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["code"], "auth.bad_credentials");
    snap_json!("error_bad_credentials", body);
    assert_eq!(app.audit_count("auth.login", "-", "denied").await, 1);
    assert_eq!(app.me().await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn session_cookie_is_http_only_strict_and_rotated_at_login() {
    let mut app = spawn_app().await;
    let res = app.sign_in_with("admin", PASSWORD).await;
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let first = cookie.split(';').next().unwrap().to_owned();
    assert_eq!(app.login("admin").await, StatusCode::OK);
    // The first session ended when the second began.
    let old = reqwest::Client::new().get(format!("{}/api/me", app.base)).header("cookie", &first).send().await.unwrap();
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.me().await.status(), StatusCode::OK);
}

#[tokio::test]
async fn idle_sessions_expire() {
    let mut app = spawn_app().await;
    app.login("bureau").await;
    assert_eq!(app.me().await.status(), StatusCode::OK);
    sqlx::query("UPDATE sessions SET last_seen = last_seen - 7200").execute(&app.db().pool).await.unwrap();
    assert_eq!(app.me().await.status(), StatusCode::UNAUTHORIZED);
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions").fetch_one(&app.db().pool).await.unwrap();
    assert_eq!(left, 0);
}

#[tokio::test]
async fn api_writes_and_forms_need_the_csrf_token() {
    let mut app = spawn_app().await;
    app.login("bureau").await;
    let res = app.client.post(format!("{}/api/logout", app.base)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = app.sign_out_form(&[("csrf", "forged")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.me().await.status(), StatusCode::OK);
    let res = app.sign_out_form(&[("csrf", app.csrf.as_str())]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.me().await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_sign_in_form_works_and_needs_its_token() {
    let app = spawn_app().await;
    // Without the form's token (no cookie from GET /login): refused.
    let res = app.sign_in_form(&[("username", "admin"), ("password", PASSWORD), ("csrf", "x")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let page = app.login_page().await.text().await.unwrap();
    let token = page.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    // A wrong password: the form comes back with the user name kept, the password empty.
    let res = app.sign_in_form(&[("username", "admin"), ("password", "wrong-1"), ("csrf", token.as_str())]).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let again = res.text().await.unwrap();
    assert!(again.contains("用户名或密码错误"), "{again}");
    assert!(
        again.contains(r#"name="username" autocomplete="username" required maxlength="64" value="admin""#),
        "{again}"
    );
    assert!(!again.contains("wrong-1"), "the password is never sent back");
    let token = again.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let res = app.sign_in_form(&[("username", "admin"), ("password", PASSWORD), ("csrf", token.as_str())]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/students");
    let list = app.students_page().await;
    assert_eq!(list.status(), StatusCode::OK);
    assert!(list.text().await.unwrap().contains("学生名单"));
}

/// Signs in with a wrong password and checks the answer is the plain refusal.
async fn refused(app: &TestApp, user: &str, password: &str) {
    let res = app.sign_in_with(user, password).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{user}");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["code"], "auth.bad_credentials", "a throttled attempt answers like a wrong password");
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.db().pool).await.unwrap()
}

#[tokio::test]
async fn a_hundred_wrong_passwords_lock_the_account_until_it_is_lifted() {
    let app = spawn_app().await;
    for i in 0..100 {
        refused(&app, "bureau", &format!("guess-{i}")).await;
    }
    // The right password is refused too, exactly like a wrong one.
    refused(&app, "bureau", PASSWORD).await;
    assert_eq!(app.audit_count("auth.login", "-", "denied").await, 101);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM audit_log WHERE action = 'auth.login' AND outcome = 'ok'").await, 0);
    let locks = count(&app, "SELECT COUNT(*) FROM audit_log WHERE action = 'auth.lock'").await;
    assert_eq!(locks, 2, "the account and the address were each locked once");

    // The operator lifts the address's lock at the command line (audited as such) …
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_xueji"))
        .args(["users", "unlock", "--address", "127.0.0.1"])
        .env("XUEJI_DATA_DIR", &app.app.config.data_dir)
        .env("XUEJI_DATABASE_URL", &app.app.config.database_url)
        .env("XUEJI_LOG", "warn")
        .env("USER", "operator-7")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("已解除地址 127.0.0.1 的登录锁定"), "{said}");
    let by_cli = "SELECT COUNT(*) FROM audit_log WHERE action = 'auth.unlock' AND username = 'cli:operator-7'";
    assert_eq!(count(&app, by_cli).await, 1);
    // … but the account stays locked.
    refused(&app, "bureau", PASSWORD).await;

    // A registrar may not lift it; the bureau administrator may.
    let registrar = sign_in(&app, &format!("r{TOWN}")).await;
    let res = registrar.unlock_sign_in(&serde_json::json!({"account": "bureau"})).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let admin = sign_in(&app, "admin").await;
    let res = admin.unlock_sign_in(&serde_json::json!({"account": "bureau"})).await;
    assert_eq!(res.json_ok().await["lifted"], true);
    let res = admin.unlock_sign_in(&serde_json::json!({"account": "bureau", "address": "1.2.3.4"})).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "one target at a time");
    assert_eq!(app.sign_in_with("bureau", PASSWORD).await.status(), StatusCode::OK);
    let denied = "SELECT COUNT(*) FROM audit_log WHERE action = 'auth.unlock' AND outcome = 'denied'";
    assert_eq!(count(&app, denied).await, 1, "the registrar's attempt is audited");
}

#[tokio::test]
async fn after_five_failures_the_next_attempt_waits_and_the_wait_ends() {
    let app = spawn_app().await;
    for i in 0..5 {
        refused(&app, "admin", &format!("guess-{i}")).await;
    }
    // Within the second after the fifth failure, even the right password is refused
    // (and counts: the next wait is two seconds).
    refused(&app, "admin", PASSWORD).await;
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    assert_eq!(app.sign_in_with("admin", PASSWORD).await.status(), StatusCode::OK);
    let left = count(&app, "SELECT COUNT(*) FROM login_attempts WHERE key = 'account:admin'").await;
    assert_eq!(left, 0, "a sign-in clears the account's failures");
}

#[tokio::test]
async fn a_spoofed_forwarded_for_from_an_untrusted_peer_changes_nothing() {
    let app = spawn_app().await;
    for i in 0..20 {
        let body = serde_json::json!({"username": format!("nobody{i}"), "password": "x"});
        let res = reqwest::Client::new()
            .post(format!("{}/api/login", app.base))
            .header("x-forwarded-for", format!("203.0.113.{i}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    // Twenty failures from this one peer lock the peer, whatever names and headers it sent.
    refused(&app, "admin", PASSWORD).await;
    assert_eq!(count(&app, "SELECT COUNT(*) FROM login_attempts WHERE key LIKE 'address:203.0.113.%'").await, 0);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM login_attempts WHERE key = 'address:127.0.0.1'").await, 1);
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_audit_and_the_sign_in_lock_see_the_real_client() {
    /// Signs in as `bureau` with a forwarded address and returns the addresses the audit log holds.
    async fn forwarded_sign_in(app: &TestApp) -> (StatusCode, Vec<String>) {
        let body = serde_json::json!({"username": "bureau", "password": PASSWORD});
        let res = app
            .client
            .post(format!("{}/api/login", app.base))
            .header("x-forwarded-for", "10.1.2.3")
            .json(&body)
            .send()
            .await
            .unwrap();
        let clients = sqlx::query_scalar("SELECT DISTINCT client FROM audit_log WHERE client <> '-'")
            .fetch_all(&app.db().pool)
            .await
            .unwrap();
        (res.status(), clients)
    }
    let app = spawn_app_with(|c| c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await;
    let (status, clients) = forwarded_sign_in(&app).await;
    assert!(status.is_success(), "{status}");
    assert_eq!(clients, vec!["10.1.2.3".to_owned()], "not the proxy's 127.0.0.1");

    // Without the setting, the header is not believed.
    let (_, clients) = forwarded_sign_in(&spawn_app().await).await;
    assert_eq!(clients, vec!["127.0.0.1".to_owned()]);
}
