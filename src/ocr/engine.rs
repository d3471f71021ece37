//! Reading the text off one stored file: a PDF's own text layer as it is
//! (`pdftotext`), scanned pages by Tesseract (`tesseract`, simplified
//! Chinese and English), PDF pages without text rendered first
//! (`pdftoppm`). Each program runs as a child process with a time limit per
//! page and an address-space limit (`prlimit`), one thread, killed when the
//! limit is reached; nothing it prints reaches the log but its exit status.

use std::path::Path;
use std::time::Duration;
use tokio::process::Command;

/// The languages Tesseract reads: simplified Chinese, whose model also reads
/// digits and Latin letters (adding `eng` made it read Chinese names as
/// Latin nonsense).
pub const LANGUAGES: &str = "chi_sim";
/// A PDF page with fewer letters than this in its text layer is taken as a
/// scan and read by OCR.
const MIN_TEXT_CHARS: usize = 8;

/// Limits for one page.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest a page may take.
    pub page_time: Duration,
    /// Most memory (address space) a child may use, in bytes.
    pub memory: u64,
    /// Most pages read of one file.
    pub max_pages: u32,
}

/// How a reading failed; the code is kept on the job.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// A page took longer than the limit.
    #[error("文字识别超时（每页限 {0} 秒）")]
    Timeout(u64),
    /// The program refused the file or failed (corrupt page, out of memory).
    #[error("文字识别程序未能读取该文件")]
    Failed,
    /// The program is not installed.
    #[error("未安装文字识别程序 {0}")]
    Missing(&'static str),
}

impl ReadError {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Timeout(_) => "ocr.timeout",
            Self::Failed => "ocr.failed",
            Self::Missing(_) => "ocr.engine_missing",
        }
    }
}

/// What was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    /// `ocr` or `pdf_text`.
    pub source: &'static str,
    /// `tesseract` or `pdftotext` (with OCR of pages without text: `tesseract`).
    pub engine: &'static str,
    /// The engine's version as it reports it.
    pub engine_version: String,
    /// Each page's text as read (not yet normalized), from page 1.
    pub pages: Vec<String>,
}

/// Runs `program args…` under the limits; its standard output, or the error.
async fn run(program: &'static str, args: &[&std::ffi::OsStr], limits: &Limits) -> Result<Vec<u8>, ReadError> {
    let mut command = Command::new("prlimit");
    command
        .arg(format!("--as={}", limits.memory))
        .arg("--")
        .arg(program)
        .args(args)
        .env("OMP_THREAD_LIMIT", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    if !on_path(program) {
        return Err(ReadError::Missing(program));
    }
    let child = command.spawn().map_err(|_| ReadError::Missing("prlimit"))?;
    let output = tokio::time::timeout(limits.page_time, child.wait_with_output())
        .await
        .map_err(|_| ReadError::Timeout(limits.page_time.as_secs()))?
        .map_err(|_| ReadError::Failed)?;
    // prlimit answers 127 (or 126) when it cannot run the program: not
    // installed, or unable to load within the memory limit.
    match output.status.code() {
        Some(0) => Ok(output.stdout),
        Some(126 | 127) if !on_path(program) => Err(ReadError::Missing(program)),
        _ => Err(ReadError::Failed),
    }
}

/// Whether `program` is an executable file in a directory of `PATH`.
fn on_path(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            std::fs::metadata(dir.join(program)).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

/// The first line a program prints for `--version` / `-v` (on either stream).
async fn version(program: &'static str, flag: &str) -> Result<String, ReadError> {
    let out = Command::new(program)
        .arg(flag)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .map_err(|_| ReadError::Missing(program))?;
    let text = [out.stdout, out.stderr].concat();
    let text = String::from_utf8_lossy(&text);
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
    // "tesseract 5.3.0", "pdftotext version 22.02.0": the last word.
    Ok(line.rsplit(' ').next().unwrap_or("").to_owned())
}

/// Whether Tesseract with the simplified-Chinese data is here.
pub async fn available() -> bool {
    let Ok(out) = Command::new("tesseract").arg("--list-langs").stdin(std::process::Stdio::null()).output().await
    else {
        return false;
    };
    let text = [out.stdout, out.stderr].concat();
    String::from_utf8_lossy(&text).lines().any(|l| l.trim() == "chi_sim")
}

/// OCR of an image file (every page of a TIFF).
async fn tesseract(path: &Path, limits: &Limits, pages_hint: u32) -> Result<Vec<String>, ReadError> {
    let mut per_file = *limits;
    per_file.page_time = limits.page_time.saturating_mul(pages_hint.clamp(1, limits.max_pages));
    let out = run(
        "tesseract",
        &[path.as_os_str(), "stdout".as_ref(), "-l".as_ref(), LANGUAGES.as_ref(), "--psm".as_ref(), "3".as_ref()],
        &per_file,
    )
    .await?;
    let text = String::from_utf8_lossy(&out);
    // Tesseract ends each page with a form feed.
    let mut pages: Vec<String> = text.split('\u{c}').map(str::to_owned).collect();
    if pages.len() > 1 && pages.last().is_some_and(|p| p.trim().is_empty()) {
        pages.pop();
    }
    Ok(pages)
}

/// Reads `path`, a stored object of `media_type` with `pages` pages.
pub async fn read(path: &Path, media_type: &str, pages: u32, limits: &Limits) -> Result<Reading, ReadError> {
    if media_type == "application/pdf" {
        return read_pdf(path, pages, limits).await;
    }
    let pages = tesseract(path, limits, pages).await?;
    Ok(Reading { source: "ocr", engine: "tesseract", engine_version: version("tesseract", "--version").await?, pages })
}

async fn read_pdf(path: &Path, pages: u32, limits: &Limits) -> Result<Reading, ReadError> {
    let pages = pages.clamp(1, limits.max_pages);
    let last = pages.to_string();
    let mut per_file = *limits;
    per_file.page_time = limits.page_time.saturating_mul(pages);
    let out = run(
        "pdftotext",
        &["-enc".as_ref(), "UTF-8".as_ref(), "-l".as_ref(), last.as_ref(), path.as_os_str(), "-".as_ref()],
        &per_file,
    )
    .await?;
    let text = String::from_utf8_lossy(&out);
    let mut texts: Vec<String> = text.split('\u{c}').map(str::to_owned).collect();
    texts.truncate(pages as usize);
    texts.resize(pages as usize, String::new());
    let scanned: Vec<usize> = (0..texts.len())
        .filter(|&i| texts[i].chars().filter(|c| c.is_alphanumeric()).count() < MIN_TEXT_CHARS)
        .collect();
    if scanned.is_empty() {
        return Ok(Reading {
            source: "pdf_text",
            engine: "pdftotext",
            engine_version: version("pdftotext", "-v").await?,
            pages: texts,
        });
    }
    // Pages without a text layer: rendered at 300 dpi in grey, then OCR.
    let dir = tempfile::tempdir().map_err(|_| ReadError::Failed)?;
    for &i in &scanned {
        let number = (i + 1).to_string();
        let prefix = dir.path().join(format!("p{number}"));
        run(
            "pdftoppm",
            &[
                "-r".as_ref(),
                "300".as_ref(),
                "-gray".as_ref(),
                "-png".as_ref(),
                "-singlefile".as_ref(),
                "-f".as_ref(),
                number.as_ref(),
                "-l".as_ref(),
                number.as_ref(),
                path.as_os_str(),
                prefix.as_os_str(),
            ],
            limits,
        )
        .await?;
        let image = prefix.with_extension("png");
        let read = tesseract(&image, limits, 1).await?;
        texts[i] = read.join("\n");
    }
    Ok(Reading {
        source: "ocr",
        engine: "tesseract",
        engine_version: version("tesseract", "--version").await?,
        pages: texts,
    })
}

/// A JPEG of page `page` (from 1) of the PDF at `path`, at most `max`
/// pixels on its longer side: `pdftoppm` under the same limits as a reading.
pub async fn pdf_page_jpeg(path: &Path, page: u32, max: u32, limits: &Limits) -> Result<Vec<u8>, ReadError> {
    let dir = tempfile::tempdir().map_err(|_| ReadError::Failed)?;
    let prefix = dir.path().join("page");
    let (number, size) = (page.to_string(), max.to_string());
    run(
        "pdftoppm",
        &[
            "-jpeg".as_ref(),
            "-jpegopt".as_ref(),
            "quality=80".as_ref(),
            "-scale-to".as_ref(),
            size.as_ref(),
            "-singlefile".as_ref(),
            "-f".as_ref(),
            number.as_ref(),
            "-l".as_ref(),
            number.as_ref(),
            path.as_os_str(),
            prefix.as_os_str(),
        ],
        limits,
    )
    .await?;
    std::fs::read(prefix.with_extension("jpg")).map_err(|_| ReadError::Failed)
}
