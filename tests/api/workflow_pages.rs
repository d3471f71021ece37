//! The workflow pages through the real server: each page for the role that
//! uses it (and 403/404 for the others), forms refused without their CSRF
//! token, refusals shown on the page in Chinese with what was typed kept, and
//! whole flows as a person clicks them: a suspension from the student page to
//! the bureau's approval, a suspected dropout with its recall notice, a
//! transfer application, the graduation run.

use crate::archive::png;
use crate::helpers::*;
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};

/// A pupil of `grade` in the school year 2026-27.
fn of_grade(name: &str, grade: u8, seq: u16) -> xueji::roster::Row {
    pupil(name, (2021 - i32::from(grade), 3, 1 + u32::from(seq % 27)), seq, grade)
}

/// Imports one pupil into a school; their public id.
async fn enrol(app: &TestApp, code: &str, row: xueji::roster::Row) -> String {
    let name = row.name.clone();
    assert!(import_rows(app.db(), code, vec![row]).await.committed, "fixture pupil imported");
    app.public_id(&name).await
}

/// The value of the first hidden `csrf` input of a page.
fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("the page has a CSRF field") + "name=\"csrf\" value=\"".len();
    page[at..].split('"').next().unwrap().to_owned()
}

/// A page's status and text.
async fn page(res: reqwest::Response) -> (StatusCode, String) {
    (res.status(), res.text().await.unwrap())
}

/// The `Location` of a 303 answer.
fn see_other(res: &reqwest::Response) -> String {
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "a redirect after the change");
    res.headers()["location"].to_str().unwrap().to_owned()
}

fn case_id(location: &str) -> String {
    location.strip_prefix("/cases/").unwrap().split('?').next().unwrap().to_owned()
}

async fn count(app: &TestApp, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(&app.db().pool).await.unwrap()
}

async fn status_of(app: &TestApp, pid: &str) -> String {
    sqlx::query_scalar("SELECT status FROM students WHERE public_id = $1")
        .bind(pid)
        .fetch_one(&app.db().pool)
        .await
        .unwrap()
}

/// A registrar's suspension application for `pid`, through the page form; the case id.
async fn open_suspension(app: &TestApp, pid: &str) -> String {
    let res = app
        .student_action_form(
            pid,
            "suspension",
            &[
                ("csrf", app.csrf.as_str()),
                ("reason", "因病需住院治疗"),
                ("start_date", "2026-11-27"),
                ("guardian_name", "张建国"),
                ("guardian_phone", "13904310001"),
                ("proof", ""),
            ],
        )
        .await;
    case_id(&see_other(&res))
}

fn scan_form(csrf: &str, kind: &str, label: &str, seed: u8) -> Form {
    Form::new()
        .text("csrf", csrf.to_owned())
        .text("kind", kind.to_owned())
        .text("label", label.to_owned())
        .part("file", Part::bytes(png(48, 32, seed)).file_name("scan.png").mime_str("image/png").unwrap())
}

#[tokio::test]
async fn each_page_answers_its_role_and_refuses_the_others() {
    let mut t = spawn_app().await;
    let pid = enrol(&t, CENTRAL, of_grade("王小丽", 3, 11)).await;

    let (status, _) = page(t.cases_page().await).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "signed out: to the sign-in page");

    t.login(&format!("r{CENTRAL}")).await;
    let (status, body) = page(t.cases_page().await).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("待办事项") && body.contains("轮到我办理的申请") && body.contains("提醒"), "{body}");
    assert!(body.contains("href=\"/transfers/new\""), "registrars see the transfer link");
    snap_page!("page_cases_registrar", body);
    assert!(!body.contains("href=\"/years\""), "registrars do not see the bureau's links");
    let (status, body) = page(t.new_transfer_page().await).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("测试镇中心小学") && body.contains("测试镇村小学"), "the schools of the registrar's scope");
    assert!(!body.contains("测试县城小学") && !body.contains("override_reason"), "no other school, no override field");
    assert_eq!(page(t.years_page(None).await).await.0, StatusCode::FORBIDDEN);
    assert_eq!(page(t.overdue_page().await).await.0, StatusCode::FORBIDDEN);
    let (status, body) = page(t.student_page(&pid).await).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("学籍异动") && body.contains("休学申请") && body.contains("疑似辍学上报"), "{body}");
    assert!(!body.contains("<summary>复学申请") && !body.contains("<summary>登记返校"), "only what the status allows");
    let case = open_suspension(&t, &pid).await;
    assert_eq!(page(t.case_page(&case).await).await.0, StatusCode::OK);

    // The to-do page: the registrar's turn, overdue, and the reminders of the school.
    let resting = enrol(&t, CENTRAL, of_grade("吴小休", 5, 22)).await;
    sqlx::query("UPDATE students SET status = 'suspended', status_until = '2026-12-10' WHERE public_id = $1")
        .bind(&resting)
        .execute(&t.db().pool)
        .await
        .unwrap();
    sqlx::query("UPDATE cases SET stage_due = '2026-11-10'").execute(&t.db().pool).await.unwrap();
    let (status, body) = page(t.cases_page().await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains(&format!("href=\"/cases/{case}\">办理")) && body.contains("已逾期 13 个工作日"), "{body}");
    assert!(
        body.contains("审批超过10个工作日") && body.contains("休学即将期满") && body.contains("还有 11 天"),
        "{body}"
    );
    assert!(body.contains(&resting), "a reminder links to where to act (the link is escaped)");

    t.login(&format!("r{TOWN}")).await;
    let (status, body) = page(t.case_page(&case).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another school's case: {body}");
    assert_eq!(t.audit_count("case.view", &case, "not_found").await, 1);
    let (_, body) = page(t.cases_page().await).await;
    assert!(!body.contains("王小丽"), "another school's cases are not listed");

    t.login(&format!("r{JUNIOR}")).await;
    let (_, body) = page(t.cases_page().await).await;
    assert!(body.contains("小学毕业生升入初中") && body.contains("七年级1班"), "the junior intake form: {body}");

    t.login("bureau").await;
    let (status, body) = page(t.cases_page().await).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("待教育局审批的申请") && body.contains("王小丽"), "{body}");
    assert!(body.contains("href=\"/years\"") && body.contains("href=\"/overdue\""));
    let (status, body) = page(t.new_transfer_page().await).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("name=\"override_reason\""), "the bureau's override field");
    let (status, body) = page(t.years_page(None).await).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("2026年毕业") && body.contains("2026年升级"), "{body}");
    let (status, body) = page(t.overdue_page().await).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("全县逾期事项"), "{body}");
    let (status, body) = page(t.case_page(&case).await).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!body.contains("签署学校审核意见"), "not the bureau's turn");
    assert!(!body.contains(&format!("action=\"/cases/{case}/proofs\"")), "the bureau uploads no proof");
    assert!(t.audit_count("case.view", &case, "ok").await >= 2);
}

#[tokio::test]
async fn forms_without_their_csrf_token_change_nothing() {
    let mut t = spawn_app().await;
    let pid = enrol(&t, CENTRAL, of_grade("李小明", 3, 12)).await;
    t.login(&format!("r{CENTRAL}")).await;
    let fields = [("reason", "因病"), ("guardian_name", "李建国")];
    let res = t.student_action_form(&pid, "suspension", &fields).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = t
        .student_action_form(
            &pid,
            "suspension",
            &[("csrf", "not-the-token"), ("reason", "因病"), ("guardian_name", "李建国")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains("表单已过期"), "the Chinese reason");
    let res = t.student_action_form(&pid, "suspected", &[("absent_since", "2026-11-02")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(count(&t, "cases").await, 0);
    assert_eq!(status_of(&t, &pid).await, "active");

    let case = open_suspension(&t, &pid).await;
    let res = t.decide_form(&case, &[("stage", "school"), ("decision", "refuse"), ("opinion", "材料不全")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = t.withdraw_case_form(&case, &[("reason", "监护人撤回")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let form = Form::new()
        .text("kind", "diagnosis")
        .part("file", Part::bytes(png(48, 32, 1)).file_name("scan.png").mime_str("image/png").unwrap());
    let res = t.case_proof_form(&case, form).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(count(&t, "case_steps").await, 0);
    assert_eq!(count(&t, "case_proofs").await, 0);
    let state: String = sqlx::query_scalar("SELECT state FROM cases").fetch_one(&t.db().pool).await.unwrap();
    assert_eq!(state, "open");

    t.login("bureau").await;
    let res = t.run_graduation_form(2026, &[("confirm", "1"), ("late_reason", "系统上线")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(count(&t, "year_runs").await, 0);
}

#[tokio::test]
async fn a_suspension_goes_from_the_student_page_to_the_bureau_approval() {
    let mut t = spawn_app().await;
    let pid = enrol(&t, CENTRAL, of_grade("张小明", 3, 13)).await;
    t.login(&format!("r{CENTRAL}")).await;

    // The registrar fills the form on the student's page.
    let (_, student_page) = page(t.student_page(&pid).await).await;
    assert!(student_page.contains(&format!("action=\"/students/{pid}/actions/suspension\"")));
    let csrf = csrf_of(&student_page);
    let res = t
        .student_action_form(
            &pid,
            "suspension",
            &[
                ("csrf", csrf.as_str()),
                ("reason", "因病需住院治疗"),
                ("start_date", "2026-11-27"),
                ("guardian_name", "张建国"),
                ("guardian_phone", "13904310001"),
                ("proof", ""),
            ],
        )
        .await;
    let location = see_other(&res);
    assert!(location.ends_with("?ok=opened"), "{location}");
    assert!(!location.contains("张"), "no personal data in the URL");
    let case = case_id(&location);

    let (status, body) = page(t.follow(&location).await).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("休学申请 · 张小明") && body.contains("申请已登记"), "{body}");
    assert!(body.contains("因病需住院治疗") && body.contains("2026-11-27") && body.contains("学校审核"));
    assert!(body.contains("签署学校审核意见") && body.contains("同意前须先上传"), "{body}");
    assert!(body.contains(&format!("href=\"/api/cases/{case}/form\"")), "the print link");

    // Approving before any proof is refused on the page.
    let decision = |csrf: String, decision: &'static str, opinion: &'static str, stage: &'static str| {
        vec![
            ("csrf", csrf),
            ("stage", stage.to_owned()),
            ("decision", decision.to_owned()),
            ("opinion", opinion.to_owned()),
        ]
    };
    let res = t.decide_form(&case, &decision(csrf.clone(), "approve", "材料齐全", "school")).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let body = res.text().await.unwrap();
    assert!(body.contains("请先上传监护人提交的证明材料") && body.contains("材料齐全"), "refusal shown, opinion kept");
    assert_eq!(count(&t, "case_steps").await, 0);

    // The proof is scanned from the case page.
    let res = t.case_proof_form(&case, scan_form(&csrf, "diagnosis", "县医院诊断证明", 7)).await;
    assert_eq!(see_other(&res), format!("/cases/{case}?ok=proof"));
    let (_, body) = page(t.case_page(&case).await).await;
    assert!(body.contains("县医院诊断证明") && body.contains(&format!("/api/students/{pid}/archive/")), "{body}");
    let res = t.case_proof_form(&case, scan_form(&csrf, "no-such-kind", "", 8)).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("class=\"error\""), "a bad kind is explained on the page");

    let res = t.decide_form(&case, &decision(csrf.clone(), "approve", "情况属实", "school")).await;
    assert_eq!(see_other(&res), format!("/cases/{case}?ok=approved"));
    let (_, body) = page(t.case_page(&case).await).await;
    assert!(body.contains("情况属实") && body.contains("教育局批准") && body.contains("由教育局办理"), "{body}");
    snap_page!("page_case_after_school_approval", body);
    assert!(!body.contains("签署学校审核意见"), "no second decision by the school");

    // The bureau finds it on its to-do page and approves it.
    t.login("bureau").await;
    let (_, body) = page(t.cases_page().await).await;
    assert!(body.contains("张小明") && body.contains(&format!("href=\"/cases/{case}\"")), "{body}");
    let res = t.decide_form(&case, &decision(t.csrf.clone(), "refuse", "", "bureau")).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("不同意时须写明理由"));
    let res = t.decide_form(&case, &decision(t.csrf.clone(), "approve", "同意休学一年", "bureau")).await;
    assert_eq!(see_other(&res), format!("/cases/{case}?ok=completed"));
    assert_eq!(status_of(&t, &pid).await, "suspended");
    assert_eq!(t.audit_count("case.decide.approve", &case, "ok").await, 2);
    assert_eq!(t.audit_count("case.decide.approve", &case, "refused").await, 1);

    // Back on the student's page: the suspension's end, and what may follow it.
    t.login(&format!("r{CENTRAL}")).await;
    let (_, body) = page(t.student_page(&pid).await).await;
    assert!(body.contains("休学期限至") && body.contains("2027-11-26"), "{body}");
    snap_page!("page_student_suspended", body);
    assert!(body.contains("续办休学") && body.contains("复学申请") && !body.contains("<summary>休学申请"), "{body}");
    assert!(body.contains(&format!("href=\"/cases/{case}\"")) && body.contains("已办结"), "the case is listed");
}

#[tokio::test]
async fn a_suspected_dropout_gets_a_recall_notice_and_refusals_stay_on_the_page() {
    let mut t = spawn_app().await;
    let pid = enrol(&t, CENTRAL, of_grade("赵小刚", 4, 14)).await;
    t.login(&format!("r{CENTRAL}")).await;

    let res = t
        .student_action_form(
            &pid,
            "suspected",
            &[("csrf", t.csrf.as_str()), ("absent_since", "2026-11-27"), ("note", "电话联系不上")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.unwrap();
    assert!(body.contains("不足一周"), "the rule's reason in Chinese: {body}");
    assert!(
        body.contains("<details open><summary>疑似辍学上报") && body.contains("value=\"电话联系不上\""),
        "form kept"
    );
    assert_eq!(status_of(&t, &pid).await, "active");
    assert_eq!(t.audit_count("student.dropout_suspected", &pid, "refused").await, 1);

    let res = t
        .student_action_form(
            &pid,
            "suspected",
            &[("csrf", t.csrf.as_str()), ("absent_since", "2026-11-16"), ("note", "")],
        )
        .await;
    assert_eq!(see_other(&res), format!("/students/{pid}?ok=suspected"));
    assert_eq!(status_of(&t, &pid).await, "suspected_dropout");
    let (_, body) = page(t.follow(&format!("/students/{pid}?ok=suspected")).await).await;
    assert!(body.contains("已按疑似辍学登记并上报教育局"), "{body}");
    assert!(
        body.contains("开具劝返复学通知书") && body.contains("<summary>登记返校") && body.contains("<summary>辍学上报")
    );
    assert!(!body.contains("<summary>疑似辍学上报"));

    let res = t
        .student_action_form(
            &pid,
            "recall",
            &[
                ("csrf", t.csrf.as_str()),
                ("return_by", ""),
                ("contact_person", "学籍管理员"),
                ("contact_phone", "04315555555"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    let number: String = sqlx::query_scalar("SELECT number FROM recalls").fetch_one(&t.db().pool).await.unwrap();
    let (_, body) = page(t.student_page(&pid).await).await;
    assert!(body.contains(&number) && body.contains("登记送达"), "{body}");
    let res = t
        .student_action_form(
            &pid,
            "delivery",
            &[
                ("csrf", t.csrf.as_str()),
                ("number", number.as_str()),
                ("delivered_on", "2026-11-29"),
                ("delivered_to", "赵建国"),
                ("method", "当面送达"),
            ],
        )
        .await;
    assert_eq!(see_other(&res), format!("/students/{pid}?ok=delivered"));
    let (_, body) = page(t.student_page(&pid).await).await;
    assert!(body.contains("签收人：赵建国"), "{body}");
    // The issued notice printed again from the student's page: its kept PDF, never 「记录已存在」.
    for _ in 0..2 {
        let res = t.follow(&format!("/students/{pid}/documents/recall_notice")).await;
        let status = res.status();
        let kind = res.headers()["content-type"].to_str().unwrap().to_owned();
        assert_eq!((status, kind.as_str()), (StatusCode::OK, "application/pdf"), "{}", res.text().await.unwrap());
    }
}

#[tokio::test]
async fn a_transfer_goes_through_its_pages_and_the_graduation_runs_from_the_years_page() {
    let mut t = spawn_app().await;
    enrol(&t, CENTRAL, of_grade("孙小红", 3, 15)).await;
    let no: String = sqlx::query_scalar("SELECT student_no FROM students WHERE name = '孙小红'")
        .fetch_one(&t.db().pool)
        .await
        .unwrap();
    t.login(&format!("r{TOWN}")).await;
    let fields = |name: &'static str| {
        vec![
            ("csrf", t.csrf.clone()),
            ("student_no", no.clone()),
            ("name", name.to_owned()),
            ("to_school", TOWN.to_owned()),
            ("to_class", "1".to_owned()),
            ("reason", "家庭迁居县城".to_owned()),
            ("guardian_name", "孙建国".to_owned()),
            ("guardian_phone", "13904310002".to_owned()),
            ("apply_date", "2026-11-27".to_owned()),
        ]
    };
    let res = t.open_transfer_form(&fields("孙小兰")).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.unwrap();
    assert!(body.contains("与所填姓名不符") && body.contains("value=\"孙小兰\""), "refusal shown, form kept: {body}");
    assert_eq!(count(&t, "cases").await, 0);

    let res = t.open_transfer_form(&fields("孙小红")).await;
    let location = see_other(&res);
    let (_, body) = page(t.follow(&location).await).await;
    assert!(
        body.contains("转学申请 · 孙小红") && body.contains("转入学校审核") && body.contains("测试县城小学"),
        "{body}"
    );
    assert!(body.contains("签署转入学校审核意见"), "the receiving school decides first");

    // The four approvals on the case page, the receiving school's proof first.
    let case = case_id(&location);
    let pid = t.public_id("孙小红").await;
    let res = t.case_proof_form(&case, scan_form(&t.csrf, "transfer_proof", "户口簿", 3)).await;
    assert_eq!(see_other(&res), format!("/cases/{case}?ok=proof"));
    let (_, body) = page(t.case_page(&case).await).await;
    assert!(body.contains("户口簿") && body.contains("存于学生纸质档案"), "no download outside the scope: {body}");
    for (user, stage, expect) in [
        (format!("r{TOWN}"), "receiving_school", "approved"),
        ("bureau".to_owned(), "receiving_bureau", "approved"),
        (format!("r{CENTRAL}"), "sending_school", "approved"),
        ("bureau".to_owned(), "sending_bureau", "completed"),
    ] {
        t.login(&user).await;
        let res = t
            .decide_form(
                &case,
                &[("csrf", t.csrf.as_str()), ("stage", stage), ("decision", "approve"), ("opinion", "同意")],
            )
            .await;
        assert_eq!(see_other(&res), format!("/cases/{case}?ok={expect}"), "{user} at {stage}");
    }
    assert_eq!(status_of(&t, &pid).await, "active");

    // The sending school hands the dossier over; the receiving school files it from the page.
    t.login(&format!("r{CENTRAL}")).await;
    let (_, body) = page(t.case_page(&case).await).await;
    assert!(body.contains("移交档案（下载传输包）") && !body.contains(&format!("action=\"/cases/{case}/package\"")));
    assert!(!body.contains(&format!("href=\"/students/{pid}\"")), "the student has left the sending school");
    let res = t.hand_over_package(&case).await;
    assert_eq!(res.status(), StatusCode::OK);
    let package = res.bytes().await.unwrap().to_vec();
    t.login(&format!("r{TOWN}")).await;
    let (_, body) = page(t.case_page(&case).await).await;
    assert!(body.contains(&format!("action=\"/cases/{case}/package\"")) && !body.contains("移交档案（下载传输包）"));
    let zip_form = |bytes: Vec<u8>| {
        Form::new()
            .text("csrf", t.csrf.clone())
            .part("file", Part::bytes(bytes).file_name("transfer.zip").mime_str("application/zip").unwrap())
    };
    let res = t.receive_package_form(&case, zip_form(png(8, 8, 1))).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("class=\"error\""), "a bad package is explained on the page");
    let res = t.receive_package_form(&case, zip_form(package)).await;
    assert_eq!(see_other(&res), format!("/cases/{case}?ok=received"));
    let (_, body) = page(t.follow(&format!("/cases/{case}?ok=received")).await).await;
    assert!(body.contains("学籍档案已接收") && body.contains(&format!("href=\"/students/{pid}\"")), "{body}");
    let received: Option<String> =
        sqlx::query_scalar("SELECT received_on FROM cases").fetch_one(&t.db().pool).await.unwrap();
    assert_eq!(received.as_deref(), Some("2026-11-29"));

    // Graduation: late in the summer (August, before the new school year), so only with a reason, and once.
    let mut t = t.restart_at(chrono::NaiveDate::from_ymd_opt(2026, 8, 20).unwrap()).await;
    t.login("bureau").await;
    let (_, body) = page(t.years_page(Some(2026)).await).await;
    assert!(body.contains("逾期原因") && body.contains("请先办理2026年的毕业"), "{body}");
    let res = t.run_graduation_form(2026, &[("csrf", t.csrf.as_str())]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("勾选"));
    let res = t.run_graduation_form(2026, &[("csrf", t.csrf.as_str()), ("confirm", "1")]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("逾期办理须写明原因"));
    assert_eq!(count(&t, "year_runs").await, 0);
    let res = t
        .run_graduation_form(2026, &[("csrf", t.csrf.as_str()), ("confirm", "1"), ("late_reason", "系统年中上线")])
        .await;
    assert_eq!(see_other(&res), "/years?year=2026&ok=graduation");
    let (_, body) = page(t.follow("/years?year=2026&ok=graduation").await).await;
    assert!(body.contains("毕业已办理") && body.contains("已于") && body.contains("href=\"/certificates\""), "{body}");
    snap_page!("page_years_after_graduation", body);
    assert_eq!(t.audit_count("year.run", "graduation-2026", "ok").await, 1);
}
