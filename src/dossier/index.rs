//! Appending dossier versions under the dossier's lock, keeping the search
//! index in step with the newest manifest, and rebuilding the index from
//! the manifests.

use super::{Failure, Result, StudentRef, blocking};
use crate::db::{self, Db, dossier::DossierRow};
use xueji_archive::{Archive, Entry, Manifest, NewVersion};

/// A new opaque dossier id: `d-` and 128 random bits in hex.
fn new_archive_id() -> String {
    format!("d-{}", hex::encode(rand::random::<[u8; 16]>()))
}

/// Starts a transaction holding the lock on the student's dossier row
/// (creating the row if needed): the row lock on PostgreSQL, the write lock
/// on SQLite. One writer per dossier at a time, across processes.
pub(super) async fn lock_dossier(
    db: &Db,
    student: &StudentRef,
) -> Result<(sqlx::Transaction<'static, sqlx::Any>, DossierRow)> {
    let now = db::now_text();
    let mut tx = db.pool.begin().await?;
    let row = db::dossier::lock_for_student(&mut tx, student.id, &new_archive_id(), &now).await?;
    Ok((tx, row))
}

/// Under the dossier lock, writes the versions `make` returns (given the
/// newest version's entries), in order. Nothing is written if `make` fails.
pub(super) async fn write_versions(
    archive: &Archive,
    dossier: &DossierRow,
    make: impl FnOnce(Vec<Entry>) -> Result<Vec<NewVersion>> + Send + 'static,
) -> Result<Vec<Manifest>> {
    let archive = archive.clone();
    let archive_id = dossier.archive_id.clone();
    blocking(move || {
        let latest = archive.latest(&archive_id)?;
        let versions = make(latest.map(|m| m.entries).unwrap_or_default())?;
        let mut written = Vec::with_capacity(versions.len());
        for v in versions {
            written.push(archive.add_version(&archive_id, v)?);
        }
        if written.is_empty() {
            return Err(Failure::internal(anyhow::anyhow!("no version to append")));
        }
        Ok(written)
    })
    .await
}

/// Appends versions to the student's dossier under its lock and indexes
/// the last one in the same transaction. The manifests are written before
/// the index commits: a crash in between leaves the index behind, never
/// ahead.
pub(super) async fn append_versions(
    db: &Db,
    archive: &Archive,
    student: &StudentRef,
    make: impl FnOnce(Vec<Entry>) -> Result<Vec<NewVersion>> + Send + 'static,
) -> Result<(DossierRow, Vec<Manifest>)> {
    let (mut tx, dossier) = lock_dossier(db, student).await?;
    if db::import_journal::of_dossier(&mut *tx, dossier.id).await?.is_some() {
        // A transfer package is being filed (or a crash left one to finish).
        return Err(crate::error::AppError::conflict(
            "archive.import_in_progress",
            "该生档案正在导入传输包，请稍后再试",
        )
        .into());
    }
    let written = write_versions(archive, &dossier, make).await?;
    let last = written.last().ok_or_else(|| Failure::internal(anyhow::anyhow!("no version")))?;
    index_manifest(&mut tx, &dossier, student, last).await?;
    tx.commit().await?;
    Ok((DossierRow { versions: i64::from(last.version), ..dossier }, written))
}

/// Replaces the dossier's index rows with `manifest`'s entries.
pub(super) async fn index_manifest(
    conn: &mut sqlx::AnyConnection,
    dossier: &DossierRow,
    student: &StudentRef,
    manifest: &Manifest,
) -> Result<(), sqlx::Error> {
    db::dossier::replace_index(conn, dossier.id, student.id, student.school_id, manifest.version, &manifest.entries)
        .await
}

/// Rebuilds the index of one dossier from its newest manifest.
async fn reindex_dossier(db: &Db, archive: &Archive, student: &StudentRef) -> Result<bool> {
    let (mut tx, dossier) = lock_dossier(db, student).await?;
    let archive = archive.clone();
    let archive_id = dossier.archive_id.clone();
    let latest = blocking(move || Ok(archive.latest(&archive_id)?)).await?;
    let Some(manifest) = latest else { return Ok(false) };
    index_manifest(&mut tx, &dossier, student, &manifest).await?;
    tx.commit().await?;
    Ok(true)
}

/// What [`reindex_all`] did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ReindexReport {
    /// Dossiers indexed.
    pub dossiers: usize,
    /// Entries indexed.
    pub entries: i64,
}

/// Rebuilds the whole index from the manifests.
pub async fn reindex_all(db: &Db, archive: &Archive) -> Result<ReindexReport> {
    let owners = db::dossier::owners(&db.pool).await?;
    let mut report = ReindexReport::default();
    for owner in owners {
        if reindex_dossier(db, archive, &StudentRef::from(owner)).await? {
            report.dossiers += 1;
        }
    }
    report.entries = db::dossier::count_entries(&db.pool).await?;
    Ok(report)
}
