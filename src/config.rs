//! Settings: defaults that run on one laptop, overridden by `XUEJI_*`
//! environment variables (and by command-line flags where `main` offers them).
//!
//! | variable | default |
//! | --- | --- |
//! | `XUEJI_DATA_DIR` | `data` |
//! | `XUEJI_DATABASE_URL` | `sqlite://{data}/xueji.db` (`postgres://…` selects PostgreSQL) |
//! | `XUEJI_BIND` | `127.0.0.1:8080` |
//! | `XUEJI_PUBLIC_BASE_URL` | `http://{bind}` |
//! | `XUEJI_TEMPLATES_DIR` | `templates` |
//! | `XUEJI_FONTS_DIR` | `fonts` |
//! | `XUEJI_SESSION_IDLE_MINUTES` | `30` |
//! | `XUEJI_SESSION_ABSOLUTE_HOURS` | `12` |
//! | `XUEJI_SECURE_COOKIES` | `false` (set `true` behind HTTPS) |
//! | `XUEJI_TODAY` | unset: today's date (set `YYYY-MM-DD` for demos and tests) |
//! | `XUEJI_VERIFY_RATE` | `60`: requests per minute per client address on the public `/v/…` pages |
//! | `XUEJI_VERIFY_BURST` | `20`: requests a client may send at once before the rate applies |
//! | `XUEJI_TRUSTED_PROXY` | unset: comma-separated proxy addresses whose last `X-Forwarded-For` hop is the client |

use std::path::PathBuf;

/// The service's settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Runtime state: the SQLite file, archive objects, keys.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// Address to listen on; port 0 picks a free port (tests).
    pub bind: String,
    /// Base of the public URLs printed in QR codes; empty means `http://{bound address}`.
    pub public_base_url: String,
    /// Page templates (`web/`) and document templates (`forms/`).
    pub templates_dir: PathBuf,
    /// The bundled fonts.
    pub fonts_dir: PathBuf,
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
    /// Reverse proxies trusted to name the client in `X-Forwarded-For`.
    pub trusted_proxies: Vec<std::net::IpAddr>,
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
        Ok(Self {
            database_url,
            bind: env("XUEJI_BIND").unwrap_or_else(|| "127.0.0.1:8080".into()),
            public_base_url: env("XUEJI_PUBLIC_BASE_URL").unwrap_or_default(),
            templates_dir: env("XUEJI_TEMPLATES_DIR").map_or_else(|| "templates".into(), PathBuf::from),
            fonts_dir: env("XUEJI_FONTS_DIR").map_or_else(|| "fonts".into(), PathBuf::from),
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
            data_dir,
        })
    }

    /// Settings for a given data directory and database, the rest at their defaults;
    /// the templates and fonts are the ones shipped beside `Cargo.toml`.
    pub fn for_data_dir(data_dir: PathBuf, database_url: Option<String>) -> Self {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        Self {
            database_url: database_url.unwrap_or_else(|| format!("sqlite://{}", data_dir.join("xueji.db").display())),
            data_dir,
            bind: "127.0.0.1:0".into(),
            public_base_url: String::new(),
            templates_dir: root.join("templates"),
            fonts_dir: root.join("fonts"),
            session_idle_secs: 30 * 60,
            session_absolute_secs: 12 * 3600,
            secure_cookies: false,
            today: None,
            verify_rate_per_minute: 60,
            verify_burst: 20,
            trusted_proxies: Vec::new(),
        }
    }

    /// Whether the database is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.database_url.starts_with("postgres://") || self.database_url.starts_with("postgresql://")
    }
}
