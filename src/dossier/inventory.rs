//! The kept archive's inventories (`inventories/<id>/v<N>.json`, written
//! once, and `inventories/<id>/inventory.json`, the dossier now) and its
//! README, in whichever store the archive is kept (see
//! `xueji_archive::inventory`). Written after a
//! scan's text is kept, and for every dossier by `xueji archive reindex` and
//! after a restore. An inventory is a listing of what the versions and the
//! texts already say: one that could not be written is logged and written
//! by the next change or reindex, never failing the change itself.

use super::{Result, blocking};
use crate::db::{self, Db};
use std::collections::BTreeMap;
use xueji_archive::{Archive, Digest, InventoryWritten};

/// Writes the inventories of the dossier `archive_id` from its versions and
/// the texts kept for its objects.
pub async fn write(db: &Db, archive: &Archive, archive_id: &str) -> Result<InventoryWritten> {
    let digests = {
        let (archive, id) = (archive.clone(), archive_id.to_owned());
        blocking(move || {
            let mut digests: Vec<Digest> =
                archive.history(&id)?.iter().flat_map(|m| m.entries.iter().map(|e| e.digest)).collect();
            digests.sort();
            digests.dedup();
            Ok(digests)
        })
        .await?
    };
    let mut texts = BTreeMap::new();
    for digest in digests {
        if let Some(row) = db::archive_text::text_of(&db.pool, &digest.to_hex()).await?
            && let Ok(text) = row.text_digest.parse::<Digest>()
        {
            texts.insert(digest, text);
        }
    }
    let (archive, id) = (archive.clone(), archive_id.to_owned());
    blocking(move || Ok(archive.write_inventory(&id, &texts)?)).await
}

/// [`write`], a failure logged (the next change or reindex writes it).
pub async fn write_or_log(db: &Db, archive: &Archive, archive_id: &str) {
    if let Err(e) = write(db, archive, archive_id).await {
        tracing::warn!(
            code = e.code(),
            "a dossier's inventory could not be written; `xueji archive reindex` writes it"
        );
    }
}

/// Writes the inventories of every dossier listing the object `digest`
/// (after its text was kept); failures are logged.
pub async fn write_listing(db: &Db, archive: &Archive, digest: &str) {
    match db::archive_text::dossiers_listing(&db.pool, digest).await {
        Ok(ids) => {
            for id in ids {
                write_or_log(db, archive, &id).await;
            }
        }
        Err(e) => crate::error::AppError::from(e).log(),
    }
}

/// What [`write_all`] did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct InventoryReport {
    /// Dossiers inventoried.
    pub dossiers: usize,
    /// Version inventories written now (the others were there).
    pub version_files_written: u64,
    /// Texts listed, all dossiers together.
    pub texts: usize,
}

/// Writes the inventories of every dossier and the archive's README.
pub async fn write_all(db: &Db, archive: &Archive) -> Result<InventoryReport> {
    let mut report = InventoryReport::default();
    {
        let archive = archive.clone();
        blocking(move || Ok(archive.write_readme()?)).await?;
    }
    for dossier in db::dossier::all(&db.pool).await? {
        let written = write(db, archive, &dossier.archive_id).await?;
        if written.versions > 0 {
            report.dossiers += 1;
        }
        report.version_files_written += u64::from(written.version_files_written);
        report.texts += written.texts;
    }
    Ok(report)
}
