//! Student photos: normalised to the 1-inch ID photo (25 × 35 mm).
//!
//! Any JPEG or PNG is turned upright (EXIF orientation), centre-cropped to
//! the 5:7 ratio, resized to 295 × 413 pixels (300 dpi) and encoded as a
//! baseline JPEG at a fixed quality. The encoder is pure Rust and
//! deterministic, so the same upload always gives the same bytes, and so the
//! same PDF. A photo that is already a 295 × 413 RGB JPEG passes through
//! unchanged: normalise once at upload, store the result, and rendering pays
//! nothing for the photo (normalising a phone photo costs ~10-15 ms).
//!
//! The bytes come from an upload, so decoding is bounded (20 MiB in,
//! 12 000 px a side, 512 MiB decoded, checked from the header before the
//! pixels are allocated) and a panic in the decoder is caught here and
//! returned as a [`RenderError::Photo`]: no request takes the server down.

use std::io::Cursor;
use std::panic::{self, AssertUnwindSafe};

use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{ColorType, DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

use super::error::RenderError;

/// Width of the normalised photo, in pixels (25 mm at 300 dpi).
pub const PHOTO_WIDTH: u32 = 295;
/// Height of the normalised photo, in pixels (35 mm at 300 dpi).
pub const PHOTO_HEIGHT: u32 = 413;
/// Largest upload accepted, in bytes.
pub const MAX_PHOTO_BYTES: usize = 20 * 1024 * 1024;
const JPEG_QUALITY: u8 = 88;
/// Largest side of a photo, in pixels (checked from the header).
const MAX_SIDE: u32 = 12_000;
/// Most memory the decoded photo may take, in bytes.
const MAX_DECODED_BYTES: u64 = 512 * 1024 * 1024;

/// Normalises a photo upload to a 295 × 413 JPEG.
///
/// A panic while decoding or resizing (a fault in the image code set off by
/// the bytes) is caught and returned as [`RenderError::Photo`]; nothing is
/// kept from the attempt.
pub fn normalise_photo(bytes: &[u8]) -> Result<Vec<u8>, RenderError> {
    // Only `bytes` (read-only) and values made inside cross the boundary,
    // and all of them are dropped on a panic.
    match panic::catch_unwind(AssertUnwindSafe(|| normalise(bytes))) {
        Ok(result) => result,
        Err(_) => {
            // The panic hook has written the panic's message and place to stderr.
            tracing::error!(code = "render.photo", "normalising a photo panicked; contained, nothing kept");
            Err(RenderError::Photo(
                "图片解码时程序内部出错，已中止；请换一张照片（如重新拍摄或另存为 JPEG）后再试".into(),
            ))
        }
    }
}

fn normalise(bytes: &[u8]) -> Result<Vec<u8>, RenderError> {
    #[cfg(test)]
    tests::fire_injected_panic();
    if bytes.is_empty() {
        return Err(RenderError::Photo("文件为空".into()));
    }
    if bytes.len() > MAX_PHOTO_BYTES {
        return Err(RenderError::Photo(format!("文件过大（{} 字节，上限 {MAX_PHOTO_BYTES}）", bytes.len())));
    }
    let mut reader =
        ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|e| RenderError::Photo(e.to_string()))?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODED_BYTES);
    reader.limits(limits);
    let is_jpeg = reader.format() == Some(ImageFormat::Jpeg);
    let mut decoder = reader.into_decoder().map_err(|e| RenderError::Photo(format!("无法识别的图片格式：{e}")))?;
    let orientation = decoder.orientation().map_err(|e| RenderError::Photo(e.to_string()))?;
    // Already normalised (e.g. stored after `normalise_photo` at upload): keep
    // the bytes, which is both faster and exactly as deterministic.
    if is_jpeg
        && decoder.dimensions() == (PHOTO_WIDTH, PHOTO_HEIGHT)
        && decoder.color_type() == ColorType::Rgb8
        && orientation == Orientation::NoTransforms
    {
        return Ok(bytes.to_vec());
    }
    // Decoders do not all apply `max_alloc` to the picture itself.
    if decoder.total_bytes() > MAX_DECODED_BYTES {
        let (w, h) = decoder.dimensions();
        return Err(RenderError::Photo(format!("图片过大（{w}×{h} 像素），解码所需内存超出上限")));
    }
    let mut img = DynamicImage::from_decoder(decoder).map_err(|e| RenderError::Photo(format!("图片解码失败：{e}")))?;
    img.apply_orientation(orientation);

    let (w, h) = (img.width(), img.height());
    if w < 50 || h < 70 {
        return Err(RenderError::Photo(format!("图片太小（{w}×{h} 像素）")));
    }
    // Centre crop to PHOTO_WIDTH:PHOTO_HEIGHT, in integer arithmetic.
    let (cw, ch) = if u64::from(w) * u64::from(PHOTO_HEIGHT) > u64::from(h) * u64::from(PHOTO_WIDTH) {
        // Too wide: keep the full height.
        let cw = (u64::from(h) * u64::from(PHOTO_WIDTH) / u64::from(PHOTO_HEIGHT)) as u32;
        (cw.max(1), h)
    } else {
        let ch = (u64::from(w) * u64::from(PHOTO_HEIGHT) / u64::from(PHOTO_WIDTH)) as u32;
        (w, ch.max(1))
    };
    let cropped = img.crop_imm((w - cw) / 2, (h - ch) / 2, cw, ch);
    let resized = cropped.resize_exact(PHOTO_WIDTH, PHOTO_HEIGHT, FilterType::CatmullRom).into_rgb8();

    let mut out = Vec::with_capacity(64 * 1024);
    JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY)
        .encode_image(&resized)
        .map_err(|e| RenderError::Photo(format!("JPEG 编码失败：{e}")))?;
    Ok(out)
}

/// A plain grey photo of the normalised size, to exercise templates' photo
/// branch in checks.
pub(crate) fn placeholder_photo() -> Vec<u8> {
    let img = image::RgbImage::from_pixel(PHOTO_WIDTH, PHOTO_HEIGHT, image::Rgb([200, 200, 200]));
    let mut out = Vec::new();
    // Encoding an in-memory RGB image cannot fail; an empty photo would only
    // make the check report a photo problem.
    let _ = JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY).encode_image(&img);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    thread_local! {
        static INJECT_PANIC: Cell<bool> = const { Cell::new(false) };
    }

    /// Test-only: panics inside the real normalisation when armed on this thread.
    pub(super) fn fire_injected_panic() {
        if INJECT_PANIC.with(Cell::get) {
            panic!("injected test panic");
        }
    }

    #[test]
    fn a_panic_while_normalising_is_an_error_not_a_crash() {
        let photo = placeholder_photo();
        INJECT_PANIC.with(|p| p.set(true));
        let err = normalise_photo(&photo).expect_err("panicked");
        INJECT_PANIC.with(|p| p.set(false));
        assert_eq!(err.code(), "render.photo");
        assert!(err.to_string().contains("内部出错"), "{err}");
        assert_eq!(normalise_photo(&photo).expect("fine again"), photo);
    }
}
