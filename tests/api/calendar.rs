//! The working-day calendar kept in the database: seeded from the bundled
//! schedule, deadlines across holidays and make-up days, whole years replaced
//! by the bureau administrator (all or nothing), export, and persistence
//! across a restart.

use crate::helpers::*;
use chrono::NaiveDate;
use reqwest::StatusCode;
use serde_json::Value;
use xueji::app::Server;
use xueji::domain::WorkingCalendar;

/// FICTIONAL TEST DATA, not the State Council's 2027 schedule (which no
/// source had when this was written): a made-up "测试假日" so that uploading
/// a year not yet covered can be checked. 2027-10-01 is a Friday, 09-26 a
/// Sunday and 10-09 a Saturday.
const FICTIONAL_2027: &str = "# 测试用虚构数据，不是国务院办公厅的 2027 年节假日安排\n\
date,kind,name\n\
2027-09-26,workday,测试假日\n\
2027-10-01,holiday,测试假日\n\
2027-10-02,holiday,测试假日\n\
2027-10-03,holiday,测试假日\n\
2027-10-04,holiday,测试假日\n\
2027-10-05,holiday,测试假日\n\
2027-10-06,holiday,测试假日\n\
2027-10-07,holiday,测试假日\n\
2027-10-09,workday,测试假日\n";

/// Rows the bundled schedule seeds: 2024 (36), 2025 (33), 2026 (39).
const SEEDED_ROWS: i64 = 36 + 33 + 39;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.db().pool).await.unwrap()
}

#[tokio::test]
async fn seeded_table_counts_national_day_2026_and_2025_with_make_up_days() {
    let mut app = spawn_app().await;
    assert_eq!(count(&app, "SELECT COUNT(*) FROM calendar_days").await, SEEDED_ROWS);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM calendar_updates WHERE via = 'seed'").await, 3);
    let cal = app.app.calendar();
    assert_eq!(cal.years(), vec![2024, 2025, 2026]);
    assert_eq!(*cal, xueji::calendar::load(app.db()).await.unwrap());

    // 2026: Sunday 09-20 and Saturday 10-10 worked, 10-01..=10-07 off.
    assert!(cal.is_working_day(d("2026-09-20")));
    assert!(cal.is_working_day(d("2026-10-10")));
    assert!((1..=7).all(|day| !cal.is_working_day(d(&format!("2026-10-{day:02}")))));
    // From Monday 2026-09-28: 09-29 (1) 09-30 (2); 10-08 (3) 10-09 (4)
    // Saturday 10-10 (5); 10-12 (6) .. Friday 10-16 (10).
    assert_eq!(cal.add_working_days(d("2026-09-28"), 10), d("2026-10-16"));
    assert_eq!(cal.add_working_days(d("2026-09-28"), 5), d("2026-10-10"));
    assert_eq!(cal.add_working_days(d("2026-09-18"), 1), d("2026-09-20"));

    // 2025: Sunday 09-28 and Saturday 10-11 worked, 10-01..=10-08 off.
    // From Friday 09-26: 09-28 Sun (1) 09-29 (2) 09-30 (3); 10-09 (4)
    // 10-10 (5) 10-11 Sat (6); 10-13 (7) .. Thursday 10-16 (10).
    assert_eq!(cal.add_working_days(d("2025-09-26"), 10), d("2025-10-16"));
    assert_eq!(cal.add_working_days(d("2025-09-26"), 1), d("2025-09-28"));
    assert_eq!(cal.add_working_days(d("2025-10-10"), 1), d("2025-10-11"));
    assert!(!cal.is_working_day(d("2025-10-08")), "Wednesday in the holiday span");

    // The same through the API.
    assert_eq!(app.login("bureau").await, StatusCode::OK);
    let deadline = app.working_day_deadline("2026-09-28", 10).await.json_ok().await;
    assert_eq!(deadline["deadline"], "2026-10-16");
    assert_eq!(deadline["weekday"], "星期五");
    assert_eq!(deadline["covered"], true);
    snap_json!("calendar_deadline", deadline);
    assert_eq!(app.working_day_deadline("2025-09-26", 10).await.json_ok().await["deadline"], "2025-10-16");
    let year: Value = app.calendar_year("2026").await.json().await.unwrap();
    assert_eq!(year["covered"], true);
    assert_eq!(year["days"].as_array().unwrap().len(), 39);
    let national = year["summary"]["holidays"].as_array().unwrap().iter().find(|h| h["name"] == "国庆节").unwrap();
    assert_eq!(national["off"], "10月1日（星期四）至10月7日（星期三）");
    assert_eq!(national["workdays"], "9月20日（星期日）、10月10日（星期六）");
    let saturday = year["days"].as_array().unwrap().iter().find(|day| day["date"] == "2026-10-10").unwrap();
    assert_eq!((saturday["kind"].as_str(), saturday["weekday"].as_str()), (Some("workday"), Some("星期六")));
    snap_json!("calendar_year_2026", year);
}

#[tokio::test]
async fn an_upload_replaces_exactly_its_years_and_changes_deadlines() {
    let mut app = spawn_app().await;
    assert_eq!(app.login("admin").await, StatusCode::OK);
    let before: Value = app.calendar_year("2027").await.json().await.unwrap();
    assert_eq!(before["covered"], false);
    assert_eq!(before["warning"], "2027 年节假日安排尚未录入，期限按周一至周五计算");
    assert_eq!(before["days"].as_array().unwrap().len(), 0);
    snap_json!("calendar_year_not_covered", before);
    // Without 2027 data: Monday to Friday only, with the warning.
    let deadline = app.working_day_deadline("2027-09-24", 10).await.json_ok().await;
    assert_eq!(deadline["deadline"], "2027-10-08");
    assert_eq!(deadline["covered"], false);
    assert!(deadline["warning"].as_str().unwrap().contains("2027 年节假日安排尚未录入"));

    let res = app.upload_calendar(FICTIONAL_2027).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["years"], serde_json::json!([2024, 2025, 2026, 2027]));
    assert_eq!(body["updated"]["years"][0]["year"], 2027);
    assert_eq!(body["updated"]["years"][0]["holidays"], 7);
    assert_eq!(body["updated"]["years"][0]["workdays"], 2);
    assert_eq!(body["updated"]["years"][0]["replaced"], 0);
    snap_json!("calendar_upload_answer", body);

    let after: Value = app.calendar_year("2027").await.json().await.unwrap();
    assert_eq!(after["covered"], true);
    assert_eq!(after["warning"], Value::Null);
    assert_eq!(after["days"].as_array().unwrap().len(), 9);
    // From Friday 2027-09-24: 09-26 Sun (1) 09-27 (2) .. 09-30 (5); 10-01..07
    // off; 10-08 Fri (6) 10-09 Sat (7); 10-11 (8) 10-12 (9) 10-13 Wed (10).
    let deadline = app.working_day_deadline("2027-09-24", 10).await.json_ok().await;
    assert_eq!(deadline["deadline"], "2027-10-13");
    assert_eq!(deadline["covered"], true);
    assert_eq!(app.app.calendar().add_working_days(d("2027-09-24"), 10), d("2027-10-13"));
    // Other years untouched.
    assert_eq!(count(&app, "SELECT COUNT(*) FROM calendar_days").await, SEEDED_ROWS + 9);
    assert_eq!(app.app.calendar().days_in_year(2026), WorkingCalendar::seeded().days_in_year(2026));
    assert_eq!(app.audit_count("calendar.import", "2027", "ok").await, 1);
    let logged: (String, String, String) = sqlx::query_as(
        "SELECT via, username, source FROM calendar_updates WHERE year = 2027 AND updated_by IS NOT NULL",
    )
    .fetch_one(&app.db().pool)
    .await
    .unwrap();
    assert_eq!(logged, ("api".into(), "admin".into(), "test".into()));

    // A second upload of 2027 replaces all nine rows by its one; a file with
    // two years replaces both.
    let res = app.upload_calendar("2027-10-01,holiday,测试假日（虚构）\n").await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["updated"]["years"][0]["replaced"], 9);
    assert_eq!(app.app.calendar().days_in_year(2027).len(), 1);
    assert!(app.app.calendar().is_working_day(d("2027-10-04")));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM calendar_days WHERE date LIKE '2027-%'").await, 1);
    let both = format!("{}\n2026-10-01,holiday,国庆节\n", FICTIONAL_2027);
    let res = app.upload_calendar(&both).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(app.app.calendar().days_in_year(2026).len(), 1);
    assert_eq!(app.app.calendar().days_in_year(2027).len(), 9);
    assert_eq!(app.app.calendar().days_in_year(2025), WorkingCalendar::seeded().days_in_year(2025));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM calendar_updates WHERE via = 'api'").await, 4);
}

#[tokio::test]
async fn bad_files_are_refused_with_their_line_and_change_nothing() {
    let mut app = spawn_app().await;
    assert_eq!(app.login("admin").await, StatusCode::OK);
    let unchanged = |app: &TestApp| {
        let cal = app.app.calendar();
        assert_eq!(cal.years(), vec![2024, 2025, 2026]);
        assert_eq!(cal.days().collect::<Vec<_>>(), WorkingCalendar::seeded().days().collect::<Vec<_>>());
    };

    // Line 4: 2027-10-06 is a Wednesday, already a working day.
    let res = app
        .upload_calendar(
            "date,kind,name\n2027-10-01,holiday,测试\n2026-10-01,holiday,国庆节\n2027-10-06,workday,测试\n",
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "calendar.workday_on_weekday");
    assert_eq!(body["line"], 4);
    assert_eq!(body["value"], "2027-10-06");
    assert!(body["message"].as_str().unwrap().starts_with("节假日安排第4行："), "{body}");
    snap_json!("error_calendar_workday_on_weekday", body);

    // Line 3: no 30 February.
    let res = app.upload_calendar("# 注释\n2027-10-01,holiday,测试\n2027-02-30,holiday,测试\n").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = res.json().await.unwrap();
    assert_eq!((body["code"].as_str(), body["line"].as_u64()), (Some("calendar.bad_date"), Some(3)));
    assert!(body["message"].as_str().unwrap().contains("第3行"), "{body}");

    // Nothing listed; only December of a year the table has earlier dates for.
    let res = app.upload_calendar("date,kind,name\n# 空\n").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "calendar.empty");
    let res = app.upload_calendar("2025-12-27,workday,元旦\n2026-01-01,holiday,元旦\n").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "calendar.partial_year");
    // Binary bytes are not a calendar.
    let res = app
        .client
        .put(format!("{}/api/calendar", app.base))
        .header("x-csrf-token", &app.csrf)
        .body(vec![0x50, 0x4b, 0x03, 0x04, 0x00, 0xff, 0xfe])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "calendar.unreadable");
    // A missing CSRF header.
    let res = app.client.put(format!("{}/api/calendar", app.base)).body(FICTIONAL_2027).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    unchanged(&app);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM calendar_days").await, SEEDED_ROWS);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM calendar_updates").await, 3);
    assert_eq!(xueji::calendar::load(app.db()).await.unwrap(), *app.app.calendar());
    assert_eq!(app.audit_count("calendar.import", "-", "refused").await, 5);
    let year: Value = app.calendar_year("2027").await.json().await.unwrap();
    assert_eq!(year["covered"], false);
    let res = app.calendar_year("abc").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "calendar.bad_year");
    let res = app.working_day_deadline("2026-02-30", 10).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn registrars_are_refused_and_bureau_staff_may_only_read() {
    let mut app = spawn_app().await;
    assert_eq!(app.login(&format!("r{CENTRAL}")).await, StatusCode::OK);
    for (what, res) in [
        ("the page", app.calendar_page().await),
        ("the years", app.calendar().await),
        ("one year", app.calendar_year("2026").await),
        ("the export", app.export_calendar().await),
    ] {
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{what}");
    }
    assert_eq!(app.working_day_deadline("2026-09-28", 10).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.upload_calendar(FICTIONAL_2027).await.status(), StatusCode::FORBIDDEN);
    let page = app.students_page().await.text().await.unwrap();
    assert!(!page.contains("href=\"/calendar\""), "no link for registrars");

    let mut staff = spawn_app().await;
    assert_eq!(staff.login("bureau").await, StatusCode::OK);
    let res = staff.calendar_page().await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert!(page.contains("2027 年节假日安排尚未录入，期限按周一至周五计算"), "warning shown");
    assert!(page.contains("10月1日（星期四）至10月7日（星期三）"), "2026 National Day listed");
    assert!(page.contains("9月20日（星期日）、10月10日（星期六）"), "2026 make-up days listed");
    assert!(!page.contains("enctype=\"multipart/form-data\""), "no upload form for staff");
    assert!(page.contains("href=\"/calendar\""), "nav link for bureau staff");
    snap_page!("page_calendar_staff", page);
    let page = staff.calendar_page_deadline("2026-09-28", 10).await.text().await.unwrap();
    assert!(page.contains("2026-09-28 之后第 10 个工作日：<strong>2026-10-16（星期五）</strong>"), "{page}");
    let page = staff.calendar_page_deadline("2026-12-24", 10).await.text().await.unwrap();
    assert!(page.contains("<strong>2027-01-07（星期四）</strong>"), "{page}");
    assert!(page.contains("2027 年节假日安排尚未录入，期限按周一至周五计算，通知发布后可能变化"), "{page}");
    assert_eq!(staff.upload_calendar(FICTIONAL_2027).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(staff.audit_count("calendar.import", "-", "denied").await, 1);
    assert!(!staff.app.calendar().covers(2027));

    // Staff may export; the file is the seeded schedule and reads back.
    let res = staff.export_calendar().await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = res.text().await.unwrap();
    let exported = WorkingCalendar::parse(&csv).unwrap();
    assert_eq!(exported.days().collect::<Vec<_>>(), WorkingCalendar::seeded().days().collect::<Vec<_>>());
}

#[tokio::test]
async fn an_export_uploaded_back_changes_nothing() {
    let mut app = spawn_app().await;
    assert_eq!(app.login("admin").await, StatusCode::OK);
    let csv = app.export_calendar().await.text().await.unwrap();
    let res = app.upload_calendar(&csv).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    let replaced: Vec<u64> =
        body["updated"]["years"].as_array().unwrap().iter().map(|y| y["replaced"].as_u64().unwrap()).collect();
    assert_eq!(replaced, [36, 33, 39]);
    assert_eq!(app.app.calendar().days().collect::<Vec<_>>(), WorkingCalendar::seeded().days().collect::<Vec<_>>());
    assert_eq!(count(&app, "SELECT COUNT(*) FROM calendar_days").await, SEEDED_ROWS);
}

#[tokio::test]
async fn the_page_upload_checks_csrf_and_the_change_survives_a_restart() {
    let mut app = spawn_app().await;
    assert_eq!(app.login("admin").await, StatusCode::OK);
    let page = app.calendar_page().await.text().await.unwrap();
    assert!(page.contains("2027 年节假日安排尚未录入"));
    assert!(page.contains("enctype=\"multipart/form-data\""), "upload form for the administrator");

    let form = |csrf: &str| {
        reqwest::multipart::Form::new()
            .text("csrf", csrf.to_owned())
            .text("source", "测试用虚构数据")
            .part("file", reqwest::multipart::Part::bytes(FICTIONAL_2027.as_bytes().to_vec()).file_name("2027.csv"))
    };
    let res = app.upload_calendar_form(form("wrong")).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(!app.app.calendar().covers(2027));

    // A refused file re-shows the page with the line, and writes nothing.
    let bad = reqwest::multipart::Form::new()
        .text("csrf", app.csrf.clone())
        .text("text", "date,kind,name\n2027-10-01,holiday,测试\n2027-10-06,workday,测试\n");
    let res = app.upload_calendar_form(bad).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(page.contains("未作任何更改：节假日安排第3行：2027-10-06是星期三"), "{page}");
    assert!(!app.app.calendar().covers(2027));

    let res = app.upload_calendar_form(form(&app.csrf)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert!(page.contains("已更新：2027 年（放假 7 天、调休上班 2 天，替换原有 0 行）"), "{page}");
    assert!(!page.contains("2027 年节假日安排尚未录入"));
    assert!(page.contains("测试用虚构数据"), "source shown in the log");
    assert_eq!(app.app.calendar().add_working_days(d("2027-09-24"), 10), d("2027-10-13"));
    assert_eq!(app.audit_count("calendar.import", "2027", "ok").await, 1);

    // A new server over the same database reads the table, not the bundled
    // file: 2027 is still there, and nothing is seeded twice.
    let server = Server::build(app.app.config.clone()).await.unwrap();
    let restarted = server.app();
    assert!(restarted.calendar().covers(2027));
    assert_eq!(restarted.calendar().add_working_days(d("2027-09-24"), 10), d("2027-10-13"));
    assert_eq!(*restarted.calendar(), *app.app.calendar());
    assert_eq!(count(&app, "SELECT COUNT(*) FROM calendar_updates WHERE via = 'seed'").await, 3);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM calendar_days").await, SEEDED_ROWS + 9);
    restarted.db.pool.close().await;
}

#[tokio::test]
async fn the_command_line_imports_shows_and_exports() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_xueji"))
            .args(args)
            .env("XUEJI_DATABASE_URL", &app.app.config.database_url)
            .env("XUEJI_DATA_DIR", &app.app.config.data_dir)
            .env("XUEJI_TODAY", "2026-11-29")
            .output()
            .unwrap()
    };
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();

    let out = run(&["calendar", "show"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(shown.contains("已录入的年份：2024、2025、2026"), "{shown}");
    assert!(shown.contains("2027 年：2027 年节假日安排尚未录入，期限按周一至周五计算"), "{shown}");

    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "date,kind,name\n2027-10-01,holiday,测试\n2027-13-01,holiday,测试\n").unwrap();
    let out = run(&["calendar", "import", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("节假日安排第3行"), "{}", text(&out.stderr));
    assert!(!xueji::calendar::load(app.db()).await.unwrap().covers(2027));

    let good = dir.path().join("2027.csv");
    std::fs::write(&good, FICTIONAL_2027).unwrap();
    let out = run(&["calendar", "import", good.to_str().unwrap(), "--source", "测试用虚构数据"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("已替换 2027 年：放假 7 天，调休上班 2 天（原有 0 行）"),
        "{}",
        text(&out.stdout)
    );
    // The running service picks the table up on its next refresh.
    assert!(!app.app.calendar().covers(2027));
    assert!(xueji::calendar::refresh(&app.app).await.unwrap());
    assert!(app.app.calendar().covers(2027));
    assert!(!xueji::calendar::refresh(&app.app).await.unwrap());

    let out = run(&["calendar", "show", "--year", "2027"]);
    assert!(out.status.success());
    let shown = text(&out.stdout);
    assert!(shown.contains("测试假日：10月1日（星期五）至10月7日（星期四）放假，共 7 天"), "{shown}");
    assert!(shown.contains("9月26日（星期日）、10月9日（星期六）上班"), "{shown}");

    let exported = dir.path().join("out.csv");
    let out = run(&["calendar", "export", exported.to_str().unwrap()]);
    assert!(out.status.success());
    let cal = WorkingCalendar::parse(&std::fs::read_to_string(&exported).unwrap()).unwrap();
    assert_eq!(cal.years(), vec![2024, 2025, 2026, 2027]);
    assert_eq!(cal.days().collect::<Vec<_>>(), app.app.calendar().days().collect::<Vec<_>>());
    let logged: String = sqlx::query_scalar("SELECT via FROM calendar_updates WHERE year = 2027")
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    assert_eq!(logged, "cli");
}

#[tokio::test]
async fn seeding_adds_only_the_bundled_years_never_written() {
    let mut app = spawn_app().await;
    assert_eq!(app.login("admin").await, StatusCode::OK);
    // Pretend 2025 is new in the bundled file (never written here), and that
    // the bureau wrote 2026 itself before the bundled file had it.
    for sql in [
        "DELETE FROM calendar_days WHERE date LIKE '2025-%' OR date LIKE '2026-%'",
        "DELETE FROM calendar_updates WHERE year IN (2025, 2026)",
    ] {
        sqlx::query(sql).execute(&app.db().pool).await.unwrap();
    }
    let res = app.upload_calendar("2026-10-01,holiday,国庆节（局里录入）\n").await;
    assert_eq!(res.status(), StatusCode::OK);

    assert_eq!(xueji::calendar::seed(app.db()).await.unwrap(), vec![2025]);
    let cal = xueji::calendar::load(app.db()).await.unwrap();
    assert_eq!(cal.days_in_year(2025), WorkingCalendar::seeded().days_in_year(2025));
    assert_eq!(cal.days_in_year(2026).len(), 1, "the bureau's 2026 is kept");
    assert_eq!(cal.days_in_year(2024), WorkingCalendar::seeded().days_in_year(2024));
    // Seeding again does nothing.
    assert_eq!(xueji::calendar::seed(app.db()).await.unwrap(), Vec::<i32>::new());
    assert_eq!(count(&app, "SELECT COUNT(*) FROM calendar_updates WHERE via = 'seed'").await, 2);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM calendar_days").await, 36 + 33 + 1);
}
