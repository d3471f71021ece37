//! The yearly runs (Art. 25-26, 30): graduation by 31 July hands the
//! graduates to certificate numbering and batch printing; promotion on
//! 10 August moves every student on a class roll up one grade (there is no
//! retention). Each shows a preview of what it will change, runs in one
//! transaction, and runs once per year. And the junior intake (Art. 10):
//! this year's primary graduates enter grade 7 with the same record.

use super::{
    StatusDates, change_status, class_with_room, facts, lock_student, require_bureau, require_school, required,
};
use crate::app::App;
use crate::db::schools::{self, School};
use crate::db::{events, rolls, year_runs};
use crate::domain::Actor;
use crate::domain::{Action, DomainError, Facts, Grade, SchoolKind, StudentStatus, transitions};
use crate::error::{AppError, AppResult};
use crate::service::audit::Audit;
use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use serde_json::json;

/// The yearly run kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    /// 毕业.
    Graduation,
    /// 升级.
    Promotion,
}

impl RunKind {
    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Graduation => "graduation",
            Self::Promotion => "promotion",
        }
    }

    /// Chinese label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Graduation => "毕业",
            Self::Promotion => "升级",
        }
    }
}

/// One school's line in a preview.
#[derive(Debug, Clone, Serialize)]
pub struct SchoolLine {
    /// School code.
    pub code: String,
    /// School name.
    pub name: String,
    /// Students who move (graduate, or go up a grade).
    pub moving: i64,
    /// Per grade: `[grade label, count]` moving (promotion: from that grade).
    pub by_grade: Vec<(String, i64)>,
    /// Students left as they are, with why (e.g. `休学 3`).
    pub staying: Vec<(String, i64)>,
    /// Classes that will be created (promotion).
    pub new_classes: Vec<String>,
    /// What stops the run (a class over its cap).
    pub problems: Vec<String>,
}

/// What a run will do (or did).
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    /// Kind.
    pub kind: RunKind,
    /// Kind label.
    pub kind_label: &'static str,
    /// The year.
    pub year: i32,
    /// Whether it may run today (else `refusal` says why).
    pub allowed: bool,
    /// Why not.
    pub refusal: Option<String>,
    /// Whether a late reason is needed (graduation after 31 July).
    pub needs_late_reason: bool,
    /// When it ran, if it did.
    pub ran_at: Option<String>,
    /// Per school.
    pub schools: Vec<SchoolLine>,
    /// Total moving.
    pub total: i64,
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a fixed valid date")
}

async fn ran_at(app: &App, kind: RunKind, year: i32) -> AppResult<Option<String>> {
    Ok(year_runs::ran_at(&app.db.pool, kind.code(), year).await?)
}

/// Whether the run may go today: `Err(code, message)` when not; `Ok(true)` when only with a late reason.
async fn window(app: &App, kind: RunKind, year: i32) -> AppResult<Result<bool, (&'static str, String)>> {
    let today = app.today();
    if ran_at(app, kind, year).await?.is_some() {
        return Ok(Err((
            if kind == RunKind::Graduation { "graduation.already_run" } else { "promotion.already_run" },
            format!("{year}年的{}已经办理过，每年只能办理一次", kind.label()),
        )));
    }
    Ok(match kind {
        RunKind::Graduation => {
            if today < date(year, 6, 1) {
                Err(("graduation.too_early", format!("{year}年的毕业须在{year}年6月1日至7月31日之间办理")))
            } else if today >= date(year, 9, 1) {
                // From the autumn term on, the graduating grade holds next July's graduates.
                Err((
                    "graduation.year_passed",
                    format!(
                        "{year}年的毕业须在新学年开学（{year}年9月1日）前办理；此后毕业年级的学生已在新学年就读，不能按{year}年毕业"
                    ),
                ))
            } else {
                Ok(today > date(year, 7, 31))
            }
        }
        RunKind::Promotion => {
            if today < date(year, 8, 10) {
                Err((
                    "promotion.too_early",
                    format!("升级时间为每年8月10日（第二十五条），{year}年的升级须在8月10日以后办理"),
                ))
            } else if crate::domain::school_year_start(today) != year {
                Err(("promotion.year_passed", format!("{year}学年已结束，不能再办理该年的升级")))
            } else if ran_at(app, RunKind::Graduation, year).await?.is_none() {
                Err(("promotion.graduation_first", format!("请先办理{year}年的毕业（须于7月31日前完成），再办理升级")))
            } else {
                Ok(false)
            }
        }
    })
}

/// What graduation or promotion of `year` would change.
pub async fn preview(app: &App, kind: RunKind, year: i32) -> AppResult<Preview> {
    let schools = schools::list(&app.db.pool).await?;
    let mut lines = Vec::new();
    let mut total = 0;
    for school in &schools {
        let line = match kind {
            RunKind::Graduation => graduation_line(app, school).await?,
            RunKind::Promotion => promotion_line(app, school).await?,
        };
        total += line.moving;
        if line.moving > 0 || !line.staying.is_empty() || !line.problems.is_empty() {
            lines.push(line);
        }
    }
    let w = window(app, kind, year).await?;
    let problems = lines.iter().any(|l| !l.problems.is_empty());
    Ok(Preview {
        kind,
        kind_label: kind.label(),
        year,
        allowed: w.is_ok() && !problems,
        refusal: match &w {
            Err((_, m)) => Some(m.clone()),
            Ok(_) if problems => Some("有班级超过班额，请先调整班级后再升级".into()),
            Ok(_) => None,
        },
        needs_late_reason: matches!(w, Ok(true)),
        ran_at: ran_at(app, kind, year).await?,
        schools: lines,
        total,
    })
}

fn label_of(status: &str) -> String {
    StudentStatus::parse(status).map_or_else(|_| status.to_owned(), |s| s.label().to_owned())
}

async fn graduation_line(app: &App, school: &School) -> AppResult<SchoolLine> {
    let g = i64::from(school.kind.graduating_grade());
    let counts = year_runs::status_counts_in_grade(&app.db.pool, school.id, g).await?;
    let moving = counts.iter().find(|c| c.status == "active").map_or(0, |c| c.count);
    let staying = counts
        .iter()
        .filter(|c| !matches!(c.status.as_str(), "active" | "graduated" | "transferred_out" | "deceased"))
        .map(|c| (label_of(&c.status), c.count))
        .collect();
    Ok(SchoolLine {
        code: school.code.clone(),
        name: school.name.clone(),
        moving,
        by_grade: vec![(schools::grade_name(g), moving)],
        staying,
        new_classes: Vec::new(),
        problems: Vec::new(),
    })
}

async fn promotion_line(app: &App, school: &School) -> AppResult<SchoolLine> {
    let top = i64::from(school.kind.graduating_grade());
    let rows = year_runs::seated_below(&app.db.pool, school.id, top).await?;
    let classes = schools::classes_of(&app.db.pool, school.id).await?;
    let mut by_grade: Vec<(String, i64)> = Vec::new();
    let mut new_classes = Vec::new();
    let mut problems = Vec::new();
    let mut moving = 0;
    for r in &rows {
        let (grade, number, n) = (r.grade, r.number, r.count);
        moving += n;
        match by_grade.iter_mut().find(|(g, _)| *g == schools::grade_name(grade)) {
            Some(e) => e.1 += n,
            None => by_grade.push((schools::grade_name(grade), n)),
        }
        if let Some(number) = number {
            match classes.iter().find(|c| c.grade == grade + 1 && c.number == number) {
                None => new_classes.push(schools::class_name(grade + 1, number)),
                Some(c) if n > c.cap => problems.push(format!(
                    "{}有{n}人，升入的{}班额为{}人",
                    schools::class_name(grade, number),
                    c.name(),
                    c.cap
                )),
                Some(_) => {}
            }
        }
    }
    let mut staying = year_runs::suspended_below(&app.db.pool, school.id, top)
        .await?
        .into_iter()
        .map(|c| (format!("{}（保留原年级）", label_of(&c.status)), c.count))
        .collect::<Vec<_>>();
    let stuck = year_runs::seated_in_grade(&app.db.pool, school.id, top).await?;
    if stuck > 0 {
        staying.push(("毕业年级仍在籍（未毕业）".into(), stuck));
    }
    Ok(SchoolLine {
        code: school.code.clone(),
        name: school.name.clone(),
        moving,
        by_grade,
        staying,
        new_classes,
        problems,
    })
}

/// What a run did.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// Kind.
    pub kind: RunKind,
    /// Year.
    pub year: i32,
    /// Students moved.
    pub moved: i64,
    /// Per school code: moved.
    pub schools: Vec<(String, i64)>,
    /// Classes created (promotion).
    pub classes_created: i64,
}

/// Runs graduation or promotion of `year` (bureau staff; once a year; in one transaction).
pub async fn run(
    app: &App,
    actor: &Actor,
    kind: RunKind,
    year: i32,
    late_reason: Option<&str>,
) -> AppResult<RunSummary> {
    let mut audit = Audit::new(actor, "year.run", ("year", &format!("{}-{year}", kind.code())));
    // Another instance of the service doing a yearly run meanwhile is refused, not raced.
    let result = match require_bureau(actor) {
        Err(e) => Err(e),
        Ok(()) => match crate::lease::Lease::take(&app.db, "year-run").await {
            Ok(Some(lease)) => {
                let result = run_in(app, actor, kind, year, late_reason, &mut audit).await;
                lease.release().await;
                result
            }
            Ok(None) => {
                Err(AppError::conflict("year.run_in_progress", "另一项学年操作（毕业或升级）正在进行，请稍后再试"))
            }
            Err(e) => Err(e),
        },
    };
    audit.close(&app.db, result).await
}

async fn run_in(
    app: &App,
    actor: &Actor,
    kind: RunKind,
    year: i32,
    late_reason: Option<&str>,
    audit: &mut Audit<'_>,
) -> AppResult<RunSummary> {
    require_bureau(actor)?;
    let late = match window(app, kind, year).await? {
        Err((code, message)) => return Err(AppError::conflict(code, message)),
        Ok(late) => late,
    };
    let late_reason = match (late, late_reason.map(str::trim).filter(|r| !r.is_empty())) {
        (true, None) => {
            return Err(AppError::conflict(
                "graduation.late_reason_required",
                format!("毕业操作应于{year}年7月31日前完成（第二十五条）；逾期办理须写明原因"),
            ));
        }
        (true, Some(r)) => Some(required("逾期原因", r)?),
        (false, _) => None,
    };
    let today = app.today();
    let now = crate::db::now_text();
    let mut tx = app.db.pool.begin().await?;
    // The year's row first: it takes the write lock and makes a second run fail here.
    let claimed = year_runs::claim(&mut *tx, kind.code(), year, actor.user_id, &now).await?;
    if !claimed {
        return Err(AppError::conflict(
            if kind == RunKind::Graduation { "graduation.already_run" } else { "promotion.already_run" },
            format!("{year}年的{}已经办理过，每年只能办理一次", kind.label()),
        ));
    }
    let schools = schools::list(&mut *tx).await?;
    let mut per_school = Vec::new();
    let mut moved = 0;
    let mut created = 0;
    for school in &schools {
        let n = match kind {
            RunKind::Graduation => graduate_school(&mut tx, school, year, actor.user_id, &now, today).await?,
            RunKind::Promotion => {
                let (n, c) = promote_school(&mut tx, school, year, actor.user_id, &now, today).await?;
                created += c;
                n
            }
        };
        if n > 0 {
            per_school.push((school.code.clone(), n));
        }
        moved += n;
    }
    let summary = RunSummary { kind, year, moved, schools: per_school, classes_created: created };
    let mut stored = serde_json::to_value(&summary).map_err(|e| AppError::Internal(e.into()))?;
    stored["late_reason"] = json!(late_reason);
    year_runs::set_summary(&mut *tx, kind.code(), year, &stored.to_string()).await?;
    audit.commit(tx).await?;
    Ok(summary)
}

async fn graduate_school(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    school: &School,
    year: i32,
    actor: Option<i64>,
    now: &str,
    today: NaiveDate,
) -> AppResult<i64> {
    let g = i64::from(school.kind.graduating_grade());
    // The machine's rule, checked once for the rows selected below (active, graduating grade).
    let to = transitions::apply(
        StudentStatus::Active,
        Action::Graduate,
        Facts { graduating_grade: true, ..Facts::default() },
    )?;
    let detail = json!({"year": year, "school": school.code}).to_string();
    let on = today.to_string();
    let ev = year_runs::BulkEvent { kind: Action::Graduate.code(), detail: &detail, actor_id: actor, now, on: &on };
    let stage = crate::domain::Stage::ended_by(school.kind);
    crate::db::graduations::record_run(&mut **tx, school.id, g, stage, year, today).await?;
    let n = year_runs::graduate(tx, school.id, g, to.code(), today, &ev).await?;
    Ok(i64::try_from(n).unwrap_or(i64::MAX))
}

async fn promote_school(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    school: &School,
    year: i32,
    actor: Option<i64>,
    now: &str,
    today: NaiveDate,
) -> AppResult<(i64, i64)> {
    let on = today.to_string();
    let top = i64::from(school.kind.graduating_grade());
    let first = i64::from(*school.kind.grades().start());
    let mut moved = 0;
    let mut created = 0;
    // From the top down, so each class's successor is empty of seated students when it fills.
    for grade in (first..top).rev() {
        // Seated students without a class (none are expected) still go up.
        let detail = json!({"year": year, "from_grade": grade, "to_grade": grade + 1}).to_string();
        let ev = year_runs::BulkEvent { kind: Action::Promote.code(), detail: &detail, actor_id: actor, now, on: &on };
        let n = year_runs::promote_unclassed(tx, school.id, grade, &ev).await?;
        moved += i64::try_from(n).unwrap_or(i64::MAX);
        let classes = schools::classes_of(&mut **tx, school.id).await?;
        for class in classes.iter().filter(|c| c.grade == grade) {
            let target = match classes.iter().find(|c| c.grade == grade + 1 && c.number == class.number) {
                Some(t) => t.id,
                None => {
                    created += 1;
                    let g = Grade::new(u8::try_from(grade + 1).unwrap_or(0))?;
                    schools::insert_class(
                        &mut **tx,
                        school,
                        g,
                        u8::try_from(class.number).unwrap_or(1),
                        &class.head_teacher,
                        u16::try_from(class.cap).ok(),
                    )
                    .await?
                }
            };
            let detail = json!({"year": year, "from_grade": grade, "to_grade": grade + 1}).to_string();
            let ev =
                year_runs::BulkEvent { kind: Action::Promote.code(), detail: &detail, actor_id: actor, now, on: &on };
            let n = year_runs::promote_class(tx, class.id, grade, target, &ev).await?;
            let n = i64::try_from(n).unwrap_or(i64::MAX);
            moved += n;
            let seated = rolls::seated_in_class(&mut **tx, target).await?;
            let cap = schools::class_cap(&mut **tx, target).await?;
            if seated > cap {
                return Err(DomainError::new(
                    "class.full",
                    "班级",
                    format!("{}{}", school.name, schools::class_name(grade + 1, class.number)),
                    &format!("升级后将有{seated}人，超过班额{cap}人，升级未执行"),
                )
                .into());
            }
        }
    }
    Ok((moved, created))
}

/// A junior intake (Art. 10): the junior school names this year's primary graduate.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct IntakeRequest {
    /// 学籍号.
    pub student_no: String,
    /// Name (must match).
    pub name: String,
    /// Grade-7 class number.
    pub class_number: i64,
    /// The junior school's code (default the registrar's school).
    #[serde(default)]
    pub school: Option<String>,
}

/// Takes this year's primary graduate into grade 7 of a junior school, keeping the record.
pub async fn junior_intake(app: &App, actor: &Actor, req: &IntakeRequest) -> AppResult<String> {
    let mut audit = Audit::new(actor, "student.junior_intake", ("student", "-"));
    let result = junior_intake_in(app, actor, req, &mut audit).await;
    audit.close(&app.db, result).await
}

async fn junior_intake_in(app: &App, actor: &Actor, req: &IntakeRequest, audit: &mut Audit<'_>) -> AppResult<String> {
    let today = app.today();
    let mut tx = app.db.pool.begin().await?;
    let school = match req.school.as_deref().filter(|c| !c.trim().is_empty()) {
        Some(code) => schools::by_code(&mut *tx, code.trim()).await?.ok_or(AppError::NotFound)?,
        None => {
            let id = actor
                .school_id
                .ok_or_else(|| AppError::bad_request("intake.school_required", "请指明初中学校（school）"))?;
            schools::by_id(&mut *tx, id).await?.ok_or(AppError::NotFound)?
        }
    };
    require_school(actor, school.id)?;
    if school.kind != SchoolKind::Junior {
        return Err(
            DomainError::new("intake.not_junior", "学校", &school.name, "不是初级中学，不能办理升入初中").into()
        );
    }
    let id =
        rolls::public_id_by_no_and_name(&mut *tx, &req.student_no.trim().to_ascii_uppercase(), req.name.trim()).await?;
    let not_found = || {
        AppError::from(DomainError::new(
            "intake.student_not_found",
            "学籍号",
            req.student_no.trim(),
            "与所填姓名不符，或本系统中没有该学生",
        ))
    };
    let student = match id {
        Some(id) => lock_student(&mut tx, &id).await?.ok_or_else(not_found)?,
        None => return Err(not_found()),
    };
    let from = super::school_of(&mut *tx, &student).await?;
    let f = facts(&student, &from, false);
    transitions::apply(student.status, Action::JuniorIntake, f)?;
    let graduated_year = events::last_graduation_detail(&mut *tx, student.id).await?;
    let year = graduated_year
        .and_then(|d| serde_json::from_str::<serde_json::Value>(&d).ok())
        .and_then(|d| d["year"].as_i64());
    if year != Some(i64::from(today.year())) {
        return Err(DomainError::new(
            "intake.not_this_year",
            "毕业年份",
            year.map_or_else(|| "未知".into(), |y| y.to_string()),
            "初中招收的是本年度小学毕业生（第十条）；往年毕业生不得重新入学",
        )
        .into());
    }
    let class = class_with_room(&mut tx, &school, 7, req.class_number).await?;
    let detail = json!({
        "from_school": from.code, "to_school": school.code, "class": class.name(), "year": today.year(),
        "entered_on": today.to_string(),
    });
    change_status(
        &mut tx,
        &student,
        Action::JuniorIntake,
        f,
        StatusDates { since: Some(today), until: None },
        &detail,
        &[],
        actor.user_id,
        today,
    )
    .await?;
    rolls::enter_junior(&mut *tx, student.id, school.id, class.id).await?;
    audit.target(&student.public_id);
    audit.commit(tx).await?;
    Ok(student.public_id)
}
