//! `xueji bench …`: measured figures for `docs/benchmarks.md`.

pub mod load;
pub mod reports;
pub mod text;

use crate::config::Config;
use crate::db::Db;
use crate::db::schools::{self, NewSchool};
use crate::domain::SchoolKind;
use crate::roster::{Row, check, export, read};
use std::time::{Duration, Instant};

/// A roster of `rows` primary pupils (grades 1-6) for one school, from the sample county,
/// in classes of at most 45.
pub fn primary_roster(rows: usize, today: chrono::NaiveDate) -> Vec<Row> {
    let county = crate::demo::generate(7, rows * 2 + 1000, today);
    let mut out: Vec<Row> = county
        .students
        .into_iter()
        .filter(|s| s.row.grade.parse::<u8>().is_ok_and(|g| (1..=6).contains(&g)))
        .map(|s| s.row)
        .take(rows)
        .collect();
    out.sort_by(|a, b| a.grade.cmp(&b.grade));
    let mut per_grade = std::collections::HashMap::<String, usize>::new();
    for r in &mut out {
        let n = per_grade.entry(r.grade.clone()).or_default();
        r.class = (*n / 45 + 1).to_string();
        *n += 1;
    }
    out
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Imports a generated `rows`-row xlsx roster `runs` times into fresh schools:
/// read, dry run and commit, each timed; prints the medians.
pub async fn import(config: &Config, rows: usize, runs: usize) -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let url = crate::config::bench_database_url()
        .unwrap_or_else(|| format!("sqlite://{}", tmp.path().join("bench.db").display()));
    let db = Db::connect(&url).await?;
    let today = config.today.unwrap_or_else(|| chrono::Local::now().date_naive());
    let roster = primary_roster(rows, today);
    let xlsx = export::write_xlsx(&roster)?;
    let coverage = crate::render::Coverage::load(&config.fonts_dir()?).map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("backend: {:?}; roster: {} rows, xlsx {} KiB; runs: {runs}", db.backend, roster.len(), xlsx.len() / 1024);
    let (mut t_read, mut t_dry, mut t_commit) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..runs.max(1) {
        let code = format!("99{:08}", rand::random::<u32>() % 100_000_000);
        schools::insert(
            &db.pool,
            &NewSchool {
                code: &code,
                name: &format!("性能测试小学{run}"),
                kind: SchoolKind::Primary,
                county_town: true,
                central_school_id: None,
                district: "测试",
                address: "",
            },
        )
        .await?;
        let school = schools::by_code(&db.pool, &code).await?.ok_or_else(|| anyhow::anyhow!("school"))?;
        // The bureau's plan for the roster's first grade, in classes of 45.
        let first_grade = roster.iter().filter(|r| r.grade == "1").count() as u32;
        let classes = first_grade.div_ceil(45).max(1);
        let year = crate::domain::school_year_start(today);
        let mut conn = db.pool.acquire().await?;
        crate::db::intake::insert_plan(&mut conn, school.id, year, 1, classes, classes * 45, "bench", "-").await?;
        drop(conn);
        let t = Instant::now();
        let sheet = read::read(&xlsx)?;
        t_read.push(t.elapsed());
        let coverage = coverage.clone();
        let mut opts = check::Options { dry_run: true, create_classes: true, actor_id: None, today, coverage };
        let t = Instant::now();
        let report = check::import(&db, &school, sheet.clone(), &opts).await?;
        t_dry.push(t.elapsed());
        anyhow::ensure!(report.errors.is_empty(), "dry run found {} errors", report.errors.len());
        opts.dry_run = false;
        let t = Instant::now();
        let report = check::import(&db, &school, sheet, &opts).await?;
        t_commit.push(t.elapsed());
        anyhow::ensure!(report.inserted == roster.len(), "inserted {} of {}", report.inserted, roster.len());
        // Later runs import the same people again into another school: clear them first.
        crate::db::rolls::delete_all(&db.pool).await?;
    }
    let per_s = |d: Duration| roster.len() as f64 / d.as_secs_f64();
    let (r, d, c) = (median(t_read), median(t_dry), median(t_commit));
    println!("read xlsx     median {:>8.1} ms  ({:>8.0} rows/s)", r.as_secs_f64() * 1e3, per_s(r));
    println!("check (dry)   median {:>8.1} ms  ({:>8.0} rows/s)", d.as_secs_f64() * 1e3, per_s(d));
    println!("check+commit  median {:>8.1} ms  ({:>8.0} rows/s)", c.as_secs_f64() * 1e3, per_s(c));
    Ok(())
}

/// A single-page 8-bit greyscale TIFF (uncompressed, one strip), the way a
/// simple scanner writes an A4 page: `w`×`h` pixels of paper-like noise.
fn scan_tiff(w: u32, h: u32, rng: &mut impl rand::Rng) -> Vec<u8> {
    let pixels = (w * h) as usize;
    let entries: [(u16, u16, u32); 9] = [
        (256, 4, w),                  // ImageWidth
        (257, 4, h),                  // ImageLength
        (258, 3, 8),                  // BitsPerSample
        (259, 3, 1),                  // Compression: none
        (262, 3, 1),                  // Photometric: black is zero
        (273, 4, 8 + 2 + 9 * 12 + 4), // StripOffsets: right after the IFD
        (277, 3, 1),                  // SamplesPerPixel
        (278, 4, h),                  // RowsPerStrip
        (279, 4, w * h),              // StripByteCounts
    ];
    let mut out = Vec::with_capacity(pixels + 256);
    out.extend_from_slice(b"II*\0");
    out.extend_from_slice(&8u32.to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, kind, value) in entries {
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        if kind == 3 {
            out.extend_from_slice(&(value as u16).to_le_bytes());
            out.extend_from_slice(&[0, 0]);
        } else {
            out.extend_from_slice(&value.to_le_bytes());
        }
    }
    out.extend_from_slice(&0u32.to_le_bytes());
    let mut noise = vec![0u8; pixels];
    rng.fill_bytes(&mut noise);
    for (i, n) in noise.into_iter().enumerate() {
        let (x, y) = (i as u32 % w, i as u32 / w);
        let ink = if (y / 40) % 3 == 0 && (x / 9) % 5 != 0 { 80u8 } else { 235 };
        out.push(ink.saturating_sub(n % 24));
    }
    out
}

/// Writes a PDF-shaped file of `bytes` random bytes (one page), streaming.
fn scan_pdf(path: &std::path::Path, bytes: u64, rng: &mut impl rand::Rng) -> anyhow::Result<()> {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    f.write_all(b"%PDF-1.4\n1 0 obj << /Type /Page >> endobj\n2 0 obj << /Length 0 >>\nstream\n")?;
    let mut buf = vec![0u8; 1 << 20];
    let mut left = bytes;
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        rng.fill_bytes(&mut buf[..n]);
        // No accidental "/Type" in the noise matters: the page count is not checked here.
        f.write_all(&buf[..n])?;
        left -= n as u64;
    }
    f.write_all(b"\nendstream endobj\ntrailer << >>\n%%EOF\n")?;
    f.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(())
}

/// Peak resident memory of this process (VmHWM), in KiB.
pub fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn timed(cmd: &mut std::process::Command) -> anyhow::Result<Duration> {
    let t = Instant::now();
    let status = cmd.stdout(std::process::Stdio::null()).status()?;
    anyhow::ensure!(status.success(), "{cmd:?} failed");
    Ok(t.elapsed())
}

/// `xueji bench archive`: ingest throughput for `mib` MiB of scans (half
/// greyscale A4 TIFF pages, half 4 MiB PDFs) against `sha256sum` + `cp` of
/// the same files on the same disk, `archive verify` throughput from the
/// page cache, and peak memory while ingesting one `big_mib` MiB file (in a
/// child process, so the figure is that ingest's alone).
pub async fn archive(config: &Config, mib: u64, big_mib: u64, dir: Option<std::path::PathBuf>) -> anyhow::Result<()> {
    use xueji_archive::{Archive, ArchiveConfig};
    let base = dir.unwrap_or_else(|| config.data_dir.clone());
    std::fs::create_dir_all(&base)?;
    let tmp = tempfile::tempdir_in(&base)?;
    let scans = tmp.path().join("scans");
    std::fs::create_dir_all(&scans)?;
    let mut rng = rand::rng();
    let target = mib * 1024 * 1024;
    let (mut written, mut files) = (0u64, Vec::new());
    let t = Instant::now();
    while written < target {
        let n = files.len();
        let path = if n % 2 == 0 {
            let p = scans.join(format!("page{n:04}.tif"));
            std::fs::write(&p, scan_tiff(1240, 1754, &mut rng))?;
            p
        } else {
            let p = scans.join(format!("doc{n:04}.pdf"));
            scan_pdf(&p, 4 * 1024 * 1024, &mut rng)?;
            p
        };
        written += std::fs::metadata(&path)?.len();
        files.push(path);
    }
    println!(
        "scans: {} files, {:.0} MiB in {} (generated in {:.1} s)",
        files.len(),
        written as f64 / 1048576.0,
        scans.display(),
        t.elapsed().as_secs_f64()
    );

    let archive = Archive::open(tmp.path().join("archive"), ArchiveConfig::default())?;
    let t = Instant::now();
    for path in &files {
        let mut f = std::fs::File::open(path)?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        archive.ingest(&mut f, &name)?;
    }
    let ingest = t.elapsed();

    let sha = timed(std::process::Command::new("sha256sum").args(&files))?;
    let copy_dir = tmp.path().join("copy");
    std::fs::create_dir_all(&copy_dir)?;
    let cp = timed(std::process::Command::new("cp").args(&files).arg(&copy_dir))?;
    let sync = timed(&mut std::process::Command::new("sync"))?;
    let rate = |d: Duration| written as f64 / 1048576.0 / d.as_secs_f64();
    println!("ingest (hash, checks, thumbnails, fsync)   {:>7.2} s  {:>7.0} MiB/s", ingest.as_secs_f64(), rate(ingest));
    println!("sha256sum                                  {:>7.2} s  {:>7.0} MiB/s", sha.as_secs_f64(), rate(sha));
    println!("cp                                         {:>7.2} s  {:>7.0} MiB/s", cp.as_secs_f64(), rate(cp));
    println!("sync after cp                              {:>7.2} s", sync.as_secs_f64());
    println!(
        "ratio ingest / (sha256sum + cp)            {:>7.2}   (with sync: {:.2})",
        ingest.as_secs_f64() / (sha + cp).as_secs_f64(),
        ingest.as_secs_f64() / (sha + cp + sync).as_secs_f64()
    );

    let _ = archive.verify(&|_| {})?;
    let report = archive.verify(&|_| {})?;
    anyhow::ensure!(report.is_clean(), "verify found problems");
    println!(
        "verify (2 threads, page cache)             {:>7.2} s  {:>7.0} MiB/s  ({} objects)",
        report.elapsed.as_secs_f64(),
        report.bytes_per_second() / 1048576.0,
        report.objects_checked
    );
    std::fs::remove_dir_all(&copy_dir)?;

    let big = tmp.path().join("big.pdf");
    scan_pdf(&big, big_mib * 1024 * 1024, &mut rng)?;
    let out = std::process::Command::new(std::env::current_exe()?)
        .args(["bench", "archive", "--rss-file"])
        .arg(&big)
        .arg("--dir")
        .arg(tmp.path())
        .output()?;
    anyhow::ensure!(out.status.success(), "child failed: {}", String::from_utf8_lossy(&out.stderr));
    print!("{}", String::from_utf8_lossy(&out.stdout));
    Ok(())
}

/// The child of [`archive`]: ingests one file and reports peak memory.
pub fn archive_rss(file: &std::path::Path, dir: &std::path::Path) -> anyhow::Result<()> {
    use xueji_archive::{Archive, ArchiveConfig};
    let before = peak_rss_kib();
    let mut config = ArchiveConfig::default();
    config.inspect.max_size = u64::MAX;
    let archive = Archive::open(dir.join("archive-big"), config)?;
    let size = std::fs::metadata(file)?.len();
    let t = Instant::now();
    let got = archive.ingest(&mut std::fs::File::open(file)?, "big.pdf")?;
    let took = t.elapsed();
    println!(
        "big file: {:.0} MiB ingested in {:.2} s ({:.0} MiB/s); peak RSS (VmHWM) {:.1} MiB before, {:.1} MiB after; {}",
        size as f64 / 1048576.0,
        took.as_secs_f64(),
        size as f64 / 1048576.0 / took.as_secs_f64(),
        before as f64 / 1024.0,
        peak_rss_kib() as f64 / 1024.0,
        got.digest
    );
    Ok(())
}

/// Peak and current resident memory of this process, in MiB (Linux).
pub fn memory_mib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (kib("VmHWM:") / 1024, kib("VmRSS:") / 1024)
}

/// A certificate request from the template's sample data, made different per `i`.
fn certificate_request(sample: &serde_json::Value, i: usize) -> crate::render::RenderRequest {
    let mut data = sample.clone();
    let surnames = ["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴"];
    let given = ["子轩", "梓涵", "浩然", "雨桐", "思远", "欣怡", "一诺", "沐阳", "佳怡", "晨曦", "喆", "堃"];
    data["student"]["name"] = format!("{}{}", surnames[i % 10], given[(i / 10) % 12]).into();
    data["document"]["number"] = format!("2201222026{}{:06}", 2, i % 1_000_000).into();
    data["document"]["id"] = format!("{i:032x}").into();
    data["document"]["verify_url"] =
        format!("https://xj.nongan.example/v/AQ5sqbPsDPckqnXyeyKDNkRB6hOpAwALSm0AfntVagAH5pyx{i:012}").into();
    crate::render::RenderRequest {
        kind: crate::render::DocKind::GraduationCertificate,
        data,
        photo: None,
        issue_date: chrono::NaiveDate::from_ymd_opt(2026, 7, 10).expect("valid date"),
    }
}

/// Rendering figures: start-up and the first document, one warm certificate
/// (median of 200), and a batch of `count` numbered certificates (pages per
/// second, peak memory).
pub fn render(config: &Config, count: usize) -> anyhow::Result<()> {
    let forms = config.templates_dir()?.join("forms");
    let sample: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(forms.join("samples/graduation_certificate.json"))?)?;
    let t = Instant::now();
    let renderer = crate::render::Renderer::new(&forms, &config.fonts_dir()?).map_err(|e| anyhow::anyhow!("{e}"))?;
    let start = t.elapsed();
    let t = Instant::now();
    renderer.render(&certificate_request(&sample, 999_999)).map_err(|e| anyhow::anyhow!("{e}"))?;
    let first = t.elapsed();
    println!(
        "start (fonts, templates, warm-up) {:.0} ms; first certificate after start {:.1} ms",
        start.as_secs_f64() * 1e3,
        first.as_secs_f64() * 1e3
    );
    let mut warm = Vec::new();
    for i in 0..200 {
        let req = certificate_request(&sample, i);
        let t = Instant::now();
        renderer.render(&req).map_err(|e| anyhow::anyhow!("{e}"))?;
        warm.push(t.elapsed());
    }
    println!("one warm certificate: median {:.2} ms (200 different certificates)", median(warm).as_secs_f64() * 1e3);
    let reqs: Vec<_> = (0..count).map(|i| certificate_request(&sample, 1000 + i)).collect();
    let t = Instant::now();
    let (mut pages, mut bytes) = (0usize, 0usize);
    renderer
        .render_batch_with(&reqs, &|_, _| {}, &mut |pdf| {
            pages += pdf.pages;
            bytes += pdf.bytes.len();
            Ok(())
        })
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let el = t.elapsed().as_secs_f64();
    let (peak, now) = memory_mib();
    println!(
        "batch of {count} numbered certificates: {pages} pages in {el:.1} s = {:.0} pages/s, {:.1} KiB per page; peak memory {peak} MiB (now {now} MiB)",
        pages as f64 / el,
        bytes as f64 / pages.max(1) as f64 / 1024.0
    );
    Ok(())
}

/// Graduation and promotion over the sample county (`students` students, as
/// of 1 July of `year`): the previews and the runs, each timed — graduation
/// on 15 July, promotion on 10 August. SQLite in a temp directory, or
/// `XUEJI_BENCH_DATABASE_URL`.
pub async fn yearly(students: usize, year: i32) -> anyhow::Result<()> {
    use crate::workflow::yearly::{self, RunKind};
    let tmp = tempfile::tempdir()?;
    let url = crate::config::bench_database_url()
        .unwrap_or_else(|| format!("sqlite://{}", tmp.path().join("bench.db").display()));
    let date = |m, d| chrono::NaiveDate::from_ymd_opt(year, m, d).ok_or_else(|| anyhow::anyhow!("year {year}"));
    let db = Db::connect(&url).await?;
    let county = crate::demo::generate(7, students, date(7, 1)?);
    let fonts = Config::from_env()?.fonts_dir()?;
    let coverage = crate::render::Coverage::load(&fonts).map_err(|e| anyhow::anyhow!("{e}"))?;
    crate::demo::load::load(&db, &county, date(7, 1)?, &coverage, &|_, _| ()).await?;
    db.pool.close().await;
    println!(
        "backend: {:?}; sample county: {} schools, {} students",
        db.backend,
        county.schools.len(),
        county.students.len()
    );
    for (kind, day) in [(RunKind::Graduation, date(7, 15)?), (RunKind::Promotion, date(8, 10)?)] {
        let mut config = Config::for_data_dir(tmp.path().to_path_buf(), Some(url.clone()));
        config.today = Some(day);
        let app = crate::app::App::open(config, "http://127.0.0.1").await?;
        let actor = crate::domain::Actor::cli(&crate::config::os_user());
        let t = Instant::now();
        let preview = yearly::preview(&app, kind, year).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let t_preview = t.elapsed();
        anyhow::ensure!(preview.allowed, "{} not allowed: {:?}", kind.label(), preview.refusal);
        let t = Instant::now();
        let summary = yearly::run(&app, &actor, kind, year, None).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let t_run = t.elapsed();
        println!(
            "{}: preview {:.0} ms; run {:.0} ms for {} students ({:.0} students/s), {} classes created",
            kind.label(),
            t_preview.as_secs_f64() * 1000.0,
            t_run.as_secs_f64() * 1000.0,
            summary.moved,
            summary.moved as f64 / t_run.as_secs_f64(),
            summary.classes_created
        );
        app.db.pool.close().await;
    }
    Ok(())
}
