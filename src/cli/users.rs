//! `xueji users …`: staff accounts at the command line — lift a sign-in
//! lock (an account, or a client address, locked after repeated failed
//! sign-ins) before it ends. Audited as the operating-system user.

use crate::config::Config;
use crate::db::Db;
use crate::domain::Actor;
use crate::service::accounts::{self, Unlock};
use clap::Subcommand;
use std::process::ExitCode;

/// Account commands.
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// 解除登录锁定：多次登录失败后被锁定的用户名，或（--address）客户端地址
    Unlock {
        /// 用户名；与 --address 同用时不填
        #[arg(required_unless_present = "address")]
        username: Option<String>,
        /// 解除锁定的客户端地址（如学校出口地址）
        #[arg(long, conflicts_with = "username")]
        address: Option<String>,
    },
}

/// Runs an account command.
///
/// # Errors
///
/// The database cannot be opened or written.
pub async fn run(config: &Config, cmd: UsersCommand) -> anyhow::Result<ExitCode> {
    let db = Db::connect(&config.database_url).await?;
    let actor = Actor::cli(&crate::config::os_user());
    match cmd {
        UsersCommand::Unlock { username, address } => {
            let (target, shown) = if let Some(address) = &address {
                (Unlock::Address(address), format!("地址 {address} "))
            } else if let Some(name) = &username {
                (Unlock::Account(name), format!("用户 {name} "))
            } else {
                anyhow::bail!("请指定用户名，或用 --address 指定地址");
            };
            let lifted = accounts::unlock(&db, &actor, target).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            if lifted {
                println!("已解除{shown}的登录锁定。");
            } else {
                println!("{shown}没有登录失败记录，无需解除。");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
