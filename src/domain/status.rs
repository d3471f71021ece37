//! A student's status (学籍状态). Status changes only through the workflows.

use super::DomainError;

/// The status of a student's record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StudentStatus {
    /// 待审核: a new record the school has not yet submitted to the bureau (Art. 10 step 6).
    Pending,
    /// 已上报: submitted by the school, awaiting the bureau's approval.
    Submitted,
    /// 不予建籍: refused by the bureau (Art. 13), kept with the reason.
    Refused,
    /// 在籍: enrolled and attending.
    Active,
    /// 休学: suspended (Art. 22-24).
    Suspended,
    /// 转出中: a transfer out is under way.
    TransferPending,
    /// 已转出: transferred out of this system.
    TransferredOut,
    /// 疑似辍学: absent a week without reason.
    SuspectedDropout,
    /// 辍学: absent over a month; record kept (Art. 29).
    Dropout,
    /// 毕业: graduated.
    Graduated,
    /// 死亡注销: record cancelled on death (Art. 28).
    Deceased,
    /// 出境: studying abroad; record kept (Art. 19).
    Abroad,
    /// 失踪或羁押: missing or detained; record kept (Art. 28).
    Missing,
    /// 已合并: a duplicate record merged into the one kept (Art. 11, 14);
    /// readable, pointing to the kept record, closed.
    Merged,
    /// 历史毕业: a graduate of the years before this system, typed in by the
    /// bureau from the school's paper ledger (Art. 31); read-only.
    Historical,
}

impl StudentStatus {
    /// Every status.
    pub const ALL: [Self; 15] = [
        Self::Pending,
        Self::Submitted,
        Self::Refused,
        Self::Active,
        Self::Suspended,
        Self::TransferPending,
        Self::TransferredOut,
        Self::SuspectedDropout,
        Self::Dropout,
        Self::Graduated,
        Self::Deceased,
        Self::Abroad,
        Self::Missing,
        Self::Merged,
        Self::Historical,
    ];

    /// Stable code stored in the database.
    pub fn code(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Submitted => "submitted",
            Self::Refused => "refused",
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::TransferPending => "transfer_pending",
            Self::TransferredOut => "transferred_out",
            Self::SuspectedDropout => "suspected_dropout",
            Self::Dropout => "dropout",
            Self::Graduated => "graduated",
            Self::Deceased => "deceased",
            Self::Abroad => "abroad",
            Self::Missing => "missing",
            Self::Merged => "merged",
            Self::Historical => "historical",
        }
    }

    /// Chinese label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "待审核",
            Self::Submitted => "已上报",
            Self::Refused => "不予建籍",
            Self::Active => "在籍",
            Self::Suspended => "休学",
            Self::TransferPending => "转出中",
            Self::TransferredOut => "已转出",
            Self::SuspectedDropout => "疑似辍学",
            Self::Dropout => "辍学",
            Self::Graduated => "毕业",
            Self::Deceased => "死亡注销",
            Self::Abroad => "出境",
            Self::Missing => "失踪或羁押",
            Self::Merged => "已合并",
            Self::Historical => "历史毕业（据纸质档案补录）",
        }
    }

    /// Parses a stable code.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|st| st.code() == s || st.label() == s)
            .ok_or_else(|| DomainError::new("status.invalid", "学籍状态", s, "不是有效的学籍状态"))
    }

    /// Whether the student counts against a class's cap: on its roll, or
    /// placed in it by a record the bureau has yet to approve.
    pub fn occupies_seat(self) -> bool {
        matches!(self, Self::Pending | Self::Submitted | Self::Active | Self::TransferPending | Self::SuspectedDropout)
    }

    /// Whether the bureau has approved the record (Art. 10 step 6): only an
    /// approved record is 在籍 or was, appears on rosters, prints
    /// certificates and enters statistics.
    pub fn is_approved(self) -> bool {
        !matches!(self, Self::Pending | Self::Submitted | Self::Refused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for st in StudentStatus::ALL {
            assert_eq!(StudentStatus::parse(st.code()).unwrap(), st);
            assert_eq!(StudentStatus::parse(st.label()).unwrap(), st);
        }
        assert_eq!(StudentStatus::parse("expelled").unwrap_err().code, "status.invalid");
    }
}
