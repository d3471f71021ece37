//! `xueji render` and `xueji templates check`.

use crate::app::App;
use crate::config::Config;
use crate::documents::{self, Options};
use crate::domain::Actor;
use crate::render::DocKind;
use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::process::ExitCode;

/// What to render.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// 文书种类：admission_notice、basic_info、registration、record_card、transfer_application、
    /// suspension_application、recall_notice、compulsory_certificate、graduation_certificate、academic_proof
    pub kind: String,
    /// 一名学生的学籍号
    #[arg(long, conflicts_with = "school")]
    pub student: Option<String>,
    /// 批量：学校标识码
    #[arg(long)]
    pub school: Option<String>,
    /// 批量：只打印该年级
    #[arg(long, requires = "school")]
    pub grade: Option<i64>,
    /// 批量：只打印该班（班号）
    #[arg(long, requires = "school")]
    pub class: Option<i64>,
    /// 输出文件：.pdf（批量超过 200 页时为多个分册 PDF 的 .zip），或 .zip（每名学生一个 PDF）
    #[arg(short, long)]
    pub output: PathBuf,
}

fn parse_kind(code: &str) -> anyhow::Result<DocKind> {
    DocKind::ALL.into_iter().find(|k| k.code() == code).with_context(|| {
        let all: Vec<&str> = DocKind::ALL.iter().map(|k| k.code()).collect();
        format!("没有名为“{code}”的文书种类；可选：{}", all.join("、"))
    })
}

/// Opens the application for command-line use (no server).
pub async fn open_app(config: &Config) -> anyhow::Result<App> {
    let base = format!("http://{}", config.bind);
    App::open(config.clone(), &base).await
}

/// Renders one student's document, or a batch, to a file.
pub async fn render(config: &Config, args: RenderArgs) -> anyhow::Result<ExitCode> {
    let kind = parse_kind(&args.kind)?;
    let app = open_app(config).await?;
    let actor = Actor::cli(&crate::config::os_user());
    let ext = args.output.extension().and_then(|e| e.to_str()).unwrap_or("");
    if !matches!(ext, "pdf" | "zip") {
        anyhow::bail!("输出文件须以 .pdf 或 .zip 结尾");
    }
    if let Some(no) = &args.student {
        let id = crate::db::students::ids_by_student_no(&app.db.pool, &no.trim().to_ascii_uppercase())
            .await?
            .context("找不到该学籍号的学生")?
            .id;
        let mut conn = app.db.pool.acquire().await?;
        let student = crate::db::students::by_id(&mut conn, id).await?.context("找不到该学生")?;
        drop(conn);
        let issued =
            crate::service::documents::print(&app, &actor, &student, kind).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        std::fs::write(&args.output, &issued.pdf.bytes)
            .with_context(|| format!("无法写入 {}", args.output.display()))?;
        println!(
            "已生成《{}》：{}（{} 页，sha256 {}）\n验证地址：{}",
            kind.title_zh(),
            args.output.display(),
            issued.pdf.pages,
            issued.pdf.sha256,
            issued.verify_url
        );
        return Ok(ExitCode::SUCCESS);
    }
    let code = args.school.as_deref().context("请用 --student 指定学生，或用 --school 批量打印")?;
    let school = crate::db::schools::by_code(&app.db.pool, code).await?.context("找不到该学校标识码的学校")?;
    let ids = crate::batch::students_for(&app, &school, args.grade, args.class).await?;
    let bar = ProgressBar::new(ids.len() as u64);
    bar.set_style(ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({eta})")?.progress_chars("=> "));
    bar.set_message(format!("生成《{}》", kind.title_zh()));
    let (mut requests, mut singles, mut skipped) = (Vec::new(), Vec::new(), 0usize);
    for (i, id) in ids.iter().enumerate() {
        let mut conn = app.db.pool.acquire().await?;
        let student = crate::db::students::by_id(&mut conn, *id).await?.context("学生记录")?;
        drop(conn);
        if documents::check_allowed(kind, &student, school.kind).is_err() {
            skipped += 1;
        } else {
            let issued =
                documents::issue(&app, &student, kind, Options::default()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            if ext == "zip" {
                singles.push((format!("{:03}-{}-{}.pdf", i + 1, kind.code(), student.student_no), issued.pdf.bytes));
            } else {
                requests.push(issued.request);
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let (bytes, pages) = if ext == "zip" {
        let n = singles.len();
        (crate::batch::zip_files(&singles).map_err(|e| anyhow::anyhow!("{e}"))?, n)
    } else {
        anyhow::ensure!(!requests.is_empty(), "所选学生的学籍状态都不适用此文书");
        let n = requests.len();
        let chunks = app.renderer.render_batch(&requests, &|_, _| {}).map_err(|e| anyhow::anyhow!("{e}"))?;
        if chunks.len() == 1 {
            (chunks.into_iter().next().expect("one chunk").bytes, n)
        } else {
            let files: Vec<(String, Vec<u8>)> =
                chunks.into_iter().enumerate().map(|(i, c)| (format!("part{:02}.pdf", i + 1), c.bytes)).collect();
            (crate::batch::zip_files(&files).map_err(|e| anyhow::anyhow!("{e}"))?, n)
        }
    };
    crate::service::documents::record_batch(&app.db, &actor, &school, kind, pages)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    std::fs::write(&args.output, bytes).with_context(|| format!("无法写入 {}", args.output.display()))?;
    println!(
        "已生成 {} 份《{}》：{}（跳过学籍状态不适用的 {skipped} 名）",
        pages,
        kind.title_zh(),
        args.output.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Compiles every document template with its sample data; lists each problem with file and line.
pub fn templates_check(config: &Config) -> anyhow::Result<ExitCode> {
    let dir = config.templates_dir()?.join("forms");
    let renderer = crate::render::Renderer::new(&dir, &config.fonts_dir()?)
        .map_err(|e| anyhow::anyhow!("无法加载模板或字体：{e}"))?;
    let problems = renderer.check_templates();
    if problems.is_empty() {
        println!("全部 {} 个文书模板检查通过（{}）", DocKind::ALL.len(), dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    for p in &problems {
        println!("{p}");
    }
    println!("{} 个模板有错误", problems.len());
    Ok(ExitCode::from(1))
}
