//! `xueji archive ocr` and the text half of `xueji archive reindex`: reading
//! the text off archived scans on this machine, with a progress bar, and
//! rebuilding the full-text index from the derived text files.

use crate::config::Config;
use crate::db::Db;
use crate::dossier;
use crate::ocr::{self, Outcome, Requeue};
use indicatif::{ProgressBar, ProgressStyle};
use std::process::ExitCode;
use xueji_archive::Archive;

/// Refused input (an unknown student), or the reader is not installed.
const REFUSED: u8 = 2;
/// Some readings failed.
const PROBLEMS: u8 = 3;

/// Queues what was asked, then reads every queued job. Exit 3 when a
/// reading failed for good, 2 when the student is unknown or Tesseract is
/// not installed.
pub async fn run(
    config: &Config,
    db: &Db,
    archive: &Archive,
    all: bool,
    student: Option<&str>,
    retry_failed: bool,
) -> anyhow::Result<ExitCode> {
    let mut which = Vec::new();
    if all {
        which.push(Requeue::All);
    }
    if let Some(no) = student {
        let Some(s) = dossier::student_by_no(db, no).await? else {
            eprintln!("找不到学籍号为 {} 的学生", no.trim());
            return Ok(ExitCode::from(REFUSED));
        };
        which.push(Requeue::Student(s.id));
    }
    if retry_failed {
        which.push(Requeue::Failed);
    }
    let mut queued = ocr::requeue(db, None).await?;
    for w in which {
        queued += ocr::requeue(db, Some(w)).await?;
    }
    if !ocr::engine::available().await {
        eprintln!(
            "未安装 Tesseract 简体中文识别（Debian：apt-get install tesseract-ocr tesseract-ocr-chi-sim），扫描件仍在队列中"
        );
        return Ok(ExitCode::from(REFUSED));
    }
    let status = ocr::status(db).await?;
    let bar = ProgressBar::new(u64::try_from(status.queued).unwrap_or(0));
    bar.set_style(
        ProgressStyle::with_template("文字识别 [{bar:30}] {pos}/{len} 份 ({eta}) {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let limits = ocr::limits(config, archive);
    let started = std::time::Instant::now();
    let (mut done, mut pages, mut failed) = (0u64, 0u64, 0u64);
    while let Some(outcome) = ocr::run_one(db, archive, &limits).await.map_err(|e| anyhow::anyhow!("{e}"))? {
        match outcome {
            Outcome::Done(n) => {
                done += 1;
                pages += u64::from(n);
                bar.inc(1);
            }
            Outcome::Failed { code, last } => {
                if last {
                    failed += 1;
                    bar.inc(1);
                }
                bar.set_message(code);
            }
            Outcome::EngineMissing => {
                bar.finish_and_clear();
                eprintln!("文字识别程序无法运行，扫描件仍在队列中");
                return Ok(ExitCode::from(REFUSED));
            }
        }
    }
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    super::write_audit(
        db,
        "archive.ocr",
        ("archive", "*"),
        None,
        if failed == 0 { "ok" } else { "problems" },
        &format!("queued={queued} done={done} pages={pages} failed={failed}"),
    )
    .await?;
    println!(
        "文字识别完成：{done} 份扫描件，{pages} 页，用时 {secs:.1} 秒（每分钟 {:.1} 页）；失败 {failed} 份。",
        if secs > 0.0 { pages as f64 * 60.0 / secs } else { 0.0 }
    );
    if failed > 0 {
        for f in ocr::status(db).await?.failures {
            println!("  {}  {}  {}（已试 {} 次）", &f.digest[..16], f.media_type, f.error_code, f.attempts);
        }
        println!("扫描件本身已完整存档；可用 --retry-failed 重新识别。");
        return Ok(ExitCode::from(PROBLEMS));
    }
    Ok(ExitCode::SUCCESS)
}

/// Rebuilds the full-text index from the derived text files.
pub async fn reindex(db: &Db, archive: &Archive) -> anyhow::Result<ExitCode> {
    let r = ocr::reindex(db, archive).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    super::write_audit(
        db,
        "archive.reindex_text",
        ("archive", "*"),
        None,
        "ok",
        &format!("texts={} pages={} requeued={}", r.texts, r.pages, r.requeued),
    )
    .await?;
    println!("已重建全文索引：{} 份识别结果，{} 页。", r.texts, r.pages);
    if r.requeued > 0 {
        println!("{} 份识别结果文件缺失或已损坏，相应扫描件已重新排队识别（xueji archive ocr）。", r.requeued);
    }
    Ok(ExitCode::SUCCESS)
}
