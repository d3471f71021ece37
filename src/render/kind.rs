//! The ten documents the service prints, with their stable codes and titles.

use std::fmt;
use std::str::FromStr;

use super::error::RenderError;

/// One kind of printed document.
///
/// The [`code`](Self::code) is stable (and is the serde form): it names the template file
/// (`templates/forms/<code>.typ`), the sample data (`samples/<code>.json`) and
/// appears in the data as `document.kind`.
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
    /// 学历证明书, academic-history proof replacing a lost certificate.
    AcademicProof,
}

impl DocKind {
    /// Every kind, in a fixed order.
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

    /// The Chinese title printed on the document.
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

    /// The template file name inside the templates directory.
    pub fn template_file(self) -> String {
        format!("{}.typ", self.code())
    }

    /// Whether this kind is a numbered certificate (formal layout, Kai face).
    pub fn is_certificate(self) -> bool {
        matches!(self, DocKind::CompulsoryCertificate | DocKind::GraduationCertificate | DocKind::AcademicProof)
    }
}

impl fmt::Display for DocKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for DocKind {
    type Err = RenderError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DocKind::ALL.into_iter().find(|k| k.code() == s).ok_or_else(|| RenderError::UnknownKind(s.to_owned()))
    }
}
