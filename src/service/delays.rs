//! Delayed entry (延缓入学, Art. 4): a child's guardian applies, for reasons
//! of health, with a county-level (or higher) hospital's diagnosis; the
//! school files the application with the diagnosis scan, the bureau
//! approves or refuses it. An approved child is expected in a later intake
//! (the next year's, by default): the school's import of the child in the
//! intake stayed away from is refused (`intake.delayed`), the record made
//! in the expected intake takes the application up, and the expected
//! children who have no record yet are listed as absent.

use crate::db::Db;
use crate::db::delays::{self, Delay, NewDelay};
use crate::db::schools;
use crate::domain::intake::MAX_DELAY_YEARS;
use crate::domain::{Actor, DomainError, IdNumber, check_entry_age, coming_intake_year, school_year_start};
use crate::error::{AppError, AppResult};
use crate::render::Coverage;
use crate::service::audit::Audit;
use crate::workflow::{printable, require_bureau, require_school};
use chrono::NaiveDate;
use std::io::Read;
use xueji_archive::Archive;

/// The most applications one list shows.
pub const LIST_LIMIT: i64 = 2000;

/// An application as the school files it.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct DelayRequest {
    /// The school's code (a registrar's own school by default).
    #[serde(default)]
    pub school: String,
    /// The child's name.
    pub name: String,
    /// The child's resident ID number.
    pub id_number: String,
    /// The intake the child stays away from (default: the coming one).
    #[serde(default)]
    pub intake_year: Option<i32>,
    /// How many years later the child enters (1 or 2; default 1).
    #[serde(default)]
    pub years: Option<i32>,
    /// The guardian who applies.
    pub guardian_name: String,
    /// Their phone.
    pub guardian_phone: String,
    /// The diagnosing hospital (county level or higher).
    pub hospital: String,
    /// The diagnosis, as the hospital's paper states it.
    pub diagnosis: String,
}

/// The bureau's decision on an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Approve (pending → approved).
    Approve,
    /// Refuse (pending → refused), with a reason.
    Refuse,
    /// Withdraw an approved delay the guardian no longer wants (approved →
    /// withdrawn), with a reason; the child may then enter at once.
    Withdraw,
}

/// An application as listed: with its school, and whether the child is absent.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Listed {
    /// The application.
    #[serde(flatten)]
    pub delay: Delay,
    /// The filing school's name.
    pub school_name: String,
    /// Approved, expected in an intake that has begun, and no record yet.
    pub absent: bool,
    /// Whether the child has entered (a record took the application up).
    pub entered: bool,
}

fn text(coverage: &Coverage, field: &'static str, v: &str, max: usize) -> AppResult<String> {
    let v = v.trim();
    if v.is_empty() {
        return Err(DomainError::new("delay.field_required", field, "", "必须填写").into());
    }
    if v.chars().count() > max || v.chars().any(char::is_control) {
        return Err(DomainError::new("delay.field_invalid", field, "", &format!("超过{max}字或含有控制字符")).into());
    }
    printable(coverage, &[(field, v)])?;
    Ok(v.to_owned())
}

/// Files an application with the diagnosis scan (the school's registrar),
/// stored in the archive first. Audited as `delay.file`.
pub async fn file(
    db: &Db,
    archive: &Archive,
    coverage: &Coverage,
    actor: &Actor,
    today: NaiveDate,
    req: &DelayRequest,
    scan: (Box<dyn Read + Send>, &str),
) -> AppResult<Delay> {
    let mut audit = Audit::new(actor, "delay.file", ("delay", "-"));
    let result = async {
        let school = match req.school.trim() {
            "" => match actor.school_id {
                Some(id) => schools::by_id(&db.pool, id).await?,
                None => return Err(AppError::bad_request("delay.school_required", "请指明学校（school）")),
            },
            code => schools::by_code(&db.pool, code).await?,
        };
        let school = school.filter(|s| actor.may_see(s.id)).ok_or(AppError::NotFound)?;
        require_school(actor, school.id)?;
        audit.school(school.id);
        let name = text(coverage, "儿童姓名", &req.name, 30)?;
        let id = IdNumber::parse(&req.id_number)?;
        let guardian = text(coverage, "监护人姓名", &req.guardian_name, 30)?;
        let phone = req.guardian_phone.trim();
        if !(7..=15).contains(&phone.len()) || !phone.chars().all(|c| c.is_ascii_digit() || c == '-') {
            return Err(DomainError::new("delay.phone_invalid", "监护人电话", phone, "应为7至15位数字").into());
        }
        let hospital = text(coverage, "诊断医院", &req.hospital, 60)?;
        let diagnosis = text(coverage, "诊断结论", &req.diagnosis, 300)?;
        let intake_year = req.intake_year.unwrap_or_else(|| coming_intake_year(today));
        let earliest = school_year_start(today);
        if intake_year < earliest || intake_year > coming_intake_year(today) {
            return Err(DomainError::new(
                "delay.year_invalid",
                "延缓入学年度",
                intake_year.to_string(),
                &format!("只能是{earliest}年或{}年的秋季招生", coming_intake_year(today)),
            )
            .into());
        }
        let years = req.years.unwrap_or(1);
        if !(1..=MAX_DELAY_YEARS).contains(&years) {
            return Err(DomainError::new(
                "delay.years_invalid",
                "延缓年限",
                years.to_string(),
                &format!("应为1至{MAX_DELAY_YEARS}年"),
            )
            .into());
        }
        // A child too young for the intake need not delay: they are not admitted anyway.
        check_entry_age(id.birth_date(), intake_year).map_err(|_| {
            AppError::from(DomainError::new(
                "delay.not_of_age",
                "出生日期",
                id.birth_date().to_string(),
                &format!("的儿童截至{intake_year}年8月31日未满6周岁，本年不入学，无须申请延缓入学"),
            ))
        })?;
        if crate::db::students::existing_by_numbers(&mut *db.pool.acquire().await?, &[id.to_string()], &[])
            .await?
            .iter()
            .any(|e| e.status != "refused")
        {
            return Err(AppError::conflict(
                "delay.has_record",
                "该儿童已有学籍：已入学的学生因身体原因不能上学的，应办理休学（第二十二条）",
            ));
        }
        if !delays::live_delays_of(&db.pool, id.as_str()).await?.is_empty() {
            return Err(AppError::conflict("delay.exists", "该儿童已有待审核或已批准的延缓入学申请"));
        }
        let digest = crate::dossier::papers::store(archive, scan.0, scan.1).await?;
        let mut tx = db.pool.begin().await?;
        let now = crate::db::now_text();
        let new = NewDelay {
            school_id: school.id,
            intake_year,
            expected_year: intake_year + years,
            name: &name,
            gender: id.gender(),
            birth_date: id.birth_date(),
            id_number: id.as_str(),
            guardian_name: &guardian,
            guardian_phone: phone,
            hospital: &hospital,
            diagnosis: &diagnosis,
            diagnosis_digest: &digest,
        };
        let public_id = delays::insert_delay(&mut *tx, &new, &actor.username, &now).await?;
        audit.target(&public_id);
        audit.detail(format!("intake={intake_year} expected={}", intake_year + years));
        let delay = delays::delay_by_public_id(&mut *tx, &public_id).await?.ok_or(AppError::NotFound)?;
        audit.commit(tx).await?;
        Ok(delay)
    }
    .await;
    audit.close(db, result).await
}

/// The bureau decides on an application, or withdraws an approved delay not
/// yet taken up. A refusal or withdrawal needs a reason. Audited as `delay.decide`.
pub async fn decide(
    db: &Db,
    coverage: &Coverage,
    actor: &Actor,
    public_id: &str,
    verdict: Verdict,
    note: &str,
) -> AppResult<Delay> {
    let mut audit = Audit::new(actor, "delay.decide", ("delay", public_id.trim()));
    let result = async {
        require_bureau(actor)?;
        let note = match (verdict, note.trim()) {
            (Verdict::Approve, "") => String::new(),
            (_, n) => crate::service::plans::checked_reason(coverage, "审核意见", n)?,
        };
        let mut tx = db.pool.begin().await?;
        let delay = delays::delay_by_public_id(&mut *tx, public_id.trim()).await?;
        let delay = delay.filter(|d| actor.may_see(d.school_id)).ok_or(AppError::NotFound)?;
        audit.school(delay.school_id);
        let (from, to) = match verdict {
            Verdict::Approve => ("pending", "approved"),
            Verdict::Refuse => ("pending", "refused"),
            Verdict::Withdraw => ("approved", "withdrawn"),
        };
        if delay.state != from || delay.student_id.is_some() {
            return Err(AppError::conflict(
                "delay.state",
                match verdict {
                    Verdict::Withdraw => "只能撤销已批准且儿童尚未入学的延缓入学",
                    _ => "该申请已审核",
                },
            ));
        }
        let now = crate::db::now_text();
        if delays::decide_delay(&mut *tx, delay.id, from, to, &actor.username, &note, &now).await? != 1 {
            return Err(AppError::conflict("delay.state", "该申请刚被他人审核"));
        }
        audit.detail(to);
        let delay = delays::delay_by_public_id(&mut *tx, public_id.trim()).await?.ok_or(AppError::NotFound)?;
        audit.commit(tx).await?;
        Ok(delay)
    }
    .await;
    audit.close(db, result).await
}

/// The applications of the actor's schools, optionally of one expected
/// intake; `absent_only`: the approved children expected in an intake that
/// has begun who have no record. A read of personal data: audited.
pub async fn list(
    db: &Db,
    actor: &Actor,
    today: NaiveDate,
    expected_year: Option<i32>,
    absent_only: bool,
) -> AppResult<Vec<Listed>> {
    let mut conn = db.pool.acquire().await?;
    let delays = delays::delays(&mut *conn, actor.scope.as_deref(), expected_year, LIST_LIMIT).await?;
    let names: std::collections::HashMap<i64, String> =
        schools::list(&mut *conn).await?.into_iter().map(|s| (s.id, s.name)).collect();
    let begun = school_year_start(today);
    let mut out: Vec<Listed> = delays
        .into_iter()
        .map(|d| {
            let absent = d.state == "approved" && d.student_id.is_none() && d.expected_year <= i64::from(begun);
            let entered = d.student_id.is_some();
            Listed { school_name: names.get(&d.school_id).cloned().unwrap_or_default(), absent, entered, delay: d }
        })
        .collect();
    if absent_only {
        out.retain(|l| l.absent);
    }
    let mut audit = Audit::new(actor, "delay.list", ("delay", "*"));
    audit.detail(format!("shown={} absent_only={absent_only}", out.len()));
    audit.record(&mut *conn).await?;
    Ok(out)
}

/// An intake paper (a plan change request or a diagnosis) for a staff
/// member of a school it belongs to, or the bureau. Audited as `paper.read`.
pub async fn paper(db: &Db, archive: &Archive, actor: &Actor, digest: &str) -> AppResult<(Vec<u8>, &'static str)> {
    let digest = digest.trim().to_ascii_lowercase();
    let mut audit = Audit::new(actor, "paper.read", ("paper", &digest));
    let result = async {
        let schools = crate::db::intake::paper_school(&db.pool, &digest).await?;
        let Some(school) = schools.iter().copied().find(|s| actor.may_see(*s)) else {
            return Err(AppError::NotFound);
        };
        audit.school(school);
        let paper = crate::dossier::papers::open(archive, &digest).await?;
        audit.record(&db.pool).await?;
        Ok(paper)
    }
    .await;
    audit.close(db, result).await
}
