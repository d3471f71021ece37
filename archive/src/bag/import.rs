//! Importing a transfer package: every entry checked (names, types, sizes,
//! ratios), the tag files parsed, checksums and the signature verified,
//! then the dossier's versions and objects stored, all or nothing.

use super::*;
use crate::digest::{Digest, Hasher};
use crate::error::{ArchiveError, IoContext, Result, shown_name};
use crate::fsutil::{TEMP_PREFIX, read_bounded, read_retrying};
use crate::manifest::{parse_manifest, parse_version_file_name};
use crate::store::ObjectStore;
use ed25519_dalek::{Signature, VerifyingKey};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs::{self, File};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use zip::ZipArchive;

/// One unpacked zip entry in the staging directory.
struct Extracted {
    path: PathBuf,
    size: u64,
    digest: Digest,
}

/// Checks a zip entry name and returns it as a string.
pub(super) fn check_entry_name(raw: &[u8], decoded: &str) -> Result<String> {
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
pub(super) fn parse_fields(text: &str) -> Vec<(String, String)> {
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

pub(super) fn field<'a>(fields: &'a [(String, String)], label: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(label)).map(|(_, v)| v.as_str())
}

/// Parses `<sha256>  <path>` lines; refuses malformed and duplicate lines.
pub(super) fn parse_checksum_lines(text: &str, file: &str) -> Result<BTreeMap<String, Digest>> {
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
    let mut derived = Vec::new();
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
        } else if let Some(file_name) = name.strip_prefix(TEXT_PREFIX) {
            let stem = file_name.strip_suffix(".json").unwrap_or(file_name);
            let digest: Digest = stem.parse().map_err(|_| ArchiveError::BagFileExtra { name: shown_name(name) })?;
            let bytes = read_bounded(&file.path, MAX_RECORD_BYTES)?
                .ok_or_else(|| invalid(format!("“{}”过大", shown_name(name))))?;
            derived.push((digest, bytes));
        } else if name == INVENTORY_JSON || name == README_TXT {
            // For readers without the program; covered by the payload manifest.
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
        derived: derived.into_iter().filter(|(d, _)| objects.contains_key(d)).collect(),
        objects: objects.keys().copied().collect(),
        objects_created,
        payload_bytes,
    })
}
