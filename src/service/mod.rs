//! The services: every action of the record, from any door (page, API,
//! command line, scheduler), as one function taking the core, an
//! [`Actor`](crate::domain::Actor) and a typed request. A service checks the
//! actor's right, owns the transaction, applies the rule, and writes the
//! change, its event and its audit row together.

/// Staff accounts as actors; signing in.
pub mod accounts;
/// The audit log as the services write it, inside each action's transaction.
pub mod audit;
/// Delayed entry (Art. 4).
pub mod delays;
/// Printing a student's documents.
pub mod documents;
/// Dropout control (控辍保学): the monthly ledger, home visits, absences and the early warning.
pub mod dropout;
/// Pre-system graduates typed in from the paper ledger, and their proofs.
pub mod historical;
/// The signing keys' life cycle: rotate, retire, compromise.
pub mod keys;
/// The national system's spreadsheets: the intake list and 调档学生导出.
pub mod national;
/// The autumn intake plans.
pub mod plans;
/// Problem records resolved.
pub mod problems;
/// The bureau's approval of new records.
pub mod records;
/// The bureau's statistics: report definitions, tables as of a date, the lists behind them, exports.
pub mod reports;
/// Importing and exporting a school's roster.
pub mod roster;
/// The principal, registrar and head teachers the papers name.
pub mod schools;
/// Finding students: text, school, grade, class, status and flags, paged by key.
pub mod search;
/// Share codes: a certificate's verification opened by a typed code.
pub mod share_codes;
/// The pupils with special needs, known to the special school.
pub mod special_needs;
/// The signed status list of every document printed (revoked or lost).
pub mod status_list;
/// A student's photo and resident ID number, changed outside a case.
pub mod students;
