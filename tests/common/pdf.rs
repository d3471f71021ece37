//! PDFs read back as a person or a scanner would: poppler's `pdftotext` and
//! `pdftoppm`, and the QR codes decoded from the rasterised page with rqrr.
//! Shared by the API suite and the smoke test.

#![allow(dead_code)]

/// The text of a PDF (poppler's `pdftotext`), without white space: table cells
/// may break a value across lines.
pub fn pdftotext(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) installed");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().split_whitespace().collect()
}

/// The text of a PDF as `pdftotext -layout` lays it out: one line of the
/// page per line of text (pages end with a form feed), so that a value
/// stands beside its label and a name broken over two lines is not found whole.
pub fn pdftotext_layout(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg("-layout")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) installed");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// The PDF's first page as a 300 dpi PNG in `dir` (poppler's `pdftoppm`), as a scan would give it.
pub fn rasterise(pdf: &[u8], dir: &std::path::Path) -> std::path::PathBuf {
    rasterise_at(pdf, dir, 300)
}

/// The PDF's first page as a PNG at `dpi` in `dir` (poppler's `pdftoppm`).
pub fn rasterise_at(pdf: &[u8], dir: &std::path::Path, dpi: u32) -> std::path::PathBuf {
    let path = dir.join("doc.pdf");
    std::fs::write(&path, pdf).unwrap();
    let status = std::process::Command::new("pdftoppm")
        .args(["-r", &dpi.to_string(), "-png", "-singlefile", "-f", "1"])
        .arg(&path)
        .arg(dir.join("page"))
        .status()
        .expect("pdftoppm (poppler-utils) installed");
    assert!(status.success());
    dir.join("page.png")
}

/// The texts of the QR codes on the PDF's first page, read from the rasterised page.
pub fn decode_qr(pdf: &[u8]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let img = image::open(rasterise(pdf, dir.path())).unwrap().to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(img);
    prepared.detect_grids().into_iter().filter_map(|g| g.decode().ok().map(|(_, text)| text)).collect()
}
