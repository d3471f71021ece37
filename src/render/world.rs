//! The typst `World`: a base built once per process (library, fonts) and a
//! cheap per-document view that adds the main source and the record files.
//!
//! All virtual paths are fixed (`/data.json`, `/photo.jpg`, `/qr.svg`,
//! `/batch/{i}.json|jpg|svg`, the generated main file): typst interns file
//! ids for the life of the process (at most 65,535), so a fresh path per
//! document would eventually panic.

use std::sync::LazyLock;

use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime, Duration};
use typst::syntax::{FileId, Source};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};

use super::fonts::FontSet;
use super::templates::{TemplateSet, root_id};

/// Largest number of records in one compiled document (a batch chunk).
pub const MAX_SLOTS: usize = 200;

/// The fixed file ids of one record slot.
#[derive(Clone, Copy)]
pub(crate) struct Slot {
    pub(crate) data: FileId,
    pub(crate) photo: FileId,
    pub(crate) qr: FileId,
}

/// Virtual path strings for a slot, as the generated main source names them.
pub(crate) fn slot_paths(slot: Option<usize>) -> (String, String, String) {
    match slot {
        None => ("/data.json".into(), "/photo.jpg".into(), "/qr.svg".into()),
        Some(i) => (format!("/batch/{i}.json"), format!("/batch/{i}.jpg"), format!("/batch/{i}.svg")),
    }
}

/// The single-document slot.
pub(crate) static SINGLE: LazyLock<Slot> = LazyLock::new(|| {
    let (d, p, q) = slot_paths(None);
    Slot { data: root_id(&d), photo: root_id(&p), qr: root_id(&q) }
});

/// The batch slots, `/batch/0..199`.
pub(crate) static BATCH: LazyLock<Vec<Slot>> = LazyLock::new(|| {
    (0..MAX_SLOTS)
        .map(|i| {
            let (d, p, q) = slot_paths(Some(i));
            Slot { data: root_id(&d), photo: root_id(&p), qr: root_id(&q) }
        })
        .collect()
});

/// The generated entry file.
pub(crate) static MAIN: LazyLock<FileId> = LazyLock::new(|| root_id("/__xueji__/main.typ"));

/// What every document shares: built once per process.
pub(crate) struct Base {
    library: LazyHash<Library>,
    pub(crate) fonts: FontSet,
}

impl Base {
    pub(crate) fn new(fonts: FontSet) -> Self {
        Base { library: LazyHash::new(Library::builder().build()), fonts }
    }
}

/// One compilation: the base, a template snapshot, the main source and the
/// record files.
pub(crate) struct DocWorld<'a> {
    pub(crate) base: &'a Base,
    pub(crate) templates: &'a TemplateSet,
    pub(crate) main: Source,
    pub(crate) files: Vec<(FileId, Bytes)>,
    pub(crate) today: Datetime,
}

impl World for DocWorld<'_> {
    fn library(&self) -> &LazyHash<Library> {
        &self.base.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &self.base.fonts.book
    }

    fn main(&self) -> FileId {
        self.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            return Ok(self.main.clone());
        }
        if let Some(source) = self.templates.source(id) {
            return Ok(source);
        }
        if self.files.iter().any(|(f, _)| *f == id) || self.templates.file(id).is_some() {
            return Err(FileError::NotSource);
        }
        Err(not_found(id))
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if let Some((_, bytes)) = self.files.iter().find(|(f, _)| *f == id) {
            return Ok(bytes.clone());
        }
        if let Some(bytes) = self.templates.bytes(id) {
            return Ok(bytes);
        }
        if id == self.main.id() {
            return Ok(Bytes::from_string(self.main.clone()));
        }
        Err(not_found(id))
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.base.fonts.fonts.get(index).cloned()
    }

    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        Some(self.today)
    }
}

fn not_found(id: FileId) -> FileError {
    FileError::NotFound(id.vpath().get_with_slash().into())
}
