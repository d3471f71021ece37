//! The public verification side: the key set, the verdict page for every
//! token fault and every status, the PDF check, the JSON twin, the rate limit
//! under 10,000 guessed tokens, the request log, and `xueji verify`.

use crate::helpers::*;
use reqwest::StatusCode;
use std::process::Command;
use xueji::documents::Options;
use xueji::render::DocKind;
use xueji::verify::{Claims, DocumentId, DocumentKind, DocumentNumber, KeyStore, MaskedName, SchoolCode, digits};

const NAME: &str = "欧阳小明";
const MASKED: &str = "欧**明";

/// A public visitor: no cookies, no session.
fn visitor() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// The token part of a verification URL.
fn token_of(url: &str) -> String {
    url.rsplit_once("/V/").or_else(|| url.rsplit_once("/v/")).unwrap().1.to_owned()
}

/// A form printed for a pupil of the county-town school: its PDF and URL.
async fn printed_form(app: &mut TestApp, name: &str, seq: u16) -> (Vec<u8>, String) {
    assert!(import_rows(app.db(), TOWN, vec![first_grader(name, seq)]).await.committed);
    app.login(&format!("r{TOWN}")).await;
    let id = app.public_id(name).await;
    let res = app.document(&id, "basic_info").await;
    assert_eq!(res.status(), StatusCode::OK);
    let pdf = res.bytes().await.unwrap().to_vec();
    let url: String = sqlx::query_scalar(
        "SELECT d.verify_url FROM documents d JOIN students s ON s.id = d.student_id WHERE s.name = $1",
    )
    .bind(name)
    .fetch_one(&app.db().pool)
    .await
    .unwrap();
    (pdf, url)
}

/// A graduation certificate with `number` issued to a graduate: its PDF and URL.
async fn certificate(app: &TestApp, name: &str, seq: u16, number: &str) -> (Vec<u8>, String) {
    assert!(import_rows(app.db(), TOWN, vec![first_grader(name, seq)]).await.committed);
    graduate_where(app.db(), "name", name).await;
    let id = app.public_id(name).await;
    let mut conn = app.db().pool.acquire().await.unwrap();
    let student = xueji::db::students::by_public_id(&mut conn, &id).await.unwrap().unwrap();
    drop(conn);
    let issued = xueji::documents::issue(
        &app.app,
        &student,
        DocKind::GraduationCertificate,
        Options { number: Some(number.to_owned()), ..Options::default() },
    )
    .await
    .unwrap();
    (issued.pdf.bytes, issued.verify_url)
}

async fn page(url: &str) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let res = visitor().get(url).send().await.unwrap();
    (res.status(), res.headers().clone(), res.text().await.unwrap())
}

fn flip(token: &str, index: usize) -> String {
    let mut bytes = digits::decode(token).unwrap();
    bytes[index] ^= 0x01;
    digits::encode(&bytes)
}

/// Headers that must be the same for every invalid token (all but the date).
fn shape(headers: &reqwest::header::HeaderMap) -> Vec<(String, String)> {
    let mut v: Vec<_> = headers
        .iter()
        // The date and the request's random reference differ on every answer and say nothing of it.
        .filter(|(k, _)| *k != "date" && *k != "x-request-id")
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned()))
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn the_key_set_is_public_and_cacheable() {
    let app = spawn_app().await;
    let res = app.key_set().await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let cache = res.headers()["cache-control"].to_str().unwrap().to_owned();
    assert!(cache.contains("public") && cache.contains("max-age"), "{cache}");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body, app.app.keys.public_key_set());
    assert_eq!(body["format"], "xueji-keys/1");
    let kid = app.app.keys.active_signer().unwrap().kid().to_string();
    assert_eq!(body["keys"][0]["kid"], kid.as_str());
    assert_eq!(body["keys"][0]["status"], "active");
    let seed = std::fs::read_to_string(app.app.keys.dir().join(format!("{kid}.key"))).unwrap();
    assert!(!body.to_string().contains(seed.trim()), "no private key");
}

#[tokio::test]
async fn a_valid_form_shows_系统签发_with_the_masked_facts_only() {
    let mut app = spawn_app().await;
    let (_, url) = printed_form(&mut app, NAME, 61).await;
    let (status, headers, body) = page(&url).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("<h1>系统签发</h1>"), "{body}");
    assert!(body.contains(MASKED));
    assert!(!body.contains(NAME), "the full name never appears");
    assert!(body.contains("学生基本信息表") && body.contains("测试县城小学") && body.contains("2026年11月29日"));
    assert!(body.contains("127.0.0.1"), "the verification domain is shown");
    assert!(body.contains("name=\"viewport\""));
    assert!(!body.contains("<script") && !body.contains("<link") && !body.contains("src="), "no external assets");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(headers.get("set-cookie").is_none());
    // Nothing else about the pupil.
    let (id_number, student_no): (String, String) =
        sqlx::query_as("SELECT id_number, student_no FROM students WHERE name = $1")
            .bind(NAME)
            .fetch_one(&app.db().pool)
            .await
            .unwrap();
    assert!(!body.contains(&id_number) && !body.contains(&student_no));
    // The page and a trailing slash or /check (a reload after an upload) say the same.
    assert_eq!(page(&format!("{url}/")).await.2, body);
    assert_eq!(page(&format!("{url}/check")).await.2, body);
}

#[tokio::test]
async fn every_token_fault_answers_the_same_无法验证_page_and_never_a_500() {
    let mut app = spawn_app_with(|c| c.verify_burst = 1000).await;
    let (_, url) = printed_form(&mut app, NAME, 62).await;
    let token = token_of(&url);
    let last = digits::decode(&token).unwrap().len() - 1;
    let base = format!("{}/v/", app.base);
    let doc_id: String = sqlx::query_scalar("SELECT doc_id FROM documents").fetch_one(&app.db().pool).await.unwrap();

    // A payload for the real document, signed by a key this service does not know.
    let other_dir = tempfile::tempdir().unwrap();
    let (other, _) = KeyStore::init(other_dir.path()).unwrap();
    let claims = Claims {
        document_id: doc_id.parse::<DocumentId>().unwrap(),
        kind: DocumentKind::BasicInfo,
        number: DocumentNumber::none(),
        issue_date: today(),
        school_code: SchoolCode::new(TOWN).unwrap(),
        masked_name: MaskedName::mask(NAME),
        status_index: None,
    };
    let foreign = xueji::verify::sign(&other.active_signer().unwrap(), &claims);
    // A validly signed token for a document that was never recorded.
    let unknown_doc = xueji::verify::sign(
        &app.app.keys.active_signer().unwrap(),
        &Claims { document_id: DocumentId::random(), ..claims },
    );

    let faults: Vec<(&str, String)> = vec![
        ("one flipped byte in the document id", format!("{base}{}", flip(&token, 10))),
        ("one flipped byte in the signature", format!("{base}{}", flip(&token, last))),
        ("a flipped version byte", format!("{base}{}", flip(&token, 0))),
        ("an unknown key id", format!("{base}{}", flip(&token, 2))),
        ("a truncated token", format!("{base}{}", &token[..token.len() - 7])),
        ("half a token", format!("{base}{}", &token[..token.len() / 2])),
        ("signed by a different key", format!("{base}{foreign}")),
        ("an unknown document", format!("{base}{unknown_doc}")),
        ("an empty token", base.clone()),
        ("no slash", format!("{}/v", app.base)),
        ("garbage", format!("{base}hello")),
        ("a guessed certificate number", format!("{base}2201222026B000001")),
        ("very long", format!("{base}{}", "A".repeat(5000))),
        ("percent-encoded bytes", format!("{base}%FF%FE%00")),
        ("extra path", format!("{base}{token}/extra")),
        ("padding", format!("{base}{token}==")),
    ];
    let (_, first_headers, first_body) = page(&faults[0].1).await;
    assert!(first_body.contains("<h1>无法验证</h1>"), "{first_body}");
    for s in [NAME, MASKED, "测试县城小学", &token[..40]] {
        assert!(!first_body.contains(s), "{s}");
    }
    for (what, url) in &faults {
        let (status, headers, body) = page(url).await;
        assert_eq!(status, StatusCode::OK, "{what}");
        assert_eq!(body, first_body, "{what}: byte for byte the same page");
        assert_eq!(shape(&headers), shape(&first_headers), "{what}: the same headers");
    }
    // The JSON twin is constant too.
    let a = visitor().get(format!("{base}{}.json", flip(&token, 10))).send().await.unwrap().text().await.unwrap();
    let b = visitor().get(format!("{base}{foreign}.json")).send().await.unwrap().text().await.unwrap();
    assert_eq!(a, b);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&a).unwrap()["verdict"], "invalid");

    // The real token still verifies, until its key is marked compromised.
    assert!(page(&url).await.2.contains("<h1>系统签发</h1>"));
    let kid = app.app.keys.active_signer().unwrap().kid();
    app.app.keys.mark_compromised(kid).unwrap();
    let (status, _, body) = page(&url).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, first_body, "a compromised key's documents fail like forgeries");
}

#[tokio::test]
async fn revoked_superseded_and_lost_documents_say_so() {
    let mut app = spawn_app().await;
    let (_, form_url) = printed_form(&mut app, NAME, 63).await;
    // Revoked, with the date (in China) and never the reason.
    sqlx::query("UPDATE documents SET status = 'revoked', status_reason = $1, status_at = '2026-11-28T17:00:00Z'")
        .bind(format!("{NAME}家长申请"))
        .execute(&app.db().pool)
        .await
        .unwrap();
    let (status, _, body) = page(&form_url).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("<h1>已作废</h1>") && body.contains("2026年11月29日"), "{body}");
    assert!(body.contains(MASKED) && !body.contains(NAME) && !body.contains("家长申请"));

    // Superseded: a newer version exists, without details.
    sqlx::query("UPDATE documents SET status = 'superseded', status_reason = NULL, replaced_by = $1")
        .bind("0123456789abcdef0123456789abcdef")
        .execute(&app.db().pool)
        .await
        .unwrap();
    let body = page(&form_url).await.2;
    assert!(body.contains("<h1>已更新</h1>") && !body.contains("0123456789abcdef"), "{body}");

    // A lost certificate names the proof that replaces it.
    let (_, cert_url) = certificate(&app, "王毕业", 64, "2201222026B000007").await;
    let body = page(&cert_url).await.2;
    assert!(
        body.contains("<h1>有效</h1>") && body.contains("毕业证书") && body.contains("2201222026B000007"),
        "{body}"
    );
    assert!(body.contains("王*业") && !body.contains("王毕业"));
    sqlx::query(
        "UPDATE documents SET status = 'lost', status_reason = '遗失', status_at = '2026-11-29T01:00:00Z', replaced_by = '2201222026P000001'
         WHERE number = '2201222026B000007'",
    )
    .execute(&app.db().pool)
    .await
    .unwrap();
    let (status, _, body) = page(&cert_url).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("<h1>已挂失</h1>") && body.contains("2026年11月29日") && body.contains("2201222026P000001"),
        "{body}"
    );
    let json: serde_json::Value = visitor().get(format!("{cert_url}.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(json["verdict"], "lost");
    assert_eq!(json["label"], "已挂失");
    assert_eq!(json["status_date"], "2026-11-29");
    assert_eq!(json["replaced_by"], "2201222026P000001");
    assert_eq!(json["document"]["masked_name"], "王*业");
    assert_eq!(json["document"]["school_name"], "测试县城小学");
    assert!(!json.to_string().contains("王毕业"));
}

async fn upload(url: &str, bytes: Vec<u8>) -> (StatusCode, String) {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name("copy.pdf").mime_str("application/pdf").unwrap(),
    );
    let res = visitor().post(format!("{url}/check")).multipart(form).send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

#[tokio::test]
async fn an_uploaded_pdf_is_checked_byte_for_byte() {
    let mut app = spawn_app().await;
    let (pdf, url) = printed_form(&mut app, NAME, 65).await;
    let (status, body) = upload(&url, pdf.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("一致：上传的文件与签发的原件完全相同") && body.contains("<h1>系统签发</h1>"), "{body}");
    assert!(!body.contains(NAME));

    let mut changed = pdf.clone();
    let middle = changed.len() / 2;
    changed[middle] ^= 0x20;
    let (status, body) = upload(&url, changed).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("不一致") && !body.contains("完全相同"), "{body}");
    let sha: String = sqlx::query_scalar("SELECT sha256 FROM documents").fetch_one(&app.db().pool).await.unwrap();
    assert!(!body.contains(&sha), "the recorded hash is not revealed");

    let (status, body) = upload(&url, Vec::new()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("没有收到文件"));

    // A forged token: the same 无法验证 page, whatever is uploaded.
    let forged = format!("{}/v/{}", app.base, flip(&token_of(&url), 10));
    let (status, body) = upload(&forged, pdf.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, page(&forged).await.2);

    // Over the limit.
    let (status, body) = upload(&url, vec![b'%'; 20 * 1024 * 1024 + 1024]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(body.contains("文件过大"), "{body}");

    // Not multipart.
    let res = visitor().post(format!("{url}/check")).body(pdf).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("没有上传成功"));
}

#[tokio::test]
async fn the_json_answer_carries_the_verdict_and_the_masked_facts() {
    let mut app = spawn_app().await;
    let (_, url) = printed_form(&mut app, NAME, 66).await;
    let res = visitor().get(format!("{url}.json")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let json: serde_json::Value = res.json().await.unwrap();
    assert_eq!(json["verdict"], "valid");
    // A form says the system printed it, never 有效 like a certificate.
    assert_eq!(json["label"], "系统签发");
    assert_eq!(json["paper"], "form");
    assert_eq!(json["document"]["masked_name"], MASKED);
    assert_eq!(json["document"]["kind"], "basic_info");
    assert_eq!(json["document"]["school_code"], TOWN);
    assert_eq!(json["domain"], "127.0.0.1");
    assert!(json.get("status_date").is_none() && json.get("replaced_by").is_none());
    assert!(!json.to_string().contains(NAME));
    // The QR code's upper-case URL opens the page.
    assert!(url.starts_with("HTTP://127.0.0.1:") && url.contains("/V/"), "{url}");
    let page = visitor().get(&url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(page.contains("系统签发") && !page.contains("真实有效"), "{page}");
    // A token printed before, spelled in base64url, gives the same answer.
    let bytes = digits::decode(&token_of(&url)).unwrap();
    let old = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes);
    let again: serde_json::Value =
        visitor().get(format!("{}/v/{old}.json", app.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(again, json);
}

#[tokio::test]
async fn ten_thousand_guessed_tokens_get_429s_and_no_personal_data() {
    let started = std::time::Instant::now();
    let mut app = spawn_app_with(|c| {
        c.verify_rate_per_minute = 60;
        c.verify_burst = 10;
    })
    .await;
    let (_, url) = printed_form(&mut app, NAME, 67).await;
    let (id_number, student_no, phone): (String, String, String) = sqlx::query_as(
        "SELECT s.id_number, s.student_no, g.phone FROM students s JOIN guardians g ON g.student_id = s.id WHERE s.name = $1",
    )
    .bind(NAME)
    .fetch_one(&app.db().pool)
    .await
    .unwrap();
    let secrets = [NAME.to_owned(), MASKED.to_owned(), id_number, student_no, phone, "测试县城小学".to_owned()];

    let client = visitor();
    let base = format!("{}/v/", app.base);
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let guesses: Vec<String> = (0..10_000)
        .map(|i| {
            let len = if i % 2 == 0 { 164 } else { 20 + i % 200 };
            (0..len).map(|_| char::from(alphabet[rand::random_range(0..alphabet.len())])).collect()
        })
        .collect();
    let semaphore = std::sync::Arc::new(tokio::sync::Semaphore::new(32));
    let mut tasks = tokio::task::JoinSet::new();
    for guess in guesses {
        let permit = semaphore.clone().acquire_owned().await.unwrap();
        let (client, url) = (client.clone(), format!("{base}{guess}"));
        tasks.spawn(async move {
            let res = client.get(url).send().await.unwrap();
            let status = res.status();
            let retry = res.headers().get("retry-after").map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
            let body = res.text().await.unwrap();
            drop(permit);
            (status, retry, body)
        });
    }
    let (mut ok, mut limited) = (0, 0);
    let mut bodies = std::collections::HashSet::new();
    while let Some(result) = tasks.join_next().await {
        let (status, retry, body) = result.unwrap();
        match status {
            StatusCode::OK => {
                ok += 1;
                assert!(body.contains("无法验证"));
            }
            StatusCode::TOO_MANY_REQUESTS => {
                limited += 1;
                assert!(retry.is_some_and(|s| (1..=60).contains(&s)), "{retry:?}");
                assert!(body.contains("请稍后再试"));
            }
            other => panic!("unexpected status {other}"),
        }
        for s in &secrets {
            assert!(!body.contains(s.as_str()), "a body leaked {s}");
        }
        bodies.insert(body);
    }
    let elapsed = started.elapsed().as_secs();
    assert_eq!(ok + limited, 10_000);
    assert!(ok >= 10 && ok <= 10 + elapsed as usize + 2, "burst 10 and one a second: {ok} in {elapsed} s");
    assert!(bodies.len() <= 4, "one invalid page and 429 pages that differ only by the wait: {}", bodies.len());
    // The real document is refused too from this address while over the limit. The bucket may
    // have refilled a token or two since the last guess on a slow machine: within the burst a
    // 429 must come, and it says nothing about the document.
    let mut refused = None;
    for _ in 0..12 {
        let res = client.get(&url).send().await.unwrap();
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            refused = Some(res.text().await.unwrap());
            break;
        }
    }
    let refused = refused.expect("the real document is rate-limited too");
    assert!(!refused.contains(MASKED));
    // The key set is not rate-limited (it is the same for everyone and cacheable).
    let res = client.get(format!("{}/.well-known/xueji-keys.json", app.base)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(started.elapsed().as_secs() < 30, "took {:?}", started.elapsed());
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_is_counted() {
    let mut app = spawn_app_with(|c| {
        c.verify_rate_per_minute = 1;
        c.verify_burst = 2;
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let (_, url) = printed_form(&mut app, NAME, 68).await;
    let get = |client: &str| {
        let url = url.clone();
        let client = client.to_owned();
        async move {
            visitor().get(url).header("x-forwarded-for", format!("10.0.0.1, {client}")).send().await.unwrap().status()
        }
    };
    assert_eq!(get("198.51.100.1").await, StatusCode::OK);
    assert_eq!(get("198.51.100.1").await, StatusCode::OK);
    assert_eq!(get("198.51.100.1").await, StatusCode::TOO_MANY_REQUESTS);
    // Another client behind the same proxy has its own allowance.
    assert_eq!(get("198.51.100.2").await, StatusCode::OK);

    // Without a trusted proxy the header is ignored: the connection is the client.
    let mut app = spawn_app_with(|c| {
        c.verify_rate_per_minute = 1;
        c.verify_burst = 2;
    })
    .await;
    let (_, url) = printed_form(&mut app, NAME, 69).await;
    for (i, client) in ["198.51.100.1", "198.51.100.2", "198.51.100.3"].into_iter().enumerate() {
        let status = visitor().get(&url).header("x-forwarded-for", client).send().await.unwrap().status();
        let want = if i < 2 { StatusCode::OK } else { StatusCode::TOO_MANY_REQUESTS };
        assert_eq!(status, want, "{client}");
    }
}

/// A child process ended when the test ends, passed or not.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_log_shows_no_token_and_no_personal_data() {
    // The real binary, over the test's database and keys, logging at debug level to a file.
    let mut app = spawn_app().await;
    let (pdf, url) = printed_form(&mut app, NAME, 70).await;
    let config = app.app.config.clone();
    let log_path = config.data_dir.join("serve.log");
    let log_file = std::fs::File::create(&log_path).unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    let child = Command::new(env!("CARGO_BIN_EXE_xueji"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("XUEJI_DATA_DIR", &config.data_dir)
        .env("XUEJI_DATABASE_URL", &config.database_url)
        .env("XUEJI_TEMPLATES_DIR", format!("{root}/templates"))
        .env("XUEJI_FONTS_DIR", format!("{root}/fonts"))
        .env("XUEJI_LOG", "debug")
        .stdout(std::process::Stdio::piped())
        .stderr(log_file)
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let stdout = child.0.stdout.take().unwrap();
    let banner = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let mut line = String::new();
        std::io::BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    })
    .await
    .unwrap();
    let base = banner.split("http://").nth(1).and_then(|r| r.split("/login").next()).expect(&banner);
    let url = format!("http://{base}/v/{}", token_of(&url));
    let token = token_of(&url);
    assert!(page(&url).await.2.contains("<h1>系统签发</h1>"));
    page(&format!("{url}.json")).await;
    page(&format!("http://{base}/v/{}", flip(&token, 10))).await;
    upload(&url, pdf).await;
    drop(child);
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("/v/…"), "{log}");
    assert!(log.contains("/v/…/check") && log.contains("/v/….json"), "{log}");
    for secret in [&token[..24], &token[token.len() - 24..], NAME, MASKED] {
        assert!(!log.contains(secret), "the log shows {secret}:\n{log}");
    }
}

/// Runs the `xueji` binary (on a blocking thread: the server shares this test's runtime),
/// on the tests' date.
async fn xueji(data_dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    xueji_on(data_dir, today(), args).await
}

/// Runs the `xueji` binary as on `day`.
async fn xueji_on(data_dir: &std::path::Path, day: chrono::NaiveDate, args: &[&str]) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xueji"));
    command
        .args(args)
        .env("XUEJI_DATA_DIR", data_dir)
        .env("XUEJI_TODAY", day.to_string())
        .env_remove("XUEJI_DATABASE_URL");
    let out = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_cli_verifies_a_token_an_image_and_offline_with_a_published_key_set() {
    let app = spawn_app().await;
    let (pdf, url) = certificate(&app, NAME, 71, "2201222026B000042").await;
    let data = app.app.config.data_dir.clone();
    let token = token_of(&url);

    // The token or the URL, against the local key set.
    let (code, out, err) = xueji(&data, &["verify", &url]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("签名：真实") && out.contains("毕业证书") && out.contains("2201222026B000042"), "{out}");
    assert!(out.contains(MASKED) && !out.contains(NAME) && out.contains("结论：有效"), "{out}");
    assert_eq!(xueji(&data, &["verify", &token]).await.0, 0);

    // With the live status.
    let (code, out, err) = xueji(&data, &["verify", &token, "--online", &app.base]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("在线状态") && out.contains("测试县城小学") && out.contains("结论：有效"), "{out}");

    // From a scan of the printed page.
    let scans = tempfile::tempdir().unwrap();
    let png = rasterise(&pdf, scans.path());
    let (code, out, err) = xueji(&data, &["verify", "--image", png.to_str().unwrap()]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&url) && out.contains("结论：有效"), "{out}");

    // Offline, with the published key set and no data directory at all.
    let keys = scans.path().join("xueji-keys.json");
    let published = app.key_set().await;
    std::fs::write(&keys, published.bytes().await.unwrap()).unwrap();
    let empty = tempfile::tempdir().unwrap();
    let (code, out, err) = xueji(empty.path(), &["verify", &url, "--keys", keys.to_str().unwrap()]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("结论：有效"));
    // Tampered: 无法验证, exit 1.
    let (code, out, _) = xueji(empty.path(), &["verify", &flip(&token, 10), "--keys", keys.to_str().unwrap()]).await;
    assert_eq!(code, 1);
    assert!(out.contains("无法验证"), "{out}");
    // No key set at all: could not check, exit 2.
    let (code, _, err) = xueji(empty.path(), &["verify", &url]).await;
    assert_eq!(code, 2);
    assert!(err.contains("--keys"), "{err}");
    // An image without a QR code: exit 2.
    let blank = scans.path().join("blank.png");
    image::GrayImage::from_pixel(200, 200, image::Luma([255])).save(&blank).unwrap();
    assert_eq!(xueji(&data, &["verify", "--image", blank.to_str().unwrap()]).await.0, 2);

    // Lost: the signature is still genuine, the live status is not valid.
    sqlx::query(
        "UPDATE documents SET status = 'lost', status_at = '2026-11-29T01:00:00Z', replaced_by = '2201222026P000002'",
    )
    .execute(&app.db().pool)
    .await
    .unwrap();
    let (code, out, _) = xueji(&data, &["verify", &url, "--online", &app.base]).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("已挂失") && out.contains("2201222026P000002"), "{out}");
    // https is refused with a clear message.
    let (code, _, err) = xueji(&data, &["verify", &url, "--online", "https://verify.example.cn"]).await;
    assert_eq!(code, 2);
    assert!(err.contains("http://"), "{err}");
}

#[tokio::test]
async fn offline_the_kept_status_list_says_revoked_valid_as_of_or_unknown_since() {
    let app = spawn_app().await;
    let (_, url) = certificate(&app, NAME, 72, "2201222026B000043").await;
    let data = app.app.config.data_dir.clone();
    let claims = xueji::verify::verify(&token_of(&url), &app.app.keys).unwrap().claims;
    assert!(claims.status_index.is_some(), "a new document's token carries its index");

    // Online once: the signed list is fetched, checked and kept.
    let (code, out, err) = xueji(&data, &["verify", &url, "--online", &app.base]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("状态清单：已更新"), "{out}");
    assert!(data.join("status-list.json").exists());
    // Offline: valid as of the list's date.
    let (code, out, _) = xueji(&data, &["verify", &url]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("结论：有效（截至 {}）", today())), "{out}");

    // The bureau revokes it; a list made after that says so, offline too.
    let doc_id: String = sqlx::query_scalar("SELECT doc_id FROM documents WHERE number = '2201222026B000043'")
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    let bureau = sign_in(&app, "bureau").await;
    let res =
        bureau.send_json(&format!("/api/documents/{doc_id}/revoke"), &serde_json::json!({"reason": "错印"})).await;
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    let fresh = app.restart_at(today()).await;
    let list: serde_json::Value = visitor()
        .get(format!("{}/.well-known/xueji-status.json", fresh.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["format"], "xueji-status/1");
    assert!(!list.to_string().contains(NAME) && !list.to_string().contains(MASKED), "no personal data in the list");
    xueji(&data, &["verify", &url, "--online", &fresh.base]).await;
    let (code, out, _) = xueji(&data, &["verify", &url]).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("结论：已作废或已挂失"), "{out}");

    // Past the list's validity: genuine, status unknown since its last day.
    let until: chrono::NaiveDate = list["valid_until"].as_str().unwrap().parse().unwrap();
    let (code, out, _) = xueji_on(&data, until + chrono::Duration::days(1), &["verify", &url]).await;
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("签名：真实") && out.contains(&format!("状态未知（自 {until} 起）")), "{out}");
    // A changed list is not believed.
    let kept = data.join("status-list.json");
    let mut changed: serde_json::Value = serde_json::from_slice(&std::fs::read(&kept).unwrap()).unwrap();
    changed["valid_until"] = "2099-01-01".into();
    std::fs::write(&kept, changed.to_string()).unwrap();
    let (code, out, _) = xueji(&data, &["verify", &url]).await;
    assert_eq!(code, 0, "the signature is still genuine: {out}");
    assert!(out.contains("状态清单：不可用（状态清单签名无效）"), "{out}");

    // A token signed by a key after it was retired: 无法验证.
    let old = app.app.keys.active_signer().unwrap();
    app.app.keys.rotate().unwrap();
    let late = Claims { issue_date: today() + chrono::Duration::days(400), ..claims };
    let forged = xueji::verify::sign(&old, &late);
    let (code, out, _) = xueji(&data, &["verify", &forged]).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("签发日期不在密钥") && out.contains("结论：无法验证"), "{out}");
}
