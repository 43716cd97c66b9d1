//! A state file that cannot be written. Before the first batch-delete nothing is sent: the
//! call's intent is saved first, which proves the file writable. After sending started, no
//! further call starts, the calls in flight are waited for, and every accepted job ID is
//! printed with its desktops (exit 3), as the file may not hold them.
//!
//! The write is made to fail by replacing the state's folder with a plain file while apply
//! runs: every write there then fails (`Not a directory`), as it would on a read-only mount.
//! Permission bits would not do: the tests may run as root, which ignores them. Where a tmpfs
//! can be mounted (root, with mount permission), a full disk is tried too; elsewhere that test
//! says it was skipped.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::intents::{created_jobs, world_with};
use crate::process::Running;
use crate::support::*;

const STATE: &str = "sub/deskprune.state.json";

/// Apply with its state in `sub/`.
fn start(world: &World) -> Running {
    std::fs::create_dir(world.path("sub")).unwrap();
    Running::start(world.command(&["apply", "--auto-approve", "--state", STATE]))
}

/// Moves `sub/` away and puts a file in its place.
fn break_the_folder(world: &World) {
    std::fs::rename(world.path("sub"), world.path("sub.moved")).unwrap();
    std::fs::write(world.path("sub"), "not a folder").unwrap();
}

fn mend_the_folder(world: &World) {
    std::fs::remove_file(world.path("sub")).unwrap();
    std::fs::rename(world.path("sub.moved"), world.path("sub")).unwrap();
}

fn state_in(path: PathBuf) -> Value {
    serde_json::from_str(&read(&path)).unwrap()
}

#[test]
fn a_state_that_cannot_be_written_stops_apply_before_the_first_call() {
    // The list answer is held back, so the folder breaks after the state was read and locked
    // but before anything is sent.
    let world = world_with(&["list:nth=1:latency=1500"]);
    let mut run = start(&world);
    assert!(run.wait_for(|| world.simulator.calls() >= 1));
    break_the_folder(&world);
    let ended = run.wait();
    assert_eq!(ended.code(), 1, "{}", ended.stderr);
    assert_eq!(world.stats().batch_delete, 0, "nothing is sent");
    for said in ["cannot write state file", "nothing was sent"] {
        assert!(
            ended.stderr.contains(said),
            "`{said}` in:\n{}",
            ended.stderr
        );
    }
}

#[test]
fn a_state_that_cannot_be_written_after_sending_started_prints_every_accepted_job() {
    // The folder breaks while the second call's answer is on its way.
    let world = world_with(&["batch_delete:nth=2:latency=1500"]);
    let mut run = start(&world);
    assert!(run.wait_for(|| world.simulator.accepted() >= 2));
    break_the_folder(&world);
    let ended = run.wait();
    assert_eq!(ended.code(), 3, "{}", ended.stderr);
    assert_eq!(
        world.simulator.accepted(),
        2,
        "no call starts after the failure"
    );

    // Every job the service created is printed with exactly its desktops.
    let created = created_jobs(&world);
    assert_eq!(created.len(), 2);
    for (job_id, ids) in &created {
        let line = format!("job {job_id}: {}", ids.join(" "));
        assert!(
            ended.stderr.contains(&line),
            "`{line}` in:\n{}",
            ended.stderr
        );
    }
    assert!(ended.stderr.contains("Keep this list"), "{}", ended.stderr);

    // The file holds the first job, and the second call as sent (its intent was saved before
    // it left): once the folder is back, `jobs --refresh` finds that call's job.
    mend_the_folder(&world);
    let state = state_in(world.path(STATE));
    assert_eq!(state["jobs"].as_array().unwrap().len(), 1, "{state:#}");
    assert_eq!(state["intents"].as_array().unwrap().len(), 1, "{state:#}");
    world
        .command(&["jobs", "--refresh", "--state", STATE])
        .run()
        .success();
    let state = state_in(world.path(STATE));
    let recorded: std::collections::BTreeMap<String, Vec<String>> = state["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|job| {
            let ids = serde_json::from_value(job["desktop_ids"].clone()).unwrap();
            (job["job_id"].as_str().unwrap().to_string(), ids)
        })
        .collect();
    assert_eq!(recorded, created);
}

/// A 1 MiB tmpfs mounted on a folder, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    /// `None` (said on stderr) where mounting is not allowed.
    fn mount(dir: &Path) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=1m", "deskprune-test"])
            .arg(dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !mounted {
            eprintln!(
                "notice: the full-disk test is skipped: a tmpfs cannot be mounted here (it needs root and mount permission)"
            );
            return None;
        }
        Some(Tmpfs(dir.to_path_buf()))
    }

    /// Writes a file until the file system is full.
    fn fill(&self) {
        let mut filler = std::fs::File::create(self.0.join("filler")).unwrap();
        let chunk = vec![0u8; 16 << 10];
        loop {
            match filler.write_all(&chunk) {
                Ok(()) => {}
                Err(err) if err.raw_os_error() == Some(libc::ENOSPC) => return,
                Err(err) => panic!("cannot fill the tmpfs: {err}"),
            }
        }
    }

    fn empty(&self) {
        std::fs::remove_file(self.0.join("filler")).unwrap();
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_after_sending_started_prints_every_accepted_job() {
    let world = world_with(&["batch_delete:nth=2:latency=1500"]);
    let Some(disk) = Tmpfs::mount(&world.path("sub")) else {
        return;
    };
    let mut run = Running::start(world.command(&["apply", "--auto-approve", "--state", STATE]));
    assert!(run.wait_for(|| world.simulator.accepted() >= 2));
    disk.fill();
    let ended = run.wait();
    assert_eq!(ended.code(), 3, "{}", ended.stderr);
    assert!(
        ended.stderr.contains("No space left on device"),
        "{}",
        ended.stderr
    );
    for (job_id, ids) in &created_jobs(&world) {
        let line = format!("job {job_id}: {}", ids.join(" "));
        assert!(
            ended.stderr.contains(&line),
            "`{line}` in:\n{}",
            ended.stderr
        );
    }
    // Space again: `jobs --refresh` finds the job of the call whose answer was not saved.
    disk.empty();
    world
        .command(&["jobs", "--refresh", "--state", STATE])
        .run()
        .success();
    let state = state_in(world.path(STATE));
    assert_eq!(state["jobs"].as_array().unwrap().len(), 2, "{state:#}");
    assert!(state.get("intents").is_none(), "{state:#}");
}
