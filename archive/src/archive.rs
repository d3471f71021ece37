//! [`Archive`]: one root directory holding the object store, the dossier
//! manifests and the bag staging area, with the limits that apply to them.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use ed25519_dalek::VerifyingKey;

use crate::bag::{ExportOptions, ExportSummary, ImportLimits, ImportedBag, STAGING_DIR, export_bag, import_bag};
use crate::digest::Digest;
use crate::error::{ArchiveError, IoContext, Result, shown_name};
use crate::fixity::{FixityReport, VerifyOptions, VerifyProgress, verify};
use crate::ingest::{Ingested, ingest};
use crate::inspect::InspectConfig;
use crate::manifest::{Manifest, ManifestStore, NewVersion};
use crate::store::{LocalStore, ObjectStore};

/// Limits and tuning for an [`Archive`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArchiveConfig {
    /// Ingest checks and limits.
    pub inspect: InspectConfig,
    /// Bag import limits.
    pub import: ImportLimits,
    /// Fixity check settings.
    pub verify: VerifyOptions,
}

/// The archive under one root directory:
///
/// ```text
/// <root>/objects/<xx>/<64 hex>      objects (read-only files)
/// <root>/objects/.tmp-*             puts in progress
/// <root>/dossiers/<id>/v<N>.json    dossier versions
/// <root>/staging/.tmp-bag-*         bags being verified
/// ```
#[derive(Debug, Clone)]
pub struct Archive {
    root: PathBuf,
    config: ArchiveConfig,
    store: LocalStore,
    manifests: ManifestStore,
}

impl Archive {
    /// Opens the archive at `root`, creating its directories if needed.
    ///
    /// `root` is resolved once, here, to its canonical absolute path, so a
    /// relative data directory (the default `data/`), `./data` and a
    /// symlinked parent all name the same files, and a later change of the
    /// working directory changes nothing.
    pub fn open(root: impl Into<PathBuf>, config: ArchiveConfig) -> Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(&root).ctx("创建档案目录", &root)?;
        let root = std::fs::canonicalize(&root).ctx("解析档案目录路径", &root)?;
        let store = LocalStore::open(&root)?;
        let manifests = ManifestStore::open(&root)?;
        Ok(Self { root, config, store, manifests })
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The limits in force.
    pub fn config(&self) -> &ArchiveConfig {
        &self.config
    }

    /// The object store.
    pub fn store(&self) -> &LocalStore {
        &self.store
    }

    /// The dossier manifests.
    pub fn manifests(&self) -> &ManifestStore {
        &self.manifests
    }

    /// Checks and stores an uploaded file (see [`ingest`]); a refused file
    /// leaves neither object nor temp file.
    pub fn ingest(&self, reader: &mut dyn Read, original_name: &str) -> Result<Ingested> {
        ingest(&self.store, self.store.objects_dir(), reader, original_name, &self.config.inspect)
    }

    /// Opens a stored object for reading.
    pub fn open_object(&self, digest: &Digest) -> Result<Box<dyn Read + Send>> {
        self.store.get(digest)
    }

    /// Appends a version to a dossier after checking that every entry's
    /// object is stored with the stated size.
    pub fn add_version(&self, dossier_id: &str, new: NewVersion) -> Result<Manifest> {
        for entry in &new.entries {
            let size = self.store.size(&entry.digest)?;
            if size != entry.size {
                return Err(ArchiveError::FieldInvalid {
                    field: "材料大小",
                    reason: format!(
                        "“{}”登记为 {} 字节，存档对象为 {size} 字节",
                        shown_name(&entry.original_name),
                        entry.size
                    ),
                });
            }
        }
        self.manifests.append(dossier_id, new)
    }

    /// One version of a dossier.
    pub fn manifest(&self, dossier_id: &str, version: u32) -> Result<Manifest> {
        self.manifests.get(dossier_id, version)
    }

    /// The newest version of a dossier, if any.
    pub fn latest(&self, dossier_id: &str) -> Result<Option<Manifest>> {
        self.manifests.latest(dossier_id)
    }

    /// Every version of a dossier, oldest first.
    pub fn history(&self, dossier_id: &str) -> Result<Vec<Manifest>> {
        self.manifests.history(dossier_id)
    }

    /// Runs the fixity check over the whole archive.
    pub fn verify(&self, progress: &(dyn Fn(&VerifyProgress) + Sync)) -> Result<FixityReport> {
        verify(&self.root, &self.config.verify, progress)
    }

    /// Writes a signed bag with every version of a dossier.
    pub fn export_bag<W: Write + Seek>(
        &self,
        dossier_id: &str,
        record_json: &[u8],
        options: &ExportOptions<'_>,
        writer: W,
    ) -> Result<ExportSummary> {
        let history = self.history(dossier_id)?;
        export_bag(&self.store, &history, record_json, options, writer)
    }

    /// Verifies a bag and, if it is sound, stores its objects; the
    /// manifests are returned for the caller to file (see [`import_bag`]).
    pub fn import_bag<R: Read + Seek>(
        &self,
        reader: R,
        keys: &dyn Fn(&str) -> Option<VerifyingKey>,
    ) -> Result<ImportedBag> {
        import_bag(reader, keys, &self.config.import, &self.root.join(STAGING_DIR), &self.store)
    }
}
