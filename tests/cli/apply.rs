//! `apply` through the binary: chunking, state, rails against accidental deletion.

use crate::support::*;

fn world_of(total: usize, keep: usize) -> World {
    let mut inventory = team(total);
    inventory.extend((0..5).map(|i| desktop(50_000 + i, &format!("ops-{i}"), "ops")));
    let world = World::new(inventory);
    let mut config = String::from("[scope]\ntags = { team = \"eng\" }\n\n");
    for i in 0..keep {
        config.push_str(&format!("[[desktop]]\nname = \"eng-{i:04}\"\n"));
    }
    world.config(&config);
    world
}

#[test]
fn applies_250_deletions_in_three_calls_and_records_the_jobs() {
    let world = world_of(2500, 2250);
    let run = world.run(&["apply", "--auto-approve", "--allow-deletions", "250"]);
    run.success();
    let stats = world.stats();
    let mut sizes: Vec<usize> = stats.batch_delete_ids.iter().map(Vec::len).collect();
    sizes.sort_unstable();
    assert_eq!(
        sizes,
        [50, 100, 100],
        "chunks go out concurrently, in any order"
    );

    let state = world.state();
    let jobs = state["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 3);
    let mut recorded: Vec<Vec<String>> = jobs
        .iter()
        .map(|job| {
            assert_eq!(job["status"], "succeeded");
            serde_json::from_value(job["desktop_ids"].clone()).unwrap()
        })
        .collect();
    let mut sent = stats.batch_delete_ids.clone();
    recorded.sort();
    sent.sort();
    assert_eq!(
        recorded, sent,
        "every accepted call is recorded with its IDs"
    );

    // Declared and out-of-scope desktops are all still there; the rest are gone.
    let remaining = world.remaining();
    assert_eq!(remaining.len(), 2250 + 5);
    assert!(remaining.contains(&id(0)) && remaining.contains(&id(50_000)));
    assert!(!remaining.contains(&id(2250)));

    let again = world.run(&["plan", "--detailed-exitcode"]);
    again.success();
    assert!(again.stdout().contains("No changes."), "{}", again.stdout());
}

#[test]
fn refuses_without_a_terminal_or_auto_approve() {
    let world = world_of(4, 3);
    let run = world.run(&["apply"]);
    assert_eq!(run.code(), 1);
    assert_eq!(world.stats().batch_delete, 0, "nothing is sent");
    insta::assert_snapshot!(run.transcript(&world));
}

#[test]
fn refuses_a_plan_over_budget_unless_the_count_is_named() {
    let world = world_of(40, 20);
    let refused = world.run(&["apply", "--auto-approve"]);
    assert_eq!(refused.code(), 1);
    assert_eq!(world.stats().batch_delete, 0);
    insta::assert_snapshot!(refused.transcript(&world));

    let wrong = world.run(&["apply", "--auto-approve", "--allow-deletions", "19"]);
    assert_eq!(wrong.code(), 1);
    assert_eq!(world.stats().batch_delete, 0);

    world
        .run(&["apply", "--auto-approve", "--allow-deletions", "20"])
        .success();
    assert_eq!(world.remaining().len(), 20 + 5);
}

#[test]
fn refuses_an_empty_declaration() {
    let world = world_of(3, 0);
    let run = world.run(&["apply", "--auto-approve", "--allow-deletions", "3"]);
    assert_eq!(run.code(), 1);
    assert_eq!(world.stats().batch_delete, 0);
    assert!(
        run.stderr().contains("declares no desktop"),
        "{}",
        run.stderr()
    );
}

#[test]
fn batch_size_sets_the_chunks() {
    let world = world_of(30, 25);
    std::fs::write(
        world.path("deskprune.toml"),
        read(&world.path("deskprune.toml"))
            .replace("[scope]", "[delete]\nbatch_size = 2\n\n[scope]"),
    )
    .unwrap();
    world.run(&["apply", "--auto-approve"]).success();
    let mut sizes: Vec<usize> = world
        .stats()
        .batch_delete_ids
        .iter()
        .map(Vec::len)
        .collect();
    sizes.sort_unstable();
    assert_eq!(sizes, [1, 2, 2]);
}

#[test]
fn no_wait_then_jobs_refresh() {
    let world = world_of(6, 5);
    world
        .run(&["apply", "--auto-approve", "--no-wait"])
        .success();
    let before = world.run(&["jobs"]);
    before.success();
    assert!(before.stdout().contains("pending"), "{}", before.stdout());
    std::thread::sleep(std::time::Duration::from_millis(500));
    let after = world.run(&["jobs", "--refresh"]);
    after.success();
    assert!(after.stdout().contains("succeeded"), "{}", after.stdout());
    assert_eq!(world.state()["jobs"][0]["status"], "succeeded");
}

/// Job IDs recorded in the state, each with its desktops; fails on a job ID recorded twice.
fn jobs_by_id(world: &World) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut jobs = std::collections::BTreeMap::new();
    for job in world.state()["jobs"].as_array().unwrap() {
        let ids: Vec<String> = serde_json::from_value(job["desktop_ids"].clone()).unwrap();
        let job_id = job["job_id"].as_str().unwrap().to_string();
        assert!(
            jobs.insert(job_id.clone(), ids).is_none(),
            "job {job_id} is recorded twice"
        );
    }
    jobs
}

fn unconfirmed(world: &World) -> Vec<Vec<String>> {
    world.state()["unconfirmed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| serde_json::from_value(u["desktop_ids"].clone()).unwrap())
        .collect()
}

/// An answer naming a job this run already recorded for other desktops is malformed: the call
/// is unconfirmed (its desktops, being deleted, kept out of plans), never a second copy of the
/// job.
#[test]
fn a_job_id_answered_twice_in_one_run_is_unconfirmed() {
    let world = crate::intents::world_with(&["batch_delete:nth=2:repeat_job_id"]);
    let run = crate::intents::apply(&world).run();
    assert_eq!(run.code(), 3, "{}", run.stderr());
    let calls = world.stats().batch_delete_ids;
    assert_eq!(
        calls.len(),
        3,
        "the desktops were taken: nothing is sent again"
    );
    let recorded = jobs_by_id(&world);
    let created: std::collections::BTreeMap<_, _> = world.simulator_jobs().into_iter().collect();
    assert_eq!(recorded.len(), 2);
    for (job_id, ids) in &recorded {
        assert_eq!(
            created.get(job_id),
            Some(ids),
            "job {job_id} recorded wrongly"
        );
    }
    assert_eq!(unconfirmed(&world), [calls[1].clone()]);
    assert!(
        run.stderr().contains("already recorded"),
        "{}",
        run.stderr()
    );
}

/// The same for a job ID the state file recorded in an earlier run.
#[test]
fn a_job_id_the_state_already_records_is_unconfirmed() {
    // The first run sends two calls (ten more desktops declared), the second one: the third
    // call's answer names the second's job.
    let world = crate::intents::world_with(&["batch_delete:nth=3:repeat_job_id"]);
    let config = read(&world.path("deskprune.toml"));
    let mut more = config.clone();
    for i in 10..20 {
        more.push_str(&format!("[[desktop]]\nname = \"eng-{i:04}\"\n"));
    }
    std::fs::write(world.path("deskprune.toml"), more).unwrap();
    crate::intents::apply(&world).run().success();
    std::fs::write(world.path("deskprune.toml"), config).unwrap();

    let run = crate::intents::apply(&world).run();
    assert_eq!(run.code(), 3, "{}", run.stderr());
    let calls = world.stats().batch_delete_ids;
    assert_eq!(calls.len(), 3);
    let recorded = jobs_by_id(&world);
    assert_eq!(recorded.len(), 2, "the repeated job is not recorded again");
    assert_eq!(unconfirmed(&world), [calls[2].clone()]);
}

/// A `WKS.*` 404 that names no desktop, to a batch of one: the desktop is read again before it
/// is called gone, and as it still exists it is refused, not "already gone".
#[test]
fn an_unnamed_404_to_a_batch_of_one_is_not_taken_as_gone() {
    let world = World::with_options(
        team(13),
        deskprune::simulator::SimulatorOptions {
            faults: vec!["batch_delete:nth=1:status=404".parse().unwrap()],
            ..deskprune::simulator::SimulatorOptions::default()
        },
    );
    let mut config = String::from(
        "[scope]\ntags = { team = \"eng\" }\n\n[delete]\nbatch_size = 1\n\n\
         [client]\nmax_concurrency = 1\nrequests_per_second = 1000\n\n",
    );
    for i in 0..10 {
        config.push_str(&format!("[[desktop]]\nname = \"eng-{i:04}\"\n"));
    }
    world.config(&config);
    let run = world.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code(), 3, "{}", run.stderr());
    assert!(
        !run.stderr().contains("no longer exists"),
        "{}",
        run.stderr()
    );
    assert!(run.stderr().contains("was refused"), "{}", run.stderr());
    assert!(!run.stdout().contains("already gone"), "{}", run.stdout());
    assert_eq!(
        world.remaining().len(),
        11,
        "the refused desktop is still there"
    );
}
