//! A holder killed with SIGKILL keeps the lock in the bucket: a second apply is refused naming
//! it; once its lease runs out the next apply takes over, warns naming it, and finishes without
//! losing or resending anything. `force-unlock LOCK_ID` removes such a lock at once, and only
//! the lock of that ID.

use std::os::unix::process::ExitStatusExt;

use crate::process::Running;
use crate::support::s3::*;
use crate::support::*;

use super::*;

/// 110 desktops, 10 declared: 100 deletions in 10 calls, one at a time, each answered after
/// 20 ms; the lease is `lease` s.
fn world(moto: &Moto, lease: u64) -> World {
    let world = slow_team(110, 20);
    config(&world, &moto.endpoint, 10, 10, lease);
    one_at_a_time(&world);
    world
}

/// Starts apply and kills it (SIGKILL) once the simulator carried out its third batch-delete,
/// before that call's answer is back; returns the killed run's pid.
fn kill_mid_apply(world: &World, moto: &Moto) -> i32 {
    let mut first = Running::start(command(world, &["apply", "--auto-approve"]));
    let pid = first.pid();
    assert!(first.wait_for(|| world.simulator.accepted() >= 3));
    first.signal(libc::SIGKILL);
    let ended = first.wait();
    assert_eq!(
        ended.status.signal(),
        Some(libc::SIGKILL),
        "{}",
        ended.stderr
    );
    assert!(
        moto.keys().contains(&format!("{KEY}.lock")),
        "a killed holder leaves its lock"
    );
    pid
}

/// Everything the killed run and the one after it sent is recorded, once, and done.
#[track_caller]
fn assert_finished_cleanly(world: &World, moto: &Moto) {
    let accepted = accepted_jobs(world);
    assert_eq!(recorded_jobs(moto, KEY), accepted, "nothing is lost");
    assert_none_sent_twice(world);
    assert_eq!(world.remaining().len(), 10, "and everything is done");
    let head = moto.get_json(KEY).unwrap_or_default();
    let open = head["intents"].as_array().map_or(0, Vec::len);
    assert_eq!(open, 0, "no open intent is left: {head:#}");
    assert!(
        !moto.keys().contains(&format!("{KEY}.lock")),
        "the lock is released"
    );
    let plan = run(world, &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code(), 0, "{}", plan.stdout());
}

#[test]
fn a_killed_holder_is_taken_over_once_its_lease_runs_out() {
    let Some(moto) = Moto::start() else { return };
    let world = world(&moto, 5);
    let pid = kill_mid_apply(&world, &moto);
    let sent_by_first = world.simulator.accepted();

    // At once, the lease has not run out: refused, naming the holder.
    let refused = run(&world, &["apply", "--auto-approve"]);
    assert_eq!(refused.code(), 1, "{}", refused.stderr());
    assert!(
        refused.stderr().contains("locked by") && refused.stderr().contains(&pid.to_string()),
        "the refusal names the holder (pid {pid}):\n{}",
        refused.stderr()
    );
    assert_eq!(world.simulator.accepted(), sent_by_first, "nothing sent");

    // Waiting for the lock outlasts the 5 s lease: taken over, with a warning.
    let next = run(&world, &["apply", "--auto-approve", "--lock-timeout", "60"]);
    next.success();
    assert!(
        next.stderr().contains("warning") && next.stderr().contains(&pid.to_string()),
        "the takeover warns, naming the old holder (pid {pid}):\n{}",
        next.stderr()
    );

    assert_finished_cleanly(&world, &moto);
}

#[test]
fn force_unlock_removes_a_dead_holders_lock_by_its_id_only() {
    let Some(moto) = Moto::start() else { return };
    // A lease far longer than the test: only `force-unlock` can free the lock.
    let world = world(&moto, 3600);
    let pid = kill_mid_apply(&world, &moto);
    let lock = moto.get_json(&format!("{KEY}.lock")).unwrap();
    let lock_id = lock["lock_id"]
        .as_str()
        .unwrap_or_else(|| panic!("the lock names its ID: {lock:#}"))
        .to_string();

    let refused = run(&world, &["apply", "--auto-approve"]);
    assert_eq!(refused.code(), 1);
    assert!(
        refused.stderr().contains(&lock_id),
        "the refusal names the lock ID for force-unlock:\n{}",
        refused.stderr()
    );

    let wrong = run(
        &world,
        &[
            "force-unlock",
            "0f0f0f0f-0000-4000-8000-000000000000",
            "--force",
        ],
    );
    assert_eq!(
        wrong.code(),
        1,
        "another ID is refused:\n{}",
        wrong.stderr()
    );
    assert_eq!(
        moto.get_json(&format!("{KEY}.lock")),
        Some(lock.clone()),
        "and the lock is left as it was"
    );

    let unlocked = run(&world, &["force-unlock", &lock_id, "--force"]);
    unlocked.success();
    assert!(
        unlocked.stderr().contains(&pid.to_string()),
        "it says whose lock it removed (pid {pid}):\n{}",
        unlocked.stderr()
    );
    assert!(!moto.keys().contains(&format!("{KEY}.lock")));

    run(&world, &["apply", "--auto-approve"]).success();
    assert_finished_cleanly(&world, &moto);
}
