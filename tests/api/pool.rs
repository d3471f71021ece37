//! The database pool under load: a request holds one connection at a time,
//! the public verification pages have connections of their own, and a
//! request that finds none free in time is answered 503 with `Retry-After`
//! at once, never after a long hang.

use crate::helpers::*;
use reqwest::StatusCode;

#[tokio::test]
async fn sixteen_staff_requests_at_once_on_four_connections_all_succeed() {
    let mut app = spawn_app_with(|c| c.db_pool_size = Some(4)).await;
    assert!(import_rows(app.db(), TOWN, vec![first_grader("并发甲", 41)]).await.committed);
    assert_eq!(app.login(&format!("r{TOWN}")).await, StatusCode::OK);
    let pid = app.public_id("并发甲").await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let session = app.session();
        let pid = pid.clone();
        tasks.push(tokio::spawn(async move {
            // Lists and record views: each writes an audit row besides its reads.
            let res = if i % 2 == 0 { session.list_students().await } else { session.student(&pid).await };
            res.status()
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), StatusCode::OK);
    }
    assert_eq!(app.audit_count("student.view", &pid, "ok").await, 8);
}

#[tokio::test]
async fn a_request_that_finds_the_pool_exhausted_is_answered_503_with_retry_after() {
    let mut app = spawn_app_with(|c| {
        c.db_pool_size = Some(2);
        c.db_acquire_timeout_ms = 300;
    })
    .await;
    assert!(import_rows(app.db(), TOWN, vec![first_grader("繁忙甲", 42)]).await.committed);
    assert_eq!(app.login(&format!("r{TOWN}")).await, StatusCode::OK);
    let pid = app.public_id("繁忙甲").await;
    assert_eq!(app.document(&pid, "basic_info").await.status(), StatusCode::OK);
    let url: String = sqlx::query_scalar(
        "SELECT d.verify_url FROM documents d JOIN students s ON s.id = d.student_id WHERE s.public_id = $1",
    )
    .bind(&pid)
    .fetch_one(&app.db().pool)
    .await
    .unwrap();

    // Something else holds every staff connection.
    let held = [app.db().pool.acquire().await.unwrap(), app.db().pool.acquire().await.unwrap()];
    let res = app.list_students().await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.headers()["retry-after"], "1");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["code"], "busy");
    let page = app.students_page().await;
    assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(page.headers()["retry-after"], "1");
    assert!(page.text().await.unwrap().contains("服务繁忙"));

    // A parent's verification does not wait for staff connections.
    let verified = reqwest::Client::new().get(&url).send().await.unwrap();
    assert_eq!(verified.status(), StatusCode::OK);
    assert!(verified.text().await.unwrap().contains("<h1>系统签发</h1>"));

    drop(held);
    assert_eq!(app.list_students().await.status(), StatusCode::OK);
}
