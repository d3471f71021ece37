//! `xueji schools …`: the people a school's papers name, at the command
//! line — the principal and registrar (`set`), a class's head teacher
//! (`head-teacher`). Audited as the operating-system user.

use crate::config::Config;
use crate::db::Db;
use crate::domain::{Actor, Grade};
use crate::render::Coverage;
use crate::service::schools::{self, Officers};
use clap::Subcommand;
use std::process::ExitCode;

/// School commands.
#[derive(Debug, Subcommand)]
pub enum SchoolsCommand {
    /// 登记学校的校长和学籍管理员（证书上的校长、表格上的经办人）；空字符串为清除
    #[command(group(clap::ArgGroup::new("who").required(true).multiple(true).args(["principal", "registrar"])))]
    Set {
        /// 学校标识码
        code: String,
        /// 校长姓名
        #[arg(long)]
        principal: Option<String>,
        /// 学籍管理员姓名
        #[arg(long)]
        registrar: Option<String>,
    },
    /// 登记班主任；空字符串为清除
    HeadTeacher {
        /// 学校标识码
        code: String,
        /// 年级（1-9 或“三年级”）
        #[arg(long)]
        grade: String,
        /// 班号
        #[arg(long)]
        class: i64,
        /// 班主任姓名
        #[arg(long)]
        name: String,
    },
}

/// Runs a school command.
///
/// # Errors
///
/// The database or the fonts cannot be opened, or the service refuses.
pub async fn run(config: &Config, cmd: SchoolsCommand) -> anyhow::Result<ExitCode> {
    let db = Db::connect(&config.database_url).await?;
    let coverage = Coverage::load(&config.fonts_dir()?).map_err(|e| anyhow::anyhow!("{e}"))?;
    let actor = Actor::cli(&crate::config::os_user());
    let refused = |e: crate::error::AppError| match e {
        crate::error::AppError::NotFound => anyhow::anyhow!("找不到该学校"),
        e => anyhow::anyhow!("{e}"),
    };
    match cmd {
        SchoolsCommand::Set { code, principal, registrar } => {
            let req = Officers { principal, registrar };
            let school = schools::set_officers(&db, &coverage, &actor, code.trim(), &req).await.map_err(refused)?;
            let shown = |n: &str| if n.is_empty() { "（未登记）".to_owned() } else { n.to_owned() };
            println!(
                "已登记{}：校长 {}，学籍管理员 {}",
                school.name,
                shown(&school.principal),
                shown(&school.registrar)
            );
        }
        SchoolsCommand::HeadTeacher { code, grade, class, name } => {
            let grade = Grade::parse(&grade).map_err(|e| anyhow::anyhow!("{e}"))?;
            let class = schools::set_head_teacher(&db, &coverage, &actor, code.trim(), grade, class, &name)
                .await
                .map_err(refused)?;
            if class.head_teacher.is_empty() {
                println!("已清除{}的班主任。", class.name());
            } else {
                println!("已登记{}的班主任：{}", class.name(), class.head_teacher);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
