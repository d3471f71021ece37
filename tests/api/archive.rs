//! The paper-file archive through the real server: upload, list, download,
//! thumbnails, search, access control and its audit trail, every ingest
//! refusal leaving nothing behind, 413 before the body, 50 concurrent
//! uploads, transfer packages between two services, and the fixity status.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

// ---- scans made by hand (no image library needed) ----

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
}

/// An RGB PNG of `w`×`h` (stored deflate blocks), varied by `seed`.
pub fn png(w: u32, h: u32, seed: u8) -> Vec<u8> {
    let mut raw = Vec::new();
    for y in 0..h {
        raw.push(0);
        for x in 0..w {
            raw.extend_from_slice(&[(x as u8).wrapping_mul(7) ^ seed, (y as u8).wrapping_mul(3), seed]);
        }
    }
    let mut z = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (i, b) in blocks.iter().enumerate() {
        z.push(u8::from(i + 1 == blocks.len()));
        let len = b.len() as u16;
        z.extend_from_slice(&len.to_le_bytes());
        z.extend_from_slice(&(!len).to_le_bytes());
        z.extend_from_slice(b);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in &raw {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    z.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &z);
    chunk(&mut out, b"IEND", &[]);
    out
}

/// A small PNG whose header claims `w`×`h` pixels.
fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut bytes = png(4, 4, 1);
    bytes[16..20].copy_from_slice(&w.to_be_bytes());
    bytes[20..24].copy_from_slice(&h.to_be_bytes());
    let crc = crc32(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    bytes
}

/// A well-formed PDF with `pages` pages, varied by `salt`.
pub fn pdf(pages: u32, salt: &str) -> Vec<u8> {
    let mut s = format!("%PDF-1.4\n% {salt}\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
    let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", i + 3)).collect();
    s.push_str(&format!("2 0 obj\n<< /Type /Pages /Kids [{}] /Count {pages} >>\nendobj\n", kids.join(" ")));
    for i in 0..pages {
        s.push_str(&format!("{} 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>\nendobj\n", i + 3));
    }
    s.push_str("trailer\n<< /Root 1 0 R >>\n%%EOF\n");
    s.into_bytes()
}

// ---- helpers ----

/// A server with one pupil in the county-town school, signed in as `user`.
async fn with_pupil(user: &str) -> (TestApp, String) {
    let mut app = spawn_app().await;
    assert!(import_rows(app.db(), TOWN, vec![first_grader("县城甲", 11)]).await.committed);
    assert!(import_rows(app.db(), CENTRAL, vec![first_grader("中心丙", 15)]).await.committed);
    assert_eq!(app.login(user).await, StatusCode::OK);
    let pid = app.public_id("县城甲").await;
    (app, pid)
}

fn object_count(app: &TestApp) -> usize {
    app.app.archive.store().list().unwrap().len()
}

/// Temp files anywhere under the archive's local root (the objects folder,
/// or a remote store's `tmp/`).
fn temp_count(app: &TestApp) -> usize {
    fn count(dir: &std::path::Path) -> usize {
        let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
        entries
            .map(|e| e.unwrap())
            .map(|e| {
                let own = usize::from(e.file_name().to_string_lossy().starts_with(".tmp-"));
                own + if e.file_type().unwrap().is_dir() { count(&e.path()) } else { 0 }
            })
            .sum()
    }
    count(app.app.archive.root())
}

/// The test damages the archive behind the service's back, on the local
/// disk or in the bucket (where a name can only be deleted and put again).
fn replace_object(app: &TestApp, digest: &str, bytes: &[u8]) {
    let digest: xueji_archive::Digest = digest.parse().unwrap();
    if let Some(remote) = app.app.archive.remote() {
        let key = xueji_archive::S3Store::object_rel(&digest);
        remote.delete(&key).unwrap();
        assert!(remote.put_new(&key, bytes.to_vec().into()).unwrap());
        return;
    }
    let path = app.app.archive.local_store().unwrap().object_path(&digest);
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    std::fs::write(&path, bytes).unwrap();
}

fn remove_object(app: &TestApp, digest: &str) {
    let digest: xueji_archive::Digest = digest.parse().unwrap();
    match app.app.archive.remote() {
        Some(remote) => remote.delete(&xueji_archive::S3Store::object_rel(&digest)).unwrap(),
        None => std::fs::remove_file(app.app.archive.local_store().unwrap().object_path(&digest)).unwrap(),
    }
}

/// A file where none belongs, at `rel` (`objects/stray.bin`).
fn put_stray(app: &TestApp, rel: &str) {
    match app.app.archive.remote() {
        Some(remote) => assert!(remote.put_new(rel, b"?".to_vec().into()).unwrap()),
        None => std::fs::write(app.app.archive.root().join(rel), b"?").unwrap(),
    }
}

fn read_object(app: &TestApp, digest: &str) -> Vec<u8> {
    let mut bytes = Vec::new();
    let digest: xueji_archive::Digest = digest.parse().unwrap();
    std::io::Read::read_to_end(&mut app.app.archive.open_object(&digest).unwrap(), &mut bytes).unwrap();
    bytes
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.db().pool).await.unwrap()
}

/// Objects, temp files, dossiers, index rows and manifest files: all that an upload writes.
async fn written(app: &TestApp) -> (usize, usize, i64, i64, usize) {
    let manifests = app.app.archive.manifests().dossier_ids().unwrap().len();
    (
        object_count(app),
        temp_count(app),
        count(app, "SELECT COUNT(*) FROM dossiers").await,
        count(app, "SELECT COUNT(*) FROM archive_entries").await,
        manifests,
    )
}

async fn audit_detail(app: &TestApp, action: &str, target: &str, outcome: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT detail FROM audit_log WHERE action = $1 AND target_id = $2 AND outcome = $3 ORDER BY id")
        .bind(action)
        .bind(target)
        .bind(outcome)
        .fetch_all(&app.db().pool)
        .await
        .unwrap()
}

fn multipart(fields: &[(&str, &str)], file: (&str, &[u8])) -> (String, Vec<u8>) {
    let boundary = "----xuejitestboundary7MA4YWxkTrZu0gW".to_owned();
    let mut body = Vec::new();
    for (name, value) in fields {
        write!(body, "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").unwrap();
    }
    write!(
        body,
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\nContent-Type: application/octet-stream\r\n\r\n",
        file.0
    )
    .unwrap();
    body.extend_from_slice(file.1);
    write!(body, "\r\n--{boundary}--\r\n").unwrap();
    (boundary, body)
}

// ---- tests ----

#[tokio::test]
async fn upload_list_download_with_headers_thumbnails_search_and_audit() {
    let (app, pid) = with_pupil(&format!("r{TOWN}")).await;
    let scan = png(600, 300, 7);
    let res = app.upload_scan(&pid, "kind=household_register&name=%E6%88%B7%E5%8F%A3%E7%B0%BF.png", scan.clone()).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["version"], 1);
    assert_eq!(body["new_object"], true);
    assert_eq!(body["entry"]["kind"], "household_register");
    assert_eq!(body["entry"]["original_name"], "户口簿.png");
    assert_eq!(body["entry"]["media_type"], "image/png");
    let png_digest = body["entry"]["digest"].as_str().unwrap().to_owned();
    snap_json!("archive_upload_answer", body);

    let doc = pdf(3, "诊断");
    let res = app.upload_scan(&pid, "kind=诊断证明&name=diagnosis.pdf", doc.clone()).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        (body["version"].as_i64(), body["entries"].as_i64(), body["entry"]["pages"].as_i64()),
        (Some(2), Some(2), Some(3))
    );
    let pdf_digest = body["entry"]["digest"].as_str().unwrap().to_owned();

    // The dossier.
    let d: Value = app.dossier(&pid).await.json().await.unwrap();
    assert_eq!(d["version"], 2);
    assert_eq!(d["entries"].as_array().unwrap().len(), 2);
    assert_eq!(d["versions"].as_array().unwrap().len(), 2);
    snap_json!("archive_dossier", d);
    let v1: Value = app.dossier_version(&pid, 1).await.json().await.unwrap();
    assert_eq!(v1["entries"].as_array().unwrap().len(), 1);
    assert_eq!(app.dossier_version(&pid, 9).await.status(), StatusCode::NOT_FOUND);

    // Byte-identical download with the right headers.
    let res = app.download_scan(&pid, &png_digest).await;
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers().clone();
    assert_eq!(h["content-type"], "image/png");
    assert_eq!(h["x-content-type-options"], "nosniff");
    let cd = h["content-disposition"].to_str().unwrap();
    assert!(cd.starts_with("attachment;") && cd.contains("UTF-8''%E6%88%B7"), "{cd}");
    assert_eq!(res.bytes().await.unwrap().as_ref(), scan.as_slice());
    let res = app.download_scan(&pid, &pdf_digest).await;
    assert_eq!(res.headers()["content-type"], "application/pdf");
    assert_eq!(res.bytes().await.unwrap().as_ref(), doc.as_slice());

    // Thumbnails for images, none for a PDF.
    let res = app.scan_thumbnail(&pid, &png_digest).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "image/jpeg");
    assert!(res.bytes().await.unwrap().starts_with(&[0xFF, 0xD8, 0xFF]));
    assert_eq!(app.scan_thumbnail(&pid, &pdf_digest).await.status(), StatusCode::NOT_FOUND);

    // Every step is in the audit log, with digests but no names.
    assert_eq!(app.audit_count("archive.upload", &pid, "ok").await, 2);
    assert_eq!(app.audit_count("archive.view", &pid, "ok").await, 2);
    assert_eq!(app.audit_count("archive.download", &pid, "ok").await, 2);
    assert_eq!(app.audit_count("archive.thumbnail", &pid, "ok").await, 1);
    let details = audit_detail(&app, "archive.download", &pid, "ok").await;
    assert!(details[0].contains(&png_digest) && !details[0].contains("户口簿"), "{details:?}");

    // The dossier page.
    let page = app.dossier_page(&pid).await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(page.contains("户口簿.png") && page.contains("诊断证明") && page.contains("第 2 版"), "{page}");
    snap_page!("page_dossier", page, crate::redact::real_today() => "[today]");

    // Search: by name, kind, school and date; a registrar only within the scope.
    let search = |q: Value| {
        let app = &app;
        async move {
            let res = app.search_archive(&q).await;
            assert_eq!(res.status(), StatusCode::OK);
            res.json::<Value>().await.unwrap()
        }
    };
    assert_eq!(search(json!({"name": "县城"})).await["total"], 2);
    assert_eq!(search(json!({"kind": "diagnosis"})).await["total"], 1);
    snap_json!("archive_search_by_kind", search(json!({"kind": "diagnosis"})).await, ".hits[].added_on" => "[today]");
    assert_eq!(search(json!({"kind": "户口簿复印件"})).await["hits"][0]["digest"], png_digest.as_str());
    let today = chrono::Local::now().date_naive();
    assert_eq!(search(json!({"from": today.to_string(), "to": today.to_string()})).await["total"], 2);
    assert_eq!(search(json!({"from": today.succ_opt().unwrap().to_string()})).await["total"], 0);
    let no: String = sqlx::query_scalar("SELECT student_no FROM students WHERE public_id = $1")
        .bind(&pid)
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    assert_eq!(search(json!({"student_no": &no[..8], "school": TOWN})).await["total"], 2);
    let bad = app.search_archive(&json!({"from": "2024-13-01"})).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.search_archive(&json!({"school": CENTRAL})).await.status(), StatusCode::NOT_FOUND);
    assert!(app.audit_count("archive.search", "*", "ok").await >= 5);

    let mut other = app;
    other.client = client();
    other.login(&format!("r{CENTRAL}")).await;
    let res: Value = other.search_archive(&json!({})).await.json().await.unwrap();
    assert_eq!(res["total"], 0);
    other.login("bureau").await;
    let res: Value = other.search_archive(&json!({})).await.json().await.unwrap();
    assert_eq!(res["total"], 2);
    let page = other.archive_page().await.text().await.unwrap();
    assert!(page.contains("完整性检查") && page.contains("导入转学档案传输包"));
    let page = other
        .search_archive_form(&[
            ("csrf", other.csrf.as_str()),
            ("name", "县城"),
            ("kind", "diagnosis"),
            ("school", ""),
            ("from", ""),
        ])
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(page.contains("共 1 份扫描件") && page.contains("diagnosis.pdf"), "{page}");
    snap_page!("page_archive_search", page, crate::redact::real_today() => "[today]");
}

#[tokio::test]
async fn another_schools_registrar_gets_404_and_the_attempt_is_audited() {
    let (mut app, pid) = with_pupil(&format!("r{TOWN}")).await;
    let res = app.upload_scan(&pid, "kind=other&name=a.pdf", pdf(1, "a")).await;
    let digest = res.json::<Value>().await.unwrap()["entry"]["digest"].as_str().unwrap().to_owned();

    app.client = client();
    app.login(&format!("r{CENTRAL}")).await;
    for (what, res) in [
        ("the dossier", app.dossier(&pid).await),
        ("a scan", app.download_scan(&pid, &digest).await),
        ("a thumbnail", app.scan_thumbnail(&pid, &digest).await),
        ("the package", app.export_dossier(&pid).await),
        ("the dossier page", app.dossier_page(&pid).await),
    ] {
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{what}");
        assert!(!res.text().await.unwrap().contains("县城甲"));
    }
    let res = app.upload_scan(&pid, "kind=other&name=b.pdf", pdf(1, "b")).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.audit_count("archive.view", &pid, "denied").await, 2);
    assert_eq!(app.audit_count("archive.download", &pid, "denied").await, 1);
    assert_eq!(app.audit_count("archive.thumbnail", &pid, "denied").await, 1);
    assert_eq!(app.audit_count("archive.export", &pid, "denied").await, 1);
    assert_eq!(app.audit_count("archive.upload", &pid, "denied").await, 1);
    assert_eq!(object_count(&app), 1);

    // Knowing a digest gives no access through another student.
    let own = app.public_id("中心丙").await;
    let res = app.download_scan(&own, &digest).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.audit_count("archive.download", &own, "not_found").await, 1);
    // Nor does a made-up route.
    assert_eq!(app.get(&format!("/api/students/{own}/archive/not-a-digest")).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_ingest_refusal_writes_nothing() {
    let (app, pid) = with_pupil("bureau").await;
    let good = png(40, 30, 3);
    let truncated = good[..good.len() / 2].to_vec();
    let cases: Vec<(&str, Vec<u8>, StatusCode, &str)> = vec![
        (
            "kind=other&name=notes.txt",
            b"just some text, not a scan".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "archive.type_unsupported",
        ),
        ("kind=other&name=scan.jpg", good.clone(), StatusCode::UNPROCESSABLE_ENTITY, "archive.extension_mismatch"),
        ("kind=other&name=scan.png", truncated, StatusCode::UNPROCESSABLE_ENTITY, "archive.corrupt"),
        (
            "kind=other&name=huge.png",
            png_claiming(100_000, 100_000),
            StatusCode::UNPROCESSABLE_ENTITY,
            "archive.image_too_large",
        ),
        ("kind=other&name=empty.png", Vec::new(), StatusCode::UNPROCESSABLE_ENTITY, "archive.empty"),
        (
            "kind=other&name=scan.pdf",
            String::from_utf8(pdf(0, "x"))
                .unwrap()
                .replace("/Pages 2 0 R", "/Pages 2 0 R /OpenAction << /S /JavaScript /JS (app.alert(1)) >>")
                .into_bytes(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "archive.pdf_active_content",
        ),
        ("kind=passport&name=scan.png", good.clone(), StatusCode::UNPROCESSABLE_ENTITY, "archive.paper_kind_unknown"),
        ("name=scan.png", good.clone(), StatusCode::BAD_REQUEST, "archive.kind_required"),
        (
            "kind=other&name=scan.png&supersedes=0000000000000000000000000000000000000000000000000000000000000000",
            good.clone(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "archive.supersedes_unknown",
        ),
    ];
    let before = written(&app).await;
    assert_eq!(before, (0, 0, 0, 0, 0));
    for (query, bytes, status, code) in cases {
        let started = Instant::now();
        let res = app.upload_scan(&pid, query, bytes).await;
        assert_eq!(res.status(), status, "{query}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], code, "{query}: {body}");
        let name = format!("error_{}", code.replace('.', "_"));
        snap_json!(name.as_str(), body);
        assert!(!body["message"].as_str().unwrap().is_empty());
        if code == "archive.image_too_large" {
            assert!(started.elapsed() < Duration::from_secs(1), "huge PNG took {:?}", started.elapsed());
            assert!(body["message"].as_str().unwrap().contains("100000×100000"), "{body}");
        }
        assert_eq!(written(&app).await, before, "{query} wrote something");
    }
    assert_eq!(app.audit_count("archive.upload", &pid, "refused").await, 9);
    // The same good file is then accepted.
    assert_eq!(app.upload_scan(&pid, "kind=other&name=scan.png", good).await.status(), StatusCode::CREATED);
    assert_eq!(written(&app).await, (1, 0, 1, 1, 1));
}

/// A little-endian TIFF of `ifds` 1×1 grey pages sharing one pixel; the
/// last directory points back to directory `loop_to` (or ends the chain).
fn tiff_chain(ifds: usize, loop_to: Option<usize>) -> Vec<u8> {
    const FIRST: usize = 10;
    const IFD_LEN: usize = 2 + 8 * 12 + 4;
    let offset = |i: usize| (FIRST + i * IFD_LEN) as u32;
    let mut out = b"II\x2a\x00".to_vec();
    out.extend_from_slice(&offset(0).to_le_bytes());
    out.extend_from_slice(&[0x80, 0]);
    let entry = |tag: u16, kind: u16, value: u32| {
        let mut e = tag.to_le_bytes().to_vec();
        e.extend_from_slice(&kind.to_le_bytes());
        e.extend_from_slice(&1u32.to_le_bytes());
        e.extend_from_slice(&value.to_le_bytes());
        e
    };
    for i in 0..ifds {
        out.extend_from_slice(&8u16.to_le_bytes());
        // Width, height, 8 bits, no compression, black is zero, strip at 8, 1 row, 1 byte.
        for (tag, kind, value) in [(256, 3, 1), (257, 3, 1), (258, 3, 8), (259, 3, 1), (262, 3, 1), (273, 4, 8)] {
            out.extend(entry(tag, kind, value));
        }
        out.extend(entry(278, 3, 1));
        out.extend(entry(279, 4, 1));
        let next = if i + 1 < ifds { offset(i + 1) } else { loop_to.map_or(0, offset) };
        out.extend_from_slice(&next.to_le_bytes());
    }
    out
}

/// A PDF whose one object opens `depth` arrays.
fn nested_pdf(depth: usize) -> Vec<u8> {
    let mut pdf = b"%PDF-1.7\n1 0 obj\n".to_vec();
    pdf.extend(b"[".repeat(depth));
    pdf.extend_from_slice(b"\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n");
    pdf
}

#[tokio::test]
async fn a_malicious_upload_gets_a_coded_error_and_the_dossier_is_unchanged() {
    let (app, pid) = with_pupil("bureau").await;
    assert_eq!(app.upload_scan(&pid, "kind=other&name=scan.png", png(40, 30, 5)).await.status(), StatusCode::CREATED);
    // The hand-made TIFF is sound when its chain simply ends.
    let res = app.upload_scan(&pid, "kind=other&name=ok.tif", tiff_chain(2, None)).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(res.json::<Value>().await.unwrap()["entry"]["pages"], 2);
    let before_view: Value = app.dossier(&pid).await.json().await.unwrap();
    assert_eq!(before_view["version"], 2);
    let before = written(&app).await;
    assert_eq!(before, (2, 0, 1, 2, 1));

    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("kind=other&name=deep.pdf", nested_pdf(100_000), "archive.pdf_too_deep"),
        ("kind=other&name=ring.tif", tiff_chain(4, Some(0)), "archive.corrupt"),
        ("kind=other&name=self.tif", tiff_chain(1, Some(0)), "archive.corrupt"),
        ("kind=other&name=many.tif", tiff_chain(50_000, None), "archive.too_many_pages"),
    ];
    for (query, bytes, code) in cases {
        let started = Instant::now();
        let res = app.upload_scan(&pid, query, bytes).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], code, "{query}: {body}");
        assert!(!body["message"].as_str().unwrap().is_empty());
        assert!(started.elapsed() < Duration::from_secs(10), "{query} took {:?}", started.elapsed());
        assert_eq!(written(&app).await, before, "{query} wrote something");
        let view: Value = app.dossier(&pid).await.json().await.unwrap();
        assert_eq!(view, before_view, "{query} changed the dossier");
    }
    let refused = audit_detail(&app, "archive.upload", &pid, "refused").await;
    assert_eq!(
        refused,
        ["code=archive.pdf_too_deep", "code=archive.corrupt", "code=archive.corrupt", "code=archive.too_many_pages"]
    );
    // The server is still there and takes the next good scan.
    assert_eq!(app.upload_scan(&pid, "kind=other&name=again.png", png(40, 30, 6)).await.status(), StatusCode::CREATED);
}

/// A session cookie and CSRF token, for raw requests.
async fn session(app: &TestApp, user: &str) -> (String, String) {
    let res = reqwest::Client::new()
        .post(format!("{}/api/login", app.base))
        .json(&json!({"username": user, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookie = res.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let body: Value = res.json().await.unwrap();
    (cookie, body["csrf"].as_str().unwrap().to_owned())
}

/// Sends a request head and the start of a body, nothing more, and returns
/// the beginning of the answer.
async fn raw_head(app: &TestApp, head: String, body_start: Vec<u8>) -> String {
    let addr = app.base.trim_start_matches("http://").to_owned();
    tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(&body_start).unwrap();
        let mut buf = [0u8; 2048];
        let n = s.read(&mut buf).unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn an_oversize_content_length_is_answered_413_before_the_body() {
    let (app, pid) = with_pupil("bureau").await;
    let (cookie, csrf) = session(&app, "bureau").await;
    // Ten GiB announced, a few bytes sent: the answer must come from the header alone.
    let head = format!(
        "POST /api/students/{pid}/archive?kind=other&name=big.pdf HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n\
         X-CSRF-Token: {csrf}\r\nContent-Type: application/pdf\r\nContent-Length: 10737418240\r\n\r\n"
    );
    let answer = raw_head(&app, head, b"%PDF-1.4\n".to_vec()).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("archive.too_large"), "{answer}");
    assert_eq!(written(&app).await, (0, 0, 0, 0, 0));
    assert_eq!(audit_detail(&app, "archive.upload", &pid, "refused").await, vec!["code=archive.too_large"]);

    // The form answers the same, before reading any field.
    let (boundary, body) = multipart(&[("csrf", &csrf), ("kind", "other")], ("a.pdf", b"%PDF"));
    let head = format!(
        "POST /students/{pid}/archive HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: 10737418240\r\n\r\n"
    );
    let answer = raw_head(&app, head, body[..40].to_vec()).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert_eq!(written(&app).await, (0, 0, 0, 0, 0));
    // And the package import.
    let head = format!(
        "POST /api/archive/import HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nX-CSRF-Token: {csrf}\r\n\
         Content-Length: 109951162777600\r\n\r\n"
    );
    let answer = raw_head(&app, head, b"PK\x03\x04".to_vec()).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
}

#[tokio::test]
async fn the_upload_form_stores_a_scan_and_shows_refusals() {
    let (app, pid) = with_pupil(&format!("r{TOWN}")).await;
    let post = |fields: Vec<(&'static str, String)>, file: (&'static str, Vec<u8>)| {
        let app = &app;
        let pid = pid.clone();
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (boundary, body) = multipart(&fields, (file.0, &file.1));
            app.upload_scan_form(&pid, &boundary, body).await
        }
    };
    let csrf = app.csrf.clone();
    let res =
        post(vec![("csrf", csrf.clone()), ("kind", "registration_form".into())], ("登记表.png", png(50, 40, 9))).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], format!("/students/{pid}/archive?added=1"));
    let res = post(vec![("csrf", csrf.clone()), ("kind", "other".into())], ("x.png", b"GIF89a....".to_vec())).await;
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(res.text().await.unwrap().contains("不支持的文件类型"));
    let res = post(vec![("csrf", "wrong".into()), ("kind", "other".into())], ("y.pdf", pdf(1, "y"))).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(object_count(&app), 1);
    // A correction replaces the entry in a new version; the old version keeps it.
    let d: Value = app.dossier(&pid).await.json().await.unwrap();
    let old = d["entries"][0]["digest"].as_str().unwrap().to_owned();
    let res = post(
        vec![
            ("csrf", csrf),
            ("kind", "registration_form".into()),
            ("supersedes", old.clone()),
            ("note", "重扫".into()),
        ],
        ("登记表-重扫.png", png(50, 40, 10)),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let d: Value = app.dossier(&pid).await.json().await.unwrap();
    assert_eq!(d["version"], 2);
    assert_eq!(d["entries"].as_array().unwrap().len(), 1);
    assert_eq!(d["entries"][0]["supersedes"], old.as_str());
    assert_eq!(d["note"], "重扫");
    // The superseded scan stays retrievable through the dossier's history.
    assert_eq!(app.download_scan(&pid, &old).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn fifty_concurrent_uploads_of_one_file_store_one_object_and_fifty_references() {
    let (app, pid) = with_pupil("bureau").await;
    let scan = pdf(2, "同一份");
    let mut tasks = Vec::new();
    for i in 0..50 {
        let session = app.session();
        let pid = pid.clone();
        let body = scan.clone();
        tasks.push(tokio::spawn(async move {
            let res = session.upload_scan(&pid, &format!("kind=household_register&name=copy{i}.pdf"), body).await;
            assert_eq!(res.status(), StatusCode::CREATED);
            res.json::<Value>().await.unwrap()
        }));
    }
    let mut new_objects = 0;
    let mut versions = std::collections::BTreeSet::new();
    for t in tasks {
        let body = t.await.unwrap();
        new_objects += usize::from(body["new_object"] == true);
        versions.insert(body["version"].as_i64().unwrap());
    }
    assert_eq!(new_objects, 1);
    assert_eq!(versions, (1..=50).collect());
    assert_eq!(object_count(&app), 1);
    assert_eq!(temp_count(&app), 0);
    let digest = xueji_archive::Digest::of(&scan).to_hex();
    let refs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM archive_entries WHERE digest = $1")
        .bind(&digest)
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    assert_eq!(refs, 50);
    let d: Value = app.dossier(&pid).await.json().await.unwrap();
    assert_eq!(d["version"], 50);
    assert_eq!(d["entries"].as_array().unwrap().len(), 50);
    let s =
        xueji::dossier::run_fixity(&app.app.db, &app.app.archive, "test", std::sync::Arc::new(|_| {})).await.unwrap();
    assert!(s.clean, "{s:?}");
    assert!(s.index_behind.is_empty());
}

/// Exports a dossier as a bag through the API.
async fn export_bag(app: &TestApp, pid: &str) -> Vec<u8> {
    let res = app.export_dossier(pid).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/zip");
    assert!(res.headers()["content-disposition"].to_str().unwrap().starts_with("attachment;"));
    res.bytes().await.unwrap().to_vec()
}

async fn import_bag(app: &TestApp, bag: Vec<u8>) -> (StatusCode, Value) {
    let res = app.import_dossier(bag).await;
    let status = res.status();
    (status, res.json().await.unwrap())
}

/// Makes `to` trust packages signed by `from`.
pub(crate) fn trust(from: &TestApp, to: &TestApp) {
    let dir = to.app.config.data_dir.join(xueji::dossier::TRUSTED_KEYS_DIR);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("sender.json"), from.app.keys.public_key_set().to_string()).unwrap();
}

#[tokio::test]
async fn a_dossier_moves_to_another_service_byte_for_byte() {
    let (a, pid_a) = with_pupil("bureau").await;
    let first = png(120, 80, 1);
    let res = a.upload_scan(&pid_a, "kind=registration_form&name=form.png", first.clone()).await;
    let first_digest = res.json::<Value>().await.unwrap()["entry"]["digest"].as_str().unwrap().to_owned();
    a.upload_scan(&pid_a, "kind=transfer_proof&name=proof.pdf", pdf(2, "proof")).await;
    let res = a
        .upload_scan(
            &pid_a,
            &format!("kind=registration_form&name=form2.png&supersedes={first_digest}"),
            png(120, 80, 2),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let bag = export_bag(&a, &pid_a).await;
    assert_eq!(a.audit_count("archive.export", &pid_a, "ok").await, 1);

    let (b, pid_b) = with_pupil("bureau").await;
    // Not yet trusted: refused, nothing written.
    let (status, body) = import_bag(&b, bag.clone()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("archive.bag_key_unknown")),
        "{body}"
    );
    assert_eq!(written(&b).await, (0, 0, 0, 0, 0));
    trust(&a, &b);
    // A registrar may not import.
    let registrar = sign_in(&b, &format!("r{TOWN}")).await;
    assert_eq!(registrar.import_dossier(bag.clone()).await.status(), StatusCode::FORBIDDEN);

    let (status, body) = import_bag(&b, bag.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["public_id"], pid_b.as_str());
    assert_eq!((body["versions_received"].as_i64(), body["objects"].as_i64()), (Some(3), Some(3)));
    assert_eq!(b.audit_count("archive.import", &pid_b, "ok").await, 1);

    let student = |app: &TestApp, pid: &str| {
        let db = app.app.db.clone();
        let pid = pid.to_owned();
        async move { xueji::dossier::student_by_public_id(&db, &pid).await.unwrap().unwrap() }
    };
    let ha = xueji::dossier::history(&a.app.db, &a.app.archive, &student(&a, &pid_a).await).await.unwrap();
    let hb = xueji::dossier::history(&b.app.db, &b.app.archive, &student(&b, &pid_b).await).await.unwrap();
    assert_eq!(ha.len(), hb.len());
    for (x, y) in ha.iter().zip(&hb) {
        assert_eq!(
            (x.version, &x.created_at, &x.created_by, &x.entries),
            (y.version, &y.created_at, &y.created_by, &y.entries)
        );
    }
    for e in &ha[2].entries {
        let from = a.download_scan(&pid_a, &e.digest.to_string()).await.bytes().await.unwrap();
        let to = b.download_scan(&pid_b, &e.digest.to_string()).await.bytes().await.unwrap();
        assert_eq!(from, to);
        assert_eq!(xueji_archive::Digest::of(&to), e.digest);
    }
    // The superseded first scan travelled too, and its thumbnail is made on demand.
    let old = b.download_scan(&pid_b, &first_digest).await.bytes().await.unwrap();
    assert_eq!(old.as_ref(), first.as_slice());
    let thumb = b.scan_thumbnail(&pid_b, &first_digest).await;
    assert_eq!(thumb.status(), StatusCode::OK);
    // Searchable at once.
    let found: Value = b.search_archive(&json!({"kind": "transfer_proof"})).await.json().await.unwrap();
    assert_eq!(found["total"], 1);

    // Filed once only.
    let before = written(&b).await;
    let (status, body) = import_bag(&b, bag.clone()).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("archive.import_duplicate")));
    assert_eq!(written(&b).await, before);
}

/// Rewrites a bag entry by entry with `edit`, appending `extra`.
fn rewrite(bag: &[u8], edit: impl Fn(&str, Vec<u8>) -> Option<Vec<u8>>, extra: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bag)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).unwrap();
        let name = entry.name().unwrap().into_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        if let Some(bytes) = edit(&name, bytes) {
            out.start_file(name, options).unwrap();
            out.write_all(&bytes).unwrap();
        }
    }
    for (name, bytes) in extra {
        out.start_file(*name, options).unwrap();
        out.write_all(bytes).unwrap();
    }
    out.finish().unwrap().into_inner()
}

#[tokio::test]
async fn bad_packages_are_refused_whole() {
    let (a, pid_a) = with_pupil("bureau").await;
    a.upload_scan(&pid_a, "kind=other&name=a.pdf", pdf(1, "a")).await;
    a.upload_scan(&pid_a, "kind=other&name=b.png", png(30, 30, 5)).await;
    let bag = export_bag(&a, &pid_a).await;
    let (b, _) = with_pupil("bureau").await;
    trust(&a, &b);
    let before = written(&b).await;

    let changed = rewrite(
        &bag,
        |name, mut bytes| {
            if name.starts_with("data/objects/") && name.ends_with(".pdf") {
                bytes[20] ^= 1;
            }
            Some(bytes)
        },
        &[],
    );
    let record_only = {
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&bag[..])).unwrap();
        let mut bytes = Vec::new();
        zip.by_name("data/record.json").unwrap().read_to_end(&mut bytes).unwrap();
        bytes
    };
    // A zip bomb: a valid record, and an entry inflating 64 MiB of zeros.
    let bomb = {
        let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        out.start_file("data/record.json", options).unwrap();
        out.write_all(&record_only).unwrap();
        out.start_file("data/objects/bomb.pdf", options).unwrap();
        let zeros = vec![0u8; 1024 * 1024];
        for _ in 0..64 {
            out.write_all(&zeros).unwrap();
        }
        out.finish().unwrap().into_inner()
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("changed object", changed, "archive.bag_hash_mismatch"),
        ("missing object", rewrite(&bag, |n, b| (!n.ends_with(".png")).then_some(b), &[]), "archive.bag_file_missing"),
        (
            "extra file",
            rewrite(&bag, |_, b| Some(b), &[("data/objects/extra.txt", b"x".to_vec())]),
            "archive.bag_file_extra",
        ),
        ("path traversal", rewrite(&bag, |_, b| Some(b), &[("../evil", b"x".to_vec())]), "archive.bag_path_traversal"),
        (
            "no signature",
            rewrite(&bag, |n, b| (n != "signature.ed25519").then_some(b), &[]),
            "archive.bag_signature_missing",
        ),
        ("zip bomb", bomb, "archive.bag_compression_ratio"),
        ("not a zip", b"PK\x03\x04 not really".to_vec(), "archive.bag_zip"),
    ];
    for (what, bytes, code) in cases {
        let (status, body) = import_bag(&b, bytes).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {body}");
        assert_eq!(body["code"], code, "{what}: {body}");
        assert_eq!(written(&b).await, before, "{what} wrote something");
        assert!(std::fs::read_dir(b.app.archive.root().join("staging")).map_or(0, |d| d.count()) == 0, "{what}");
    }
    assert_eq!(b.audit_count("archive.import", "-", "refused").await, 7);

    // A student this service does not know.
    let mut c = spawn_app().await;
    c.login("bureau").await;
    trust(&a, &c);
    let (status, body) = import_bag(&c, bag).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("archive.import_no_student")), "{body}");
    assert!(!body["message"].as_str().unwrap().contains('G'), "{body}");
    assert_eq!(written(&c).await, (0, 0, 0, 0, 0));
}

#[tokio::test]
async fn fixity_faults_are_reported_by_name_to_bureau_staff() {
    let (app, pid) = with_pupil("bureau").await;
    let res = app.upload_scan(&pid, "kind=other&name=a.pdf", pdf(1, "a")).await;
    let a = res.json::<Value>().await.unwrap()["entry"]["digest"].as_str().unwrap().to_owned();
    let res = app.upload_scan(&pid, "kind=other&name=b.pdf", pdf(1, "b")).await;
    let b = res.json::<Value>().await.unwrap()["entry"]["digest"].as_str().unwrap().to_owned();
    let run = || xueji::dossier::run_fixity(&app.app.db, &app.app.archive, "test", std::sync::Arc::new(|_| {}));
    assert!(run().await.unwrap().clean);
    let status: Value = app.fixity_report().await.json().await.unwrap();
    assert_eq!(status["last"]["clean"], true);
    assert_eq!(status["last"]["objects_checked"], 2);
    snap_json!("archive_fixity_clean", status, ".last.bytes_per_second" => "[rate]", ".last.seconds" => "[seconds]");

    let mut bytes = read_object(&app, &a);
    bytes[10] ^= 0x20;
    replace_object(&app, &a, &bytes);
    remove_object(&app, &b);
    put_stray(&app, "objects/stray.bin");
    // A stray file among the dossiers does not stop the walk.
    put_stray(&app, "dossiers/notes.txt");
    // An object stored two hours ago by an upload that never wrote its version
    // (a bucket's times cannot be set back: there it is young, and not a fault).
    let orphan = app.app.archive.ingest(&mut &pdf(1, "orphan")[..], "orphan.pdf").unwrap().digest;
    let remote = app.app.archive.remote().is_some();
    if !remote {
        let orphan_path = app.app.archive.local_store().unwrap().object_path(&orphan);
        std::fs::File::open(&orphan_path)
            .unwrap()
            .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(7200))
            .unwrap();
    }

    let s = run().await.unwrap();
    assert!(!s.clean);
    assert_eq!(s.changed.len(), 1);
    assert_eq!(s.changed[0].0, format!("objects/{}/{a}", &a[..2]));
    assert_eq!(s.missing.len(), 1);
    assert_eq!(s.missing[0].digest, b);
    assert_eq!(s.stray, vec!["dossiers/notes.txt".to_owned(), "objects/stray.bin".to_owned()]);
    if remote {
        assert!(s.unreferenced.is_empty(), "{:?}", s.unreferenced);
    } else {
        assert_eq!(s.unreferenced, vec![format!("objects/{}/{orphan}", &orphan.to_hex()[..2])]);
    }
    // The search index still names the deleted object: reported with its dossier.
    let dossier: String =
        sqlx::query_scalar("SELECT archive_id FROM dossiers").fetch_one(&app.db().pool).await.unwrap();
    assert_eq!(s.index_missing, vec![(dossier, b.clone())]);
    assert_eq!(s.problems(), if remote { 5 } else { 6 });
    let status: Value = app.fixity_report().await.json().await.unwrap();
    assert_eq!(status["last"]["clean"], false);
    let page = app.archive_page().await.text().await.unwrap();
    assert!(page.contains("内容被改动") && page.contains(&a) && page.contains("stray.bin"), "{page}");

    let mut reg = app;
    reg.client = client();
    reg.login(&format!("r{TOWN}")).await;
    assert_eq!(reg.fixity_report().await.status(), StatusCode::FORBIDDEN);
    assert!(!reg.archive_page().await.text().await.unwrap().contains("完整性检查"));
}

#[tokio::test]
async fn a_changed_object_is_not_served_and_a_missing_one_is_gone_both_audited() {
    let mut app = spawn_app().await;
    assert!(import_rows(app.db(), TOWN, vec![first_grader("损坏甲", 81)]).await.committed);
    assert_eq!(app.login(&format!("r{TOWN}")).await, StatusCode::OK);
    let pid = app.public_id("损坏甲").await;
    let scan = png(80, 60, 5);
    let res = app.upload_scan(&pid, "kind=household_register&name=scan.png", scan.clone()).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let digest = res.json::<Value>().await.unwrap()["entry"]["digest"].as_str().unwrap().to_owned();
    let res = app.download_scan(&pid, &digest).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.bytes().await.unwrap().to_vec(), scan);

    // One byte changed on disk (bad luck, or someone): refused, never served as a normal download.
    let mut bytes = read_object(&app, &digest);
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    replace_object(&app, &digest, &bytes);
    let res = app.download_scan(&pid, &digest).await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "archive.object_corrupt");
    assert_eq!(app.audit_count("archive.download", &pid, "corrupt").await, 1);

    // Gone altogether: 410, audited, not a 500.
    remove_object(&app, &digest);
    let res = app.download_scan(&pid, &digest).await;
    assert_eq!(res.status(), StatusCode::GONE);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "archive.object_not_found");
    assert_eq!(app.audit_count("archive.download", &pid, "missing").await, 1);
}
