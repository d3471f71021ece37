//! `xueji historical …`: pre-system graduates from the command line, as
//! the bureau's page does them (see [`crate::service::historical`]).

use crate::config::Config;
use crate::domain::Actor;
use crate::service::historical::{self, HistoricalRequest};
use anyhow::Context;
use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;

/// Historical-graduate commands.
#[derive(Debug, Subcommand)]
pub enum HistoricalCommand {
    /// 据毕业生登记册补录一名系统建立前的毕业生（扫描件存入其纸质档案）
    Add {
        /// 姓名
        #[arg(long)]
        name: String,
        /// 身份证件号
        #[arg(long)]
        id: String,
        /// 毕业学校的标识码
        #[arg(long)]
        school: String,
        /// 学段：primary（小学）或 junior（初中）
        #[arg(long)]
        stage: String,
        /// 毕业年份（该年7月毕业）
        #[arg(long)]
        year: i32,
        /// 入学年份（默认按学制推算）
        #[arg(long)]
        entry_year: Option<i32>,
        /// 原证书编号（登记册上有则填写）
        #[arg(long, default_value = "")]
        number: String,
        /// 毕业生登记册的扫描件（JPEG、PNG、TIFF 或 PDF）
        #[arg(long)]
        scan: PathBuf,
    },
    /// 为补录的毕业生开具学历证明书，写入 PDF 文件
    Proof {
        /// 学籍号
        #[arg(long)]
        student: String,
        /// 学段：primary 或 junior
        #[arg(long)]
        stage: String,
        /// 开具原因（默认：遗失）
        #[arg(long, default_value = "")]
        reason: String,
        /// 输出的 PDF 文件
        #[arg(short, long)]
        output: PathBuf,
    },
    /// 列出已补录的历史毕业生
    List,
}

/// Runs a historical-graduate command.
pub async fn run(config: &Config, cmd: HistoricalCommand) -> anyhow::Result<ExitCode> {
    let app = super::documents::open_app(config).await?;
    let actor = Actor::cli(&crate::config::os_user());
    match cmd {
        HistoricalCommand::Add { name, id, school, stage, year, entry_year, number, scan } => {
            let file = std::fs::File::open(&scan).with_context(|| format!("无法打开扫描件 {}", scan.display()))?;
            let file_name = scan.file_name().and_then(|n| n.to_str()).unwrap_or("").to_owned();
            let req =
                HistoricalRequest { name, id_number: id, school, stage, year, entry_year, original_number: number };
            let done = historical::record(&app, &actor, &req, (Box::new(std::io::BufReader::new(file)), &file_name))
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{}\t{}", done.student_no, if done.new_record { "新建只读记录" } else { "已有学籍，补录毕业" });
            if !done.in_dossier {
                eprintln!("扫描件已存入档案库，但未能列入其纸质档案：请在档案页面补传");
            }
        }
        HistoricalCommand::Proof { student, stage, reason, output } => {
            let no = student.trim().to_ascii_uppercase();
            let public_id = crate::db::students::ids_by_student_no(&app.db.pool, &no)
                .await?
                .with_context(|| format!("没有学籍号为 {no} 的记录"))?
                .public_id;
            let proof = historical::issue_proof(&app, &actor, &public_id, &stage, &reason)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            std::fs::write(&output, &proof.pdf.bytes).with_context(|| format!("无法写入 {}", output.display()))?;
            println!("{}", proof.number.unwrap_or_default());
        }
        HistoricalCommand::List => {
            for r in historical::list(&app, &actor).await.map_err(|e| anyhow::anyhow!("{e}"))? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    r.student_no,
                    r.name,
                    r.school_name,
                    r.stage,
                    r.year,
                    r.proof_number.unwrap_or_default()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
