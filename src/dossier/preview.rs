//! A small JPEG of one page of an archived object, shown beside a search
//! hit on the page where the words were found: any page of a TIFF and the
//! image of a JPEG or PNG through the archive crate, a PDF page through
//! `pdftoppm` (a child process under the reading's time and memory limits).
//! Each is made once and kept as a derived file (`derived/{sha256}.jpg`),
//! `archive_previews` saying which; one missing or damaged is made again.

use super::{Failure, Result, blocking};
use crate::config::Config;
use crate::db::{self, Db};
use xueji_archive::{Archive, ArchiveError, Digest, Entry, FileType};

/// The longer side of a page preview, in pixels.
pub const PREVIEW_SIZE: u32 = 480;

/// The preview of page `page` (from 1) of `entry`'s object; `None` if the
/// object has no such page.
pub async fn page_preview(
    db: &Db,
    archive: &Archive,
    config: &Config,
    entry: &Entry,
    page: u32,
) -> Result<Option<Vec<u8>>> {
    // A PDF whose pages sit in compressed object streams was counted 0: its renderer says.
    if page == 0 || (entry.pages > 0 && page > entry.pages) {
        return Ok(None);
    }
    let hex = entry.digest.to_hex();
    if let Some(kept) = db::previews::get(&db.pool, &hex, page).await?
        && let Ok(kept) = kept.parse::<Digest>()
    {
        let archive = archive.clone();
        match blocking(move || Ok(archive.get_derived(&kept, "jpg"))).await? {
            Ok(Some(bytes)) => return Ok(Some(bytes)),
            Ok(None) | Err(ArchiveError::ObjectCorrupt { .. }) => {
                tracing::warn!(digest = %entry.digest, page, "a page preview is missing or damaged; made again");
            }
            Err(e) => return Err(e.into()),
        }
    }
    let Some(bytes) = make(archive, config, entry, page).await? else { return Ok(None) };
    let stored = {
        let (archive, bytes) = (archive.clone(), bytes.clone());
        blocking(move || Ok(archive.put_derived("jpg", bytes)?)).await?
    };
    db::previews::put(&db.pool, &hex, page, &stored.to_hex()).await?;
    Ok(Some(bytes))
}

async fn make(archive: &Archive, config: &Config, entry: &Entry, page: u32) -> Result<Option<Vec<u8>>> {
    let digest = entry.digest;
    let Some(file_type) = FileType::from_media_type(&entry.media_type) else { return Ok(None) };
    if file_type == FileType::Pdf {
        let copy = {
            let archive = archive.clone();
            blocking(move || Ok(archive.local_copy(&digest)?)).await?
        };
        let limits = crate::ocr::limits(config, archive);
        return match crate::ocr::engine::pdf_page_jpeg(copy.path(), page, PREVIEW_SIZE, &limits).await {
            Ok(bytes) => Ok(Some(bytes)),
            // A page past the end of a PDF whose pages were not counted.
            Err(_) if entry.pages == 0 => Ok(None),
            Err(e) => Err(Failure::internal(anyhow::anyhow!("pdf page preview: {}", e.code()))),
        };
    }
    let archive = archive.clone();
    blocking(move || {
        let inspect = archive.config().inspect.clone();
        let made = archive.with_local_copy(&digest, |path| {
            xueji_archive::inspect::page_image(path, file_type, page, PREVIEW_SIZE, &inspect)
        })?;
        Ok(made.map(|t| t.bytes))
    })
    .await
}
