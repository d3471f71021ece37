//! The staff search: name, pinyin initials, 学籍号, 身份证件号 (whole or its
//! last digits), school, grade, class, status and flags combined; paged by
//! key with counts; refusals for values the system does not know, never a
//! wider search; the page and the API give the same results; audited
//! without the text searched for.

use crate::endpoints::{Answer, Endpoints, Session, sign_in};
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeSet;

const GIVEN: [&str; 20] = [
    "一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "春", "夏", "秋", "冬", "东", "南", "西", "北", "山",
    "水",
];

/// 120 pupils named 刘…, 20 in class 1 of each of grades 1-6 of the town
/// school; one 刘浩然 among them (left behind), and one 阿依古丽·买买提.
async fn county(app: &TestApp) {
    let mut rows = Vec::new();
    for grade in 1..=6u8 {
        for (i, g) in GIVEN.iter().enumerate() {
            let seq = u16::from(grade) * 100 + i as u16;
            let year = 2020 - i32::from(grade);
            let mut row = pupil(&format!("刘{g}{}", GIVEN[usize::from(grade)]), (year, 3, 1 + i as u32), seq, grade);
            if grade == 3 && i == 0 {
                row.name = "刘浩然".into();
                row.left_behind = "单亲留守儿童".into();
            }
            rows.push(row);
        }
    }
    rows.push(pupil("阿依古丽·买买提", (2016, 6, 6), 901, 4));
    assert!(import_rows(app.db(), TOWN, rows).await.committed);
}

async fn search(who: &Session, body: Value) -> Value {
    who.send_json("/api/students/search", &body).await.json_ok().await
}

fn names(page: &Value) -> Vec<String> {
    page["students"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap().to_owned()).collect()
}

async fn refusal(who: &Session, body: Value) -> (StatusCode, String) {
    let res = who.send_json("/api/students/search", &body).await;
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    (status, body["code"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn a_search_combines_every_criterion_and_pages_by_key() {
    let app = spawn_app().await;
    county(&app).await;
    let bureau = sign_in(&app, "bureau").await;

    // 120 刘: three pages of 50, 50 and 20, no row twice, none left out.
    let first = search(&bureau, json!({"q": "刘"})).await;
    assert_eq!((first["total"].as_i64(), first["pages"].as_i64()), (Some(120), Some(3)), "{first}");
    assert_eq!(first["text_kind"], "name");
    assert!(first["prev"].is_null());
    let second = search(&bureau, json!({"q": "刘", "after": first["next"], "page": 2})).await;
    assert_eq!((second["page"].as_i64(), second["first_rank"].as_i64()), (Some(2), Some(51)));
    let third = search(&bureau, json!({"q": "刘", "after": second["next"], "page": 3})).await;
    assert!(third["next"].is_null(), "{third}");
    let all: Vec<String> = [&first, &second, &third].into_iter().flat_map(names).collect();
    assert_eq!((names(&first).len(), names(&second).len(), all.len()), (50, 50, 120));
    assert_eq!(all.iter().collect::<BTreeSet<_>>().len(), 120, "no row twice");
    let back = search(&bureau, json!({"q": "刘", "before": second["prev"], "page": 1})).await;
    assert_eq!(names(&back), names(&first), "the previous page is the first again");

    // By ID number, whole or its last digits, and by 学籍号.
    let (id, no): (String, String) = sqlx::query_as("SELECT id_number, student_no FROM students WHERE name = '刘浩然'")
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    let found = search(&bureau, json!({"q": id})).await;
    assert_eq!((names(&found), found["text_kind"].as_str()), (vec!["刘浩然".to_owned()], Some("id_number")));
    let found = search(&bureau, json!({"q": &id[12..]})).await;
    assert!(names(&found).contains(&"刘浩然".to_owned()), "{found}");
    assert_eq!(found["text_kind"], "id_suffix");
    let found = search(&bureau, json!({"q": no.to_lowercase()})).await;
    assert_eq!(names(&found), vec!["刘浩然".to_owned()]);
    // By pinyin initials, and a name typed with 「.」 for 「·」.
    assert!(names(&search(&bureau, json!({"q": "lhr"})).await).contains(&"刘浩然".to_owned()));
    assert_eq!(names(&search(&bureau, json!({"q": "阿依古丽.买买提"})).await), vec!["阿依古丽·买买提".to_owned()]);

    // Combined: grade, class, status, flag, school.
    let g3 = search(&bureau, json!({"q": "刘", "grade": "三年级"})).await;
    assert_eq!(g3["total"], 20);
    let c = search(&bureau, json!({"q": "刘", "school": TOWN, "class": "3-1", "status": "active"})).await;
    assert_eq!(c["total"], 20);
    let flagged = search(&bureau, json!({"flags": ["left_behind"], "school": TOWN})).await;
    assert_eq!(names(&flagged), vec!["刘浩然".to_owned()]);
    assert_eq!(search(&bureau, json!({"q": "刘", "school": CENTRAL})).await["total"], 0);

    // What the system does not know is refused, naming it; nothing is listed.
    for (body, code) in [
        (json!({"q": "刘", "school": "2122019999"}), "search.school_unknown"),
        (json!({"q": "刘", "school": TOWN, "class": "3-9"}), "search.class_unknown"),
        (json!({"q": "刘", "class": "1班"}), "search.class_invalid"),
        (json!({"q": "刘", "class": "2"}), "search.class_needs_grade"),
        (json!({"q": "刘", "grade": "十年级"}), "grade.invalid"),
        (json!({"q": "刘", "status": "expelled"}), "status.invalid"),
        (json!({"q": "刘", "flags": ["rich"]}), "search.flag_unknown"),
        (json!({"q": "602"}), "search.too_short"),
        (json!({"q": "刘", "after": "x' OR 1=1"}), "search.page_invalid"),
    ] {
        let (status, got) = refusal(&bureau, body.clone()).await;
        assert!(status.is_client_error() && got == code, "{body}: {status} {got}");
    }

    // A registrar finds only their schools; another school is not found at all.
    let central = sign_in(&app, &format!("r{CENTRAL}")).await;
    assert_eq!(search(&central, json!({"q": "刘"})).await["total"], 0);
    assert_eq!(refusal(&central, json!({"q": "刘", "school": TOWN})).await.0, StatusCode::NOT_FOUND);

    // Every search is audited, by what kind of text, never the text.
    let details: Vec<String> = sqlx::query_scalar("SELECT detail FROM audit_log WHERE action = 'student.search'")
        .fetch_all(&app.db().pool)
        .await
        .unwrap();
    assert!(details.len() >= 14, "{details:?}");
    assert!(details.iter().any(|d| d.contains("text=id_number")));
    assert!(details.iter().all(|d| !d.contains('刘') && !d.contains(&id[12..]) && !d.contains("lhr")), "{details:?}");
}

#[tokio::test]
async fn the_page_and_the_api_find_the_same_students() {
    let app = spawn_app().await;
    county(&app).await;
    let bureau = sign_in(&app, "bureau").await;
    let csrf = bureau.parts().2.to_owned();
    let api = search(&bureau, json!({"q": "刘", "grade": "2"})).await;
    let page = bureau.send_form("/students/search", &[("csrf", csrf.as_str()), ("q", "刘"), ("grade", "2")]).await;
    let page = page.text().await.unwrap();
    assert!(page.contains("共 20 名学生"), "{page}");
    for name in names(&api) {
        assert!(page.contains(&format!(">{name}</a>")), "{name}");
    }
    // Page 2 of 120 on the page: ranks 51 to 100, reached by the form's 下一页.
    let first = search(&bureau, json!({"q": "刘"})).await;
    let next = first["next"].as_str().unwrap();
    let fields = [("csrf", csrf.as_str()), ("q", "刘"), ("after", next), ("page", "2")];
    let page = bureau.send_form("/students/search", &fields).await;
    let page = page.text().await.unwrap();
    assert!(page.contains("第 2 / 3 页") && page.contains(">51</td>") && page.contains(">100</td>"), "{page}");
    assert!(!page.contains(">50</td>") && !page.contains(">101</td>"));
    // A class that does not exist is refused on the page, in Chinese, and nothing is listed.
    let fields = [("csrf", csrf.as_str()), ("q", "刘"), ("school", TOWN), ("class", "3-9")];
    let res = bureau.send_form("/students/search", &fields).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(page.contains("三年级9班") && page.contains("不存在") && !page.contains("<td class=\"rank\">"), "{page}");
}
