//! Issued means handed over (Art. 31): a printed certificate is recorded as
//! handed over, and from then on is never voided, issued again or printed
//! as a fresh sheet; its kept bytes never change, whatever the templates do.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// What a refused certificate action must leave as it was.
async fn written(app: &TestApp) -> Vec<i64> {
    let mut out = Vec::new();
    for sql in [
        "SELECT COUNT(*) FROM documents",
        "SELECT COUNT(*) FROM certificate_numbers",
        "SELECT COUNT(*) FROM certificate_numbers WHERE state = 'voided'",
        "SELECT COUNT(*) FROM documents WHERE status = 'valid'",
        "SELECT COUNT(*) FROM documents WHERE handed_over_on IS NOT NULL",
        "SELECT COALESCE(MAX(last), 0) FROM certificate_counters",
    ] {
        out.push(sqlx::query_scalar(sql).fetch_one(&app.db().pool).await.unwrap());
    }
    out
}

/// A grade-9 pupil of the junior school, graduated, with the 毕业证书 the
/// bureau issued (through the API); the pupil's public id and the number.
async fn graduate_with_certificate(app: &TestApp, name: &str, seq: u16) -> (String, String) {
    assert!(import_rows(app.db(), JUNIOR, vec![pupil(name, (2011, 4, 4), seq, 9)]).await.committed);
    graduate_where(app.db(), "name", name).await;
    let bureau = sign_in(app, "bureau").await;
    let answer =
        bureau.issue_certificates(&json!({"school": JUNIOR, "kind": "graduation_certificate"})).await.json_ok().await;
    let number = answer["issued"][0].as_str().unwrap_or_else(|| panic!("{answer}")).to_owned();
    (app.public_id(name).await, number)
}

async fn pdf(res: reqwest::Response) -> Vec<u8> {
    assert_eq!(res.status(), StatusCode::OK);
    res.bytes().await.unwrap().to_vec()
}

#[tokio::test]
async fn a_certificate_handed_over_is_never_voided_issued_again_or_printed_as_a_fresh_sheet() {
    let app = spawn_app().await;
    let (pid, number) = graduate_with_certificate(&app, "颁发生", 401).await;
    let school = sign_in(&app, &format!("r{JUNIOR}")).await;
    let bureau = sign_in(&app, "bureau").await;
    let hand_over = |body: Value| {
        let path = format!("/api/certificates/{number}/hand-over");
        let school = school.clone();
        async move { school.send_json(&path, &body).await }
    };

    // Before hand-over the school prints the sheet: the kept bytes, the same each time.
    let printed = pdf(school.document(&pid, "graduation_certificate").await).await;
    assert_eq!(pdf(school.document(&pid, "graduation_certificate").await).await, printed);

    // Bad hand-overs are refused with their code, and record nothing.
    let before = written(&app).await;
    refused_with(
        hand_over(json!({"received_by": "  "})).await,
        StatusCode::BAD_REQUEST,
        "certificate.receiver_required",
    )
    .await;
    refused_with(
        hand_over(json!({"received_by": "家长", "on": "2026-12-25"})).await,
        StatusCode::BAD_REQUEST,
        "certificate.hand_over_date",
    )
    .await;
    refused_with(
        hand_over(json!({"received_by": "家长", "on": "2026-1-99"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "date.invalid",
    )
    .await;
    let other = sign_in(&app, &format!("r{TOWN}")).await;
    let res = other.send_json(&format!("/api/certificates/{number}/hand-over"), &json!({"received_by": "家长"})).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "another school's certificate is not found");
    assert_eq!(written(&app).await, before);

    // The hand-over, once: the day and who received it.
    let h = hand_over(json!({"received_by": "颁发生家长"})).await.json_ok().await;
    assert_eq!((h["on"].as_str(), h["to"].as_str()), (Some("2026-11-29"), Some("颁发生家长")));
    let before = written(&app).await;
    refused_with(
        hand_over(json!({"received_by": "颁发生家长"})).await,
        StatusCode::CONFLICT,
        "certificate.already_handed_over",
    )
    .await;
    // No void after hand-over.
    let msg = refused_with(
        bureau.void_certificate(&number, &json!({"reason": "打印错误"})).await,
        StatusCode::CONFLICT,
        "certificate.handed_over",
    )
    .await;
    assert!(msg.contains("学历证明书"), "{msg}");
    // No second issue of the stage's certificate.
    let answer =
        bureau.issue_certificates(&json!({"school": JUNIOR, "kind": "graduation_certificate"})).await.json_ok().await;
    assert_eq!(answer, json!({"issued": [], "refused": []}), "nothing is due twice");
    let mut conn = app.db().pool.acquire().await.unwrap();
    let student = xueji::db::students::by_public_id(&mut conn, &pid).await.unwrap().unwrap();
    let graduation = xueji::db::graduations::of_student(&mut *conn, student.id).await.unwrap().pop().unwrap();
    drop(conn);
    let again = xueji::certificates::issue_to(
        &app.app,
        &student,
        &graduation,
        xueji::render::DocKind::GraduationCertificate,
        None,
        serde_json::Map::new(),
    )
    .await;
    match again {
        Err(xueji::error::AppError::Conflict { code, .. }) => assert_eq!(code, "certificate.already_issued"),
        other => panic!("a second certificate of the stage: {:?}", other.map(|i| i.number)),
    }
    // The school cannot print it again as a fresh sheet.
    refused_with(
        school.document(&pid, "graduation_certificate").await,
        StatusCode::CONFLICT,
        "certificate.handed_over",
    )
    .await;
    assert_eq!(written(&app).await, before);
    // The bureau retrieves the kept copy: the very bytes handed over.
    assert_eq!(pdf(bureau.document(&pid, "graduation_certificate").await).await, printed);
    let listed = bureau.certificates_in_state("issued").await.json_ok().await;
    let row = listed.as_array().unwrap().iter().find(|r| r["number"] == number.as_str()).unwrap().clone();
    assert_eq!(row["handed_over_on"], "2026-11-29");
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[tokio::test]
async fn a_template_edit_leaves_the_download_of_an_issued_certificate_byte_identical() {
    let templates = tempfile::tempdir().unwrap();
    copy_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates"), templates.path());
    let dir = templates.path().to_path_buf();
    let app = spawn_app_with(move |c| c.templates_dir = Some(dir)).await;
    let (pid, _) = graduate_with_certificate(&app, "字节生", 402).await;
    let school = sign_in(&app, &format!("r{JUNIOR}")).await;
    let issued = pdf(school.document(&pid, "graduation_certificate").await).await;
    let sha = |pid: String| {
        let app = &app;
        async move {
            sqlx::query_scalar::<_, String>(
                "SELECT d.sha256 FROM documents d JOIN students s ON s.id = d.student_id
                 WHERE s.public_id = $1 AND d.kind = 'graduation_certificate'",
            )
            .bind(pid)
            .fetch_one(&app.db().pool)
            .await
            .unwrap()
        }
    };
    let recorded = sha(pid.clone()).await;

    let file = templates.path().join("forms/graduation_certificate.typ");
    let edited = std::fs::read_to_string(&file).unwrap().replace("特发此证。", "特发此证（新版措辞）。");
    std::fs::write(&file, edited).unwrap();

    // The issued certificate: the same bytes, the same recorded sha256.
    assert_eq!(pdf(school.document(&pid, "graduation_certificate").await).await, issued);
    assert_eq!(sha(pid).await, recorded);
    // The edit is live: the next graduate's certificate carries it.
    let (next, _) = graduate_with_certificate(&app, "新版生", 403).await;
    let text: String = school
        .document(&next, "graduation_certificate")
        .await
        .pdf_text()
        .await
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    assert!(text.contains("新版措辞"), "{text}");
}

#[tokio::test]
async fn a_form_printed_again_serves_its_kept_bytes_until_the_record_changes() {
    let templates = tempfile::tempdir().unwrap();
    copy_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates"), templates.path());
    let dir = templates.path().to_path_buf();
    let app = spawn_app_with(move |c| c.templates_dir = Some(dir)).await;
    assert!(import_rows(app.db(), TOWN, vec![first_grader("表格生", 404)]).await.committed);
    let pid = app.public_id("表格生").await;
    let school = sign_in(&app, &format!("r{TOWN}")).await;
    let statuses = || async {
        sqlx::query_scalar::<_, String>("SELECT status FROM documents WHERE kind = 'basic_info' ORDER BY id")
            .fetch_all(&app.db().pool)
            .await
            .unwrap()
    };
    let first = pdf(school.document(&pid, "basic_info").await).await;

    // A template edit alone: the form on record is served as it was printed.
    let file = templates.path().join("forms/basic_info.typ");
    let edited = std::fs::read_to_string(&file).unwrap().replace("说明：本表", "说明（新版）：本表");
    std::fs::write(&file, edited).unwrap();
    assert_eq!(pdf(school.document(&pid, "basic_info").await).await, first);
    assert_eq!(statuses().await, ["valid"]);

    // The record changes: a new form, on the new template, supersedes the old one.
    sqlx::query("UPDATE students SET current_address = '吉林省长春市农安县新址2号' WHERE public_id = $1")
        .bind(&pid)
        .execute(&app.db().pool)
        .await
        .unwrap();
    let second = school.document(&pid, "basic_info").await.pdf_text().await;
    let second: String = second.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(second.contains("新址2号") && second.contains("说明（新版）"), "{second}");
    assert_eq!(statuses().await, ["superseded", "valid"]);
}

#[tokio::test]
async fn the_school_hands_a_certificate_over_from_the_students_page() {
    let app = spawn_app().await;
    let (pid, number) = graduate_with_certificate(&app, "页面颁发生", 402).await;
    let school = sign_in(&app, &format!("r{JUNIOR}")).await;
    let page = school.student_page(&pid).await.text().await.unwrap();
    assert!(page.contains(&number) && page.contains("登记颁发") && page.contains("分享码"), "{page}");

    // The form goes back to the student's page.
    let csrf = school.csrf.clone();
    let back = format!("/students/{pid}#certificates");
    let fields = [("csrf", csrf.as_str()), ("received_by", "页面颁发生家长"), ("back", back.as_str())];
    let res = school.send_form(&format!("/certificates/{number}/hand-over"), &fields).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], back.as_str());
    let page = school.student_page(&pid).await.text().await.unwrap();
    assert!(page.contains("由 页面颁发生家长 领取") && !page.contains("登记颁发</button>"), "{page}");

    // Never to another site.
    let (_, other) = graduate_with_certificate(&app, "另一颁发生", 403).await;
    let fields = [("csrf", csrf.as_str()), ("received_by", "家长"), ("back", "//evil.example/students/x")];
    let res = school.send_form(&format!("/certificates/{other}/hand-over"), &fields).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], format!("/certificates?number={other}").as_str());
    let handed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM documents WHERE handed_over_on IS NOT NULL")
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    assert_eq!(handed, 2);
}
