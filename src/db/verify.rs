//! What the public verification side reads about a document whose token
//! verified: one indexed read of its row in `documents` by the random id.

use sqlx::{Any, Executor, Row};

/// A document's row as the public side reads it (all as stored: the page
/// compares the kind and number with the token's and reads the status itself).
#[derive(Debug, Clone)]
pub struct DocumentStatus {
    /// Kind code.
    pub kind: String,
    /// Certificate number, if numbered.
    pub number: Option<String>,
    /// `valid`, `revoked`, `lost` or `superseded`.
    pub status: String,
    /// When the status last changed (RFC 3339 UTC, or a date).
    pub status_at: Option<String>,
    /// The number of the 学历证明书 that replaces a lost certificate.
    pub replaced_by: Option<String>,
    /// sha256 of the PDF bytes issued, hex.
    pub sha256: String,
    /// What the workflow gave the paper besides the record (JSON text): an
    /// application's approvals as printed.
    pub extra: Option<String>,
}

/// The row of the document with this random id (hex), if any.
pub async fn document_status<'c>(
    e: impl Executor<'c, Database = Any>,
    doc_id: &str,
) -> Result<Option<DocumentStatus>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT kind, number, status, status_at, replaced_by, sha256, extra FROM documents WHERE doc_id = $1",
    )
    .bind(doc_id)
    .fetch_optional(e)
    .await?;
    row.map(|r| {
        Ok(DocumentStatus {
            kind: r.try_get("kind")?,
            number: r.try_get("number")?,
            status: r.try_get("status")?,
            status_at: r.try_get("status_at")?,
            replaced_by: r.try_get("replaced_by")?,
            sha256: r.try_get("sha256")?,
            extra: r.try_get("extra")?,
        })
    })
    .transpose()
}

/// The status list's contents: how many indexes were given (the list's
/// size), and the indexes of the documents revoked or lost.
pub async fn status_list_rows<'c, E>(e: E) -> Result<(i64, Vec<i64>), sqlx::Error>
where
    E: Executor<'c, Database = Any> + Copy,
{
    let last: i64 = sqlx::query_scalar("SELECT last FROM status_list_counter WHERE id = 1").fetch_one(e).await?;
    let set = sqlx::query_scalar(
        "SELECT status_index FROM documents WHERE status IN ('revoked', 'lost') AND status_index IS NOT NULL",
    )
    .fetch_all(e)
    .await?;
    Ok((last + 1, set))
}
