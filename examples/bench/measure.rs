//! Running a process to its end while watching it: wall time, peak memory (`VmHWM`), CPU
//! time, and when the simulator saw its first and last call.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use deskprune::simulator::Simulator;

use super::{AK, POLL, SK, TICKS};

/// One finished process: exit code, wall time, peak memory and CPU time.
pub(super) struct Child {
    pub(super) code: Option<i32>,
    pub(super) wall: Duration,
    pub(super) peak_kib: u64,
    pub(super) cpu: f64,
    /// When the first and the last call reached the simulator (its counters move as it
    /// carries a call out, on arrival; the answer leaves the latency later), from the start;
    /// 2 ms resolution.
    pub(super) first_call: Option<Duration>,
    pub(super) last_call: Option<Duration>,
}

/// Runs `binary args` in `dir` with the benchmark's credentials, stdout and stderr to
/// `NAME.stdout` / `NAME.stderr` there.
pub(super) fn run(
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
pub(super) fn measure(
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
pub(super) fn own_cpu_seconds() -> f64 {
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

pub(super) fn median_ms(
    runs: usize,
    mut once: impl FnMut() -> anyhow::Result<Duration>,
) -> anyhow::Result<f64> {
    let mut times = (0..runs.max(1))
        .map(|_| once().map(|time| time.as_secs_f64() * 1000.0))
        .collect::<anyhow::Result<Vec<f64>>>()?;
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}
