//! Work only one instance of the service does at a time (the fixity run,
//! the yearly runs), with several instances on one database: a named lease
//! in the `leases` table, taken when free or expired, renewed every 30 s
//! while held, given back when done. An instance that dies holding one
//! frees it when it expires two minutes later.

use crate::db::Db;
use crate::error::AppResult;
use std::sync::LazyLock;
use std::time::Duration;

/// How long a lease lasts without renewal.
const TERM: Duration = Duration::from_secs(120);
/// How often a held lease is renewed.
const RENEW: Duration = Duration::from_secs(30);

/// This process, as the holder of leases and the runner of batch jobs:
/// its process id and a random tag (two instances on one machine differ).
pub fn instance() -> &'static str {
    static INSTANCE: LazyLock<String> =
        LazyLock::new(|| format!("{}-{}", std::process::id(), hex::encode(rand::random::<[u8; 4]>())));
    &INSTANCE
}

fn at(offset: Duration) -> String {
    let t = chrono::Utc::now() + chrono::Duration::from_std(offset).unwrap_or_default();
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A held lease. [`Lease::release`] gives it back; dropping it does so in
/// the background (which a process about to exit may not finish: then it
/// expires on its own).
#[derive(Debug)]
pub struct Lease {
    db: Db,
    name: &'static str,
    renewal: tokio::task::JoinHandle<()>,
    released: bool,
}

impl Lease {
    /// Takes `name` if no other instance holds it.
    pub async fn take(db: &Db, name: &'static str) -> AppResult<Option<Lease>> {
        if !crate::db::leases::acquire(&db.pool, name, instance(), &at(Duration::ZERO), &at(TERM)).await? {
            return Ok(None);
        }
        let renewal = {
            let db = db.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(RENEW);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    match crate::db::leases::acquire(&db.pool, name, instance(), &at(Duration::ZERO), &at(TERM)).await {
                        Ok(true) => {}
                        Ok(false) => tracing::error!(lease = name, "lease taken by another instance while held"),
                        Err(e) => tracing::warn!(lease = name, error = %e, "lease not renewed"),
                    }
                }
            })
        };
        Ok(Some(Lease { db: db.clone(), name, renewal, released: false }))
    }
}

impl Lease {
    /// Gives the lease back now.
    pub async fn release(mut self) {
        self.renewal.abort();
        self.released = true;
        if let Err(e) = crate::db::leases::release(&self.db.pool, self.name, instance()).await {
            tracing::warn!(lease = self.name, error = %e, "lease not given back; it expires on its own");
        }
    }

    /// Runs `work` holding the lease `name` (`None` when another instance
    /// holds it), and gives the lease back when it ends, however it ends.
    pub async fn with<T>(db: &Db, name: &'static str, work: impl Future<Output = T>) -> AppResult<Option<T>> {
        let Some(lease) = Self::take(db, name).await? else { return Ok(None) };
        let out = work.await;
        lease.release().await;
        Ok(Some(out))
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.renewal.abort();
        if self.released {
            return;
        }
        let (db, name) = (self.db.clone(), self.name);
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                if let Err(e) = crate::db::leases::release(&db.pool, name, instance()).await {
                    tracing::warn!(lease = name, error = %e, "lease not given back; it expires on its own");
                }
            });
        }
    }
}
