//! The state file as found on disk, through the binary: a link to where it really lives, and
//! things that are not a state file at all.

use crate::support::*;

const KEEP_FOUR: &str = "[scope]\ntags = { team = \"eng\" }\n\n[guard]\nmax_delete_percent = 50\n\n[[desktop]]\nname = \"eng-0000\"\n[[desktop]]\nname = \"eng-0001\"\n[[desktop]]\nname = \"eng-0002\"\n[[desktop]]\nname = \"eng-0003\"\n";

#[cfg(unix)]
#[test]
fn a_state_file_that_is_a_link_is_written_through_to_its_target() {
    use std::os::unix::fs::symlink;
    let world = World::new(team(6));
    world.config(KEEP_FOUR);
    // The state lives on persistent storage; the config's folder links to it (relatively).
    let storage = world.path("persistent");
    std::fs::create_dir(&storage).unwrap();
    let link = world.path("deskprune.state.json");
    symlink("persistent/state.json", &link).unwrap();
    // A temporary file a killed writer left beside the target.
    std::fs::write(storage.join(".state.json.killed.tmp"), "half").unwrap();

    world.run(&["apply", "--auto-approve"]).success();
    world.run(&["apply", "--auto-approve"]).success();

    assert!(link.is_symlink(), "the link stays a link");
    let target: serde_json::Value =
        serde_json::from_str(&read(&storage.join("state.json"))).unwrap();
    assert_eq!(target["jobs"].as_array().unwrap().len(), 1, "{target:#}");
    assert_eq!(world.state(), target, "read through the link");
    assert!(storage.join("state.json.backup").is_file());
    let mut beside_target: Vec<String> = std::fs::read_dir(&storage)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    beside_target.sort();
    assert_eq!(
        beside_target,
        ["state.json", "state.json.backup", "state.json.lock"],
        "the leftover is gone, and no temporary file is left"
    );
    let mut beside_link: Vec<String> = std::fs::read_dir(world.dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('.') || name.contains("state"))
        .collect();
    beside_link.sort();
    assert_eq!(beside_link, ["deskprune.state.json"]);
}

/// Waits for `child` to end, killing it (and failing) if it does not within `limit`.
fn ends_within(mut child: std::process::Child, limit: std::time::Duration) -> i32 {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().expect("exited normally");
        }
        if std::time::Instant::now() >= deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("still running after {limit:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[cfg(unix)]
#[test]
fn a_state_path_that_is_not_a_regular_file_is_refused_without_reading_it() {
    let world = World::new(team(6));
    world.config(KEEP_FOUR);
    let fifo = world.path("fifo.json");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    for state in [fifo.to_str().unwrap(), "/dev/zero"] {
        for command in ["jobs", "plan"] {
            let child = world.command(&[command, "--state", state]).spawn_silent();
            let code = ends_within(child, std::time::Duration::from_secs(20));
            assert_eq!(code, 1, "{command} --state {state}");
            let run = world.run(&[command, "--state", state]);
            assert!(
                run.stderr()
                    .contains(&format!("state file `{state}` is not a regular file")),
                "{}",
                run.stderr()
            );
        }
    }
    assert_eq!(world.stats().batch_delete, 0);
}

#[test]
fn a_corrupt_state_file_names_its_backup_only_when_there_is_one() {
    let world = World::new(team(6));
    world.config(KEEP_FOUR);
    let state = world.path("deskprune.state.json");
    std::fs::write(&state, "{ not json").unwrap();
    let run = world.run(&["jobs"]);
    assert_eq!(run.code(), 1);
    assert!(
        run.stderr().contains("is not valid JSON") && !run.stderr().contains(".backup"),
        "{}",
        run.stderr()
    );

    std::fs::remove_file(&state).unwrap();
    world.run(&["apply", "--auto-approve"]).success();
    world.run(&["apply", "--auto-approve"]).success();
    assert!(world.path("deskprune.state.json.backup").is_file());
    std::fs::write(&state, "{ not json").unwrap();
    let run = world.run(&["jobs"]);
    assert_eq!(run.code(), 1);
    assert!(
        run.stderr()
            .contains("restore it from its backup `deskprune.state.json.backup` or move it away"),
        "{}",
        run.stderr()
    );
}
