//! Going abroad to study (Art. 19): opened by the student's school,
//! approved by the school, then the bureau.

use super::{Case, CaseKind, NewCase, ProofRef, checked_proofs, ensure_no_open_case, insert_case, proof_texts};
use crate::app::App;
use crate::domain::{Action, Actor};
use crate::error::AppResult;
use crate::service::audit::Audit;
use crate::workflow::{facts, lock_visible, parse_date, printable, require_school, required, school_of};
use serde::Deserialize;
use serde_json::json;

/// An application to study abroad (Art. 19).
#[derive(Debug, Clone, Deserialize)]
pub struct AbroadRequest {
    /// Departure date.
    pub departure_date: String,
    /// Country or region.
    pub country: String,
    /// Why.
    #[serde(default)]
    pub reason: String,
    /// The applying guardian.
    pub guardian_name: String,
    /// Their phone.
    #[serde(default)]
    pub guardian_phone: String,
    /// Proofs in the dossier.
    #[serde(default)]
    pub proofs: Vec<ProofRef>,
}

/// Opens an application to study abroad (Art. 19), by the student's school.
pub async fn open_abroad(app: &App, actor: &Actor, public_id: &str, req: &AbroadRequest) -> AppResult<Case> {
    let mut audit = Audit::new(actor, "case.abroad.open", ("student", public_id));
    let result = open_abroad_in(app, actor, public_id, req, &mut audit).await;
    audit.close(&app.db, result).await
}

async fn open_abroad_in(
    app: &App,
    actor: &Actor,
    public_id: &str,
    req: &AbroadRequest,
    audit: &mut Audit<'_>,
) -> AppResult<Case> {
    let today = app.today();
    let departure = parse_date("出境日期", &req.departure_date)?;
    let country = required("前往国家或地区", &req.country)?;
    let guardian = required("监护人姓名", &req.guardian_name)?;
    let mut texts = vec![("前往国家或地区", country.as_str()), ("出境原因", req.reason.as_str())];
    texts.extend([("监护人姓名", guardian.as_str()), ("监护人电话", req.guardian_phone.as_str())]);
    texts.extend(proof_texts(&req.proofs));
    printable(&app.coverage, &texts)?;
    let mut tx = app.db.pool.begin().await?;
    let student = lock_visible(&mut tx, actor, public_id).await?;
    require_school(actor, student.school_id)?;
    ensure_no_open_case(&mut tx, student.id).await?;
    let school = school_of(&mut *tx, &student).await?;
    // Checked now so the application cannot be approved into a forbidden state later.
    crate::domain::transitions::apply(student.status, Action::GoAbroad, facts(&student, &school, false))?;
    let proofs = checked_proofs(app, &student, CaseKind::Abroad, &req.proofs).await?;
    let detail = json!({
        "departure_date": departure.to_string(), "country": country, "reason": req.reason.trim(),
        "guardian_name": guardian, "guardian_phone": req.guardian_phone.trim(), "apply_date": today.to_string(),
        "from_school": school.name, "grade": student.grade,
    });
    let new = NewCase::at_school(CaseKind::Abroad, &student, detail, proofs);
    let case = insert_case(app, &mut tx, actor, new, today).await?;
    audit.commit(tx).await?;
    Ok(case)
}
