//! xueji: student-status records for a county education bureau.

/// Application state and the server.
pub mod app;
/// Backup and restore: database snapshot, signing keys, archive copy, sums.
pub mod backup;
/// Batch printing jobs.
pub mod batch;
/// Benchmarks behind `xueji bench`.
pub mod bench;
/// The working-day calendar in the database: seeding, updates by the bureau, export.
pub mod calendar;
/// Numbered certificates: numbering, issuing, voids, losses, revocation.
pub mod certificates;
/// Command-line subcommands by area.
pub mod cli;
/// Settings from the environment.
pub mod config;
/// The repository over sqlx (SQLite or PostgreSQL).
pub mod db;
/// The fictional sample county (`xueji demo`).
pub mod demo;
/// Issuing documents: data, signed token, PDF, record.
pub mod documents;
/// Domain newtypes and the county regulation's rules (no I/O).
pub mod domain;
/// The paper-file archive, service side: dossiers of students, index, fixity, transfer packages.
pub mod dossier;
/// The service's error type.
pub mod error;
/// The HTTP interface: pages and JSON API.
pub mod http;
/// Leases: work one instance of the service does at a time.
pub mod lease;
/// The text of archived papers: OCR, derived text files, full-text index.
pub mod ocr;
/// Rendering the official forms and certificates with typst.
pub mod render;
/// Roster spreadsheets: columns, import and export.
pub mod roster;
/// The services: actions with their checks, transaction and audit row.
pub mod service;
/// Signed verification tokens and the service's signing keys.
pub mod verify;
pub mod workflow;

/// The county's administrative area code (农安县).
pub const COUNTY_AREA_CODE: &str = "220122";
