//! The kinds of paper a dossier holds: a stable ASCII code for JSON and
//! a Chinese label for people.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{ArchiveError, Result, shown_name};

/// What kind of paper a scan is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaperKind {
    /// 登记表
    RegistrationForm,
    /// 学生基本信息表
    BasicInfoForm,
    /// 户口簿复印件
    HouseholdRegister,
    /// 诊断证明
    Diagnosis,
    /// 医疗票据
    MedicalReceipt,
    /// 转学申请表
    TransferApplication,
    /// 转学证明材料
    TransferProof,
    /// 休学复学申请表
    SuspensionApplication,
    /// 死亡证明
    DeathCertificate,
    /// 毕业生登记册 (a page of a school's paper ledger of graduates, for a
    /// graduation before the system)
    GraduateLedger,
    /// 其他
    Other,
}

impl PaperKind {
    /// Every kind, in form order.
    pub const ALL: [Self; 11] = [
        Self::RegistrationForm,
        Self::BasicInfoForm,
        Self::HouseholdRegister,
        Self::Diagnosis,
        Self::MedicalReceipt,
        Self::TransferApplication,
        Self::TransferProof,
        Self::SuspensionApplication,
        Self::DeathCertificate,
        Self::GraduateLedger,
        Self::Other,
    ];

    /// The stable ASCII code used in JSON (`household_register`, …).
    pub fn code(self) -> &'static str {
        match self {
            Self::RegistrationForm => "registration_form",
            Self::BasicInfoForm => "basic_info_form",
            Self::HouseholdRegister => "household_register",
            Self::Diagnosis => "diagnosis",
            Self::MedicalReceipt => "medical_receipt",
            Self::TransferApplication => "transfer_application",
            Self::TransferProof => "transfer_proof",
            Self::SuspensionApplication => "suspension_application",
            Self::DeathCertificate => "death_certificate",
            Self::GraduateLedger => "graduate_ledger",
            Self::Other => "other",
        }
    }

    /// The Chinese label shown to people (`户口簿复印件`, …).
    pub fn label(self) -> &'static str {
        match self {
            Self::RegistrationForm => "登记表",
            Self::BasicInfoForm => "学生基本信息表",
            Self::HouseholdRegister => "户口簿复印件",
            Self::Diagnosis => "诊断证明",
            Self::MedicalReceipt => "医疗票据",
            Self::TransferApplication => "转学申请表",
            Self::TransferProof => "转学证明材料",
            Self::SuspensionApplication => "休学复学申请表",
            Self::DeathCertificate => "死亡证明",
            Self::GraduateLedger => "毕业生登记册",
            Self::Other => "其他",
        }
    }
}

impl fmt::Display for PaperKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl FromStr for PaperKind {
    type Err = ArchiveError;

    /// Accepts the ASCII code or the Chinese label (surrounding whitespace
    /// ignored).
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|k| k.code() == s || k.label() == s)
            .ok_or_else(|| ArchiveError::PaperKindUnknown { value: shown_name(s) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_kind_codes_and_labels() {
        for k in PaperKind::ALL {
            assert_eq!(k.code().parse::<PaperKind>().ok(), Some(k));
            assert_eq!(k.label().parse::<PaperKind>().ok(), Some(k));
            let json = serde_json::to_string(&k).expect("json");
            assert_eq!(json, format!("\"{}\"", k.code()));
        }
        assert_eq!(PaperKind::HouseholdRegister.label(), "户口簿复印件");
        assert_eq!("诊断证明".parse::<PaperKind>().ok(), Some(PaperKind::Diagnosis));
        assert_eq!("passport".parse::<PaperKind>().err().map(|e| e.code()), Some("archive.paper_kind_unknown"));
    }
}
