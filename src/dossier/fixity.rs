//! Fixity: re-hashing every object, comparing the index with the
//! manifests, keeping each run's result, and the scheduled runs.

use super::{Failure, Result, blocking};
use crate::app::App;
use crate::db::{self, Db};
use crate::error::AppError;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use xueji_archive::{Archive, Digest, FixityReport, NewVersion, VerifyProgress};

/// A missing object, for the report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MissingItem {
    /// The digest.
    pub digest: String,
    /// Where it should be (relative to the archive root).
    pub path: String,
    /// Manifests naming it (relative).
    pub referenced_by: Vec<String>,
}

/// A fixity run as kept and shown. Paths are relative to the archive root.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FixitySummary {
    /// `schedule`, `cli`, or a user name.
    pub started_by: String,
    /// When it started (RFC 3339 UTC).
    pub started_at: String,
    /// When it ended.
    pub finished_at: String,
    /// Objects re-hashed.
    pub objects_checked: u64,
    /// Bytes re-hashed.
    pub bytes_hashed: u64,
    /// Manifests read.
    pub manifests_checked: u64,
    /// Objects whose bytes changed: path, then the digest found.
    pub changed: Vec<(String, String)>,
    /// Objects referenced but absent.
    pub missing: Vec<MissingItem>,
    /// Files that do not belong.
    pub stray: Vec<String>,
    /// Temp files left by a crash (older than an hour).
    pub stale_temps: Vec<String>,
    /// Objects that no dossier version references and no import under way
    /// needs, older than an hour: left by an upload or import that stopped
    /// after storing them (`xueji archive sweep --unreferenced` removes them).
    #[serde(default)]
    pub unreferenced: Vec<String>,
    /// Younger unreferenced objects: uploads in progress (not a problem).
    #[serde(default)]
    pub unreferenced_recent: usize,
    /// Search-index rows naming an object the archive lacks: dossier, digest.
    #[serde(default)]
    pub index_missing: Vec<(String, String)>,
    /// Writes in progress while checking (not a problem).
    pub temps_in_progress: usize,
    /// Objects or manifests that could not be read: path and reason.
    pub unreadable: Vec<(String, String)>,
    /// Dossiers whose index is older than their newest manifest (run
    /// `xueji archive reindex`; not a loss).
    pub index_behind: Vec<String>,
    /// Dossiers whose index names versions the archive lacks (a loss).
    pub index_ahead: Vec<String>,
    /// Dossiers in the archive that no student owns here.
    pub unowned_dossiers: Vec<String>,
    /// Whether nothing is wrong.
    pub clean: bool,
    /// Seconds taken.
    pub seconds: f64,
    /// Hashing throughput, bytes per second.
    pub bytes_per_second: f64,
}

impl FixitySummary {
    fn from_report(root: &Path, r: &FixityReport) -> Self {
        let rel = |p: &Path| p.strip_prefix(root).unwrap_or(p).display().to_string();
        Self {
            objects_checked: r.objects_checked,
            bytes_hashed: r.bytes_hashed,
            manifests_checked: r.manifests_checked,
            changed: r.changed.iter().map(|c| (rel(&c.path), c.actual.to_hex())).collect(),
            missing: r
                .missing
                .iter()
                .map(|m| MissingItem {
                    digest: m.digest.to_hex(),
                    path: rel(&m.path),
                    referenced_by: m.referenced_by.iter().map(|p| rel(p)).collect(),
                })
                .collect(),
            stray: r.stray.iter().map(|p| rel(p)).collect(),
            stale_temps: r.stale_temps.iter().map(|p| rel(p)).collect(),
            unreferenced: r.unreferenced.iter().map(|u| rel(&u.path)).collect(),
            unreferenced_recent: r.unreferenced_recent.len(),
            temps_in_progress: r.temps_in_progress.len(),
            unreadable: r
                .unreadable_objects
                .iter()
                .chain(&r.unreadable_manifests)
                .map(|u| (rel(&u.path), u.reason.clone()))
                .collect(),
            seconds: r.elapsed.as_secs_f64(),
            bytes_per_second: r.bytes_per_second(),
            ..Self::default()
        }
    }

    /// Problems found (index lag is not one).
    pub fn problems(&self) -> usize {
        self.changed.len()
            + self.missing.len()
            + self.stray.len()
            + self.stale_temps.len()
            + self.unreferenced.len()
            + self.unreadable.len()
            + self.index_ahead.len()
            + self.index_missing.len()
    }
}

/// Archive roots with a fixity run in progress in this process.
static RUNNING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

struct RunGuard(PathBuf);

impl Drop for RunGuard {
    fn drop(&mut self) {
        let mut running = RUNNING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        running.retain(|p| p != &self.0);
    }
}

/// Whether a fixity run over this archive is in progress in this process.
pub fn fixity_running(archive: &Archive) -> bool {
    RUNNING.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter().any(|p| p == archive.root())
}

/// Runs the fixity check over the whole archive, compares the index with
/// the manifests, and keeps the result in `fixity_runs`. Refuses (409) while
/// another run over the same archive is in progress in this process.
pub async fn run_fixity(
    db: &Db,
    archive: &Archive,
    started_by: &str,
    progress: Arc<dyn Fn(&VerifyProgress) + Send + Sync>,
) -> Result<FixitySummary> {
    let _guard = {
        let mut running = RUNNING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if running.iter().any(|p| p == archive.root()) {
            return Err(AppError::conflict("archive.fixity_running", "完整性检查正在进行，请稍后查看结果").into());
        }
        running.push(archive.root().to_path_buf());
        RunGuard(archive.root().to_path_buf())
    };
    // One run at a time across every instance on this database.
    match crate::lease::Lease::with(db, "fixity", fixity_run(db, archive, started_by, progress)).await {
        Ok(Some(result)) => result,
        Ok(None) => {
            Err(AppError::conflict("archive.fixity_running", "完整性检查正在另一台服务器上进行，请稍后查看结果").into())
        }
        Err(e) => Err(Failure::App(e)),
    }
}

/// The fixity run itself, under the guard and the lease of [`run_fixity`].
async fn fixity_run(
    db: &Db,
    archive: &Archive,
    started_by: &str,
    progress: Arc<dyn Fn(&VerifyProgress) + Send + Sync>,
) -> Result<FixitySummary> {
    let started_at = crate::db::now_text();
    let dossiers: Vec<(String, i64)> =
        db::dossier::all(&db.pool).await?.into_iter().map(|d| (d.archive_id, d.versions)).collect();
    let indexed = db::dossier::indexed_digests(&db.pool).await?;
    let needed = needed_by_imports(db).await?;
    let archive2 = archive.clone();
    let (mut summary, latest) = blocking(move || {
        let mut report = archive2.verify(&|p| progress(p))?;
        // Stored by an import under way, named by the versions it is about to write.
        report.unreferenced.retain(|u| !needed.contains(&u.digest));
        let mut summary = FixitySummary::from_report(&archive2.location(), &report);
        // One listing, not a query per indexed file (a remote store answers each over the network).
        let stored: std::collections::HashSet<Digest> = archive2.store().list()?.into_iter().collect();
        for (dossier, digest) in indexed {
            let present = digest.parse::<Digest>().is_ok_and(|d| stored.contains(&d));
            if !present {
                summary.index_missing.push((dossier, digest));
            }
        }
        let mut latest: HashMap<String, u32> = HashMap::new();
        for id in archive2.manifests().dossier_ids()? {
            // One unreadable dossier is reported; the others are still compared.
            match archive2.manifests().versions(&id) {
                Ok(versions) => {
                    latest.insert(id, versions.last().copied().unwrap_or(0));
                }
                Err(e) => summary.unreadable.push((format!("dossiers/{id}"), e.to_string())),
            }
        }
        Ok((summary, latest))
    })
    .await?;
    let owned: HashSet<&str> = dossiers.iter().map(|(id, _)| id.as_str()).collect();
    for (id, indexed) in &dossiers {
        let have = i64::from(latest.get(id).copied().unwrap_or(0));
        if have > *indexed {
            summary.index_behind.push(id.clone());
        } else if have < *indexed {
            summary.index_ahead.push(id.clone());
        }
    }
    summary.unowned_dossiers =
        latest.keys().filter(|id| !owned.contains(id.as_str())).cloned().collect::<BTreeSet<_>>().into_iter().collect();
    summary.index_behind.sort();
    summary.index_ahead.sort();
    summary.clean = summary.problems() == 0;
    summary.started_by = started_by.to_owned();
    summary.started_at = started_at;
    summary.finished_at = crate::db::now_text();
    let findings = serde_json::to_string(&summary).map_err(Failure::internal)?;
    db::dossier::insert_fixity_run(
        &db.pool,
        &db::dossier::NewFixityRun {
            started_by: &summary.started_by,
            started_at: &summary.started_at,
            finished_at: &summary.finished_at,
            objects_checked: summary.objects_checked,
            bytes_hashed: summary.bytes_hashed,
            manifests_checked: summary.manifests_checked,
            changed: summary.changed.len(),
            missing: summary.missing.len(),
            stray: summary.stray.len(),
            stale_temps: summary.stale_temps.len(),
            unreadable: summary.unreadable.len(),
            index_behind: summary.index_behind.len(),
            clean: summary.clean,
            findings: &findings,
        },
    )
    .await?;
    Ok(summary)
}

/// Objects that no manifest lists and that must stay: those imports under
/// way have stored and are about to name in their versions (journaled, not
/// yet in any manifest), the intake papers, the issued documents' PDFs
/// ([`super::papers`]) and the ledger scans of pre-system graduations.
pub(super) async fn needed_by_imports(db: &Db) -> Result<HashSet<Digest>> {
    let mut needed: HashSet<Digest> =
        db::intake::paper_digests(&db.pool).await?.iter().filter_map(|d| d.parse().ok()).collect();
    needed.extend(db::documents::kept_digests(&db.pool).await?.iter().filter_map(|d| d.parse::<Digest>().ok()));
    needed.extend(db::graduations::evidence_digests(&db.pool).await?.iter().filter_map(|d| d.parse::<Digest>().ok()));
    for journal in db::import_journal::all(&db.pool).await? {
        let planned: Vec<NewVersion> = serde_json::from_str(&journal.planned).map_err(Failure::internal)?;
        needed.extend(planned.iter().flat_map(|v| v.entries.iter().map(|e| e.digest)));
    }
    Ok(needed)
}

/// The newest fixity run's result.
pub async fn last_fixity(db: &Db) -> Result<Option<FixitySummary>> {
    let findings = db::dossier::last_fixity_findings(&db.pool).await?;
    findings.map(|f| serde_json::from_str(&f).map_err(Failure::internal)).transpose()
}

/// Runs the fixity check every `XUEJI_FIXITY_HOURS` hours (default 24; `0`
/// turns it off), the first `XUEJI_FIXITY_DELAY_MINUTES` (default 10) after
/// start-up, as the settings say. Logs counts only.
pub async fn fixity_schedule(app: Arc<App>) {
    if let Some(e) = &app.config.fixity_hours_refused {
        tracing::warn!(error = %e, "fixity schedule: using 24 hours");
    }
    let hours = app.config.fixity_hours;
    if hours == 0 {
        tracing::info!("fixity schedule off (XUEJI_FIXITY_HOURS=0)");
        return;
    }
    let delay = app.config.fixity_delay_minutes;
    tokio::time::sleep(std::time::Duration::from_secs(delay * 60)).await;
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(hours.saturating_mul(3600)));
    loop {
        tick.tick().await;
        // With several instances each has this schedule: a run another one
        // finished within the period counts (ten minutes' slack for clocks).
        let period = chrono::Duration::hours(i64::try_from(hours).unwrap_or(i64::MAX / 3600).min(24 * 365));
        let due = chrono::Utc::now() - period + chrono::Duration::minutes(10);
        match last_fixity(&app.db).await {
            Ok(Some(last)) if chrono::DateTime::parse_from_rfc3339(&last.finished_at).is_ok_and(|t| t > due) => {
                tracing::info!("fixity check skipped: a recent run is on record");
                continue;
            }
            Ok(_) => {}
            Err(e) => e.log(),
        }
        match run_fixity(&app.db, &app.archive, "schedule", Arc::new(|_| {})).await {
            Ok(s) => tracing::info!(
                objects = s.objects_checked,
                bytes = s.bytes_hashed,
                problems = s.problems(),
                index_behind = s.index_behind.len(),
                "fixity check done"
            ),
            Err(e) if e.code() == "archive.fixity_running" => {
                tracing::info!("fixity check skipped: another instance is running it");
            }
            Err(e) => {
                e.log();
                tracing::warn!(code = e.code(), "fixity check failed");
            }
        }
    }
}
