//! `xueji bench load`: mixed staff and verification traffic at a fixed rate
//! against a running service, for `docs/benchmarks.md`.
//!
//! The load is open-loop: request *i* is sent at `start + i / rate` whether
//! or not the earlier ones have been answered, and its latency is counted
//! from that moment, so a stalled server shows up as latency instead of
//! quietly lowering the rate (no coordinated omission). Staff requests are
//! the pages and API reads a registrar or bureau clerk makes all day (each
//! writes its audit row, as in real use); verification requests are the
//! public `/v/` page and its JSON, for documents the tool prints first.

use anyhow::{Context, bail};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode, header};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rand::Rng;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// Requests in flight at most; beyond, a request is counted as not sent.
const MAX_IN_FLIGHT: usize = 4096;

/// What `xueji bench load` runs.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// The service, e.g. `http://127.0.0.1:8080`.
    pub base: String,
    /// `demo-accounts.txt` (tab-separated user name, password, role).
    pub accounts: PathBuf,
    /// The account to sign in with (default: the first bureau clerk).
    pub user: Option<String>,
    /// Requests per second, both kinds together.
    pub rate: u32,
    /// How long.
    pub seconds: u64,
    /// The share of staff requests (the rest verify).
    pub staff_share: f64,
    /// Staff p99 latency allowed, in milliseconds.
    pub staff_p99_ms: f64,
    /// Verification p99 latency allowed, in milliseconds.
    pub verify_p99_ms: f64,
    /// Print the report as JSON.
    pub json: bool,
}

/// The two kinds of traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
enum Kind {
    Staff,
    Verify,
}

#[derive(Debug, Default)]
struct Tally {
    latencies_us: Vec<u32>,
    statuses: BTreeMap<u16, u64>,
    /// The `code` of 5xx answers (e.g. `busy`, `internal`).
    server_error_codes: BTreeMap<String, u64>,
    connection_errors: u64,
    not_sent: u64,
}

/// One kind's figures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct KindReport {
    /// Requests scheduled.
    pub requests: u64,
    /// Answers by status.
    pub statuses: BTreeMap<u16, u64>,
    /// 5xx answers by their code.
    pub server_error_codes: BTreeMap<String, u64>,
    /// Requests that got no answer (connection refused, reset, timeout).
    pub connection_errors: u64,
    /// Requests not sent because too many were in flight.
    pub not_sent: u64,
    /// Latency percentiles, milliseconds.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
    /// Slowest.
    pub max_ms: f64,
}

/// The whole run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoadReport {
    /// Requests per second asked for.
    pub rate: u32,
    /// Seconds asked for.
    pub seconds: u64,
    /// Answers per second achieved.
    pub achieved_rate: f64,
    /// Staff traffic.
    pub staff: KindReport,
    /// Verification traffic.
    pub verify: KindReport,
    /// Whether every request got a 2xx and both p99s are within their limits.
    pub passed: bool,
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    f64::from(sorted[i]) / 1000.0
}

impl Tally {
    fn report(&mut self) -> KindReport {
        self.latencies_us.sort_unstable();
        let l = &self.latencies_us;
        KindReport {
            requests: l.len() as u64 + self.connection_errors + self.not_sent,
            statuses: self.statuses.clone(),
            server_error_codes: self.server_error_codes.clone(),
            connection_errors: self.connection_errors,
            not_sent: self.not_sent,
            p50_ms: percentile(l, 0.50),
            p90_ms: percentile(l, 0.90),
            p99_ms: percentile(l, 0.99),
            p999_ms: percentile(l, 0.999),
            max_ms: l.last().map_or(0.0, |&m| f64::from(m) / 1000.0),
        }
    }
}

impl KindReport {
    fn all_ok(&self) -> bool {
        self.connection_errors == 0 && self.not_sent == 0 && self.statuses.keys().all(|s| (200..300).contains(s))
    }
}

/// A staff session: the cookie and the CSRF token.
struct Session {
    cookie: String,
    csrf: String,
}

async fn send(
    client: &HttpClient,
    method: Method,
    url: &str,
    session: Option<&Session>,
    json: Option<serde_json::Value>,
) -> anyhow::Result<(StatusCode, header::HeaderMap, Bytes)> {
    let mut req = Request::builder().method(method).uri(url);
    if let Some(s) = session {
        req = req.header(header::COOKIE, &s.cookie).header("x-csrf-token", &s.csrf);
    }
    let body = match json {
        Some(v) => {
            req = req.header(header::CONTENT_TYPE, "application/json");
            Full::new(Bytes::from(serde_json::to_vec(&v)?))
        }
        None => Full::new(Bytes::new()),
    };
    let res = client.request(req.body(body)?).await?;
    let (parts, body) = res.into_parts();
    let bytes = body.collect().await?.to_bytes();
    Ok((parts.status, parts.headers, bytes))
}

/// The account to sign in with, from the demo accounts file.
fn account(opts: &LoadOptions) -> anyhow::Result<(String, String)> {
    let text = std::fs::read_to_string(&opts.accounts).with_context(|| {
        format!("无法读取账号文件 {}（先运行 xueji demo 或 serve --demo）", opts.accounts.display())
    })?;
    let rows: Vec<Vec<&str>> =
        text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()).map(|l| l.split('\t').collect()).collect();
    let clerk = crate::domain::Role::BureauStaff.label();
    let found = match &opts.user {
        Some(u) => rows.iter().find(|r| r.first() == Some(&u.as_str())),
        None => rows.iter().find(|r| r.get(2) == Some(&clerk)).or(rows.first()),
    };
    match found {
        Some(r) if r.len() >= 2 => Ok((r[0].to_owned(), r[1].to_owned())),
        _ => bail!("账号文件 {} 中没有可用的账号", opts.accounts.display()),
    }
}

async fn sign_in(client: &HttpClient, opts: &LoadOptions) -> anyhow::Result<Session> {
    let (username, password) = account(opts)?;
    let url = format!("{}/api/login", opts.base);
    let body = serde_json::json!({ "username": username, "password": password });
    let (status, headers, bytes) = send(client, Method::POST, &url, None, Some(body)).await?;
    if status != StatusCode::OK {
        bail!("无法以 {username} 登录 {}：{status} {}", opts.base, String::from_utf8_lossy(&bytes));
    }
    let cookie = headers
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .context("登录应答中没有会话 Cookie")?
        .to_owned();
    let login: serde_json::Value = serde_json::from_slice(&bytes)?;
    let csrf = login["csrf"].as_str().unwrap_or_default().to_owned();
    Ok(Session { cookie, csrf })
}

async fn get_json(client: &HttpClient, url: &str, session: &Session) -> anyhow::Result<serde_json::Value> {
    let (status, _, bytes) = send(client, Method::GET, url, Some(session), None).await?;
    if !status.is_success() {
        bail!("{url}：{status}");
    }
    Ok(serde_json::from_slice(&bytes)?)
}

/// The paths the load is made of: staff reads over real students, and the
/// verification pages of documents printed for a few of them.
async fn targets(client: &HttpClient, base: &str, session: &Session) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let list = get_json(client, &format!("{base}/api/students?page=1"), session).await?;
    let pids: Vec<String> = list["students"]
        .as_array()
        .map(|a| a.iter().filter_map(|s| s["public_id"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    if pids.is_empty() {
        bail!("服务中没有学生（先载入示例县：xueji demo）");
    }
    let pages = list["pages"].as_i64().unwrap_or(1).clamp(1, 20);
    let mut staff = Vec::new();
    for pid in &pids {
        staff.push(format!("/students/{pid}"));
        staff.push(format!("/api/students/{pid}"));
    }
    for page in 1..=pages {
        staff.push(format!("/api/students?page={page}"));
        staff.push(format!("/students?page={page}"));
    }
    let mut verify = Vec::new();
    for pid in pids.iter().take(10) {
        let (status, _, _) =
            send(client, Method::GET, &format!("{base}/api/students/{pid}/documents/basic_info"), Some(session), None)
                .await?;
        if !status.is_success() {
            continue;
        }
        let docs = get_json(client, &format!("{base}/api/students/{pid}/documents"), session).await?;
        for d in docs["documents"].as_array().into_iter().flatten() {
            if let Some(url) = d["verify_url"].as_str()
                && let Some(i) = url.find("/V/").or_else(|| url.find("/v/"))
            {
                verify.push(url[i..].to_owned());
                verify.push(format!("{}.json", &url[i..]));
            }
        }
    }
    if verify.is_empty() {
        bail!("没能打印出可供验证的文书");
    }
    verify.sort();
    verify.dedup();
    Ok((staff, verify))
}

/// Runs the load and prints the report; whether it passed.
pub async fn load(opts: &LoadOptions) -> anyhow::Result<bool> {
    if opts.rate == 0 || opts.seconds == 0 || !(0.0..=1.0).contains(&opts.staff_share) {
        bail!("--rate 和 --seconds 须大于 0，--staff-share 须在 0 到 1 之间");
    }
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: HttpClient = Client::builder(TokioExecutor::new()).pool_max_idle_per_host(512).build(connector);
    let session = Arc::new(sign_in(&client, opts).await?);
    let (staff_paths, verify_paths) = targets(&client, &opts.base, &session).await?;
    eprintln!(
        "目标：{} 个工作人员页面和接口，{} 个验证页面；每秒 {} 个请求，{} 秒，工作人员请求占 {:.0}%",
        staff_paths.len(),
        verify_paths.len(),
        opts.rate,
        opts.seconds,
        opts.staff_share * 100.0
    );
    let tallies =
        Arc::new(Mutex::new(BTreeMap::from([(Kind::Staff, Tally::default()), (Kind::Verify, Tally::default())])));
    let in_flight = Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT));
    let total = u64::from(opts.rate) * opts.seconds;
    let interval = Duration::from_secs_f64(1.0 / f64::from(opts.rate));
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template("负载 [{bar:30}] {pos}/{len} {msg} ({elapsed}/{duration})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let mut rng = rand::rng();
    let start = Instant::now() + Duration::from_millis(200);
    for i in 0..total {
        let due = start + interval.mul_f64(i as f64);
        tokio::time::sleep_until(due.into()).await;
        let kind = if rng.random::<f64>() < opts.staff_share { Kind::Staff } else { Kind::Verify };
        let path = match kind {
            Kind::Staff => &staff_paths[rng.random_range(0..staff_paths.len())],
            Kind::Verify => &verify_paths[rng.random_range(0..verify_paths.len())],
        };
        let Ok(permit) = in_flight.clone().try_acquire_owned() else {
            tallies.lock().unwrap_or_else(std::sync::PoisonError::into_inner).entry(kind).or_default().not_sent += 1;
            continue;
        };
        let url = format!("{}{path}", opts.base);
        let (client, session, tallies) = (client.clone(), session.clone(), tallies.clone());
        tokio::spawn(async move {
            let who = (kind == Kind::Staff).then_some(&*session);
            let answer = send(&client, Method::GET, &url, who, None).await;
            let took = u32::try_from(due.elapsed().as_micros()).unwrap_or(u32::MAX);
            let mut t = tallies.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let t = t.entry(kind).or_default();
            match answer {
                Ok((status, _, body)) => {
                    t.latencies_us.push(took);
                    *t.statuses.entry(status.as_u16()).or_default() += 1;
                    if status.is_server_error() {
                        let code = serde_json::from_slice::<serde_json::Value>(&body)
                            .ok()
                            .and_then(|v| v["code"].as_str().map(str::to_owned))
                            .unwrap_or_else(|| "(页面)".to_owned());
                        *t.server_error_codes.entry(code).or_default() += 1;
                    }
                }
                Err(_) => t.connection_errors += 1,
            }
            drop(permit);
        });
        if i % u64::from(opts.rate.max(1)) == 0 {
            bar.set_position(i);
        }
    }
    // Every request answered (or failed) before counting.
    let _ = in_flight.acquire_many(MAX_IN_FLIGHT as u32).await;
    let elapsed = start.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let mut tallies = tallies.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let staff = tallies.entry(Kind::Staff).or_default().report();
    let verify = tallies.entry(Kind::Verify).or_default().report();
    let answered: u64 = [&staff, &verify].iter().map(|k| k.statuses.values().sum::<u64>()).sum();
    let passed =
        staff.all_ok() && verify.all_ok() && staff.p99_ms <= opts.staff_p99_ms && verify.p99_ms <= opts.verify_p99_ms;
    let report = LoadReport {
        rate: opts.rate,
        seconds: opts.seconds,
        achieved_rate: answered as f64 / elapsed,
        staff,
        verify,
        passed,
    };
    if opts.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report, opts);
    }
    Ok(passed)
}

fn print_report(r: &LoadReport, opts: &LoadOptions) {
    println!("每秒 {} 个请求，{} 秒；实际每秒应答 {:.1} 个。", r.rate, r.seconds, r.achieved_rate);
    println!("类别        请求数   状态                   p50      p90      p99    p99.9      最大（毫秒）");
    for (name, k) in [("工作人员", &r.staff), ("公开验证", &r.verify)] {
        let statuses: Vec<String> = k.statuses.iter().map(|(s, n)| format!("{s}×{n}")).collect();
        println!(
            "{name:<8} {:>8}   {:<20} {:>7.1}  {:>7.1}  {:>7.1}  {:>7.1}  {:>7.1}",
            k.requests,
            statuses.join(" "),
            k.p50_ms,
            k.p90_ms,
            k.p99_ms,
            k.p999_ms,
            k.max_ms
        );
        if k.connection_errors + k.not_sent > 0 {
            println!("  连接失败 {}，因在途请求过多未发出 {}", k.connection_errors, k.not_sent);
        }
        for (code, n) in &k.server_error_codes {
            println!("  5xx 应答 {code}：{n} 次");
        }
    }
    if r.verify.statuses.contains_key(&429) {
        println!(
            "注意：验证页面遇到限流（429）；压测时请以 XUEJI_VERIFY_RATE 和 XUEJI_VERIFY_BURST 调高限额启动服务。"
        );
    }
    println!(
        "结果：{}（要求：全部 2xx，工作人员 p99 ≤ {} 毫秒，验证 p99 ≤ {} 毫秒）",
        if r.passed { "通过" } else { "未通过" },
        opts.staff_p99_ms,
        opts.verify_p99_ms
    );
}
