//! The signed status list the public side publishes
//! (`/.well-known/xueji-status.json`, see [`crate::verify::status_list`]):
//! one bit for every index given so far, set for the documents revoked or
//! lost, dated today and signed with the active key. Public, no personal data.

use crate::app::App;
use crate::db;
use crate::error::{AppError, AppResult};
use crate::verify::status_list::{self, StatusList};

/// The list as of now.
pub async fn current(app: &App) -> AppResult<StatusList> {
    let (size, set) = db::verify::status_list_rows(&app.db.public).await?;
    let signer = app.keys.active_signer().map_err(|e| AppError::Internal(e.into()))?;
    let size = u32::try_from(size).unwrap_or(u32::MAX);
    let set = set.into_iter().filter_map(|i| u32::try_from(i).ok());
    Ok(status_list::build(&signer, app.today(), size, set))
}
