//! A small JPEG of one page of a stored image (any page of a TIFF, the only
//! page of a JPEG or PNG), for showing beside a search hit. PDF pages are
//! rendered by the caller (a child process, not this crate).

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use image::{DynamicImage, GrayImage, ImageBuffer, Luma, Rgb, RgbImage, Rgba};

use super::{Decoded, FileType, InspectConfig, Thumbnail, contained, corrupt, decode_checked, make_thumbnail, stage};
use crate::error::{ArchiveError, IoContext, Result};

/// A JPEG of page `page` (from 1) of the image at `path`, no larger than
/// `max` pixels on either side, checked under the same limits as an upload.
/// `None` if the file has no such page.
pub fn page_image(
    path: &Path,
    file_type: FileType,
    page: u32,
    max: u32,
    config: &InspectConfig,
) -> Result<Option<Thumbnail>> {
    if page == 0 {
        return Ok(None);
    }
    match file_type {
        FileType::Jpeg | FileType::Png => {
            if page > 1 {
                return Ok(None);
            }
            let file = File::open(path).ctx("读取文件", path)?;
            match decode_checked(file, file_type, config)? {
                Decoded::Image(image) => Ok(Some(contained(stage::THUMBNAIL, || make_thumbnail(&image, max))?)),
                Decoded::Unsupported(detail) => Err(corrupt(file_type, detail)),
            }
        }
        FileType::Tiff => {
            let Some(image) = contained(stage::TIFF_PAGES, || tiff_page(path, page, config))? else { return Ok(None) };
            Ok(Some(contained(stage::THUMBNAIL, || make_thumbnail(&image, max))?))
        }
        FileType::Pdf => Err(ArchiveError::TypeUnsupported),
    }
}

/// Decodes page `page` of a TIFF through the tiff crate (the image crate
/// reads only the first).
fn tiff_page(path: &Path, page: u32, config: &InspectConfig) -> Result<Option<DynamicImage>> {
    use tiff::ColorType;
    use tiff::decoder::DecodingResult;
    if page > config.max_pages {
        return Ok(None);
    }
    let file_type = FileType::Tiff;
    let reader = BufReader::new(File::open(path).ctx("读取文件", path)?);
    let tiff_err = |e: tiff::TiffError| match e {
        tiff::TiffError::LimitsExceeded => ArchiveError::ImageTooLarge { dimensions: None },
        e => corrupt(file_type, e),
    };
    let mut decoder = tiff::decoder::Decoder::new(reader).map_err(tiff_err)?.with_limits(config.tiff_limits());
    let index = usize::try_from(page - 1).unwrap_or(usize::MAX);
    match decoder.seek_to_image(index) {
        Ok(()) => {}
        Err(tiff::TiffError::FormatError(tiff::TiffFormatError::ImageFileDirectoryNotFound)) => return Ok(None),
        Err(e) => return Err(tiff_err(e)),
    }
    let (w, h) = decoder.dimensions().map_err(tiff_err)?;
    config.check_dimensions(w, h, file_type)?;
    let color = decoder.colortype().map_err(tiff_err)?;
    let data = decoder.read_image().map_err(tiff_err)?;
    let unsupported = || corrupt(file_type, format_args!("无法生成此页预览（颜色格式 {color:?}）"));
    let image = match (color, data) {
        (ColorType::Gray(8), DecodingResult::U8(d)) => GrayImage::from_raw(w, h, d).map(DynamicImage::ImageLuma8),
        (ColorType::RGB(8), DecodingResult::U8(d)) => RgbImage::from_raw(w, h, d).map(DynamicImage::ImageRgb8),
        (ColorType::RGBA(8), DecodingResult::U8(d)) => {
            ImageBuffer::<Rgba<u8>, _>::from_raw(w, h, d).map(DynamicImage::ImageRgba8)
        }
        (ColorType::Gray(16), DecodingResult::U16(d)) => {
            ImageBuffer::<Luma<u16>, _>::from_raw(w, h, d).map(DynamicImage::ImageLuma16)
        }
        (ColorType::RGB(16), DecodingResult::U16(d)) => {
            ImageBuffer::<Rgb<u16>, _>::from_raw(w, h, d).map(DynamicImage::ImageRgb16)
        }
        // Bilevel scans: rows of packed bits, 1 white (the decoder has turned
        // WhiteIsZero round already).
        (ColorType::Gray(1), DecodingResult::U8(d)) => {
            let row = w.div_ceil(8) as usize;
            Some(DynamicImage::ImageLuma8(GrayImage::from_fn(w, h, |x, y| {
                let byte = d.get(y as usize * row + (x / 8) as usize).copied().unwrap_or(0xff);
                Luma([if byte & (0x80 >> (x % 8)) != 0 { 255 } else { 0 }])
            })))
        }
        _ => None,
    };
    image.map(Some).ok_or_else(unsupported)
}
