//! What the statistics read: every student's row in one pass, the events
//! that move a student (status changes, transfers, promotions, intakes), and
//! the bureau's approvals for a list to leave the service.

use sqlx::{Any, Executor, Row};

/// A student's row, as the statistics read it (codes as stored).
#[derive(Debug, Clone)]
pub struct PupilRow {
    /// Internal id.
    pub id: i64,
    /// School.
    pub school_id: i64,
    /// Grade.
    pub grade: i64,
    /// Class number, if seated in a class.
    pub class_number: Option<i64>,
    /// Status code.
    pub status: String,
    /// `male` / `female`.
    pub gender: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// 民族 as stored.
    pub ethnicity: String,
    /// 入学年月 as stored.
    pub entry_date: String,
    /// 身份证件类型.
    pub id_type: String,
    /// 身份证件号.
    pub id_number: Option<String>,
    /// 0/1 flags, `None` unknown: preschool, migrant_child, orphan, martyr_child, only_child.
    pub flags: [Option<i64>; 5],
    /// Codes, `None` unknown: left_behind, inclusive, disability, study_mode, hmt.
    pub codes: [Option<String>; 5],
    /// 户口性质 as stored.
    pub household_type: String,
    /// 入学方式 as stored.
    pub entry_mode: String,
    /// Has an open problem record.
    pub problem: bool,
}

/// Separates the fields of one packed row, and the rows of one packed
/// chunk (no field holds either: the import refuses control characters and
/// JSON escapes them).
const SEP: char = '\u{1f}';
const ROW: char = '\u{1e}';
/// Rows packed into one: the drivers cost per row read (about 20 µs with
/// SQLite), the database almost nothing per row packed.
const CHUNK: i64 = 500;

/// `expr` as text, NULL as empty.
fn text(expr: &str) -> String {
    format!("COALESCE(CAST({expr} AS TEXT), '')")
}

/// The rows of `select` (one packed text `r` per row and its `chunk`,
/// ordered by `order` within it) read a chunk at a time: `group_concat` on SQLite,
/// `string_agg` on PostgreSQL, both ordered within.
async fn packed_rows(conn: &mut sqlx::AnyConnection, select: &str, order: &str) -> Result<Vec<String>, sqlx::Error> {
    let agg = if conn.backend_name().eq_ignore_ascii_case("sqlite") { "group_concat" } else { "string_agg" };
    let sql = format!(
        "SELECT chunk, {agg}(r, '{ROW}' ORDER BY {order}) AS rows FROM ({select}) t GROUP BY chunk ORDER BY chunk",
    );
    let chunks = sqlx::query(&sql).fetch_all(&mut *conn).await?;
    let mut out = Vec::new();
    for c in &chunks {
        let rows: String = c.try_get("rows")?;
        out.extend(rows.split(ROW).map(str::to_owned));
    }
    Ok(out)
}

const PUPIL_FIELDS: [&str; 23] = [
    "s.id",
    "s.school_id",
    "s.grade",
    "c.number",
    "s.status",
    "s.gender",
    "s.birth_date",
    "s.ethnicity",
    "s.entry_date",
    "s.id_type",
    "s.id_number",
    "s.preschool",
    "s.migrant_child",
    "s.orphan",
    "s.martyr_child",
    "s.only_child",
    "s.left_behind",
    "s.inclusive",
    "s.disability",
    "s.study_mode",
    "s.hmt",
    "s.household_type",
    "s.entry_mode",
];

/// Every student's row (read packed: see [`packed_rows`]).
pub async fn pupils(conn: &mut sqlx::AnyConnection) -> Result<Vec<PupilRow>, sqlx::Error> {
    let fields = PUPIL_FIELDS.iter().map(|c| text(c)).collect::<Vec<_>>().join(&format!(" || '{SEP}' || "));
    let select = format!(
        "SELECT s.id / {CHUNK} AS chunk, s.id AS k,
                {fields} || '{SEP}' || CASE WHEN p.student_id IS NULL THEN '0' ELSE '1' END AS r
         FROM students s
         LEFT JOIN classes c ON c.id = s.class_id
         LEFT JOIN (SELECT DISTINCT student_id FROM problem_records WHERE state = 'open') p ON p.student_id = s.id"
    );
    let bad = || sqlx::Error::Decode("statistics: a packed student row with a missing field".into());
    packed_rows(conn, &select, "k")
        .await?
        .iter()
        .map(|packed| {
            let f: Vec<&str> = packed.split(SEP).collect();
            if f.len() != PUPIL_FIELDS.len() + 1 {
                return Err(bad());
            }
            let int = |i: usize| f[i].parse::<i64>().map_err(|_| bad());
            let text = |i: usize| f[i].to_owned();
            let opt = |i: usize| Some(f[i].to_owned()).filter(|v| !v.is_empty());
            let flag = |i: usize| f[i].parse::<i64>().ok();
            Ok(PupilRow {
                id: int(0)?,
                school_id: int(1)?,
                grade: int(2)?,
                class_number: f[3].parse().ok(),
                status: text(4),
                gender: text(5),
                birth_date: text(6),
                ethnicity: text(7),
                entry_date: text(8),
                id_type: text(9),
                id_number: opt(10),
                flags: [flag(11), flag(12), flag(13), flag(14), flag(15)],
                codes: [opt(16), opt(17), opt(18), opt(19), opt(20)],
                household_type: text(21),
                entry_mode: text(22),
                problem: f[23] == "1",
            })
        })
        .collect()
}

/// Every class's internal id and number.
pub async fn class_numbers<'c>(e: impl Executor<'c, Database = Any>) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    let rows = sqlx::query("SELECT id, number FROM classes").fetch_all(e).await?;
    rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("number")?))).collect()
}

/// An event that moves a student, as stored.
#[derive(Debug, Clone)]
pub struct EventRow {
    /// The student.
    pub student_id: i64,
    /// Kind.
    pub kind: String,
    /// Status before.
    pub from_status: Option<String>,
    /// Status after.
    pub to_status: Option<String>,
    /// `YYYY-MM-DD`.
    pub on_date: String,
    /// Details (JSON text) for the kinds that move a student between schools, grades or classes.
    pub detail: Option<String>,
}

/// The kinds whose details say where a student went.
pub const PLACE_KINDS: [&str; 6] = ["enrolled", "transferred", "junior_intake", "promoted", "returned", "found"];

/// Every event that changes a student's status or place, each student's in
/// the order written (read packed: see [`packed_rows`]; the engine groups them).
pub async fn moving_events(conn: &mut sqlx::AnyConnection) -> Result<Vec<EventRow>, sqlx::Error> {
    let kinds = PLACE_KINDS.iter().map(|k| format!("'{k}'")).collect::<Vec<_>>().join(", ");
    let fields = ["student_id", "kind", "from_status", "to_status", "COALESCE(on_date, substr(at, 1, 10))"]
        .iter()
        .map(|c| text(c))
        .collect::<Vec<_>>()
        .join(&format!(" || '{SEP}' || "));
    let select = format!(
        "SELECT student_id / {CHUNK} AS chunk, id AS k,
                {fields} || '{SEP}' || CASE WHEN kind IN ({kinds}) THEN detail ELSE '' END AS r
         FROM student_events WHERE to_status IS NOT NULL OR kind IN ({kinds})"
    );
    let bad = || sqlx::Error::Decode("statistics: a packed event row with a missing field".into());
    let out: Vec<EventRow> = packed_rows(conn, &select, "k")
        .await?
        .iter()
        .map(|packed| {
            let mut f = packed.splitn(6, SEP);
            let mut next = || f.next().map(str::to_owned).ok_or_else(bad);
            let (student, kind, from, to, on, detail) = (next()?, next()?, next()?, next()?, next()?, next()?);
            Ok::<_, sqlx::Error>(EventRow {
                student_id: student.parse().map_err(|_| bad())?,
                kind,
                from_status: Some(from).filter(|v| !v.is_empty()),
                to_status: Some(to).filter(|v| !v.is_empty()),
                on_date: on,
                detail: Some(detail).filter(|v| !v.is_empty()),
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(out)
}

/// The bureau's approval for one list to leave the service.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Approval {
    /// Internal id.
    pub id: i64,
    /// Our number, printed on the export (`外发-2026-0001`).
    pub number: String,
    /// The bureau's written approval (文号).
    pub document_no: String,
    /// Why.
    pub purpose: String,
    /// To whom.
    pub recipient: String,
    /// Report name.
    pub report: String,
    /// Reference date.
    pub as_of: String,
    /// Row key.
    pub row_key: String,
    /// Column.
    pub col: i64,
    /// Who approved (user id).
    pub approved_by: Option<i64>,
    /// When.
    pub approved_at: String,
    /// Last day it may be used.
    pub expires_on: String,
    /// Exports made with it.
    pub exports: i64,
}

/// An approval to record.
#[derive(Debug, Clone)]
pub struct NewApproval<'a> {
    /// 文号.
    pub document_no: &'a str,
    /// Why.
    pub purpose: &'a str,
    /// To whom.
    pub recipient: &'a str,
    /// Report name.
    pub report: &'a str,
    /// Reference date.
    pub as_of: &'a str,
    /// Row key.
    pub row_key: &'a str,
    /// Column.
    pub col: i64,
    /// Who.
    pub approved_by: Option<i64>,
    /// When.
    pub approved_at: &'a str,
    /// Until.
    pub expires_on: &'a str,
}

const APPROVAL_COLUMNS: &str = "id, number, document_no, purpose, recipient, report, as_of, row_key, col, approved_by,
     approved_at, expires_on, exports";

fn approval_from_row(r: &sqlx::any::AnyRow) -> Result<Approval, sqlx::Error> {
    Ok(Approval {
        id: r.try_get("id")?,
        number: r.try_get("number")?,
        document_no: r.try_get("document_no")?,
        purpose: r.try_get("purpose")?,
        recipient: r.try_get("recipient")?,
        report: r.try_get("report")?,
        as_of: r.try_get("as_of")?,
        row_key: r.try_get("row_key")?,
        col: r.try_get("col")?,
        approved_by: r.try_get("approved_by")?,
        approved_at: r.try_get("approved_at")?,
        expires_on: r.try_get("expires_on")?,
        exports: r.try_get("exports")?,
    })
}

/// Records an approval, numbered `外发-<year>-<n>` in the order recorded; returns it.
pub async fn insert_approval(
    tx: &mut sqlx::Transaction<'static, Any>,
    a: &NewApproval<'_>,
    year: i32,
) -> Result<Approval, sqlx::Error> {
    let prefix = format!("外发-{year}-");
    let taken: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM export_approvals WHERE number LIKE $1")
        .bind(format!("{prefix}%"))
        .fetch_one(&mut **tx)
        .await?;
    let number = format!("{prefix}{:04}", taken + 1);
    let row = sqlx::query(&format!(
        "INSERT INTO export_approvals (number, document_no, purpose, recipient, report, as_of, row_key, col,
             approved_by, approved_at, expires_on)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING {APPROVAL_COLUMNS}"
    ))
    .bind(&number)
    .bind(a.document_no)
    .bind(a.purpose)
    .bind(a.recipient)
    .bind(a.report)
    .bind(a.as_of)
    .bind(a.row_key)
    .bind(a.col)
    .bind(a.approved_by)
    .bind(a.approved_at)
    .bind(a.expires_on)
    .fetch_one(&mut **tx)
    .await?;
    approval_from_row(&row)
}

/// The approval with this number.
pub async fn approval<'c>(e: impl Executor<'c, Database = Any>, number: &str) -> Result<Option<Approval>, sqlx::Error> {
    let row = sqlx::query(&format!("SELECT {APPROVAL_COLUMNS} FROM export_approvals WHERE number = $1"))
        .bind(number)
        .fetch_optional(e)
        .await?;
    row.as_ref().map(approval_from_row).transpose()
}

/// Counts one export made with the approval.
pub async fn count_export<'c>(e: impl Executor<'c, Database = Any>, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE export_approvals SET exports = exports + 1 WHERE id = $1").bind(id).execute(e).await?;
    Ok(())
}

/// An approval as the bureau's list shows it: with its approver's name.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ListedApproval {
    /// The approval.
    #[serde(flatten)]
    pub approval: Approval,
    /// Who approved, by name (`None`: the account is gone or it came from the command line).
    pub approved_by_name: Option<String>,
}

/// A page of the approvals, newest first, and how many there are in all.
pub async fn approvals(
    conn: &mut sqlx::AnyConnection,
    limit: i64,
    offset: i64,
) -> Result<(Vec<ListedApproval>, i64), sqlx::Error> {
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM export_approvals").fetch_one(&mut *conn).await?;
    let columns = APPROVAL_COLUMNS.split(',').map(|c| format!("a.{}", c.trim())).collect::<Vec<_>>().join(", ");
    let rows = sqlx::query(&format!(
        "SELECT {columns}, u.display_name AS approved_by_name
         FROM export_approvals a LEFT JOIN users u ON u.id = a.approved_by
         ORDER BY a.id DESC LIMIT $1 OFFSET $2"
    ))
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *conn)
    .await?;
    let list = rows
        .iter()
        .map(|r| {
            Ok(ListedApproval { approval: approval_from_row(r)?, approved_by_name: r.try_get("approved_by_name")? })
        })
        .collect::<Result<_, sqlx::Error>>()?;
    Ok((list, total))
}
