//! Settings: defaults that run on one laptop, overridden by `XUEJI_*`
//! environment variables (and by command-line flags where `main` offers them).
//!
//! | variable | default |
//! | --- | --- |
//! | `XUEJI_DATA_DIR` | `data` |
//! | `XUEJI_DATABASE_URL` | `sqlite://{data}/xueji.db` (`postgres://…` selects PostgreSQL) |
//! | `XUEJI_BIND` | `127.0.0.1:8080` |
//! | `XUEJI_DB_POOL_SIZE` | `8` on SQLite, `16` on PostgreSQL: database connections for staff requests and commands |
//! | `XUEJI_DB_ACQUIRE_TIMEOUT_MS` | `3000`: how long a request waits for a connection before it is answered 503 with `Retry-After` |
//! | `XUEJI_PUBLIC_BASE_URL` | `http://{bind}`; up to 33 characters keeps a certificate's QR code at version 8 |
//! | `XUEJI_TEMPLATES_DIR` | found: see below |
//! | `XUEJI_FONTS_DIR` | found: see below |
//! | `XUEJI_SESSION_IDLE_MINUTES` | `30` |
//! | `XUEJI_SESSION_ABSOLUTE_HOURS` | `12` |
//! | `XUEJI_SECURE_COOKIES` | `false` (set `true` behind HTTPS) |
//! | `XUEJI_TODAY` | unset: today's date (set `YYYY-MM-DD` for demos and tests) |
//! | `XUEJI_VERIFY_RATE` | `60`: requests per minute per client address on the public `/v/…` pages |
//! | `XUEJI_VERIFY_BURST` | `20`: requests a client may send at once before the rate applies |
//! | `XUEJI_TRUSTED_PROXY` | unset: comma-separated proxy addresses whose last `X-Forwarded-For` hop is the client |
//! | `XUEJI_ARCHIVE_URL` | `file://{data}/archive`; `s3://BUCKET/PREFIX?endpoint=http://HOST:PORT[&region=R]` keeps objects and dossier versions in an S3-compatible store (keys in `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`; temp files stay in `{data}/archive`) |
//! | `XUEJI_ARCHIVE_MAX_MB` | `200`: largest scan accepted |
//! | `XUEJI_ARCHIVE_IMPORT_MAX_MB` | `20480`: largest transfer package, unpacked |
//! | `XUEJI_FIXITY_HOURS` | `24`: hours between scheduled fixity checks (`0`: none) |
//! | `XUEJI_FIXITY_DELAY_MINUTES` | `10`: first scheduled check after start-up |
//! | `XUEJI_BATCH_KEEP_HOURS` | `24`: hours a finished batch print job and its file are kept (in the database and beside the archive, for every instance) |
//! | `XUEJI_ORGANIZATION` | `农安县教育局`: `Source-Organization` of exported packages |
//! | `XUEJI_ABSENCE_WARN_DAYS` | `3`: school days of reported absence after which the registrar has a to-do (控辍保学 early warning) |
//! | `XUEJI_TIME_ZONE` | `Asia/Shanghai`: the county's time zone, in which pages show times (`Asia/Shanghai`, `Asia/Urumqi`, or an offset such as `+08:00`) |
//! | `XUEJI_ADMIN_PASSWORD` | unset: `xueji init` gives the first administrator a random password and prints it once |
//! | `XUEJI_BENCH_DATABASE_URL` | unset: the benchmarks use SQLite in a temporary directory |
//!
//! The two archive sizes default to the archive crate's own limits and must
//! be above 0. A bad `XUEJI_FIXITY_HOURS` does not stop the start: the
//! schedule logs why and checks every 24 hours; a bad
//! `XUEJI_FIXITY_DELAY_MINUTES` is read as 10.
//!
//! The templates (`forms/` and `web/`) and the bundled fonts are found in one
//! order, whatever the working directory: the directory named by
//! `XUEJI_TEMPLATES_DIR` / `XUEJI_FONTS_DIR` when set (and only that one);
//! else `../share/xueji/templates` and `../share/xueji/fonts` relative to the
//! running executable (an installed layout: `bin/xueji` beside
//! `share/xueji/`); else the source checkout the binary was built from. A
//! command looks them up only when it needs them, and the error names every
//! place it looked.

use std::path::{Path, PathBuf};

/// The service's settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Runtime state: the SQLite file, archive objects, keys.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// Database connections for staff requests and commands (`None`: the backend's default).
    pub db_pool_size: Option<u32>,
    /// How long a request waits for a database connection, in milliseconds.
    pub db_acquire_timeout_ms: u64,
    /// Address to listen on; port 0 picks a free port (tests).
    pub bind: String,
    /// Base of the public URLs printed in QR codes; empty means `http://{bound address}`.
    pub public_base_url: String,
    /// Page templates (`web/`) and document templates (`forms/`), when
    /// named (`XUEJI_TEMPLATES_DIR`); else found by [`Config::templates_dir`].
    pub templates_dir: Option<PathBuf>,
    /// The bundled fonts, when named (`XUEJI_FONTS_DIR`); else found by
    /// [`Config::fonts_dir`].
    pub fonts_dir: Option<PathBuf>,
    /// A session ends after this long without a request.
    pub session_idle_secs: i64,
    /// A session ends this long after sign-in whatever happens.
    pub session_absolute_secs: i64,
    /// Mark cookies `Secure` (behind HTTPS).
    pub secure_cookies: bool,
    /// A fixed "today" (`XUEJI_TODAY`, YYYY-MM-DD) for demos and tests; `None` = the clock.
    pub today: Option<chrono::NaiveDate>,
    /// Public verification pages: requests per minute per client address.
    pub verify_rate_per_minute: u32,
    /// Public verification pages: requests a client may send at once.
    pub verify_burst: u32,
    /// Where the archive keeps its objects (`XUEJI_ARCHIVE_URL`): `None` for
    /// `{data}/archive`, else `file://…` or `s3://…`.
    pub archive_url: Option<String>,
    /// School days of reported absence after which the registrar has a to-do (`XUEJI_ABSENCE_WARN_DAYS`).
    pub absence_warn_days: u32,
    /// Reverse proxies trusted to name the client in `X-Forwarded-For`.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Largest scan accepted, in MiB.
    pub archive_max_mb: u64,
    /// Largest transfer package accepted, unpacked, in MiB.
    pub archive_import_max_mb: u64,
    /// Hours between scheduled fixity checks; 0: none.
    pub fixity_hours: u64,
    /// Why `XUEJI_FIXITY_HOURS` was not used (it was set to something other
    /// than a non-negative integer), for the schedule to log; `fixity_hours`
    /// is then 24.
    pub fixity_hours_refused: Option<String>,
    /// Minutes from start-up to the first scheduled fixity check.
    pub fixity_delay_minutes: u64,
    /// Hours a finished batch print job and its file are kept (`XUEJI_BATCH_KEEP_HOURS`).
    pub batch_keep_hours: u64,
    /// Whether the service reads the text off archived papers in the
    /// background (`XUEJI_OCR`, `on` by default; `off` leaves the queue to
    /// `xueji archive ocr`).
    pub ocr: bool,
    /// Longest one page may take to read, in seconds (`XUEJI_OCR_PAGE_SECONDS`).
    pub ocr_page_seconds: u64,
    /// Most memory the reading program may use, in MiB (`XUEJI_OCR_MEMORY_MB`).
    pub ocr_memory_mb: u64,
    /// `Source-Organization` of exported transfer packages.
    pub organization: String,
    /// The county's time zone as an offset from UTC (`XUEJI_TIME_ZONE`).
    pub time_zone: chrono::FixedOffset,
}

/// `Source-Organization` of exported packages when `XUEJI_ORGANIZATION` is not set.
const DEFAULT_ORGANIZATION: &str = "农安县教育局";

/// Hours between scheduled fixity checks when `XUEJI_FIXITY_HOURS` is not set (or not a number).
const DEFAULT_FIXITY_HOURS: u64 = 24;

/// Minutes to the first scheduled fixity check when `XUEJI_FIXITY_DELAY_MINUTES` is not set (or not a number).
const DEFAULT_FIXITY_DELAY_MINUTES: u64 = 10;

/// Hours a finished batch job is kept when `XUEJI_BATCH_KEEP_HOURS` is not set (or not a number).
const DEFAULT_BATCH_KEEP_HOURS: u64 = 24;

/// Milliseconds a request waits for a database connection when `XUEJI_DB_ACQUIRE_TIMEOUT_MS` is not set.
const DEFAULT_ACQUIRE_TIMEOUT_MS: u32 = 3000;
/// Seconds one page may take to read.
const DEFAULT_OCR_PAGE_SECONDS: u32 = 120;
/// MiB the reading program may use.
const DEFAULT_OCR_MEMORY_MB: u32 = 1024;

/// Bytes in a MiB, the unit of the archive's size settings.
const MIB: u64 = 1024 * 1024;

/// The archive crate's default scan and package limits, in whole MiB.
fn archive_default_mb() -> (u64, u64) {
    let defaults = xueji_archive::ArchiveConfig::default();
    (defaults.inspect.max_size / MIB, defaults.import.max_unpacked_bytes / MIB)
}

/// The operating-system user this process runs as (`USER`, else `LOGNAME`),
/// which the command line's [`Actor`](crate::domain::Actor) is recorded under.
pub fn os_user() -> String {
    env("USER").or_else(|| env("LOGNAME")).unwrap_or_default()
}

/// The first administrator's password for `xueji init`, if set.
pub fn admin_password() -> Option<String> {
    env("XUEJI_ADMIN_PASSWORD")
}

/// The database the benchmarks run against, if set.
pub fn bench_database_url() -> Option<String> {
    env("XUEJI_BENCH_DATABASE_URL")
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn env_num(name: &str, default: i64) -> anyhow::Result<i64> {
    match env(name) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| anyhow::anyhow!("环境变量 {name} 的值“{v}”不是整数")),
    }
}

fn env_u64(name: &str, default: u64) -> anyhow::Result<u64> {
    match env(name) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| anyhow::anyhow!("环境变量 {name} 的值“{v}”不是非负整数")),
    }
}

/// A size in MiB, above 0.
fn env_mb(name: &str, default: u64) -> anyhow::Result<u64> {
    let mb = env_u64(name, default)?;
    anyhow::ensure!(mb > 0, "环境变量 {name} 须大于 0");
    Ok(mb)
}

fn env_positive(name: &str, default: u32) -> anyhow::Result<u32> {
    match env(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| anyhow::anyhow!("环境变量 {name} 的值“{v}”不是正整数")),
    }
}

impl Config {
    /// Reads the environment over the defaults.
    pub fn from_env() -> anyhow::Result<Self> {
        let data_dir = PathBuf::from(env("XUEJI_DATA_DIR").unwrap_or_else(|| "data".into()));
        let database_url =
            env("XUEJI_DATABASE_URL").unwrap_or_else(|| format!("sqlite://{}", data_dir.join("xueji.db").display()));
        let (max_mb, import_max_mb) = archive_default_mb();
        let (fixity_hours, fixity_hours_refused) = match env_u64("XUEJI_FIXITY_HOURS", DEFAULT_FIXITY_HOURS) {
            Ok(hours) => (hours, None),
            Err(e) => (DEFAULT_FIXITY_HOURS, Some(e.to_string())),
        };
        Ok(Self {
            database_url,
            bind: env("XUEJI_BIND").unwrap_or_else(|| "127.0.0.1:8080".into()),
            public_base_url: env("XUEJI_PUBLIC_BASE_URL").unwrap_or_default(),
            templates_dir: env("XUEJI_TEMPLATES_DIR").map(PathBuf::from),
            fonts_dir: env("XUEJI_FONTS_DIR").map(PathBuf::from),
            session_idle_secs: env_num("XUEJI_SESSION_IDLE_MINUTES", 30)? * 60,
            session_absolute_secs: env_num("XUEJI_SESSION_ABSOLUTE_HOURS", 12)? * 3600,
            secure_cookies: env("XUEJI_SECURE_COOKIES").is_some_and(|v| v == "true" || v == "1"),
            today: env("XUEJI_TODAY")
                .map(|v| {
                    chrono::NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d")
                        .map_err(|_| anyhow::anyhow!("环境变量 XUEJI_TODAY 的值“{v}”不是 YYYY-MM-DD 日期"))
                })
                .transpose()?,
            verify_rate_per_minute: env_positive("XUEJI_VERIFY_RATE", 60)?,
            verify_burst: env_positive("XUEJI_VERIFY_BURST", 20)?,
            absence_warn_days: env_positive("XUEJI_ABSENCE_WARN_DAYS", 3)?,
            db_pool_size: env("XUEJI_DB_POOL_SIZE").map(|_| env_positive("XUEJI_DB_POOL_SIZE", 1)).transpose()?,
            db_acquire_timeout_ms: u64::from(env_positive("XUEJI_DB_ACQUIRE_TIMEOUT_MS", DEFAULT_ACQUIRE_TIMEOUT_MS)?),
            trusted_proxies: env("XUEJI_TRUSTED_PROXY")
                .map(|v| {
                    v.split(',')
                        .map(|a| {
                            a.trim()
                                .parse()
                                .map_err(|_| anyhow::anyhow!("环境变量 XUEJI_TRUSTED_PROXY 中的“{a}”不是 IP 地址"))
                        })
                        .collect::<anyhow::Result<Vec<_>>>()
                })
                .transpose()?
                .unwrap_or_default(),
            archive_url: env("XUEJI_ARCHIVE_URL"),
            archive_max_mb: env_mb("XUEJI_ARCHIVE_MAX_MB", max_mb)?,
            archive_import_max_mb: env_mb("XUEJI_ARCHIVE_IMPORT_MAX_MB", import_max_mb)?,
            fixity_hours,
            fixity_hours_refused,
            fixity_delay_minutes: env_u64("XUEJI_FIXITY_DELAY_MINUTES", DEFAULT_FIXITY_DELAY_MINUTES)
                .unwrap_or(DEFAULT_FIXITY_DELAY_MINUTES),
            batch_keep_hours: env_u64("XUEJI_BATCH_KEEP_HOURS", DEFAULT_BATCH_KEEP_HOURS)
                .unwrap_or(DEFAULT_BATCH_KEEP_HOURS),
            ocr: match env("XUEJI_OCR").as_deref() {
                None | Some("on") => true,
                Some("off") => false,
                Some(_) => anyhow::bail!("XUEJI_OCR 应为 on 或 off"),
            },
            ocr_page_seconds: u64::from(env_positive("XUEJI_OCR_PAGE_SECONDS", DEFAULT_OCR_PAGE_SECONDS)?),
            ocr_memory_mb: u64::from(env_positive("XUEJI_OCR_MEMORY_MB", DEFAULT_OCR_MEMORY_MB)?),
            organization: env("XUEJI_ORGANIZATION").unwrap_or_else(|| DEFAULT_ORGANIZATION.to_owned()),
            time_zone: match env("XUEJI_TIME_ZONE") {
                None => crate::domain::date::CHINA,
                Some(v) => crate::domain::date::parse_time_zone(&v).ok_or_else(|| {
                    anyhow::anyhow!(
                        "环境变量 XUEJI_TIME_ZONE 的值“{v}”不是 Asia/Shanghai、Asia/Urumqi 或 +08:00 这样的时区"
                    )
                })?,
            },
            data_dir,
        })
    }

    /// Settings for a given data directory and database, the rest at their defaults;
    /// the templates and fonts are the ones shipped beside `Cargo.toml`.
    pub fn for_data_dir(data_dir: PathBuf, database_url: Option<String>) -> Self {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let (archive_max_mb, archive_import_max_mb) = archive_default_mb();
        Self {
            database_url: database_url.unwrap_or_else(|| format!("sqlite://{}", data_dir.join("xueji.db").display())),
            data_dir,
            bind: "127.0.0.1:0".into(),
            public_base_url: String::new(),
            templates_dir: Some(root.join("templates")),
            fonts_dir: Some(root.join("fonts")),
            session_idle_secs: 30 * 60,
            session_absolute_secs: 12 * 3600,
            secure_cookies: false,
            today: None,
            verify_rate_per_minute: 60,
            verify_burst: 20,
            absence_warn_days: 3,
            db_pool_size: None,
            db_acquire_timeout_ms: u64::from(DEFAULT_ACQUIRE_TIMEOUT_MS),
            trusted_proxies: Vec::new(),
            archive_url: None,
            archive_max_mb,
            archive_import_max_mb,
            fixity_hours: DEFAULT_FIXITY_HOURS,
            fixity_hours_refused: None,
            fixity_delay_minutes: DEFAULT_FIXITY_DELAY_MINUTES,
            batch_keep_hours: DEFAULT_BATCH_KEEP_HOURS,
            ocr: true,
            ocr_page_seconds: u64::from(DEFAULT_OCR_PAGE_SECONDS),
            ocr_memory_mb: u64::from(DEFAULT_OCR_MEMORY_MB),
            organization: DEFAULT_ORGANIZATION.to_owned(),
            time_zone: crate::domain::date::CHINA,
        }
    }

    /// The templates directory (holding `forms/` and `web/`), found in the
    /// order of the module documentation.
    pub fn templates_dir(&self) -> anyhow::Result<PathBuf> {
        locate(Asset::Templates, self.templates_dir.as_deref())
    }

    /// The bundled fonts directory, found in the order of the module
    /// documentation.
    pub fn fonts_dir(&self) -> anyhow::Result<PathBuf> {
        locate(Asset::Fonts, self.fonts_dir.as_deref())
    }

    /// Whether the database is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.database_url.starts_with("postgres://") || self.database_url.starts_with("postgresql://")
    }
}

/// What the service ships beside its binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asset {
    /// `templates/`: `forms/*.typ` and `web/*.html`.
    Templates,
    /// `fonts/`: the bundled font files.
    Fonts,
}

impl Asset {
    fn dir_name(self) -> &'static str {
        match self {
            Asset::Templates => "templates",
            Asset::Fonts => "fonts",
        }
    }

    fn variable(self) -> &'static str {
        match self {
            Asset::Templates => "XUEJI_TEMPLATES_DIR",
            Asset::Fonts => "XUEJI_FONTS_DIR",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Asset::Templates => "模板目录（应包含 forms/lib.typ）",
            Asset::Fonts => "字体目录（应包含 .ttf/.otf/.ttc 字体文件）",
        }
    }

    /// Whether `dir` holds this asset.
    fn is_in(self, dir: &Path) -> bool {
        match self {
            Asset::Templates => dir.join("forms").join("lib.typ").is_file(),
            Asset::Fonts => std::fs::read_dir(dir).is_ok_and(|entries| {
                entries.filter_map(Result::ok).any(|e| {
                    let name = e.file_name().to_string_lossy().to_ascii_lowercase();
                    [".ttf", ".otf", ".ttc", ".otc"].iter().any(|ext| name.ends_with(ext))
                })
            }),
        }
    }
}

/// The places looked at for `asset`, in order: the named directory alone
/// when there is one; else beside the executable, then the source checkout.
fn candidates(asset: Asset, named: Option<&Path>) -> Vec<PathBuf> {
    if let Some(dir) = named {
        return vec![dir.to_path_buf()];
    }
    let mut out = Vec::new();
    if let Some(bin_dir) = std::env::current_exe().ok().and_then(|exe| exe.parent().map(Path::to_path_buf)) {
        out.push(bin_dir.join("..").join("share").join("xueji").join(asset.dir_name()));
    }
    out.push(Path::new(env!("CARGO_MANIFEST_DIR")).join(asset.dir_name()));
    out
}

fn locate(asset: Asset, named: Option<&Path>) -> anyhow::Result<PathBuf> {
    let looked = candidates(asset, named);
    if let Some(found) = looked.iter().find(|d| asset.is_in(d)) {
        return Ok(std::fs::canonicalize(found).unwrap_or_else(|_| found.clone()));
    }
    let list: Vec<String> = looked.iter().map(|p| format!("  {}", p.display())).collect();
    let hint = if named.is_some() {
        format!("请检查环境变量 {}", asset.variable())
    } else {
        format!("请设置环境变量 {} 指向它", asset.variable())
    };
    anyhow::bail!("找不到{}。查找过：\n{}\n{hint}", asset.what(), list.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checkout_is_found_when_nothing_is_named() {
        let templates = locate(Asset::Templates, None).expect("templates");
        assert!(templates.join("forms").join("lib.typ").is_file());
        assert!(templates.is_absolute());
        let fonts = locate(Asset::Fonts, None).expect("fonts");
        assert!(fonts.is_absolute());
    }

    #[test]
    fn a_named_directory_is_the_only_place_looked() {
        let empty = tempfile::tempdir().expect("dir");
        let err = locate(Asset::Templates, Some(empty.path())).expect_err("nothing there").to_string();
        assert!(err.contains("forms/lib.typ"), "{err}");
        assert!(err.contains(&empty.path().display().to_string()), "{err}");
        assert!(err.contains("XUEJI_TEMPLATES_DIR"), "{err}");
        let err = locate(Asset::Fonts, Some(empty.path())).expect_err("no fonts").to_string();
        assert!(err.contains("XUEJI_FONTS_DIR"), "{err}");
    }

    #[test]
    fn archive_and_fixity_defaults_are_the_documented_ones() {
        let c = Config::for_data_dir(PathBuf::from("data"), None);
        assert_eq!((c.archive_max_mb, c.archive_import_max_mb), (200, 20480));
        assert_eq!((c.fixity_hours, c.fixity_delay_minutes, c.fixity_hours_refused), (24, 10, None));
        assert_eq!(c.organization, "农安县教育局");
    }

    #[test]
    fn every_place_looked_is_listed() {
        let looked = candidates(Asset::Fonts, None);
        assert_eq!(looked.len(), 2);
        assert!(looked[0].ends_with("share/xueji/fonts"), "{looked:?}");
        assert!(looked[1].ends_with("fonts"));
    }
}
