//! Applications for delayed entry (延缓入学, Art. 4) and the children they
//! keep out of an intake until the expected one.

use crate::domain::Gender;
use chrono::NaiveDate;
use sqlx::{Any, Executor, Row};

/// An application for delayed entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Delay {
    /// Internal id.
    #[serde(skip)]
    pub id: i64,
    /// Public id.
    pub public_id: String,
    /// The school that filed it.
    pub school_id: i64,
    /// The intake the child stays away from.
    pub intake_year: i64,
    /// The intake the child is expected in.
    pub expected_year: i64,
    /// 姓名.
    pub name: String,
    /// 性别.
    pub gender: Gender,
    /// 出生日期.
    pub birth_date: NaiveDate,
    /// 身份证件号.
    pub id_number: String,
    /// The guardian who applies.
    pub guardian_name: String,
    /// Their phone.
    pub guardian_phone: String,
    /// The diagnosing hospital (county level or higher).
    pub hospital: String,
    /// The diagnosis, as the hospital's paper states it.
    pub diagnosis: String,
    /// The diagnosis scan in the archive (sha256 hex).
    pub diagnosis_digest: String,
    /// `pending`, `approved`, `refused` or `withdrawn`.
    pub state: String,
    /// Who filed it.
    pub filed_by: String,
    /// When.
    pub filed_at: String,
    /// Who decided.
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<String>,
    /// The bureau's note.
    pub decision: String,
    /// The record, once the child has entered.
    #[serde(skip)]
    pub student_id: Option<i64>,
}

/// A new application.
#[derive(Debug, Clone)]
pub struct NewDelay<'a> {
    /// The school filing it.
    pub school_id: i64,
    /// The intake the child stays away from.
    pub intake_year: i32,
    /// The intake expected.
    pub expected_year: i32,
    /// 姓名.
    pub name: &'a str,
    /// 性别.
    pub gender: Gender,
    /// 出生日期.
    pub birth_date: NaiveDate,
    /// 身份证件号.
    pub id_number: &'a str,
    /// Guardian.
    pub guardian_name: &'a str,
    /// Their phone.
    pub guardian_phone: &'a str,
    /// Hospital.
    pub hospital: &'a str,
    /// Diagnosis.
    pub diagnosis: &'a str,
    /// Scan digest.
    pub diagnosis_digest: &'a str,
}

const DELAY_COLUMNS: &str = "id, public_id, school_id, intake_year, expected_year, name, gender, birth_date, id_number,
    guardian_name, guardian_phone, hospital, diagnosis, diagnosis_digest, state, filed_by, filed_at, decided_by,
    decided_at, decision, student_id";

fn delay_from_row(r: &sqlx::any::AnyRow) -> Result<Delay, sqlx::Error> {
    let gender: String = r.try_get("gender")?;
    let birth: String = r.try_get("birth_date")?;
    Ok(Delay {
        id: r.try_get("id")?,
        public_id: r.try_get("public_id")?,
        school_id: r.try_get("school_id")?,
        intake_year: r.try_get("intake_year")?,
        expected_year: r.try_get("expected_year")?,
        name: r.try_get("name")?,
        gender: Gender::parse(&gender).map_err(|e| sqlx::Error::Decode(e.into()))?,
        birth_date: birth.parse().map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        id_number: r.try_get("id_number")?,
        guardian_name: r.try_get("guardian_name")?,
        guardian_phone: r.try_get("guardian_phone")?,
        hospital: r.try_get("hospital")?,
        diagnosis: r.try_get("diagnosis")?,
        diagnosis_digest: r.try_get("diagnosis_digest")?,
        state: r.try_get("state")?,
        filed_by: r.try_get("filed_by")?,
        filed_at: r.try_get("filed_at")?,
        decided_by: r.try_get("decided_by")?,
        decided_at: r.try_get("decided_at")?,
        decision: r.try_get("decision")?,
        student_id: r.try_get("student_id")?,
    })
}

/// Files an application (pending). Returns its public id.
pub async fn insert_delay<'c>(
    e: impl Executor<'c, Database = Any>,
    d: &NewDelay<'_>,
    by: &str,
    now: &str,
) -> Result<String, sqlx::Error> {
    let public_id = super::students::new_public_id();
    sqlx::query(
        "INSERT INTO delayed_entries (public_id, school_id, intake_year, expected_year, name, gender, birth_date,
            id_number, guardian_name, guardian_phone, hospital, diagnosis, diagnosis_digest, state, filed_by,
            filed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'pending', $14, $15)",
    )
    .bind(&public_id)
    .bind(d.school_id)
    .bind(i64::from(d.intake_year))
    .bind(i64::from(d.expected_year))
    .bind(d.name)
    .bind(d.gender.code())
    .bind(d.birth_date.to_string())
    .bind(d.id_number)
    .bind(d.guardian_name)
    .bind(d.guardian_phone)
    .bind(d.hospital)
    .bind(d.diagnosis)
    .bind(d.diagnosis_digest)
    .bind(by)
    .bind(now)
    .execute(e)
    .await?;
    Ok(public_id)
}

/// An application by public id.
pub async fn delay_by_public_id<'c>(
    e: impl Executor<'c, Database = Any>,
    public_id: &str,
) -> Result<Option<Delay>, sqlx::Error> {
    sqlx::query(&format!("SELECT {DELAY_COLUMNS} FROM delayed_entries WHERE public_id = $1"))
        .bind(public_id)
        .fetch_optional(e)
        .await?
        .as_ref()
        .map(delay_from_row)
        .transpose()
}

/// The applications of a child (by ID number) that are pending or approved.
pub async fn live_delays_of<'c>(
    e: impl Executor<'c, Database = Any>,
    id_number: &str,
) -> Result<Vec<Delay>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {DELAY_COLUMNS} FROM delayed_entries WHERE id_number = $1 AND state IN ('pending', 'approved')"
    ))
    .bind(id_number)
    .fetch_all(e)
    .await?
    .iter()
    .map(delay_from_row)
    .collect()
}

/// The approved delays of any of these ID numbers: (ID number, intake stayed
/// away from, intake expected).
pub async fn approved_delays<'c>(
    e: impl Executor<'c, Database = Any>,
    id_numbers: &[String],
) -> Result<Vec<(String, i64, i64)>, sqlx::Error> {
    if id_numbers.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    let rows = sqlx::query(
        "SELECT id_number, intake_year, expected_year FROM delayed_entries WHERE state = 'approved'
            AND student_id IS NULL",
    )
    .fetch_all(e)
    .await?;
    let wanted: std::collections::HashSet<&str> = id_numbers.iter().map(String::as_str).collect();
    for r in rows {
        let id: String = r.try_get("id_number")?;
        if wanted.contains(id.as_str()) {
            out.push((id, r.try_get("intake_year")?, r.try_get("expected_year")?));
        }
    }
    Ok(out)
}

/// Decides a pending application (`approved`, `refused`), or withdraws an
/// approved one not yet taken up (`withdrawn`). Returns rows changed.
pub async fn decide_delay<'c>(
    e: impl Executor<'c, Database = Any>,
    id: i64,
    from: &str,
    to: &str,
    by: &str,
    note: &str,
    now: &str,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE delayed_entries SET state = $3, decided_by = $4, decided_at = $5, decision = $6
         WHERE id = $1 AND state = $2 AND student_id IS NULL",
    )
    .bind(id)
    .bind(from)
    .bind(to)
    .bind(by)
    .bind(now)
    .bind(note)
    .execute(e)
    .await?
    .rows_affected())
}

/// Records that a delayed child has entered: the approved application of
/// the ID number is taken up by the record.
pub async fn take_up_delay<'c>(
    e: impl Executor<'c, Database = Any>,
    id_number: &str,
    student_id: i64,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE delayed_entries SET student_id = $2 WHERE id_number = $1 AND state = 'approved'
            AND student_id IS NULL",
    )
    .bind(id_number)
    .bind(student_id)
    .execute(e)
    .await?
    .rows_affected())
}

/// The applications of the given schools (all: `None`), optionally of one
/// expected intake, newest first, at most `limit`.
pub async fn delays<'c>(
    e: impl Executor<'c, Database = Any>,
    scope: Option<&[i64]>,
    expected_year: Option<i32>,
    limit: i64,
) -> Result<Vec<Delay>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {DELAY_COLUMNS} FROM delayed_entries WHERE ($1 = 0 OR expected_year = $1) ORDER BY id DESC"
    ))
    .bind(expected_year.map_or(0, i64::from))
    .fetch_all(e)
    .await?;
    let mut out = Vec::new();
    for r in &rows {
        let d = delay_from_row(r)?;
        if scope.is_none_or(|ids| ids.contains(&d.school_id)) {
            out.push(d);
            if out.len() as i64 >= limit {
                break;
            }
        }
    }
    Ok(out)
}
