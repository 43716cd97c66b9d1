//! The state lock and its writers, through the binary: `force-unlock` and what a run whose
//! lock was broken does when it saves.

use std::time::{Duration, Instant};

use deskprune::simulator::SimulatorOptions;
use deskprune::{Holder, StateLock};

use crate::support::*;

const SCOPE: &str = "[scope]\ntags = { team = \"eng\" }\n\n[guard]\nmax_delete_percent = 50\n\n";

/// `[[desktop]]` tables keeping `eng-0000`… up to (not including) `count`.
fn keep(count: usize) -> String {
    let mut text = SCOPE.to_string();
    for i in 0..count {
        text.push_str(&format!("[[desktop]]\nname = \"eng-{i:04}\"\n"));
    }
    text
}

/// Waits until the state file records `count` jobs.
fn wait_for_jobs(world: &World, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let jobs = std::fs::read_to_string(world.path("deskprune.state.json"))
            .ok()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .and_then(|state| state["jobs"].as_array().map(Vec::len))
            .unwrap_or(0);
        if jobs >= count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no state with {count} jobs in time"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn job_ids(world: &World) -> Vec<String> {
    let mut ids: Vec<String> = world.state()["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|job| job["job_id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[test]
fn a_run_whose_lock_was_broken_keeps_the_jobs_another_run_recorded() {
    // The first apply's first job poll answers late, so it is still running (and will save
    // again) after the second apply has recorded its job.
    let world = World::with_options(
        team(6),
        SimulatorOptions {
            faults: vec!["show_job:nth=1:latency=6000".parse().unwrap()],
            ..SimulatorOptions::default()
        },
    );
    world.config(&keep(5));
    let mut first = world.command(&["apply", "--auto-approve"]).spawn_silent();
    wait_for_jobs(&world, 1);
    // As if it ran on another host sharing the folder: `force-unlock` cannot see it running.
    let lock = world.path("deskprune.state.json.lock");
    let mut holder: Holder = serde_json::from_slice(&std::fs::read(&lock).unwrap()).unwrap();
    holder.host = "another-host.example".into();
    std::fs::write(&lock, serde_json::to_vec(&holder).unwrap()).unwrap();
    world
        .run(&["force-unlock", &first.id().to_string(), "--force"])
        .success();

    world.config(&keep(4));
    world
        .run(&["apply", "--auto-approve", "--no-wait"])
        .success();
    assert_eq!(world.stats().batch_delete, 2);
    assert!(
        first.try_wait().unwrap().is_none(),
        "the first apply must still be running for this test to mean anything"
    );
    assert!(first.wait().unwrap().success());

    let mut accepted: Vec<String> = world
        .simulator_jobs()
        .into_iter()
        .map(|(job_id, _)| job_id)
        .collect();
    accepted.sort();
    assert_eq!(job_ids(&world), accepted, "every accepted job is recorded");
    let state = world.state();
    assert!(state["serial"].as_u64().unwrap() >= 4, "{state:#}");
}

/// Writes a lock record as `holder` would have left it (no OS lock held).
fn leave_record(world: &World, holder: &Holder) {
    std::fs::write(
        world.path("deskprune.state.json.lock"),
        serde_json::to_vec(holder).unwrap(),
    )
    .unwrap();
}

fn lock_record(world: &World) -> String {
    std::fs::read_to_string(world.path("deskprune.state.json.lock")).unwrap()
}

/// A pid no process has (Linux allows at most 2^22).
const DEAD_PID: u32 = 999_999_999;

#[test]
fn force_unlock_refuses_a_holder_still_running_on_this_host() {
    let world = World::new(team(6));
    world.config(&keep(4));
    let state = world.path("deskprune.state.json");
    let held = StateLock::acquire(&state, "deskprune apply (in the test)", Duration::ZERO).unwrap();
    let pid = std::process::id().to_string();
    let run = world.run(&["force-unlock", &pid, "--force"]);
    assert_eq!(run.code(), 1);
    assert!(
        run.stderr()
            .contains("`deskprune apply (in the test)` (pid")
            && run.stderr().contains("still running on this host")
            && run.stderr().contains("stop that process first"),
        "{}",
        run.stderr()
    );
    assert!(lock_record(&world).contains(&format!("\"pid\":{pid}")));
    drop(held);

    // Any process, not only one holding the OS lock: a `sleep` recorded as the holder.
    let mut sleeper = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let holder = Holder {
        pid: sleeper.id(),
        ..Holder::current("deskprune apply")
    };
    leave_record(&world, &holder);
    let run = world.run(&["force-unlock", &sleeper.id().to_string(), "--force"]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert!(run.stderr().contains("still running on this host"));
    sleeper.kill().unwrap();
    sleeper.wait().unwrap();
    world
        .run(&["force-unlock", &sleeper.id().to_string(), "--force"])
        .success();
}

#[test]
fn force_unlock_asks_first_and_refuses_without_a_terminal() {
    let world = World::new(team(6));
    world.config(&keep(4));
    let holder = Holder {
        pid: DEAD_PID,
        ..Holder::current("deskprune apply")
    };
    leave_record(&world, &holder);
    let run = world.run(&["force-unlock", &DEAD_PID.to_string()]);
    assert_eq!(run.code(), 1);
    assert!(
        run.stderr().contains("standard input is not a terminal")
            && run.stderr().contains("`--force`"),
        "{}",
        run.stderr()
    );
    assert_eq!(lock_record(&world), serde_json::to_string(&holder).unwrap());
}

#[test]
fn force_unlock_with_force_releases_the_lock_of_a_holder_that_is_gone() {
    let world = World::new(team(6));
    world.config(&keep(4));
    leave_record(
        &world,
        &Holder {
            pid: DEAD_PID,
            ..Holder::current("deskprune apply")
        },
    );
    let run = world.run(&["force-unlock", &DEAD_PID.to_string(), "-f"]);
    run.success();
    assert!(
        run.stderr()
            .contains("Released the state lock held by `deskprune apply`"),
        "{}",
        run.stderr()
    );
    assert!(!world.path("deskprune.state.json.lock").exists());
}

#[cfg(unix)]
#[test]
fn a_lock_that_is_a_link_or_not_a_file_is_refused_and_its_target_untouched() {
    use std::os::unix::fs::symlink;
    let world = World::new(team(6));
    world.config(&keep(4));
    let lock = world.path("deskprune.state.json.lock");
    std::fs::write(world.path("precious.txt"), "precious").unwrap();
    symlink(world.path("precious.txt"), &lock).unwrap();
    for args in [&["apply", "--auto-approve"][..], &["jobs", "--refresh"]] {
        let run = world.run(args);
        assert_eq!(run.code(), 1, "{args:?}");
        assert!(
            run.stderr()
                .contains("deskprune.state.json.lock` is a symbolic link"),
            "{}",
            run.stderr()
        );
    }
    assert_eq!(read(&world.path("precious.txt")), "precious");
    let run = world.run(&["force-unlock", "1", "--force"]);
    assert_eq!(run.code(), 1);
    assert!(
        run.stderr().contains("is a symbolic link"),
        "{}",
        run.stderr()
    );
    assert!(lock.is_symlink() && world.path("precious.txt").exists());

    // A link to nothing creates nothing.
    std::fs::remove_file(&lock).unwrap();
    symlink(world.path("made-by-the-lock"), &lock).unwrap();
    assert_eq!(world.run(&["apply", "--auto-approve"]).code(), 1);
    assert!(!world.path("made-by-the-lock").exists());

    // Nor is a folder (or FIFO, or device) taken for a lock file.
    std::fs::remove_file(&lock).unwrap();
    std::fs::create_dir(&lock).unwrap();
    let run = world.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code(), 1);
    assert!(
        run.stderr().contains("is not a regular file"),
        "{}",
        run.stderr()
    );
    assert_eq!(world.stats().list_desktops, 0, "nothing is read or sent");
    assert_eq!(world.stats().batch_delete, 0);
}

#[test]
fn a_held_lock_hints_at_lock_timeout_only_to_apply() {
    let world = World::new(team(6));
    world.config(&keep(4));
    let state = world.path("deskprune.state.json");
    let _held =
        StateLock::acquire(&state, "deskprune apply (in the test)", Duration::ZERO).unwrap();
    let apply = world.run(&["apply", "--auto-approve"]);
    assert_eq!(apply.code(), 1);
    assert!(
        apply
            .stderr()
            .contains("is locked by `deskprune apply (in the test)`")
            && apply
                .stderr()
                .contains("hint: wait for it to finish, or pass `--lock-timeout SECONDS`"),
        "{}",
        apply.stderr()
    );
    let refresh = world.run(&["jobs", "--refresh"]);
    assert_eq!(refresh.code(), 1);
    assert!(
        refresh.stderr().contains("is locked by")
            && refresh.stderr().contains("hint: wait for it to finish")
            && !refresh.stderr().contains("--lock-timeout"),
        "{}",
        refresh.stderr()
    );
}
