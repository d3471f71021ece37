//! `xueji backup -o DIR`, `xueji backup verify DIR`, `xueji restore DIR`.
//!
//! Exit codes: 0 done; 1 a fault or a refusal (nothing restored); 3 the
//! backup's check found missing or changed files.

use crate::backup::{self, Step};
use crate::config::Config;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::process::ExitCode;

/// The check found problems.
const PROBLEMS: u8 = 3;

/// `xueji backup`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BackupArgs {
    /// 备份目录：不存在则创建；已有备份时只复制上次之后新增的扫描件，并更新数据库快照、密钥和校验清单
    #[arg(short, long)]
    output: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<BackupCommand>,
}

/// `xueji backup verify`.
#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// 校验备份：重新计算 SHA256SUMS 中每个文件的摘要；有缺失或不符时退出码为 3
    Verify {
        /// 备份目录
        dir: PathBuf,
        /// 以 JSON 输出报告
        #[arg(long)]
        json: bool,
    },
}

/// Runs `xueji backup …`.
pub async fn run(config: &Config, args: BackupArgs) -> anyhow::Result<ExitCode> {
    match (args.command, args.output) {
        (Some(BackupCommand::Verify { dir, json }), _) => verify(&dir, json),
        (None, Some(dir)) => create(config, &dir).await,
        (None, None) => anyhow::bail!("请用 -o 指定备份目录，或用 xueji backup verify DIR 校验备份"),
    }
}

async fn create(config: &Config, dir: &std::path::Path) -> anyhow::Result<ExitCode> {
    let bar = Bar::new();
    let summary = backup::create(config, dir, &|step| bar.show(step)).await;
    bar.done();
    let summary = summary?;
    let a = &summary.archive;
    println!(
        "已备份到 {}：数据库快照（{}），签名密钥，存档文件（扫描件和打印过的文书）{} 个（本次复制 {} 个，{:.1} MiB），档案版本 {} 个（本次复制 {} 个），派生文件（识别出的文字、页面预览）{} 个（本次复制 {} 个）；校验清单列出 {} 个文件。",
        dir.display(),
        summary.info.database,
        a.objects_copied + a.objects_kept,
        a.objects_copied,
        a.bytes_copied as f64 / 1024.0 / 1024.0,
        a.versions_copied + a.versions_kept,
        a.versions_copied,
        a.derived_copied + a.derived_kept,
        a.derived_copied,
        summary.files,
    );
    if !a.derived_damaged.is_empty() {
        // Made again from their scans, so the backup stands; said, never copied.
        eprintln!("警告：{} 个派生文件与其摘要不符，未复制到备份：", a.derived_damaged.len());
        for rel in &a.derived_damaged {
            eprintln!("  {rel}");
        }
        eprintln!("请运行 xueji archive reindex：文字文件损坏的扫描件将重新识别，页面预览将在下次查看时重新生成。");
    }
    Ok(ExitCode::SUCCESS)
}

fn verify(dir: &std::path::Path, json: bool) -> anyhow::Result<ExitCode> {
    let bar = Bar::new();
    let checked = backup::verify(dir, &|step| bar.show(step));
    bar.done();
    let checked = checked?;
    if json {
        println!("{}", serde_json::to_string_pretty(&checked)?);
    } else {
        println!("校验了 {} 个文件（{:.1} MiB）。", checked.files, checked.bytes as f64 / 1024.0 / 1024.0);
        for rel in &checked.missing {
            println!("  缺失：{rel}");
        }
        for rel in &checked.changed {
            println!("  与摘要不符：{rel}");
        }
        if !checked.unlisted.is_empty() {
            println!(
                "  另有 {} 个文件未列入校验清单（上次备份中断时已复制的文件；再次备份即列入）",
                checked.unlisted.len()
            );
        }
        if checked.is_sound() {
            println!("备份完好。");
        } else {
            println!("备份有问题：请重新运行 xueji backup -o {}", dir.display());
        }
    }
    Ok(if checked.is_sound() { ExitCode::SUCCESS } else { ExitCode::from(PROBLEMS) })
}

/// `xueji restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// 备份目录（xueji backup -o 写出的）
    dir: PathBuf,
}

/// Runs `xueji restore DIR` into the configured data directory, database and archive.
pub async fn restore(config: &Config, args: RestoreArgs) -> anyhow::Result<ExitCode> {
    let bar = Bar::new();
    let restored = backup::restore(config, &args.dir, &|step| bar.show(step)).await;
    bar.done();
    let restored = restored?;
    println!(
        "已从 {} 恢复：{} 时的数据库快照，签名密钥，存档文件 {} 个，档案版本 {} 个，派生文件 {} 个。请运行 xueji archive verify 检查档案库。",
        args.dir.display(),
        restored.info.created_at,
        restored.archive.objects_copied + restored.archive.objects_kept,
        restored.archive.versions_copied + restored.archive.versions_kept,
        restored.archive.derived_copied + restored.archive.derived_kept,
    );
    Ok(ExitCode::SUCCESS)
}

/// One progress bar for the steps, hidden when the output is not a terminal.
struct Bar(ProgressBar);

impl Bar {
    fn new() -> Self {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({eta})")
                .expect("valid template")
                .progress_chars("=> "),
        );
        Bar(bar)
    }

    fn show(&self, step: Step) {
        match step {
            Step::Database => self.0.set_message("数据库快照"),
            Step::Keys => self.0.set_message("签名密钥"),
            Step::Archive(p) => {
                self.0.set_message("档案库");
                self.0.set_length(p.total);
                self.0.set_position(p.done);
            }
            Step::Checking { done, total } => {
                self.0.set_message("校验");
                self.0.set_length(total);
                self.0.set_position(done);
            }
        }
    }

    fn done(&self) {
        self.0.finish_and_clear();
    }
}
