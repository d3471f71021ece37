//! The verification QR code, drawn as vector SVG.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

use super::error::RenderError;

/// Longest verify URL accepted (a QR at level M holds ~2,300 bytes, but a
/// dense code prints badly at 22 mm).
pub const MAX_VERIFY_URL: usize = 400;

/// An SVG QR code (EC level M, 4-module quiet zone) encoding `url` exactly.
pub fn qr_svg(url: &str) -> Result<Vec<u8>, RenderError> {
    if url.is_empty() {
        return Err(RenderError::Qr("document.verify_url 为空".into()));
    }
    if url.len() > MAX_VERIFY_URL {
        return Err(RenderError::Qr(format!("document.verify_url 过长（{} 字节，上限 {MAX_VERIFY_URL}）", url.len())));
    }
    let code =
        QrCode::with_error_correction_level(url.as_bytes(), EcLevel::M).map_err(|e| RenderError::Qr(e.to_string()))?;
    let image = code
        .render::<svg::Color<'_>>()
        .quiet_zone(true)
        .module_dimensions(1, 1)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    Ok(image.into_bytes())
}
