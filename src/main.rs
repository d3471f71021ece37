//! The `xueji` binary: the server and the command line beside it.

use anyhow::Context;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::Write;
use std::path::PathBuf;
use xueji::config::Config;
use xueji::db::{Db, schools, users};
use xueji::roster::{check, export, read};
use xueji::service::roster::ExportFormat;

/// 农安县中小学学籍管理系统 (xueji).
#[derive(Debug, Parser)]
#[command(name = "xueji", version, about = "学籍管理：学籍记录、证书与表格、验证、纸质档案")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// 启动服务（首次运行时创建数据库和签名密钥）
    Serve {
        /// 数据库为空时载入示例县（约 40 所学校、20,000 名虚构学生）
        #[arg(long)]
        demo: bool,
        /// 监听地址，覆盖 XUEJI_BIND
        #[arg(long)]
        bind: Option<String>,
    },
    /// 创建数据库、签名密钥和第一个教育局管理员账号
    Init {
        /// 管理员用户名
        #[arg(long, default_value = "admin")]
        admin: String,
    },
    /// 将示例县载入空数据库，并写出一份带错误的示例名册
    Demo {
        /// 随机种子（相同种子生成相同的县）
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        /// 学生人数
        #[arg(long, default_value_t = 20_000)]
        students: usize,
        /// 另外写出一份带错误的示例名册（第二实验小学一年级新生，xlsx）和错误清单，不载入数据库
        #[arg(long, value_name = "FILE.xlsx")]
        sample_roster: Option<PathBuf>,
    },
    /// 导入学籍名册（xlsx、xls 或 csv）：全部通过才写入，否则不写入任何数据。也接受国家学籍系统的《学前调档名单模板》（记入调档名单）和填写完整的《调档学生导出》，按表头识别
    Import {
        /// 名册文件
        file: PathBuf,
        /// 学校标识码
        #[arg(long)]
        school: String,
        /// 只检查，不写入
        #[arg(long)]
        dry_run: bool,
        /// 自动创建名册中出现而本校没有的班级
        #[arg(long)]
        create_classes: bool,
        /// 以 JSON 输出报告
        #[arg(long)]
        json: bool,
    },
    /// 导出学校的学籍名册（按文件扩展名：.xlsx 或 .csv）
    Export {
        /// 学校标识码
        #[arg(long)]
        school: String,
        /// 输出文件
        #[arg(short, long)]
        output: PathBuf,
    },
    /// 国家学籍系统的表格：导出《调档学生导出》（调档名单或在籍学生）
    #[command(subcommand)]
    National(xueji::cli::national::NationalCommand),
    /// 纸质档案：存入、取出、列出扫描件，完整性检查，转学传输包的导出与导入
    #[command(subcommand)]
    Archive(xueji::cli::archive::ArchiveCommand),
    /// 证书编号：分配、列出
    #[command(subcommand)]
    Certificates(xueji::cli::certificates::CertificatesCommand),
    /// 历史毕业生（系统建立前毕业）：据毕业生登记册补录，开具学历证明书
    #[command(subcommand)]
    Historical(xueji::cli::historical::HistoricalCommand),
    /// 统计报表：列出，按基准日计算并导出 xlsx
    #[command(subcommand)]
    Report(xueji::cli::report::ReportCommand),
    /// 节假日安排（工作日期限所依据）：显示、导入、导出
    #[command(subcommand)]
    Calendar(xueji::cli::calendar::CalendarCommand),
    /// 签名密钥：列出、轮换、停用、标记泄露
    #[command(subcommand)]
    Keys(xueji::cli::keys::KeysCommand),
    /// 备份：数据库快照、签名密钥和档案库复制到一个目录（可重复运行，只复制新增的扫描件）；backup verify 校验备份
    Backup(xueji::cli::backup::BackupArgs),
    /// 从备份恢复到空的数据目录、数据库和档案库（先校验每个文件的摘要）
    Restore(xueji::cli::backup::RestoreArgs),
    /// 审计日志：校验哈希链
    #[command(subcommand)]
    Audit(xueji::cli::audit::AuditCommand),
    /// 教职工账号：解除登录锁定
    #[command(subcommand)]
    Users(xueji::cli::users::UsersCommand),
    /// 学校：登记校长、学籍管理员和班主任
    #[command(subcommand)]
    Schools(xueji::cli::schools::SchoolsCommand),
    /// 打印文书：一名学生（--student）或批量（--school [--grade] [--class]）
    Render(xueji::cli::documents::RenderArgs),
    /// 验证文书二维码：离线核对签名（公开密钥集），可选 --online 查询在线状态
    Verify(xueji::cli::verify::VerifyArgs),
    /// 文书模板
    Templates {
        #[command(subcommand)]
        what: Templates,
    },
    /// 性能测试
    Bench {
        #[command(subcommand)]
        what: Bench,
    },
}

#[derive(Debug, Subcommand)]
enum Templates {
    /// 用示例数据编译每个文书模板，报告出错的文件、行号和原因
    Check,
}

#[derive(Debug, Subcommand)]
enum Bench {
    /// 文书渲染：启动与首份文书、单份证书（热）、批量证书（页/秒、内存峰值）
    Render {
        /// 批量证书份数
        #[arg(long, default_value_t = 10_000)]
        count: usize,
    },
    /// 全文检索：生成多页文字并建立全文索引，报告索引大小与检索 p50/p99；可加测文字识别速度
    Text {
        /// 页数
        #[arg(long, default_value_t = 100_000)]
        pages: usize,
        /// 每类检索的次数
        #[arg(long, default_value_t = 200)]
        queries: usize,
        /// 文字识别测速：识别 300 dpi 的 A4 页若干次（0 为不测；需要 tesseract 与 pdftoppm）
        #[arg(long, default_value_t = 0)]
        ocr_pages: usize,
    },
    /// 导入名册：生成一份名册，检查（dry run）并写入一所新学校，报告耗时
    Import {
        /// 行数
        #[arg(long, default_value_t = 10_000)]
        rows: usize,
        /// 重复次数（取中位数）
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
    /// 纸质档案：1 GiB 扫描件的存档吞吐量（对比 sha256sum + cp）、完整性检查吞吐量、存档 2 GiB 文件时的内存峰值
    Archive {
        /// 扫描件总量（MiB）
        #[arg(long, default_value_t = 1024)]
        mib: u64,
        /// 大文件大小（MiB）
        #[arg(long, default_value_t = 2048)]
        big_mib: u64,
        /// 测试文件所在目录（默认数据目录；测试后删除）
        #[arg(long)]
        dir: Option<PathBuf>,
        /// 内部使用：只存档这个文件并报告内存峰值
        #[arg(long, hide = true)]
        rss_file: Option<PathBuf>,
    },
    /// 负载：以固定速率向运行中的服务发送工作人员与公开验证的混合请求，报告状态与延迟分位数；未通过时退出码为 3
    Load {
        /// 服务地址
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        base: String,
        /// 账号文件（xueji demo 写出的 demo-accounts.txt；默认在数据目录中）
        #[arg(long)]
        accounts: Option<PathBuf>,
        /// 登录用户名（默认账号文件中第一个教育局工作人员）
        #[arg(long)]
        user: Option<String>,
        /// 每秒请求数（两类合计）
        #[arg(long, default_value_t = 500)]
        rate: u32,
        /// 持续秒数
        #[arg(long, default_value_t = 600)]
        seconds: u64,
        /// 工作人员请求所占比例（其余为公开验证）
        #[arg(long, default_value_t = 0.5)]
        staff_share: f64,
        /// 工作人员请求 p99 上限（毫秒）
        #[arg(long, default_value_t = 200.0)]
        staff_p99_ms: f64,
        /// 公开验证 p99 上限（毫秒）
        #[arg(long, default_value_t = 20.0)]
        verify_p99_ms: f64,
        /// 以 JSON 输出报告
        #[arg(long)]
        json: bool,
    },
    /// 统计报表：载入示例县，计时读取学籍与变动历史、计算每张年度统计表（取中位数）
    Reports {
        /// 学生人数
        #[arg(long, default_value_t = 20_000)]
        students: usize,
        /// 重复次数
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// 毕业与升级：载入示例县，计时预览与执行（7月15日毕业，8月10日升级）
    Yearly {
        /// 学生人数
        #[arg(long, default_value_t = 20_000)]
        students: usize,
        /// 年份
        #[arg(long, default_value_t = 2027)]
        year: i32,
    },
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("XUEJI_LOG").unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        // Colours only on a terminal: a log file or the journal gets plain text to search.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("错误：无法启动运行时：{e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("错误：{e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    let mut config = Config::from_env()?;
    match cli.command {
        Command::Serve { demo, bind } => {
            if let Some(b) = bind {
                config.bind = b;
            }
            if demo {
                let db = Db::connect(&config.database_url).await?;
                if schools::count(&db.pool).await? == 0 {
                    load_demo(&config, &db, 2026, 20_000).await?;
                }
                db.pool.close().await;
            }
            let server = xueji::app::Server::build(config.clone()).await?;
            let url = server.app().public_base_url.clone();
            let db = &server.app().db;
            if users::count(&db.pool).await? == 0 {
                eprintln!("还没有任何账号：请先运行 `xueji init` 创建管理员，或用 `xueji serve --demo` 载入示例县。");
            }
            println!("学籍管理系统已启动：请在浏览器打开 {url}/login 登录");
            let accounts = config.data_dir.join("demo-accounts.txt");
            if accounts.exists() {
                println!("示例账号和密码见 {}", accounts.display());
            }
            server.run_until(xueji::app::shutdown_signal()).await?;
        }
        Command::Init { admin } => {
            let db = Db::connect(&config.database_url).await?;
            let (_, created) = xueji::verify::KeyStore::init(xueji::app::keys_dir(&config))?;
            if created {
                println!("已创建签名密钥：{}", xueji::app::keys_dir(&config).display());
            }
            if users::by_username(&db.pool, &admin).await?.is_some() {
                println!("管理员 {admin} 已存在，未做更改。");
            } else {
                let password = xueji::config::admin_password().unwrap_or_else(xueji::demo::load::random_password);
                users::insert(&db.pool, &admin, "教育局管理员", &password, users::Role::BureauAdmin, None).await?;
                xueji::cli::write_audit(&db, "user.create", ("user", &admin), None, "ok", "role=bureau_admin").await?;
                println!("已创建教育局管理员：用户名 {admin}，密码 {password}（只显示这一次，请妥善保管）");
            }
        }
        Command::Demo { seed, students, sample_roster: Some(path) } => {
            write_sample_roster(&config, seed, students, &path)?;
        }
        Command::Demo { seed, students, sample_roster: None } => {
            let db = Db::connect(&config.database_url).await?;
            xueji::verify::KeyStore::init(xueji::app::keys_dir(&config))?;
            load_demo(&config, &db, seed, students).await?;
        }
        Command::Import { file, school, dry_run, create_classes, json } => {
            let db = Db::connect(&config.database_url).await?;
            let school = schools::by_code(&db.pool, &school)
                .await?
                .with_context(|| format!("找不到学校标识码为 {school} 的学校"))?;
            let bytes = std::fs::read(&file).with_context(|| format!("无法读取文件 {}", file.display()))?;
            let sheet = read::read(&bytes).map_err(|e| anyhow::anyhow!("{}：{e}", file.display()))?;
            let today = config.today.unwrap_or_else(|| chrono::Local::now().date_naive());
            let coverage = xueji::render::Coverage::load(&config.fonts_dir()?).map_err(|e| anyhow::anyhow!("{e}"))?;
            let opts = check::Options { dry_run, create_classes, actor_id: None, today, coverage };
            let actor = xueji::domain::Actor::cli(&xueji::config::os_user());
            let report = xueji::service::roster::import(&db, &actor, &school, sheet, &opts)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print_report(&school.name, &report);
            }
            if !report.report.errors.is_empty() {
                return Ok(std::process::ExitCode::from(1));
            }
        }
        Command::Export { school, output } => {
            let db = Db::connect(&config.database_url).await?;
            let ext = output.extension().and_then(|e| e.to_str()).unwrap_or("");
            let format = ExportFormat::parse(ext).map_err(|_| anyhow::anyhow!("输出文件须以 .xlsx 或 .csv 结尾"))?;
            let actor = xueji::domain::Actor::cli(&xueji::config::os_user());
            let out = xueji::service::roster::export(&db, &actor, &school, format).await.map_err(|e| match e {
                xueji::error::AppError::NotFound => anyhow::anyhow!("找不到学校标识码为 {school} 的学校"),
                e => anyhow::anyhow!("{e}"),
            })?;
            std::fs::write(&output, &out.bytes).with_context(|| format!("无法写入 {}", output.display()))?;
            println!("已导出 {} 名学生到 {}", out.rows, output.display());
        }
        Command::National(cmd) => return xueji::cli::national::run(&config, cmd).await,
        Command::Certificates(cmd) => return xueji::cli::certificates::run(&config, cmd).await,
        Command::Historical(cmd) => return xueji::cli::historical::run(&config, cmd).await,
        Command::Report(cmd) => return xueji::cli::report::run(&config, cmd).await,
        Command::Calendar(cmd) => return xueji::cli::calendar::run(&config, cmd).await,
        Command::Users(cmd) => return xueji::cli::users::run(&config, cmd).await,
        Command::Schools(cmd) => return xueji::cli::schools::run(&config, cmd).await,
        Command::Backup(args) => return xueji::cli::backup::run(&config, args).await,
        Command::Restore(args) => return xueji::cli::backup::restore(&config, args).await,
        Command::Audit(cmd) => return xueji::cli::audit::run(&config, cmd).await,
        Command::Keys(cmd) => return xueji::cli::keys::run(&config, cmd).await,
        Command::Render(args) => return xueji::cli::documents::render(&config, args).await,
        Command::Templates { what: Templates::Check } => return xueji::cli::documents::templates_check(&config),
        Command::Verify(args) => return xueji::cli::verify::run(&config, args).await,
        Command::Archive(cmd) => return xueji::cli::archive::run(&config, cmd).await,
        Command::Bench { what: Bench::Render { count } } => xueji::bench::render(&config, count)?,
        Command::Bench { what: Bench::Yearly { students, year } } => xueji::bench::yearly(students, year).await?,
        Command::Bench { what: Bench::Reports { students, runs } } => {
            xueji::bench::reports::reports(students, runs).await?
        }
        Command::Bench { what: Bench::Text { pages, queries, ocr_pages } } => {
            xueji::bench::text::text(pages, queries, ocr_pages).await?
        }
        Command::Bench { what: Bench::Import { rows, runs } } => {
            xueji::bench::import(&config, rows, runs).await?;
        }
        Command::Bench {
            what: Bench::Load { base, accounts, user, rate, seconds, staff_share, staff_p99_ms, verify_p99_ms, json },
        } => {
            let accounts = accounts.unwrap_or_else(|| config.data_dir.join("demo-accounts.txt"));
            let base = base.trim_end_matches('/').to_owned();
            let opts = xueji::bench::load::LoadOptions {
                base,
                accounts,
                user,
                rate,
                seconds,
                staff_share,
                staff_p99_ms,
                verify_p99_ms,
                json,
            };
            if !xueji::bench::load::load(&opts).await? {
                return Ok(std::process::ExitCode::from(3));
            }
        }
        Command::Bench { what: Bench::Archive { mib, big_mib, dir, rss_file } } => match rss_file {
            Some(file) => xueji::bench::archive_rss(&file, dir.as_deref().unwrap_or(&config.data_dir))?,
            None => xueji::bench::archive(&config, mib, big_mib, dir).await?,
        },
    }
    Ok(std::process::ExitCode::SUCCESS)
}

fn progress_bar(total: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar
}

async fn load_demo(config: &Config, db: &Db, seed: u64, students: usize) -> anyhow::Result<()> {
    let today = config.today.unwrap_or_else(|| chrono::Local::now().date_naive());
    eprintln!("正在生成示例县（种子 {seed}，{students} 名学生）……");
    let county = xueji::demo::generate(seed, students, today);
    let bar = progress_bar(county.schools.len(), "载入学校名册");
    let coverage = xueji::render::Coverage::load(&config.fonts_dir()?).map_err(|e| anyhow::anyhow!("{e}"))?;
    let accounts =
        xueji::demo::load::load(db, &county, today, &coverage, &|done, _| bar.set_position(done as u64)).await?;
    bar.finish_and_clear();
    let detail = format!("seed={seed} schools={} students={}", county.schools.len(), county.students.len());
    xueji::cli::write_audit(db, "demo.load", ("county", "*"), None, "ok", &detail).await?;
    std::fs::create_dir_all(&config.data_dir)?;
    let path = config.data_dir.join("demo-accounts.txt");
    let mut file = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&path)?
    };
    writeln!(file, "# 示例县账号（仅供演示，密码随机生成）\n# 用户名\t密码\t角色\t学校")?;
    for a in &accounts {
        writeln!(file, "{}\t{}\t{}\t{}", a.username, a.password, a.role.label(), a.school.as_deref().unwrap_or("-"))?;
    }
    // The passwords go only into the file (mode 0600), never to the terminal or the log.
    println!(
        "示例县已载入：{} 所学校、{} 名学生。管理员用户名 {}；全部账号和密码见 {}（仅本机当前用户可读）",
        county.schools.len(),
        county.students.len(),
        accounts[0].username,
        path.display()
    );
    Ok(())
}

fn write_sample_roster(config: &Config, seed: u64, students: usize, path: &std::path::Path) -> anyhow::Result<()> {
    let today = config.today.unwrap_or_else(|| chrono::Local::now().date_naive());
    let county = xueji::demo::generate(seed, students, today);
    let school = county.school_named("农安县第二实验小学").context("示例县中没有第二实验小学")?;
    let (rows, mistakes) = xueji::demo::sample_roster_with_mistakes(&county, &school.code, 100, seed);
    std::fs::write(path, export::write_xlsx(&rows)?).with_context(|| format!("无法写入 {}", path.display()))?;
    println!(
        "已写出 {}：{} 行，学校 {}（{}），故意错误 {} 处：",
        path.display(),
        rows.len(),
        school.name,
        school.code,
        mistakes.len()
    );
    for m in &mistakes {
        println!("- 第{}行 {}：{}", m.row_index + 2, m.column, m.what);
    }
    Ok(())
}

fn print_report(school: &str, imported: &xueji::service::roster::Imported) {
    let r = &imported.report;
    println!("识别为：{}", imported.layout_name);
    println!("{school}：共 {} 行，{} 行通过检查。", r.rows, r.valid_rows);
    if !r.ignored_columns.is_empty() {
        println!("已忽略模板外的列：{}", r.ignored_columns.join("、"));
    }
    for e in &r.errors {
        println!("  第{}行 [{}] “{}”：{}（{}）", e.row, e.column, e.value, e.reason, e.code);
    }
    for w in &r.warnings {
        println!("  第{}行 需核实：{}", w.row, w.message);
    }
    if !r.created_classes.is_empty() {
        println!("创建班级：{}", r.created_classes.join("、"));
    }
    if !r.errors.is_empty() {
        println!("有 {} 处错误，未写入任何数据。", r.errors.len());
    } else if r.committed && imported.layout == xueji::roster::national::Layout::IntakeList {
        println!("已将 {} 名儿童记入 {} 年秋季一年级调档名单。", r.inserted, imported.intake_year.unwrap_or_default());
    } else if r.committed {
        println!("已写入 {} 名学生。", r.inserted);
        if imported.taken_up > 0 {
            println!("调档名单中 {} 名儿童已建立学籍。", imported.taken_up);
        }
    } else {
        println!("检查通过（未写入：--dry-run）。");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
