//! Appending dossier versions under the dossier's lock, keeping the search
//! index in step with the newest manifest, and rebuilding the index from
//! the manifests.

use super::{DossierRow, Failure, Result, StudentRef, blocking, dossier_row, student_ref};
use crate::db::Db;
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
    let now = crate::db::now_text();
    let mut tx = db.pool.begin().await?;
    sqlx::query(
        "INSERT INTO dossiers (archive_id, student_id, versions, created_at, updated_at) VALUES ($1, $2, 0, $3, $3)
         ON CONFLICT (student_id) DO NOTHING",
    )
    .bind(new_archive_id())
    .bind(student.id)
    .bind(&now)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE dossiers SET updated_at = $1 WHERE student_id = $2")
        .bind(&now)
        .bind(student.id)
        .execute(&mut *tx)
        .await?;
    let row = sqlx::query("SELECT id, archive_id, versions FROM dossiers WHERE student_id = $1")
        .bind(student.id)
        .fetch_one(&mut *tx)
        .await?;
    Ok((tx, dossier_row(&row)?))
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
    sqlx::query("DELETE FROM archive_entries WHERE dossier_id = $1").bind(dossier.id).execute(&mut *conn).await?;
    for (position, e) in manifest.entries.iter().enumerate() {
        sqlx::query(
            "INSERT INTO archive_entries (dossier_id, student_id, school_id, position, digest, kind, original_name,
                pages, media_type, size, added_by, added_at, added_on, supersedes)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(dossier.id)
        .bind(student.id)
        .bind(student.school_id)
        .bind(position as i64)
        .bind(e.digest.to_hex())
        .bind(e.kind.code())
        .bind(&e.original_name)
        .bind(i64::from(e.pages))
        .bind(&e.media_type)
        .bind(i64::try_from(e.size).unwrap_or(i64::MAX))
        .bind(&e.added_by)
        .bind(&e.added_at)
        .bind(e.added_at.get(..10).unwrap_or(""))
        .bind(e.supersedes.map(|d| d.to_hex()))
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query("UPDATE dossiers SET versions = $1, updated_at = $2 WHERE id = $3")
        .bind(i64::from(manifest.version))
        .bind(crate::db::now_text())
        .bind(dossier.id)
        .execute(&mut *conn)
        .await?;
    Ok(())
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
    let rows = sqlx::query(
        "SELECT s.id, s.public_id, s.school_id FROM dossiers d JOIN students s ON s.id = d.student_id ORDER BY d.id",
    )
    .fetch_all(&db.pool)
    .await?;
    let mut report = ReindexReport::default();
    for row in &rows {
        if reindex_dossier(db, archive, &student_ref(row)?).await? {
            report.dossiers += 1;
        }
    }
    report.entries = sqlx::query_scalar("SELECT COUNT(*) FROM archive_entries").fetch_one(&db.pool).await?;
    Ok(report)
}
