//! The QR code of every document reads back from the printed page: from a
//! cheap 150 dpi scan, and from a stand-in for a phone photo of the page
//! (300 dpi, turned 7°, Gaussian blur σ 2 px, JPEG quality 60). With
//! `XUEJI_QR_PHOTOS=DIR` the pages and the photos are kept there to look at.

use crate::helpers::*;
use image::{GrayImage, Luma};
use xueji::documents::Options;
use xueji::render::{DocKind, MIN_MODULE_MM, printed_qr};

/// The page turned by `degrees` about its centre (bilinear, white outside).
fn rotate(img: &GrayImage, degrees: f64) -> GrayImage {
    let (w, h) = img.dimensions();
    let (sin, cos) = degrees.to_radians().sin_cos();
    let (cx, cy) = (f64::from(w) / 2.0, f64::from(h) / 2.0);
    GrayImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (f64::from(x) - cx, f64::from(y) - cy);
        // Where this output pixel comes from in the source.
        let (sx, sy) = (cos * dx + sin * dy + cx, -sin * dx + cos * dy + cy);
        let (x0, y0) = (sx.floor(), sy.floor());
        let (fx, fy) = (sx - x0, sy - y0);
        let at = |x: f64, y: f64| -> f64 {
            if x < 0.0 || y < 0.0 || x >= f64::from(w) || y >= f64::from(h) {
                255.0
            } else {
                f64::from(img.get_pixel(x as u32, y as u32).0[0])
            }
        };
        let top = at(x0, y0) * (1.0 - fx) + at(x0 + 1.0, y0) * fx;
        let bottom = at(x0, y0 + 1.0) * (1.0 - fx) + at(x0 + 1.0, y0 + 1.0) * fx;
        Luma([(top * (1.0 - fy) + bottom * fy).round().clamp(0.0, 255.0) as u8])
    })
}

/// What a phone photo of the page does to it: turned 7°, blurred (σ 2 px),
/// saved as JPEG quality 60.
fn degrade(img: &GrayImage) -> GrayImage {
    let turned = rotate(img, 7.0);
    let blurred = image::imageops::blur(&turned, 2.0);
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 60).encode_image(&blurred).expect("jpeg");
    image::load_from_memory(&jpeg).expect("decode jpeg").to_luma8()
}

/// The QR codes rqrr reads in an image, with their corners: as it comes,
/// and if nothing reads, binarised at mid-grey first, as a phone's decoder
/// does (ZXing's hybrid binariser) and a scanner's black-and-white mode.
fn read(img: GrayImage) -> Vec<(String, [rqrr::Point; 4])> {
    let grids = |img: GrayImage| -> Vec<(String, [rqrr::Point; 4])> {
        let mut prepared = rqrr::PreparedImage::prepare(img);
        prepared.detect_grids().into_iter().filter_map(|g| g.decode().ok().map(|(_, text)| (text, g.bounds))).collect()
    };
    let found = grids(img.clone());
    if !found.is_empty() {
        return found;
    }
    let mut flat = img;
    for px in flat.pixels_mut() {
        px.0[0] = if px.0[0] < 128 { 0 } else { 255 };
    }
    grids(flat)
}

#[tokio::test]
async fn every_documents_qr_code_reads_from_a_scan_and_from_a_phone_photo() {
    let app = spawn_app().await;
    assert!(import_rows(app.db(), TOWN, vec![first_grader("欧阳小明", 71)]).await.committed);
    let pid = app.public_id("欧阳小明").await;
    let mut conn = app.db().pool.acquire().await.unwrap();
    let student = xueji::db::students::by_public_id(&mut conn, &pid).await.unwrap().unwrap();
    drop(conn);
    let school = xueji::db::schools::by_code(&app.db().pool, TOWN).await.unwrap().unwrap();
    let dir = tempfile::tempdir().unwrap();
    for kind in DocKind::ALL {
        // A certificate's number as long as the county's (18 characters).
        let number = kind.is_certificate().then_some("2201222026G1000123");
        let id = xueji::verify::DocumentId::random();
        // A status index as a county reaches after years of printing.
        let opts = Options { status_index: Some(4_000_000), ..Options::default() };
        let req =
            xueji::documents::request(&app.app, &student, &school, kind, id, number, today(), &opts).await.unwrap();
        let url = req.data["document"]["verify_url"].as_str().unwrap().to_owned();
        let qr = printed_qr(&url).unwrap();
        println!(
            "{kind}: URL {} characters, QR version {} level {}, {} modules, {:.2} mm a module, {:.1} mm wide",
            url.len(),
            qr.version,
            qr.ec_level,
            qr.modules,
            qr.module_mm,
            qr.width_mm
        );
        assert!(qr.module_mm >= MIN_MODULE_MM, "{kind}: {qr:?}");
        assert!(url.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase() || b":/.".contains(&b)), "{url}");
        let pdf = app.app.renderer.render(&req).unwrap().bytes;

        // A 150 dpi scan.
        let scan = image::open(rasterise_at(&pdf, dir.path(), 150)).unwrap().to_luma8();
        if let Ok(keep) = std::env::var("XUEJI_QR_PHOTOS") {
            scan.save(std::path::Path::new(&keep).join(format!("{kind}-page.png"))).unwrap();
            std::fs::write(std::path::Path::new(&keep).join(format!("{kind}.pdf")), &pdf).unwrap();
        }
        let found = read(scan);
        assert_eq!(found.len(), 1, "{kind}: one QR code read at 150 dpi");
        assert_eq!(found[0].0, url, "{kind}");

        // A phone photo: the code and 15 mm around it at 300 dpi, degraded.
        let page = image::open(rasterise_at(&pdf, dir.path(), 300)).unwrap().to_luma8();
        // The code and 15 mm around it, white beyond the page's edge (the
        // heading's code sits in the top margin, near the edge): turned, a
        // tight crop would lose the corner of the code, as no photo does.
        let corners = found[0].1;
        let (xs, ys) = (corners.map(|p| p.x * 2), corners.map(|p| p.y * 2));
        let margin = (15.0 / 25.4 * 300.0) as i32;
        let (left, top) = (xs.iter().min().unwrap() - margin, ys.iter().min().unwrap() - margin);
        let (right, bottom) = (xs.iter().max().unwrap() + margin, ys.iter().max().unwrap() + margin);
        let (w, h) = (page.width() as i32, page.height() as i32);
        let crop = GrayImage::from_fn((right - left) as u32, (bottom - top) as u32, |x, y| {
            let (px, py) = (left + x as i32, top + y as i32);
            if (0..w).contains(&px) && (0..h).contains(&py) {
                *page.get_pixel(px as u32, py as u32)
            } else {
                Luma([255])
            }
        });
        let photo = degrade(&crop);
        if let Ok(keep) = std::env::var("XUEJI_QR_PHOTOS") {
            photo.save(std::path::Path::new(&keep).join(format!("{kind}.png"))).unwrap();
        }
        // Read as `xueji verify --image` reads a photo.
        assert_eq!(xueji::cli::verify::decode_gray(photo), vec![url.clone()], "{kind}: the photo");
    }
}
