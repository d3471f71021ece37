//! Sweeping: removing what crashed writes left behind.
//!
//! Temp files and staging directories older than the limit (an hour by
//! default) are removed: a write in progress touches its file as it goes, so
//! a temp file that old belongs to no live process. Objects that no dossier
//! version references (an upload or import stopped after storing them) are
//! removed only when asked, only when every manifest could be read, never
//! when the caller says they are still needed, and each is looked at again
//! just before it goes.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::digest::Digest;
use crate::error::Result;
use crate::fixity::{FixityReport, Source, UnreadableFile, VerifyOptions, is_old, references, survey};

/// What [`sweep`] removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepOptions {
    /// Temp files, and unreferenced objects, younger than this stay.
    pub older_than: Duration,
    /// Also remove objects that no manifest references.
    pub unreferenced: bool,
    /// Objects to keep even if no manifest references them yet (an import
    /// the database has journaled but not finished).
    pub keep: HashSet<Digest>,
    /// Report what would go, remove nothing.
    pub dry_run: bool,
}

impl Default for SweepOptions {
    fn default() -> Self {
        Self { older_than: Duration::from_secs(3600), unreferenced: false, keep: HashSet::new(), dry_run: false }
    }
}

/// What [`sweep`] did (or, with `dry_run`, would do). Lists are sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Temp files and staging directories removed.
    pub temps_removed: Vec<PathBuf>,
    /// Unreferenced objects removed.
    pub objects_removed: Vec<PathBuf>,
    /// Bytes freed.
    pub bytes_freed: u64,
    /// Younger temp files left alone (writes in progress).
    pub temps_in_progress: usize,
    /// Unreferenced objects left alone: too young, kept by the caller, or
    /// not asked for.
    pub unreferenced_kept: usize,
    /// Why unreferenced objects were not removed although asked, if so.
    pub unreferenced_refused: Option<String>,
    /// What could not be removed or read, and why.
    pub failed: Vec<UnreadableFile>,
}

/// Sweeps the archive under `root` (see the module documentation).
pub fn sweep(root: &Path, options: &SweepOptions) -> Result<SweepReport> {
    sweep_in(Source::Local(root), options)
}

/// [`sweep`] over a local root or a remote store.
pub(crate) fn sweep_in(source: Source<'_>, options: &SweepOptions) -> Result<SweepReport> {
    let now = SystemTime::now();
    let verify = VerifyOptions { stale_temp_after: options.older_than, ..VerifyOptions::default() };
    let mut found = FixityReport::default();
    let survey = survey(source, &verify, now, &mut found)?;
    let mut report = SweepReport { temps_in_progress: found.temps_in_progress.len(), ..SweepReport::default() };
    report.failed.append(&mut found.unreadable_objects);

    for path in std::mem::take(&mut found.stale_temps) {
        let size = size_of(&path);
        let removed = if options.dry_run {
            Ok(())
        } else if path.is_dir() {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        match removed {
            Ok(()) => {
                report.bytes_freed += size;
                report.temps_removed.push(path);
            }
            Err(e) => report.failed.push(UnreadableFile { path, reason: e.to_string() }),
        }
    }

    let refs = references(source, &survey, &mut found);
    let unreferenced: Vec<_> = survey.objects.iter().filter(|o| !refs.contains_key(&o.digest)).collect();
    if !options.unreferenced {
        report.unreferenced_kept = unreferenced.len();
    } else if !found.unreadable_manifests.is_empty() || !report.failed.is_empty() {
        // What an unreadable manifest references is unknown: remove nothing.
        report.unreferenced_kept = unreferenced.len();
        report.unreferenced_refused = Some(format!(
            "有 {} 个档案清单或目录无法读取，无法确定哪些文件无人引用，未删除任何文件",
            found.unreadable_manifests.len() + report.failed.len()
        ));
        report.failed.append(&mut found.unreadable_manifests);
    } else {
        for object in unreferenced {
            // Looked at again now: a new upload of the same bytes touches the object.
            let modified = source.modified_now(object);
            if options.keep.contains(&object.digest) || !is_old(modified, options.older_than, now) {
                report.unreferenced_kept += 1;
                continue;
            }
            let removed = if options.dry_run { Ok(()) } else { source.remove_object(object) };
            match removed {
                Ok(()) => {
                    report.bytes_freed += object.size;
                    report.objects_removed.push(object.path.clone());
                }
                Err(reason) => report.failed.push(UnreadableFile { path: object.path.clone(), reason }),
            }
        }
    }
    report.temps_removed.sort();
    report.objects_removed.sort();
    report.failed.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(report)
}

/// Bytes under `path` (a file, or a directory's files).
fn size_of(path: &Path) -> u64 {
    let Ok(meta) = fs::symlink_metadata(path) else { return 0 };
    if !meta.is_dir() {
        return meta.len();
    }
    fs::read_dir(path).map_or(0, |entries| entries.flatten().map(|e| size_of(&e.path())).sum())
}
