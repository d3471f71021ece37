//! The signing keys' life cycle: rotate (a new key signs from then on, the
//! old one still verifies), retire a key that is no longer active, and mark
//! a key compromised (everything it signed fails verification; when it was
//! the active key a new one takes over, so printing goes on). Only the bureau
//! administrator or the operator at the command line; each change is audited
//! as `key.rotate`, `key.retire` or `key.compromise` with the reason given.
//!
//! The keys live in files, not in the database, so a change and its audit row
//! cannot share a transaction: the row is written right after the change,
//! and a refused change writes a `refused` row. A running service picks a
//! change up within two seconds ([`reload_schedule`]).

use crate::db::Db;
use crate::domain::{Actor, Channel, Role};
use crate::error::{AppError, AppResult};
use crate::service::audit;
use crate::verify::{KeyError, KeyStore, Kid};
use std::sync::Arc;

/// The longest reason kept with a change.
const MAX_REASON_CHARS: usize = 200;

/// What to do with the keys.
#[derive(Debug, Clone, Copy)]
pub enum Change {
    /// Make a new active key.
    Rotate,
    /// Retire a key that is not active.
    Retire(Kid),
    /// Mark a key compromised.
    Compromise(Kid),
}

/// What a change did: the key it concerned and the active key after it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Changed {
    /// The key changed (the new one for a rotation).
    pub kid: String,
    /// The active key now, if any.
    pub active: Option<String>,
}

/// Applies `change` with its `reason` (required but for a rotation).
///
/// # Errors
///
/// Anyone but the bureau administrator or the command line; no reason; an
/// unknown key; retiring the active key; the key directory cannot be written.
pub async fn change(db: &Db, keys: &KeyStore, actor: &Actor, change: Change, reason: &str) -> AppResult<Changed> {
    let (action, target) = match change {
        Change::Rotate => ("key.rotate", "-".to_owned()),
        Change::Retire(kid) => ("key.retire", kid.to_string()),
        Change::Compromise(kid) => ("key.compromise", kid.to_string()),
    };
    let reason: String = reason.trim().chars().take(MAX_REASON_CHARS).collect();
    let result = apply(keys, actor, change, &reason);
    let (outcome, detail) = match &result {
        Ok(done) => {
            ("ok", format!("kid={} active={} reason={reason}", done.kid, done.active.as_deref().unwrap_or("-")))
        }
        Err(e) => audit::outcome_of(e),
    };
    let target_id = match &result {
        Ok(done) if target == "-" => done.kid.clone(),
        _ => target,
    };
    audit::write(&db.pool, actor, action, ("key", &target_id), None, outcome, &detail).await?;
    result
}

fn apply(keys: &KeyStore, actor: &Actor, change: Change, reason: &str) -> AppResult<Changed> {
    if actor.role != Role::BureauAdmin && actor.via != Channel::Cli {
        return Err(AppError::Forbidden);
    }
    if reason.is_empty() && !matches!(change, Change::Rotate) {
        return Err(AppError::bad_request("key.reason_required", "停用或标记泄露须写明原因（--reason）"));
    }
    let kid = match change {
        Change::Rotate => keys.rotate().map_err(key_error)?,
        Change::Retire(kid) => {
            keys.retire(kid).map_err(key_error)?;
            kid
        }
        Change::Compromise(kid) => {
            keys.compromise(kid).map_err(key_error)?;
            kid
        }
    };
    let active = keys.active_signer().ok().map(|s| s.kid().to_string());
    Ok(Changed { kid: kid.to_string(), active })
}

/// A key store error as the service answers it: the operator's mistakes
/// with their Chinese message, faults as internal.
fn key_error(e: KeyError) -> AppError {
    match e {
        KeyError::UnknownKid(_) => AppError::bad_request("key.unknown", e.to_string()),
        KeyError::RetireActive(_) => AppError::conflict("key.retire_active", e.to_string()),
        KeyError::InvalidKid(_) => AppError::bad_request("key.invalid", e.to_string()),
        other => AppError::Internal(other.into()),
    }
}

/// Re-reads the key directory every two seconds when `keys.json` changed
/// (the command line rotated or marked a key), so that signing and the
/// published key set follow at once.
pub async fn reload_schedule(app: Arc<crate::app::App>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(2));
    loop {
        tick.tick().await;
        match app.keys.reload_if_changed() {
            Ok(true) => tracing::info!(
                active = ?app.keys.active_signer().ok().map(|s| s.kid().to_string()),
                "signing keys reloaded"
            ),
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(error = %e, "signing keys changed but could not be reloaded; keeping the ones in use")
            }
        }
    }
}
