//! `xueji-archive`: a content-addressed store for scanned paper files.
//!
//! It knows nothing of students, typst or HTTP. The caller (the main crate)
//! decides which student owns which dossier and does login and audit; this
//! crate keeps the bytes, forever:
//!
//! - [`Digest`]: the sha256 that names every object.
//! - [`ObjectStore`], with [`LocalStore`] (`objects/<xx>/<hex>` on disk),
//!   [`S3Store`] (the same names in an S3-compatible bucket) and
//!   [`MemoryStore`] (tests): write-once, streaming, same bytes → one object.
//! - [`inspect()`] / [`ingest()`]: type from magic numbers, refusals for
//!   unsupported, mislabelled, corrupt, oversized or absurdly large images,
//!   too deeply nested PDFs, page counts, thumbnails. A panic while checking
//!   a file is caught and returned as [`ArchiveError::Panicked`]; nothing is
//!   stored.
//! - [`ManifestStore`]: append-only dossier versions
//!   (`dossiers/<id>/v<N>.json`).
//! - [`verify`]: the fixity check; [`sweep`]: removing what crashed writes left.
//! - [`export_bag`] / [`import_bag`]: signed BagIt transfer packages.
//! - [`inventory`]: each dossier's inventory (`xueji-dossier-inventory/1`)
//!   and the README, in packages and in the kept archive.
//! - [`Archive`]: all of it under one root directory.
//!
//! Errors are [`ArchiveError`]: Chinese messages for people, a stable
//! [`ArchiveError::code`] for machines, never any file contents.

mod archive;
pub mod backup;
pub mod bag;
mod digest;
mod error;
pub mod fixity;
mod fsutil;
mod ingest;
pub mod inspect;
pub mod inventory;
pub mod manifest;
mod paper_kind;
pub mod store;
pub mod sweep;

pub use archive::{Archive, ArchiveConfig, LocalCopy};
pub use backup::{CopyProgress, CopyReport};
pub use bag::{ExportOptions, ExportSummary, ImportLimits, ImportedBag, export_bag, import_bag, key_id_for};
pub use digest::Digest;
pub use error::{ArchiveError, HumanBytes, Result};
pub use fixity::{FixityReport, UnreferencedObject, VerifyOptions, VerifyProgress, verify};
pub use fsutil::TEMP_PREFIX;
pub use ingest::{Ingested, ingest};
pub use inspect::{FileType, InspectConfig, Inspection, Thumbnail, inspect};
pub use inventory::InventoryWritten;
pub use manifest::{Entry, Manifest, ManifestStore, NewVersion, PaperKind};
pub use store::{LocalStore, MemoryStore, ObjectStore, PutOutcome, S3Credentials, S3Location, S3Store, StagedObject};
pub use sweep::{SweepOptions, SweepReport, sweep};

/// Size of the chunks in which streams are read, hashed and written.
pub const CHUNK_SIZE: usize = 64 * 1024;
