//! Sweeping the archive: temp files that crashed writes left (older than an
//! hour) on the server's hourly schedule and on command, and objects that no
//! dossier version references only on command. Each sweep that removes
//! anything, or is asked for, is audited.

use super::fixity::needed_by_imports;
use super::{Actor, Failure, Result, blocking};
use crate::app::App;
use crate::db::{self, Db};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use xueji_archive::{Archive, Digest, SweepOptions, SweepReport};

/// How old a temp file or an unreferenced object must be to go.
pub const SWEEP_AFTER: Duration = Duration::from_secs(3600);

/// What a sweep removed (or, as a dry run, would remove). Paths are
/// relative to the archive root.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SweepSummary {
    /// Nothing was removed: this lists what would be.
    pub dry_run: bool,
    /// Temp files and staging directories.
    pub temps_removed: Vec<String>,
    /// Unreferenced objects.
    pub objects_removed: Vec<String>,
    /// Bytes freed.
    pub bytes_freed: u64,
    /// Temp files of writes in progress, left alone.
    pub temps_in_progress: usize,
    /// Unreferenced objects left alone (young, needed, or not asked for).
    pub unreferenced_kept: usize,
    /// Why unreferenced objects were not removed although asked, if so.
    pub unreferenced_refused: Option<String>,
    /// What could not be removed or read: path and reason.
    pub failed: Vec<(String, String)>,
}

impl SweepSummary {
    fn from_report(root: &Path, r: SweepReport, dry_run: bool) -> Self {
        let rel = |p: &Path| p.strip_prefix(root).unwrap_or(p).display().to_string();
        Self {
            dry_run,
            temps_removed: r.temps_removed.iter().map(|p| rel(p)).collect(),
            objects_removed: r.objects_removed.iter().map(|p| rel(p)).collect(),
            bytes_freed: r.bytes_freed,
            temps_in_progress: r.temps_in_progress,
            unreferenced_kept: r.unreferenced_kept,
            unreferenced_refused: r.unreferenced_refused,
            failed: r.failed.iter().map(|f| (rel(&f.path), f.reason.clone())).collect(),
        }
    }

    fn removed(&self) -> usize {
        self.temps_removed.len() + self.objects_removed.len()
    }
}

/// Sweeps the archive (see the module documentation). Objects that an
/// import under way needs, or that the search index names, always stay.
pub async fn sweep(
    db: &Db,
    archive: &Archive,
    actor: &Actor,
    unreferenced: bool,
    dry_run: bool,
) -> Result<SweepSummary> {
    let mut keep = needed_by_imports(db).await?;
    for (_, digest) in db::dossier::indexed_digests(&db.pool).await? {
        keep.extend(digest.parse::<Digest>().ok());
    }
    let options = SweepOptions { older_than: SWEEP_AFTER, unreferenced, keep, dry_run };
    let archive2 = archive.clone();
    let report = blocking(move || Ok(archive2.sweep(&options)?)).await?;
    let summary = SweepSummary::from_report(&archive.location(), report, dry_run);
    let asked = actor.via != crate::domain::Channel::Scheduler;
    if asked || summary.removed() > 0 || !summary.failed.is_empty() {
        let outcome = if summary.failed.is_empty() { "ok" } else { "problems" };
        let detail = format!(
            "temps={} objects={} bytes={} failed={} unreferenced={unreferenced} dry_run={dry_run}",
            summary.temps_removed.len(),
            summary.objects_removed.len(),
            summary.bytes_freed,
            summary.failed.len()
        );
        crate::service::audit::write(&db.pool, actor, "archive.sweep", ("archive", "*"), None, outcome, &detail)
            .await
            .map_err(Failure::App)?;
    }
    Ok(summary)
}

/// Sweeps temp files every hour, the first time a minute after start-up.
/// Logs counts only.
pub async fn sweep_schedule(app: Arc<App>) {
    let actor = Actor::scheduler("archive-sweep");
    tokio::time::sleep(Duration::from_secs(60)).await;
    let mut tick = tokio::time::interval(SWEEP_AFTER);
    loop {
        tick.tick().await;
        match sweep(&app.db, &app.archive, &actor, false, false).await {
            Ok(s) if s.removed() > 0 || !s.failed.is_empty() => tracing::info!(
                removed = s.temps_removed.len(),
                bytes = s.bytes_freed,
                failed = s.failed.len(),
                "archive sweep done"
            ),
            Ok(_) => {}
            Err(e) => {
                e.log();
                tracing::warn!(code = e.code(), "archive sweep failed");
            }
        }
    }
}
