//! The official-SDK baseline (`../shared/bench/sdk_baseline.py`) on the same inventory, keep
//! list and latency, against a simulator of its own.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use deskprune::simulator::{SeedDesktop, Stats};

use super::measure::{Child, measure};
use super::{AK, Args, PROJECT, SK, Server, desktop_id};

/// The SDK baseline's figures, from its own output and the simulator's counters.
pub(super) struct Sdk {
    pub(super) child: Child,
    pub(super) list_seconds: f64,
    pub(super) delete_seconds: f64,
    pub(super) stats: Stats,
    pub(super) simulator_cpu: f64,
}

pub(super) fn run_sdk(
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
