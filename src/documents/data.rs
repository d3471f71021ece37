//! The data a document is rendered from: the envelope (document, school,
//! bureau, student) and the kind-specific parts the record itself fills.

use super::history;
use crate::app::App;
use crate::db::graduations::Graduation;
use crate::db::schools::School;
use crate::db::students::Student;
use crate::domain::SchoolKind;
use crate::render::DocKind;
use chrono::NaiveDate;
use serde_json::{Value, json};

#[expect(clippy::too_many_arguments, reason = "each is one part of the envelope")]
pub(super) fn envelope(
    app: &App,
    s: &Student,
    school: &School,
    kind: DocKind,
    doc_id: &str,
    number: Option<&str>,
    issue_date: NaiveDate,
    verify_url: &str,
    head_teacher: Option<String>,
) -> Value {
    json!({
        "document": {
            "id": doc_id,
            "kind": kind.code(),
            "number": number,
            "issue_date": issue_date.to_string(),
            "verify_url": verify_url,
            "verify_domain": super::verify_domain(&app.public_base_url),
        },
        "school": {
            "code": school.code,
            "name": school.name,
            "county": "农安县",
            "province": "吉林省",
            "kind": school.kind.label(),
            "address": school.address,
            "principal": school.principal,
            "registrar": school.registrar,
        },
        "bureau": { "name": "农安县教育局" },
        "student": student_part(s, head_teacher),
    })
}

/// The student part of the envelope: every item of the record, labels for
/// codes; an unknown item is `null`, so the form prints an empty cell.
fn student_part(s: &Student, head_teacher: Option<String>) -> Value {
    let grade_label = Some(s.grade.label());
    let n = &s.national;
    let label = |c: Option<crate::domain::national::Coded>| c.map(|c| c.label());
    let items = [
        ("name", json!(s.name)),
        ("former_name", json!(s.former_name)),
        ("pinyin", json!(s.pinyin)),
        ("gender", json!(s.gender.label())),
        ("birth_date", json!(s.birth_date)),
        ("ethnicity", json!(s.ethnicity)),
        ("id_type", json!(s.id_type)),
        ("id_number", json!(s.id_number)),
        ("id_valid", json!(n.id_valid)),
        ("student_no", json!(s.student_no)),
        ("aux_no", json!(n.aux_no)),
        ("seat_no", json!(n.seat_no)),
        ("birthplace", json!(s.birthplace)),
        ("birthplace_code", json!(n.birthplace_code)),
        ("native_place", json!(n.native_place)),
        ("nationality", json!(s.nationality)),
        ("household_address", json!(s.household_address)),
        ("household_type", json!(s.household_type)),
        ("current_address", json!(s.current_address)),
        ("mailing_address", json!(n.mailing_address)),
        ("home_address", json!(n.home_address)),
        ("phone", json!(n.phone)),
        ("postcode", json!(n.postcode)),
        ("email", json!(n.email)),
        ("homepage", json!(n.homepage)),
        ("health", json!(label(n.health))),
        ("political_status", json!(label(n.political))),
        ("hmt_overseas", json!(label(n.hmt))),
        ("specialty", json!(n.specialty)),
        ("only_child", json!(n.only_child)),
        ("preschool", json!(n.preschool)),
        ("left_behind", json!(n.is_left_behind())),
        ("left_behind_kind", json!(label(n.left_behind))),
        ("migrant_child", json!(n.migrant_child)),
        ("orphan", json!(n.orphan)),
        ("martyr_child", json!(n.martyr_child)),
        ("disabled", json!(n.disabled())),
        ("disability", json!(label(n.disability))),
        ("special_needs", json!(label(n.inclusive.filter(|i| i.code() != "0")))),
        ("inclusive", json!(n.in_inclusive_class())),
        ("inclusive_kind", json!(label(n.inclusive))),
        ("boarding", json!(n.boarding())),
        ("study_mode", json!(label(n.study_mode))),
        ("source", json!(n.source)),
        ("guardians", json!(s.guardians)),
        ("entry_date", json!(s.entry_date)),
        ("entry_mode", json!(s.entry_mode)),
        ("grade", json!(grade_label)),
        ("class_name", json!(s.class_name())),
        ("head_teacher", json!(head_teacher)),
        ("status", json!(s.status.label())),
    ];
    Value::Object(items.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// Kind-specific parts the record itself can fill; `history` for the
/// registration form and the record card.
pub(super) fn defaults(
    s: &Student,
    school: &School,
    kind: DocKind,
    issue_date: NaiveDate,
    history: Option<history::History>,
    graduated: Option<(&Graduation, String)>,
) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    let stage = if school.kind == SchoolKind::Junior || s.grade.number() > 6 { "初中" } else { "小学" };
    match kind {
        DocKind::AdmissionNotice => {
            let year = crate::domain::school_year_start(issue_date);
            m.insert(
                "admission".into(),
                json!({
                    "issuer": if school.county_town { "农安县教育局".to_owned() } else { school.name.clone() },
                    "grade": if school.kind == SchoolKind::Junior { "七年级" } else { "一年级" },
                    "school_year": format!("{year}—{}学年", year + 1),
                    "report_date": s.entry_date,
                    "report_place": if school.address.is_empty() { &school.name } else { &school.address },
                    "contact_person": school.registrar,
                }),
            );
        }
        DocKind::CompulsoryCertificate | DocKind::GraduationCertificate | DocKind::AcademicProof => {
            // The graduation's stage and period; without one (a proof for a
            // record kept before graduations were), the school's stage up to the issue.
            let (stage, years, from, to) = match graduated {
                // The 义务教育证书 covers the nine years, from the entry into grade 1.
                Some((g, _)) if kind == DocKind::CompulsoryCertificate => {
                    (g.stage.label(), g.stage.years_zh(), s.entry_date.clone(), g.graduated_on)
                }
                Some((g, from)) => (g.stage.label(), g.stage.years_zh(), from, g.graduated_on),
                None => (stage, if stage == "初中" { "三" } else { "六" }, s.entry_date.clone(), issue_date),
            };
            m.insert(
                "certificate".into(),
                json!({
                    "stage": stage,
                    "years": years,
                    "study_from": from,
                    "study_to": to.to_string(),
                    "principal": school.principal,
                }),
            );
        }
        DocKind::Registration => {
            let family: Vec<Value> = s
                .guardians
                .iter()
                .map(|g| {
                    json!({
                        "relation": g.relation, "relation_note": g.relation_note, "name": g.name,
                        "workplace": g.workplace, "job_title": g.job_title, "phone": g.phone,
                        "id_number": g.id_number, "is_guardian": g.is_guardian,
                    })
                })
                .collect();
            m.insert("family".into(), Value::Array(family));
            let history = history.unwrap_or_default();
            m.insert("changes".into(), json!(history.changes));
        }
        DocKind::RecordCard => {
            let history = history.unwrap_or_default();
            m.insert("years".into(), json!(history.years));
            m.insert("changes".into(), json!(history.changes));
            m.insert("primary_school".into(), json!(history.primary_school));
            m.insert("previous_school".into(), json!(history.previous_school));
        }
        _ => {}
    }
    m
}
