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
//! data/text/<hex>.json         the text read off an object (derived, optional)
//! data/inventory.json          every payload file with its sha256, and each
//!                              version's files (OCFL-like), for a reader
//!                              without the program
//! data/README.txt              what is where, in Chinese
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

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Read, Seek, Write};

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use zip::result::ZipError;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::digest::{Digest, Hasher};
use crate::error::{ArchiveError, IoContext, Result};
use crate::fsutil::read_retrying;
use crate::inspect::FileType;
use crate::manifest::{Manifest, manifest_bytes};
use crate::store::ObjectStore;

mod import;

pub use import::import_bag;

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
const TEXT_PREFIX: &str = "data/text/";
const INVENTORY_JSON: &str = "data/inventory.json";
const README_TXT: &str = "data/README.txt";
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
    /// Files derived from objects of the bag (the text read off a scan):
    /// the object's digest and the file's bytes, written as
    /// `data/text/<hex>.json`. Those of objects not in the bag are left out.
    pub derived: &'a [(Digest, Vec<u8>)],
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
    /// Payload files (record, versions, objects, texts, README, inventory).
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
    /// Files derived from objects of the bag (`data/text/`): the object's
    /// digest and the file's bytes (checked by the payload manifest only).
    pub derived: Vec<(Digest, Vec<u8>)>,
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

/// `data/README.txt`: what is where, for an archivist with only a file browser.
fn readme(dossier_id: &str, versions: usize) -> String {
    format!(
        "学生纸质档案（电子）传输包\n\
         \n\
         档案编号：{dossier_id}　版本数：{versions}\n\
         \n\
         本目录不需要任何专用程序即可查阅：\n\
         - record.json：学生学籍记录（JSON 文本，可用记事本打开）。\n\
         - objects/：全部扫描件原件（JPEG、PNG、TIFF、PDF），文件名是该文件内容的 SHA-256 摘要。\n\
         - manifest/v1.json、v2.json……：档案的各个版本；每个版本列出当时档案中的全部材料\n\
           （材料类别、原文件名、页数、存档人、存档时间、摘要），最后一个版本为最新。\n\
         - text/：从扫描件上识别出的文字（文字识别或 PDF 自带文字），每页一段，文件名是对应扫描件的摘要；\n\
           识别可能有误，以原件为准。\n\
         - inventory.json：清单：每个文件的 SHA-256 摘要，以及每个版本包含哪些材料。\n\
         \n\
         核对文件是否完好：计算文件的 SHA-256（如 Linux 的 sha256sum、Windows 的 certutil -hashfile 文件 SHA256），\n\
         与文件名或 inventory.json、上一级目录的 manifest-sha256.txt 中的摘要比较，相同即未被改动。\n\
         传输包由发出单位签名（signature.ed25519），导入本系统时自动核验。\n"
    )
}

/// `data/inventory.json` (see [`crate::inventory`]): every payload file by
/// digest, and each version's state (which objects, under which names).
fn inventory(
    dossier_id: &str,
    versions: &[&Manifest],
    objects: &BTreeMap<Digest, &'static str>,
    texts: &[Digest],
    payload: &[(String, Digest, u64)],
) -> Result<Vec<u8>> {
    let files: Vec<(String, Digest)> = payload
        .iter()
        .map(|(name, digest, _)| (name.strip_prefix("data/").unwrap_or(name).to_owned(), *digest))
        .collect();
    let object = |d: &Digest| match objects.get(d).copied().unwrap_or("") {
        "" => format!("objects/{d}"),
        ext => format!("objects/{d}.{ext}"),
    };
    let version = |v: u32| format!("manifest/v{v}.json");
    let text = |d: &Digest| texts.contains(d).then(|| format!("text/{d}.json"));
    crate::inventory::inventory(
        dossier_id,
        versions,
        &files,
        &crate::inventory::Layout { object: &object, version: &version, text: &text },
    )
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

    let mut texts = Vec::new();
    for (digest, bytes) in options.derived {
        if objects.contains_key(digest) && !texts.contains(digest) {
            texts.push(*digest);
            let name = format!("{TEXT_PREFIX}{digest}.json");
            let (d, n) = bag.add_bytes(&name, bytes)?;
            payload.push((name, d, n));
        }
    }
    let (d, n) = bag.add_bytes(README_TXT, readme(&dossier_id, sorted.len()).as_bytes())?;
    payload.push((README_TXT.into(), d, n));
    let inventory = inventory(&dossier_id, &sorted, &objects, &texts, &payload)?;
    let (d, n) = bag.add_bytes(INVENTORY_JSON, &inventory)?;
    payload.push((INVENTORY_JSON.into(), d, n));

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

#[cfg(test)]
mod tests {
    use super::import::{check_entry_name, field, parse_checksum_lines, parse_fields};
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
