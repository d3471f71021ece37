//! Command-line subcommands that live in the library, one module per area,
//! so `main.rs` stays a thin dispatcher.

pub mod archive;
pub mod audit;
pub mod backup;
pub mod calendar;
pub mod certificates;
pub mod documents;
pub mod historical;
pub mod keys;
pub mod national;
pub mod ocr;
pub mod report;
pub mod schools;
pub mod users;
pub mod verify;

/// Writes an audit row for the operator at the command line, recorded as
/// `cli:<operating-system user>` (Art. 33: every action, from any door).
pub async fn write_audit(
    db: &crate::db::Db,
    action: &str,
    target: (&str, &str),
    school_id: Option<i64>,
    outcome: &str,
    detail: &str,
) -> anyhow::Result<()> {
    use anyhow::Context;
    let actor = crate::domain::Actor::cli(&crate::config::os_user());
    crate::service::audit::write(&db.pool, &actor, action, target, school_id, outcome, detail)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("无法写入审计日志")
}
