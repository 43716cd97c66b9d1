//! Starts a simulator on `127.0.0.1:0` and calls it as the official SDK does: the SDK's
//! headers, signed with SDK-HMAC-SHA256, the query sent in its canonical form.

use std::time::Duration;

use jiff::Timestamp;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::simulator::{SeedDesktop, Simulator, SimulatorOptions};
use crate::workspace::sign::{DATE_FORMAT, Signable, authorization, canonical_query};

pub(super) const AK: &str = "HPUAFAKEAK0EXAMPLE00";
pub(super) const SK: &str = "sim-test-secret-key-0123456789";
pub(super) const PROJECT: &str = "0b6a4c2d9e8f41a7b3c5d6e7f8091a2b";

/// Accepts AK/SK; jobs take no time unless a test says otherwise.
pub(super) fn options() -> SimulatorOptions {
    SimulatorOptions {
        access_key: Some(AK.to_string()),
        secret_key: Some(SK.to_string()),
        job_duration: Duration::ZERO,
        ..SimulatorOptions::default()
    }
}

/// A desktop with the fields the filters look at.
pub(super) fn desktop(id: &str, name: &str, user: &str) -> SeedDesktop {
    seed(json!({
        "desktop_id": id,
        "computer_name": name,
        "user_name": user,
        "enterprise_project_id": "0",
        "tags": [{"key": "team", "value": "finance"}],
        "status": "ACTIVE",
        "task_status": "",
    }))
}

pub(super) fn seed(value: Value) -> SeedDesktop {
    serde_json::from_value(value).expect("a valid seed desktop")
}

/// `count` desktops named `PC-00000`, `PC-00001`, …
pub(super) fn numbered(count: usize) -> Vec<SeedDesktop> {
    (0..count)
        .map(|n| desktop(&format!("id-{n:05}"), &format!("PC-{n:05}"), "user"))
        .collect()
}

pub(super) struct Server {
    pub(super) simulator: Simulator,
    base: String,
    host: String,
    client: reqwest::Client,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

pub(super) async fn start(options: SimulatorOptions, inventory: Vec<SeedDesktop>) -> Server {
    serve(Simulator::new(options, inventory)).await
}

pub(super) async fn serve(simulator: Simulator) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let host = listener.local_addr().expect("bound address").to_string();
    let (stop, stopped) = oneshot::channel::<()>();
    let shutdown = async move {
        let _ = stopped.await;
    };
    let task = tokio::spawn(simulator.clone().serve(listener, shutdown));
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("an http client");
    Server {
        simulator,
        base: format!("http://{host}"),
        host,
        client,
        stop,
        task,
    }
}

impl Server {
    /// `http://127.0.0.1:PORT`.
    pub(super) fn base(&self) -> &str {
        &self.base
    }

    pub(super) async fn stop(self) -> std::io::Result<()> {
        let _ = self.stop.send(());
        self.task.await.expect("the server task does not panic")
    }

    pub(super) async fn send(&self, call: Call) -> Answer {
        self.attempt(call).await.expect("the simulator answers")
    }

    /// Sends `call`; an error when no whole answer arrives (a fault cut it).
    pub(super) async fn attempt(&self, call: Call) -> Result<Answer, reqwest::Error> {
        let sent_query: Vec<(String, String)> = call
            .query
            .iter()
            .chain(&call.unsigned_query)
            .cloned()
            .collect();
        let query = canonical_query(&sent_query);
        let mut headers = Vec::new();
        if let Some(content_type) = &call.content_type {
            headers.push(("Content-Type".to_string(), content_type.clone()));
        }
        headers.extend(call.headers.iter().cloned());
        if call.auth == Auth::Signed {
            let signed_at = call.signed_at.strftime(DATE_FORMAT).to_string();
            headers.push(("X-Project-Id".to_string(), PROJECT.to_string()));
            headers.push(("X-Sdk-Date".to_string(), signed_at));
            let mut signed = headers.clone();
            // reqwest sends this Host itself; it is signed, as the SDK signs it.
            signed.push(("Host".to_string(), self.host.clone()));
            let request = Signable {
                method: call.method.as_str(),
                path: &call.path,
                query: &call.query,
                headers: &signed,
                body: &call.body,
            };
            let value = authorization(AK, &call.secret_key, &request);
            headers.push(("Authorization".to_string(), value));
        }
        if let Auth::Token(token) = &call.auth {
            headers.push(("X-Auth-Token".to_string(), token.clone()));
        }
        let mut url = format!("{}{}", self.base, call.path);
        if !query.is_empty() {
            url = format!("{url}?{query}");
        }
        let body = call.sent_body.unwrap_or(call.body);
        let mut request = self.client.request(call.method, url).body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let request_id = response
            .headers()
            .get("x-request-id")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let headers = response.headers().clone();
        let bytes = response.bytes().await?;
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Answer {
            status,
            request_id,
            content_type,
            body,
            raw: bytes.to_vec(),
            headers,
        })
    }

    /// Sends `call`, insisting on `status`, and returns the body.
    pub(super) async fn expect(&self, call: Call, status: u16) -> Value {
        let answer = self.send(call).await;
        assert_eq!(answer.status, status, "answer: {}", answer.body);
        answer.body
    }

    pub(super) async fn stats_over_http(&self) -> Value {
        let response = self
            .client
            .get(format!("{}/__simulator/stats", self.base))
            .send()
            .await
            .expect("the simulator answers");
        assert_eq!(response.status().as_u16(), 200);
        response.json().await.expect("stats JSON")
    }
}

#[derive(Debug)]
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) request_id: String,
    pub(super) content_type: String,
    /// `Value::Null` when the body is not JSON.
    pub(super) body: Value,
    /// The body as received (after gzip, which reqwest undoes).
    pub(super) raw: Vec<u8>,
    pub(super) headers: reqwest::header::HeaderMap,
}

impl Answer {
    pub(super) fn error_code(&self) -> &str {
        self.body["error_code"].as_str().unwrap_or_default()
    }

    pub(super) fn error_msg(&self) -> &str {
        self.body["error_msg"].as_str().unwrap_or_default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Auth {
    Signed,
    Token(String),
    Nothing,
}

/// One request, signed with the test keys unless told otherwise.
pub(super) struct Call {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    body: Vec<u8>,
    /// Sent but left out of the signature, to play a request altered on the way.
    unsigned_query: Vec<(String, String)>,
    sent_body: Option<Vec<u8>>,
    headers: Vec<(String, String)>,
    content_type: Option<String>,
    auth: Auth,
    secret_key: String,
    signed_at: Timestamp,
}

impl Call {
    /// `path` is relative to `/v2/{project_id}/` unless it starts with `/`.
    pub(super) fn get(path: &str) -> Call {
        Call::new(Method::GET, path, Vec::new())
    }

    pub(super) fn post(path: &str, body: &Value) -> Call {
        Call::new(Method::POST, path, serde_json::to_vec(body).expect("JSON"))
    }

    pub(super) fn new(method: Method, path: &str, body: Vec<u8>) -> Call {
        let path = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/v2/{PROJECT}/{path}")
        };
        Call {
            method,
            path,
            query: Vec::new(),
            body,
            unsigned_query: Vec::new(),
            sent_body: None,
            headers: Vec::new(),
            content_type: Some("application/json".to_string()),
            auth: Auth::Signed,
            secret_key: SK.to_string(),
            signed_at: Timestamp::now(),
        }
    }

    pub(super) fn query(mut self, key: &str, value: &str) -> Call {
        self.query.push((key.to_string(), value.to_string()));
        self
    }

    pub(super) fn unsigned_query(mut self, key: &str, value: &str) -> Call {
        self.unsigned_query
            .push((key.to_string(), value.to_string()));
        self
    }

    pub(super) fn sent_body(mut self, body: Vec<u8>) -> Call {
        self.sent_body = Some(body);
        self
    }

    /// An extra header, signed like the others.
    pub(super) fn header(mut self, name: &str, value: &str) -> Call {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub(super) fn content_type(mut self, content_type: Option<&str>) -> Call {
        self.content_type = content_type.map(str::to_string);
        self
    }

    pub(super) fn auth(mut self, auth: Auth) -> Call {
        self.auth = auth;
        self
    }

    pub(super) fn secret_key(mut self, secret_key: &str) -> Call {
        self.secret_key = secret_key.to_string();
        self
    }

    pub(super) fn signed_at(mut self, signed_at: Timestamp) -> Call {
        self.signed_at = signed_at;
        self
    }
}

/// The IDs of a list page, in order.
pub(super) fn ids(page: &Value) -> Vec<String> {
    page["desktops"]
        .as_array()
        .expect("a desktops array")
        .iter()
        .map(|desktop| desktop["desktop_id"].as_str().expect("an id").to_string())
        .collect()
}
