//! Pre-system graduates (Art. 31; proofs typed in from the paper archive, as
//! i-educar does). A pupil who graduated before this system held a paper
//! certificate; when it is lost, the bureau verifies the school's paper
//! ledger (毕业生登记册) and issues a 学历证明书. Here the bureau:
//!
//! 1. records the graduation from a scan of the ledger page: name, ID
//!    number, school, stage, year, the original certificate number if
//!    known. The scan goes into the archive first (a refused file leaves
//!    nothing); then, in one transaction, a read-only record (status
//!    `historical`, unless the ID number already has a record in the system,
//!    which then gets the graduation), the graduation marked `historical`,
//!    an event naming the scan and the audit row; then the scan is filed in
//!    the person's dossier as a 毕业生登记册;
//! 2. issues the 学历证明书 for it (numbered like any, printed with
//!    "据学校存档的纸质毕业生登记册出具"); never a 毕业证书 or 义务教育证书,
//!    which would be a reissue, and never a second proof while one is valid.
//!
//! Bureau staff only; every action, and every listing, audited.

use crate::app::App;
use crate::db::graduations::{self, Graduation, HistoricalRow, NewHistorical};
use crate::db::students::{self, NewHistoricalStudent};
use crate::db::{events, now_text, schools};
use crate::documents::Issued;
use crate::domain::{Actor, DomainError, Grade, IdNumber, SchoolKind, Stage, StudentStatus, school_year_start};
use crate::error::{AppError, AppResult};
use crate::render::DocKind;
use crate::service::audit::Audit;
use crate::workflow::{printable, require_bureau};
use chrono::{Datelike, NaiveDate};
use serde_json::json;
use std::io::Read;
use xueji_archive::PaperKind;

/// The most rows the list shows.
pub const LIST_LIMIT: i64 = 1000;

/// The earliest graduation year recorded (the Compulsory Education Law is of 1986).
pub const EARLIEST_YEAR: i32 = 1986;

/// A graduation as typed from the ledger.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct HistoricalRequest {
    /// 姓名, as the ledger writes it.
    pub name: String,
    /// The resident ID number.
    pub id_number: String,
    /// The school's code.
    pub school: String,
    /// The stage (`primary` / `junior`, or 小学 / 初中).
    pub stage: String,
    /// The year of the July it ended.
    pub year: i32,
    /// The year (September) the stage began; default: the stage's length before.
    #[serde(default)]
    pub entry_year: Option<i32>,
    /// The number of the certificate issued then, if the ledger gives it.
    #[serde(default)]
    pub original_number: String,
}

/// What recording did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Recorded {
    /// The person's record (public id).
    pub public_id: String,
    /// 学籍号.
    pub student_no: String,
    /// Whether a read-only record was made (no record had the ID number).
    pub new_record: bool,
    /// The stage and year graduated.
    pub stage: Stage,
    /// The July it ended.
    pub year: i32,
    /// The ledger scan's sha256.
    pub evidence_sha256: String,
    /// Whether the scan is filed in the person's dossier (it is kept in the
    /// archive either way; a failure here is logged and the scan can be
    /// filed again on the dossier page).
    pub in_dossier: bool,
}

fn bad(code: &'static str, field: &'static str, value: impl Into<String>, why: &str) -> AppError {
    DomainError::new(code, field, value, why).into()
}

/// The request checked: what the rows will hold.
struct Checked {
    name: String,
    id: IdNumber,
    school: schools::School,
    stage: Stage,
    year: i32,
    entered_on: NaiveDate,
    graduated_on: NaiveDate,
    original_number: Option<String>,
}

async fn check(app: &App, req: &HistoricalRequest) -> AppResult<Checked> {
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 30 || name.chars().any(char::is_control) {
        return Err(bad("historical.name_invalid", "姓名", "", "必须填写，不超过30字"));
    }
    printable(&app.coverage, &[("姓名", name)])?;
    let id = IdNumber::parse(&req.id_number)?;
    let code = req.school.trim();
    let school = schools::by_code(&app.db.pool, code)
        .await?
        .ok_or_else(|| bad("historical.school_unknown", "学校", code, "不是本县的学校代码，请从列表中选择"))?;
    let stage = Stage::parse(&req.stage)?;
    let allowed = match school.kind {
        SchoolKind::Special => true,
        kind => Stage::ended_by(kind) == stage,
    };
    if !allowed {
        return Err(bad(
            "historical.stage_school",
            "学段",
            stage.label(),
            &format!("与学校不符：{}不办{}教育", school.name, stage.label()),
        ));
    }
    // The last school year that has ended: its July is before today.
    let today = app.today();
    let last = school_year_start(today);
    if req.year < EARLIEST_YEAR || req.year > last {
        return Err(bad(
            "historical.year_invalid",
            "毕业年份",
            req.year.to_string(),
            &format!("应在{EARLIEST_YEAR}年至{last}年之间"),
        ));
    }
    let length = match stage {
        Stage::Primary => 6,
        Stage::Junior => 3,
    };
    let entry_year = req.entry_year.unwrap_or(req.year - length);
    if !(1..=9).contains(&(req.year - entry_year)) {
        return Err(bad(
            "historical.entry_year",
            "入学年份",
            entry_year.to_string(),
            &format!("应早于毕业年份（{}年）1至9年", req.year),
        ));
    }
    let age = req.year - id.birth_date().year();
    let youngest = if stage == Stage::Primary { 10 } else { 13 };
    if !(youngest..=30).contains(&age) {
        return Err(bad(
            "historical.age_implausible",
            "毕业年份",
            req.year.to_string(),
            &format!("与身份证件号中的出生年份不符：毕业时{age}岁"),
        ));
    }
    let original = req.original_number.trim();
    if original.chars().count() > 30 || original.chars().any(char::is_control) {
        return Err(bad("historical.number_invalid", "原证书编号", "", "不超过30字"));
    }
    printable(&app.coverage, &[("原证书编号", original)])?;
    // The ledger gives school years, not days: the stage began in September
    // and ended in July (the proof prints months).
    let day = |y: i32, m: u32| {
        NaiveDate::from_ymd_opt(y, m, 1).ok_or_else(|| bad("historical.year_invalid", "年份", y.to_string(), "无效"))
    };
    Ok(Checked {
        name: name.to_owned(),
        school,
        stage,
        year: req.year,
        entered_on: day(entry_year, 9)?,
        graduated_on: day(req.year, 7)?,
        original_number: (!original.is_empty()).then(|| original.to_owned()),
        id,
    })
}

/// Records a pre-system graduation from the ledger scan `scan` (see the
/// module documentation). Bureau staff only.
pub async fn record(
    app: &App,
    actor: &Actor,
    req: &HistoricalRequest,
    scan: (Box<dyn Read + Send>, &str),
) -> AppResult<Recorded> {
    let mut audit = Audit::new(actor, "historical.record", ("student", "-"));
    let result = async {
        require_bureau(actor)?;
        let c = check(app, req).await?;
        audit.school(c.school.id);
        let mut conn = app.db.pool.acquire().await?;
        let existing = students::existing_by_numbers(&mut conn, &[c.id.to_string()], &[]).await?;
        drop(conn);
        let existing = match existing.into_iter().next() {
            // The person has a record: it gets the graduation, if the names agree.
            Some(e) if e.name.trim() == c.name => Some(e),
            Some(_) => {
                return Err(AppError::conflict(
                    "historical.id_mismatch",
                    "该身份证件号在系统中已有学籍，但姓名与所填不符：请核对纸质档案",
                ));
            }
            None => None,
        };
        if let Some(e) = &existing {
            let had = graduations::of_student(&app.db.pool, e.id).await?;
            // Refused before the scan is stored; the insert below refuses a race the same way.
            if had.iter().any(|g| g.stage == c.stage) {
                return Err(already_graduated(c.stage));
            }
        }
        let digest = crate::dossier::papers::store(&app.archive, scan.0, scan.1).await?;
        let now = now_text();
        let mut tx = app.db.pool.begin().await?;
        let (student_id, public_id, student_no) = match &existing {
            Some(e) => {
                let public = students::public_id_of(&mut *tx, e.id).await?;
                (e.id, public, e.student_no.clone())
            }
            None => {
                let student_no = format!("G{}", c.id.as_str());
                let grade = Grade::new(if c.stage == Stage::Primary { 6 } else { 9 })?;
                let (id, public) = students::insert_historical(
                    &mut tx,
                    &NewHistoricalStudent {
                        student_no: &student_no,
                        school_id: c.school.id,
                        grade,
                        name: &c.name,
                        gender: c.id.gender(),
                        birth_date: c.id.birth_date(),
                        id_number: c.id.as_str(),
                        entry_date: c.entered_on,
                        recorded_on: app.today(),
                    },
                    &now,
                )
                .await?;
                (id, public, student_no)
            }
        };
        audit.target(&public_id);
        let inserted = graduations::insert_historical(
            &mut *tx,
            &NewHistorical {
                student_id,
                school_id: c.school.id,
                stage: c.stage,
                year: c.year,
                entered_on: c.entered_on,
                graduated_on: c.graduated_on,
                original_number: c.original_number.as_deref(),
                evidence_sha256: &digest,
                recorded_by: actor.user_id,
                recorded_at: &now,
            },
        )
        .await?;
        if !inserted {
            return Err(already_graduated(c.stage));
        }
        let to = existing.is_none().then_some(StudentStatus::Historical);
        let detail = json!({"school": c.school.code, "stage": c.stage.code(), "year": c.year});
        events::insert(
            &mut *tx,
            &events::NewEvent {
                student_id,
                kind: "historical_graduation",
                from: None,
                to,
                detail: &detail,
                proofs: std::slice::from_ref(&digest),
                actor_id: actor.user_id,
                on: app.today(),
            },
            &now,
        )
        .await?;
        audit.detail(format!("stage={} year={} new_record={}", c.stage.code(), c.year, existing.is_none()));
        audit.commit(tx).await?;
        let in_dossier = file_in_dossier(app, actor, &public_id, &digest, scan.1, &c).await;
        Ok(Recorded {
            public_id,
            student_no,
            new_record: existing.is_none(),
            stage: c.stage,
            year: c.year,
            evidence_sha256: digest,
            in_dossier,
        })
    }
    .await;
    audit.close(&app.db, result).await
}

fn already_graduated(stage: Stage) -> AppError {
    AppError::conflict("historical.already_graduated", format!("该学生的{}毕业已有记录，不能再次补录", stage.label()))
}

/// Files the stored ledger scan in the person's dossier; logs (codes only) and
/// answers `false` when it cannot. The scan is read back and checked once
/// more: a dossier takes files, and a new person has no dossier before the
/// record the scan had to be stored for exists.
async fn file_in_dossier(app: &App, actor: &Actor, public_id: &str, digest: &str, name: &str, c: &Checked) -> bool {
    let filed = async {
        let student = crate::dossier::student_by_public_id(&app.db, public_id).await?.ok_or(AppError::NotFound)?;
        let (bytes, _) = crate::dossier::papers::open(&app.archive, digest).await?;
        let upload = crate::dossier::Upload {
            kind: PaperKind::GraduateLedger,
            original_name: name.to_owned(),
            supersedes: None,
            note: format!("据纸质档案补录：{}年{}毕业（{}）", c.year, c.stage.label(), c.school.name),
        };
        crate::dossier::add_file(&app.db, &app.archive, &student, upload, Box::new(std::io::Cursor::new(bytes)), actor)
            .await
            .map_err(crate::dossier::Failure::into_app)?;
        Ok::<_, AppError>(())
    }
    .await;
    match filed {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(code = e.code(), "ledger scan kept but not filed in the dossier");
            false
        }
    }
}

/// The person's historical graduation of `stage`.
async fn graduation_of(app: &App, student_id: i64, stage: Stage) -> AppResult<Graduation> {
    graduations::of_student(&app.db.pool, student_id)
        .await?
        .into_iter()
        .find(|g| g.stage == stage && g.historical)
        .ok_or_else(|| {
            AppError::conflict(
                "historical.no_graduation",
                format!("该学生没有补录的{}毕业记录：系统内毕业的学生证书遗失时，按挂失办理", stage.label()),
            )
        })
}

/// Issues the 学历证明书 for the person's historical graduation of `stage`,
/// with the reason it is asked for (default 遗失). Bureau staff only.
pub async fn issue_proof(app: &App, actor: &Actor, public_id: &str, stage: &str, reason: &str) -> AppResult<Issued> {
    let mut audit = Audit::new(actor, "historical.proof", ("student", public_id));
    let result = async {
        require_bureau(actor)?;
        let stage = Stage::parse(stage)?;
        let mut conn = app.db.pool.acquire().await?;
        let student = students::by_public_id(&mut conn, public_id).await?.ok_or(AppError::NotFound)?;
        drop(conn);
        audit.school(student.school_id);
        let graduation = graduation_of(app, student.id, stage).await?;
        let reason = match reason.trim() {
            "" => "遗失",
            r if r.chars().count() > 20 || r.chars().any(char::is_control) => {
                return Err(bad("historical.reason_invalid", "原因", "", "不超过20字"));
            }
            r => r,
        };
        printable(&app.coverage, &[("原因", reason)])?;
        let school = schools::by_id(&app.db.pool, graduation.school_id).await?.ok_or(AppError::NotFound)?;
        let mut extra = serde_json::Map::new();
        extra.insert(
            "certificate".into(),
            json!({
                "replaces_number": graduation.original_number.clone().unwrap_or_default(),
                "replaces_kind": "毕业证书",
                "original_issue_date": "",
                "reason": reason,
                "historical": true,
                "ledger": format!("{}毕业生登记册", school.name),
            }),
        );
        let proof = crate::certificates::prepare_issue(
            app,
            &student,
            &graduation,
            DocKind::AcademicProof,
            actor.user_id,
            extra,
        )
        .await?;
        let mut tx = app.db.pool.begin().await?;
        crate::certificates::record_issue(&mut tx, &proof).await?;
        audit.detail(format!("stage={} proof={}", stage.code(), proof.issued.number.as_deref().unwrap_or("")));
        audit.commit(tx).await?;
        Ok(proof.issued)
    }
    .await;
    audit.close(&app.db, result).await
}

/// The historical graduations recorded, newest first. Bureau staff only;
/// audited as a read of personal data.
pub async fn list(app: &App, actor: &Actor) -> AppResult<Vec<HistoricalRow>> {
    let mut audit = Audit::new(actor, "historical.list", ("student", "*"));
    let result = async {
        require_bureau(actor)?;
        let rows = graduations::historical(&app.db.pool, LIST_LIMIT).await?;
        audit.detail(format!("shown={}", rows.len()));
        audit.record(&app.db.pool).await?;
        Ok(rows)
    }
    .await;
    audit.close(&app.db, result).await
}
