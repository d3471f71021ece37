//! The archive under abuse, through the real binary:
//!
//! - a child `xueji archive put` is killed with SIGKILL at random moments,
//!   200 times; afterwards `xueji archive verify` finds no changed or
//!   missing object, no temp file was taken for an object, every put that
//!   reported success is in the manifests, the objects and the database,
//!   and the database never runs ahead of the manifests;
//! - a `xueji serve` with a 1 MiB limit stops a chunked upload that grows
//!   past it while streaming, and stores nothing.
//! - `xueji archive verify` names every fault by path and `xueji archive
//!   sweep` removes what crashes left (`fixity`);
//! - a child `xueji archive import` is killed at random moments, 200 times;
//!   every package is then filed exactly once (`imports`);
//! - uploads onto a full disk answer 507 and leave nothing (`disk`).
//!
//! One test binary; the parts share `helpers`.

mod disk;
mod fixity;
mod helpers;
mod imports;
mod puts;
