//! Embeds the migrations: writes `$OUT_DIR/migrations.rs`, one list per
//! backend of `(file name, SQL)` pairs taken from `migrations/{sqlite,postgres}`
//! in file name order. `src/db/mod.rs` turns them into sqlx migrations at
//! start-up. This replaces sqlx's `migrate!` macro, whose proc-macro crate
//! compiled sqlx, SQLite's C source and the PostgreSQL driver a second time
//! for the host on every cold build.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    // Read when the script runs, not when it was compiled: a build script
    // compiled for one checkout may be reused for another of the same package.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest_dir).join("migrations");
    let mut out = String::new();
    for (name, backend) in [("SQLITE", "sqlite"), ("POSTGRES", "postgres")] {
        let dir = root.join(backend);
        println!("cargo:rerun-if-changed={}", dir.display());
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("migration directory entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "sql"))
            .collect();
        files.sort();
        writeln!(out, "/// The {backend} migrations, in order.").expect("write");
        writeln!(out, "pub(crate) const {name}: &[(&str, &str)] = &[").expect("write");
        for file in files {
            let file_name = file.file_name().expect("file name").to_string_lossy().into_owned();
            writeln!(out, "    ({file_name:?}, include_str!({:?})),", file.display().to_string()).expect("write");
        }
        writeln!(out, "];").expect("write");
    }
    let target = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("migrations.rs");
    std::fs::write(&target, out).unwrap_or_else(|e| panic!("{}: {e}", target.display()));
}
