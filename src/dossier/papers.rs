//! The intake papers that belong to no student's dossier: a school's
//! written request to change its intake plan, a hospital's diagnosis for a
//! delayed entry (the child has no record yet). Each is checked and stored
//! as an archive object like any scan; the database row that names it keeps
//! it from the sweep, and the fixity check covers it like every object.

use super::{Failure, blocking};
use crate::error::AppError;
use std::io::Read;
use xueji_archive::{Archive, Digest};

impl Failure {
    /// This failure as the services answer it: a refused file with its
    /// code and message, a fault on our side logged and answered generically.
    pub fn into_app(self) -> AppError {
        match self {
            Failure::App(e) => e,
            f if f.is_refusal() => AppError::bad_request(f.code(), f.message()),
            f => {
                f.log();
                AppError::Internal(anyhow::anyhow!("archive fault: {}", f.code()))
            }
        }
    }
}

/// Checks and stores a scan (JPEG, PNG, TIFF or PDF, as the archive keeps
/// them); returns its digest (sha256 hex). A refused file leaves nothing.
pub async fn store(archive: &Archive, reader: Box<dyn Read + Send>, name: &str) -> Result<String, AppError> {
    let archive = archive.clone();
    let name = super::clean_name(name);
    let mut reader = reader;
    let ingested = blocking(move || Ok(archive.ingest(&mut reader, &name)?)).await.map_err(Failure::into_app)?;
    Ok(ingested.digest.to_string())
}

/// Opens a stored paper for handing out, checked against its digest, with
/// its media type.
pub async fn open(archive: &Archive, digest: &str) -> Result<(Vec<u8>, &'static str), AppError> {
    let digest: Digest =
        digest.parse().map_err(|_| AppError::bad_request("archive.digest_invalid", "材料编号格式不正确"))?;
    let archive = archive.clone();
    let bytes = blocking(move || Ok(archive.read_verified(&digest)?)).await.map_err(Failure::into_app)?;
    let media = xueji_archive::FileType::detect(&bytes).map_or("application/octet-stream", |t| t.media_type());
    Ok((bytes, media))
}

/// Keeps an issued document's PDF as an archive object (its name is its
/// sha256, as the document row records it): a later download serves these
/// bytes, whatever happens to the templates. Returns the digest.
pub async fn keep_issued(archive: &Archive, pdf: &[u8]) -> Result<String, AppError> {
    store(archive, Box::new(std::io::Cursor::new(pdf.to_vec())), "issued.pdf").await
}

/// The kept bytes of an issued document, checked against the digest; `None`
/// when it was issued before documents were kept.
pub async fn kept_issued(archive: &Archive, digest: &str) -> Result<Option<Vec<u8>>, AppError> {
    let digest: Digest =
        digest.parse().map_err(|_| AppError::Internal(anyhow::anyhow!("stored document digest: {digest}")))?;
    let archive = archive.clone();
    blocking(move || match archive.read_verified(&digest) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(xueji_archive::ArchiveError::ObjectNotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    })
    .await
    .map_err(Failure::into_app)
}
