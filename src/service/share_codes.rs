//! Share codes (分享码, see [`crate::domain::share_code`]): the school or the
//! bureau makes one for a graduate's certificate, for 30 to 180 days, and
//! gives it to the graduate or a guardian; a third party types it on the
//! public page (`/s`) and sees that certificate's verification. Staff list a
//! certificate's codes with their uses, and revoke them. Every staff action
//! is audited; the public use is counted on the code.

use chrono::{Duration, NaiveDate};
use serde::Serialize;

use crate::app::App;
use crate::db::{self, certificates as numbers, share_codes};
use crate::domain::Actor;
use crate::domain::share_code::{self, ShareCode};
use crate::error::{AppError, AppResult};
use crate::render::DocKind;
use crate::service::audit::Audit;

/// A share code just made: the code is shown this once.
#[derive(Debug, Clone, Serialize)]
pub struct Issued {
    /// The code, in three groups (`7KQ4-M2XD-9HTC`).
    pub code: String,
    /// Its id, for revoking.
    pub id: String,
    /// The last day it opens the verification.
    pub expires_on: NaiveDate,
    /// The certificate it opens.
    pub number: String,
}

/// The certificate numbered `number`, if the actor may see it: its document
/// id and school.
async fn certificate(app: &App, actor: &Actor, number: &str, audit: &mut Audit<'_>) -> AppResult<numbers::Printed> {
    let printed = numbers::printed_with(&app.db.pool, number).await?.ok_or(AppError::NotFound)?;
    if !actor.may_see(printed.school_id) {
        return Err(AppError::NotFound);
    }
    audit.school(printed.school_id);
    Ok(printed)
}

/// Makes a share code for the certificate numbered `number`, valid from
/// today for `days` days, given to `holder` (the graduate or a guardian).
pub async fn issue(app: &App, actor: &Actor, number: &str, holder: &str, days: u32) -> AppResult<Issued> {
    let mut audit = Audit::new(actor, "share_code.issue", ("certificate", number));
    let result = async {
        let printed = certificate(app, actor, number, &mut audit).await?;
        let kind = printed.kind.parse::<DocKind>().ok().filter(|k| k.is_certificate());
        if kind.is_none() {
            return Err(AppError::bad_request("share.not_certificate", "分享码只能为证书或学历证明书生成"));
        }
        if printed.status != "valid" {
            return Err(AppError::conflict(
                "share.not_valid",
                format!("编号 {number} 的证书当前不是有效状态，不能生成分享码"),
            ));
        }
        let days = share_code::check_days(days).map_err(AppError::from)?;
        let holder = holder.trim();
        if holder.is_empty() || holder.chars().count() > 50 {
            return Err(AppError::bad_request(
                "share.holder_required",
                "请填写分享码交给谁（毕业生本人或监护人姓名，不超过50字）",
            ));
        }
        app.coverage.check("持码人", holder).map_err(|e| AppError::bad_request("text.unprintable", e.to_string()))?;
        let code = ShareCode::from_random(rand::random::<u64>());
        let id = hex::encode(rand::random::<[u8; 8]>());
        // Valid for `days` days counting today.
        let expires_on = app.today() + Duration::days(i64::from(days) - 1);
        let mut tx = app.db.pool.begin().await?;
        share_codes::insert(
            &mut *tx,
            &share_codes::NewShareCode {
                public_id: &id,
                code_digest: &code.digest(),
                doc_id: &printed.doc_id,
                school_id: printed.school_id,
                holder,
                created_by: actor.user_id,
                created_at: &db::now_text(),
                expires_on: &expires_on.to_string(),
            },
        )
        .await?;
        audit.detail(format!("share_code={id} days={days}"));
        audit.commit(tx).await?;
        Ok(Issued { code: code.grouped(), id, expires_on, number: number.to_owned() })
    }
    .await;
    audit.close(&app.db, result).await
}

/// The share codes of the certificate numbered `number`, with their uses.
pub async fn list(app: &App, actor: &Actor, number: &str) -> AppResult<Vec<share_codes::ShareCodeRow>> {
    let mut audit = Audit::new(actor, "share_code.list", ("certificate", number));
    let result = async {
        let printed = certificate(app, actor, number, &mut audit).await?;
        let rows = share_codes::of_document(&app.db.pool, &printed.doc_id).await?;
        audit.detail(format!("shown={}", rows.len()));
        audit.record(&app.db.pool).await?;
        Ok(rows)
    }
    .await;
    audit.close(&app.db, result).await
}

/// Revokes the share code with this id: it opens nothing from now on.
pub async fn revoke(app: &App, actor: &Actor, id: &str) -> AppResult<share_codes::ShareCodeRow> {
    let mut audit = Audit::new(actor, "share_code.revoke", ("share_code", id));
    let result = async {
        let row = share_codes::by_public_id(&app.db.pool, id).await?.ok_or(AppError::NotFound)?;
        if !actor.may_see(row.school_id) {
            return Err(AppError::NotFound);
        }
        audit.school(row.school_id);
        let mut tx = app.db.pool.begin().await?;
        if !share_codes::revoke(&mut *tx, id, actor.user_id, &db::now_text()).await? {
            return Err(AppError::conflict("share.already_revoked", "这个分享码已经撤销"));
        }
        audit.commit(tx).await?;
        Ok(share_codes::by_public_id(&app.db.pool, id).await?.unwrap_or(row))
    }
    .await;
    audit.close(&app.db, result).await
}

/// A code a visitor typed: the verification URL of its certificate, if it
/// is a code, not revoked and not expired (the use is counted). `None` for
/// every failure alike, so a guess learns nothing.
pub async fn open(app: &App, typed: &str) -> AppResult<Option<String>> {
    let Some(code) = ShareCode::parse(typed) else { return Ok(None) };
    let today = app.today().to_string();
    Ok(share_codes::use_code(&app.db.public, &code.digest(), &today, &db::now_text()).await?)
}
