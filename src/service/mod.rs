//! The services: every action of the record, from any door (page, API,
//! command line, scheduler), as one function taking the core, an
//! [`Actor`](crate::domain::Actor) and a typed request. A service checks the
//! actor's right, owns the transaction, applies the rule, and writes the
//! change, its event and its audit row together.

pub mod accounts;
pub mod audit;
pub mod documents;
pub mod roster;
