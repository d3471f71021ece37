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

mod instances;
#[path = "../common/pdf.rs"]
mod pdf;
mod restore;
mod served;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use served::{BIN, Served, Session, accounts, copy_dir, jpeg, new_dir, run, tiff, xueji};

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
    // The printed form filed as a scan, and its text read (the PDF's own text layer) from the command line.
    let (code, text) = run(xueji(&elsewhere).env("XUEJI_DATA_DIR", &data).args([
        "archive",
        "put",
        "--student",
        student_no,
        "--kind",
        "登记表",
        "form.pdf",
    ]));
    assert_eq!(code, 0, "{text}");
    let (code, text) = run(xueji(&elsewhere).env("XUEJI_DATA_DIR", &data).args(["archive", "ocr"]));
    assert!(code == 0 && text.contains("文字识别完成"), "{text}");
    let (code, text) = run(xueji(&elsewhere).env("XUEJI_DATA_DIR", &data).args(["archive", "reindex"]));
    assert!(code == 0 && text.contains("已重建全文索引"), "{text}");
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
