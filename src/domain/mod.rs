//! Domain newtypes and the county regulation's rules. No I/O lives here.
//!
//! Every type is parsed once at the edge (`parse() -> Result`) and is valid
//! from then on. A refusal is a [`DomainError`]: a stable machine code, the
//! field it concerns, the offending value and a Chinese message naming both.

pub mod actor;
pub mod audit_chain;
pub mod date;
pub mod doc_kind;
pub mod id_number;
pub mod initials;
pub mod intake;
pub mod national;
pub mod report;
pub mod rules;
pub mod school;
pub mod share_code;
pub mod stage;
pub mod status;
pub mod student_no;
pub mod text;
pub mod throttle;
pub mod transitions;
pub mod working_days;

pub use actor::{Actor, Channel, Role};
pub use date::parse_date;
pub use doc_kind::DocKind;
pub use id_number::{Gender, IdNumber};
pub use initials::name_initials;
pub use rules::{ClassCap, check_entry_age, coming_intake_year, first_grade_year, school_year_start};
pub use school::{ClassRef, Grade, SchoolKind};
pub use stage::Stage;
pub use status::StudentStatus;
pub use student_no::StudentNo;
pub use transitions::{Action, Facts};
pub use working_days::WorkingCalendar;

use std::fmt;

/// A refusal of the rules: what field, what value, why, and a stable code.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DomainError {
    /// Stable machine code, e.g. `id.checksum`.
    pub code: &'static str,
    /// The field concerned, in Chinese as printed on the forms (e.g. `身份证件号`).
    pub field: &'static str,
    /// The value refused, as given.
    pub value: String,
    /// A clear Chinese message naming the field and the value.
    pub message: String,
}

impl DomainError {
    /// Builds an error whose message is `{field}“{value}”{reason}`.
    pub fn new(code: &'static str, field: &'static str, value: impl Into<String>, reason: &str) -> Self {
        let value = value.into();
        let message = format!("{field}“{value}”{reason}");
        Self { code, field, value, message }
    }
}

impl fmt::Display for DomainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DomainError {}
