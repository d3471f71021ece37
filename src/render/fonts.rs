//! The bundled fonts: loaded once from the fonts directory, never from the
//! system, plus the coverage checks that keep tofu off paper.
//!
//! Font files are read into memory (the crate forbids `unsafe`, so no mmap);
//! every face of every `.otf`/`.ttf`/`.ttc`/`.otc` file is registered, in file
//! name order so that the font book, and so the output, never depends on the
//! order a directory lists its entries.
//!
//! [`Coverage`] is the one answer to "can this character be printed": the
//! renderer checks each document's data with it, and the roster import and
//! the workflows check text with the same value where it enters the records.
//! [`Coverage::load`] reads it from the same files without keeping their bytes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use typst::foundations::Bytes;
use typst::layout::{Frame, FrameItem};
use typst::text::{Font, FontBook, FontInfo};
use typst::utils::LazyHash;

use super::error::{RenderError, Unprintable};

/// The loaded faces and their book.
pub(crate) struct FontSet {
    /// Metadata of every face, in load order.
    pub(crate) book: LazyHash<FontBook>,
    /// The faces; `fonts[i]` belongs to `book.info(i)`.
    pub(crate) fonts: Vec<Font>,
    /// What the faces can print together.
    pub(crate) coverage: Coverage,
}

impl FontSet {
    /// Loads every font file of `dir`.
    pub(crate) fn load(dir: &Path) -> Result<Self, RenderError> {
        let mut fonts = Vec::new();
        for path in font_paths(dir)? {
            let data = read_font(&path)?;
            let before = fonts.len();
            fonts.extend(Font::iter(Bytes::new(data)));
            if fonts.len() == before {
                return Err(not_a_font(&path));
            }
        }
        if fonts.is_empty() {
            return Err(no_fonts(dir));
        }
        let book = FontBook::from_fonts(fonts.iter());
        let coverage = Coverage::from_infos(fonts.iter().map(Font::info));
        Ok(FontSet { book: LazyHash::new(book), fonts, coverage })
    }

    /// The family names, deduplicated, in load order.
    pub(crate) fn families(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for i in 0..self.fonts.len() {
            if let Some(info) = self.book.info(i)
                && !out.contains(&info.family)
            {
                out.push(info.family.clone());
            }
        }
        out
    }
}

/// The font files of `dir` (`.otf`, `.ttf`, `.ttc`, `.otc`), in file name order.
fn font_paths(dir: &Path) -> Result<Vec<PathBuf>, RenderError> {
    let entries = std::fs::read_dir(dir).map_err(|e| RenderError::Fonts(format!("{}: {e}", dir.display())))?;
    let mut paths: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .map(|e| matches!(e.to_ascii_lowercase().as_str(), "otf" | "ttf" | "ttc" | "otc"))
                .unwrap_or(false)
        })
        .collect();
    paths.sort();
    Ok(paths)
}

fn read_font(path: &Path) -> Result<Vec<u8>, RenderError> {
    std::fs::read(path).map_err(|e| RenderError::Fonts(format!("{}: {e}", path.display())))
}

fn not_a_font(path: &Path) -> RenderError {
    RenderError::Fonts(format!("{} 不是可用的字体文件", path.display()))
}

fn no_fonts(dir: &Path) -> RenderError {
    RenderError::Fonts(format!("目录 {} 中没有字体文件", dir.display()))
}

/// Which characters the bundled fonts can print: the union of every face's
/// coverage. The renderer checks the data of each document with it, and the
/// places where text enters the records (roster import, workflow requests)
/// check with the same value, so what was accepted can be printed.
///
/// Cheap to clone (the ranges are shared). Built by the renderer from its
/// loaded faces ([`Renderer::coverage`](super::Renderer::coverage)), or on its
/// own by [`Coverage::load`], which keeps no font data.
#[derive(Clone, PartialEq, Eq)]
pub struct Coverage {
    /// Sorted, disjoint, inclusive code point ranges.
    ranges: Arc<[(u32, u32)]>,
    /// The same for the Basic Multilingual Plane, one bit per code point
    /// (8 KiB): the roster import asks about every character of every cell.
    bmp: Arc<[u64]>,
}

impl std::fmt::Debug for Coverage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coverage").field("ranges", &self.ranges.len()).finish_non_exhaustive()
    }
}

impl Coverage {
    /// Reads only the coverage of the font files of `dir` (the same files,
    /// in the same order, as the renderer loads): each face's character map
    /// is parsed, then the font bytes are dropped. Fails as the renderer
    /// would on an unreadable directory, a file that is no font, or no font.
    pub fn load(dir: &Path) -> Result<Self, RenderError> {
        let mut infos = Vec::new();
        for path in font_paths(dir)? {
            let data = read_font(&path)?;
            let before = infos.len();
            infos.extend(FontInfo::iter(&data));
            if infos.len() == before {
                return Err(not_a_font(&path));
            }
        }
        if infos.is_empty() {
            return Err(no_fonts(dir));
        }
        Ok(Self::from_infos(infos.iter()))
    }

    /// The union of the faces' coverage.
    fn from_infos<'a>(infos: impl IntoIterator<Item = &'a FontInfo>) -> Self {
        Self::from_code_points(infos.into_iter().flat_map(|info| info.coverage.iter()).collect())
    }

    /// Coverage of exactly these code points (any order, repeats allowed).
    fn from_code_points(mut points: Vec<u32>) -> Self {
        points.sort_unstable();
        points.dedup();
        let mut ranges: Vec<(u32, u32)> = Vec::new();
        for cp in points {
            match ranges.last_mut() {
                Some((_, end)) if *end + 1 == cp => *end = cp,
                _ => ranges.push((cp, cp)),
            }
        }
        let mut bmp = vec![0u64; 0x10000 / 64];
        for &(start, end) in &ranges {
            for cp in start..=end.min(0xFFFF) {
                bmp[cp as usize / 64] |= 1 << (cp % 64);
            }
        }
        Coverage { ranges: ranges.into(), bmp: bmp.into() }
    }

    /// Whether some bundled face maps `c` to a glyph.
    fn covers(&self, c: char) -> bool {
        let cp = c as u32;
        if cp <= 0xFFFF {
            return self.bmp[cp as usize / 64] & (1 << (cp % 64)) != 0;
        }
        let i = self.ranges.partition_point(|&(start, _)| start <= cp);
        i > 0 && self.ranges[i - 1].1 >= cp
    }

    /// Whether `c` prints: it has a glyph, or needs none (controls, joiners,
    /// variation selectors and other default-ignorable characters).
    pub fn can_print(&self, c: char) -> bool {
        needs_no_glyph(c) || self.covers(c)
    }

    /// The first character of `text` that cannot be printed, if any.
    pub fn first_unprintable(&self, text: &str) -> Option<char> {
        text.chars().find(|&c| !self.can_print(c))
    }

    /// Checks a text that will be printed in `field` (named as the person
    /// entering it knows it, e.g. `姓名`): refused with the first character
    /// that cannot be printed and its code point.
    pub fn check(&self, field: &str, text: &str) -> Result<(), Unprintable> {
        match self.first_unprintable(text) {
            None => Ok(()),
            Some(ch) => Err(Unprintable { field: field.to_owned(), ch, codepoint: codepoint(ch) }),
        }
    }
}

/// Whether `c` needs no glyph of its own: controls, line breaks and the
/// default-ignorable characters (joiners, variation selectors, BOM) are
/// consumed by shaping and never printed as a box.
pub(crate) fn needs_no_glyph(c: char) -> bool {
    c.is_control()
        || matches!(c as u32,
            0x00AD | 0x034F | 0x061C | 0x115F | 0x1160 | 0x17B4 | 0x17B5
            | 0x180B..=0x180F | 0x200B..=0x200F | 0x202A..=0x202E
            | 0x2060..=0x206F | 0x3164 | 0xFE00..=0xFE0F | 0xFEFF | 0xFFA0
            | 0xFFF0..=0xFFF8 | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A
            | 0xE0000..=0xE0FFF)
}

/// A glyph that came out as `.notdef` (id 0) after layout.
pub(crate) struct Notdef {
    /// The character(s) the glyph stands for.
    pub(crate) ch: char,
    /// The source span of the text, for naming the template line.
    pub(crate) span: typst::syntax::Span,
}

/// Walks a laid-out frame (and its groups) for glyph id 0.
pub(crate) fn find_notdef(frame: &Frame) -> Option<Notdef> {
    for (_, item) in frame.items() {
        match item {
            FrameItem::Group(group) => {
                if let Some(found) = find_notdef(&group.frame) {
                    return Some(found);
                }
            }
            FrameItem::Text(text) => {
                for glyph in &text.glyphs {
                    if glyph.id == 0 {
                        let ch = text.text.get(glyph.range()).and_then(|s| s.chars().find(|&c| !needs_no_glyph(c)));
                        // A zero glyph for whitespace or an ignorable is harmless.
                        if let Some(ch) = ch
                            && !ch.is_whitespace()
                        {
                            return Some(Notdef { ch, span: glyph.span.0 });
                        }
                    }
                }
            }
            _ => {}
        }
    }
    None
}

/// `U+XXXX` (at least four hex digits) for a character.
pub(crate) fn codepoint(c: char) -> String {
    format!("U+{:04X}", c as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fonts_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fonts")
    }

    #[test]
    fn code_points_become_merged_ranges() {
        let c = Coverage::from_code_points(vec![0x4E01, 0x41, 0x42, 0x4E00, 0x43, 0x41, 0x4E03]);
        assert_eq!(&*c.ranges, &[(0x41, 0x43), (0x4E00, 0x4E01), (0x4E03, 0x4E03)]);
        assert!(c.can_print('A') && c.can_print('C') && c.can_print('丁'));
        assert!(!c.can_print('D') && !c.can_print('丂') && !c.can_print('@'));
    }

    #[test]
    fn characters_that_need_no_glyph_always_print() {
        let c = Coverage::from_code_points(vec![0x4E00]);
        for ch in ['\n', '\t', '\u{200D}', '\u{FE0F}', '\u{FEFF}', '\u{E0100}'] {
            assert!(c.can_print(ch), "{}", codepoint(ch));
        }
        assert_eq!(c.first_unprintable("一\u{200D}一\u{FE00}"), None);
    }

    #[test]
    fn check_names_the_field_the_character_and_its_code_point() {
        let c = Coverage::from_code_points("张三".chars().map(u32::from).collect());
        assert_eq!(c.check("姓名", "张三"), Ok(()));
        assert_eq!(c.check("姓名", ""), Ok(()));
        assert_eq!(c.first_unprintable("张\u{E000}三\u{E001}"), Some('\u{E000}'));
        let e = c.check("姓名", "张\u{E000}").unwrap_err();
        assert_eq!(e, Unprintable { field: "姓名".into(), ch: '\u{E000}', codepoint: "U+E000".into() });
        assert_eq!(e.to_string(), "字段“姓名”中的字符“\u{E000}”（U+E000）无法用随附字体打印，请改用规范汉字");
        assert_eq!(Unprintable::CODE, "text.unprintable");
        // Beyond the BMP: at least four, up to six hex digits.
        let e = c.check("现住址", "张\u{F0000}").unwrap_err();
        assert_eq!(e.codepoint, "U+F0000");
    }

    #[test]
    fn coverage_alone_equals_the_renderers_and_keeps_private_use_out() {
        let alone = Coverage::load(&fonts_dir()).expect("bundled fonts");
        let set = FontSet::load(&fonts_dir()).expect("bundled fonts");
        assert!(alone == set.coverage, "Coverage::load and the renderer's font set disagree");
        // Clones share the ranges.
        let clone = alone.clone();
        assert!(Arc::ptr_eq(&clone.ranges, &alone.ranges));
        // Everyday and rare name characters and pinyin print; private use does not.
        let names = ['张', '王', '䶮', '𠀀', '堃', '喆', 'A', '1', '（', '·'];
        for ch in names.into_iter().chain(['ā', 'ǎ', 'ǚ', 'ü', 'ê', 'ḿ']) {
            assert!(alone.can_print(ch), "{ch} {}", codepoint(ch));
        }
        for ch in ['\u{E000}', '\u{F8FF}', '\u{F0000}', '\u{10FFFD}'] {
            assert!(!alone.can_print(ch), "{}", codepoint(ch));
        }
        // The plane-0 bitmap answers as the ranges do, code point by code point.
        let mut by_ranges = vec![false; 0x10000];
        for &(a, b) in alone.ranges.iter().filter(|r| r.0 <= 0xFFFF) {
            by_ranges[a as usize..=b.min(0xFFFF) as usize].fill(true);
        }
        assert!(by_ranges.iter().filter(|&&b| b).count() > 20_000, "the CJK faces cover plane 0");
        for ch in (0..=0xFFFF).filter_map(char::from_u32) {
            assert_eq!(alone.covers(ch), by_ranges[ch as usize], "{}", codepoint(ch));
        }
    }

    #[test]
    fn a_directory_without_fonts_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(Coverage::load(dir.path()), Err(RenderError::Fonts(_))));
        std::fs::write(dir.path().join("x.ttf"), b"not a font").unwrap();
        match Coverage::load(dir.path()) {
            Err(RenderError::Fonts(m)) => assert!(m.contains("不是可用的字体文件"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(Coverage::load(&dir.path().join("missing")), Err(RenderError::Fonts(_))));
    }
}
