//! What has passed its deadline (Art. 34): records created late, approvals
//! past their 10 working days, dossiers not handed over within a month of a
//! transfer, suspected dropouts absent over a month and not yet reported as
//! dropouts, recall deadlines passed, suspensions run out — each with its
//! school and days overdue. Registrars see their schools' items and the
//! suspensions about to run out; the bureau sees the county.

use super::one_month_after;
use crate::app::App;
use crate::error::AppResult;
use chrono::NaiveDate;
use serde::Serialize;
use sqlx::Row;

/// Days before a suspension runs out that its school is reminded.
pub const REMIND_DAYS_BEFORE: i64 = 30;

/// One item.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    /// Stable kind code.
    pub kind: &'static str,
    /// Chinese label.
    pub label: &'static str,
    /// School code.
    pub school_code: String,
    /// School name.
    pub school_name: String,
    /// The student's public id.
    pub student: String,
    /// The student's name.
    pub student_name: String,
    /// What it concerns (case kind, stage, …).
    pub what: String,
    /// The deadline.
    pub due: String,
    /// Days past it (working days for approvals, calendar days otherwise); negative: still to come.
    pub days_overdue: i64,
    /// Where to act.
    pub link: String,
}

fn parse(d: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(d.get(..10).unwrap_or(d), "%Y-%m-%d").ok()
}

/// The items for these schools (`None`: the county), most overdue first.
pub async fn list(app: &App, scope: Option<&[i64]>) -> AppResult<Vec<Item>> {
    let today = app.today();
    let cal = app.calendar();
    let visible = |school_id: i64| scope.is_none_or(|ids| ids.contains(&school_id));
    let mut items = Vec::new();

    // Approvals past their 10 working days.
    let rows = sqlx::query(
        "SELECT c.public_id, c.kind, c.stage, c.stage_due, c.school_id, c.to_school_id, s.public_id AS student,
                s.name, sc.code, sc.name AS school_name
         FROM cases c JOIN students s ON s.id = c.student_id
         JOIN schools sc ON sc.id = CASE WHEN c.stage = 'receiving_school' THEN c.to_school_id ELSE c.school_id END
         WHERE c.state = 'open' AND c.stage_due < $1",
    )
    .bind(today.to_string())
    .fetch_all(&app.db.pool)
    .await?;
    for r in &rows {
        let (school_id, to_school): (i64, Option<i64>) = (r.try_get("school_id")?, r.try_get("to_school_id")?);
        if !(visible(school_id) || to_school.is_some_and(visible)) {
            continue;
        }
        let due: String = r.try_get("stage_due")?;
        let Some(d) = parse(&due) else { continue };
        let kind = super::cases::CaseKind::parse(&r.try_get::<String, _>("kind")?)?;
        let stage = super::cases::Stage::parse(&r.try_get::<String, _>("stage")?)?;
        let case: String = r.try_get("public_id")?;
        items.push(Item {
            kind: "approval_overdue",
            label: "审批超过10个工作日",
            school_code: r.try_get("code")?,
            school_name: r.try_get("school_name")?,
            student: r.try_get("student")?,
            student_name: r.try_get("name")?,
            what: format!("{}·{}", kind.label(), stage.label()),
            due,
            days_overdue: cal.working_days_between(d, today),
            link: format!("/cases/{case}"),
        });
    }

    // Dossiers not handed over within a month of the transfer.
    let rows = sqlx::query(
        "SELECT c.public_id, c.handover_due, c.school_id, s.public_id AS student, s.name, sc.code, sc.name AS school_name
         FROM cases c JOIN students s ON s.id = c.student_id JOIN schools sc ON sc.id = c.school_id
         WHERE c.state = 'completed' AND c.kind = 'transfer' AND c.handed_over_on IS NULL AND c.handover_due < $1",
    )
    .bind(today.to_string())
    .fetch_all(&app.db.pool)
    .await?;
    for r in &rows {
        if !visible(r.try_get("school_id")?) {
            continue;
        }
        let due: String = r.try_get("handover_due")?;
        let Some(d) = parse(&due) else { continue };
        let case: String = r.try_get("public_id")?;
        items.push(Item {
            kind: "handover_overdue",
            label: "学籍档案未在1个月内转出",
            school_code: r.try_get("code")?,
            school_name: r.try_get("school_name")?,
            student: r.try_get("student")?,
            student_name: r.try_get("name")?,
            what: "转学档案移交".into(),
            due,
            days_overdue: (today - d).num_days(),
            link: format!("/cases/{case}"),
        });
    }

    // Students by status: suspected dropouts over a month, suspensions run out (or about to).
    let rows = sqlx::query(
        "SELECT s.public_id, s.name, s.status, s.status_since, s.status_until, s.school_id, sc.code,
                sc.name AS school_name
         FROM students s JOIN schools sc ON sc.id = s.school_id
         WHERE s.status IN ('suspected_dropout', 'suspended')",
    )
    .fetch_all(&app.db.pool)
    .await?;
    for r in &rows {
        if !visible(r.try_get("school_id")?) {
            continue;
        }
        let status: String = r.try_get("status")?;
        let student: String = r.try_get("public_id")?;
        let base = |kind, label, what: String, due: NaiveDate, days| -> AppResult<Item> {
            Ok(Item {
                kind,
                label,
                school_code: r.try_get("code")?,
                school_name: r.try_get("school_name")?,
                student: student.clone(),
                student_name: r.try_get("name")?,
                what,
                due: due.to_string(),
                days_overdue: days,
                link: format!("/students/{student}"),
            })
        };
        if status == "suspected_dropout" {
            let Some(since) = r.try_get::<Option<String>, _>("status_since")?.as_deref().and_then(parse) else {
                continue;
            };
            let due = one_month_after(since);
            if today > due {
                items.push(base(
                    "dropout_unreported",
                    "缺课超过1个月未按辍学上报",
                    format!("{since} 起缺课"),
                    due,
                    (today - due).num_days(),
                )?);
            }
        } else if let Some(until) = r.try_get::<Option<String>, _>("status_until")?.as_deref().and_then(parse) {
            let days = (today - until).num_days();
            if days > 0 {
                items.push(base("suspension_expired", "休学期满未复学或续办", format!("休学至 {until}"), until, days)?);
            } else if scope.is_some() && -days <= REMIND_DAYS_BEFORE {
                items.push(base("suspension_ending", "休学即将期满", format!("休学至 {until}"), until, days)?);
            }
        }
    }

    // Recall deadlines passed without a return.
    let rows = sqlx::query(
        "SELECT r.number, r.return_by, r.school_id, s.public_id, s.name, sc.code, sc.name AS school_name
         FROM recalls r JOIN students s ON s.id = r.student_id JOIN schools sc ON sc.id = r.school_id
         WHERE r.returned_on IS NULL AND r.return_by < $1 AND s.status IN ('suspected_dropout', 'dropout')",
    )
    .bind(today.to_string())
    .fetch_all(&app.db.pool)
    .await?;
    for r in &rows {
        if !visible(r.try_get("school_id")?) {
            continue;
        }
        let due: String = r.try_get("return_by")?;
        let Some(d) = parse(&due) else { continue };
        let student: String = r.try_get("public_id")?;
        items.push(Item {
            kind: "recall_overdue",
            label: "劝返限期已过未返校",
            school_code: r.try_get("code")?,
            school_name: r.try_get("school_name")?,
            student: student.clone(),
            student_name: r.try_get("name")?,
            what: r.try_get("number")?,
            due,
            days_overdue: (today - d).num_days(),
            link: format!("/students/{student}"),
        });
    }

    // Records created more than a month after registration (Art. 9).
    let rows = sqlx::query(
        "SELECT s.public_id, s.name, s.registered_on, s.created_at, s.school_id, sc.code, sc.name AS school_name
         FROM students s JOIN schools sc ON sc.id = s.school_id WHERE substr(s.created_at, 1, 10) > s.registered_on",
    )
    .fetch_all(&app.db.pool)
    .await?;
    for r in &rows {
        if !visible(r.try_get("school_id")?) {
            continue;
        }
        let (Some(reg), Some(created)) =
            (parse(&r.try_get::<String, _>("registered_on")?), parse(&r.try_get::<String, _>("created_at")?))
        else {
            continue;
        };
        let due = one_month_after(reg);
        if created > due {
            let student: String = r.try_get("public_id")?;
            items.push(Item {
                kind: "record_late",
                label: "学籍未在报到后1个月内建立",
                school_code: r.try_get("code")?,
                school_name: r.try_get("school_name")?,
                student: student.clone(),
                student_name: r.try_get("name")?,
                what: format!("{reg} 报到，{created} 建籍"),
                due: due.to_string(),
                days_overdue: (created - due).num_days(),
                link: format!("/students/{student}"),
            });
        }
    }

    items.sort_by(|a, b| b.days_overdue.cmp(&a.days_overdue).then_with(|| a.school_code.cmp(&b.school_code)));
    Ok(items)
}
