//! What a document is rendered from: the signed token and its URL, the
//! record's data with the school, the head teacher, the photo and the
//! history the paper prints.

use super::data::{defaults, envelope};
use super::{Options, history};
use crate::app::App;
use crate::db;
use crate::db::schools::{self, School};
use crate::db::students::{self, Student};
use crate::domain::Stage;
use crate::error::{AppError, AppResult};
use crate::render::{DocKind, RenderRequest};
use crate::verify::{Claims, DocumentId, DocumentNumber, MaskedName, SchoolCode};
use chrono::NaiveDate;
use serde_json::Value;

/// Builds the render request: the token, the URL, the data envelope and the photo.
#[expect(clippy::too_many_arguments, reason = "each is one part of the document")]
pub async fn request(
    app: &App,
    student: &Student,
    school: &School,
    kind: DocKind,
    doc_id: DocumentId,
    number: Option<&str>,
    issue_date: NaiveDate,
    opts: &Options,
) -> AppResult<RenderRequest> {
    let signer = app.keys.active_signer().map_err(|e| AppError::Internal(e.into()))?;
    let claims = Claims {
        document_id: doc_id,
        kind,
        number: match number {
            Some(n) => DocumentNumber::new(n).map_err(|e| AppError::Internal(e.into()))?,
            None => DocumentNumber::none(),
        },
        issue_date,
        school_code: SchoolCode::new(&school.code).map_err(|e| AppError::Internal(e.into()))?,
        masked_name: MaskedName::mask(&student.name),
        status_index: opts.status_index,
    };
    let token = crate::verify::sign(&signer, &claims);
    let verify_url = crate::verify::qr_url(&app.public_base_url, &token);
    let head_teacher = match student.class_id {
        Some(id) => schools::head_teacher_of(&app.db.pool, id).await?.filter(|t| !t.is_empty()),
        None => None,
    };
    let photo = students::photo_of(&app.db.pool, student.id).await?;
    let history = match kind {
        DocKind::Registration | DocKind::RecordCard => {
            Some(history_of(app, student, head_teacher.clone(), issue_date).await?)
        }
        _ => None,
    };
    let graduated = match &opts.graduation {
        // A graduation typed in from the ledger says when its stage began.
        Some(g) if g.entered_on.is_some() => Some((g, g.entered_on.map(|d| d.to_string()).unwrap_or_default())),
        Some(g) => {
            let events = students::events_of(&app.db.pool, student.id).await?;
            let from = match g.stage {
                Stage::Junior => history::junior_intake_date(&events).map(|d| d.to_string()),
                Stage::Primary => None,
            };
            Some((g, from.unwrap_or_else(|| student.entry_date.clone())))
        }
        None => None,
    };
    let mut data =
        envelope(app, student, school, kind, &doc_id.to_string(), number, issue_date, &verify_url, head_teacher);
    if let Value::Object(map) = &mut data {
        for (k, v) in defaults(student, school, kind, issue_date, history, graduated) {
            map.entry(k).or_insert(v);
        }
        // A part given by the caller is merged over the record's defaults,
        // one level deep (a proof's `certificate` keeps the principal).
        for (k, v) in opts.extra.clone() {
            match (map.get_mut(&k), v) {
                (Some(Value::Object(have)), Value::Object(given)) => have.extend(given),
                (_, v) => {
                    map.insert(k, v);
                }
            }
        }
    }
    Ok(RenderRequest { kind, data, photo, issue_date })
}

/// The student's history as the papers print it (see [`history`]), read
/// from their events with the schools and cases they name.
async fn history_of(
    app: &App,
    student: &Student,
    head_teacher: Option<String>,
    issue_date: NaiveDate,
) -> AppResult<history::History> {
    let events = students::events_of(&app.db.pool, student.id).await?;
    let (codes, cases) = history::references(&events);
    let mut lookups = history::Lookups::default();
    for code in codes {
        if let Some(name) = schools::name_by_code(&app.db.pool, &code).await? {
            lookups.schools.insert(code, name);
        }
    }
    for case in cases {
        let closed = db::cases::by_public_id(&app.db.pool, &case).await?.and_then(|c| c.closed_on);
        if let Some(day) = closed.and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()) {
            lookups.case_closed.insert(case, day);
        }
    }
    let now =
        history::Now { grade: student.grade, class_name: student.class_name(), status: student.status, head_teacher };
    Ok(history::read(&events, &lookups, &now, issue_date))
}
