//! `xueji certificates …`: the bureau's numbering from the command line.

use crate::config::Config;
use crate::db::Db;
use crate::render::DocKind;
use anyhow::Context;
use clap::Subcommand;
use std::process::ExitCode;

/// Certificate commands.
#[derive(Debug, Subcommand)]
pub enum CertificatesCommand {
    /// 为库存（预印证书纸）分配一批编号，按顺序、无空号
    Allocate {
        /// 证书种类：compulsory_certificate、graduation_certificate、academic_proof
        #[arg(long)]
        kind: String,
        /// 年份（默认今年）
        #[arg(long)]
        year: Option<i32>,
        /// 分配几个编号
        #[arg(long, default_value_t = 1)]
        count: usize,
    },
    /// 列出编号（已颁发、已分配、已作废、已挂失、已撤销）
    List {
        /// 只列出该状态：issued、allocated、voided、lost、revoked
        #[arg(long)]
        state: Option<String>,
        /// 编号（或开头几位）
        #[arg(long)]
        number: Option<String>,
    },
}

/// Runs a certificate command.
pub async fn run(config: &Config, cmd: CertificatesCommand) -> anyhow::Result<ExitCode> {
    let db = Db::connect(&config.database_url).await?;
    match cmd {
        CertificatesCommand::Allocate { kind, year, count } => {
            let kind: DocKind = kind.parse().map_err(|_| anyhow::anyhow!("没有名为“{kind}”的文书种类"))?;
            let year = year.unwrap_or_else(|| {
                chrono::Datelike::year(&config.today.unwrap_or_else(|| chrono::Local::now().date_naive()))
            });
            for _ in 0..count {
                let n = match crate::certificates::allocate(&db, kind, year, None, None, None).await {
                    Ok(n) => n,
                    Err(e) => {
                        let detail = format!("kind={} year={year} code={}", kind.code(), e.code());
                        super::write_audit(&db, "certificate.allocate", ("certificate", "-"), None, "refused", &detail)
                            .await?;
                        return Err(anyhow::anyhow!("{e}"));
                    }
                };
                let detail = format!("kind={} year={year}", kind.code());
                super::write_audit(&db, "certificate.allocate", ("certificate", &n), None, "ok", &detail).await?;
                println!("{n}");
            }
        }
        CertificatesCommand::List { state, number } => {
            let rows = crate::certificates::list(&db, state.as_deref(), number.as_deref(), 100_000)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))
                .context("无法读取编号")?;
            let detail = format!("state={} rows={}", state.as_deref().unwrap_or("*"), rows.len());
            super::write_audit(&db, "certificate.list", ("certificate", "*"), None, "ok", &detail).await?;
            for crate::certificates::NumberRow { entry: r, title } in rows {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    r.number,
                    title,
                    r.document_status.as_deref().unwrap_or(&r.state),
                    r.replaced_by.unwrap_or_default(),
                    r.reason.unwrap_or_default()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
