//! A certificate belongs to a stage (Art. 30): one pupil from the entry into
//! grade 1 through primary graduation, the junior intake, the promotions and
//! junior graduation, through the HTTP API, on a fixed day for every step.

use crate::helpers::*;
use chrono::NaiveDate;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// Text without the spaces and line breaks layout puts between characters.
fn squeeze(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// A year as the certificates print it: 2032 → 二〇三二.
fn zh_year(y: i32) -> String {
    y.to_string()
        .chars()
        .map(|d| "〇一二三四五六七八九".chars().nth(d.to_digit(10).unwrap() as usize).unwrap())
        .collect()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.db().pool).await.unwrap()
}

/// The bureau's graduation and promotion of `year`, each on its day.
async fn school_year_ends(app: &TestApp, year: u16) {
    let june = app.restart_at(day(i32::from(year), 6, 20)).await;
    let bureau = sign_in(&june, "bureau").await;
    bureau.run_graduation(year, &json!({})).await.json_with(StatusCode::OK).await;
    drop(june);
    let august = app.restart_at(day(i32::from(year), 8, 12)).await;
    let bureau = sign_in(&august, "bureau").await;
    bureau.run_promotion(year, &json!({})).await.json_with(StatusCode::OK).await;
}

/// The bureau issues `kind` to the school's graduates; the numbers issued and the refusals.
async fn issue(app: &TestApp, on: NaiveDate, school: &str, kind: &str) -> (Vec<String>, Vec<String>) {
    let later = app.restart_at(on).await;
    let bureau = sign_in(&later, "bureau").await;
    let answer = bureau.issue_certificates(&json!({"school": school, "kind": kind})).await.json_ok().await;
    let list = |k: &str| -> Vec<String> {
        answer[k].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
    };
    (list("issued"), list("refused"))
}

async fn certificate_text(app: &TestApp, on: NaiveDate, school: &str, pid: &str, kind: &str) -> String {
    let later = app.restart_at(on).await;
    let registrar = sign_in(&later, &format!("r{school}")).await;
    squeeze(&registrar.document(pid, kind).await.pdf_text().await)
}

#[tokio::test]
async fn one_pupil_gets_a_primary_and_a_junior_certificate_each_of_its_stage_and_period() {
    let app = spawn_app().await;
    let name = "周学段";
    assert!(import_rows(app.db(), TOWN, vec![first_grader(name, 301)]).await.committed);
    let pid = app.public_id(name).await;
    let student_no: String = sqlx::query_scalar("SELECT student_no FROM students WHERE public_id = $1")
        .bind(&pid)
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    let entry: String = sqlx::query_scalar("SELECT entry_date FROM students WHERE public_id = $1")
        .bind(&pid)
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    let entry = NaiveDate::parse_from_str(&entry, "%Y-%m-%d").unwrap();
    assert_eq!(chrono::Datelike::month(&entry), 9, "entered in September");
    let entry_year = zh_year(chrono::Datelike::year(&entry));

    // A late graduation run in December would graduate a class five years
    // and three months into its six: refused, nothing written.
    let december = app.restart_at(day(2026, 12, 1)).await;
    let bureau = sign_in(&december, "bureau").await;
    let before =
        (count(&app, "SELECT COUNT(*) FROM graduations").await, count(&app, "SELECT COUNT(*) FROM year_runs").await);
    let msg = refused_with(
        bureau.run_graduation(2026, &json!({"late_reason": "补办"})).await,
        StatusCode::CONFLICT,
        "graduation.year_passed",
    )
    .await;
    assert!(msg.contains("9月1日"), "{msg}");
    let after =
        (count(&app, "SELECT COUNT(*) FROM graduations").await, count(&app, "SELECT COUNT(*) FROM year_runs").await);
    assert_eq!(after, before);
    drop(december);

    // Grades 1 to 6, then primary graduation in June 2032.
    for year in 2027..=2031 {
        school_year_ends(&app, year).await;
    }
    let june = app.restart_at(day(2032, 6, 20)).await;
    let bureau = sign_in(&june, "bureau").await;
    bureau.run_graduation(2032, &json!({})).await.json_with(StatusCode::OK).await;
    drop(june);
    let (issued, refused) = issue(&app, day(2032, 6, 25), TOWN, "graduation_certificate").await;
    assert_eq!(refused, Vec::<String>::new());
    assert_eq!(issued.len(), 1, "{issued:?}");
    let a = issued[0].clone();
    assert!(a.starts_with("22012220322"), "a 毕业证书 number of 2032: {a}");
    // Primary school ends in no 义务教育证书.
    assert_eq!(issue(&app, day(2032, 6, 25), TOWN, "compulsory_certificate").await, (vec![], vec![]));
    let primary = certificate_text(&app, day(2032, 6, 26), TOWN, &pid, "graduation_certificate").await;
    // 于二〇二六年九月至二〇三二年六月在本校小学学习 (the layout may put the photo's caption between).
    for want in [a.as_str(), "测试县城小学", "九月至二〇三二年六月在本校小学学习", "学制六年", entry_year.as_str()]
    {
        assert!(primary.contains(want), "{want} missing from the primary certificate: {primary}");
    }

    // The junior school takes this year's graduate in after the promotion.
    let august = app.restart_at(day(2032, 8, 12)).await;
    sign_in(&august, "bureau").await.run_promotion(2032, &json!({})).await.json_with(StatusCode::OK).await;
    drop(august);
    let intake_day = app.restart_at(day(2032, 8, 20)).await;
    let junior = sign_in(&intake_day, &format!("r{JUNIOR}")).await;
    let intake = json!({"student_no": student_no, "name": name, "class_number": 1});
    junior.junior_intake(&intake).await.json_with(StatusCode::OK).await;
    drop(intake_day);

    // Grades 7 to 9, then junior graduation in June 2035.
    for year in 2033..=2034 {
        school_year_ends(&app, year).await;
    }
    let grade: i64 = sqlx::query_scalar("SELECT grade FROM students WHERE public_id = $1")
        .bind(&pid)
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    assert_eq!(grade, 9);
    let june = app.restart_at(day(2035, 6, 20)).await;
    sign_in(&june, "bureau").await.run_graduation(2035, &json!({})).await.json_with(StatusCode::OK).await;
    drop(june);

    // Every junior graduate is issued: the one who holds a primary 毕业证书 too.
    let (issued, refused) = issue(&app, day(2035, 6, 25), JUNIOR, "graduation_certificate").await;
    assert_eq!((issued.len(), refused.len()), (1, 0), "issued {issued:?}, refused {refused:?}");
    let b = issued[0].clone();
    assert!(b.starts_with("22012220352") && b != a, "a second, junior 毕业证书: {b}");
    let (issued, refused) = issue(&app, day(2035, 6, 25), JUNIOR, "compulsory_certificate").await;
    assert_eq!((issued.len(), refused.len()), (1, 0), "issued {issued:?}, refused {refused:?}");
    let c = issued[0].clone();
    assert!(c.starts_with("22012220351"), "a 义务教育证书 of 2035: {c}");
    // Nothing is due twice: the primary school's run finds its graduate served.
    assert_eq!(issue(&app, day(2035, 6, 25), TOWN, "graduation_certificate").await, (vec![], vec![]));

    let junior_cert = certificate_text(&app, day(2035, 6, 26), JUNIOR, &pid, "graduation_certificate").await;
    for want in [b.as_str(), "测试县城中学", "八月至二〇三五年六月在本校初中学习", "学制三年", "二〇三二"]
    {
        assert!(junior_cert.contains(want), "{want} missing from the junior certificate: {junior_cert}");
    }
    assert!(!junior_cert.contains(&a), "the junior certificate prints its own number");
    let compulsory = certificate_text(&app, day(2035, 6, 26), JUNIOR, &pid, "compulsory_certificate").await;
    for want in [c.as_str(), "九月至二〇三五年六月", entry_year.as_str(), "九年义务教育"] {
        assert!(compulsory.contains(want), "{want} missing from the 义务教育证书: {compulsory}");
    }

    // The record keeps one certificate of each kind per stage.
    let rows: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT d.kind, d.stage, d.number FROM documents d JOIN students s ON s.id = d.student_id
         WHERE s.public_id = $1 AND d.number IS NOT NULL ORDER BY d.id",
    )
    .bind(&pid)
    .fetch_all(&app.db().pool)
    .await
    .unwrap();
    let want: Vec<(String, Option<String>, Option<String>)> = vec![
        ("graduation_certificate".into(), Some("primary".into()), Some(a)),
        ("graduation_certificate".into(), Some("junior".into()), Some(b)),
        ("compulsory_certificate".into(), Some("junior".into()), Some(c)),
    ];
    assert_eq!(rows, want);
    let stages: Vec<Value> = sqlx::query_scalar::<_, String>(
        "SELECT g.stage FROM graduations g JOIN students s ON s.id = g.student_id WHERE s.public_id = $1 ORDER BY g.year",
    )
    .bind(&pid)
    .fetch_all(&app.db().pool)
    .await
    .unwrap()
    .into_iter()
    .map(Value::from)
    .collect();
    assert_eq!(stages, vec![json!("primary"), json!("junior")]);
}
