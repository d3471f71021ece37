//! The application state, built once from the settings and shared as an `Arc`,
//! and the server: bound inside `build` so tests can ask for port 0.

use crate::config::Config;
use crate::db::Db;
use crate::verify::KeyStore;
use anyhow::Context;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// Everything a request handler needs.
pub struct App {
    /// Settings.
    pub config: Config,
    /// The database.
    pub db: Db,
    /// The signing keys (created by `xueji init`).
    pub keys: KeyStore,
    /// Base of public URLs, e.g. `http://127.0.0.1:8080`.
    pub public_base_url: String,
    /// The paper-file archive (`data/archive`).
    pub archive: xueji_archive::Archive,
    /// The document renderer (fonts and typst library loaded once per process).
    pub renderer: Arc<crate::render::Renderer>,
    /// What the bundled fonts can print (the renderer's own coverage): text
    /// entering the records is checked against it.
    pub coverage: crate::render::Coverage,
    /// The working-day calendar (holidays and make-up workdays) deadlines count by.
    calendar: std::sync::RwLock<Arc<crate::domain::WorkingCalendar>>,
}

impl App {
    /// Opens everything the service needs: database (migrated), signing
    /// keys (created on first use), archive, renderer, the working-day
    /// calendar (read from the database, where the bundled schedule's years
    /// are seeded once). Refuses to go on with a broken document template.
    /// `default_base` is the public base URL when none is configured. (The
    /// web pages are the server's: see [`crate::http::Web`].)
    pub async fn open(config: Config, default_base: &str) -> anyhow::Result<Self> {
        let settings = crate::db::PoolSettings {
            size: config.db_pool_size,
            acquire_timeout: std::time::Duration::from_millis(config.db_acquire_timeout_ms),
        };
        let db = Db::connect_with(&config.database_url, settings).await?;
        let (keys, _) = KeyStore::init(keys_dir(&config)).context("无法打开签名密钥")?;
        let archive = open_archive(&config)?;
        let renderer = renderer(&config)?;
        let problems = renderer.check_templates();
        if !problems.is_empty() {
            let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
            anyhow::bail!("文书模板有错误，服务未启动（请运行 xueji templates check）：\n{}", list.join("\n"));
        }
        let public_base_url = if config.public_base_url.is_empty() {
            default_base.to_owned()
        } else {
            config.public_base_url.trim_end_matches('/').to_owned()
        };
        let calendar = crate::calendar::open(&db).await.context("无法载入节假日安排")?;
        let calendar = std::sync::RwLock::new(Arc::new(calendar));
        let coverage = renderer.coverage();
        Ok(App { config, db, keys, public_base_url, archive, renderer, coverage, calendar })
    }

    /// Today's date: `XUEJI_TODAY` when set (demos, tests), else the local date.
    pub fn today(&self) -> chrono::NaiveDate {
        self.config.today.unwrap_or_else(|| chrono::Local::now().date_naive())
    }

    /// The working-day calendar in force.
    pub fn calendar(&self) -> Arc<crate::domain::WorkingCalendar> {
        self.calendar.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Replaces the working-day calendar (after the bureau updated it).
    pub fn set_calendar(&self, calendar: crate::domain::WorkingCalendar) {
        *self.calendar.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(calendar);
    }
}

/// The key directory under the data directory.
pub fn keys_dir(config: &Config) -> std::path::PathBuf {
    config.data_dir.join("keys")
}

/// The process's renderer for these templates and fonts: built once, then shared
/// (fonts and the typst library are loaded a single time per process).
pub fn renderer(config: &Config) -> anyhow::Result<Arc<crate::render::Renderer>> {
    type Key = (std::path::PathBuf, std::path::PathBuf);
    static RENDERERS: std::sync::LazyLock<
        std::sync::Mutex<std::collections::HashMap<Key, Arc<crate::render::Renderer>>>,
    > = std::sync::LazyLock::new(Default::default);
    let key = (config.templates_dir()?.join("forms"), config.fonts_dir()?);
    let mut cache = RENDERERS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(r) = cache.get(&key) {
        return Ok(r.clone());
    }
    let r = Arc::new(
        crate::render::Renderer::new(&key.0, &key.1).map_err(|e| anyhow::anyhow!("无法加载文书模板或字体：{e}"))?,
    );
    cache.insert(key, r.clone());
    Ok(r)
}

/// Opens (creating if needed) the archive: under the data directory, in the
/// folder a `file://` URL names, or in an S3-compatible bucket
/// (`XUEJI_ARCHIVE_URL`), whose temp files stay under the data directory.
pub fn open_archive(config: &Config) -> anyhow::Result<xueji_archive::Archive> {
    let local = config.data_dir.join("archive");
    let archive_config = crate::dossier::archive_config(config);
    match config.archive_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        Some(url) if url.starts_with("s3://") => {
            let location = xueji_archive::S3Location::parse(url)?;
            let shown = location.display_root();
            let credentials = xueji_archive::S3Credentials::from_env()?;
            xueji_archive::Archive::open_s3(&local, archive_config, location, credentials)
                .with_context(|| format!("无法打开对象存储中的档案库 {}", shown.display()))
        }
        Some(url) => {
            let Some(path) = url.strip_prefix("file://") else {
                anyhow::bail!("XUEJI_ARCHIVE_URL 应以 file:// 或 s3:// 开头：{url}");
            };
            let root = PathBuf::from(path);
            xueji_archive::Archive::open(&root, archive_config)
                .with_context(|| format!("无法打开档案库 {}", root.display()))
        }
        None => xueji_archive::Archive::open(&local, archive_config)
            .with_context(|| format!("无法打开档案库 {}", local.display())),
    }
}

/// A bound, not yet running server.
pub struct Server {
    listener: tokio::net::TcpListener,
    web: Arc<crate::http::Web>,
}

impl Server {
    /// Connects the database, loads templates and keys, binds the listener.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let listener =
            tokio::net::TcpListener::bind(&config.bind).await.with_context(|| format!("无法监听 {}", config.bind))?;
        let addr = listener.local_addr()?;
        let app = Arc::new(App::open(config, &format!("http://{addr}")).await?);
        // Imports a crash left half done are finished before the first request.
        let recovered = crate::dossier::finish_pending_imports(&app.db, &app.archive)
            .await
            .map_err(|e| anyhow::anyhow!("无法完成中断的传输包导入：{e}"))?;
        if recovered.failed > 0 {
            tracing::error!(failed = recovered.failed, "interrupted imports left unfinished");
        }
        // Rows from before the search's name initials, or written by an older binary.
        let filled = crate::db::students::fill_name_initials(&app.db.pool).await?;
        if filled > 0 {
            tracing::info!(rows = filled, "name initials computed");
        }
        // Jobs an instance that stopped was running are failed, not left "running".
        let interrupted = crate::batch::fail_stale(&app).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        if interrupted > 0 {
            tracing::warn!(jobs = interrupted, "batch jobs interrupted by a stop marked failed");
        }
        let web = Arc::new(crate::http::Web::new(app)?);
        Ok(Self { listener, web })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound listener has an address")
    }

    /// The shared state.
    pub fn app(&self) -> Arc<App> {
        self.web.app.clone()
    }

    /// Serves until `shutdown` resolves, then finishes the requests in flight.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let app = self.web.app.clone();
        let router = crate::http::router(self.web);
        let sweeper = tokio::spawn(sweep_sessions(app.clone()));
        let fixity = tokio::spawn(crate::dossier::fixity_schedule(app.clone()));
        let archive_sweep = tokio::spawn(crate::dossier::sweep_schedule(app.clone()));
        let calendar = tokio::spawn(crate::calendar::refresh_schedule(app.clone()));
        let audit_head = tokio::spawn(crate::service::audit::head_schedule(app.db.clone()));
        let keys = tokio::spawn(crate::service::keys::reload_schedule(app.clone()));
        let batches = tokio::spawn(crate::batch::schedule(app.clone()));
        let ocr = tokio::spawn(crate::ocr::schedule(app.clone()));
        axum::serve(self.listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown)
            .await?;
        sweeper.abort();
        fixity.abort();
        archive_sweep.abort();
        calendar.abort();
        audit_head.abort();
        keys.abort();
        batches.abort();
        ocr.abort();
        app.db.pool.close().await;
        Ok(())
    }
}

/// Removes expired sessions every ten minutes.
async fn sweep_sessions(app: Arc<App>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
    loop {
        tick.tick().await;
        let now = chrono::Utc::now().timestamp();
        if let Err(e) = crate::db::users::purge_sessions(
            &app.db.pool,
            now,
            app.config.session_idle_secs,
            app.config.session_absolute_secs,
        )
        .await
        {
            tracing::warn!(error = %e, "session sweep failed");
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutting down: finishing requests in flight");
}
