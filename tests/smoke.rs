//! The built binary, run the way the README runs it: a fresh, empty working
//! directory, the default relative `data/`, no settings but a port and a
//! fixed date. `xueji serve --demo`, then what a newcomer does first: sign
//! in as a registrar, upload scans to a dossier, print each of the ten
//! documents, scan a QR code and open its page, try the sample roster and
//! export one; stop the server with SIGTERM; then run commands from another
//! directory with `XUEJI_DATA_DIR` pointing back.
//!
//! Once, every test passed with absolute temporary directories while the
//! README's set-up died on its first upload: this test is the README's.

#[path = "common/pdf.rs"]
mod pdf;

use std::io::{BufRead, BufReader, Cursor};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_xueji");
/// Within the graduation window (1 June - 31 July), so the bureau can run
/// this year's graduation and number the certificates.
const TODAY: &str = "2026-07-10";

/// The binary with none of the `XUEJI_*` settings of the environment the
/// test runs in, but the fixed date; the working directory is `dir`.
fn xueji(dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("XUEJI_") {
            cmd.env_remove(&name);
        }
    }
    cmd.current_dir(dir).env("XUEJI_TODAY", TODAY).env("XUEJI_LOG", "warn");
    cmd
}

/// A running `xueji serve --demo`, stopped with SIGTERM when dropped.
struct Served {
    child: Child,
    base: String,
    /// Every line the server has logged so far.
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Served {
    fn start(dir: &Path) -> Self {
        let mut child = xueji(dir)
            .args(["serve", "--demo", "--bind", "127.0.0.1:0"])
            // Warnings as for the commands, and the request lines (which carry each request's reference).
            .env("XUEJI_LOG", "warn,xueji::http=info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start xueji serve --demo");
        // The log (stderr) is kept to look for lines in, and shown as it comes.
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = log.clone();
        let stderr = BufReader::new(child.stderr.take().expect("stderr"));
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                if !line.contains(" INFO ") {
                    eprintln!("{line}");
                }
                kept.lock().expect("log").push(line);
            }
        });
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        // The server prints its address once it is listening.
        let base = loop {
            let Some(line) = lines.next() else {
                let status = child.wait().expect("wait");
                panic!("xueji serve ended before it was listening: {status}");
            };
            let line = line.expect("stdout line");
            if let Some(at) = line.find("http://") {
                let url = line[at..].split_whitespace().next().expect("url");
                break url.trim_end_matches("/login").to_owned();
            }
        };
        // Keep draining its stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines.by_ref() {});
        Served { child, base, log }
    }

    fn stop(mut self) -> ExitStatus {
        terminate(&self.child);
        let status = wait_with_timeout(&mut self.child, Duration::from_secs(60));
        std::mem::forget(self);
        status
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn terminate(child: &Child) {
    let ok = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().expect("kill");
    assert!(ok.success());
}

fn wait_with_timeout(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        assert!(std::time::Instant::now() < deadline, "the server did not stop within {limit:?} of SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A signed-in client.
struct Session {
    base: String,
    client: reqwest::Client,
    csrf: String,
}

impl Session {
    async fn login(base: &str, username: &str, password: &str) -> Self {
        let client = reqwest::Client::builder().cookie_store(true).build().expect("client");
        let res = client
            .post(format!("{base}/api/login"))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .expect("login");
        assert_eq!(res.status(), StatusCode::OK, "sign in as {username}");
        let body: Value = res.json().await.expect("login answer");
        let csrf = body["csrf"].as_str().expect("csrf").to_owned();
        Session { base: base.to_owned(), client, csrf }
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(format!("{}{path}", self.base)).send().await.expect("GET")
    }

    async fn json(&self, path: &str) -> Value {
        let res = self.get(path).await;
        assert_eq!(res.status(), StatusCode::OK, "GET {path}");
        res.json().await.expect("JSON")
    }

    /// A POST with the CSRF header; it must succeed, and its JSON answer (if any) is returned.
    async fn send(&self, what: &str, request: reqwest::RequestBuilder) -> Value {
        let res = request.header("x-csrf-token", &self.csrf).send().await.expect(what);
        let status = res.status();
        let text = res.text().await.expect("body");
        assert!(status.is_success(), "{what}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    async fn post(&self, path: &str, body: &Value) -> Value {
        self.send(&format!("POST {path}"), self.client.post(format!("{}{path}", self.base)).json(body)).await
    }

    async fn upload(&self, pid: &str, kind: &str, name: &str, bytes: Vec<u8>) -> Value {
        let url = format!("{}/api/students/{pid}/archive", self.base);
        let request = self.client.post(url).query(&[("kind", kind), ("name", name)]).body(bytes);
        let answer = self.send(&format!("upload {name}"), request).await;
        assert!(answer.is_object(), "upload {name} answers its entry: {answer}");
        answer
    }

    /// Prints a document and checks it is a PDF with text in it.
    async fn document(&self, pid: &str, kind: &str) -> Vec<u8> {
        let res = self.get(&format!("/api/students/{pid}/documents/{kind}")).await;
        let status = res.status();
        let bytes = res.bytes().await.expect("PDF").to_vec();
        assert_eq!(status, StatusCode::OK, "{kind}: {}", String::from_utf8_lossy(&bytes));
        assert!(bytes.starts_with(b"%PDF-"), "{kind} is a PDF");
        assert!(!pdf::pdftotext(&bytes).is_empty(), "{kind} has text");
        bytes
    }

    /// The first student of a listing.
    async fn first_student(&self, query: &str) -> Value {
        let list = self.json(&format!("/api/students?{query}")).await;
        list["students"][0].clone()
    }
}

/// `(username, password, role, school name)` from `data/demo-accounts.txt`.
fn accounts(dir: &Path) -> Vec<(String, String, String, String)> {
    let text = std::fs::read_to_string(dir.join("data").join("demo-accounts.txt")).expect("demo accounts");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].to_owned(), f[1].to_owned(), f[2].to_owned(), f.get(3).copied().unwrap_or("-").to_owned())
        })
        .collect()
}

fn jpeg() -> Vec<u8> {
    let img = image::RgbImage::from_fn(640, 480, |x, y| image::Rgb([(x % 251) as u8, (y % 241) as u8, 90]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).expect("jpeg");
    out.into_inner()
}

fn tiff(pages: u32) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    {
        let mut enc = tiff::encoder::TiffEncoder::new(&mut out).expect("tiff encoder");
        for p in 0..pages {
            let data: Vec<u8> = (0..400 * 300 * 3).map(|i: u32| (i.wrapping_mul(p + 3) % 256) as u8).collect();
            enc.write_image::<tiff::encoder::colortype::RGB8>(400, 300, &data).expect("tiff page");
        }
    }
    out.into_inner()
}

fn run(cmd: &mut Command) -> (i32, String) {
    let out = cmd.output().expect("run xueji");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

fn new_dir(parent: &Path, name: &str) -> PathBuf {
    let dir = parent.join(name);
    std::fs::create_dir(&dir).expect("dir");
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newcomer_runs_the_readme() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let work = new_dir(tmp.path(), "fresh");
    let server = Served::start(&work);
    assert!(work.join("data").join("xueji.db").is_file(), "the default data directory is relative: data/");

    let accounts = accounts(&work);
    let (admin_user, admin_pw, ..) = accounts.iter().find(|a| a.0 == "admin").expect("admin").clone();
    let admin = Session::login(&server.base, &admin_user, &admin_pw).await;
    let schools = admin.json("/api/schools").await;
    let junior = schools
        .as_array()
        .expect("schools")
        .iter()
        .find(|s| s["kind"] == "junior")
        .expect("a junior school in the sample county")["code"]
        .as_str()
        .expect("code")
        .to_owned();
    // Registrars are `r<学校标识码>`.
    let (reg_user, reg_pw, ..) =
        accounts.iter().find(|a| a.0 == format!("r{junior}")).expect("the junior school's registrar").clone();
    let registrar = Session::login(&server.base, &reg_user, &reg_pw).await;

    // A page that fails answers the error page in Chinese, with a reference
    // that the server's log line for that request carries.
    let res = registrar.get("/students/no-such-student").await;
    assert_eq!(res.status(), 404);
    let reference = res.headers()["x-request-id"].to_str().expect("reference").to_owned();
    let page = res.text().await.expect("page");
    assert!(
        page.contains("<h1>未找到</h1>") && page.contains(&format!("参考编号：<span id=\"reference\">{reference}"))
    );
    let logged = || server.log.lock().expect("log").iter().any(|l| l.contains(&format!("r={reference}")));
    for _ in 0..50 {
        if logged() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(logged(), "the log line of the request names its reference {reference}");

    // The sample county's records were submitted and approved; the approval
    // pages open for the registrar and the bureau.
    for (who, page) in [(&registrar, "<h1>学籍审核</h1>"), (&admin, "暂无待审核的上报学籍")] {
        let res = who.get("/records").await;
        assert_eq!(res.status(), 200);
        assert!(res.text().await.expect("page").contains(page));
    }
    assert_eq!(admin.json("/api/problems").await.as_array().map(Vec::is_empty), Some(false), "问题学籍 listed");
    // The bureau issued every school's intake plan and drew its catchment area.
    let plans = registrar.json(&format!("/api/schools/{junior}/plans")).await;
    assert!(plans["plans"][0]["plan"]["places"].as_i64().is_some_and(|n| n > 0), "{plans}");
    assert!(registrar.json(&format!("/api/schools/{junior}/district")).await["places"][0].is_string());
    let res = registrar.get("/intake").await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.expect("page").contains("的招生计划"));

    // Scans into a dossier: a JPEG (this once aborted the whole server) and a
    // two-page TIFF.
    let pupil = registrar.first_student("grade=7&status=active").await;
    let pid = pupil["public_id"].as_str().expect("public id").to_owned();
    let first = registrar.upload(&pid, "户口簿复印件", "户口簿.jpg", jpeg()).await;
    assert_eq!(first["version"], 1);
    let second = registrar.upload(&pid, "诊断证明", "诊断证明.tif", tiff(2)).await;
    assert_eq!(second["version"], 2);
    assert_eq!(second["entry"]["pages"], 2, "{second}");
    let dossier = registrar.json(&format!("/api/students/{pid}/archive")).await;
    assert_eq!(dossier["entries"].as_array().map(Vec::len), Some(2), "{dossier}");

    // The documents a grade-7 pupil in school may have.
    for kind in [
        "admission_notice",
        "basic_info",
        "registration",
        "record_card",
        "transfer_application",
        "suspension_application",
    ] {
        registrar.document(&pid, kind).await;
    }

    // A recall notice for a pupil absent for over a week.
    let absent = registrar.first_student("grade=8&status=active").await;
    let absent = absent["public_id"].as_str().expect("public id").to_owned();
    registrar.post(&format!("/api/students/{absent}/dropout/suspected"), &json!({"absent_since": "2026-06-29"})).await;
    registrar
        .post(
            &format!("/api/students/{absent}/recalls"),
            &json!({"contact_person": "周老师", "contact_phone": "043185551234"}),
        )
        .await;
    registrar.document(&absent, "recall_notice").await;

    // The bureau graduates this year's grade 9 and numbers the certificates.
    admin.post("/api/years/graduation/2026", &json!({})).await;
    for kind in ["graduation_certificate", "compulsory_certificate"] {
        let issued = admin.post("/api/certificates/issue", &json!({"school": junior, "kind": kind})).await;
        assert!(!issued["issued"].as_array().expect("issued").is_empty(), "{kind}: {issued}");
    }
    let graduate = registrar.first_student("grade=9&status=graduated").await;
    let gid = graduate["public_id"].as_str().expect("public id").to_owned();
    let certificate = registrar.document(&gid, "graduation_certificate").await;
    registrar.document(&gid, "compulsory_certificate").await;
    let documents = registrar.json(&format!("/api/students/{gid}/documents")).await;
    let number = documents["documents"]
        .as_array()
        .expect("documents")
        .iter()
        .find(|d| d["kind"] == "graduation_certificate")
        .and_then(|d| d["number"].as_str())
        .expect("the graduate's certificate number")
        .to_owned();
    // Handed over, then lost: the bureau replaces it with a 学历证明书 naming its number.
    registrar.post(&format!("/api/certificates/{number}/hand-over"), &json!({"received_by": "家长"})).await;
    admin.post(&format!("/api/certificates/{number}/lost"), &json!({"reason": "遗失"})).await;
    let proof = registrar.document(&gid, "academic_proof").await;
    assert!(pdf::pdftotext(&proof).contains(&number), "the proof names the lost number");

    // A parent scans the certificate's QR code and opens the page.
    let urls = pdf::decode_qr(&certificate);
    assert_eq!(urls.len(), 1, "one QR code on the certificate");
    assert!(urls[0].to_ascii_lowercase().starts_with(&server.base), "{}", urls[0]);
    let page = reqwest::get(&urls[0]).await.expect("verify page");
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.expect("page");
    assert!(page.contains("有效"), "{page}");

    // The sample roster, checked without writing, from the same directory.
    let roster = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples").join("roster-with-mistakes.xlsx");
    let (code, text) =
        run(xueji(&work).arg("import").arg(&roster).args(["--school", "2122012002", "--dry-run", "--create-classes"]));
    assert_eq!(code, 1, "the sample roster has mistakes: {text}");
    assert!(text.contains("第46行") && text.contains("身份证件号"), "{text}");
    assert!(text.contains("未写入任何数据"), "{text}");
    let (code, text) = run(xueji(&work).args(["export", "--school", &junior, "-o", "roster.xlsx"]));
    assert_eq!(code, 0, "{text}");
    assert!(std::fs::read(work.join("roster.xlsx")).expect("export written").starts_with(b"PK"));

    // The load generator against the same server (staff reads only: the
    // verification pages are rate limited per address, as they should be).
    let (code, text) = run(xueji(&work).args(["bench", "load", "--base", &server.base, "--json"]).args([
        "--rate",
        "20",
        "--seconds",
        "2",
        "--staff-share",
        "1",
        "--staff-p99-ms",
        "60000",
    ]));
    assert_eq!(code, 0, "{text}");
    let json_start = text.find('{').expect("a JSON report");
    // The report on stdout comes first; the progress notes on stderr follow it.
    let report: Value = serde_json::Deserializer::from_str(&text[json_start..])
        .into_iter()
        .next()
        .expect("a report")
        .expect("the report is JSON");
    assert_eq!(report["staff"]["requests"], 40, "{report:#}");
    assert_eq!(report["staff"]["statuses"]["200"], 40, "{report:#}");

    // The bureau's numbers on the sample county: the dashboard draws its
    // charts, and every table adds up to its totals and balances.
    let page = admin.get("/statistics").await;
    assert_eq!(page.status(), 200);
    let page = page.text().await.expect("dashboard");
    assert!(page.contains("<svg") && page.contains("班额分布"), "the dashboard's charts");
    let list = admin.json("/api/reports").await;
    let names: Vec<String> = list["reports"]
        .as_array()
        .expect("reports")
        .iter()
        .map(|r| r["name"].as_str().expect("name").to_owned())
        .collect();
    assert!(names.len() >= 10, "{names:?}");
    for name in &names {
        let t = admin.json(&format!("/api/reports/{name}")).await;
        adds_up(&t);
    }
    let grade = admin.json("/api/reports/grade").await;
    let total = grade["rows"].as_array().expect("rows").last().expect("total")["cells"][0].as_u64().expect("count");
    assert!(total > 15_000, "the sample county's enrolment: {total}");

    // SIGTERM: a clean exit.
    let status = server.stop();
    assert!(status.success(), "xueji serve exits cleanly on SIGTERM: {status}");

    // From another directory, with the data directory named.
    let elsewhere = new_dir(tmp.path(), "elsewhere");
    let data = work.join("data");
    let (code, text) = run(xueji(&elsewhere).env("XUEJI_DATA_DIR", &data).args(["archive", "verify"]));
    assert_eq!(code, 0, "{text}");
    let student_no = pupil["student_no"].as_str().expect("student number");
    let (code, text) = run(xueji(&elsewhere).env("XUEJI_DATA_DIR", &data).args([
        "render",
        "registration",
        "--student",
        student_no,
        "-o",
        "form.pdf",
    ]));
    assert_eq!(code, 0, "{text}");
    assert!(std::fs::read(elsewhere.join("form.pdf")).expect("form written").starts_with(b"%PDF-"));
    let (code, text) = run(xueji(&elsewhere).env("XUEJI_DATA_DIR", &data).args(["report", "list"]));
    assert!(code == 0 && text.contains("movement"), "{text}");
    let (code, text) =
        run(xueji(&elsewhere).env("XUEJI_DATA_DIR", &data).args(["report", "run", "class_size", "-o", "class.xlsx"]));
    assert_eq!(code, 0, "{text}");
    assert!(std::fs::read(elsewhere.join("class.xlsx")).expect("table written").starts_with(b"PK"));
    let (code, text) = run(xueji(&elsewhere).env("XUEJI_DATA_DIR", &data).args(["report", "run", "nonesuch"]));
    assert!(code != 0 && text.contains("没有名为“nonesuch”的统计表"), "{text}");
    assert!(!elsewhere.join("data").exists(), "nothing written beside the other directory");
}

/// A table's rows add up to its totals row and its columns to its first,
/// where the definition says they split the population; a movement table
/// balances with no student unaccounted for.
fn adds_up(t: &Value) {
    let rows = t["rows"].as_array().expect("rows");
    let cols = t["columns"].as_array().expect("columns");
    let count = |r: &Value, c: usize| r["cells"][c].as_f64();
    let body: Vec<&Value> = rows.iter().filter(|r| r["total"] == false).collect();
    if t["rows_add_up"] == true
        && let Some(total) = rows.iter().find(|r| r["total"] == true)
    {
        for (c, col) in cols.iter().enumerate() {
            if col["rate"] == true {
                continue;
            }
            let sum: f64 = body.iter().filter_map(|r| count(r, c)).sum();
            assert_eq!(Some(sum), count(total, c), "{}: column {} adds up", t["name"], col["label"]);
        }
    }
    if t["columns_add_up"] == true {
        for r in rows {
            let sum: f64 = (1..cols.len()).filter_map(|c| count(r, c)).sum();
            assert_eq!(Some(sum), count(r, 0), "{}: row {} adds up", t["name"], r["label"]);
        }
    }
    assert_eq!(t["imbalances"], serde_json::json!([]), "{} balances", t["name"]);
}

/// An installed layout, `bin/xueji` beside `share/xueji/{templates,fonts}`,
/// is found from any directory before the source checkout.
#[test]
fn an_installed_layout_finds_its_templates() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let prefix = tmp.path().join("prefix");
    std::fs::create_dir_all(prefix.join("bin")).expect("bin");
    std::fs::create_dir_all(prefix.join("share").join("xueji")).expect("share");
    std::fs::copy(BIN, prefix.join("bin").join("xueji")).expect("copy the binary");
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR"));
    copy_dir(&checkout.join("templates"), &prefix.join("share").join("xueji").join("templates"));
    std::os::unix::fs::symlink(checkout.join("fonts"), prefix.join("share").join("xueji").join("fonts"))
        .expect("fonts");
    let empty = new_dir(tmp.path(), "empty");
    let installed = prefix.join("bin").join("xueji");
    let out = Command::new(&installed)
        .current_dir(&empty)
        .env_clear()
        .args(["templates", "check"])
        .output()
        .expect("run the installed binary");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    let share = std::fs::canonicalize(prefix.join("share").join("xueji").join("templates")).expect("share");
    assert!(text.contains(&share.display().to_string()), "the installed templates are used: {text}");

    // A named directory that holds nothing is an error naming it.
    let out = Command::new(&installed)
        .current_dir(&empty)
        .env_clear()
        .env("XUEJI_TEMPLATES_DIR", &empty)
        .args(["templates", "check"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("XUEJI_TEMPLATES_DIR") && err.contains(&empty.display().to_string()), "{err}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// `xueji init`, then `xueji demo`, as an operator might: the demo keeps the
/// administrator `init` made, and no password reaches the terminal, only
/// `data/demo-accounts.txt` (readable by its owner alone).
#[test]
fn init_then_demo_keeps_the_administrator_and_prints_no_password() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().expect("temp dir");
    let work = new_dir(tmp.path(), "operator");
    let (code, out) = run(xueji(&work).arg("init").env("XUEJI_ADMIN_PASSWORD", "init-password-77"));
    assert_eq!(code, 0, "{out}");
    let (code, out) = run(xueji(&work).args(["demo", "--students", "300"]));
    assert_eq!(code, 0, "{out}");
    let accounts = accounts(&work);
    let admin = accounts.iter().find(|a| a.0 == "admin").expect("admin");
    assert_eq!(admin.1, "（已有账号，密码未改）", "init's administrator is kept");
    assert!(accounts.len() > 3, "{accounts:?}");
    for (user, password, ..) in &accounts {
        assert!(!out.contains(password.as_str()), "{user}'s password was printed: {out}");
    }
    let file = work.join("data").join("demo-accounts.txt");
    let mode = std::fs::metadata(&file).expect("accounts file").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // Loading it again is refused with a clear message, not SQL.
    let (code, out) = run(xueji(&work).args(["demo", "--students", "300"]));
    assert_ne!(code, 0);
    assert!(out.contains("示例县只能载入空数据库"), "{out}");
}
