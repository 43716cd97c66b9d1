//! A hostile server for the tests: a small proxy on `127.0.0.1:0` in front of the simulator (or
//! standing alone) whose hooks, chosen by the end of the request's path, change the status,
//! headers and JSON body of the simulator's answers, or answer by themselves: redirects, cut
//! bodies, bodies that never end. It records every request it receives.
//!
//! ```ignore
//! let proxy = Hostile::in_front_of(&world)
//!     .rewrite(LIST, |_, answer| answer.edit_json(|page| page["total_count"] = json!(9)))
//!     .on(BATCH_DELETE, |_, _| Reply::Own(redirect(307, "http://127.0.0.1:1/")))
//!     .start();
//! world.config_at(&proxy.endpoint, "...");
//! ```

mod bodies;
mod bounds;
mod ids;
mod redirects;
mod resend;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use futures_util::stream;
use serde_json::Value;

use deskprune::simulator::SimulatorOptions;

use crate::support::serve::{Served, forwarding_client};
use crate::support::*;

/// Path ends that pick a hook: `/v2/{project_id}` and then these.
pub const LIST: &str = "/desktops";
pub const DETAIL: &str = "/desktops/detail";
pub const BATCH_DELETE: &str = "/desktops/batch-delete";
/// Ends in `/`: matches `…/workspace-jobs/{job_id}`.
pub const SHOW_JOB: &str = "/workspace-jobs/";
pub const SUB_JOBS: &str = "/workspace-sub-jobs";
/// Matches every path.
pub const ANY: &str = "";

/// A request as the server received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// An answer on its way back, for a hook to change.
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the simulator answers JSON")
    }

    pub fn set_json(&mut self, value: &Value) {
        self.body = serde_json::to_vec(value).unwrap();
    }

    pub fn edit_json(&mut self, edit: impl FnOnce(&mut Value)) {
        let mut value = self.json();
        edit(&mut value);
        self.set_json(&value);
    }
}

/// What a hook does with one request.
pub enum Reply {
    /// Pass it to the simulator, and its answer back as it is.
    Forward,
    /// Pass it to the simulator (which carries it out), then change the answer.
    Rewrite(Box<dyn FnOnce(&mut Answer) + Send>),
    /// Answer it without passing it on.
    Own(Response),
}

/// A hook hears how many requests it has been asked about (from 1) and the request.
type Hook = Arc<dyn Fn(usize, &Received) -> Reply + Send + Sync>;

pub struct Builder {
    upstream: Option<String>,
    hooks: Vec<(String, Hook, Arc<AtomicUsize>)>,
}

impl Builder {
    /// Requests whose path ends with `suffix` (or holds it, when it ends in `/`) go to `hook`;
    /// the first matching hook wins. Requests no hook takes are forwarded.
    pub fn on(
        mut self,
        suffix: &str,
        hook: impl Fn(usize, &Received) -> Reply + Send + Sync + 'static,
    ) -> Builder {
        self.hooks
            .push((suffix.to_string(), Arc::new(hook), Arc::default()));
        self
    }

    /// Forwards the requests `suffix` matches and passes each answer to `edit`.
    pub fn rewrite(
        self,
        suffix: &str,
        edit: impl Fn(usize, &mut Answer) + Send + Sync + 'static,
    ) -> Builder {
        let edit = Arc::new(edit);
        self.on(suffix, move |n, _| {
            let edit = edit.clone();
            Reply::Rewrite(Box::new(move |answer| edit(n, answer)))
        })
    }

    pub fn start(self) -> Hostile {
        let shared = Arc::new(Shared {
            upstream: self.upstream,
            hooks: self.hooks,
            received: Mutex::default(),
            http: forwarding_client(),
        });
        let served = Served::start(
            axum::Router::new()
                .fallback(handle)
                .with_state(shared.clone()),
        );
        Hostile {
            endpoint: served.endpoint.clone(),
            shared,
            _served: served,
        }
    }
}

/// A running hostile server; it stops when dropped.
pub struct Hostile {
    pub endpoint: String,
    shared: Arc<Shared>,
    _served: Served,
}

impl Hostile {
    /// A proxy in front of `world`'s simulator.
    pub fn in_front_of(world: &World) -> Builder {
        Builder {
            upstream: Some(world.endpoint.clone()),
            hooks: Vec::new(),
        }
    }

    /// A server of its own: what no hook answers gets a 404.
    pub fn alone() -> Builder {
        Builder {
            upstream: None,
            hooks: Vec::new(),
        }
    }

    /// Every request received so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// How many requests a hook for `suffix` would have been asked about.
    pub fn calls(&self, suffix: &str) -> usize {
        let received = self.shared.received.lock().unwrap();
        received
            .iter()
            .filter(|request| matches(suffix, &request.path))
            .count()
    }
}

/// Whether `path` ends with `suffix`, or holds it when it ends in `/`.
fn matches(suffix: &str, path: &str) -> bool {
    path.ends_with(suffix) || (suffix.ends_with('/') && path.contains(suffix))
}

struct Shared {
    upstream: Option<String>,
    hooks: Vec<(String, Hook, Arc<AtomicUsize>)>,
    received: Mutex<Vec<Received>>,
    http: reqwest::Client,
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 64 << 20)
        .await
        .unwrap_or_default();
    let received = Received {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or_default().to_string(),
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.to_string(), value)
            })
            .collect(),
        body: body.to_vec(),
    };
    shared.received.lock().unwrap().push(received.clone());
    let hook = shared
        .hooks
        .iter()
        .find(|(suffix, _, _)| matches(suffix, &received.path));
    let reply = match hook {
        Some((_, hook, count)) => hook(count.fetch_add(1, Ordering::SeqCst) + 1, &received),
        None => Reply::Forward,
    };
    let edit = match reply {
        Reply::Own(response) => return response,
        Reply::Forward => None,
        Reply::Rewrite(edit) => Some(edit),
    };
    let Some(upstream) = &shared.upstream else {
        return json(404, &serde_json::json!({"error_code": "APIGW.0101"}));
    };
    let mut answer = forward(&shared.http, upstream, &received).await;
    if let Some(edit) = edit {
        edit(&mut answer);
    }
    let mut response = Response::new(Body::from(answer.body));
    *response.status_mut() = StatusCode::from_u16(answer.status).unwrap();
    answer.headers.remove(header::CONTENT_LENGTH);
    answer.headers.remove(header::TRANSFER_ENCODING);
    *response.headers_mut() = answer.headers;
    response
}

/// Sends the request on as it came (its `Host` included, so a signature still holds), but
/// without `Accept-Encoding`, so the answer comes plain for a hook to read.
async fn forward(http: &reqwest::Client, upstream: &str, received: &Received) -> Answer {
    let mut url = format!("{upstream}{}", received.path);
    if !received.query.is_empty() {
        url = format!("{url}?{}", received.query);
    }
    let method = received.method.parse().unwrap();
    let mut request = http.request(method, url).body(received.body.clone());
    for (name, value) in &received.headers {
        if !["accept-encoding", "content-length", "connection"].contains(&name.as_str()) {
            request = request.header(name, value);
        }
    }
    let response = request.send().await.expect("the simulator answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.bytes().await.unwrap_or_default().to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

// Answers a hook can give by itself.

pub fn json(status: u16, value: &Value) -> Response {
    raw(
        status,
        "application/json",
        serde_json::to_vec(value).unwrap(),
    )
}

/// `body` as it is, with `content_type`.
pub fn raw(status: u16, content_type: &str, body: impl Into<Body>) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type).unwrap(),
    );
    response
}

pub fn redirect(status: u16, location: &str) -> Response {
    let mut response = raw(status, "text/plain", "moved");
    response
        .headers_mut()
        .insert(header::LOCATION, HeaderValue::from_str(location).unwrap());
    response
}

/// A 200 whose JSON starts and then never ends: a mebibyte of spaces after another, as fast
/// as the client reads.
pub fn endless() -> Response {
    let start = stream::once(async {
        Ok::<Bytes, std::io::Error>(Bytes::from_static(b"{\"total_count\": 1, \"desktops\": ["))
    });
    let spaces = Bytes::from(vec![b' '; 1 << 20]);
    let rest = stream::repeat_with(move || Ok(spaces.clone()));
    raw(
        200,
        "application/json",
        Body::from_stream(futures_util::StreamExt::chain(start, rest)),
    )
}

/// A 200 that sends the first half of `body`, then nothing more, and never closes.
pub fn stalled(body: &str) -> Response {
    let half = Bytes::copy_from_slice(&body.as_bytes()[..body.len() / 2]);
    let start = stream::once(async { Ok::<Bytes, std::io::Error>(half) });
    raw(
        200,
        "application/json",
        Body::from_stream(futures_util::StreamExt::chain(start, stream::pending())),
    )
}

/// A 200 that promises `body` (its `Content-Length`), sends the first half, and closes.
pub fn cut(body: &str) -> Response {
    let full = body.len();
    let half = Bytes::copy_from_slice(&body.as_bytes()[..full / 2]);
    let parts = stream::unfold(0, move |step| {
        let half = half.clone();
        async move {
            match step {
                0 => Some((Ok(half), 1)),
                1 => {
                    tokio::time::sleep(Duration::from_millis(30)).await;
                    Some((Err(std::io::Error::other("cut")), 2))
                }
                _ => None,
            }
        }
    });
    let mut response = raw(200, "application/json", Body::from_stream(parts));
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(full));
    response
}

// The world the hostile tests share.

/// The IAM token the simulator takes: random-looking, so that no piece of it is a word.
pub const TOKEN: &str = "HTk3Vb8Qz1Lm6Wp4Rx9Nc2Jf7Dy5";

/// Six desktops of team `eng`, the first three declared; jobs take 300 ms.
pub fn world() -> World {
    World::with_options(
        team(6),
        SimulatorOptions {
            token: Some(TOKEN.into()),
            ..SimulatorOptions::default()
        },
    )
}

/// Points `world`'s config at `proxy`, with a budget that allows the three deletions, quick
/// retries, and `client` added to `[client]`.
pub fn config(world: &World, proxy: &Hostile, client: &str) {
    world.config_at(
        &proxy.endpoint,
        &format!(
            "[scope]\ntags = {{ team = \"eng\" }}\n\n\
             [guard]\nmax_deletions = 100\nmax_delete_percent = 100\n\n\
             [client]\ntimeout = 2\nrequests_per_second = 1000\nmax_retries = 2\n{client}\n\n\
             [[desktop]]\nname = \"eng-0000\"\n[[desktop]]\nname = \"eng-0001\"\n\
             [[desktop]]\nname = \"eng-0002\"\n"
        ),
    );
}

/// Runs `args` with the IAM token, fails if the run takes over a minute or shows any
/// 12-character piece of the token, and hands the run back.
#[track_caller]
pub fn run(world: &World, args: &[&str]) -> Run {
    let (run, _) = world
        .command(args)
        .env_remove("HUAWEICLOUD_SDK_AK")
        .env_remove("HUAWEICLOUD_SDK_SK")
        .env("HW_AUTH_TOKEN", TOKEN)
        .run_within(Duration::from_secs(60));
    let chars: Vec<char> = TOKEN.chars().collect();
    for piece in chars.windows(12) {
        let piece: String = piece.iter().collect();
        for (what, text) in [("stdout", run.stdout()), ("stderr", run.stderr())] {
            assert!(
                !text.contains(&piece),
                "{what} of {args:?} shows the token:\n{text}"
            );
        }
    }
    run
}

/// `apply` of the three deletions.
#[track_caller]
pub fn apply(world: &World) -> Run {
    run(
        world,
        &["apply", "--auto-approve", "--allow-deletions", "3"],
    )
}

/// The desktops `apply` deletes.
pub fn doomed() -> Vec<String> {
    (3..6).map(id).collect()
}
