//! The local archive root's walk: every object file, every dossier version
//! file, and the temp files beside them, each sorted into what the fixity
//! report names (stray, stale, in progress, unreadable).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::{FixityReport, ObjectFile, UnreadableFile, VerifyOptions};
use crate::error::{IoContext, Result};
use crate::fsutil::is_temp_name;
use crate::manifest::{DOSSIERS_DIR, decode_dossier_dir_name, parse_version_file_name};
use crate::store::local::{OBJECTS_DIR, is_prefix_name, parse_object_name};

/// Whether a file last changed at `modified` is at least `after` old. An
/// unknown time counts as new: nothing is called stale on a guess.
pub(crate) fn is_old(modified: Option<SystemTime>, after: Duration, now: SystemTime) -> bool {
    modified.and_then(|m| now.duration_since(m).ok()).is_some_and(|age| age >= after)
}

/// The newest modification time of `path` and, for a directory, of
/// everything under it (a staging directory stays young while its files
/// are written).
pub(crate) fn newest_modified(path: &Path) -> Option<SystemTime> {
    let meta = fs::symlink_metadata(path).ok()?;
    let mut newest = meta.modified().ok()?;
    if meta.is_dir() {
        for entry in fs::read_dir(path).ok()?.flatten() {
            if let Some(m) = newest_modified(&entry.path()) {
                newest = newest.max(m);
            }
        }
    }
    Some(newest)
}

fn classify_temp(path: PathBuf, options: &VerifyOptions, now: SystemTime, report: &mut FixityReport) {
    if is_old(newest_modified(&path), options.stale_temp_after, now) {
        report.stale_temps.push(path);
    } else {
        report.temps_in_progress.push(path);
    }
}

/// Lists `dir`, or records it as unreadable and gives nothing.
fn list_or_report(dir: &Path, report: &mut FixityReport) -> Vec<fs::DirEntry> {
    match fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| match e {
                Ok(e) => Some(e),
                Err(e) => {
                    report.unreadable_objects.push(UnreadableFile { path: dir.to_path_buf(), reason: e.to_string() });
                    None
                }
            })
            .collect(),
        Err(e) => {
            report.unreadable_objects.push(UnreadableFile { path: dir.to_path_buf(), reason: e.to_string() });
            Vec::new()
        }
    }
}

fn read_dir_if_exists(dir: &Path) -> Result<Option<fs::ReadDir>> {
    match fs::read_dir(dir) {
        Ok(rd) => Ok(Some(rd)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(crate::ArchiveError::io("列出目录", dir, e)),
    }
}

pub(super) fn walk_objects(
    root: &Path,
    options: &VerifyOptions,
    now: SystemTime,
    report: &mut FixityReport,
) -> Result<Vec<ObjectFile>> {
    let dir = root.join(OBJECTS_DIR);
    let mut out = Vec::new();
    let Some(entries) = read_dir_if_exists(&dir)? else {
        return Ok(out);
    };
    for entry in entries {
        let entry = entry.ctx("列出对象目录", &dir)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let Ok(file_type) = entry.file_type() else {
            report.unreadable_objects.push(UnreadableFile { path, reason: "无法读取文件类型".into() });
            continue;
        };
        if is_temp_name(&name) && file_type.is_file() {
            classify_temp(path, options, now, report);
            continue;
        }
        if !(file_type.is_dir() && is_prefix_name(&name)) {
            report.stray.push(path);
            continue;
        }
        for obj in list_or_report(&path, report) {
            let obj_name = obj.file_name().to_string_lossy().into_owned();
            let obj_path = obj.path();
            let is_file = obj.file_type().is_ok_and(|t| t.is_file());
            if !is_file {
                report.stray.push(obj_path);
            } else if let Some(digest) = parse_object_name(&name, &obj_name) {
                let meta = obj.metadata().ok();
                let size = meta.as_ref().map_or(0, |m| m.len());
                let modified = meta.and_then(|m| m.modified().ok());
                out.push(ObjectFile { digest, path: obj_path, size, modified });
            } else if is_temp_name(&obj_name) {
                classify_temp(obj_path, options, now, report);
            } else {
                report.stray.push(obj_path);
            }
        }
    }
    Ok(out)
}

/// Returns `(path, dossier dir name, version)` for every manifest file.
pub(super) fn walk_dossiers(
    root: &Path,
    options: &VerifyOptions,
    now: SystemTime,
    report: &mut FixityReport,
) -> Result<Vec<(PathBuf, String, u32)>> {
    let dir = root.join(DOSSIERS_DIR);
    let mut out = Vec::new();
    let Some(entries) = read_dir_if_exists(&dir)? else {
        return Ok(out);
    };
    for entry in entries {
        let entry = entry.ctx("列出档案目录", &dir)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let Ok(file_type) = entry.file_type() else {
            report.unreadable_objects.push(UnreadableFile { path, reason: "无法读取文件类型".into() });
            continue;
        };
        if is_temp_name(&name) && file_type.is_file() {
            classify_temp(path, options, now, report);
            continue;
        }
        if !(file_type.is_dir() && decode_dossier_dir_name(&name).is_some()) {
            report.stray.push(path);
            continue;
        }
        for file in list_or_report(&path, report) {
            let file_name = file.file_name().to_string_lossy().into_owned();
            let file_path = file.path();
            let is_file = file.file_type().is_ok_and(|t| t.is_file());
            match parse_version_file_name(&file_name) {
                Some(v) if is_file => out.push((file_path, name.clone(), v)),
                None if is_file && is_temp_name(&file_name) => classify_temp(file_path, options, now, report),
                _ => report.stray.push(file_path),
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Sorts what is in a local temp directory (`staging/`, a remote store's
/// `tmp/`): temp files young or stale, anything else stray.
pub(super) fn walk_temp_dir(
    dir: &Path,
    options: &VerifyOptions,
    now: SystemTime,
    report: &mut FixityReport,
) -> Result<()> {
    let Some(entries) = read_dir_if_exists(dir)? else {
        return Ok(());
    };
    for entry in entries {
        let entry = entry.ctx("列出暂存目录", dir)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if is_temp_name(&name) {
            classify_temp(path, options, now, report);
        } else {
            report.stray.push(path);
        }
    }
    Ok(())
}
