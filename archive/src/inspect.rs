//! Ingest checks: recognise a scanned file's type from its bytes, refuse
//! anything unsupported, mislabelled, corrupt, oversized or with an absurd
//! pixel count, count its pages and make a thumbnail.
//!
//! Images are decoded fully (so a truncated file is caught), but only after
//! their header dimensions have been checked against [`InspectConfig`]: a
//! PNG whose header claims 100000×100000 pixels is refused without
//! allocating anything.
//!
//! Everything here reads bytes someone uploaded, so:
//!
//! - **a panic is contained.** Each step (the whole [`inspect`], image
//!   decoding, the TIFF page walk, the PDF scan, the thumbnail) runs under
//!   [`std::panic::catch_unwind`]; a panic in a decoder, or in this module,
//!   becomes [`ArchiveError::Panicked`] (`archive.inspect_panicked`) naming
//!   the step, and whatever was being decoded is dropped. [`crate::ingest`]
//!   then drops the staged temp file like for any refusal: nothing is left.
//!   (The process must unwind on panic: no `panic = "abort"` profile.)
//! - **nothing recurses on the file's structure, and every walk is
//!   bounded.** The PDF scan is one pass of a state machine over the bytes
//!   that refuses array and dictionary nesting deeper than
//!   [`InspectConfig::max_pdf_depth`] (`archive.pdf_too_deep`) and stops
//!   counting pages past [`InspectConfig::max_pages`]; the TIFF page walk
//!   stops at `max_pages` IFDs (`archive.too_many_pages`) and a cycle in the
//!   IFD chain is refused as corrupt; decoders get allocation limits.

use std::any::Any;
use std::fmt;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits};
use serde::{Deserialize, Serialize};

use crate::error::{ArchiveError, IoContext, Result, shown_name};

mod page;
mod pdf;

pub use page::page_image;

/// The file types the archive accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileType {
    /// JPEG image (`FF D8 FF`).
    Jpeg,
    /// PNG image (`89 50 4E 47 0D 0A 1A 0A`).
    Png,
    /// TIFF image, possibly multi-page (`II*\0`, `MM\0*`, or BigTIFF).
    Tiff,
    /// PDF document (`%PDF-`).
    Pdf,
}

impl FileType {
    /// Recognises the type from the first bytes of a file (16 are enough).
    pub fn detect(head: &[u8]) -> Option<Self> {
        const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";
        if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if head.starts_with(PNG) {
            Some(Self::Png)
        } else if head.starts_with(b"II*\0")
            || head.starts_with(b"MM\0*")
            || head.starts_with(b"II+\0")
            || head.starts_with(b"MM\0+")
        {
            Some(Self::Tiff)
        } else if head.starts_with(b"%PDF-") {
            Some(Self::Pdf)
        } else {
            None
        }
    }

    /// The type a (lowercase) file extension stands for.
    pub fn from_extension(ext: &str) -> Option<Self> {
        match ext {
            "jpg" | "jpeg" | "jpe" | "jfif" => Some(Self::Jpeg),
            "png" => Some(Self::Png),
            "tif" | "tiff" => Some(Self::Tiff),
            "pdf" => Some(Self::Pdf),
            _ => None,
        }
    }

    /// The IANA media type.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Tiff => "image/tiff",
            Self::Pdf => "application/pdf",
        }
    }

    /// The type a media type names (the inverse of [`FileType::media_type`]).
    pub fn from_media_type(media_type: &str) -> Option<Self> {
        [Self::Jpeg, Self::Png, Self::Tiff, Self::Pdf].into_iter().find(|t| t.media_type() == media_type)
    }

    /// The usual file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Tiff => "tif",
            Self::Pdf => "pdf",
        }
    }

    /// Whether the type is a raster image.
    pub fn is_image(self) -> bool {
        !matches!(self, Self::Pdf)
    }

    fn image_format(self) -> Option<ImageFormat> {
        match self {
            Self::Jpeg => Some(ImageFormat::Jpeg),
            Self::Png => Some(ImageFormat::Png),
            Self::Tiff => Some(ImageFormat::Tiff),
            Self::Pdf => None,
        }
    }
}

impl fmt::Display for FileType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Jpeg => "JPEG 图像",
            Self::Png => "PNG 图像",
            Self::Tiff => "TIFF 图像",
            Self::Pdf => "PDF 文档",
        })
    }
}

/// Limits applied by [`inspect`] and [`crate::ingest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InspectConfig {
    /// Largest accepted file, in bytes.
    pub max_size: u64,
    /// Largest accepted image width, in pixels (checked from the header).
    pub max_image_width: u32,
    /// Largest accepted image height, in pixels (checked from the header).
    pub max_image_height: u32,
    /// Largest accepted width × height of one page.
    pub max_image_pixels: u64,
    /// Most memory a decoder may allocate for one page, in bytes.
    pub max_decode_alloc: u64,
    /// Most pages in one TIFF or PDF (for a TIFF also the most image file
    /// directories walked).
    pub max_pages: u32,
    /// Deepest nesting of arrays and dictionaries accepted in a PDF.
    pub max_pdf_depth: u32,
    /// Longest side of a thumbnail, in pixels.
    pub thumbnail_size: u32,
}

impl Default for InspectConfig {
    /// Sized for A3 scans at 600 dpi (about 7000 × 9900 pixels).
    fn default() -> Self {
        Self {
            max_size: 200 * 1024 * 1024,
            max_image_width: 20_000,
            max_image_height: 20_000,
            max_image_pixels: 100_000_000,
            max_decode_alloc: 768 * 1024 * 1024,
            max_pages: 2_000,
            // PDFium (the PDF engine of Chromium) gives up on objects nested
            // deeper than 64; a scan nests a handful of levels.
            max_pdf_depth: 64,
            thumbnail_size: 256,
        }
    }
}

impl InspectConfig {
    fn check_dimensions(&self, width: u32, height: u32, file_type: FileType) -> Result<()> {
        if width == 0 || height == 0 {
            return Err(ArchiveError::Corrupt { file_type, detail: "图像宽度或高度为零".into() });
        }
        if width > self.max_image_width
            || height > self.max_image_height
            || u64::from(width) * u64::from(height) > self.max_image_pixels
        {
            return Err(ArchiveError::ImageTooLarge { dimensions: Some((width, height)) });
        }
        Ok(())
    }

    fn image_limits(&self) -> Limits {
        let mut limits = Limits::default();
        limits.max_image_width = Some(self.max_image_width);
        limits.max_image_height = Some(self.max_image_height);
        limits.max_alloc = Some(self.max_decode_alloc);
        limits
    }

    fn alloc_only_limits(&self) -> Limits {
        let mut limits = Limits::no_limits();
        limits.max_alloc = Some(self.max_decode_alloc);
        limits
    }

    fn tiff_limits(&self) -> tiff::decoder::Limits {
        let budget = usize::try_from(self.max_decode_alloc).unwrap_or(usize::MAX);
        let mut limits = tiff::decoder::Limits::default();
        limits.decoding_buffer_size = budget;
        limits.intermediate_buffer_size = budget;
        limits.ifd_value_size = budget.min(16 * 1024 * 1024);
        limits
    }
}

/// A small preview of an image's first page.
#[derive(Clone, PartialEq, Eq)]
pub struct Thumbnail {
    /// Always `image/jpeg`.
    pub media_type: &'static str,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The encoded JPEG.
    pub bytes: Vec<u8>,
}

impl fmt::Debug for Thumbnail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Thumbnail")
            .field("media_type", &self.media_type)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// What [`inspect`] learnt about an acceptable file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    /// The type recognised from the bytes.
    pub file_type: FileType,
    /// The file's length in bytes.
    pub size: u64,
    /// Number of pages: 1 for JPEG and PNG, every IFD for TIFF; for PDF a
    /// rough count of `/Type /Page` objects, which is 0 when the page
    /// objects sit inside compressed object streams.
    pub pages: u32,
    /// Width of the (first) page in pixels; `None` for PDF.
    pub width: Option<u32>,
    /// Height of the (first) page in pixels; `None` for PDF.
    pub height: Option<u32>,
    /// A JPEG preview of the (first) page; `None` for PDF and for TIFF
    /// colour layouts the image decoder cannot render.
    pub thumbnail: Option<Thumbnail>,
}

impl Inspection {
    /// The IANA media type of the file.
    pub fn media_type(&self) -> &'static str {
        self.file_type.media_type()
    }
}

/// Checks the file at `path`, which was uploaded under `original_name`.
///
/// Refuses, in this order: an empty or oversized file, an unrecognised type,
/// a name whose extension contradicts the bytes, an image whose header
/// dimensions exceed the limits, and a file that cannot be decoded fully.
/// A panic while checking is caught and returned as
/// [`ArchiveError::Panicked`].
pub fn inspect(path: &Path, original_name: &str, config: &InspectConfig) -> Result<Inspection> {
    contained(stage::INSPECT, || inspect_file(path, original_name, config))
}

/// The steps that run under [`contained`], named for the person reading the
/// error (in Chinese, like every message of this crate).
pub(crate) mod stage {
    /// [`super::inspect`] as a whole: type, name and size checks.
    pub(crate) const INSPECT: &str = "文件检查";
    /// Decoding an image (JPEG, PNG, a TIFF's first page).
    pub(crate) const DECODE: &str = "图像解码";
    /// Walking and decoding every page of a TIFF.
    pub(crate) const TIFF_PAGES: &str = "TIFF 逐页检查";
    /// Scanning a PDF (nesting, pages).
    pub(crate) const PDF_SCAN: &str = "PDF 检查";
    /// Making the JPEG thumbnail.
    pub(crate) const THUMBNAIL: &str = "缩略图生成";
}

/// Runs `f`, turning a panic inside it into [`ArchiveError::Panicked`] at
/// `stage`. Whatever `f` owned (decoders, buffers, file handles) is dropped
/// while unwinding; nothing it touched is used afterwards, which is why
/// asserting unwind safety is sound here.
pub(crate) fn contained<T>(stage: &'static str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => Err(ArchiveError::Panicked { stage, detail: panic_text(payload.as_ref()) }),
    }
}

/// The message of a panic payload, shortened and with control characters
/// escaped (it goes to a log line).
fn panic_text(payload: &(dyn Any + Send)) -> String {
    let text = if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.as_str()
    } else {
        "(no message)"
    };
    shown_name(text)
}

/// A place where a test can make the real code panic (see the test-only
/// `injected` module); nothing at all outside the crate's unit tests.
#[inline]
fn fault_point(_stage: &'static str) {
    #[cfg(test)]
    injected::fire(_stage);
}

/// Test-only: panics injected at a [`stage`] on the current thread, to
/// exercise the real catch path (the panic starts inside the step's code,
/// with its decoder and files open).
#[cfg(test)]
pub(crate) mod injected {
    use std::cell::Cell;

    thread_local! {
        static PANIC_AT: Cell<Option<&'static str>> = const { Cell::new(None) };
    }

    /// Makes the next steps named `stage` on this thread panic (`None`: stop).
    pub(crate) fn panic_at(stage: Option<&'static str>) {
        PANIC_AT.with(|p| p.set(stage));
    }

    pub(super) fn fire(stage: &'static str) {
        if PANIC_AT.with(Cell::get) == Some(stage) {
            panic!("injected test panic at {stage}");
        }
    }
}

fn inspect_file(path: &Path, original_name: &str, config: &InspectConfig) -> Result<Inspection> {
    let mut file = File::open(path).ctx("打开待检查文件", path)?;
    let size = file.metadata().ctx("读取文件属性", path)?.len();
    if size == 0 {
        return Err(ArchiveError::Empty);
    }
    if size > config.max_size {
        return Err(ArchiveError::TooLarge { limit: config.max_size });
    }
    let mut head = [0u8; 16];
    let n = read_up_to(&mut file, &mut head).ctx("读取文件头", path)?;
    let file_type = FileType::detect(&head[..n]).ok_or(ArchiveError::TypeUnsupported)?;
    check_name(original_name, file_type)?;
    fault_point(stage::INSPECT);
    file.seek(SeekFrom::Start(0)).ctx("读取文件", path)?;
    match file_type {
        FileType::Jpeg | FileType::Png => inspect_single_image(file, path, file_type, size, config),
        FileType::Tiff => inspect_tiff(file, path, size, config),
        FileType::Pdf => inspect_pdf(file, path, size, config),
    }
}

/// Refuses a name whose extension names another type than `detected`.
///
/// A name without an extension is accepted. Only a dot followed by one to
/// five ASCII letters or digits, at least one a letter, counts as an
/// extension, so `成绩单 2024.09` is not mistaken for one.
pub fn check_name(original_name: &str, detected: FileType) -> Result<()> {
    let Some(ext) = extension_of(original_name) else {
        return Ok(());
    };
    if FileType::from_extension(&ext) == Some(detected) {
        return Ok(());
    }
    Err(ArchiveError::ExtensionMismatch { name: shown_name(original_name), extension: ext, detected })
}

fn extension_of(name: &str) -> Option<String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let (_, ext) = base.rsplit_once('.')?;
    let plausible = (1..=5).contains(&ext.len())
        && ext.bytes().all(|b| b.is_ascii_alphanumeric())
        && ext.bytes().any(|b| b.is_ascii_alphabetic());
    plausible.then(|| ext.to_ascii_lowercase())
}

fn read_up_to(reader: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match crate::fsutil::read_retrying(reader, &mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

fn corrupt(file_type: FileType, detail: impl fmt::Display) -> ArchiveError {
    let mut detail = detail.to_string();
    if detail.chars().count() > 200 {
        detail = detail.chars().take(200).chain(['…']).collect();
    }
    ArchiveError::Corrupt { file_type, detail }
}

fn map_image_error(e: ImageError, file_type: FileType, dims: Option<(u32, u32)>) -> ArchiveError {
    match (e, dims) {
        (ImageError::Limits(_), dimensions) => ArchiveError::ImageTooLarge { dimensions },
        (ImageError::IoError(e), _) => corrupt(file_type, format_args!("读取失败：{e}")),
        (e, _) => corrupt(file_type, e),
    }
}

/// The outcome of decoding an image whose header passed the checks.
enum Decoded {
    /// Fully decoded.
    Image(DynamicImage),
    /// The decoder does not support this variant of the format.
    Unsupported(String),
}

/// Decodes the first image of `file` after checking its header dimensions
/// (a panic in the decoder is contained).
fn decode_checked(file: File, file_type: FileType, config: &InspectConfig) -> Result<Decoded> {
    contained(stage::DECODE, || decode_uncontained(file, file_type, config))
}

fn decode_uncontained(file: File, file_type: FileType, config: &InspectConfig) -> Result<Decoded> {
    let format = file_type.image_format().ok_or(ArchiveError::TypeUnsupported)?;
    let mut reader = ImageReader::with_format(BufReader::new(file), format);
    // Only the allocation limit while the header is read: the dimensions are
    // checked below so that the refusal can name them.
    reader.limits(config.alloc_only_limits());
    let mut decoder = match reader.into_decoder() {
        Ok(d) => d,
        Err(ImageError::Unsupported(e)) => return Ok(Decoded::Unsupported(e.to_string())),
        Err(e) => return Err(map_image_error(e, file_type, None)),
    };
    let (width, height) = decoder.dimensions();
    config.check_dimensions(width, height, file_type)?;
    let dims = Some((width, height));
    // The decoded page must fit the allocation budget, whichever decoder.
    if decoder.total_bytes() > config.max_decode_alloc {
        return Err(ArchiveError::ImageTooLarge { dimensions: dims });
    }
    decoder.set_limits(config.image_limits()).map_err(|e| map_image_error(e, file_type, dims))?;
    fault_point(stage::DECODE);
    match DynamicImage::from_decoder(decoder) {
        Ok(image) => Ok(Decoded::Image(image)),
        Err(ImageError::Unsupported(e)) => Ok(Decoded::Unsupported(e.to_string())),
        Err(e) => Err(map_image_error(e, file_type, dims)),
    }
}

fn inspect_single_image(
    file: File,
    path: &Path,
    file_type: FileType,
    size: u64,
    config: &InspectConfig,
) -> Result<Inspection> {
    check_trailer(path, file_type)?;
    let image = match decode_checked(file, file_type, config)? {
        Decoded::Image(image) => image,
        Decoded::Unsupported(detail) => return Err(corrupt(file_type, detail)),
    };
    Ok(Inspection {
        file_type,
        size,
        pages: 1,
        width: Some(image.width()),
        height: Some(image.height()),
        thumbnail: Some(contained(stage::THUMBNAIL, || make_thumbnail(&image, config.thumbnail_size))?),
    })
}

/// JPEG and PNG carry an end marker; a file cut short lacks it. Decoders are
/// lenient about a missing end (some fill the rest of the picture with
/// grey), so the marker is checked explicitly. Trailing bytes after the
/// marker, which some devices append, are tolerated within the last 4 KiB.
fn check_trailer(path: &Path, file_type: FileType) -> Result<()> {
    const WINDOW: u64 = 4096;
    let marker: &[u8] = match file_type {
        FileType::Jpeg => &[0xFF, 0xD9],
        FileType::Png => b"IEND\xAE\x42\x60\x82",
        _ => return Ok(()),
    };
    let tail = read_tail(path, WINDOW)?;
    if find(&tail, marker).is_none() {
        return Err(corrupt(file_type, "文件末尾缺少结束标记，可能未传完"));
    }
    Ok(())
}

fn read_tail(path: &Path, window: u64) -> Result<Vec<u8>> {
    let mut file = File::open(path).ctx("读取文件", path)?;
    let len = file.metadata().ctx("读取文件属性", path)?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(window))).ctx("读取文件", path)?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail).ctx("读取文件", path)?;
    Ok(tail)
}

fn inspect_tiff(file: File, path: &Path, size: u64, config: &InspectConfig) -> Result<Inspection> {
    // First page through the image crate, for full decoding and a thumbnail.
    let (first, thumbnail) = match decode_checked(file, FileType::Tiff, config)? {
        Decoded::Image(image) => {
            let thumbnail = contained(stage::THUMBNAIL, || make_thumbnail(&image, config.thumbnail_size))?;
            (Some((image.width(), image.height())), Some(thumbnail))
        }
        // A layout the image crate cannot render; the tiff crate validates
        // the page below, and there is no thumbnail.
        Decoded::Unsupported(_) => (None, None),
    };
    // Every page through the tiff crate: count them and decode each fully.
    let (pages, (width, height)) = contained(stage::TIFF_PAGES, || tiff_pages(path, first, config))?;
    Ok(Inspection { file_type: FileType::Tiff, size, pages, width: Some(width), height: Some(height), thumbnail })
}

/// Walks every page (image file directory) of a TIFF through the tiff
/// crate, counting them and decoding each fully; `first` is the first
/// page's size when the image crate already decoded it. Returns the page
/// count and the first page's size.
///
/// The walk is a loop along the IFD chain, never recursion: it stops after
/// `max_pages` directories, and the tiff crate refuses a chain that loops
/// back on itself (reported here as corrupt). Sub-IFDs and EXIF directories
/// are not followed.
fn tiff_pages(path: &Path, first: Option<(u32, u32)>, config: &InspectConfig) -> Result<(u32, (u32, u32))> {
    let file_type = FileType::Tiff;
    let reader = BufReader::new(File::open(path).ctx("打开待检查文件", path)?);
    let tiff_err = |e: tiff::TiffError| match e {
        tiff::TiffError::LimitsExceeded => ArchiveError::ImageTooLarge { dimensions: None },
        tiff::TiffError::FormatError(tiff::TiffFormatError::CycleInOffsets) => {
            corrupt(file_type, "图像文件目录（IFD）链首尾相接成环")
        }
        e => corrupt(file_type, e),
    };
    let mut decoder = tiff::decoder::Decoder::new(reader).map_err(tiff_err)?.with_limits(config.tiff_limits());
    fault_point(stage::TIFF_PAGES);
    let mut pages: u32 = 1;
    let (mut width, mut height) = first.unwrap_or((0, 0));
    loop {
        if pages > 1 || first.is_none() {
            let (w, h) = decoder.dimensions().map_err(tiff_err)?;
            config.check_dimensions(w, h, file_type)?;
            if pages == 1 {
                (width, height) = (w, h);
            }
            decoder.read_image().map_err(|e| match e {
                tiff::TiffError::LimitsExceeded => ArchiveError::ImageTooLarge { dimensions: Some((w, h)) },
                e => tiff_err(e),
            })?;
        }
        if !decoder.more_images() {
            break;
        }
        if pages >= config.max_pages {
            return Err(ArchiveError::TooManyPages { limit: config.max_pages });
        }
        decoder.next_image().map_err(tiff_err)?;
        pages += 1;
    }
    Ok((pages, (width, height)))
}

/// Makes a JPEG thumbnail no larger than `max` on either side. Transparent
/// areas are laid on white.
fn make_thumbnail(image: &DynamicImage, max: u32) -> Result<Thumbnail> {
    fault_point(stage::THUMBNAIL);
    let max = max.max(1);
    let small = if image.width() > max || image.height() > max { image.thumbnail(max, max) } else { image.clone() };
    let flat = if small.color().has_alpha() {
        let mut rgba = small.to_rgba8();
        for p in rgba.pixels_mut() {
            let a = u16::from(p[3]);
            for c in 0..3 {
                let v = (u16::from(p[c]) * a + 255 * (255 - a)) / 255;
                p[c] = u8::try_from(v).unwrap_or(u8::MAX);
            }
            p[3] = 255;
        }
        DynamicImage::ImageRgba8(rgba).to_rgb8().into()
    } else if small.color().has_color() {
        DynamicImage::ImageRgb8(small.to_rgb8())
    } else {
        DynamicImage::ImageLuma8(small.to_luma8())
    };
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(&mut bytes, 80)
        .encode_image(&flat)
        .map_err(|e| corrupt(FileType::Jpeg, format_args!("缩略图生成失败：{e}")))?;
    Ok(Thumbnail { media_type: "image/jpeg", width: flat.width(), height: flat.height(), bytes })
}

fn inspect_pdf(mut file: File, path: &Path, size: u64, config: &InspectConfig) -> Result<Inspection> {
    let file_type = FileType::Pdf;
    let tail = read_tail(path, 1024)?;
    if find(&tail, b"%%EOF").is_none() {
        return Err(corrupt(file_type, "文件末尾缺少 %%EOF 标记，可能未传完"));
    }
    let pages = contained(stage::PDF_SCAN, || pdf::scan_pdf(&mut file, path, config))?;
    Ok(Inspection { file_type, size, pages, width: None, height: None, thumbnail: None })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_magic_numbers() {
        assert_eq!(FileType::detect(b"\xFF\xD8\xFF\xE0rest"), Some(FileType::Jpeg));
        assert_eq!(FileType::detect(b"\x89PNG\r\n\x1a\nrest"), Some(FileType::Png));
        assert_eq!(FileType::detect(b"II*\0rest"), Some(FileType::Tiff));
        assert_eq!(FileType::detect(b"MM\0*rest"), Some(FileType::Tiff));
        assert_eq!(FileType::detect(b"%PDF-1.7\n"), Some(FileType::Pdf));
        assert_eq!(FileType::detect(b"PK\x03\x04"), None);
        assert_eq!(FileType::detect(b""), None);
    }

    #[test]
    fn extensions() {
        assert_eq!(extension_of("scan.JPG").as_deref(), Some("jpg"));
        assert_eq!(extension_of("dir.d/scan").as_deref(), None);
        assert_eq!(extension_of("成绩单 2024.09").as_deref(), None);
        assert_eq!(extension_of("C:\\x\\户口簿.Tiff").as_deref(), Some("tiff"));
        assert!(check_name("scan.jpeg", FileType::Jpeg).is_ok());
        assert!(check_name("scan", FileType::Png).is_ok());
        let e = check_name("scan.jpg", FileType::Png).expect_err("mismatch");
        assert_eq!(e.code(), "archive.extension_mismatch");
        assert!(e.to_string().contains("scan.jpg"));
        assert!(check_name("scan.docx", FileType::Pdf).is_err());
    }

    #[test]
    fn a_panic_is_contained_with_its_stage_and_message() {
        let err = contained::<()>(stage::DECODE, || panic!("index out of bounds\u{0}")).expect_err("panic");
        assert_eq!(err.code(), "archive.inspect_panicked");
        assert!(err.to_string().contains("图像解码"), "{err}");
        assert!(!err.to_string().contains("index"), "the panic message is for the log only: {err}");
        match err {
            ArchiveError::Panicked { stage, detail } => {
                assert_eq!(stage, "图像解码");
                assert_eq!(detail, "index out of bounds\\u{0}");
            }
            other => panic!("unexpected {other:?}"),
        }
        let err = contained::<()>(stage::PDF_SCAN, || std::panic::panic_any(42_u8)).expect_err("panic");
        assert!(matches!(err, ArchiveError::Panicked { detail, .. } if detail == "(no message)"));
        // Errors and values pass through untouched.
        assert_eq!(contained(stage::PDF_SCAN, || Ok(7)).expect("ok"), 7);
        assert_eq!(
            contained::<()>(stage::PDF_SCAN, || Err(ArchiveError::Empty)).expect_err("e").code(),
            "archive.empty"
        );
    }

    #[test]
    fn thumbnail_is_small_jpeg_and_flattens_alpha() {
        let img = DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(1000, 500, image::Rgba([0, 0, 0, 0])));
        let t = make_thumbnail(&img, 256).expect("thumb");
        assert_eq!((t.width, t.height), (256, 128));
        let back = image::load_from_memory(&t.bytes).expect("decode");
        let p = back.to_rgb8().get_pixel(10, 10).0;
        assert!(p.iter().all(|&c| c > 240), "transparent not white: {p:?}");
    }
}
