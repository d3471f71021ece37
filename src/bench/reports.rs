//! `xueji bench reports`: the yearly tables over a generated county, timed.
//! Loads the sample county (through the real import and approvals) into a
//! fresh database (SQLite, or `XUEJI_BENCH_DATABASE_URL`), then times what
//! a table page does: read the record and replay every history, and compute
//! each of the year's tables from it; the median of several runs.

use crate::config::Config;
use crate::db::Db;
use crate::domain::report::engine::{self, Scope};
use std::time::{Duration, Instant};

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Loads `students` and times every table `runs` times.
pub async fn reports(students: usize, runs: usize) -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let url = crate::config::bench_database_url()
        .unwrap_or_else(|| format!("sqlite://{}", tmp.path().join("bench.db").display()));
    let day = chrono::NaiveDate::from_ymd_opt(2026, 9, 1).ok_or_else(|| anyhow::anyhow!("date"))?;
    let db = Db::connect(&url).await?;
    let county = crate::demo::generate(7, students, day);
    let fonts = Config::from_env()?.fonts_dir()?;
    let coverage = crate::render::Coverage::load(&fonts).map_err(|e| anyhow::anyhow!("{e}"))?;
    let t = Instant::now();
    crate::demo::load::load(&db, &county, day, &coverage, &|done, total| {
        eprint!("\r载入示例县：{done}/{total} 所学校");
    })
    .await?;
    eprintln!();
    let load = t.elapsed();
    db.pool.close().await;
    let mut config = Config::for_data_dir(tmp.path().to_path_buf(), Some(url.clone()));
    config.today = Some(day);
    let app = crate::app::App::open(config, "http://127.0.0.1").await?;
    println!(
        "backend: {:?}; county: {} schools, {} students (loaded in {:.1} s); as of {day}",
        app.db.backend,
        county.schools.len(),
        county.students.len(),
        load.as_secs_f64()
    );
    let catalogue = crate::service::reports::catalogue(&app.config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let names: Vec<_> = catalogue.names().into_iter().cloned().collect();
    let mut prepare = Vec::new();
    let mut each: Vec<Vec<Duration>> = vec![Vec::new(); names.len()];
    let mut all = Vec::new();
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        let prep = crate::service::reports::prepare(&app, &catalogue).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        prepare.push(start.elapsed());
        for (i, r) in names.iter().enumerate() {
            let t = Instant::now();
            let table = engine::compute(r, &prep, day, &Scope::County);
            each[i].push(t.elapsed());
            std::hint::black_box(table);
        }
        all.push(start.elapsed());
    }
    println!("read the record and replay every history: {:.0} ms (median of {})", ms(median(prepare)), runs.max(1));
    for (r, times) in names.iter().zip(each) {
        println!("  {:<18} {:>7.1} ms  {}", r.name, ms(median(times)), r.def.title);
    }
    println!("every yearly table, from the request to the last table: {:.0} ms", ms(median(all)));
    app.db.pool.close().await;
    Ok(())
}
