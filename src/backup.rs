//! Backup and restore of a whole county: the database, the signing keys and
//! the paper-file archive, in one directory that the next backup brings up
//! to date.
//!
//! ```text
//! DIR/BACKUP.json              what, when, which database engine
//! DIR/SHA256SUMS               every file's sum (`sha256sum -c SHA256SUMS` checks it too)
//! DIR/database/xueji.db        SQLite snapshot (VACUUM INTO), or
//! DIR/database/xueji.pgdump    pg_dump --format=custom
//! DIR/keys/                    keys.json and the private key files (0600)
//! DIR/archive/objects/…        the scans, named by their sha256
//! DIR/archive/dossiers/…       every dossier version
//! DIR/archive/derived/…        the text read off each scan, page previews (named by their sha256)
//! ```
//!
//! The database snapshot is taken first, then the archive is copied: the
//! archive only ever grows, so every scan a snapshot's rows name is in the
//! copy. A second run into the same directory copies only the objects,
//! versions and derived files the first one lacks and replaces the snapshot, the keys and the
//! sums (each through a temp file and a rename). An interrupted run is
//! finished by running it again; until then `backup verify` says what is
//! out of date.
//!
//! The directory holds the children's records and the private signing keys:
//! it is created readable by its owner only, and must be kept like the data
//! directory itself.

use crate::config::Config;
use crate::db::{Backend, Db};
use anyhow::Context;
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use xueji_archive::{CopyProgress, CopyReport};

/// The layout's version, in `BACKUP.json`.
pub const FORMAT: u32 = 1;
/// What the backup is.
pub const INFO_FILE: &str = "BACKUP.json";
/// Every file's sum, as `sha256sum` writes them.
pub const SUMS_FILE: &str = "SHA256SUMS";
const SQLITE_FILE: &str = "database/xueji.db";
const PG_FILE: &str = "database/xueji.pgdump";
const KEYS_DIR: &str = "keys";
const ARCHIVE_DIR: &str = "archive";
/// Names the copy writes before renaming them into place.
const TEMP_PREFIX: &str = ".tmp-";

/// `BACKUP.json`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Info {
    /// [`FORMAT`].
    pub format: u32,
    /// When the database snapshot was taken, RFC 3339 UTC.
    pub created_at: String,
    /// The xueji version that wrote it.
    pub xueji_version: String,
    /// `sqlite` or `postgres`.
    pub database: String,
    /// The snapshot's path in the backup.
    pub database_file: String,
    /// Scans in the archive copy.
    pub archive_objects: u64,
    /// Dossier versions in the archive copy.
    pub dossier_versions: u64,
    /// Derived files (texts, previews) in the archive copy (0 in a backup
    /// written before they were copied).
    #[serde(default)]
    pub derived_files: u64,
}

/// A step of the work, for the command line's progress display.
#[derive(Debug, Clone, Copy)]
pub enum Step {
    /// Taking the database snapshot.
    Database,
    /// Copying the signing keys.
    Keys,
    /// Copying the archive: where it stands.
    Archive(CopyProgress),
    /// Checking sums: files done of all.
    Checking {
        /// Files checked.
        done: u64,
        /// Files listed.
        total: u64,
    },
}

/// What a backup did.
#[derive(Debug, Clone)]
pub struct Summary {
    /// `BACKUP.json` as written.
    pub info: Info,
    /// The archive copy.
    pub archive: CopyReport,
    /// Files listed in `SHA256SUMS`.
    pub files: usize,
}

/// Writes (or brings up to date) a backup in `dir`.
pub async fn create(config: &Config, dir: &Path, progress: &(dyn Fn(Step) + Sync)) -> anyhow::Result<Summary> {
    private_dir(dir)?;
    let db = Db::connect(&config.database_url).await?;
    let archive = crate::app::open_archive(config)?;
    let mut sums = BTreeMap::new();

    progress(Step::Database);
    let created_at = crate::db::now_text();
    let database_file = match db.backend {
        Backend::Sqlite => SQLITE_FILE,
        Backend::Postgres => PG_FILE,
    };
    let target = dir.join(database_file);
    private_dir(target.parent().expect("a file in a directory"))?;
    let temp = temp_name(&target);
    remove_if_there(&temp)?;
    match db.backend {
        Backend::Sqlite => crate::db::backup::sqlite_snapshot(&db.pool, &temp).await?,
        Backend::Postgres => crate::db::backup::pg_dump(&config.database_url, &temp).await?,
    }
    set_mode(&temp, 0o600)?;
    sums.insert(database_file.to_owned(), sum_file(&temp)?);
    rename_synced(&temp, &target)?;

    progress(Step::Keys);
    copy_keys(&crate::app::keys_dir(config), &dir.join(KEYS_DIR), &mut sums)?;

    let archive_dest = dir.join(ARCHIVE_DIR);
    let report = tokio::task::block_in_place(|| {
        archive.copy_to_backup(&archive_dest, &|p| progress(Step::Archive(p))).map_err(anyhow::Error::from)
    })
    .context("档案库复制失败")?;
    for (rel, digest) in &report.files {
        sums.insert(format!("{ARCHIVE_DIR}/{rel}"), digest.to_hex());
    }

    let info = Info {
        format: FORMAT,
        created_at,
        xueji_version: env!("CARGO_PKG_VERSION").to_owned(),
        database: match db.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
        .to_owned(),
        database_file: database_file.to_owned(),
        archive_objects: report.objects_copied + report.objects_kept,
        dossier_versions: report.versions_copied + report.versions_kept,
        derived_files: report.derived_copied + report.derived_kept,
    };
    let info_bytes = serde_json::to_vec_pretty(&info)?;
    write_replacing(&dir.join(INFO_FILE), &info_bytes, 0o600)?;
    sums.insert(INFO_FILE.to_owned(), xueji_archive::Digest::of(&info_bytes).to_hex());
    let listing: String = sums.iter().map(|(path, sum)| format!("{sum}  {path}\n")).collect();
    write_replacing(&dir.join(SUMS_FILE), listing.as_bytes(), 0o600)?;

    let detail = format!(
        "database={} objects_copied={} objects_kept={} versions_copied={} derived_copied={} derived_damaged={}",
        info.database,
        report.objects_copied,
        report.objects_kept,
        report.versions_copied,
        report.derived_copied,
        report.derived_damaged.len()
    );
    for rel in &report.derived_damaged {
        tracing::warn!(file = %rel, "a derived file no longer matches its digest: not copied to the backup");
    }
    crate::cli::write_audit(&db, "backup.create", ("backup", ""), None, "ok", &detail).await?;
    db.pool.close().await;
    Ok(Summary { info, archive: report, files: sums.len() })
}

/// What `backup verify` found.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Checked {
    /// Files listed in `SHA256SUMS` and checked.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Listed but not there.
    pub missing: Vec<String>,
    /// There, but with other bytes than listed.
    pub changed: Vec<String>,
    /// There but not listed (an interrupted run's newer copies; not a fault).
    pub unlisted: Vec<String>,
}

impl Checked {
    /// Whether every listed file is there with its listed bytes.
    pub fn is_sound(&self) -> bool {
        self.missing.is_empty() && self.changed.is_empty()
    }
}

/// Reads `BACKUP.json`.
pub fn info(dir: &Path) -> anyhow::Result<Info> {
    let path = dir.join(INFO_FILE);
    let bytes = fs::read(&path).with_context(|| format!("{} 不是备份目录：缺少 {INFO_FILE}", dir.display()))?;
    let info: Info = serde_json::from_slice(&bytes).with_context(|| format!("{INFO_FILE} 无法解析"))?;
    if info.format != FORMAT {
        anyhow::bail!("备份格式 {} 不是本程序认识的格式 {FORMAT}", info.format);
    }
    Ok(info)
}

/// Re-hashes every file `SHA256SUMS` lists and looks for files it does not.
pub fn verify(dir: &Path, progress: &(dyn Fn(Step) + Sync)) -> anyhow::Result<Checked> {
    let info = info(dir)?;
    let listed = read_sums(dir)?;
    if !listed.contains_key(&info.database_file) || !listed.contains_key(INFO_FILE) {
        anyhow::bail!("{SUMS_FILE} 没有列出数据库快照或 {INFO_FILE}：备份不完整");
    }
    let mut checked = Checked::default();
    let total = listed.len() as u64;
    for (i, (rel, sum)) in listed.iter().enumerate() {
        progress(Step::Checking { done: i as u64, total });
        let path = dir.join(rel);
        match fs::metadata(&path) {
            Ok(meta) if meta.is_file() => {
                checked.bytes += meta.len();
                if sum_file(&path)? != *sum {
                    checked.changed.push(rel.clone());
                }
            }
            _ => checked.missing.push(rel.clone()),
        }
        checked.files += 1;
    }
    progress(Step::Checking { done: total, total });
    let mut found = Vec::new();
    walk(dir, dir, &mut found)?;
    checked.unlisted = found.into_iter().filter(|rel| rel != SUMS_FILE && !listed.contains_key(rel)).collect();
    Ok(checked)
}

/// What a restore did.
#[derive(Debug, Clone)]
pub struct Restored {
    /// The backup's `BACKUP.json`.
    pub info: Info,
    /// The archive copy.
    pub archive: CopyReport,
}

/// Restores the backup in `dir` into the configured, empty database, key
/// directory and archive, after checking every sum. Refuses a database
/// that has tables, a key directory with keys and an archive with objects:
/// a restore never mixes two counties.
pub async fn restore(config: &Config, dir: &Path, progress: &(dyn Fn(Step) + Sync)) -> anyhow::Result<Restored> {
    let info = info(dir)?;
    let backend = Backend::of_url(&config.database_url)?;
    let expected = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    if info.database != expected {
        anyhow::bail!("这份备份来自 {} 数据库，不能恢复到 {expected} 数据库（XUEJI_DATABASE_URL）", info.database);
    }
    let checked = verify(dir, progress)?;
    if !checked.is_sound() {
        anyhow::bail!(
            "备份已损坏，未恢复任何内容：缺少 {} 个文件，{} 个文件与摘要不符（运行 xueji backup verify 查看）",
            checked.missing.len(),
            checked.changed.len()
        );
    }
    if !crate::db::backup::is_empty(&config.database_url, backend).await? {
        anyhow::bail!("目标数据库不是空的，未恢复任何内容：请恢复到新的空数据库");
    }
    let keys = crate::app::keys_dir(config);
    if keys.join(crate::verify::KEYS_FILE).exists() {
        anyhow::bail!("目标数据目录已有签名密钥（{}），未恢复任何内容", keys.display());
    }
    let archive = crate::app::open_archive(config)?;
    if !archive.store().list()?.is_empty() || !archive.manifests().dossier_ids()?.is_empty() {
        anyhow::bail!("目标档案库已有文件（{}），未恢复任何内容", archive.location().display());
    }

    progress(Step::Database);
    let snapshot = dir.join(&info.database_file);
    match backend {
        Backend::Sqlite => {
            let target = crate::db::backup::sqlite_path(&config.database_url)
                .context("SQLite 内存数据库无法恢复：请设置数据库文件")?;
            if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
                fs::create_dir_all(parent).with_context(|| format!("无法创建 {}", parent.display()))?;
            }
            // A stale write-ahead log beside an empty file would be replayed into the restored one.
            for stale in ["", "-wal", "-shm"] {
                remove_if_there(&PathBuf::from(format!("{}{stale}", target.display())))?;
            }
            let temp = temp_name(&target);
            copy_file(&snapshot, &temp, 0o600)?;
            rename_synced(&temp, &target)?;
        }
        Backend::Postgres => crate::db::backup::pg_restore(&config.database_url, &snapshot).await?,
    }

    progress(Step::Keys);
    copy_keys(&dir.join(KEYS_DIR), &keys, &mut BTreeMap::new())?;

    let source = dir.join(ARCHIVE_DIR);
    let report = tokio::task::block_in_place(|| {
        archive.restore_from_backup(&source, &|p| progress(Step::Archive(p))).map_err(anyhow::Error::from)
    })
    .context("档案库恢复失败")?;

    // Migrations bring a backup of an older version up to this one.
    let db = Db::connect(&config.database_url).await?;
    // The inventories are listings of the versions and texts just restored.
    let inventories = crate::dossier::inventory::write_all(&db, &archive).await;
    if let Err(e) = &inventories {
        tracing::warn!(
            code = e.code(),
            "the restored archive's inventories could not be written; run `xueji archive reindex`"
        );
    }
    let detail = format!(
        "backup_created_at={} objects={} derived={}",
        info.created_at, report.objects_copied, report.derived_copied
    );
    crate::cli::write_audit(&db, "backup.restore", ("backup", ""), None, "ok", &detail).await?;
    db.pool.close().await;
    Ok(Restored { info, archive: report })
}

/// `SHA256SUMS`: path → sum; refuses a line that is not `<64 hex>  <path>`
/// or a path that leaves the directory.
fn read_sums(dir: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let text = fs::read_to_string(dir.join(SUMS_FILE)).with_context(|| format!("缺少 {SUMS_FILE}：备份不完整"))?;
    let mut out = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let bad = || anyhow::anyhow!("{SUMS_FILE} 第 {} 行格式不对", n + 1);
        let (sum, rel) = line.split_once("  ").ok_or_else(bad)?;
        let sound = sum.len() == 64 && sum.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
        let inside = !rel.is_empty()
            && !rel.starts_with('/')
            && rel.split('/').all(|part| !part.is_empty() && part != "." && part != "..");
        if !sound || !inside {
            return Err(bad());
        }
        out.insert(rel.to_owned(), sum.to_owned());
    }
    Ok(out)
}

/// Every file under `dir`, relative to `root` with `/`, skipping temp names.
fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> anyhow::Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("无法读取 {}", dir.display()))? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            walk(root, &path, out)?;
        } else {
            let rel = path.strip_prefix(root).expect("under the root");
            out.push(rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/"));
        }
    }
    Ok(())
}

/// Copies `keys.json` and the private key files from `from` to `to`
/// (created 0700), each file keeping its mode, and lists their sums.
fn copy_keys(from: &Path, to: &Path, sums: &mut BTreeMap<String, String>) -> anyhow::Result<()> {
    let keys_file = from.join(crate::verify::KEYS_FILE);
    if !keys_file.is_file() {
        anyhow::bail!("{} 中没有签名密钥（keys.json）", from.display());
    }
    private_dir(to)?;
    let mut names: Vec<String> = fs::read_dir(from)
        .with_context(|| format!("无法读取 {}", from.display()))?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n == crate::verify::KEYS_FILE || n.ends_with(".key"))
        .collect();
    names.sort();
    for name in names {
        let source = from.join(&name);
        let mode = fs::metadata(&source)?.permissions().mode() & 0o777;
        let target = to.join(&name);
        let temp = temp_name(&target);
        remove_if_there(&temp)?;
        copy_file(&source, &temp, mode)?;
        sums.insert(format!("{KEYS_DIR}/{name}"), sum_file(&temp)?);
        rename_synced(&temp, &target)?;
    }
    Ok(())
}

/// Creates `dir` (and its parents) readable by its owner only, if needed.
fn private_dir(dir: &Path) -> anyhow::Result<()> {
    if !dir.is_dir() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("无法创建目录 {}", dir.display()))?;
    }
    Ok(())
}

fn temp_name(target: &Path) -> PathBuf {
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    target.with_file_name(format!("{TEMP_PREFIX}{name}"))
}

fn remove_if_there(path: &Path) -> anyhow::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("无法删除 {}", path.display()))
        }
        _ => Ok(()),
    }
}

fn set_mode(path: &Path, mode: u32) -> anyhow::Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .with_context(|| format!("无法设置 {} 的权限", path.display()))
}

/// Copies a file to a new file created with `mode`, synced.
fn copy_file(from: &Path, to: &Path, mode: u32) -> anyhow::Result<()> {
    let mut input = fs::File::open(from).with_context(|| format!("无法读取 {}", from.display()))?;
    let mut output = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(to)
        .with_context(|| format!("无法写入 {}", to.display()))?;
    std::io::copy(&mut input, &mut output).with_context(|| format!("无法写入 {}", to.display()))?;
    output.sync_all()?;
    Ok(())
}

/// Writes `bytes` to `path` through a synced temp file and a rename.
fn write_replacing(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    let temp = temp_name(path);
    remove_if_there(&temp)?;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&temp)
        .with_context(|| format!("无法写入 {}", temp.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    rename_synced(&temp, path)
}

fn rename_synced(from: &Path, to: &Path) -> anyhow::Result<()> {
    fs::rename(from, to).with_context(|| format!("无法保存 {}", to.display()))?;
    if let Some(dir) = to.parent() {
        fs::File::open(dir).and_then(|d| d.sync_all()).with_context(|| format!("无法同步目录 {}", dir.display()))?;
    }
    Ok(())
}

/// A file's sha256, lowercase hex (the archive's own streaming hash).
fn sum_file(path: &Path) -> anyhow::Result<String> {
    let mut file = fs::File::open(path).with_context(|| format!("无法读取 {}", path.display()))?;
    let (digest, _) =
        xueji_archive::Digest::of_reader(&mut file).with_context(|| format!("无法读取 {}", path.display()))?;
    Ok(digest.to_hex())
}
