//! `xueji archive …`: the paper-file archive from the command line, on the
//! registrar's or the bureau's own machine. Students are named by student
//! number; nothing more about them is printed. Every run is audited as user
//! `cli`.
//!
//! Exit codes: 0 done; 1 a fault (database, disk); 2 refused input (unknown
//! student, kind or digest, a file or package the checks refused); 3 the
//! fixity check found problems.

use crate::app::{keys_dir, open_archive};
use crate::config::Config;
use crate::db::Db;
use crate::dossier::{self, Actor, Failure, StudentRef, Upload};
use anyhow::Context;
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr;
use std::sync::Arc;
use xueji_archive::{Archive, Digest, PaperKind};

/// Refused input.
const REFUSED: u8 = 2;
/// The fixity check found problems.
const PROBLEMS: u8 = 3;

/// The archive subcommands.
#[derive(Debug, Subcommand)]
pub enum ArchiveCommand {
    /// 存入扫描件（JPEG、PNG、TIFF、PDF）：检查通过后加入该生档案，每个文件一个新版本
    Put {
        /// 学籍号
        #[arg(long)]
        student: String,
        /// 材料类别：登记表、学生基本信息表、户口簿复印件、诊断证明、医疗票据、转学申请表、
        /// 转学证明材料、休学复学申请表、死亡证明、其他（或英文代码，如 household_register）
        #[arg(long)]
        kind: String,
        /// 更正：被替换的扫描件的摘要（64 位十六进制）
        #[arg(long)]
        supersedes: Option<String>,
        /// 说明
        #[arg(long, default_value = "")]
        note: String,
        /// 扫描件文件
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// 取出原件：按摘要把该生档案中的一份扫描件写到文件
    Get {
        /// 学籍号
        #[arg(long)]
        student: String,
        /// 扫描件摘要（64 位十六进制）
        #[arg(long)]
        digest: String,
        /// 输出文件（不会覆盖已有文件）
        #[arg(short, long)]
        output: PathBuf,
    },
    /// 列出该生档案的扫描件
    List {
        /// 学籍号
        #[arg(long)]
        student: String,
        /// 版本（默认最新）
        #[arg(long)]
        version: Option<u32>,
        /// 以 JSON 输出
        #[arg(long)]
        json: bool,
    },
    /// 完整性检查：重新计算每个文件的摘要，核对每份档案清单与检索索引；发现问题时退出码为 3
    Verify {
        /// 以 JSON 输出报告
        #[arg(long)]
        json: bool,
    },
    /// 导出该生的整份档案和学籍记录为签名的传输包（BagIt zip）
    Export {
        /// 学籍号
        #[arg(long)]
        student: String,
        /// 输出文件（.zip，不会覆盖已有文件）
        #[arg(short, long)]
        output: PathBuf,
    },
    /// 导入传输包：校验全部摘要和签名，全部通过后归入本系统同一学籍号学生的档案
    Import {
        /// 传输包（.zip）
        file: PathBuf,
    },
    /// 按档案清单重建检索索引，并按文字识别结果文件重建全文索引
    Reindex,
    /// 文字识别：读取排队中的扫描件文字（PDF 自带文字层原样采用，扫描页用 Tesseract 识别），
    /// 显示进度；--all 或 --student 先把这些扫描件重新排队
    Ocr {
        /// 全部扫描件重新识别
        #[arg(long, conflicts_with = "student")]
        all: bool,
        /// 只重新识别该生（学籍号）的扫描件
        #[arg(long)]
        student: Option<String>,
        /// 识别失败的重新排队
        #[arg(long)]
        retry_failed: bool,
    },
    /// 清理：删除中断的写入留下的、超过一小时的临时文件；加 --unreferenced 时，
    /// 也删除超过一小时、没有任何档案版本引用的文件（服务每小时自动清理临时文件）
    Sweep {
        /// 同时删除无人引用的文件（任何档案清单无法读取时不删除）
        #[arg(long)]
        unreferenced: bool,
        /// 只列出将删除的内容，不删除
        #[arg(long)]
        dry_run: bool,
        /// 以 JSON 输出
        #[arg(long)]
        json: bool,
    },
}

/// Runs an archive subcommand.
pub async fn run(config: &Config, cmd: ArchiveCommand) -> anyhow::Result<ExitCode> {
    let db = Db::connect(&config.database_url).await?;
    let archive = open_archive(config)?;
    // An import that a crash left half done is finished before anything else looks at the archive.
    let recovered = dossier::finish_pending_imports(&db, &archive).await.map_err(fault)?;
    if recovered.finished > 0 {
        eprintln!("已完成 {} 个此前中断的传输包导入。", recovered.finished);
    }
    if recovered.failed > 0 {
        eprintln!("警告：{} 个此前中断的传输包导入无法完成，相关档案暂不能写入（详见日志）。", recovered.failed);
    }
    let code = match cmd {
        ArchiveCommand::Put { student, kind, supersedes, note, files } => {
            put(&db, &archive, &student, &kind, supersedes.as_deref(), &note, &files).await?
        }
        ArchiveCommand::Get { student, digest, output } => get(&db, &archive, &student, &digest, &output).await?,
        ArchiveCommand::List { student, version, json } => list(&db, &archive, &student, version, json).await?,
        ArchiveCommand::Verify { json } => verify(&db, &archive, json).await?,
        ArchiveCommand::Export { student, output } => export(config, &db, &archive, &student, &output).await?,
        ArchiveCommand::Import { file } => import(config, &db, &archive, &file).await?,
        ArchiveCommand::Reindex => {
            let r = dossier::reindex_all(&db, &archive).await.map_err(fault)?;
            super::write_audit(
                &db,
                "archive.reindex",
                ("archive", "*"),
                None,
                "ok",
                &format!("dossiers={}", r.dossiers),
            )
            .await?;
            println!("已重建检索索引：{} 份档案，{} 条扫描件记录。", r.dossiers, r.entries);
            let code = super::ocr::reindex(&db, &archive).await?;
            let i = dossier::inventory::write_all(&db, &archive).await.map_err(fault)?;
            super::write_audit(
                &db,
                "archive.inventory",
                ("archive", "*"),
                None,
                "ok",
                &format!("dossiers={} version_files={} texts={}", i.dossiers, i.version_files_written, i.texts),
            )
            .await?;
            println!(
                "已写入档案清单：{} 份档案（inventories/，新写入版本清单 {} 个，列出文字文件 {} 个）和档案库说明 README.txt。",
                i.dossiers, i.version_files_written, i.texts
            );
            code
        }
        ArchiveCommand::Ocr { all, student, retry_failed } => {
            super::ocr::run(config, &db, &archive, all, student.as_deref(), retry_failed).await?
        }
        ArchiveCommand::Sweep { unreferenced, dry_run, json } => {
            sweep(&db, &archive, unreferenced, dry_run, json).await?
        }
    };
    db.pool.close().await;
    Ok(code)
}

fn fault(e: Failure) -> anyhow::Error {
    match e {
        Failure::App(crate::error::AppError::Internal(inner)) => inner,
        other => anyhow::anyhow!("{other}"),
    }
}

fn refused(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("错误：{message}");
    ExitCode::from(REFUSED)
}

/// Finds the student or prints why not (without echoing the number).
async fn student(db: &Db, no: &str, action: &str) -> anyhow::Result<Option<StudentRef>> {
    let found = dossier::student_by_no(db, no).await?;
    if found.is_none() {
        super::write_audit(db, action, ("student", "-"), None, "not_found", "").await?;
        eprintln!("错误：找不到该学籍号的学生（请核对学籍号，应为 19 位，以 G、L 或 J 开头）");
    }
    Ok(found)
}

fn parse_kind(kind: &str) -> Result<PaperKind, String> {
    PaperKind::from_str(kind).map_err(|e| {
        let labels: Vec<&str> = PaperKind::ALL.iter().map(|k| k.label()).collect();
        format!("{e}。可用的类别：{}", labels.join("、"))
    })
}

/// Prints a failure: a refusal's message, or a fault's chain.
fn report_failure(what: &str, e: &Failure) {
    if e.is_refusal() {
        eprintln!("已拒绝 {what}：{}（{}）", e.message(), e.code());
    } else {
        eprintln!("失败 {what}：{e}");
    }
}

async fn put(
    db: &Db,
    archive: &Archive,
    no: &str,
    kind: &str,
    supersedes: Option<&str>,
    note: &str,
    files: &[PathBuf],
) -> anyhow::Result<ExitCode> {
    let kind = match parse_kind(kind) {
        Ok(k) => k,
        Err(m) => return Ok(refused(m)),
    };
    let supersedes = match supersedes.map(Digest::from_str).transpose() {
        Ok(d) => d,
        Err(e) => return Ok(refused(e)),
    };
    if supersedes.is_some() && files.len() != 1 {
        return Ok(refused("更正（--supersedes）一次只能上传一个文件"));
    }
    let Some(student) = student(db, no, "archive.upload").await? else { return Ok(ExitCode::from(REFUSED)) };
    let actor = Actor::cli(&crate::config::os_user());
    let mut any_refused = false;
    for path in files {
        let shown = path.display();
        let file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("已拒绝 {shown}：无法读取文件（{e}）");
                any_refused = true;
                continue;
            }
        };
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let upload = Upload { kind, original_name: name, supersedes, note: note.to_owned() };
        let result =
            dossier::add_file(db, archive, &student, upload, Box::new(std::io::BufReader::new(file)), &actor).await;
        let (outcome, detail) = match &result {
            Ok(a) => ("ok", format!("digest={} kind={} version={}", a.entry.digest, kind.code(), a.version)),
            Err(e) if e.is_refusal() => ("refused", format!("code={}", e.code())),
            Err(e) => ("error", format!("code={}", e.code())),
        };
        super::write_audit(
            db,
            "archive.upload",
            ("student", &student.public_id),
            Some(student.school_id),
            outcome,
            &detail,
        )
        .await?;
        match result {
            Ok(a) => println!(
                "已存档 {} {} {}页 第{}版 {}",
                a.entry.digest,
                kind.label(),
                a.entry.pages,
                a.version,
                if a.new_object { "新文件" } else { "已有相同文件" }
            ),
            Err(e) if e.is_refusal() => {
                report_failure(&shown.to_string(), &e);
                any_refused = true;
            }
            Err(e) => return Err(fault(e)),
        }
    }
    Ok(if any_refused { ExitCode::from(REFUSED) } else { ExitCode::SUCCESS })
}

async fn get(db: &Db, archive: &Archive, no: &str, digest: &str, output: &Path) -> anyhow::Result<ExitCode> {
    let digest = match Digest::from_str(digest.trim()) {
        Ok(d) => d,
        Err(e) => return Ok(refused(e)),
    };
    let Some(student) = student(db, no, "archive.download").await? else { return Ok(ExitCode::from(REFUSED)) };
    let target = ("student", student.public_id.as_str());
    let Some(entry) = dossier::find_entry(db, archive, &student, &digest).await.map_err(fault)? else {
        super::write_audit(
            db,
            "archive.download",
            target,
            Some(student.school_id),
            "not_found",
            "digest not in dossier",
        )
        .await?;
        return Ok(refused("该生档案中没有这个摘要的扫描件"));
    };
    let mut out = match std::fs::OpenOptions::new().write(true).create_new(true).open(output) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Ok(refused(format!("输出文件 {} 已存在，不会覆盖", output.display())));
        }
        Err(e) => return Err(e).with_context(|| format!("无法创建 {}", output.display())),
    };
    let reader = dossier::open_object(archive, &entry).await.map_err(fault)?;
    let output2 = output.to_path_buf();
    let copied = tokio::task::spawn_blocking(move || -> anyhow::Result<Digest> {
        let mut reader = reader;
        let mut buf = vec![0u8; xueji_archive::CHUNK_SIZE];
        let mut hasher = sha2::Sha256::default();
        loop {
            let n = reader.read(&mut buf).context("读取存档对象失败")?;
            if n == 0 {
                break;
            }
            sha2::Digest::update(&mut hasher, &buf[..n]);
            out.write_all(&buf[..n]).with_context(|| format!("无法写入 {}", output2.display()))?;
        }
        out.sync_all().with_context(|| format!("无法写入 {}", output2.display()))?;
        Ok(Digest(sha2::Digest::finalize(hasher).into()))
    })
    .await??;
    if copied != digest {
        let _ = std::fs::remove_file(output);
        super::write_audit(db, "archive.download", target, Some(student.school_id), "error", "object corrupt").await?;
        anyhow::bail!("存档对象的内容与摘要不符，可能已损坏，请运行 xueji archive verify");
    }
    super::write_audit(
        db,
        "archive.download",
        target,
        Some(student.school_id),
        "ok",
        &format!("digest={digest} kind={}", entry.kind.code()),
    )
    .await?;
    println!("已写出 {}（{}，{} 字节，摘要已核对）", output.display(), entry.kind.label(), entry.size);
    Ok(ExitCode::SUCCESS)
}

async fn list(db: &Db, archive: &Archive, no: &str, version: Option<u32>, json: bool) -> anyhow::Result<ExitCode> {
    let Some(student) = student(db, no, "archive.view").await? else { return Ok(ExitCode::from(REFUSED)) };
    let view = match dossier::view(db, archive, &student, version).await {
        Ok(v) => v,
        Err(e) if e.is_refusal() => return Ok(refused("该生档案没有这个版本")),
        Err(e) => return Err(fault(e)),
    };
    super::write_audit(
        db,
        "archive.view",
        ("student", &student.public_id),
        Some(student.school_id),
        "ok",
        &format!("version={} entries={}", view.version, view.entries.len()),
    )
    .await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&view)?);
        return Ok(ExitCode::SUCCESS);
    }
    if view.version == 0 {
        println!("该生档案中还没有任何扫描件。");
        return Ok(ExitCode::SUCCESS);
    }
    println!("档案第 {} 版（最新第 {} 版），{} 份扫描件：", view.version, view.latest, view.entries.len());
    for e in &view.entries {
        println!(
            "{}  {}  {}页  {} 字节  {}  {}  {}{}",
            e.digest,
            e.kind_label,
            e.pages,
            e.size,
            e.added_at,
            e.added_by,
            e.original_name,
            if e.supersedes.is_some() { "（更正件）" } else { "" }
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn verify(db: &Db, archive: &Archive, json: bool) -> anyhow::Result<ExitCode> {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("完整性检查 [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ({eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let bar2 = bar.clone();
    let progress = Arc::new(move |p: &xueji_archive::VerifyProgress| {
        bar2.set_length(p.bytes_total);
        bar2.set_position(p.bytes_done);
    });
    let summary = dossier::run_fixity(db, archive, "cli", progress).await.map_err(fault)?;
    bar.finish_and_clear();
    super::write_audit(
        db,
        "archive.fixity",
        ("archive", "*"),
        None,
        if summary.clean { "ok" } else { "problems" },
        &format!("objects={} problems={}", summary.objects_checked, summary.problems()),
    )
    .await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print_fixity(&archive.location(), &summary);
    }
    Ok(if summary.clean { ExitCode::SUCCESS } else { ExitCode::from(PROBLEMS) })
}

fn print_fixity(root: &Path, s: &dossier::FixitySummary) {
    println!(
        "检查了 {} 个文件（{:.1} MiB，{:.0} MiB/s）和 {} 份档案清单，用时 {:.1} 秒。",
        s.objects_checked,
        s.bytes_hashed as f64 / 1048576.0,
        s.bytes_per_second / 1048576.0,
        s.manifests_checked,
        s.seconds
    );
    println!("档案库：{}", root.display());
    for (path, actual) in &s.changed {
        println!("  内容被改动：{path}（现摘要 {actual}）");
    }
    for m in &s.missing {
        println!("  文件缺失：{}（见 {}）", m.path, m.referenced_by.join("、"));
    }
    for p in &s.stray {
        println!("  多余文件：{p}");
    }
    for p in &s.stale_temps {
        println!("  残留临时文件（写入中断留下）：{p}");
    }
    for (p, why) in &s.unreadable {
        println!("  无法读取：{p}：{why}");
    }
    for d in &s.index_ahead {
        println!("  档案清单缺失（索引记录的版本多于档案库）：dossiers/{d}");
    }
    for (d, digest) in &s.index_missing {
        println!("  检索索引中的文件在档案库中不存在：dossiers/{d} 的 {digest}");
    }
    for p in &s.unreferenced {
        println!("  无人引用的文件（中断的上传或导入留下，可用 xueji archive sweep --unreferenced 清理）：{p}");
    }
    if s.temps_in_progress > 0 {
        println!("  正在写入的临时文件：{} 个（不是问题）", s.temps_in_progress);
    }
    if s.unreferenced_recent > 0 {
        println!("  刚存入、尚待列入档案清单的文件：{} 个（不是问题）", s.unreferenced_recent);
    }
    if !s.index_behind.is_empty() {
        println!("  检索索引落后于档案清单：{} 份档案（运行 xueji archive reindex 同步）", s.index_behind.len());
    }
    if !s.unowned_dossiers.is_empty() {
        println!("  档案库中有 {} 份档案不属于本系统的任何学生", s.unowned_dossiers.len());
    }
    if s.clean {
        println!("结果：全部完好。");
    } else {
        println!("结果：发现 {} 处问题。", s.problems());
    }
}

async fn sweep(db: &Db, archive: &Archive, unreferenced: bool, dry_run: bool, json: bool) -> anyhow::Result<ExitCode> {
    let actor = Actor::cli(&crate::config::os_user());
    let s = dossier::sweep(db, archive, &actor, unreferenced, dry_run).await.map_err(fault)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        let verb = if s.dry_run { "将删除" } else { "已删除" };
        for p in &s.temps_removed {
            println!("  {verb}临时文件：{p}");
        }
        for p in &s.objects_removed {
            println!("  {verb}无人引用的文件：{p}");
        }
        for (p, why) in &s.failed {
            println!("  无法处理：{p}：{why}");
        }
        if let Some(why) = &s.unreferenced_refused {
            println!("  {why}");
        }
        println!(
            "{verb} {} 个临时文件、{} 个无人引用的文件，共 {:.1} MiB；正在写入的临时文件 {} 个、保留的无人引用文件 {} 个未动。",
            s.temps_removed.len(),
            s.objects_removed.len(),
            s.bytes_freed as f64 / 1048576.0,
            s.temps_in_progress,
            s.unreferenced_kept
        );
    }
    Ok(if s.failed.is_empty() && s.unreferenced_refused.is_none() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(PROBLEMS)
    })
}

async fn export(config: &Config, db: &Db, archive: &Archive, no: &str, output: &Path) -> anyhow::Result<ExitCode> {
    let Some(student) = student(db, no, "archive.export").await? else { return Ok(ExitCode::from(REFUSED)) };
    let keys = crate::verify::KeyStore::open(keys_dir(config)).context("无法打开签名密钥（请先运行 xueji init）")?;
    let out = match std::fs::OpenOptions::new().write(true).read(true).create_new(true).open(output) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Ok(refused(format!("输出文件 {} 已存在，不会覆盖", output.display())));
        }
        Err(e) => return Err(e).with_context(|| format!("无法创建 {}", output.display())),
    };
    let today = config.today.unwrap_or_else(|| chrono::Local::now().date_naive());
    let result = dossier::export(db, archive, &keys, &student, today, config, out).await;
    let target = ("student", student.public_id.as_str());
    match result {
        Ok(s) => {
            let detail = format!("versions={} objects={} bytes={}", s.versions, s.objects, s.payload_bytes);
            super::write_audit(db, "archive.export", target, Some(student.school_id), "ok", &detail).await?;
            println!(
                "已导出传输包 {}：{} 个档案版本，{} 个文件，共 {} 字节（已签名）。",
                output.display(),
                s.versions,
                s.objects,
                s.payload_bytes
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            let _ = std::fs::remove_file(output);
            let outcome = if e.is_refusal() { "refused" } else { "error" };
            super::write_audit(
                db,
                "archive.export",
                target,
                Some(student.school_id),
                outcome,
                &format!("code={}", e.code()),
            )
            .await?;
            if e.is_refusal() { Ok(refused(e.message())) } else { Err(fault(e)) }
        }
    }
}

async fn import(config: &Config, db: &Db, archive: &Archive, file: &Path) -> anyhow::Result<ExitCode> {
    let keys = crate::verify::KeyStore::open(keys_dir(config)).context("无法打开签名密钥（请先运行 xueji init）")?;
    let trusted = dossier::trusted_keys(&keys, &config.data_dir).map_err(fault)?;
    let f = std::fs::File::open(file).with_context(|| format!("无法读取 {}", file.display()))?;
    match dossier::import(db, archive, &trusted, f, &Actor::cli(&crate::config::os_user())).await {
        // The import wrote its audit row with its record.
        Ok(i) => {
            println!(
                "已导入：来自“{}”的 {} 个档案版本、{} 个文件（{} 个新文件），归入本地档案第 {}–{} 版。",
                i.source_organization,
                i.versions_received,
                i.objects,
                i.objects_created,
                i.first_version,
                i.last_version
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            let outcome = if e.is_refusal() { "refused" } else { "error" };
            super::write_audit(db, "archive.import", ("archive", "-"), None, outcome, &format!("code={}", e.code()))
                .await?;
            if e.is_refusal() {
                Ok(refused(format!("传输包未导入：{}（{}）", e.message(), e.code())))
            } else {
                Err(fault(e))
            }
        }
    }
}
