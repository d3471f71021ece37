//! The crate's error type: user-facing Chinese messages plus a stable
//! machine code per variant.
//!
//! Messages never contain file contents; they may name a path, a digest, a
//! zip entry name or a size.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::digest::Digest;
use crate::inspect::FileType;

/// Result alias used throughout the crate.
pub type Result<T, E = ArchiveError> = std::result::Result<T, E>;

/// Every way an archive operation can fail.
///
/// [`ArchiveError::code`] gives a stable ASCII code for logs, audit records
/// and API responses; the `Display` text is meant for the person at the
/// counter and is in Chinese.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArchiveError {
    /// A filesystem operation failed.
    #[error("存档读写失败：{op}（{}）：{source}", .path.display())]
    Io {
        /// What was being done, in Chinese.
        op: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The disk (or the quota) is full: nothing was stored.
    #[error("服务器存储空间已满，无法{op}；文件未保存，请联系管理员清理或扩充存储后重试")]
    StorageFull {
        /// What was being done, in Chinese.
        op: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
    },
    /// A digest string was not 64 lowercase hex characters.
    #[error("摘要格式不正确：应为 64 位小写十六进制字符")]
    DigestInvalid,
    /// The file is larger than the configured maximum.
    #[error("文件大小超过上限（{}）", HumanBytes(*.limit))]
    TooLarge {
        /// The configured maximum, in bytes.
        limit: u64,
    },
    /// The file is empty.
    #[error("文件为空")]
    Empty,
    /// The bytes are none of JPEG, PNG, TIFF or PDF.
    #[error("不支持的文件类型：只接受 JPEG、PNG、TIFF 图像或 PDF 文件")]
    TypeUnsupported,
    /// The file name's extension contradicts the detected type.
    #[error("文件名“{name}”的扩展名 .{extension} 与文件实际内容（{detected}）不符")]
    ExtensionMismatch {
        /// The original file name.
        name: String,
        /// The extension found in the name (lowercase).
        extension: String,
        /// The type recognised from the bytes.
        detected: FileType,
    },
    /// The file is truncated or otherwise cannot be decoded.
    #[error("{file_type}文件已损坏或不完整：{detail}")]
    Corrupt {
        /// The type recognised from the bytes.
        file_type: FileType,
        /// A short technical description (no file contents).
        detail: String,
    },
    /// An image's header promises more pixels than allowed, or decoding it
    /// would need more memory than allowed.
    #[error("图像尺寸过大{}，超出允许范围", Dimensions(*.dimensions))]
    ImageTooLarge {
        /// Width and height from the header, when the decoder got that far.
        dimensions: Option<(u32, u32)>,
    },
    /// A multi-page file has more pages than allowed.
    #[error("文件页数过多（超过 {limit} 页）")]
    TooManyPages {
        /// The configured maximum.
        limit: u32,
    },
    /// A PDF nests arrays or dictionaries deeper than allowed.
    #[error("PDF 文件中数组或字典嵌套过深（超过 {limit} 层），不是正常的扫描件，已拒绝")]
    PdfTooDeep {
        /// The configured maximum nesting depth.
        limit: u32,
    },
    /// A PDF carries active content (scripts, launch actions, embedded
    /// files, rich media or forms), which a scan never has.
    #[error("PDF 文件中含有{what}，扫描件不应含有可执行内容，未保存；请重新扫描或另存为普通 PDF")]
    PdfActiveContent {
        /// What was found, in Chinese.
        what: &'static str,
    },
    /// Checking a file panicked (a fault in a decoder or in this crate,
    /// set off by the file's bytes). The panic was caught where it
    /// happened; nothing was stored and the staged temp file is gone.
    ///
    /// This is a fault on our side, not a refusal: callers answer it as
    /// one (HTTP 500) but keep the code, so that it can be told apart.
    #[error("检查文件时程序内部出错（{stage}），文件未保存；请保留原文件并联系管理员")]
    Panicked {
        /// The step that panicked, in Chinese (e.g. `图像解码`).
        stage: &'static str,
        /// The panic message, shortened and escaped, for the log only (it
        /// comes from decoder code, never from the file's contents; it is
        /// not part of the `Display` text).
        detail: String,
    },
    /// No object with this digest is stored.
    #[error("存档中没有摘要为 {digest} 的对象")]
    ObjectNotFound {
        /// The digest looked for.
        digest: Digest,
    },
    /// A stored object's bytes no longer match its digest.
    #[error("存档对象 {digest} 的内容与摘要不符，可能已损坏，请运行完整性检查")]
    ObjectCorrupt {
        /// The object's digest (its name).
        digest: Digest,
    },
    /// A staged temp file is not in the store's own temp directory, so it
    /// cannot be moved into place (a bug, never a retry: see
    /// [`crate::LocalStore::commit`]).
    #[error("待存入的临时文件 {} 不在对象目录 {} 中，无法存入", .staged.display(), .objects.display())]
    StagedElsewhere {
        /// The temp file.
        staged: PathBuf,
        /// The store's objects directory.
        objects: PathBuf,
    },
    /// The object store's address (`XUEJI_ARCHIVE_URL`) or credentials are
    /// not usable.
    #[error("对象存储地址不可用：{reason}")]
    StoreUrlInvalid {
        /// Why, in Chinese.
        reason: String,
    },
    /// The S3-compatible store did not do what was asked (down, refused,
    /// timed out after its retries). Nothing was half-stored: an object is
    /// either there whole under its name or not there.
    #[error("对象存储{op}失败（{key}）：{detail}")]
    Store {
        /// What was being done, in Chinese.
        op: &'static str,
        /// The key relative to the store's prefix (a digest or a dossier path).
        key: String,
        /// The client's error, shortened.
        detail: String,
        /// Whether the store refused the credentials.
        denied: bool,
    },
    /// A backup directory holds something a backup never writes, or a
    /// file that contradicts the archive.
    #[error("备份不可用（{}）：{reason}", .path.display())]
    BackupInvalid {
        /// The file or directory concerned.
        path: PathBuf,
        /// Why, in Chinese.
        reason: String,
    },
    /// A dossier id is empty, too long or contains control characters.
    #[error("档案编号不合法：{reason}")]
    DossierIdInvalid {
        /// Why, in Chinese.
        reason: &'static str,
    },
    /// The requested dossier version does not exist.
    #[error("档案“{dossier_id}”没有第 {version} 版")]
    ManifestNotFound {
        /// The dossier id.
        dossier_id: String,
        /// The version asked for.
        version: u32,
    },
    /// A stored manifest file cannot be read as a manifest.
    #[error("档案清单文件无法读取（{}）：{detail}", .path.display())]
    ManifestInvalid {
        /// The manifest file.
        path: PathBuf,
        /// A short technical description.
        detail: String,
    },
    /// Too many concurrent writers; the new version was not saved.
    #[error("档案“{dossier_id}”同时写入的人过多，新版本未保存，请重试")]
    ManifestConflict {
        /// The dossier id.
        dossier_id: String,
    },
    /// A timestamp is not RFC 3339.
    #[error("时间格式不正确（应为 RFC 3339，如 2024-09-01T08:30:00+08:00）：{value}")]
    TimestampInvalid {
        /// The offending value (caller-supplied metadata, not file contents).
        value: String,
    },
    /// A caller-supplied field is not acceptable.
    #[error("{field}不合法：{reason}")]
    FieldInvalid {
        /// The field, in Chinese.
        field: &'static str,
        /// Why, in Chinese.
        reason: String,
    },
    /// An entry claims to supersede a digest that no earlier version holds.
    #[error("条目声明替换的材料 {digest} 不在此档案的任何早先版本中")]
    SupersedesUnknown {
        /// The unknown digest.
        digest: Digest,
    },
    /// A paper kind string is neither a known code nor a known label.
    #[error("未知的材料类别：{value}")]
    PaperKindUnknown {
        /// The offending value.
        value: String,
    },
    /// A bag entry name contains a `..` component.
    #[error("传输包中的条目“{name}”含有“..”路径，已拒绝")]
    BagPathTraversal {
        /// The entry name.
        name: String,
    },
    /// A bag entry name is absolute.
    #[error("传输包中的条目“{name}”是绝对路径，已拒绝")]
    BagPathAbsolute {
        /// The entry name.
        name: String,
    },
    /// A bag entry name starts with a drive letter.
    #[error("传输包中的条目“{name}”带有盘符，已拒绝")]
    BagPathDrive {
        /// The entry name.
        name: String,
    },
    /// A bag entry name contains NUL, a backslash, a control character or
    /// an empty component.
    #[error("传输包中的条目名“{name}”含有不允许的字符，已拒绝")]
    BagPathInvalid {
        /// The entry name (escaped).
        name: String,
    },
    /// A bag entry is a symbolic link.
    #[error("传输包中的条目“{name}”是符号链接，已拒绝")]
    BagSymlink {
        /// The entry name.
        name: String,
    },
    /// A bag entry is a device, FIFO or other special file.
    #[error("传输包中的条目“{name}”不是普通文件，已拒绝")]
    BagSpecialFile {
        /// The entry name.
        name: String,
    },
    /// Two bag entries have the same name.
    #[error("传输包中的条目“{name}”重复出现，已拒绝")]
    BagDuplicateEntry {
        /// The entry name.
        name: String,
    },
    /// The bag has more entries than allowed.
    #[error("传输包中的条目过多（上限 {limit} 个），已拒绝")]
    BagTooManyEntries {
        /// The configured maximum.
        limit: usize,
    },
    /// The bag unpacks to more bytes than allowed.
    #[error("传输包解压后超过大小上限（{}），已拒绝", HumanBytes(*.limit))]
    BagTooLarge {
        /// The configured maximum, in bytes.
        limit: u64,
    },
    /// A bag entry unpacks to more than the allowed multiple of its packed
    /// size.
    #[error("传输包中的条目“{name}”压缩比异常（超过 {limit} 倍），疑似压缩炸弹，已拒绝")]
    BagCompressionRatio {
        /// The entry name.
        name: String,
        /// The configured maximum ratio.
        limit: u64,
    },
    /// The zip container itself is unreadable, encrypted or corrupt.
    #[error("传输包不是有效的 zip 文件：{detail}")]
    BagZip {
        /// A short technical description.
        detail: String,
    },
    /// The bag's structure is not a valid xueji BagIt bag.
    #[error("传输包结构不正确：{detail}")]
    BagInvalid {
        /// What is wrong, in Chinese.
        detail: String,
    },
    /// A file's sha256 differs from the one its manifest lists.
    #[error("传输包中的文件“{name}”校验值不符，内容已被改动")]
    BagHashMismatch {
        /// The file path inside the bag.
        name: String,
    },
    /// A file listed in a manifest is absent.
    #[error("传输包缺少文件“{name}”")]
    BagFileMissing {
        /// The file path inside the bag.
        name: String,
    },
    /// A file is present that no manifest lists.
    #[error("传输包中有清单未列出的多余文件“{name}”")]
    BagFileExtra {
        /// The file path inside the bag.
        name: String,
    },
    /// The bag carries no signature.
    #[error("传输包没有签名文件，已拒绝")]
    BagSignatureMissing,
    /// The signature is malformed or does not verify.
    #[error("传输包签名无效，内容可能被篡改")]
    BagSignatureInvalid,
    /// The signature names a key that the caller does not know.
    #[error("传输包由未知的密钥（{key_id}）签名，已拒绝")]
    BagKeyUnknown {
        /// The key id named in the signature file.
        key_id: String,
    },
}

impl ArchiveError {
    /// A stable machine code for this error, e.g. `archive.type_unsupported`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Io { .. } => "archive.io",
            Self::StorageFull { .. } => "archive.disk_full",
            Self::DigestInvalid => "archive.digest_invalid",
            Self::TooLarge { .. } => "archive.too_large",
            Self::Empty => "archive.empty",
            Self::TypeUnsupported => "archive.type_unsupported",
            Self::ExtensionMismatch { .. } => "archive.extension_mismatch",
            Self::Corrupt { .. } => "archive.corrupt",
            Self::ImageTooLarge { .. } => "archive.image_too_large",
            Self::TooManyPages { .. } => "archive.too_many_pages",
            Self::PdfTooDeep { .. } => "archive.pdf_too_deep",
            Self::PdfActiveContent { .. } => "archive.pdf_active_content",
            Self::Panicked { .. } => "archive.inspect_panicked",
            Self::ObjectNotFound { .. } => "archive.object_not_found",
            Self::ObjectCorrupt { .. } => "archive.object_corrupt",
            Self::StagedElsewhere { .. } => "archive.staged_elsewhere",
            Self::StoreUrlInvalid { .. } => "archive.store_url_invalid",
            Self::Store { denied: true, .. } => "archive.store_denied",
            Self::Store { .. } => "archive.store_unavailable",
            Self::BackupInvalid { .. } => "archive.backup_invalid",
            Self::DossierIdInvalid { .. } => "archive.dossier_id_invalid",
            Self::ManifestNotFound { .. } => "archive.manifest_not_found",
            Self::ManifestInvalid { .. } => "archive.manifest_invalid",
            Self::ManifestConflict { .. } => "archive.manifest_conflict",
            Self::TimestampInvalid { .. } => "archive.timestamp_invalid",
            Self::FieldInvalid { .. } => "archive.field_invalid",
            Self::SupersedesUnknown { .. } => "archive.supersedes_unknown",
            Self::PaperKindUnknown { .. } => "archive.paper_kind_unknown",
            Self::BagPathTraversal { .. } => "archive.bag_path_traversal",
            Self::BagPathAbsolute { .. } => "archive.bag_path_absolute",
            Self::BagPathDrive { .. } => "archive.bag_path_drive",
            Self::BagPathInvalid { .. } => "archive.bag_path_invalid",
            Self::BagSymlink { .. } => "archive.bag_symlink",
            Self::BagSpecialFile { .. } => "archive.bag_special_file",
            Self::BagDuplicateEntry { .. } => "archive.bag_duplicate_entry",
            Self::BagTooManyEntries { .. } => "archive.bag_too_many_entries",
            Self::BagTooLarge { .. } => "archive.bag_too_large",
            Self::BagCompressionRatio { .. } => "archive.bag_compression_ratio",
            Self::BagZip { .. } => "archive.bag_zip",
            Self::BagInvalid { .. } => "archive.bag_invalid",
            Self::BagHashMismatch { .. } => "archive.bag_hash_mismatch",
            Self::BagFileMissing { .. } => "archive.bag_file_missing",
            Self::BagFileExtra { .. } => "archive.bag_file_extra",
            Self::BagSignatureMissing => "archive.bag_signature_missing",
            Self::BagSignatureInvalid => "archive.bag_signature_invalid",
            Self::BagKeyUnknown { .. } => "archive.bag_key_unknown",
        }
    }

    /// Builds an [`ArchiveError::Io`], or [`ArchiveError::StorageFull`]
    /// when the disk or the quota is full.
    pub(crate) fn io(op: &'static str, path: impl AsRef<Path>, source: io::Error) -> Self {
        let path = path.as_ref().to_path_buf();
        match source.kind() {
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => Self::StorageFull { op, path },
            _ => Self::Io { op, path, source },
        }
    }
}

/// Extension to attach an operation and a path to an `io::Result`.
pub(crate) trait IoContext<T> {
    /// Maps the error to [`ArchiveError::Io`].
    fn ctx(self, op: &'static str, path: impl AsRef<Path>) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, op: &'static str, path: impl AsRef<Path>) -> Result<T> {
        self.map_err(|e| ArchiveError::io(op, path, e))
    }
}

/// Displays a byte count the way a person reads it (`50 MiB`, `1.5 GiB`,
/// `300 字节`).
#[derive(Debug, Clone, Copy)]
pub struct HumanBytes(pub u64);

impl fmt::Display for HumanBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
        let n = self.0;
        if n < 1024 {
            return write!(f, "{n} 字节");
        }
        let mut value = n as f64 / 1024.0;
        let mut unit = 0;
        while value >= 1024.0 && unit + 1 < UNITS.len() {
            value /= 1024.0;
            unit += 1;
        }
        if value.fract() == 0.0 {
            write!(f, "{value:.0} {}", UNITS[unit])
        } else {
            write!(f, "{value:.1} {}", UNITS[unit])
        }
    }
}

/// Displays `（W×H 像素）`, or nothing when unknown.
struct Dimensions(Option<(u32, u32)>);

impl fmt::Display for Dimensions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some((w, h)) => write!(f, "（{w}×{h} 像素）"),
            None => Ok(()),
        }
    }
}

/// Shortens a caller- or bag-supplied name for an error message and escapes
/// control characters, so a hostile name cannot flood or garble a log line.
pub(crate) fn shown_name(name: &str) -> String {
    const MAX_CHARS: usize = 120;
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if i == MAX_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_bytes() {
        assert_eq!(HumanBytes(300).to_string(), "300 字节");
        assert_eq!(HumanBytes(50 * 1024 * 1024).to_string(), "50 MiB");
        assert_eq!(HumanBytes(1536 * 1024 * 1024).to_string(), "1.5 GiB");
    }

    #[test]
    fn shown_name_escapes_and_shortens() {
        assert_eq!(shown_name("a\0b"), "a\\u{0}b");
        assert_eq!(shown_name(&"x".repeat(500)).chars().count(), 121);
    }

    #[test]
    fn codes_are_stable_ascii() {
        let e = ArchiveError::TypeUnsupported;
        assert_eq!(e.code(), "archive.type_unsupported");
        assert!(e.to_string().contains("不支持"));
    }
}
