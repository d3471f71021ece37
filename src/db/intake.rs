//! The bureau's hold on intake: each school's autumn intake plan and its
//! history (Art. 3, 7), catchment areas and the schools for migrant
//! workers' children (Art. 7, 18), and the papers of both and of delayed
//! entry ([`super::delays`]) kept in the archive.

use chrono::NaiveDate;
use sqlx::{Any, Executor, Row};

/// A school's intake plan for one year.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Plan {
    /// Internal id.
    pub id: i64,
    /// The school.
    pub school_id: i64,
    /// The intake year.
    pub year: i64,
    /// The entry grade (1, or 7).
    pub grade: i64,
    /// 计划班数.
    pub classes: i64,
    /// 计划人数.
    pub places: i64,
    /// Intake after the autumn window is allowed until this day.
    pub late_until: Option<NaiveDate>,
    /// Why the bureau allows it.
    pub late_reason: String,
    /// Who issued it.
    pub issued_by: String,
    /// When.
    pub issued_at: String,
}

/// One row of a plan's history.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PlanEvent {
    /// Internal id (a change request's number).
    pub id: i64,
    /// The plan.
    pub plan_id: i64,
    /// `issued`, `request` or `late_intake`.
    pub kind: String,
    /// The classes issued or asked for.
    pub classes: Option<i64>,
    /// The places issued or asked for.
    pub places: Option<i64>,
    /// The school's reason, or the bureau's for a late intake.
    pub reason: String,
    /// The written request's scan in the archive (sha256 hex).
    pub scan_digest: Option<String>,
    /// `in_force`, `pending`, `approved` or `refused`.
    pub state: String,
    /// Who filed it.
    pub filed_by: String,
    /// When.
    pub filed_at: String,
    /// Who decided a request.
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<String>,
    /// The bureau's note on its decision.
    pub decision: String,
}

const PLAN_COLUMNS: &str = "id, school_id, year, grade, classes, places, late_until, late_reason, issued_by, issued_at";

fn plan_from_row(r: &sqlx::any::AnyRow) -> Result<Plan, sqlx::Error> {
    let late: Option<String> = r.try_get("late_until")?;
    Ok(Plan {
        id: r.try_get("id")?,
        school_id: r.try_get("school_id")?,
        year: r.try_get("year")?,
        grade: r.try_get("grade")?,
        classes: r.try_get("classes")?,
        places: r.try_get("places")?,
        late_until: late.and_then(|d| d.parse().ok()),
        late_reason: r.try_get("late_reason")?,
        issued_by: r.try_get("issued_by")?,
        issued_at: r.try_get("issued_at")?,
    })
}

const EVENT_COLUMNS: &str = "id, plan_id, kind, classes, places, reason, scan_digest, state, filed_by, filed_at,
    decided_by, decided_at, decision";

fn event_from_row(r: &sqlx::any::AnyRow) -> Result<PlanEvent, sqlx::Error> {
    Ok(PlanEvent {
        id: r.try_get("id")?,
        plan_id: r.try_get("plan_id")?,
        kind: r.try_get("kind")?,
        classes: r.try_get("classes")?,
        places: r.try_get("places")?,
        reason: r.try_get("reason")?,
        scan_digest: r.try_get("scan_digest")?,
        state: r.try_get("state")?,
        filed_by: r.try_get("filed_by")?,
        filed_at: r.try_get("filed_at")?,
        decided_by: r.try_get("decided_by")?,
        decided_at: r.try_get("decided_at")?,
        decision: r.try_get("decision")?,
    })
}

/// A school's plan for a year.
pub async fn plan_for<'c>(
    e: impl Executor<'c, Database = Any>,
    school_id: i64,
    year: i32,
) -> Result<Option<Plan>, sqlx::Error> {
    sqlx::query(&format!("SELECT {PLAN_COLUMNS} FROM intake_plans WHERE school_id = $1 AND year = $2"))
        .bind(school_id)
        .bind(i64::from(year))
        .fetch_optional(e)
        .await?
        .as_ref()
        .map(plan_from_row)
        .transpose()
}

/// A plan by id.
pub async fn plan_by_id<'c>(e: impl Executor<'c, Database = Any>, id: i64) -> Result<Option<Plan>, sqlx::Error> {
    sqlx::query(&format!("SELECT {PLAN_COLUMNS} FROM intake_plans WHERE id = $1"))
        .bind(id)
        .fetch_optional(e)
        .await?
        .as_ref()
        .map(plan_from_row)
        .transpose()
}

/// A school's plans, newest year first.
pub async fn plans_of<'c>(e: impl Executor<'c, Database = Any>, school_id: i64) -> Result<Vec<Plan>, sqlx::Error> {
    sqlx::query(&format!("SELECT {PLAN_COLUMNS} FROM intake_plans WHERE school_id = $1 ORDER BY year DESC"))
        .bind(school_id)
        .fetch_all(e)
        .await?
        .iter()
        .map(plan_from_row)
        .collect()
}

/// Issues a plan, with its first history row (in force). Returns the plan's id.
#[expect(clippy::too_many_arguments, reason = "one column each, all required")]
pub async fn insert_plan(
    conn: &mut sqlx::AnyConnection,
    school_id: i64,
    year: i32,
    grade: u8,
    classes: u32,
    places: u32,
    by: &str,
    now: &str,
) -> Result<i64, sqlx::Error> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO intake_plans (school_id, year, grade, classes, places, issued_by, issued_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
    )
    .bind(school_id)
    .bind(i64::from(year))
    .bind(i64::from(grade))
    .bind(i64::from(classes))
    .bind(i64::from(places))
    .bind(by)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO intake_plan_history (plan_id, kind, classes, places, state, filed_by, filed_at)
         VALUES ($1, 'issued', $2, $3, 'in_force', $4, $5)",
    )
    .bind(id)
    .bind(i64::from(classes))
    .bind(i64::from(places))
    .bind(by)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

/// A change request of a plan, filed (pending). Returns its id.
#[expect(clippy::too_many_arguments, reason = "one column each, all required")]
pub async fn insert_request<'c>(
    e: impl Executor<'c, Database = Any>,
    plan_id: i64,
    classes: u32,
    places: u32,
    reason: &str,
    scan_digest: &str,
    by: &str,
    now: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO intake_plan_history (plan_id, kind, classes, places, reason, scan_digest, state, filed_by,
            filed_at)
         VALUES ($1, 'request', $2, $3, $4, $5, 'pending', $6, $7) RETURNING id",
    )
    .bind(plan_id)
    .bind(i64::from(classes))
    .bind(i64::from(places))
    .bind(reason)
    .bind(scan_digest)
    .bind(by)
    .bind(now)
    .fetch_one(e)
    .await
}

/// Whether a plan has a change request still pending.
pub async fn pending_request<'c>(
    e: impl Executor<'c, Database = Any>,
    plan_id: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM intake_plan_history WHERE plan_id = $1 AND kind = 'request' AND state = 'pending' LIMIT 1",
    )
    .bind(plan_id)
    .fetch_optional(e)
    .await
}

/// One history row by id.
pub async fn event_by_id<'c>(e: impl Executor<'c, Database = Any>, id: i64) -> Result<Option<PlanEvent>, sqlx::Error> {
    sqlx::query(&format!("SELECT {EVENT_COLUMNS} FROM intake_plan_history WHERE id = $1"))
        .bind(id)
        .fetch_optional(e)
        .await?
        .as_ref()
        .map(event_from_row)
        .transpose()
}

/// A plan's history, oldest first.
pub async fn history_of<'c>(e: impl Executor<'c, Database = Any>, plan_id: i64) -> Result<Vec<PlanEvent>, sqlx::Error> {
    sqlx::query(&format!("SELECT {EVENT_COLUMNS} FROM intake_plan_history WHERE plan_id = $1 ORDER BY id"))
        .bind(plan_id)
        .fetch_all(e)
        .await?
        .iter()
        .map(event_from_row)
        .collect()
}

/// The change requests still pending, of the given schools (all: `None`), oldest first.
pub async fn pending_requests<'c>(
    e: impl Executor<'c, Database = Any>,
    scope: Option<&[i64]>,
) -> Result<Vec<(Plan, PlanEvent)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT h.id, h.plan_id, h.kind, h.classes, h.places, h.reason, h.scan_digest, h.state, h.filed_by,
                h.filed_at, h.decided_by, h.decided_at, h.decision,
                p.school_id, p.year, p.grade, p.classes AS plan_classes, p.places AS plan_places, p.late_until,
                p.late_reason, p.issued_by, p.issued_at
         FROM intake_plan_history h JOIN intake_plans p ON p.id = h.plan_id
         WHERE h.kind = 'request' AND h.state = 'pending' ORDER BY h.id",
    )
    .fetch_all(e)
    .await?;
    let mut out = Vec::new();
    for r in &rows {
        let event = event_from_row(r)?;
        let late: Option<String> = r.try_get("late_until")?;
        let plan = Plan {
            id: event.plan_id,
            school_id: r.try_get("school_id")?,
            year: r.try_get("year")?,
            grade: r.try_get("grade")?,
            classes: r.try_get("plan_classes")?,
            places: r.try_get("plan_places")?,
            late_until: late.and_then(|d| d.parse().ok()),
            late_reason: r.try_get("late_reason")?,
            issued_by: r.try_get("issued_by")?,
            issued_at: r.try_get("issued_at")?,
        };
        if scope.is_none_or(|ids| ids.contains(&plan.school_id)) {
            out.push((plan, event));
        }
    }
    Ok(out)
}

/// Decides a pending request: `approved` or `refused`. Returns the rows
/// changed (0: decided meanwhile).
pub async fn decide_request<'c>(
    e: impl Executor<'c, Database = Any>,
    id: i64,
    approved: bool,
    by: &str,
    note: &str,
    now: &str,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE intake_plan_history SET state = $2, decided_by = $3, decided_at = $4, decision = $5
         WHERE id = $1 AND state = 'pending'",
    )
    .bind(id)
    .bind(if approved { "approved" } else { "refused" })
    .bind(by)
    .bind(now)
    .bind(note)
    .execute(e)
    .await?
    .rows_affected())
}

/// Puts a plan's new figures in force.
pub async fn set_figures<'c>(
    e: impl Executor<'c, Database = Any>,
    plan_id: i64,
    classes: i64,
    places: i64,
    now: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE intake_plans SET classes = $2, places = $3, updated_at = $4 WHERE id = $1")
        .bind(plan_id)
        .bind(classes)
        .bind(places)
        .bind(now)
        .execute(e)
        .await?;
    Ok(())
}

/// Allows intake after the autumn window until `until`, with the bureau's
/// reason, and writes it into the plan's history.
pub async fn set_late_intake(
    conn: &mut sqlx::AnyConnection,
    plan_id: i64,
    until: NaiveDate,
    reason: &str,
    by: &str,
    now: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE intake_plans SET late_until = $2, late_reason = $3, updated_at = $4 WHERE id = $1")
        .bind(plan_id)
        .bind(until.to_string())
        .bind(reason)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO intake_plan_history (plan_id, kind, reason, state, filed_by, filed_at, decision)
         VALUES ($1, 'late_intake', $2, 'in_force', $3, $4, $5)",
    )
    .bind(plan_id)
    .bind(reason)
    .bind(by)
    .bind(now)
    .bind(format!("至{until}"))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What a school has now of one intake: the seated records of its entry
/// grade that entered in `year`'s intake (from 1 August to 31 July) — or,
/// for the current school year's (`current`), every seated record of the
/// entry grade but those registered ahead for a later intake (pupils kept
/// back a year and primary graduates taken into 初一 take places too) — and
/// the numbers of the classes they sit in.
pub async fn cohort(
    conn: &mut sqlx::AnyConnection,
    school_id: i64,
    grade: u8,
    year: i32,
    current: bool,
) -> Result<(i64, std::collections::BTreeSet<i64>), sqlx::Error> {
    let rows = sqlx::query(concat!(
        "SELECT c.number AS number, COUNT(*) AS enrolled FROM students s JOIN classes c ON c.id = s.class_id
         WHERE s.school_id = $1 AND s.grade = $2 AND s.entry_date >= $3 AND s.entry_date <= $4 AND s.status IN ",
        seated_statuses!(),
        " GROUP BY c.number"
    ))
    .bind(school_id)
    .bind(i64::from(grade))
    .bind(if current { "0000-01-01".to_owned() } else { format!("{year:04}-08-01") })
    .bind(format!("{:04}-07-31", year + 1))
    .fetch_all(&mut *conn)
    .await?;
    let mut enrolled = 0;
    let mut classes = std::collections::BTreeSet::new();
    for r in rows {
        enrolled += r.try_get::<i64, _>("enrolled")?;
        classes.insert(r.try_get::<i64, _>("number")?);
    }
    Ok((enrolled, classes))
}

// ---- catchment areas ----

/// A school's catchment places, in their order.
pub async fn places_of<'c>(e: impl Executor<'c, Database = Any>, school_id: i64) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT place FROM catchment_places WHERE school_id = $1 ORDER BY position")
        .bind(school_id)
        .fetch_all(e)
        .await
}

/// Replaces a school's catchment places and whether it takes migrant
/// workers' children (Art. 18).
pub async fn set_district(
    conn: &mut sqlx::AnyConnection,
    school_id: i64,
    places: &[String],
    migrant_children: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM catchment_places WHERE school_id = $1").bind(school_id).execute(&mut *conn).await?;
    for (i, p) in places.iter().enumerate() {
        sqlx::query("INSERT INTO catchment_places (school_id, position, place) VALUES ($1, $2, $3)")
            .bind(school_id)
            .bind(i as i64)
            .bind(p)
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query("UPDATE schools SET migrant_children = $2 WHERE id = $1")
        .bind(school_id)
        .bind(super::flag(migrant_children))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The names of the schools the bureau directs migrant workers' children
/// to, of a kind (`primary`, `junior`), by code.
pub async fn migrant_schools<'c>(e: impl Executor<'c, Database = Any>, kind: &str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT name FROM schools WHERE migrant_children = 1 AND kind = $1 ORDER BY code")
        .bind(kind)
        .fetch_all(e)
        .await
}

/// Every scan digest the intake papers name (plan change requests and
/// diagnoses): the archive keeps these objects although no dossier lists them.
pub async fn paper_digests<'c>(e: impl Executor<'c, Database = Any>) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT scan_digest FROM intake_plan_history WHERE scan_digest IS NOT NULL
         UNION SELECT diagnosis_digest FROM delayed_entries",
    )
    .fetch_all(e)
    .await
}

/// The schools whose intake papers (a plan change request, a diagnosis)
/// name a digest: none when no intake paper does.
pub async fn paper_school<'c>(e: impl Executor<'c, Database = Any>, digest: &str) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT p.school_id FROM intake_plan_history h JOIN intake_plans p ON p.id = h.plan_id
            WHERE h.scan_digest = $1
         UNION SELECT school_id FROM delayed_entries WHERE diagnosis_digest = $1",
    )
    .bind(digest)
    .fetch_all(e)
    .await
}
