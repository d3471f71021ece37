//! The public side's state: the rate limiter, the one 无法验证 answer, the
//! school names, the tokens already verified and the reads in flight.

use super::*;

/// State of the public side, one per router: the limiter (built from the
/// settings on first use), the invalid answers (rendered once), the school
/// names, the tokens already verified and the document reads in flight.
#[derive(Default)]
pub(super) struct Public {
    pub(super) limiter: OnceLock<RateLimiter>,
    pub(super) invalid_page: OnceLock<Bytes>,
    pub(super) invalid_json: OnceLock<Bytes>,
    pub(super) schools: RwLock<HashMap<String, (Option<String>, Instant)>>,
    /// Tokens whose signature verified, with the key that verified them: a
    /// signature check is a pure function of the token and the public key, so
    /// it is remembered; the key's status is looked up again on every use.
    pub(super) verified: Mutex<HashMap<String, (Verified, VerifyingKey)>>,
    /// Reads of a document's row in flight: requests for the same document
    /// that arrive while one is running share its answer (single flight).
    pub(super) reads: Mutex<HashMap<String, Arc<tokio::sync::OnceCell<RowRead>>>>,
    /// The status list last made, and when.
    pub(super) status_list: Mutex<Option<(Instant, Bytes)>>,
}

/// The status list is made again after this long.
pub(super) const STATUS_LIST_TTL: Duration = Duration::from_secs(60);

/// Tokens remembered at most (about 1 MiB); the memo is cleared when full.
const VERIFIED_MEMO: usize = 4096;

/// The outcome of one read, shared by the requests that waited for it.
type RowRead = Result<Option<DocumentStatus>, Arc<str>>;

impl Public {
    /// `Some(429 answer)` when the client is over the limit.
    pub(super) fn limit(&self, app: &Web, ip: IpAddr) -> Option<Response> {
        let limiter =
            self.limiter.get_or_init(|| RateLimiter::new(app.config.verify_rate_per_minute, app.config.verify_burst));
        let secs = limiter.check(ip).retry_after_secs()?;
        let body = format!(
            "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>请稍后再试</title></head>\
             <body style=\"font-family:system-ui,sans-serif;font-size:18px;line-height:1.6;margin:0;padding:2rem 1.25rem;color:#1f2933\">\
             <h1 style=\"font-size:1.6rem;margin:0 0 .5rem\">请稍后再试</h1>\
             <p>来自您所在网络的验证请求过多，请 {secs} 秒后再刷新本页。</p>\
             <p style=\"color:#667\">农安县教育局 · 学籍文书验证</p></body></html>"
        );
        Some(
            (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, HeaderValue::from(secs)), (header::CONTENT_TYPE, html_type())],
                body,
            )
                .into_response(),
        )
    }

    /// The one 无法验证 page, the same bytes for every token that fails.
    pub(super) fn invalid_page(&self, app: &Web) -> Response {
        let body = self.invalid_page.get_or_init(|| {
            let ctx = context! { verdict => "invalid", label => "无法验证", domain => domain(app) };
            match render(app, ctx) {
                Ok(html) => Bytes::from(html),
                Err(e) => {
                    e.log();
                    Bytes::from_static(
                        "<!doctype html><meta charset=\"utf-8\"><title>无法验证</title><h1>无法验证</h1>".as_bytes(),
                    )
                }
            }
        });
        html_response(StatusCode::OK, body.clone())
    }

    /// The JSON twin of the 无法验证 page.
    pub(super) fn invalid_json(&self, app: &Web) -> Response {
        let body = self.invalid_json.get_or_init(|| {
            let answer = Answer { verdict: "invalid", label: "无法验证", domain: domain(app), ..Answer::default() };
            Bytes::from(serde_json::to_vec(&answer).unwrap_or_default())
        });
        json_response(body.clone())
    }

    /// [`verify::verify`], remembering tokens that verify (see [`Public::verified`]).
    pub(super) fn verify(&self, app: &Web, token: &str) -> Result<Verified, verify::TokenError> {
        let memo = self.verified.lock().unwrap_or_else(PoisonError::into_inner).get(token).cloned();
        if let Some((verified, key)) = memo {
            return match app.keys.info(verified.kid) {
                Some(info) if info.public_key == key && info.status == KeyStatus::Compromised => {
                    Err(verify::TokenError::Compromised(verified.kid))
                }
                Some(info) if info.public_key == key && !info.signs_on(verified.claims.issue_date) => {
                    Err(verify::TokenError::OutsideKeyWindow(verified.kid))
                }
                Some(info) if info.public_key == key => Ok(Verified { key_status: info.status, ..verified }),
                _ => Err(verify::TokenError::UnknownKey(verified.kid)),
            };
        }
        let verified = verify::verify(token, &app.keys)?;
        if let Some((key, _)) = app.keys.verifying_key(verified.kid) {
            let mut memo = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
            if memo.len() >= VERIFIED_MEMO {
                memo.clear();
            }
            memo.insert(token.to_owned(), (verified.clone(), key));
        }
        Ok(verified)
    }

    /// The document's row, read once for all the requests that ask at the same time.
    pub(super) async fn read_row(&self, app: &Web, doc_id: String) -> Result<Option<DocumentStatus>, AppError> {
        let cell = self.reads.lock().unwrap_or_else(PoisonError::into_inner).entry(doc_id.clone()).or_default().clone();
        let read = cell
            .get_or_init(|| async {
                let read =
                    db::verify::document_status(&app.db.public, &doc_id).await.map_err(|e| Arc::from(format!("{e:#}")));
                let mut reads = self.reads.lock().unwrap_or_else(PoisonError::into_inner);
                if reads.get(&doc_id).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
                    reads.remove(&doc_id);
                }
                read
            })
            .await;
        read.clone().map_err(|e| AppError::Internal(anyhow::anyhow!("reading a document's status: {e}")))
    }

    /// The school's name for a 学校标识码 (cached).
    pub(super) async fn school_name(&self, app: &Web, code: &str) -> Result<Option<String>, AppError> {
        if let Some((name, at)) = self.schools.read().unwrap_or_else(PoisonError::into_inner).get(code)
            && at.elapsed() < SCHOOL_NAME_TTL
        {
            return Ok(name.clone());
        }
        let name = db::schools::name_by_code(&app.db.public, code).await?;
        let mut cache = self.schools.write().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= 10_000 {
            cache.clear();
        }
        cache.insert(code.to_owned(), (name.clone(), Instant::now()));
        Ok(name)
    }
}
