//! The S3-compatible store: the same write-once, content-addressed objects
//! as [`LocalStore`](super::LocalStore), in a bucket of any S3-compatible
//! server (SeaweedFS, MinIO, Ceph, a cloud's S3):
//!
//! ```text
//! <prefix>/objects/<xx>/<64 hex>      objects
//! <prefix>/dossiers/<id>/v<N>.json    dossier versions
//! ```
//!
//! A put streams the upload into a local temp file while hashing it (the
//! temp data stays on this machine and is bounded by the size limit), then
//! sends it with `If-None-Match: *`, so an object is never overwritten: a
//! second put of the same bytes finds the object there and keeps it. The
//! request is signed with AWS Signature V4 over the payload's sha256, so the
//! server refuses bytes changed on the way. A read downloads the object into
//! an unnamed local temp file first and hands that out, so every caller keeps
//! reading from a plain file.
//!
//! The protocol layer is the `object_store` crate (retries with backoff,
//! listing, conditional puts); it speaks HTTP through hyper and signs with
//! sha2/hmac (see `Cargo.toml` for why). It runs on a small runtime of its own,
//! so the store can be called from any thread, async or not, like the local
//! one. Only `http://` endpoints are spoken to directly: the store is meant
//! to sit on the service's private network; to reach one over the internet,
//! a local TLS proxy forwards to it (see the deployment guide).

use std::fmt;
use std::fs::File;
use std::future::Future;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector as HyperConnector;
use hyper_util::rt::TokioExecutor;
use object_store::aws::{AmazonS3, AmazonS3Builder, S3ConditionalPut};
use object_store::client::{
    ClientOptions, CryptoProvider, DigestAlgorithm, DigestContext, HmacContext, HttpClient, HttpConnector, HttpError,
    HttpErrorKind, HttpRequest, HttpRequestBody, HttpResponse, HttpResponseBody, HttpService, Signer, SigningAlgorithm,
};
use object_store::path::Path as Key;
use object_store::{
    BackoffConfig, ObjectStore as _, ObjectStoreExt as _, PutMode, PutOptions, PutPayload, RetryConfig,
};
use sha2::Digest as _;

use super::{ObjectStore, PutOutcome, StagedObject};
use crate::digest::Digest;
use crate::error::{ArchiveError, IoContext, Result};

/// How long one HTTP request may take, upload or download included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);
/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a failing request is retried (with backoff) before the error is
/// given: long enough to ride out a store's restart, short enough that the
/// person at the counter gets an answer.
const RETRY_TIMEOUT: Duration = Duration::from_secs(15);

/// Where the objects are: `s3://BUCKET/PREFIX?endpoint=http://HOST:PORT&region=REGION`.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Location {
    /// The bucket.
    pub bucket: String,
    /// The key prefix inside the bucket, without leading or trailing `/`
    /// (may be empty).
    pub prefix: String,
    /// The server, `http://host:port`.
    pub endpoint: String,
    /// The region signed into requests (`us-east-1` unless given).
    pub region: String,
}

impl S3Location {
    /// Parses `s3://bucket/prefix?endpoint=http://…[&region=…]`. Credentials
    /// never go in the URL: they come from `AWS_ACCESS_KEY_ID` and
    /// `AWS_SECRET_ACCESS_KEY` (see [`S3Credentials::from_env`]).
    pub fn parse(url: &str) -> Result<Self> {
        let invalid = |reason: String| ArchiveError::StoreUrlInvalid { reason };
        let parsed = url::Url::parse(url).map_err(|e| invalid(format!("无法解析（{e}）")))?;
        if parsed.scheme() != "s3" {
            return Err(invalid(format!("应以 s3:// 开头，而不是 {}://", parsed.scheme())));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(invalid("地址中不得写入密钥；请用环境变量 AWS_ACCESS_KEY_ID 和 AWS_SECRET_ACCESS_KEY".into()));
        }
        let bucket = parsed.host_str().unwrap_or_default().to_owned();
        if bucket.is_empty() {
            return Err(invalid("缺少存储桶名（s3://存储桶/前缀）".into()));
        }
        let prefix = parsed.path().trim_matches('/').to_owned();
        if prefix.split('/').any(|part| part == "." || part == "..") {
            return Err(invalid("前缀中不得有 . 或 ..".into()));
        }
        let mut endpoint = None;
        let mut region = None;
        for (key, value) in parsed.query_pairs() {
            match key.as_ref() {
                "endpoint" => endpoint = Some(value.trim_end_matches('/').to_owned()),
                "region" => region = Some(value.into_owned()),
                other => return Err(invalid(format!("不认识的参数 {other}（只有 endpoint 和 region）"))),
            }
        }
        let endpoint = endpoint.ok_or_else(|| invalid("缺少 endpoint 参数（?endpoint=http://主机:端口）".into()))?;
        let endpoint_url = url::Url::parse(&endpoint).map_err(|e| invalid(format!("endpoint 无法解析（{e}）")))?;
        match endpoint_url.scheme() {
            "http" => {}
            "https" => {
                return Err(invalid(
                    "本服务只直接连接内网的 http:// 端点；经公网访问的存储请在本机用 TLS 代理转发（见部署说明）".into(),
                ));
            }
            other => return Err(invalid(format!("endpoint 应以 http:// 开头，而不是 {other}://"))),
        }
        Ok(Self { bucket, prefix, endpoint, region: region.unwrap_or_else(|| "us-east-1".into()) })
    }

    /// The key of `rel` (`objects/…`, `dossiers/…`) under the prefix.
    fn key(&self, rel: &str) -> Key {
        if self.prefix.is_empty() { Key::from(rel) } else { Key::from(format!("{}/{rel}", self.prefix)) }
    }

    /// `rel` back from a full key, if it lies under the prefix.
    fn rel<'a>(&self, key: &'a str) -> Option<&'a str> {
        if self.prefix.is_empty() { Some(key) } else { key.strip_prefix(&self.prefix)?.strip_prefix('/') }
    }

    /// The location as shown in reports and logs: `s3://bucket/prefix`
    /// (no endpoint, no credentials).
    pub fn display_root(&self) -> PathBuf {
        PathBuf::from(format!("s3://{}/{}", self.bucket, self.prefix).trim_end_matches('/'))
    }
}

impl fmt::Debug for S3Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{} at {}", self.bucket, self.prefix, self.endpoint)
    }
}

/// The access key pair. `Debug` shows only the key id.
#[derive(Clone)]
pub struct S3Credentials {
    /// `AWS_ACCESS_KEY_ID`.
    pub access_key_id: String,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: String,
}

impl S3Credentials {
    /// From `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`, both required.
    pub fn from_env() -> Result<Self> {
        let get = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        match (get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY")) {
            (Some(access_key_id), Some(secret_access_key)) => Ok(Self { access_key_id, secret_access_key }),
            _ => Err(ArchiveError::StoreUrlInvalid {
                reason: "对象存储需要环境变量 AWS_ACCESS_KEY_ID 和 AWS_SECRET_ACCESS_KEY".into(),
            }),
        }
    }
}

impl fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Credentials").field("access_key_id", &self.access_key_id).finish_non_exhaustive()
    }
}

/// One listed key: its path relative to the prefix, size and time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The key relative to the prefix (`objects/ab/ab…`).
    pub rel: String,
    /// Its size in bytes.
    pub size: u64,
    /// When it was written.
    pub modified: Option<SystemTime>,
}

/// Objects in an S3-compatible bucket; cheap to clone.
#[derive(Clone)]
pub struct S3Store {
    inner: Arc<Inner>,
}

struct Inner {
    s3: Arc<AmazonS3>,
    location: S3Location,
    /// Local temp files: uploads being hashed, downloads being read.
    staging: PathBuf,
    runtime: Runtime,
}

impl fmt::Debug for S3Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Store").field("location", &self.inner.location).finish_non_exhaustive()
    }
}

impl S3Store {
    /// Connects to the bucket (checking that it answers and the keys are
    /// accepted). `staging` is a local directory for temp files.
    pub fn open(location: S3Location, credentials: S3Credentials, staging: impl Into<PathBuf>) -> Result<Self> {
        let staging = staging.into();
        std::fs::create_dir_all(&staging).ctx("创建临时目录", &staging)?;
        let staging = std::fs::canonicalize(&staging).ctx("解析临时目录路径", &staging)?;
        let s3 = AmazonS3Builder::new()
            .with_bucket_name(&location.bucket)
            .with_region(&location.region)
            .with_endpoint(&location.endpoint)
            .with_allow_http(true)
            .with_virtual_hosted_style_request(false)
            .with_access_key_id(credentials.access_key_id)
            .with_secret_access_key(credentials.secret_access_key)
            .with_conditional_put(S3ConditionalPut::ETagMatch)
            .with_crypto_provider(Arc::new(Sha2Crypto))
            .with_http_connector(Connector)
            .with_client_options(ClientOptions::new().with_timeout(REQUEST_TIMEOUT))
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(200),
                    max_backoff: Duration::from_secs(4),
                    base: 2.0,
                },
                max_retries: 5,
                retry_timeout: RETRY_TIMEOUT,
            })
            .build()
            .map_err(|e| ArchiveError::StoreUrlInvalid { reason: e.to_string() })?;
        let runtime = Runtime::new()?;
        let store = Self { inner: Arc::new(Inner { s3: Arc::new(s3), location, staging, runtime }) };
        // A wrong endpoint, bucket or key shows now, not at the first upload.
        store.list_page("objects/")?;
        Ok(store)
    }

    /// Where the objects are.
    pub fn location(&self) -> &S3Location {
        &self.inner.location
    }

    /// The local directory for temp files.
    pub fn staging_dir(&self) -> &Path {
        &self.inner.staging
    }

    /// The key of an object, relative to the prefix.
    pub fn object_rel(digest: &Digest) -> String {
        format!("{}/{}/{}", super::local::OBJECTS_DIR, digest.prefix(), digest.to_hex())
    }

    /// Runs `work` on the store's runtime and waits for it, from any thread.
    fn run<T: Send + 'static>(&self, op: &'static str, work: impl Future<Output = T> + Send + 'static) -> Result<T> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.inner.runtime.handle().spawn(async move {
            let _ = tx.send(work.await);
        });
        rx.recv()
            .map_err(|_| ArchiveError::Store { op, key: String::new(), detail: "任务中断".into(), denied: false })
    }

    /// Writes `bytes` at `rel` unless something is there already; `true` if
    /// this call created it.
    pub fn put_new(&self, rel: &str, bytes: Bytes) -> Result<bool> {
        let (s3, key) = (self.inner.s3.clone(), self.inner.location.key(rel));
        let opts = PutOptions { mode: PutMode::Create, ..PutOptions::default() };
        match self.run("写入", async move { s3.put_opts(&key, PutPayload::from_bytes(bytes), opts).await })? {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(e) => Err(store_error("写入", rel, e)),
        }
    }

    /// Writes `bytes` at `rel`, replacing what is there (only for the
    /// listings beside the archive; objects and versions are never replaced).
    pub fn put_replacing(&self, rel: &str, bytes: Bytes) -> Result<()> {
        let (s3, key) = (self.inner.s3.clone(), self.inner.location.key(rel));
        self.run("写入", async move { s3.put(&key, PutPayload::from_bytes(bytes)).await })?
            .map(|_| ())
            .map_err(|e| store_error("写入", rel, e))
    }

    /// The size and time of `rel`, or `None` if it is not there.
    pub fn head(&self, rel: &str) -> Result<Option<Listed>> {
        let (s3, key) = (self.inner.s3.clone(), self.inner.location.key(rel));
        match self.run("查询", async move { s3.head(&key).await })? {
            Ok(meta) => {
                Ok(Some(Listed { rel: rel.to_owned(), size: meta.size, modified: Some(meta.last_modified.into()) }))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(store_error("查询", rel, e)),
        }
    }

    /// Reads `rel` whole if it is at most `max` bytes; `Ok(None)` if absent,
    /// [`ArchiveError::TooLarge`] if larger.
    pub fn get_bytes(&self, rel: &str, max: u64) -> Result<Option<Vec<u8>>> {
        let (s3, key) = (self.inner.s3.clone(), self.inner.location.key(rel));
        let got = self.run("读取", async move {
            let result = s3.get(&key).await?;
            if result.meta.size > max {
                return Ok(Err(result.meta.size));
            }
            result.bytes().await.map(|b| Ok(b.to_vec()))
        })?;
        match got {
            Ok(Ok(bytes)) => Ok(Some(bytes)),
            Ok(Err(_)) => Err(ArchiveError::TooLarge { limit: max }),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(store_error("读取", rel, e)),
        }
    }

    /// Downloads `rel` into `file` (appending), streaming; `false` if absent.
    pub fn download(&self, rel: &str, mut file: File) -> Result<bool> {
        let (s3, key) = (self.inner.s3.clone(), self.inner.location.key(rel));
        let done = self.run("读取", async move {
            let mut stream = s3.get(&key).await?.into_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk?;
                file.write_all(&chunk)
                    .map_err(|e| object_store::Error::Generic { store: "local", source: Box::new(e) })?;
            }
            file.flush().map_err(|e| object_store::Error::Generic { store: "local", source: Box::new(e) })
        })?;
        match done {
            Ok(()) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(store_error("读取", rel, e)),
        }
    }

    /// Every key under `rel_prefix` (recursively), in key order.
    pub fn list_all(&self, rel_prefix: &str) -> Result<Vec<Listed>> {
        let s3 = self.inner.s3.clone();
        let location = self.inner.location.clone();
        let prefix = location.key(rel_prefix.trim_end_matches('/'));
        let listed = self.run("列出", async move {
            let mut out = Vec::new();
            let mut stream = s3.list(Some(&prefix));
            while let Some(meta) = stream.next().await {
                let meta = meta?;
                if let Some(rel) = location.rel(meta.location.as_ref()) {
                    out.push(Listed {
                        rel: rel.to_owned(),
                        size: meta.size,
                        modified: Some(meta.last_modified.into()),
                    });
                }
            }
            Ok::<_, object_store::Error>(out)
        })?;
        let mut listed = listed.map_err(|e| store_error("列出", rel_prefix, e))?;
        listed.sort_by(|a, b| a.rel.cmp(&b.rel));
        Ok(listed)
    }

    /// The names of the "directories" directly under `rel_prefix`.
    pub fn list_dirs(&self, rel_prefix: &str) -> Result<Vec<String>> {
        let s3 = self.inner.s3.clone();
        let location = self.inner.location.clone();
        let prefix = location.key(rel_prefix.trim_end_matches('/'));
        let listed = self
            .run("列出", async move { s3.list_with_delimiter(Some(&prefix)).await })?
            .map_err(|e| store_error("列出", rel_prefix, e))?;
        let mut out: Vec<String> =
            listed.common_prefixes.iter().filter_map(|p| p.filename().map(str::to_owned)).collect();
        out.sort();
        Ok(out)
    }

    /// One page of `rel_prefix` (to check that the bucket answers).
    fn list_page(&self, rel_prefix: &str) -> Result<()> {
        self.list_dirs(rel_prefix).map(|_| ())
    }

    /// Removes `rel` (only the sweep of unreferenced objects does this).
    pub fn delete(&self, rel: &str) -> Result<()> {
        let (s3, key) = (self.inner.s3.clone(), self.inner.location.key(rel));
        self.run("删除", async move { s3.delete(&key).await })?.map_err(|e| store_error("删除", rel, e))
    }
}

impl ObjectStore for S3Store {
    fn put(&self, reader: &mut dyn Read, max_size: u64) -> Result<PutOutcome> {
        let staged = StagedObject::write(&self.inner.staging, reader, max_size)?;
        self.put_staged(staged)
    }

    fn put_staged(&self, staged: StagedObject) -> Result<PutOutcome> {
        let (digest, size) = (staged.digest(), staged.size());
        let rel = Self::object_rel(&digest);
        let not_created = PutOutcome { digest, size, created: false };
        match self.head(&rel)? {
            Some(found) if found.size == size => return Ok(not_created),
            Some(_) => return Err(ArchiveError::ObjectCorrupt { digest }),
            None => {}
        }
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        staged.reopen()?.read_to_end(&mut bytes).ctx("读取临时文件", staged.path())?;
        let bytes = Bytes::from(bytes);
        // Read back what was staged: the temp file is on local disk, and a
        // bad sector must not become an object under the wrong name.
        if Digest::of(&bytes) != digest {
            return Err(ArchiveError::ObjectCorrupt { digest });
        }
        let created = self.put_new(&rel, bytes)?;
        Ok(PutOutcome { digest, size, created })
    }

    fn get(&self, digest: &Digest) -> Result<Box<dyn Read + Send>> {
        let file = tempfile::tempfile_in(&self.inner.staging).ctx("创建临时文件", &self.inner.staging)?;
        let writer = file.try_clone().ctx("创建临时文件", &self.inner.staging)?;
        if !self.download(&Self::object_rel(digest), writer)? {
            return Err(ArchiveError::ObjectNotFound { digest: *digest });
        }
        let mut file = file;
        file.rewind().ctx("读取临时文件", &self.inner.staging)?;
        Ok(Box::new(file))
    }

    fn exists(&self, digest: &Digest) -> Result<bool> {
        Ok(self.head(&Self::object_rel(digest))?.is_some())
    }

    fn size(&self, digest: &Digest) -> Result<u64> {
        self.head(&Self::object_rel(digest))?.map(|l| l.size).ok_or(ArchiveError::ObjectNotFound { digest: *digest })
    }

    fn list(&self) -> Result<Vec<Digest>> {
        let mut out: Vec<Digest> =
            self.list_all(super::local::OBJECTS_DIR)?.iter().filter_map(|l| parse_object_rel(&l.rel)).collect();
        out.sort();
        Ok(out)
    }
}

/// The digest named by `objects/<xx>/<hex>`, if `rel` is one.
pub(crate) fn parse_object_rel(rel: &str) -> Option<Digest> {
    let mut parts = rel.split('/');
    let (dir, prefix, name) = (parts.next()?, parts.next()?, parts.next()?);
    if dir != super::local::OBJECTS_DIR || parts.next().is_some() {
        return None;
    }
    super::local::parse_object_name(prefix, name)
}

/// An `object_store` error as the archive reports it (no credentials; the
/// key is a digest or an encoded dossier id).
fn store_error(op: &'static str, rel: &str, e: object_store::Error) -> ArchiveError {
    let detail: String = e.to_string().chars().filter(|c| !c.is_control()).take(300).collect();
    // A listing's refusal comes back as a generic error naming the status.
    let denied =
        matches!(e, object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. })
            || detail.contains("403 Forbidden")
            || detail.contains("401 Unauthorized");
    ArchiveError::Store { op, key: rel.to_owned(), detail, denied }
}

/// The store's own runtime, shut down without waiting when the store goes
/// (dropping a runtime inside another one's task would panic).
struct Runtime(Option<tokio::runtime::Runtime>);

impl Runtime {
    fn new() -> Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("xueji-s3")
            .enable_all()
            .build()
            .map_err(|e| ArchiveError::io("启动对象存储连接", PathBuf::new(), e))?;
        Ok(Self(Some(rt)))
    }

    fn handle(&self) -> &tokio::runtime::Handle {
        // Present until drop.
        self.0.as_ref().map(tokio::runtime::Runtime::handle).expect("runtime present until drop")
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// HTTP for `object_store`: hyper's client over plain TCP.
#[derive(Debug)]
struct Connector;

impl HttpConnector for Connector {
    fn connect(&self, _options: &ClientOptions) -> object_store::Result<HttpClient> {
        let mut tcp = HyperConnector::new();
        tcp.set_connect_timeout(Some(CONNECT_TIMEOUT));
        tcp.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new()).build(tcp);
        Ok(HttpClient::new(Hyper { client }))
    }
}

#[derive(Debug)]
struct Hyper {
    client: Client<HyperConnector, HttpRequestBody>,
}

#[async_trait::async_trait]
impl HttpService for Hyper {
    async fn call(&self, req: HttpRequest) -> std::result::Result<HttpResponse, HttpError> {
        let response = match tokio::time::timeout(REQUEST_TIMEOUT, self.client.request(req)).await {
            Err(elapsed) => return Err(HttpError::new(HttpErrorKind::Timeout, elapsed)),
            Ok(Err(e)) if e.is_connect() => return Err(HttpError::new(HttpErrorKind::Connect, e)),
            Ok(Err(e)) => return Err(HttpError::new(HttpErrorKind::Request, e)),
            Ok(Ok(response)) => response,
        };
        let (parts, body) = response.into_parts();
        let body = body.map_err(|e| HttpError::new(HttpErrorKind::Interrupted, e));
        Ok(HttpResponse::from_parts(parts, HttpResponseBody::new(body)))
    }
}

/// Request signing (SigV4's sha256 and HMAC-SHA256) with the sha2 the
/// archive hashes with.
#[derive(Debug)]
struct Sha2Crypto;

struct Sha256Context(sha2::Sha256, [u8; 32]);
/// `None` once finished.
struct HmacSha256Context(Option<hmac::Hmac<sha2::Sha256>>, [u8; 32]);

impl CryptoProvider for Sha2Crypto {
    fn digest(&self, algorithm: DigestAlgorithm) -> object_store::Result<Box<dyn DigestContext>> {
        match algorithm {
            DigestAlgorithm::Sha256 => Ok(Box::new(Sha256Context(sha2::Sha256::new(), [0; 32]))),
            _ => Err(not_supported("digest")),
        }
    }

    fn hmac(&self, algorithm: DigestAlgorithm, secret: &[u8]) -> object_store::Result<Box<dyn HmacContext>> {
        use hmac::Mac as _;
        match algorithm {
            DigestAlgorithm::Sha256 => {
                let mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).map_err(|_| not_supported("hmac"))?;
                Ok(Box::new(HmacSha256Context(Some(mac), [0; 32])))
            }
            _ => Err(not_supported("hmac")),
        }
    }

    fn sign(&self, _algorithm: SigningAlgorithm, _pem: &[u8]) -> object_store::Result<Box<dyn Signer>> {
        // RSA signatures are for Google's service accounts, not S3.
        Err(not_supported("sign"))
    }
}

impl DigestContext for Sha256Context {
    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    fn finish(&mut self) -> object_store::Result<&[u8]> {
        self.1 = std::mem::take(&mut self.0).finalize().into();
        Ok(&self.1)
    }
}

impl HmacContext for HmacSha256Context {
    fn update(&mut self, data: &[u8]) {
        if let Some(mac) = self.0.as_mut() {
            hmac::Mac::update(mac, data);
        }
    }

    fn finish(&mut self) -> object_store::Result<&[u8]> {
        if let Some(mac) = self.0.take() {
            self.1 = hmac::Mac::finalize(mac).into_bytes().into();
        }
        Ok(&self.1)
    }
}

fn not_supported(what: &str) -> object_store::Error {
    object_store::Error::NotSupported { source: format!("{what}: only SHA-256 is used for S3").into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_parsed_and_bad_ones_refused_with_a_reason() {
        let loc = S3Location::parse("s3://xueji/county/nongan?endpoint=http://127.0.0.1:8333/").expect("parse");
        assert_eq!(loc.bucket, "xueji");
        assert_eq!(loc.prefix, "county/nongan");
        assert_eq!(loc.endpoint, "http://127.0.0.1:8333");
        assert_eq!(loc.region, "us-east-1");
        assert_eq!(loc.key("objects/ab/cd").as_ref(), "county/nongan/objects/ab/cd");
        assert_eq!(loc.rel("county/nongan/objects/ab/cd"), Some("objects/ab/cd"));
        assert_eq!(loc.rel("other/objects"), None);
        assert_eq!(loc.display_root(), PathBuf::from("s3://xueji/county/nongan"));
        let bare = S3Location::parse("s3://b?endpoint=http://h:1&region=cn-north-1").expect("parse");
        assert_eq!((bare.prefix.as_str(), bare.region.as_str()), ("", "cn-north-1"));
        assert_eq!(bare.key("objects/x").as_ref(), "objects/x");

        for (url, needle) in [
            ("file:///data", "s3://"),
            ("s3://b/p", "endpoint"),
            ("s3://b/p?endpoint=https://s3.example.cn", "TLS"),
            ("s3://key:secret@b/p?endpoint=http://h:1", "AWS_ACCESS_KEY_ID"),
            ("s3:///p?endpoint=http://h:1", "存储桶"),
            ("s3://b/p?endpoint=http://h:1&acl=public", "acl"),
        ] {
            let err = S3Location::parse(url).expect_err(url);
            assert_eq!(err.code(), "archive.store_url_invalid");
            assert!(err.to_string().contains(needle), "{url}: {err}");
            assert!(!err.to_string().contains("secret"), "{err}");
        }
    }

    #[test]
    fn object_keys_round_trip() {
        let d = Digest::of(b"scan");
        assert_eq!(parse_object_rel(&S3Store::object_rel(&d)), Some(d));
        assert_eq!(parse_object_rel("objects/00/x"), None);
        assert_eq!(parse_object_rel(&format!("dossiers/{}", d.to_hex())), None);
    }

    #[test]
    fn signing_primitives_match_known_answers() {
        let mut h = Sha2Crypto.digest(DigestAlgorithm::Sha256).expect("digest");
        h.update(b"abc");
        assert_eq!(hex::encode(h.finish().expect("finish")), Digest::of(b"abc").to_hex());
        // RFC 4231, test case 2.
        let mut m = Sha2Crypto.hmac(DigestAlgorithm::Sha256, b"Jefe").expect("hmac");
        m.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(m.finish().expect("finish")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn credentials_are_not_shown() {
        let c = S3Credentials { access_key_id: "id".into(), secret_access_key: "topsecret".into() };
        assert!(!format!("{c:?}").contains("topsecret"));
    }
}
