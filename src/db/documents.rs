//! Issued documents (`documents`): one row for every document handed out,
//! with its kind, student, template and version, the sha256 of its bytes,
//! who issued it and when, and its live status for verification.

use chrono::NaiveDate;
use sqlx::{Any, Executor, Row};

/// A stored document row.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DocumentRow {
    /// Random id.
    pub doc_id: String,
    /// Kind code.
    pub kind: String,
    /// Number.
    pub number: Option<String>,
    /// Template version.
    pub template_version: String,
    /// sha256 of the PDF bytes.
    pub sha256: String,
    /// Key id that signed the token.
    pub kid: String,
    /// The URL in the QR code.
    pub verify_url: String,
    /// Issue date.
    pub issue_date: String,
    /// When recorded.
    pub issued_at: String,
    /// `valid`, `revoked`, `lost`, `superseded`.
    pub status: String,
    /// Pages of the kept PDF (`None`: issued before documents were kept).
    pub pages: Option<i64>,
    /// The sha256 of the data it was rendered from (`None`: before it was kept).
    #[serde(skip)]
    pub data_sha256: Option<String>,
    /// Its bit in the status list (`None`: printed before the list).
    #[serde(skip)]
    pub status_index: Option<i64>,
}

fn row_of(r: &sqlx::any::AnyRow) -> Result<DocumentRow, sqlx::Error> {
    Ok(DocumentRow {
        doc_id: r.try_get("doc_id")?,
        kind: r.try_get("kind")?,
        number: r.try_get("number")?,
        template_version: r.try_get("template_version")?,
        sha256: r.try_get("sha256")?,
        kid: r.try_get("kid")?,
        verify_url: r.try_get("verify_url")?,
        issue_date: r.try_get("issue_date")?,
        issued_at: r.try_get("issued_at")?,
        status: r.try_get("status")?,
        pages: r.try_get("pages")?,
        data_sha256: r.try_get("data_sha256")?,
        status_index: r.try_get("status_index")?,
    })
}

const DOC_COLUMNS: &str = "doc_id, kind, number, template_version, sha256, kid, verify_url, issue_date, issued_at, status, pages, data_sha256, status_index";

/// The student's newest valid document of a kind (by kind code), if any.
pub async fn current<'c>(
    e: impl Executor<'c, Database = Any>,
    student_id: i64,
    kind: &str,
) -> Result<Option<DocumentRow>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {DOC_COLUMNS} FROM documents WHERE student_id = $1 AND kind = $2 AND status = 'valid' ORDER BY id DESC LIMIT 1"
    ))
    .bind(student_id)
    .bind(kind)
    .fetch_optional(e)
    .await?;
    row.as_ref().map(row_of).transpose()
}

/// The student's valid certificate of `kind` for a stage, if any.
pub async fn current_of_stage<'c>(
    e: impl Executor<'c, Database = Any>,
    student_id: i64,
    kind: &str,
    stage: &str,
) -> Result<Option<DocumentRow>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {DOC_COLUMNS} FROM documents WHERE student_id = $1 AND kind = $2 AND stage = $3 AND status = 'valid'
         ORDER BY id DESC LIMIT 1"
    ))
    .bind(student_id)
    .bind(kind)
    .bind(stage)
    .fetch_optional(e)
    .await?;
    row.as_ref().map(row_of).transpose()
}

/// Every document of a student, newest first.
pub async fn of_student<'c>(
    e: impl Executor<'c, Database = Any>,
    student_id: i64,
) -> Result<Vec<DocumentRow>, sqlx::Error> {
    let rows = sqlx::query(&format!("SELECT {DOC_COLUMNS} FROM documents WHERE student_id = $1 ORDER BY id DESC"))
        .bind(student_id)
        .fetch_all(e)
        .await?;
    rows.iter().map(row_of).collect()
}

/// The document with this id.
pub async fn by_doc_id<'c>(
    e: impl Executor<'c, Database = Any>,
    doc_id: &str,
) -> Result<Option<DocumentRow>, sqlx::Error> {
    let row = sqlx::query(&format!("SELECT {DOC_COLUMNS} FROM documents WHERE doc_id = $1"))
        .bind(doc_id)
        .fetch_optional(e)
        .await?;
    row.as_ref().map(row_of).transpose()
}

/// The kind-specific parts given when the document was issued (JSON text), if the document exists.
pub async fn extra_of<'c>(e: impl Executor<'c, Database = Any>, doc_id: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT extra FROM documents WHERE doc_id = $1").bind(doc_id).fetch_optional(e).await
}

/// A document to record.
#[derive(Debug, Clone)]
pub struct NewDocument<'a> {
    /// Random id.
    pub doc_id: &'a str,
    /// Kind code.
    pub kind: &'a str,
    /// The student.
    pub student_id: i64,
    /// The student's school.
    pub school_id: i64,
    /// Certificate number, if numbered.
    pub number: Option<&'a str>,
    /// Template file.
    pub template: &'a str,
    /// Template version.
    pub template_version: &'a str,
    /// sha256 of the PDF bytes.
    pub sha256: &'a str,
    /// Key id that signed the token.
    pub kid: &'a str,
    /// The URL in the QR code.
    pub verify_url: &'a str,
    /// The kind-specific parts of the data (JSON text).
    pub extra: &'a str,
    /// Issue date.
    pub issue_date: NaiveDate,
    /// Who issued it.
    pub issued_by: Option<i64>,
    /// When (RFC 3339 UTC).
    pub issued_at: &'a str,
    /// The stage a certificate (or 学历证明书) is of; `None` for forms.
    pub stage: Option<&'a str>,
    /// Pages of the PDF.
    pub pages: i64,
    /// The sha256 of the data it was rendered from.
    pub data_sha256: &'a str,
    /// Its bit in the status list, as its token carries it.
    pub status_index: Option<i64>,
}

/// Records a newly issued document as valid.
pub async fn insert<'c>(e: impl Executor<'c, Database = Any>, d: &NewDocument<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO documents (doc_id, kind, student_id, school_id, number, template, template_version, sha256, kid,
            verify_url, extra, issue_date, issued_by, issued_at, stage, pages, data_sha256, status_index, status)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, 'valid')",
    )
    .bind(d.doc_id)
    .bind(d.kind)
    .bind(d.student_id)
    .bind(d.school_id)
    .bind(d.number)
    .bind(d.template)
    .bind(d.template_version)
    .bind(d.sha256)
    .bind(d.kid)
    .bind(d.verify_url)
    .bind(d.extra)
    .bind(d.issue_date.to_string())
    .bind(d.issued_by)
    .bind(d.issued_at)
    .bind(d.stage)
    .bind(d.pages)
    .bind(d.data_sha256)
    .bind(d.status_index)
    .execute(e)
    .await?;
    Ok(())
}

/// Records the new bytes of a document printed again (number and date unchanged).
pub async fn set_printed<'c>(
    e: impl Executor<'c, Database = Any>,
    doc_id: &str,
    sha256: &str,
    template_version: &str,
    pages: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE documents SET sha256 = $1, template_version = $2, pages = $3 WHERE doc_id = $4")
        .bind(sha256)
        .bind(template_version)
        .bind(pages)
        .bind(doc_id)
        .execute(e)
        .await?;
    Ok(())
}

/// Marks a document superseded by the one issued in its place.
pub async fn supersede<'c>(
    e: impl Executor<'c, Database = Any>,
    doc_id: &str,
    replaced_by: &str,
    now: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE documents SET status = 'superseded', status_at = $1, replaced_by = $2 WHERE doc_id = $3")
        .bind(now)
        .bind(replaced_by)
        .bind(doc_id)
        .execute(e)
        .await?;
    Ok(())
}

/// The sha256 of every issued document's PDF, whatever its status (the
/// archive keeps them; a superseded or revoked paper still verifies).
pub async fn kept_digests<'c>(e: impl Executor<'c, Database = Any>) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT DISTINCT sha256 FROM documents").fetch_all(e).await
}

/// The next index in the status list (one counter for every document).
pub async fn next_status_index<'c>(e: impl Executor<'c, Database = Any>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("UPDATE status_list_counter SET last = last + 1 WHERE id = 1 RETURNING last").fetch_one(e).await
}
