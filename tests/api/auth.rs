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
    let res = app.sign_in_form(&[("username", "admin"), ("password", PASSWORD), ("csrf", token.as_str())]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/students");
    let list = app.students_page().await;
    assert_eq!(list.status(), StatusCode::OK);
    assert!(list.text().await.unwrap().contains("学生名单"));
}
