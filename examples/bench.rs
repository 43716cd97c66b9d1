//! The "fast at scale" benchmark: the real `deskprune` release binary against the simulator
//! (in this process, on `127.0.0.1:0`, with a fixed latency per answer), timing `plan` and
//! `apply --no-wait` on N desktops of which D are to be deleted, with the calls, bytes and
//! peak memory of each; optionally the official-SDK baseline script on the same inventory;
//! then `--help` and `validate` of a 10,000-desktop config.
//!
//! ```sh
//! cargo build --release --bin deskprune --examples
//! cargo run --release --example bench -- --desktops 100000 --delete 10000 --latency-ms 25 \
//!     [--gzip on|off] [--concurrency 8] [--sdk] [--rate-limit 20/s]
//! ```
//!
//! The headline runs the default config (no `[client]` table: the adaptive rate, no
//! ceiling); the tuned config (`max_concurrency`, `requests_per_second = 1000`) runs beside
//! it on a fresh simulator. With `--rate-limit`, the simulator throttles as the API gateway
//! does, and each run is set against the ideal (calls ÷ limit) with its share of 429s.
//!
//! Peak memory is the child's `VmHWM` read from `/proc/<pid>/status` every 2 ms while it runs
//! (the kernel keeps the high-water mark, so only growth in the last 2 ms could be missed).
//! The simulator's CPU time is that of this process's tokio threads (`/proc/self/task/*/stat`)
//! over each phase.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use deskprune::simulator::{
    RateLimit, SeedDesktop, Simulator, SimulatorOptions, Stats, read_inventory,
};
use serde_json::json;

const PROJECT: &str = "0b6a4c2d9e8f41a7b3c5d6e7f8091a2b";
const AK: &str = "BENCHAK0EXAMPLE00000";
const SK: &str = "bench-secret-key-0123456789";
const POLL: Duration = Duration::from_millis(2);
/// Clock ticks per second of `/proc/*/stat` (`getconf CLK_TCK`; 100 on Linux).
const TICKS: f64 = 100.0;

#[derive(Debug, Parser)]
#[command(about = "Time deskprune (and the official-SDK baseline) against the simulator")]
struct Args {
    /// Desktops in the inventory, all of team `eng`.
    #[arg(long, default_value_t = 100_000)]
    desktops: usize,
    /// How many of them are not declared, so deleted [default: 10 %].
    #[arg(long)]
    delete: Option<usize>,
    /// Latency the simulator adds to every answer.
    #[arg(long, default_value_t = 25)]
    latency_ms: u64,
    /// Whether the simulator gzips list answers for clients that accept it.
    #[arg(long, value_enum, default_value_t = Switch::On)]
    gzip: Switch,
    /// `[client] max_concurrency` of the tuned config (the default config's is 8).
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// The headline's config: the default (no `[client]` table) or the tuned one.
    #[arg(long, value_enum, default_value_t = Client::Default)]
    client: Client,
    /// The API gateway's limit the simulator enforces for deskprune's runs (`20/s`,
    /// `600/min`; not for the SDK baseline, which fails on its first 429).
    #[arg(long, value_name = "LIMIT")]
    rate_limit: Option<RateLimit>,
    /// Start each deskprune run with the gateway's buckets empty (its limit just used up), so
    /// that calls ÷ limit is the least time it can take.
    #[arg(long, requires = "rate_limit")]
    drained: bool,
    /// Also run the official-SDK baseline (`../shared/bench/sdk_baseline.py`) with the python
    /// of `DESKPRUNE_SDK_PYTHON` [default: target/sdk-venv/bin/python].
    #[arg(long)]
    sdk: bool,
    /// How the config declares the desktops to keep: one `[[desktop]]` table each, or the
    /// compact `[desktops] names = [...]` list.
    #[arg(long, value_enum, default_value_t = Declare::Tables)]
    declare: Declare,
    /// Where the undeclared desktops (the deletions) sit in the inventory: spread evenly
    /// through it, or all at its end (the in-use reads for them can then start only when the
    /// last pages arrive).
    #[arg(long, value_enum, default_value_t = Undeclared::Spread)]
    undeclared: Undeclared,
    /// Desktops declared in the config that `validate` is timed on.
    #[arg(long, default_value_t = 10_000)]
    validate_desktops: usize,
    /// Runs of `--help` and `validate`; the median is reported.
    #[arg(long, default_value_t = 11)]
    runs: usize,
    /// The deskprune binary [default: `release/deskprune` beside this example's binary].
    #[arg(long)]
    deskprune: Option<PathBuf>,
    /// Keep the inventory, configs and outputs in this folder (created) instead of a temporary
    /// one, to look at them or profile a run by hand.
    #[arg(long)]
    dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Declare {
    Tables,
    Lists,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Client {
    Default,
    Tuned,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Undeclared {
    Spread,
    Last,
}

/// The inventory positions the config declares: all but `deletions` of `desktops`.
fn declared(desktops: usize, deletions: usize, undeclared: Undeclared) -> Vec<usize> {
    (0..desktops)
        .filter(|&i| match undeclared {
            Undeclared::Last => i < desktops - deletions,
            // The positions where `i * deletions / desktops` steps up: exactly `deletions`.
            Undeclared::Spread => (i + 1) * deletions / desktops == i * deletions / desktops,
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Switch {
    On,
    Off,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let deletions = args.delete.unwrap_or(args.desktops / 10);
    anyhow::ensure!(
        deletions <= args.desktops,
        "--delete is larger than --desktops"
    );
    let binary = deskprune_binary(args.deskprune.as_deref())?;
    let dir = Folder::new(args.dir.as_deref())?;
    let inventory_path = dir.path().join("inventory.json");
    write_inventory(&inventory_path, args.desktops)?;
    let inventory = read_inventory(&inventory_path)?;
    let keep = declared(args.desktops, deletions, args.undeclared);
    anyhow::ensure!(keep.len() == args.desktops - deletions);
    write_config(&dir.path().join("deskprune.toml"), &keep, deletions, &args)?;
    println!(
        "# {} desktops, {} to delete ({:?}), latency {} ms, gzip {:?}, concurrency {}, declared as {:?}",
        args.desktops,
        deletions,
        args.undeclared,
        args.latency_ms,
        args.gzip,
        args.concurrency,
        args.declare
    );
    println!("deskprune: {}", binary.display());

    let runtime = tokio::runtime::Runtime::new()?;
    let (plan, apply) =
        plan_and_apply(&runtime, &args, &inventory, &binary, dir.path(), deletions)?;
    // The other config beside the headline's, on a fresh simulator and in a folder of its
    // own (the first apply left its desktops deleting).
    let other = match args.client {
        Client::Default => Client::Tuned,
        Client::Tuned => Client::Default,
    };
    let other_dir = Folder::new(args.dir.as_deref().map(|dir| dir.join("other")).as_deref())?;
    write_config_for(
        &other_dir.path().join("deskprune.toml"),
        &keep,
        deletions,
        &args,
        other,
    )?;
    let (other_plan, other_apply) = plan_and_apply(
        &runtime,
        &args,
        &inventory,
        &binary,
        other_dir.path(),
        deletions,
    )?;

    let sdk = if args.sdk {
        Some(run_sdk(&runtime, &args, inventory, &keep, dir.path())?)
    } else {
        None
    };
    let help = median_ms(args.runs, || {
        run(&binary, dir.path(), &["--help"], "help", None).map(|child| child.wall)
    })?;
    let validate_dir = Folder::new(
        args.dir
            .as_deref()
            .map(|dir| dir.join("validate"))
            .as_deref(),
    )?;
    let all: Vec<usize> = (0..args.validate_desktops).collect();
    write_config(&validate_dir.path().join("deskprune.toml"), &all, 0, &args)?;
    write_endpoint(
        &validate_dir.path().join("deskprune.toml"),
        "http://127.0.0.1:9",
    )?;
    let validate = median_ms(args.runs, || {
        let result = run(
            &binary,
            validate_dir.path(),
            &["validate"],
            "validate",
            None,
        )?;
        anyhow::ensure!(result.code == Some(0), "validate failed");
        Ok(result.wall)
    })?;

    print!(
        "{}",
        report(
            &args,
            deletions,
            &plan,
            &apply,
            sdk.as_ref(),
            help,
            validate
        )
    );
    print!(
        "{}",
        side_by_side(
            &args,
            &[
                (args.client, "plan", &plan),
                (args.client, "apply --no-wait", &apply),
                (other, "plan", &other_plan),
                (other, "apply --no-wait", &other_apply),
            ]
        )
    );
    Ok(())
}

/// `plan`, then `apply --no-wait`, of the config in `dir`, against a fresh simulator.
fn plan_and_apply(
    runtime: &tokio::runtime::Runtime,
    args: &Args,
    inventory: &[SeedDesktop],
    binary: &Path,
    dir: &Path,
    deletions: usize,
) -> anyhow::Result<(Phase, Phase)> {
    let server = Server::start(runtime, args, inventory.to_vec(), args.rate_limit)?;
    write_endpoint(&dir.join("deskprune.toml"), &server.endpoint)?;
    let plan = server.phase(|| run(binary, dir, &["plan"], "plan", Some(&server.simulator)))?;
    let planned = std::fs::read_to_string(dir.join("plan.stdout"))?;
    anyhow::ensure!(
        plan.child.code == Some(0) && planned.contains(&format!("Plan: {deletions} to delete")),
        "plan did not plan {deletions} deletions (exit {:?}):\n{}",
        plan.child.code,
        std::fs::read_to_string(dir.join("plan.stderr"))?
    );
    let allow = deletions.to_string();
    let apply_args = [
        "apply",
        "--auto-approve",
        "--allow-deletions",
        allow.as_str(),
        "--no-wait",
    ];
    let apply = server.phase(|| run(binary, dir, &apply_args, "apply", Some(&server.simulator)))?;
    let sent: usize = apply.stats.batch_delete_ids.iter().map(Vec::len).sum();
    anyhow::ensure!(
        apply.child.code == Some(0) && sent == deletions,
        "apply sent {sent} of {deletions} (exit {:?}):\n{}",
        apply.child.code,
        std::fs::read_to_string(dir.join("apply.stderr"))?
    );
    server.stop();
    Ok((plan, apply))
}

/// Each run's wall time against its floor, and, under a gateway limit, against the ideal
/// (the calls the gateway accepted ÷ its limit) with the share of throttled answers.
fn side_by_side(args: &Args, runs: &[(Client, &str, &Phase)]) -> String {
    let (c, l) = (args.concurrency, args.latency_ms);
    let mut out = String::new();
    let limit = args.rate_limit.map_or_else(
        || "no gateway limit".to_string(),
        |limit| format!("gateway limit {}", limit_text(&limit)),
    );
    let _ = writeln!(
        out,
        "\n### Default and tuned config side by side ({limit})\n"
    );
    let _ = writeln!(
        out,
        "| config | command | wall | calls (accepted + throttled) | throttled share | wall / floor | ideal (calls ÷ limit) | wall / ideal |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
    for (client, command, phase) in runs {
        let total = phase.calls();
        let throttled = phase.stats.throttled;
        let accepted = total - throttled;
        let (ideal, versus) = match args.rate_limit {
            Some(limit) => {
                let per_second = f64::from(limit.calls) / limit.per.as_secs_f64();
                let ideal = Duration::from_secs_f64(accepted as f64 / per_second);
                (
                    ms(ideal),
                    format!(
                        "{:.2}×",
                        phase.child.wall.as_secs_f64() / ideal.as_secs_f64()
                    ),
                )
            }
            None => ("—".to_string(), "—".to_string()),
        };
        let _ = writeln!(
            out,
            "| {} | `{command}` | {} | {accepted} + {throttled} | {:.1} % | {} | {ideal} | {versus} |",
            match client {
                Client::Default => "default (no `[client]`)",
                Client::Tuned => "tuned",
            },
            ms(phase.child.wall),
            100.0 * throttled as f64 / total.max(1) as f64,
            ratio(phase.child.wall, floor_ms(total, c, l)),
        );
    }
    out
}

fn limit_text(limit: &RateLimit) -> String {
    let per = if limit.per.as_secs() == 60 {
        "min"
    } else {
        "s"
    };
    format!("{}/{per}", limit.calls)
}

/// Where the files go: a temporary folder, or one the user keeps.
enum Folder {
    Temporary(tempfile::TempDir),
    Kept(PathBuf),
}

impl Folder {
    fn new(kept: Option<&Path>) -> anyhow::Result<Folder> {
        Ok(match kept {
            Some(path) => {
                std::fs::create_dir_all(path)?;
                // A state file from an earlier run would change the plan.
                for name in ["deskprune.state.json", "deskprune.state.json.backup"] {
                    let _ = std::fs::remove_file(path.join(name));
                }
                Folder::Kept(path.to_path_buf())
            }
            None => Folder::Temporary(tempfile::tempdir()?),
        })
    }

    fn path(&self) -> &Path {
        match self {
            Folder::Temporary(dir) => dir.path(),
            Folder::Kept(path) => path,
        }
    }
}

/// The release binary beside this example's: `target/release/examples/bench` →
/// `target/release/deskprune`.
fn deskprune_binary(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    let path = match given {
        Some(path) => path.to_path_buf(),
        None => {
            let me = std::env::current_exe()?;
            let release = me
                .parent()
                .and_then(Path::parent)
                .ok_or_else(|| anyhow::anyhow!("cannot find the target folder"))?;
            release.join("deskprune")
        }
    };
    anyhow::ensure!(
        path.is_file(),
        "`{}` does not exist: run `cargo build --release` first (or pass --deskprune PATH)",
        path.display()
    );
    Ok(path)
}

fn desktop_id(index: usize) -> String {
    format!("{:08x}-7b4d-4e21-9c0a-{index:012x}", 0x3f2c_1a9e_u32)
}

/// Desktops shaped like the reference's sample page (about 1 KB of JSON each).
fn write_inventory(path: &Path, count: usize) -> anyhow::Result<()> {
    let desktops: Vec<serde_json::Value> = (0..count)
        .map(|i| {
            let id = desktop_id(i);
            let name = format!("eng-{i:06}");
            let user = format!("user{i:06}");
            json!({
                "desktop_id": id,
                "computer_name": name,
                "os_host_name": name,
                "created": "2024-03-11 02:14:57",
                "ip_address": format!("10.{}.{}.{}", i >> 16 & 255, i >> 8 & 255, i & 255),
                "user_name": user,
                "attach_user_infos": [{
                    "user_id": format!("8a2b3c4d5e6f47a8b9c0{i:012x}"),
                    "user_name": user,
                    "user_group": "users",
                    "type": "USER"
                }],
                "user_group": "users",
                "sid": format!("S-1-5-21-1004336348-1177238915-682003330-{}", 1000 + i),
                "ou_name": "",
                "enterprise_project_id": "0",
                "tags": [{"key": "team", "value": "eng"}, {"key": "env", "value": "prod"}],
                "in_maintenance_mode": false,
                "share_resource_sku": "",
                "desktop_type": "DEDICATED",
                "desktop_detail_type": "DEDICATED",
                "subnet_id": "5c1f0e2d-3b4a-4c5d-8e6f-7a8b9c0d1e2f",
                "bill_resource_id": id,
                "status": "ACTIVE",
                "task_status": "",
                "availability_zone": "cn-north-4a",
                "connect_status": "REGISTERED",
                "pool_id": "",
                "domain_status": 1,
                "domain_id": "a1b2c3d4e5f60718293a4b5c6d7e8f90",
                "project_id": PROJECT,
                "login_status": "REGISTERED"
            })
        })
        .collect();
    std::fs::write(path, serde_json::to_vec(&desktops)?)?;
    Ok(())
}

/// Declares the desktops at `keep` by name; the budget allows exactly `deletions`; the
/// headline's `[client]`.
fn write_config(path: &Path, keep: &[usize], deletions: usize, args: &Args) -> anyhow::Result<()> {
    write_config_for(path, keep, deletions, args, args.client)
}

/// As [`write_config`], with `client`'s `[client]` table (none for the default).
fn write_config_for(
    path: &Path,
    keep: &[usize],
    deletions: usize,
    args: &Args,
    client: Client,
) -> anyhow::Result<()> {
    let mut text = format!(
        "[scope]\ntags = {{ team = \"eng\" }}\n\n\
         [guard]\nmax_deletions = {}\nmax_delete_percent = 100\n\n",
        deletions.max(1),
    );
    if client == Client::Tuned {
        writeln!(
            text,
            "[client]\nmax_concurrency = {}\nrequests_per_second = 1000\ntimeout = 60\n",
            args.concurrency
        )?;
    }
    match args.declare {
        Declare::Tables => {
            for i in keep {
                writeln!(text, "[[desktop]]\nname = \"eng-{i:06}\"")?;
            }
        }
        Declare::Lists => {
            text.push_str("[desktops]\nnames = [\n");
            for i in keep {
                writeln!(text, "  \"eng-{i:06}\",")?;
            }
            text.push_str("]\n");
        }
    }
    std::fs::write(path, text)?;
    Ok(())
}

/// Puts `[cloud]` (pointing at `endpoint`) in front of the config.
fn write_endpoint(path: &Path, endpoint: &str) -> anyhow::Result<()> {
    let rest = std::fs::read_to_string(path)?;
    let cloud = format!(
        "[cloud]\nregion = \"cn-north-4\"\nproject_id = \"{PROJECT}\"\nendpoint = \"{endpoint}\"\n\n"
    );
    std::fs::write(path, cloud + &rest)?;
    Ok(())
}

/// A simulator serving in `runtime` until stopped.
struct Server {
    simulator: Simulator,
    drained: bool,
    endpoint: String,
    stop: tokio::sync::oneshot::Sender<()>,
}

impl Server {
    fn start(
        runtime: &tokio::runtime::Runtime,
        args: &Args,
        inventory: Vec<SeedDesktop>,
        rate_limit: Option<RateLimit>,
    ) -> anyhow::Result<Server> {
        let options = SimulatorOptions {
            project_id: PROJECT.to_string(),
            access_key: Some(AK.to_string()),
            secret_key: Some(SK.to_string()),
            job_duration: Duration::from_secs(600),
            latency: Duration::from_millis(args.latency_ms),
            gzip: args.gzip == Switch::On,
            rate_limits: rate_limit.into_iter().collect(),
            ..SimulatorOptions::default()
        };
        let simulator = Simulator::new(options, inventory);
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        runtime.spawn(simulator.clone().serve(listener, async {
            let _ = stopped.await;
        }));
        Ok(Server {
            simulator,
            drained: args.drained && rate_limit.is_some(),
            endpoint,
            stop,
        })
    }

    /// Runs `work`, with the simulator's counters and this process's CPU time over it.
    fn phase(&self, work: impl FnOnce() -> anyhow::Result<Child>) -> anyhow::Result<Phase> {
        if self.drained {
            self.simulator.drain_rate_limits();
        }
        let before = self.simulator.stats();
        let cpu = own_cpu_seconds();
        let child = work()?;
        Ok(Phase {
            child,
            stats: difference(&before, &self.simulator.stats()),
            simulator_cpu: own_cpu_seconds() - cpu,
        })
    }

    fn stop(self) {
        let _ = self.stop.send(());
    }
}

/// What `after` counted that `before` had not.
fn difference(before: &Stats, after: &Stats) -> Stats {
    Stats {
        list_desktops: after.list_desktops - before.list_desktops,
        list_desktops_detail: after.list_desktops_detail - before.list_desktops_detail,
        batch_delete: after.batch_delete - before.batch_delete,
        show_job: after.show_job - before.show_job,
        list_sub_jobs: after.list_sub_jobs - before.list_sub_jobs,
        rejected: after.rejected - before.rejected,
        batch_delete_ids: after.batch_delete_ids[before.batch_delete_ids.len()..].to_vec(),
        faults_injected: after.faults_injected - before.faults_injected,
        body_bytes: after.body_bytes - before.body_bytes,
        sent_bytes: after.sent_bytes - before.sent_bytes,
        gzip_answers: after.gzip_answers - before.gzip_answers,
        throttled: after.throttled - before.throttled,
        timeline: Vec::new(),
    }
}

struct Phase {
    child: Child,
    stats: Stats,
    simulator_cpu: f64,
}

impl Phase {
    fn calls(&self) -> u64 {
        self.stats.calls()
    }

    /// The floor in the order the calls must go: the first list page alone (it gives the
    /// total), then the other pages and the detail calls (which may overlap), then the
    /// batch-deletes (apply sends nothing before its plan is whole).
    fn dependency_floor_ms(&self, concurrency: usize, latency_ms: u64) -> u64 {
        let s = &self.stats;
        let rounds = |calls: u64| calls.div_ceil(concurrency.max(1) as u64);
        let reads = s.list_desktops.saturating_sub(1) + s.list_desktops_detail;
        (s.list_desktops.min(1) + rounds(reads) + rounds(s.batch_delete)) * latency_ms
    }

    /// From the first call's arrival to the last one's, as the simulator counted them.
    fn api_time(&self) -> Option<Duration> {
        Some(self.child.last_call? - self.child.first_call?)
    }
}

/// One finished process: exit code, wall time, peak memory and CPU time.
struct Child {
    code: Option<i32>,
    wall: Duration,
    peak_kib: u64,
    cpu: f64,
    /// When the first and the last call reached the simulator (its counters move as it
    /// carries a call out, on arrival; the answer leaves the latency later), from the start;
    /// 2 ms resolution.
    first_call: Option<Duration>,
    last_call: Option<Duration>,
}

/// Runs `binary args` in `dir` with the benchmark's credentials, stdout and stderr to
/// `NAME.stdout` / `NAME.stderr` there.
fn run(
    binary: &Path,
    dir: &Path,
    args: &[&str],
    name: &str,
    watch: Option<&Simulator>,
) -> anyhow::Result<Child> {
    let mut command = Command::new(binary);
    command
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("HUAWEICLOUD_SDK_AK", AK)
        .env("HUAWEICLOUD_SDK_SK", SK)
        .env("NO_COLOR", "1");
    measure(&mut command, dir, name, watch)
}

/// Runs `command` to its end, polling its peak memory and CPU time, and (with `watch`) when
/// the simulator answers its first and last call.
fn measure(
    command: &mut Command,
    dir: &Path,
    name: &str,
    watch: Option<&Simulator>,
) -> anyhow::Result<Child> {
    let stdout = std::fs::File::create(dir.join(format!("{name}.stdout")))?;
    let stderr = std::fs::File::create(dir.join(format!("{name}.stderr")))?;
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()?;
    let pid = child.id();
    let (mut peak_kib, mut cpu) = (0, 0.0);
    let calls_before = watch.map(Simulator::calls).unwrap_or_default();
    let (mut calls_seen, mut first_call, mut last_call) = (calls_before, None, None);
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if let Some(calls) = watch.map(Simulator::calls)
            && calls != calls_seen
        {
            calls_seen = calls;
            first_call.get_or_insert(started.elapsed());
            last_call = Some(started.elapsed());
        }
        if let Some(hwm) = read_hwm(pid) {
            peak_kib = peak_kib.max(hwm);
        }
        if let Some(seconds) = read_cpu(&format!("/proc/{pid}/stat")) {
            cpu = seconds;
        }
        std::thread::sleep(POLL);
    };
    Ok(Child {
        code: status.code(),
        wall: started.elapsed(),
        peak_kib,
        cpu,
        first_call,
        last_call,
    })
}

fn read_hwm(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// User + system time of a process, from `/proc/…/stat` (fields 14 and 15).
fn read_cpu(path: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(path).ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    Some((user + system) / TICKS)
}

/// CPU time of this process's tokio worker threads, where the simulator runs (the polling
/// main thread is left out).
fn own_cpu_seconds() -> f64 {
    let Ok(threads) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    threads
        .filter_map(Result::ok)
        .filter(|thread| {
            std::fs::read_to_string(thread.path().join("comm"))
                .is_ok_and(|name| name.starts_with("tokio"))
        })
        .filter_map(|thread| read_cpu(&thread.path().join("stat").to_string_lossy()))
        .sum()
}

fn median_ms(
    runs: usize,
    mut once: impl FnMut() -> anyhow::Result<Duration>,
) -> anyhow::Result<f64> {
    let mut times = (0..runs.max(1))
        .map(|_| once().map(|time| time.as_secs_f64() * 1000.0))
        .collect::<anyhow::Result<Vec<f64>>>()?;
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// The SDK baseline's figures, from its own output and the simulator's counters.
struct Sdk {
    child: Child,
    list_seconds: f64,
    delete_seconds: f64,
    stats: Stats,
    simulator_cpu: f64,
}

fn run_sdk(
    runtime: &tokio::runtime::Runtime,
    args: &Args,
    inventory: Vec<SeedDesktop>,
    keep: &[usize],
    dir: &Path,
) -> anyhow::Result<Sdk> {
    let python = std::env::var_os("DESKPRUNE_SDK_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/sdk-venv/bin/python"));
    // `DESKPRUNE_SDK_SCRIPT` for a worktree that is not beside `shared/`.
    let script = std::env::var_os("DESKPRUNE_SDK_SCRIPT")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/bench/sdk_baseline.py")
        });
    anyhow::ensure!(
        python.is_file(),
        "no python at `{}`: set DESKPRUNE_SDK_PYTHON to a venv with huaweicloudsdkworkspace==3.1.219",
        python.display()
    );
    let keep_file = dir.join("keep.txt");
    let mut keep_ids = String::new();
    for &i in keep {
        writeln!(keep_ids, "{}", desktop_id(i))?;
    }
    std::fs::write(&keep_file, keep_ids)?;
    let server = Server::start(runtime, args, inventory, None)?;
    let mut command = Command::new(&python);
    command
        .arg(&script)
        .args(["--endpoint", &server.endpoint, "--ak", AK, "--sk", SK])
        .args([
            "--project-id",
            PROJECT,
            "--scope-tag",
            "team=eng",
            "--apply",
        ])
        .arg("--keep-file")
        .arg(&keep_file)
        .current_dir(dir);
    let phase = server.phase(|| measure(&mut command, dir, "sdk", Some(&server.simulator)))?;
    server.stop();
    let child = phase.child;
    let output = std::fs::read_to_string(dir.join("sdk.stdout"))?;
    anyhow::ensure!(
        child.code == Some(0),
        "the SDK baseline failed: {}",
        std::fs::read_to_string(dir.join("sdk.stderr"))?
    );
    let figure = |key: &str| -> anyhow::Result<f64> {
        output
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{key}=")))
            .and_then(|value| value.trim().parse().ok())
            .ok_or_else(|| anyhow::anyhow!("the SDK baseline printed no `{key}=`"))
    };
    Ok(Sdk {
        list_seconds: figure("list_seconds")?,
        delete_seconds: figure("delete_seconds")?,
        child,
        stats: phase.stats,
        simulator_cpu: phase.simulator_cpu,
    })
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn bytes(count: u64) -> String {
    if count >= 1_000_000 {
        format!("{:.1} MB", count as f64 / 1e6)
    } else {
        format!("{:.0} kB", count as f64 / 1e3)
    }
}

fn ms(time: Duration) -> String {
    format!("{:.0} ms", time.as_secs_f64() * 1000.0)
}

fn floor_ms(calls: u64, concurrency: usize, latency_ms: u64) -> u64 {
    calls.div_ceil(concurrency.max(1) as u64) * latency_ms
}

fn ratio(time: Duration, floor_ms: u64) -> String {
    format!(
        "{:.2}×",
        time.as_secs_f64() * 1000.0 / floor_ms.max(1) as f64
    )
}

fn calls(s: &Stats) -> String {
    format!(
        "{} list + {} detail + {} batch-delete",
        s.list_desktops, s.list_desktops_detail, s.batch_delete
    )
}

/// Before the first call arrives / from the first arrival to the last / after the last arrival.
fn breakdown(child: &Child) -> String {
    match (child.first_call, child.last_call) {
        (Some(first), Some(last)) => format!(
            "{} / {} / {}",
            ms(first),
            ms(last - first),
            ms(child.wall.saturating_sub(last))
        ),
        _ => "—".to_string(),
    }
}

fn report(
    args: &Args,
    deletions: usize,
    plan: &Phase,
    apply: &Phase,
    sdk: Option<&Sdk>,
    help_ms: f64,
    validate_ms: f64,
) -> String {
    let (c, l) = (args.concurrency, args.latency_ms);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n## {} desktops, {} deleted, {l} ms latency, gzip {}, concurrency {c}\n",
        args.desktops,
        deletions,
        if args.gzip == Switch::On { "on" } else { "off" }
    );
    let _ = writeln!(
        out,
        "| | deskprune `plan` | deskprune `apply --no-wait` | SDK baseline (whole run) |"
    );
    let _ = writeln!(out, "|---|---|---|---|");
    let mut row = |name: &str, plan: String, apply: String, sdk_cell: Option<String>| {
        let sdk_cell = sdk_cell.unwrap_or_else(|| "—".to_string());
        let _ = writeln!(out, "| {name} | {plan} | {apply} | {sdk_cell} |");
    };
    row(
        "wall time",
        ms(plan.child.wall),
        ms(apply.child.wall),
        sdk.map(|s| {
            format!(
                "{} (list {:.0} ms, delete {:.0} ms)",
                ms(s.child.wall),
                s.list_seconds * 1000.0,
                s.delete_seconds * 1000.0
            )
        }),
    );
    row(
        "before first call / first→last call / after last call (arrivals)",
        breakdown(&plan.child),
        breakdown(&apply.child),
        sdk.map(|s| breakdown(&s.child)),
    );
    row(
        "throttled answers (429 APIGW.0308)",
        plan.stats.throttled.to_string(),
        apply.stats.throttled.to_string(),
        sdk.map(|s| s.stats.throttled.to_string()),
    );
    row(
        "calls",
        calls(&plan.stats),
        calls(&apply.stats),
        sdk.map(|s| calls(&s.stats)),
    );
    let sdk_floor = |s: &Sdk| s.stats.calls() * l;
    row(
        "floor ⌈calls/concurrency⌉×latency",
        format!("{} ms", floor_ms(plan.calls(), c, l)),
        format!("{} ms", floor_ms(apply.calls(), c, l)),
        sdk.map(|s| format!("{} ms (one call at a time)", sdk_floor(s))),
    );
    row(
        "floor in dependency order (first page; other reads; deletes)",
        format!("{} ms", plan.dependency_floor_ms(c, l)),
        format!("{} ms", apply.dependency_floor_ms(c, l)),
        None,
    );
    row(
        "wall / floor (/ dependency floor)",
        format!(
            "{} ({})",
            ratio(plan.child.wall, floor_ms(plan.calls(), c, l)),
            ratio(plan.child.wall, plan.dependency_floor_ms(c, l))
        ),
        format!(
            "{} ({})",
            ratio(apply.child.wall, floor_ms(apply.calls(), c, l)),
            ratio(apply.child.wall, apply.dependency_floor_ms(c, l))
        ),
        sdk.map(|s| ratio(s.child.wall, sdk_floor(s))),
    );
    row(
        "first→last call / floor",
        plan.api_time()
            .map(|t| ratio(t, floor_ms(plan.calls(), c, l)))
            .unwrap_or_default(),
        apply
            .api_time()
            .map(|t| ratio(t, floor_ms(apply.calls(), c, l)))
            .unwrap_or_default(),
        None,
    );
    let sent = |s: &Stats| format!("{} ({})", bytes(s.sent_bytes), bytes(s.body_bytes));
    row(
        "answer bytes on the wire (uncompressed)",
        sent(&plan.stats),
        sent(&apply.stats),
        sdk.map(|s| sent(&s.stats)),
    );
    row(
        "peak memory (VmHWM)",
        mib(plan.child.peak_kib),
        mib(apply.child.peak_kib),
        sdk.map(|s| mib(s.child.peak_kib)),
    );
    row(
        "client CPU (user+sys)",
        format!("{:.2} s", plan.child.cpu),
        format!("{:.2} s", apply.child.cpu),
        sdk.map(|s| format!("{:.2} s", s.child.cpu)),
    );
    row(
        "simulator CPU (its tokio threads)",
        format!("{:.2} s", plan.simulator_cpu),
        format!("{:.2} s", apply.simulator_cpu),
        sdk.map(|s| format!("{:.2} s", s.simulator_cpu)),
    );
    if let Some(sdk) = sdk {
        let _ = writeln!(
            out,
            "\nSDK list / deskprune plan: {:.1}× (the SDK's own list timer); SDK process / deskprune plan process: {:.1}×",
            sdk.list_seconds / plan.child.wall.as_secs_f64(),
            sdk.child.wall.as_secs_f64() / plan.child.wall.as_secs_f64(),
        );
    }
    let _ = writeln!(
        out,
        "\n`deskprune --help`: {help_ms:.1} ms; `deskprune validate` of {} declared desktops: {validate_ms:.1} ms (medians of {} runs)",
        args.validate_desktops, args.runs
    );
    out
}
