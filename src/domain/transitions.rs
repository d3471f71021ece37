//! The status machine: which workflow action may move a student from which
//! status to which (Art. 16-29). Every status change in the service goes
//! through [`apply`]; anything not listed here is refused with a stable code
//! and a Chinese message. There is no withdrawal and no expulsion (Art. 27).

use super::{DomainError, StudentStatus};

/// A workflow action that changes (or keeps) a student's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The school submits a new (or corrected) record to the bureau (审核上报, Art. 10).
    SubmitRecord,
    /// The bureau approves a submitted record: it becomes 在籍.
    ApproveRecord,
    /// The bureau refuses a submitted record (Art. 13), with a reason.
    RefuseRecord,
    /// The receiving school starts a transfer (Art. 16).
    StartTransfer,
    /// The last of the four approvals: the student belongs to the receiving school.
    CompleteTransferIn,
    /// The last approval of a transfer to a school outside this system.
    CompleteTransferOut,
    /// A transfer refused or withdrawn: the student stays where they were.
    StopTransfer,
    /// Approved to study abroad (Art. 19).
    GoAbroad,
    /// Back from abroad: the record continues (Art. 19).
    ReturnFromAbroad,
    /// Suspension approved (Art. 22).
    Suspend,
    /// Suspension renewed with new proof (Art. 23).
    RenewSuspension,
    /// Resumption approved (Art. 24).
    Resume,
    /// A week absent without reason: reported as a suspected dropout.
    SuspectDropout,
    /// Over a month absent: reported as a dropout (Art. 29).
    MarkDropout,
    /// Back at school after absence or recall.
    ReturnToSchool,
    /// Cancelled on death, with proof (Art. 28).
    Decease,
    /// Missing or detained (Art. 28): reported, record kept.
    ReportMissing,
    /// Found or released: back at school.
    ReturnFound,
    /// Promotion on 10 August (Art. 25): one grade up, status unchanged.
    Promote,
    /// Graduation by 31 July (Art. 25).
    Graduate,
    /// This year's primary graduate enters grade 7 (Art. 10).
    JuniorIntake,
    /// Basic information changed (Art. 15): status unchanged.
    ChangeInfo,
    /// A duplicate record merged into the one kept (Art. 11), by the bureau.
    MergeInto,
}

impl Action {
    /// Every action.
    pub const ALL: [Self; 23] = [
        Self::SubmitRecord,
        Self::ApproveRecord,
        Self::RefuseRecord,
        Self::StartTransfer,
        Self::CompleteTransferIn,
        Self::CompleteTransferOut,
        Self::StopTransfer,
        Self::GoAbroad,
        Self::ReturnFromAbroad,
        Self::Suspend,
        Self::RenewSuspension,
        Self::Resume,
        Self::SuspectDropout,
        Self::MarkDropout,
        Self::ReturnToSchool,
        Self::Decease,
        Self::ReportMissing,
        Self::ReturnFound,
        Self::Promote,
        Self::Graduate,
        Self::JuniorIntake,
        Self::ChangeInfo,
        Self::MergeInto,
    ];

    /// Stable code (the event kind written to the history).
    pub fn code(self) -> &'static str {
        match self {
            Self::SubmitRecord => "record_submitted",
            Self::ApproveRecord => "record_approved",
            Self::RefuseRecord => "record_refused",
            Self::StartTransfer => "transfer_started",
            Self::CompleteTransferIn => "transferred",
            Self::CompleteTransferOut => "transferred_out",
            Self::StopTransfer => "transfer_stopped",
            Self::GoAbroad => "abroad",
            Self::ReturnFromAbroad => "returned_from_abroad",
            Self::Suspend => "suspended",
            Self::RenewSuspension => "suspension_renewed",
            Self::Resume => "resumed",
            Self::SuspectDropout => "dropout_suspected",
            Self::MarkDropout => "dropout_reported",
            Self::ReturnToSchool => "returned",
            Self::Decease => "deceased",
            Self::ReportMissing => "missing_reported",
            Self::ReturnFound => "found",
            Self::Promote => "promoted",
            Self::Graduate => "graduated",
            Self::JuniorIntake => "junior_intake",
            Self::ChangeInfo => "info_changed",
            Self::MergeInto => "merged",
        }
    }

    /// Chinese label.
    pub fn label(self) -> &'static str {
        match self {
            Self::SubmitRecord => "审核上报",
            Self::ApproveRecord => "审核通过",
            Self::RefuseRecord => "不予建籍",
            Self::StartTransfer => "发起转学",
            Self::CompleteTransferIn => "转学完成",
            Self::CompleteTransferOut => "转出本系统",
            Self::StopTransfer => "转学终止",
            Self::GoAbroad => "出境就读",
            Self::ReturnFromAbroad => "出境返回",
            Self::Suspend => "休学",
            Self::RenewSuspension => "续办休学",
            Self::Resume => "复学",
            Self::SuspectDropout => "疑似辍学上报",
            Self::MarkDropout => "辍学上报",
            Self::ReturnToSchool => "返校复学",
            Self::Decease => "死亡注销",
            Self::ReportMissing => "失踪或羁押上报",
            Self::ReturnFound => "返校",
            Self::Promote => "升级",
            Self::Graduate => "毕业",
            Self::JuniorIntake => "升入初中",
            Self::ChangeInfo => "基本信息变更",
            Self::MergeInto => "合并重复学籍",
        }
    }
}

/// What the machine needs to know besides the status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Facts {
    /// The student is in the graduating grade of their school.
    pub graduating_grade: bool,
    /// The student is in grade 6 of a primary school.
    pub primary_graduate_grade: bool,
    /// The bureau has recorded a reason to override an in-principle refusal.
    pub bureau_override: bool,
}

/// The status `action` leads to from `from`, or the refusal.
///
/// # Errors
///
/// A [`DomainError`] with a stable code (`status.*`, `transfer.*`,
/// `suspension.*`, `graduation.*`) and a Chinese message naming the status.
pub fn apply(from: StudentStatus, action: Action, facts: Facts) -> Result<StudentStatus, DomainError> {
    use Action as A;
    use StudentStatus as S;
    let to = match (action, from) {
        (A::SubmitRecord, S::Pending | S::Refused) => S::Submitted,
        (A::ApproveRecord, S::Submitted) => S::Active,
        // The bureau refuses a record it has before it, or, deciding on an
        // intake outside the catchment area, one not yet submitted.
        (A::RefuseRecord, S::Pending | S::Submitted) => S::Refused,
        (A::StartTransfer, S::Active) => {
            if facts.graduating_grade && !facts.bureau_override {
                return Err(refuse(
                    "transfer.graduating_year",
                    from,
                    action,
                    "毕业年级学生原则上不准转学（第二十条），确需转学的须由教育局记录理由后办理",
                ));
            }
            S::TransferPending
        }
        (A::CompleteTransferIn | A::StopTransfer, S::TransferPending) => S::Active,
        (A::CompleteTransferOut, S::TransferPending) => S::TransferredOut,
        (A::GoAbroad, S::Active) => S::Abroad,
        (A::ReturnFromAbroad, S::Abroad) => S::Active,
        (A::Suspend, S::Active) => {
            if facts.graduating_grade && !facts.bureau_override {
                return Err(refuse(
                    "suspension.graduating_year",
                    from,
                    action,
                    "毕业年级学生一般不准休学（第二十二条），确需休学的须由教育局记录理由后办理",
                ));
            }
            S::Suspended
        }
        (A::RenewSuspension, S::Suspended) => S::Suspended,
        (A::Resume, S::Suspended) => S::Active,
        (A::SuspectDropout, S::Active) => S::SuspectedDropout,
        (A::MarkDropout, S::Active | S::SuspectedDropout) => S::Dropout,
        (A::ReturnToSchool, S::SuspectedDropout | S::Dropout) => S::Active,
        (A::Decease, S::Active | S::Suspended | S::SuspectedDropout | S::Dropout | S::Missing | S::Abroad) => {
            S::Deceased
        }
        (A::ReportMissing, S::Active | S::Suspended | S::SuspectedDropout | S::Dropout) => S::Missing,
        (A::ReturnFound, S::Missing) => S::Active,
        (A::Promote, S::Active | S::SuspectedDropout | S::TransferPending) => {
            if facts.graduating_grade {
                return Err(refuse("promotion.graduating_grade", from, action, "毕业年级学生不升级，应办理毕业"));
            }
            from
        }
        (A::Graduate, S::Active) => {
            if !facts.graduating_grade {
                return Err(refuse("graduation.not_final_grade", from, action, "只有毕业年级的学生可以毕业"));
            }
            S::Graduated
        }
        (A::JuniorIntake, S::Graduated) => {
            if !facts.primary_graduate_grade {
                return Err(refuse("intake.not_primary_graduate", from, action, "只有小学毕业生可以升入初中一年级"));
            }
            S::Active
        }
        (A::ChangeInfo, s) if !is_closed(s) => s,
        (A::MergeInto, s) if !is_closed(s) => S::Merged,
        _ => return Err(refuse("status.transition", from, action, "当前学籍状态不允许此操作")),
    };
    Ok(to)
}

fn refuse(code: &'static str, from: StudentStatus, action: Action, why: &str) -> DomainError {
    DomainError::new(code, "学籍状态", from.label(), &format!("，不能{}：{why}", action.label()))
}

/// Whether a status is final: no action leads out of it except those listed
/// in [`apply`] (a deceased record is never reopened; a record that left
/// the system stays closed here).
pub fn is_closed(status: StudentStatus) -> bool {
    matches!(
        status,
        StudentStatus::Deceased | StudentStatus::TransferredOut | StudentStatus::Merged | StudentStatus::Historical
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use StudentStatus as S;

    #[test]
    fn a_graduate_cannot_be_suspended_and_a_suspended_student_cannot_transfer() {
        let e = apply(S::Graduated, Action::Suspend, Facts::default()).unwrap_err();
        assert_eq!(e.code, "status.transition");
        assert!(e.message.contains("毕业"), "{}", e.message);
        let e = apply(S::Suspended, Action::StartTransfer, Facts::default()).unwrap_err();
        assert_eq!(e.code, "status.transition");
        assert!(e.message.contains("休学"), "{}", e.message);
    }

    #[test]
    fn graduating_year_refusals_give_way_only_to_a_bureau_override() {
        let f = Facts { graduating_grade: true, ..Facts::default() };
        assert_eq!(apply(S::Active, Action::StartTransfer, f).unwrap_err().code, "transfer.graduating_year");
        assert_eq!(apply(S::Active, Action::Suspend, f).unwrap_err().code, "suspension.graduating_year");
        let o = Facts { bureau_override: true, ..f };
        assert_eq!(apply(S::Active, Action::StartTransfer, o).unwrap(), S::TransferPending);
        assert_eq!(apply(S::Active, Action::Suspend, o).unwrap(), S::Suspended);
    }

    #[test]
    fn a_new_record_is_in_the_register_only_once_the_bureau_approves_it() {
        let f = Facts::default();
        assert_eq!(apply(S::Pending, Action::SubmitRecord, f).unwrap(), S::Submitted);
        assert_eq!(apply(S::Submitted, Action::ApproveRecord, f).unwrap(), S::Active);
        assert_eq!(apply(S::Submitted, Action::RefuseRecord, f).unwrap(), S::Refused);
        assert_eq!(apply(S::Refused, Action::SubmitRecord, f).unwrap(), S::Submitted);
        assert_eq!(apply(S::Pending, Action::ApproveRecord, f).unwrap_err().code, "status.transition");
        for action in [Action::StartTransfer, Action::Suspend, Action::Graduate, Action::Promote] {
            for from in [S::Pending, S::Submitted, S::Refused] {
                assert!(apply(from, action, f).is_err(), "{action:?} from {from:?}");
            }
        }
        assert_eq!(apply(S::Pending, Action::ChangeInfo, f).unwrap(), S::Pending);
    }

    #[test]
    fn closed_records_stay_closed() {
        for action in Action::ALL {
            for from in [S::Deceased, S::TransferredOut, S::Merged, S::Historical] {
                assert!(apply(from, action, Facts::default()).is_err(), "{action:?} from {from:?}");
            }
        }
    }

    #[test]
    fn every_reachable_status_is_a_known_one_and_no_action_expels() {
        // Exhaustive over statuses × actions × facts: the result is always a
        // status whose code parses, and "closed" statuses are only reached by
        // the actions that mean them.
        for from in S::ALL {
            for action in Action::ALL {
                for bits in 0..8u8 {
                    let facts = Facts {
                        graduating_grade: bits & 1 != 0,
                        primary_graduate_grade: bits & 2 != 0,
                        bureau_override: bits & 4 != 0,
                    };
                    if let Ok(to) = apply(from, action, facts) {
                        assert_eq!(S::parse(to.code()).unwrap(), to);
                        if to == S::Deceased {
                            assert_eq!(action, Action::Decease);
                        }
                        if to == S::Merged {
                            assert_eq!(action, Action::MergeInto);
                        }
                        if to == S::TransferredOut {
                            assert_eq!(action, Action::CompleteTransferOut);
                        }
                        assert_ne!(
                            to,
                            S::Historical,
                            "only the bureau's record of a pre-system graduate is historical"
                        );
                        if from.is_approved() {
                            assert!(to.is_approved(), "{action:?} from {from:?} un-approves the record");
                        }
                        if to == S::Active && !from.is_approved() {
                            assert_eq!(action, Action::ApproveRecord);
                        }
                        if to == S::Graduated && from != S::Graduated {
                            assert!(facts.graduating_grade && from == S::Active);
                        }
                    }
                }
            }
        }
    }
}
