//! A real server on a loopback port over a fresh database (a SQLite file, or
//! a new PostgreSQL database when `XUEJI_TEST_DATABASE_URL` names a server),
//! with a small fixture county; one method per endpoint is in `endpoints.rs`.

use chrono::NaiveDate;
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::Executor;
use std::sync::Arc;
use xueji::app::{App, Server};
use xueji::config::Config;
use xueji::db::Db;
use xueji::db::schools::{self, NewSchool};
use xueji::db::users::{self, Role};
use xueji::domain::{Actor, Channel};
use xueji::domain::{Gender, Grade, IdNumber, SchoolKind};
use xueji::roster::{Row, check, read::Sheet};
use xueji::service::{accounts, records};

// The browser test includes these helpers and uses only a few endpoints.
#[allow(unused_imports)]
pub use crate::endpoints::{Answer, Endpoints, Session, sign_in};

/// The password of every fixture account.
pub const PASSWORD: &str = "fixture-password-1";
/// "Today" for every test.
pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 29).unwrap()
}

/// Fixture school codes.
pub const CENTRAL: &str = "2122019001"; // township central primary school
pub const VILLAGE: &str = "2122019002"; // village school whose files the central school holds
pub const TOWN: &str = "2122019003"; // county-town primary school
pub const JUNIOR: &str = "2122019004"; // county-town junior school

/// A running test server.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The server's state (database, settings).
    pub app: Arc<App>,
    /// The client, with its own cookie jar.
    pub client: reqwest::Client,
    /// The CSRF token of the signed-in session.
    pub csrf: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    _database: Scratch,
    _dir: tempfile::TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A test's own database: a SQLite file in its temporary folder, or a
/// PostgreSQL database made for it and dropped when the test ends (thousands of
/// test runs otherwise leave their databases on the server's disk).
pub struct Scratch {
    /// The URL the server connects to.
    pub url: String,
    /// The server's URL and the database's name, for PostgreSQL.
    postgres: Option<(String, String)>,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.postgres.take() else { return };
        // Drop runs inside the test's runtime: the drop gets a thread and a runtime of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                let admin = sqlx::AnyPool::connect(&admin_url).await.ok()?;
                let done = admin.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await.ok();
                admin.close().await;
                done
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            eprintln!("test database was not dropped; `xueji_test_%` databases can be dropped by hand");
        }
    }
}

/// A fresh database: a SQLite file in `dir`, or a new PostgreSQL database.
pub async fn fresh_database(dir: &std::path::Path) -> Scratch {
    match std::env::var("XUEJI_TEST_DATABASE_URL").ok().filter(|u| u.starts_with("postgres")) {
        None => Scratch { url: format!("sqlite://{}", dir.join("test.db").display()), postgres: None },
        Some(base) => {
            sqlx::any::install_default_drivers();
            let name = format!("xueji_test_{}", hex::encode(rand::random::<[u8; 6]>()));
            let admin = sqlx::AnyPool::connect(&base).await.expect("PostgreSQL for tests");
            admin.execute(format!("CREATE DATABASE {name}").as_str()).await.expect("create test database");
            admin.close().await;
            let (prefix, _) = base.rsplit_once('/').expect("URL has a database");
            Scratch { url: format!("{prefix}/{name}"), postgres: Some((base, name)) }
        }
    }
}

/// The archive in an S3-compatible store when `XUEJI_TEST_ARCHIVE_URL` names
/// one (`s3://bucket/prefix?endpoint=…`), under a prefix of the test's own;
/// else `None`, the local folder.
pub fn test_archive_url() -> Option<String> {
    let base = std::env::var("XUEJI_TEST_ARCHIVE_URL").ok().filter(|u| u.starts_with("s3://"))?;
    let mut url = url::Url::parse(&base).expect("XUEJI_TEST_ARCHIVE_URL");
    let own = format!("t-{}", hex::encode(rand::random::<[u8; 6]>()));
    let path = format!("{}/{own}", url.path().trim_end_matches('/'));
    url.set_path(&path);
    Some(url.to_string())
}

/// Starts a server on port 0 over a fresh database with the fixture loaded.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| ()).await
}

/// As [`spawn_app`], with settings changed by `configure` first.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let database = fresh_database(dir.path()).await;
    let mut config = Config::for_data_dir(dir.path().to_path_buf(), Some(database.url.clone()));
    config.today = Some(today());
    config.archive_url = test_archive_url();
    // Text reading runs when a test asks for it (`xueji::ocr::run_one`), not in the background.
    config.ocr = false;
    configure(&mut config);
    let db = Db::connect(&config.database_url).await.unwrap();
    load_fixture(&db).await;
    db.pool.close().await;
    let server = Server::build(config).await.unwrap();
    let base = format!("http://{}", server.local_addr());
    let app = server.app();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run_until(async {
        let _ = rx.await;
    }));
    TestApp { base, app, client: client(), csrf: String::new(), shutdown: Some(tx), _database: database, _dir: dir }
}

/// A client with a cookie jar that does not follow redirects.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// Schools, classes and accounts: a central school holding a village school's
/// files, a county-town primary and a junior school.
pub async fn load_fixture(db: &Db) {
    let mut ids = std::collections::HashMap::new();
    for (code, name, kind, town, central) in [
        (CENTRAL, "测试镇中心小学", SchoolKind::Primary, false, None),
        (VILLAGE, "测试镇村小学", SchoolKind::Primary, false, Some(CENTRAL)),
        (TOWN, "测试县城小学", SchoolKind::Primary, true, None),
        (JUNIOR, "测试县城中学", SchoolKind::Junior, true, None),
    ] {
        let id = schools::insert(
            &db.pool,
            &NewSchool {
                code,
                name,
                kind,
                county_town: town,
                central_school_id: central.map(|c| ids[c]),
                district: "测试",
                address: "",
            },
        )
        .await
        .unwrap();
        ids.insert(code, id);
        let school = schools::by_id(&db.pool, id).await.unwrap().unwrap();
        for grade in kind.grades() {
            schools::insert_class(&db.pool, &school, Grade::new(grade).unwrap(), 1, "", None).await.unwrap();
        }
        // The bureau's plans for this school year's intake and the next: four classes.
        let places = 4 * u32::from(kind.max_class_size());
        let mut conn = db.pool.acquire().await.unwrap();
        let entry = xueji::domain::intake::entry_grade(kind);
        let year = xueji::domain::school_year_start(today());
        for year in [year, year + 1] {
            xueji::db::intake::insert_plan(
                &mut conn,
                id,
                year,
                entry,
                4,
                places,
                "fixture",
                "2026-06-01T08:00:00+08:00",
            )
            .await
            .unwrap();
        }
    }
    users::insert(&db.pool, "admin", "管理员", PASSWORD, Role::BureauAdmin, None).await.unwrap();
    users::insert(&db.pool, "bureau", "学籍科", PASSWORD, Role::BureauStaff, None).await.unwrap();
    for code in [CENTRAL, TOWN, JUNIOR] {
        users::insert(&db.pool, &format!("r{code}"), "学籍管理员", PASSWORD, Role::Registrar, Some(ids[code]))
            .await
            .unwrap();
    }
}

/// A valid roster row for a pupil of `grade`, with an ID made from the birth date and `seq`.
pub fn pupil(name: &str, birth: (i32, u32, u32), seq: u16, grade: u8) -> Row {
    let birth = NaiveDate::from_ymd_opt(birth.0, birth.1, birth.2).unwrap();
    let id = IdNumber::from_parts("220122", birth, seq).unwrap();
    Row {
        name: name.into(),
        gender: id.gender().label().into(),
        birth_date: birth.to_string(),
        ethnicity: "汉族".into(),
        id_type: "居民身份证".into(),
        id_number: id.to_string(),
        household_address: "吉林省长春市农安县测试镇1号".into(),
        current_address: "吉林省长春市农安县测试镇1号".into(),
        guardian1_name: "家长".into(),
        guardian1_relation: "父亲".into(),
        guardian1_phone: format!("138{:08}", u32::from(seq) * 7919 % 100_000_000),
        grade: grade.to_string(),
        class: "1".into(),
        ..Row::default()
    }
}

/// A first-grade pupil (intake 2026): born in 2019-2020 before 1 September 2020.
pub fn first_grader(name: &str, seq: u16) -> Row {
    pupil(name, (2020, 3, 1 + u32::from(seq % 28)), seq, 1)
}

/// Imports rows into a school directly (no HTTP), committing; the records
/// are then submitted by the school's registrar and approved by the bureau,
/// so that they are 在籍 (see [`approve_new_records`]).
pub async fn import_rows(db: &Db, school_code: &str, rows: Vec<Row>) -> check::Report {
    let report = import_pending(db, school_code, rows).await;
    if report.committed {
        approve_new_records(db, school_code).await;
    }
    report
}

/// Imports rows into a school directly (no HTTP): the records stay 待审核.
pub async fn import_pending(db: &Db, school_code: &str, rows: Vec<Row>) -> check::Report {
    let school = schools::by_code(&db.pool, school_code).await.unwrap().unwrap();
    let sheet = Sheet { rows: rows.into_iter().enumerate().map(|(i, r)| (i + 2, r)).collect(), ..Sheet::default() };
    let opts =
        check::Options { dry_run: false, create_classes: false, actor_id: None, today: today(), coverage: coverage() };
    check::import(db, &school, sheet, &opts).await.unwrap()
}

/// The fixture account's actor (as a signed-in session would have it).
pub async fn actor_of(db: &Db, username: &str) -> Actor {
    let user = users::by_username(&db.pool, username).await.unwrap().unwrap_or_else(|| panic!("no account {username}"));
    accounts::actor_for(db, &user, "127.0.0.1", Channel::Api).await.unwrap()
}

/// The registrar holding the school's files submits its 待审核 records and
/// the bureau approves every one (Art. 10 step 6), through the services.
/// Records with an open problem (no ID, suspected duplicate) stay 待审核.
pub async fn approve_new_records(db: &Db, school_code: &str) {
    let school = schools::by_code(&db.pool, school_code).await.unwrap().unwrap();
    let holder = match school.central_school_id {
        Some(id) => schools::by_id(&db.pool, id).await.unwrap().unwrap().code,
        None => school.code.clone(),
    };
    let username = format!("r{holder}");
    if users::by_username(&db.pool, &username).await.unwrap().is_none() {
        // A school a test added has no registrar yet: it gets one, as a county would give it.
        let id = schools::by_code(&db.pool, &holder).await.unwrap().unwrap().id;
        users::insert(&db.pool, &username, "学籍管理员", PASSWORD, Role::Registrar, Some(id)).await.unwrap();
    }
    let registrar = actor_of(db, &username).await;
    let req = records::SubmitRequest { school: school_code.to_owned(), students: Vec::new() };
    match records::submit(db, &registrar, today(), &req).await {
        Ok(_) => {}
        // Every new record has an open problem: they wait (Art. 11).
        Err(e) if e.code() == "record.nothing_to_submit" => return,
        Err(e) => panic!("{e}"),
    }
    let bureau = actor_of(db, "bureau").await;
    let (list, _) = records::awaiting(db, &bureau, Some(school_code)).await.unwrap();
    let decisions: Vec<records::Decision> = list
        .into_iter()
        .map(|r| records::Decision { student: r.summary.public_id, approve: true, reason: String::new() })
        .collect();
    records::review(db, &bureau, today(), &decisions).await.unwrap();
}

/// What the bundled fonts print, read once per test binary (coverage only, no font data kept).
pub fn coverage() -> xueji::render::Coverage {
    static COVERAGE: std::sync::OnceLock<xueji::render::Coverage> = std::sync::OnceLock::new();
    COVERAGE
        .get_or_init(|| {
            let fonts = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fonts");
            xueji::render::Coverage::load(&fonts).expect("bundled fonts")
        })
        .clone()
}

/// Row counts of the tables an import writes.
pub async fn counts(db: &Db) -> (i64, i64, i64, i64) {
    let n = |t: &'static str| async move {
        sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM {t}")).fetch_one(&db.pool).await.unwrap()
    };
    (n("students").await, n("guardians").await, n("student_events").await, n("classes").await)
}

/// Gender helper for tests.
pub fn other_gender(g: &str) -> &'static str {
    if Gender::parse(g).unwrap() == Gender::Male { "女" } else { "男" }
}

impl TestApp {
    /// The database.
    pub fn db(&self) -> &Db {
        &self.app.db
    }

    /// A second server over the same database and data directory (same keys,
    /// same archive) whose "today" is `today`, not signed in: the service as
    /// it runs on a later (or earlier) day. `self` must outlive it.
    pub async fn restart_at(&self, today: NaiveDate) -> TestApp {
        let mut config = self.app.config.clone();
        config.today = Some(today);
        config.bind = "127.0.0.1:0".into();
        config.public_base_url = String::new();
        let server = Server::build(config).await.unwrap();
        let base = format!("http://{}", server.local_addr());
        let app = server.app();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(server.run_until(async {
            let _ = rx.await;
        }));
        // The data directory stays owned by `self`; this one only holds a placeholder.
        TestApp {
            base,
            app,
            client: client(),
            csrf: String::new(),
            shutdown: Some(tx),
            _database: Scratch { url: String::new(), postgres: None },
            _dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Signs in through the API; keeps the cookie and the CSRF token.
    pub async fn login(&mut self, username: &str) -> StatusCode {
        let res = self.sign_in_with(username, PASSWORD).await;
        let status = res.status();
        if status.is_success() {
            let body: Value = res.json().await.unwrap();
            self.csrf = body["csrf"].as_str().unwrap().to_owned();
        }
        status
    }

    /// GET a raw path (for routes that do not exist; every endpoint has its method in `endpoints.rs`).
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(format!("{}{path}", self.base)).send().await.unwrap()
    }

    /// A student's public id by name.
    pub async fn public_id(&self, name: &str) -> String {
        sqlx::query_scalar("SELECT public_id FROM students WHERE name = $1")
            .bind(name)
            .fetch_one(&self.db().pool)
            .await
            .unwrap()
    }

    /// Audit rows for a target and outcome.
    pub async fn audit_count(&self, action: &str, target: &str, outcome: &str) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = $1 AND target_id = $2 AND outcome = $3")
            .bind(action)
            .bind(target)
            .bind(outcome)
            .fetch_one(&self.db().pool)
            .await
            .unwrap()
    }
}

#[path = "../common/pdf.rs"]
mod pdf;
// Not every test binary that includes these helpers uses all of them.
#[allow(unused_imports)]
pub use pdf::{decode_qr, pdftotext, pdftotext_layout, rasterise, rasterise_at};

/// `target/test-artefacts/` beside this test binary (`target/debug/deps/<binary>-…`): screenshots and
/// rendered pages a person can look at after a run.
pub fn artefacts_dir() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let target =
        exe.ancestors().nth(3).map_or_else(|| std::path::PathBuf::from("target"), std::path::Path::to_path_buf);
    let dir = target.join("test-artefacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Asserts a JSON refusal (status and code); gives its message.
pub async fn refused_with(res: reqwest::Response, status: StatusCode, code: &str) -> String {
    let got = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{body}");
    body["message"].as_str().unwrap().to_owned()
}

/// The stored status of the student with this name.
pub async fn status_named(app: &TestApp, name: &str) -> String {
    sqlx::query_scalar("SELECT status FROM students WHERE name = $1")
        .bind(name)
        .fetch_one(&app.db().pool)
        .await
        .unwrap()
}

/// Marks the pupils whose `column` (`public_id`, `name`) is `value` graduated
/// today as the yearly run does (their graduation row, of the stage their
/// grade ends, then the status), without moving the service's calendar to July.
pub async fn graduate_where(db: &Db, column: &str, value: &str) {
    sqlx::query(&format!(
        "INSERT INTO graduations (student_id, school_id, stage, year, graduated_on)
         SELECT id, school_id, CASE WHEN grade <= 6 THEN 'primary' ELSE 'junior' END, $1, $2 FROM students
         WHERE {column} = $3"
    ))
    .bind(i64::from(chrono::Datelike::year(&today())))
    .bind(today().to_string())
    .bind(value)
    .execute(&db.pool)
    .await
    .unwrap();
    sqlx::query(&format!("UPDATE students SET status = 'graduated' WHERE {column} = $1"))
        .bind(value)
        .execute(&db.pool)
        .await
        .unwrap();
}
