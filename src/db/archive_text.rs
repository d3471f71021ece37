//! The text read off archived objects: the reading queue (`ocr_jobs`), the
//! reading kept for each object (`archive_texts`), its pages and the
//! full-text index over them (SQLite: the FTS5 table `archive_text_terms`;
//! PostgreSQL: the `terms` column of `archive_text_pages` with its GIN
//! index). The terms are made by [`crate::domain::text`]; neither engine's
//! own word parser is used, so both find the same pages.

use super::Backend;
use super::dossier::{EntryFilter, Found, Param, bind_all, filter_clauses, mark};
use sqlx::{Any, Executor, Row};

/// Queues the object `digest` for reading unless it is already known.
pub async fn enqueue(conn: &mut sqlx::AnyConnection, digest: &str, media_type: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO ocr_jobs (digest, media_type, state, queued_at) VALUES ($1, $2, 'queued', $3)
         ON CONFLICT (digest) DO NOTHING",
    )
    .bind(digest)
    .bind(media_type)
    .bind(super::now_text())
    .execute(conn)
    .await?;
    Ok(())
}

/// Which objects [`requeue`] queues again.
#[derive(Debug, Clone, Copy)]
pub enum Requeue {
    /// Every object the index lists.
    All,
    /// The objects of one student's dossier.
    Student(i64),
    /// Those whose reading failed.
    Failed,
}

/// Queues objects again (their old reading stays until the new one is
/// saved); returns how many. Jobs being read now are left alone.
pub async fn requeue<'c>(e: impl Executor<'c, Database = Any>, which: Requeue) -> Result<u64, sqlx::Error> {
    let now = super::now_text();
    let query = match which {
        Requeue::All => sqlx::query(
            "UPDATE ocr_jobs SET state = 'queued', attempts = 0, error_code = NULL, queued_at = $1
             WHERE state <> 'running' AND digest IN (SELECT digest FROM archive_entries)",
        )
        .bind(now),
        Requeue::Student(id) => sqlx::query(
            "UPDATE ocr_jobs SET state = 'queued', attempts = 0, error_code = NULL, queued_at = $1
             WHERE state <> 'running' AND digest IN (SELECT digest FROM archive_entries WHERE student_id = $2)",
        )
        .bind(now)
        .bind(id),
        Requeue::Failed => sqlx::query(
            "UPDATE ocr_jobs SET state = 'queued', attempts = 0, error_code = NULL, queued_at = $1
             WHERE state = 'failed'",
        )
        .bind(now),
    };
    Ok(query.execute(e).await?.rows_affected())
}

/// Queues every listed object that has no job (rows older than the queue).
pub async fn enqueue_missing<'c>(e: impl Executor<'c, Database = Any>) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "INSERT INTO ocr_jobs (digest, media_type, state, queued_at)
         SELECT digest, MIN(media_type), 'queued', $1 FROM archive_entries
         WHERE digest NOT IN (SELECT digest FROM ocr_jobs) GROUP BY digest",
    )
    .bind(super::now_text())
    .execute(e)
    .await?
    .rows_affected())
}

/// A job taken by a worker.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// The object's digest (hex).
    pub digest: String,
    /// Its media type.
    pub media_type: String,
    /// Tries so far, this one included.
    pub attempts: i64,
    /// Pages the index lists for it.
    pub pages: i64,
}

/// Takes the oldest queued job, or one whose worker's heartbeat is older
/// than `stale_before`, for `instance`. Two workers never take the same job:
/// the update checks the state again.
pub async fn claim(
    conn: &mut sqlx::AnyConnection,
    instance: &str,
    stale_before: &str,
) -> Result<Option<Claimed>, sqlx::Error> {
    for _ in 0..5 {
        let next: Option<String> = sqlx::query_scalar(
            "SELECT digest FROM ocr_jobs
             WHERE state = 'queued' OR (state = 'running' AND heartbeat_at < $1)
             ORDER BY queued_at, digest LIMIT 1",
        )
        .bind(stale_before)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(digest) = next else { return Ok(None) };
        let now = super::now_text();
        let taken = sqlx::query(
            "UPDATE ocr_jobs SET state = 'running', instance = $1, heartbeat_at = $2, attempts = attempts + 1
             WHERE digest = $3 AND (state = 'queued' OR (state = 'running' AND heartbeat_at < $4))",
        )
        .bind(instance)
        .bind(&now)
        .bind(&digest)
        .bind(stale_before)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if taken == 1 {
            let row = sqlx::query(
                "SELECT j.media_type, j.attempts, COALESCE((SELECT MAX(e.pages) FROM archive_entries e
                     WHERE e.digest = j.digest), 1) AS pages
                 FROM ocr_jobs j WHERE j.digest = $1",
            )
            .bind(&digest)
            .fetch_one(&mut *conn)
            .await?;
            return Ok(Some(Claimed {
                digest,
                media_type: row.try_get("media_type")?,
                attempts: row.try_get("attempts")?,
                pages: row.try_get("pages")?,
            }));
        }
    }
    Ok(None)
}

/// Marks the worker still at the job.
pub async fn heartbeat<'c>(
    e: impl Executor<'c, Database = Any>,
    digest: &str,
    instance: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE ocr_jobs SET heartbeat_at = $1 WHERE digest = $2 AND instance = $3 AND state = 'running'")
        .bind(super::now_text())
        .bind(digest)
        .bind(instance)
        .execute(e)
        .await?;
    Ok(())
}

/// Ends a job: `done`, `failed` with its code, or back in the queue (a try
/// that failed with tries left, or a worker stopping).
pub async fn finish<'c>(
    e: impl Executor<'c, Database = Any>,
    digest: &str,
    state: &str,
    error_code: Option<&str>,
) -> Result<(), sqlx::Error> {
    let finished = (state != "queued").then(super::now_text);
    sqlx::query(
        "UPDATE ocr_jobs SET state = $1, error_code = $2, finished_at = $3, instance = NULL, heartbeat_at = NULL
         WHERE digest = $4",
    )
    .bind(state)
    .bind(error_code)
    .bind(finished)
    .bind(digest)
    .execute(e)
    .await?;
    Ok(())
}

/// Gives a queued try back without counting it (the engine is missing).
pub async fn release<'c>(e: impl Executor<'c, Database = Any>, digest: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE ocr_jobs SET state = 'queued', attempts = attempts - 1, instance = NULL, heartbeat_at = NULL
         WHERE digest = $1",
    )
    .bind(digest)
    .execute(e)
    .await?;
    Ok(())
}

/// A reading, as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextRow {
    /// The object read (hex).
    pub digest: String,
    /// The derived file's digest (hex).
    pub text_digest: String,
    /// `ocr` or `pdf_text`.
    pub source: String,
    /// The engine.
    pub engine: String,
    /// Its version.
    pub engine_version: String,
    /// Pages.
    pub pages: i64,
    /// Characters in all.
    pub chars: i64,
    /// When (RFC 3339).
    pub created_at: String,
}

fn text_row(r: &sqlx::any::AnyRow) -> Result<TextRow, sqlx::Error> {
    Ok(TextRow {
        digest: r.try_get("digest")?,
        text_digest: r.try_get("text_digest")?,
        source: r.try_get("source")?,
        engine: r.try_get("engine")?,
        engine_version: r.try_get("engine_version")?,
        pages: r.try_get("pages")?,
        chars: r.try_get("chars")?,
        created_at: r.try_get("created_at")?,
    })
}

const TEXT_COLUMNS: &str = "digest, text_digest, source, engine, engine_version, pages, chars, created_at";

/// The names of the students whose dossiers list the object (indexed with
/// its pages as exact values).
pub async fn owner_names<'c>(e: impl Executor<'c, Database = Any>, digest: &str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT DISTINCT s.name FROM archive_entries e JOIN students s ON s.id = e.student_id
         WHERE e.digest = $1 ORDER BY s.name",
    )
    .bind(digest)
    .fetch_all(e)
    .await
}

/// The archive ids of the dossiers whose newest version lists the object.
pub async fn dossiers_listing<'c>(
    e: impl Executor<'c, Database = Any>,
    digest: &str,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT DISTINCT d.archive_id FROM archive_entries e JOIN dossiers d ON d.id = e.dossier_id
         WHERE e.digest = $1 ORDER BY d.archive_id",
    )
    .bind(digest)
    .fetch_all(e)
    .await
}

/// Every reading kept.
pub async fn all_texts<'c>(e: impl Executor<'c, Database = Any>) -> Result<Vec<TextRow>, sqlx::Error> {
    let rows = sqlx::query(&format!("SELECT {TEXT_COLUMNS} FROM archive_texts ORDER BY digest")).fetch_all(e).await?;
    rows.iter().map(text_row).collect()
}

/// The reading of one object, if any.
pub async fn text_of<'c>(e: impl Executor<'c, Database = Any>, digest: &str) -> Result<Option<TextRow>, sqlx::Error> {
    let row = sqlx::query(&format!("SELECT {TEXT_COLUMNS} FROM archive_texts WHERE digest = $1"))
        .bind(digest)
        .fetch_optional(e)
        .await?;
    row.as_ref().map(text_row).transpose()
}

/// An object's reading state, for the dossier page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextState {
    /// The object (hex).
    pub digest: String,
    /// The job's state (`queued`, `running`, `done`, `failed`), if any.
    pub job: Option<String>,
    /// The job's error code, if it failed.
    pub error_code: Option<String>,
    /// The reading kept, if any.
    pub text: Option<TextRow>,
}

/// The reading state of each object of a student's dossier.
pub async fn states_of_student<'c>(
    e: impl Executor<'c, Database = Any>,
    student_id: i64,
) -> Result<Vec<TextState>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT e.digest, j.state, j.error_code, t.text_digest, t.source, t.engine, t.engine_version, t.pages,
                t.chars, t.created_at
         FROM (SELECT DISTINCT digest FROM archive_entries WHERE student_id = $1) e
         LEFT JOIN ocr_jobs j ON j.digest = e.digest
         LEFT JOIN archive_texts t ON t.digest = e.digest",
    )
    .bind(student_id)
    .fetch_all(e)
    .await?;
    rows.iter()
        .map(|r| {
            let digest: String = r.try_get("digest")?;
            // The reading's columns, when there is one (`digest` is the entry's, the same).
            let text = r.try_get::<Option<String>, _>("text_digest")?.is_some().then(|| text_row(r)).transpose()?;
            Ok(TextState { digest, job: r.try_get("state")?, error_code: r.try_get("error_code")?, text })
        })
        .collect()
}

/// Saves a reading and its pages with their terms, replacing an earlier
/// reading of the same object (run inside the caller's transaction).
pub async fn save(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    text: &TextRow,
    pages: &[(String, Vec<String>)],
) -> Result<(), sqlx::Error> {
    remove_pages(&mut *conn, backend, &text.digest).await?;
    sqlx::query("DELETE FROM archive_texts WHERE digest = $1").bind(&text.digest).execute(&mut *conn).await?;
    sqlx::query(&format!("INSERT INTO archive_texts ({TEXT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"))
        .bind(&text.digest)
        .bind(&text.text_digest)
        .bind(&text.source)
        .bind(&text.engine)
        .bind(&text.engine_version)
        .bind(text.pages)
        .bind(text.chars)
        .bind(&text.created_at)
        .execute(&mut *conn)
        .await?;
    for (i, (page_text, terms)) in pages.iter().enumerate() {
        let page = i as i64 + 1;
        match backend {
            Backend::Sqlite => {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO archive_text_pages (digest, page, text) VALUES ($1, $2, $3) RETURNING id",
                )
                .bind(&text.digest)
                .bind(page)
                .bind(page_text)
                .fetch_one(&mut *conn)
                .await?;
                sqlx::query("INSERT INTO archive_text_terms (rowid, terms) VALUES ($1, $2)")
                    .bind(id)
                    .bind(terms.join(" "))
                    .execute(&mut *conn)
                    .await?;
            }
            Backend::Postgres => {
                sqlx::query(
                    "INSERT INTO archive_text_pages (digest, page, text, terms) VALUES ($1, $2, $3, $4::tsvector)",
                )
                .bind(&text.digest)
                .bind(page)
                .bind(page_text)
                .bind(tsvector(terms))
                .execute(&mut *conn)
                .await?;
            }
        }
    }
    Ok(())
}

async fn remove_pages(conn: &mut sqlx::AnyConnection, backend: Backend, digest: &str) -> Result<(), sqlx::Error> {
    if backend == Backend::Sqlite {
        sqlx::query(
            "DELETE FROM archive_text_terms WHERE rowid IN (SELECT id FROM archive_text_pages WHERE digest = $1)",
        )
        .bind(digest)
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query("DELETE FROM archive_text_pages WHERE digest = $1").bind(digest).execute(&mut *conn).await?;
    Ok(())
}

/// Empties the index and the readings (before a rebuild from the derived files).
pub async fn clear(conn: &mut sqlx::AnyConnection, backend: Backend) -> Result<(), sqlx::Error> {
    if backend == Backend::Sqlite {
        sqlx::query("DELETE FROM archive_text_terms").execute(&mut *conn).await?;
    }
    sqlx::query("DELETE FROM archive_text_pages").execute(&mut *conn).await?;
    sqlx::query("DELETE FROM archive_texts").execute(&mut *conn).await?;
    Ok(())
}

/// Terms as a `tsvector` literal: each a quoted lexeme (terms hold only
/// Chinese characters, ASCII letters and digits, so nothing needs escaping).
fn tsvector(terms: &[String]) -> String {
    terms.iter().map(|t| format!("'{t}'")).collect::<Vec<_>>().join(" ")
}

/// How many jobs are in each state.
pub async fn counts<'c>(e: impl Executor<'c, Database = Any>) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT state, COUNT(*) FROM ocr_jobs GROUP BY state ORDER BY state").fetch_all(e).await
}

/// A failed job, for the bureau's list (no student named).
#[derive(Debug, Clone)]
pub struct FailedJob {
    /// The object (hex).
    pub digest: String,
    /// Its media type.
    pub media_type: String,
    /// The error code.
    pub error_code: String,
    /// Tries.
    pub attempts: i64,
    /// When it last ended.
    pub finished_at: String,
}

/// The failed jobs, newest first (at most `limit`).
pub async fn failed<'c>(e: impl Executor<'c, Database = Any>, limit: i64) -> Result<Vec<FailedJob>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT digest, media_type, COALESCE(error_code, '') AS error_code, attempts, COALESCE(finished_at, '') AS finished_at
         FROM ocr_jobs WHERE state = 'failed' ORDER BY finished_at DESC, digest LIMIT $1",
    )
    .bind(limit)
    .fetch_all(e)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(FailedJob {
                digest: r.try_get("digest")?,
                media_type: r.try_get("media_type")?,
                error_code: r.try_get("error_code")?,
                attempts: r.try_get("attempts")?,
                finished_at: r.try_get("finished_at")?,
            })
        })
        .collect()
}

/// A page found by the index, with its entry and student.
#[derive(Debug, Clone)]
pub struct FoundPage {
    /// The entry and student, as a search finds them.
    pub found: Found,
    /// The page (from 1).
    pub page: i64,
    /// The page's text.
    pub text: String,
}

/// Pages holding every one of `terms`, of entries matching `filter`, best
/// first, at most `cap`.
pub async fn search(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    filter: &EntryFilter<'_>,
    terms: &[String],
    cap: i64,
) -> Result<Vec<FoundPage>, sqlx::Error> {
    let mut params = Vec::new();
    let Some(mut clauses) = filter_clauses(filter, &mut params) else { return Ok(Vec::new()) };
    let (join, rank) = match backend {
        Backend::Sqlite => {
            let expr = terms.iter().map(|t| format!("\"{t}\"")).collect::<Vec<_>>().join(" ");
            let m = mark(&mut params, Param::Text(expr));
            (
                format!(
                    "JOIN (SELECT rowid AS page_id, bm25(archive_text_terms) AS score FROM archive_text_terms
                           WHERE archive_text_terms MATCH {m}) hit ON hit.page_id = p.id"
                ),
                "hit.score".to_owned(),
            )
        }
        Backend::Postgres => {
            let expr = terms.iter().map(|t| format!("'{t}'")).collect::<Vec<_>>().join(" & ");
            let m = mark(&mut params, Param::Text(expr));
            clauses.push(format!("p.terms @@ {m}::tsquery"));
            (String::new(), format!("-ts_rank(p.terms, {m}::tsquery)"))
        }
    };
    let sql = format!(
        "SELECT s.public_id, s.student_no, s.name, sc.name AS school_name, e.digest, e.kind, e.original_name,
                e.pages, e.media_type, e.size, e.added_by, e.added_at, e.added_on, e.supersedes,
                p.page AS text_page, p.text AS page_text
         FROM archive_text_pages p {join}
         JOIN archive_entries e ON e.digest = p.digest
         JOIN students s ON s.id = e.student_id JOIN schools sc ON sc.id = s.school_id
         WHERE {}
         ORDER BY {rank}, e.added_at DESC, e.id DESC, p.page LIMIT {cap}",
        if clauses.is_empty() { "1 = 1".to_owned() } else { clauses.join(" AND ") }
    );
    let rows = bind_all(sqlx::query(&sql), &params).fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|r| {
            Ok(FoundPage {
                found: super::dossier::found_row(r)?,
                page: r.try_get("text_page")?,
                text: r.try_get("page_text")?,
            })
        })
        .collect()
}

/// Index size: pages and characters kept.
pub async fn size<'c>(e: impl Executor<'c, Database = Any>) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as("SELECT COUNT(*), COALESCE(SUM(LENGTH(text)), 0) FROM archive_text_pages").fetch_one(e).await
}

/// Bytes the text and its index take: SQLite's pages of the text tables and
/// the FTS5 shadow tables (`dbstat`), PostgreSQL's relation sizes.
pub async fn index_bytes<'c>(e: impl Executor<'c, Database = Any>, backend: Backend) -> Result<i64, sqlx::Error> {
    let sql = match backend {
        Backend::Sqlite => {
            "SELECT COALESCE(SUM(pgsize), 0) FROM dbstat
             WHERE name LIKE 'archive_text%' OR name LIKE 'sqlite_autoindex_archive_text%'"
        }
        Backend::Postgres => {
            "SELECT (pg_total_relation_size('archive_text_pages') + pg_total_relation_size('archive_texts'))::BIGINT"
        }
    };
    sqlx::query_scalar(sql).fetch_one(e).await
}
