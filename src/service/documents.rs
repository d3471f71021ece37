//! Printing a student's documents, from the pages, the API or `xueji
//! render`: each print is one `document.print` audit row naming the actor,
//! the kind and the document, written in the transaction that records the
//! document; a batch is one `document.batch` row.

use crate::app::App;
use crate::db::Db;
use crate::db::schools::School;
use crate::db::students::Student;
use crate::documents::{self, Issued, Options};
use crate::domain::Actor;
use crate::error::{AppError, AppResult};
use crate::render::DocKind;
use crate::service::audit::Audit;

/// Prints (issues or re-prints) a document of `kind` for a student the actor
/// may see.
pub async fn print(app: &App, actor: &Actor, student: &Student, kind: DocKind) -> AppResult<Issued> {
    let mut audit = Audit::new(actor, "document.print", ("student", &student.public_id));
    audit.school(student.school_id);
    let result = async {
        if !actor.may_see(student.school_id) {
            return Err(AppError::NotFound);
        }
        let prepared =
            documents::prepare(app, student, kind, Options { actor_id: actor.user_id, ..Options::default() }).await?;
        // A certificate in the family's hands is not printed again by the school
        // (that would be a second sheet); the bureau may retrieve the kept copy.
        if kind.is_certificate()
            && !actor.is_bureau()
            && let Some(h) = crate::db::certificates::hand_over_of(&app.db.pool, &prepared.issued.doc_id).await?
        {
            return Err(crate::certificates::handed_over(prepared.issued.number.as_deref().unwrap_or_default(), &h));
        }
        audit.detail(format!("kind={} doc={}", kind.code(), prepared.issued.doc_id));
        let mut tx = app.db.pool.begin().await?;
        prepared.record(&mut tx).await?;
        audit.commit(tx).await?;
        Ok(prepared.issued)
    }
    .await;
    audit.close(&app.db, result).await
}

/// Records a batch print of `students` documents of `kind` for a school.
pub async fn record_batch(db: &Db, actor: &Actor, school: &School, kind: DocKind, students: usize) -> AppResult<()> {
    let mut audit = Audit::new(actor, "document.batch", ("school", &school.code));
    audit.school(school.id);
    audit.detail(format!("kind={} students={students}", kind.code()));
    audit.record(&db.pool).await
}
