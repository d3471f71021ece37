//! `xueji keys …`: the signing keys — list them, rotate (a new key signs
//! from then on), retire a key no longer active, mark a key compromised
//! (what it signed fails verification; a new key takes over if it was the
//! active one). Audited as the operating-system user; a running service
//! follows within two seconds.

use crate::config::Config;
use crate::db::Db;
use crate::domain::Actor;
use crate::service::keys::{self, Change};
use crate::verify::{KeyStore, Kid};
use anyhow::Context;
use clap::Subcommand;
use std::process::ExitCode;

/// Key commands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// 列出签名密钥：编号、状态、创建时间
    List,
    /// 轮换：生成新密钥用于签发，原启用密钥停用（仍可验证）
    Rotate {
        /// 原因（记入审计日志）
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// 停用一个非启用中的密钥（仍可验证其签发的文书）
    Retire {
        /// 密钥编号（8 位十六进制）
        kid: String,
        /// 原因（必填，记入审计日志）
        #[arg(long)]
        reason: String,
    },
    /// 标记密钥泄露：其签发的全部文书验证失败；若为启用中的密钥，自动生成新密钥
    Compromise {
        /// 密钥编号（8 位十六进制）
        kid: String,
        /// 原因（必填，记入审计日志）
        #[arg(long)]
        reason: String,
    },
}

/// Runs a key command.
///
/// # Errors
///
/// The key directory or the database cannot be opened, or the change is refused.
pub async fn run(config: &Config, cmd: KeysCommand) -> anyhow::Result<ExitCode> {
    let store = KeyStore::open(crate::app::keys_dir(config)).context("无法打开签名密钥（请先运行 xueji init）")?;
    let parse = |kid: &str| kid.parse::<Kid>().map_err(|e| anyhow::anyhow!("{e}"));
    let (change, reason) = match cmd {
        KeysCommand::List => {
            for k in store.list() {
                println!("{}\t{}\t{}", k.kid, k.status.label_zh(), k.created.to_rfc3339());
            }
            return Ok(ExitCode::SUCCESS);
        }
        KeysCommand::Rotate { reason } => (Change::Rotate, reason),
        KeysCommand::Retire { kid, reason } => (Change::Retire(parse(&kid)?), reason),
        KeysCommand::Compromise { kid, reason } => (Change::Compromise(parse(&kid)?), reason),
    };
    let db = Db::connect(&config.database_url).await?;
    let actor = Actor::cli(&crate::config::os_user());
    match keys::change(&db, &store, &actor, change, &reason).await {
        Ok(done) => {
            let active = done.active.as_deref().unwrap_or("（无）");
            match change {
                Change::Rotate => println!("已生成新密钥 {}，今后用它签发。", done.kid),
                Change::Retire(_) => println!("已停用密钥 {}（仍可验证其签发的文书）。", done.kid),
                Change::Compromise(_) => {
                    println!("已标记密钥 {} 泄露：其签发的文书一律验证失败。", done.kid);
                }
            }
            println!("当前启用的密钥：{active}。运行中的服务将在两秒内使用新的密钥集。");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) if !e.is_internal() => {
            eprintln!("{e}（{}）", e.code());
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(anyhow::anyhow!("{e}")),
    }
}
