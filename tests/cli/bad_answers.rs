//! Bad answers from the service: a list answer that is not JSON, cut short or too large makes
//! `plan` and `apply` fail naming the call, with no plan shown and nothing sent; a batch-delete
//! whose answer is bad (the job was created, its ID never arrived) is recorded as unconfirmed
//! and its desktops are never sent again.

use std::collections::HashSet;

use deskprune::simulator::{FaultRule, SimulatorOptions};

use crate::support::*;

/// 30 desktops of team `eng`, 20 declared; one retry per read, so a fault on every call fails
/// fast.
fn world_with(faults: &[&str]) -> World {
    let faults = faults
        .iter()
        .map(|rule| rule.parse::<FaultRule>().unwrap())
        .collect();
    let world = World::with_options(
        team(30),
        SimulatorOptions {
            faults,
            ..SimulatorOptions::default()
        },
    );
    let mut config = String::from(
        "[scope]\ntags = { team = \"eng\" }\n\n[guard]\nmax_deletions = 100\nmax_delete_percent = 100\n\n[client]\nmax_retries = 1\n\n",
    );
    for i in 0..20 {
        config.push_str(&format!("[[desktop]]\nname = \"eng-{i:04}\"\n"));
    }
    world.config(&config);
    world
}

/// `plan`, `plan --json` and `apply` all fail with an error naming `call` and saying `what`,
/// print no plan, and send nothing.
#[track_caller]
fn fails_naming(world: &World, call: &str, what: &str) {
    for args in [
        &["plan"][..],
        &["plan", "--json"][..],
        &["plan", "--out", "plan.json"][..],
        &["apply", "--auto-approve"][..],
    ] {
        let run = world.run(args);
        assert_eq!(run.code(), 1, "{args:?}:\n{}", run.transcript(world));
        let stderr = run.stderr();
        assert!(
            stderr.contains(call) && stderr.contains(what),
            "{args:?}: the error should name `{call}` and say `{what}`:\n{stderr}"
        );
        assert!(
            run.stdout().trim().is_empty(),
            "{args:?}: a plan was shown:\n{}",
            run.stdout()
        );
    }
    assert!(!world.path("plan.json").exists(), "a plan was saved");
    assert_eq!(world.stats().batch_delete, 0, "something was sent");
    assert_eq!(world.remaining().len(), 30);
}

#[test]
fn a_list_answer_that_is_not_json_fails_the_plan() {
    let world = world_with(&["list:from=1:malformed"]);
    fails_naming(&world, "list desktops (offset 0)", "malformed answer");
}

#[test]
fn a_list_answer_cut_short_fails_the_plan() {
    let world = world_with(&["list:from=1:truncate"]);
    fails_naming(&world, "list desktops (offset 0)", "failed");
}

#[test]
fn an_oversized_list_answer_fails_the_plan() {
    let world = world_with(&["list:from=1:oversize=65"]);
    fails_naming(&world, "list desktops (offset 0)", "larger than 64 MiB");
}

#[test]
fn a_bad_detail_answer_fails_the_plan() {
    let world = world_with(&["detail:from=1:malformed"]);
    fails_naming(&world, "list desktop details", "malformed answer");
}

#[test]
fn a_read_cut_short_once_is_read_again() {
    let world = world_with(&["list:nth=1:truncate"]);
    let run = world.run(&["plan", "--json"]);
    run.success();
    let plan: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(plan["deletions"].as_array().unwrap().len(), 10);
    assert!(world.stats().list_desktops >= 2);
}

/// The job was created but its ID never arrived: the desktops are recorded as unconfirmed (the
/// service shows them being deleted), the other calls go on, and no run sends any desktop twice.
#[track_caller]
fn a_lost_job_id_is_never_resent(fault: &str) {
    let world = world_with(&[fault]);
    std::fs::write(
        world.path("deskprune.toml"),
        read(&world.path("deskprune.toml"))
            .replace("[guard]", "[delete]\nbatch_size = 4\n\n[guard]"),
    )
    .unwrap();
    let first = world.run(&["apply", "--auto-approve"]);
    assert_eq!(first.code(), 3, "{}", first.transcript(&world));
    let sent = world.stats().batch_delete_ids;
    assert_eq!(sent.iter().map(Vec::len).sum::<usize>(), 10, "{sent:?}");

    // The lost call is unconfirmed with exactly its desktops; every other call is a job.
    let state = world.state();
    let unconfirmed = state["unconfirmed"].as_array().unwrap();
    assert_eq!(unconfirmed.len(), 1, "{state:#}");
    let ids = |value: &serde_json::Value| -> Vec<String> {
        serde_json::from_value(value["desktop_ids"].clone()).unwrap()
    };
    let mut accounted: Vec<Vec<String>> = vec![ids(&unconfirmed[0])];
    accounted.extend(state["jobs"].as_array().unwrap().iter().map(ids));
    let mut calls = sent.clone();
    accounted.sort();
    calls.sort();
    assert_eq!(accounted, calls, "every call is a job or unconfirmed");

    // Nothing is left to send: the unconfirmed desktops are being deleted.
    let plan = world.run(&["plan", "--json"]);
    plan.success();
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout()).unwrap();
    assert_eq!(plan["deletions"], serde_json::json!([]), "{plan:#}");
    world.run(&["apply", "--auto-approve"]).success();
    assert_eq!(
        world.stats().batch_delete_ids,
        sent,
        "nothing more was sent"
    );

    let mut seen = HashSet::new();
    for id in sent.concat() {
        assert!(seen.insert(id.clone()), "{id} was sent twice");
    }
    std::thread::sleep(std::time::Duration::from_millis(400));
    let again = world.run(&["plan"]);
    again.success();
    assert!(again.stdout().contains("No changes."), "{}", again.stdout());
    assert_eq!(world.remaining().len(), 20);
}

#[test]
fn a_batch_delete_answer_that_is_not_json_is_unconfirmed() {
    a_lost_job_id_is_never_resent("batch_delete:nth=1:malformed");
}

#[test]
fn a_batch_delete_answer_cut_short_is_unconfirmed() {
    a_lost_job_id_is_never_resent("batch_delete:nth=1:truncate");
}

/// While one lost answer is being sorted out (a pause, then a re-read), the other calls in
/// flight have their answers arrive in good time: their job IDs must be recorded, not turned
/// into time-outs because nobody read them meanwhile.
#[test]
fn answers_that_arrive_while_a_lost_one_is_sorted_out_are_recorded() {
    let world = world_with(&[
        // The first call's answer is bad and comes at 200 ms; the others' are good and come at
        // 300 ms, well within the 0.5 s time-out.
        "batch_delete:nth=1:malformed",
        "batch_delete:nth=1:latency=200",
        "batch_delete:from=2:latency=300",
    ]);
    std::fs::write(
        world.path("deskprune.toml"),
        read(&world.path("deskprune.toml"))
            .replace("[guard]", "[delete]\nbatch_size = 2\n\n[guard]")
            .replace(
                "max_retries = 1",
                "max_retries = 1\ntimeout = 0.5\nmax_concurrency = 4\nrequests_per_second = 1000",
            ),
    )
    .unwrap();
    let run = world.run(&["apply", "--auto-approve"]);
    let created = world.simulator_jobs().len();
    let state = world.state();
    let recorded = state["jobs"].as_array().unwrap().len();
    assert_eq!(
        (created, recorded),
        (5, 4),
        "the service created {created} jobs; only the one whose answer was malformed may be unrecorded\n{}\n{state:#}",
        run.transcript(&world)
    );
}
