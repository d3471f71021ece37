//! The kept archive's per-dossier inventories and README on the local disk
//! (the same check runs on S3 in `s3.rs`).

mod common;

use xueji_archive::ArchiveConfig;

#[test]
fn each_dossier_has_a_plain_inventory_and_the_root_a_readme() {
    let (_dir, archive) = common::archive(ArchiveConfig::default());
    common::check_inventories(&archive);
}
