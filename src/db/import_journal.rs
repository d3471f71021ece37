//! Transfer-package imports under way (`archive_import_journal`): one row
//! per dossier, committed before any dossier version is written and deleted
//! in the transaction that records the finished import, so that a crash in
//! between leaves a row to finish from.

use super::dossier::Source;
use super::students::StudentIds;
use sqlx::{Any, Executor, Row};

/// An import under way, with the student who owns the dossier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Journal {
    /// Row id.
    pub id: i64,
    /// The receiving dossier.
    pub dossier_id: i64,
    /// The dossier's owner.
    pub student: StudentIds,
    /// `Source-Organization` of the package.
    pub source_organization: String,
    /// The dossier's id at the sender.
    pub source_dossier: String,
    /// Its newest version at the sender.
    pub source_versions: u32,
    /// The key the package was signed with.
    pub key_id: String,
    /// The dossier's newest version before the import.
    pub base_version: u32,
    /// The versions to write after `base_version` (JSON).
    pub planned: String,
    /// Versions in the package.
    pub versions_received: usize,
    /// Objects in the package.
    pub objects: usize,
    /// Of which were new here.
    pub objects_created: usize,
    /// Who started the import.
    pub imported_by: String,
    /// When (RFC 3339 UTC).
    pub started_at: String,
}

impl Journal {
    /// The package's identity, as `archive_imports` records it.
    pub fn source(&self) -> Source<'_> {
        Source {
            organization: &self.source_organization,
            dossier: &self.source_dossier,
            versions: self.source_versions,
        }
    }
}

/// A new journal row.
#[derive(Debug, Clone)]
pub struct NewJournal<'a> {
    /// The receiving dossier.
    pub dossier_id: i64,
    /// The package's identity.
    pub source: Source<'a>,
    /// The key the package was signed with.
    pub key_id: &'a str,
    /// The dossier's newest version before the import.
    pub base_version: u32,
    /// The versions to write (JSON).
    pub planned: &'a str,
    /// Versions in the package.
    pub versions_received: usize,
    /// Objects in the package.
    pub objects: usize,
    /// Of which were new here.
    pub objects_created: usize,
    /// Who starts it.
    pub imported_by: &'a str,
    /// When (RFC 3339 UTC).
    pub started_at: &'a str,
}

/// Records an import about to write its versions.
pub async fn insert<'c>(e: impl Executor<'c, Database = Any>, j: &NewJournal<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO archive_import_journal (dossier_id, source_organization, source_dossier, source_versions,
            key_id, base_version, planned, versions_received, objects, objects_created, imported_by, started_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(j.dossier_id)
    .bind(j.source.organization)
    .bind(j.source.dossier)
    .bind(i64::from(j.source.versions))
    .bind(j.key_id)
    .bind(i64::from(j.base_version))
    .bind(j.planned)
    .bind(j.versions_received as i64)
    .bind(j.objects as i64)
    .bind(j.objects_created as i64)
    .bind(j.imported_by)
    .bind(j.started_at)
    .execute(e)
    .await?;
    Ok(())
}

const SELECT: &str = "SELECT j.id, j.dossier_id, j.source_organization, j.source_dossier, j.source_versions,
        j.key_id, j.base_version, j.planned, j.versions_received, j.objects, j.objects_created, j.imported_by, j.started_at,
        s.id AS student_id, s.public_id, s.school_id
     FROM archive_import_journal j JOIN dossiers d ON d.id = j.dossier_id JOIN students s ON s.id = d.student_id";

fn journal(r: &sqlx::any::AnyRow) -> Result<Journal, sqlx::Error> {
    let count = |name: &str| -> Result<u32, sqlx::Error> {
        u32::try_from(r.try_get::<i64, _>(name)?).map_err(|e| sqlx::Error::Decode(Box::new(e)))
    };
    Ok(Journal {
        id: r.try_get("id")?,
        dossier_id: r.try_get("dossier_id")?,
        student: StudentIds {
            id: r.try_get("student_id")?,
            public_id: r.try_get("public_id")?,
            school_id: r.try_get("school_id")?,
        },
        source_organization: r.try_get("source_organization")?,
        source_dossier: r.try_get("source_dossier")?,
        source_versions: count("source_versions")?,
        key_id: r.try_get("key_id")?,
        base_version: count("base_version")?,
        planned: r.try_get("planned")?,
        versions_received: count("versions_received")? as usize,
        objects: count("objects")? as usize,
        objects_created: count("objects_created")? as usize,
        imported_by: r.try_get("imported_by")?,
        started_at: r.try_get("started_at")?,
    })
}

/// The import under way into a dossier, if any.
pub async fn of_dossier<'c>(
    e: impl Executor<'c, Database = Any>,
    dossier_id: i64,
) -> Result<Option<Journal>, sqlx::Error> {
    let row = sqlx::query(&format!("{SELECT} WHERE j.dossier_id = $1")).bind(dossier_id).fetch_optional(e).await?;
    row.as_ref().map(journal).transpose()
}

/// Every import under way, oldest first.
pub async fn all<'c>(e: impl Executor<'c, Database = Any>) -> Result<Vec<Journal>, sqlx::Error> {
    let rows = sqlx::query(&format!("{SELECT} ORDER BY j.id")).fetch_all(e).await?;
    rows.iter().map(journal).collect()
}

/// Removes a finished import's row.
pub async fn delete<'c>(e: impl Executor<'c, Database = Any>, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM archive_import_journal WHERE id = $1").bind(id).execute(e).await?;
    Ok(())
}
