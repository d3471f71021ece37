//! The audit log as the services write it (Art. 33): every action names its
//! [`Actor`], what it acted on and how it ended.
//!
//! An action that changes the record writes its `ok` row inside its own
//! transaction, through [`Audit::commit`], so the change and its row land
//! together or not at all. An action that is refused (or fails) writes its
//! row afterwards, on its own, with the error's code: [`Audit::close`].
//! Reads write one row each, [`Audit::record`].

use crate::db::{Db, audit};
use crate::domain::Actor;
use crate::error::{AppError, AppResult};
use sqlx::{Acquire, Any, Transaction};

tokio::task_local! {
    /// What one request has audited so far (see [`RequestScope`]).
    static REQUEST: std::cell::RefCell<RequestScope>;
}

/// One request's audit state: who it turned out to be, and whether any row
/// was written for it. The HTTP layer runs each request in a scope
/// ([`in_request_scope`]), so a denial that no action audited (a 403 or 404
/// from an extractor, a check before the action began, an unknown route) is
/// still written once, by the HTTP layer, and never twice.
#[derive(Debug, Default, Clone)]
pub struct RequestScope {
    /// The signed-in actor, once the session was read.
    pub actor: Option<Actor>,
    /// Whether a row was written for this request.
    pub written: bool,
}

/// Runs a request's future in its own audit scope; gives back the scope.
pub async fn in_request_scope<F: std::future::Future>(f: F) -> (F::Output, RequestScope) {
    REQUEST
        .scope(std::cell::RefCell::new(RequestScope::default()), async move {
            let out = f.await;
            (out, REQUEST.with(|s| s.borrow().clone()))
        })
        .await
}

/// Notes the actor behind the current request (outside a request: nothing).
pub fn note_request_actor(actor: &Actor) {
    let _ = REQUEST.try_with(|s| s.borrow_mut().actor = Some(actor.clone()));
}

/// Writes the row for a denied request that nothing else audited: action
/// `access.denied`, the route (its pattern, never the values in it) as the
/// target, `forbidden` or `not_found` as the outcome.
pub async fn write_denial(db: &Db, actor: &Actor, method: &str, route: &str, not_found: bool) -> AppResult<()> {
    let outcome = if not_found { "not_found" } else { "forbidden" };
    write(&db.pool, actor, "access.denied", ("route", route), None, outcome, &format!("method={method}")).await
}

/// Writes one audit row for the actor.
pub async fn write<'c>(
    e: impl Acquire<'c, Database = Any>,
    actor: &Actor,
    action: &str,
    target: (&str, &str),
    school_id: Option<i64>,
    outcome: &str,
    detail: &str,
) -> AppResult<()> {
    let _ = REQUEST.try_with(|s| s.borrow_mut().written = true);
    audit::record(
        e,
        &audit::Entry {
            user_id: actor.user_id,
            username: &actor.username,
            action,
            target_kind: target.0,
            target_id: target.1,
            school_id,
            outcome,
            client: &actor.client,
            via: actor.via.code(),
            detail,
        },
    )
    .await?;
    Ok(())
}

/// The outcome recorded for an error: `error` for a failure of the service,
/// `refused` for a refusal of the request.
pub fn outcome_of(e: &AppError) -> (&'static str, String) {
    if e.is_internal() { ("error", format!("code={}", e.code())) } else { ("refused", format!("code={}", e.code())) }
}

/// One action's audit row, filled in as the action learns what it acts on.
#[derive(Debug)]
pub struct Audit<'a> {
    actor: &'a Actor,
    action: String,
    target_kind: &'static str,
    target_id: String,
    school_id: Option<i64>,
    detail: String,
    written: bool,
}

impl<'a> Audit<'a> {
    /// An action by `actor` on `target` (kind, public id; `-` while unknown).
    pub fn new(actor: &'a Actor, action: impl Into<String>, target: (&'static str, &str)) -> Self {
        Self {
            actor,
            action: action.into(),
            target_kind: target.0,
            target_id: target.1.to_owned(),
            school_id: None,
            detail: String::new(),
            written: false,
        }
    }

    /// The target, once known (e.g. a case just opened).
    pub fn target(&mut self, id: &str) {
        id.clone_into(&mut self.target_id);
    }

    /// The school the target belongs to.
    pub fn school(&mut self, school_id: i64) {
        self.school_id = Some(school_id);
    }

    /// Extra facts (never personal data): counts, filters.
    pub fn detail(&mut self, detail: impl Into<String>) {
        self.detail = detail.into();
    }

    /// Writes the `ok` row into the action's transaction and commits both:
    /// the only way an audited action commits.
    pub async fn commit(&mut self, mut tx: Transaction<'static, Any>) -> AppResult<()> {
        self.write_in(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Writes the `ok` row into a transaction the caller commits (when the
    /// action's transaction is committed by a part shared with unaudited callers).
    pub async fn write_in(&mut self, tx: &mut Transaction<'static, Any>) -> AppResult<()> {
        if self.school_id.is_none() && self.target_kind == "student" {
            self.school_id = audit::school_of_student(&mut **tx, &self.target_id).await?;
        }
        let target = (self.target_kind, self.target_id.as_str());
        write(&mut **tx, self.actor, &self.action, target, self.school_id, "ok", &self.detail).await?;
        self.written = true;
        Ok(())
    }

    /// Writes the `ok` row on its own: a read of personal data, or an action
    /// whose transaction belongs to a part shared with unaudited callers.
    pub async fn record<'c>(&mut self, e: impl Acquire<'c, Database = Any>) -> AppResult<()> {
        let target = (self.target_kind, self.target_id.as_str());
        write(e, self.actor, &self.action, target, self.school_id, "ok", &self.detail).await?;
        self.written = true;
        Ok(())
    }

    /// Ends the action: a refusal or failure writes its row now (the
    /// action's transaction was rolled back, so nothing else was written),
    /// naming the student's school when the target is a student; a success
    /// has written its row already.
    pub async fn close<T>(mut self, db: &Db, result: AppResult<T>) -> AppResult<T> {
        match &result {
            Ok(_) => {
                debug_assert!(self.written, "{} succeeded without writing its audit row", self.action);
                if !self.written {
                    tracing::error!(action = %self.action, "action succeeded without its audit row");
                }
            }
            Err(e) => {
                if self.school_id.is_none() && self.target_kind == "student" {
                    self.school_id = audit::school_of_student(&db.pool, &self.target_id).await?;
                }
                let (outcome, detail) = outcome_of(e);
                let target = (self.target_kind, self.target_id.as_str());
                write(&db.pool, self.actor, &self.action, target, self.school_id, outcome, &detail).await?;
            }
        }
        result
    }
}

/// What walking the audit chain found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChainReport {
    /// Rows written before the chain began (not covered).
    pub before_chain: u64,
    /// Chained rows whose hash was checked.
    pub checked: u64,
    /// The head's hash (the last row's).
    pub head: String,
    /// The first broken link, if any.
    pub broken: Option<BrokenLink>,
}

/// Where the chain breaks, and how.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BrokenLink {
    /// The first row that does not fit (`None`: the end of the log).
    pub id: Option<i64>,
    /// What is wrong, in Chinese.
    pub reason: String,
}

/// Rows read at a time while walking the chain.
const CHAIN_PAGE: i64 = 1000;

/// Walks the audit log in order and checks every chained row: its hash
/// over its own fields and the row before, its `prev_hash` against that
/// row's hash, and at the end the head's hash and row count (so rows cut
/// off the end are found too). Stops at the first break.
///
/// # Errors
///
/// A database failure.
pub async fn verify_chain(db: &Db) -> AppResult<ChainReport> {
    let (head, head_rows) = audit::head(&db.pool).await?;
    let mut report = ChainReport { before_chain: 0, checked: 0, head: head.clone(), broken: None };
    let mut prev: Option<String> = None;
    let mut after = 0;
    'walk: loop {
        let page = audit::chain_page(&db.pool, after, CHAIN_PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for row in &page {
            if row.hash.is_empty() && prev.is_none() {
                report.before_chain += 1;
                continue;
            }
            let expected_prev = prev.as_deref().unwrap_or("");
            let reason = if row.hash.is_empty() {
                Some("该条记录没有哈希（链开始后写入却未入链）".to_owned())
            } else if row.prev_hash != expected_prev {
                Some("前一条记录的哈希对不上：其前有记录被删除、插入或修改".to_owned())
            } else if row.link().hash(&row.prev_hash) != row.hash {
                Some("记录内容与其哈希不符：该条记录被修改过".to_owned())
            } else {
                None
            };
            if let Some(reason) = reason {
                report.broken = Some(BrokenLink { id: Some(row.id), reason });
                break 'walk;
            }
            report.checked += 1;
            prev = Some(row.hash.clone());
        }
    }
    if report.broken.is_none() {
        let last = prev.unwrap_or_default();
        if last != head || i64::try_from(report.checked).unwrap_or(i64::MAX) != head_rows {
            report.broken = Some(BrokenLink {
                id: None,
                reason: format!(
                    "日志末尾与链头不符：链头记有 {head_rows} 条、最后哈希 {head}，实有 {} 条：末尾的记录被删除或改动",
                    report.checked
                ),
            });
        }
    }
    Ok(report)
}

/// Logs the chain's head once a day (and at start), so that a copy outside
/// the database (the service's log) can later prove the history up to then.
pub async fn head_schedule(db: Db) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(24 * 3600));
    loop {
        tick.tick().await;
        match audit::head(&db.pool).await {
            Ok((hash, rows)) => tracing::info!(head = %hash, rows, "audit log chain head"),
            Err(e) => tracing::warn!(error = %e, "audit log chain head: not read"),
        }
    }
}

/// Entries shown on one page of the audit log search.
pub const LOG_PAGE_SIZE: i64 = 100;

/// One page of the audit log search.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LogPage {
    /// The entries, newest first.
    pub entries: Vec<audit::Logged>,
    /// How many match in all.
    pub total: i64,
    /// This page (from 1).
    pub page: i64,
}

/// Searches the audit log (the bureau administrator only): who, what,
/// target, outcome and days. The search is itself audited (`audit.search`,
/// with the filter); anyone else is refused and audited as `denied`.
///
/// # Errors
///
/// Anyone but the bureau administrator; a database failure.
pub async fn search_log(db: &Db, actor: &Actor, filter: &audit::Filter, page: i64) -> AppResult<LogPage> {
    let described = serde_json::to_string(filter).unwrap_or_default();
    if actor.role != crate::domain::Role::BureauAdmin {
        write(&db.pool, actor, "audit.search", ("audit", "-"), None, "denied", "role").await?;
        return Err(AppError::Forbidden);
    }
    let page = page.max(1);
    let mut conn = db.pool.acquire().await?;
    let (entries, total) = audit::search(&mut conn, filter, LOG_PAGE_SIZE, (page - 1) * LOG_PAGE_SIZE).await?;
    drop(conn);
    let detail = format!("filter={described} shown={} total={total}", entries.len());
    write(&db.pool, actor, "audit.search", ("audit", "-"), None, "ok", &detail).await?;
    Ok(LogPage { entries, total, page })
}
