//! Changes to a student's record that staff make outside a case: the photo
//! the forms print, and the resident ID number a student with a temporary
//! number receives (Art. 11). Each is audited in its own transaction; a
//! student outside the actor's scope is not found, and the attempt audited
//! as `denied`.

use crate::app::App;
use crate::db::{self, students};
use crate::domain::{Actor, IdNumber, StudentNo};
use crate::error::{AppError, AppResult};
use crate::service::audit::{self, Audit};

/// The student's internal id and school, if the actor may see them; else
/// 404, with the attempt audited as `denied` under `action`.
async fn visible(app: &App, actor: &Actor, action: &str, public_id: &str) -> AppResult<(i64, i64)> {
    match students::locate(&app.db.pool, public_id).await?.filter(|(_, school)| actor.may_see(*school)) {
        Some(found) => Ok(found),
        None => {
            audit::write(&app.db.pool, actor, action, ("student", public_id), None, "denied", "").await?;
            Err(AppError::NotFound)
        }
    }
}

/// Stores a student's 1-inch photo (JPEG or PNG), normalised once to
/// 25 × 35 mm (295 × 413 px JPEG); the forms and certificates print it from
/// then on. A file that is not a usable photo is refused with the
/// renderer's code.
///
/// # Errors
///
/// Not found (or outside the actor's scope), a refused photo, or a database failure.
pub async fn set_photo<B>(app: &App, actor: &Actor, public_id: &str, bytes: B) -> AppResult<()>
where
    B: AsRef<[u8]> + Send + 'static,
{
    let (student_id, school_id) = visible(app, actor, "student.photo", public_id).await?;
    let mut audit = Audit::new(actor, "student.photo", ("student", public_id));
    audit.school(school_id);
    let result = async {
        let photo = tokio::task::spawn_blocking(move || crate::render::normalise_photo(bytes.as_ref()))
            .await
            .map_err(|e| AppError::Internal(e.into()))?
            .map_err(|e| AppError::bad_request(e.code(), e.to_string()))?;
        let mut tx = app.db.pool.begin().await?;
        students::set_photo(&mut *tx, student_id, &photo, &db::now_text()).await?;
        audit.commit(tx).await
    }
    .await;
    audit.close(&app.db, result).await
}

/// A student with a temporary `L` (or no-ID `J`) number receives their
/// resident ID number: it must match the recorded birth date and gender;
/// the student number becomes `G` + ID, and the old number stays in the
/// history (an event `student_no_converted`). Returns the new number.
///
/// # Errors
///
/// Not found (or outside the actor's scope), an ID that does not match the
/// record or a number that cannot be converted, or a database failure.
pub async fn receive_resident_id(
    app: &App,
    actor: &Actor,
    public_id: &str,
    id_number: &IdNumber,
) -> AppResult<StudentNo> {
    let (student_id, school_id) = visible(app, actor, "student.id_number", public_id).await?;
    let mut audit = Audit::new(actor, "student.id_number", ("student", public_id));
    audit.school(school_id);
    let result = async {
        let mut tx = app.db.pool.begin().await?;
        let student = students::by_id(&mut tx, student_id).await?.ok_or(AppError::NotFound)?;
        let old = StudentNo::parse(&student.student_no)?;
        id_number.check_matches(student.birth_date, student.gender)?;
        let new = old.convert_to_normal(id_number)?;
        let now = db::now_text();
        students::set_resident_id(&mut *tx, student_id, &new, id_number, &now).await?;
        // The missing ID was the problem (Art. 11): it is resolved by the ID itself.
        let resolution = serde_json::json!({ "how": "id_issued", "student_no": new.as_str() }).to_string();
        db::problems::resolve_kind_of_student(&mut *tx, student_id, "no_id", actor.user_id, &resolution, &now).await?;
        students::add_event(
            &mut *tx,
            student_id,
            "student_no_converted",
            Some(student.status),
            Some(student.status),
            &serde_json::json!({ "from": old.as_str(), "to": new.as_str() }),
            actor.user_id,
            &now,
            app.today(),
        )
        .await?;
        audit.commit(tx).await?;
        Ok(new)
    }
    .await;
    audit.close(&app.db, result).await
}
