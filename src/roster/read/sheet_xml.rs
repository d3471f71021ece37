//! What calamine does not tell of an xlsx sheet, read from the sheet's XML
//! in the zip: which rows are hidden (`<row r="7" hidden="1">`).
//!
//! The bytes are an upload: the scanner works on bytes, never slices text
//! at a guessed boundary, reads at most [`MAX_PART`] bytes of any part, and
//! gives up quietly (no hidden rows) on anything it does not understand;
//! calamine has read the same parts already.

use std::io::Read;

/// The largest zip part read (a sheet of 20,000 rows of 68 cells is some 60 MiB).
const MAX_PART: u64 = 256 * 1024 * 1024;

/// The 1-based numbers of the hidden rows of the sheet named `sheet` of an
/// xlsx workbook; empty when there are none or the parts cannot be read.
pub(super) fn hidden_rows(bytes: &[u8], sheet: &str) -> Vec<u32> {
    let Ok(mut zip) = zip::ZipArchive::new(std::io::Cursor::new(bytes)) else { return Vec::new() };
    let Some(path) = sheet_path(&mut zip, sheet) else { return Vec::new() };
    let Some(xml) = part(&mut zip, &path) else { return Vec::new() };
    let mut hidden = Vec::new();
    let mut last = 0u32;
    for tag in Tags::new(&xml) {
        if tag.name != b"row" {
            continue;
        }
        let number = tag.attr(b"r").and_then(|r| std::str::from_utf8(r).ok()?.parse().ok()).unwrap_or(last + 1);
        last = number;
        if matches!(tag.attr(b"hidden"), Some(b"1" | b"true")) {
            hidden.push(number);
        }
    }
    hidden
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
    let mut out = Vec::new();
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
    attrs: Vec<(&'a [u8], &'a [u8])>,
}

impl<'a> Tag<'a> {
    /// The value of an unprefixed attribute.
    fn attr(&self, name: &[u8]) -> Option<&'a [u8]> {
        self.attrs.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }

    /// The value of a namespace-prefixed attribute by its local name (`r:id`).
    fn prefixed_attr(&self, local: &[u8]) -> Option<&'a [u8]> {
        self.attrs
            .iter()
            .find(|(n, _)| n.iter().position(|b| *b == b':').is_some_and(|i| &n[i + 1..] == local))
            .map(|(_, v)| *v)
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
            let mut attrs = Vec::new();
            loop {
                while i < xml.len() && matches!(xml[i], b' ' | b'\t' | b'\r' | b'\n') {
                    i += 1;
                }
                match xml.get(i)? {
                    b'>' => break,
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
                attrs.push((attr, &xml[value_start..value_end]));
                i = value_end + 1;
            }
            self.at = i + 1;
            return Some(Tag { name, attrs });
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
    fn references_are_unescaped() {
        assert_eq!(unescape(b"A&amp;B &#x5B66;&#31821; &bogus; &"), "A&B 学籍 &bogus; &");
    }
}
