//! The state lock and its writers, through the binary: `force-unlock` and what a run whose
//! lock was broken does when it saves.

use std::time::{Duration, Instant};

use deskprune::simulator::SimulatorOptions;

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
            faults: vec!["show_job:nth=1:latency=4000".parse().unwrap()],
            ..SimulatorOptions::default()
        },
    );
    world.config(&keep(5));
    let mut first = world.command(&["apply", "--auto-approve"]).spawn_silent();
    wait_for_jobs(&world, 1);
    world
        .run(&["force-unlock", &first.id().to_string()])
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
