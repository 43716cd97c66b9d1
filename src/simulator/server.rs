//! The simulator as a value: shared state behind a lock, served over HTTP/1.1 on a listener
//! the caller has already bound (so tests can bind `127.0.0.1:0`), until a shutdown signal.
//! Each request goes through the fault rules first; list answers are gzipped for clients
//! that accept it.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, Request, State as Shared};
use axum::http::header;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use tokio::net::TcpListener;

use super::auth::authenticate;
use super::batch_delete::batch_delete;
use super::connection::{Peer, Switchboard, Switched};
use super::fault::{Endpoint, FaultAction, Faults, Injection};
use super::filter::ListKind;
use super::gateway::{Gateway, RateLimit, THROTTLED};
use super::job_queries::{list_sub_jobs, show_job};
use super::list::list_desktops;
use super::options::SimulatorOptions;
use super::query::Query;
use super::reply::{Failure, Rendered, Reply, render, response};
use super::route::{Route, is_stats};
use super::seed::SeedDesktop;
use super::snapshot::Snapshot;
use super::state::State;
use super::stats::Stats;
use super::{gzip, injected};

/// Far more than a batch-delete of 100 IDs needs.
const MAX_BODY_BYTES: usize = 1 << 20;

#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
}

struct Inner {
    options: SimulatorOptions,
    gateway: Mutex<Gateway>,
    started: tokio::time::Instant,
    state: Mutex<State>,
    faults: Faults,
    switchboard: Arc<Switchboard>,
}

impl Simulator {
    pub fn new(options: SimulatorOptions, inventory: Vec<SeedDesktop>) -> Simulator {
        Simulator::with_state(options, State::new(inventory, Vec::new()))
    }

    pub fn from_snapshot(options: SimulatorOptions, snapshot: Snapshot) -> Simulator {
        Simulator::with_state(options, State::new(snapshot.desktops, snapshot.jobs))
    }

    fn with_state(options: SimulatorOptions, state: State) -> Simulator {
        Simulator {
            inner: Arc::new(Inner {
                faults: Faults::new(options.faults.clone()),
                gateway: Mutex::new(Gateway::new(&options.rate_limits, options.rate_limit_for)),
                started: tokio::time::Instant::now(),
                options,
                state: Mutex::new(state),
                switchboard: Arc::default(),
            }),
        }
    }

    /// Serves HTTP/1.1 on `listener` until `shutdown` resolves, then lets requests in flight
    /// finish.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let listener = Switched::new(listener, self.inner.switchboard.clone())?;
        let app = Router::new()
            .fallback(handle)
            .with_state(self)
            .into_make_service_with_connect_info::<Peer>();
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
    }

    pub fn stats(&self) -> Stats {
        self.lock().stats.clone()
    }

    /// Calls to the five operations so far: cheap enough to poll, unlike a copy of `stats`.
    pub fn calls(&self) -> u64 {
        self.lock().stats.calls()
    }

    /// Calls to the operations `endpoint` names so far, as cheap to poll as [`calls`].
    ///
    /// [`calls`]: Simulator::calls
    pub fn calls_to(&self, endpoint: Endpoint) -> u64 {
        self.lock().stats.calls_to(endpoint)
    }

    /// Batch-deletes carried out so far (each created a job), as cheap to poll as [`calls`].
    ///
    /// [`calls`]: Simulator::calls
    pub fn accepted(&self) -> usize {
        self.lock().stats.batch_delete_ids.len()
    }

    /// The inventory and jobs as of now (finished jobs applied first), to persist.
    pub fn snapshot(&self) -> Snapshot {
        let mut state = self.lock();
        state.settle(self.inner.options.now());
        state.snapshot()
    }

    /// Replaces the gateway's rate limits (none: lifted), from now on, with full buckets.
    pub fn set_rate_limits(&self, limits: &[RateLimit]) {
        *self
            .inner
            .gateway
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Gateway::new(limits, None);
    }

    /// Empties the gateway's buckets: from now on calls pass at the limits' rate alone.
    pub fn drain_rate_limits(&self) {
        self.inner
            .gateway
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(tokio::time::Instant::now());
    }

    /// Whether the gateway lets `route`'s call through now (counting it in the timeline);
    /// if not, the message of its `APIGW.0308` answer.
    fn admit(&self, route: &Route) -> Result<(), String> {
        let now = tokio::time::Instant::now();
        let admitted = self
            .inner
            .gateway
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .admit(route, now);
        let second = now.saturating_duration_since(self.inner.started).as_secs();
        let mut state = self.lock();
        state.stats.arrived(
            usize::try_from(second).unwrap_or(usize::MAX),
            admitted.is_err(),
        );
        if admitted.is_err() {
            state.stats.count(route);
            state.stats.throttled += 1;
            state.stats.rejected += 1;
        }
        admitted
    }

    /// The gateway's `429` `APIGW.0308`, `latency` after the call arrived.
    async fn throttle(&self, message: String, request_id: &str) -> Response {
        let answer_at = tokio::time::Instant::now() + self.inner.options.latency;
        let failure = Failure::Gateway {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: THROTTLED,
            message,
        };
        let rendered = render(Err(failure), request_id);
        {
            let mut state = self.lock();
            state.stats.body_bytes += rendered.body.len() as u64;
            state.stats.sent_bytes += rendered.body.len() as u64;
        }
        let mut answer = response(
            rendered.status,
            rendered.content_type,
            Body::from(rendered.body),
            request_id,
        );
        if let Some(seconds) = self.inner.options.throttle_retry_after {
            answer
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        wait_until(answer_at).await;
        answer
    }

    /// A panic while holding the lock cannot leave the state half-changed in a way later
    /// requests would trip on, so a poisoned lock is still used.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// A call a fault stops before it is carried out: counted, then refused or cut.
    fn refuse_unheard(
        &self,
        route: Option<&Route>,
        injection: &Injection,
        peer: &Peer,
        request_id: &str,
    ) -> Response {
        {
            let mut state = self.lock();
            if let Some(route) = route {
                state.stats.count(route);
            }
            state.stats.faults_injected += injection.hits;
        }
        match &injection.answer {
            Some(FaultAction::Status {
                status,
                retry_after,
                plain_text,
            }) => {
                let (answer, sent) =
                    injected::refusal(*status, *retry_after, *plain_text, request_id);
                let mut state = self.lock();
                state.stats.rejected += 1;
                state.stats.body_bytes += sent as u64;
                state.stats.sent_bytes += sent as u64;
                answer
            }
            _ => {
                peer.line.cut();
                Response::new(Body::empty())
            }
        }
    }

    fn change_inventory(&self, changes: &[FaultAction]) {
        if changes.is_empty() {
            return;
        }
        let mut state = self.lock();
        for change in changes {
            match change {
                FaultAction::Insert(count) => state.desktops.insert_copies(*count),
                FaultAction::Remove(count) => state.desktops.remove_first(*count),
                _ => {}
            }
        }
    }

    fn count_bytes(&self, hits: u64, plain: usize, sent: usize, gzipped: bool) {
        let mut state = self.lock();
        let stats = &mut state.stats;
        stats.faults_injected += hits;
        stats.body_bytes += plain as u64;
        stats.sent_bytes += sent as u64;
        stats.gzip_answers += u64::from(gzipped);
    }

    fn answer(&self, route: Option<Route>, parts: &Parts, body: &[u8]) -> Result<Reply, Failure> {
        let options = &self.inner.options;
        let authenticated = authenticate(options, parts, body, options.now());
        let mut state = self.lock();
        // Read under the lock, so requests see time advance in the order they change state.
        let now = options.now();
        if let Some(route) = &route {
            state.stats.count(route);
        }
        let outcome = authenticated.and_then(|()| {
            let route = route.ok_or_else(Failure::no_such_api)?;
            require_json(parts)?;
            state.settle(now);
            let query = Query::parse(parts.uri.query().unwrap_or_default());
            let project_id = options.project_id.as_str();
            match route {
                Route::ListDesktops => list_desktops(&state, &query, ListKind::Simple),
                Route::ListDesktopsDetail => list_desktops(&state, &query, ListKind::Detail),
                Route::BatchDelete => batch_delete(&mut state, body, now, options.job_duration),
                Route::ShowJob(job_id) => show_job(&state, &job_id, now, project_id),
                Route::ListSubJobs => list_sub_jobs(&state, &query, now, project_id),
            }
        });
        if outcome.is_err() {
            state.stats.rejected += 1;
        }
        outcome
    }
}

async fn handle(
    Shared(simulator): Shared<Simulator>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    request: Request,
) -> Response {
    let request_id = uuid::Uuid::new_v4().simple().to_string();
    let accepts_gzip = gzip::accepted(request.headers());
    let (parts, body) = request.into_parts();
    if is_stats(&parts.method, parts.uri.path()) {
        let stats = render(
            Ok(Reply::json(StatusCode::OK, &simulator.stats())),
            &request_id,
        );
        return response(
            stats.status,
            stats.content_type,
            Body::from(stats.body),
            &request_id,
        );
    }
    let body = read_body(body).await;
    let options = &simulator.inner.options;
    let route = Route::resolve(&parts.method, parts.uri.path(), &options.project_id);
    // The gateway throttles before anything else sees the call.
    if let Some(route) = &route
        && let Err(message) = simulator.admit(route)
    {
        return simulator.throttle(message, &request_id).await;
    }
    let injection = route
        .as_ref()
        .map(|route| simulator.inner.faults.inject(route))
        .unwrap_or_default();
    let call = Arrived {
        parts,
        body,
        route,
        injection,
        peer,
        request_id,
        accepts_gzip,
    };
    // The request has arrived whole: like the real service, carry it out even if the client
    // stops waiting (hyper drops this handler when the client hangs up; a task runs on).
    match tokio::spawn(simulator.serve_call(call)).await {
        Ok(answer) => answer,
        Err(_) => Response::builder()
            .status(StatusCode::INTERNAL_SERVER_ERROR)
            .body(Body::empty())
            .expect("a plain answer"),
    }
}

/// A request read whole, with what the faults do to it.
struct Arrived {
    parts: Parts,
    body: Result<Vec<u8>, Failure>,
    route: Option<Route>,
    injection: Injection,
    peer: Peer,
    request_id: String,
    accepts_gzip: bool,
}

impl Simulator {
    /// Carries the call out (unless a fault stops it) and answers, bent as the faults say,
    /// `latency` after the call arrived. The answer is built within that time, so a client
    /// waits the latency alone, however long the simulator takes to build it (up to it).
    async fn serve_call(self, call: Arrived) -> Response {
        let options = &self.inner.options;
        let Arrived {
            parts,
            body,
            route,
            injection,
            peer,
            request_id,
            accepts_gzip,
        } = call;
        let answer_at = tokio::time::Instant::now() + options.latency + injection.delay;
        if !injection.carries_out() {
            wait_until(answer_at).await;
            return self.refuse_unheard(route.as_ref(), &injection, &peer, &request_id);
        }
        let outcome = match body {
            Ok(body) => self.answer(route.clone(), &parts, &body),
            Err(failure) => {
                self.lock().stats.rejected += 1;
                Err(failure)
            }
        };
        self.change_inventory(&injection.changes);
        let rendered = render(outcome, &request_id);
        let plain = rendered.body.len();
        let (mut answer, sent, gzipped) = match &injection.answer {
            None | Some(FaultAction::Refuse(_)) => {
                let compress = options.gzip
                    && accepts_gzip
                    && rendered.status.is_success()
                    && matches!(route, Some(Route::ListDesktops | Route::ListDesktopsDetail));
                let (answer, sent) = encoded(rendered, compress, &request_id);
                (answer, sent, compress)
            }
            Some(FaultAction::Drop(_)) => (Response::new(Body::empty()), 0, false),
            Some(action) => {
                let (answer, sent) = match action {
                    FaultAction::Truncate => injected::truncated(rendered, &request_id),
                    FaultAction::Malformed => injected::malformed(&request_id),
                    FaultAction::RepeatJobId => {
                        let rendered = injected::repeated_job_id(rendered, self.lock().jobs());
                        encoded(rendered, false, &request_id)
                    }
                    FaultAction::Oversize { mib } => {
                        injected::oversized(rendered, *mib, &request_id)
                    }
                    other => unreachable!("{other:?} does not shape an answer that is carried out"),
                };
                (answer, sent, false)
            }
        };
        self.count_bytes(injection.hits, plain, sent, gzipped);
        wait_until(answer_at).await;
        match &injection.answer {
            Some(FaultAction::Refuse(length)) => {
                answer
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
                self.inner.switchboard.outage(*length, &peer.line);
            }
            Some(FaultAction::Drop(_)) => peer.line.cut(),
            _ => {}
        }
        answer
    }
}

/// Waits until `at`, to a few hundredths of a millisecond. tokio's timer fires on its next
/// millisecond tick after a deadline, which would make every answer up to a millisecond late
/// (4 % of a 25 ms latency); the last stretch is slept on a blocking thread instead.
async fn wait_until(at: tokio::time::Instant) {
    if let Some(coarse) = at.checked_sub(std::time::Duration::from_millis(1)) {
        tokio::time::sleep_until(coarse).await;
    }
    let rest = at.saturating_duration_since(tokio::time::Instant::now());
    if !rest.is_zero() {
        let _ = tokio::task::spawn_blocking(move || std::thread::sleep(rest)).await;
    }
}

/// The answer as it goes out, gzipped when `compress`, and the size of its body on the wire.
fn encoded(rendered: Rendered, compress: bool, request_id: &str) -> (Response, usize) {
    let body = if compress {
        gzip::compress(&rendered.body)
    } else {
        rendered.body
    };
    let sent = body.len();
    let mut answer = response(
        rendered.status,
        rendered.content_type,
        Body::from(body),
        request_id,
    );
    if compress {
        let headers = answer.headers_mut();
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    (answer, sent)
}

async fn read_body(body: Body) -> Result<Vec<u8>, Failure> {
    to_bytes(body, MAX_BODY_BYTES)
        .await
        .map(Vec::from)
        .map_err(|_| Failure::invalid("The request body could not be read."))
}

/// The service refuses requests without a JSON `Content-Type`, GETs included (a missing one
/// broke real deletes, see the reference), so the simulator does too.
fn require_json(parts: &Parts) -> Result<(), Failure> {
    let json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| {
            value
                .as_bytes()
                .to_ascii_lowercase()
                .starts_with(b"application/json")
        });
    if json {
        Ok(())
    } else {
        Err(Failure::invalid(
            "The request header Content-Type must be application/json.",
        ))
    }
}
