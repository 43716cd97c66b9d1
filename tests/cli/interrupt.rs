//! Ctrl-C and SIGTERM during `apply`: no new call starts, the calls in flight are waited for
//! (bounded) and recorded, the state is saved, and apply says so and exits 130 (SIGINT) or 143
//! (SIGTERM). A second signal stops the wait: a call still in flight stays an open intent,
//! which the next run resolves. Before anything is sent a signal just ends the run; while the
//! jobs are followed it saves and ends, and `jobs --refresh` follows them later.

use std::time::Duration;

use crate::intents::{
    apply, created_jobs, open_intents, recorded_jobs, refresh_records_every_job, world_with,
};
use crate::process::{Ended, Running};
use crate::support::*;

/// Starts apply on a world of three calls, waits until the simulator has carried out the
/// second (whose answer `rules` hold back), and sends `signal`.
fn signalled_at_the_second_call(world: &World, signal: i32) -> Ended {
    let mut run = Running::start(apply(world));
    assert!(
        run.wait_for(|| world.simulator.accepted() >= 2),
        "the second call was never made"
    );
    run.signal(signal);
    run.wait()
}

fn signal_while_a_call_is_in_flight(signal: i32, name: &str, code: i32) {
    let world = world_with(&["batch_delete:nth=2:latency=1500"]);
    let ended = signalled_at_the_second_call(&world, signal);
    assert_eq!(ended.code(), code, "{}", ended.stderr);
    // The call in flight was waited for: both accepted jobs are recorded, nothing is left
    // open, and the third call never started.
    assert_eq!(
        world.simulator.accepted(),
        2,
        "no call starts after the signal"
    );
    assert_eq!(recorded_jobs(&world), created_jobs(&world));
    assert!(open_intents(&world).is_empty());
    for said in [name, "no further batch-delete", "10 desktops were not sent"] {
        assert!(
            ended.stderr.contains(said),
            "`{said}` in:\n{}",
            ended.stderr
        );
    }
    let summary = "Apply interrupted: 20 submitted, 10 not sent.";
    assert!(ended.stdout.contains(summary), "{}", ended.stdout);
    // The next run sends the rest.
    apply(&world).run().success();
    assert_eq!(world.stats().batch_delete_ids.concat().len(), 30);
    assert_eq!(world.remaining().len(), 10);
}

#[test]
fn sigint_while_a_call_is_in_flight_records_its_job_and_exits_130() {
    signal_while_a_call_is_in_flight(libc::SIGINT, "SIGINT", 130);
}

#[test]
fn sigterm_while_a_call_is_in_flight_records_its_job_and_exits_143() {
    signal_while_a_call_is_in_flight(libc::SIGTERM, "SIGTERM", 143);
}

/// The second call's answer would take a minute: a second signal ends the wait. The call
/// stays an open intent, and `jobs --refresh` finds its job.
#[test]
fn a_second_signal_stops_the_wait_and_the_call_stays_an_intent() {
    let world = world_with(&["batch_delete:nth=2:latency=60000"]);
    let mut run = Running::start(apply(&world));
    assert!(run.wait_for(|| world.simulator.accepted() >= 2));
    run.signal(libc::SIGINT);
    // Signals sent close together may arrive as one: send again until the run ends.
    for _ in 0..100 {
        std::thread::sleep(Duration::from_millis(100));
        if !run.is_running() {
            break;
        }
        run.signal(libc::SIGINT);
    }
    let ended = run.wait();
    assert_eq!(ended.code(), 130, "{}", ended.stderr);
    let calls = world.stats().batch_delete_ids;
    assert_eq!(open_intents(&world), [calls[1].clone()]);
    assert!(
        ended.stderr.contains("jobs --refresh"),
        "says how the call is resolved:\n{}",
        ended.stderr
    );

    refresh_records_every_job(&world);
}

#[test]
fn a_signal_before_anything_is_sent_just_ends_the_run() {
    let world = world_with(&["list:nth=1:latency=60000"]);
    let mut run = Running::start(apply(&world));
    assert!(run.wait_for(|| world.simulator.calls() >= 1));
    run.signal(libc::SIGTERM);
    let ended = run.wait();
    assert_eq!(ended.code(), 143, "{}", ended.stderr);
    assert_eq!(world.stats().batch_delete, 0);
    assert!(
        ended.stderr.contains("nothing was sent"),
        "{}",
        ended.stderr
    );
}

#[test]
fn a_signal_while_following_saves_and_says_how_to_resume() {
    let world = world_with(&["show_job:from=1:latency=60000"]);
    let mut run = Running::start(apply(&world));
    assert!(run.wait_for(|| world.stats().show_job >= 1));
    run.signal(libc::SIGINT);
    let ended = run.wait();
    assert_eq!(ended.code(), 130, "{}", ended.stderr);
    assert_eq!(recorded_jobs(&world), created_jobs(&world));
    assert_eq!(world.simulator.accepted(), 3);
    assert!(ended.stderr.contains("jobs --refresh"), "{}", ended.stderr);
}
