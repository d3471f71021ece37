//! Share codes: their rows (digest, document, holder, validity, uses).

use serde::Serialize;
use sqlx::{Any, Executor, Row};

/// A share code as staff see it (never the code itself, which is not kept).
#[derive(Debug, Clone, Serialize)]
pub struct ShareCodeRow {
    /// Random id, for revoking.
    pub id: String,
    /// The certificate's document id.
    #[serde(skip)]
    pub doc_id: String,
    /// The school of the certificate.
    #[serde(skip)]
    pub school_id: i64,
    /// To whom it was given (the graduate or a guardian).
    pub holder: String,
    /// When it was made (RFC 3339 UTC).
    pub created_at: String,
    /// The last day it opens the verification.
    pub expires_on: String,
    /// When it was revoked, if it was.
    pub revoked_at: Option<String>,
    /// How often it was used.
    pub uses: i64,
    /// When it was last used.
    pub last_used_at: Option<String>,
}

/// A new share code's row.
#[derive(Debug)]
pub struct NewShareCode<'a> {
    /// Random id, for revoking.
    pub public_id: &'a str,
    /// [`ShareCode::digest`](crate::domain::share_code::ShareCode::digest) of the code.
    pub code_digest: &'a str,
    /// The certificate's document id.
    pub doc_id: &'a str,
    /// The certificate's school.
    pub school_id: i64,
    /// To whom it is given.
    pub holder: &'a str,
    /// The staff member who made it.
    pub created_by: Option<i64>,
    /// Now (RFC 3339 UTC).
    pub created_at: &'a str,
    /// The last day it opens the verification.
    pub expires_on: &'a str,
}

const COLUMNS: &str = "public_id, doc_id, school_id, holder, created_at, expires_on, revoked_at, uses, last_used_at";

fn row(r: &sqlx::any::AnyRow) -> Result<ShareCodeRow, sqlx::Error> {
    Ok(ShareCodeRow {
        id: r.try_get("public_id")?,
        doc_id: r.try_get("doc_id")?,
        school_id: r.try_get("school_id")?,
        holder: r.try_get("holder")?,
        created_at: r.try_get("created_at")?,
        expires_on: r.try_get("expires_on")?,
        revoked_at: r.try_get("revoked_at")?,
        uses: r.try_get("uses")?,
        last_used_at: r.try_get("last_used_at")?,
    })
}

/// Records a new share code.
pub async fn insert<'c>(e: impl Executor<'c, Database = Any>, new: &NewShareCode<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO share_codes (public_id, code_digest, doc_id, school_id, holder, created_by, created_at, expires_on)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(new.public_id)
    .bind(new.code_digest)
    .bind(new.doc_id)
    .bind(new.school_id)
    .bind(new.holder)
    .bind(new.created_by)
    .bind(new.created_at)
    .bind(new.expires_on)
    .execute(e)
    .await?;
    Ok(())
}

/// The share codes made for a document, newest first.
pub async fn of_document<'c>(
    e: impl Executor<'c, Database = Any>,
    doc_id: &str,
) -> Result<Vec<ShareCodeRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM share_codes WHERE doc_id = $1 ORDER BY id DESC");
    sqlx::query(&sql).bind(doc_id).fetch_all(e).await?.iter().map(row).collect()
}

/// The share code with this id.
pub async fn by_public_id<'c>(
    e: impl Executor<'c, Database = Any>,
    public_id: &str,
) -> Result<Option<ShareCodeRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM share_codes WHERE public_id = $1");
    sqlx::query(&sql).bind(public_id).fetch_optional(e).await?.as_ref().map(row).transpose()
}

/// Revokes a share code that is not yet revoked; whether it was.
pub async fn revoke<'c>(
    e: impl Executor<'c, Database = Any>,
    public_id: &str,
    by: Option<i64>,
    at: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE share_codes SET revoked_at = $1, revoked_by = $2 WHERE public_id = $3 AND revoked_at IS NULL",
    )
    .bind(at)
    .bind(by)
    .bind(public_id)
    .execute(e)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Uses the code with this digest if it is neither revoked nor expired on
/// `today`: counts the use and answers the document's verification URL.
pub async fn use_code<'c>(
    e: impl Executor<'c, Database = Any>,
    code_digest: &str,
    today: &str,
    at: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE share_codes SET uses = uses + 1, last_used_at = $1
         WHERE code_digest = $2 AND revoked_at IS NULL AND expires_on >= $3
         RETURNING (SELECT verify_url FROM documents d WHERE d.doc_id = share_codes.doc_id)",
    )
    .bind(at)
    .bind(code_digest)
    .bind(today)
    .fetch_optional(e)
    .await
}
