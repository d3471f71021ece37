//! A change of basic information (Art. 15): the fields a guardian may ask
//! to change, checked when opened and again when the last approval applies them.

use super::{Case, CaseKind, NewCase, ProofRef, checked_proofs, ensure_no_open_case, insert_case};
use crate::app::App;
use crate::db::students::Student;
use crate::domain::{Action, Actor, DomainError, Gender, IdNumber};
use crate::error::{AppError, AppResult};
use crate::render::Coverage;
use crate::service::audit::Audit;
use crate::workflow::{facts, lock_visible, parse_date, printable, require_school, required, school_of};
use serde::Deserialize;
use serde_json::{Value, json};

/// A change of basic information (Art. 15).
#[derive(Debug, Clone, Deserialize)]
pub struct InfoChangeRequest {
    /// Field code → new value (see [`CHANGEABLE`]).
    pub changes: serde_json::Map<String, Value>,
    /// Why.
    #[serde(default)]
    pub reason: String,
    /// The applying guardian.
    pub guardian_name: String,
    /// Proofs (household register, …) in the dossier.
    #[serde(default)]
    pub proofs: Vec<ProofRef>,
}

/// The basic information a guardian may ask to change, with its label.
pub const CHANGEABLE: [(&str, &str); 11] = [
    ("name", "姓名"),
    ("former_name", "曾用名"),
    ("pinyin", "姓名拼音"),
    ("gender", "性别"),
    ("birth_date", "出生日期"),
    ("birthplace", "出生地"),
    ("ethnicity", "民族"),
    ("nationality", "国籍/地区"),
    ("household_address", "户口所在地"),
    ("household_type", "户口性质"),
    ("current_address", "现住址"),
];

/// Opens a change of basic information (Art. 15), by the student's school.
pub async fn open_info_change(app: &App, actor: &Actor, public_id: &str, req: &InfoChangeRequest) -> AppResult<Case> {
    let mut audit = Audit::new(actor, "case.info_change.open", ("student", public_id));
    let result = open_info_change_in(app, actor, public_id, req, &mut audit).await;
    audit.close(&app.db, result).await
}

async fn open_info_change_in(
    app: &App,
    actor: &Actor,
    public_id: &str,
    req: &InfoChangeRequest,
    audit: &mut Audit<'_>,
) -> AppResult<Case> {
    let today = app.today();
    let guardian = required("监护人姓名", &req.guardian_name)?;
    let mut tx = app.db.pool.begin().await?;
    let student = lock_visible(&mut tx, actor, public_id).await?;
    require_school(actor, student.school_id)?;
    ensure_no_open_case(&mut tx, student.id).await?;
    let school = school_of(&mut *tx, &student).await?;
    crate::domain::transitions::apply(student.status, Action::ChangeInfo, facts(&student, &school, false))?;
    let changes = check_changes(&app.coverage, &student, &req.changes)?;
    let proofs = checked_proofs(app, &student, CaseKind::InfoChange, &req.proofs).await?;
    let detail = json!({
        "changes": changes, "reason": req.reason.trim(), "guardian_name": guardian, "apply_date": today.to_string(),
    });
    let new = NewCase::at_school(CaseKind::InfoChange, &student, detail, proofs);
    let case = insert_case(app, &mut tx, actor, new, today).await?;
    audit.commit(tx).await?;
    Ok(case)
}

fn current_value(s: &Student, field: &str) -> String {
    match field {
        "name" => s.name.clone(),
        "former_name" => s.former_name.clone(),
        "pinyin" => s.pinyin.clone(),
        "gender" => s.gender.code().to_owned(),
        "birth_date" => s.birth_date.to_string(),
        "birthplace" => s.birthplace.clone(),
        "ethnicity" => s.ethnicity.clone(),
        "nationality" => s.nationality.clone(),
        "household_address" => s.household_address.clone(),
        "household_type" => s.household_type.clone(),
        "current_address" => s.current_address.clone(),
        _ => String::new(),
    }
}

/// Checks the requested changes: known fields, valid values the bundled fonts
/// can print, consistent with the ID number. Returns `{field: {label, old, new}}`.
pub(super) fn check_changes(
    coverage: &Coverage,
    s: &Student,
    changes: &serde_json::Map<String, Value>,
) -> AppResult<Value> {
    if changes.is_empty() {
        return Err(AppError::bad_request("info_change.empty", "请填写要变更的项目"));
    }
    let mut out = serde_json::Map::new();
    let mut gender = s.gender;
    let mut birth = s.birth_date;
    for (field, value) in changes {
        let Some((_, label)) = CHANGEABLE.iter().find(|(f, _)| f == field) else {
            return Err(DomainError::new(
                "info_change.field",
                "变更项目",
                field.as_str(),
                "不能通过信息变更修改（身份证件号请用临时学籍号转正式学籍号）",
            )
            .into());
        };
        let new = value.as_str().unwrap_or_default().trim().to_owned();
        let new = match field.as_str() {
            "gender" => {
                let g = Gender::parse(&new)?;
                gender = g;
                g.code().to_owned()
            }
            "birth_date" => {
                birth = parse_date("出生日期", &new)?;
                birth.to_string()
            }
            "name" | "ethnicity" => required(label, &new)?,
            _ => new,
        };
        printable(coverage, &[(label, &new)])?;
        let old = current_value(s, field);
        if old == new {
            return Err(DomainError::new("info_change.unchanged", label, new, "与现有信息相同，无需变更").into());
        }
        out.insert(field.clone(), json!({"label": label, "old": old, "new": new}));
    }
    if let Some(id) = s.id_number.as_deref() {
        let id = IdNumber::parse(id)?;
        if id.birth_date() != birth || id.gender() != gender {
            return Err(DomainError::new(
                "info_change.id_mismatch",
                "出生日期或性别",
                format!("{birth} {}", gender.label()),
                "与身份证件号不符，不能变更",
            )
            .into());
        }
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::CHANGEABLE;
    use crate::db::students::BASIC_COLUMNS;

    #[test]
    fn every_changeable_field_is_a_column_the_last_approval_may_set() {
        let fields: Vec<&str> = CHANGEABLE.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, BASIC_COLUMNS);
    }
}
