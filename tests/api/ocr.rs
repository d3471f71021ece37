//! The text of archived papers: a printed form scanned at 300 dpi (TIFF and
//! JPEG, rendered with the bundled fonts), read by Tesseract, found by a
//! word, a rare-character name and a phrase; a PDF's own text layer taken as
//! is; a reading that fails leaves the scan archived and the job marked;
//! search within scope and audited. Needs `tesseract` with `chi_sim` and
//! poppler's `pdftoppm` (`.ci/run` installs them).

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use xueji::ocr::{self, Outcome, engine::Limits};

/// A name with a rare character (堃, U+5803).
const RARE: &str = "龚堃";
const DIAGNOSIS: &str = "#align(center, text(size: 20pt)[农安县人民医院 诊断证明书])";
const DIAGNOSIS_BODY: &str = "住址：农安县青山口乡三组\n\n经检查，该患儿患有支气管哮喘，需休息治疗三个月，建议休学。\n\n医师签字：王明　　2027 年 3 月 5 日";

fn limits() -> Limits {
    Limits { page_time: Duration::from_secs(120), memory: 2048 * 1024 * 1024, max_pages: 20 }
}

/// A page of paper the county never printed (a hospital's diagnosis, a
/// household-register page), typeset from `body` with the bundled Noto Serif
/// font by typst, as PDF.
fn paper(body: &str) -> Vec<u8> {
    use typst::diag::{FileError, FileResult};
    use typst::foundations::{Bytes, Datetime, Duration as TypstDuration};
    use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
    use typst::text::{Font, FontBook};
    use typst::utils::LazyHash;
    use typst::{Library, LibraryExt, World};

    struct Paper {
        library: LazyHash<Library>,
        book: LazyHash<FontBook>,
        fonts: Vec<Font>,
        main: Source,
    }
    impl World for Paper {
        fn library(&self) -> &LazyHash<Library> {
            &self.library
        }
        fn book(&self) -> &LazyHash<FontBook> {
            &self.book
        }
        fn main(&self) -> FileId {
            self.main.id()
        }
        fn source(&self, id: FileId) -> FileResult<Source> {
            if id == self.main.id() { Ok(self.main.clone()) } else { Err(FileError::AccessDenied) }
        }
        fn file(&self, _id: FileId) -> FileResult<Bytes> {
            Err(FileError::AccessDenied)
        }
        fn font(&self, index: usize) -> Option<Font> {
            self.fonts.get(index).cloned()
        }
        fn today(&self, _offset: Option<TypstDuration>) -> Option<Datetime> {
            None
        }
    }
    let font = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/fonts/NotoSerifCJKsc-Regular.otf")).unwrap();
    let fonts: Vec<Font> = Font::iter(Bytes::new(font)).collect();
    let source = format!(
        "#set page(paper: \"a4\", margin: 25mm)\n#set text(font: \"Noto Serif CJK SC\", size: 14pt, lang: \"zh\")\n#set par(leading: 1.2em)\n{body}"
    );
    let id = RootedPath::new(VirtualRoot::Project, VirtualPath::new("/main.typ").unwrap()).intern();
    let world = Paper {
        library: LazyHash::new(Library::builder().build()),
        book: LazyHash::new(FontBook::from_fonts(fonts.iter())),
        fonts,
        main: Source::new(id, source),
    };
    let doc = typst::compile::<typst_layout::PagedDocument>(&world).output.expect("the paper compiles");
    typst_pdf::pdf(&doc, &typst_pdf::PdfOptions::default()).expect("PDF")
}

/// Page 1 of `pdf` as a grey 300-dpi image, the way a scanner at the counter makes it.
fn scan_of(pdf: &[u8]) -> image::DynamicImage {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("form.pdf");
    std::fs::write(&input, pdf).unwrap();
    let out = dir.path().join("page");
    let status = std::process::Command::new("pdftoppm")
        .args(["-r", "300", "-gray", "-png", "-singlefile", "-f", "1", "-l", "1"])
        .arg(&input)
        .arg(&out)
        .status()
        .expect("pdftoppm (poppler-utils) is installed");
    assert!(status.success());
    image::open(out.with_extension("png")).unwrap()
}

fn encode(img: &image::DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    img.write_to(&mut bytes, format).unwrap();
    bytes.into_inner()
}

async fn read_all(app: &TestApp, limits: &Limits) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    while let Some(o) = ocr::run_one(&app.app.db, &app.app.archive, limits).await.unwrap() {
        assert_ne!(o, Outcome::EngineMissing, "tesseract with chi_sim and poppler-utils are installed");
        outcomes.push(o);
    }
    outcomes
}

async fn search(app: &TestApp, body: Value) -> Value {
    let res = app.search_archive(&body).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

async fn file_digest(app: &TestApp, digest: &str) -> String {
    sqlx::query_scalar("SELECT text_digest FROM archive_texts WHERE digest = $1")
        .bind(digest)
        .fetch_one(&app.db().pool)
        .await
        .unwrap()
}

fn digests(found: &Value) -> Vec<String> {
    let mut out: Vec<String> =
        found["hits"].as_array().unwrap().iter().map(|h| h["digest"].as_str().unwrap().to_owned()).collect();
    out.sort();
    out.dedup();
    out
}

#[tokio::test]
async fn a_scanned_form_is_read_and_found_by_word_name_and_phrase_within_scope() {
    let mut app = spawn_app().await;
    assert!(import_rows(app.db(), TOWN, vec![first_grader(RARE, 11)]).await.committed);
    assert!(import_rows(app.db(), VILLAGE, vec![first_grader("村小乙", 13)]).await.committed);
    app.login(&format!("r{TOWN}")).await;
    let pid = app.public_id(RARE).await;
    let pdf = paper(&format!("{DIAGNOSIS}\n\n患儿姓名：{RARE}　性别：男\n\n{DIAGNOSIS_BODY}"));
    let scan = scan_of(&pdf);
    let tiff = encode(&scan, image::ImageFormat::Tiff);
    let jpeg = encode(&scan.to_rgb8().into(), image::ImageFormat::Jpeg);
    let mut uploaded = Vec::new();
    for (name, bytes) in [("diagnosis.tif", tiff), ("diagnosis.jpg", jpeg), ("diagnosis.pdf", pdf)] {
        let res = app.upload_scan(&pid, &format!("kind=diagnosis&name={name}"), bytes).await;
        assert_eq!(res.status(), StatusCode::CREATED, "{name}");
        let body: Value = res.json().await.unwrap();
        uploaded.push(body["entry"]["digest"].as_str().unwrap().to_owned());
    }
    // Queued with the upload, read afterwards: the upload itself never waits for OCR.
    let queued: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ocr_jobs WHERE state = 'queued'")
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    assert_eq!(queued, 3);
    let outcomes = read_all(&app, &limits()).await;
    assert_eq!(outcomes, vec![Outcome::Done(1); 3]);
    // The PDF's own text layer is taken as is; the scans are read by Tesseract.
    let sources: Vec<(String, String)> = sqlx::query_as("SELECT digest, source FROM archive_texts ORDER BY digest")
        .fetch_all(&app.db().pool)
        .await
        .unwrap();
    assert_eq!(sources.iter().filter(|(_, s)| s == "ocr").count(), 2, "{sources:?}");
    assert_eq!(sources.iter().filter(|(_, s)| s == "pdf_text").count(), 1, "{sources:?}");

    let mut all = uploaded.clone();
    all.sort();
    // A word of the form, the rare name, and a phrase in quotation marks.
    for text in ["休学", RARE, "\"青山口乡\"", "人民医院 休学"] {
        let found = search(&app, json!({"text": text})).await;
        let read: Vec<String> =
            sqlx::query_scalar("SELECT text FROM archive_text_pages").fetch_all(&app.db().pool).await.unwrap();
        assert_eq!(digests(&found), all, "{text}: {found}\n{}", read.join("\n----\n"));
        let hit = &found["hits"][0];
        assert_eq!(hit["text_page"], 1);
        let first = text.replace('"', "");
        assert_eq!(hit["snippet"]["hit"].as_str(), first.split(' ').next(), "{hit}");
    }
    // Combined with the other filters: a kind this dossier lacks finds nothing.
    assert_eq!(search(&app, json!({"text": RARE, "kind": "household_register"})).await["total"], 0);
    assert_eq!(search(&app, json!({"text": RARE, "kind": "diagnosis"})).await["total"], 3);
    // A phrase whose characters are all on the page but not together is not a match.
    assert_eq!(search(&app, json!({"text": "\"山口青\""})).await["total"], 0);
    // A bad query is a clear error.
    let res = app.search_archive(&json!({"text": "\"未闭合"})).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "archive.search_text");
    // The search is audited by criteria, never by what was searched for.
    let detail: String = sqlx::query_scalar(
        "SELECT detail FROM audit_log WHERE action = 'archive.search' ORDER BY id DESC LIMIT 1 OFFSET 1",
    )
    .fetch_one(&app.db().pool)
    .await
    .unwrap();
    assert!(detail.contains("by=") && detail.contains("text") && !detail.contains(RARE), "{detail}");

    // Another school's registrar finds nothing of this pupil's papers.
    app.login(&format!("r{CENTRAL}")).await;
    assert_eq!(search(&app, json!({"text": RARE})).await["total"], 0);
    // The bureau finds them, and the dossier shows each reading.
    app.login("bureau").await;
    assert_eq!(digests(&search(&app, json!({"text": RARE})).await), all);
    let dossier: Value = app.dossier(&pid).await.json().await.unwrap();
    let texts = dossier["texts"].as_array().unwrap();
    assert_eq!(texts.len(), 3, "{dossier}");
    assert!(texts.iter().all(|t| t["state"] == "done" && t["pages"] == 1), "{dossier}");
    // The derived text file: its own digest, the engine, each page.
    let res = app.fetch(&format!("/api/students/{pid}/archive/{}/text", uploaded[0])).await;
    assert_eq!(res.status(), StatusCode::OK);
    let file: Value = res.json().await.unwrap();
    assert_eq!(file["format"], "xueji-text/1");
    assert_eq!(file["object"], uploaded[0]);
    assert_eq!(file["engine"], "tesseract");
    assert!(file["pages"][0]["text"].as_str().unwrap().contains("青山口乡"), "{file}");

    // Reindex from the derived files gives the same answers.
    let report = ocr::reindex(&app.app.db, &app.app.archive).await.unwrap();
    assert_eq!((report.texts, report.pages, report.requeued), (3, 3, 0));
    assert_eq!(digests(&search(&app, json!({"text": RARE})).await), all);
    // A derived file changed on disk is not trusted: the reindex queues its scan to be read again.
    if app.app.archive.local_store().is_some() {
        let text_digest = file_digest(&app, &uploaded[0]).await;
        let path = app.app.archive.root().join("derived").join(format!("{text_digest}.json"));
        std::fs::write(&path, b"{}").unwrap();
        let res = app.fetch(&format!("/api/students/{pid}/archive/{}/text", uploaded[0])).await;
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let report = ocr::reindex(&app.app.db, &app.app.archive).await.unwrap();
        assert_eq!((report.texts, report.requeued), (2, 1));
        assert_eq!(read_all(&app, &limits()).await, vec![Outcome::Done(1)]);
        assert_eq!(digests(&search(&app, json!({"text": "\"青山口乡\""})).await), all);
    }
}

#[tokio::test]
async fn a_reading_that_fails_leaves_the_scan_archived_and_the_job_marked() {
    let mut app = spawn_app().await;
    assert!(import_rows(app.db(), TOWN, vec![first_grader("县城甲", 11)]).await.committed);
    app.login(&format!("r{TOWN}")).await;
    let pid = app.public_id("县城甲").await;
    let pdf = app.document(&pid, "admission_notice").await.bytes().await.unwrap().to_vec();
    let scan = encode(&scan_of(&pdf), image::ImageFormat::Png);
    let res = app.upload_scan(&pid, "kind=registration_form&name=form.png", scan.clone()).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let digest = res.json::<Value>().await.unwrap()["entry"]["digest"].as_str().unwrap().to_owned();
    // Too little time for a page: each try times out; after the third the job is failed.
    let hurried = Limits { page_time: Duration::from_millis(1), ..limits() };
    let outcomes = read_all(&app, &hurried).await;
    assert_eq!(
        outcomes,
        vec![
            Outcome::Failed { code: "ocr.timeout", last: false },
            Outcome::Failed { code: "ocr.timeout", last: false },
            Outcome::Failed { code: "ocr.timeout", last: true },
        ]
    );
    let job: (String, Option<String>, i64) =
        sqlx::query_as("SELECT state, error_code, attempts FROM ocr_jobs WHERE digest = $1")
            .bind(&digest)
            .fetch_one(&app.db().pool)
            .await
            .unwrap();
    assert_eq!(job, ("failed".to_owned(), Some("ocr.timeout".to_owned()), 3));
    // The scan is as it was archived, byte for byte; nothing was indexed.
    let back = app.download_scan(&pid, &digest).await.bytes().await.unwrap().to_vec();
    assert_eq!(back, scan);
    let texts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM archive_texts").fetch_one(&app.db().pool).await.unwrap();
    assert_eq!(texts, 0);
    let dossier: Value = app.dossier(&pid).await.json().await.unwrap();
    assert_eq!(dossier["texts"][0]["state"], "failed");
    assert_eq!(dossier["texts"][0]["error_code"], "ocr.timeout");
    // Too little memory: the reader cannot start; a clear code, the scan kept.
    let res = app
        .upload_scan(
            &pid,
            "kind=other&name=form2.jpg",
            encode(&scan_of(&pdf).to_rgb8().into(), image::ImageFormat::Jpeg),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let starved = Limits { memory: 4 * 1024 * 1024, ..limits() };
    let outcomes = read_all(&app, &starved).await;
    assert_eq!(outcomes.last(), Some(&Outcome::Failed { code: "ocr.failed", last: true }));
    // Queued again (as `xueji archive ocr --retry-failed` does), it reads with the normal limits.
    let requeued =
        xueji::db::archive_text::requeue(&app.db().pool, xueji::db::archive_text::Requeue::Failed).await.unwrap();
    assert_eq!(requeued, 2);
    assert_eq!(read_all(&app, &limits()).await, vec![Outcome::Done(1); 2]);
}

#[tokio::test]
async fn the_text_travels_with_the_dossier_and_the_package_reads_without_the_program() {
    let mut a = spawn_app().await;
    assert!(import_rows(a.db(), TOWN, vec![first_grader(RARE, 11)]).await.committed);
    a.login("bureau").await;
    let pid_a = a.public_id(RARE).await;
    let pdf = paper(&format!("{DIAGNOSIS}\n\n患儿姓名：{RARE}　性别：男\n\n{DIAGNOSIS_BODY}"));
    let tiff = encode(&scan_of(&pdf), image::ImageFormat::Tiff);
    let res = a.upload_scan(&pid_a, "kind=diagnosis&name=diagnosis.tif", tiff).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let digest = res.json::<Value>().await.unwrap()["entry"]["digest"].as_str().unwrap().to_owned();
    assert_eq!(read_all(&a, &limits()).await, vec![Outcome::Done(1)]);
    let res = a.export_dossier(&pid_a).await;
    assert_eq!(res.status(), StatusCode::OK);
    let bag = res.bytes().await.unwrap().to_vec();
    // The package: the scan, its text, an inventory and a README anyone can open.
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&bag)).unwrap();
    let names: Vec<String> = zip.file_names().map(|n| n.unwrap().into_owned()).collect();
    for name in [
        format!("data/objects/{digest}.tif"),
        format!("data/text/{digest}.json"),
        "data/inventory.json".to_owned(),
        "data/README.txt".to_owned(),
    ] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    let mut inventory = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("data/inventory.json").unwrap(), &mut inventory).unwrap();
    let inventory: Value = serde_json::from_str(&inventory).unwrap();
    assert_eq!(inventory["versions"]["v1"]["state"][&digest]["kind"], "诊断证明");
    assert_eq!(inventory["manifest"][&digest][0], format!("objects/{digest}.tif"));

    // The receiving county keeps the reading as its own: found at once, nothing read again.
    let mut b = spawn_app().await;
    assert!(import_rows(b.db(), TOWN, vec![first_grader(RARE, 11)]).await.committed);
    crate::archive::trust(&a, &b);
    b.login("bureau").await;
    let res = b.import_dossier(bag).await;
    assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap());
    let job: (String,) = sqlx::query_as("SELECT state FROM ocr_jobs WHERE digest = $1")
        .bind(&digest)
        .fetch_one(&b.db().pool)
        .await
        .unwrap();
    assert_eq!(job.0, "done");
    let found = search(&b, json!({"text": "\"青山口乡\""})).await;
    assert_eq!(digests(&found), vec![digest.clone()], "{found}");
    assert!(read_all(&b, &limits()).await.is_empty());
}

/// A TIFF with `pages` as its pages, in grey.
fn tiff_of(pages: &[image::DynamicImage]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut enc = tiff::encoder::TiffEncoder::new(&mut out).unwrap();
        for page in pages {
            let grey = page.to_luma8();
            enc.write_image::<tiff::encoder::colortype::Gray8>(grey.width(), grey.height(), grey.as_raw()).unwrap();
        }
    }
    out.into_inner()
}

/// The page a search hit was found on, shown beside it: page 2 of a TIFF is
/// its own picture, a PDF page is a JPEG, a page the scan lacks is a clear
/// 404, each made once and kept as a derived file; another school's
/// registrar gets 404, and every read is audited.
#[tokio::test]
async fn a_page_preview_shows_that_page_within_scope_made_once_and_audited() {
    let mut app = spawn_app().await;
    assert!(import_rows(app.db(), TOWN, vec![first_grader(RARE, 11)]).await.committed);
    app.login(&format!("r{TOWN}")).await;
    let pid = app.public_id(RARE).await;
    let pdf = paper(&format!("{DIAGNOSIS}\n\n患儿姓名：{RARE}\n\n{DIAGNOSIS_BODY}"));
    let first = scan_of(&pdf).thumbnail(1240, 1754);
    let second = scan_of(&paper("#align(center, text(size: 40pt)[户口簿 第二页])")).thumbnail(1240, 1754);
    let mut digests = Vec::new();
    for (name, bytes) in [("two-pages.tif", tiff_of(&[first, second])), ("diagnosis.pdf", pdf)] {
        let res = app.upload_scan(&pid, &format!("kind=diagnosis&name={name}"), bytes).await;
        assert_eq!(res.status(), StatusCode::CREATED, "{name}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["entry"]["pages"], if name.ends_with(".tif") { 2 } else { 1 }, "{body}");
        digests.push(body["entry"]["digest"].as_str().unwrap().to_owned());
    }
    let (tiff, pdf) = (&digests[0], &digests[1]);
    let jpeg = |bytes: &[u8]| {
        assert_eq!(image::guess_format(bytes).unwrap(), image::ImageFormat::Jpeg);
        let img = image::load_from_memory(bytes).unwrap();
        assert!(img.width().max(img.height()) <= xueji::dossier::PREVIEW_SIZE, "small");
        img
    };
    let mut previews = Vec::new();
    for (digest, page) in [(tiff, "1"), (tiff, "2"), (pdf, "1")] {
        let res = app.page_preview(&pid, digest, page).await;
        assert_eq!(res.status(), StatusCode::OK, "{digest} page {page}");
        assert_eq!(res.headers()["content-type"], "image/jpeg");
        let bytes = res.bytes().await.unwrap().to_vec();
        jpeg(&bytes);
        previews.push(bytes);
    }
    assert_ne!(previews[0], previews[1], "page 2 of the TIFF is not page 1");
    // Made once: asked again, the kept file is served, one derived file a page.
    assert_eq!(app.page_preview(&pid, tiff, "2").await.bytes().await.unwrap().to_vec(), previews[1]);
    let kept: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM archive_previews").fetch_one(&app.db().pool).await.unwrap();
    assert_eq!(kept, 3);
    let derived = app.app.archive.derived_files().unwrap();
    assert_eq!(derived.iter().filter(|(_, ext)| ext == "jpg").count(), 3, "{derived:?}");
    // A page the scan does not have.
    for (digest, page) in [(tiff, "3"), (tiff, "0"), (pdf, "2"), (tiff, "x")] {
        let res = app.page_preview(&pid, digest, page).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{digest} page {page}");
        assert_eq!(res.json::<Value>().await.unwrap()["code"], "archive.page_not_found");
    }
    assert_eq!(app.audit_count("archive.page_preview", &pid, "ok").await, 4);
    assert_eq!(app.audit_count("archive.page_preview", &pid, "not_found").await, 4);
    // The search page shows each hit's page beside it (the PDF's too).
    let res = app.search_archive_form(&[("csrf", app.csrf.as_str()), ("kind", "diagnosis")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    for digest in [tiff, pdf] {
        assert!(page.contains(&format!("/archive/{digest}/pages/1/preview")), "{page}");
    }

    // Another school's registrar: 404, and the attempt audited.
    app.login(&format!("r{CENTRAL}")).await;
    let res = app.page_preview(&pid, tiff, "2").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.audit_count("archive.page_preview", &pid, "denied").await, 1);
}

/// The kept archive, readable without the program: each dossier has an
/// inventory beside its versions (every file by sha256 with its path, each
/// version's papers, the text read off them), a version's own inventory is
/// written once, and the archive's root has a README in Chinese.
#[tokio::test]
async fn the_kept_archive_lists_each_dossier_with_its_papers_and_texts() {
    let mut app = spawn_app().await;
    assert!(import_rows(app.db(), TOWN, vec![first_grader(RARE, 11)]).await.committed);
    app.login(&format!("r{TOWN}")).await;
    let pid = app.public_id(RARE).await;
    let pdf = paper(&format!("{DIAGNOSIS}\n\n患儿姓名：{RARE}\n\n{DIAGNOSIS_BODY}"));
    let res = app.upload_scan(&pid, "kind=diagnosis&name=diagnosis.pdf", pdf).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let scan = res.json::<Value>().await.unwrap()["entry"]["digest"].as_str().unwrap().to_owned();
    let archive = &app.app.archive;
    let id: String = sqlx::query_scalar("SELECT archive_id FROM dossiers").fetch_one(&app.db().pool).await.unwrap();
    let inventory = |bytes: Vec<u8>| serde_json::from_slice::<Value>(&bytes).unwrap();
    // Inventoried (as `xueji archive reindex` does): version 1's inventory, before any text.
    xueji::dossier::inventory::write_all(app.db(), archive).await.unwrap();
    let v1 = archive.version_inventory(&id, 1).unwrap().expect("v1 inventory");
    let before = inventory(v1.clone());
    assert_eq!(before["type"], "xueji-dossier-inventory/1");
    assert_eq!(before["head"], "v1");
    assert_eq!(before["versions"]["v1"]["state"][&scan]["kind"], "诊断证明");
    assert!(before["versions"]["v1"]["state"][&scan].get("text").is_none());

    // Read: the current inventory lists the text, version 1's is unchanged.
    assert_eq!(read_all(&app, &limits()).await, vec![Outcome::Done(1)]);
    let now = inventory(archive.inventory(&id).unwrap().expect("inventory"));
    let text = format!("derived/{}.json", file_digest(&app, &scan).await);
    assert_eq!(now["versions"]["v1"]["state"][&scan]["text"], text.as_str(), "{now}");
    assert_eq!(now["versions"]["v1"]["state"][&scan]["file"], format!("objects/{}/{scan}", &scan[..2]));
    assert_eq!(now["versions"]["v1"]["file"], format!("dossiers/{id}/v1.json"));
    assert_eq!(archive.version_inventory(&id, 1).unwrap(), Some(v1.clone()), "written once");
    // Every file the inventory lists is where it says, with that sha256.
    let listed = now["manifest"].as_object().unwrap();
    assert_eq!(listed.len(), 3, "the scan, the version, the text: {now}");
    if let Some(local) = archive.local_store() {
        let root = local.objects_dir().parent().unwrap().to_path_buf();
        for (sum, paths) in listed {
            for path in paths.as_array().unwrap() {
                let bytes = std::fs::read(root.join(path.as_str().unwrap())).unwrap();
                assert_eq!(&xueji_archive::Digest::of(&bytes).to_hex(), sum, "{path}");
            }
        }
        let readme = std::fs::read_to_string(root.join("README.txt")).unwrap();
        assert!(readme.contains("inventories/") && readme.contains("查找某个学生的材料"), "{readme}");
    }

    // A second paper: version 2's inventory, version 1's still as written.
    let res = app
        .upload_scan(&pid, "kind=other&name=note.jpg", encode(&scan_of(&paper("说明")), image::ImageFormat::Jpeg))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    // An upload leaves the inventory to the nightly reindex (docs/search.md).
    assert_eq!(inventory(archive.inventory(&id).unwrap().unwrap())["head"], "v1");
    let report = xueji::dossier::inventory::write_all(&app.app.db, archive).await.unwrap();
    assert_eq!(report.version_files_written, 1);
    assert_eq!(inventory(archive.inventory(&id).unwrap().unwrap())["head"], "v2");
    assert!(archive.version_inventory(&id, 2).unwrap().is_some());
    assert_eq!(archive.version_inventory(&id, 1).unwrap(), Some(v1));
    // Written again for every dossier (as `xueji archive reindex` does): nothing new to write.
    let report = xueji::dossier::inventory::write_all(&app.app.db, archive).await.unwrap();
    assert_eq!((report.dossiers, report.version_files_written, report.texts), (1, 0, 1));
    // The fixity check counts the inventories and the README as no strays.
    let fixity = archive.verify(&|_| {}).unwrap();
    assert!(fixity.stray.is_empty(), "{:?}", fixity.stray);
}
