//! A loopback proxy in front of the S3 server: it records every request (method, path, body
//! size, conditional headers, the answer's status), can strip `If-None-Match`/`If-Match` (a
//! store that ignores conditions), and injects faults by rule: answer 500 or 403, drop the
//! connection, or delay, for the Nth matching request, from the Nth on, or for all of them.
//! Rules can be added while a run is going, at a point the test chose.
//!
//! ```ignore
//! let proxy = StoreProxy::in_front_of(&moto.endpoint);
//! proxy.add(Rule::on("PUT", ".lock").when(When::Nth(1)).fault(Fault::Status(500)));
//! proxy.add(Rule::any().when(When::From(10)).fault(Fault::Drop));
//! ```

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::Response;

use crate::support::serve::{Served, forwarding_client};

/// A request as the proxy received it, and what it answered.
#[derive(Debug, Clone)]
pub struct StoreRequest {
    pub method: String,
    /// `/bucket/key…`, as sent (percent-encoded).
    pub path: String,
    pub query: String,
    pub body_len: usize,
    pub if_match: Option<String>,
    pub if_none_match: Option<String>,
    /// The keys a bulk delete (`POST /bucket?delete`) names, as its XML body spells them.
    pub deletes: Vec<String>,
    /// The status sent back; 0 when the connection was dropped before passing it on (with
    /// [`Fault::DropAfter`], the store's, which the client never saw).
    pub status: u16,
    /// Whether the connection was closed without an answer.
    pub dropped: bool,
    /// When it arrived and when its answer was ready, on one clock that ticks at each
    /// arrival and each answer (the log itself is in the order of the answers).
    pub arrived: usize,
    pub answered: usize,
}

impl StoreRequest {
    /// Whether this request is `method` (any when empty) on a path ending with `suffix`.
    pub fn is(&self, method: &str, suffix: &str) -> bool {
        (method.is_empty() || self.method == method) && self.path.ends_with(suffix)
    }

    /// Whether this request deletes an object whose key ends with `suffix`: a `DELETE` of it,
    /// or a bulk delete naming it.
    pub fn deletes(&self, suffix: &str) -> bool {
        (self.method == "DELETE" && self.path.ends_with(suffix))
            || self.deletes.iter().any(|key| key.ends_with(suffix))
    }
}

/// Which of the requests a rule matches it acts on (counted from 1, per rule).
#[derive(Debug, Clone, Copy)]
pub enum When {
    Nth(usize),
    From(usize),
    Always,
}

#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// Answer this status with an S3-style XML error, without passing the request on.
    Status(u16),
    /// Close the connection without an answer, without passing the request on.
    Drop,
    /// Pass the request on (the store carries it out), then close the connection without
    /// its answer.
    DropAfter,
    /// Wait this long, then pass the request on.
    Delay(Duration),
}

/// A fault for the requests of a method (any when empty) whose path ends with a suffix.
#[derive(Debug, Clone)]
pub struct Rule {
    method: String,
    suffix: String,
    when: When,
    fault: Fault,
    seen: usize,
}

impl Rule {
    /// Requests of `method` (`"PUT"`…, `""` for any) whose path ends with `suffix`
    /// (`".lock"`, `"deskprune.state.json"`, `""` for any).
    pub fn on(method: &str, suffix: &str) -> Rule {
        Rule {
            method: method.to_string(),
            suffix: suffix.to_string(),
            when: When::Always,
            fault: Fault::Status(500),
            seen: 0,
        }
    }

    /// Every request.
    pub fn any() -> Rule {
        Rule::on("", "")
    }

    pub fn when(mut self, when: When) -> Rule {
        self.when = when;
        self
    }

    pub fn fault(mut self, fault: Fault) -> Rule {
        self.fault = fault;
        self
    }

    /// Counts `request` if it matches; the fault when this one is to get it.
    fn hit(&mut self, method: &str, path: &str) -> Option<Fault> {
        if !(self.method.is_empty() || self.method == method) || !path.ends_with(&self.suffix) {
            return None;
        }
        self.seen += 1;
        let acts = match self.when {
            When::Nth(n) => self.seen == n,
            When::From(n) => self.seen >= n,
            When::Always => true,
        };
        acts.then_some(self.fault)
    }
}

struct Shared {
    upstream: String,
    strip: AtomicBool,
    clock: AtomicUsize,
    rules: Mutex<Vec<Rule>>,
    received: Mutex<Vec<StoreRequest>>,
    http: reqwest::Client,
}

/// A running proxy; it stops when dropped.
pub struct StoreProxy {
    /// `http://127.0.0.1:PORT`: the endpoint to give deskprune.
    pub endpoint: String,
    shared: Arc<Shared>,
    _served: Served,
}

impl StoreProxy {
    /// A pass-through proxy to `upstream` (`http://127.0.0.1:PORT`).
    pub fn in_front_of(upstream: &str) -> StoreProxy {
        let shared = Arc::new(Shared {
            upstream: upstream.to_string(),
            strip: AtomicBool::new(false),
            clock: AtomicUsize::new(0),
            rules: Mutex::default(),
            received: Mutex::default(),
            http: forwarding_client(),
        });
        let served = Served::start(
            axum::Router::new()
                .fallback(handle)
                .with_state(shared.clone()),
        );
        StoreProxy {
            endpoint: served.endpoint.clone(),
            shared,
            _served: served,
        }
    }

    /// From now on, pass requests on without `If-None-Match`/`If-Match` (or with them again).
    pub fn strip_conditions(&self, strip: bool) {
        self.shared.strip.store(strip, Ordering::SeqCst);
    }

    /// Adds a fault rule; the first rule that acts on a request wins (all count it).
    pub fn add(&self, rule: Rule) {
        self.shared.rules.lock().unwrap().push(rule);
    }

    /// Removes every rule.
    pub fn clear(&self) {
        self.shared.rules.lock().unwrap().clear();
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<StoreRequest> {
        self.shared.received.lock().unwrap().clone()
    }

    /// How many requests so far were `method` (any when empty) on a path ending with `suffix`.
    pub fn count(&self, method: &str, suffix: &str) -> usize {
        let received = self.shared.received.lock().unwrap();
        received
            .iter()
            .filter(|request| request.is(method, suffix))
            .count()
    }

    /// Forgets the requests recorded so far (to count one run's requests alone).
    pub fn reset_counts(&self) {
        self.shared.received.lock().unwrap().clear();
    }
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 64 << 20)
        .await
        .unwrap_or_default();
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
    };
    let mut record = StoreRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or_default().to_string(),
        body_len: body.len(),
        if_match: header("if-match"),
        if_none_match: header("if-none-match"),
        deletes: deleted_keys(&body),
        status: 0,
        dropped: false,
        arrived: shared.clock.fetch_add(1, Ordering::SeqCst),
        answered: 0,
    };
    let fault = {
        let mut rules = shared.rules.lock().unwrap();
        let mut chosen = None;
        for rule in rules.iter_mut() {
            if let Some(fault) = rule.hit(&record.method, &record.path) {
                chosen = chosen.or(Some(fault));
            }
        }
        chosen
    };
    let answer = match fault {
        Some(Fault::Drop) => {
            record.dropped = true;
            record.answered = shared.clock.fetch_add(1, Ordering::SeqCst);
            shared.received.lock().unwrap().push(record);
            // Ends the connection's task without an answer: the client sees the connection
            // closed. `resume_unwind` skips the panic hook, so nothing is printed.
            std::panic::resume_unwind(Box::new("the store proxy drops this connection"));
        }
        Some(Fault::DropAfter) => {
            let answer = forward(&shared, &parts, body.to_vec()).await;
            record.status = answer.status().as_u16();
            record.dropped = true;
            record.answered = shared.clock.fetch_add(1, Ordering::SeqCst);
            shared.received.lock().unwrap().push(record);
            std::panic::resume_unwind(Box::new("the store proxy drops this answer"));
        }
        Some(Fault::Status(status)) => s3_error(status),
        Some(Fault::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            forward(&shared, &parts, body.to_vec()).await
        }
        None => forward(&shared, &parts, body.to_vec()).await,
    };
    record.status = answer.status().as_u16();
    record.answered = shared.clock.fetch_add(1, Ordering::SeqCst);
    shared.received.lock().unwrap().push(record);
    answer
}

/// Passes the request on as it came (without `Accept-Encoding`, so the answer comes plain),
/// minus the conditions when they are stripped.
async fn forward(shared: &Shared, parts: &axum::http::request::Parts, body: Vec<u8>) -> Response {
    let mut url = format!("{}{}", shared.upstream, parts.uri.path());
    if let Some(query) = parts.uri.query() {
        url = format!("{url}?{query}");
    }
    let strip = shared.strip.load(Ordering::SeqCst);
    let mut request = shared.http.request(parts.method.clone(), url).body(body);
    for (name, value) in &parts.headers {
        let name = name.as_str();
        let conditional = name == "if-match" || name == "if-none-match";
        if ["accept-encoding", "content-length", "connection", "host"].contains(&name)
            || (strip && conditional)
        {
            continue;
        }
        request = request.header(name, value);
    }
    let Ok(answer) = request.send().await else {
        return s3_error(502);
    };
    let status = answer.status();
    let mut headers = answer.headers().clone();
    let body = answer.bytes().await.unwrap_or_default();
    headers.remove(header::CONTENT_LENGTH);
    headers.remove(header::TRANSFER_ENCODING);
    headers.remove(header::CONNECTION);
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

/// The `<Key>`s of a bulk delete's body (empty for any other body).
fn deleted_keys(body: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(body);
    if !text.contains("<Delete") {
        return Vec::new();
    }
    text.split("<Key>")
        .skip(1)
        .filter_map(|rest| rest.split("</Key>").next())
        .map(String::from)
        .collect()
}

/// An answer as S3 words an error.
fn s3_error(status: u16) -> Response {
    let code = match status {
        403 => "AccessDenied",
        404 => "NoSuchKey",
        412 => "PreconditionFailed",
        503 => "SlowDown",
        _ => "InternalError",
    };
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
         <Message>injected by the test proxy</Message><RequestId>0</RequestId></Error>"
    );
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/xml"),
    );
    response
}
