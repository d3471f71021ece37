//! The one streaming pass over an uploaded PDF: its pages are counted
//! ([`PageCounter`]), and its syntax is read ([`PdfSyntax`]) for nesting
//! deeper than the limit and for the names of active content.
//!
//! Stream data is only read for names when the stream is not filtered: a
//! compressed stream's bytes are noise, and a name-like run in them
//! (`/JS` followed by a space turns up in about one 300 KB font or image
//! in a thousand) is not a name. Names inside compressed object streams
//! are therefore not seen: this keeps the obvious out, it is no sandbox.

use std::io::Read;
use std::path::Path;

use super::{InspectConfig, fault_point, stage};
use crate::error::{ArchiveError, IoContext, Result};

/// One streaming pass over a PDF: counts its pages (see [`PageCounter`]),
/// checks its nesting and looks for active content (see [`PdfSyntax`]).
/// Stops at the first chunk that nests too deep, names active content or
/// brings the page count past `max_pages`.
pub(super) fn scan_pdf(reader: &mut dyn Read, path: &Path, config: &InspectConfig) -> Result<u32> {
    let mut chunk = vec![0u8; crate::CHUNK_SIZE];
    let mut pages = PageCounter::default();
    let mut syntax = PdfSyntax::new(config.max_pdf_depth);
    loop {
        let n = crate::fsutil::read_retrying(reader, &mut chunk).ctx("读取文件", path)?;
        fault_point(stage::PDF_SCAN);
        match syntax.feed(&chunk[..n]) {
            Some(Finding::TooDeep) => return Err(ArchiveError::PdfTooDeep { limit: config.max_pdf_depth }),
            Some(Finding::Active(what)) => return Err(ArchiveError::PdfActiveContent { what }),
            None => {}
        }
        let count = pages.feed(&chunk[..n]);
        if count > config.max_pages {
            return Err(ArchiveError::TooManyPages { limit: config.max_pages });
        }
        if n == 0 {
            return Ok(count);
        }
    }
}

/// Counts `/Type /Page` dictionary entries (not `/Pages`) in a stream,
/// chunk by chunk: a small state machine over the bytes, so that an entry
/// is counted wherever the chunk edges fall, in constant memory.
#[derive(Default)]
struct PageCounter {
    /// How many bytes of `/Type` the last bytes matched.
    type_matched: usize,
    /// Where the bytes after the last complete `/Type` stand.
    after: AfterType,
    count: u32,
}

/// What follows a `/Type` for it to be a page entry: whitespace or nothing,
/// `/Page`, then the end or whitespace or a delimiter (not `/Pages`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum AfterType {
    /// No `/Type` being looked at.
    #[default]
    Idle,
    /// Right after `/Type`, which must end here (not `/TypeFoo`).
    Start,
    /// In the whitespace after `/Type`.
    Space,
    /// This many bytes of `/Page` matched.
    Page(usize),
    /// After `/Page`: one more byte decides.
    End,
}

impl PageCounter {
    /// Feeds the next chunk (empty at the end) and returns the count so far.
    fn feed(&mut self, chunk: &[u8]) -> u32 {
        if chunk.is_empty() && self.after == AfterType::End {
            // `/Page` ends the file.
            self.count = self.count.saturating_add(1);
            self.after = AfterType::Idle;
        }
        for &b in chunk {
            self.step(b);
        }
        self.count
    }

    fn step(&mut self, b: u8) {
        const TYPE: &[u8] = b"/Type";
        const PAGE: &[u8] = b"/Page";
        self.after = match self.after {
            AfterType::Idle => AfterType::Idle,
            AfterType::Start | AfterType::Space if is_pdf_space(b) => AfterType::Space,
            AfterType::Start | AfterType::Space if b == b'/' => AfterType::Page(1),
            AfterType::Start | AfterType::Space => AfterType::Idle,
            AfterType::Page(n) if b == PAGE[n] && n + 1 == PAGE.len() => AfterType::End,
            AfterType::Page(n) if b == PAGE[n] => AfterType::Page(n + 1),
            AfterType::Page(_) => AfterType::Idle,
            AfterType::End => {
                if is_pdf_space(b) || b"/<>[]()%{}".contains(&b) {
                    self.count = self.count.saturating_add(1);
                }
                AfterType::Idle
            }
        };
        // `/Type` cannot overlap itself (only its first byte is `/`), so a
        // mismatch starts again from zero, or from one at a `/`.
        self.type_matched = if b == TYPE[self.type_matched] { self.type_matched + 1 } else { usize::from(b == b'/') };
        if self.type_matched == TYPE.len() {
            self.type_matched = 0;
            self.after = AfterType::Start;
        }
    }
}

/// Names of active content: scripts, launch actions, embedded files, rich
/// media and XFA forms (without their `/`), and what the refusal calls them.
const ACTIVE: [(&[u8], &str); 6] = [
    (b"JavaScript", "脚本（JavaScript）"),
    (b"JS", "脚本（JavaScript）"),
    (b"Launch", "启动外部程序的动作"),
    (b"EmbeddedFile", "嵌入的文件"),
    (b"RichMedia", "多媒体内容"),
    (b"XFA", "XFA 表单"),
];

/// What [`PdfSyntax`] stopped at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Finding {
    /// Arrays and dictionaries nest deeper than the limit.
    TooDeep,
    /// A name of active content, as the refusal calls it.
    Active(&'static str),
}

/// Where [`PdfSyntax`] is in the PDF's syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PdfState {
    /// Between tokens or inside a number, keyword or name.
    Normal,
    /// After `%`, up to the end of the line.
    Comment,
    /// Inside a literal string `( … )`: open parentheses, and whether the
    /// previous byte was a backslash.
    Literal { parens: u32, escaped: bool },
    /// Inside a hex string `< … >`.
    Hex,
    /// After one `<`: a dictionary (`<<`) or a hex string follows.
    Less,
    /// After one `>`: the end of a dictionary (`>>`) or a stray byte.
    Greater,
    /// Inside stream data, up to `endstream`: how much of it matched so
    /// far, and whether the data is plain (its dictionary names no
    /// `/Filter`), so that names in it are looked at.
    Stream { matched: usize, plain: bool },
}

/// A name being read, from its `/`: its bytes as written (`#xx` escapes
/// undone when it ends), up to a length no name looked for exceeds.
struct NameToken {
    bytes: [u8; Self::MAX],
    len: usize,
    reading: bool,
    too_long: bool,
}

impl NameToken {
    /// Enough for the longest name looked for with every byte escaped.
    const MAX: usize = 40;

    const fn new() -> Self {
        Self { bytes: [0; Self::MAX], len: 0, reading: false, too_long: false }
    }

    fn start(&mut self) {
        *self = Self::new();
        self.reading = true;
    }

    fn push(&mut self, b: u8) {
        if self.len < Self::MAX {
            self.bytes[self.len] = b;
            self.len += 1;
        } else {
            self.too_long = true;
        }
    }

    /// Ends the name; its decoded bytes, if it was being read and is short
    /// enough to be one looked for.
    fn end(&mut self) -> Option<([u8; Self::MAX], usize)> {
        if !std::mem::replace(&mut self.reading, false) || self.too_long {
            return None;
        }
        let (raw, mut out, mut n, mut i) = (&self.bytes[..self.len], [0; Self::MAX], 0, 0);
        while i < raw.len() {
            let hex = |b: u8| char::from(b).to_digit(16);
            let escaped = (raw[i] == b'#').then(|| Some((hex(*raw.get(i + 1)?)? * 16 + hex(*raw.get(i + 2)?)?) as u8));
            match escaped.flatten() {
                Some(b) => {
                    out[n] = b;
                    i += 3;
                }
                None => {
                    out[n] = raw[i];
                    i += 1;
                }
            }
            n += 1;
        }
        Some((out, n))
    }
}

/// Reads a PDF's syntax, fed chunk by chunk: a state machine over the
/// bytes with a counter, no recursion and constant memory, whatever the
/// file holds. It finds
///
/// - **nesting** of arrays (`[`) and dictionaries (`<<`) deeper than the
///   limit. This crate never parses PDFs beyond this scan, but the files
///   are kept and handed to PDF readers (browsers, transfer packages), and
///   no scan nests deeply: refusing at the door costs nothing. The depth
///   starts again from zero at each `obj`, `endobj` and `trailer` keyword,
///   as a parser reads object by object; a broken file's stray `[` do not
///   add up across objects.
/// - **names of active content** ([`ACTIVE`]), as whole names (`/JSON` is
///   another name) with `#xx` escapes undone (`/J#53` is `/JS`).
///
/// Comments and strings are skipped, so is filtered stream data (from the
/// `stream` keyword to `endstream`): compressed contents cannot be seen,
/// and their random bytes must not count. Plain stream data is looked at
/// for names only.
struct PdfSyntax {
    limit: u32,
    depth: u32,
    state: PdfState,
    /// The current keyword's bytes (regular characters; enough for `endobj`
    /// and `trailer`), its length, and whether it can still be a keyword
    /// (not a name, not longer than the buffer).
    word: [u8; 8],
    word_len: usize,
    word_ok: bool,
    name: NameToken,
    /// Whether a `/Filter` name was read since the object began: the
    /// stream that follows is filtered.
    filtered: bool,
    found: Option<&'static str>,
}

impl PdfSyntax {
    fn new(limit: u32) -> Self {
        Self {
            limit,
            depth: 0,
            state: PdfState::Normal,
            word: [0; 8],
            word_len: 0,
            word_ok: true,
            name: NameToken::new(),
            filtered: false,
            found: None,
        }
    }

    /// Feeds the next chunk (empty at the end of the file); what was found,
    /// at the first byte that shows it.
    fn feed(&mut self, chunk: &[u8]) -> Option<Finding> {
        for &b in chunk {
            if !self.step(b) {
                return Some(Finding::TooDeep);
            }
            if let Some(what) = self.found {
                return Some(Finding::Active(what));
            }
        }
        if chunk.is_empty() {
            // A name that ends the file ends there.
            self.end_name();
        }
        self.found.map(Finding::Active)
    }

    fn step(&mut self, b: u8) -> bool {
        const ENDSTREAM: &[u8] = b"endstream";
        // A byte that ends a `<` or `>` state is looked at again in the new
        // state (by looping, not recursing).
        loop {
            match self.state {
                PdfState::Normal => return self.normal(b),
                PdfState::Comment => {
                    if b == b'\r' || b == b'\n' {
                        self.state = PdfState::Normal;
                    }
                    return true;
                }
                PdfState::Literal { parens, escaped } => {
                    self.state = match b {
                        _ if escaped => PdfState::Literal { parens, escaped: false },
                        b'\\' => PdfState::Literal { parens, escaped: true },
                        b'(' => PdfState::Literal { parens: parens.saturating_add(1), escaped: false },
                        b')' if parens <= 1 => PdfState::Normal,
                        b')' => PdfState::Literal { parens: parens - 1, escaped: false },
                        _ => PdfState::Literal { parens, escaped: false },
                    };
                    return true;
                }
                PdfState::Hex => {
                    if b == b'>' {
                        self.state = PdfState::Normal;
                    }
                    return true;
                }
                PdfState::Less => {
                    if b == b'<' {
                        self.state = PdfState::Normal;
                        return self.open();
                    }
                    self.state = PdfState::Hex;
                }
                PdfState::Greater => {
                    self.state = PdfState::Normal;
                    if b == b'>' {
                        self.depth = self.depth.saturating_sub(1);
                        return true;
                    }
                }
                PdfState::Stream { matched, plain } => {
                    if plain {
                        self.name_byte(b);
                    }
                    let matched = if b == ENDSTREAM[matched] { matched + 1 } else { usize::from(b == ENDSTREAM[0]) };
                    self.state = if matched == ENDSTREAM.len() {
                        self.name = NameToken::new();
                        PdfState::Normal
                    } else {
                        PdfState::Stream { matched, plain }
                    };
                    return true;
                }
            }
        }
    }

    /// A byte of a name, or the byte that ends one (and may start another).
    fn name_byte(&mut self, b: u8) {
        if is_pdf_space(b) || is_pdf_delimiter(b) {
            self.end_name();
            if b == b'/' {
                self.name.start();
            }
        } else if self.name.reading {
            self.name.push(b);
        }
    }

    fn end_name(&mut self) {
        let Some((bytes, len)) = self.name.end() else { return };
        let name = &bytes[..len];
        if name == b"Filter" {
            self.filtered = true;
        } else if let Some((_, what)) = ACTIVE.iter().find(|(active, _)| *active == name) {
            self.found = Some(what);
        }
    }

    fn normal(&mut self, b: u8) -> bool {
        self.name_byte(b);
        let delimiter = is_pdf_delimiter(b);
        if !delimiter && !is_pdf_space(b) {
            if self.word_len < self.word.len() {
                self.word[self.word_len] = b;
                self.word_len += 1;
            } else {
                self.word_ok = false;
            }
            return true;
        }
        // The byte ends the current token: was it a keyword?
        let word = if self.word_ok { &self.word[..self.word_len] } else { &[][..] };
        let keyword_stream = word == b"stream";
        if matches!(word, b"obj" | b"endobj" | b"trailer") {
            self.depth = 0;
            self.filtered = false;
        }
        self.word_len = 0;
        // The regular characters after `/` are a name, never a keyword.
        self.word_ok = b != b'/';
        if keyword_stream {
            // The end of line after `stream` is consumed with it. The
            // dictionary just read was this stream's.
            self.state = PdfState::Stream { matched: 0, plain: !self.filtered };
            self.filtered = false;
            return true;
        }
        match b {
            b'%' => self.state = PdfState::Comment,
            b'(' => self.state = PdfState::Literal { parens: 1, escaped: false },
            b'<' => self.state = PdfState::Less,
            b'>' => self.state = PdfState::Greater,
            b'[' => return self.open(),
            b']' => self.depth = self.depth.saturating_sub(1),
            _ => {}
        }
        true
    }

    fn open(&mut self) -> bool {
        self.depth = self.depth.saturating_add(1);
        self.depth <= self.limit
    }
}

fn is_pdf_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' | b'\0')
}

fn is_pdf_delimiter(b: u8) -> bool {
    matches!(b, b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdf_page_count_is_streaming_and_skips_pages_node() {
        let mut pdf = b"%PDF-1.4\n1 0 obj << /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >> endobj\n".to_vec();
        pdf.extend_from_slice(b"2 0 obj << /Type /Page /Parent 1 0 R >> endobj\n");
        // Pad so the second page dictionary straddles a chunk edge.
        let pad = crate::CHUNK_SIZE - pdf.len() - 3;
        pdf.extend(std::iter::repeat_n(b' ', pad));
        pdf.extend_from_slice(b"3 0 obj <</Type/Page/Parent 1 0 R>> endobj\n");
        pdf.extend_from_slice(b"4 0 obj << /Type /PageLabel >> endobj\n%%EOF\n");
        assert_eq!(scan_pdf(&mut &pdf[..], Path::new("t.pdf"), &InspectConfig::default()).expect("count"), 2);
    }

    #[test]
    fn pdf_page_entry_is_counted_wherever_the_chunk_edges_fall() {
        // Found by fuzzing (fuzz/fuzz_targets/inspect_pdf.rs, minimised):
        // the counter searched each chunk but its last 64 bytes, kept for
        // the next one, and dropped a `/Type` that straddled that edge; in
        // this 77-byte file it starts 66 bytes before the end.
        let pdf = [&b"%PDF-1.4\n<</Type /Page>>"[..], &[b' '; 47], b"%%EOF\n"].concat();
        assert_eq!(pdf.len(), 77);
        assert_eq!(scan_pdf(&mut &pdf[..], Path::new("t.pdf"), &InspectConfig::default()).expect("count"), 1);
        // The entry at every distance from the end of a small file, and at
        // every offset around the edge of the first chunk.
        let scan = |pdf: &[u8]| scan_pdf(&mut &pdf[..], Path::new("t.pdf"), &InspectConfig::default()).expect("count");
        for entry in [&b"/Type /Page>>"[..], b"/Type\n\n/Page/Parent", b"/Type/Page"] {
            for after in 0..80 {
                let pdf = [&b"%PDF-1.4\n"[..], entry, &vec![b' '; after]].concat();
                assert_eq!(scan(&pdf), 1, "entry {:?}, {after} bytes before the end", String::from_utf8_lossy(entry));
            }
            for at in crate::CHUNK_SIZE - 24..crate::CHUNK_SIZE + 2 {
                let mut pdf = b"%PDF-1.4\n".to_vec();
                pdf.resize(at, b' ');
                pdf.extend_from_slice(entry);
                pdf.extend_from_slice(b"\n%%EOF\n");
                assert_eq!(scan(&pdf), 1, "entry {:?} at {at}", String::from_utf8_lossy(entry));
            }
        }
        // Not pages: `/Pages`, `/TypeX`, `/Type` with another value.
        let mut c = PageCounter::default();
        c.feed(b"/Type /Pages /TypeX /Page /Type /Pagex /Type (x) /Page /Type/Type /Page");
        assert_eq!(c.feed(&[]), 1);
    }

    /// What the syntax scan finds in `pdf`, fed whole and fed byte by
    /// byte (the state must carry across chunk edges).
    fn finding(pdf: &[u8], limit: u32) -> Option<Finding> {
        let mut w = PdfSyntax::new(limit);
        let whole = w.feed(pdf).or_else(|| w.feed(&[]));
        let mut s = PdfSyntax::new(limit);
        let split = pdf.iter().find_map(|b| s.feed(std::slice::from_ref(b))).or_else(|| s.feed(&[]));
        assert_eq!(whole, split, "chunking changed the outcome");
        whole
    }

    fn nesting_ok(pdf: &[u8], limit: u32) -> bool {
        let found = finding(pdf, limit);
        assert_ne!(found.map(|f| matches!(f, Finding::Active(_))), Some(true), "{found:?}");
        found.is_none()
    }

    #[test]
    fn pdf_nesting_is_counted_outside_strings_comments_and_streams() {
        assert!(nesting_ok(b"1 0 obj [[[ ]]] endobj", 3));
        assert!(!nesting_ok(b"1 0 obj [[[[ ]]]] endobj", 3));
        assert!(nesting_ok(b"1 0 obj << /A << /B << >> >> >> endobj", 3));
        assert!(!nesting_ok(b"1 0 obj << /A << /B [ << >> ] >> >> endobj", 3));
        // Hex strings are not dictionaries; `<>` is an empty string.
        assert!(nesting_ok(b"1 0 obj [ <0a0b> <> [ <ff> ] ] endobj", 2));
        // Strings (with nested and escaped parentheses) and comments hide brackets.
        assert!(nesting_ok(b"1 0 obj [ (a [[[ (b) \\) [[[ ) ] % [[[[[[\n endobj", 1));
        // Stream data is skipped up to `endstream`, a `/stream` name is not the keyword.
        let mut pdf = b"1 0 obj << /Length 9 /X /stream >> stream\r\n".to_vec();
        pdf.extend(std::iter::repeat_n(b'[', 1000));
        pdf.extend_from_slice(b"<<<<<<\nendstream endobj");
        assert!(nesting_ok(&pdf, 2));
        assert!(!nesting_ok(b"1 0 obj << /X /stream [ [ ] ] >> endobj", 2));
        // Each object starts again from zero: stray brackets do not add up.
        assert!(nesting_ok(b"1 0 obj [ [ endobj 2 0 obj [ [ endobj 3 0 obj [ [ endobj", 2));
    }

    #[test]
    fn deep_pdf_nesting_is_refused_in_one_pass() {
        for open in [&b"["[..], &b"<<"[..]] {
            let mut pdf = b"%PDF-1.4\n1 0 obj\n".to_vec();
            pdf.extend(open.repeat(100_000));
            pdf.extend_from_slice(b"\nendobj\n%%EOF\n");
            let err = scan_pdf(&mut &pdf[..], Path::new("t.pdf"), &InspectConfig::default()).expect_err("deep");
            assert_eq!(err.code(), "archive.pdf_too_deep");
            assert!(err.to_string().contains("64"), "{err}");
        }
        // At the limit it is accepted.
        let mut pdf = b"%PDF-1.4\n1 0 obj\n".to_vec();
        pdf.extend(b"[".repeat(64));
        pdf.extend(b"]".repeat(64));
        pdf.extend_from_slice(b"\nendobj\n%%EOF\n");
        assert_eq!(scan_pdf(&mut &pdf[..], Path::new("t.pdf"), &InspectConfig::default()).expect("ok"), 0);
    }

    #[test]
    fn active_content_is_found_across_chunk_edges_and_names_must_end() {
        let pdf =
            b"%PDF-1.4\n1 0 obj << /Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >> endobj\n";
        for split in 1..pdf.len() {
            let mut s = PdfSyntax::new(64);
            let found = s.feed(&pdf[..split]).or_else(|| s.feed(&pdf[split..])).or_else(|| s.feed(&[]));
            assert_eq!(found, Some(Finding::Active("脚本（JavaScript）")), "split at {split}");
        }
        assert_eq!(
            finding(b"<< /JSON 1 /Launcher 2 /XFAlike 3 /J#53ON 4 >>", 64),
            None,
            "longer names are other names"
        );
        let embedded = b"<< /Type /Filespec /EF << /F 3 0 R >> /Subtype /EmbeddedFile>>";
        assert_eq!(finding(embedded, 64), Some(Finding::Active("嵌入的文件")));
        assert_eq!(
            finding(b"1 0 obj << /S /Launch", 64),
            Some(Finding::Active("启动外部程序的动作")),
            "a name ends the file"
        );
        // Escapes are undone; strings and comments are not names.
        assert_eq!(finding(b"<< /S /J#61vaScript /J#53 (x) >>", 64), Some(Finding::Active("脚本（JavaScript）")));
        assert_eq!(finding(b"<< /R#69chMedia 1 >>", 64), Some(Finding::Active("多媒体内容")));
        assert_eq!(finding(b"1 0 obj << /T (/JS /XFA) >> % /Launch\nendobj", 64), None);
    }

    #[test]
    fn filtered_stream_data_is_not_read_for_names_and_plain_data_is() {
        // Found when a form the service printed itself was refused: a
        // compressed font stream held the bytes `/JS` and a space.
        let stream = |dict: &str| {
            let mut pdf = format!("%PDF-1.7\n4 0 obj\n<< {dict} >>\nstream\n").into_bytes();
            pdf.extend_from_slice(b"x\x9c\x8b/JS \x01\xff/XFA]\x00/Launch(\n");
            pdf.extend_from_slice(b"\nendstream\nendobj\n%%EOF\n");
            pdf
        };
        for dict in ["/Length 25 /Filter /FlateDecode", "/Filter [/FlateDecode] /Length 25", "/Fi#6cter /FlateDecode"] {
            assert_eq!(finding(&stream(dict), 64), None, "{dict}");
        }
        assert_eq!(finding(&stream("/Length 25"), 64), Some(Finding::Active("脚本（JavaScript）")), "plain data");
        // The filter belongs to its own object's stream only.
        let mut pdf = stream("/Length 25 /Filter /FlateDecode");
        pdf.extend_from_slice(b"5 0 obj << /Length 8 >> stream\n/XFA 1\nendstream endobj");
        assert_eq!(finding(&pdf, 64), Some(Finding::Active("XFA 表单")));
        // After the stream, names count again.
        let mut pdf = stream("/Filter /FlateDecode");
        pdf.extend_from_slice(b"6 0 obj << /OpenAction << /JS 7 0 R >> >> endobj");
        assert_eq!(finding(&pdf, 64), Some(Finding::Active("脚本（JavaScript）")));
        let err = scan_pdf(&mut &stream("/Length 25")[..], Path::new("t.pdf"), &InspectConfig::default())
            .expect_err("plain /JS");
        assert_eq!(err.code(), "archive.pdf_active_content");
        assert!(
            scan_pdf(&mut &stream("/Filter /FlateDecode")[..], Path::new("t.pdf"), &InspectConfig::default()).is_ok()
        );
    }
}
