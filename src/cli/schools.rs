//! `xueji schools …`: the people a school's papers name, at the command
//! line — the principal and registrar (`set`), a class's head teacher
//! (`head-teacher`) — and the bureau's hold on its intake: the autumn
//! intake plan (`plan`, `plans`, `late-intake`) and the catchment area
//! (`district`). Audited as the operating-system user.

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
    /// 下达学校某年秋季招生计划（起始年级的班数和人数；已下达的须由学校书面申请调整）
    Plan {
        /// 学校标识码
        code: String,
        /// 招生年度，如 2027
        #[arg(long)]
        year: i32,
        /// 计划班数
        #[arg(long)]
        classes: u32,
        /// 计划人数
        #[arg(long)]
        places: u32,
    },
    /// 列出学校的招生计划及其调整记录
    Plans {
        /// 学校标识码
        code: String,
    },
    /// 登记秋季以外的延期招生：截止日期和理由
    LateIntake {
        /// 学校标识码
        code: String,
        /// 招生年度
        #[arg(long)]
        year: i32,
        /// 截止日期（YYYY-MM-DD）
        #[arg(long)]
        until: String,
        /// 理由
        #[arg(long)]
        reason: String,
    },
    /// 划定学校的学区：每行一个街道、小区、村或乡镇名的文本文件（替换原有学区）
    District {
        /// 学校标识码
        code: String,
        /// 学区地名文件（UTF-8，每行一个；# 开头为注释）
        #[arg(long)]
        places: std::path::PathBuf,
        /// 是教育局安排进城务工人员随迁子女就读的学校（第十八条）
        #[arg(long)]
        migrant_children: bool,
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
        SchoolsCommand::Plan { code, year, classes, places } => {
            let f = crate::service::plans::Figures { classes, places };
            let plan =
                crate::service::plans::issue(&db, &actor, today(config), &code, year, f).await.map_err(refused)?;
            println!("已下达{}年招生计划：{}个班，{}人。", plan.year, plan.classes, plan.places);
        }
        SchoolsCommand::Plans { code } => {
            let (school, plans) =
                crate::service::plans::list(&db, &actor, today(config), &code).await.map_err(refused)?;
            if plans.is_empty() {
                println!("{}尚无招生计划。", school.name);
            }
            for v in plans {
                let p = &v.plan;
                println!(
                    "{}年：计划{}个班{}人，现有{}个班{}人{}",
                    p.year,
                    p.classes,
                    p.places,
                    v.classes_now,
                    v.enrolled,
                    p.late_until.map(|u| format!("；延期招生至{u}（{}）", p.late_reason)).unwrap_or_default()
                );
                for h in &v.history {
                    let figures = match (h.classes, h.places) {
                        (Some(c), Some(n)) => format!("{c}个班{n}人"),
                        _ => String::new(),
                    };
                    println!("  #{} {} {} {} {} {}", h.id, h.filed_at, h.kind, figures, h.state, h.reason);
                }
            }
        }
        SchoolsCommand::LateIntake { code, year, until, reason } => {
            let until = crate::domain::parse_date("截止日期", &until).map_err(|e| anyhow::anyhow!("{e}"))?;
            let plan =
                crate::service::plans::allow_late(&db, &coverage, &actor, today(config), &code, year, until, &reason)
                    .await
                    .map_err(refused)?;
            println!("已登记{}年延期招生，至{}。", plan.year, until);
        }
        SchoolsCommand::District { code, places, migrant_children } => {
            let text = std::fs::read_to_string(&places)
                .map_err(|e| anyhow::anyhow!("读不出学区地名文件 {}：{e}", places.display()))?;
            let places: Vec<String> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_owned)
                .collect();
            let req = schools::District { places, migrant_children };
            let kept = schools::set_district(&db, &coverage, &actor, &code, &req).await.map_err(refused)?;
            println!(
                "已划定学区：{}个地名{}",
                kept.places.len(),
                if kept.migrant_children { "；接收进城务工人员随迁子女" } else { "" }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn today(config: &Config) -> chrono::NaiveDate {
    config.today.unwrap_or_else(|| chrono::Local::now().date_naive())
}
