//! The state in an S3-compatible bucket (OBS, MinIO, S3), through `object_store` (its signing,
//! retries and conditional puts). Every write is a compare-and-swap on the ETag last seen; a
//! write refused because another writer got in between re-reads, merges and tries again, so no
//! write drops a record it did not make. The object at `key` (the head) holds only in-flight
//! work; a run's finished records move to one immutable object under `<key>.runs/` when it ends
//! (`runs`), so what is written after each chunk does not grow with history.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use object_store::aws::{AmazonS3, AmazonS3Builder, S3ConditionalPut};
use object_store::path::Path as ObjectPath;
use object_store::{
    BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload,
    RetryConfig, UpdateVersion,
};

use super::State;
use super::runs::{Archived, head_of};
use crate::config::S3State;
use crate::text::printable;
use crate::workspace::credentials::{AK_VARS, SECURITY_TOKEN_VARS, SK_VARS};

/// How many times a write refused by another writer's write is merged and tried again.
const CAS_ATTEMPTS: usize = 5;

/// The most one object of the store is read: the head holds in-flight work only, and a run
/// record one run's jobs.
pub(super) const OBJECT_LIMIT: u64 = 64 << 20;

/// Where the state lives in the bucket, and what this run last saw of it.
pub struct Remote {
    pub(super) store: AmazonS3,
    pub(super) settings: S3State,
    pub(super) head: ObjectPath,
    pub(super) lock: ObjectPath,
    probe: ObjectPath,
    pub(super) runs: ObjectPath,
    /// This run's ID: names its run record and its lock.
    pub run_id: String,
    /// The head's ETag this run last read or wrote; `None` while there is no head.
    etag: Mutex<Option<String>>,
    /// What run records hold already: never written into the head again.
    pub(super) archived: Mutex<Archived>,
    /// Set when this run's lock lease was lost: no state write is made after it.
    pub(super) lease_lost: Mutex<Option<String>>,
    /// While this run holds the lock: when its lease ends unless renewed. No state write is
    /// made after it, even before the renewal that failed has given up.
    pub(super) lease_until: Mutex<Option<jiff::Timestamp>>,
    /// Store calls made, for the figures and the tests.
    pub calls: std::sync::atomic::AtomicUsize,
}

impl Remote {
    /// A client for the store `settings` names, with the credentials of the environment. No
    /// request is made yet.
    pub fn connect(settings: &S3State) -> anyhow::Result<Arc<Remote>> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let (access_key, secret_key, token) = credentials()?;
        let retry = RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(2),
                base: 2.0,
            },
            max_retries: 3,
            retry_timeout: Duration::from_secs(20),
        };
        let options = ClientOptions::new()
            .with_timeout(Duration::from_secs(10))
            .with_connect_timeout(Duration::from_secs(5))
            .with_allow_http(settings.endpoint.starts_with("http://"));
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region)
            .with_endpoint(&settings.endpoint)
            .with_access_key_id(access_key)
            .with_secret_access_key(secret_key)
            // OBS accepts only unsigned or streaming payloads with V4 signatures.
            .with_unsigned_payload(true)
            .with_conditional_put(S3ConditionalPut::ETagMatch)
            // The lock is removed with a plain `DELETE` of its key: no bulk `POST /?delete`,
            // which not every S3-compatible store implements alike, nor a permission more.
            .with_disable_bulk_delete(true)
            .with_retry(retry)
            .with_client_options(options);
        if let Some(token) = token {
            builder = builder.with_token(token);
        }
        let store = builder.build().map_err(|err| {
            anyhow!(
                "cannot use the state store at `{}`: {err}",
                settings.endpoint
            )
        })?;
        let key = &settings.key;
        let path = |suffix: &str| {
            ObjectPath::parse(format!("{key}{suffix}"))
                .with_context(|| format!("invalid `[state] key` `{}`", printable(key)))
        };
        Ok(Arc::new(Remote {
            store,
            settings: settings.clone(),
            head: path("")?,
            lock: path(".lock")?,
            probe: path(".probe")?,
            runs: path(".runs")?,
            run_id: super::history::run_id(),
            etag: Mutex::new(None),
            archived: Mutex::new(Archived::default()),
            lease_lost: Mutex::new(None),
            lease_until: Mutex::new(None),
            calls: std::sync::atomic::AtomicUsize::new(0),
        }))
    }

    /// `s3://bucket/key at endpoint`, for messages.
    pub fn describe(&self) -> String {
        format!(
            "s3://{}/{} at {}",
            self.settings.bucket, self.settings.key, self.settings.endpoint
        )
    }

    pub(super) fn count(&self) {
        self.calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    pub(super) fn fault(&self, what: &str, err: &object_store::Error) -> anyhow::Error {
        anyhow!(
            "the state store `{}` could not {what}: {}",
            self.describe(),
            printable(&err.to_string())
        )
    }

    /// Proves the store honours conditional writes before it is trusted with the lock: the
    /// probe object is created only if absent twice (the second must be refused), then
    /// replaced on an ETag it never had (which must be refused). A store that accepts either
    /// would let two runs both take the lock.
    pub async fn probe(&self) -> anyhow::Result<()> {
        let body = || PutPayload::from(format!("{{\"probe\":\"{}\"}}\n", self.run_id));
        let create = || PutOptions::from(PutMode::Create);
        for attempt in 0..2 {
            self.count();
            match self.store.put_opts(&self.probe, body(), create()).await {
                // The first may find the probe of an earlier run: refused is what is wanted.
                Ok(_) if attempt == 0 => {}
                Err(object_store::Error::AlreadyExists { .. }) => {}
                Ok(_) => return Err(self.ignores("If-None-Match: *")),
                Err(err) => return Err(self.fault("be probed for conditional writes", &err)),
            }
        }
        let wrong = UpdateVersion {
            e_tag: Some(format!("\"deskprune-probe-{}\"", self.run_id)),
            version: None,
        };
        self.count();
        match self
            .store
            .put_opts(
                &self.probe,
                body(),
                PutOptions::from(PutMode::Update(wrong)),
            )
            .await
        {
            Err(object_store::Error::Precondition { .. }) => Ok(()),
            Ok(_) => Err(self.ignores("If-Match")),
            Err(err) => Err(self.fault("be probed for conditional writes", &err)),
        }
    }

    fn ignores(&self, header: &str) -> anyhow::Error {
        anyhow!(
            "the state store at `{}` (bucket `{}`) ignores conditional writes: it accepted a write with `{header}` that it had to refuse, so it cannot hold a lock; nothing was sent. Use a store that honours `If-None-Match` and `If-Match` on PutObject, or the local state file (`--state FILE`)",
            self.settings.endpoint,
            self.settings.bucket
        )
    }

    /// The object at `location` parsed by `parse`, with its ETag; `None` when there is none.
    /// One larger than `limit` is refused before its body is read: an object of the bucket,
    /// mistaken or hostile, cannot fill this run's memory.
    pub(super) async fn get_bounded<T>(
        &self,
        location: &ObjectPath,
        what: &str,
        limit: u64,
        parse: impl FnOnce(&[u8]) -> anyhow::Result<T>,
    ) -> anyhow::Result<Option<(T, String)>> {
        self.count();
        let got = match self.store.get(location).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(err) => return Err(self.fault(&format!("read {what}"), &err)),
        };
        let etag = got.meta.e_tag.clone().unwrap_or_default();
        if got.meta.size > limit {
            bail!(
                "{what} `{}` of `{}` is {} bytes, more than deskprune reads ({limit})",
                printable(location.as_ref()),
                self.describe(),
                got.meta.size
            );
        }
        let bytes = got
            .bytes()
            .await
            .map_err(|err| self.fault(&format!("read {what}"), &err))?;
        Ok(Some((parse(&bytes)?, etag)))
    }

    /// The head as stored, with its ETag; `None` when there is none.
    pub(super) async fn read_head(&self) -> anyhow::Result<Option<(State, String)>> {
        self.get_bounded(&self.head, "the state object", OBJECT_LIMIT, |bytes| {
            parse("state object", &self.describe(), bytes)
        })
        .await
    }

    /// The whole state: the head merged with every run record (read 16 at a time), for `jobs`
    /// and `history`.
    pub async fn load(&self, project_id: &str) -> anyhow::Result<State> {
        self.load_since(project_id, None).await
    }

    /// The head merged with the run records of runs started at `since` (a UTC run ID prefix
    /// such as `20261203T000000Z`) or later; all of them without it.
    pub async fn load_since(&self, project_id: &str, since: Option<&str>) -> anyhow::Result<State> {
        let mut state = self.head_of_project(project_id).await?;
        self.read_runs(&mut state, since).await?;
        Ok(state)
    }

    /// The head merged with the run records of the `last` runs, for `jobs`.
    pub async fn load_recent(&self, project_id: &str, last: usize) -> anyhow::Result<State> {
        let mut state = self.head_of_project(project_id).await?;
        self.read_some_runs(&mut state, None, last).await?;
        Ok(state)
    }

    /// The head only: open intents, unfinished jobs and the records of runs not archived yet,
    /// which is all that keeps desktops out of plans, so `plan` and `apply` read one object
    /// however long the history. Remembers the head's ETag, which the next write must match.
    pub async fn load_head(&self, project_id: &str) -> anyhow::Result<State> {
        let mut state = self.head_of_project(project_id).await?;
        // Resolving an open intent (left by a run that died mid-call) matches it to a job not
        // recorded yet: that needs every recorded job ID, ended runs' included. Rare (after a
        // crash), so the history is read only then.
        if !state.intents.is_empty() {
            self.read_runs(&mut state, None).await?;
        }
        Ok(state)
    }

    /// The head, checked to be `project_id`'s (a new state when there is none yet).
    async fn head_of_project(&self, project_id: &str) -> anyhow::Result<State> {
        let head = self.read_head().await?;
        let state = match head {
            Some((state, etag)) => {
                *self.etag.lock().expect("not poisoned") = Some(etag);
                state
            }
            None => State::new(project_id),
        };
        if state.project_id != project_id {
            bail!(
                "the state object `{}` belongs to project `{}`, but the config names project `{project_id}`",
                self.describe(),
                printable(&state.project_id)
            );
        }
        Ok(state)
    }

    /// Saves `state`'s head (its in-flight records) as a compare-and-swap on the ETag last seen;
    /// when another writer saved since, what it wrote is merged in and the write tried again.
    pub async fn save(&self, state: &mut State) -> anyhow::Result<()> {
        if let Some(why) = self.lease_lost.lock().expect("not poisoned").clone() {
            bail!("{why}");
        }
        if let Some(until) = *self.lease_until.lock().expect("not poisoned")
            && jiff::Timestamp::now() >= until
        {
            bail!(
                "the state lock's lease at `{}` ended at {} without being renewed; no further write was made",
                self.describe(),
                until.strftime("%H:%M:%S UTC")
            );
        }
        for _ in 0..CAS_ATTEMPTS {
            let seen = self.etag.lock().expect("not poisoned").clone();
            let mut head = head_of(state, &self.archived.lock().expect("not poisoned"));
            head.serial = head.serial.saturating_add(1);
            let mut json = serde_json::to_vec_pretty(&head).expect("the state always serialises");
            json.extend_from_slice(b"\n");
            let mode = match &seen {
                None => PutMode::Create,
                Some(etag) => PutMode::Update(UpdateVersion {
                    e_tag: Some(etag.clone()),
                    version: None,
                }),
            };
            self.count();
            match self
                .store
                .put_opts(&self.head, PutPayload::from(json), PutOptions::from(mode))
                .await
            {
                Ok(put) => {
                    *self.etag.lock().expect("not poisoned") = put.e_tag;
                    state.serial = head.serial;
                    return Ok(());
                }
                Err(
                    object_store::Error::Precondition { .. }
                    | object_store::Error::AlreadyExists { .. },
                ) => self.merge_theirs(state).await?,
                Err(err) => return Err(self.fault("record the state", &err)),
            }
        }
        bail!(
            "the state object `{}` kept changing under this run ({CAS_ATTEMPTS} writes refused); it was not overwritten",
            self.describe()
        )
    }

    /// Another writer saved the head since this run last saw it: its records join ours.
    async fn merge_theirs(&self, state: &mut State) -> anyhow::Result<()> {
        let Some((theirs, etag)) = self.read_head().await? else {
            // Removed meanwhile: the next write creates it again.
            *self.etag.lock().expect("not poisoned") = None;
            return Ok(());
        };
        if theirs.project_id != state.project_id {
            bail!(
                "the state object `{}` now belongs to project `{}`, not `{}`: it was not overwritten",
                self.describe(),
                printable(&theirs.project_id),
                printable(&state.project_id)
            );
        }
        if state.serial == 0 && state.jobs.is_empty() && state.intents.is_empty() {
            state.lineage.clone_from(&theirs.lineage);
        }
        if theirs.lineage != state.lineage {
            bail!(
                "the state object `{}` was replaced by one of another history (lineage `{}`, this run's is `{}`); it was not overwritten, so neither loses a job",
                self.describe(),
                printable(&theirs.lineage),
                printable(&state.lineage)
            );
        }
        tracing::warn!(
            state = %self.describe(),
            "another run wrote the state object since this run last did; its records are kept"
        );
        super::merge::merge(state, theirs);
        *self.etag.lock().expect("not poisoned") = Some(etag);
        Ok(())
    }
}

/// The state store's credentials: the AWS variables when set, else the Huawei Cloud access key
/// pair deskprune signs API calls with (OBS accepts it for S3-style signing).
fn credentials() -> anyhow::Result<(String, String, Option<String>)> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if let (Some(ak), Some(sk)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
        return Ok((ak, sk, var("AWS_SESSION_TOKEN")));
    }
    let first = |names: &[&str]| names.iter().find_map(|name| var(name));
    match (first(&AK_VARS), first(&SK_VARS)) {
        (Some(ak), Some(sk)) => Ok((ak, sk, first(&SECURITY_TOKEN_VARS))),
        _ => bail!(
            "no credentials for the state store: set `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`, or `HUAWEICLOUD_SDK_AK` and `HUAWEICLOUD_SDK_SK`"
        ),
    }
}

/// An object of the store (the head, a run record: `noun`) as stored at `what`, of this
/// format version only.
pub(super) fn parse<T: serde::de::DeserializeOwned>(
    noun: &str,
    what: &str,
    bytes: &[u8],
) -> anyhow::Result<T> {
    crate::format_version::check(
        crate::format_version::Versioned::StateFile,
        std::path::Path::new(what),
        bytes,
        super::FORMAT_VERSION,
    )?;
    serde_json::from_slice(bytes)
        .with_context(|| format!("the {noun} `{}` is malformed", printable(what)))
}

#[cfg(test)]
pub(super) mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// A client of a store on loopback that answers every request with `response` (then
    /// holds the connection open: a client waiting for more waits there).
    pub(in crate::state) async fn answering(response: &'static [u8]) -> Arc<Remote> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let settings = S3State {
            bucket: "deskprune-state".into(),
            key: "prod/deskprune.state.json".into(),
            endpoint: format!("http://{}", listener.local_addr().unwrap()),
            region: "cn-north-4".into(),
            lease: Duration::from_secs(60),
        };
        // SAFETY: no other test of this binary reads these variables.
        unsafe {
            std::env::set_var("AWS_ACCESS_KEY_ID", "AKIDTEST");
            std::env::set_var("AWS_SECRET_ACCESS_KEY", "not-a-real-secret");
        }
        tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let mut buffer = [0u8; 4096];
                    let _ = socket.read(&mut buffer).await;
                    let _ = socket.write_all(response).await;
                    tokio::time::sleep(Duration::from_secs(30)).await;
                });
            }
        });
        Remote::connect(&settings).unwrap()
    }

    /// A bucket object claiming 1 GiB (the head, the lock) is refused from its headers: its
    /// body is never read, so a hostile or mistaken object cannot fill memory.
    #[tokio::test]
    async fn an_object_larger_than_the_limit_is_refused_unread() {
        let remote = answering(b"HTTP/1.1 200 OK\r\nETag: \"e1\"\r\nLast-Modified: Thu, 03 Dec 2026 15:00:00 GMT\r\nContent-Length: 1073741824\r\n\r\n{").await;
        let five = Duration::from_secs(5);
        let err = tokio::time::timeout(five, remote.read_lock())
            .await
            .expect("refused without reading the body")
            .unwrap_err()
            .to_string();
        assert!(err.contains("more than deskprune reads"), "{err}");
        let err = tokio::time::timeout(five, remote.load_head("p"))
            .await
            .expect("refused without reading the body")
            .unwrap_err()
            .to_string();
        assert!(err.contains("more than deskprune reads"), "{err}");
    }

    /// OBS accepts V4 signatures only over an unsigned (or streaming) payload: every request
    /// says `x-amz-content-sha256: UNSIGNED-PAYLOAD`. A listener on loopback reads what the
    /// client sends (a state write) and answers it.
    #[tokio::test]
    async fn requests_are_signed_over_an_unsigned_payload() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let settings = S3State {
            bucket: "deskprune-state".into(),
            key: "prod/deskprune.state.json".into(),
            endpoint,
            region: "cn-north-4".into(),
            lease: Duration::from_secs(60),
        };
        // SAFETY: no other test of this binary reads these variables.
        unsafe {
            std::env::set_var("AWS_ACCESS_KEY_ID", "AKIDTEST");
            std::env::set_var("AWS_SECRET_ACCESS_KEY", "not-a-real-secret");
        }
        let remote = Remote::connect(&settings).unwrap();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            let mut buffer = [0u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                let read = socket.read(&mut buffer).await.unwrap();
                request.extend_from_slice(&buffer[..read]);
            }
            socket
                .write_all(b"HTTP/1.1 200 OK\r\nETag: \"e1\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .await
                .unwrap();
            String::from_utf8_lossy(&request).to_lowercase()
        });
        remote.save(&mut State::new("p")).await.unwrap();
        let request = server.await.unwrap();
        assert!(
            request.starts_with("put /deskprune-state/prod/deskprune.state.json"),
            "{request}"
        );
        assert!(
            request.contains("x-amz-content-sha256: unsigned-payload"),
            "{request}"
        );
        assert!(request.contains("if-none-match: *"), "{request}");
        assert!(!request.contains("not-a-real-secret"), "{request}");
    }
}
