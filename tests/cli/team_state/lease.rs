//! A lease lost while apply works stops it like an unwritable state; `force-unlock LOCK_ID`
//! removes only the remote lock it names; `--state` overrides the configured store, saying so.

use crate::process::Running;
use crate::support::s3::*;
use crate::support::*;

use super::*;

#[test]
fn a_lease_lost_while_applying_stops_the_calls_and_prints_every_accepted_job() {
    let Some(moto) = Moto::start() else { return };
    let proxy = StoreProxy::in_front_of(&moto.endpoint);
    // 40 deletions in 20 calls, one at a time, each answered after 200 ms; a 5 s lease is
    // renewed every 1.7 s.
    let world = slow_team(50, 200);
    config(&world, &proxy.endpoint, 10, 2, 5);
    one_at_a_time(&world);

    let mut apply = Running::start(command(&world, &["apply", "--auto-approve"]));
    assert!(
        apply.wait_for(|| world.simulator.accepted() >= 2),
        "apply ended before its second call"
    );
    // From now on every renewal is refused, as when another run took the lock over.
    proxy.add(Rule::on("PUT", ".lock").fault(Fault::Status(412)));
    let ended = apply.wait();
    assert_no_secret("stderr", &ended.stderr);
    assert_eq!(ended.code(), 3, "stderr:\n{}", ended.stderr);
    assert!(
        ended.stderr.contains("another run took the state lock"),
        "the lost lease is named:\n{}",
        ended.stderr
    );
    assert_stopped_printing_every_accepted_job(&world, &ended.stderr, 20);
}

#[test]
fn force_unlock_removes_only_the_remote_lock_it_names() {
    let Some(moto) = Moto::start() else { return };
    let world = World::new(team(4));
    config(&world, &moto.endpoint, 4, 2, 60);
    let lock = serde_json::json!({
        "lock_id": "5f0c6a52-0000-4000-8000-000000000001",
        "run_id": "20261203T150000Z-deadbeef",
        "holder": {
            "pid": 4242,
            "host": "runner-7",
            "user": "ci",
            "command": "deskprune apply",
            "started_at": "2026-12-03T15:00:00Z"
        },
        "expires_at": "2999-01-01T00:00:00Z"
    });
    moto.put(&format!("{KEY}.lock"), lock.to_string());

    let apply = run(&world, &["apply", "--auto-approve"]);
    assert_eq!(apply.code(), 1, "{}", apply.stderr());
    assert!(
        apply.stderr().contains("runner-7") && apply.stderr().contains("5f0c6a52"),
        "the refusal names the holder and its lock ID:\n{}",
        apply.stderr()
    );
    let wrong = run(&world, &["force-unlock", "4242", "--force"]);
    assert_eq!(wrong.code(), 1, "{}", wrong.stderr());
    assert!(
        wrong.stderr().contains("not by lock ID `4242`"),
        "{}",
        wrong.stderr()
    );
    assert!(moto.keys().contains(&format!("{KEY}.lock")));

    let right = run(
        &world,
        &[
            "force-unlock",
            "5f0c6a52-0000-4000-8000-000000000001",
            "--force",
        ],
    );
    assert_eq!(right.code(), 0, "{}", right.stderr());
    assert!(!moto.keys().contains(&format!("{KEY}.lock")));
    assert_eq!(world.stats().batch_delete, 0);
}

#[test]
fn a_local_state_path_overrides_the_store_and_says_so() {
    // The store is never contacted: nothing listens there.
    let world = World::new(team(4));
    config(&world, "http://127.0.0.1:9", 4, 2, 60);
    let plan = run(&world, &["plan", "--state", "local.json"]);
    assert_eq!(plan.code(), 0, "{}", plan.stderr());
    assert_eq!(
        plan.stderr()
            .matches("instead of the `[state]` store")
            .count(),
        1,
        "{}",
        plan.stderr()
    );
}

#[test]
fn state_push_fills_a_store_whose_state_holds_no_record() {
    let Some(moto) = Moto::start() else { return };
    let world = World::new(team(4));
    config(&world, &moto.endpoint, 4, 2, 60);
    let project = deskprune::simulator::SimulatorOptions::default().project_id;
    let empty = serde_json::json!({
        "format_version": 1, "lineage": "remote-lineage", "serial": 3,
        "project_id": project, "jobs": [], "refused": [], "unconfirmed": []
    });
    moto.put(KEY, empty.to_string());
    let local = serde_json::json!({
        "format_version": 1, "lineage": "local-lineage", "serial": 7,
        "project_id": project,
        "jobs": [{
            "job_id": "job-pushed", "submitted_at": "2026-12-01T10:00:00Z",
            "desktop_ids": ["d-1"], "status": "succeeded",
            "desktops": { "d-1": { "status": "deleted" } }
        }],
        "refused": [], "unconfirmed": []
    });
    std::fs::write(world.path("old.json"), local.to_string()).unwrap();
    let push = run(&world, &["state", "push", "--from", "old.json"]);
    assert_eq!(push.code(), 0, "{}", push.stderr());
    assert!(recorded_jobs(&moto, KEY).contains_key("job-pushed"));
    let pull = run(&world, &["state", "pull"]);
    assert!(pull.stdout().contains("job-pushed"), "{}", pull.stdout());
}

#[test]
fn a_lease_not_renewed_in_time_stops_the_calls_even_while_the_renewal_hangs() {
    let Some(moto) = Moto::start() else { return };
    let proxy = StoreProxy::in_front_of(&moto.endpoint);
    // 50 deletions in 25 calls, one at a time, each answered after 300 ms: longer than the
    // 5 s lease.
    let world = slow_team(60, 300);
    config(&world, &proxy.endpoint, 10, 2, 5);
    one_at_a_time(&world);
    // Every write of the lock after the first (its renewals) hangs past the lease's end.
    proxy.add(
        Rule::on("PUT", ".lock")
            .when(When::From(2))
            .fault(Fault::Delay(std::time::Duration::from_secs(30))),
    );
    let ended = run(&world, &["apply", "--auto-approve"]);
    assert_eq!(ended.code(), 3, "stderr:\n{}", ended.stderr());
    assert!(
        ended.stderr().contains("ended at") && ended.stderr().contains("without being renewed"),
        "the ended lease is named:\n{}",
        ended.stderr()
    );
    assert_stopped_printing_every_accepted_job(&world, &ended.stderr(), 25);
}

#[test]
fn a_renewal_carried_out_whose_answer_was_lost_keeps_the_lease() {
    let Some(moto) = Moto::start() else { return };
    let proxy = StoreProxy::in_front_of(&moto.endpoint);
    // 30 deletions in 15 calls, one at a time, each answered after 300 ms; a 5 s lease is
    // renewed every 1.7 s.
    let world = slow_team(40, 300);
    config(&world, &proxy.endpoint, 10, 2, 5);
    one_at_a_time(&world);
    // The first renewal reaches the store, but its answer is lost: the client's retry finds
    // the ETag it matched gone.
    proxy.add(
        Rule::on("PUT", ".lock")
            .when(When::Nth(2))
            .fault(Fault::DropAfter),
    );
    let ended = run(&world, &["apply", "--auto-approve"]);
    assert_eq!(ended.code(), 0, "stderr:\n{}", ended.stderr());
    assert_eq!(accepted_jobs(&world).len(), 15);
    assert_eq!(recorded_jobs(&moto, KEY), accepted_jobs(&world));
    assert!(
        proxy
            .requests()
            .iter()
            .filter(|r| r.is("PUT", ".lock"))
            .count()
            >= 3,
        "the renewal was retried"
    );
}
