//! Which derived file holds the preview of which page of an archived object
//! (`archive_previews`); the previews themselves are in the archive.

use sqlx::{Any, Executor};

/// The digest (hex) of the preview kept for page `page` of `digest`, if any.
pub async fn get<'c>(
    e: impl Executor<'c, Database = Any>,
    digest: &str,
    page: u32,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT preview_digest FROM archive_previews WHERE digest = $1 AND page = $2")
        .bind(digest)
        .bind(i64::from(page))
        .fetch_optional(e)
        .await
}

/// Records (or replaces) the preview kept for page `page` of `digest`.
pub async fn put<'c>(
    e: impl Executor<'c, Database = Any>,
    digest: &str,
    page: u32,
    preview_digest: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO archive_previews (digest, page, preview_digest, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (digest, page) DO UPDATE SET preview_digest = excluded.preview_digest, created_at = excluded.created_at",
    )
    .bind(digest)
    .bind(i64::from(page))
    .bind(preview_digest)
    .bind(super::now_text())
    .execute(e)
    .await?;
    Ok(())
}
