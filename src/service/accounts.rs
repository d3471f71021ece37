//! Staff accounts as actors: what a stored account may do and see.

use crate::db::Db;
use crate::db::users::User;
use crate::domain::{Actor, Channel, Role};
use crate::error::AppResult;

/// The actor a signed-in account acts as: a registrar sees the schools whose
/// files they hold (their own, and a central school's township schools),
/// bureau staff every school.
pub async fn actor_for(db: &Db, user: &User, client: &str, via: Channel) -> AppResult<Actor> {
    let scope = match (user.role, user.school_id) {
        (Role::Registrar, Some(school)) => Some(crate::db::schools::held_by(&db.pool, school).await?),
        (Role::Registrar, None) => Some(Vec::new()),
        _ => None,
    };
    Ok(Actor {
        user_id: Some(user.id),
        username: user.username.clone(),
        display_name: user.display_name.clone(),
        role: user.role,
        school_id: user.school_id,
        scope,
        client: client.to_owned(),
        via,
    })
}
