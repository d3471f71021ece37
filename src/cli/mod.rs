//! Command-line subcommands that live in the library, one module per area,
//! so `main.rs` stays a thin dispatcher.

pub mod archive;
pub mod audit;
pub mod calendar;
pub mod certificates;
pub mod documents;
pub mod keys;
pub mod users;
pub mod verify;
