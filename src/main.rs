//! The `xueji` binary.
fn main() {}
