//! `xueji bench …`: measured figures for `docs/benchmarks.md`.

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
    let url = std::env::var("XUEJI_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", tmp.path().join("bench.db").display()));
    let db = Db::connect(&url).await?;
    let today = config.today.unwrap_or_else(|| chrono::Local::now().date_naive());
    let roster = primary_roster(rows, today);
    let xlsx = export::write_xlsx(&roster)?;
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
        let t = Instant::now();
        let sheet = read::read(&xlsx)?;
        t_read.push(t.elapsed());
        let mut opts = check::Options { dry_run: true, create_classes: true, actor_id: None, today };
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
        sqlx::query("DELETE FROM problem_records").execute(&db.pool).await?;
        sqlx::query("DELETE FROM student_events").execute(&db.pool).await?;
        sqlx::query("DELETE FROM guardians").execute(&db.pool).await?;
        sqlx::query("DELETE FROM students").execute(&db.pool).await?;
    }
    let per_s = |d: Duration| roster.len() as f64 / d.as_secs_f64();
    let (r, d, c) = (median(t_read), median(t_dry), median(t_commit));
    println!("read xlsx     median {:>8.1} ms  ({:>8.0} rows/s)", r.as_secs_f64() * 1e3, per_s(r));
    println!("check (dry)   median {:>8.1} ms  ({:>8.0} rows/s)", d.as_secs_f64() * 1e3, per_s(d));
    println!("check+commit  median {:>8.1} ms  ({:>8.0} rows/s)", c.as_secs_f64() * 1e3, per_s(c));
    Ok(())
}
