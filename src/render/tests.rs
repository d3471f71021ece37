//! Tests of the render module: every kind from its sample, determinism, rare
//! characters, missing glyphs, broken templates, text extraction and the QR
//! code read back from a rasterised page.
//!
//! They need the bundled fonts and templates of the repository and the
//! `pdftotext` / `pdftoppm` tools (poppler-utils).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::*;

fn repo_dir(sub: &str) -> PathBuf {
    // The module lives at <repo>/src/render; the scratch crate points its
    // `[lib] path` here, so this file's directory finds the repository.
    Path::new(file!())
        .parent()
        .and_then(|p| p.parent())
        .and_then(|p| p.parent())
        .map(|p| p.join(sub))
        .filter(|p| p.is_dir())
        .unwrap_or_else(|| PathBuf::from("/work/main").join(sub))
}

fn templates_dir() -> PathBuf {
    repo_dir("templates/forms")
}

fn fonts_dir() -> PathBuf {
    repo_dir("fonts")
}

fn renderer() -> &'static Renderer {
    static R: OnceLock<Renderer> = OnceLock::new();
    R.get_or_init(|| Renderer::new(&templates_dir(), &fonts_dir()).expect("renderer builds"))
}

fn sample(kind: DocKind) -> serde_json::Value {
    let path = templates_dir().join("samples").join(format!("{}.json", kind.code()));
    serde_json::from_str(&std::fs::read_to_string(path).expect("sample exists")).expect("json")
}

fn day() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2025, 7, 10).expect("date")
}

fn request(kind: DocKind) -> RenderRequest {
    RenderRequest { kind, data: sample(kind), photo: None, issue_date: day() }
}

/// A synthetic 600 x 700 PNG "photo": a gradient with a dark disc.
fn test_photo() -> Vec<u8> {
    let img = image::RgbImage::from_fn(600, 700, |x, y| {
        let (dx, dy) = (x as i64 - 300, y as i64 - 300);
        if dx * dx + dy * dy < 150 * 150 {
            image::Rgb([60, 40, 30])
        } else {
            image::Rgb([(x / 3) as u8, 120, (y / 3) as u8])
        }
    });
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("png");
    out
}

fn pdf_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("doc.pdf");
    std::fs::write(&path, pdf).expect("write");
    let out = Command::new("pdftotext").arg(&path).arg("-").output().expect("pdftotext runs");
    assert!(out.status.success(), "pdftotext failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Text without the spaces and line breaks layout puts between characters.
fn squeeze(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

#[test]
fn kinds_have_stable_codes() {
    for kind in DocKind::ALL {
        assert_eq!(kind.code().parse::<DocKind>().expect("parses"), kind);
        assert_eq!(serde_json::to_value(kind).expect("serialises"), serde_json::json!(kind.code()));
        assert!(!kind.title_zh().is_empty());
    }
    let err = "diploma".parse::<DocKind>().expect_err("unknown");
    assert_eq!(err.code(), "render.unknown_kind");
}

#[test]
fn renderer_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Renderer>();
    check::<RenderError>();
}

#[test]
fn templates_check_clean() {
    let problems = renderer().check_templates();
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn every_kind_renders_from_its_sample() {
    let r = renderer();
    for kind in DocKind::ALL {
        let mut req = request(kind);
        req.photo = Some(test_photo());
        let pdf = r.render(&req).unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert!(pdf.bytes.starts_with(b"%PDF-"), "{kind}");
        assert_eq!(pdf.pages, 1, "{kind} should fit on one page");
        assert_eq!(pdf.sha256.len(), 64);
        let text = squeeze(&pdf_text(&pdf.bytes));
        let title = match kind {
            // Spaced titles come out with the spacing.
            DocKind::RecordCard => "学籍卡",
            other => other.title_zh(),
        };
        assert!(text.contains(title), "{kind}: title missing in {text}");
    }
}

/// Writes every kind's sample as a PDF and a 100 dpi PNG of its first page
/// to `target/test-artefacts/samples/`, to look at after editing a template
/// (`cargo test --lib render::tests::write_samples -- --ignored`; the
/// templates and samples are read at run time, so no rebuild is needed).
#[test]
#[ignore = "writes files to look at"]
fn write_samples() {
    let exe = std::env::current_exe().expect("test binary");
    let target = exe.ancestors().nth(3).map_or_else(|| PathBuf::from("target"), Path::to_path_buf);
    let dir = target.join("test-artefacts").join("samples");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let r = Renderer::new(&templates_dir(), &fonts_dir()).expect("renderer builds");
    for kind in DocKind::ALL {
        let pdf = r.render(&request(kind)).unwrap_or_else(|e| panic!("{kind}: {e}"));
        let path = dir.join(format!("{}.pdf", kind.code()));
        std::fs::write(&path, &pdf.bytes).expect("write");
        let status = Command::new("pdftoppm")
            .args(["-r", "100", "-png", "-singlefile", "-f", "1"])
            .arg(&path)
            .arg(dir.join(kind.code()))
            .status()
            .expect("pdftoppm runs");
        assert!(status.success());
        println!("{kind}: {} page(s), {}", pdf.pages, path.display());
    }
}

#[test]
fn same_request_gives_identical_bytes() {
    let r = renderer();
    for kind in [DocKind::GraduationCertificate, DocKind::Registration] {
        let mut req = request(kind);
        req.photo = Some(test_photo());
        let a = r.render(&req).expect("first");
        let b = r.render(&req).expect("second");
        assert_eq!(a.sha256, b.sha256, "{kind}");
        assert_eq!(a.bytes, b.bytes, "{kind}");
    }
    // A different issue date changes the bytes (timestamp and printed date).
    let mut req = request(DocKind::GraduationCertificate);
    let a = r.render(&req).expect("a");
    req.issue_date = day().succ_opt().expect("next day");
    let b = r.render(&req).expect("b");
    assert_ne!(a.sha256, b.sha256);
}

#[test]
fn parallel_renders_agree() {
    let r = renderer();
    let req = request(DocKind::CompulsoryCertificate);
    let expected = r.render(&req).expect("render").sha256;
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|_| s.spawn(|| (0..3).map(|_| r.render(&req).expect("render").sha256).collect::<Vec<_>>()))
            .collect();
        for h in handles {
            for sha in h.join().expect("thread") {
                assert_eq!(sha, expected);
            }
        }
    });
}

#[test]
fn rare_characters_render() {
    let r = renderer();
    let rare = "𠮷䶮㙟𪚥龘喆堃赟玥珺婳昇·";
    for c in rare.chars() {
        assert!(r.can_print(c), "bundled fonts lack {c} ({})", codepoint(c));
    }
    for kind in [DocKind::GraduationCertificate, DocKind::Registration] {
        let mut req = request(kind);
        req.data["student"]["name"] = "吉𠮷䶮".into();
        req.data["student"]["former_name"] = "阿依古丽·㙟𪚥龘".into();
        req.data["student"]["current_address"] = "喆堃赟玥珺婳昇".into();
        let pdf = r.render(&req).unwrap_or_else(|e| panic!("{kind}: {e}"));
        let text = squeeze(&pdf_text(&pdf.bytes));
        assert!(text.contains("吉𠮷䶮"), "{kind}: {text}");
    }
}

#[test]
fn uncovered_character_is_refused_with_field_and_codepoint() {
    let r = renderer();
    for (bad, cp) in [('\u{E000}', "U+E000"), ('😀', "U+1F600")] {
        let mut req = request(DocKind::GraduationCertificate);
        req.data["student"]["name"] = format!("王{bad}明").into();
        match r.render(&req) {
            Err(RenderError::MissingGlyph { ch, codepoint, field }) => {
                assert_eq!(ch, bad);
                assert_eq!(codepoint, cp);
                assert_eq!(field, "student.name");
            }
            other => panic!("expected MissingGlyph, got {other:?}"),
        }
    }
    // Nested paths are named too.
    let mut req = request(DocKind::Registration);
    req.data["family"][1]["name"] = "李\u{E123}".into();
    let err = r.render(&req).expect_err("refused");
    assert_eq!(err.code(), "render.missing_glyph");
    assert!(err.to_string().contains("family[1].name"), "{err}");
    assert!(err.to_string().contains("U+E123"), "{err}");
}

/// A copy of the templates directory in a temp dir, to break things in.
fn temp_templates() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = templates_dir();
    for entry in std::fs::read_dir(&src).expect("templates") {
        let path = entry.expect("entry").path();
        if path.is_file() {
            std::fs::copy(&path, dir.path().join(path.file_name().expect("name"))).expect("copy");
        }
    }
    std::fs::create_dir(dir.path().join("samples")).expect("mkdir");
    for entry in std::fs::read_dir(src.join("samples")).expect("samples") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, dir.path().join("samples").join(path.file_name().expect("name"))).expect("copy");
    }
    dir
}

#[test]
fn broken_template_is_reported_with_file_and_line() {
    let dir = temp_templates();
    let file = dir.path().join("graduation_certificate.typ");
    let mut text = std::fs::read_to_string(&file).expect("read");
    // Line 4 of the file becomes an unclosed call.
    let mut lines: Vec<&str> = text.lines().collect();
    lines.insert(3, "#let broken = foo(1, ");
    text = lines.join("\n");
    std::fs::write(&file, text).expect("write");
    // An undefined variable in another template, at a known line.
    let file2 = dir.path().join("recall_notice.typ");
    let mut lines2: Vec<String> = std::fs::read_to_string(&file2).expect("read").lines().map(str::to_owned).collect();
    let at = lines2.iter().position(|l| l.contains("let r = at(data, \"recall\")")).expect("line");
    lines2.insert(at + 1, "  let oops = no-such-helper(r)".to_owned());
    std::fs::write(&file2, lines2.join("\n")).expect("write");

    let r = Renderer::new(dir.path(), &fonts_dir()).expect("renderer builds anyway");
    let problems = r.check_templates();
    let grad = problems.iter().find(|p| p.kind == DocKind::GraduationCertificate).expect("graduation problem");
    assert_eq!(grad.file, "graduation_certificate.typ");
    assert!(grad.line >= 4, "{grad:?}");
    let recall = problems.iter().find(|p| p.kind == DocKind::RecallNotice).expect("recall problem");
    assert_eq!(recall.file, "recall_notice.typ");
    assert_eq!(recall.line, at + 2, "{recall:?}");
    assert!(recall.message.contains("no-such-helper"), "{recall:?}");
    assert_eq!(problems.len(), 2, "{problems:#?}");

    // Rendering the broken kind fails with the same location.
    match r.render(&request(DocKind::RecallNotice)) {
        Err(RenderError::Template { file, line, .. }) => {
            assert_eq!(file, "recall_notice.typ");
            assert_eq!(line, at + 2);
        }
        other => panic!("expected Template error, got {other:?}"),
    }
}

#[test]
fn template_text_without_glyph_is_refused() {
    let dir = temp_templates();
    let file = dir.path().join("basic_info.typ");
    let mut lines: Vec<String> = std::fs::read_to_string(&file).expect("read").lines().map(str::to_owned).collect();
    let at = lines.iter().position(|l| l.trim_start().starts_with("set text(size:")).expect("line");
    // Template text with a private-use character: only the layout walk sees it.
    lines.insert(at + 1, "  [备注\u{E000}说明]".to_owned());
    std::fs::write(&file, lines.join("\n")).expect("write");
    let r = Renderer::new(dir.path(), &fonts_dir()).expect("renderer");
    match r.render(&request(DocKind::BasicInfo)) {
        Err(RenderError::MissingGlyph { ch, codepoint, field }) => {
            assert_eq!(ch, '\u{E000}');
            assert_eq!(codepoint, "U+E000");
            assert_eq!(field, format!("template:basic_info.typ:{}", at + 2));
        }
        other => panic!("expected MissingGlyph, got {other:?}"),
    }
    let problems = r.check_templates();
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].file, "basic_info.typ");
    assert_eq!(problems[0].line, at + 2);
    assert!(problems[0].message.contains("U+E000"), "{problems:#?}");
}

#[test]
fn edited_template_is_picked_up() {
    let dir = temp_templates();
    let r = Renderer::new(dir.path(), &fonts_dir()).expect("renderer");
    let before = r.template_version(DocKind::AdmissionNotice);
    let req = request(DocKind::AdmissionNotice);
    let text = squeeze(&pdf_text(&r.render(&req).expect("render").bytes));
    assert!(!text.contains("新版措辞"));
    let file = dir.path().join("admission_notice.typ");
    let edited = std::fs::read_to_string(&file).expect("read").replace("联系人：", "新版措辞联系人：");
    std::fs::write(&file, edited).expect("write");
    let after = r.template_version(DocKind::AdmissionNotice);
    assert_ne!(before, after);
    assert_eq!(after.len(), 12);
    let text = squeeze(&pdf_text(&r.render(&req).expect("render").bytes));
    assert!(text.contains("新版措辞"), "{text}");
    // Other kinds keep their version.
    assert_eq!(r.template_version(DocKind::BasicInfo), renderer().template_version(DocKind::BasicInfo));
}

#[test]
fn text_extraction_finds_name_number_and_student_no() {
    let r = renderer();
    for kind in [
        DocKind::GraduationCertificate,
        DocKind::CompulsoryCertificate,
        DocKind::AcademicProof,
        DocKind::TransferApplication,
        DocKind::RecallNotice,
    ] {
        let req = request(kind);
        let pdf = r.render(&req).expect("render");
        let text = squeeze(&pdf_text(&pdf.bytes));
        let data = &req.data;
        for pointer in ["/student/name", "/student/student_no", "/document/number"] {
            let want = data.pointer(pointer).and_then(|v| v.as_str()).expect(pointer);
            assert!(text.contains(&squeeze(want)), "{kind}: {pointer} = {want} not in {text}");
        }
    }
}

#[test]
fn missing_photo_prints_the_paste_box() {
    let r = renderer();
    let pdf = r.render(&request(DocKind::Registration)).expect("render");
    assert!(squeeze(&pdf_text(&pdf.bytes)).contains("贴照片处"));
    let mut req = request(DocKind::Registration);
    req.photo = Some(test_photo());
    let pdf = r.render(&req).expect("render");
    assert!(!squeeze(&pdf_text(&pdf.bytes)).contains("贴照片处"));
}

#[test]
fn qr_code_decodes_to_the_verify_url() {
    let r = renderer();
    // A signed token makes a long URL (a denser code); it must still read back.
    // 299 digits: a certificate's token (see `verify::token`).
    let digits: String = (0..299).map(|i| char::from(b'0' + (i * 7 % 10) as u8)).collect();
    let long = format!("HTTPS://XJ.NONGAN.EXAMPLE/V/{digits}");
    for (kind, url) in [
        (DocKind::GraduationCertificate, None),
        (DocKind::BasicInfo, None),
        (DocKind::AcademicProof, None),
        (DocKind::Registration, Some(long.clone())),
        (DocKind::CompulsoryCertificate, Some(long)),
    ] {
        let mut req = request(kind);
        // 150 dpi as a cheap scan: the code is drawn at 0.6 mm a module or more.
        let dpi = "150";
        if let Some(url) = url {
            req.data["document"]["verify_url"] = url.into();
        }
        let url = req.data["document"]["verify_url"].as_str().expect("url").to_owned();
        let pdf = r.render(&req).expect("render");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("doc.pdf");
        std::fs::write(&path, &pdf.bytes).expect("write");
        let status = Command::new("pdftoppm")
            .args(["-r", dpi, "-png", "-singlefile"])
            .arg(&path)
            .arg(dir.path().join("page"))
            .status()
            .expect("pdftoppm runs");
        assert!(status.success());
        let mut img = image::open(dir.path().join("page.png")).expect("png").to_luma8();
        // Binarise first, as a scanner would: rqrr's adaptive threshold over a
        // whole landscape page misses codes in wide blank areas.
        for px in img.pixels_mut() {
            px.0[0] = if px.0[0] < 128 { 0 } else { 255 };
        }
        let mut prepared = rqrr::PreparedImage::prepare(img);
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1, "{kind}: one QR code on the page");
        let (_, content) = grids[0].decode().expect("decodes");
        assert_eq!(content, url, "{kind}");
    }
}

#[test]
fn photo_is_normalised_deterministically() {
    let a = normalise_photo(&test_photo()).expect("photo");
    let b = normalise_photo(&test_photo()).expect("photo");
    assert_eq!(a, b);
    let img = image::load_from_memory(&a).expect("jpeg");
    assert_eq!((img.width(), img.height()), (PHOTO_WIDTH, PHOTO_HEIGHT));
    assert_eq!(image::guess_format(&a).expect("format"), image::ImageFormat::Jpeg);
    // A normalised photo passes through unchanged.
    assert_eq!(normalise_photo(&a).expect("again"), a);
    let err = normalise_photo(b"not an image").expect_err("refused");
    assert_eq!(err.code(), "render.photo");
}

#[test]
fn data_contract_is_enforced() {
    let r = renderer();
    let mut req = request(DocKind::GraduationCertificate);
    req.data["document"]["verify_url"] = serde_json::Value::Null;
    assert_eq!(r.render(&req).expect_err("no url").code(), "render.data");
    let mut req = request(DocKind::GraduationCertificate);
    req.data["document"]["kind"] = "academic_proof".into();
    assert_eq!(r.render(&req).expect_err("kind").code(), "render.data");
    let mut req = request(DocKind::GraduationCertificate);
    req.data = serde_json::json!([1, 2]);
    assert_eq!(r.render(&req).expect_err("array").code(), "render.data");
    // The verify domain defaults to the URL's host.
    let mut req = request(DocKind::GraduationCertificate);
    req.data["document"]["verify_domain"] = serde_json::Value::Null;
    let pdf = r.render(&req).expect("render");
    assert!(squeeze(&pdf_text(&pdf.bytes)).contains("扫码验证·xj.nongan.example"));
    // Empty parts print empty cells rather than failing.
    let mut req = request(DocKind::Registration);
    req.data["student"] = serde_json::json!({});
    req.data["family"] = serde_json::Value::Null;
    r.render(&req).expect("empty student still renders");
}

#[test]
fn batch_renders_in_chunks_with_progress() {
    let r = renderer();
    let reqs: Vec<RenderRequest> = (0..5)
        .map(|i| {
            let mut req = request(DocKind::GraduationCertificate);
            req.data["student"]["name"] = format!("学生{i}").into();
            req
        })
        .collect();
    let seen = std::sync::Mutex::new(Vec::new());
    let chunks = r.render_batch(&reqs, &|done, total| seen.lock().expect("lock").push((done, total))).expect("batch");
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0].pages, 5);
    assert_eq!(*seen.lock().expect("lock"), vec![(0, 5), (5, 5)]);
    let text = squeeze(&pdf_text(&chunks[0].bytes));
    for i in 0..5 {
        assert!(text.contains(&format!("学生{i}")));
    }
    // Deterministic too.
    let again = r.render_batch(&reqs, &|_, _| {}).expect("batch");
    assert_eq!(again[0].sha256, chunks[0].sha256);

    // A bad record is named by its index.
    let mut bad = reqs.clone();
    bad[3].data["student"]["name"] = "\u{E000}".into();
    match r.render_batch(&bad, &|_, _| {}) {
        Err(RenderError::MissingGlyph { field, .. }) => assert_eq!(field, "[3].student.name"),
        other => panic!("expected MissingGlyph, got {other:?}"),
    }
    // Mixed kinds are refused.
    let mut mixed = reqs.clone();
    mixed.push(request(DocKind::Registration));
    assert_eq!(r.render_batch(&mixed, &|_, _| {}).expect_err("mixed").code(), "render.data");

    // Forms in a batch number their pages per record.
    let forms: Vec<RenderRequest> = (0..3).map(|_| request(DocKind::Registration)).collect();
    let chunks = r.render_batch(&forms, &|_, _| {}).expect("forms batch");
    assert_eq!(chunks[0].pages, 3);
    assert_eq!(squeeze(&pdf_text(&chunks[0].bytes)).matches("第1页").count(), 3);

    // Per-record mode.
    let mut pdfs = Vec::new();
    r.render_each(&reqs[..2], &|_, _| {}, &mut |i, pdf| {
        pdfs.push((i, pdf.pages));
        Ok(())
    })
    .expect("each");
    assert_eq!(pdfs, vec![(0, 1), (1, 1)]);
}

#[test]
fn batch_over_200_pages_is_split() {
    let r = renderer();
    let mut reqs = Vec::new();
    for i in 0..230 {
        let mut req = request(DocKind::CompulsoryCertificate);
        req.data["student"]["name"] = format!("学生{i}").into();
        req.data["document"]["number"] = format!("2201222500{i:04}").into();
        reqs.push(req);
    }
    let chunks = r.render_batch(&reqs, &|_, _| {}).expect("batch");
    let pages: Vec<usize> = chunks.iter().map(|c| c.pages).collect();
    assert_eq!(pages, vec![115, 115]);
}

/// Prints where the time of a warm document goes, per kind (no assertions):
/// `cargo test --release -- --ignored --nocapture timing_breakdown`.
#[test]
#[ignore = "prints timings only"]
fn timing_breakdown() {
    use std::time::Instant;
    let r = renderer();
    let templates = r.snapshot().expect("templates");
    let median = |mut v: Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    for kind in DocKind::ALL {
        let (mut tp, mut tc, mut te) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..40 {
            let mut req = request(kind);
            req.data["student"]["name"] = format!("学生{i}").into();
            req.data["document"]["verify_url"] = format!("https://xj.nongan.example/v/T{i:011}").into();
            let t = Instant::now();
            let p = r.prepare(req.kind, &templates, &mut req.data, None, req.issue_date).expect("prepare");
            tp.push(t.elapsed().as_secs_f64() * 1e3);
            let ident = p.ident.clone();
            let t = Instant::now();
            let doc = r.compile(req.kind, &templates, &[p], req.issue_date).expect("compile");
            tc.push(t.elapsed().as_secs_f64() * 1e3);
            let t = Instant::now();
            r.export(&doc, ident, req.issue_date).expect("export");
            te.push(t.elapsed().as_secs_f64() * 1e3);
            comemo::evict(EVICT_AGE);
        }
        println!(
            "{:<24} prepare {:5.2} ms  compile {:5.2} ms  pdf {:5.2} ms",
            kind.code(),
            median(tp),
            median(tc),
            median(te)
        );
    }
}
