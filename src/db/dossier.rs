//! The paper-file archive's tables: which student owns which dossier
//! (`dossiers`), the search index over each dossier's newest version
//! (`archive_entries`), thumbnails, filed transfer packages and fixity runs.
//!
//! The manifests in the archive are the source of truth; these rows are an
//! index of them that can be rebuilt.

use super::students::StudentIds;
use chrono::NaiveDate;
use sqlx::{Any, Executor, Row};
use xueji_archive::{Digest, Entry, PaperKind};

/// A student's dossier row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DossierRow {
    /// Internal id.
    pub id: i64,
    /// The dossier's id in the archive (opaque).
    pub archive_id: String,
    /// The newest version the index reflects (0: none yet).
    pub versions: i64,
}

fn dossier_row(r: &sqlx::any::AnyRow) -> Result<DossierRow, sqlx::Error> {
    Ok(DossierRow { id: r.try_get("id")?, archive_id: r.try_get("archive_id")?, versions: r.try_get("versions")? })
}

/// The student's dossier, if one was started.
pub async fn of_student<'c>(
    e: impl Executor<'c, Database = Any>,
    student_id: i64,
) -> Result<Option<DossierRow>, sqlx::Error> {
    let row = sqlx::query("SELECT id, archive_id, versions FROM dossiers WHERE student_id = $1")
        .bind(student_id)
        .fetch_optional(e)
        .await?;
    row.as_ref().map(dossier_row).transpose()
}

/// Every `(dossier archive id, digest)` the search index names, sorted.
pub async fn indexed_digests<'c>(e: impl Executor<'c, Database = Any>) -> Result<Vec<(String, String)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT DISTINCT d.archive_id, e.digest FROM archive_entries e JOIN dossiers d ON d.id = e.dossier_id
         ORDER BY d.archive_id, e.digest",
    )
    .fetch_all(e)
    .await?;
    rows.iter().map(|r| Ok((r.try_get("archive_id")?, r.try_get("digest")?))).collect()
}

/// Every dossier, in no particular order.
pub async fn all<'c>(e: impl Executor<'c, Database = Any>) -> Result<Vec<DossierRow>, sqlx::Error> {
    let rows = sqlx::query("SELECT id, archive_id, versions FROM dossiers").fetch_all(e).await?;
    rows.iter().map(dossier_row).collect()
}

/// The students who own a dossier, in the order the dossiers were started.
pub async fn owners<'c>(e: impl Executor<'c, Database = Any>) -> Result<Vec<StudentIds>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT s.id, s.public_id, s.school_id FROM dossiers d JOIN students s ON s.id = d.student_id ORDER BY d.id",
    )
    .fetch_all(e)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(StudentIds {
                id: r.try_get("id")?,
                public_id: r.try_get("public_id")?,
                school_id: r.try_get("school_id")?,
            })
        })
        .collect()
}

/// Creates the student's dossier row if there is none yet (named
/// `new_archive_id` in the archive), then writes to it, which takes its lock
/// until the transaction ends: the row lock on PostgreSQL, the write lock on
/// SQLite. Run it inside a transaction: one writer per dossier at a time,
/// across processes.
pub async fn lock_for_student(
    conn: &mut sqlx::AnyConnection,
    student_id: i64,
    new_archive_id: &str,
    now: &str,
) -> Result<DossierRow, sqlx::Error> {
    sqlx::query(
        "INSERT INTO dossiers (archive_id, student_id, versions, created_at, updated_at) VALUES ($1, $2, 0, $3, $3)
         ON CONFLICT (student_id) DO NOTHING",
    )
    .bind(new_archive_id)
    .bind(student_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE dossiers SET updated_at = $1 WHERE student_id = $2")
        .bind(now)
        .bind(student_id)
        .execute(&mut *conn)
        .await?;
    let row = sqlx::query("SELECT id, archive_id, versions FROM dossiers WHERE student_id = $1")
        .bind(student_id)
        .fetch_one(&mut *conn)
        .await?;
    dossier_row(&row)
}

/// Replaces the dossier's index rows with `entries` (the entries of its
/// `version`, owned by that student of that school) and records that
/// version as the one indexed.
pub async fn replace_index(
    conn: &mut sqlx::AnyConnection,
    dossier_id: i64,
    student_id: i64,
    school_id: i64,
    version: u32,
    entries: &[Entry],
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM archive_entries WHERE dossier_id = $1").bind(dossier_id).execute(&mut *conn).await?;
    for (position, e) in entries.iter().enumerate() {
        sqlx::query(
            "INSERT INTO archive_entries (dossier_id, student_id, school_id, position, digest, kind, original_name,
                pages, media_type, size, added_by, added_at, added_on, supersedes)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(dossier_id)
        .bind(student_id)
        .bind(school_id)
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
        super::archive_text::enqueue(&mut *conn, &e.digest.to_hex(), &e.media_type).await?;
    }
    sqlx::query("UPDATE dossiers SET versions = $1, updated_at = $2 WHERE id = $3")
        .bind(i64::from(version))
        .bind(super::now_text())
        .bind(dossier_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Number of index rows.
pub async fn count_entries<'c>(e: impl Executor<'c, Database = Any>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM archive_entries").fetch_one(e).await
}

/// What to find in the index. Every criterion is optional; those given all apply.
#[derive(Debug, Clone, Default)]
pub struct EntryFilter<'a> {
    /// Only students of these schools (`None`: every school).
    pub school_ids: Option<&'a [i64]>,
    /// Only students of this school.
    pub school_id: Option<i64>,
    /// Only this kind of paper.
    pub kind: Option<PaperKind>,
    /// Student number starting with this, matched as given (upper-case it first).
    pub student_no_prefix: Option<&'a str>,
    /// Name containing this.
    pub name_contains: Option<&'a str>,
    /// Added on or after this day.
    pub added_from: Option<NaiveDate>,
    /// Added on or before this day.
    pub added_to: Option<NaiveDate>,
}

/// An index row with its student, as a search finds it.
#[derive(Debug, Clone)]
pub struct Found {
    /// The student's public id.
    pub public_id: String,
    /// 学籍号.
    pub student_no: String,
    /// 姓名.
    pub name: String,
    /// School name.
    pub school_name: String,
    /// Digest (hex, as stored).
    pub digest: String,
    /// Kind of paper ([`PaperKind::Other`] for a code this build does not know).
    pub kind: PaperKind,
    /// File name as uploaded.
    pub original_name: String,
    /// Pages (0 if the stored number does not fit).
    pub pages: u32,
    /// Media type.
    pub media_type: String,
    /// Bytes (0 if the stored number does not fit).
    pub size: u64,
    /// Who added it.
    pub added_by: String,
    /// When (RFC 3339, local offset).
    pub added_at: String,
    /// The day added (`YYYY-MM-DD`).
    pub added_on: String,
    /// The digest of the scan it corrects.
    pub supersedes: Option<String>,
}

pub(super) enum Param {
    Int(i64),
    Text(String),
}

/// Binds `params` in order.
pub(super) fn bind_all<'q>(
    mut query: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    params: &'q [Param],
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
    for p in params {
        query = match p {
            Param::Int(v) => query.bind(*v),
            Param::Text(v) => query.bind(v.as_str()),
        };
    }
    query
}

pub(super) fn mark(params: &mut Vec<Param>, p: Param) -> String {
    params.push(p);
    format!("${}", params.len())
}

fn escape_like(v: &str) -> String {
    v.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// The SQL conditions (on `e` = archive_entries, `s` = students) of
/// `filter`, their parameters pushed on `params`; `None` if nothing can match.
pub(super) fn filter_clauses(filter: &EntryFilter<'_>, params: &mut Vec<Param>) -> Option<Vec<String>> {
    let mut clauses = Vec::new();
    if let Some(ids) = filter.school_ids {
        if ids.is_empty() {
            return None;
        }
        let marks: Vec<String> = ids.iter().map(|id| mark(params, Param::Int(*id))).collect();
        clauses.push(format!("s.school_id IN ({})", marks.join(", ")));
    }
    if let Some(id) = filter.school_id {
        clauses.push(format!("s.school_id = {}", mark(params, Param::Int(id))));
    }
    if let Some(kind) = filter.kind {
        clauses.push(format!("e.kind = {}", mark(params, Param::Text(kind.code().to_owned()))));
    }
    if let Some(no) = filter.student_no_prefix {
        let m = mark(params, Param::Text(format!("{}%", escape_like(no))));
        clauses.push(format!("s.student_no LIKE {m} ESCAPE '\\'"));
    }
    if let Some(name) = filter.name_contains {
        let m = mark(params, Param::Text(format!("%{}%", escape_like(name))));
        clauses.push(format!("s.name LIKE {m} ESCAPE '\\'"));
    }
    if let Some(from) = filter.added_from {
        let m = mark(params, Param::Text(from.to_string()));
        clauses.push(format!("e.added_on >= {m}"));
    }
    if let Some(to) = filter.added_to {
        let m = mark(params, Param::Text(to.to_string()));
        clauses.push(format!("e.added_on <= {m}"));
    }
    Some(clauses)
}

/// A page of the index rows matching `filter`, newest first, and how many
/// match in all.
pub async fn search(
    conn: &mut sqlx::AnyConnection,
    filter: &EntryFilter<'_>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Found>, i64), sqlx::Error> {
    let mut params = Vec::new();
    let Some(clauses) = filter_clauses(filter, &mut params) else { return Ok((Vec::new(), 0)) };
    let where_ = if clauses.is_empty() { String::new() } else { format!("WHERE {}", clauses.join(" AND ")) };
    let from = "FROM archive_entries e JOIN students s ON s.id = e.student_id JOIN schools sc ON sc.id = s.school_id";
    let count_sql = format!("SELECT COUNT(*) {from} {where_}");
    let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
    for p in &params {
        count = match p {
            Param::Int(v) => count.bind(*v),
            Param::Text(v) => count.bind(v.as_str()),
        };
    }
    let total = count.fetch_one(&mut *conn).await?;
    let sql = format!(
        "SELECT s.public_id, s.student_no, s.name, sc.name AS school_name, e.digest, e.kind, e.original_name,
                e.pages, e.media_type, e.size, e.added_by, e.added_at, e.added_on, e.supersedes
         {from} {where_} ORDER BY e.added_at DESC, e.id DESC LIMIT {limit} OFFSET {offset}"
    );
    let rows = bind_all(sqlx::query(&sql), &params).fetch_all(&mut *conn).await?;
    let found = rows.iter().map(found_row).collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok((found, total))
}

/// A search row (the columns [`search`] selects) as [`Found`].
pub(super) fn found_row(r: &sqlx::any::AnyRow) -> Result<Found, sqlx::Error> {
    Ok(Found {
        public_id: r.try_get("public_id")?,
        student_no: r.try_get("student_no")?,
        name: r.try_get("name")?,
        school_name: r.try_get("school_name")?,
        digest: r.try_get("digest")?,
        kind: r.try_get::<String, _>("kind")?.parse().unwrap_or(PaperKind::Other),
        original_name: r.try_get("original_name")?,
        pages: u32::try_from(r.try_get::<i64, _>("pages")?).unwrap_or(0),
        media_type: r.try_get("media_type")?,
        size: u64::try_from(r.try_get::<i64, _>("size")?).unwrap_or(0),
        added_by: r.try_get("added_by")?,
        added_at: r.try_get("added_at")?,
        added_on: r.try_get("added_on")?,
        supersedes: r.try_get("supersedes")?,
    })
}

/// A stored preview of an image scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbnail {
    /// Its media type (`image/jpeg`).
    pub media_type: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// The preview kept for the object with this digest.
pub async fn thumbnail<'c>(
    e: impl Executor<'c, Database = Any>,
    digest: &Digest,
) -> Result<Option<Thumbnail>, sqlx::Error> {
    let row = sqlx::query("SELECT media_type, bytes FROM archive_thumbnails WHERE digest = $1")
        .bind(digest.to_hex())
        .fetch_optional(e)
        .await?;
    row.map(|r| Ok(Thumbnail { media_type: r.try_get("media_type")?, bytes: r.try_get("bytes")? })).transpose()
}

/// Keeps a preview for the object with this digest, unless one is kept already.
pub async fn insert_thumbnail<'c>(
    e: impl Executor<'c, Database = Any>,
    digest: &Digest,
    media_type: &str,
    width: u32,
    height: u32,
    bytes: &[u8],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO archive_thumbnails (digest, media_type, width, height, bytes) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (digest) DO NOTHING",
    )
    .bind(digest.to_hex())
    .bind(media_type)
    .bind(i64::from(width))
    .bind(i64::from(height))
    .bind(bytes.to_vec())
    .execute(e)
    .await?;
    Ok(())
}

/// A transfer package's sender, its dossier there and how many versions it had.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// `Source-Organization` of the package.
    pub organization: &'a str,
    /// The dossier's id at the sender.
    pub dossier: &'a str,
    /// Its newest version at the sender.
    pub versions: u32,
}

/// Whether this package was already filed into the dossier.
pub async fn import_seen<'c>(
    e: impl Executor<'c, Database = Any>,
    dossier_id: i64,
    source: Source<'_>,
) -> Result<bool, sqlx::Error> {
    let seen: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM archive_imports WHERE dossier_id = $1 AND source_organization = $2
         AND source_dossier = $3 AND source_versions = $4",
    )
    .bind(dossier_id)
    .bind(source.organization)
    .bind(source.dossier)
    .bind(i64::from(source.versions))
    .fetch_one(e)
    .await?;
    Ok(seen > 0)
}

/// A transfer package filed into a dossier.
#[derive(Debug, Clone)]
pub struct NewImport<'a> {
    /// The receiving dossier.
    pub dossier_id: i64,
    /// Where it came from.
    pub source: Source<'a>,
    /// The key id it was signed with.
    pub key_id: &'a str,
    /// The first local version written.
    pub first_version: u32,
    /// The last local version written.
    pub last_version: u32,
    /// Objects in the package.
    pub objects: usize,
    /// Who filed it.
    pub imported_by: &'a str,
    /// When (RFC 3339 UTC).
    pub imported_at: &'a str,
}

/// Records a filed transfer package.
pub async fn insert_import<'c>(e: impl Executor<'c, Database = Any>, i: &NewImport<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO archive_imports (dossier_id, source_organization, source_dossier, source_versions, key_id,
            first_version, last_version, objects, imported_by, imported_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(i.dossier_id)
    .bind(i.source.organization)
    .bind(i.source.dossier)
    .bind(i64::from(i.source.versions))
    .bind(i.key_id)
    .bind(i64::from(i.first_version))
    .bind(i64::from(i.last_version))
    .bind(i.objects as i64)
    .bind(i.imported_by)
    .bind(i.imported_at)
    .execute(e)
    .await?;
    Ok(())
}

/// A finished fixity run: its counts, whether all was well, and the findings.
#[derive(Debug, Clone)]
pub struct NewFixityRun<'a> {
    /// `schedule`, `cli`, or a user name.
    pub started_by: &'a str,
    /// When it started (RFC 3339 UTC).
    pub started_at: &'a str,
    /// When it ended.
    pub finished_at: &'a str,
    /// Objects re-hashed.
    pub objects_checked: u64,
    /// Bytes re-hashed.
    pub bytes_hashed: u64,
    /// Manifests read.
    pub manifests_checked: u64,
    /// Objects whose bytes changed.
    pub changed: usize,
    /// Objects referenced but absent.
    pub missing: usize,
    /// Files that do not belong.
    pub stray: usize,
    /// Temp files left by a crash.
    pub stale_temps: usize,
    /// Objects or manifests that could not be read.
    pub unreadable: usize,
    /// Dossiers whose index is older than their newest manifest.
    pub index_behind: usize,
    /// Whether nothing was wrong.
    pub clean: bool,
    /// The findings as JSON (paths relative to the archive root; no personal data).
    pub findings: &'a str,
}

/// Records a fixity run (counts over `i64::MAX` are kept as `i64::MAX`).
pub async fn insert_fixity_run<'c>(
    e: impl Executor<'c, Database = Any>,
    run: &NewFixityRun<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO fixity_runs (started_by, started_at, finished_at, objects_checked, bytes_hashed,
            manifests_checked, changed, missing, stray, stale_temps, unreadable, index_behind, clean, findings)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(run.started_by)
    .bind(run.started_at)
    .bind(run.finished_at)
    .bind(i64::try_from(run.objects_checked).unwrap_or(i64::MAX))
    .bind(i64::try_from(run.bytes_hashed).unwrap_or(i64::MAX))
    .bind(i64::try_from(run.manifests_checked).unwrap_or(i64::MAX))
    .bind(run.changed as i64)
    .bind(run.missing as i64)
    .bind(run.stray as i64)
    .bind(run.stale_temps as i64)
    .bind(run.unreadable as i64)
    .bind(run.index_behind as i64)
    .bind(super::flag(run.clean))
    .bind(run.findings)
    .execute(e)
    .await?;
    Ok(())
}

/// The newest fixity run's findings (JSON), if any run was recorded.
pub async fn last_fixity_findings<'c>(e: impl Executor<'c, Database = Any>) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT findings FROM fixity_runs ORDER BY id DESC LIMIT 1").fetch_optional(e).await
}

/// Whether the student's dossier holds a document with this digest now.
pub async fn holds_document<'c>(
    e: impl Executor<'c, Database = Any>,
    student_id: i64,
    digest: &str,
) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM archive_entries WHERE student_id = $1 AND digest = $2")
        .bind(student_id)
        .bind(digest)
        .fetch_one(e)
        .await?;
    Ok(n > 0)
}

/// A document of a student's dossier now, as a picker lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HeldDocument {
    /// The object's sha256 (hex).
    pub digest: String,
    /// The kind of paper (its label).
    pub kind: String,
    /// The name it was uploaded under.
    pub original_name: String,
    /// The day it was filed.
    pub added_on: String,
}

/// The documents a student's dossier holds now (by public id), newest first.
pub async fn documents_of<'c>(
    e: impl Executor<'c, Database = Any>,
    public_id: &str,
) -> Result<Vec<HeldDocument>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT a.digest, a.kind, a.original_name, a.added_on FROM archive_entries a
         JOIN students s ON s.id = a.student_id WHERE s.public_id = $1 ORDER BY a.added_at DESC, a.position DESC",
    )
    .bind(public_id)
    .fetch_all(e)
    .await?;
    rows.iter()
        .map(|r| {
            let kind: String = r.try_get("kind")?;
            Ok(HeldDocument {
                digest: r.try_get("digest")?,
                kind: kind.parse::<xueji_archive::PaperKind>().map_or(kind, |k| k.label().to_owned()),
                original_name: r.try_get("original_name")?,
                added_on: r.try_get("added_on")?,
            })
        })
        .collect()
}
