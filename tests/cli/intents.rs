//! Intents: every batch-delete is recorded in the state file before it is sent, so a run that
//! dies between the send and the answer leaves a trace. Its desktops stay out of plans, and the
//! next `apply` or `jobs --refresh` finds the job the call created (the sub-job list names its
//! desktops) or, failing that, reads the desktops to learn whether the call took them.

use std::collections::BTreeMap;

use deskprune::simulator::{FaultRule, SimulatorOptions};
use serde_json::Value;

use crate::process::Running;
use crate::support::*;

/// 40 desktops of team `eng`, the first 10 declared: 30 to delete, 10 a call, one call at a
/// time, with the fault `rules`.
pub fn world_with(rules: &[&str]) -> World {
    let faults = rules
        .iter()
        .map(|rule| rule.parse::<FaultRule>().expect("a valid rule"))
        .collect();
    let world = World::with_options(
        team(40),
        SimulatorOptions {
            faults,
            ..SimulatorOptions::default()
        },
    );
    let mut config = String::from(
        "[scope]\ntags = { team = \"eng\" }\n\n[delete]\nbatch_size = 10\n\n\
         [guard]\nmax_deletions = 100\nmax_delete_percent = 100\n\n\
         [client]\nrequests_per_second = 1000\nmax_concurrency = 1\n\n",
    );
    for i in 0..10 {
        config.push_str(&format!("[[desktop]]\nname = \"eng-{i:04}\"\n"));
    }
    world.config(&config);
    world
}

pub fn apply(world: &World) -> Cmd {
    world.command(&["apply", "--auto-approve"])
}

fn strings(value: &Value) -> Vec<String> {
    serde_json::from_value(value.clone()).unwrap()
}

/// The jobs the state records: job ID → its desktops.
pub fn recorded_jobs(world: &World) -> BTreeMap<String, Vec<String>> {
    world.state()["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|job| {
            (
                job["job_id"].as_str().unwrap().to_string(),
                strings(&job["desktop_ids"]),
            )
        })
        .collect()
}

/// The jobs the simulator created: job ID → its desktops.
pub fn created_jobs(world: &World) -> BTreeMap<String, Vec<String>> {
    world.simulator_jobs().into_iter().collect()
}

/// The desktop IDs of the state's open intents, one list per intent.
pub fn open_intents(world: &World) -> Vec<Vec<String>> {
    world.state()["intents"]
        .as_array()
        .map(|intents| {
            intents
                .iter()
                .map(|intent| strings(&intent["desktop_ids"]))
                .collect()
        })
        .unwrap_or_default()
}

/// Runs `jobs --refresh` and checks that it leaves no intent open and every job the service
/// created recorded; returns the run, for what it said.
pub fn refresh_records_every_job(world: &World) -> Run {
    let refresh = world.run(&["jobs", "--refresh"]);
    refresh.success();
    assert_eq!(
        recorded_jobs(world),
        created_jobs(world),
        "{}",
        refresh.stderr()
    );
    assert!(open_intents(world).is_empty());
    refresh
}

fn planned(world: &World) -> Vec<String> {
    let run = world.run(&["plan", "--json"]);
    run.success();
    let plan: Value = serde_json::from_str(&run.stdout()).unwrap();
    plan["deletions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["desktop_id"].as_str().unwrap().to_string())
        .collect()
}

/// Runs apply until the simulator has carried out the second call, whose answer is held back,
/// and kills it there.
fn killed_before_the_second_answer(world: &World) {
    let mut run = Running::start(apply(world));
    assert!(
        run.wait_for(|| world.simulator.accepted() >= 2),
        "the second call was never made"
    );
    run.signal(libc::SIGKILL);
    run.wait();
}

#[test]
fn a_kill_between_send_and_answer_leaves_an_intent_the_next_run_resolves() {
    let world = world_with(&["batch_delete:nth=2:latency=60000"]);
    killed_before_the_second_answer(&world);
    let calls = world.stats().batch_delete_ids;
    assert_eq!(calls.len(), 2);

    // The first call's job is recorded; the second, whose answer never came, is an intent
    // with exactly its desktops.
    let recorded = recorded_jobs(&world);
    assert_eq!(
        recorded.values().cloned().collect::<Vec<_>>(),
        [calls[0].clone()]
    );
    assert_eq!(open_intents(&world), [calls[1].clone()]);

    // `plan` (which writes nothing) keeps them out, as desktops being deleted.
    let planned = planned(&world);
    assert_eq!(
        planned.len(),
        10,
        "only the third chunk is left: {planned:?}"
    );
    assert!(calls.concat().iter().all(|id| !planned.contains(id)));
    // And says why.
    let plan = world.run(&["plan"]);
    plan.success();
    assert!(
        plan.stderr().contains(
            "1 batch-delete of 10 desktops was sent without its answer being recorded; their desktops are kept out of this plan"
        ),
        "{}",
        plan.stderr()
    );

    // `jobs --refresh` finds the job the second call created, and follows it.
    let refresh = refresh_records_every_job(&world);
    assert!(
        refresh.stderr().contains("found the job"),
        "{}",
        refresh.stderr()
    );

    // The next apply sends the rest, once.
    apply(&world).run().success();
    let sent = world.stats().batch_delete_ids.concat();
    assert_eq!(sent.len(), 30, "every deletion sent once");
    assert_eq!(recorded_jobs(&world), created_jobs(&world));
}

#[test]
fn apply_resolves_an_open_intent_before_it_plans() {
    let world = world_with(&["batch_delete:nth=2:latency=60000"]);
    killed_before_the_second_answer(&world);
    let run = apply(&world).run();
    run.success();
    assert_eq!(
        recorded_jobs(&world),
        created_jobs(&world),
        "{}",
        run.stderr()
    );
    assert!(open_intents(&world).is_empty());
    assert_eq!(world.stats().batch_delete_ids.concat().len(), 30);
    assert_eq!(world.remaining().len(), 10);
}

/// A run killed after recording an intent but before its call left: the desktops are
/// untouched, so the intent is dropped and they are planned (and sent) again.
#[test]
fn an_intent_whose_call_never_left_frees_its_desktops() {
    let world = world_with(&[]);
    let never_sent: Vec<String> = (30..40).map(id).collect();
    let state = serde_json::json!({
        "format_version": 1,
        "lineage": "6f1c1f53-2f55-4d55-9a55-3f1e3c1f0a11",
        "serial": 1,
        "project_id": PROJECT,
        "jobs": [],
        "refused": [],
        "unconfirmed": [],
        "intents": [{
            "id": "1d3c1a52-5b0e-4a4e-8f7e-2b7f4f1c9d20",
            "at": "2025-01-01T00:00:00Z",
            "desktop_ids": never_sent,
        }],
    });
    std::fs::write(
        world.path("deskprune.state.json"),
        serde_json::to_vec_pretty(&state).unwrap(),
    )
    .unwrap();

    let held = planned(&world);
    assert_eq!(held.len(), 20, "the intent's desktops are held: {held:?}");
    assert!(never_sent.iter().all(|id| !held.contains(id)));

    let run = apply(&world).run();
    run.success();
    assert!(open_intents(&world).is_empty());
    assert!(world.state()["unconfirmed"].as_array().unwrap().is_empty());
    assert_eq!(world.stats().batch_delete_ids.concat().len(), 30);
    assert_eq!(world.remaining().len(), 10, "{}", run.stderr());
}

/// The sub-job list cannot be read: the intent stays open (its desktops held, never sent
/// again), and apply says so and does not report success.
#[test]
fn an_intent_that_cannot_be_looked_up_stays_open() {
    let world = world_with(&[
        "batch_delete:nth=2:latency=60000",
        "sub_jobs:from=1:status=403",
    ]);
    killed_before_the_second_answer(&world);
    let calls = world.stats().batch_delete_ids;
    let run = apply(&world).run();
    assert_eq!(run.code(), 3, "{}", run.stderr());
    assert!(
        run.stderr().contains("could not look up"),
        "{}",
        run.stderr()
    );
    assert!(run.stdout().contains("10 unresolved"), "{}", run.stdout());
    assert_eq!(open_intents(&world), [calls[1].clone()]);
    let sent = world.stats().batch_delete_ids.concat();
    let once: std::collections::HashSet<&String> = sent.iter().collect();
    assert_eq!((sent.len(), once.len()), (30, 30), "the rest sent, once");
}
