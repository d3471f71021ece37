//! The verification QR code, drawn as vector SVG, sized so a phone reads it.
//!
//! A phone photo of a printed page is blurred, tilted and compressed; what
//! decides whether it reads is the size of one module on paper. At the
//! 0.45 mm of a version-9 code on a 24 mm square no decoder read a page
//! photographed that way (300 dpi, 7° tilt, Gaussian blur σ 2 px, JPEG 60);
//! at 0.6 mm a version-8 code does. So the code is drawn at
//! [`MIN_MODULE_MM`] a module or more, never smaller than [`MIN_SIDE_MM`],
//! and the template is told its printed width (`document.qr_width_mm`,
//! quiet zone included).
//!
//! The URL is upper case with the token in digits
//! ([`crate::verify::qr_url`]), so the encoder's segmentation puts it in
//! the alphanumeric and numeric modes: a certificate's URL is a version-8
//! code at level M. The error correction is the highest level (M, Q or H)
//! that needs no larger version than M does.

use qrcode::{Color, EcLevel, QrCode, Version};

use super::error::RenderError;

/// Longest verify URL accepted: the longest possible token (571 digits)
/// behind a base URL of up to 60 characters.
pub const MAX_VERIFY_URL: usize = 640;
/// Smallest printed module, in millimetres.
pub const MIN_MODULE_MM: f64 = 0.6;
/// Smallest printed side of the code itself (without the quiet zone), in
/// millimetres: a short URL's code is drawn larger than its modules need.
pub const MIN_SIDE_MM: f64 = 20.0;
/// Light modules around the code on each side (ISO/IEC 18004).
pub const QUIET_ZONE: usize = 4;

/// A QR code drawn for print.
#[derive(Clone)]
pub struct PrintedQr {
    /// The SVG: one unit a module, the quiet zone included.
    pub svg: Vec<u8>,
    /// The QR version (1–40).
    pub version: i16,
    /// The error-correction level, `L`, `M`, `Q` or `H`.
    pub ec_level: char,
    /// Modules on a side, without the quiet zone.
    pub modules: usize,
    /// The printed size of one module, in millimetres.
    pub module_mm: f64,
    /// The printed width (and height), the quiet zone included, in millimetres.
    pub width_mm: f64,
}

impl std::fmt::Debug for PrintedQr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrintedQr")
            .field("version", &self.version)
            .field("ec_level", &self.ec_level)
            .field("modules", &self.modules)
            .field("module_mm", &self.module_mm)
            .field("width_mm", &self.width_mm)
            .field("svg_bytes", &self.svg.len())
            .finish()
    }
}

/// The QR code for `url`, encoded exactly, drawn for print.
pub fn printed_qr(url: &str) -> Result<PrintedQr, RenderError> {
    if url.is_empty() {
        return Err(RenderError::Qr("document.verify_url 为空".into()));
    }
    if url.len() > MAX_VERIFY_URL {
        return Err(RenderError::Qr(format!("document.verify_url 过长（{} 字节，上限 {MAX_VERIFY_URL}）", url.len())));
    }
    let encode = |level| QrCode::with_error_correction_level(url.as_bytes(), level);
    let base = encode(EcLevel::M).map_err(|e| RenderError::Qr(e.to_string()))?;
    let (code, ec_level) = [(EcLevel::H, 'H'), (EcLevel::Q, 'Q')]
        .into_iter()
        .find_map(|(level, name)| encode(level).ok().filter(|c| c.width() <= base.width()).map(|c| (c, name)))
        .unwrap_or((base, 'M'));
    let version = match code.version() {
        Version::Normal(v) | Version::Micro(v) => v,
    };
    let modules = code.width();
    let module_mm = MIN_MODULE_MM.max(MIN_SIDE_MM / modules as f64);
    let side = modules + 2 * QUIET_ZONE;
    Ok(PrintedQr {
        svg: svg(&code.to_colors(), modules),
        version,
        ec_level,
        modules,
        module_mm,
        width_mm: side as f64 * module_mm,
    })
}

/// The dark modules as one path, a rectangle for each horizontal run, on a
/// white square with the quiet zone.
fn svg(colors: &[Color], modules: usize) -> Vec<u8> {
    use std::fmt::Write;
    let side = modules + 2 * QUIET_ZONE;
    let mut path = String::new();
    for (y, row) in colors.chunks(modules).enumerate() {
        let mut x = 0;
        while x < modules {
            if row[x] == Color::Light {
                x += 1;
                continue;
            }
            let run = row[x..].iter().take_while(|c| **c == Color::Dark).count();
            let _ = write!(path, "M{} {}h{run}v1h-{run}z", x + QUIET_ZONE, y + QUIET_ZONE);
            x += run;
        }
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" viewBox=\"0 0 {side} {side}\" \
         shape-rendering=\"crispEdges\"><rect width=\"{side}\" height=\"{side}\" fill=\"#ffffff\"/>\
         <path fill=\"#000000\" d=\"{path}\"/></svg>"
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificates_url_is_a_version_8_code_with_modules_of_0_6_mm() {
        // 299 digits: the token of a certificate with an 18-character number
        // and a four-character name.
        let token: String = (0..299).map(|i| char::from(b'0' + (i * 7 % 10) as u8)).collect();
        let url = format!("HTTPS://VERIFY.EXAMPLE.CN/V/{token}");
        let qr = printed_qr(&url).expect("qr");
        assert_eq!((qr.version, qr.ec_level, qr.modules), (8, 'M', 49), "{qr:?}");
        assert!((qr.module_mm - 0.6).abs() < 1e-9);
        assert!((qr.width_mm - 57.0 * 0.6).abs() < 1e-9);
        // A token with its status index (302 digits) behind a base URL of up
        // to 33 characters (`HTTPS://XJ.JYJ.NONGAN.GOV.CN` is 28) stays version 8.
        let token: String = (0..302).map(|i| char::from(b'0' + (i * 3 % 10) as u8)).collect();
        let longest = (20..60)
            .take_while(|n| {
                let url = format!("HTTPS://{}/V/{token}", "X".repeat(n - 8));
                printed_qr(&url).expect("qr").version == 8
            })
            .last();
        assert_eq!(longest, Some(33), "the longest base URL for version 8");
        // The same URL in lower case with the token in base64url needs a
        // bigger code (the old spelling).
        let old = format!("https://verify.example.cn/v/{}", "AbC-_9xY".repeat(21));
        assert!(printed_qr(&old).expect("qr").version >= 9);
    }

    #[test]
    fn a_short_url_gets_a_higher_level_and_the_smallest_side() {
        let qr = printed_qr("HTTP://X").expect("qr");
        assert_eq!((qr.version, qr.ec_level), (1, 'H'), "{qr:?}");
        // 16 characters fit version 1 at Q, not at H.
        assert_eq!(printed_qr("HTTPS://X.CN/V/1").expect("qr").ec_level, 'Q');
        assert!((qr.module_mm * qr.modules as f64 - MIN_SIDE_MM).abs() < 1e-9);
        assert!(qr.module_mm > MIN_MODULE_MM);
    }

    #[test]
    fn bad_urls_are_refused_and_the_svg_is_the_code() {
        assert_eq!(printed_qr("").expect_err("empty").code(), "render.qr");
        assert_eq!(printed_qr(&"9".repeat(MAX_VERIFY_URL + 1)).expect_err("long").code(), "render.qr");
        let qr = printed_qr("HTTPS://X.CN/V/1").expect("qr");
        let svg = String::from_utf8(qr.svg).expect("utf-8");
        let side = qr.modules + 2 * QUIET_ZONE;
        assert!(svg.contains(&format!("viewBox=\"0 0 {side} {side}\"")), "{svg}");
        // The top-left finder pattern starts at the quiet zone with a 7-module run.
        assert!(svg.contains("M4 4h7v1h-7z"), "{svg}");
    }
}
