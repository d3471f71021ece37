//! `xueji calendar …`: the working-day calendar in the database — show a
//! year, import a file (whole years replaced, all or nothing), export.
//!
//! Only the database is opened (seeded with the bundled schedule's years on
//! first use, as the service does). A running service picks up an import
//! within ten minutes, or at once on restart.

use crate::calendar::{self, Via, YearView};
use crate::config::Config;
use crate::db::Db;
use crate::domain::Actor;
use anyhow::Context;
use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;

/// Calendar commands.
#[derive(Debug, Subcommand)]
pub enum CalendarCommand {
    /// 显示节假日安排：已录入的年份，或某一年的放假日和调休上班日
    Show {
        /// 只显示这一年
        #[arg(long)]
        year: Option<i32>,
    },
    /// 导入节假日安排（CSV：date,kind,name）：文件中出现的每个年份整年替换，全部通过才写入
    Import {
        /// CSV 文件（UTF-8 或 GB18030）
        file: PathBuf,
        /// 来源说明，如通知名称或网址
        #[arg(long, default_value = "")]
        source: String,
    },
    /// 导出节假日安排为 CSV（可修改后再导入）
    Export {
        /// 输出文件（不写则输出到标准输出）
        file: Option<PathBuf>,
    },
}

/// Runs a calendar command.
pub async fn run(config: &Config, cmd: CalendarCommand) -> anyhow::Result<ExitCode> {
    let db = Db::connect(&config.database_url).await?;
    let current = calendar::open(&db).await?;
    match cmd {
        CalendarCommand::Show { year: Some(year) } => print_year(&YearView::new(&current, year)),
        CalendarCommand::Show { year: None } => {
            let today = config.today.unwrap_or_else(|| chrono::Local::now().date_naive());
            let years: Vec<String> = current.years().iter().map(ToString::to_string).collect();
            println!("已录入的年份：{}", if years.is_empty() { "无".to_owned() } else { years.join("、") });
            for year in calendar::years_to_show(&current, today) {
                let view = YearView::new(&current, year);
                match &view.warning {
                    Some(warning) => println!("{year} 年：{warning}"),
                    None => println!(
                        "{year} 年：放假 {} 天，调休上班 {} 天，全年工作日 {} 天",
                        view.holiday_days, view.workday_days, view.working_days
                    ),
                }
            }
            println!("最近的更新：");
            for calendar::UpdateRow { logged: u, via_label } in calendar::updates(&db, 10).await? {
                println!(
                    "  {}\t{} 年\t{}\t放假 {} 天、调休上班 {} 天（替换原有 {} 行）\t{}\t{}",
                    u.at, u.year, via_label, u.holidays, u.workdays, u.replaced, u.username, u.source
                );
            }
        }
        CalendarCommand::Import { file, source } => {
            let bytes = std::fs::read(&file).with_context(|| format!("无法读取文件 {}", file.display()))?;
            match calendar::replace_years(&db, &bytes, Via::Cli, &source, &Actor::cli(&crate::config::os_user())).await
            {
                Ok((report, _)) => {
                    for y in &report.years {
                        println!(
                            "已替换 {} 年：放假 {} 天，调休上班 {} 天（原有 {} 行）",
                            y.year, y.holidays, y.workdays, y.replaced
                        );
                    }
                    println!("正在运行的服务将在 10 分钟内（或重启后）使用新的安排。");
                }
                Err(calendar::ImportError::Internal(e)) => return Err(e),
                Err(e) => {
                    eprintln!("{}：{e}（{}）", file.display(), e.code());
                    eprintln!("未作任何更改。");
                    return Ok(ExitCode::from(1));
                }
            }
        }
        CalendarCommand::Export { file } => {
            let csv = current.to_csv();
            match file {
                Some(path) => {
                    std::fs::write(&path, &csv).with_context(|| format!("无法写入 {}", path.display()))?;
                    let days = current.days().count();
                    println!("已导出 {days} 行（{} 个年份）到 {}", current.years().len(), path.display());
                }
                None => print!("{csv}"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints one year's holidays and make-up workdays.
fn print_year(view: &YearView) {
    if let Some(warning) = &view.warning {
        println!("{warning}");
        return;
    }
    println!(
        "{} 年：放假 {} 天，调休上班 {} 天，全年工作日 {} 天",
        view.year, view.holiday_days, view.workday_days, view.working_days
    );
    for h in &view.holidays {
        let work =
            if h.workdays.is_empty() { "无调休上班日".to_owned() } else { format!("{}上班", h.workdays) };
        println!("  {}：{}放假，共 {} 天；{}", h.name, h.off, h.days, work);
    }
}
