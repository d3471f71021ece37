//! BagIt (RFC 8493) transfer packages, zipped and signed, for moving a
//! dossier to another archive (a student's transfer to another county).
//!
//! Layout of the zip:
//!
//! ```text
//! bagit.txt
//! bag-info.txt                 Source-Organization, External-Identifier (the
//!                              dossier id), Bagging-Date, Payload-Oxum
//! data/record.json             the caller's record, opaque here
//! data/manifest/v1.json …      the dossier's versions
//! data/objects/<hex>.<ext>     every object the versions reference
//! manifest-sha256.txt          sha256 of every payload file
//! tagmanifest-sha256.txt       sha256 of bagit.txt, bag-info.txt and
//!                              manifest-sha256.txt
//! signature.ed25519            Ed25519 signature over tagmanifest-sha256.txt
//! ```
//!
//! The signature covers the tag manifest, which covers the payload
//! manifest, which covers every payload file.
//!
//! Import is all or nothing: every entry is extracted, under size, count and
//! compression-ratio limits counted on the bytes actually inflated, into a
//! staging directory under the archive; everything is verified; only then
//! are the objects put into the store. The staging directory is removed
//! whatever happens.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use zip::result::ZipError;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use crate::digest::{Digest, Hasher};
use crate::error::{ArchiveError, IoContext, Result, shown_name};
use crate::fsutil::{TEMP_PREFIX, read_bounded, read_retrying};
use crate::inspect::FileType;
use crate::manifest::{Manifest, manifest_bytes, parse_manifest, parse_version_file_name};
use crate::store::ObjectStore;

/// Name of the directory under the archive root where bags are unpacked
/// before verification.
pub const STAGING_DIR: &str = "staging";

const BAGIT_TXT: &str = "bagit.txt";
const BAG_INFO_TXT: &str = "bag-info.txt";
const MANIFEST_TXT: &str = "manifest-sha256.txt";
const TAGMANIFEST_TXT: &str = "tagmanifest-sha256.txt";
const SIGNATURE_FILE: &str = "signature.ed25519";
const RECORD_JSON: &str = "data/record.json";
const MANIFESTS_PREFIX: &str = "data/manifest/";
const OBJECTS_PREFIX: &str = "data/objects/";
const BAGIT_CONTENT: &str = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n";
/// Largest tag file (bagit.txt, bag-info.txt, the manifests) read into memory.
const MAX_TAG_FILE: u64 = 16 * 1024 * 1024;
/// Largest `data/record.json` read into memory.
const MAX_RECORD_BYTES: u64 = 64 * 1024 * 1024;

/// Who signs an exported bag, and what goes into `bag-info.txt`.
#[derive(Debug, Clone, Copy)]
pub struct ExportOptions<'a> {
    /// `Source-Organization`, e.g. the county education bureau's name.
    pub source_organization: &'a str,
    /// `Bagging-Date`, `YYYY-MM-DD`.
    pub bagging_date: &'a str,
    /// The id the receiver looks the verifying key up by: 1–64 characters
    /// of ASCII letters, digits, `.`, `_`, `-` (see [`key_id_for`]).
    pub key_id: &'a str,
    /// The signing key.
    pub signing_key: &'a SigningKey,
}

/// What [`export_bag`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    /// The dossier id (`External-Identifier`).
    pub dossier_id: String,
    /// Number of dossier versions in the bag.
    pub versions: usize,
    /// Number of distinct objects in the bag.
    pub objects: usize,
    /// Payload files (record + versions + objects).
    pub payload_files: u64,
    /// Payload bytes.
    pub payload_bytes: u64,
}

/// Limits applied while unpacking a bag, counted on the bytes actually read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportLimits {
    /// Most zip entries (files and directories).
    pub max_entries: usize,
    /// Most bytes unpacked, all entries together.
    pub max_unpacked_bytes: u64,
    /// Most bytes unpacked per byte stored, per entry.
    pub max_compression_ratio: u64,
    /// The ratio is enforced once an entry has unpacked more than this many
    /// bytes (small, very compressible files such as JSON are fine).
    pub ratio_check_min_bytes: u64,
}

impl Default for ImportLimits {
    fn default() -> Self {
        Self {
            max_entries: 100_000,
            max_unpacked_bytes: 20 * 1024 * 1024 * 1024,
            max_compression_ratio: 500,
            ratio_check_min_bytes: 1024 * 1024,
        }
    }
}

/// A verified bag whose objects are now in the store.
///
/// The manifests are returned, not written: which local dossier they belong
/// to is the caller's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedBag {
    /// `External-Identifier`: the dossier id at the sending archive.
    pub dossier_id: String,
    /// The dossier's versions, oldest first.
    pub manifests: Vec<Manifest>,
    /// `data/record.json`, as sent (valid JSON).
    pub record_json: Vec<u8>,
    /// Every `bag-info.txt` field, in order.
    pub bag_info: Vec<(String, String)>,
    /// The key id that signed the bag.
    pub key_id: String,
    /// Every object in the bag, sorted.
    pub objects: Vec<Digest>,
    /// How many of them were new to the store.
    pub objects_created: usize,
    /// Payload bytes.
    pub payload_bytes: u64,
}

/// A conventional key id for a verifying key: `ed25519-` and the first 16
/// hex digits of the sha256 of its 32 bytes.
pub fn key_id_for(key: &VerifyingKey) -> String {
    format!("ed25519-{}", &Digest::of(key.as_bytes()).to_hex()[..16])
}

fn write_err(e: ZipError) -> ArchiveError {
    let source = match e {
        ZipError::Io(e) => e,
        other => io::Error::other(other.to_string()),
    };
    ArchiveError::io("写入传输包", "<传输包>", source)
}

fn check_key_id(key_id: &str) -> Result<()> {
    let ok = (1..=64).contains(&key_id.len())
        && key_id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(ArchiveError::FieldInvalid {
            field: "密钥编号",
            reason: "只能由 1–64 个英文字母、数字、“.”、“_”、“-”组成".into(),
        })
    }
}

fn check_bagging_date(date: &str) -> Result<()> {
    let b = date.as_bytes();
    let ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if ok && crate::manifest::check_rfc3339(&format!("{date}T00:00:00Z")).is_ok() {
        Ok(())
    } else {
        Err(ArchiveError::FieldInvalid { field: "打包日期", reason: "应为 YYYY-MM-DD".into() })
    }
}

/// Percent-encodes a payload path for a manifest line (RFC 8493 §2.1.3).
fn encode_manifest_path(path: &str) -> String {
    path.replace('%', "%25").replace('\n', "%0A").replace('\r', "%0D")
}

fn decode_manifest_path(path: &str) -> String {
    path.replace("%0A", "\n").replace("%0a", "\n").replace("%0D", "\r").replace("%0d", "\r").replace("%25", "%")
}

struct BagZipWriter<W: Write + Seek> {
    zip: ZipWriter<W>,
    buf: Vec<u8>,
}

impl<W: Write + Seek> BagZipWriter<W> {
    /// Writes one entry from `reader`, returning its digest and length.
    fn add(&mut self, name: &str, reader: &mut dyn Read, compress: bool, large: bool) -> Result<(Digest, u64)> {
        let method = if compress { CompressionMethod::Deflated } else { CompressionMethod::Stored };
        let options = SimpleFileOptions::default().compression_method(method).unix_permissions(0o644).large_file(large);
        self.zip.start_file(name, options).map_err(write_err)?;
        let mut hasher = Hasher::new();
        loop {
            let n = read_retrying(reader, &mut self.buf).ctx("读取对象", name)?;
            if n == 0 {
                break;
            }
            hasher.update(&self.buf[..n]);
            self.zip.write_all(&self.buf[..n]).ctx("写入传输包", name)?;
        }
        Ok(hasher.finish())
    }

    fn add_bytes(&mut self, name: &str, bytes: &[u8]) -> Result<(Digest, u64)> {
        self.add(name, &mut &bytes[..], true, false)
    }
}

/// Writes a signed BagIt zip of one dossier to `writer`.
///
/// `manifests` are the dossier's versions to send (all of one dossier);
/// every object they reference is read from `store`, re-hashed on the way
/// and refused with [`ArchiveError::ObjectCorrupt`] if it no longer matches
/// its name. `record_json` must be valid JSON.
pub fn export_bag<W: Write + Seek>(
    store: &dyn ObjectStore,
    manifests: &[Manifest],
    record_json: &[u8],
    options: &ExportOptions<'_>,
    writer: W,
) -> Result<ExportSummary> {
    check_key_id(options.key_id)?;
    check_bagging_date(options.bagging_date)?;
    let org = options.source_organization.trim();
    if org.is_empty() || org.chars().any(char::is_control) {
        return Err(ArchiveError::FieldInvalid {
            field: "来源单位",
            reason: "不能为空，也不能含有换行等控制字符".into(),
        });
    }
    let Some(first) = manifests.first() else {
        return Err(ArchiveError::FieldInvalid { field: "档案版本", reason: "至少需要一个版本".into() });
    };
    let dossier_id = first.dossier_id.clone();
    crate::manifest::encode_dossier_id(&dossier_id)?;
    let mut sorted: Vec<&Manifest> = manifests.iter().collect();
    sorted.sort_by_key(|m| m.version);
    for pair in sorted.windows(2) {
        if pair[0].version == pair[1].version {
            return Err(ArchiveError::FieldInvalid {
                field: "档案版本",
                reason: format!("版本 {} 重复", pair[0].version),
            });
        }
    }
    if sorted.iter().any(|m| m.dossier_id != dossier_id) {
        return Err(ArchiveError::FieldInvalid {
            field: "档案版本", reason: "所有版本必须属于同一个档案".into()
        });
    }
    if serde_json::from_slice::<serde::de::IgnoredAny>(record_json).is_err() {
        return Err(ArchiveError::FieldInvalid { field: "案卷记录", reason: "不是有效的 JSON".into() });
    }

    // Each object once, named with the extension of its media type.
    let mut objects: BTreeMap<Digest, &'static str> = BTreeMap::new();
    for m in &sorted {
        for e in &m.entries {
            let ext = FileType::from_media_type(&e.media_type).map_or("", FileType::extension);
            objects.entry(e.digest).or_insert(ext);
        }
    }

    let mut bag = BagZipWriter { zip: ZipWriter::new(writer), buf: vec![0u8; crate::CHUNK_SIZE] };
    let mut payload: Vec<(String, Digest, u64)> = Vec::new();

    let (bagit_digest, _) = bag.add_bytes(BAGIT_TXT, BAGIT_CONTENT.as_bytes())?;

    let (d, n) = bag.add_bytes(RECORD_JSON, record_json)?;
    payload.push((RECORD_JSON.into(), d, n));
    for m in &sorted {
        let name = format!("{MANIFESTS_PREFIX}v{}.json", m.version);
        let (d, n) = bag.add_bytes(&name, &manifest_bytes(m)?)?;
        payload.push((name, d, n));
    }
    for (digest, ext) in &objects {
        let name = if ext.is_empty() {
            format!("{OBJECTS_PREFIX}{digest}")
        } else {
            format!("{OBJECTS_PREFIX}{digest}.{ext}")
        };
        let size = store.size(digest)?;
        // JPEG and PNG are compressed already.
        let compress = !matches!(*ext, "jpg" | "png");
        let mut reader = store.get(digest)?;
        let (actual, n) = bag.add(&name, &mut reader, compress, size >= u64::from(u32::MAX))?;
        if actual != *digest {
            return Err(ArchiveError::ObjectCorrupt { digest: *digest });
        }
        payload.push((name, actual, n));
    }

    let payload_bytes: u64 = payload.iter().map(|p| p.2).sum();
    let payload_files = payload.len() as u64;
    let mut info = String::new();
    let _ = writeln!(info, "Source-Organization: {org}");
    let _ = writeln!(info, "External-Identifier: {dossier_id}");
    let _ = writeln!(info, "Bagging-Date: {}", options.bagging_date);
    let _ = writeln!(info, "Payload-Oxum: {payload_bytes}.{payload_files}");
    let _ = writeln!(info, "Bag-Software-Agent: xueji-archive {}", env!("CARGO_PKG_VERSION"));
    let (info_digest, _) = bag.add_bytes(BAG_INFO_TXT, info.as_bytes())?;

    payload.sort_by(|a, b| a.0.cmp(&b.0));
    let mut manifest_txt = String::new();
    for (name, digest, _) in &payload {
        let _ = writeln!(manifest_txt, "{digest}  {}", encode_manifest_path(name));
    }
    let (manifest_digest, _) = bag.add_bytes(MANIFEST_TXT, manifest_txt.as_bytes())?;

    let mut tags = vec![(BAG_INFO_TXT, info_digest), (BAGIT_TXT, bagit_digest), (MANIFEST_TXT, manifest_digest)];
    tags.sort();
    let mut tagmanifest = String::new();
    for (name, digest) in tags {
        let _ = writeln!(tagmanifest, "{digest}  {name}");
    }
    bag.add_bytes(TAGMANIFEST_TXT, tagmanifest.as_bytes())?;

    let signature = options.signing_key.sign(tagmanifest.as_bytes());
    let sig_txt = format!(
        "Key-Id: {}\nAlgorithm: Ed25519\nSigned-File: {TAGMANIFEST_TXT}\nSignature: {}\n",
        options.key_id,
        hex::encode(signature.to_bytes())
    );
    bag.add_bytes(SIGNATURE_FILE, sig_txt.as_bytes())?;
    bag.zip.finish().map_err(write_err)?;

    Ok(ExportSummary { dossier_id, versions: sorted.len(), objects: objects.len(), payload_files, payload_bytes })
}

/// One unpacked zip entry in the staging directory.
struct Extracted {
    path: PathBuf,
    size: u64,
    digest: Digest,
}

/// Checks a zip entry name and returns it as a string.
fn check_entry_name(raw: &[u8], decoded: &str) -> Result<String> {
    let name = decoded.to_owned();
    let shown = shown_name(&name);
    if raw.contains(&0) || name.contains('\0') {
        return Err(ArchiveError::BagPathInvalid { name: shown });
    }
    if name.starts_with('/') {
        return Err(ArchiveError::BagPathAbsolute { name: shown });
    }
    let b = name.as_bytes();
    if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
        return Err(ArchiveError::BagPathDrive { name: shown });
    }
    if name.contains('\\') {
        return Err(ArchiveError::BagPathInvalid { name: shown });
    }
    let body = name.strip_suffix('/').unwrap_or(&name);
    if body.split('/').any(|c| c == "..") {
        return Err(ArchiveError::BagPathTraversal { name: shown });
    }
    if body.is_empty()
        || body.split('/').any(|c| c.is_empty() || c == ".")
        || name.chars().any(|c| c.is_control() || c == ':')
    {
        return Err(ArchiveError::BagPathInvalid { name: shown });
    }
    Ok(name)
}

const S_IFMT: u32 = 0o170_000;
const S_IFLNK: u32 = 0o120_000;
const S_IFREG: u32 = 0o100_000;
const S_IFDIR: u32 = 0o040_000;

/// Unpacks every entry into `staging`, enforcing the limits on the bytes
/// actually inflated.
fn extract_all<R: Read + Seek>(
    zip: &mut ZipArchive<R>,
    limits: &ImportLimits,
    staging: &Path,
) -> Result<BTreeMap<String, Extracted>> {
    // Where each entry's local header starts, and the central directory:
    // an entry's packed bytes cannot extend past the next of these, whatever
    // its header declares.
    let mut boundaries = Vec::with_capacity(zip.len() + 1);
    for i in 0..zip.len() {
        let entry = zip.by_index_raw(i).map_err(|e| ArchiveError::BagZip { detail: e.to_string() })?;
        boundaries.push(entry.header_start());
    }
    boundaries.push(zip.central_directory_start());
    boundaries.sort_unstable();

    let mut files = BTreeMap::new();
    let mut seen = HashSet::new();
    let mut total: u64 = 0;
    let mut buf = vec![0u8; crate::CHUNK_SIZE];
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| ArchiveError::BagZip { detail: e.to_string() })?;
        let decoded = entry.name().map_err(|e| ArchiveError::BagZip { detail: e.to_string() })?;
        let name = check_entry_name(entry.name_raw(), &decoded)?;
        if !seen.insert(name.clone()) {
            return Err(ArchiveError::BagDuplicateEntry { name: shown_name(&name) });
        }
        let kind = entry.unix_mode().map_or(0, |m| m & S_IFMT);
        if kind == S_IFLNK {
            return Err(ArchiveError::BagSymlink { name: shown_name(&name) });
        }
        if kind != 0 && kind != S_IFREG && kind != S_IFDIR {
            return Err(ArchiveError::BagSpecialFile { name: shown_name(&name) });
        }
        if entry.encrypted() {
            return Err(ArchiveError::BagZip { detail: format!("条目“{}”已加密", shown_name(&name)) });
        }
        if name.ends_with('/') || kind == S_IFDIR {
            continue;
        }
        let path = staging.join(format!("entry-{i}"));
        let mut out = File::create(&path).ctx("写入暂存文件", &path)?;
        // Known once the entry is opened; fall back to its header, which only widens the room.
        let data_start = entry.data_start().unwrap_or_else(|| entry.header_start());
        let room =
            boundaries.get(boundaries.partition_point(|&b| b <= data_start)).map_or(u64::MAX, |&end| end - data_start);
        let packed = entry.compressed_size().min(room);
        let ratio_cap = packed.saturating_mul(limits.max_compression_ratio);
        let mut hasher = Hasher::new();
        loop {
            let n = read_retrying(&mut entry, &mut buf).map_err(|e| ArchiveError::BagZip {
                detail: format!("条目“{}”解压失败：{e}", shown_name(&name)),
            })?;
            if n == 0 {
                break;
            }
            total += n as u64;
            if total > limits.max_unpacked_bytes {
                return Err(ArchiveError::BagTooLarge { limit: limits.max_unpacked_bytes });
            }
            let entry_len = hasher.len() + n as u64;
            if entry_len > limits.ratio_check_min_bytes && entry_len > ratio_cap {
                return Err(ArchiveError::BagCompressionRatio {
                    name: shown_name(&name),
                    limit: limits.max_compression_ratio,
                });
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n]).ctx("写入暂存文件", &path)?;
        }
        let (digest, size) = hasher.finish();
        files.insert(name, Extracted { path, size, digest });
    }
    Ok(files)
}

fn invalid(detail: impl Into<String>) -> ArchiveError {
    ArchiveError::BagInvalid { detail: detail.into() }
}

/// Reads a small extracted tag file as UTF-8.
fn read_tag_text(files: &BTreeMap<String, Extracted>, name: &str) -> Result<Option<String>> {
    let Some(file) = files.get(name) else {
        return Ok(None);
    };
    let bytes = read_bounded(&file.path, MAX_TAG_FILE)?.ok_or_else(|| invalid(format!("{name} 过大")))?;
    String::from_utf8(bytes).map(Some).map_err(|_| invalid(format!("{name} 不是 UTF-8 文本")))
}

/// Parses `Label: value` lines with RFC 8493 continuation lines.
fn parse_fields(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((k, v)) = line.split_once(':') {
            out.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    out
}

fn field<'a>(fields: &'a [(String, String)], label: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(label)).map(|(_, v)| v.as_str())
}

/// Parses `<sha256>  <path>` lines; refuses malformed and duplicate lines.
fn parse_checksum_lines(text: &str, file: &str) -> Result<BTreeMap<String, Digest>> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = || invalid(format!("{file} 中有格式错误的行"));
        let (hex, path) = line.split_once([' ', '\t']).ok_or_else(bad)?;
        let digest: Digest = hex.to_ascii_lowercase().parse().map_err(|_| bad())?;
        let path = decode_manifest_path(path.trim_start_matches([' ', '\t']));
        if path.is_empty() {
            return Err(bad());
        }
        if out.insert(path.clone(), digest).is_some() {
            return Err(invalid(format!("{file} 重复列出“{}”", shown_name(&path))));
        }
    }
    Ok(out)
}

/// Checks every listed file's presence and hash.
fn check_listed(files: &BTreeMap<String, Extracted>, listed: &BTreeMap<String, Digest>) -> Result<()> {
    for (path, digest) in listed {
        let file = files.get(path).ok_or_else(|| ArchiveError::BagFileMissing { name: shown_name(path) })?;
        if file.digest != *digest {
            return Err(ArchiveError::BagHashMismatch { name: shown_name(path) });
        }
    }
    Ok(())
}

fn verify_signature(
    files: &BTreeMap<String, Extracted>,
    keys: &dyn Fn(&str) -> Option<VerifyingKey>,
) -> Result<(String, String)> {
    let Some(sig_file) = files.get(SIGNATURE_FILE) else {
        return Err(ArchiveError::BagSignatureMissing);
    };
    let text = read_bounded(&sig_file.path, 4096)?
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or(ArchiveError::BagSignatureInvalid)?;
    let fields = parse_fields(&text);
    let key_id = field(&fields, "Key-Id").ok_or(ArchiveError::BagSignatureInvalid)?;
    if field(&fields, "Algorithm") != Some("Ed25519") {
        return Err(ArchiveError::BagSignatureInvalid);
    }
    if field(&fields, "Signed-File").is_some_and(|f| f != TAGMANIFEST_TXT) {
        return Err(ArchiveError::BagSignatureInvalid);
    }
    let mut sig_bytes = [0u8; 64];
    hex::decode_to_slice(field(&fields, "Signature").ok_or(ArchiveError::BagSignatureInvalid)?, &mut sig_bytes)
        .map_err(|_| ArchiveError::BagSignatureInvalid)?;
    let key = keys(key_id).ok_or_else(|| ArchiveError::BagKeyUnknown { key_id: shown_name(key_id) })?;
    let tagmanifest = read_tag_text(files, TAGMANIFEST_TXT)?
        .ok_or_else(|| ArchiveError::BagFileMissing { name: TAGMANIFEST_TXT.into() })?;
    key.verify_strict(tagmanifest.as_bytes(), &Signature::from_bytes(&sig_bytes))
        .map_err(|_| ArchiveError::BagSignatureInvalid)?;
    Ok((key_id.to_owned(), tagmanifest))
}

/// Verifies a signed BagIt zip from `reader` and, only if everything checks
/// out, puts its objects into `store`.
///
/// `keys` maps the key id named in `signature.ed25519` to a trusted
/// verifying key. The bag is unpacked into a fresh temp directory under
/// `staging_parent` (created if needed), which is removed afterwards.
///
/// Refusals, each with its own code: unsafe entry names (`..`, absolute,
/// drive letter, NUL, backslash), symlinks and special files, duplicate
/// entries, too many entries, too many bytes, a suspicious compression
/// ratio, a missing/bad signature or unknown key, a changed, missing or
/// extra file, and a structure that is not this crate's bag layout.
pub fn import_bag<R: Read + Seek>(
    reader: R,
    keys: &dyn Fn(&str) -> Option<VerifyingKey>,
    limits: &ImportLimits,
    staging_parent: &Path,
    store: &dyn ObjectStore,
) -> Result<ImportedBag> {
    let mut zip = ZipArchive::new(reader).map_err(|e| ArchiveError::BagZip { detail: e.to_string() })?;
    if zip.len() > limits.max_entries {
        return Err(ArchiveError::BagTooManyEntries { limit: limits.max_entries });
    }
    fs::create_dir_all(staging_parent).ctx("创建暂存目录", staging_parent)?;
    let staging = tempfile::Builder::new()
        .prefix(&format!("{TEMP_PREFIX}bag-"))
        .tempdir_in(staging_parent)
        .ctx("创建暂存目录", staging_parent)?;
    let files = extract_all(&mut zip, limits, staging.path())?;

    // bagit.txt
    let bagit = read_tag_text(&files, BAGIT_TXT)?.ok_or_else(|| invalid("缺少 bagit.txt"))?;
    let bagit_fields = parse_fields(bagit.trim_start_matches('\u{feff}'));
    if field(&bagit_fields, "BagIt-Version") != Some("1.0")
        || !field(&bagit_fields, "Tag-File-Character-Encoding").is_some_and(|e| e.eq_ignore_ascii_case("UTF-8"))
    {
        return Err(invalid("bagit.txt 内容不符合 BagIt 1.0（UTF-8）"));
    }

    // Signature over the tag manifest, then the tag manifest itself.
    let (key_id, tagmanifest) = verify_signature(&files, keys)?;
    let tags = parse_checksum_lines(&tagmanifest, TAGMANIFEST_TXT)?;
    for required in [BAGIT_TXT, BAG_INFO_TXT, MANIFEST_TXT] {
        if !tags.contains_key(required) {
            return Err(invalid(format!("标签清单未覆盖 {required}")));
        }
    }
    if let Some(p) = tags.keys().find(|p| p.starts_with("data/")) {
        return Err(invalid(format!("标签清单列出了数据文件“{}”", shown_name(p))));
    }
    check_listed(&files, &tags)?;

    // The payload manifest.
    let manifest_txt = read_tag_text(&files, MANIFEST_TXT)?
        .ok_or_else(|| ArchiveError::BagFileMissing { name: MANIFEST_TXT.into() })?;
    let payload = parse_checksum_lines(&manifest_txt, MANIFEST_TXT)?;
    if let Some(p) = payload.keys().find(|p| !p.starts_with("data/")) {
        return Err(invalid(format!("数据清单列出了 data/ 以外的文件“{}”", shown_name(p))));
    }
    check_listed(&files, &payload)?;
    for name in files.keys() {
        let listed = if name.starts_with("data/") {
            payload.contains_key(name)
        } else {
            tags.contains_key(name) || name == TAGMANIFEST_TXT || name == SIGNATURE_FILE
        };
        if !listed {
            return Err(ArchiveError::BagFileExtra { name: shown_name(name) });
        }
    }

    // bag-info.txt
    let info_text = read_tag_text(&files, BAG_INFO_TXT)?
        .ok_or_else(|| ArchiveError::BagFileMissing { name: BAG_INFO_TXT.into() })?;
    let bag_info = parse_fields(&info_text);
    let payload_bytes: u64 = payload.keys().filter_map(|p| files.get(p)).map(|f| f.size).sum();
    let oxum = format!("{payload_bytes}.{}", payload.len());
    if field(&bag_info, "Payload-Oxum") != Some(oxum.as_str()) {
        return Err(invalid("bag-info.txt 中的 Payload-Oxum 与实际数据不符"));
    }
    let dossier_id = field(&bag_info, "External-Identifier")
        .ok_or_else(|| invalid("bag-info.txt 缺少 External-Identifier"))?
        .to_owned();

    // The payload: record, versions, objects, nothing else.
    let record = files.get(RECORD_JSON).ok_or_else(|| invalid("缺少 data/record.json"))?;
    let record_json = read_bounded(&record.path, MAX_RECORD_BYTES)?.ok_or_else(|| invalid("data/record.json 过大"))?;
    if serde_json::from_slice::<serde::de::IgnoredAny>(&record_json).is_err() {
        return Err(invalid("data/record.json 不是有效的 JSON"));
    }
    let mut manifests = Vec::new();
    let mut objects: BTreeMap<Digest, &Extracted> = BTreeMap::new();
    for (name, file) in &files {
        if name == RECORD_JSON || !name.starts_with("data/") {
            continue;
        }
        if let Some(file_name) = name.strip_prefix(MANIFESTS_PREFIX) {
            let version = parse_version_file_name(file_name)
                .ok_or_else(|| ArchiveError::BagFileExtra { name: shown_name(name) })?;
            let bytes = read_bounded(&file.path, MAX_TAG_FILE)?
                .ok_or_else(|| invalid(format!("“{}”过大", shown_name(name))))?;
            let manifest =
                parse_manifest(&bytes).map_err(|e| invalid(format!("“{}”无法解析：{e}", shown_name(name))))?;
            if manifest.version != version || manifest.dossier_id != dossier_id {
                return Err(invalid(format!("“{}”的档案编号或版本号与包信息不符", shown_name(name))));
            }
            manifests.push(manifest);
        } else if let Some(file_name) = name.strip_prefix(OBJECTS_PREFIX) {
            let stem = file_name.split_once('.').map_or(file_name, |(s, _)| s);
            let digest: Digest = stem.parse().map_err(|_| ArchiveError::BagFileExtra { name: shown_name(name) })?;
            if file.digest != digest {
                return Err(ArchiveError::BagHashMismatch { name: shown_name(name) });
            }
            if objects.insert(digest, file).is_some() {
                return Err(invalid(format!("对象 {digest} 出现了不止一次")));
            }
        } else {
            return Err(ArchiveError::BagFileExtra { name: shown_name(name) });
        }
    }
    if manifests.is_empty() {
        return Err(invalid("没有任何档案版本（data/manifest/）"));
    }
    manifests.sort_by_key(|m| m.version);
    let referenced: BTreeSet<Digest> = manifests.iter().flat_map(|m| m.entries.iter().map(|e| e.digest)).collect();
    if let Some(d) = referenced.iter().find(|d| !objects.contains_key(d)) {
        return Err(ArchiveError::BagFileMissing { name: format!("{OBJECTS_PREFIX}{d}") });
    }
    if let Some(d) = objects.keys().find(|d| !referenced.contains(d)) {
        return Err(ArchiveError::BagFileExtra { name: format!("{OBJECTS_PREFIX}{d}") });
    }

    // Everything verified: only now touch the store.
    let mut objects_created = 0;
    for (digest, file) in &objects {
        let mut f = File::open(&file.path).ctx("读取暂存文件", &file.path)?;
        let outcome = store.put(&mut f, file.size)?;
        if outcome.digest != *digest {
            return Err(ArchiveError::ObjectCorrupt { digest: *digest });
        }
        if outcome.created {
            objects_created += 1;
        }
    }
    Ok(ImportedBag {
        dossier_id,
        manifests,
        record_json,
        bag_info,
        key_id,
        objects: objects.keys().copied().collect(),
        objects_created,
        payload_bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names() {
        let ok = |n: &str| check_entry_name(n.as_bytes(), n).map(|_| ()).map_err(|e| e.code());
        assert_eq!(ok("data/objects/ab.png"), Ok(()));
        assert_eq!(ok("data/"), Ok(()));
        assert_eq!(ok("a..b"), Ok(()));
        assert_eq!(ok("../evil"), Err("archive.bag_path_traversal"));
        assert_eq!(ok("data/../../evil"), Err("archive.bag_path_traversal"));
        assert_eq!(ok("/abs"), Err("archive.bag_path_absolute"));
        assert_eq!(ok("C:evil"), Err("archive.bag_path_drive"));
        assert_eq!(ok("c:/evil"), Err("archive.bag_path_drive"));
        assert_eq!(ok("data\\evil"), Err("archive.bag_path_invalid"));
        assert_eq!(ok("data/a\0b"), Err("archive.bag_path_invalid"));
        assert_eq!(ok("data//x"), Err("archive.bag_path_invalid"));
        assert_eq!(ok("data/./x"), Err("archive.bag_path_invalid"));
        assert_eq!(ok("data/x:y"), Err("archive.bag_path_invalid"));
        assert_eq!(ok(""), Err("archive.bag_path_invalid"));
        assert_eq!(check_entry_name(b"ok\0", "ok").map_err(|e| e.code()).err(), Some("archive.bag_path_invalid"));
    }

    #[test]
    fn checksum_lines() {
        let d = Digest::of(b"x");
        let text = format!("{d}  data/a%25b\n{}\tdata/c\r\n\n", d.to_hex().to_uppercase());
        let parsed = parse_checksum_lines(&text, "m").expect("parse");
        assert_eq!(parsed.get("data/a%b"), Some(&d));
        assert_eq!(parsed.get("data/c"), Some(&d));
        assert!(parse_checksum_lines("nothex data/a\n", "m").is_err());
        assert!(parse_checksum_lines(&format!("{d} data/a\n{d} data/a\n"), "m").is_err());
        assert_eq!(encode_manifest_path("a%\nb"), "a%25%0Ab");
    }

    #[test]
    fn fields_with_continuation() {
        let f = parse_fields("A: 1\nLong: part one\n  part two\nB:2\n");
        assert_eq!(field(&f, "long"), Some("part one part two"));
        assert_eq!(field(&f, "B"), Some("2"));
    }

    #[test]
    fn options_checked() {
        assert!(check_key_id("county-1.key_2").is_ok());
        assert!(check_key_id("").is_err());
        assert!(check_key_id("a b").is_err());
        assert!(check_bagging_date("2024-09-01").is_ok());
        assert!(check_bagging_date("2024-02-30").is_err());
        assert!(check_bagging_date("2024-9-1").is_err());
    }
}
