//! The HTTP client of the Workspace API: sends a [`Call`] (its calls are in `calls`), signing
//! it as the official SDK does, limiting rate and concurrency, retrying what the call allows,
//! and turning answers into wire types or an [`ApiError`] naming the call.

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;

use super::answer::{
    Answer, MAX_BODY_BYTES, OFF_RUNTIME_BYTES, decode, header, malformed, redirect_target, refusal,
};
use super::credentials::Auth;
use super::error::{ApiError, TransportKind};
use super::pace::{Pace, Throttled, backoff, parse_retry_after};
use super::sign::{self, Signable};
use super::wire::StatedLimit;
use crate::text::printable;

pub const USER_AGENT: &str = concat!("deskprune/", env!("CARGO_PKG_VERSION"));

/// One API call, before signing.
#[derive(Debug, Clone)]
pub(super) struct Call {
    /// For messages: `list desktops (offset 2000)`.
    pub(super) name: String,
    pub(super) method: Method,
    /// After `/v2/{project_id}/`.
    pub(super) path: String,
    pub(super) query: Vec<(String, String)>,
    pub(super) body: Vec<u8>,
}

/// How the client paces and bounds its calls.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientOptions {
    /// Per request.
    pub timeout: Duration,
    /// Resends of a call that provably did not reach the service.
    pub max_retries: u32,
    /// The most calls a second, whatever the adaptive rate finds (`None`: no ceiling).
    pub requests_per_second: Option<f64>,
    /// Calls in flight at once.
    pub max_concurrency: usize,
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
    /// The adaptive rate, shared by reads and writes.
    pace: Pace,
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
        options: &ClientOptions,
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
            // A redirect would carry the credentials (and a write's body) wherever it points:
            // a 3xx is an answer like any other, and refused.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(options.timeout)
            .connect_timeout(options.timeout.min(Duration::from_secs(10)));
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
                max_retries: options.max_retries,
                pace: Pace::new(options.requests_per_second),
                permits: Semaphore::new(options.max_concurrency),
                decoders: Semaphore::new(
                    std::thread::available_parallelism().map_or(1, usize::from),
                ),
            }),
        })
    }

    /// Sends a read, and decodes its answer: a large one on a blocking thread, so that a page
    /// of 1,000 desktops being decoded never holds up the runtime's threads, which turn the
    /// other calls' answers around.
    pub(super) async fn read<T: DeserializeOwned + Send + 'static>(
        &self,
        call: Call,
    ) -> Result<T, ApiError> {
        let (status, answer) = self
            .send_with_retries(&call, ApiError::is_transient)
            .await?;
        if answer.body.len() < OFF_RUNTIME_BYTES {
            return decode(&call.name, status, answer).map_err(|err| self.clean(err));
        }
        let _decoder = self
            .inner
            .decoders
            .acquire()
            .await
            .expect("the semaphore is never closed");
        match tokio::task::spawn_blocking(move || decode(&call.name, status, answer)).await {
            Ok(decoded) => decoded.map_err(|err| self.clean(err)),
            Err(err) => std::panic::resume_unwind(err.into_panic()),
        }
    }

    /// Sends `call`, again after a backoff while `retryable` says so and attempts remain.
    pub(super) async fn send_with_retries(
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
                        return Err(err.after_attempts(attempt + 1));
                    }
                    let delay = retry_after.unwrap_or_else(|| backoff(attempt));
                    tracing::debug!(call = %call.name, attempt, ?delay, error = %err, "retrying");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
            }
        }
    }

    /// One attempt (see [`Client::attempt`]), its error cleaned before anything, a log line
    /// included, shows it.
    async fn send(
        &self,
        call: &Call,
    ) -> Result<(StatusCode, Answer), (ApiError, Option<Duration>)> {
        self.attempt(call)
            .await
            .map_err(|(err, retry_after)| (self.clean(err), retry_after))
    }

    /// An error whose answer text is safe to show: this client's own secrets removed (an
    /// answer may echo the token it was sent), then every character a terminal would obey
    /// escaped.
    pub(super) fn clean(&self, err: ApiError) -> ApiError {
        err.clean_answer_text(|text| self.clean_text(text))
    }

    /// One text of an answer made safe to show (see [`Client::clean`]).
    fn clean_text(&self, text: &str) -> String {
        let secrets: Vec<&str> = match &self.inner.auth {
            Auth::Token(token) => vec![token.expose()],
            Auth::AccessKey {
                secret_key,
                security_token,
                ..
            } => std::iter::once(secret_key)
                .chain(security_token)
                .map(|secret| secret.expose())
                .collect(),
        };
        let mut text = text.to_string();
        for secret in secrets.iter().filter(|secret| !secret.is_empty()) {
            text = text.replace(secret, "[redacted]");
        }
        printable(&text).into_owned()
    }

    /// One attempt: wait for a permit and for the adaptive rate, sign, send, read the whole body. A
    /// successful answer is returned as it came (perhaps gzipped), to be unpacked as it is
    /// decoded.
    async fn attempt(
        &self,
        call: &Call,
    ) -> Result<(StatusCode, Answer), (ApiError, Option<Duration>)> {
        let inner = &*self.inner;
        let permit = inner
            .permits
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let sent_at = inner.pace.wait().await;
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
        if status != StatusCode::TOO_MANY_REQUESTS {
            inner.pace.answered(sent_at, None);
        }
        let request_id = header(&response, "x-request-id");
        let gzipped = header(&response, "content-encoding")
            .is_some_and(|coding| coding.trim().eq_ignore_ascii_case("gzip"));
        let retry_after = header(&response, "retry-after").and_then(|v| parse_retry_after(&v));
        if status.is_redirection() {
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .map(|value| redirect_target(response.url(), value.as_bytes()));
            return Err((
                ApiError::Redirected {
                    call: call.name.clone(),
                    status: status.as_u16(),
                    location,
                },
                None,
            ));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|err| (transport(err), None))?
        {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                let detail = format!("the answer is larger than {} MiB", MAX_BODY_BYTES >> 20);
                return Err((malformed(&call.name, status, detail), None));
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
            Ok(body) => refusal(&call.name, status, &body, request_id),
            Err(detail) => malformed(&call.name, status, detail),
        };
        if status == StatusCode::TOO_MANY_REQUESTS {
            // Logged with the rate's change: cleaned as the error will be.
            let (code, stated) = match &refused {
                ApiError::Refused { code, message, .. } => {
                    (self.clean_text(code), StatedLimit::parse(message))
                }
                _ => (String::new(), None),
            };
            let throttled = Throttled {
                code: &code,
                retry_after,
                stated,
            };
            inner.pace.answered(sent_at, Some(throttled));
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_never_carry_a_secret_an_answer_echoed() {
        use super::super::credentials::Secret;
        let client = Client::new(
            "http://127.0.0.1:9",
            "p",
            Auth::AccessKey {
                access_key: "AK".into(),
                secret_key: Secret::new("sk-0123456789"),
                security_token: Some(Secret::new("st-9876543210")),
            },
            &ClientOptions {
                max_retries: 0,
                timeout: Duration::from_secs(1),
                max_concurrency: 1,
                requests_per_second: Some(1.0),
            },
        )
        .unwrap();
        let echoed = ApiError::Refused {
            call: "c".into(),
            status: 401,
            code: "APIGW.0301\u{1b}[2K".into(),
            message: "bad key sk-0123456789 with st-9876543210".into(),
            request_id: Some("st-9876543210".into()),
        };
        assert_eq!(
            client.clean(echoed).to_string(),
            "c was refused: HTTP 401 APIGW.0301\\u{1b}[2K: bad key [redacted] with [redacted] (request id [redacted])"
        );
    }

    /// The `-v` log of a rate cut names the throttled answer's code: cleaned as its error is,
    /// never a secret it echoed nor a sequence a terminal would obey.
    #[tokio::test]
    async fn the_rate_log_of_a_hostile_throttle_is_clean() {
        use std::io::Write;
        use std::sync::{Arc, Mutex};

        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        use super::super::calls::ListFilter;
        use super::super::credentials::Secret;

        #[derive(Clone, Default)]
        struct Log(Arc<Mutex<Vec<u8>>>);
        impl Write for Log {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let log = Log::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let _default = tracing::subscriber::set_default(subscriber);

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = vec![0; 4096];
            let _ = stream.read(&mut request).await.unwrap();
            let body =
                r#"{"error_code":"APIGW.0308\u001b]0;owned\u0007 tok-0123456789","error_msg":"m"}"#;
            let answer = format!(
                "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(answer.as_bytes()).await.unwrap();
        });
        let client = Client::new(
            &format!("http://{address}"),
            "p",
            Auth::Token(Secret::new("tok-0123456789")),
            &ClientOptions {
                max_retries: 0,
                timeout: Duration::from_secs(5),
                max_concurrency: 1,
                requests_per_second: None,
            },
        )
        .unwrap();
        let err = client
            .list_desktops(0, 1, &ListFilter::default())
            .await
            .unwrap_err();
        server.await.unwrap();
        assert_eq!(err.status(), Some(429));
        let log = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
        assert!(log.contains("(throttled: APIGW.0308"), "{log}");
        assert!(!log.contains('\u{1b}') && !log.contains('\u{7}'), "{log}");
        assert!(!log.contains("tok-0123456789"), "{log}");
    }
}
