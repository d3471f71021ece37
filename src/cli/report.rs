//! `xueji report …`: the bureau's statistics from the command line, the
//! same definitions and engine as the pages (see [`crate::service::reports`]).

use crate::config::Config;
use crate::domain::Actor;
use crate::domain::report::engine::Cell;
use crate::service::reports::{self, TableRequest};
use anyhow::Context;
use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;

/// Report commands.
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// 列出统计表（表名、表式年度、标题）
    List,
    /// 计算一张统计表，写入 xlsx 文件（不写文件则打印到屏幕）
    Run {
        /// 表名（见 report list）
        name: String,
        /// 统计基准日 YYYY-MM-DD（默认：最近一个基准日）
        #[arg(long)]
        as_of: Option<String>,
        /// 只统计这所学校（学校标识码）
        #[arg(long)]
        school: Option<String>,
        /// 输出的 xlsx 文件
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

/// Runs a report command.
pub async fn run(config: &Config, cmd: ReportCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ReportCommand::List => {
            let c = reports::catalogue(config).map_err(|e| anyhow::anyhow!("{e}"))?;
            for r in c.names() {
                println!("{}\t{}\t{}", r.name, r.year, r.def.title);
            }
        }
        ReportCommand::Run { name, as_of, school, output } => {
            if let Some(o) = &output
                && o.extension().and_then(|e| e.to_str()) != Some("xlsx")
            {
                anyhow::bail!("输出文件须以 .xlsx 结尾");
            }
            let as_of = as_of
                .as_deref()
                .map(|d| crate::domain::parse_date("统计基准日", d))
                .transpose()
                .map_err(|e| anyhow::anyhow!("{}", e.message))?;
            let app = super::documents::open_app(config).await?;
            let actor = Actor::cli(&crate::config::os_user());
            let req = TableRequest { name: name.clone(), as_of, school };
            let known = reports::catalogue(config).map_err(|e| anyhow::anyhow!("{e}"))?;
            if known.layout(&name, i32::MAX).is_none() {
                let names: Vec<_> = known.names().into_iter().map(|r| r.name.clone()).collect();
                anyhow::bail!("没有名为“{name}”的统计表（可用：{}）", names.join("、"));
            }
            match output {
                Some(path) => {
                    let file = reports::export_table(&app, &actor, &req).await.map_err(|e| anyhow::anyhow!("{e}"))?;
                    std::fs::write(&path, &file.bytes).with_context(|| format!("无法写入 {}", path.display()))?;
                    println!("{}", path.display());
                }
                None => {
                    let t = reports::table(&app, &actor, &req).await.map_err(|e| anyhow::anyhow!("{e}"))?;
                    println!("{}（{}）", t.title, t.as_of);
                    let head: Vec<&str> = t.columns.iter().map(|c| c.label.as_str()).collect();
                    println!("\t{}", head.join("\t"));
                    for r in &t.rows {
                        let cells: Vec<String> = r
                            .cells
                            .iter()
                            .map(|c| match c {
                                Cell::Count(n) => n.to_string(),
                                Cell::Rate(Some(p)) => format!("{p:.2}%"),
                                Cell::Rate(None) => "—".into(),
                            })
                            .collect();
                        println!("{}\t{}", r.label, cells.join("\t"));
                    }
                    if !t.imbalances.is_empty() {
                        eprintln!("不平衡：{} 名学生的变动与学年初、学年末人数不符", t.imbalances.len());
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
