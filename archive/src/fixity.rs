//! Fixity check: re-hash every object, check every manifest, and report by
//! path whatever is changed, missing, stray, stale, unreferenced or
//! unreadable. One bad entry (an unreadable directory, a stray file) is
//! reported and the walk goes on.
//!
//! Hashing runs on several worker threads (two by default) pulling from one
//! shared list, largest objects first, each with a 1 MiB read buffer. sha2
//! picks SHA-NI / ARMv8 SHA instructions at run time when the CPU has them.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use crate::bag::STAGING_DIR;
use crate::digest::{Digest, Hasher};
use crate::error::Result;
use crate::fsutil::read_retrying;
use crate::manifest::{
    DOSSIERS_DIR, decode_dossier_dir_name, encode_dossier_id, parse_version_file_name, read_manifest_file,
};
use crate::manifest::{MAX_MANIFEST_BYTES, Manifest, parse_manifest};
use crate::store::S3Store;
use crate::store::local::OBJECTS_DIR;
use crate::store::s3::parse_object_rel;

mod walk;

pub(crate) use walk::is_old;
use walk::{walk_dossiers, walk_objects, walk_temp_dir};

/// What a fixity check or a sweep looks at.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Source<'a> {
    /// An archive root holding `objects/`, `dossiers/` and `staging/`.
    Local(&'a Path),
    /// An S3-compatible store, and the local root holding its temp files.
    Remote {
        /// The store.
        store: &'a S3Store,
        /// The local archive root (`tmp/`, `staging/`).
        local_root: &'a Path,
    },
}

impl Source<'_> {
    /// What paths in reports start with.
    pub(crate) fn display_root(&self) -> PathBuf {
        match self {
            Source::Local(root) => root.to_path_buf(),
            Source::Remote { store, .. } => store.location().display_root(),
        }
    }

    /// The key of a remote path (relative to the store's prefix).
    fn rel(&self, path: &Path) -> String {
        let root = self.display_root();
        path.strip_prefix(&root).unwrap_or(path).to_string_lossy().replace('\\', "/")
    }

    fn open(&self, object: &ObjectFile) -> io::Result<Box<dyn Read + Send>> {
        match self {
            Source::Local(_) => Ok(Box::new(File::open(&object.path)?)),
            Source::Remote { store, .. } => {
                crate::store::ObjectStore::get(*store, &object.digest).map_err(|e| io::Error::other(e.to_string()))
            }
        }
    }

    fn read_manifest(&self, path: &Path) -> Result<Manifest> {
        match self {
            Source::Local(_) => read_manifest_file(path),
            Source::Remote { store, .. } => {
                let bytes = store.get_bytes(&self.rel(path), MAX_MANIFEST_BYTES)?.ok_or_else(|| {
                    crate::ArchiveError::ManifestInvalid { path: path.to_path_buf(), detail: "已不存在".into() }
                })?;
                parse_manifest(&bytes)
                    .map_err(|detail| crate::ArchiveError::ManifestInvalid { path: path.to_path_buf(), detail })
            }
        }
    }

    /// An object's modification time, looked at now.
    pub(crate) fn modified_now(&self, object: &ObjectFile) -> Option<SystemTime> {
        match self {
            Source::Local(_) => fs::metadata(&object.path).and_then(|m| m.modified()).ok(),
            Source::Remote { store, .. } => store.head(&self.rel(&object.path)).ok().flatten().and_then(|l| l.modified),
        }
    }

    /// Removes an unreferenced object (the sweep's only deletion).
    pub(crate) fn remove_object(&self, object: &ObjectFile) -> std::result::Result<(), String> {
        match self {
            Source::Local(_) => fs::remove_file(&object.path).map_err(|e| e.to_string()),
            Source::Remote { store, .. } => store.delete(&self.rel(&object.path)).map_err(|e| e.to_string()),
        }
    }
}

/// How [`verify`] runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Hashing threads (at least 1).
    pub threads: usize,
    /// Read buffer per thread, in bytes.
    pub buffer_size: usize,
    /// A temp file older than this is reported as stale; a younger one is
    /// taken for a write in progress and only counted.
    pub stale_temp_after: Duration,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self { threads: 2, buffer_size: 1024 * 1024, stale_temp_after: Duration::from_secs(3600) }
    }
}

/// Progress of the hashing phase, reported after each object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyProgress {
    /// Objects hashed so far.
    pub objects_done: u64,
    /// Objects to hash.
    pub objects_total: u64,
    /// Bytes hashed so far.
    pub bytes_done: u64,
    /// Bytes to hash (sizes at listing time).
    pub bytes_total: u64,
}

/// An object whose bytes no longer hash to its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedObject {
    /// The object file.
    pub path: PathBuf,
    /// The digest its name promises.
    pub expected: Digest,
    /// The digest of its bytes now.
    pub actual: Digest,
}

/// An object that manifests reference but that is not stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingObject {
    /// The missing digest.
    pub digest: Digest,
    /// Where the object should be.
    pub path: PathBuf,
    /// The manifest files that reference it.
    pub referenced_by: Vec<PathBuf>,
}

/// An object that no dossier version references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreferencedObject {
    /// The object file.
    pub path: PathBuf,
    /// Its digest.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
}

/// A file that could not be read or parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadableFile {
    /// The file.
    pub path: PathBuf,
    /// Why, in short.
    pub reason: String,
}

/// The outcome of [`verify`]. Lists are sorted by path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FixityReport {
    /// Objects re-hashed.
    pub objects_checked: u64,
    /// Bytes re-hashed.
    pub bytes_hashed: u64,
    /// Manifest files read.
    pub manifests_checked: u64,
    /// Objects whose bytes changed.
    pub changed: Vec<ChangedObject>,
    /// Objects referenced by a manifest but absent.
    pub missing: Vec<MissingObject>,
    /// Files or directories that are neither objects, manifests nor temp
    /// files where they are found.
    pub stray: Vec<PathBuf>,
    /// Temp files or staging directories older than
    /// [`VerifyOptions::stale_temp_after`]: left by a crash.
    pub stale_temps: Vec<PathBuf>,
    /// Younger temp files: writes presumably in progress (not a fault).
    pub temps_in_progress: Vec<PathBuf>,
    /// Objects that no manifest references and that are older than
    /// [`VerifyOptions::stale_temp_after`]: left by an upload or import that
    /// stopped after storing them. Nothing is lost; `sweep` can remove them.
    pub unreferenced: Vec<UnreferencedObject>,
    /// Younger unreferenced objects: uploads presumably about to write
    /// their version (not a fault).
    pub unreferenced_recent: Vec<PathBuf>,
    /// Objects, or object and dossier directories, that could not be read.
    pub unreadable_objects: Vec<UnreadableFile>,
    /// Manifests that could not be read or parsed, or sit in the wrong place.
    pub unreadable_manifests: Vec<UnreadableFile>,
    /// Wall time taken.
    pub elapsed: Duration,
}

impl FixityReport {
    /// Whether nothing is wrong (temps in progress do not count).
    pub fn is_clean(&self) -> bool {
        self.changed.is_empty()
            && self.missing.is_empty()
            && self.stray.is_empty()
            && self.stale_temps.is_empty()
            && self.unreferenced.is_empty()
            && self.unreadable_objects.is_empty()
            && self.unreadable_manifests.is_empty()
    }

    /// Number of problems found.
    pub fn problem_count(&self) -> usize {
        self.changed.len()
            + self.missing.len()
            + self.stray.len()
            + self.stale_temps.len()
            + self.unreferenced.len()
            + self.unreadable_objects.len()
            + self.unreadable_manifests.len()
    }

    /// Hashing throughput in bytes per second.
    pub fn bytes_per_second(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 { self.bytes_hashed as f64 / secs } else { 0.0 }
    }
}

pub(crate) struct ObjectFile {
    pub(crate) digest: Digest,
    pub(crate) path: PathBuf,
    pub(crate) size: u64,
    pub(crate) modified: Option<SystemTime>,
}

/// What a walk of the archive found, before any object is hashed.
pub(crate) struct Survey {
    pub(crate) objects: Vec<ObjectFile>,
    /// `(path, dossier dir name, version)` of every manifest file.
    pub(crate) manifests: Vec<(PathBuf, String, u32)>,
}

/// Lists objects, manifests and temp files under `root`, sorting what does
/// not belong into `report` (stray, stale and young temps, unreadable
/// directories).
pub(crate) fn survey(
    source: Source<'_>,
    options: &VerifyOptions,
    now: SystemTime,
    report: &mut FixityReport,
) -> Result<Survey> {
    let root = match source {
        Source::Local(root) => root,
        Source::Remote { store, local_root } => return survey_remote(store, local_root, options, now, report),
    };
    // A mistyped root must not pass for an empty, clean archive.
    if !root.join(OBJECTS_DIR).is_dir() {
        return Err(crate::ArchiveError::io(
            "打开存档",
            root.join(OBJECTS_DIR),
            io::Error::from(io::ErrorKind::NotFound),
        ));
    }
    let objects = walk_objects(root, options, now, report)?;
    let manifests = walk_dossiers(root, options, now, report)?;
    walk_temp_dir(&root.join(STAGING_DIR), options, now, report)?;
    Ok(Survey { objects, manifests })
}

/// The survey of a remote store: every key under its prefix, sorted into
/// objects, manifests and strays, and the local temp directories.
fn survey_remote(
    store: &S3Store,
    local_root: &Path,
    options: &VerifyOptions,
    now: SystemTime,
    report: &mut FixityReport,
) -> Result<Survey> {
    let root = store.location().display_root();
    let mut objects = Vec::new();
    let mut manifests = Vec::new();
    for listed in store.list_all("")? {
        // The service's short-lived files beside the archive (batch results), not archive content.
        // and files derived from objects (checked by the service against the digests it records).
        if [crate::archive::RESULTS_DIR, crate::archive::DERIVED_DIR]
            .iter()
            .any(|dir| listed.rel.strip_prefix(dir).is_some_and(|rest| rest.starts_with('/')))
            || crate::inventory::is_listing(&listed.rel)
        {
            continue;
        }
        let path = root.join(&listed.rel);
        if let Some(digest) = parse_object_rel(&listed.rel) {
            objects.push(ObjectFile { digest, path, size: listed.size, modified: listed.modified });
            continue;
        }
        let parts: Vec<&str> = listed.rel.split('/').collect();
        if let [DOSSIERS_DIR, dir, file] = parts.as_slice()
            && decode_dossier_dir_name(dir).is_some()
            && let Some(version) = parse_version_file_name(file)
        {
            manifests.push((path, (*dir).to_owned(), version));
            continue;
        }
        report.stray.push(path);
    }
    walk_temp_dir(store.staging_dir(), options, now, report)?;
    walk_temp_dir(&local_root.join(STAGING_DIR), options, now, report)?;
    manifests.sort();
    Ok(Survey { objects, manifests })
}

/// The digests the manifests in `survey` reference, each with the manifest
/// files naming it; unreadable or misplaced manifests go to `report`.
pub(crate) fn references(
    source: Source<'_>,
    survey: &Survey,
    report: &mut FixityReport,
) -> BTreeMap<Digest, Vec<PathBuf>> {
    let mut refs: BTreeMap<Digest, Vec<PathBuf>> = BTreeMap::new();
    for (path, dossier_dir_name, version) in &survey.manifests {
        report.manifests_checked += 1;
        let manifest = match source.read_manifest(path) {
            Ok(m) => m,
            Err(e) => {
                report.unreadable_manifests.push(UnreadableFile { path: path.clone(), reason: e.to_string() });
                continue;
            }
        };
        let placed_right = encode_dossier_id(&manifest.dossier_id).is_ok_and(|enc| &enc == dossier_dir_name)
            && manifest.version == *version;
        if !placed_right {
            report
                .unreadable_manifests
                .push(UnreadableFile {
                    path: path.clone(), reason: "文件中的档案编号或版本号与文件位置不符".into()
                });
            continue;
        }
        for entry in &manifest.entries {
            let list = refs.entry(entry.digest).or_default();
            if list.last() != Some(path) {
                list.push(path.clone());
            }
        }
    }
    refs
}

/// Checks the archive under `root` (the directory holding `objects/` and
/// `dossiers/`). `progress` is called from the hashing threads.
pub fn verify(
    root: &Path,
    options: &VerifyOptions,
    progress: &(dyn Fn(&VerifyProgress) + Sync),
) -> Result<FixityReport> {
    verify_in(Source::Local(root), options, progress)
}

/// [`verify`] over a local root or a remote store.
pub(crate) fn verify_in(
    source: Source<'_>,
    options: &VerifyOptions,
    progress: &(dyn Fn(&VerifyProgress) + Sync),
) -> Result<FixityReport> {
    let started = Instant::now();
    let mut report = FixityReport::default();
    let now = SystemTime::now();
    let survey = survey(source, options, now, &mut report)?;

    hash_objects(source, &survey.objects, options, progress, &mut report);

    let refs = references(source, &survey, &mut report);
    let present: HashSet<Digest> = survey.objects.iter().map(|o| o.digest).collect();
    let objects_dir = source.display_root().join(OBJECTS_DIR);
    report.missing = refs
        .iter()
        .filter(|(digest, _)| !present.contains(digest))
        .map(|(digest, referenced_by)| MissingObject {
            digest: *digest,
            path: objects_dir.join(digest.prefix()).join(digest.to_hex()),
            referenced_by: referenced_by.clone(),
        })
        .collect();
    for object in survey.objects.iter().filter(|o| !refs.contains_key(&o.digest)) {
        if is_old(object.modified, options.stale_temp_after, now) {
            report.unreferenced.push(UnreferencedObject {
                path: object.path.clone(),
                digest: object.digest,
                size: object.size,
            });
        } else {
            report.unreferenced_recent.push(object.path.clone());
        }
    }

    report.changed.sort_by(|a, b| a.path.cmp(&b.path));
    report.missing.sort_by(|a, b| a.path.cmp(&b.path));
    report.stray.sort();
    report.stale_temps.sort();
    report.temps_in_progress.sort();
    report.unreferenced.sort_by(|a, b| a.path.cmp(&b.path));
    report.unreferenced_recent.sort();
    report.unreadable_objects.sort_by(|a, b| a.path.cmp(&b.path));
    report.unreadable_manifests.sort_by(|a, b| a.path.cmp(&b.path));
    report.elapsed = started.elapsed();
    Ok(report)
}

enum HashOutcome {
    Hashed(Digest),
    Unreadable(String),
}

fn hash_object(source: Source<'_>, object: &ObjectFile, buf: &mut [u8], bytes_done: &AtomicU64) -> HashOutcome {
    let mut file = match source.open(object) {
        Ok(f) => f,
        Err(e) => return HashOutcome::Unreadable(e.to_string()),
    };
    let mut hasher = Hasher::new();
    loop {
        match read_retrying(&mut file, buf) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buf[..n]);
                bytes_done.fetch_add(n as u64, Ordering::Relaxed);
            }
            Err(e) => return HashOutcome::Unreadable(e.to_string()),
        }
    }
    HashOutcome::Hashed(hasher.finish().0)
}

fn hash_objects(
    source: Source<'_>,
    objects: &[ObjectFile],
    options: &VerifyOptions,
    progress: &(dyn Fn(&VerifyProgress) + Sync),
    report: &mut FixityReport,
) {
    let mut order: Vec<&ObjectFile> = objects.iter().collect();
    // Largest first, so the threads finish together.
    order.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.path.cmp(&b.path)));
    let objects_total = order.len() as u64;
    let bytes_total: u64 = order.iter().map(|o| o.size).sum();
    let next = AtomicUsize::new(0);
    let objects_done = AtomicU64::new(0);
    let bytes_done = AtomicU64::new(0);
    let changed = Mutex::new(Vec::new());
    let unreadable = Mutex::new(Vec::new());
    let threads = options.threads.clamp(1, order.len().max(1));
    let buffer_size = options.buffer_size.max(4096);

    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut buf = vec![0u8; buffer_size];
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(obj) = order.get(i) else {
                        break;
                    };
                    match hash_object(source, obj, &mut buf, &bytes_done) {
                        HashOutcome::Hashed(actual) if actual == obj.digest => {}
                        HashOutcome::Hashed(actual) => {
                            if let Ok(mut list) = changed.lock() {
                                list.push(ChangedObject { path: obj.path.clone(), expected: obj.digest, actual });
                            }
                        }
                        HashOutcome::Unreadable(reason) => {
                            if let Ok(mut list) = unreadable.lock() {
                                list.push(UnreadableFile { path: obj.path.clone(), reason });
                            }
                        }
                    }
                    let done = objects_done.fetch_add(1, Ordering::Relaxed) + 1;
                    progress(&VerifyProgress {
                        objects_done: done,
                        objects_total,
                        bytes_done: bytes_done.load(Ordering::Relaxed),
                        bytes_total,
                    });
                }
            });
        }
    });

    report.objects_checked = objects_done.into_inner();
    report.bytes_hashed = bytes_done.into_inner();
    report.changed = changed.into_inner().unwrap_or_else(|e| e.into_inner());
    report.unreadable_objects = unreadable.into_inner().unwrap_or_else(|e| e.into_inner());
}
