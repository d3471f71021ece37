//! The status workflows through the real server (Art. 15-30): transfers in
//! and out of the system with their four approvals, the form and the
//! dossier handover; suspension, renewal, resumption; dropout, recall and
//! return; death and missing students; graduation, promotion and the junior
//! intake; information changes; the overdue list and the audit trail.
//!
//! Every refusal is checked for its status, its stable code and a Chinese
//! message, and against a snapshot of the database: a refused request
//! writes no status, no event, no case, no step, no proof, no run.

use crate::archive::png;
use crate::helpers::*;
use chrono::NaiveDate;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Row;

// ---- helpers ----

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

impl Session {
    /// Scans a paper into the student's dossier; its digest.
    pub(crate) async fn scan(&self, pid: &str, kind: &str, seed: u8) -> String {
        let res = self.upload_scan(pid, &format!("kind={kind}&name=scan{seed}.png"), png(40, 30, seed)).await;
        let status = res.status();
        let body: Value = res.json().await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["entry"]["digest"].as_str().unwrap().to_owned()
    }

    /// Uploads a proof with a case (into the dossier, filed with the case); its digest.
    pub(crate) async fn case_proof(&self, case: &str, kind: &str, label: &str, seed: u8) -> String {
        let res = self
            .upload_case_proof(case, &format!("kind={kind}&name=proof{seed}.png&label={label}"), png(48, 32, seed))
            .await;
        let status = res.status();
        let body: Value = res.json().await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["label"], label);
        body["digest"].as_str().unwrap().to_owned()
    }

    /// Approves the waiting stage; the case after it.
    pub(crate) async fn approve(&self, case: &str, stage: &str, opinion: &str, signer: &str) -> Value {
        self.decide(case, &json!({"stage": stage, "decision": "approve", "opinion": opinion, "signer": signer}))
            .await
            .json_with(StatusCode::OK)
            .await
    }
}

/// Asserts a refusal: the status, the stable code and a Chinese message (returned).
async fn refused(res: reqwest::Response, status: StatusCode, code: &str) -> String {
    let got = res.status();
    let text = res.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("a JSON error, not {got} {text}"));
    assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{body}");
    let message = body["message"].as_str().unwrap().to_owned();
    assert!(message.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "a Chinese message: {message}");
    message
}

/// Everything a workflow writes: every student's status, school, grade,
/// class, status dates and the changeable fields, and the row counts of
/// the event, case, step, proof, recall, year-run and class tables.
#[derive(Debug, PartialEq)]
struct Written {
    students: Vec<String>,
    counts: Vec<(&'static str, i64)>,
}

async fn written(app: &TestApp) -> Written {
    let rows = sqlx::query(
        "SELECT public_id, status, school_id, grade, class_id, status_since, status_until, name, gender, birth_date,
                current_address FROM students ORDER BY id",
    )
    .fetch_all(&app.db().pool)
    .await
    .unwrap();
    let students = rows
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {} {:?} {:?} {:?} {} {} {} {}",
                r.get::<String, _>("public_id"),
                r.get::<String, _>("status"),
                r.get::<i64, _>("school_id"),
                r.get::<i64, _>("grade"),
                r.get::<Option<i64>, _>("class_id"),
                r.get::<Option<String>, _>("status_since"),
                r.get::<Option<String>, _>("status_until"),
                r.get::<String, _>("name"),
                r.get::<String, _>("gender"),
                r.get::<String, _>("birth_date"),
                r.get::<String, _>("current_address"),
            )
        })
        .collect();
    let mut counts = Vec::new();
    for t in ["student_events", "cases", "case_steps", "case_proofs", "recalls", "year_runs", "classes"] {
        counts.push((t, count(app, &format!("SELECT COUNT(*) FROM {t}")).await));
    }
    Written { students, counts }
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.db().pool).await.unwrap()
}

async fn student_no(app: &TestApp, name: &str) -> String {
    sqlx::query_scalar("SELECT student_no FROM students WHERE name = $1")
        .bind(name)
        .fetch_one(&app.db().pool)
        .await
        .unwrap()
}

async fn status_of(app: &TestApp, pid: &str) -> String {
    sqlx::query_scalar("SELECT status FROM students WHERE public_id = $1")
        .bind(pid)
        .fetch_one(&app.db().pool)
        .await
        .unwrap()
}

/// (school code, grade, class grade, class number) of a student.
async fn placement(app: &TestApp, pid: &str) -> (String, i64, Option<i64>, Option<i64>) {
    let r = sqlx::query(
        "SELECT sc.code, s.grade, c.grade AS class_grade, c.number FROM students s JOIN schools sc ON sc.id = s.school_id
         LEFT JOIN classes c ON c.id = s.class_id WHERE s.public_id = $1",
    )
    .bind(pid)
    .fetch_one(&app.db().pool)
    .await
    .unwrap();
    (r.get("code"), r.get("grade"), r.get("class_grade"), r.get("number"))
}

/// The kinds of a student's events, oldest first.
async fn events(app: &TestApp, pid: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT e.kind FROM student_events e JOIN students s ON s.id = e.student_id WHERE s.public_id = $1 ORDER BY e.id",
    )
    .bind(pid)
    .fetch_all(&app.db().pool)
    .await
    .unwrap()
}

/// The detail of a student's newest event of a kind.
async fn event_detail(app: &TestApp, pid: &str, kind: &str) -> Value {
    let text: String = sqlx::query_scalar(
        "SELECT e.detail FROM student_events e JOIN students s ON s.id = e.student_id
         WHERE s.public_id = $1 AND e.kind = $2 ORDER BY e.id DESC LIMIT 1",
    )
    .bind(pid)
    .bind(kind)
    .fetch_one(&app.db().pool)
    .await
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

async fn audit_details(app: &TestApp, action: &str, target: &str, outcome: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT detail FROM audit_log WHERE action = $1 AND target_id = $2 AND outcome = $3 ORDER BY id")
        .bind(action)
        .bind(target)
        .bind(outcome)
        .fetch_all(&app.db().pool)
        .await
        .unwrap()
}

async fn school_id(app: &TestApp, code: &str) -> i64 {
    xueji::db::schools::by_code(&app.db().pool, code).await.unwrap().unwrap().id
}

/// Adds a class to a fixture school.
async fn add_class(app: &TestApp, code: &str, grade: u8, number: u8) {
    let school = xueji::db::schools::by_code(&app.db().pool, code).await.unwrap().unwrap();
    let grade = xueji::domain::Grade::new(grade).unwrap();
    xueji::db::schools::insert_class(&app.db().pool, &school, grade, number, "", None).await.unwrap();
}

/// A pupil of `grade` in the school year 2026-27 (born in the spring the age rule expects).
fn of_grade(name: &str, grade: u8, seq: u16) -> xueji::roster::Row {
    pupil(name, (2021 - i32::from(grade), 3, 1 + u32::from(seq % 27)), seq, grade)
}

/// Imports pupils into a school and returns their public ids, in order.
async fn enrol(app: &TestApp, code: &str, pupils: Vec<xueji::roster::Row>) -> Vec<String> {
    let names: Vec<String> = pupils.iter().map(|r| r.name.clone()).collect();
    let report = import_rows(app.db(), code, pupils).await;
    assert!(report.committed, "fixture pupils imported");
    let mut ids = Vec::new();
    for n in &names {
        ids.push(app.public_id(n).await);
    }
    ids
}

async fn set_status(app: &TestApp, pid: &str, status: &str) {
    sqlx::query("UPDATE students SET status = $1 WHERE public_id = $2")
        .bind(status)
        .bind(pid)
        .execute(&app.db().pool)
        .await
        .unwrap();
}

fn transfer(no: &str, name: &str, to_class: i64) -> Value {
    json!({
        "student_no": no, "name": name, "to_class": to_class,
        "reason": "家庭迁居，户籍已迁入县城", "guardian_name": "张建国", "guardian_phone": "13904310001",
    })
}

fn application(reason: &str) -> Value {
    json!({"reason": reason, "guardian_name": "张建国", "guardian_phone": "13904310001"})
}

/// The overdue items of a kind for a student.
fn overdue_for<'a>(items: &'a Value, kind: &str, pid: &str) -> Vec<&'a Value> {
    items.as_array().unwrap().iter().filter(|i| i["kind"] == kind && i["student"] == pid).collect()
}

// ---- transfers in the system (Art. 16-21) ----

#[tokio::test]
async fn the_receiving_registrar_opens_a_transfer_and_every_refusal_writes_nothing() {
    let app = spawn_app().await;
    let [pupil_id, sixth_id, sick_id] = <[String; 3]>::try_from(
        enrol(
            &app,
            CENTRAL,
            vec![of_grade("转学甲", 3, 101), of_grade("毕业班甲", 6, 102), of_grade("休学甲", 3, 103)],
        )
        .await,
    )
    .unwrap();
    let town = sign_in(&app, &format!("r{TOWN}")).await;
    let bureau = sign_in(&app, "bureau").await;

    // Graduating year: refused in principle (Art. 20), nothing written.
    let before = written(&app).await;
    let sixth_no = student_no(&app, "毕业班甲").await;
    let msg = refused(
        town.open_transfer(&transfer(&sixth_no, "毕业班甲", 1)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "transfer.graduating_year",
    )
    .await;
    assert!(msg.contains("毕业年级") && msg.contains("第二十条"), "{msg}");
    // A school cannot record its own exception.
    let mut with_reason = transfer(&sixth_no, "毕业班甲", 1);
    with_reason["override_reason"] = json!("随父母工作调动");
    refused(town.open_transfer(&with_reason).await, StatusCode::FORBIDDEN, "case.override_bureau_only").await;
    assert_eq!(written(&app).await, before);
    assert_eq!(status_of(&app, &sixth_id).await, "active");
    // The bureau may, with its reason on record.
    with_reason["to_school"] = json!(TOWN);
    let case = bureau.open_transfer(&with_reason).await.json_with(StatusCode::CREATED).await;
    assert_eq!(case["override_reason"], "随父母工作调动");
    assert_eq!(case["stage"], "receiving_school");
    assert_eq!(status_of(&app, &sixth_id).await, "transfer_pending");
    assert_eq!(event_detail(&app, &sixth_id, "transfer_started").await["override_reason"], "随父母工作调动");

    // A suspended student cannot transfer.
    set_status(&app, &sick_id, "suspended").await;
    let before = written(&app).await;
    let msg = refused(
        town.open_transfer(&transfer(&student_no(&app, "休学甲").await, "休学甲", 1)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "status.transition",
    )
    .await;
    assert!(msg.contains("休学"), "{msg}");
    assert_eq!(written(&app).await, before);

    // The receiving class is full (its cap lowered to the one pupil it has).
    enrol(&app, TOWN, vec![of_grade("县城三年甲", 3, 104)]).await;
    sqlx::query("UPDATE classes SET cap = 1 WHERE school_id = $1 AND grade = 3 AND number = 1")
        .bind(school_id(&app, TOWN).await)
        .execute(&app.db().pool)
        .await
        .unwrap();
    let no = student_no(&app, "转学甲").await;
    let before = written(&app).await;
    let msg =
        refused(town.open_transfer(&transfer(&no, "转学甲", 1)).await, StatusCode::UNPROCESSABLE_ENTITY, "class.full")
            .await;
    assert!(msg.contains("三年级1班") && msg.contains("班额1人"), "{msg}");
    assert_eq!(written(&app).await, before);
    sqlx::query("UPDATE classes SET cap = 45").execute(&app.db().pool).await.unwrap();

    // A wrong name says no more than an unknown number does.
    let wrong = refused(
        town.open_transfer(&transfer(&no, "转学乙", 1)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "transfer.student_not_found",
    )
    .await;
    let unknown_no = "G220122201001019999";
    let unknown = refused(
        town.open_transfer(&transfer(unknown_no, "转学乙", 1)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "transfer.student_not_found",
    )
    .await;
    assert_eq!(wrong.replace(&no, "#"), unknown.replace(unknown_no, "#"));
    assert_eq!(written(&app).await, before);

    // The grade never changes with a transfer (Art. 20): a junior school has no grade 3.
    let junior = sign_in(&app, &format!("r{JUNIOR}")).await;
    let msg = refused(
        junior.open_transfer(&transfer(&no, "转学甲", 1)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "transfer.grade_mismatch",
    )
    .await;
    assert!(msg.contains("三年级") && msg.contains("第二十条"), "{msg}");
    assert_eq!(written(&app).await, before);

    // Between two county-town schools: refused in principle (Art. 18).
    let second = xueji::db::schools::insert(
        &app.db().pool,
        &xueji::db::schools::NewSchool {
            code: "2122019005",
            name: "测试县城第二小学",
            kind: xueji::domain::SchoolKind::Primary,
            county_town: true,
            central_school_id: None,
            district: "测试",
            address: "",
        },
    )
    .await
    .unwrap();
    add_class(&app, "2122019005", 3, 1).await;
    let [towner] =
        <[String; 1]>::try_from(enrol(&app, "2122019005", vec![of_grade("二小学生", 3, 105)]).await).unwrap();
    let before = written(&app).await;
    let msg = refused(
        town.open_transfer(&transfer(&student_no(&app, "二小学生").await, "二小学生", 1)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "transfer.county_town",
    )
    .await;
    assert!(msg.contains("县城学校") && msg.contains("第十八条"), "{msg}");
    assert_eq!(written(&app).await, before);
    assert!(second > 0);
    assert_eq!(status_of(&app, &towner).await, "active");

    // The transfer itself: opened by the receiving school, the student 转出中.
    let case = town.open_transfer(&transfer(&no, "转学甲", 1)).await.json_with(StatusCode::CREATED).await;
    snap_json!("case_transfer_opened", case);
    assert_eq!(case["kind"], "transfer");
    assert_eq!(case["state"], "open");
    assert_eq!(case["stage"], "receiving_school");
    assert_eq!(case["stage_due"], "2026-12-11", "10 working days from Sunday 29 November");
    assert_eq!(case["my_turn"], true);
    assert_eq!(case["school"], "测试镇中心小学");
    assert_eq!(case["to_school"], "测试县城小学");
    assert_eq!(case["detail"]["to_class"], "三年级1班");
    assert_eq!(status_of(&app, &pupil_id).await, "transfer_pending");
    assert_eq!(events(&app, &pupil_id).await.last().unwrap(), "transfer_started");
    // One open application per student.
    let before = written(&app).await;
    refused(town.open_transfer(&transfer(&no, "转学甲", 1)).await, StatusCode::CONFLICT, "case.open_exists").await;
    assert_eq!(written(&app).await, before);
}

#[tokio::test]
async fn approvals_go_in_order_each_by_its_own_party() {
    let app = spawn_app().await;
    let [pid] = <[String; 1]>::try_from(enrol(&app, CENTRAL, vec![of_grade("次序生", 3, 111)]).await).unwrap();
    let no = student_no(&app, "次序生").await;
    let town = sign_in(&app, &format!("r{TOWN}")).await;
    let central = sign_in(&app, &format!("r{CENTRAL}")).await;
    let bureau = sign_in(&app, "bureau").await;
    let case = town.open_transfer(&transfer(&no, "次序生", 1)).await.json_with(StatusCode::CREATED).await;
    let id = case["id"].as_str().unwrap().to_owned();
    let approve = |stage: &str| json!({"stage": stage, "decision": "approve", "opinion": "同意"});

    let before = written(&app).await;
    // The bureau cannot decide a school's stage; a school cannot decide out of turn.
    let msg =
        refused(bureau.decide(&id, &approve("receiving_school")).await, StatusCode::FORBIDDEN, "workflow.school_step")
            .await;
    assert!(msg.contains("学校"), "{msg}");
    // The sending school is party to the case, but the receiving school's stage is not its own.
    assert_eq!(central.case(&id).await.status(), StatusCode::OK);
    let msg =
        refused(central.decide(&id, &approve("receiving_school")).await, StatusCode::FORBIDDEN, "workflow.school_step")
            .await;
    assert!(msg.contains("转入学校"), "{msg}");
    let msg =
        refused(central.decide(&id, &approve("sending_school")).await, StatusCode::CONFLICT, "case.stage_mismatch")
            .await;
    assert!(msg.contains("转入学校审核") && msg.contains("转出学校审核"), "{msg}");
    refused(bureau.decide(&id, &approve("receiving_bureau")).await, StatusCode::CONFLICT, "case.stage_mismatch").await;
    // The first approval needs the guardian's proof.
    let msg =
        refused(town.decide(&id, &approve("receiving_school")).await, StatusCode::CONFLICT, "case.proof_required")
            .await;
    assert!(msg.contains("证明材料"), "{msg}");
    // A refusal needs its reason.
    let msg = refused(
        town.decide(&id, &json!({"stage": "receiving_school", "decision": "refuse", "opinion": "  "})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "case.reason_required",
    )
    .await;
    assert!(msg.contains("理由"), "{msg}");
    assert_eq!(written(&app).await, before);
    assert_eq!(status_of(&app, &pid).await, "transfer_pending");

    town.case_proof(&id, "transfer_proof", "户口簿", 1).await;
    let case = town.approve(&id, "receiving_school", "同意接收", "王接收").await;
    assert_eq!(case["stage"], "receiving_bureau");
    assert_eq!(case["my_turn"], false, "the bureau's turn now");

    // A registrar cannot decide the bureau's stage.
    let before = written(&app).await;
    let msg =
        refused(town.decide(&id, &approve("receiving_bureau")).await, StatusCode::FORBIDDEN, "workflow.bureau_step")
            .await;
    assert!(msg.contains("教育局"), "{msg}");
    refused(central.decide(&id, &approve("receiving_bureau")).await, StatusCode::FORBIDDEN, "workflow.bureau_step")
        .await;
    assert_eq!(written(&app).await, before);
    bureau.approve(&id, "receiving_bureau", "同意", "李科长").await;
    let before = written(&app).await;
    let msg =
        refused(town.decide(&id, &approve("sending_school")).await, StatusCode::FORBIDDEN, "workflow.school_step")
            .await;
    assert!(msg.contains("转出学校"), "{msg}");
    refused(bureau.decide(&id, &approve("sending_school")).await, StatusCode::FORBIDDEN, "workflow.school_step").await;
    assert_eq!(written(&app).await, before);

    // The sending school refuses: the case closes, the student stays, with an event.
    let case = central
        .decide(
            &id,
            &json!({"stage": "sending_school", "decision": "refuse", "opinion": "监护人未到校确认，材料不全", "signer": "赵转出"}),
        )
        .await
        .json_with(StatusCode::OK)
        .await;
    assert_eq!(case["state"], "refused");
    assert_eq!(case["stage"], Value::Null);
    assert_eq!(case["closed_on"], "2026-11-29");
    snap_json!("case_transfer_refused", case);
    let steps: Vec<&str> = case["steps"].as_array().unwrap().iter().map(|s| s["decision"].as_str().unwrap()).collect();
    assert_eq!(steps, ["approve", "approve", "refuse"]);
    assert_eq!(status_of(&app, &pid).await, "active");
    assert_eq!(placement(&app, &pid).await.0, CENTRAL);
    let ev = events(&app, &pid).await;
    assert_eq!(ev[ev.len() - 2..], ["transfer_started", "transfer_stopped"]);
    let stopped = event_detail(&app, &pid, "transfer_stopped").await;
    assert_eq!(stopped["opinion"], "监护人未到校确认，材料不全");
    assert_eq!(stopped["stage"], "sending_school");
    // A closed case takes no more decisions.
    let before = written(&app).await;
    refused(bureau.decide(&id, &approve("sending_bureau")).await, StatusCode::CONFLICT, "case.closed").await;
    assert_eq!(written(&app).await, before);

    // A new application, withdrawn by the guardian: the student stays too.
    let case = town.open_transfer(&transfer(&no, "次序生", 1)).await.json_with(StatusCode::CREATED).await;
    let id = case["id"].as_str().unwrap();
    let before = written(&app).await;
    refused(
        central.withdraw_case(id, &json!({"reason": ""})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "field.required",
    )
    .await;
    assert_eq!(written(&app).await, before);
    let case = central.withdraw_case(id, &json!({"reason": "监护人撤回申请"})).await.json_with(StatusCode::OK).await;
    assert_eq!(case["state"], "withdrawn");
    assert_eq!(status_of(&app, &pid).await, "active");
    assert_eq!(events(&app, &pid).await.last().unwrap(), "transfer_stopped");
}

#[tokio::test]
async fn a_class_filled_meanwhile_stops_the_last_approval_and_changes_nothing() {
    let app = spawn_app().await;
    let [pid] = <[String; 1]>::try_from(enrol(&app, CENTRAL, vec![of_grade("满班生", 3, 115)]).await).unwrap();
    enrol(&app, TOWN, vec![of_grade("县城原有生", 3, 116)]).await;
    let town = sign_in(&app, &format!("r{TOWN}")).await;
    let central = sign_in(&app, &format!("r{CENTRAL}")).await;
    let bureau = sign_in(&app, "bureau").await;
    let case = town
        .open_transfer(&transfer(&student_no(&app, "满班生").await, "满班生", 1))
        .await
        .json_with(StatusCode::CREATED)
        .await;
    let id = case["id"].as_str().unwrap().to_owned();
    town.case_proof(&id, "transfer_proof", "户口簿", 5).await;
    town.approve(&id, "receiving_school", "同意", "王接收").await;
    bureau.approve(&id, "receiving_bureau", "同意", "李转入").await;
    central.approve(&id, "sending_school", "同意", "赵转出").await;
    // Meanwhile the receiving class reached its cap.
    let lower = |cap: i64| {
        let pool = app.db().pool.clone();
        async move {
            sqlx::query("UPDATE classes SET cap = $1 WHERE grade = 3 AND number = 1 AND school_id = (SELECT id FROM schools WHERE code = $2)")
                .bind(cap)
                .bind(TOWN)
                .execute(&pool)
                .await
                .unwrap();
        }
    };
    lower(1).await;
    let before = written(&app).await;
    refused(
        bureau.decide(&id, &json!({"stage": "sending_bureau", "decision": "approve"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "class.full",
    )
    .await;
    assert_eq!(written(&app).await, before);
    let case = bureau.case(&id).await.json_ok().await;
    assert_eq!((case["state"].as_str(), case["stage"].as_str()), (Some("open"), Some("sending_bureau")));
    assert_eq!(status_of(&app, &pid).await, "transfer_pending");
    assert_eq!(placement(&app, &pid).await.0, CENTRAL);
    lower(45).await;
    assert_eq!(bureau.approve(&id, "sending_bureau", "同意", "钱转出").await["state"], "completed");
    assert_eq!(placement(&app, &pid).await, (TOWN.to_owned(), 3, Some(3), Some(1)));
}

#[tokio::test]
async fn a_late_decision_is_recorded_late_and_the_waiting_case_is_listed_overdue() {
    let app = spawn_app().await;
    let [pid] = <[String; 1]>::try_from(enrol(&app, CENTRAL, vec![of_grade("迟办生", 3, 121)]).await).unwrap();
    let town = sign_in(&app, &format!("r{TOWN}")).await;
    let case = town
        .open_transfer(&transfer(&student_no(&app, "迟办生").await, "迟办生", 1))
        .await
        .json_with(StatusCode::CREATED)
        .await;
    let id = case["id"].as_str().unwrap().to_owned();
    town.case_proof(&id, "transfer_proof", "户口簿", 2).await;
    // On time so far.
    let items = sign_in(&app, "bureau").await.overdue().await.json_ok().await;
    assert!(overdue_for(&items, "approval_overdue", &pid).is_empty(), "{items}");

    // Two working days past the deadline of Friday 11 December.
    let later = app.restart_at(day(2026, 12, 15)).await;
    let bureau = sign_in(&later, "bureau").await;
    let items = bureau.overdue().await.json_ok().await;
    snap_json!("overdue_list", items);
    let found = overdue_for(&items, "approval_overdue", &pid);
    assert_eq!(found.len(), 1, "{items}");
    assert_eq!(found[0]["due"], "2026-12-11");
    assert_eq!(found[0]["days_overdue"], 2);
    assert_eq!(found[0]["school_code"], TOWN, "the receiving school is the one late");
    assert_eq!(found[0]["what"], "转学·转入学校审核");
    assert_eq!(found[0]["link"], format!("/cases/{id}"));
    // Each school party sees it; another school does not.
    let town_later = sign_in(&later, &format!("r{TOWN}")).await;
    assert_eq!(overdue_for(&town_later.overdue().await.json_ok().await, "approval_overdue", &pid).len(), 1);
    assert_eq!(
        overdue_for(
            &sign_in(&later, &format!("r{CENTRAL}")).await.overdue().await.json_ok().await,
            "approval_overdue",
            &pid
        )
        .len(),
        1
    );
    assert!(
        overdue_for(
            &sign_in(&later, &format!("r{JUNIOR}")).await.overdue().await.json_ok().await,
            "approval_overdue",
            &pid
        )
        .is_empty()
    );
    assert_eq!(town_later.case(&id).await.json_ok().await["overdue_days"], 2);

    let case = town_later.approve(&id, "receiving_school", "同意接收", "王接收").await;
    let step = &case["steps"][0];
    assert_eq!(
        (step["late"].as_bool(), step["due_on"].as_str(), step["decided_on"].as_str()),
        (Some(true), Some("2026-12-11"), Some("2026-12-15"))
    );
    let late: i64 = sqlx::query_scalar("SELECT late FROM case_steps").fetch_one(&app.db().pool).await.unwrap();
    assert_eq!(late, 1);
    // The next party has its own 10 working days.
    assert_eq!(case["stage_due"], "2026-12-29");
    assert_eq!(case["overdue_days"], 0);
    assert!(overdue_for(&bureau.overdue().await.json_ok().await, "approval_overdue", &pid).is_empty());
}

#[tokio::test]
async fn a_transfer_from_a_township_school_to_the_county_town_end_to_end() {
    let app = spawn_app().await;
    let [pid] = <[String; 1]>::try_from(enrol(&app, CENTRAL, vec![of_grade("全程生", 3, 131)]).await).unwrap();
    let no = student_no(&app, "全程生").await;
    let town = sign_in(&app, &format!("r{TOWN}")).await;
    let central = sign_in(&app, &format!("r{CENTRAL}")).await;
    let bureau = sign_in(&app, "bureau").await;

    // The guardian applies at the receiving school, which opens the case and scans the proof.
    let mut body = transfer(&no, "全程生", 1);
    body["apply_date"] = json!("2026-11-27");
    let case = town.open_transfer(&body).await.json_with(StatusCode::CREATED).await;
    let id = case["id"].as_str().unwrap().to_owned();
    let digest = town.case_proof(&id, "transfer_proof", "户口簿", 3).await;
    let case = town.case(&id).await.json_ok().await;
    snap_json!("case_view_township_transfer", case);
    assert_eq!(case["proofs"][0]["digest"], digest.as_str());
    assert_eq!(case["proofs"][0]["label"], "户口簿");

    // Four approvals, in order.
    let case = town.approve(&id, "receiving_school", "同意接收，编入三年级1班", "王接收").await;
    assert_eq!(case["stage"], "receiving_bureau");
    let case = bureau.approve(&id, "receiving_bureau", "同意转入县城小学", "李转入").await;
    assert_eq!(case["stage"], "sending_school");
    assert_eq!(sign_in(&app, &format!("r{CENTRAL}")).await.case(&id).await.json_ok().await["my_turn"], true);

    // The form at this stage shows the two opinions so far, and not the later ones;
    // its QR code opens a page that says so, and never 真实有效 like a certificate.
    let form = town.case_form(&id).await.bytes().await.unwrap();
    let [url] = <[String; 1]>::try_from(decode_qr(&form)).unwrap();
    let page = reqwest::get(&url).await.unwrap().text().await.unwrap();
    assert!(page.contains("系统签发") && page.contains("已同意 2 项，共需 4 项"), "{page}");
    assert!(!page.contains("真实有效"), "{page}");
    let text = pdftotext(&form);
    for expected in [
        "吉林省中小学生转学申请表",
        "全程生",
        no.as_str(),
        "测试镇中心小学",
        "测试县城小学",
        "户口簿",
        "2026年11月27日",
    ] {
        assert!(text.contains(expected), "{expected} printed: {text}");
    }
    for expected in ["同意接收，编入三年级1班", "王接收", "同意转入县城小学", "李转入"] {
        assert!(text.contains(expected), "{expected} printed: {text}");
    }
    for later in ["赵转出", "钱转出", "同意转出"] {
        assert!(!text.contains(later), "{later} not yet printed: {text}");
    }

    // The bureau does not scan the family's papers.
    let before = written(&app).await;
    refused(
        bureau.upload_case_proof(&id, "kind=transfer_proof&name=x.png", png(20, 20, 4)).await,
        StatusCode::FORBIDDEN,
        "workflow.school_step",
    )
    .await;
    assert_eq!(written(&app).await, before);

    // No package before the transfer is done.
    let before = written(&app).await;
    refused(central.hand_over_package(&id).await, StatusCode::CONFLICT, "case.not_completed_transfer").await;
    assert_eq!(written(&app).await, before);

    central.approve(&id, "sending_school", "同意转出", "赵转出").await;
    assert_eq!(status_of(&app, &pid).await, "transfer_pending", "not before the last approval");
    let case = bureau.approve(&id, "sending_bureau", "同意转出本县", "钱转出").await;
    assert_eq!(case["state"], "completed");
    assert_eq!(case["closed_on"], "2026-11-29");
    assert_eq!(case["handover_due"], "2026-12-29");
    let signers: Vec<&str> = case["steps"].as_array().unwrap().iter().map(|s| s["signer"].as_str().unwrap()).collect();
    assert_eq!(signers, ["王接收", "李转入", "赵转出", "钱转出"]);
    assert!(case["steps"].as_array().unwrap().iter().all(|s| s["late"] == false && s["by_hand"] == false));

    // The final form carries all four.
    let text = town.case_form(&id).await.pdf_text().await;
    for expected in ["王接收", "李转入", "同意转出", "赵转出", "同意转出本县", "钱转出"] {
        assert!(text.contains(expected), "{expected} printed: {text}");
    }

    // The student is in the new school, same grade, the chosen class; the history says how.
    assert_eq!(placement(&app, &pid).await, (TOWN.to_owned(), 3, Some(3), Some(1)));
    assert_eq!(status_of(&app, &pid).await, "active");
    let ev = events(&app, &pid).await;
    assert_eq!(ev[ev.len() - 2..], ["transfer_started", "transferred"]);
    let done = event_detail(&app, &pid, "transferred").await;
    assert_eq!((done["from_school"].as_str(), done["to_school"].as_str()), (Some(CENTRAL), Some(TOWN)));
    assert_eq!(done["case"], id.as_str());
    let record = town.student(&pid).await.json_ok().await;
    snap_json!("student_view_after_transfer", record);
    assert_eq!(record["student"]["school_code"], TOWN);
    assert_eq!(record["student"]["grade"], 3);
    assert_eq!(record["class_name"], "三年级1班");
    let kinds: Vec<&str> = record["history"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert!(kinds.ends_with(&["transfer_started", "transferred"]), "{kinds:?}");

    // The dossier: only the sending school exports it, only the receiving school files it.
    refused(town.hand_over_package(&id).await, StatusCode::FORBIDDEN, "workflow.school_step").await;
    let res = central.hand_over_package(&id).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/zip");
    let package = res.bytes().await.unwrap().to_vec();
    let case = bureau.case(&id).await.json_ok().await;
    assert_eq!((case["handed_over_on"].as_str(), case["received_on"].as_str()), (Some("2026-11-29"), None));
    assert_eq!(app.audit_count("case.handover", &id, "ok").await, 1);
    refused(central.receive_package(&id, package.clone()).await, StatusCode::FORBIDDEN, "workflow.school_step").await;
    let res = town.receive_package(&id, package).await;
    let status = res.status();
    let imported: Value = res.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{imported}");
    assert_eq!(imported["public_id"], pid.as_str());
    let case = town.case(&id).await.json_ok().await;
    assert_eq!(
        (case["handed_over_on"].as_str(), case["received_on"].as_str()),
        (Some("2026-11-29"), Some("2026-11-29"))
    );

    // The receiving school now sees the student and the dossier; the sending school no longer does.
    let dossier = town.dossier(&pid).await.json_ok().await;
    assert!(dossier.to_string().contains(&digest), "the proof is in the dossier: {dossier}");
    assert_eq!(central.student(&pid).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(central.dossier(&pid).await.status(), StatusCode::NOT_FOUND);
    // Nothing about the handover is overdue.
    assert!(bureau.overdue().await.json_ok().await.as_array().unwrap().iter().all(|i| i["kind"] != "handover_overdue"));
}

#[tokio::test]
async fn an_external_transfer_records_the_other_sides_approvals_with_their_scans() {
    let app = spawn_app().await;
    let [pid] = <[String; 1]>::try_from(enrol(&app, CENTRAL, vec![of_grade("外转生", 4, 141)]).await).unwrap();
    let central = sign_in(&app, &format!("r{CENTRAL}")).await;
    let bureau = sign_in(&app, "bureau").await;
    let school_paper = central.scan(&pid, "transfer_proof", 41).await;
    let bureau_paper = central.scan(&pid, "transfer_proof", 42).await;
    let household = central.scan(&pid, "household_register", 43).await;
    let approval = |stage: &str, signer: &str, proof: &str| json!({"stage": stage, "decision": "approve", "opinion": "同意接收", "signer": signer, "date": "2026-11-20", "proof": proof});
    let body = |approvals: Vec<Value>| {
        json!({
            "student": pid,
            "external": {"province": "辽宁省", "county": "沈阳市和平区", "school": "和平区第一小学", "approvals": approvals},
            "reason": "随父母工作调动", "guardian_name": "张建国",
            "proofs": [{"digest": household, "label": "户口簿"}],
        })
    };

    let before = written(&app).await;
    // The receiving bureau's approval is missing.
    let msg = refused(
        central.open_transfer(&body(vec![approval("receiving_school", "沈校长", &school_paper)])).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "transfer.external_approval_missing",
    )
    .await;
    assert!(msg.contains("转入地教育局审核"), "{msg}");
    // Its scan is missing.
    let msg = refused(
        central
            .open_transfer(&body(vec![
                    approval("receiving_school", "沈校长", &school_paper),
                    json!({"stage": "receiving_bureau", "decision": "approve", "opinion": "同意", "signer": "沈科长", "date": "2026-11-21"}),
                ]))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "transfer.external_approval_missing",
    )
    .await;
    assert!(msg.contains("扫描件"), "{msg}");
    // Its scan is not in the student's dossier.
    let elsewhere = xueji_archive::Digest::of("a paper never scanned here".as_bytes()).to_string();
    refused(
        central
            .open_transfer(&body(vec![
                approval("receiving_school", "沈校长", &school_paper),
                approval("receiving_bureau", "沈科长", &elsewhere),
            ]))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "proof.not_in_dossier",
    )
    .await;
    assert_eq!(written(&app).await, before);
    assert_eq!(status_of(&app, &pid).await, "active");

    // Both recorded by hand: the case waits for the sending school.
    let case = central
        .open_transfer(&body(vec![
            approval("receiving_school", "沈校长", &school_paper),
            approval("receiving_bureau", "沈科长", &bureau_paper),
        ]))
        .await
        .json_with(StatusCode::CREATED)
        .await;
    let id = case["id"].as_str().unwrap().to_owned();
    assert_eq!(case["stage"], "sending_school");
    assert_eq!(case["to_school"], Value::Null);
    assert_eq!(case["detail"]["to_school"], "和平区第一小学");
    let steps = case["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2);
    assert!(steps.iter().all(|s| s["by_hand"] == true));
    assert_eq!(
        (steps[0]["proof"].as_str(), steps[1]["proof"].as_str()),
        (Some(school_paper.as_str()), Some(bureau_paper.as_str()))
    );
    assert_eq!(case["proofs"].as_array().unwrap().len(), 3);
    assert_eq!(status_of(&app, &pid).await, "transfer_pending");
    // The form shows the other side's approvals as recorded.
    let text = central.case_form(&id).await.pdf_text().await;
    for expected in ["辽宁省", "和平区第一小学", "沈校长", "沈科长", "四年级"] {
        assert!(text.contains(expected), "{expected} printed: {text}");
    }

    central.approve(&id, "sending_school", "同意转出", "赵转出").await;
    let case = bureau.approve(&id, "sending_bureau", "同意", "钱转出").await;
    assert_eq!(case["state"], "completed");
    assert_eq!(case["handover_due"], "2026-12-29");
    assert_eq!(status_of(&app, &pid).await, "transferred_out");
    let out = event_detail(&app, &pid, "transferred_out").await;
    assert_eq!((out["to_school"].as_str(), out["to_county"].as_str()), (Some("和平区第一小学"), Some("沈阳市和平区")));
    // The record left the system: it stays closed.
    let before = written(&app).await;
    refused(
        central.apply_suspension(&pid, &application("因病")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "status.transition",
    )
    .await;
    assert_eq!(written(&app).await, before);

    // A month on, the paper file not yet handed over shows as overdue (Art. 21, 34) until it is.
    let later = app.restart_at(day(2027, 1, 4)).await;
    let bureau = sign_in(&later, "bureau").await;
    let items = bureau.overdue().await.json_ok().await;
    let found = overdue_for(&items, "handover_overdue", &pid);
    assert_eq!(found.len(), 1, "{items}");
    assert_eq!((found[0]["due"].as_str(), found[0]["days_overdue"].as_i64()), (Some("2026-12-29"), Some(6)));
    assert_eq!(found[0]["school_code"], CENTRAL);
    let res = sign_in(&later, &format!("r{CENTRAL}")).await.hand_over_package(&id).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(bureau.case(&id).await.json_ok().await["handed_over_on"], "2027-01-04");
    assert!(overdue_for(&bureau.overdue().await.json_ok().await, "handover_overdue", &pid).is_empty());
}

#[tokio::test]
async fn going_abroad_is_approved_and_the_record_continues_on_return() {
    let app = spawn_app().await;
    let [pid] = <[String; 1]>::try_from(enrol(&app, TOWN, vec![of_grade("出境生", 4, 145)]).await).unwrap();
    let no = student_no(&app, "出境生").await;
    let town = sign_in(&app, &format!("r{TOWN}")).await;
    let bureau = sign_in(&app, "bureau").await;

    let before = written(&app).await;
    refused(
        town.apply_abroad(&pid, &json!({"departure_date": "2026-11-25", "country": " ", "guardian_name": "张建国"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "field.required",
    )
    .await;
    refused(
        town.apply_abroad(
            &pid,
            &json!({"departure_date": "2026-13-01", "country": "新加坡", "guardian_name": "张建国"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "date.invalid",
    )
    .await;
    assert_eq!(written(&app).await, before);

    let body = json!({"departure_date": "2026-11-25", "country": "新加坡", "reason": "随父母出国就读", "guardian_name": "张建国"});
    let case = town.apply_abroad(&pid, &body).await.json_with(StatusCode::CREATED).await;
    let id = case["id"].as_str().unwrap().to_owned();
    assert_eq!(case["stage"], "school");
    town.case_proof(&id, "transfer_proof", "护照及签证", 45).await;
    town.approve(&id, "school", "同意", "周校长").await;
    // The transfer form names the country and the departure date.
    let text = town.case_form(&id).await.pdf_text().await;
    for expected in ["新加坡", "出境就读", "2026-11-25", "周校长"] {
        assert!(text.contains(expected), "{expected} printed: {text}");
    }
    assert_eq!(status_of(&app, &pid).await, "active", "not before the bureau approves");
    bureau.approve(&id, "bureau", "同意", "吴科长").await;
    assert_eq!(status_of(&app, &pid).await, "abroad");
    let detail = event_detail(&app, &pid, "abroad").await;
    assert_eq!((detail["country"].as_str(), detail["departure_date"].as_str()), (Some("新加坡"), Some("2026-11-25")));
    let since: Option<String> = sqlx::query_scalar("SELECT status_since FROM students WHERE public_id = $1")
        .bind(&pid)
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    assert_eq!(since.as_deref(), Some("2026-11-25"));

    // Back: placed in another grade, the class must be named; then the same record continues.
    let before = written(&app).await;
    refused(
        town.record_return(&pid, &json!({"returned_on": "2026-11-29", "grade": 5})).await,
        StatusCode::BAD_REQUEST,
        "return.class_required",
    )
    .await;
    assert_eq!(written(&app).await, before);
    let answer = town
        .record_return(&pid, &json!({"returned_on": "2026-11-29", "grade": 5, "class_number": 1}))
        .await
        .json_with(StatusCode::OK)
        .await;
    assert_eq!(answer["status"], "active");
    assert_eq!(placement(&app, &pid).await, (TOWN.to_owned(), 5, Some(5), Some(1)));
    assert_eq!(student_no(&app, "出境生").await, no);
    assert_eq!(events(&app, &pid).await.last().unwrap(), "returned_from_abroad");
}

// ---- suspension, renewal, resumption (Art. 22-24) ----

#[tokio::test]
async fn suspension_then_renewal_then_resumption_into_the_next_grade() {
    let app = spawn_app().await;
    let [pid] = <[String; 1]>::try_from(enrol(&app, TOWN, vec![of_grade("休学生", 3, 151)]).await).unwrap();
    let town = sign_in(&app, &format!("r{TOWN}")).await;
    let bureau = sign_in(&app, "bureau").await;

    let case = town.apply_suspension(&pid, &application("因病住院治疗")).await.json_with(StatusCode::CREATED).await;
    let id = case["id"].as_str().unwrap().to_owned();
    assert_eq!(case["stage"], "school");
    assert_eq!(
        (case["detail"]["start_date"].as_str(), case["detail"]["end_date"].as_str()),
        (Some("2026-11-29"), Some("2027-11-28"))
    );
    // The school cannot approve before the proof is scanned.
    let before = written(&app).await;
    refused(
        town.decide(&id, &json!({"stage": "school", "decision": "approve"})).await,
        StatusCode::CONFLICT,
        "case.proof_required",
    )
    .await;
    assert_eq!(written(&app).await, before);
    town.case_proof(&id, "diagnosis", "县医院诊断证明", 51).await;
    town.approve(&id, "school", "情况属实，同意休学", "周校长").await;
    assert_eq!(status_of(&app, &pid).await, "active", "not before the bureau approves");
    let case = bureau.approve(&id, "bureau", "同意休学一年", "吴科长").await;
    assert_eq!(case["state"], "completed");
    assert_eq!(status_of(&app, &pid).await, "suspended");
    let (since, until): (Option<String>, Option<String>) =
        sqlx::query_as("SELECT status_since, status_until FROM students WHERE public_id = $1")
            .bind(&pid)
            .fetch_one(&app.db().pool)
            .await
            .unwrap();
    assert_eq!((since.as_deref(), until.as_deref()), (Some("2026-11-29"), Some("2027-11-28")), "one year less a day");
    assert_eq!(event_detail(&app, &pid, "suspended").await["end_date"], "2027-11-28");

    // The form: 休学, the reason, both approvals.
    let text = town.case_form(&id).await.pdf_text().await;
    for expected in [
        "吉林省中小学生休学、复学申请表",
        "■休学",
        "因病住院治疗",
        "县医院诊断证明",
        "情况属实，同意休学",
        "周校长",
        "同意休学一年",
        "吴科长",
        "2027年11月28日",
    ] {
        assert!(text.contains(expected), "{expected} printed: {text}");
    }

    // Near its end the school is reminded; after it, the bureau sees it expired.
    let soon = app.restart_at(day(2027, 11, 10)).await;
    let items = sign_in(&soon, &format!("r{TOWN}")).await.overdue().await.json_ok().await;
    let ending = overdue_for(&items, "suspension_ending", &pid);
    assert_eq!((ending.len(), ending[0]["days_overdue"].as_i64()), (1, Some(-18)), "{items}");
    drop(soon);
    let expired = app.restart_at(day(2027, 12, 1)).await;
    let items = sign_in(&expired, "bureau").await.overdue().await.json_ok().await;
    let found = overdue_for(&items, "suspension_expired", &pid);
    assert_eq!(found.len(), 1, "{items}");
    assert_eq!((found[0]["due"].as_str(), found[0]["days_overdue"].as_i64()), (Some("2027-11-28"), Some(3)));
    drop(expired);

    // Renewal with new proof: one more year from the day after.
    let proof = town.scan(&pid, "diagnosis", 52).await;
    let mut renewal = application("仍需住院治疗");
    renewal["proofs"] = json!([{"digest": proof, "label": "复查诊断证明"}]);
    let case = town.apply_renewal(&pid, &renewal).await.json_with(StatusCode::CREATED).await;
    let id = case["id"].as_str().unwrap().to_owned();
    assert_eq!(
        (case["detail"]["start_date"].as_str(), case["detail"]["end_date"].as_str()),
        (Some("2027-11-29"), Some("2028-11-28"))
    );
    town.approve(&id, "school", "同意续办", "周校长").await;
    bureau.approve(&id, "bureau", "同意", "吴科长").await;
    let (since, until): (Option<String>, Option<String>) =
        sqlx::query_as("SELECT status_since, status_until FROM students WHERE public_id = $1")
            .bind(&pid)
            .fetch_one(&app.db().pool)
            .await
            .unwrap();
    assert_eq!((since.as_deref(), until.as_deref()), (Some("2026-11-29"), Some("2028-11-28")));
    assert_eq!(status_of(&app, &pid).await, "suspended");
    assert_eq!(events(&app, &pid).await.last().unwrap(), "suspension_renewed");

    // Resumption into the next grade, as the family asks.
    let before = written(&app).await;
    let mut resume = application("病愈复学");
    resume["resume_grade"] = json!("later");
    resume["class_number"] = json!(1);
    refused(town.apply_resumption(&pid, &resume).await, StatusCode::UNPROCESSABLE_ENTITY, "resumption.grade").await;
    resume["resume_grade"] = json!("next");
    resume["class_number"] = json!(7);
    refused(town.apply_resumption(&pid, &resume).await, StatusCode::UNPROCESSABLE_ENTITY, "class.not_found").await;
    assert_eq!(written(&app).await, before);
    resume["class_number"] = json!(1);
    let proof = town.scan(&pid, "diagnosis", 53).await;
    resume["proofs"] = json!([{"digest": proof, "label": "康复证明"}]);
    let case = town.apply_resumption(&pid, &resume).await.json_with(StatusCode::CREATED).await;
    let id = case["id"].as_str().unwrap().to_owned();
    assert_eq!(case["detail"]["resume_class"], "四年级1班");
    let text = town.case_form(&id).await.pdf_text().await;
    assert!(text.contains("■复学") && text.contains("四年级"), "{text}");
    town.approve(&id, "school", "同意复学", "周校长").await;
    bureau.approve(&id, "bureau", "同意", "吴科长").await;
    assert_eq!(status_of(&app, &pid).await, "active");
    assert_eq!(placement(&app, &pid).await, (TOWN.to_owned(), 4, Some(4), Some(1)));
    assert_eq!(event_detail(&app, &pid, "resumed").await["grade"], 4);
    let until: Option<String> = sqlx::query_scalar("SELECT status_until FROM students WHERE public_id = $1")
        .bind(&pid)
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    assert_eq!(until, None, "no end date once back");
}

#[tokio::test]
async fn the_graduating_year_suspends_only_with_the_bureaus_reason_and_a_graduate_never() {
    let app = spawn_app().await;
    let [sixth, graduate] = <[String; 2]>::try_from(
        enrol(&app, TOWN, vec![of_grade("六年休学生", 6, 161), of_grade("已毕业生", 6, 162)]).await,
    )
    .unwrap();
    set_status(&app, &graduate, "graduated").await;
    let town = sign_in(&app, &format!("r{TOWN}")).await;
    let bureau = sign_in(&app, "bureau").await;

    let before = written(&app).await;
    let msg = refused(
        town.apply_suspension(&sixth, &application("因病")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "suspension.graduating_year",
    )
    .await;
    assert!(msg.contains("毕业年级") && msg.contains("第二十二条"), "{msg}");
    let mut with_reason = application("因病");
    with_reason["override_reason"] = json!("重病住院，经局长办公会同意");
    refused(town.apply_suspension(&sixth, &with_reason).await, StatusCode::FORBIDDEN, "case.override_bureau_only")
        .await;
    let msg = refused(
        town.apply_suspension(&graduate, &application("因病")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "status.transition",
    )
    .await;
    assert!(msg.contains("毕业"), "{msg}");
    refused(
        bureau.apply_suspension(&graduate, &with_reason).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "status.transition",
    )
    .await;
    assert_eq!(written(&app).await, before);

    // With the bureau's reason on record it goes through the usual approvals.
    let case = bureau.apply_suspension(&sixth, &with_reason).await.json_with(StatusCode::CREATED).await;
    let id = case["id"].as_str().unwrap().to_owned();
    assert_eq!(case["override_reason"], "重病住院，经局长办公会同意");
    town.case_proof(&id, "diagnosis", "诊断证明", 61).await;
    town.approve(&id, "school", "同意", "周校长").await;
    bureau.approve(&id, "bureau", "同意", "吴科长").await;
    assert_eq!(status_of(&app, &sixth).await, "suspended");
}

// ---- dropout, recall, return (Art. 27, 29) ----

#[tokio::test]
async fn a_dropout_is_reported_recalled_by_notice_and_returns() {
    let app = spawn_app().await;
    let [pid, long] =
        <[String; 2]>::try_from(enrol(&app, TOWN, vec![of_grade("缺课生", 3, 171), of_grade("久缺生", 3, 172)]).await)
            .unwrap();
    let town = sign_in(&app, &format!("r{TOWN}")).await;
    let bureau = sign_in(&app, "bureau").await;

    // Three days is not a week; nine days is not a month.
    let before = written(&app).await;
    let msg = refused(
        town.suspect_dropout(&pid, &json!({"absent_since": "2026-11-26"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "dropout.too_soon",
    )
    .await;
    assert!(msg.contains("一周"), "{msg}");
    refused(
        town.suspect_dropout(&pid, &json!({"absent_since": "2026-12-01"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "date.future",
    )
    .await;
    refused(
        bureau.suspect_dropout(&pid, &json!({"absent_since": "2026-11-20"})).await,
        StatusCode::FORBIDDEN,
        "workflow.school_step",
    )
    .await;
    assert_eq!(written(&app).await, before);
    let answer = town
        .suspect_dropout(&pid, &json!({"absent_since": "2026-11-20", "note": "电话联系不上"}))
        .await
        .json_with(StatusCode::OK)
        .await;
    assert_eq!(answer["status"], "suspected_dropout");
    assert_eq!(event_detail(&app, &pid, "dropout_suspected").await["reported_to_bureau"], "2026-11-29");
    let before = written(&app).await;
    let msg = refused(
        town.report_dropout(&pid, &json!({"absent_since": "2026-11-20"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "dropout.too_soon",
    )
    .await;
    assert!(msg.contains("一个月"), "{msg}");
    // The return-by date lies ahead.
    refused(
        town.issue_recall(
            &pid,
            &json!({"return_by": "2026-11-29", "contact_person": "周老师", "contact_phone": "043185551234"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "recall.return_by",
    )
    .await;
    // A recall notice only for a (suspected) dropout.
    refused(
        town.issue_recall(&long, &json!({"contact_person": "周老师", "contact_phone": "043185551234"})).await,
        StatusCode::CONFLICT,
        "recall.not_dropout",
    )
    .await;
    assert_eq!(written(&app).await, before);

    // The recall notice, numbered, with its return-by date, printed.
    let answer = town
        .issue_recall(
            &pid,
            &json!({"return_by": "2026-12-15", "contact_person": "周老师", "contact_phone": "043185551234"}),
        )
        .await
        .json_with(StatusCode::CREATED)
        .await;
    let number = answer["recall"]["number"].as_str().unwrap().to_owned();
    assert_eq!(number, format!("QF2026{TOWN}001"));
    assert_eq!(answer["recall"]["return_by"], "2026-12-15");
    assert_eq!(answer["recall"]["absent_since"], "2026-11-20");
    let text = town.document(&pid, "recall_notice").await.pdf_text().await;
    for expected in
        ["劝返复学通知书", number.as_str(), "2026年12月15日", "2026年11月20日", "缺课生", "周老师", "043185551234"]
    {
        assert!(text.contains(expected), "{expected} printed: {text}");
    }
    // Delivered once, to the guardian.
    let recall = town
        .record_recall_delivery(&json!({"number": number, "delivered_on": "2026-11-29", "delivered_to": "缺课生家长"}))
        .await
        .json_with(StatusCode::OK)
        .await;
    assert_eq!((recall["delivered_on"].as_str(), recall["delivery"].as_str()), (Some("2026-11-29"), Some("当面送达")));
    let before = written(&app).await;
    refused(
        town.record_recall_delivery(&json!({"number": number, "delivered_on": "2026-11-29", "delivered_to": "家长"}))
            .await,
        StatusCode::CONFLICT,
        "recall.delivered",
    )
    .await;
    assert_eq!(written(&app).await, before);
    let list = town.recalls(&pid).await.json_ok().await;
    snap_json!("recalls_list", list);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["delivered_to"], "缺课生家长");

    // Back at school.
    let answer = town.record_return(&pid, &json!({"returned_on": "2026-11-29"})).await.json_with(StatusCode::OK).await;
    assert_eq!(answer["status"], "active");
    assert_eq!(placement(&app, &pid).await, (TOWN.to_owned(), 3, Some(3), Some(1)));
    assert_eq!(town.recalls(&pid).await.json_ok().await[0]["returned_on"], "2026-11-29");
    let ev = events(&app, &pid).await;
    assert_eq!(ev[ev.len() - 4..], ["dropout_suspected", "recall_issued", "recall_delivered", "returned"]);

    // Absent over a month and still only "suspected": overdue until reported as a dropout.
    town.suspect_dropout(&long, &json!({"absent_since": "2026-10-10"})).await.json_with(StatusCode::OK).await;
    let items = bureau.overdue().await.json_ok().await;
    let found = overdue_for(&items, "dropout_unreported", &long);
    assert_eq!(found.len(), 1, "{items}");
    assert_eq!((found[0]["due"].as_str(), found[0]["days_overdue"].as_i64()), (Some("2026-11-10"), Some(19)));
    let answer =
        town.report_dropout(&long, &json!({"absent_since": "2026-10-10"})).await.json_with(StatusCode::OK).await;
    assert_eq!(answer["status"], "dropout");
    assert!(overdue_for(&bureau.overdue().await.json_ok().await, "dropout_unreported", &long).is_empty());
    // The record is kept (Art. 29).
    assert_eq!(town.student(&long).await.json_ok().await["student"]["status"], "dropout");
    // A recall whose deadline passes without the student back is overdue.
    let answer = town
        .issue_recall(
            &long,
            &json!({"return_by": "2026-12-10", "contact_person": "周老师", "contact_phone": "043185551234"}),
        )
        .await
        .json_with(StatusCode::CREATED)
        .await;
    let number = answer["recall"]["number"].as_str().unwrap().to_owned();
    assert_eq!(number, format!("QF2026{TOWN}002"));
    assert!(overdue_for(&bureau.overdue().await.json_ok().await, "recall_overdue", &long).is_empty());
    let later = app.restart_at(day(2026, 12, 14)).await;
    let items = sign_in(&later, &format!("r{TOWN}")).await.overdue().await.json_ok().await;
    let found = overdue_for(&items, "recall_overdue", &long);
    assert_eq!(found.len(), 1, "{items}");
    assert_eq!((found[0]["what"].as_str(), found[0]["days_overdue"].as_i64()), (Some(number.as_str()), Some(4)));
}

#[tokio::test]
async fn there_is_no_way_to_withdraw_or_expel_a_student() {
    let app = spawn_app().await;
    let [pid] = <[String; 1]>::try_from(enrol(&app, TOWN, vec![of_grade("在读生", 3, 181)]).await).unwrap();
    let town = sign_in(&app, &format!("r{TOWN}")).await;
    let bureau = sign_in(&app, "bureau").await;
    let before = written(&app).await;
    for who in [&town, &bureau] {
        for path in ["expel", "expulsion", "withdraw", "withdrawal", "leave"] {
            let res = who.send_json(&format!("/api/students/{pid}/{path}"), &json!({"reason": "劝退"})).await;
            assert!(
                matches!(res.status(), StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED),
                "{path}: {}",
                res.status()
            );
        }
    }
    assert_eq!(written(&app).await, before);
    assert_eq!(status_of(&app, &pid).await, "active");
}

// ---- death, missing (Art. 28) ----

#[tokio::test]
async fn a_death_is_recorded_with_proof_in_time_or_late_and_closes_the_record() {
    let app = spawn_app().await;
    let [pid, late_pid] =
        <[String; 2]>::try_from(enrol(&app, TOWN, vec![of_grade("逝者甲", 3, 191), of_grade("逝者乙", 3, 192)]).await)
            .unwrap();
    let town = sign_in(&app, &format!("r{TOWN}")).await;
    let central = sign_in(&app, &format!("r{CENTRAL}")).await;

    let before = written(&app).await;
    let msg = refused(
        town.record_death(&pid, &json!({"died_on": "2026-11-20", "proofs": []})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "death.proof_required",
    )
    .await;
    assert!(msg.contains("第二十八条"), "{msg}");
    let elsewhere = xueji_archive::Digest::of("not scanned".as_bytes()).to_string();
    refused(
        town.record_death(&pid, &json!({"died_on": "2026-11-20", "proofs": [elsewhere]})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "proof.not_in_dossier",
    )
    .await;
    assert_eq!(written(&app).await, before);

    // Within 10 working days (Friday 20 November → Friday 4 December).
    let proof = town.scan(&pid, "death_certificate", 91).await;
    let answer = town
        .record_death(&pid, &json!({"died_on": "2026-11-20", "proofs": [proof]}))
        .await
        .json_with(StatusCode::OK)
        .await;
    assert_eq!((answer["due"].as_str(), answer["late"].as_bool()), (Some("2026-12-04"), Some(false)));
    assert_eq!(status_of(&app, &pid).await, "deceased");
    let detail = event_detail(&app, &pid, "deceased").await;
    assert_eq!(detail["late"], false);
    let proofs: String = sqlx::query_scalar(
        "SELECT e.proofs FROM student_events e JOIN students s ON s.id = e.student_id WHERE s.public_id = $1 AND e.kind = 'deceased'",
    )
    .bind(&pid)
    .fetch_one(&app.db().pool)
    .await
    .unwrap();
    assert!(proofs.contains(&proof));
    // Reported after its deadline (Sunday 1 November → Friday 13 November): recorded, marked late.
    let proof = town.scan(&late_pid, "death_certificate", 92).await;
    // An open application is withdrawn first.
    let case = town.apply_suspension(&late_pid, &application("因病")).await.json_with(StatusCode::CREATED).await;
    let before = written(&app).await;
    refused(
        town.record_death(&late_pid, &json!({"died_on": "2026-11-01", "proofs": [proof]})).await,
        StatusCode::CONFLICT,
        "case.open_exists",
    )
    .await;
    assert_eq!(written(&app).await, before);
    town.withdraw_case(case["id"].as_str().unwrap(), &json!({"reason": "学生已故"}))
        .await
        .json_with(StatusCode::OK)
        .await;
    let answer = town
        .record_death(&late_pid, &json!({"died_on": "2026-11-01", "proofs": [proof]}))
        .await
        .json_with(StatusCode::OK)
        .await;
    assert_eq!((answer["due"].as_str(), answer["late"].as_bool()), (Some("2026-11-13"), Some(true)));
    assert_eq!(event_detail(&app, &late_pid, "deceased").await["late"], true);

    // Afterwards every action is refused, and nothing is written.
    let proof = town.scan(&pid, "other", 93).await;
    let no = student_no(&app, "逝者甲").await;
    let mut resume = application("复学");
    resume["resume_grade"] = json!("same");
    resume["class_number"] = json!(1);
    let before = written(&app).await;
    let attempts: Vec<(&Session, &str, Value)> = vec![
        (&central, "transfer", transfer(&no, "逝者甲", 1)),
        (&town, "suspension", application("休学")),
        (&town, "renewal", application("续办")),
        (&town, "resumption", resume),
        (&town, "abroad", json!({"departure_date": "2026-12-01", "country": "日本", "guardian_name": "张建国"})),
        (&town, "info-change", json!({"changes": {"current_address": "新址"}, "guardian_name": "张建国"})),
        (&town, "dropout/suspected", json!({"absent_since": "2026-11-01"})),
        (&town, "dropout", json!({"absent_since": "2026-10-01"})),
        (&town, "return", json!({"returned_on": "2026-11-29"})),
        (&town, "missing", json!({"since": "2026-11-25", "kind": "missing"})),
        (&town, "death", json!({"died_on": "2026-11-20", "proofs": [proof]})),
    ];
    for (who, action, body) in &attempts {
        let res = match *action {
            "transfer" => who.open_transfer(body).await,
            action => who.student_action(&pid, action, body).await,
        };
        let msg = refused(res, StatusCode::UNPROCESSABLE_ENTITY, "status.transition").await;
        assert!(msg.contains("死亡注销"), "{action}: {msg}");
    }
    assert_eq!(written(&app).await, before);
    assert_eq!(
        audit_details(&app, "student.deceased", &pid, "refused").await,
        ["code=death.proof_required", "code=proof.not_in_dossier", "code=status.transition"]
    );
}

#[tokio::test]
async fn a_missing_or_detained_student_is_reported_kept_and_returns() {
    let app = spawn_app().await;
    let [pid, held] =
        <[String; 2]>::try_from(enrol(&app, TOWN, vec![of_grade("失踪生", 3, 201), of_grade("羁押生", 6, 202)]).await)
            .unwrap();
    let town = sign_in(&app, &format!("r{TOWN}")).await;

    let before = written(&app).await;
    refused(
        town.report_missing(&pid, &json!({"since": "2026-11-25", "kind": "lost"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "missing.kind",
    )
    .await;
    refused(
        town.record_return(&pid, &json!({"returned_on": "2026-11-29"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "status.transition",
    )
    .await;
    assert_eq!(written(&app).await, before);

    let answer = town
        .report_missing(&pid, &json!({"since": "2026-11-25", "kind": "missing"}))
        .await
        .json_with(StatusCode::OK)
        .await;
    assert_eq!(answer["status"], "missing");
    let detail = event_detail(&app, &pid, "missing_reported").await;
    assert_eq!((detail["kind"].as_str(), detail["reported_to_bureau"].as_str()), (Some("失踪"), Some("2026-11-29")));
    // The record is kept where it was.
    let record = town.student(&pid).await.json_ok().await;
    assert_eq!(record["student"]["status"], "missing");
    assert_eq!(placement(&app, &pid).await, (TOWN.to_owned(), 3, Some(3), Some(1)));
    let answer = town.record_return(&pid, &json!({"returned_on": "2026-11-29"})).await.json_with(StatusCode::OK).await;
    assert_eq!(answer["status"], "active");
    assert_eq!(events(&app, &pid).await.last().unwrap(), "found");

    let answer = town
        .report_missing(&held, &json!({"since": "2026-11-28", "kind": "detained"}))
        .await
        .json_with(StatusCode::OK)
        .await;
    assert_eq!(answer["status"], "missing");
    assert_eq!(event_detail(&app, &held, "missing_reported").await["kind"], "被刑事拘留");
}

// ---- graduation, promotion, junior intake (Art. 10, 25-26) ----

/// The line of one school in a yearly preview.
fn line<'a>(preview: &'a Value, code: &str) -> &'a Value {
    preview["schools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["code"] == code)
        .unwrap_or_else(|| panic!("{code} in {preview}"))
}

#[tokio::test]
async fn graduation_then_promotion_each_in_its_window_and_only_once() {
    let app = spawn_app().await;
    add_class(&app, TOWN, 3, 2).await;
    let mut in_class_two = of_grade("三年乙", 3, 214);
    in_class_two.class = "2".into();
    let [six, six_away, three, three_b, three_away] = <[String; 5]>::try_from(
        enrol(
            &app,
            TOWN,
            vec![
                of_grade("六年甲", 6, 211),
                of_grade("六年休", 6, 212),
                of_grade("三年甲", 3, 213),
                in_class_two,
                of_grade("三年休", 3, 215),
            ],
        )
        .await,
    )
    .unwrap();
    let [nine, eight] = <[String; 2]>::try_from(
        enrol(&app, JUNIOR, vec![of_grade("九年甲", 9, 216), of_grade("八年甲", 8, 217)]).await,
    )
    .unwrap();
    set_status(&app, &six_away, "suspended").await;
    set_status(&app, &three_away, "suspended").await;

    // Only the bureau runs them.
    let town = sign_in(&app, &format!("r{TOWN}")).await;
    let before = written(&app).await;
    assert_eq!(town.graduation_preview(2027).await.status(), StatusCode::FORBIDDEN);
    refused(town.run_graduation(2027, &json!({})).await, StatusCode::FORBIDDEN, "workflow.bureau_step").await;

    // 20 May: too early for either.
    let may = app.restart_at(day(2027, 5, 20)).await;
    let bureau = sign_in(&may, "bureau").await;
    let msg =
        refused(bureau.run_graduation(2027, &json!({})).await, StatusCode::CONFLICT, "graduation.too_early").await;
    assert!(msg.contains("6月1日"), "{msg}");
    let msg = refused(bureau.run_promotion(2027, &json!({})).await, StatusCode::CONFLICT, "promotion.too_early").await;
    assert!(msg.contains("8月10日"), "{msg}");
    let preview = bureau.graduation_preview(2027).await.json_ok().await;
    snap_json!("graduation_preview", preview);
    assert_eq!(preview["allowed"], false);
    assert!(preview["refusal"].as_str().unwrap().contains("6月1日"));
    assert_eq!(written(&app).await, before);
    drop(may);

    // 15 June: the preview counts without changing anything; the run graduates the active ones.
    let june = app.restart_at(day(2027, 6, 15)).await;
    let bureau = sign_in(&june, "bureau").await;
    let preview = bureau.graduation_preview(2027).await.json_ok().await;
    assert_eq!(
        (preview["allowed"].as_bool(), preview["needs_late_reason"].as_bool()),
        (Some(true), Some(false)),
        "{preview}"
    );
    assert_eq!(preview["total"], 2);
    assert_eq!(preview["ran_at"], Value::Null);
    assert_eq!(line(&preview, TOWN)["moving"], 1);
    assert_eq!(line(&preview, TOWN)["staying"], json!([["休学", 1]]));
    assert_eq!(line(&preview, JUNIOR)["moving"], 1);
    assert_eq!(written(&app).await, before);
    let summary = bureau.run_graduation(2027, &json!({})).await.json_with(StatusCode::OK).await;
    snap_json!("graduation_summary", summary);
    assert_eq!(summary["moved"], 2);
    assert_eq!(summary["schools"], json!([[TOWN, 1], [JUNIOR, 1]]));
    for (pid, status) in
        [(&six, "graduated"), (&nine, "graduated"), (&six_away, "suspended"), (&three, "active"), (&eight, "active")]
    {
        assert_eq!(status_of(&app, pid).await, status, "{pid}");
    }
    assert_eq!(event_detail(&app, &six, "graduated").await["year"], 2027);
    let before = written(&app).await;
    let msg =
        refused(bureau.run_graduation(2027, &json!({})).await, StatusCode::CONFLICT, "graduation.already_run").await;
    assert!(msg.contains("每年只能办理一次"), "{msg}");
    refused(bureau.run_promotion(2027, &json!({})).await, StatusCode::CONFLICT, "promotion.too_early").await;
    assert_eq!(written(&app).await, before);
    assert!(bureau.graduation_preview(2027).await.json_ok().await["ran_at"].is_string());
    drop(june);

    // 12 August: promotion, one grade up, a class created where needed, the suspended stay.
    let august = app.restart_at(day(2027, 8, 12)).await;
    let bureau = sign_in(&august, "bureau").await;
    let preview = bureau.promotion_preview(2027).await.json_ok().await;
    snap_json!("promotion_preview", preview);
    assert_eq!(preview["allowed"], true, "{preview}");
    assert_eq!(preview["total"], 3);
    assert_eq!(line(&preview, TOWN)["moving"], 2);
    assert_eq!(line(&preview, TOWN)["new_classes"], json!(["四年级2班"]));
    assert_eq!(line(&preview, TOWN)["staying"], json!([["休学（保留原年级）", 1]]));
    assert_eq!(line(&preview, JUNIOR)["moving"], 1);
    assert_eq!(written(&app).await, before);
    let summary = bureau.run_promotion(2027, &json!({})).await.json_with(StatusCode::OK).await;
    snap_json!("promotion_summary", summary);
    assert_eq!((summary["moved"].as_i64(), summary["classes_created"].as_i64()), (Some(3), Some(1)));
    assert_eq!(placement(&app, &three).await, (TOWN.to_owned(), 4, Some(4), Some(1)));
    assert_eq!(placement(&app, &three_b).await, (TOWN.to_owned(), 4, Some(4), Some(2)));
    assert_eq!(placement(&app, &three_away).await, (TOWN.to_owned(), 3, Some(3), Some(1)));
    assert_eq!(placement(&app, &eight).await, (JUNIOR.to_owned(), 9, Some(9), Some(1)));
    assert_eq!(placement(&app, &six).await.1, 6, "a graduate is not promoted");
    assert_eq!(placement(&app, &nine).await.1, 9);
    assert_eq!(status_of(&app, &three_away).await, "suspended");
    let promoted = event_detail(&app, &three, "promoted").await;
    assert_eq!((promoted["from_grade"].as_i64(), promoted["to_grade"].as_i64()), (Some(3), Some(4)));
    assert!(!events(&app, &three_away).await.contains(&"promoted".to_owned()));
    let before = written(&app).await;
    refused(bureau.run_promotion(2027, &json!({})).await, StatusCode::CONFLICT, "promotion.already_run").await;
    assert_eq!(written(&app).await, before);
}

#[tokio::test]
async fn a_late_graduation_needs_its_reason_and_promotion_waits_for_graduation() {
    let app = spawn_app().await;
    let [six, three] =
        <[String; 2]>::try_from(enrol(&app, TOWN, vec![of_grade("迟毕业", 6, 221), of_grade("待升级", 3, 222)]).await)
            .unwrap();
    let august = app.restart_at(day(2027, 8, 12)).await;
    let bureau = sign_in(&august, "bureau").await;

    let before = written(&app).await;
    let msg =
        refused(bureau.run_promotion(2027, &json!({})).await, StatusCode::CONFLICT, "promotion.graduation_first").await;
    assert!(msg.contains("毕业"), "{msg}");
    let preview = bureau.graduation_preview(2027).await.json_ok().await;
    assert_eq!(
        (preview["allowed"].as_bool(), preview["needs_late_reason"].as_bool()),
        (Some(true), Some(true)),
        "{preview}"
    );
    let msg =
        refused(bureau.run_graduation(2027, &json!({})).await, StatusCode::CONFLICT, "graduation.late_reason_required")
            .await;
    assert!(msg.contains("7月31日"), "{msg}");
    refused(
        bureau.run_graduation(2027, &json!({"late_reason": "   "})).await,
        StatusCode::CONFLICT,
        "graduation.late_reason_required",
    )
    .await;
    refused(
        bureau.run_graduation(2026, &json!({"late_reason": "补办"})).await,
        StatusCode::CONFLICT,
        "graduation.year_passed",
    )
    .await;
    assert_eq!(written(&app).await, before);

    let summary = bureau
        .run_graduation(2027, &json!({"late_reason": "系统切换，延误办理"}))
        .await
        .json_with(StatusCode::OK)
        .await;
    assert_eq!(summary["moved"], 1);
    let stored: String = sqlx::query_scalar("SELECT summary FROM year_runs WHERE kind = 'graduation' AND year = 2027")
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    assert_eq!(serde_json::from_str::<Value>(&stored).unwrap()["late_reason"], "系统切换，延误办理");
    assert_eq!(status_of(&app, &six).await, "graduated");
    assert_eq!(bureau.run_promotion(2027, &json!({})).await.json_with(StatusCode::OK).await["moved"], 1);
    assert_eq!(placement(&app, &three).await.1, 4);
}

#[tokio::test]
async fn a_promotion_that_would_overfill_a_class_changes_nothing() {
    let app = spawn_app().await;
    let ids =
        enrol(&app, TOWN, vec![of_grade("满员甲", 3, 225), of_grade("满员乙", 3, 226), of_grade("六年丙", 6, 227)])
            .await;
    sqlx::query("UPDATE classes SET cap = 1 WHERE grade = 4 AND number = 1 AND school_id = (SELECT id FROM schools WHERE code = $1)")
        .bind(TOWN)
        .execute(&app.db().pool)
        .await
        .unwrap();
    let june = app.restart_at(day(2027, 6, 15)).await;
    sign_in(&june, "bureau").await.run_graduation(2027, &json!({})).await.json_with(StatusCode::OK).await;
    drop(june);
    let august = app.restart_at(day(2027, 8, 12)).await;
    let bureau = sign_in(&august, "bureau").await;
    let preview = bureau.promotion_preview(2027).await.json_ok().await;
    assert_eq!(preview["allowed"], false, "{preview}");
    let problems = line(&preview, TOWN)["problems"].to_string();
    assert!(problems.contains("三年级1班") && problems.contains("四年级1班"), "{problems}");
    let before = written(&app).await;
    let msg =
        refused(bureau.run_promotion(2027, &json!({})).await, StatusCode::UNPROCESSABLE_ENTITY, "class.full").await;
    assert!(msg.contains("四年级1班"), "{msg}");
    assert_eq!(written(&app).await, before, "all or nothing: no student moved, the year not marked as run");
    assert_eq!(placement(&app, &ids[0]).await.1, 3);
    // Once the class is split, it runs.
    sqlx::query("UPDATE classes SET cap = 45").execute(&app.db().pool).await.unwrap();
    assert_eq!(bureau.run_promotion(2027, &json!({})).await.json_with(StatusCode::OK).await["moved"], 2);
}

#[tokio::test]
async fn the_junior_school_takes_this_years_primary_graduates_with_the_same_record() {
    let app = spawn_app().await;
    let [earlier] = <[String; 1]>::try_from(enrol(&app, TOWN, vec![of_grade("往届生", 6, 231)]).await).unwrap();
    // The 2026 graduation, done late (in August) with its reason.
    let summer = app.restart_at(day(2026, 8, 20)).await;
    let summary = sign_in(&summer, "bureau")
        .await
        .run_graduation(2026, &json!({"late_reason": "补办"}))
        .await
        .json_with(StatusCode::OK)
        .await;
    assert_eq!(summary["moved"], 1);
    let [fresh, fifth] =
        <[String; 2]>::try_from(enrol(&app, TOWN, vec![of_grade("应届生", 6, 232), of_grade("五年生", 5, 233)]).await)
            .unwrap();
    enrol(&app, JUNIOR, vec![of_grade("初中毕业生", 9, 234)]).await;
    let july = app.restart_at(day(2027, 7, 1)).await;
    assert_eq!(
        sign_in(&july, "bureau").await.run_graduation(2027, &json!({})).await.json_with(StatusCode::OK).await["moved"],
        2
    );
    let junior = sign_in(&july, &format!("r{JUNIOR}")).await;
    let town = sign_in(&july, &format!("r{TOWN}")).await;
    let intake = |no: &str, name: &str| json!({"student_no": no, "name": name, "class_number": 1});
    let fresh_no = student_no(&app, "应届生").await;

    let before = written(&app).await;
    refused(
        junior.junior_intake(&intake(&fresh_no, "错名")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "intake.student_not_found",
    )
    .await;
    let msg = refused(
        junior.junior_intake(&intake(&student_no(&app, "往届生").await, "往届生")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "intake.not_this_year",
    )
    .await;
    assert!(msg.contains("2026") && msg.contains("往年毕业生"), "{msg}");
    refused(
        junior.junior_intake(&intake(&student_no(&app, "五年生").await, "五年生")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "status.transition",
    )
    .await;
    refused(
        junior.junior_intake(&intake(&student_no(&app, "初中毕业生").await, "初中毕业生")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "intake.not_primary_graduate",
    )
    .await;
    refused(
        town.junior_intake(&intake(&fresh_no, "应届生")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "intake.not_junior",
    )
    .await;
    let mut no_class = intake(&fresh_no, "应届生");
    no_class["class_number"] = json!(5);
    refused(junior.junior_intake(&no_class).await, StatusCode::UNPROCESSABLE_ENTITY, "class.not_found").await;
    assert_eq!(written(&app).await, before);
    assert_eq!(status_of(&app, &earlier).await, "graduated");
    assert_eq!(status_of(&app, &fifth).await, "active");

    // This year's graduate: the same record, now in grade 7 of the junior school.
    let answer = junior.junior_intake(&intake(&fresh_no, "应届生")).await.json_with(StatusCode::OK).await;
    assert_eq!(answer["student"], fresh.as_str());
    assert_eq!(placement(&app, &fresh).await, (JUNIOR.to_owned(), 7, Some(7), Some(1)));
    assert_eq!(status_of(&app, &fresh).await, "active");
    assert_eq!(student_no(&app, "应届生").await, fresh_no, "one number for life");
    let ev = events(&app, &fresh).await;
    assert_eq!(ev[ev.len() - 2..], ["graduated", "junior_intake"]);
    let detail = event_detail(&app, &fresh, "junior_intake").await;
    assert_eq!(
        (detail["from_school"].as_str(), detail["to_school"].as_str(), detail["year"].as_i64()),
        (Some(TOWN), Some(JUNIOR), Some(2027))
    );
    assert_eq!(junior.student(&fresh).await.json_ok().await["student"]["school_code"], JUNIOR);
    assert_eq!(town.student(&fresh).await.status(), StatusCode::NOT_FOUND);
    // Taken once.
    let before = written(&app).await;
    refused(
        junior.junior_intake(&intake(&fresh_no, "应届生")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "status.transition",
    )
    .await;
    assert_eq!(written(&app).await, before);
}

// ---- information change (Art. 15) ----

#[tokio::test]
async fn an_information_change_needs_proof_and_both_approvals_and_keeps_the_old_value() {
    let app = spawn_app().await;
    let row = of_grade("改址生", 3, 241);
    let (birth, gender) = (row.birth_date.clone(), row.gender.clone());
    let [pid] = <[String; 1]>::try_from(enrol(&app, TOWN, vec![row]).await).unwrap();
    let town = sign_in(&app, &format!("r{TOWN}")).await;
    let bureau = sign_in(&app, "bureau").await;
    let change = |changes: Value| json!({"changes": changes, "reason": "搬家", "guardian_name": "张建国"});
    let old = "吉林省长春市农安县测试镇1号";
    let new = "吉林省长春市农安县新城路8号";

    let before = written(&app).await;
    let msg = refused(
        town.apply_info_change(&pid, &change(json!({"id_number": "220122201803010011"}))).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "info_change.field",
    )
    .await;
    assert!(msg.contains("id_number"), "{msg}");
    refused(
        town.apply_info_change(&pid, &change(json!({"student_no": "G1", "current_address": new}))).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "info_change.field",
    )
    .await;
    let next_day = (NaiveDate::parse_from_str(&birth, "%Y-%m-%d").unwrap() + chrono::Days::new(1)).to_string();
    let msg = refused(
        town.apply_info_change(&pid, &change(json!({"birth_date": next_day}))).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "info_change.id_mismatch",
    )
    .await;
    assert!(msg.contains("身份证件号"), "{msg}");
    refused(
        town.apply_info_change(&pid, &change(json!({"gender": other_gender(&gender)}))).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "info_change.id_mismatch",
    )
    .await;
    refused(
        town.apply_info_change(&pid, &change(json!({"current_address": old}))).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "info_change.unchanged",
    )
    .await;
    refused(town.apply_info_change(&pid, &change(json!({}))).await, StatusCode::BAD_REQUEST, "info_change.empty").await;
    refused(
        bureau.apply_info_change(&pid, &change(json!({"current_address": new}))).await,
        StatusCode::FORBIDDEN,
        "workflow.school_step",
    )
    .await;
    assert_eq!(written(&app).await, before);

    let case = town
        .apply_info_change(&pid, &change(json!({"current_address": new})))
        .await
        .json_with(StatusCode::CREATED)
        .await;
    let id = case["id"].as_str().unwrap().to_owned();
    assert_eq!(case["detail"]["changes"]["current_address"], json!({"label": "现住址", "old": old, "new": new}));
    // No school approval without the household register (or other proof).
    let before = written(&app).await;
    refused(
        town.decide(&id, &json!({"stage": "school", "decision": "approve"})).await,
        StatusCode::CONFLICT,
        "case.proof_required",
    )
    .await;
    assert_eq!(written(&app).await, before);
    let digest = town.case_proof(&id, "household_register", "户口簿", 71).await;
    town.approve(&id, "school", "核对户口簿无误", "周校长").await;
    let current = || async {
        sqlx::query_scalar::<_, String>("SELECT current_address FROM students WHERE public_id = $1")
            .bind(&pid)
            .fetch_one(&app.db().pool)
            .await
            .unwrap()
    };
    assert_eq!(current().await, old, "not before the bureau ratifies");
    bureau.approve(&id, "bureau", "同意变更", "吴科长").await;
    assert_eq!(current().await, new);
    assert_eq!(status_of(&app, &pid).await, "active");
    let detail = event_detail(&app, &pid, "info_changed").await;
    assert_eq!(detail["changes"]["current_address"]["old"], old);
    assert_eq!(detail["changes"]["current_address"]["new"], new);
    let proofs: String = sqlx::query_scalar(
        "SELECT e.proofs FROM student_events e JOIN students s ON s.id = e.student_id WHERE s.public_id = $1 AND e.kind = 'info_changed'",
    )
    .bind(&pid)
    .fetch_one(&app.db().pool)
    .await
    .unwrap();
    assert!(proofs.contains(&digest), "{proofs}");
    assert_eq!(town.student(&pid).await.json_ok().await["student"]["current_address"], new);
}

/// Asserts a `text.unprintable` refusal naming the field, the character and its code point.
async fn unprintable(res: reqwest::Response, field: &str) {
    let got = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!((got, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("text.unprintable")), "{body}");
    assert_eq!(body["field"], field, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("“{field}”")) && message.contains("“\u{E000}”") && message.contains("U+E000"),
        "{message}"
    );
}

#[tokio::test]
async fn a_character_the_fonts_cannot_print_is_refused_in_an_information_change_and_nothing_is_written() {
    let app = spawn_app().await;
    let [pid] = <[String; 1]>::try_from(enrol(&app, TOWN, vec![of_grade("改名生", 3, 251)]).await).unwrap();
    let town = sign_in(&app, &format!("r{TOWN}")).await;
    let bureau = sign_in(&app, "bureau").await;
    let change = |changes: Value| json!({"changes": changes, "reason": "更正", "guardian_name": "张建国"});

    let before = written(&app).await;
    unprintable(town.apply_info_change(&pid, &change(json!({"name": "改\u{E000}生"}))).await, "姓名").await;
    unprintable(
        town.apply_info_change(&pid, &change(json!({"current_address": "吉林省长春市农安县\u{E000}路8号"}))).await,
        "现住址",
    )
    .await;
    assert_eq!(written(&app).await, before, "no case, no event, the record unchanged");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM cases").await, 0);

    // Where the change is applied, it is checked again: a case whose new value
    // cannot be printed (stored before this check existed) is not applied.
    let case =
        town.apply_info_change(&pid, &change(json!({"name": "改名后"}))).await.json_with(StatusCode::CREATED).await;
    let id = case["id"].as_str().unwrap().to_owned();
    town.case_proof(&id, "household_register", "户口簿", 72).await;
    town.approve(&id, "school", "核对户口簿无误", "周校长").await;
    let mut detail = case["detail"].clone();
    detail["changes"]["name"]["new"] = json!("改\u{E000}生");
    sqlx::query("UPDATE cases SET detail = $1 WHERE public_id = $2")
        .bind(detail.to_string())
        .bind(&id)
        .execute(&app.db().pool)
        .await
        .unwrap();
    let before = written(&app).await;
    unprintable(bureau.decide(&id, &json!({"stage": "bureau", "decision": "approve"})).await, "姓名").await;
    assert_eq!(written(&app).await, before, "the record unchanged, no step, no event");
    assert_eq!(bureau.case(&id).await.json_ok().await["stage"], "bureau", "still waiting for the bureau");
    let name: String = sqlx::query_scalar("SELECT name FROM students WHERE public_id = $1")
        .bind(&pid)
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    assert_eq!(name, "改名生");
}

#[tokio::test]
async fn a_character_the_fonts_cannot_print_is_refused_at_a_transfer_in_and_nothing_is_written() {
    let app = spawn_app().await;
    let [pid] = <[String; 1]>::try_from(enrol(&app, CENTRAL, vec![of_grade("转入生", 3, 252)]).await).unwrap();
    let no = student_no(&app, "转入生").await;
    let town = sign_in(&app, &format!("r{TOWN}")).await;

    // The receiving school's application: what the 转学申请表 prints.
    let before = written(&app).await;
    let mut body = transfer(&no, "转入生", 1);
    body["guardian_name"] = json!("张\u{E000}国");
    unprintable(town.open_transfer(&body).await, "监护人姓名").await;
    let mut body = transfer(&no, "转入生", 1);
    body["reason"] = json!("家庭迁居\u{E000}");
    unprintable(town.open_transfer(&body).await, "转学原因").await;
    // The same through the page form.
    let form = [
        ("csrf", town.csrf.clone()),
        ("student_no", no.clone()),
        ("name", "转入生".to_owned()),
        ("to_school", TOWN.to_owned()),
        ("to_class", "1".to_owned()),
        ("reason", "家庭迁居县城".to_owned()),
        ("guardian_name", "张\u{E000}国".to_owned()),
        ("guardian_phone", "13904310001".to_owned()),
    ];
    let res = town.open_transfer_form(&form).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(page.contains("U+E000") && page.contains("监护人姓名"), "{page}");
    assert_eq!(written(&app).await, before, "no case, no event, the student still 在籍");
    assert_eq!(status_of(&app, &pid).await, "active");

    // An approval's opinion is printed too: refused at the receiving school's decision.
    let case = town.open_transfer(&transfer(&no, "转入生", 1)).await.json_with(StatusCode::CREATED).await;
    let id = case["id"].as_str().unwrap().to_owned();
    town.case_proof(&id, "transfer_proof", "户口迁移证明", 73).await;
    let before = written(&app).await;
    let decision = json!({"stage": "receiving_school", "decision": "approve", "opinion": "同意\u{E000}转入"});
    unprintable(town.decide(&id, &decision).await, "审批意见").await;
    assert_eq!(written(&app).await, before);
}

// ---- the audit trail ----

#[tokio::test]
async fn reading_a_case_and_every_refusal_are_audited() {
    let app = spawn_app().await;
    let [_, graduate] = <[String; 2]>::try_from(
        enrol(&app, CENTRAL, vec![of_grade("审计生", 3, 251), of_grade("审计毕业生", 6, 252)]).await,
    )
    .unwrap();
    set_status(&app, &graduate, "graduated").await;
    let town = sign_in(&app, &format!("r{TOWN}")).await;
    let central = sign_in(&app, &format!("r{CENTRAL}")).await;
    let junior = sign_in(&app, &format!("r{JUNIOR}")).await;
    let bureau = sign_in(&app, "bureau").await;
    let no = student_no(&app, "审计生").await;
    let case = town.open_transfer(&transfer(&no, "审计生", 1)).await.json_with(StatusCode::CREATED).await;
    let id = case["id"].as_str().unwrap().to_owned();
    assert_eq!(app.audit_count("case.transfer.open", &id, "ok").await, 1);

    // Reading a case is audited; so is a try by someone not party to it.
    town.case(&id).await.json_ok().await;
    assert_eq!(app.audit_count("case.view", &id, "ok").await, 1);
    bureau.case(&id).await.json_ok().await;
    assert_eq!(app.audit_count("case.view", &id, "ok").await, 2);
    assert_eq!(junior.case(&id).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.audit_count("case.view", &id, "not_found").await, 1);
    assert_eq!(junior.cases("open=1").await.json_ok().await, json!([]));
    assert_eq!(central.cases("open=1").await.json_ok().await.as_array().unwrap().len(), 1);
    assert_eq!(app.audit_count("case.list", "*", "ok").await, 2);

    // Refusals are audited with their code, and no personal data.
    refused(
        bureau.decide(&id, &json!({"stage": "receiving_school", "decision": "approve"})).await,
        StatusCode::FORBIDDEN,
        "workflow.school_step",
    )
    .await;
    assert_eq!(audit_details(&app, "case.decide.approve", &id, "refused").await, ["code=workflow.school_step"]);
    refused(
        town.open_transfer(&transfer(&no, "错名", 1)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "transfer.student_not_found",
    )
    .await;
    assert_eq!(audit_details(&app, "case.transfer.open", "-", "refused").await, ["code=transfer.student_not_found"]);
    refused(
        central.apply_suspension(&graduate, &application("因病")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "status.transition",
    )
    .await;
    assert_eq!(audit_details(&app, "case.suspension.open", &graduate, "refused").await, ["code=status.transition"]);
    let school: Option<i64> =
        sqlx::query_scalar("SELECT school_id FROM audit_log WHERE action = 'case.suspension.open' AND target_id = $1")
            .bind(&graduate)
            .fetch_one(&app.db().pool)
            .await
            .unwrap();
    assert_eq!(school, Some(school_id(&app, CENTRAL).await));
    let details: Vec<String> =
        sqlx::query_scalar("SELECT detail FROM audit_log").fetch_all(&app.db().pool).await.unwrap();
    assert!(details.iter().all(|d| !d.contains("审计") && !d.contains(&no)), "{details:?}");
}

// ---- records created late (Art. 9, 34) ----

#[tokio::test]
async fn a_record_created_more_than_a_month_after_registration_is_listed_overdue() {
    let app = spawn_app().await;
    let ids = enrol(&app, CENTRAL, vec![of_grade("迟建一", 2, 701), of_grade("按时二", 2, 702)]).await;
    // Imports record the import day as the registration day; these two were registered earlier
    // (and the creation instant is fixed, whatever the machine's clock says).
    for (pid, registered) in [(&ids[0], "2026-10-20"), (&ids[1], "2026-11-01")] {
        sqlx::query("UPDATE students SET registered_on = $1, created_at = '2026-11-29T08:00:00Z' WHERE public_id = $2")
            .bind(registered)
            .bind(pid)
            .execute(&app.db().pool)
            .await
            .unwrap();
    }
    let bureau = sign_in(&app, "bureau").await;
    let items: Value = bureau.overdue().await.json().await.unwrap();
    let late = overdue_for(&items, "record_late", &ids[0]);
    assert_eq!(late.len(), 1, "{items}");
    assert_eq!(late[0]["due"], "2026-11-20");
    assert_eq!(late[0]["days_overdue"], 9);
    assert_eq!(late[0]["school_code"], CENTRAL);
    // Registered on 1 November, created within the month: not listed.
    assert!(overdue_for(&items, "record_late", &ids[1]).is_empty(), "{items}");
    // Another school's registrar does not see it.
    let town = sign_in(&app, "r2122019003").await;
    let items: Value = town.overdue().await.json().await.unwrap();
    assert!(overdue_for(&items, "record_late", &ids[0]).is_empty());
}

#[tokio::test]
async fn a_junior_school_importing_a_primary_graduate_is_sent_to_the_junior_intake() {
    let app = spawn_app().await;
    // Born for grade 7 this school year: last year's grade 6, graduated.
    let mut row = of_grade("毕业生甲", 7, 731);
    row.grade = "6".into();
    let ids = enrol(&app, CENTRAL, vec![row.clone()]).await;
    set_status(&app, &ids[0], "graduated").await;
    let mut again = row;
    again.grade = "7".into();
    let before = count(&app, "SELECT COUNT(*) FROM students").await;
    let report = import_rows(app.db(), JUNIOR, vec![again]).await;
    assert!(!report.committed);
    assert_eq!(report.errors[0].code, "student.graduate_reenrol");
    assert!(report.errors[0].reason.contains("升入初中"), "{}", report.errors[0].reason);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM students").await, before, "nothing written");
}

/// Work one instance does at a time: while another instance holds the
/// fixity or yearly-run lease, the same work here is refused with a clear
/// conflict and writes nothing; once the lease has expired (its holder
/// died), it runs, and gives the lease back when done.
#[tokio::test]
async fn a_lease_another_instance_holds_refuses_the_work_until_it_expires() {
    let app = spawn_app().await;
    let db = app.db();
    let soon = (chrono::Utc::now() + chrono::Duration::minutes(2)).to_rfc3339();
    let now = chrono::Utc::now().to_rfc3339();
    assert!(xueji::db::leases::acquire(&db.pool, "fixity", "another-instance", &now, &soon).await.unwrap());
    let runs = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM fixity_runs").fetch_one(&app.db().pool).await.unwrap()
    };
    let err = xueji::dossier::run_fixity(db, &app.app.archive, "test", std::sync::Arc::new(|_| {}))
        .await
        .expect_err("held elsewhere");
    assert_eq!(err.code(), "archive.fixity_running");
    assert_eq!(runs().await, 0, "nothing ran");

    // The holder died: its lease expired a second ago.
    let past = (chrono::Utc::now() - chrono::Duration::seconds(1)).to_rfc3339();
    sqlx::query("UPDATE leases SET expires_at = $1").bind(&past).execute(&db.pool).await.unwrap();
    xueji::dossier::run_fixity(db, &app.app.archive, "test", std::sync::Arc::new(|_| {})).await.expect("runs");
    assert_eq!(runs().await, 1);
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM leases").fetch_one(&db.pool).await.unwrap();
    assert_eq!(left, 0, "given back when done");

    // The yearly runs likewise.
    assert!(xueji::db::leases::acquire(&db.pool, "year-run", "another-instance", &now, &soon).await.unwrap());
    let mut bureau = app.restart_at(today()).await;
    bureau.login("bureau").await;
    let res = bureau.run_graduation(2026, &serde_json::json!({"late_reason": "补办"})).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["code"], "year.run_in_progress", "{body}");
}
