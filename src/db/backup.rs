//! A consistent copy of the database and its way back: SQLite's
//! `VACUUM INTO` (a snapshot taken inside one read transaction, while the
//! service goes on writing), `pg_dump` / `pg_restore` for PostgreSQL.
//!
//! The PostgreSQL tools get the password in `PGPASSWORD`, never on their
//! command line (which every user of the machine can read), and their
//! error output is passed on without the connection address.

use super::Backend;
use anyhow::Context;
use sqlx::Connection;
use std::path::{Path, PathBuf};

/// The file behind a `sqlite:` address (`None` for `:memory:`).
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or(path);
    (path != ":memory:" && !path.is_empty()).then(|| PathBuf::from(path))
}

/// Writes a snapshot of the SQLite database to `target`, which must not
/// exist yet.
pub async fn sqlite_snapshot(pool: &sqlx::AnyPool, target: &Path) -> anyhow::Result<()> {
    let path = target.to_str().context("备份目录的路径不是 UTF-8，SQLite 无法写入")?;
    sqlx::query("VACUUM INTO $1").bind(path).execute(pool).await.context("SQLite 快照失败")?;
    Ok(())
}

/// Whether the database at `url` holds no table yet (a fresh SQLite file,
/// or a PostgreSQL database nothing was migrated into), read without
/// migrating it. A SQLite file that does not exist is empty.
pub async fn is_empty(url: &str, backend: Backend) -> anyhow::Result<bool> {
    let query = match backend {
        Backend::Sqlite => {
            let Some(path) = sqlite_path(url) else { return Ok(true) };
            if !path.exists() {
                return Ok(true);
            }
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'"
        }
        Backend::Postgres => "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()",
    };
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.context("无法连接目标数据库")?;
    let tables: i64 = sqlx::query_scalar(query).fetch_one(&mut conn).await.context("无法读取目标数据库")?;
    conn.close().await.ok();
    Ok(tables == 0)
}

/// `pg_dump --format=custom` of the database at `url` into `target`.
pub async fn pg_dump(url: &str, target: &Path) -> anyhow::Result<()> {
    let mut cmd = pg_tool("pg_dump", url)?;
    cmd.args(["--format=custom", "--no-owner", "--no-privileges", "--file"]).arg(target);
    run(cmd, "pg_dump").await
}

/// `pg_restore` of a dump from [`pg_dump`] into the (empty) database at
/// `url`, in one transaction: a failure leaves the database as it was.
pub async fn pg_restore(url: &str, dump: &Path) -> anyhow::Result<()> {
    let mut cmd = pg_tool("pg_restore", url)?;
    cmd.args(["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]).arg(dump);
    run(cmd, "pg_restore").await
}

/// A PostgreSQL client tool connected to `url`: the address without its
/// password as `--dbname`, the password in the environment.
fn pg_tool(program: &str, url: &str) -> anyhow::Result<tokio::process::Command> {
    let mut parsed = url::Url::parse(url).context("PostgreSQL 地址无效")?;
    let password = parsed.password().map(|p| {
        url::form_urlencoded::parse(format!("p={}", p.replace('+', "%2B")).as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    });
    parsed.set_password(None).map_err(|()| anyhow::anyhow!("PostgreSQL 地址无效"))?;
    let mut cmd = tokio::process::Command::new(program);
    cmd.arg("--dbname").arg(parsed.as_str());
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    cmd.stdin(std::process::Stdio::null()).kill_on_drop(true);
    Ok(cmd)
}

async fn run(mut cmd: tokio::process::Command, program: &str) -> anyhow::Result<()> {
    let out = match cmd.output().await {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            anyhow::bail!(
                "找不到 {program}：请安装与数据库服务器同一大版本的 PostgreSQL 客户端（Debian：postgresql-client）"
            )
        }
        Err(e) => return Err(e).with_context(|| format!("无法运行 {program}")),
    };
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stderr);
        let text: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).take(5).collect();
        anyhow::bail!("{program} 失败（{}）：{}", out.status, text.join("；"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sqlite_file_is_read_from_the_address() {
        assert_eq!(sqlite_path("sqlite://data/xueji.db?mode=rwc"), Some(PathBuf::from("data/xueji.db")));
        assert_eq!(sqlite_path("sqlite:/srv/x.db"), Some(PathBuf::from("/srv/x.db")));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
    }

    #[test]
    fn the_password_goes_to_the_environment_not_the_command_line() {
        let cmd = pg_tool("pg_dump", "postgres://xueji:s%40cret@127.0.0.1:5432/county?sslmode=disable").unwrap();
        let cmd = cmd.as_std();
        let args: Vec<String> = cmd.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
        assert_eq!(args, ["--dbname", "postgres://xueji@127.0.0.1:5432/county?sslmode=disable"]);
        let env: Vec<_> = cmd.get_envs().collect();
        assert_eq!(env, [(std::ffi::OsStr::new("PGPASSWORD"), Some(std::ffi::OsStr::new("s@cret")))]);
    }
}
