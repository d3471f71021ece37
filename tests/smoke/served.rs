//! The built binary as a newcomer runs it, and a signed-in client of its server.

use std::io::{BufRead, BufReader, Cursor};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::pdf;

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_xueji");
/// Within the graduation window (1 June - 31 July), so the bureau can run
/// this year's graduation and number the certificates.
pub(crate) const TODAY: &str = "2026-07-10";

/// The binary with none of the `XUEJI_*` settings of the environment the
/// test runs in, but the fixed date; the working directory is `dir`.
pub(crate) fn xueji(dir: &Path) -> Command {
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
pub(crate) struct Served {
    child: Child,
    pub(crate) base: String,
    /// Every line the server has logged so far.
    pub(crate) log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Served {
    pub(crate) fn start(dir: &Path) -> Self {
        Self::start_with(dir, &["--demo"])
    }

    /// `xueji serve` with more arguments, on a free port.
    pub(crate) fn start_with(dir: &Path, args: &[&str]) -> Self {
        Self::start_env(dir, args, &[])
    }

    /// `xueji serve` with more arguments and settings, on a free port.
    pub(crate) fn start_env(dir: &Path, args: &[&str], env: &[(String, String)]) -> Self {
        let mut child = xueji(dir)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .arg("serve")
            .args(args)
            .args(["--bind", "127.0.0.1:0"])
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

    pub(crate) fn stop(mut self) -> ExitStatus {
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

pub(crate) fn terminate(child: &Child) {
    let ok = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().expect("kill");
    assert!(ok.success());
}

pub(crate) fn wait_with_timeout(child: &mut Child, limit: Duration) -> ExitStatus {
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
pub(crate) struct Session {
    base: String,
    client: reqwest::Client,
    csrf: String,
}

impl Session {
    pub(crate) async fn login(base: &str, username: &str, password: &str) -> Self {
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

    /// The same signed-in client against another instance of the service
    /// (sessions live in the database).
    pub(crate) fn on(&self, base: &str) -> Session {
        Session { base: base.to_owned(), client: self.client.clone(), csrf: self.csrf.clone() }
    }

    /// A page form's POST (the CSRF token as a field); the answer after redirects.
    pub(crate) async fn form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut fields = fields.to_vec();
        fields.push(("csrf", &self.csrf));
        self.client.post(format!("{}{path}", self.base)).form(&fields).send().await.expect("POST form")
    }

    pub(crate) async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(format!("{}{path}", self.base)).send().await.expect("GET")
    }

    pub(crate) async fn json(&self, path: &str) -> Value {
        let res = self.get(path).await;
        assert_eq!(res.status(), StatusCode::OK, "GET {path}");
        res.json().await.expect("JSON")
    }

    /// A POST with the CSRF header; it must succeed, and its JSON answer (if any) is returned.
    pub(crate) async fn send(&self, what: &str, request: reqwest::RequestBuilder) -> Value {
        let res = request.header("x-csrf-token", &self.csrf).send().await.expect(what);
        let status = res.status();
        let text = res.text().await.expect("body");
        assert!(status.is_success(), "{what}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    pub(crate) async fn post(&self, path: &str, body: &Value) -> Value {
        self.send(&format!("POST {path}"), self.client.post(format!("{}{path}", self.base)).json(body)).await
    }

    pub(crate) async fn upload(&self, pid: &str, kind: &str, name: &str, bytes: Vec<u8>) -> Value {
        let url = format!("{}/api/students/{pid}/archive", self.base);
        let request = self.client.post(url).query(&[("kind", kind), ("name", name)]).body(bytes);
        let answer = self.send(&format!("upload {name}"), request).await;
        assert!(answer.is_object(), "upload {name} answers its entry: {answer}");
        answer
    }

    /// Prints a document and checks it is a PDF with text in it.
    pub(crate) async fn document(&self, pid: &str, kind: &str) -> Vec<u8> {
        let res = self.get(&format!("/api/students/{pid}/documents/{kind}")).await;
        let status = res.status();
        let bytes = res.bytes().await.expect("PDF").to_vec();
        assert_eq!(status, StatusCode::OK, "{kind}: {}", String::from_utf8_lossy(&bytes));
        assert!(bytes.starts_with(b"%PDF-"), "{kind} is a PDF");
        assert!(!pdf::pdftotext(&bytes).is_empty(), "{kind} has text");
        bytes
    }

    /// The first student of a listing.
    pub(crate) async fn first_student(&self, query: &str) -> Value {
        let list = self.json(&format!("/api/students?{query}")).await;
        list["students"][0].clone()
    }
}

/// `(username, password, role, school name)` from `data/demo-accounts.txt`.
pub(crate) fn accounts(dir: &Path) -> Vec<(String, String, String, String)> {
    let text = std::fs::read_to_string(dir.join("data").join("demo-accounts.txt")).expect("demo accounts");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].to_owned(), f[1].to_owned(), f[2].to_owned(), f.get(3).copied().unwrap_or("-").to_owned())
        })
        .collect()
}

pub(crate) fn jpeg() -> Vec<u8> {
    jpeg_with(90)
}

/// A JPEG whose blue channel is `blue`: a different scan for each value.
pub(crate) fn jpeg_with(blue: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(640, 480, |x, y| image::Rgb([(x % 251) as u8, (y % 241) as u8, blue]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).expect("jpeg");
    out.into_inner()
}

pub(crate) fn tiff(pages: u32) -> Vec<u8> {
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

pub(crate) fn run(cmd: &mut Command) -> (i32, String) {
    let out = cmd.output().expect("run xueji");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

pub(crate) fn new_dir(parent: &Path, name: &str) -> PathBuf {
    let dir = parent.join(name);
    std::fs::create_dir(&dir).expect("dir");
    dir
}

/// Copies a directory tree.
pub(crate) fn copy_dir(from: &Path, to: &Path) {
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
