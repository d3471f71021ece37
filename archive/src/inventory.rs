//! Inventories after OCFL's (`xueji-dossier-inventory/1`): every file of a
//! dossier by sha256, each version's papers, and the text read off them,
//! for a reader without the program. The same format serves the transfer
//! package (`data/inventory.json`, see [`crate::bag`]) and the kept archive:
//!
//! ```text
//! <root>/README.txt                         what is where, in Chinese
//! <root>/inventories/<id>/v<N>.json         the dossier as version N was filed (written once)
//! <root>/inventories/<id>/inventory.json    the dossier now: every version, every text read so far
//! ```
//!
//! A version's inventory is written once, when the version is first
//! inventoried, and never changed (as OCFL's copy inside each version
//! directory). The text of a scan is read after its version is filed, and
//! read again when the reader improves, so `inventory.json` (as OCFL's root
//! inventory) is replaced when a text is added; it is derived from the
//! write-once versions and texts alone and can always be written again
//! (`xueji archive reindex`). Inventories hold nothing the version files do
//! not: digests, paths, kinds, original names, pages, who filed and when.

use std::collections::{BTreeMap, HashSet};

use crate::archive::{Archive, DERIVED_DIR};
use crate::digest::Digest;
use crate::error::{ArchiveError, Result};
use crate::manifest::{DOSSIERS_DIR, Manifest, encode_dossier_id};

/// Where the kept archive's inventories are, beside `objects/` and `dossiers/`.
pub const INVENTORIES_DIR: &str = "inventories";
/// The kept archive's README, at its root.
pub const README_FILE: &str = "README.txt";
/// The current inventory's name in a dossier's inventory directory.
pub const CURRENT_FILE: &str = "inventory.json";
/// The format's name.
pub const FORMAT: &str = "xueji-dossier-inventory/1";
/// Largest inventory read back.
const MAX_INVENTORY_BYTES: u64 = 64 * 1024 * 1024;

/// Whether a path under the root (`/`-separated) is one of the listings kept
/// beside the archive (README, inventories), not archive content.
pub(crate) fn is_listing(rel: &str) -> bool {
    rel == README_FILE || rel.strip_prefix(INVENTORIES_DIR).is_some_and(|rest| rest.starts_with('/'))
}

/// Where an inventory names things: a package's layout or the store's.
pub(crate) struct Layout<'a> {
    /// An object's file.
    pub object: &'a dyn Fn(&Digest) -> String,
    /// A version's file.
    pub version: &'a dyn Fn(u32) -> String,
    /// The text read off an object, if there is one.
    pub text: &'a dyn Fn(&Digest) -> Option<String>,
}

/// The inventory of `versions` (sorted, of `dossier_id`): `files` are every
/// file it covers, by path, each with its sha256.
pub(crate) fn inventory(
    dossier_id: &str,
    versions: &[&Manifest],
    files: &[(String, Digest)],
    layout: &Layout<'_>,
) -> Result<Vec<u8>> {
    let mut manifest = serde_json::Map::new();
    for (path, digest) in files {
        if let Some(paths) =
            manifest.entry(digest.to_hex()).or_insert_with(|| serde_json::Value::Array(Vec::new())).as_array_mut()
        {
            paths.push(path.as_str().into());
        }
    }
    let mut states = serde_json::Map::new();
    for m in versions {
        let mut state = serde_json::Map::new();
        for e in &m.entries {
            let mut paper = serde_json::json!({
                "file": (layout.object)(&e.digest),
                "kind": e.kind.label(),
                "original_name": e.original_name,
                "pages": e.pages,
                "added_by": e.added_by,
                "added_at": e.added_at,
                "supersedes": e.supersedes.map(|d| d.to_hex()),
            });
            if let Some(text) = (layout.text)(&e.digest) {
                paper["text"] = text.into();
            }
            state.insert(e.digest.to_hex(), paper);
        }
        states.insert(
            format!("v{}", m.version),
            serde_json::json!({
                "created": m.created_at,
                "user": m.created_by,
                "message": m.note,
                "file": (layout.version)(m.version),
                "state": state,
            }),
        );
    }
    let head = versions.last().map_or(String::new(), |m| format!("v{}", m.version));
    let value = serde_json::json!({
        "type": FORMAT,
        "id": dossier_id,
        "digestAlgorithm": "sha256",
        "head": head,
        "manifest": manifest,
        "versions": states,
    });
    serde_json::to_vec_pretty(&value).map_err(|e| ArchiveError::FieldInvalid { field: "清单", reason: e.to_string() })
}

/// What [`Archive::write_inventory`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InventoryWritten {
    /// Versions of the dossier.
    pub versions: u32,
    /// Version inventories written by this call (the others were there).
    pub version_files_written: u32,
    /// Texts listed.
    pub texts: usize,
}

/// The kept archive's README: what is where, and how to find a pupil's papers.
pub const ARCHIVE_README: &str = "学籍档案库：学生纸质档案的电子件\n\
\n\
本目录（或存储桶）中都是普通文件，不需要任何专用程序即可查阅：\n\
\n\
- objects/xx/<摘要>：全部扫描件和打印过的文书原件（JPEG、PNG、TIFF、PDF）。文件名是该文件内容的\n\
  SHA-256 摘要，xx 是摘要的前两位。文件没有扩展名：PDF 用 PDF 阅读器打开，其余用图片查看器打开\n\
  （类型见 inventories/ 清单中的原文件名）。\n\
- dossiers/<档案编号>/v1.json、v2.json……：每个学生一份档案。档案编号形如 d-（32 位十六进制），\n\
  不含姓名。每个版本列出当时档案中的全部材料（材料类别、原文件名、页数、存档人、存档时间、摘要），\n\
  写入后不再改动；编号最大的版本为最新。\n\
- derived/<摘要>.json：从扫描件上识别出的文字，每页一段，注明识别程序及其版本；文件名是这个文字\n\
  文件自身的摘要，文件中的 \"object\" 是对应扫描件的摘要。识别可能有误，以原件为准。\n\
  derived/ 中的 .jpg 是页面预览图，可随时重新生成。\n\
- inventories/<档案编号>/inventory.json：该档案现在的清单：每个文件的 SHA-256 摘要及其在本目录中的\n\
  位置（\"manifest\"），每个版本包含的材料（\"versions\"，其中 \"file\" 是原件，\"text\" 是识别出的文字）。\n\
  inventories/<档案编号>/v1.json、v2.json……：每个版本存档时的清单，写入后不再改动。\n\
\n\
查找某个学生的材料：\n\
1. 学生与档案编号的对应关系在学籍系统的数据库中（dossiers 表），数据库备份中也有。\n\
2. 没有系统时：用任何文本搜索工具在 derived/ 中搜索学生姓名，记下所在文件的 \"object\" 摘要，\n\
   再在 inventories/ 中搜索这个摘要，即找到该生的档案清单。\n\
3. 打开 inventories/<档案编号>/inventory.json：\"head\" 是最新版本，\"versions\" 下逐个列出材料，\n\
   按 \"file\" 找到原件，按 \"text\" 找到文字。\n\
\n\
核对文件是否完好：计算文件的 SHA-256（如 Linux 的 sha256sum、Windows 的 certutil -hashfile 文件 SHA256），\n\
与文件名或清单中的摘要比较，相同即未被改动。\n";

impl Archive {
    /// Writes the inventories of one dossier (see the module documentation):
    /// each version's own once, and the current one. `texts` maps objects
    /// to the derived text file read off them (`derived/<digest>.json`);
    /// those of objects not in the dossier are left out. Writes the
    /// archive's README too if it is missing or out of date.
    pub fn write_inventory(&self, dossier_id: &str, texts: &BTreeMap<Digest, Digest>) -> Result<InventoryWritten> {
        let encoded = encode_dossier_id(dossier_id)?;
        let history = self.history(dossier_id)?;
        let mut written = InventoryWritten { versions: history.len() as u32, ..InventoryWritten::default() };
        if history.is_empty() {
            return Ok(written);
        }
        self.write_readme()?;
        let object = |d: &Digest| format!("objects/{}/{}", d.prefix(), d.to_hex());
        let version = |v: u32| format!("{DOSSIERS_DIR}/{encoded}/v{v}.json");
        let listed: BTreeMap<Digest, Digest> = texts
            .iter()
            .filter(|(o, _)| history.iter().any(|m| m.entries.iter().any(|e| e.digest == **o)))
            .map(|(o, t)| (*o, *t))
            .collect();
        written.texts = listed.len();
        let text = |d: &Digest| listed.get(d).map(|t| format!("{DERIVED_DIR}/{}.json", t.to_hex()));
        let layout = Layout { object: &object, version: &version, text: &text };
        // One pass over the versions, each file listed once (a set beside the
        // list): an upload costs one stat per version, and builds and writes
        // only the versions' inventories still missing plus the current one,
        // not every version's again.
        let mut files: Vec<(String, Digest)> = Vec::new();
        let mut seen: HashSet<Digest> = HashSet::new();
        let sorted: Vec<&Manifest> = history.iter().collect();
        for (i, m) in history.iter().enumerate() {
            // Version N's inventory: versions 1..=N, their objects and the texts known now.
            let version_digest = Digest::of(&self.manifests().version_bytes(dossier_id, m.version)?);
            files.push((version(m.version), version_digest));
            for e in &m.entries {
                if seen.insert(e.digest) {
                    files.push((object(&e.digest), e.digest));
                }
            }
            let rel = format!("{INVENTORIES_DIR}/{encoded}/v{}.json", m.version);
            let last = i + 1 == history.len();
            if !last && self.exists_beside(&rel)? {
                continue;
            }
            let mut with_texts = files.clone();
            let mut texts_seen: HashSet<String> = HashSet::new();
            for e in sorted[..=i].iter().flat_map(|m| &m.entries) {
                if let (Some(path), Some(t)) = (text(&e.digest), listed.get(&e.digest))
                    && texts_seen.insert(path.clone())
                {
                    with_texts.push((path, *t));
                }
            }
            let bytes = inventory(dossier_id, &sorted[..=i], &with_texts, &layout)?;
            if self.write_beside(&rel, bytes.clone(), false)? {
                written.version_files_written += 1;
            }
            if last {
                let current = format!("{INVENTORIES_DIR}/{encoded}/{CURRENT_FILE}");
                if self.read_beside(&current, MAX_INVENTORY_BYTES)?.as_deref() != Some(&bytes[..]) {
                    self.write_beside(&current, bytes, true)?;
                }
            }
        }
        Ok(written)
    }

    /// The current inventory of a dossier, if one was written.
    pub fn inventory(&self, dossier_id: &str) -> Result<Option<Vec<u8>>> {
        let rel = format!("{INVENTORIES_DIR}/{}/{CURRENT_FILE}", encode_dossier_id(dossier_id)?);
        self.read_beside(&rel, MAX_INVENTORY_BYTES)
    }

    /// The inventory version `version` of a dossier was filed with, if written.
    pub fn version_inventory(&self, dossier_id: &str, version: u32) -> Result<Option<Vec<u8>>> {
        let rel = format!("{INVENTORIES_DIR}/{}/v{version}.json", encode_dossier_id(dossier_id)?);
        self.read_beside(&rel, MAX_INVENTORY_BYTES)
    }

    /// Writes the archive's README at its root if it is missing or differs
    /// from this release's; `true` if written.
    pub fn write_readme(&self) -> Result<bool> {
        if self.read_beside(README_FILE, MAX_INVENTORY_BYTES)?.as_deref() == Some(ARCHIVE_README.as_bytes()) {
            return Ok(false);
        }
        self.write_beside(README_FILE, ARCHIVE_README.as_bytes().to_vec(), true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listings_are_told_from_archive_content() {
        assert!(is_listing("README.txt"));
        assert!(is_listing("inventories/d-1/v1.json"));
        assert!(!is_listing("inventoriesx/a"));
        assert!(!is_listing("objects/ab/ab"));
        assert!(!is_listing("dossiers/d-1/v1.json"));
    }
}
