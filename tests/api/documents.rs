//! Rendering documents from the records: PDFs parsed back with poppler, QR
//! codes decoded from the rasterised page, determinism, and every refusal.

use crate::helpers::*;
use reqwest::StatusCode;
use std::process::Command;

async fn with_pupil(name: &str) -> (TestApp, String) {
    let mut app = spawn_app().await;
    assert!(import_rows(app.db(), TOWN, vec![first_grader(name, 41)]).await.committed);
    app.login(&format!("r{TOWN}")).await;
    let id = app.public_id(name).await;
    (app, id)
}

#[tokio::test]
async fn a_form_names_the_student_and_its_qr_is_the_recorded_url() {
    let (app, id) = with_pupil("李𠮷䶮").await;
    let res = app.document_from_page(&id, "registration").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    let disposition = res.headers()["content-disposition"].to_str().unwrap().to_owned();
    let pdf = res.bytes().await.unwrap().to_vec();
    let text = pdftotext(&pdf);
    let (no, doc_id, sha, url): (String, String, String, String) = sqlx::query_as(
        "SELECT s.student_no, d.doc_id, d.sha256, d.verify_url FROM documents d JOIN students s ON s.id = d.student_id",
    )
    .fetch_one(&app.db().pool)
    .await
    .unwrap();
    // Named in Chinese as the paper is titled, with an ASCII name for old clients.
    assert!(disposition.starts_with(&format!("inline; filename=\"registration-{id}.pdf\"; ")), "{disposition}");
    let encoded = disposition.split("filename*=UTF-8''").nth(1).expect("a UTF-8 name");
    assert_eq!(percent_decoded(encoded), format!("吉林省中小学生登记表-李𠮷䶮-{no}.pdf"));
    assert!(text.contains("李𠮷䶮"), "name with 𠮷 and 䶮 printed: {text}");
    assert!(text.contains(&no), "student number printed");
    assert!(text.contains(&doc_id), "document number printed");
    assert_eq!(sha, hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&pdf)), "recorded sha256 is the served bytes'");
    assert_eq!(decode_qr(&pdf), vec![url.clone()]);
    assert!(url.starts_with(&xueji::verify::qr_url(&app.base, "")), "{url}");
    assert_eq!(app.audit_count("document.print", &id, "ok").await, 1);
}

#[tokio::test]
async fn rendering_the_same_record_twice_gives_the_same_bytes() {
    let (app, id) = with_pupil("王同").await;
    let a = app.document(&id, "basic_info").await.bytes().await.unwrap();
    let b = app.document(&id, "basic_info").await.bytes().await.unwrap();
    assert_eq!(a, b);
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM documents").fetch_one(&app.db().pool).await.unwrap();
    assert_eq!(n, 1, "a re-print is the same document");
    // A change to the record makes a new document and supersedes the old one.
    sqlx::query("UPDATE students SET current_address = '吉林省长春市农安县新址2号'")
        .execute(&app.db().pool)
        .await
        .unwrap();
    let c = app.document(&id, "basic_info").await.bytes().await.unwrap();
    assert_ne!(a, c);
    let states: Vec<String> =
        sqlx::query_scalar("SELECT status FROM documents ORDER BY id").fetch_all(&app.db().pool).await.unwrap();
    assert_eq!(states, ["superseded", "valid"]);
}

#[tokio::test]
async fn an_unknown_kind_is_refused() {
    let (app, id) = with_pupil("王未知").await;
    let res = app.document(&id, "report_card").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["code"], "document.unknown_kind");
    snap_json!("error_document_unknown_kind", body);
}

#[tokio::test]
async fn a_suspension_form_for_a_graduate_is_refused() {
    let (app, id) = with_pupil("王毕业").await;
    sqlx::query("UPDATE students SET status = 'graduated'").execute(&app.db().pool).await.unwrap();
    let res = app.document(&id, "suspension_application").await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["code"], "document.not_allowed");
    assert!(body["message"].as_str().unwrap().contains("毕业"));
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM documents").fetch_one(&app.db().pool).await.unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn a_missing_photo_prints_an_empty_photo_box() {
    let (app, id) = with_pupil("王无照").await;
    let pdf = app.document(&id, "registration").await.bytes().await.unwrap();
    assert!(pdftotext(&pdf).contains("贴照片处"));
}

#[tokio::test]
async fn a_character_no_bundled_font_has_is_refused_with_the_field_named() {
    let (app, id) = with_pupil("王小明").await;
    sqlx::query("UPDATE students SET name = '王\u{E000}明'").execute(&app.db().pool).await.unwrap();
    let res = app.document(&id, "basic_info").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["code"], "render.missing_glyph");
    let msg = body["message"].as_str().unwrap();
    assert!(msg.contains("U+E000") && msg.contains("student.name"), "{msg}");
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM documents").fetch_one(&app.db().pool).await.unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn a_registrar_cannot_print_another_schools_student() {
    let (mut app, id) = with_pupil("王别校").await;
    app.login(&format!("r{CENTRAL}")).await;
    assert_eq!(app.document(&id, "basic_info").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.audit_count("document.print", &id, "denied").await, 1);
}

#[tokio::test]
async fn the_student_page_offers_the_documents_its_status_allows() {
    let (app, id) = with_pupil("王按钮").await;
    let page = app.student_page(&id).await.text().await.unwrap();
    assert!(page.contains("documents/basic_info") && page.contains("documents/suspension_application"));
    assert!(!page.contains("documents/recall_notice"), "a recall notice is for dropouts only");
}

#[tokio::test]
async fn a_class_batch_gives_one_pdf_with_a_page_per_student_and_shows_progress() {
    let mut app = spawn_app().await;
    let rows: Vec<_> = (0..12).map(|i| first_grader(&format!("批量{i}"), 500 + i)).collect();
    assert!(import_rows(app.db(), TOWN, rows).await.committed);
    app.login(&format!("r{TOWN}")).await;
    let res = app
        .start_batch_form(&[
            ("csrf", app.csrf.as_str()),
            ("school", TOWN),
            ("kind", "basic_info"),
            ("grade", "1"),
            ("class", "1"),
        ])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let job = res.headers()["location"].to_str().unwrap().to_owned();
    let mut page = String::new();
    for _ in 0..600 {
        page = app.follow(&job).await.text().await.unwrap();
        if !page.contains("正在生成") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(page.contains("下载文件"), "{page}");
    let pdf = app.follow(&format!("{job}/download")).await.bytes().await.unwrap();
    let text = pdftotext(&pdf);
    for i in 0..12 {
        assert!(text.contains(&format!("批量{i}")));
    }
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM documents").fetch_one(&app.db().pool).await.unwrap();
    assert_eq!(n, 12, "each page is a recorded document");

    // A job whose instance stopped (no heartbeat for a minute) is shown failed, saying why.
    let id = job.trim_start_matches("/batches/").to_owned();
    let owner: Option<i64> = sqlx::query_scalar("SELECT owner_id FROM batch_jobs WHERE id = $1")
        .bind(&id)
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    let gone = xueji::db::batch_jobs::NewJob {
        id: "00000000000000000000dead",
        owner_id: owner,
        title: "学生基本信息表",
        school_name: "测试县城小学",
        total: 30,
        instance: "a stopped instance",
        now: &(chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339(),
    };
    xueji::db::batch_jobs::insert(&app.db().pool, &gone).await.unwrap();
    let status: serde_json::Value = app.follow("/api/batches/00000000000000000000dead").await.json().await.unwrap();
    assert_eq!(status["state"], "failed", "{status}");
    assert!(status["error"].as_str().unwrap().contains("中断"), "{status}");
    let res = app.follow("/batches/00000000000000000000dead/download").await;
    assert_eq!(res.status(), StatusCode::CONFLICT);

    // Finished jobs expire (after `XUEJI_BATCH_KEEP_HOURS`): row and file go, the download is then not found.
    sqlx::query("UPDATE batch_jobs SET finished_at = '2000-01-01T00:00:00Z'").execute(&app.db().pool).await.unwrap();
    let expired = xueji::batch::expire(&app.app).await.unwrap();
    assert_eq!(expired, 2);
    assert!(app.app.archive.get_result(&format!("batch-{id}")).unwrap().is_none(), "the file is gone");
    assert_eq!(app.follow(&format!("{job}/download")).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_broken_template_stops_the_server_from_starting() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let templates = dir.path().join("templates");
    for sub in ["web", "forms", "forms/samples"] {
        std::fs::create_dir_all(templates.join(sub)).unwrap();
        for entry in std::fs::read_dir(root.join("templates").join(sub)).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_file() {
                std::fs::copy(entry.path(), templates.join(sub).join(entry.file_name())).unwrap();
            }
        }
    }
    let broken = templates.join("forms/basic_info.typ");
    let text = std::fs::read_to_string(&broken).unwrap();
    std::fs::write(&broken, format!("{text}\n#let broken = (\n")).unwrap();
    let mut config = xueji::config::Config::for_data_dir(dir.path().join("data"), None);
    config.templates_dir = Some(templates.clone());
    let err = xueji::app::Server::build(config).await.err().expect("refused").to_string();
    assert!(err.contains("basic_info.typ"), "{err}");

    let out = Command::new(env!("CARGO_BIN_EXE_xueji"))
        .args(["templates", "check"])
        .env("XUEJI_TEMPLATES_DIR", &templates)
        .env("XUEJI_FONTS_DIR", root.join("fonts"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("basic_info.typ:"), "{stdout}");
}

#[tokio::test]
async fn an_uploaded_photo_is_normalised_and_printed_and_a_bad_one_refused() {
    let (app, id) = with_pupil("王有照").await;
    let before = app.document(&id, "registration").await.bytes().await.unwrap();
    let mut png = Vec::new();
    image::RgbImage::from_fn(600, 800, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 128]))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let res = app.put_photo(&id, b"not an image".to_vec()).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let stored: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT photo FROM students").fetch_one(&app.db().pool).await.unwrap();
    assert!(stored.is_none(), "a refused photo is not stored");
    assert_eq!(app.put_photo(&id, png).await.status(), StatusCode::NO_CONTENT);
    let stored: Vec<u8> = sqlx::query_scalar("SELECT photo FROM students").fetch_one(&app.db().pool).await.unwrap();
    let img = image::load_from_memory(&stored).unwrap();
    assert_eq!((img.width(), img.height()), (295, 413), "25 × 35 mm at 300 dpi");
    let after = app.document(&id, "registration").await.bytes().await.unwrap();
    assert_ne!(before, after, "the form now carries the photo");
    assert!(!pdftotext(&after).contains("贴照片处"));
}

/// `%XX` sequences decoded (the `filename*` of a download).
fn percent_decoded(s: &str) -> String {
    let mut out = Vec::new();
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex: String = bytes.by_ref().take(2).map(char::from).collect();
            out.push(u8::from_str_radix(&hex, 16).expect("two hex digits"));
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).expect("UTF-8")
}
