//! The bundled fonts: loaded once from the fonts directory, never from the
//! system, plus the coverage checks that keep tofu off paper.
//!
//! Font files are read into memory (the crate forbids `unsafe`, so no mmap);
//! every face of every `.otf`/`.ttf`/`.ttc`/`.otc` file is registered, in file
//! name order so that the font book, and so the output, never depends on the
//! order a directory lists its entries.

use std::path::Path;

use typst::foundations::Bytes;
use typst::layout::{Frame, FrameItem};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;

use super::error::RenderError;

/// The loaded faces and their book.
pub(crate) struct FontSet {
    /// Metadata of every face, in load order.
    pub(crate) book: LazyHash<FontBook>,
    /// The faces; `fonts[i]` belongs to `book.info(i)`.
    pub(crate) fonts: Vec<Font>,
    /// The union of all faces' coverage as sorted, disjoint, inclusive ranges.
    coverage: Vec<(u32, u32)>,
}

impl FontSet {
    /// Loads every font file of `dir`.
    pub(crate) fn load(dir: &Path) -> Result<Self, RenderError> {
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

        let mut fonts = Vec::new();
        for path in &paths {
            let data = std::fs::read(path).map_err(|e| RenderError::Fonts(format!("{}: {e}", path.display())))?;
            let before = fonts.len();
            fonts.extend(Font::iter(Bytes::new(data)));
            if fonts.len() == before {
                return Err(RenderError::Fonts(format!("{} 不是可用的字体文件", path.display())));
            }
        }
        if fonts.is_empty() {
            return Err(RenderError::Fonts(format!("目录 {} 中没有字体文件", dir.display())));
        }
        let book = FontBook::from_fonts(fonts.iter());
        let mut points: Vec<u32> = fonts.iter().flat_map(|f| f.info().coverage.iter()).collect();
        points.sort_unstable();
        points.dedup();
        let mut coverage: Vec<(u32, u32)> = Vec::new();
        for cp in points {
            match coverage.last_mut() {
                Some((_, end)) if *end + 1 == cp => *end = cp,
                _ => coverage.push((cp, cp)),
            }
        }
        Ok(FontSet { book: LazyHash::new(book), fonts, coverage })
    }

    /// Whether some bundled face maps `c` to a glyph.
    pub(crate) fn covers(&self, c: char) -> bool {
        let cp = c as u32;
        let i = self.coverage.partition_point(|&(start, _)| start <= cp);
        i > 0 && self.coverage[i - 1].1 >= cp
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
