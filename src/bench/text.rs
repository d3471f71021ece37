//! `xueji bench text`: the full-text search over many pages of generated
//! text, and OCR speed on this machine.
//!
//! Loads a small sample county into a fresh database (SQLite, or
//! `XUEJI_BENCH_DATABASE_URL`), lists `pages` one-page papers in the pupils'
//! dossiers (index rows only, no files), gives each page about 300
//! characters of generated text (diagnoses, household-register pages, the
//! township names and pupils' names of the sample county), indexes them as
//! the OCR worker does, then times searches through the service (word,
//! name, phrase, two words; each with the index lookup and the phrase
//! check) and reports p50/p99 and the index size. With `--ocr-pages N` it
//! also renders an admission notice, rasterizes it at 300 dpi (`pdftoppm`)
//! and reads it N times with Tesseract: pages per minute.

use crate::config::Config;
use crate::db::{self, Db};
use crate::domain::text;
use crate::dossier::{self, SearchQuery};
use std::time::{Duration, Instant};

const SENTENCES: &[&str] = &[
    "经检查，该患儿患有支气管哮喘，需休息治疗三个月，建议休学。",
    "户主姓名{name}，与户主关系：子，住址：农安县{town}{n}组。",
    "常住人口登记卡 公民身份号码 220122{n}0312{n}13 民族 汉族 文化程度 小学",
    "农安县人民医院 诊断证明书 门诊号 {n}{n} 科别 儿科",
    "兹证明{name}同学于 2024 年 9 月起在我校就读，现为三年级学生。",
    "转学申请：因家长工作调动，申请转入{town}中心小学就读。",
    "医疗费用票据 金额 {n} 元 收款单位 农安县{town}卫生院",
    "死亡医学证明书 签发日期 2027 年 {n} 月",
    "监护人签字：{name}　联系电话：1380008{n}",
    "休学期满，经医院复查身体已康复，申请复学，编入原年级。",
];

fn fill(template: &str, rng: &mut u64, names: &[String], towns: &[String]) -> String {
    let mut next = || {
        *rng ^= *rng << 13;
        *rng ^= *rng >> 7;
        *rng ^= *rng << 17;
        *rng
    };
    let name = &names[(next() % names.len() as u64) as usize];
    let town = &towns[(next() % towns.len() as u64) as usize];
    let n = (next() % 90 + 10).to_string();
    template.replace("{name}", name).replace("{town}", town).replace("{n}", &n)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Builds the index over `pages` pages and times `queries` searches.
pub async fn text(pages: usize, queries: usize, ocr_pages: usize) -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let url = crate::config::bench_database_url()
        .unwrap_or_else(|| format!("sqlite://{}", tmp.path().join("bench.db").display()));
    let day = chrono::NaiveDate::from_ymd_opt(2026, 9, 1).ok_or_else(|| anyhow::anyhow!("date"))?;
    let db = Db::connect(&url).await?;
    let county = crate::demo::generate(7, 2_000, day);
    let fonts = Config::from_env()?.fonts_dir()?;
    let coverage = crate::render::Coverage::load(&fonts).map_err(|e| anyhow::anyhow!("{e}"))?;
    crate::demo::load::load(&db, &county, day, &coverage, &|done, total| {
        eprint!("\r载入示例县：{done}/{total} 所学校");
    })
    .await?;
    eprintln!();
    let (students, names): (Vec<_>, Vec<String>) = db::students::all_with_names(&db.pool).await?.into_iter().unzip();
    let mut towns: Vec<String> = county.schools.iter().map(|s| s.district.clone()).collect();
    towns.sort();
    towns.dedup();
    anyhow::ensure!(!students.is_empty(), "the sample county has no pupils");
    let size_before = db::archive_text::index_bytes(&db.pool, db.backend).await?;

    // The papers: one page each, spread over the pupils' dossiers.
    let t = Instant::now();
    let per_student = pages.div_ceil(students.len());
    let mut rng = 0x9E37_79B9_7F4A_7C15_u64;
    let mut made = 0usize;
    let mut chars = 0usize;
    let owners: Vec<_> = students.iter().zip(names.iter()).collect();
    for chunk in owners.chunks(50) {
        let mut tx = db.pool.begin().await?;
        for (s, name) in chunk {
            if made >= pages {
                break;
            }
            let dossier =
                db::dossier::lock_for_student(&mut tx, s.id, &format!("d-bench-{}", s.id), &db::now_text()).await?;
            let mut entries = Vec::new();
            let mut texts = Vec::new();
            for _ in 0..per_student.min(pages - made) {
                let mut page = String::new();
                while page.chars().count() < 300 {
                    let i = (rng % SENTENCES.len() as u64) as usize;
                    page.push_str(&fill(SENTENCES[i], &mut rng, &names, &towns));
                    page.push('\n');
                }
                let digest = xueji_archive::Digest::of(format!("bench-{made}").as_bytes());
                entries.push(xueji_archive::Entry {
                    digest,
                    kind: xueji_archive::PaperKind::Other,
                    pages: 1,
                    original_name: format!("{made}.jpg"),
                    media_type: "image/jpeg".into(),
                    size: 1,
                    added_by: "bench".into(),
                    added_at: "2026-09-01T08:00:00+08:00".into(),
                    supersedes: None,
                });
                chars += page.chars().count();
                texts.push((digest, page));
                made += 1;
            }
            db::dossier::replace_index(&mut tx, dossier.id, s.id, s.school_id, 1, &entries).await?;
            for (digest, page) in texts {
                let page = text::normalize(&page);
                let mut terms = text::index_terms(&page);
                terms.extend(text::index_terms(name));
                let row = db::archive_text::TextRow {
                    digest: digest.to_hex(),
                    text_digest: digest.to_hex(),
                    source: "ocr".into(),
                    engine: "bench".into(),
                    engine_version: "0".into(),
                    pages: 1,
                    chars: page.chars().count() as i64,
                    created_at: db::now_text(),
                };
                db::archive_text::save(&mut tx, db.backend, &row, &[(page, terms)]).await?;
            }
        }
        tx.commit().await?;
        eprint!("\r索引：{made}/{pages} 页");
    }
    eprintln!();
    let build = t.elapsed();
    let size = db::archive_text::index_bytes(&db.pool, db.backend).await?.saturating_sub(size_before);
    println!(
        "backend: {:?}; {made} pages, {chars} characters, indexed in {:.1} s ({:.0} pages/s); text + index {:.1} MiB ({:.0} bytes/page)",
        db.backend,
        build.as_secs_f64(),
        made as f64 / build.as_secs_f64(),
        size as f64 / 1_048_576.0,
        size as f64 / made.max(1) as f64
    );

    // The searches, as the bureau's search form sends them (every school).
    let mut kinds: Vec<(&str, Vec<Duration>, i64)> = Vec::new();
    for (label, make) in [
        ("word", &(|_: &mut u64| "哮喘".to_owned()) as &dyn Fn(&mut u64) -> String),
        ("name", &|r: &mut u64| fill("{name}", r, &names, &towns)),
        ("phrase", &|r: &mut u64| format!("\"{}\"", fill("{town}", r, &names, &towns))),
        ("two words", &|r: &mut u64| format!("{} 诊断", fill("{town}", r, &names, &towns))),
    ] {
        let mut times = Vec::new();
        let mut found = 0;
        for _ in 0..queries.max(1) {
            let q = SearchQuery { text: Some(make(&mut rng)), ..SearchQuery::default() };
            let t = Instant::now();
            let result = dossier::search(&db, None, &q).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            times.push(t.elapsed());
            found += result.total;
        }
        times.sort();
        kinds.push((label, times, found / queries.max(1) as i64));
    }
    for (label, times, found) in &kinds {
        let p = |q: f64| ms(times[((times.len() as f64 * q) as usize).min(times.len() - 1)]);
        println!(
            "  search by {label:<9}: p50 {:>6.1} ms  p99 {:>6.1} ms  ({found} pages found on average)",
            p(0.5),
            p(0.99)
        );
    }
    if ocr_pages > 0 {
        ocr_speed(ocr_pages).await?;
    }
    db.pool.close().await;
    Ok(())
}

/// Renders one admission notice, rasterizes it at 300 dpi and reads it
/// `n` times: pages per minute on this machine (one Tesseract at a time).
async fn ocr_speed(n: usize) -> anyhow::Result<()> {
    let config = Config::from_env()?;
    let renderer = crate::render::Renderer::new(&config.templates_dir()?.join("forms"), &config.fonts_dir()?)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let pdf =
        renderer.render_sample(crate::render::DocKind::AdmissionNotice).map_err(|e| anyhow::anyhow!("{e}"))?.bytes;
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("notice.pdf");
    std::fs::write(&input, pdf)?;
    let out = dir.path().join("notice");
    let status = std::process::Command::new("pdftoppm")
        .args(["-r", "300", "-gray", "-png", "-singlefile"])
        .arg(&input)
        .arg(&out)
        .status()?;
    anyhow::ensure!(status.success(), "pdftoppm failed");
    let png = out.with_extension("png");
    let limits = crate::ocr::engine::Limits { page_time: Duration::from_secs(300), memory: 2 << 30, max_pages: 1 };
    let t = Instant::now();
    for _ in 0..n {
        crate::ocr::engine::read(&png, "image/png", 1, &limits).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "OCR: {n} A4 pages at 300 dpi in {secs:.1} s: {:.1} pages/min (one page at a time)",
        n as f64 * 60.0 / secs
    );
    Ok(())
}
