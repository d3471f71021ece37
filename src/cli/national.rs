//! `xueji national …`: the national system's spreadsheets at the command
//! line, beside `xueji import` (which takes a 学前调档名单 or a completed
//! 调档学生导出 as well as our template, recognised from the header row).
//! Audited as the operating-system user.

use crate::config::Config;
use crate::db::Db;
use crate::domain::Actor;
use crate::error::AppError;
use crate::service::national::{self, NationalList};
use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

/// National-spreadsheet commands.
#[derive(Debug, Subcommand)]
pub enum NationalCommand {
    /// 导出《调档学生导出》（xlsx）：本校调档名单（只填五项，其余由学校补全）或在籍学生（全部项目）
    Export {
        /// 学校标识码
        #[arg(long)]
        school: String,
        /// 名单
        #[arg(long, value_enum, default_value_t = List::Intake)]
        list: List,
        /// 输出文件（.xlsx）
        #[arg(short, long)]
        output: PathBuf,
    },
}

/// Which children the export lists.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum List {
    /// 调档名单：尚未建立学籍的儿童
    Intake,
    /// 在籍学生
    Students,
}

/// Runs a national-spreadsheet command.
///
/// # Errors
///
/// The database cannot be opened, the school is unknown, the file cannot be written.
pub async fn run(config: &Config, cmd: NationalCommand) -> anyhow::Result<ExitCode> {
    let db = Db::connect(&config.database_url).await?;
    let actor = Actor::cli(&crate::config::os_user());
    match cmd {
        NationalCommand::Export { school, list, output } => {
            let list = match list {
                List::Intake => NationalList::Intake,
                List::Students => NationalList::Students,
            };
            let out = national::export(&db, &actor, &school, list).await.map_err(|e| match e {
                AppError::NotFound => anyhow::anyhow!("找不到学校标识码为 {school} 的学校"),
                e => anyhow::anyhow!("{e}"),
            })?;
            std::fs::write(&output, &out.bytes).with_context(|| format!("无法写入 {}", output.display()))?;
            println!("已导出《调档学生导出》（{}）{} 人到 {}", list.label(), out.rows, output.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
