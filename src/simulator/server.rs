//! The simulator as a value: shared state behind a lock, served over HTTP/1.1 on a listener
//! the caller has already bound (so tests can bind `127.0.0.1:0`), until a shutdown signal.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State as Shared};
use axum::http::StatusCode;
use axum::http::header;
use axum::http::request::Parts;
use axum::response::Response;
use tokio::net::TcpListener;

use super::auth::authenticate;
use super::batch_delete::batch_delete;
use super::filter::ListKind;
use super::job_queries::{list_sub_jobs, show_job};
use super::list::list_desktops;
use super::options::SimulatorOptions;
use super::query::Query;
use super::reply::{Failure, Reply, render};
use super::route::{Route, is_stats};
use super::seed::SeedDesktop;
use super::snapshot::Snapshot;
use super::state::State;
use super::stats::Stats;

/// Far more than a batch-delete of 100 IDs needs.
const MAX_BODY_BYTES: usize = 1 << 20;

#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
}

struct Inner {
    options: SimulatorOptions,
    state: Mutex<State>,
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
                options,
                state: Mutex::new(state),
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
        let app = Router::new().fallback(handle).with_state(self);
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
    }

    pub fn stats(&self) -> Stats {
        self.lock().stats.clone()
    }

    /// The inventory and jobs as of now (finished jobs applied first), to persist.
    pub fn snapshot(&self) -> Snapshot {
        let mut state = self.lock();
        state.settle(self.inner.options.now());
        state.snapshot()
    }

    /// A panic while holding the lock cannot leave the state half-changed in a way later
    /// requests would trip on, so a poisoned lock is still used.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
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

async fn handle(Shared(simulator): Shared<Simulator>, request: Request) -> Response {
    let request_id = uuid::Uuid::new_v4().simple().to_string();
    let (parts, body) = request.into_parts();
    let options = &simulator.inner.options;
    if is_stats(&parts.method, parts.uri.path()) {
        return render(
            Ok(Reply::json(StatusCode::OK, &simulator.stats())),
            &request_id,
        );
    }
    let route = Route::resolve(&parts.method, parts.uri.path(), &options.project_id);
    if !options.latency.is_zero() {
        tokio::time::sleep(options.latency).await;
    }
    let outcome = match read_body(body).await {
        Ok(body) => simulator.answer(route, &parts, &body),
        Err(failure) => {
            simulator.lock().stats.rejected += 1;
            Err(failure)
        }
    };
    render(outcome, &request_id)
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
