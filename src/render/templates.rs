//! The template files, read from the templates directory at run time.
//!
//! Every regular file directly in the directory is served to typst at
//! `/<name>` (so `graduation_certificate.typ` imports `lib.typ` as usual);
//! `samples/<kind>.json` holds the fictional data [`check_templates`] uses.
//! Files are re-read when their modification time or size changes, so a
//! bureau can edit wording without a rebuild; each document records the
//! [`version`](TemplateSet::version) it was made with.
//!
//! [`check_templates`]: super::Renderer::check_templates

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use sha2::{Digest, Sha256};
use typst::foundations::Bytes;
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};

use super::error::RenderError;
use super::kind::DocKind;

/// The shared library of helpers every template imports.
pub(crate) const LIB_FILE: &str = "lib.typ";

/// One template file, held in memory.
pub(crate) struct TemplateFile {
    /// File name relative to the templates directory.
    pub(crate) name: String,
    /// Raw bytes.
    pub(crate) bytes: Bytes,
    /// Parsed source, for `.typ` files that are valid UTF-8.
    pub(crate) source: Option<Source>,
    /// Modification time and length when read, to notice edits.
    stamp: (Option<SystemTime>, u64),
}

/// A snapshot of the templates directory.
pub(crate) struct TemplateSet {
    dir: PathBuf,
    files: HashMap<FileId, TemplateFile>,
    versions: HashMap<DocKind, String>,
    present: Vec<DocKind>,
}

/// The fixed virtual id of a file at the project root.
pub(crate) fn root_id(path: &str) -> FileId {
    let vpath = VirtualPath::new(path).expect("fixed virtual paths are valid");
    RootedPath::new(VirtualRoot::Project, vpath).intern()
}

fn stamp_of(path: &Path) -> Option<(Option<SystemTime>, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok(), meta.len()))
}

impl TemplateSet {
    /// Reads every file directly inside `dir`.
    pub(crate) fn load(dir: &Path) -> Result<Self, RenderError> {
        let entries =
            std::fs::read_dir(dir).map_err(|e| RenderError::TemplateFiles(format!("{}: {e}", dir.display())))?;
        let mut files = HashMap::new();
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            if !path.is_file() {
                continue;
            }
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            // Editor droppings and hidden files are not templates.
            if name.starts_with('.') || name.ends_with('~') {
                continue;
            }
            let name = name.to_owned();
            let file = read_file(&path, &name)?;
            files.insert(root_id(&format!("/{name}")), file);
        }
        if !files.contains_key(&root_id(&format!("/{LIB_FILE}"))) {
            return Err(RenderError::TemplateFiles(format!("{} 中缺少 {LIB_FILE}", dir.display())));
        }
        let present = DocKind::ALL
            .into_iter()
            .filter(|k| files.contains_key(&root_id(&format!("/{}", k.template_file()))))
            .collect();
        let mut set = TemplateSet { dir: dir.to_path_buf(), files, versions: HashMap::new(), present };
        set.versions = DocKind::ALL.into_iter().map(|k| (k, set.compute_version(k))).collect();
        Ok(set)
    }

    /// Whether any file changed on disk (or was added or removed) since load.
    pub(crate) fn is_stale(&self) -> bool {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return false;
        };
        let mut seen = 0usize;
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if !path.is_file() || name.starts_with('.') || name.ends_with('~') {
                continue;
            }
            seen += 1;
            match self.files.get(&root_id(&format!("/{name}"))) {
                Some(file) if Some(file.stamp) == stamp_of(&path) => {}
                _ => return true,
            }
        }
        seen != self.files.len()
    }

    /// The directory this set was read from.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The parsed source at `id`, if it is a template file.
    pub(crate) fn source(&self, id: FileId) -> Option<Source> {
        self.files.get(&id).and_then(|f| f.source.clone())
    }

    /// The raw bytes at `id`, if it is a template file.
    pub(crate) fn bytes(&self, id: FileId) -> Option<Bytes> {
        self.files.get(&id).map(|f| f.bytes.clone())
    }

    /// The file at `id`, if it is a template file.
    pub(crate) fn file(&self, id: FileId) -> Option<&TemplateFile> {
        self.files.get(&id)
    }

    /// Whether the template of `kind` exists.
    pub(crate) fn has(&self, kind: DocKind) -> bool {
        self.present.contains(&kind)
    }

    /// Short sha256 (12 hex digits) of the kind's template and `lib.typ`.
    pub(crate) fn version(&self, kind: DocKind) -> String {
        self.versions.get(&kind).cloned().unwrap_or_else(|| self.compute_version(kind))
    }

    fn compute_version(&self, kind: DocKind) -> String {
        let mut hasher = Sha256::new();
        for name in [kind.template_file(), LIB_FILE.to_owned()] {
            hasher.update(name.as_bytes());
            hasher.update([0]);
            match self.files.get(&root_id(&format!("/{name}"))) {
                Some(file) => {
                    hasher.update((file.bytes.len() as u64).to_le_bytes());
                    hasher.update(file.bytes.as_slice());
                }
                None => hasher.update(u64::MAX.to_le_bytes()),
            }
        }
        hex::encode(&hasher.finalize()[..6])
    }

    /// The sample data for `kind` from `samples/<code>.json`.
    pub(crate) fn sample(&self, kind: DocKind) -> Result<serde_json::Value, String> {
        let path = self.dir.join("samples").join(format!("{}.json", kind.code()));
        let text = std::fs::read_to_string(&path).map_err(|e| format!("无法读取样例数据：{e}"))?;
        serde_json::from_str(&text).map_err(|e| format!("样例数据不是合法 JSON：{e}"))
    }
}

fn read_file(path: &Path, name: &str) -> Result<TemplateFile, RenderError> {
    let stamp = stamp_of(path).unwrap_or((None, 0));
    let data = std::fs::read(path).map_err(|e| RenderError::TemplateFiles(format!("{}: {e}", path.display())))?;
    let source = if name.ends_with(".typ") {
        match String::from_utf8(data.clone()) {
            Ok(text) => Some(Source::new(root_id(&format!("/{name}")), text)),
            Err(_) => None,
        }
    } else {
        None
    };
    Ok(TemplateFile { name: name.to_owned(), bytes: Bytes::new(data), source, stamp })
}
