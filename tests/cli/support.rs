//! The test world: a simulator serving on loopback in this process, a temporary folder for
//! the config and state, and a builder for running the binary in it.

pub mod s3;
pub mod serve;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use deskprune::simulator::{SeedDesktop, Simulator, SimulatorOptions, Stats};
use serde_json::{Value, json};

pub const PROJECT: &str = "0b6a4c2d9e8f41a7b3c5d6e7f8091a2b";
pub const AK: &str = "TESTAK0EXAMPLE000000";
pub const SK: &str = "test-secret-key-never-printed-0123456789";

pub struct World {
    pub dir: tempfile::TempDir,
    pub simulator: Simulator,
    pub endpoint: String,
    runtime: tokio::runtime::Runtime,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

/// A desktop as the inventory file and the list call carry it.
pub fn desktop(index: usize, name: &str, team: &str) -> Value {
    json!({
        "desktop_id": format!("00000000-0000-4000-8000-{index:012}"),
        "computer_name": name,
        "created": "2025-01-01 00:00:00",
        "user_name": format!("user{index}"),
        "enterprise_project_id": "0",
        "tags": [{"key": "team", "value": team}],
        "status": "ACTIVE",
        "task_status": "",
        "login_status": "REGISTERED",
    })
}

pub fn id(index: usize) -> String {
    format!("00000000-0000-4000-8000-{index:012}")
}

/// `count` desktops `eng-0000`…, numbered from 0, all of team `eng`.
pub fn team(count: usize) -> Vec<Value> {
    (0..count)
        .map(|i| desktop(i, &format!("eng-{i:04}"), "eng"))
        .collect()
}

impl World {
    pub fn new(inventory: Vec<Value>) -> World {
        World::with_options(inventory, SimulatorOptions::default())
    }

    pub fn with_options(inventory: Vec<Value>, options: SimulatorOptions) -> World {
        let seed: Vec<SeedDesktop> =
            serde_json::from_value(Value::Array(inventory)).expect("test inventory is valid");
        // Jobs end quickly unless the test asked for a length of its own.
        let job_duration = if options.job_duration == SimulatorOptions::default().job_duration {
            std::time::Duration::from_millis(300)
        } else {
            options.job_duration
        };
        let options = SimulatorOptions {
            project_id: PROJECT.into(),
            access_key: Some(AK.into()),
            secret_key: Some(SK.into()),
            job_duration,
            ..options
        };
        let simulator = Simulator::new(options, seed);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        runtime.spawn(simulator.clone().serve(listener, async {
            let _ = stop.await;
        }));
        World {
            dir: tempfile::tempdir().unwrap(),
            simulator,
            endpoint,
            runtime,
            shutdown: Some(shutdown),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `deskprune.toml`: `[cloud]` pointing at the simulator, then `rest`.
    pub fn config(&self, rest: &str) -> &World {
        let text = format!(
            "[cloud]\nregion = \"cn-north-4\"\nproject_id = \"{PROJECT}\"\nendpoint = \"{}\"\n\n{rest}",
            self.endpoint
        );
        std::fs::write(self.path("deskprune.toml"), text).unwrap();
        self
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.command(args).run()
    }

    pub fn command(&self, args: &[&str]) -> Cmd {
        let mut command = Command::new(env!("CARGO_BIN_EXE_deskprune"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HUAWEICLOUD_SDK_AK", AK)
            .env("HUAWEICLOUD_SDK_SK", SK)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        Cmd { command }
    }

    pub fn stats(&self) -> Stats {
        self.simulator.stats()
    }

    pub fn state(&self) -> Value {
        let text = std::fs::read_to_string(self.path("deskprune.state.json"))
            .expect("a state file was written");
        serde_json::from_str(&text).unwrap()
    }

    /// IDs of the desktops the simulator still lists.
    pub fn remaining(&self) -> Vec<String> {
        let snapshot = serde_json::to_value(self.simulator.snapshot()).unwrap();
        let mut ids = Vec::new();
        collect_ids(&snapshot, &mut ids);
        ids.sort();
        ids
    }
}

fn collect_ids(value: &Value, out: &mut Vec<String>) {
    if let Some(desktops) = value.get("desktops").and_then(Value::as_array) {
        for desktop in desktops {
            if let Some(id) = desktop.get("desktop_id").and_then(Value::as_str) {
                out.push(id.to_string());
            }
        }
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let _ = &self.runtime;
    }
}

pub struct Cmd {
    command: Command,
}

impl Cmd {
    pub fn env_remove(mut self, key: &str) -> Cmd {
        self.command.env_remove(key);
        self
    }

    pub fn run(mut self) -> Run {
        let output = self.command.output().expect("the binary runs");
        Run { output }
    }
}

pub struct Run {
    pub output: Output,
}

impl Run {
    pub fn code(&self) -> i32 {
        self.output.status.code().expect("exited normally")
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// Exit code, stdout and stderr, for snapshots, with the varying parts redacted.
    pub fn transcript(&self, world: &World) -> String {
        let text = format!(
            "exit: {}\n--- stdout\n{}--- stderr\n{}",
            self.code(),
            self.stdout(),
            self.stderr()
        );
        redact(&text, world)
    }

    #[track_caller]
    pub fn success(&self) -> &Run {
        assert_eq!(
            self.code(),
            0,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }
}

pub fn redact(text: &str, world: &World) -> String {
    let mut text = text.replace(&world.endpoint, "http://[simulator]");
    let dir = world.dir.path().display().to_string();
    text = text.replace(&dir, "[dir]");
    redact_request_ids(&redact_job_ids(&text))
}

/// Request IDs (32 hex digits after `request id `) differ on every call.
fn redact_request_ids(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("request id ") {
        let (head, tail) = rest.split_at(at + "request id ".len());
        out.push_str(head);
        let id_len = tail.chars().take_while(char::is_ascii_hexdigit).count();
        if id_len > 0 {
            out.push_str("[request]");
        }
        rest = &tail[id_len..];
    }
    out.push_str(rest);
    out
}

/// Replaces job IDs (random v4 UUIDs that are not our fixed desktop IDs) with `[job]`.
fn redact_job_ids(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let candidate = text.get(i..i + 36).unwrap_or_default();
        if is_uuid(candidate) && !candidate.starts_with("00000000-0000-4000-8000-") {
            out.push_str("[job]");
            i += 36;
        } else {
            let ch = text[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

fn is_uuid(candidate: &str) -> bool {
    candidate.len() == 36
        && candidate.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Every file below `dir`, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

// Helpers for the fault tests (crash, secrets, bad answers).

impl Cmd {
    pub fn env(mut self, key: &str, value: &str) -> Cmd {
        self.command.env(key, value);
        self
    }

    /// Runs in `dir` instead of the world's folder (several working folders, one simulator).
    pub fn current_dir(mut self, dir: &Path) -> Cmd {
        self.command.current_dir(dir);
        self
    }

    /// Starts the binary with its output thrown away (a full pipe nobody reads would stall it),
    /// for tests that only wait for it or kill it.
    pub fn spawn_silent(mut self) -> std::process::Child {
        self.command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts")
    }

    /// Starts the binary with its output piped, for tests that signal it and then read what
    /// it said (see `process::Running`).
    pub fn spawn_piped(mut self) -> std::process::Child {
        self.command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts")
    }
}

impl World {
    /// `(job ID, desktop IDs)` of every job the simulator created, oldest first.
    pub fn simulator_jobs(&self) -> Vec<(String, Vec<String>)> {
        let snapshot = serde_json::to_value(self.simulator.snapshot()).unwrap();
        snapshot["jobs"]
            .as_array()
            .map(|jobs| {
                jobs.iter()
                    .map(|job| {
                        let ids = job["sub_jobs"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|sub| sub["desktop_id"].as_str().unwrap().to_string())
                            .collect();
                        (job["id"].as_str().unwrap().to_string(), ids)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `(desktop ID, task_status)` of every desktop the simulator still lists.
    pub fn listed(&self) -> Vec<(String, String)> {
        let snapshot = serde_json::to_value(self.simulator.snapshot()).unwrap();
        snapshot["desktops"]
            .as_array()
            .unwrap()
            .iter()
            .map(|desktop| {
                (
                    desktop["desktop_id"].as_str().unwrap().to_string(),
                    desktop["task_status"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                )
            })
            .collect()
    }
}

// Helpers for the hostile-server tests.

impl World {
    /// Writes `deskprune.toml` as [`World::config`] does, but with `[cloud] endpoint` at
    /// `endpoint` (a proxy in front of the simulator, say).
    pub fn config_at(&self, endpoint: &str, rest: &str) -> &World {
        let text = format!(
            "[cloud]\nregion = \"cn-north-4\"\nproject_id = \"{PROJECT}\"\nendpoint = \"{endpoint}\"\n\n{rest}"
        );
        std::fs::write(self.path("deskprune.toml"), text).unwrap();
        self
    }
}

impl Cmd {
    /// Runs the binary, killing it if it has not ended within `limit`: a test of boundedness
    /// must fail, not hang. Returns the run and how long it took.
    #[track_caller]
    pub fn run_within(mut self, limit: std::time::Duration) -> (Run, std::time::Duration) {
        use std::io::Read;
        let started = std::time::Instant::now();
        let mut child = self
            .command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let drain = |mut from: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                let _ = from.read_to_end(&mut bytes);
                bytes
            })
        };
        let stdout = drain(Box::new(child.stdout.take().unwrap()));
        let stderr = drain(Box::new(child.stderr.take().unwrap()));
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > limit {
                child.kill().unwrap();
                child.wait().unwrap();
                let stderr = String::from_utf8_lossy(&stderr.join().unwrap()).into_owned();
                panic!("the run did not end within {limit:?}; stderr:\n{stderr}");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let output = Output {
            status,
            stdout: stdout.join().unwrap(),
            stderr: stderr.join().unwrap(),
        };
        (Run { output }, started.elapsed())
    }
}

/// Runs `check` on every case at once, each on a thread of its own: for tests whose cases each
/// have a world of their own (simulator, folder) and spend most of their time waiting on the
/// binary. A failing case fails the test with its own message.
pub fn side_by_side<T: Send>(cases: impl IntoIterator<Item = T>, check: impl Fn(T) + Sync) {
    std::thread::scope(|scope| {
        let check = &check;
        let threads: Vec<_> = cases
            .into_iter()
            .map(|case| scope.spawn(move || check(case)))
            .collect();
        for thread in threads {
            if let Err(panic) = thread.join() {
                std::panic::resume_unwind(panic);
            }
        }
    });
}
