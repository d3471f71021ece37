//! `xueji audit verify`: walks the audit log's hash chain and names the
//! first broken link (a row changed, removed or slipped in, or rows cut off
//! the end). Exit 0 when the chain is whole, 3 when it is broken.

use crate::config::Config;
use crate::db::Db;
use crate::service::audit;
use clap::Subcommand;
use std::process::ExitCode;

/// Audit log commands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// 校验审计日志的哈希链：找出第一处被修改、删除或插入的记录
    Verify {
        /// 以 JSON 输出结果
        #[arg(long)]
        json: bool,
    },
}

/// Runs an audit log command.
///
/// # Errors
///
/// The database cannot be opened or read.
pub async fn run(config: &Config, cmd: AuditCommand) -> anyhow::Result<ExitCode> {
    let db = Db::connect(&config.database_url).await?;
    match cmd {
        AuditCommand::Verify { json } => {
            let report = audit::verify_chain(&db).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!("已校验 {} 条记录（哈希链开始前的旧记录 {} 条未纳入）。", report.checked, report.before_chain);
                println!("链头哈希：{}", if report.head.is_empty() { "（尚无记录）" } else { &report.head });
                match &report.broken {
                    None => println!("审计日志完整，未发现改动。"),
                    Some(b) => match b.id {
                        Some(id) => println!("审计日志已被改动：第一处断点在记录 {id}：{}", b.reason),
                        None => println!("审计日志已被改动：{}", b.reason),
                    },
                }
            }
            Ok(if report.broken.is_some() { ExitCode::from(3) } else { ExitCode::SUCCESS })
        }
    }
}
