//! The archive under abuse, through the real binary:
//!
//! - a child `xueji archive put` is killed with SIGKILL at random moments,
//!   200 times; afterwards `xueji archive verify` finds no changed or
//!   missing object, no temp file was taken for an object, every put that
//!   reported success is in the manifests, the objects and the database,
//!   and the database never runs ahead of the manifests;
//! - a `xueji serve` with a 1 MiB limit stops a chunked upload that grows
//!   past it while streaming, and stores nothing.

use chrono::NaiveDate;
use rand::Rng;
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use xueji::db::Db;
use xueji::db::schools::{self, NewSchool};
use xueji::domain::{Grade, IdNumber, SchoolKind};
use xueji::roster::{Row, check, read::Sheet};
use xueji_archive::{Archive, ArchiveConfig, Digest, ObjectStore};

const EXE: &str = env!("CARGO_BIN_EXE_xueji");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// One school, one pupil; returns the database and the pupil's student number.
async fn fixture(dir: &Path) -> (Db, String) {
    let (db, mut nos) = county(dir, 1).await;
    (db, nos.remove(0))
}

/// Given names for the fixture's pupils (one class holds at most 45).
const NAMES: &str = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥春夏秋冬东南西北金木水火土山川日月星云";

/// One school with `pupils` first graders (the same people in every data
/// directory, so two services know them by the same student numbers);
/// returns the database and the student numbers in roster order.
async fn county(dir: &Path, pupils: u16) -> (Db, Vec<String>) {
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
fn pdf(salt: &str) -> Vec<u8> {
    format!(
        "%PDF-1.4\n% {salt}\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n\
         2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n\
         3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>\nendobj\n\
         trailer\n<< /Root 1 0 R >>\n%%EOF\n"
    )
    .into_bytes()
}

fn xueji(data: &Path) -> Command {
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
struct Served {
    child: std::process::Child,
    base: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the server as a user does, with extra settings, and waits for its address.
async fn serve(data: &Path, settings: &[(&str, &str)]) -> Served {
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
async fn sign_in(db: &Db, base: &str) -> (reqwest::Client, String) {
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
fn kill_after(cmd: &mut Command, ms: u64) -> (std::process::ExitStatus, String, String) {
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
fn parse_success(line: &str) -> Option<(Digest, u32)> {
    let mut words = line.strip_prefix("已存档 ")?.split(' ');
    let digest = words.next()?.parse().ok()?;
    let version = words.find_map(|w| w.strip_prefix('第')?.strip_suffix('版')?.parse().ok())?;
    Some((digest, version))
}

/// `.tmp-*` files and directories anywhere under `dir`.
fn temps_under(dir: &Path) -> usize {
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

#[tokio::test]
async fn puts_killed_at_random_moments_lose_nothing_that_was_reported() {
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let (db, no) = fixture(&data).await;
    let scans = tmp.path().join("scans");
    std::fs::create_dir_all(&scans).unwrap();
    let shared = scans.join("shared.pdf");
    std::fs::write(&shared, pdf("shared by every run")).unwrap();

    // How long one uncontested run takes, to spread the kills over it.
    let warm = Instant::now();
    let f = scans.join("warm.pdf");
    std::fs::write(&f, pdf("warm-up")).unwrap();
    let out = xueji(&data).args(["archive", "put", "--student", &no, "--kind", "other"]).arg(&f).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let one_run = warm.elapsed();
    let mut reported: Vec<(Digest, u32)> =
        String::from_utf8_lossy(&out.stdout).lines().filter_map(parse_success).collect();
    assert_eq!(reported.len(), 1);

    let mut rng = rand::rng();
    let window = (one_run.as_millis() as u64 * 3).clamp(30, 400);
    let mut completed_runs = 0;
    for i in 0..200 {
        let mut files: Vec<PathBuf> = (0..3)
            .map(|j| {
                let p = scans.join(format!("run{i}-{j}.pdf"));
                std::fs::write(&p, pdf(&format!("run {i} file {j}"))).unwrap();
                p
            })
            .collect();
        files.insert(1, shared.clone());
        let mut put = xueji(&data);
        put.args(["archive", "put", "--student", &no, "--kind", "other"]).args(&files);
        let (status, out, _) = kill_after(&mut put, rng.random_range(0..window));
        completed_runs += usize::from(status.success());
        // Only whole lines count: a line cut by the kill was not a report.
        let whole = out.rsplit_once('\n').map_or("", |(w, _)| w);
        reported.extend(whole.lines().filter_map(parse_success));
    }
    assert!(reported.len() > 20, "too few puts got through: {} (window {window} ms)", reported.len());
    assert!(completed_runs < 200, "no run was interrupted");

    // The fixity check: nothing changed or missing, nothing stray.
    let out = xueji(&data).args(["archive", "verify", "--json"]).output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    for list in ["changed", "missing", "stray", "stale_temps", "unreadable", "index_ahead"] {
        assert_eq!(report[list].as_array().map(Vec::len), Some(0), "{list}: {report:#}");
    }

    // No temp file was taken for an object: every file in a fan-out
    // directory is named by its own digest, every leftover is a temp name.
    let archive = Archive::open(data.join("archive"), ArchiveConfig::default()).unwrap();
    let objects = archive.store().list().unwrap();
    let mut temps = 0usize;
    for entry in std::fs::read_dir(archive.store().objects_dir()).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(".tmp-") {
            temps += 1;
            continue;
        }
        assert!(entry.file_type().unwrap().is_dir(), "{name}");
        for obj in std::fs::read_dir(entry.path()).unwrap() {
            let obj = obj.unwrap();
            let obj_name = obj.file_name().to_string_lossy().into_owned();
            if obj_name.starts_with(".tmp-") {
                temps += 1;
                continue;
            }
            let digest: Digest = obj_name.parse().unwrap();
            assert_eq!(Digest::of(&std::fs::read(obj.path()).unwrap()), digest);
        }
    }
    assert_eq!(report["objects_checked"].as_u64(), Some(objects.len() as u64));
    // Temps left by the kills (objects and manifests) are counted as such.
    let all_temps = temps_under(&data.join("archive"));
    assert!(all_temps >= temps);
    assert_eq!(report["temps_in_progress"].as_u64(), Some(all_temps as u64), "{report:#}");

    // Every reported put is in its manifest version, in the objects and in the database.
    let student = xueji::dossier::student_by_no(&db, &no).await.unwrap().unwrap();
    let dossier = xueji::dossier::dossier_of(&db, student.id).await.unwrap().unwrap();
    let history = archive.history(&dossier.archive_id).unwrap();
    let latest = history.last().unwrap().version;
    let indexed: Vec<String> =
        sqlx::query_scalar("SELECT digest FROM archive_entries WHERE dossier_id = $1 ORDER BY position")
            .bind(dossier.id)
            .fetch_all(&db.pool)
            .await
            .unwrap();
    let indexed_set: BTreeSet<&str> = indexed.iter().map(String::as_str).collect();
    for (digest, version) in &reported {
        assert!(archive.store().exists(digest).unwrap(), "object {digest} missing");
        let m = &history[*version as usize - 1];
        assert!(m.entries.iter().any(|e| e.digest == *digest), "{digest} not in v{version}");
        assert!(indexed_set.contains(digest.to_hex().as_str()), "{digest} not indexed");
    }
    // The database never runs ahead of the manifests, and matches the version it names.
    assert!(dossier.versions <= i64::from(latest), "index v{} ahead of archive v{latest}", dossier.versions);
    let at_index: Vec<String> =
        history[dossier.versions as usize - 1].entries.iter().map(|e| e.digest.to_hex()).collect();
    assert_eq!(indexed, at_index);
    // Every object in a manifest exists (verify said so) and after a reindex
    // the index is exactly the newest manifest.
    let out = xueji(&data).args(["archive", "reindex"]).output().unwrap();
    assert!(out.status.success());
    let indexed: Vec<String> =
        sqlx::query_scalar("SELECT digest FROM archive_entries WHERE dossier_id = $1 ORDER BY position")
            .bind(dossier.id)
            .fetch_all(&db.pool)
            .await
            .unwrap();
    let newest: Vec<String> = history.last().unwrap().entries.iter().map(|e| e.digest.to_hex()).collect();
    assert_eq!(indexed, newest);
    // The shared file is one object, however many times it was put.
    let shared_digest = Digest::of(&pdf("shared by every run"));
    assert_eq!(objects.iter().filter(|d| **d == shared_digest).count(), 1);
    // The CLI's runs are audited as the command line, under the operating-system user.
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE via = 'cli' AND username LIKE 'cli:%' AND action = 'archive.upload'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(audited as usize >= reported.len());
    eprintln!(
        "{} puts reported, {} objects, {} versions, {} temps left, {completed_runs} runs completed, {:?}",
        reported.len(),
        objects.len(),
        latest,
        temps,
        started.elapsed()
    );
}

#[tokio::test]
async fn a_body_growing_past_the_limit_is_stopped_while_streaming() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let (db, _) = fixture(&data).await;
    let pid: String = sqlx::query_scalar("SELECT public_id FROM students").fetch_one(&db.pool).await.unwrap();
    let server = serve(&data, &[("XUEJI_ARCHIVE_MAX_MB", "1")]).await;
    let (client, csrf) = sign_in(&db, &server.base).await;
    let base = server.base.clone();
    // Under the limit: stored.
    let res = client
        .post(format!("{base}/api/students/{pid}/archive?kind=other&name=a.pdf"))
        .header("x-csrf-token", &csrf)
        .body(pdf("small"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::CREATED);

    // Three MiB, chunked (no Content-Length): stopped once past one MiB.
    let cookie = {
        let res = reqwest::Client::new()
            .post(format!("{base}/api/login"))
            .json(&serde_json::json!({"username": "bureau", "password": "fixture-password-1"}))
            .send()
            .await
            .unwrap();
        let c = res.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
        let body: serde_json::Value = res.json().await.unwrap();
        (c, body["csrf"].as_str().unwrap().to_owned())
    };
    let addr = base.trim_start_matches("http://").to_owned();
    let path = format!("/api/students/{pid}/archive?kind=other&name=big.pdf");
    let answer = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut w = s.try_clone().unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nCookie: {}\r\nX-CSRF-Token: {}\r\nTransfer-Encoding: chunked\r\n\r\n",
            cookie.0, cookie.1
        );
        let writer = std::thread::spawn(move || {
            let mut sent = 0usize;
            let mut chunk = b"%PDF-1.4\n".to_vec();
            chunk.resize(64 * 1024, b' ');
            let _ = w.write_all(head.as_bytes());
            for _ in 0..48 {
                if w.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).is_err()
                    || w.write_all(&chunk).is_err()
                    || w.write_all(b"\r\n").is_err()
                {
                    break;
                }
                sent += chunk.len();
            }
            let _ = w.write_all(b"0\r\n\r\n");
            sent
        });
        let mut buf = [0u8; 1024];
        let answer = match s.read(&mut buf) {
            Ok(n) => String::from_utf8_lossy(&buf[..n]).into_owned(),
            Err(e) => format!("connection error: {e}"),
        };
        let _ = s.shutdown(std::net::Shutdown::Both);
        (answer, writer.join().unwrap())
    })
    .await
    .unwrap();
    eprintln!("answer: {:?}, sent {} bytes", answer.0.lines().next(), answer.1);
    // The client sees the 413, or a reset if the server closed first.
    assert!(answer.0.starts_with("HTTP/1.1 413") || answer.0.starts_with("connection error"), "{answer:?}");
    let refused: String = sqlx::query_scalar(
        "SELECT detail FROM audit_log WHERE action = 'archive.upload' AND outcome = 'refused' ORDER BY id DESC",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(refused, "code=archive.too_large");
    let archive = Archive::open(data.join("archive"), ArchiveConfig::default()).unwrap();
    assert_eq!(archive.store().list().unwrap().len(), 1);
    let temps = std::fs::read_dir(archive.store().objects_dir())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with(".tmp-"))
        .count();
    assert_eq!(temps, 0);
    let versions: i64 = sqlx::query_scalar("SELECT versions FROM dossiers").fetch_one(&db.pool).await.unwrap();
    assert_eq!(versions, 1);
}

/// Runs a command to its end; its exit code and both outputs.
fn run(cmd: &mut Command) -> (Option<i32>, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `xueji archive verify --json`: exit code and report.
fn verify_json(data: &Path) -> (Option<i32>, serde_json::Value) {
    let (code, out, err) = run(xueji(data).args(["archive", "verify", "--json"]));
    (code, serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}")))
}

fn list_len(report: &serde_json::Value, list: &str) -> usize {
    report[list].as_array().map_or(usize::MAX, Vec::len)
}

#[tokio::test]
async fn verify_names_every_fault_by_path_and_sweep_clears_what_crashes_left() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let (db, no) = fixture(&data).await;
    let scans = tmp.path().join("scans");
    std::fs::create_dir_all(&scans).unwrap();
    let (kept, lost) = (scans.join("kept.pdf"), scans.join("lost.pdf"));
    std::fs::write(&kept, pdf("kept")).unwrap();
    std::fs::write(&lost, pdf("lost")).unwrap();
    let (code, _, err) =
        run(xueji(&data).args(["archive", "put", "--student", &no, "--kind", "other"]).arg(&kept).arg(&lost));
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(verify_json(&data).0, Some(0));

    let archive = Archive::open(data.join("archive"), ArchiveConfig::default()).unwrap();
    let two_hours_ago = std::time::SystemTime::now() - Duration::from_secs(7200);
    let old = |path: &Path| std::fs::File::open(path).unwrap().set_modified(two_hours_ago).unwrap();
    // A stray file among the dossiers, an object no version names, an object the index names deleted,
    // a temp file and a staging directory that crashes left.
    std::fs::write(archive.manifests().dir().join("notes.txt"), b"?").unwrap();
    let orphan = archive.ingest(&mut &pdf("orphan")[..], "orphan.pdf").unwrap().digest;
    old(&archive.store().object_path(&orphan));
    let lost_digest = Digest::of(&pdf("lost"));
    std::fs::remove_file(archive.store().object_path(&lost_digest)).unwrap();
    let temp = archive.store().objects_dir().join(".tmp-crashed");
    std::fs::write(&temp, vec![0u8; 4096]).unwrap();
    old(&temp);
    let bag = archive.root().join("staging").join(".tmp-bag-crashed");
    std::fs::create_dir_all(&bag).unwrap();
    std::fs::write(bag.join("part"), b"x").unwrap();
    old(&bag.join("part"));
    old(&bag);

    let (code, report) = verify_json(&data);
    assert_eq!(code, Some(3), "{report:#}");
    let rel = |p: &Path| p.strip_prefix(archive.root()).unwrap().display().to_string();
    assert_eq!(report["stray"], serde_json::json!(["dossiers/notes.txt"]));
    assert_eq!(report["unreferenced"], serde_json::json!([rel(&archive.store().object_path(&orphan))]));
    assert_eq!(report["missing"][0]["digest"], lost_digest.to_hex());
    let dossier: String = sqlx::query_scalar("SELECT archive_id FROM dossiers").fetch_one(&db.pool).await.unwrap();
    assert_eq!(report["index_missing"], serde_json::json!([[dossier, lost_digest.to_hex()]]));
    let mut stale = vec![rel(&temp), rel(&bag)];
    stale.sort();
    assert_eq!(report["stale_temps"], serde_json::json!(stale));
    // The human report names them too.
    let (code, text, _) = run(xueji(&data).args(["archive", "verify"]));
    assert_eq!(code, Some(3));
    for needle in ["dossiers/notes.txt", &orphan.to_hex(), &lost_digest.to_hex(), ".tmp-crashed"] {
        assert!(text.contains(needle), "{needle} not in {text}");
    }

    // The sweep: a dry run removes nothing; then temps go, unreferenced objects only when asked.
    let (code, out, err) = run(xueji(&data).args(["archive", "sweep", "--dry-run", "--json"]));
    assert_eq!(code, Some(0), "{err}");
    let dry: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(dry["temps_removed"], serde_json::json!(stale));
    assert!(temp.exists() && bag.exists());
    let (code, out, _) = run(xueji(&data).args(["archive", "sweep", "--json"]));
    assert_eq!(code, Some(0));
    let swept: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(swept["temps_removed"], serde_json::json!(stale));
    assert_eq!(swept["bytes_freed"], 4096 + 1);
    assert!(!temp.exists() && !bag.exists());
    assert!(archive.store().exists(&orphan).unwrap(), "unreferenced objects stay unless asked for");
    let (code, out, _) = run(xueji(&data).args(["archive", "sweep", "--unreferenced", "--json"]));
    assert_eq!(code, Some(0));
    let swept: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(swept["objects_removed"], serde_json::json!([rel(&archive.store().object_path(&orphan))]));
    assert!(!archive.store().exists(&orphan).unwrap());
    assert!(archive.store().exists(&Digest::of(&pdf("kept"))).unwrap());

    // What is left is what no sweep may mend: the stray file and the lost object.
    let (code, report) = verify_json(&data);
    assert_eq!(code, Some(3));
    assert_eq!((list_len(&report, "stale_temps"), list_len(&report, "unreferenced")), (0, 0), "{report:#}");
    assert_eq!((list_len(&report, "stray"), list_len(&report, "missing")), (1, 1), "{report:#}");
    let sweeps: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'archive.sweep' AND via = 'cli'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(sweeps, 3);
}

#[tokio::test]
async fn imports_killed_at_random_moments_are_finished_once_never_half_or_twice() {
    const PUPILS: u16 = 40;
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let (sender, receiver) = (tmp.path().join("sender"), tmp.path().join("receiver"));
    std::fs::create_dir_all(&sender).unwrap();
    std::fs::create_dir_all(&receiver).unwrap();
    let (_, nos) = county(&sender, PUPILS).await;
    let (db, nos_here) = county(&receiver, PUPILS).await;
    assert_eq!(nos, nos_here);
    let (keys, _) = xueji::verify::KeyStore::init(sender.join("keys")).unwrap();
    xueji::verify::KeyStore::init(receiver.join("keys")).unwrap();
    let trusted = receiver.join(xueji::dossier::TRUSTED_KEYS_DIR);
    std::fs::create_dir_all(&trusted).unwrap();
    std::fs::write(trusted.join("sender.json"), keys.public_key_set().to_string()).unwrap();

    // Every pupil's dossier at the sender: two versions (a scan of their own, then one all share).
    let scans = tmp.path().join("scans");
    std::fs::create_dir_all(&scans).unwrap();
    let shared = scans.join("shared.pdf");
    std::fs::write(&shared, pdf("shared by every pupil")).unwrap();
    let mut packages = Vec::new();
    for (i, no) in nos.iter().enumerate() {
        let own = scans.join(format!("own{i}.pdf"));
        std::fs::write(&own, pdf(&format!("pupil {i}"))).unwrap();
        let (code, _, err) =
            run(xueji(&sender).args(["archive", "put", "--student", no, "--kind", "other"]).arg(&own).arg(&shared));
        assert_eq!(code, Some(0), "{err}");
        let package = tmp.path().join(format!("package{i}.zip"));
        let (code, _, err) = run(xueji(&sender).args(["archive", "export", "--student", no, "--output"]).arg(&package));
        assert_eq!(code, Some(0), "{err}");
        packages.push(package);
    }

    // How long one uncontested import takes, to spread the kills over it.
    let warm = Instant::now();
    let (code, _, err) = run(xueji(&receiver).args(["archive", "import"]).arg(&packages[0]));
    assert_eq!(code, Some(0), "{err}");
    let window = (warm.elapsed().as_millis() as u64 * 3 / 2).clamp(30, 600);
    let mut filed: BTreeSet<usize> = BTreeSet::from([0]);
    let (mut killed, mut duplicates) = (0, 0);
    let mut rng = rand::rng();
    for i in 0..200 {
        // The next package not known to be filed, or any once all are.
        let p = (0..packages.len()).find(|p| !filed.contains(p)).unwrap_or(i % packages.len());
        let mut import = xueji(&receiver);
        import.args(["archive", "import"]).arg(&packages[p]);
        let (status, _, err) = kill_after(&mut import, rng.random_range(0..window));
        if status.success() {
            filed.insert(p);
        } else if err.contains("archive.import_duplicate") {
            // Filed before, by this package's earlier run or by the recovery at this run's start.
            duplicates += 1;
            filed.insert(p);
        } else {
            assert_eq!(status.code(), None, "run {i} failed without being killed: {err}");
            killed += 1;
        }
    }
    assert!(killed > 20, "too few runs were interrupted: {killed} (window {window} ms)");
    assert!(filed.len() > 5, "too few imports got through: {}", filed.len());

    // Any command that opens the archive first finishes a journaled import; then nothing is wrong.
    let (code, report) = verify_json(&receiver);
    assert_eq!(code, Some(0), "{report:#}");
    for list in ["changed", "missing", "stray", "stale_temps", "unreadable", "index_ahead", "index_behind"] {
        assert_eq!(list_len(&report, list), 0, "{list}: {report:#}");
    }
    let journaled: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM archive_import_journal").fetch_one(&db.pool).await.unwrap();
    assert_eq!(journaled, 0);

    // Each pupil's dossier holds the package exactly once, or nothing at all.
    let here = Archive::open(receiver.join("archive"), ArchiveConfig::default()).unwrap();
    let shared_digest = Digest::of(&pdf("shared by every pupil"));
    let mut unfiled = Vec::new();
    for (p, no) in nos.iter().enumerate() {
        let student = xueji::dossier::student_by_no(&db, no).await.unwrap().unwrap();
        let dossier = xueji::dossier::dossier_of(&db, student.id).await.unwrap();
        let imports: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM archive_imports i JOIN dossiers d ON d.id = i.dossier_id WHERE d.student_id = $1",
        )
        .bind(student.id)
        .fetch_one(&db.pool)
        .await
        .unwrap();
        let history = dossier.as_ref().map_or_else(Vec::new, |d| here.history(&d.archive_id).unwrap());
        if imports == 0 {
            assert!(!filed.contains(&p), "package {p} was reported filed but is not recorded");
            assert!(history.is_empty(), "package {p}: {} versions on disk without an import", history.len());
            unfiled.push(p);
            continue;
        }
        assert_eq!(imports, 1, "package {p} recorded twice");
        let own = Digest::of(&pdf(&format!("pupil {p}")));
        let versions: Vec<Vec<Digest>> = history.iter().map(|m| m.entries.iter().map(|e| e.digest).collect()).collect();
        assert_eq!(versions, vec![vec![own], vec![own, shared_digest]], "package {p}");
        assert_eq!(dossier.unwrap().versions, 2, "package {p}: index");
    }

    // Filing every package again: the unfiled ones now, the others never twice.
    for (p, package) in packages.iter().enumerate() {
        let (code, _, err) = run(xueji(&receiver).args(["archive", "import"]).arg(package));
        if unfiled.contains(&p) {
            assert_eq!(code, Some(0), "package {p}: {err}");
        } else {
            assert_eq!(code, Some(2), "package {p}: {err}");
            assert!(err.contains("archive.import_duplicate"), "package {p}: {err}");
        }
    }
    let imports: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM archive_imports").fetch_one(&db.pool).await.unwrap();
    assert_eq!(imports, i64::from(PUPILS));
    let versions: i64 = sqlx::query_scalar("SELECT SUM(versions) FROM dossiers").fetch_one(&db.pool).await.unwrap();
    assert_eq!(versions, 2 * i64::from(PUPILS));
    let (code, report) = verify_json(&receiver);
    assert_eq!(code, Some(0), "{report:#}");
    eprintln!(
        "{} packages filed during the kills, {killed} runs killed, {duplicates} refused as filed, {:?}",
        filed.len(),
        started.elapsed()
    );
}

/// A small tmpfs mounted over a directory for one test, unmounted when dropped.
struct SmallDisk(PathBuf);

impl SmallDisk {
    /// Mounts `size` of tmpfs at `dir`; `None` where mounting is not
    /// allowed (not root). CI runs as root, so there the test always runs.
    fn mount(dir: &Path, size: &str) -> Option<Self> {
        std::fs::create_dir_all(dir).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        mounted.then(|| Self(dir.to_path_buf()))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Fills the file system under `dir` to the last byte, then frees `leave` bytes.
fn fill(dir: &Path, leave: u64) {
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    let block = vec![0xa5u8; 4096];
    while f.write_all(&block).is_ok() {}
    let len = f.metadata().unwrap().len();
    f.set_len(len.saturating_sub(leave)).unwrap();
}

#[tokio::test]
async fn a_full_disk_answers_507_with_a_message_and_leaves_no_trace() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let (db, _) = fixture(&data).await;
    let pid: String = sqlx::query_scalar("SELECT public_id FROM students").fetch_one(&db.pool).await.unwrap();
    // The archive on a disk of its own, 256 KiB (the database stays on the big one).
    let Some(_disk) = SmallDisk::mount(&data.join("archive"), "256k") else {
        eprintln!("not run: mounting a small tmpfs needs root");
        return;
    };
    let server = serve(&data, &[]).await;
    let (client, csrf) = sign_in(&db, &server.base).await;
    let upload = |name: &str, body: Vec<u8>| {
        client
            .post(format!("{}/api/students/{pid}/archive?kind=other&name={name}", server.base))
            .header("x-csrf-token", &csrf)
            .body(body)
            .send()
    };
    let archive = Archive::open(data.join("archive"), ArchiveConfig::default()).unwrap();
    let nothing_left = || {
        assert_eq!(temps_under(archive.root()), 0, "a temp file was left");
        let dossiers: Vec<_> = std::fs::read_dir(archive.manifests().dir()).unwrap().collect();
        assert!(dossiers.is_empty(), "a dossier directory was left: {dossiers:?}");
    };

    // A scan larger than the disk: refused while it is written.
    let mut big = pdf("big");
    big.splice(9..9, std::iter::repeat_n(b' ', 400 * 1024));
    let res = upload("big.pdf", big).await.unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::INSUFFICIENT_STORAGE);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["code"], "archive.disk_full", "{body}");
    assert!(body["message"].as_str().unwrap().contains("存储空间已满"), "{body}");
    assert!(archive.store().list().unwrap().is_empty());
    nothing_left();

    // Room for the scan but not for the dossier version that lists it.
    fill(archive.root(), 4096);
    let res = upload("small.pdf", pdf("small")).await.unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::INSUFFICIENT_STORAGE);
    nothing_left();
    let refused: Vec<String> = sqlx::query_scalar(
        "SELECT detail FROM audit_log WHERE action = 'archive.upload' AND outcome = 'refused' ORDER BY id",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(refused, vec!["code=archive.disk_full".to_owned(); 2]);

    // Room again: the same upload goes through.
    std::fs::remove_file(archive.root().join("filler")).unwrap();
    let res = upload("small.pdf", pdf("small")).await.unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::CREATED);
    drop(server);
}
