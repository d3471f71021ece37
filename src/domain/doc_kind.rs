//! The ten documents the service issues, with their stable codes, titles and
//! one-byte token codes: one type for the records, the renderer and the
//! verification tokens.

use std::fmt;

/// One kind of document the service issues.
///
/// The [`code`](Self::code) is stable (and is the serde form): it is stored in
/// the records, names the template file (`templates/forms/<code>.typ`) and the
/// sample data (`samples/<code>.json`), and appears in the data as
/// `document.kind`. Parsing a code ([`FromStr`](std::str::FromStr), refused
/// as `render.unknown_kind`) and the template file name are the renderer's
/// (`crate::render::kind`).
///
/// The [`wire`](Self::wire) codes are part of the verification token format
/// and must never be renumbered:
///
/// | wire | code | 文书 |
/// |-----:|------|------|
/// | 1 | `admission_notice` | 入学通知书 |
/// | 2 | `basic_info` | 学生基本信息表 |
/// | 3 | `registration` | 吉林省中小学生登记表 |
/// | 4 | `record_card` | 学籍卡 |
/// | 5 | `transfer_application` | 吉林省中小学生转学申请表 |
/// | 6 | `suspension_application` | 吉林省中小学生休学、复学申请表 |
/// | 7 | `recall_notice` | 劝返复学通知书 |
/// | 8 | `compulsory_certificate` | 义务教育证书 |
/// | 9 | `graduation_certificate` | 毕业证书 |
/// | 10 | `academic_proof` | 学历证明书 |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    /// 入学通知书, admission notice.
    AdmissionNotice,
    /// 学生基本信息表 (学籍基本信息表), basic information form.
    BasicInfo,
    /// 吉林省中小学生登记表, registration form with the student's photo.
    Registration,
    /// 学籍卡, student record card.
    RecordCard,
    /// 吉林省中小学生转学申请表, transfer application with four approvals.
    TransferApplication,
    /// 吉林省中小学生休学、复学申请表, suspension or resumption application.
    SuspensionApplication,
    /// 劝返复学通知书, dropout recall notice.
    RecallNotice,
    /// 义务教育证书, compulsory-education certificate (numbered).
    CompulsoryCertificate,
    /// 毕业证书, graduation certificate (numbered).
    GraduationCertificate,
    /// 学历证明书, academic-history proof replacing a lost certificate (numbered).
    AcademicProof,
}

impl DocKind {
    /// Every kind, in a fixed order (that of the wire codes).
    pub const ALL: [DocKind; 10] = [
        DocKind::AdmissionNotice,
        DocKind::BasicInfo,
        DocKind::Registration,
        DocKind::RecordCard,
        DocKind::TransferApplication,
        DocKind::SuspensionApplication,
        DocKind::RecallNotice,
        DocKind::CompulsoryCertificate,
        DocKind::GraduationCertificate,
        DocKind::AcademicProof,
    ];

    /// The stable machine code, e.g. `graduation_certificate`.
    pub fn code(self) -> &'static str {
        match self {
            DocKind::AdmissionNotice => "admission_notice",
            DocKind::BasicInfo => "basic_info",
            DocKind::Registration => "registration",
            DocKind::RecordCard => "record_card",
            DocKind::TransferApplication => "transfer_application",
            DocKind::SuspensionApplication => "suspension_application",
            DocKind::RecallNotice => "recall_notice",
            DocKind::CompulsoryCertificate => "compulsory_certificate",
            DocKind::GraduationCertificate => "graduation_certificate",
            DocKind::AcademicProof => "academic_proof",
        }
    }

    /// The kind with this stable code, if any.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The Chinese title printed on the document (and shown when it is verified).
    pub fn title_zh(self) -> &'static str {
        match self {
            DocKind::AdmissionNotice => "入学通知书",
            DocKind::BasicInfo => "学生基本信息表",
            DocKind::Registration => "吉林省中小学生登记表",
            DocKind::RecordCard => "学籍卡",
            DocKind::TransferApplication => "吉林省中小学生转学申请表",
            DocKind::SuspensionApplication => "吉林省中小学生休学、复学申请表",
            DocKind::RecallNotice => "劝返复学通知书",
            DocKind::CompulsoryCertificate => "义务教育证书",
            DocKind::GraduationCertificate => "毕业证书",
            DocKind::AcademicProof => "学历证明书",
        }
    }

    /// Whether this kind is a numbered certificate (formal layout, Kai face).
    pub fn is_certificate(self) -> bool {
        matches!(self, DocKind::CompulsoryCertificate | DocKind::GraduationCertificate | DocKind::AcademicProof)
    }

    /// The one-byte code carried in verification tokens (see the table on the type).
    pub fn wire(self) -> u8 {
        match self {
            DocKind::AdmissionNotice => 1,
            DocKind::BasicInfo => 2,
            DocKind::Registration => 3,
            DocKind::RecordCard => 4,
            DocKind::TransferApplication => 5,
            DocKind::SuspensionApplication => 6,
            DocKind::RecallNotice => 7,
            DocKind::CompulsoryCertificate => 8,
            DocKind::GraduationCertificate => 9,
            DocKind::AcademicProof => 10,
        }
    }

    /// The kind with this wire code, if any.
    pub fn from_wire(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.wire() == code)
    }
}

impl fmt::Display for DocKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_wire_codes_round_trip() {
        for (i, kind) in DocKind::ALL.into_iter().enumerate() {
            assert_eq!(usize::from(kind.wire()), i + 1);
            assert_eq!(DocKind::from_wire(kind.wire()), Some(kind));
            assert_eq!(DocKind::from_code(kind.code()), Some(kind));
            assert_eq!(kind.to_string(), kind.code());
        }
        assert_eq!(DocKind::from_code("diploma"), None);
    }
}
