//! The bureau's register of approvals for lists to leave the service (Art.
//! 33): each with its 文号, purpose, recipient, who approved it and when,
//! until when it may be used, and how many exports were made under it.

use super::catalogue;
use crate::app::App;
use crate::db::reports::{self, ListedApproval};
use crate::domain::{Actor, school_year_start};
use crate::error::AppResult;
use chrono::NaiveDate;

/// Approvals a page.
pub const PAGE: usize = 50;

/// One approval, as the register lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Entry {
    /// The approval, with its approver's name.
    #[serde(flatten)]
    pub listed: ListedApproval,
    /// The table's title, when its layout is still in the catalogue.
    pub title: Option<String>,
    /// The column's heading, likewise.
    pub column_label: Option<String>,
    /// Still in force today.
    pub in_force: bool,
}

/// A page of the register.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Register {
    /// Approvals in all.
    pub total: usize,
    /// This page, from 1.
    pub page: usize,
    /// Pages (at least 1).
    pub pages: usize,
    /// Newest first.
    pub approvals: Vec<Entry>,
}

/// The register, a page of it (bureau staff only; it names no pupil).
pub async fn register(app: &App, actor: &Actor, page: Option<usize>) -> AppResult<Register> {
    crate::workflow::require_bureau(actor)?;
    let catalogue = catalogue(&app.config)?;
    let page = page.unwrap_or(1).max(1);
    let offset = i64::try_from((page - 1).saturating_mul(PAGE)).unwrap_or(i64::MAX);
    let mut conn = app.db.pool.acquire().await?;
    let (list, total) = reports::approvals(&mut conn, PAGE as i64, offset).await?;
    let today = app.today().to_string();
    let approvals = list
        .into_iter()
        .map(|listed| {
            let a = &listed.approval;
            let year = NaiveDate::parse_from_str(&a.as_of, "%Y-%m-%d").map(school_year_start).ok();
            let layout = year.and_then(|y| catalogue.layout(&a.report, y));
            let column_label = layout
                .and_then(|r| usize::try_from(a.col).ok().and_then(|c| r.def.columns.get(c)))
                .map(|c| c.label.clone());
            Entry {
                title: layout.map(|r| r.def.title.clone()),
                column_label,
                in_force: a.expires_on.as_str() >= today.as_str(),
                listed,
            }
        })
        .collect();
    let total = usize::try_from(total).unwrap_or(0);
    Ok(Register { total, page, pages: total.div_ceil(PAGE).max(1), approvals })
}
