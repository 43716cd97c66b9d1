//! The HTTP client of the Workspace API: signs every request as the official SDK does, limits
//! rate and concurrency, retries what is safe to retry, and turns answers into wire types or
//! an [`ApiError`] naming the call.

use std::collections::VecDeque;
use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use tokio::sync::{Mutex, Semaphore};
use tokio::time::Instant;

use super::credentials::Auth;
use super::error::{ApiError, TransportKind};
use super::sign::{self, Signable};
use super::wire::{
    BatchDeleteResponse, DeleteDesktopsReq, ErrorBody, ListDesktopsDetailResponse,
    ListDesktopsResponse, ListSubJobsResponse, ListedDesktop, LoginState, ShowJobResponse,
};
use crate::config::ClientSettings;

/// Answers larger than this are refused rather than buffered: a page of 1000 desktops is about
/// 1 MB.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A `Retry-After` longer than this is clamped: a scheduled run must end.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

pub const USER_AGENT: &str = concat!("deskprune/", env!("CARGO_PKG_VERSION"));

/// One API call, before signing.
#[derive(Debug, Clone)]
struct Call {
    /// For messages: `list desktops (offset 2000)`.
    name: String,
    method: Method,
    /// After `/v2/{project_id}/`.
    path: String,
    query: Vec<(String, String)>,
    body: Vec<u8>,
}

/// Filters of the desktop lists that deskprune uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    pub enterprise_project_id: Option<String>,
    /// `key=value` pairs, sent as one `tag` parameter joined by `,`.
    pub tags: Vec<(String, String)>,
    /// At most 100.
    pub desktop_ids: Vec<String>,
}

impl ListFilter {
    fn push_into(&self, query: &mut Vec<(String, String)>) {
        if let Some(eps) = &self.enterprise_project_id {
            query.push(("enterprise_project_id".into(), eps.clone()));
        }
        if !self.tags.is_empty() {
            let tags: Vec<String> = self.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
            query.push(("tag".into(), tags.join(",")));
        }
        for id in &self.desktop_ids {
            query.push(("desktop_id".into(), id.clone()));
        }
    }
}

/// Calls at most `per_second` a second: at most `burst` (the whole part of `per_second`, at
/// least 1) in any window of `burst / per_second` seconds, so for 10 a second, at most 10 in
/// any one second. Calls need not be spread evenly: when a round of answers comes in at once,
/// the next round leaves at once, unless the window is full.
#[derive(Debug)]
struct RateLimiter {
    burst: usize,
    window: Duration,
    /// When each of the last `burst` calls left (or will leave), oldest first.
    slots: Mutex<VecDeque<Instant>>,
}

impl RateLimiter {
    fn new(per_second: f64) -> RateLimiter {
        let burst = per_second.floor().max(1.0);
        RateLimiter {
            burst: burst as usize,
            window: Duration::from_secs_f64(burst / per_second),
            slots: Mutex::new(VecDeque::with_capacity(burst as usize)),
        }
    }

    /// Waits for this call's slot.
    async fn wait(&self) {
        let slot = {
            let mut slots = self.slots.lock().await;
            let now = Instant::now();
            let slot = if slots.len() < self.burst {
                now
            } else {
                let oldest = slots.pop_front().expect("the window is full");
                (oldest + self.window).max(now)
            };
            slots.push_back(slot);
            slot
        };
        // A timer would round even a slot that is due now up to its next tick.
        if slot > Instant::now() {
            tokio::time::sleep_until(slot).await;
        }
    }
}

#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    base: Url,
    /// `host[:port]` exactly as it goes into the `Host` header and the signature.
    host: String,
    project_id: String,
    auth: Auth,
    max_retries: u32,
    limiter: RateLimiter,
    permits: Semaphore,
    /// Places to unpack and decode large answers off the runtime: one per core, so that
    /// the pages in flight wait packed (50 kB), not unpacked (1 MB) and half decoded.
    decoders: Semaphore,
}

/// `https://workspace.{region}.myhuaweicloud.com`.
pub fn cloud_endpoint(region: &str) -> String {
    format!("https://workspace.{region}.myhuaweicloud.com")
}

impl Client {
    pub fn new(
        endpoint: &str,
        project_id: &str,
        auth: Auth,
        settings: &ClientSettings,
    ) -> anyhow::Result<Client> {
        // reqwest is built without a default TLS provider; an Err only means one is installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let base = Url::parse(endpoint)
            .map_err(|err| anyhow::anyhow!("invalid endpoint `{endpoint}`: {err}"))?;
        let host = match (base.host_str(), base.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_string(),
            (None, _) => anyhow::bail!("invalid endpoint `{endpoint}`: no host"),
        };
        let mut http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)));
        if base.scheme() == "http" {
            // No TLS handshake is ever made (the simulator, a gateway on loopback): loading
            // the system's root certificates, one file each, would only delay the first call
            // by 5-10 ms. Should an answer redirect to HTTPS, no certificate is trusted.
            http = http.tls_certs_only(std::iter::empty());
        }
        let http = http.build()?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                host,
                project_id: project_id.to_string(),
                auth,
                max_retries: settings.max_retries,
                limiter: RateLimiter::new(settings.requests_per_second),
                permits: Semaphore::new(settings.max_concurrency),
                decoders: Semaphore::new(
                    std::thread::available_parallelism().map_or(1, usize::from),
                ),
            }),
        })
    }

    pub fn project_id(&self) -> &str {
        &self.inner.project_id
    }

    /// `GET /desktops`, one page.
    pub async fn list_desktops(
        &self,
        offset: usize,
        limit: usize,
        filter: &ListFilter,
    ) -> Result<ListDesktopsResponse<ListedDesktop>, ApiError> {
        let mut query = vec![
            ("offset".to_string(), offset.to_string()),
            ("limit".to_string(), limit.to_string()),
        ];
        filter.push_into(&mut query);
        self.read(Call {
            name: format!("list desktops (offset {offset})"),
            method: Method::GET,
            path: "desktops".into(),
            query,
            body: Vec::new(),
        })
        .await
    }

    /// `GET /desktops/detail`, one page.
    pub async fn list_desktops_detail(
        &self,
        offset: usize,
        limit: usize,
        filter: &ListFilter,
    ) -> Result<ListDesktopsDetailResponse<LoginState>, ApiError> {
        let mut query = vec![
            ("offset".to_string(), offset.to_string()),
            ("limit".to_string(), limit.to_string()),
        ];
        filter.push_into(&mut query);
        self.read(Call {
            name: format!("list desktop details (offset {offset})"),
            method: Method::GET,
            path: "desktops/detail".into(),
            query,
            body: Vec::new(),
        })
        .await
    }

    /// `POST /desktops/batch-delete`. Sent again only when the first attempt provably did not
    /// reach the service: deleting is not idempotent.
    pub async fn batch_delete(
        &self,
        request: &DeleteDesktopsReq,
    ) -> Result<BatchDeleteResponse, ApiError> {
        let body = serde_json::to_vec(request).expect("a DeleteDesktopsReq always serialises");
        let call = Call {
            name: format!(
                "batch-delete of {} desktop{}",
                request.desktop_ids.len(),
                if request.desktop_ids.len() == 1 {
                    ""
                } else {
                    "s"
                }
            ),
            method: Method::POST,
            path: "desktops/batch-delete".into(),
            query: Vec::new(),
            body,
        };
        let (status, answer) = self
            .send_with_retries(&call, ApiError::provably_not_carried_out)
            .await?;
        decode(&call, status, answer)
    }

    /// `GET /workspace-jobs/{job_id}`.
    pub async fn show_job(&self, job_id: &str) -> Result<ShowJobResponse, ApiError> {
        self.read(Call {
            name: format!("show job {job_id}"),
            method: Method::GET,
            path: format!("workspace-jobs/{}", sign::encode(job_id)),
            query: Vec::new(),
            body: Vec::new(),
        })
        .await
    }

    /// `GET /workspace-sub-jobs?job_id=…`, one page.
    pub async fn list_sub_jobs(
        &self,
        job_id: &str,
        offset: usize,
    ) -> Result<ListSubJobsResponse, ApiError> {
        self.read(Call {
            name: format!("list sub-jobs of job {job_id} (offset {offset})"),
            method: Method::GET,
            path: "workspace-sub-jobs".into(),
            query: vec![
                ("job_id".into(), job_id.into()),
                ("limit".into(), "1000".into()),
                ("offset".into(), offset.to_string()),
            ],
            body: Vec::new(),
        })
        .await
    }

    /// `GET /workspace-sub-jobs?job_type=…`, one page: the sub-jobs of every job of that type,
    /// to find a job whose ID was never heard by the desktops its sub-jobs name.
    pub async fn list_sub_jobs_of_type(
        &self,
        job_type: &str,
        offset: usize,
    ) -> Result<ListSubJobsResponse, ApiError> {
        self.read(Call {
            name: format!("list {job_type} sub-jobs (offset {offset})"),
            method: Method::GET,
            path: "workspace-sub-jobs".into(),
            query: vec![
                ("job_type".into(), job_type.into()),
                ("limit".into(), "1000".into()),
                ("offset".into(), offset.to_string()),
            ],
            body: Vec::new(),
        })
        .await
    }

    /// Sends a read, and decodes its answer: a large one on a blocking thread, so that a page
    /// of 1,000 desktops being decoded never holds up the runtime's threads, which turn the
    /// other calls' answers around.
    async fn read<T: DeserializeOwned + Send + 'static>(&self, call: Call) -> Result<T, ApiError> {
        let (status, answer) = self
            .send_with_retries(&call, ApiError::is_transient)
            .await?;
        if answer.body.len() < OFF_RUNTIME_BYTES {
            return decode(&call, status, answer);
        }
        let _decoder = self
            .inner
            .decoders
            .acquire()
            .await
            .expect("the semaphore is never closed");
        match tokio::task::spawn_blocking(move || decode(&call, status, answer)).await {
            Ok(decoded) => decoded,
            Err(err) => std::panic::resume_unwind(err.into_panic()),
        }
    }

    /// Sends `call`, again after a backoff while `retryable` says so and attempts remain.
    async fn send_with_retries(
        &self,
        call: &Call,
        retryable: fn(&ApiError) -> bool,
    ) -> Result<(StatusCode, Answer), ApiError> {
        let mut attempt = 0;
        loop {
            match self.send(call).await {
                Ok(answer) => return Ok(answer),
                Err((err, retry_after)) => {
                    if attempt >= self.inner.max_retries || !retryable(&err) {
                        return Err(err);
                    }
                    let delay = retry_after.unwrap_or_else(|| backoff(attempt));
                    tracing::debug!(call = %call.name, attempt, ?delay, error = %err, "retrying");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
            }
        }
    }

    /// One attempt: wait for a rate slot and a permit, sign, send, read the whole body. A
    /// successful answer is returned as it came (perhaps gzipped), to be unpacked as it is
    /// decoded.
    async fn send(
        &self,
        call: &Call,
    ) -> Result<(StatusCode, Answer), (ApiError, Option<Duration>)> {
        let inner = &*self.inner;
        let permit = inner
            .permits
            .acquire()
            .await
            .expect("the semaphore is never closed");
        inner.limiter.wait().await;
        let path = format!("/v2/{}/{}", inner.project_id, call.path);
        let query = sign::canonical_query(&call.query);
        let mut url = inner.base.clone();
        url.set_path(&path);
        url.set_query((!query.is_empty()).then_some(query.as_str()));

        let headers = self.signed_headers(call, &path);
        let mut request = inner.http.request(call.method.clone(), url);
        for (name, value) in &headers {
            request = request.header(name, value);
        }
        // Not signed, as the official SDK does not sign it either.
        request = request.header(reqwest::header::ACCEPT_ENCODING, "gzip");
        let started = std::time::Instant::now();
        let transport = |err: reqwest::Error| {
            let kind = if err.is_connect() {
                TransportKind::Connect
            } else if err.is_timeout() {
                TransportKind::Timeout
            } else {
                TransportKind::Other
            };
            ApiError::Transport {
                call: call.name.clone(),
                kind,
                detail: error_chain(&err),
            }
        };
        let mut response = request
            .body(call.body.clone())
            .send()
            .await
            .map_err(|err| (transport(err), None))?;
        let status = response.status();
        let request_id = header(&response, "x-request-id");
        let gzipped = header(&response, "content-encoding")
            .is_some_and(|coding| coding.trim().eq_ignore_ascii_case("gzip"));
        let retry_after = header(&response, "retry-after").and_then(|v| parse_retry_after(&v));
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|err| (transport(err), None))?
        {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                let detail = format!("the answer is larger than {} MiB", MAX_BODY_BYTES >> 20);
                return Err((malformed(call, status, detail), None));
            }
            body.extend_from_slice(&chunk);
        }
        // The answer is in: the next call may leave while this one is unpacked.
        drop(permit);
        tracing::debug!(
            method = %call.method, path = %path, query = %query, status = status.as_u16(),
            bytes = body.len(), gzipped, elapsed_ms = started.elapsed().as_millis() as u64, "api call"
        );
        let answer = Answer { body, gzipped };
        if status.is_success() {
            return Ok((status, answer));
        }
        let refused = match answer.unpack() {
            Ok(body) => refusal(call, status, &body, request_id),
            Err(detail) => malformed(call, status, detail),
        };
        Err((refused, retry_after))
    }

    /// The headers the official SDK sends, signed the same way.
    fn signed_headers(&self, call: &Call, path: &str) -> Vec<(String, String)> {
        let inner = &*self.inner;
        let mut headers = vec![
            ("Content-Type".to_string(), "application/json".to_string()),
            ("User-Agent".to_string(), USER_AGENT.to_string()),
            ("X-Project-Id".to_string(), inner.project_id.clone()),
            ("Host".to_string(), inner.host.clone()),
        ];
        match &inner.auth {
            Auth::Token(token) => {
                headers.push(("X-Auth-Token".to_string(), token.expose().to_string()));
            }
            Auth::AccessKey {
                access_key,
                secret_key,
                security_token,
            } => {
                let date = jiff::Timestamp::now()
                    .strftime(sign::DATE_FORMAT)
                    .to_string();
                headers.push(("X-Sdk-Date".to_string(), date));
                if let Some(token) = security_token {
                    headers.push(("X-Security-Token".to_string(), token.expose().to_string()));
                }
                let authorization = sign::authorization(
                    access_key,
                    secret_key.expose(),
                    &Signable {
                        method: call.method.as_str(),
                        path,
                        query: &call.query,
                        headers: &headers,
                        body: &call.body,
                    },
                );
                headers.push(("Authorization".to_string(), authorization));
            }
        }
        headers
    }
}

/// An answer's body as it came over the wire.
struct Answer {
    body: Vec<u8>,
    gzipped: bool,
}

impl Answer {
    /// The body, unpacked when it came gzipped.
    fn unpack(self) -> Result<Vec<u8>, String> {
        if self.gzipped {
            gunzip(&self.body, MAX_BODY_BYTES)
        } else {
            Ok(self.body)
        }
    }
}

/// Answers at least this big on the wire are unpacked and decoded on a blocking thread.
const OFF_RUNTIME_BYTES: usize = 32 << 10;

/// A gzipped body unpacked, refusing one that unpacks to more than `limit` bytes.
fn gunzip(packed: &[u8], limit: usize) -> Result<Vec<u8>, String> {
    let mut body = Vec::with_capacity(packed.len().saturating_mul(8).min(limit));
    flate2::read::GzDecoder::new(packed)
        .take(limit as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|err| format!("its gzip encoding is broken: {err}"))?;
    if body.len() > limit {
        return Err(format!(
            "the answer unpacks to more than {} MiB",
            limit >> 20
        ));
    }
    Ok(body)
}

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string)
}

/// Delta-seconds or an HTTP date, clamped; a date in the past means "now".
fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    let delay = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            let at = jiff::fmt::rfc2822::DateTimeParser::new()
                .parse_timestamp(value)
                .ok()?;
            Duration::try_from(at.duration_since(jiff::Timestamp::now())).unwrap_or_default()
        }
    };
    Some(delay.min(MAX_RETRY_AFTER))
}

/// Exponential backoff with full jitter: uniformly within [0, min(cap, first·2ⁿ)].
fn backoff(attempt: u32) -> Duration {
    let ceiling = FIRST_BACKOFF
        .saturating_mul(2u32.saturating_pow(attempt))
        .min(MAX_BACKOFF);
    ceiling.mul_f64(fastrand::f64())
}

/// The error and its causes, each once: reqwest's own message names only the outermost.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

fn refusal(call: &Call, status: StatusCode, body: &[u8], request_id: Option<String>) -> ApiError {
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let text = String::from_utf8_lossy(body);
    let message = parsed.error_msg.unwrap_or_else(|| {
        text.chars()
            .take(300)
            .collect::<String>()
            .trim()
            .to_string()
    });
    ApiError::Refused {
        call: call.name.clone(),
        status: status.as_u16(),
        code: parsed
            .error_code
            .unwrap_or_else(|| status.as_u16().to_string()),
        message: if message.is_empty() {
            status
                .canonical_reason()
                .unwrap_or("no message")
                .to_string()
        } else {
            message
        },
        request_id: request_id.or(parsed.request_id),
    }
}

/// A successful answer unpacked and decoded.
fn decode<T: DeserializeOwned>(
    call: &Call,
    status: StatusCode,
    answer: Answer,
) -> Result<T, ApiError> {
    let body = answer
        .unpack()
        .map_err(|detail| malformed(call, status, detail))?;
    serde_json::from_slice(&body).map_err(|err| malformed(call, status, err.to_string()))
}

fn malformed(call: &Call, status: StatusCode, detail: String) -> ApiError {
    ApiError::Malformed {
        call: call.name.clone(),
        status: status.as_u16(),
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gunzip_unpacks_and_refuses_broken_or_oversized_bodies() {
        use std::io::Write;
        let body = br#"{"total_count":0,"desktops":[]}"#.repeat(1000);
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(&body).unwrap();
        let packed = encoder.finish().unwrap();
        assert_eq!(gunzip(&packed, 1 << 20).unwrap(), body);
        assert_eq!(
            gunzip(&packed, (1 << 20) / 64).unwrap_err(),
            "the answer unpacks to more than 0 MiB"
        );
        let cut = gunzip(&packed[..packed.len() / 2], 1 << 20).unwrap_err();
        assert!(cut.starts_with("its gzip encoding is broken"), "{cut}");
        let garbage = gunzip(b"not gzip at all", 1 << 20).unwrap_err();
        assert!(
            garbage.starts_with("its gzip encoding is broken"),
            "{garbage}"
        );
    }

    /// The limiter's slots for `calls` calls made at once, in milliseconds from the first.
    async fn slots(per_second: f64, calls: usize) -> Vec<u128> {
        let limiter = RateLimiter::new(per_second);
        let start = Instant::now();
        let mut slots = Vec::new();
        for _ in 0..calls {
            limiter.wait().await;
            slots.push((Instant::now() - start).as_millis());
        }
        slots
    }

    #[tokio::test(start_paused = true)]
    async fn the_rate_limit_lets_a_second_s_calls_go_at_once_and_no_more() {
        assert_eq!(slots(3.0, 7).await, [0, 0, 0, 1000, 1000, 1000, 2000]);
        assert_eq!(slots(0.5, 3).await, [0, 2000, 4000]);
        assert_eq!(slots(2.5, 5).await, [0, 0, 800, 800, 1600]);
        let fast = slots(1000.0, 1001).await;
        assert!(fast[..1000].iter().all(|&at| at == 0));
        assert_eq!(fast[1000], 1000);
    }

    #[test]
    fn backoff_grows_and_stays_capped() {
        for attempt in 0..40 {
            let delay = backoff(attempt);
            assert!(delay <= MAX_BACKOFF, "attempt {attempt}: {delay:?}");
            assert!(delay <= FIRST_BACKOFF * 2u32.saturating_pow(attempt));
        }
    }

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after("3600"), Some(MAX_RETRY_AFTER));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn refusal_reads_both_error_shapes() {
        let call = Call {
            name: "c".into(),
            method: Method::GET,
            path: "desktops".into(),
            query: Vec::new(),
            body: Vec::new(),
        };
        let gateway = br#"{"error_msg":"throttled","error_code":"APIGW.0308","request_id":"r1"}"#;
        let err = refusal(&call, StatusCode::TOO_MANY_REQUESTS, gateway, None);
        assert_eq!(err.code(), Some("APIGW.0308"));
        assert!(err.to_string().contains("request id r1"), "{err}");
        let plain = refusal(&call, StatusCode::BAD_GATEWAY, b"upstream down", None);
        assert_eq!(plain.code(), Some("502"));
        assert!(plain.to_string().contains("upstream down"), "{plain}");
    }
}
