//! The repository over sqlx: SQLite by default, PostgreSQL when the URL says
//! `postgres://`. One set of SQL serves both (parameters are `$1`, `$2`, …,
//! which both accept); the schema differs only in types, so each backend has
//! its own migrations directory.
//!
//! Conventions: dates are `YYYY-MM-DD` text, instants RFC 3339 UTC text,
//! flags 0/1 integers, every integer a 64-bit integer.

/// The statuses, as an SQL list, of students who take a seat in their class
/// (`StudentStatus::occupies_seat`): on its roll, or placed in it by a record
/// the bureau has yet to approve. A macro so that it joins `concat!`ed SQL.
macro_rules! seated_statuses {
    () => {
        "('pending', 'submitted', 'active', 'transfer_pending', 'suspected_dropout')"
    };
}

pub mod archive_text;
pub mod audit;
/// Database snapshots for backups, and restoring them.
pub mod backup;
/// Batch print jobs: progress, heartbeat, outcome.
pub mod batch_jobs;
/// The working-day calendar: listed dates and the log of years written.
pub mod calendar;
/// Cases (applications with ordered approvals), their decisions and proofs.
pub mod cases;
/// Certificate numbers and the certificates issued, voided, lost or revoked.
pub mod certificates;
/// Applications for delayed entry.
pub mod delays;
/// Issued documents: one row per document handed out, with its live status.
pub mod documents;
/// The paper-file archive's tables: dossiers, their search index, thumbnails, imports, fixity runs.
pub mod dossier;
/// Dropout control: the ledger's entries and visits, monthly submissions, absences.
pub mod dropout;
/// A student's status changes and the events recording them.
pub mod events;
/// Graduations: the school and stage each ended, for the certificates.
pub mod graduations;
/// Transfer-package imports under way.
pub mod import_journal;
/// Intake plans, catchment areas.
pub mod intake;
/// The primary intake list (学前调档名单): children expected for the autumn intake.
pub mod intake_list;
/// Named leases for work one instance does at a time.
pub mod leases;
/// The rows behind the overdue list, across cases, students and recalls.
pub mod overdue;
/// Which derived file holds each page preview.
pub mod previews;
pub mod problems;
/// Recall notices, their delivery and the printed notice's status.
pub mod recalls;
/// What the statistics read: students, moving events, export approvals.
pub mod reports;
/// Class rolls: seats, placing a student, the students of a batch.
pub mod rolls;
pub mod schools;
/// Share codes: a short code that opens one certificate's verification for a while.
pub mod share_codes;
/// The pupils with special needs (随班就读, 送教上门).
pub mod special_needs;
pub mod students;
pub mod users;
/// The public verification side's read of a document's status.
pub mod verify;
/// The yearly graduation and promotion runs and their bulk moves.
pub mod year_runs;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::{AnyPool, Executor};
use std::str::FromStr;
use std::time::Duration;

/// `migrations/{sqlite,postgres}/*.sql`, embedded by `build.rs`.
mod embedded {
    include!(concat!(env!("OUT_DIR"), "/migrations.rs"));
}

/// One backend's migrations as embedded in the binary, read the way sqlx
/// reads a migrations directory: `<version>_<description>.sql`, the
/// description's `_` read as spaces, `-- no-transaction` on the first line
/// opting out of the transaction. The checksum (sha384 of the SQL) is what
/// sqlx's own `migrate!` macro recorded, so databases migrated by earlier
/// builds carry on.
#[derive(Debug)]
struct Embedded(&'static [(&'static str, &'static str)]);

impl<'s> MigrationSource<'s> for Embedded {
    fn resolve(
        self,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Vec<Migration>, sqlx::error::BoxDynError>> + Send + 's>,
    > {
        Box::pin(async move {
            let mut out = Vec::with_capacity(self.0.len());
            for (file, sql) in self.0 {
                let (version, rest) =
                    file.split_once('_').ok_or_else(|| format!("迁移文件名 {file} 不是 版本_说明.sql"))?;
                let version: i64 = version.parse().map_err(|_| format!("迁移文件名 {file} 的版本不是整数"))?;
                let description = rest.trim_end_matches(".sql").replace('_', " ");
                let no_tx = sql.starts_with("-- no-transaction");
                out.push(Migration::new(version, description.into(), MigrationType::Simple, (*sql).into(), no_tx));
            }
            Ok(out)
        })
    }
}

/// Which database engine is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl Backend {
    /// The engine a database address names.
    pub fn of_url(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else {
            anyhow::bail!("数据库地址须以 sqlite:// 或 postgres:// 开头")
        }
    }
}

/// The database: a connection pool and its backend.
#[derive(Debug, Clone)]
pub struct Db {
    /// The pool; use the repository functions in the submodules.
    pub pool: AnyPool,
    /// A small pool of its own for the public verification pages, so that
    /// staff traffic cannot starve them (connections open on first use).
    pub public: AnyPool,
    /// The backend, for the few statements that differ.
    pub backend: Backend,
}

impl Db {
    /// Connects (creating the SQLite file and its directory if needed) and
    /// runs migrations, with the backend's default pool size and a 3 s wait
    /// for a connection.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        Self::connect_with(url, PoolSettings::default()).await
    }

    /// [`Db::connect`] with the pool sized and timed as `settings` say.
    pub async fn connect_with(url: &str, settings: PoolSettings) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url)?;
        let url = match backend {
            Backend::Sqlite => sqlite_url(url)?,
            Backend::Postgres => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url).context("数据库地址无效")?;
        let size = settings.size.unwrap_or(match backend {
            Backend::Sqlite => 8,
            Backend::Postgres => 16,
        });
        let pool = pool_options(backend, size, settings.acquire_timeout)
            .connect_with(options.clone())
            .await
            .context("无法连接数据库")?;
        let public = pool_options(backend, PUBLIC_POOL_SIZE, settings.acquire_timeout).connect_lazy_with(options);
        if backend == Backend::Sqlite {
            pool.execute("PRAGMA journal_mode = WAL").await.context("无法启用 WAL")?;
        }
        let migrations = match backend {
            Backend::Sqlite => embedded::SQLITE,
            Backend::Postgres => embedded::POSTGRES,
        };
        let migrator = Migrator::new(Embedded(migrations)).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        migrator.run(&pool).await.context("数据库迁移失败")?;
        Ok(Self { pool, public, backend })
    }
}

/// Connections of the public verification pages' own pool.
const PUBLIC_POOL_SIZE: u32 = 2;

/// How large the staff pool is and how long a request waits for a connection.
#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    /// Connections (`None`: 8 on SQLite, 16 on PostgreSQL).
    pub size: Option<u32>,
    /// How long to wait for one before the request is answered busy.
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self { size: None, acquire_timeout: Duration::from_secs(3) }
    }
}

/// A pool of `size` connections with the SQLite pragmas set on each.
fn pool_options(backend: Backend, size: u32, acquire_timeout: Duration) -> AnyPoolOptions {
    AnyPoolOptions::new().max_connections(size).acquire_timeout(acquire_timeout).after_connect(move |conn, _| {
        Box::pin(async move {
            if backend == Backend::Sqlite {
                conn.execute("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL;")
                    .await?;
            }
            Ok(())
        })
    })
}

/// Makes sure the SQLite file's directory exists and the file is created on first use.
fn sqlite_url(url: &str) -> anyhow::Result<String> {
    let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or(path);
    if path != ":memory:"
        && !path.is_empty()
        && let Some(dir) = std::path::Path::new(path).parent().filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).with_context(|| format!("无法创建数据目录 {}", dir.display()))?;
    }
    Ok(if url.contains('?') { url.to_owned() } else { format!("sqlite://{path}?mode=rwc") })
}

/// Whether the database answers a trivial query (the health check).
pub async fn ping<'c>(e: impl Executor<'c, Database = sqlx::Any>) -> Result<(), sqlx::Error> {
    sqlx::query_scalar::<_, i64>("SELECT 1").fetch_one(e).await?;
    Ok(())
}

/// The current instant as stored: RFC 3339 UTC, second precision.
pub fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A 0/1 flag from a bool.
pub fn flag(b: bool) -> i64 {
    i64::from(b)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_seated_list_is_the_statuses_that_occupy_a_seat() {
        let listed: Vec<&str> =
            seated_statuses!().trim_matches(['(', ')']).split(", ").map(|c| c.trim_matches('\'')).collect();
        let seated: Vec<&str> = crate::domain::StudentStatus::ALL
            .into_iter()
            .filter(|s| s.occupies_seat())
            .map(crate::domain::StudentStatus::code)
            .collect();
        assert_eq!(listed, seated);
    }

    use super::*;

    #[tokio::test]
    async fn sqlite_file_is_created_and_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/sub/x.db", dir.path().display());
        let db = Db::connect(&url).await.unwrap();
        assert_eq!(db.backend, Backend::Sqlite);
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM schools WHERE code = $1 OR code = $2")
            .bind("a")
            .bind("b")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(n, 0);
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&db.pool).await.unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys").fetch_one(&db.pool).await.unwrap();
        assert_eq!(fk, 1);
        // Reconnecting to a migrated database is a no-op.
        drop(db);
        Db::connect(&url).await.unwrap();
    }
}
