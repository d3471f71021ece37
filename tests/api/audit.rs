//! The audit log as the services write it: a change and its audit row land
//! in one transaction or not at all, and the command line is audited as the
//! command line.

use crate::archive::png;
use crate::helpers::{Answer, Endpoints, TOWN, TestApp, first_grader, import_rows, spawn_app, today};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::process::Command;
use xueji::db::Backend;

async fn scalar(app: &TestApp, sql: &str, bind: &str) -> i64 {
    sqlx::query_scalar(sql).bind(bind).fetch_one(&app.db().pool).await.unwrap()
}

/// A trap that lets the `ok` audit row of `action` be inserted, then fails
/// the transaction's commit: the row it adds breaks a deferred foreign key,
/// which is only checked at commit.
async fn fail_commit_after_audit_row(app: &TestApp, action: &str) {
    let pool = &app.db().pool;
    let sqlite;
    let postgres;
    let statements: &[&str] = match app.db().backend {
        Backend::Sqlite => {
            &["CREATE TABLE tripwire (user_id INTEGER REFERENCES users (id) DEFERRABLE INITIALLY DEFERRED)", {
                sqlite = format!(
                    "CREATE TRIGGER trip AFTER INSERT ON audit_log
                     WHEN NEW.action = '{action}' AND NEW.outcome = 'ok'
                     BEGIN INSERT INTO tripwire VALUES (-1); END"
                );
                &sqlite
            }]
        }
        Backend::Postgres => &[
            "CREATE TABLE tripwire (user_id BIGINT REFERENCES users (id) DEFERRABLE INITIALLY DEFERRED)",
            "CREATE FUNCTION trip() RETURNS trigger LANGUAGE plpgsql AS
             $$ BEGIN INSERT INTO tripwire VALUES (-1); RETURN NEW; END $$",
            {
                postgres = format!(
                    "CREATE TRIGGER trip AFTER INSERT ON audit_log FOR EACH ROW
                     WHEN (NEW.action = '{action}' AND NEW.outcome = 'ok') EXECUTE FUNCTION trip()"
                );
                &postgres
            },
        ],
    };
    for sql in statements {
        sqlx::query(sql).execute(pool).await.unwrap();
    }
}

#[tokio::test]
async fn a_change_whose_commit_fails_leaves_neither_the_change_nor_its_audit_row() {
    let mut app = spawn_app().await;
    assert!(import_rows(app.db(), TOWN, vec![first_grader("缺课甲", 21)]).await.committed);
    assert_eq!(app.login(&format!("r{TOWN}")).await, StatusCode::OK);
    let pid = app.public_id("缺课甲").await;
    let absent_since = (today() - chrono::Duration::days(10)).to_string();
    let report = json!({"absent_since": absent_since, "note": "连续缺课"});
    let events = "SELECT COUNT(*) FROM student_events e JOIN students s ON s.id = e.student_id WHERE s.public_id = $1";
    let events_before = scalar(&app, events, &pid).await;

    fail_commit_after_audit_row(&app, "student.dropout_suspected").await;
    let res = app.suspect_dropout(&pid, &report).await;
    assert!(!res.status().is_success(), "{}", res.status());
    let status: String = sqlx::query_scalar("SELECT status FROM students WHERE public_id = $1")
        .bind(&pid)
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    assert_eq!(status, "active", "the status change was rolled back with its audit row");
    assert_eq!(scalar(&app, events, &pid).await, events_before, "no event either");
    assert_eq!(app.audit_count("student.dropout_suspected", &pid, "ok").await, 0);
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM tripwire WHERE $1 = $1", "").await, 0);
    let failed = scalar(
        &app,
        "SELECT COUNT(*) FROM audit_log WHERE action = 'student.dropout_suspected' AND outcome <> 'ok' AND target_id = $1",
        &pid,
    )
    .await;
    assert_eq!(failed, 1, "the failure itself is audited, on its own");

    // Without the trap, the same report lands with exactly one `ok` row.
    sqlx::query("DROP TRIGGER trip").execute(&app.db().pool).await.ok();
    sqlx::query("DROP TRIGGER trip ON audit_log").execute(&app.db().pool).await.ok();
    let res = app.suspect_dropout(&pid, &report).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap());
    assert_eq!(app.audit_count("student.dropout_suspected", &pid, "ok").await, 1);
    assert_eq!(scalar(&app, events, &pid).await, events_before + 1);
}

#[tokio::test]
async fn a_print_whose_commit_fails_records_neither_the_document_nor_its_audit_row() {
    let mut app = spawn_app().await;
    assert!(import_rows(app.db(), TOWN, vec![first_grader("打印甲", 22)]).await.committed);
    assert_eq!(app.login(&format!("r{TOWN}")).await, StatusCode::OK);
    let pid = app.public_id("打印甲").await;
    let documents = "SELECT COUNT(*) FROM documents d JOIN students s ON s.id = d.student_id WHERE s.public_id = $1";

    fail_commit_after_audit_row(&app, "document.print").await;
    let res = app.document(&pid, "basic_info").await;
    assert!(!res.status().is_success(), "{}", res.status());
    assert_eq!(scalar(&app, documents, &pid).await, 0, "the document was not recorded");
    assert_eq!(app.audit_count("document.print", &pid, "ok").await, 0);
    assert_eq!(app.audit_count("document.print", &pid, "error").await, 1, "the failure is audited on its own");

    sqlx::query("DROP TRIGGER trip").execute(&app.db().pool).await.ok();
    sqlx::query("DROP TRIGGER trip ON audit_log").execute(&app.db().pool).await.ok();
    let res = app.document(&pid, "basic_info").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(scalar(&app, documents, &pid).await, 1);
    assert_eq!(app.audit_count("document.print", &pid, "ok").await, 1);
}

/// Runs the built binary on the test server's data directory and database,
/// as the operating-system user `operator-7`.
fn xueji(app: &TestApp, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_xueji"))
        .args(args)
        .env("XUEJI_DATA_DIR", &app.app.config.data_dir)
        .env("XUEJI_DATABASE_URL", &app.app.config.database_url)
        .env("XUEJI_TODAY", today().to_string())
        .env("XUEJI_LOG", "warn")
        .env("USER", "operator-7")
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "xueji {args:?}: {text}");
    text
}

async fn audit_rows(app: &TestApp) -> Vec<(String, String, String, String, String)> {
    sqlx::query_as("SELECT action, username, via, client, outcome FROM audit_log ORDER BY id")
        .fetch_all(&app.db().pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn every_command_line_action_writes_one_audit_row() {
    let mut app = spawn_app().await;
    assert!(import_rows(app.db(), TOWN, vec![first_grader("命令甲", 31)]).await.committed);
    assert_eq!(app.login(&format!("r{TOWN}")).await, StatusCode::OK);
    let pid = app.public_id("命令甲").await;
    let no: String = sqlx::query_scalar("SELECT student_no FROM students WHERE public_id = $1")
        .bind(&pid)
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    let res = app.upload_scan(&pid, "kind=household_register&name=scan.png", png(60, 40, 3)).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let digest = res.json::<Value>().await.unwrap()["entry"]["digest"].as_str().unwrap().to_owned();
    let out = tempfile::tempdir().unwrap();
    let file = |name: &str| out.path().join(name).display().to_string();
    std::fs::write(file("2031.csv"), "date,kind,name\n2031-01-01,holiday,元旦\n").unwrap();

    for (args, action) in [
        (vec!["export", "--school", TOWN, "-o", &file("roster.csv")], "roster.export"),
        (vec!["render", "basic_info", "--student", &no, "-o", &file("basic.pdf")], "document.print"),
        (vec!["archive", "get", "--student", &no, "--digest", &digest, "-o", &file("scan.png")], "archive.download"),
        (vec!["calendar", "import", &file("2031.csv"), "--source", "测试"], "calendar.import"),
        (
            vec!["certificates", "allocate", "--kind", "graduation_certificate", "--year", "2031"],
            "certificate.allocate",
        ),
        (vec!["certificates", "list", "--state", "allocated"], "certificate.list"),
    ] {
        let before = audit_rows(&app).await.len();
        xueji(&app, &args);
        let rows = audit_rows(&app).await;
        assert_eq!(rows.len(), before + 1, "{action}: one row, {:?}", &rows[before..]);
        let row = &rows[before];
        assert_eq!(
            (row.0.as_str(), row.1.as_str(), row.2.as_str(), row.3.as_str(), row.4.as_str()),
            (action, "cli:operator-7", "cli", "local", "ok"),
        );
    }
    assert!(std::fs::read_to_string(file("roster.csv")).unwrap().contains("命令甲"));
    assert_eq!(std::fs::read(file("scan.png")).unwrap(), png(60, 40, 3));

    // Staff rows say how they came in.
    let login = audit_rows(&app).await.into_iter().find(|r| r.0 == "auth.login").unwrap();
    assert_eq!((login.1.as_str(), login.2.as_str()), (format!("r{TOWN}").as_str(), "api"));
}

/// `xueji audit verify` on the test server's database: its exit code and output.
fn audit_verify(app: &TestApp) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_xueji"))
        .args(["audit", "verify"])
        .env("XUEJI_DATA_DIR", &app.app.config.data_dir)
        .env("XUEJI_DATABASE_URL", &app.app.config.database_url)
        .env("XUEJI_LOG", "warn")
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

#[tokio::test]
async fn audit_verify_finds_a_changed_a_removed_and_a_cut_off_row() {
    let mut app = spawn_app().await;
    assert!(import_rows(app.db(), TOWN, vec![first_grader("链甲", 51)]).await.committed);
    assert_eq!(app.login(&format!("r{TOWN}")).await, StatusCode::OK);
    let pid = app.public_id("链甲").await;
    for _ in 0..3 {
        assert_eq!(app.student(&pid).await.status(), StatusCode::OK);
    }
    let absent_since = (today() - chrono::Duration::days(10)).to_string();
    let report = json!({"absent_since": absent_since, "note": "连续缺课"});
    assert_eq!(
        app.suspect_dropout(&pid, &report).await.status(),
        StatusCode::OK,
        "a change audited in its transaction"
    );
    assert_eq!(app.student(&pid).await.status(), StatusCode::OK);
    let (code, out) = audit_verify(&app);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("审计日志完整"), "{out}");

    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM audit_log ORDER BY id").fetch_all(&app.db().pool).await.unwrap();
    assert!(ids.len() >= 6, "{ids:?}");
    let pool = &app.db().pool;

    // A row changed is found, by its id; put back, the chain is whole again.
    let changed = ids[2];
    sqlx::query("UPDATE audit_log SET outcome = 'denied' WHERE id = $1").bind(changed).execute(pool).await.unwrap();
    let (code, out) = audit_verify(&app);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains(&format!("记录 {changed}")) && out.contains("被修改"), "{out}");
    sqlx::query("UPDATE audit_log SET outcome = 'ok' WHERE id = $1").bind(changed).execute(pool).await.unwrap();
    assert_eq!(audit_verify(&app).0, 0);

    // The last row cut off: the head still remembers it.
    let last = *ids.last().unwrap();
    sqlx::query("DELETE FROM audit_log WHERE id = $1").bind(last).execute(pool).await.unwrap();
    let (code, out) = audit_verify(&app);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("末尾"), "{out}");

    // A row removed from the middle: the next row names the gap.
    sqlx::query("DELETE FROM audit_log WHERE id = $1").bind(ids[1]).execute(pool).await.unwrap();
    let (code, out) = audit_verify(&app);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains(&format!("记录 {}", ids[2])) && out.contains("前一条"), "{out}");
}

#[tokio::test]
async fn the_bureau_administrator_searches_the_audit_log_and_the_search_is_audited() {
    let mut app = spawn_app().await;
    assert!(import_rows(app.db(), TOWN, vec![first_grader("查日志甲", 52)]).await.committed);
    assert_eq!(app.login(&format!("r{TOWN}")).await, StatusCode::OK);
    let pid = app.public_id("查日志甲").await;
    for _ in 0..2 {
        assert_eq!(app.student(&pid).await.status(), StatusCode::OK);
    }
    // A registrar may not read the log; the attempt is in it.
    assert_eq!(app.audit_log("").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.audit_count("audit.search", "-", "denied").await, 1);

    let admin = crate::endpoints::sign_in(&app, "admin").await;
    let found = admin.audit_log(&format!("action=student.view&target={pid}")).await.json_ok().await;
    assert_eq!(found["total"], 2, "{found}");
    let entries = found["entries"].as_array().unwrap();
    assert!(entries.iter().all(|e| e["action"] == "student.view" && e["username"] == format!("r{TOWN}")));
    let by_prefix = admin.audit_log(&format!("action=student&target={pid}")).await.json_ok().await;
    assert_eq!(by_prefix["total"], 2, "student finds student.view: {by_prefix}");
    let denied = admin.audit_log("outcome=denied&action=audit.search").await.json_ok().await;
    assert_eq!(denied["total"], 1);
    let today = chrono::Utc::now().date_naive();
    let later = admin.audit_log(&format!("from={}", today.succ_opt().unwrap())).await.json_ok().await;
    assert_eq!(later["total"], 0, "nothing is stamped tomorrow");
    let within = admin.audit_log(&format!("from={today}&to={today}&target={pid}")).await.json_ok().await;
    assert_eq!(within["total"], 3, "the two views and the bureau's approval of the record: {within}");

    let page = admin.audit_page(&format!("action=student.view&target={pid}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("审计日志") && html.contains("共 2 条") && html.contains(&pid), "{html}");
    assert_eq!(app.audit_count("audit.search", "-", "ok").await, 6);
}
