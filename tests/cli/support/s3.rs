//! A real S3 server for the team-state tests: `moto_server` started on a free loopback port
//! with one bucket, killed when dropped, and read or written directly by the tests (to check
//! what deskprune left in the bucket, or to fill it fast). [`StoreProxy`] stands in front of it
//! to count, strip conditions and inject faults.
//!
//! ```ignore
//! let Some(moto) = Moto::start() else { return }; // skipped, with a notice, without moto
//! let proxy = StoreProxy::in_front_of(&moto.endpoint);
//! world.config(&moto.state_table(&proxy.endpoint, "prod/deskprune.state.json", 5));
//! ```

mod proxy;

pub use proxy::{Fault, Rule, StoreProxy, StoreRequest, When};

use std::io::Read;
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The bucket every fixture creates.
pub const BUCKET: &str = "deskprune-state";
/// The store credentials the tests give deskprune: moto accepts any, deskprune must never
/// print the secret.
pub const STORE_AK: &str = "AKIDSTORE0TEST000000";
pub const STORE_SK: &str = "store-secret-never-printed-9876543210abcdef";
/// How long moto may take to answer its first request (it imports a lot of Python).
const START_CAP: Duration = Duration::from_secs(60);

/// A running `moto_server` with [`BUCKET`] created; it derefs to the [`Bucket`] on it.
pub struct Moto {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    bucket: Bucket,
    child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for Moto {
    type Target = Bucket;

    fn deref(&self) -> &Bucket {
        &self.bucket
    }
}

/// [`BUCKET`] at an endpoint (moto, or a proxy in front of it), read and written directly.
pub struct Bucket {
    endpoint: String,
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
}

/// Where `moto_server` is: `DESKPRUNE_MOTO_SERVER`, else the venv `.ci/run` makes, else `PATH`.
fn find_server() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("DESKPRUNE_MOTO_SERVER") {
        return Some(PathBuf::from(path));
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/moto-venv/bin/moto_server");
    if venv.exists() {
        return Some(venv);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("moto_server"))
        .find(|candidate| candidate.is_file())
}

fn has_python() -> bool {
    Command::new("python3")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Without moto: `None` and a visible notice, or a failure under `CI=true` when Python is
/// there (then moto is only missing, and CI must not pass by skipping).
fn missing_moto() -> Option<Moto> {
    if !has_python() {
        eprintln!("skipped: the team-state test needs moto_server (no python3)");
        return None;
    }
    let how = "install it with `python3 -m venv target/moto-venv && \
               target/moto-venv/bin/pip install \"moto[server]==5.2.5\"` (as `.ci/run` does), \
               or set `DESKPRUNE_MOTO_SERVER` to a `moto_server`";
    if std::env::var("CI").is_ok_and(|value| value == "true") {
        panic!("moto_server not found and CI=true: {how}");
    }
    eprintln!("skipped: the team-state test needs moto_server, not found; {how}");
    None
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

impl Moto {
    /// Starts moto and creates [`BUCKET`]; `None` (after a notice) when moto is not installed.
    pub fn start() -> Option<Moto> {
        let Some(server) = find_server() else {
            return missing_moto();
        };
        // A port `free_port` freed may be taken again before moto binds it: try a few.
        let mut log = String::new();
        for _ in 0..3 {
            match Moto::start_at(&server, free_port()) {
                Ok(moto) => return Some(moto),
                Err(tail) => log = tail,
            }
        }
        panic!("`{}` did not start:\n{log}", server.display());
    }

    fn start_at(server: &Path, port: u16) -> Result<Moto, String> {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("moto.log");
        let mut command = Command::new(server);
        command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        // SAFETY: prctl only asks the kernel to kill the child when the thread that started
        // it ends (a test that panics, a killed `cargo test`), so no moto outlives its test.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = command
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start `{}`: {error}", server.display()));
        let endpoint = format!("http://127.0.0.1:{port}");
        let mut moto = Moto {
            bucket: Bucket::at(&endpoint),
            endpoint,
            child,
            log,
            _dir: dir,
        };
        if !moto.wait_until_up(port) {
            return Err(moto.log_tail());
        }
        // Bucket creation needs no signature.
        let (status, body) = moto.send(reqwest::Method::PUT, &format!("/{BUCKET}"), &[], None);
        assert_eq!(
            status,
            200,
            "creating the bucket: {}",
            String::from_utf8_lossy(&body)
        );
        Ok(moto)
    }

    /// Waits (bounded) until moto answers HTTP on `port`; false when it ended first.
    fn wait_until_up(&mut self, port: u16) -> bool {
        let deadline = Instant::now() + START_CAP;
        while Instant::now() < deadline {
            if self.child.try_wait().unwrap().is_some() {
                return false;
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                let (status, _) = self.send(reqwest::Method::GET, "/", &[], None);
                if status != 0 {
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "moto_server did not answer within {START_CAP:?}:\n{}",
            self.log_tail()
        );
    }

    fn log_tail(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = std::fs::File::open(&self.log) {
            let _ = file.read_to_string(&mut text);
        }
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// The `[state]` table for a store at `endpoint` (moto, or a proxy in front of it).
    pub fn state_table(endpoint: &str, key: &str, lease_seconds: u64) -> String {
        format!(
            "[state]\nbackend = \"s3\"\nbucket = \"{BUCKET}\"\nkey = \"{key}\"\n\
             endpoint = \"{endpoint}\"\nregion = \"cn-north-4\"\nlease_seconds = {lease_seconds}\n\n"
        )
    }
}

impl Bucket {
    pub fn at(endpoint: &str) -> Bucket {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        // reqwest is built without a default TLS provider; an Err only means one is installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        Bucket {
            endpoint: endpoint.to_string(),
            runtime,
            http,
        }
    }

    /// One request to moto: `(status, body)`, status 0 when it could not be sent. Object
    /// requests carry an `Authorization` header moto reads the access key from (it checks
    /// no signature), as an anonymous request is refused object reads.
    fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> (u16, Vec<u8>) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.endpoint));
        // A signed bucket creation would need a location constraint; an anonymous one none.
        if path != format!("/{BUCKET}") {
            request = request.header(
                "authorization",
                format!(
                    "AWS4-HMAC-SHA256 Credential={STORE_AK}/20260101/cn-north-4/s3/aws4_request, \
                     SignedHeaders=host, Signature=00"
                ),
            );
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/octet-stream")
                .body(body);
        }
        self.runtime.block_on(async {
            match request.send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    (status, response.bytes().await.unwrap_or_default().to_vec())
                }
                Err(_) => (0, Vec::new()),
            }
        })
    }

    /// The object at `key`, or `None` when there is none.
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        let (status, body) = self.send(reqwest::Method::GET, &object_path(key), &[], None);
        match status {
            200 => Some(body),
            404 => None,
            _ => panic!(
                "GET `{key}` from moto: {status} {}",
                String::from_utf8_lossy(&body)
            ),
        }
    }

    /// The status a GET of `key` is answered (0: no answer).
    pub fn status_of_get(&self, key: &str) -> u16 {
        self.send(reqwest::Method::GET, &object_path(key), &[], None)
            .0
    }

    /// The object at `key` as JSON, or `None` when there is none.
    pub fn get_json(&self, key: &str) -> Option<serde_json::Value> {
        self.get(key).map(|bytes| {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|error| panic!("`{key}` in the bucket is not JSON: {error}"))
        })
    }

    /// Writes `body` at `key`, unconditionally.
    pub fn put(&self, key: &str, body: impl Into<Vec<u8>>) {
        let (status, answer) = self.send(
            reqwest::Method::PUT,
            &object_path(key),
            &[],
            Some(body.into()),
        );
        assert_eq!(
            status,
            200,
            "PUT `{key}` to moto: {}",
            String::from_utf8_lossy(&answer)
        );
    }

    /// Writes `body` at `key` with conditional headers; the status moto answered.
    pub fn put_if(&self, key: &str, headers: &[(&str, &str)], body: impl Into<Vec<u8>>) -> u16 {
        self.send(
            reqwest::Method::PUT,
            &object_path(key),
            headers,
            Some(body.into()),
        )
        .0
    }

    pub fn delete(&self, key: &str) {
        let (status, _) = self.send(reqwest::Method::DELETE, &object_path(key), &[], None);
        assert!(status == 204 || status == 200, "DELETE `{key}`: {status}");
    }

    /// `(key, size)` of every object whose key starts with `prefix`, sorted by key.
    pub fn list(&self, prefix: &str) -> Vec<(String, u64)> {
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut path = format!("/{BUCKET}?list-type=2&prefix={}", percent_encode(prefix));
            if let Some(token) = &token {
                path.push_str(&format!("&continuation-token={}", percent_encode(token)));
            }
            let (status, body) = self.send(reqwest::Method::GET, &path, &[], None);
            assert_eq!(status, 200, "listing `{prefix}`");
            let text = String::from_utf8(body).unwrap();
            for contents in text.split("<Contents>").skip(1) {
                let key = xml_field(contents, "Key").expect("a listed object has a key");
                let size = xml_field(contents, "Size").map_or(0, |size| size.parse().unwrap());
                found.push((unescape_xml(&key), size));
            }
            token = (xml_field(&text, "IsTruncated").as_deref() == Some("true"))
                .then(|| xml_field(&text, "NextContinuationToken"))
                .flatten();
            if token.is_none() {
                break;
            }
        }
        found.sort();
        found
    }

    /// Every key in the bucket.
    pub fn keys(&self) -> Vec<String> {
        self.list("").into_iter().map(|(key, _)| key).collect()
    }

    /// Every key in the bucket with its body.
    pub fn contents(&self) -> Vec<(String, Option<Vec<u8>>)> {
        self.keys()
            .into_iter()
            .map(|key| {
                let body = self.get(&key);
                (key, body)
            })
            .collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn object_path(key: &str) -> String {
    let encoded: Vec<String> = key.split('/').map(percent_encode).collect();
    format!("/{BUCKET}/{}", encoded.join("/"))
}

fn percent_encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC)
        .to_string()
        .replace("%2D", "-")
        .replace("%2E", ".")
        .replace("%5F", "_")
        .replace("%7E", "~")
}

fn xml_field(text: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = text.find(&open)? + open.len();
    let end = text[start..].find(&format!("</{name}>"))? + start;
    Some(text[start..end].to_string())
}

fn unescape_xml(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}
