//! Pages people work in: every page route answers an error as the Chinese
//! error page with a reference (the same as the answer's `x-request-id`),
//! every API route as JSON; the batch form refuses what the school does not
//! have instead of printing the whole school; times show in the county's
//! time; downloads are named in Chinese.

use crate::endpoints::{Endpoints, sign_in};
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::Value;

fn is_html(res: &reqwest::Response) -> bool {
    res.headers()["content-type"].to_str().unwrap().starts_with("text/html")
}

/// The reference an error page shows, checked against the answer's header.
async fn error_page(res: reqwest::Response, status: StatusCode) -> String {
    assert_eq!(res.status(), status);
    assert!(is_html(&res), "{:?}", res.headers());
    let reference = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let page = res.text().await.unwrap();
    assert!(page.contains(&format!("参考编号：<span id=\"reference\">{reference}</span>")), "{page}");
    assert!(page.contains("<html lang=\"zh-CN\">") && !page.contains("\"code\":"), "{page}");
    page
}

#[tokio::test]
async fn page_errors_are_pages_in_chinese_and_api_errors_json() {
    let app = spawn_app().await;
    assert!(import_rows(app.db(), TOWN, vec![first_grader("页面甲", 31)]).await.committed);
    let pid = app.public_id("页面甲").await;
    let town = sign_in(&app, &format!("r{TOWN}")).await;

    // A handler's refusal on a page route: the document is not for this status.
    let page = error_page(
        town.fetch(&format!("/students/{pid}/documents/graduation_certificate")).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(page.contains("<h1>记录冲突</h1>"), "{page}");
    // The same on the API is JSON with its code.
    let res = town.fetch(&format!("/api/students/{pid}/documents/graduation_certificate")).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.headers().contains_key("x-request-id"));
    assert!(!res.json::<Value>().await.unwrap()["code"].as_str().unwrap().is_empty());
    // No such page; a form the server cannot read (an extractor's refusal, once English text).
    let page = error_page(town.fetch("/no-such-page").await, StatusCode::NOT_FOUND).await;
    assert!(page.contains("<h1>未找到</h1>"));
    let (client, base, csrf) = town.parts();
    let res = client
        .post(format!("{base}/historical/{pid}/proof"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}&stage=%ZZ"))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error());
    let page = res.text().await.unwrap();
    assert!(page.contains("参考编号") && !page.to_lowercase().contains("deserialize"), "{page}");
    // An API extractor's refusal is JSON like every other.
    let res = client
        .post(format!("{base}/api/students/search"))
        .header("x-csrf-token", csrf)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "request.invalid", "{body}");
}

#[tokio::test]
async fn the_batch_form_refuses_a_class_the_school_lacks_and_names_its_download_in_chinese() {
    let app = spawn_app().await;
    let rows = (0..3).map(|i| first_grader(&format!("批次{i}"), 40 + i)).collect();
    assert!(import_rows(app.db(), TOWN, rows).await.committed);
    let town = sign_in(&app, &format!("r{TOWN}")).await;
    let csrf = town.parts().2.to_owned();
    let form = |grade: &'static str, class: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("school", TOWN.into()),
            ("kind", "basic_info".into()),
            ("grade", grade.into()),
            ("class", class.into()),
        ]
    };
    for (grade, class, code) in [
        ("一年级", "9", "batch.class_unknown"),
        ("十年级", "1", "grade.invalid"),
        ("", "1班", "batch.class_needs_grade"),
        ("1", "一班", "batch.class_invalid"),
    ] {
        let res = town.send_form("/batches", &form(grade, class)).await;
        let page = error_page(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert!(page.contains(code), "{grade} {class}: {page}");
    }
    let documents: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM documents").fetch_one(&app.db().pool).await.unwrap();
    assert_eq!(documents, 0, "nothing printed");

    // 「一年级」 and 「1班」 as typed mean grade 1, class 1.
    let res = town.send_form("/batches", &form("一年级", "1班")).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let job = res.headers()["location"].to_str().unwrap().to_owned();
    for _ in 0..600 {
        if !town.fetch(&job).await.text().await.unwrap().contains("正在生成") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let res = town.fetch(&format!("{job}/download")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let disposition = res.headers()["content-disposition"].to_str().unwrap().to_owned();
    let shown = "学生基本信息表-测试县城小学.pdf";
    let encoded: String = shown
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'.' || b == b'-' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    assert!(disposition.contains(&format!("filename*=UTF-8''{encoded}")), "{disposition}");
    let first = res.bytes().await.unwrap();
    assert_eq!(pdftotext(&first).matches("批次").count(), 3);
    // The file is kept until the job expires: a broken download is tried again.
    let again = town.fetch(&format!("{job}/download")).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.bytes().await.unwrap(), first);
    // An unknown job is a page saying so, not raw JSON.
    let page = error_page(town.fetch("/batches/0123456789abcdef01234567/download").await, StatusCode::NOT_FOUND).await;
    assert!(page.contains("未找到"), "{page}");
}

#[tokio::test]
async fn times_show_in_the_county_s_time() {
    let app = spawn_app().await;
    assert!(import_rows(app.db(), TOWN, vec![first_grader("时间甲", 51)]).await.committed);
    let pid = app.public_id("时间甲").await;
    let at: String = sqlx::query_scalar("SELECT e.at FROM student_events e JOIN students s ON s.id = e.student_id WHERE s.public_id = $1 ORDER BY e.id LIMIT 1")
        .bind(&pid)
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    let shown = xueji::domain::date::local_time(&at, xueji::domain::date::CHINA);
    let town = sign_in(&app, &format!("r{TOWN}")).await;
    let page = town.fetch(&format!("/students/{pid}")).await.text().await.unwrap();
    assert!(page.contains(&format!("<td>{shown}</td>")), "{shown}: {page}");
    assert!(!page.contains(&at), "no UTC instant on the page");
}

#[tokio::test]
async fn the_transfer_form_offers_the_receiving_classes_and_reads_a_typed_dot() {
    let app = spawn_app().await;
    assert!(import_rows(app.db(), CENTRAL, vec![first_grader("阿依古丽·买买提", 61)]).await.committed);
    assert!(import_rows(app.db(), TOWN, vec![first_grader("城里甲", 62)]).await.committed);
    let no: String = sqlx::query_scalar("SELECT student_no FROM students WHERE name = '阿依古丽·买买提'")
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    let town = sign_in(&app, &format!("r{TOWN}")).await;
    let page = town.fetch("/transfers/new").await.text().await.unwrap();
    assert!(page.contains("<option value=\"1-1\"") && page.contains("一年级1班") && page.contains("个学位"), "{page}");
    let csrf = town.parts().2.to_owned();
    let form = |class: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("student_no", no.clone()),
            ("name", "阿依古丽.买买提".to_owned()),
            ("to_school", TOWN.to_owned()),
            ("to_class", class.to_owned()),
            ("reason", "家庭迁居".to_owned()),
            ("guardian_name", "家长".to_owned()),
        ]
    };
    // Not a class at all: refused on the form.
    let res = town.send_form("/transfers/new", &form("一班")).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("转入班级无效"));
    // A class of another grade: refused on the form, naming why.
    let res = town.send_form("/transfers/new", &form("2-1")).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(page.contains("转学不得变更年级"), "{page}");
    // The name typed with 「.」 is the record's 「·」: the application opens.
    let res = town.send_form("/transfers/new", &form("1-1")).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.text().await.unwrap());
    assert_eq!(status_named(&app, "阿依古丽·买买提").await, "transfer_pending");
}

#[tokio::test]
async fn long_lists_filter_by_kind_and_sort_and_refuse_what_they_do_not_know() {
    let app = spawn_app().await;
    let mut rows = Vec::new();
    for (i, name) in ["无证乙", "无证甲"].into_iter().enumerate() {
        let mut row = first_grader(name, 70 + i as u16);
        row.id_type = "未办理".into();
        row.id_number = String::new();
        rows.push(row);
    }
    assert!(import_rows(app.db(), TOWN, rows).await.committed);
    let bureau = sign_in(&app, "bureau").await;
    let page = bureau.fetch("/problems?kind=no_id&sort=school").await.text().await.unwrap();
    assert!(
        page.contains("<strong>无身份证件号 2</strong>") && page.contains("无证甲") && page.contains("无证乙"),
        "{page}"
    );
    let page = bureau.fetch("/problems?kind=out_of_area").await.text().await.unwrap();
    assert!(!page.contains("无证甲"), "another kind is not listed");
    error_page(bureau.fetch("/problems?kind=rich").await, StatusCode::BAD_REQUEST).await;
    let page = bureau.fetch("/cases?kind=transfer&sort=opened").await.text().await.unwrap();
    assert!(page.contains("<option value=\"transfer\" selected>"), "{page}");
    let page = error_page(bureau.fetch("/cases?sort=name").await, StatusCode::BAD_REQUEST).await;
    assert!(page.contains("不能按“name”排序"), "{page}");
}
