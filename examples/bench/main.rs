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

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Parser, ValueEnum};
use deskprune::simulator::{
    RateLimit, SeedDesktop, Simulator, SimulatorOptions, Stats, read_inventory,
};
use files::{desktop_id, write_config, write_config_for, write_endpoint, write_inventory};
use measure::{Child, median_ms, own_cpu_seconds, run};
use report::{report, side_by_side};
use sdk::{Sdk, run_sdk};

mod files;
mod measure;
mod report;
mod sdk;

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
