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
        }
    }

    /// Whether the database is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.database_url.starts_with("postgres://") || self.database_url.starts_with("postgresql://")
    }
}
