//! Named leases: work only one instance of the service may do at a time.

use sqlx::{Any, Executor};

/// Takes the lease `name` for `holder` until `expires_at` if it is free,
/// expired, or already this holder's; `false` if someone else holds it.
pub async fn acquire<'c>(
    e: impl Executor<'c, Database = Any>,
    name: &str,
    holder: &str,
    now: &str,
    expires_at: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $4)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE leases.expires_at < $3 OR leases.holder = excluded.holder",
    )
    .bind(name)
    .bind(holder)
    .bind(now)
    .bind(expires_at)
    .execute(e)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives the lease back (only if this holder has it).
pub async fn release<'c>(e: impl Executor<'c, Database = Any>, name: &str, holder: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2").bind(name).bind(holder).execute(e).await?;
    Ok(())
}
