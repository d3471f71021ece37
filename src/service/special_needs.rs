//! Special needs (Art. 12): the record of a disabled child in a regular
//! class (随班就读) is held by its school, and known to the county's special
//! school, which guides inclusive teaching; a child too disabled to come to
//! school is taught at home (送教上门) by the school that holds the record.
//! The list goes to the bureau (every school), to the special school's staff
//! (every school's 随班就读 and 送教上门 pupils), and to a school's registrar
//! (its own). A read of personal data: audited.

use crate::db::Db;
use crate::db::special_needs::{self, SpecialNeedsPupil};
use crate::domain::{Actor, SchoolKind};
use crate::error::AppResult;
use crate::service::audit::Audit;

/// The pupils with special needs the actor may know of.
pub async fn list(db: &Db, actor: &Actor) -> AppResult<Vec<SpecialNeedsPupil>> {
    let mut conn = db.pool.acquire().await?;
    let special_school = match actor.school_id {
        Some(id) => crate::db::schools::by_id(&mut *conn, id).await?.is_some_and(|s| s.kind == SchoolKind::Special),
        None => false,
    };
    let scope = if special_school { None } else { actor.scope.as_deref() };
    let pupils = special_needs::list(&mut *conn, scope).await?;
    let mut audit = Audit::new(actor, "special_needs.list", ("student", "*"));
    audit.detail(format!("shown={} county_wide={}", pupils.len(), scope.is_none()));
    audit.record(&mut *conn).await?;
    Ok(pupils)
}
