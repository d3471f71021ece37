//! The bureau's hold on intake, against a real server: the autumn intake
//! plan and its change by written request (Art. 3, 7), the autumn window,
//! catchment areas and the schools for migrant workers' children (Art. 7,
//! 18), the special school's list (Art. 12). Delayed entry is in
//! `delays.rs`. Every refusal writes nothing.

use crate::archive::png;
use crate::endpoints::{Answer, Endpoints, Session, sign_in};
use crate::helpers::*;
use reqwest::multipart::{Form, Part};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

/// The intake endpoints (beside [`Endpoints`], which they are made of).
pub trait IntakeEndpoints: Endpoints {
    /// POST a multipart form to an API `path`, with the CSRF header.
    async fn send_api_multipart(&self, path: &str, form: Form) -> Response {
        let (client, base, csrf) = self.parts();
        client.post(format!("{base}{path}")).header("x-csrf-token", csrf).multipart(form).send().await.unwrap()
    }

    /// `GET /api/schools/{code}/plans`.
    async fn plans(&self, code: &str) -> Response {
        self.fetch(&format!("/api/schools/{code}/plans")).await
    }

    /// `PUT /api/schools/{code}/plans/{year}`: the bureau issues a plan.
    async fn issue_plan(&self, code: &str, year: i32, classes: u32, places: u32) -> Response {
        self.put_json(&format!("/api/schools/{code}/plans/{year}"), &json!({"classes": classes, "places": places}))
            .await
    }

    /// `POST /api/schools/{code}/plans/{year}/requests`: the school's written request.
    async fn request_plan(&self, code: &str, year: i32, classes: u32, places: u32, scan: Option<Vec<u8>>) -> Response {
        let mut form = Form::new()
            .text("classes", classes.to_string())
            .text("places", places.to_string())
            .text("reason", "本学区新建小区入住，适龄儿童增加");
        if let Some(bytes) = scan {
            form = form.part("file", Part::bytes(bytes).file_name("调整招生计划申请.png"));
        }
        self.send_api_multipart(&format!("/api/schools/{code}/plans/{year}/requests"), form).await
    }

    /// `GET /api/plan-requests`.
    async fn plan_requests(&self) -> Response {
        self.fetch("/api/plan-requests").await
    }

    /// `POST /api/plan-requests/{id}/decision`.
    async fn decide_plan(&self, id: i64, approve: bool, note: &str) -> Response {
        self.send_json(&format!("/api/plan-requests/{id}/decision"), &json!({"approve": approve, "note": note})).await
    }

    /// `PUT /api/schools/{code}/plans/{year}/late-intake`.
    async fn late_intake(&self, code: &str, year: i32, until: &str, reason: &str) -> Response {
        self.put_json(
            &format!("/api/schools/{code}/plans/{year}/late-intake"),
            &json!({"until": until, "reason": reason}),
        )
        .await
    }

    /// `GET /api/schools/{code}/district`.
    async fn district(&self, code: &str) -> Response {
        self.fetch(&format!("/api/schools/{code}/district")).await
    }

    /// `PUT /api/schools/{code}/district`.
    async fn set_district(&self, code: &str, places: &[&str], migrant_children: bool) -> Response {
        let body = json!({"places": places, "migrant_children": migrant_children});
        self.put_json(&format!("/api/schools/{code}/district"), &body).await
    }

    /// `POST /api/delayed-entries`: an application with its diagnosis scan.
    async fn file_delay(&self, fields: &[(&str, &str)], scan: Option<Vec<u8>>) -> Response {
        let mut form = Form::new();
        for (k, v) in fields {
            form = form.text((*k).to_owned(), (*v).to_owned());
        }
        if let Some(bytes) = scan {
            form = form.part("file", Part::bytes(bytes).file_name("诊断证明.png"));
        }
        self.send_api_multipart("/api/delayed-entries", form).await
    }

    /// `GET /api/delayed-entries?…`.
    async fn delays(&self, query: &str) -> Response {
        self.fetch(&format!("/api/delayed-entries?{query}")).await
    }

    /// `POST /api/delayed-entries/{id}/decision`.
    async fn decide_delay(&self, id: &str, verdict: &str, note: &str) -> Response {
        self.send_json(&format!("/api/delayed-entries/{id}/decision"), &json!({"verdict": verdict, "note": note})).await
    }

    /// `GET /api/intake-papers/{sha256}`.
    async fn intake_paper(&self, digest: &str) -> Response {
        self.fetch(&format!("/api/intake-papers/{digest}")).await
    }
}

impl IntakeEndpoints for Session {}

/// What the hold writes: students, plans and their history, applications, areas.
pub async fn written(app: &TestApp) -> (i64, Vec<(i64, i64, i64)>, i64, i64, i64) {
    let pool = &app.db().pool;
    let n = |sql: &'static str| async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await.unwrap() };
    let plans = sqlx::query_as("SELECT school_id, classes, places FROM intake_plans ORDER BY id")
        .fetch_all(pool)
        .await
        .unwrap();
    (
        n("SELECT COUNT(*) FROM students").await,
        plans,
        n("SELECT COUNT(*) FROM intake_plan_history").await,
        n("SELECT COUNT(*) FROM delayed_entries").await,
        n("SELECT COUNT(*) FROM catchment_places").await,
    )
}

/// Rows of an import report's errors with `code`.
pub fn errors_with<'a>(report: &'a Value, code: &str) -> Vec<&'a Value> {
    report["errors"].as_array().unwrap().iter().filter(|e| e["code"] == code).collect()
}

/// Imports rows as the session, committing unless refused; the status and the report.
pub async fn import(s: &Session, code: &str, rows: &[xueji::roster::Row], query: &str) -> (StatusCode, Value) {
    let res = s.import_roster(code, query, xueji::roster::export::write_xlsx(rows).unwrap()).await;
    let status = res.status();
    (status, res.json().await.unwrap())
}

/// Removes a school's plan for a year that the fixture issued (a school the
/// bureau has not yet given one).
async fn drop_plan(app: &TestApp, code: &str, year: i64) {
    let pool = &app.db().pool;
    let school = "(SELECT id FROM schools WHERE code = $1)";
    let plan = format!("(SELECT id FROM intake_plans WHERE school_id = {school} AND year = $2)");
    for sql in [
        format!("DELETE FROM intake_plan_history WHERE plan_id = {plan}"),
        format!("DELETE FROM intake_plans WHERE id = {plan}"),
    ] {
        sqlx::query(&sql).bind(code).bind(year).execute(pool).await.unwrap();
    }
}

/// The school asks and the bureau approves: the plan becomes `classes`/`places`.
async fn replan(school: &Session, bureau: &Session, code: &str, classes: u32, places: u32) -> Value {
    let req = school.request_plan(code, 2026, classes, places, Some(png(30, 20, 9))).await.json_ok().await;
    bureau.decide_plan(req["id"].as_i64().unwrap(), true, "同意").await.json_ok().await
}

#[tokio::test]
async fn the_plan_is_issued_once_and_changed_only_on_a_written_request_the_bureau_approves() {
    let app = spawn_app().await;
    drop_plan(&app, TOWN, 2027).await;
    let bureau = sign_in(&app, "bureau").await;
    let town = sign_in(&app, &format!("r{TOWN}")).await;
    let before = written(&app).await;

    // Bad issues: the school itself, a plan already issued, places beyond the
    // classes' caps, a year that is not this or the next school year.
    let refused = |res, status, code| refused_with(res, status, code);
    refused(town.issue_plan(TOWN, 2026, 4, 180).await, StatusCode::FORBIDDEN, "workflow.bureau_step").await;
    let msg = refused(bureau.issue_plan(TOWN, 2026, 4, 180).await, StatusCode::CONFLICT, "plan.exists").await;
    assert!(msg.contains("书面申请"), "{msg}");
    refused(bureau.issue_plan(TOWN, 2027, 2, 91).await, StatusCode::UNPROCESSABLE_ENTITY, "plan.places_exceed_classes")
        .await;
    refused(bureau.issue_plan(TOWN, 2029, 2, 90).await, StatusCode::UNPROCESSABLE_ENTITY, "plan.year_invalid").await;
    // Bad requests: no scan, a file that is no scan, figures over the caps, the bureau filing it.
    refused(town.request_plan(TOWN, 2026, 5, 225, None).await, StatusCode::BAD_REQUEST, "paper.scan_required").await;
    let text = b"not a scan at all".to_vec();
    let res = town.request_plan(TOWN, 2026, 5, 225, Some(text)).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.json::<Value>().await.unwrap()["code"].as_str().unwrap().starts_with("archive."));
    refused(
        town.request_plan(TOWN, 2026, 5, 226, Some(png(30, 20, 1))).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "plan.places_exceed_classes",
    )
    .await;
    refused(
        bureau.request_plan(TOWN, 2026, 5, 225, Some(png(30, 20, 1))).await,
        StatusCode::FORBIDDEN,
        "workflow.school_step",
    )
    .await;
    assert_eq!(written(&app).await, before, "nothing written by a refusal");

    // The bureau issues a plan where there is none; the school asks to change its own.
    let plan = bureau.put_json(&format!("/api/schools/{TOWN}/plans/2027"), &json!({"classes": 3, "places": 130})).await;
    assert_eq!(plan.json_ok().await["places"], 130);
    let scan = png(30, 20, 7);
    let req = town.request_plan(TOWN, 2026, 5, 225, Some(scan.clone())).await.json_ok().await;
    assert_eq!((req["state"].as_str(), req["places"].as_i64()), (Some("pending"), Some(225)));
    refused(
        town.request_plan(TOWN, 2026, 6, 270, Some(png(30, 20, 2))).await,
        StatusCode::CONFLICT,
        "plan.request_pending",
    )
    .await;
    let pending = bureau.plan_requests().await.json_ok().await;
    assert_eq!(pending.as_array().unwrap().len(), 1, "{pending}");
    // The written request can be read back, byte for byte, by both sides; not by another school.
    let digest = req["scan_digest"].as_str().unwrap();
    assert_eq!(bureau.intake_paper(digest).await.bytes().await.unwrap().to_vec(), scan);
    assert_eq!(town.intake_paper(digest).await.status(), StatusCode::OK);
    let junior = sign_in(&app, &format!("r{JUNIOR}")).await;
    assert_eq!(junior.intake_paper(digest).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.audit_count("paper.read", digest, "ok").await, 2);

    // A refusal needs a reason; a decision is made once; the school cannot decide.
    let id = req["id"].as_i64().unwrap();
    refused(town.decide_plan(id, true, "").await, StatusCode::FORBIDDEN, "workflow.bureau_step").await;
    refused(bureau.decide_plan(id, false, "").await, StatusCode::UNPROCESSABLE_ENTITY, "plan.reason_required").await;
    let plan = bureau.decide_plan(id, true, "同意增加一个班").await.json_ok().await;
    assert_eq!((plan["classes"].as_i64(), plan["places"].as_i64()), (Some(5), Some(225)));
    refused(bureau.decide_plan(id, true, "").await, StatusCode::CONFLICT, "plan.request_decided").await;

    // The history keeps the issue and the request with its scan and decision.
    let plans = town.plans(TOWN).await.json_ok().await;
    let this_year = plans["plans"].as_array().unwrap().iter().find(|p| p["plan"]["year"] == 2026).unwrap();
    let kinds: Vec<(&str, &str)> = this_year["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["kind"].as_str().unwrap(), h["state"].as_str().unwrap()))
        .collect();
    assert_eq!(kinds, [("issued", "in_force"), ("request", "approved")]);
    assert_eq!(this_year["history"][1]["decision"], "同意增加一个班");
    assert_eq!(this_year["history"][1]["scan_digest"], digest);
    assert_eq!(app.audit_count("plan.decide", &id.to_string(), "ok").await, 1);
    assert_eq!(app.audit_count("plan.request", &id.to_string(), "ok").await, 1);

    // The plan is not lowered below what the school has enrolled.
    assert!(
        import_rows(app.db(), TOWN, (0..3).map(|i| first_grader(&format!("计划{i}"), 40 + i)).collect())
            .await
            .committed
    );
    let req = town.request_plan(TOWN, 2026, 1, 2, Some(png(30, 20, 3))).await.json_ok().await;
    let before = written(&app).await;
    refused(
        bureau.decide_plan(req["id"].as_i64().unwrap(), true, "").await,
        StatusCode::CONFLICT,
        "plan.below_enrolled",
    )
    .await;
    assert_eq!(written(&app).await, before);
}

#[tokio::test]
async fn an_import_beyond_the_plan_or_without_one_is_refused_whole() {
    let app = spawn_app().await;
    let bureau = sign_in(&app, "bureau").await;
    let town = sign_in(&app, &format!("r{TOWN}")).await;
    let plan = replan(&town, &bureau, TOWN, 1, 3).await;
    assert_eq!(plan["places"], 3);
    let (status, report) = import(&town, TOWN, &[first_grader("甲", 1), first_grader("乙", 2)], "").await;
    assert_eq!(status, StatusCode::OK, "{report}");

    // Two more do not fit the three places: both refused, nothing written.
    let before = written(&app).await;
    let (status, report) = import(&town, TOWN, &[first_grader("丙", 3), first_grader("丁", 4)], "").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{report}");
    let over = errors_with(&report, "intake.over_plan");
    assert_eq!(over.len(), 1, "{report}");
    assert!(over[0]["reason"].as_str().unwrap().contains("已招2人，再招2人"), "{report}");
    assert_eq!(report["valid_rows"], 0, "{report}");
    assert_eq!(written(&app).await, before);
    // A second class beyond the plan's one: refused too.
    let mut other_class = first_grader("戊", 5);
    other_class.class = "2".into();
    let (status, report) = import(&town, TOWN, &[other_class], "?create_classes=true").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(errors_with(&report, "intake.over_plan")[0]["reason"].as_str().unwrap().contains("1个班"), "{report}");
    assert_eq!(written(&app).await, before);
    // Pupils of other grades are not intake: only the class caps hold them.
    let (status, report) = import(&town, TOWN, &[pupil("三年级", (2018, 3, 3), 6, 3)], "").await;
    assert_eq!(status, StatusCode::OK, "{report}");

    // A school without a plan for the year takes no intake at all.
    drop_plan(&app, CENTRAL, 2026).await;
    let central = sign_in(&app, &format!("r{CENTRAL}")).await;
    let before = written(&app).await;
    let (status, report) = import(&central, CENTRAL, &[first_grader("己", 7)], "").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let no_plan = errors_with(&report, "intake.no_plan");
    assert!(no_plan[0]["reason"].as_str().unwrap().contains("尚未"), "{report}");
    assert_eq!(written(&app).await, before);
}

#[tokio::test]
async fn intake_outside_the_autumn_window_needs_the_bureau_s_recorded_reason() {
    let app = spawn_app().await;
    let bureau = sign_in(&app, "bureau").await;
    let town = sign_in(&app, &format!("r{TOWN}")).await;
    let mut late = first_grader("晚入学", 21);
    late.entry_date = "2026-11-02".into();
    let before = written(&app).await;
    let (status, report) = import(&town, TOWN, std::slice::from_ref(&late), "").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let e = errors_with(&report, "intake.out_of_window");
    assert_eq!((e[0]["row"].as_i64(), e[0]["column"].as_str()), (Some(2), Some("入学日期")), "{report}");
    assert_eq!(written(&app).await, before);

    // The bureau's permission: after the window, with a reason, by the bureau only.
    let refused = |res, status, code| refused_with(res, status, code);
    refused(
        town.late_intake(TOWN, 2026, "2026-12-31", "返乡儿童").await,
        StatusCode::FORBIDDEN,
        "workflow.bureau_step",
    )
    .await;
    refused(
        bureau.late_intake(TOWN, 2026, "2026-12-31", "").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "plan.reason_required",
    )
    .await;
    refused(
        bureau.late_intake(TOWN, 2026, "2026-09-15", "返乡儿童").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "plan.late_until_invalid",
    )
    .await;
    assert_eq!(written(&app).await, before);
    let plan = bureau.late_intake(TOWN, 2026, "2026-12-31", "外省返乡儿童集中入学").await.json_ok().await;
    assert_eq!(plan["late_until"], "2026-12-31");
    let (status, report) = import(&town, TOWN, &[late], "").await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let history = town.plans(TOWN).await.json_ok().await;
    let this_year = history["plans"].as_array().unwrap().iter().find(|p| p["plan"]["year"] == 2026).unwrap().clone();
    assert_eq!(this_year["history"][1]["kind"], "late_intake");
    assert_eq!(this_year["history"][1]["reason"], "外省返乡儿童集中入学");
}

#[tokio::test]
async fn a_transfer_into_a_full_first_grade_is_refused() {
    let app = spawn_app().await;
    let bureau = sign_in(&app, "bureau").await;
    let town = sign_in(&app, &format!("r{TOWN}")).await;
    replan(&town, &bureau, TOWN, 1, 1).await;
    assert!(import_rows(app.db(), TOWN, vec![first_grader("满额", 31)]).await.committed);
    assert!(import_rows(app.db(), CENTRAL, vec![first_grader("转学童", 32)]).await.committed);
    let no: String = sqlx::query_scalar("SELECT student_no FROM students WHERE name = '转学童'")
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    let cases = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM cases").fetch_one(&app.db().pool).await.unwrap()
    };
    let before = (written(&app).await, cases().await);
    let body = json!({
        "student_no": no, "name": "转学童", "to_class": 1,
        "reason": "家庭迁居，户籍已迁入县城", "guardian_name": "张建国", "guardian_phone": "13904310001",
    });
    let msg = refused_with(town.open_transfer(&body).await, StatusCode::UNPROCESSABLE_ENTITY, "intake.over_plan").await;
    assert!(msg.contains("已招1人"), "{msg}");
    assert_eq!((written(&app).await, cases().await), before);
    // Room made by the bureau: the transfer opens.
    replan(&town, &bureau, TOWN, 1, 2).await;
    assert_eq!(town.open_transfer(&body).await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn an_intake_from_outside_the_catchment_area_waits_for_the_bureau_s_decision() {
    let app = spawn_app().await;
    let bureau = sign_in(&app, "bureau").await;
    let town = sign_in(&app, &format!("r{TOWN}")).await;
    let before = written(&app).await;
    let refused = |res, status, code| refused_with(res, status, code);
    refused(town.set_district(TOWN, &["农安镇兴华大街"], false).await, StatusCode::FORBIDDEN, "school.bureau_only")
        .await;
    refused(bureau.set_district(TOWN, &["镇"], false).await, StatusCode::UNPROCESSABLE_ENTITY, "area.place_invalid")
        .await;
    refused(
        bureau.set_district(TOWN, &["农安镇兴华大街", "农安镇兴华大街 "], false).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "area.place_twice",
    )
    .await;
    refused(
        bureau.set_district(TOWN, &["农安镇\u{E000}街"], false).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "text.unprintable",
    )
    .await;
    assert_eq!(written(&app).await, before);
    let kept = bureau.set_district(TOWN, &["农安镇兴华大街", "农安镇宝塔街"], false).await.json_ok().await;
    assert_eq!(kept["places"].as_array().unwrap().len(), 2);
    assert_eq!(town.district(TOWN).await.json_ok().await, kept);
    assert_eq!(app.audit_count("school.district", TOWN, "ok").await, 1);

    let address = |row: &mut xueji::roster::Row, a: &str| {
        row.household_address = a.into();
        row.current_address = a.into();
    };
    let mut inside = first_grader("学区内", 61);
    address(&mut inside, "吉林省长春市农安县农安镇兴华大街12号");
    let mut outside = first_grader("学区外", 62);
    address(&mut outside, "吉林省长春市农安县农安镇松花江路3号");
    let mut declined = first_grader("不予接收", 63);
    address(&mut declined, "吉林省长春市农安县农安镇古城路8号");
    let mut migrant = first_grader("随迁童", 64);
    address(&mut migrant, "吉林省长春市农安县农安镇长春街9号");
    migrant.migrant_child = "是".into();
    let (status, report) = import(&town, TOWN, &[inside, outside, declined, migrant], "").await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let flagged: Vec<i64> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["code"] == "intake.out_of_area")
        .map(|w| w["row"].as_i64().unwrap())
        .collect();
    assert_eq!(flagged, [3, 4, 5], "{report}");
    assert!(report["warnings"][2]["message"].as_str().unwrap().contains("随迁子女"), "{report}");

    // Held: the school submits the others; it cannot resolve the area itself.
    let submitted = town.send_json("/api/records/submit", &json!({"school": TOWN})).await.json_ok().await;
    assert_eq!(submitted["submitted"], 1);
    let problems = bureau.problems().await.json_ok().await;
    let find = |name: &str| {
        problems.as_array().unwrap().iter().find(|p| p["student_name"] == name).unwrap()["id"].as_i64().unwrap()
    };
    let (p_out, p_declined) = (find("学区外"), find("不予接收"));
    let before = written(&app).await;
    refused(
        town.send_json(&format!("/api/problems/{p_out}/resolve"), &json!({"how": "proof", "sha256": "00"})).await,
        StatusCode::CONFLICT,
        "problem.bureau_decides",
    )
    .await;
    refused(
        town.send_json(
            &format!("/api/problems/{p_out}/resolve"),
            &json!({"how": "decide", "accept": true, "reason": "有房产证明"}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "workflow.bureau_step",
    )
    .await;
    refused(
        bureau
            .send_json(
                &format!("/api/problems/{p_out}/resolve"),
                &json!({"how": "decide", "accept": true, "reason": ""}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "problem.reason_required",
    )
    .await;
    assert_eq!(written(&app).await, before);

    // The pages: the bureau decides there, the school is told who decides.
    assert!(town.problems_page().await.text().await.unwrap().contains("由教育局审核决定"));
    assert!(bureau.problems_page().await.text().await.unwrap().contains("同意接收"));
    // The bureau accepts one (it goes on to be submitted) and refuses another (不予建籍), on the page.
    let decide = |accept: bool, reason: &str| json!({"how": "decide", "accept": accept, "reason": reason});
    bureau
        .send_json(&format!("/api/problems/{p_out}/resolve"), &decide(true, "已核实实际居住于学区内"))
        .await
        .json_ok()
        .await;
    let (problem, csrf) = (p_declined.to_string(), bureau.csrf.clone());
    let form = [
        ("csrf", csrf.as_str()),
        ("problem", problem.as_str()),
        ("how", "decide"),
        ("decision", "refuse"),
        ("note", "户籍和住址均不在本学区"),
    ];
    assert_eq!(bureau.send_form("/problems", &form).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(status_named(&app, "不予接收").await, "refused");
    assert_eq!(status_named(&app, "学区外").await, "pending");
    let submitted = town.send_json("/api/records/submit", &json!({"school": TOWN})).await.json_ok().await;
    assert_eq!(submitted["submitted"], 1, "only the accepted one is left to submit (the migrant child waits)");

    // On the bureau's list, the county-town school takes migrant workers' children by residence.
    bureau.set_district(TOWN, &["农安镇兴华大街"], true).await.json_ok().await;
    let mut migrant = first_grader("随迁二", 65);
    address(&mut migrant, "吉林省长春市农安县农安镇长春街10号");
    migrant.migrant_child = "是".into();
    let (status, report) = import(&town, TOWN, &[migrant], "").await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert!(report["warnings"].as_array().unwrap().is_empty(), "{report}");
}

#[tokio::test]
async fn the_special_school_knows_every_inclusive_pupil_of_the_county() {
    let app = spawn_app().await;
    let db = app.db();
    let special = xueji::db::schools::insert(
        &db.pool,
        &xueji::db::schools::NewSchool {
            code: "2122019005",
            name: "测试县特殊教育学校",
            kind: xueji::domain::SchoolKind::Special,
            county_town: true,
            central_school_id: None,
            district: "测试",
            address: "",
        },
    )
    .await
    .unwrap();
    xueji::db::users::insert(
        &db.pool,
        "r2122019005",
        "特教学籍管理员",
        PASSWORD,
        xueji::domain::Role::Registrar,
        Some(special),
    )
    .await
    .unwrap();
    let mut included = first_grader("随班童", 91);
    included.inclusive = "智力残疾随班就读".into();
    included.disability_type = "智力残疾".into();
    assert!(import_rows(db, TOWN, vec![included, first_grader("普通童", 92)]).await.committed);
    let pid = app.public_id("随班童").await;

    let special = sign_in(&app, "r2122019005").await;
    let list = special.fetch("/api/special-needs").await.json_ok().await;
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["随班童"]);
    assert_eq!(list[0]["inclusive"], "智力残疾随班就读");
    assert_eq!(list[0]["school_name"], "测试县城小学");
    // Known, not opened: the record stays with the school that holds it.
    assert_eq!(special.student(&pid).await.status(), StatusCode::NOT_FOUND);
    let page = special.fetch("/special-needs").await.text().await.unwrap();
    assert!(page.contains("随班童") && !page.contains(&format!("/students/{pid}")), "{page}");
    // Another school's registrar sees only their own; the bureau every school.
    let central = sign_in(&app, &format!("r{CENTRAL}")).await;
    assert!(central.fetch("/api/special-needs").await.json_ok().await.as_array().unwrap().is_empty());
    let bureau = sign_in(&app, "bureau").await;
    assert_eq!(bureau.fetch("/api/special-needs").await.json_ok().await.as_array().unwrap().len(), 1);
    assert_eq!(app.audit_count("special_needs.list", "*", "ok").await, 4);
}

#[tokio::test]
async fn the_intake_page_files_a_request_and_the_bureau_decides_it_there() {
    let app = spawn_app().await;
    let town = sign_in(&app, &format!("r{TOWN}")).await;
    let page = town.fetch("/intake").await.text().await.unwrap();
    assert!(page.contains("测试县城小学的招生计划") && page.contains("4个班 180人"), "{page}");
    let form = Form::new()
        .text("csrf", town.csrf.clone())
        .text("school", TOWN)
        .text("year", "2026")
        .text("classes", "5")
        .text("places", "225")
        .text("reason", "新建小区入住")
        .part("file", Part::bytes(png(30, 20, 4)).file_name("申请.png"));
    let res = town.send_multipart("/intake/plan-request", form).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let back = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(town.fetch(&back).await.text().await.unwrap().contains("调整申请已提交"), "{back}");
    // A form without the token is refused before its file is read.
    let form = Form::new().text("school", TOWN).part("file", Part::bytes(png(30, 20, 4)).file_name("申请.png"));
    assert_eq!(town.send_multipart("/intake/plan-request", form).await.status(), StatusCode::FORBIDDEN);
    // A refusal shows on the page.
    let form = Form::new()
        .text("csrf", town.csrf.clone())
        .text("school", TOWN)
        .text("year", "2026")
        .text("classes", "5")
        .text("places", "225")
        .text("reason", "再次申请")
        .part("file", Part::bytes(png(30, 20, 5)).file_name("申请.png"));
    let res = town.send_multipart("/intake/plan-request", form).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("待教育局审核"));

    let bureau = sign_in(&app, "bureau").await;
    let page = bureau.fetch("/intake").await.text().await.unwrap();
    assert!(page.contains("新建小区入住") && page.contains("查看扫描件"), "{page}");
    let id: i64 = sqlx::query_scalar("SELECT id FROM intake_plan_history WHERE state = 'pending'")
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    let res = bureau
        .send_form(
            "/intake/plan-decision",
            &[("csrf", bureau.csrf.as_str()), ("id", &id.to_string()), ("decision", "approve"), ("note", "同意")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let back = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(bureau.fetch(&back).await.text().await.unwrap().contains("审核决定已保存"));
    let page = town.fetch(&format!("/intake?school={TOWN}")).await.text().await.unwrap();
    assert!(page.contains("5个班 225人") && page.contains("已批准"), "{page}");
}
