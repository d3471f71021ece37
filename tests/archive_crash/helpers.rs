//! What every archive test here needs: the fixture county, the binary run
//! as a user runs it, a server on a loopback port, and small checks.

pub(crate) use rand::Rng;
pub(crate) use std::collections::BTreeSet;
pub(crate) use std::io::{Read, Write};
pub(crate) use std::path::{Path, PathBuf};
pub(crate) use std::process::{Command, Stdio};
pub(crate) use std::time::{Duration, Instant};
pub(crate) use xueji::db::Db;
pub(crate) use xueji_archive::{Archive, ArchiveConfig, Digest};

use chrono::NaiveDate;
use xueji::db::schools::{self, NewSchool};
use xueji::domain::{Grade, IdNumber, SchoolKind};
use xueji::roster::{Row, check, read::Sheet};

pub(crate) const EXE: &str = env!("CARGO_BIN_EXE_xueji");
pub(crate) const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// One school, one pupil; returns the database and the pupil's student number.
pub(crate) async fn fixture(dir: &Path) -> (Db, String) {
    let (db, mut nos) = county(dir, 1).await;
    (db, nos.remove(0))
}

/// Given names for the fixture's pupils (one class holds at most 45).
pub(crate) const NAMES: &str = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥春夏秋冬东南西北金木水火土山川日月星云";

/// One school with `pupils` first graders (the same people in every data
/// directory, so two services know them by the same student numbers);
/// returns the database and the student numbers in roster order.
pub(crate) async fn county(dir: &Path, pupils: u16) -> (Db, Vec<String>) {
    let url = format!("sqlite://{}", dir.join("xueji.db").display());
    let db = Db::connect(&url).await.unwrap();
    let id = schools::insert(
        &db.pool,
        &NewSchool {
            code: "2122019003",
            name: "测试县城小学",
            kind: SchoolKind::Primary,
            county_town: true,
            central_school_id: None,
            district: "测试",
            address: "",
        },
    )
    .await
    .unwrap();
    let school = schools::by_id(&db.pool, id).await.unwrap().unwrap();
    schools::insert_class(&db.pool, &school, Grade::new(1).unwrap(), 1, "", None).await.unwrap();
    // The bureau's plan for this school year's intake: one class (Art. 3).
    let mut conn = db.pool.acquire().await.unwrap();
    xueji::db::intake::insert_plan(&mut conn, id, 2026, 1, 1, 45, "fixture", "2026-06-01T08:00:00+08:00")
        .await
        .unwrap();
    drop(conn);
    let birth = NaiveDate::from_ymd_opt(2020, 3, 12).unwrap();
    let rows = (0..pupils)
        .map(|i| {
            let idn = IdNumber::from_parts("220122", birth, 11 + i).unwrap();
            let row = Row {
                name: format!("县城{}", NAMES.chars().nth(usize::from(i)).expect("a name per pupil")),
                gender: idn.gender().label().into(),
                birth_date: birth.to_string(),
                ethnicity: "汉族".into(),
                id_type: "居民身份证".into(),
                id_number: idn.to_string(),
                household_address: "吉林省长春市农安县测试镇1号".into(),
                current_address: "吉林省长春市农安县测试镇1号".into(),
                guardian1_name: "家长".into(),
                guardian1_relation: "父亲".into(),
                guardian1_phone: format!("138000{:05}", 11 + i),
                grade: "1".into(),
                class: "1".into(),
                ..Row::default()
            };
            (usize::from(i) + 2, row)
        })
        .collect();
    let sheet = Sheet { rows, ..Sheet::default() };
    let today = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
    let fonts = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fonts");
    let coverage = xueji::render::Coverage::load(&fonts).unwrap();
    let opts = check::Options { dry_run: false, create_classes: false, actor_id: None, today, coverage };
    let report = check::import(&db, &school, sheet, &opts).await.unwrap();
    assert!(report.committed, "{:?}", report.errors);
    let nos: Vec<String> =
        sqlx::query_scalar("SELECT student_no FROM students ORDER BY id").fetch_all(&db.pool).await.unwrap();
    assert_eq!(nos.len(), usize::from(pupils));
    (db, nos)
}

/// A small well-formed PDF, different for every `salt`.
pub(crate) fn pdf(salt: &str) -> Vec<u8> {
    format!(
        "%PDF-1.4\n% {salt}\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n\
         2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n\
         3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>\nendobj\n\
         trailer\n<< /Root 1 0 R >>\n%%EOF\n"
    )
    .into_bytes()
}

pub(crate) fn xueji(data: &Path) -> Command {
    let mut cmd = Command::new(EXE);
    cmd.env("XUEJI_DATA_DIR", data)
        .env_remove("XUEJI_DATABASE_URL")
        .env("XUEJI_TEMPLATES_DIR", Path::new(ROOT).join("templates"))
        .env("XUEJI_FONTS_DIR", Path::new(ROOT).join("fonts"))
        .env("XUEJI_LOG", "error")
        .env("XUEJI_FIXITY_HOURS", "0");
    cmd
}

/// A `xueji serve` on a loopback port over `data`, killed when dropped.
pub(crate) struct Served {
    child: std::process::Child,
    pub(crate) base: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the server as a user does, with extra settings, and waits for its address.
pub(crate) async fn serve(data: &Path, settings: &[(&str, &str)]) -> Served {
    let mut cmd = xueji(data);
    cmd.args(["serve", "--bind", "127.0.0.1:0"]).stdout(Stdio::piped()).stderr(Stdio::null());
    for (k, v) in settings {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut served = Served { child, base: String::new() };
    let mut line = String::new();
    served.base = loop {
        line.clear();
        assert!(std::io::BufRead::read_line(&mut stdout, &mut line).unwrap() > 0, "server ended");
        if let Some(i) = line.find("http://") {
            let url = line[i..].split_whitespace().next().unwrap_or("");
            break url.trim_end_matches("/login").to_owned();
        }
    };
    served
}

/// Adds a bureau account and signs it in: the client (with its cookie) and the CSRF token.
pub(crate) async fn sign_in(db: &Db, base: &str) -> (reqwest::Client, String) {
    let role = xueji::db::users::Role::BureauStaff;
    xueji::db::users::insert(&db.pool, "bureau", "学籍科", "fixture-password-1", role, None).await.unwrap();
    let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let res = client
        .post(format!("{base}/api/login"))
        .json(&serde_json::json!({"username": "bureau", "password": "fixture-password-1"}))
        .send()
        .await
        .unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    assert_eq!(status, reqwest::StatusCode::OK, "{base}: {text}");
    let login: serde_json::Value = serde_json::from_str(&text).unwrap();
    (client, login["csrf"].as_str().unwrap().to_owned())
}

/// Starts `cmd`, sends it SIGKILL after `ms` milliseconds (a no-op if it
/// already ended), and gives its status and what it wrote before.
pub(crate) fn kill_after(cmd: &mut Command, ms: u64) -> (std::process::ExitStatus, String, String) {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(ms));
    let _ = child.kill();
    let status = child.wait().unwrap();
    let (mut out, mut err) = (String::new(), String::new());
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    (status, out, err)
}

/// A success line of `archive put`: `已存档 <digest> <kind> <n>页 第<v>版 …`.
pub(crate) fn parse_success(line: &str) -> Option<(Digest, u32)> {
    let mut words = line.strip_prefix("已存档 ")?.split(' ');
    let digest = words.next()?.parse().ok()?;
    let version = words.find_map(|w| w.strip_prefix('第')?.strip_suffix('版')?.parse().ok())?;
    Some((digest, version))
}

/// `.tmp-*` files and directories anywhere under `dir`.
pub(crate) fn temps_under(dir: &Path) -> usize {
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name().to_string_lossy().starts_with(".tmp-") {
            n += 1;
        } else if entry.file_type().unwrap().is_dir() {
            n += temps_under(&entry.path());
        }
    }
    n
}

/// Runs a command to its end; its exit code and both outputs.
pub(crate) fn run(cmd: &mut Command) -> (Option<i32>, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `xueji archive verify --json`: exit code and report.
pub(crate) fn verify_json(data: &Path) -> (Option<i32>, serde_json::Value) {
    let (code, out, err) = run(xueji(data).args(["archive", "verify", "--json"]));
    (code, serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}")))
}

pub(crate) fn list_len(report: &serde_json::Value, list: &str) -> usize {
    report[list].as_array().map_or(usize::MAX, Vec::len)
}
