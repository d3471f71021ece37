//! What has passed its deadline (Art. 34): records created late, approvals
//! past their 10 working days, dossiers not handed over within a month of a
//! transfer, suspected dropouts absent over a month and not yet reported as
//! dropouts, recall deadlines passed, suspensions run out — each with its
//! school and days overdue. Registrars see their schools' items and the
//! suspensions about to run out; the bureau sees the county.

use super::one_month_after;
use crate::app::App;
use crate::db::overdue;
use crate::domain::StudentStatus;
use crate::error::{AppError, AppResult};
use chrono::NaiveDate;
use serde::Serialize;

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
    for r in overdue::late_stages(&app.db.pool, today).await? {
        if !(visible(r.whose.school_id) || r.to_school_id.is_some_and(visible)) {
            continue;
        }
        let Some(d) = parse(&r.stage_due) else { continue };
        let kind = super::cases::CaseKind::parse(&r.kind)?;
        let stage = r
            .stage
            .as_deref()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("open case {} has no stage", r.case)))?;
        let stage = super::cases::Stage::parse(stage)?;
        items.push(Item {
            kind: "approval_overdue",
            label: "审批超过10个工作日",
            school_code: r.whose.school_code,
            school_name: r.whose.school_name,
            student: r.whose.student,
            student_name: r.whose.student_name,
            what: format!("{}·{}", kind.label(), stage.label()),
            due: r.stage_due,
            days_overdue: cal.working_days_between(d, today),
            link: format!("/cases/{}", r.case),
        });
    }

    // Dossiers not handed over within a month of the transfer.
    for r in overdue::late_handovers(&app.db.pool, today).await? {
        if !visible(r.whose.school_id) {
            continue;
        }
        let Some(d) = parse(&r.handover_due) else { continue };
        items.push(Item {
            kind: "handover_overdue",
            label: "学籍档案未在1个月内转出",
            school_code: r.whose.school_code,
            school_name: r.whose.school_name,
            student: r.whose.student,
            student_name: r.whose.student_name,
            what: "转学档案移交".into(),
            due: r.handover_due,
            days_overdue: (today - d).num_days(),
            link: format!("/cases/{}", r.case),
        });
    }

    // Students by status: suspected dropouts over a month, suspensions run out (or about to).
    for r in overdue::watched(&app.db.pool).await? {
        if !visible(r.whose.school_id) {
            continue;
        }
        let w = &r.whose;
        let base = |kind, label, what: String, due: NaiveDate, days| Item {
            kind,
            label,
            school_code: w.school_code.clone(),
            school_name: w.school_name.clone(),
            student: w.student.clone(),
            student_name: w.student_name.clone(),
            what,
            due: due.to_string(),
            days_overdue: days,
            link: format!("/students/{}", w.student),
        };
        if r.status == StudentStatus::SuspectedDropout {
            let Some(since) = r.status_since.as_deref().and_then(parse) else {
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
                ));
            }
        } else if let Some(until) = r.status_until.as_deref().and_then(parse) {
            let days = (today - until).num_days();
            if days > 0 {
                items.push(base("suspension_expired", "休学期满未复学或续办", format!("休学至 {until}"), until, days));
            } else if scope.is_some() && -days <= REMIND_DAYS_BEFORE {
                items.push(base("suspension_ending", "休学即将期满", format!("休学至 {until}"), until, days));
            }
        }
    }

    // Recall deadlines passed without a return.
    for r in overdue::late_recalls(&app.db.pool, today).await? {
        if !visible(r.whose.school_id) {
            continue;
        }
        let Some(d) = parse(&r.return_by) else { continue };
        items.push(Item {
            kind: "recall_overdue",
            label: "劝返限期已过未返校",
            school_code: r.whose.school_code,
            school_name: r.whose.school_name,
            link: format!("/students/{}", r.whose.student),
            student: r.whose.student,
            student_name: r.whose.student_name,
            what: r.number,
            due: r.return_by,
            days_overdue: (today - d).num_days(),
        });
    }

    // Records created more than a month after registration (Art. 9).
    for r in overdue::created_after_registration(&app.db.pool).await? {
        if !visible(r.whose.school_id) {
            continue;
        }
        let (Some(reg), Some(created)) = (parse(&r.registered_on), parse(&r.created_at)) else {
            continue;
        };
        let due = one_month_after(reg);
        if created > due {
            items.push(Item {
                kind: "record_late",
                label: "学籍未在报到后1个月内建立",
                school_code: r.whose.school_code,
                school_name: r.whose.school_name,
                link: format!("/students/{}", r.whose.student),
                student: r.whose.student,
                student_name: r.whose.student_name,
                what: format!("{reg} 报到，{created} 建籍"),
                due: due.to_string(),
                days_overdue: (created - due).num_days(),
            });
        }
    }

    dropout_control(app, &visible, &mut items).await?;
    items.sort_by(|a, b| b.days_overdue.cmp(&a.days_overdue).then_with(|| a.school_code.cmp(&b.school_code)));
    Ok(items)
}

/// The dropout-control ledgers not submitted by the 28th (for a school whose
/// record had begun by then), and the absences that reached the warning.
async fn dropout_control(app: &App, visible: &(dyn Fn(i64) -> bool + Sync), items: &mut Vec<Item>) -> AppResult<()> {
    use crate::db::dropout;
    use crate::service::dropout::{months_due, school_days_absent};
    let today = app.today();
    let schools = crate::db::schools::list(&app.db.pool).await?;
    let begun = dropout::first_days(&app.db.pool).await?;
    for (month, due) in months_due(today) {
        let submitted = dropout::months(&app.db.pool, &month).await?;
        for s in schools.iter().filter(|s| visible(s.id)) {
            let started =
                begun.iter().find(|(id, _)| *id == s.id).is_some_and(|(_, d)| d.as_str() <= due.to_string().as_str());
            if !started || submitted.iter().any(|m| m.school_id == s.id) {
                continue;
            }
            items.push(Item {
                kind: "dropout_ledger_late",
                label: "控辍保学月报逾期未报送",
                school_code: s.code.clone(),
                school_name: s.name.clone(),
                student: String::new(),
                student_name: String::new(),
                what: month.clone(),
                due: due.to_string(),
                days_overdue: (today - due).num_days(),
                link: format!("/dropout?school={}&month={month}", s.code),
            });
        }
    }
    let cal = app.calendar();
    let warn = i64::from(app.config.absence_warn_days);
    for a in dropout::open_absences(&app.db.pool).await? {
        let (Some(since), true) = (parse(&a.since), visible(a.school_id)) else { continue };
        let days = school_days_absent(&cal, since, today);
        if days < warn {
            continue;
        }
        let Some(s) = schools.iter().find(|s| s.id == a.school_id) else { continue };
        let reached = since.pred_opt().map_or(since, |d| cal.add_working_days(d, u32::try_from(warn).unwrap_or(3)));
        items.push(Item {
            kind: "absence_warning",
            label: "连续缺课预警",
            school_code: s.code.clone(),
            school_name: s.name.clone(),
            link: format!("/students/{}", a.public_id),
            student: a.public_id,
            student_name: a.name,
            what: format!("自{since}起缺课{days}个上学日，请核实并劝返，满一周按疑似辍学上报"),
            due: reached.to_string(),
            days_overdue: days - warn,
        });
    }
    Ok(())
}
