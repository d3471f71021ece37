//! What calamine does not tell of an xlsx sheet, read from the sheet's XML
//! in the zip: which rows are hidden (`<row r="7" hidden="1">`), and the
//! merged regions (`<mergeCell ref="Q2:Q3">`), in one pass.
//!
//! The bytes are an upload: the scanner works on bytes, never slices text
//! at a guessed boundary, reads at most [`MAX_PART`] bytes of any part, and
//! gives up quietly on anything it does not understand; calamine has read
//! the same parts already.

use calamine::Dimensions;
use std::io::Read;

/// The largest zip part read (a sheet of 20,000 rows of 68 cells is some 60 MiB).
const MAX_PART: u64 = 256 * 1024 * 1024;

/// What one pass over a sheet's XML found.
#[derive(Debug, Default)]
pub(super) struct Layout {
    /// The 1-based numbers of the hidden rows, in the order of the file.
    pub(super) hidden_rows: Vec<u32>,
    /// The merged regions (0-based sheet coordinates), as calamine gives them.
    pub(super) merged: Vec<Dimensions>,
}

/// The hidden rows and merged regions of the sheet named `sheet` of an xlsx
/// workbook; `None` when its part cannot be found or read. One pass over
/// the sheet's XML: calamine's own merged-cell reader parses the whole sheet
/// again to reach the `<mergeCells>` after the data.
pub(super) fn layout(bytes: &[u8], sheet: &str) -> Option<Layout> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).ok()?;
    let path = sheet_path(&mut zip, sheet)?;
    let xml = part(&mut zip, &path)?;
    let mut found = Layout::default();
    let mut last = 0u32;
    for tag in Tags::new(&xml) {
        if tag.name == b"row" {
            let number = tag.attr(b"r").and_then(|r| std::str::from_utf8(r).ok()?.parse().ok()).unwrap_or(last + 1);
            last = number;
            if matches!(tag.attr(b"hidden"), Some(b"1" | b"true")) {
                found.hidden_rows.push(number);
            }
        } else if tag.name == b"mergeCell"
            && let Some(region) = tag.attr(b"ref").and_then(dimensions)
        {
            found.merged.push(region);
        }
    }
    Some(found)
}

/// A cell range (`A1:F1`) or one cell (`B3`) as 0-based `(row, column)`
/// corners, read the way calamine reads a `ref`.
fn dimensions(reference: &[u8]) -> Option<Dimensions> {
    let mut corners = reference.split(|b| *b == b':');
    let start = cell(corners.next()?)?;
    let end = corners.next().map_or(Some(start), cell)?;
    if corners.next().is_some() || end.0 < start.0 || end.1 < start.1 {
        return None;
    }
    Some(Dimensions { start, end })
}

/// One cell reference (`AB12`, either case) as 0-based `(row, column)`.
fn cell(reference: &[u8]) -> Option<(u32, u32)> {
    let letters = reference.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    let (col, row) = reference.split_at(letters);
    if col.is_empty() || col.len() > 3 || row.is_empty() || row.len() > 7 || !row.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let col = col.iter().fold(0u32, |n, b| n * 26 + u32::from(b.to_ascii_uppercase() - b'A') + 1);
    let row = row.iter().fold(0u32, |n, b| n * 10 + u32::from(b - b'0'));
    Some((row.checked_sub(1)?, col - 1))
}

/// The zip path of a sheet: its relationship id in `xl/workbook.xml`, its
/// target in `xl/_rels/workbook.xml.rels`.
fn sheet_path<R: Read + std::io::Seek>(zip: &mut zip::ZipArchive<R>, sheet: &str) -> Option<String> {
    let workbook = part(zip, "xl/workbook.xml")?;
    let rel = Tags::new(&workbook)
        .filter(|t| t.name == b"sheet")
        .find(|t| t.attr(b"name").map(unescape).as_deref() == Some(sheet))?
        .prefixed_attr(b"id")?
        .to_vec();
    let rels = part(zip, "xl/_rels/workbook.xml.rels")?;
    let target = Tags::new(&rels)
        .filter(|t| t.name == b"Relationship")
        .find(|t| t.attr(b"Id") == Some(rel.as_slice()))?
        .attr(b"Target")
        .map(unescape)?;
    Some(match target.strip_prefix('/') {
        Some(absolute) => absolute.to_owned(),
        None => format!("xl/{target}"),
    })
}

fn part<R: Read + std::io::Seek>(zip: &mut zip::ZipArchive<R>, name: &str) -> Option<Vec<u8>> {
    let file = zip.by_name(name).ok()?;
    // The size the zip declares, as a first guess (the read stops at MAX_PART whatever it says).
    let mut out = Vec::with_capacity(usize::try_from(file.size().min(MAX_PART)).unwrap_or(0));
    file.take(MAX_PART).read_to_end(&mut out).ok()?;
    Some(out)
}

/// An attribute value with XML's character references replaced.
fn unescape(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_ref();
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest.find(';') else { break };
        let entity = &rest[1..semi];
        let ch = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .map(|h| u32::from_str_radix(h, 16))
                .or_else(|| entity.strip_prefix('#').map(str::parse::<u32>))
                .and_then(Result::ok)
                .and_then(char::from_u32),
        };
        match ch {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A start (or empty-element) tag: its local name and attributes.
struct Tag<'a> {
    name: &'a [u8],
    /// The tag from just after its name to its closing `>`: the attributes,
    /// read only when asked for (most tags of a sheet never are).
    rest: &'a [u8],
}

impl<'a> Tag<'a> {
    /// The value of an unprefixed attribute.
    fn attr(&self, name: &[u8]) -> Option<&'a [u8]> {
        self.find_attr(|n| n == name)
    }

    /// The value of a namespace-prefixed attribute by its local name (`r:id`).
    fn prefixed_attr(&self, local: &[u8]) -> Option<&'a [u8]> {
        self.find_attr(|n| n.iter().position(|b| *b == b':').is_some_and(|i| &n[i + 1..] == local))
    }

    fn find_attr(&self, wanted: impl Fn(&[u8]) -> bool) -> Option<&'a [u8]> {
        let mut found = None;
        attributes(self.rest, 0, |n, v| {
            if found.is_none() && wanted(n) {
                found = Some(v);
            }
        });
        found
    }
}

/// Reads the attributes of a tag from `i` (just after its name), handing
/// each `(name, value)` to `each`; the index of the tag's closing `>`, or
/// `None` where the XML breaks off or is no XML (the scan ends there).
fn attributes<'a>(xml: &'a [u8], mut i: usize, mut each: impl FnMut(&'a [u8], &'a [u8])) -> Option<usize> {
    loop {
        while i < xml.len() && matches!(xml[i], b' ' | b'\t' | b'\r' | b'\n') {
            i += 1;
        }
        match xml.get(i)? {
            b'>' => return Some(i),
            b'/' => {
                i += 1;
                continue;
            }
            _ => {}
        }
        let attr_start = i;
        while i < xml.len() && !matches!(xml[i], b'=' | b' ' | b'\t' | b'\r' | b'\n' | b'>' | b'/') {
            i += 1;
        }
        let attr = &xml[attr_start..i];
        while i < xml.len() && matches!(xml[i], b' ' | b'\t' | b'\r' | b'\n') {
            i += 1;
        }
        if xml.get(i) != Some(&b'=') {
            // An attribute without a value is not XML: look no further in this tag.
            continue;
        }
        i += 1;
        while i < xml.len() && matches!(xml[i], b' ' | b'\t' | b'\r' | b'\n') {
            i += 1;
        }
        let quote = *xml.get(i)?;
        if quote != b'"' && quote != b'\'' {
            return None;
        }
        let value_start = i + 1;
        let value_end = value_start + xml.get(value_start..)?.iter().position(|b| *b == quote)?;
        each(attr, &xml[value_start..value_end]);
        i = value_end + 1;
    }
}

/// The start tags of a document in order, names without their prefix.
struct Tags<'a> {
    xml: &'a [u8],
    at: usize,
}

impl<'a> Tags<'a> {
    fn new(xml: &'a [u8]) -> Self {
        Self { xml, at: 0 }
    }

    fn position_of(&self, from: usize, needle: &[u8]) -> Option<usize> {
        self.xml.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|i| from + i)
    }
}

impl<'a> Iterator for Tags<'a> {
    type Item = Tag<'a>;

    fn next(&mut self) -> Option<Tag<'a>> {
        let xml = self.xml;
        loop {
            let open = self.at + xml.get(self.at..)?.iter().position(|b| *b == b'<')?;
            let rest = xml.get(open + 1..)?;
            // Comments, CDATA, declarations and end tags are skipped whole.
            let skip_to: Option<&[u8]> = if rest.starts_with(b"!--") {
                Some(b"-->")
            } else if rest.starts_with(b"![CDATA[") {
                Some(b"]]>")
            } else if matches!(rest.first(), Some(b'!' | b'?' | b'/')) {
                Some(b">")
            } else {
                None
            };
            if let Some(end) = skip_to {
                self.at = self.position_of(open + 1, end)? + end.len();
                continue;
            }
            let mut i = open + 1;
            let name_start = i;
            while i < xml.len() && !matches!(xml[i], b' ' | b'\t' | b'\r' | b'\n' | b'/' | b'>') {
                i += 1;
            }
            let qualified = &xml[name_start..i];
            let name = qualified.iter().position(|b| *b == b':').map_or(qualified, |c| &qualified[c + 1..]);
            let close = attributes(xml, i, |_, _| {})?;
            self.at = close + 1;
            return Some(Tag { name, rest: &xml[i..=close] });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_attributes_are_read_whatever_the_prefix_and_quotes() {
        let xml = br#"<?xml version="1.0"?><!-- <row r="9" hidden="1"> --><x:worksheet><x:sheetData>
            <x:row r='3' hidden='1' spans="1:2"><x:c r="A3"><x:v>1</x:v></x:c></x:row><row r="4"/>
            <![CDATA[<row r="8" hidden="1">]]></x:sheetData></x:worksheet>"#;
        let rows: Vec<(Vec<u8>, Option<Vec<u8>>)> = Tags::new(xml)
            .filter(|t| t.name == b"row")
            .map(|t| (t.attr(b"r").unwrap().to_vec(), t.attr(b"hidden").map(<[u8]>::to_vec)))
            .collect();
        assert_eq!(rows, [(b"3".to_vec(), Some(b"1".to_vec())), (b"4".to_vec(), None)]);
    }

    #[test]
    fn broken_xml_ends_the_scan_without_a_panic() {
        for xml in [&b"<row r=\"1"[..], b"<", b"<row", b"<row r=1>", b"<!--", b"<row a", "<行 名=\"值\">".as_bytes()]
        {
            let _ = Tags::new(xml).count();
        }
    }

    #[test]
    fn merged_regions_and_hidden_rows_come_from_one_pass_as_calamine_reads_them() {
        use calamine::Reader;
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.set_name("名册").unwrap();
        let f = rust_xlsxwriter::Format::new();
        sheet.merge_range(0, 0, 0, 5, "标题", &f).unwrap();
        sheet.merge_range(3, 16, 4, 16, "吉林省", &f).unwrap();
        sheet.merge_range(9, 26, 12, 29, "长春", &f).unwrap();
        sheet.write_string(7, 0, "王小明").unwrap();
        sheet.set_row_hidden(7).unwrap();
        sheet.set_row_hidden(20).unwrap();
        let bytes = book.save_to_buffer().unwrap();
        let found = layout(&bytes, "名册").unwrap();
        let mut xlsx: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(&bytes)).unwrap();
        let _ = xlsx.worksheet_range("名册").unwrap();
        assert_eq!(found.merged, xlsx.merge_cells_by_sheet_name("名册").unwrap());
        assert_eq!(found.merged.len(), 3);
        assert_eq!(found.hidden_rows, [8, 21]);
        assert!(layout(&bytes, "别的表").is_none());
    }

    #[test]
    fn cell_references_are_read_as_calamine_reads_them() {
        let d = |start, end| Some(Dimensions { start, end });
        assert_eq!(dimensions(b"A1:F1"), d((0, 0), (0, 5)));
        assert_eq!(dimensions(b"q2:Q3"), d((1, 16), (2, 16)));
        assert_eq!(dimensions(b"AB12"), d((11, 27), (11, 27)));
        assert_eq!(dimensions(b"XFD1048576"), d((1_048_575, 16_383), (1_048_575, 16_383)));
        for bad in [&b""[..], b"A", b"1", b"A0", b"A1:", b"A1:B2:C3", b"A-1", b"ABCD1", b"A12345678", b"B2:A1"] {
            assert_eq!(dimensions(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn references_are_unescaped() {
        assert_eq!(unescape(b"A&amp;B &#x5B66;&#31821; &bogus; &"), "A&B 学籍 &bogus; &");
    }
}
