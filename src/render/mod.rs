//! Official forms and numbered certificates as PDF, from database records.
//!
//! typst runs as a library inside the process. A [`Renderer`] is built once
//! (fonts, standard library, templates, a warm-up compile) and shared behind
//! an `Arc`; each document then only adds its main source and its record
//! files (the JSON data, the normalised photo, the QR code), all at fixed
//! virtual paths.
//!
//! Guarantees:
//! - **Deterministic**: the same request and template give byte-identical
//!   PDF/A-2b files (`today()` and the PDF date are the issue date, fonts come
//!   only from the fonts directory, the photo is re-encoded deterministically).
//! - **No tofu**: every character of the data is checked against the bundled
//!   fonts before compiling ([`RenderError::MissingGlyph`] names the field), and
//!   the laid-out pages are searched for `.notdef` glyphs (covers template text).
//!   The same [`Coverage`] is used where text enters the records (roster
//!   import, workflow requests), so accepted data can always be printed.
//! - **Templates are files** a bureau can edit (`templates/forms/*.typ`);
//!   [`Renderer::check_templates`] compiles each with its sample data.
//! - **Flat memory**: the memoization cache is evicted after every document and
//!   batches are compiled in chunks of at most 200 pages.
//!
//! The JSON data each template receives (the contract between the database
//! side and the templates) is documented in `templates/forms/README.md`; the
//! fonts and how they were made in `fonts/README.md`.

mod data;
mod error;
mod fonts;
mod kind;
mod photo;
mod qr;
mod templates;
mod world;

#[cfg(test)]
mod tests;

use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Arc, RwLock};

use chrono::Datelike;
use sha2::{Digest, Sha256};
use typst::World;
use typst::WorldExt;
use typst::diag::{SourceDiagnostic, Warned};
use typst::foundations::{Bytes, Datetime, Smart};
use typst::syntax::{DiagSpan, FileId};
use typst_layout::PagedDocument;
use typst_pdf::{PdfOptions, PdfStandard, PdfStandards, Timestamp};

pub use self::error::{RenderError, TemplateProblem, Unprintable};
pub use self::fonts::Coverage;
pub use self::kind::DocKind;
pub use self::photo::{PHOTO_HEIGHT, PHOTO_WIDTH, normalise_photo};
pub use self::qr::{MAX_VERIFY_URL, MIN_MODULE_MM, PrintedQr, printed_qr};
pub use self::world::MAX_SLOTS as MAX_BATCH_PAGES;

use self::fonts::{FontSet, codepoint, find_notdef};
use self::templates::TemplateSet;
use self::world::{BATCH, Base, DocWorld, MAIN, SINGLE, Slot, slot_paths};

/// How many memoization generations survive each eviction.
const EVICT_AGE: usize = 5;

/// Batch chunks are compiled this many at a time (the machine has 2 cores;
/// more concurrent chunks only add memory).
const BATCH_WORKERS: usize = 2;

/// One document to render.
#[derive(Clone)]
pub struct RenderRequest {
    /// Which document.
    pub kind: DocKind,
    /// The record data, following the contract in `templates/forms/README.md`.
    /// `document.verify_url` is required; `document.kind`, `issue_date` and
    /// `template_version` are filled in by the renderer.
    pub data: serde_json::Value,
    /// The student's photo (JPEG or PNG, any size); `None` prints an empty
    /// photo box labelled 贴照片处.
    pub photo: Option<Vec<u8>>,
    /// The issue date: printed date, typst `today()` and the PDF timestamp.
    pub issue_date: chrono::NaiveDate,
}

impl std::fmt::Debug for RenderRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenderRequest")
            .field("kind", &self.kind)
            .field("data", &self.data)
            .field("photo", &self.photo.as_ref().map(|p| format!("<{} bytes>", p.len())))
            .field("issue_date", &self.issue_date)
            .finish()
    }
}

/// A finished PDF.
#[derive(Clone, PartialEq, Eq)]
pub struct RenderedPdf {
    /// The PDF/A-2b bytes.
    pub bytes: Vec<u8>,
    /// Lower-case hex sha256 of `bytes`.
    pub sha256: String,
    /// Number of pages.
    pub pages: usize,
}

impl std::fmt::Debug for RenderedPdf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenderedPdf")
            .field("bytes", &format_args!("<{} bytes>", self.bytes.len()))
            .field("sha256", &self.sha256)
            .field("pages", &self.pages)
            .finish()
    }
}

impl RenderedPdf {
    fn new(bytes: Vec<u8>, pages: usize) -> Self {
        let sha256 = hex::encode(Sha256::digest(&bytes));
        RenderedPdf { bytes, sha256, pages }
    }
}

/// The renderer: built once per process, shared between threads.
pub struct Renderer {
    base: Base,
    templates: RwLock<Arc<TemplateSet>>,
    standards: PdfStandards,
}

/// A record prepared for compilation: its slot files.
struct Prepared {
    data: Bytes,
    photo: Option<Bytes>,
    qr: Bytes,
    ident: String,
}

impl Renderer {
    /// Loads the fonts of `fonts_dir` and the templates of `templates_dir`,
    /// then renders the sample documents once so the first real document is
    /// fast. A broken template does not fail here: see [`check_templates`].
    ///
    /// [`check_templates`]: Self::check_templates
    pub fn new(templates_dir: &Path, fonts_dir: &Path) -> Result<Self, RenderError> {
        let fonts = FontSet::load(fonts_dir)?;
        let templates = TemplateSet::load(templates_dir)?;
        let standards =
            PdfStandards::new(&[PdfStandard::A_2b]).map_err(|e| RenderError::Pdf(e.message().to_string()))?;
        let renderer = Renderer { base: Base::new(fonts), templates: RwLock::new(Arc::new(templates)), standards };
        renderer.warm_up();
        Ok(renderer)
    }

    /// Compiles one certificate and one form from their samples, ignoring
    /// failures (those are [`check_templates`](Self::check_templates)' job).
    fn warm_up(&self) {
        let templates = self.snapshot_unchecked();
        for kind in [DocKind::GraduationCertificate, DocKind::Registration] {
            if let Ok(data) = templates.sample(kind) {
                let req = RenderRequest { kind, data, photo: None, issue_date: sample_date() };
                let _ = self.render(&req);
            }
        }
    }

    /// Renders a kind's sample record (the template's `samples/` data): a
    /// real page to measure with (the OCR benchmark).
    pub fn render_sample(&self, kind: DocKind) -> Result<RenderedPdf, RenderError> {
        let data = self.snapshot_unchecked().sample(kind).map_err(RenderError::Data)?;
        self.render(&RenderRequest { kind, data, photo: None, issue_date: sample_date() })
    }

    /// The family names of the loaded fonts, in load order.
    pub fn font_families(&self) -> Vec<String> {
        self.base.fonts.families()
    }

    /// Whether the bundled fonts can print `c`.
    pub fn can_print(&self, c: char) -> bool {
        self.base.fonts.coverage.can_print(c)
    }

    /// What the loaded fonts can print: the value the renderer checks every
    /// document's data with, for checking text where it enters the records.
    pub fn coverage(&self) -> Coverage {
        self.base.fonts.coverage.clone()
    }

    /// Compiles every kind's template with its sample data
    /// (`samples/<code>.json`, no photo). Empty means all good.
    pub fn check_templates(&self) -> Vec<TemplateProblem> {
        let templates = match self.snapshot() {
            Ok(t) => t,
            Err(e) => {
                return DocKind::ALL
                    .into_iter()
                    .map(|kind| TemplateProblem {
                        kind,
                        file: String::new(),
                        line: 0,
                        column: 0,
                        message: e.to_string(),
                    })
                    .collect();
            }
        };
        let mut problems = Vec::new();
        for kind in DocKind::ALL {
            let problem = |file: String, line, column, message| TemplateProblem { kind, file, line, column, message };
            if !templates.has(kind) {
                problems.push(problem(kind.template_file(), 0, 0, "模板文件不存在".into()));
                continue;
            }
            let sample_file = format!("samples/{}.json", kind.code());
            let data = match templates.sample(kind) {
                Ok(d) => d,
                Err(msg) => {
                    problems.push(problem(sample_file, 0, 0, msg));
                    continue;
                }
            };
            let issue_date = sample_issue_date(&data);
            // With and without a photo: templates branch on it.
            let result = [None, Some(photo::placeholder_photo())].into_iter().try_for_each(|photo| {
                let mut data = data.clone();
                let prepared = self.prepare(kind, &templates, &mut data, None, issue_date).map(|mut p| {
                    p.photo = photo.map(Bytes::new);
                    p
                })?;
                let compiled = self.compile(kind, &templates, &[prepared], issue_date).map(|_| ());
                comemo::evict(EVICT_AGE);
                compiled
            });
            match result {
                Ok(()) => {}
                Err(RenderError::Template { file, line, column, message, .. }) => {
                    problems.push(problem(file, line, column, message))
                }
                Err(RenderError::MissingGlyph { ch, codepoint, field }) => {
                    let (file, line, column) =
                        parse_template_field(&field).unwrap_or_else(|| (sample_file.clone(), 0, 0));
                    problems.push(problem(file, line, column, format!("字符“{ch}”({codepoint}) 没有字形（{field}）")));
                }
                Err(other) => problems.push(problem(sample_file, 0, 0, other.to_string())),
            }
        }
        problems
    }

    /// Renders one document.
    pub fn render(&self, req: &RenderRequest) -> Result<RenderedPdf, RenderError> {
        let templates = self.snapshot()?;
        let mut data = req.data.clone();
        let prepared = self.prepare(req.kind, &templates, &mut data, req.photo.as_deref(), req.issue_date)?;
        let ident = prepared.ident.clone();
        let result = self
            .compile(req.kind, &templates, &[prepared], req.issue_date)
            .and_then(|doc| self.export(&doc, ident, req.issue_date));
        comemo::evict(EVICT_AGE);
        result
    }

    /// Renders many records of one kind as multi-page PDFs, one per chunk of
    /// at most [`MAX_BATCH_PAGES`] pages: up to 200 records give one PDF (a
    /// class); more are split into balanced chunks, an even number of them,
    /// compiled two at a time on two threads with the cache evicted after each,
    /// so memory stays bounded (about 1 MB per page in flight). The split
    /// depends only on the number of records. `progress(done, total)` is
    /// called with the number of records finished, in order.
    ///
    /// The PDFs are not concatenated: merging PDF/A files (fonts, metadata,
    /// structure) correctly needs more than a generic PDF crate offers, so the
    /// caller prints the chunks in order or zips them.
    ///
    /// Errors name the record: a data problem in record 3 reads `[3] ...`, a
    /// missing glyph has `field` = `[3].student.name`.
    pub fn render_batch(
        &self,
        reqs: &[RenderRequest],
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<Vec<RenderedPdf>, RenderError> {
        let mut chunks = Vec::new();
        self.render_batch_with(reqs, progress, &mut |pdf| {
            chunks.push(pdf);
            Ok(())
        })?;
        Ok(chunks)
    }

    /// Like [`render_batch`](Self::render_batch), but hands each chunk PDF to
    /// `on_chunk` as soon as it is ready instead of keeping them all.
    pub fn render_batch_with(
        &self,
        reqs: &[RenderRequest],
        progress: &(dyn Fn(usize, usize) + Sync),
        on_chunk: &mut dyn FnMut(RenderedPdf) -> Result<(), RenderError>,
    ) -> Result<(), RenderError> {
        let total = reqs.len();
        progress(0, total);
        let Some(first) = reqs.first() else {
            return Ok(());
        };
        let kind = first.kind;
        if let Some((i, r)) = reqs.iter().enumerate().find(|(_, r)| r.kind != kind) {
            return Err(RenderError::Data(format!(
                "[{i}] 批量打印只能是同一种文书（{} 与 {} 混在一起）",
                kind.code(),
                r.kind.code()
            )));
        }
        // Refuse uncoverable characters before any chunk is delivered.
        for (i, req) in reqs.iter().enumerate() {
            data::check_glyphs(&self.base.fonts.coverage, &req.data).map_err(|e| in_record(i, e))?;
        }
        let templates = self.snapshot()?;

        // Probe the first record alone: how many pages does one record take?
        let probe = {
            let mut data = first.data.clone();
            let p = self
                .prepare(kind, &templates, &mut data, first.photo.as_deref(), first.issue_date)
                .map_err(|e| in_record(0, e))?;
            let doc = self.compile(kind, &templates, &[p], first.issue_date);
            comemo::evict(EVICT_AGE);
            doc.map_err(|e| in_record(0, e))?.pages().len().max(1)
        };
        let max_records = (MAX_BATCH_PAGES / probe).max(1);
        // Balanced chunks, their number a multiple of BATCH_WORKERS once more
        // than one is needed, so that both cores have work; the split does not
        // depend on the machine, so neither do the bytes.
        let n_chunks = match total.div_ceil(max_records) {
            1 => 1,
            n => n.div_ceil(BATCH_WORKERS) * BATCH_WORKERS,
        };
        let size = total.div_ceil(n_chunks);
        let chunks: Vec<(usize, &[RenderRequest])> =
            reqs.chunks(size).enumerate().map(|(c, chunk)| (c * size, chunk)).collect();
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, BATCH_WORKERS);

        let mut done = 0;
        for round in chunks.chunks(threads) {
            let results: Vec<Result<RenderedPdf, RenderError>> = if round.len() == 1 {
                vec![self.render_chunk(kind, &templates, round[0].0, round[0].1)]
            } else {
                let templates = &templates;
                std::thread::scope(|scope| {
                    let handles: Vec<_> = round
                        .iter()
                        .map(|&(offset, chunk)| scope.spawn(move || self.render_chunk(kind, templates, offset, chunk)))
                        .collect();
                    handles
                        .into_iter()
                        .map(|h| h.join().unwrap_or_else(|_| Err(RenderError::Pdf("批量渲染线程异常退出".into()))))
                        .collect()
                })
            };
            for (result, (_, chunk)) in results.into_iter().zip(round) {
                on_chunk(result?)?;
                done += chunk.len();
                progress(done, total);
            }
        }
        Ok(())
    }

    /// Compiles and exports one chunk of a batch (records `offset..`).
    fn render_chunk(
        &self,
        kind: DocKind,
        templates: &TemplateSet,
        offset: usize,
        chunk: &[RenderRequest],
    ) -> Result<RenderedPdf, RenderError> {
        let mut prepared = Vec::with_capacity(chunk.len());
        let mut issue_date = chunk[0].issue_date;
        for (j, req) in chunk.iter().enumerate() {
            let mut data = req.data.clone();
            let p = self
                .prepare(kind, templates, &mut data, req.photo.as_deref(), req.issue_date)
                .map_err(|e| in_record(offset + j, e))?;
            issue_date = issue_date.max(req.issue_date);
            prepared.push(p);
        }
        let mut ident = String::from("batch");
        for p in &prepared {
            ident.push('|');
            ident.push_str(&p.ident);
        }
        let result =
            self.compile(kind, templates, &prepared, issue_date).and_then(|doc| self.export(&doc, ident, issue_date));
        drop(prepared);
        // A chunk's memoized layout (~1 MB a page) is never reused: drop it all
        // now rather than carrying it through the next generations.
        comemo::evict(0);
        result
    }

    /// Renders each record as its own PDF (e.g. one per student for a zip),
    /// two at a time on two threads, handing them to `on_pdf(index, pdf)` in
    /// order. Records may be of different kinds.
    pub fn render_each(
        &self,
        reqs: &[RenderRequest],
        progress: &(dyn Fn(usize, usize) + Sync),
        on_pdf: &mut dyn FnMut(usize, RenderedPdf) -> Result<(), RenderError>,
    ) -> Result<(), RenderError> {
        let total = reqs.len();
        progress(0, total);
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, BATCH_WORKERS);
        let mut done = 0;
        for round in reqs.chunks(threads) {
            let results: Vec<Result<RenderedPdf, RenderError>> = if round.len() == 1 {
                vec![self.render(&round[0])]
            } else {
                std::thread::scope(|scope| {
                    let handles: Vec<_> = round.iter().map(|req| scope.spawn(move || self.render(req))).collect();
                    handles
                        .into_iter()
                        .map(|h| h.join().unwrap_or_else(|_| Err(RenderError::Pdf("渲染线程异常退出".into()))))
                        .collect()
                })
            };
            for result in results {
                on_pdf(done, result.map_err(|e| in_record(done, e))?)?;
                done += 1;
                progress(done, total);
            }
        }
        Ok(())
    }

    /// Short sha256 (12 hex digits) of the kind's template and `lib.typ` as
    /// currently on disk; printed on each document and recorded with it.
    pub fn template_version(&self, kind: DocKind) -> String {
        match self.snapshot() {
            Ok(t) => t.version(kind),
            Err(_) => self.snapshot_unchecked().version(kind),
        }
    }

    /// The current template snapshot, re-read if a file changed on disk.
    fn snapshot(&self) -> Result<Arc<TemplateSet>, RenderError> {
        let current = self.snapshot_unchecked();
        if !current.is_stale() {
            return Ok(current);
        }
        let fresh = Arc::new(TemplateSet::load(current.dir())?);
        let mut guard = self.templates.write().unwrap_or_else(|p| p.into_inner());
        *guard = Arc::clone(&fresh);
        Ok(fresh)
    }

    fn snapshot_unchecked(&self) -> Arc<TemplateSet> {
        Arc::clone(&self.templates.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Checks and serialises one record's data, photo and QR code.
    fn prepare(
        &self,
        kind: DocKind,
        templates: &TemplateSet,
        data: &mut serde_json::Value,
        photo: Option<&[u8]>,
        issue_date: chrono::NaiveDate,
    ) -> Result<Prepared, RenderError> {
        if !templates.has(kind) {
            return Err(RenderError::TemplateFiles(format!("缺少模板 {}", kind.template_file())));
        }
        let url = data::prepare(kind, data, issue_date, &templates.version(kind))?;
        data::check_glyphs(&self.base.fonts.coverage, data)?;
        let photo = photo.map(normalise_photo).transpose()?;
        let qr = printed_qr(&url)?;
        // The template prints the code at this width (see `qr.rs`).
        if let Some(document) = data.get_mut("document").and_then(|d| d.as_object_mut()) {
            let width = (qr.width_mm * 100.0).round() / 100.0;
            document.insert("qr_width_mm".into(), serde_json::json!(width));
        }
        let qr = qr.svg;
        let ident =
            data.pointer("/document/id").and_then(|v| v.as_str()).map(str::to_owned).unwrap_or_else(|| url.clone());
        let json = serde_json::to_vec(data).map_err(|e| RenderError::Data(e.to_string()))?;
        Ok(Prepared { data: Bytes::new(json), photo: photo.map(Bytes::new), qr: Bytes::new(qr), ident })
    }

    /// Compiles records into one paged document and checks it for `.notdef`.
    fn compile(
        &self,
        kind: DocKind,
        templates: &TemplateSet,
        records: &[Prepared],
        issue_date: chrono::NaiveDate,
    ) -> Result<PagedDocument, RenderError> {
        let single = records.len() == 1;
        let slots: Vec<(Slot, Option<usize>)> =
            if single { vec![(*SINGLE, None)] } else { (0..records.len()).map(|i| (BATCH[i], Some(i))).collect() };
        let mut main = String::new();
        let _ = writeln!(main, "#import \"/{}\": form", kind.template_file());
        let _ = writeln!(main, "#set document(title: \"{}\")", kind.title_zh());
        let mut files = Vec::with_capacity(records.len() * 3);
        for (i, (record, (slot, index))) in records.iter().zip(&slots).enumerate() {
            let (data_path, photo_path, qr_path) = slot_paths(*index);
            if i > 0 {
                main.push_str("#pagebreak(weak: true)\n");
            }
            let photo_arg = if record.photo.is_some() { format!("\"{photo_path}\"") } else { "none".to_owned() };
            let _ = writeln!(main, "#form(json(\"{data_path}\"), photo: {photo_arg}, qr: \"{qr_path}\")");
            files.push((slot.data, record.data.clone()));
            files.push((slot.qr, record.qr.clone()));
            if let Some(photo) = &record.photo {
                files.push((slot.photo, photo.clone()));
            }
        }
        let today = Datetime::from_ymd(issue_date.year(), issue_date.month() as u8, issue_date.day() as u8)
            .ok_or_else(|| RenderError::Data(format!("签发日期 {issue_date} 超出范围")))?;
        let world =
            DocWorld { base: &self.base, templates, main: typst::syntax::Source::new(*MAIN, main), files, today };
        let Warned { output, .. } = typst::compile::<PagedDocument>(&world);
        let doc = output.map_err(|diags| template_error(&world, kind, &diags))?;
        for page in doc.pages() {
            if let Some(found) = find_notdef(&page.frame) {
                let (file, line, _) = locate(&world, kind, found.span.into());
                return Err(RenderError::MissingGlyph {
                    ch: found.ch,
                    codepoint: codepoint(found.ch),
                    field: format!("template:{file}:{line}"),
                });
            }
        }
        Ok(doc)
    }

    /// Exports a compiled document as PDF/A-2b with a fixed timestamp.
    fn export(
        &self,
        doc: &PagedDocument,
        ident: String,
        issue_date: chrono::NaiveDate,
    ) -> Result<RenderedPdf, RenderError> {
        let datetime =
            Datetime::from_ymd_hms(issue_date.year(), issue_date.month() as u8, issue_date.day() as u8, 0, 0, 0)
                .ok_or_else(|| RenderError::Data(format!("签发日期 {issue_date} 超出范围")))?;
        // Beijing time, UTC+8.
        let timestamp = Timestamp::new_local(datetime, 8 * 60).ok_or_else(|| RenderError::Pdf("时区无效".into()))?;
        let options = PdfOptions {
            ident: Smart::Custom(ident),
            creator: Smart::Custom(Some("xueji".into())),
            timestamp: Some(timestamp),
            page_ranges: None,
            standards: self.standards.clone(),
            tagged: false,
            pretty: false,
        };
        let bytes = typst_pdf::pdf(doc, &options).map_err(|diags| {
            RenderError::Pdf(diags.iter().map(|d| d.message.to_string()).collect::<Vec<_>>().join("；"))
        })?;
        Ok(RenderedPdf::new(bytes, doc.pages().len()))
    }
}

/// The issue date of sample data (its `document.issue_date`), else a fixed day.
fn sample_issue_date(data: &serde_json::Value) -> chrono::NaiveDate {
    data.pointer("/document/issue_date")
        .and_then(|v| v.as_str())
        .and_then(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        .unwrap_or_else(sample_date)
}

fn sample_date() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2025, 7, 10).unwrap_or_default()
}

/// Prefixes an error with the record index of a batch.
fn in_record(i: usize, err: RenderError) -> RenderError {
    match err {
        RenderError::MissingGlyph { ch, codepoint, field } => {
            RenderError::MissingGlyph { ch, codepoint, field: format!("[{i}].{field}") }
        }
        RenderError::Data(m) => RenderError::Data(format!("[{i}] {m}")),
        RenderError::Photo(m) => RenderError::Photo(format!("[{i}] {m}")),
        RenderError::Qr(m) => RenderError::Qr(format!("[{i}] {m}")),
        other => other,
    }
}

/// `template:<file>:<line>` back into its parts.
fn parse_template_field(field: &str) -> Option<(String, usize, usize)> {
    let rest = field.strip_prefix("template:")?;
    let (file, line) = rest.rsplit_once(':')?;
    Some((file.to_owned(), line.parse().ok()?, 0))
}

/// The first error of a failed compilation, located in its template file.
fn template_error(world: &DocWorld<'_>, kind: DocKind, diags: &[SourceDiagnostic]) -> RenderError {
    let Some(diag) = diags.iter().find(|d| d.severity == typst::diag::Severity::Error).or(diags.first()) else {
        return RenderError::Template {
            kind,
            file: kind.template_file(),
            line: 0,
            column: 0,
            message: "未知错误".into(),
        };
    };
    // Errors raised inside the generated entry file (e.g. a template without
    // `form`) are located at the innermost call site in a template instead.
    let mut span = diag.span;
    if span.id() == Some(*MAIN)
        && let Some(point) = diag.trace.iter().rev().find(|t| t.span.id() != Some(*MAIN))
    {
        span = point.span.into();
    }
    let (file, line, column) = locate(world, kind, span);
    let mut message = diag.message.to_string();
    for hint in &diag.hints {
        message.push_str("；提示：");
        message.push_str(&hint.v);
    }
    RenderError::Template { kind, file, line, column, message }
}

/// File (relative to the templates directory), 1-based line and column.
fn locate(world: &DocWorld<'_>, kind: DocKind, span: DiagSpan) -> (String, usize, usize) {
    let Some(id) = span.id() else {
        return (kind.template_file(), 0, 0);
    };
    let file = file_name(world, kind, id);
    let position = world.range(span).and_then(|range| {
        let source = world.source(id).ok()?;
        source.lines().byte_to_line_column(range.start)
    });
    match position {
        Some((line, column)) => (file, line + 1, column + 1),
        None => (file, 0, 0),
    }
}

fn file_name(world: &DocWorld<'_>, kind: DocKind, id: FileId) -> String {
    if id == *MAIN {
        return kind.template_file();
    }
    if let Some(file) = world.templates.file(id) {
        return file.name.clone();
    }
    id.vpath().get_without_slash().to_owned()
}
