//! New students written many to a statement. A school's roster arrives as
//! one file and is written in one transaction; one `INSERT` per student, per
//! family member and per event was most of the import's commit time (three
//! round trips through the driver for every row of the sheet).

use super::{GUARDIAN_COLUMNS, Guardian, NewStudent, items, new_public_id};
use crate::domain::StudentStatus;
use sqlx::Row;
use std::collections::HashMap;

/// Bound parameters per statement: below SQLite's limit (32,766) and
/// PostgreSQL's (65,535), whatever the table.
const MAX_BINDS: usize = 30_000;
const _: () = assert!(MAX_BINDS <= 32_766);

/// Parameters per student row: the core columns, then the national items.
const STUDENT_BINDS: usize = 25 + items::COUNT;

/// Parameters per family-member row: student, position, [`GUARDIAN_COLUMNS`].
const GUARDIAN_BINDS: usize = 14;

/// Parameters per `enrolled` event row (the rest are literals).
const EVENT_BINDS: usize = 6;

/// How the statement names its parameters. PostgreSQL numbers them
/// (`$1`). SQLite takes them anonymous (`?`), in order: the driver looks up
/// each named parameter's name when it binds, and SQLite finds a name by
/// scanning the statement's list of names, so with `$N` a statement's
/// binding grows with the square of its parameters (10,000 students took
/// 41 s to write in statements of 30,000 `$N` parameters, 1.4 s in
/// statements of 500; see `docs/benchmarks.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placeholders {
    Numbered,
    Anonymous,
}

impl Placeholders {
    fn of(conn: &sqlx::AnyConnection) -> Self {
        if conn.backend_name().eq_ignore_ascii_case("sqlite") { Self::Anonymous } else { Self::Numbered }
    }
}

/// `($1, …, $k), ($k+1, …)` (or `(?, …)`): `rows` tuples of `per_row`
/// parameters, each tuple laid out by `shape`, which gets the tuple's
/// parameter names in bind order and must use them in that order.
fn tuples(p: Placeholders, rows: usize, per_row: usize, shape: impl Fn(&[String]) -> String) -> String {
    let mut out = String::with_capacity(rows * per_row * 5);
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        let names: Vec<String> = (1..=per_row)
            .map(|k| match p {
                Placeholders::Numbered => format!("${}", r * per_row + k),
                Placeholders::Anonymous => "?".to_owned(),
            })
            .collect();
        out.push_str(&shape(&names));
    }
    out
}

fn plain(names: &[String]) -> String {
    format!("({})", names.join(", "))
}

/// Inserts students with their family members and `enrolled` events, all
/// pending approval; returns their internal ids in the order given.
pub async fn insert_all(
    conn: &mut sqlx::AnyConnection,
    students: &[NewStudent],
    actor_id: Option<i64>,
    now: &str,
    on: chrono::NaiveDate,
) -> Result<Vec<i64>, sqlx::Error> {
    let p = Placeholders::of(conn);
    let on = on.to_string();
    let mut ids = Vec::with_capacity(students.len());
    for chunk in students.chunks(MAX_BINDS / STUDENT_BINDS) {
        // Rows come back from RETURNING in no promised order: each is matched
        // by its public id, which is random and unique.
        let public: Vec<String> = chunk.iter().map(|_| new_public_id()).collect();
        let sql = format!(
            "INSERT INTO students (public_id, student_no, school_id, class_id, grade, status, name, former_name,
                pinyin, gender, birth_date, birthplace, ethnicity, nationality, id_type, id_number,
                household_address, household_type, current_address, entry_date, entry_mode, registered_on,
                created_at, updated_at, name_initials, {})
             VALUES {} RETURNING id, public_id",
            items::COLUMNS,
            tuples(p, chunk.len(), STUDENT_BINDS, plain)
        );
        let mut q = sqlx::query(&sql);
        for (s, p) in chunk.iter().zip(&public) {
            q = q
                .bind(p.as_str())
                .bind(s.student_no.as_str())
                .bind(s.school_id)
                .bind(s.class_id)
                .bind(i64::from(s.grade.number()))
                .bind(StudentStatus::Pending.code())
                .bind(&s.name)
                .bind(&s.former_name)
                .bind(&s.pinyin)
                .bind(s.gender.code())
                .bind(s.birth_date.to_string())
                .bind(&s.birthplace)
                .bind(&s.ethnicity)
                .bind(&s.nationality)
                .bind(&s.id_type)
                .bind(s.id_number.as_ref().map(|i| i.as_str().to_owned()))
                .bind(&s.household_address)
                .bind(&s.household_type)
                .bind(&s.current_address)
                .bind(s.entry_date.to_string())
                .bind(&s.entry_mode)
                .bind(s.registered_on.to_string())
                .bind(now)
                .bind(now)
                .bind(crate::domain::name_initials(&s.name));
            q = items::bind(q, &s.national);
        }
        let mut by_public: HashMap<String, i64> = HashMap::with_capacity(chunk.len());
        for r in q.fetch_all(&mut *conn).await? {
            by_public.insert(r.try_get("public_id")?, r.try_get("id")?);
        }
        for p in &public {
            ids.push(by_public.get(p).copied().ok_or(sqlx::Error::RowNotFound)?);
        }
    }
    let family: Vec<(i64, usize, &Guardian)> = students
        .iter()
        .zip(&ids)
        .flat_map(|(s, id)| s.guardians.iter().enumerate().map(move |(pos, g)| (*id, pos, g)))
        .collect();
    for chunk in family.chunks(MAX_BINDS / GUARDIAN_BINDS) {
        let sql = format!(
            "INSERT INTO guardians (student_id, position, {GUARDIAN_COLUMNS}) VALUES {}",
            tuples(p, chunk.len(), GUARDIAN_BINDS, plain)
        );
        let mut q = sqlx::query(&sql);
        for &(id, pos, g) in chunk {
            q = super::bind_guardian(q, id, pos, g);
        }
        q.execute(&mut *conn).await?;
    }
    let events: Vec<(i64, String)> = students
        .iter()
        .zip(&ids)
        .map(|(s, id)| {
            let detail =
                serde_json::json!({"school_id": s.school_id, "grade": s.grade.number(), "class_id": s.class_id});
            (*id, detail.to_string())
        })
        .collect();
    for chunk in events.chunks(MAX_BINDS / EVENT_BINDS) {
        let sql = format!(
            "INSERT INTO student_events (student_id, kind, from_status, to_status, detail, proofs, actor_id, at, on_date)
             VALUES {}",
            tuples(p, chunk.len(), EVENT_BINDS, |n| {
                format!("({}, 'enrolled', NULL, {}, {}, '[]', {}, {}, {})", n[0], n[1], n[2], n[3], n[4], n[5])
            })
        );
        let mut q = sqlx::query(&sql);
        for (id, detail) in chunk {
            q = q
                .bind(*id)
                .bind(StudentStatus::Pending.code())
                .bind(detail.as_str())
                .bind(actor_id)
                .bind(now)
                .bind(on.as_str());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuples_number_every_parameter_once_in_order() {
        assert_eq!(tuples(Placeholders::Numbered, 2, 3, plain), "($1, $2, $3), ($4, $5, $6)");
        let events = tuples(Placeholders::Numbered, 2, 2, |n| format!("({}, 'x', {})", n[0], n[1]));
        assert_eq!(events, "($1, 'x', $2), ($3, 'x', $4)");
        assert_eq!(tuples(Placeholders::Anonymous, 2, 2, plain), "(?, ?), (?, ?)");
    }
}
