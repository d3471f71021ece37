//! `xueji verify`: check a document's QR token with the public key set alone
//! (offline), and with `--online` also ask the service for its live status.
//!
//! The token comes from the command line (the token or the whole URL) or from
//! a photo or scan (`--image`, decoded with `rqrr`). The key set is the local
//! `data/keys/keys.json`, or a published `xueji-keys.json` given with
//! `--keys` (no private key is read either way).
//!
//! `--online URL` fetches `{URL}/v/{token}.json` with a minimal HTTP/1.1 GET
//! over a plain TCP connection: `http://` only. The service is meant to sit
//! behind an HTTPS proxy in production; a TLS client (rustls and its crypto
//! backend) would be the binary's largest dependency for this one request,
//! so for an `https://` service check the page in a browser, or point
//! `--online` at the service's plain-HTTP address inside the bureau network.
//!
//! `--online` also fetches the signed status list
//! (`{URL}/.well-known/xueji-status.json`) and, when it verifies, keeps it
//! (`--status`, default `status-list.json` in the data directory). Offline,
//! a kept list answers for a token that carries its index: "有效（截至 the
//! list's date）", the revocation, or, past the list's validity, "status
//! unknown since its last day".
//!
//! Exit codes: 0 有效 (signature genuine and, when asked online or by a kept
//! status list, the document valid); 1 not valid (无法验证, 已作废, 已挂失,
//! 已更新); 2 could not check (no QR code found, no key set, the service
//! unreachable); 3 genuine but the status unknown (the kept list is past its
//! validity).

use crate::config::Config;
use crate::verify::{KEYS_FILE, KeySet, Verified, verify};
use anyhow::Context;
use clap::Args;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What to verify, and against what.
#[derive(Debug, Args)]
#[command(
    after_help = "退出码：0 有效；1 无法验证、已作废、已挂失或已更新；2 无法完成检查（未识别到二维码、找不到密钥集、无法连接服务）；3 签名真实但状态未知（保存的状态清单已过期）。\n\
--online 只支持 http:// 地址（不含 TLS）；https 服务请在浏览器中打开验证网址。"
)]
pub struct VerifyArgs {
    /// 验证令牌，或二维码中的完整网址（…/v/令牌）
    #[arg(required_unless_present = "image", conflicts_with = "image", value_name = "TOKEN_OR_URL")]
    pub token: Option<String>,
    /// 从照片或扫描件（PNG、JPEG、TIFF）中识别二维码
    #[arg(long, value_name = "PHOTO")]
    pub image: Option<PathBuf>,
    /// 公开密钥集文件（从 /.well-known/xueji-keys.json 下载），用于离线验证；默认为数据目录下的 keys/keys.json
    #[arg(long, value_name = "keys.json")]
    pub keys: Option<PathBuf>,
    /// 同时向验证服务查询当前状态，例如 http://127.0.0.1:8080（仅支持 http://）
    #[arg(long, value_name = "URL")]
    pub online: Option<String>,
    /// 保存的状态清单（--online 时更新），用于离线查询是否已作废或挂失；默认为数据目录下的 status-list.json
    #[arg(long, value_name = "status-list.json")]
    pub status: Option<PathBuf>,
}

/// Every QR code's text found in an image file (a photo or a scan); see
/// [`decode_gray`].
pub fn decode_image(path: &Path) -> anyhow::Result<Vec<String>> {
    let img = image::open(path).with_context(|| format!("无法读取图片 {}", path.display()))?.to_luma8();
    Ok(decode_gray(img))
}

/// Every QR code's text found in a grey image. Tries the full resolution
/// first, as it is and binarised at mid-grey (as a phone's decoder does:
/// rqrr's own threshold misses some blurred codes), then halved images (a
/// phone photo may be too large or too noisy for the finder at full size).
pub fn decode_gray(mut img: image::GrayImage) -> Vec<String> {
    let read = |img: image::GrayImage| -> Vec<String> {
        let mut prepared = rqrr::PreparedImage::prepare(img);
        prepared.detect_grids().into_iter().filter_map(|g| g.decode().ok().map(|(_, text)| text)).collect()
    };
    loop {
        let mut found = read(img.clone());
        if found.is_empty() {
            let mut flat = img.clone();
            for px in flat.pixels_mut() {
                px.0[0] = if px.0[0] < 128 { 0 } else { 255 };
            }
            found = read(flat);
        }
        if !found.is_empty() || img.width().min(img.height()) < 400 {
            return found;
        }
        img = image::imageops::resize(&img, img.width() / 2, img.height() / 2, image::imageops::FilterType::Triangle);
    }
}

/// Runs `xueji verify`.
pub async fn run(config: &Config, args: VerifyArgs) -> anyhow::Result<ExitCode> {
    match check(config, &args).await {
        Ok(code) => Ok(code),
        Err(e) => {
            eprintln!("无法完成检查：{e:#}");
            Ok(ExitCode::from(2))
        }
    }
}

async fn check(config: &Config, args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let input = match (&args.token, &args.image) {
        (Some(t), _) => t.clone(),
        (None, Some(path)) => {
            let texts = decode_image(path)?;
            let text = texts
                .iter()
                .find(|t| t.contains("/v/") || t.contains("/V/"))
                .or(texts.first())
                .with_context(|| format!("在 {} 中没有识别到二维码", path.display()))?;
            println!("二维码：{text}");
            text.clone()
        }
        (None, None) => anyhow::bail!("请给出验证令牌或网址，或用 --image 指定图片"),
    };
    let token = crate::verify::token_in(&input);
    let keys_path = args.keys.clone().unwrap_or_else(|| crate::app::keys_dir(config).join(KEYS_FILE));
    let keys = KeySet::from_file(&keys_path).map_err(|e| {
        anyhow::anyhow!("{e}\n（可用 --keys 指定从验证服务的 /.well-known/xueji-keys.json 下载的密钥集）")
    })?;
    let verified = match verify(token, &keys) {
        Ok(v) => v,
        Err(e) => {
            println!("签名：无法验证（{e}）");
            println!("结论：无法验证");
            return Ok(ExitCode::from(1));
        }
    };
    print_facts(&verified, &keys_path);
    let status_path = args.status.clone().unwrap_or_else(|| config.data_dir.join("status-list.json"));
    let Some(base) = &args.online else {
        return Ok(offline_status(config, &verified, &keys, &status_path));
    };
    match fetch_json(base, "/.well-known/xueji-status.json")
        .await
        .and_then(|v| keep_status_list(v, &keys, &status_path))
    {
        Ok(list) => {
            println!("状态清单：已更新（{} 发布，有效至 {}；{}）", list.issued, list.valid_until, status_path.display())
        }
        Err(e) => println!("状态清单：未能更新（{e:#}）"),
    }
    let answer = fetch_json(base, &format!("/v/{token}.json")).await?;
    let verdict = answer["verdict"].as_str().unwrap_or("invalid");
    let label = answer["label"].as_str().unwrap_or("无法验证");
    if let Some(school) = answer["document"]["school_name"].as_str() {
        println!("学校：{school}");
    }
    let mut line = format!("在线状态（{}）：{label}", answer["domain"].as_str().unwrap_or(base));
    if let Some(date) = answer["status_date"].as_str() {
        line.push_str(&format!("，日期 {date}"));
    }
    if let Some(number) = answer["replaced_by"].as_str() {
        line.push_str(&format!("，已由学历证明书 {number} 代替"));
    }
    println!("{line}");
    println!("结论：{label}");
    Ok(if verdict == "valid" { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn print_facts(v: &Verified, keys_path: &Path) {
    let c = &v.claims;
    println!("签名：真实（密钥 {}，{}；密钥集 {}）", v.kid, v.key_status.label_zh(), keys_path.display());
    println!("文书：{}", c.kind.title_zh());
    if !c.number.is_empty() {
        println!("编号：{}", c.number);
    }
    println!("签发日期：{}", c.issue_date);
    println!("学校标识码：{}", c.school_code);
    println!("姓名：{}", c.masked_name);
    println!("文书标识：{}", c.document_id);
}

/// What the kept status list says of the document, offline.
fn offline_status(config: &Config, verified: &Verified, keys: &KeySet, path: &Path) -> ExitCode {
    use crate::verify::status_list::Standing;
    let unknown = "结论：有效（签名真实；未查询在线状态，加 --online 地址 可查询是否已作废或挂失）";
    let list = match read_status_list(path, keys) {
        Ok(Some(list)) => list,
        Ok(None) => {
            println!("{unknown}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            println!("状态清单：不可用（{e:#}）");
            println!("{unknown}");
            return ExitCode::SUCCESS;
        }
    };
    let today = config.today.unwrap_or_else(|| chrono::Local::now().date_naive());
    match list.standing(verified.claims.status_index, today) {
        Standing::Valid { as_of } => {
            println!("离线状态（据 {as_of} 的状态清单）：未作废、未挂失");
            println!("结论：有效（截至 {as_of}）");
            ExitCode::SUCCESS
        }
        Standing::Revoked { as_of } => {
            println!("离线状态（据 {as_of} 的状态清单）：已作废或已挂失");
            println!("结论：已作废或已挂失（截至 {as_of}）");
            ExitCode::from(1)
        }
        Standing::UnknownSince(since) => {
            println!("离线状态：保存的状态清单已于 {since} 过期，请加 --online 地址 更新");
            println!("结论：签名真实，状态未知（自 {since} 起）");
            ExitCode::from(3)
        }
        Standing::NotCovered => {
            println!("离线状态：这份文书不在状态清单中（签发较早，或晚于清单）");
            println!("{unknown}");
            ExitCode::SUCCESS
        }
    }
}

/// The kept status list, checked against the key set; `None` when none is kept.
fn read_status_list(path: &Path, keys: &KeySet) -> anyhow::Result<Option<crate::verify::status_list::CheckedList>> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("无法读取 {}", path.display())),
    };
    let list: crate::verify::status_list::StatusList =
        serde_json::from_slice(&bytes).with_context(|| format!("{} 不是状态清单", path.display()))?;
    Ok(Some(crate::verify::status_list::check(&list, keys)?))
}

/// Checks a fetched status list and keeps it (written whole, then renamed).
fn keep_status_list(
    answer: Value,
    keys: &KeySet,
    path: &Path,
) -> anyhow::Result<crate::verify::status_list::CheckedList> {
    let list: crate::verify::status_list::StatusList =
        serde_json::from_value(answer).context("验证服务的状态清单格式不对")?;
    let checked = crate::verify::status_list::check(&list, keys)?;
    let tmp = path.with_extension("json.part");
    std::fs::write(&tmp, serde_json::to_vec(&list)?).with_context(|| format!("无法写入 {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("无法写入 {}", path.display()))?;
    Ok(checked)
}

/// `GET {base}{path}` over plain HTTP/1.1 (see the module docs), as JSON.
async fn fetch_json(base: &str, path: &str) -> anyhow::Result<Value> {
    let url = url::Url::parse(base).with_context(|| format!("--online 地址 {base} 无效"))?;
    if url.scheme() != "http" {
        anyhow::bail!("--online 只支持 http:// 地址（本命令不含 TLS）；https 服务请在浏览器中打开验证网址");
    }
    let authority = &url[url::Position::BeforeHost..url::Position::AfterPort];
    let path = format!("{}{path}", url.path().trim_end_matches('/'));
    let addrs = url.socket_addrs(|| Some(80)).with_context(|| format!("无法解析 {authority}"))?;
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(&*addrs).await?;
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: xueji-verify/{}\r\nAccept: application/json\r\nConnection: close\r\n\r\n",
            env!("CARGO_PKG_VERSION")
        );
        stream.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        stream.take(1 << 20).read_to_end(&mut response).await?;
        Ok::<_, std::io::Error>(response)
    };
    let response = tokio::time::timeout(Duration::from_secs(15), exchange)
        .await
        .with_context(|| format!("连接 {authority} 超时"))?
        .with_context(|| format!("无法连接 {authority}"))?;
    let (status, headers, body) = parse_response(&response).context("验证服务的回答不是有效的 HTTP 响应")?;
    match status {
        200 => serde_json::from_slice(&body).context("验证服务的回答不是有效的 JSON"),
        429 => {
            let wait = header(&headers, "retry-after").unwrap_or("60");
            anyhow::bail!("验证服务拒绝：查询过于频繁，请 {wait} 秒后再试")
        }
        other => anyhow::bail!("验证服务回答 HTTP {other}"),
    }
}

type Headers = Vec<(String, String)>;

fn header<'a>(headers: &'a Headers, name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// Status, headers and (de-chunked) body of an HTTP/1.1 response read to the end.
fn parse_response(bytes: &[u8]) -> Option<(u16, Headers, Vec<u8>)> {
    let split = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&bytes[..split]).ok()?;
    let mut body = bytes[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Headers =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())).collect();
    if header(&headers, "transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        body = dechunk(&body)?;
    } else if let Some(len) = header(&headers, "content-length").and_then(|v| v.parse::<usize>().ok()) {
        body.truncate(len);
    }
    Some((status, headers, body))
}

fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_are_parsed_plain_and_chunked() {
        let plain = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
        let (status, headers, body) = parse_response(plain).unwrap();
        assert_eq!((status, body.as_slice()), (200, b"{}".as_slice()));
        assert_eq!(header(&headers, "Content-Type"), Some("application/json"));
        let chunked = b"HTTP/1.1 429 Too Many Requests\r\nTransfer-Encoding: chunked\r\nRetry-After: 7\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n";
        let (status, headers, body) = parse_response(chunked).unwrap();
        assert_eq!((status, body.as_slice()), (429, b"abcde".as_slice()));
        assert_eq!(header(&headers, "retry-after"), Some("7"));
        assert!(parse_response(b"garbage").is_none());
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").is_none());
    }
}
