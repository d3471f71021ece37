//! The restore drill, run as an operator runs it: a demo county with 50
//! scans and their text read, `xueji backup -o` while the server runs
//! (twice: the second copies nothing new), `xueji restore` into an empty
//! directory, `xueji archive verify` with zero errors, and the restored
//! server answering the same student pages, the same dossiers with the same
//! texts, and the same `/v/` verdicts, with no scan to read again. A damaged
//! backup is refused and restores nothing.

use std::path::Path;

use reqwest::StatusCode;
use serde_json::Value;

use crate::pdf;
use crate::served::{Served, Session, accounts, copy_dir, jpeg_with, new_dir, run, xueji};

/// Students given scans, five each.
const PUPILS: usize = 10;

/// What a student shows a registrar: the record, the dossier, the page.
async fn seen(registrar: &Session, pid: &str) -> (Value, Value, String) {
    let record = registrar.json(&format!("/api/students/{pid}")).await;
    let dossier = registrar.json(&format!("/api/students/{pid}/archive")).await;
    let texts = dossier["texts"].as_array().expect("texts");
    assert!(
        texts.len() == 5 && texts.iter().all(|t| t["state"] == "done"),
        "every scan read before the backup: {texts:?}"
    );
    let res = registrar.get(&format!("/students/{pid}")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.expect("page");
    // The form token differs per session; nothing else may.
    let page = page.lines().filter(|l| !l.contains("csrf")).collect::<Vec<_>>().join("\n");
    (record, dossier, page)
}

/// The verdict page for a QR code's token, on `base`.
async fn verdict(base: &str, qr: &str) -> String {
    let at = qr.find("/V/").expect("a verification URL");
    let res = reqwest::get(format!("{base}{}", &qr[at..])).await.expect("verify page");
    assert_eq!(res.status(), StatusCode::OK);
    res.text().await.expect("page").replace(base, "BASE")
}

fn registrar_of(dir: &Path) -> (String, String) {
    let accounts = accounts(dir);
    let r = accounts.iter().find(|a| a.0.starts_with('r') && a.2.contains("学籍")).expect("a registrar");
    (r.0.clone(), r.1.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_restores_into_an_empty_directory() {
    drill(&[], &[]).await;
}

/// The same drill on PostgreSQL (`pg_dump`, `pg_restore`) and an
/// S3-compatible store, when `XUEJI_TEST_DATABASE_URL` and
/// `XUEJI_TEST_S3_URL` name them: two new databases, two new prefixes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_and_s3_county_restores_into_an_empty_database_and_bucket() {
    let (Ok(pg), Ok(s3)) = (std::env::var("XUEJI_TEST_DATABASE_URL"), std::env::var("XUEJI_TEST_S3_URL")) else {
        eprintln!("XUEJI_TEST_DATABASE_URL and XUEJI_TEST_S3_URL are not both set: the PostgreSQL drill is skipped");
        return;
    };
    let own = hex::encode(rand::random::<[u8; 6]>());
    let names = [format!("xueji_test_{own}_a"), format!("xueji_test_{own}_b")];
    sqlx::any::install_default_drivers();
    let admin = sqlx::AnyPool::connect(&pg).await.expect("PostgreSQL for tests");
    for name in &names {
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&admin).await.expect("create database");
    }
    let (prefix, _) = pg.rsplit_once('/').expect("URL has a database");
    let side = |name: &str, at: &str| {
        let mut url = url::Url::parse(&s3).expect("XUEJI_TEST_S3_URL");
        url.set_path(&format!("{}/{own}-{at}", url.path().trim_end_matches('/')));
        vec![
            ("XUEJI_DATABASE_URL".to_owned(), format!("{prefix}/{name}")),
            ("XUEJI_ARCHIVE_URL".to_owned(), url.to_string()),
        ]
    };
    drill(&side(&names[0], "county"), &side(&names[1], "restored")).await;
    for name in &names {
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&admin).await.expect("drop");
    }
}

/// The drill, with `county`'s settings for the county and `restored`'s for
/// the place it is restored to (empty: the defaults under each directory).
async fn drill(county_env: &[(String, String)], restored_env: &[(String, String)]) {
    // The text is read by the command below, not in the background, so that
    // what the backup holds is known; the restored server reads nothing.
    let off = ("XUEJI_OCR".to_owned(), "off".to_owned());
    let county_env = &[county_env, std::slice::from_ref(&off)].concat()[..];
    let restored_env = &[restored_env, &[off]].concat()[..];
    let tmp = tempfile::tempdir().expect("temp dir");
    let county = new_dir(tmp.path(), "county");
    let at = |dir: &Path, env: &[(String, String)]| {
        let mut cmd = xueji(dir);
        cmd.envs(env.iter().map(|(k, v)| (k, v)));
        cmd
    };
    let (code, out) = run(at(&county, county_env).args(["demo", "--students", "300"]));
    assert_eq!(code, 0, "{out}");
    let server = Served::start_env(&county, &[], county_env);
    let (user, password) = registrar_of(&county);
    let registrar = Session::login(&server.base, &user, &password).await;
    let list = registrar.json("/api/students?status=active").await;
    let pids: Vec<String> = list["students"]
        .as_array()
        .expect("students")
        .iter()
        .take(PUPILS)
        .map(|s| s["public_id"].as_str().expect("public id").to_owned())
        .collect();
    assert_eq!(pids.len(), PUPILS);
    for (i, pid) in pids.iter().enumerate() {
        for n in 0..5 {
            let blue = u8::try_from(i * 5 + n).expect("small");
            registrar.upload(pid, "户口簿复印件", &format!("户口簿{n}.jpg"), jpeg_with(blue)).await;
        }
    }
    let (code, out) = run(at(&county, county_env).args(["archive", "ocr"]));
    assert!(code == 0 && out.contains("文字识别完成"), "{out}");
    let mut before = Vec::new();
    for pid in &pids[..3] {
        before.push(seen(&registrar, pid).await);
    }
    let mut qrs = Vec::new();
    for (pid, kind) in [(&pids[0], "registration"), (&pids[1], "record_card")] {
        let urls = pdf::decode_qr(&registrar.document(pid, kind).await);
        assert_eq!(urls.len(), 1, "one QR code on the {kind}");
        qrs.push(urls[0].clone());
    }
    let mut verdicts = Vec::new();
    for qr in &qrs {
        verdicts.push(verdict(&server.base, qr).await);
    }
    assert!(verdicts.iter().all(|v| v.contains("class=\"verdict valid\"")), "{verdicts:?}");

    // Online, while the server runs; the second run copies no file again.
    let (code, out) = run(at(&county, county_env).args(["backup", "-o", "../backup"]));
    assert_eq!(code, 0, "{out}");
    // 50 scans and the 2 documents printed, kept for the PDF check.
    assert!(out.contains("存档文件（扫描件和打印过的文书）52 个（本次复制 52 个"), "{out}");
    let engine = if !county_env.iter().any(|(k, _)| k == "XUEJI_DATABASE_URL") {
        "数据库快照（sqlite）"
    } else {
        "数据库快照（postgres）"
    };
    assert!(out.contains(engine), "{out}");
    // Each scan's text, beside it in the archive.
    assert!(out.contains("派生文件（识别出的文字、页面预览）50 个（本次复制 50 个"), "{out}");
    let (code, out) = run(at(&county, county_env).args(["backup", "-o", "../backup"]));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("52 个（本次复制 0 个"), "{out}");
    assert!(out.contains("派生文件（识别出的文字、页面预览）50 个（本次复制 0 个"), "{out}");
    let (code, out) = run(xueji(tmp.path()).args(["backup", "verify", "backup"]));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("备份完好"), "{out}");
    assert_eq!(server.stop().code(), Some(0));

    // A damaged copy is refused, and nothing is restored.
    let damaged = tmp.path().join("damaged");
    copy_dir(&tmp.path().join("backup"), &damaged);
    let object = std::fs::read_dir(damaged.join("archive/objects"))
        .expect("objects")
        .flat_map(|d| std::fs::read_dir(d.expect("prefix").path()).expect("prefix dir"))
        .next()
        .expect("an object")
        .expect("entry")
        .path();
    std::fs::write(&object, b"changed").expect("damage");
    let (code, out) = run(xueji(tmp.path()).args(["backup", "verify", "damaged"]));
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("与摘要不符：archive/objects/"), "{out}");
    let refused = new_dir(tmp.path(), "refused");
    let (code, out) = run(at(&refused, restored_env).args(["restore", "../damaged"]));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("备份已损坏，未恢复任何内容"), "{out}");
    assert!(!refused.join("data").exists(), "nothing written for a refused restore");

    let restored = new_dir(tmp.path(), "restored");
    let (code, out) = run(at(&restored, restored_env).args(["restore", "../backup"]));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("派生文件 50 个"), "{out}");
    // Into a place that now holds a county, a second restore is refused.
    let (code, out) = run(at(&restored, restored_env).args(["restore", "../backup"]));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("目标数据库不是空的"), "{out}");
    let (code, out) = run(at(&restored, restored_env).args(["archive", "verify", "--json"]));
    assert_eq!(code, 0, "{out}");
    let json = &out[out.find('{').expect("json")..];
    let report: Value = serde_json::from_str(json).expect("fixity report");
    assert_eq!(report["objects_checked"], 52, "{report}");
    assert_eq!(report["clean"], true, "{report}");

    // Every reading is back as its file: rebuilding the index from them
    // queues no scan to be read again, and the reader finds nothing to do.
    let (code, out) = run(at(&restored, restored_env).args(["archive", "reindex"]));
    assert!(code == 0 && out.contains("已重建全文索引：50 份识别结果"), "{out}");
    assert!(!out.contains("重新排队"), "{out}");

    let server = Served::start_env(&restored, &[], restored_env);
    let registrar = Session::login(&server.base, &user, &password).await;
    for (pid, was) in pids[..3].iter().zip(&before) {
        assert_eq!(&seen(&registrar, pid).await, was, "student {pid} after the restore, texts and all");
    }
    for (qr, was) in qrs.iter().zip(&verdicts) {
        assert_eq!(&verdict(&server.base, qr).await, was);
    }
}
