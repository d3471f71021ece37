//! Two instances, one state: two `xueji serve` processes on one PostgreSQL
//! database and one S3-compatible bucket (`XUEJI_TEST_DATABASE_URL`,
//! `XUEJI_TEST_S3_URL`), each with its own data directory holding the same
//! signing keys. A batch started on one is followed and downloaded on the
//! other; the first killed mid-batch leaves the job shown as failed on the
//! second; the scheduled fixity run happens once.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::served::{Served, Session, accounts, copy_dir, new_dir, run, xueji};

/// The job id from the page the batch form redirected to.
fn job_of(res: &reqwest::Response) -> String {
    let path = res.url().path().to_owned();
    path.strip_prefix("/batches/").expect("redirected to the job's page").to_owned()
}

async fn job(session: &Session, id: &str) -> Value {
    session.json(&format!("/api/batches/{id}")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_batches_and_run_fixity_once() {
    let (Ok(pg), Ok(s3)) = (std::env::var("XUEJI_TEST_DATABASE_URL"), std::env::var("XUEJI_TEST_S3_URL")) else {
        eprintln!("XUEJI_TEST_DATABASE_URL and XUEJI_TEST_S3_URL are not both set: the two-instance test is skipped");
        return;
    };
    let own = hex::encode(rand::random::<[u8; 6]>());
    let name = format!("xueji_test_{own}_two");
    sqlx::any::install_default_drivers();
    let admin_db = sqlx::AnyPool::connect(&pg).await.expect("PostgreSQL for tests");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&admin_db).await.expect("create database");
    let (prefix, _) = pg.rsplit_once('/').expect("URL has a database");
    let database = format!("{prefix}/{name}");
    let mut bucket = url::Url::parse(&s3).expect("XUEJI_TEST_S3_URL");
    bucket.set_path(&format!("{}/{own}-two", bucket.path().trim_end_matches('/')));
    let env = vec![
        ("XUEJI_DATABASE_URL".to_owned(), database.clone()),
        ("XUEJI_ARCHIVE_URL".to_owned(), bucket.to_string()),
        ("XUEJI_FIXITY_DELAY_MINUTES".to_owned(), "0".to_owned()),
    ];

    let tmp = tempfile::tempdir().expect("temp dir");
    let (one, two) = (new_dir(tmp.path(), "one"), new_dir(tmp.path(), "two"));
    let (code, out) = run(xueji(&one).envs(env.iter().map(|(k, v)| (k, v))).args(["demo", "--students", "3000"]));
    assert_eq!(code, 0, "{out}");
    // The operations guide's step for a second machine: the same keys.
    copy_dir(&one.join("data").join("keys"), &two.join("data").join("keys"));
    let first = Served::start_env(&one, &[], &env);
    let second = Served::start_env(&two, &[], &env);

    let (user, password, ..) = accounts(&one).into_iter().find(|a| a.0 == "admin").expect("admin");
    let on_first = Session::login(&first.base, &user, &password).await;
    let on_second = on_first.on(&second.base);
    let schools = on_first.json("/api/schools").await;
    let mut sizes = Vec::new();
    for s in schools.as_array().expect("schools") {
        let code = s["code"].as_str().expect("code").to_owned();
        let list = on_first.json(&format!("/api/students?school={code}&status=active")).await;
        sizes.push((list["total"].as_i64().expect("total"), code));
    }
    sizes.sort();
    let (size, school) = sizes.last().cloned().expect("a school");
    assert!(size >= 40, "the largest school has {size} pupils");

    // Started on the first, followed and downloaded on the second.
    let res =
        on_first.form("/batches", &[("school", &school), ("kind", "basic_info"), ("grade", "1"), ("class", "")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let id = job_of(&res);
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        let status = job(&on_second, &id).await;
        if status["state"] != "running" || Instant::now() > deadline {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(status["state"], "done", "{status}");
    let res = on_second.get(&format!("/batches/{id}/download")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let pdf = res.bytes().await.expect("file");
    assert!(pdf.starts_with(b"%PDF-"), "one PDF for one grade");

    // The first killed mid-batch: the second shows the job failed, with why.
    let res =
        on_first.form("/batches", &[("school", &school), ("kind", "record_card"), ("grade", ""), ("class", "")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let id = job_of(&res);
    loop {
        let status = job(&on_second, &id).await;
        assert_eq!(status["state"], "running", "the batch ended before the kill: {status}");
        if status["done"].as_i64().is_some_and(|d| d > 0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        let status = job(&on_second, &id).await;
        if status["state"] != "running" || Instant::now() > deadline {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(status["state"], "failed", "{status}");
    assert!(status["error"].as_str().is_some_and(|e| e.contains("中断")), "{status}");
    assert!(status["done"].as_i64().is_some_and(|d| d < size), "{status}");
    let res = on_second.get(&format!("/batches/{id}/download")).await;
    assert_eq!(res.status(), StatusCode::CONFLICT, "no file for a failed job");

    // Both instances started with the fixity check due: it ran once.
    let db = sqlx::AnyPool::connect(&database).await.expect("the county's database");
    let runs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM fixity_runs WHERE started_by = 'schedule'")
        .fetch_one(&db)
        .await
        .expect("fixity runs");
    assert_eq!(runs, 1, "one scheduled fixity run for two instances");
    db.close().await;
    drop(second);
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&admin_db).await.expect("drop");
}
