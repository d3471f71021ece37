//! Who may read which student, and the audit trail of every read.

use crate::helpers::*;
use reqwest::StatusCode;

async fn with_pupils() -> TestApp {
    let app = spawn_app().await;
    assert!(import_rows(app.db(), TOWN, vec![first_grader("县城甲", 11)]).await.committed);
    assert!(import_rows(app.db(), VILLAGE, vec![first_grader("村小乙", 13)]).await.committed);
    assert!(import_rows(app.db(), CENTRAL, vec![first_grader("中心丙", 15)]).await.committed);
    app
}

#[tokio::test]
async fn a_registrar_reading_another_schools_student_gets_404_and_an_audit_row() {
    let mut app = with_pupils().await;
    app.login(&format!("r{CENTRAL}")).await;
    let other = app.public_id("县城甲").await;
    let res = app.student(&other).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let body = res.text().await.unwrap();
    assert!(!body.contains("县城甲"), "{body}");
    snap_json!("error_student_not_found", serde_json::from_str::<serde_json::Value>(&body).unwrap());
    assert_eq!(app.audit_count("student.view", &other, "denied").await, 1);
    // The page answers the same.
    assert_eq!(app.student_page(&other).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.audit_count("student.view", &other, "denied").await, 2);
    // An id that does not exist looks the same from outside.
    assert_eq!(app.student("000000000000000000000000").await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_registrar_reading_their_own_student_is_audited() {
    let mut app = with_pupils().await;
    app.login(&format!("r{TOWN}")).await;
    let own = app.public_id("县城甲").await;
    let res = app.student(&own).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["student"]["name"], "县城甲");
    assert_eq!(body["history"][0]["kind"], "enrolled");
    snap_json!("student_view", body);
    assert_eq!(app.audit_count("student.view", &own, "ok").await, 1);
    let row: (String, String) =
        sqlx::query_as("SELECT username, client FROM audit_log WHERE target_id = $1 AND action = 'student.view'")
            .bind(&own)
            .fetch_one(&app.db().pool)
            .await
            .unwrap();
    assert_eq!(row, (format!("r{TOWN}"), "127.0.0.1".to_owned()));
    let page = app.student_page(&own).await.text().await.unwrap();
    assert!(page.contains("县城甲") && page.contains("建立学籍"));
    snap_page!("page_student", page);
}

#[tokio::test]
async fn a_central_school_registrar_sees_its_township_schools_files() {
    let mut app = with_pupils().await;
    app.login(&format!("r{CENTRAL}")).await;
    let village = app.public_id("村小乙").await;
    assert_eq!(app.student(&village).await.status(), StatusCode::OK);
    let list: serde_json::Value = app.list_students().await.json().await.unwrap();
    let names: Vec<&str> = list["students"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(list["total"], 2, "{names:?}");
    assert!(names.contains(&"村小乙") && names.contains(&"中心丙"));
    // Filtering on a school outside the scope is a 404, not an empty list.
    assert_eq!(app.list_school_students(TOWN).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.audit_count("student.list", "*", "ok").await, 1);
}

#[tokio::test]
async fn bureau_staff_see_every_school_and_search_by_name_or_number() {
    let mut app = with_pupils().await;
    app.login("bureau").await;
    let list: serde_json::Value = app.list_students().await.json().await.unwrap();
    assert_eq!(list["total"], 3);
    let found: serde_json::Value = app.search_students(&serde_json::json!({"q": "村小"})).await.json().await.unwrap();
    assert_eq!(found["total"], 1);
    let no: String = sqlx::query_scalar("SELECT student_no FROM students WHERE name = '中心丙'")
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    let found: serde_json::Value =
        app.search_students(&serde_json::json!({"q": &no[..10]})).await.json().await.unwrap();
    assert_eq!(found["students"][0]["name"], "中心丙");
    let page = app.students_page().await.text().await.unwrap();
    assert!(page.contains("县城甲") && page.contains("共 3 名学生"));
    snap_page!("page_students_list", page);
}

#[tokio::test]
async fn a_temporary_number_becomes_g_when_the_id_is_issued_and_the_history_keeps_it() {
    let mut app = spawn_app().await;
    let mut row = first_grader("临时号", 71);
    let id_number = row.id_number.clone();
    row.id_type = "未办理".into();
    row.id_number = String::new();
    assert!(import_rows(app.db(), TOWN, vec![row]).await.committed);
    app.login(&format!("r{TOWN}")).await;
    let pid = app.public_id("临时号").await;
    let no: String = sqlx::query_scalar("SELECT student_no FROM students").fetch_one(&app.db().pool).await.unwrap();
    assert!(no.starts_with("L220122") && no.ends_with("0001"), "{no}");
    // An ID whose birth date is not the student's is refused, and nothing changes.
    let other = xueji::domain::IdNumber::from_parts("220122", chrono::NaiveDate::from_ymd_opt(2019, 1, 1).unwrap(), 71)
        .unwrap();
    let res = app.set_id_number(&pid, &serde_json::json!({"id_number": other.to_string()})).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let same: String = sqlx::query_scalar("SELECT student_no FROM students").fetch_one(&app.db().pool).await.unwrap();
    assert_eq!(same, no);
    let res = app.set_id_number(&pid, &serde_json::json!({"id_number": id_number})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: serde_json::Value = app.student(&pid).await.json().await.unwrap();
    assert_eq!(body["student"]["student_no"], format!("G{id_number}"));
    let last = body["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "student_no_converted");
    assert_eq!(last["detail"]["from"], no.as_str());
    snap_json!("student_view_after_id_issued", body);
}

/// Audit rows of `access.denied` for a route: (username, outcome, detail).
async fn denials(app: &TestApp, route: &str) -> Vec<(String, String, String)> {
    sqlx::query_as(
        "SELECT username, outcome, detail FROM audit_log WHERE action = 'access.denied' AND target_id = $1 ORDER BY id",
    )
    .bind(route)
    .fetch_all(&app.db().pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn every_denial_is_audited_once_whoever_refused_it() {
    let mut app = with_pupils().await;
    let registrar = format!("r{CENTRAL}");
    app.login(&registrar).await;
    let before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log").fetch_one(&app.db().pool).await.unwrap();

    // A bureau-only report, refused before any action began: one row, with the route's pattern.
    assert_eq!(app.fixity_report().await.status(), StatusCode::FORBIDDEN);
    let row = (registrar.clone(), "forbidden".to_owned(), "method=GET".to_owned());
    assert_eq!(denials(&app, "/api/archive/fixity").await, vec![row.clone()]);
    // An address that is no route at all.
    assert_eq!(app.get("/api/no-such-thing").await.status(), StatusCode::NOT_FOUND);
    let row = (registrar.clone(), "not_found".to_owned(), "method=GET".to_owned());
    assert_eq!(denials(&app, "/api/no-such-thing").await, vec![row]);
    // A student of another school: the action audits its own refusal, and nothing writes it twice.
    let other = app.public_id("县城甲").await;
    assert_eq!(app.student(&other).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.audit_count("student.view", &other, "denied").await, 1);
    assert!(denials(&app, "/api/students/{id}").await.is_empty());
    let after: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log").fetch_one(&app.db().pool).await.unwrap();
    assert_eq!(after - before, 3);

    // The browser's icon request is not a denial; nobody signed in is not audited (and cannot fill the log).
    assert_eq!(app.get("/favicon.ico").await.status(), StatusCode::NO_CONTENT);
    let anonymous = client();
    let res = anonymous.get(format!("{}/api/no-such-thing", app.base)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(denials(&app, "/api/no-such-thing").await.len(), 1);
    let end: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log").fetch_one(&app.db().pool).await.unwrap();
    assert_eq!(end, after);
}
