//! The adaptive rate against the simulator's gateway: it finds a limit of 20 calls a second
//! (which the gateway's 429 states) and stays under it (few 429s once found), and speeds up
//! again once the limit is lifted.
//! Nothing here is timed: the simulator counts the calls of each second, the test lifts the
//! limit after a number of calls, and `-v` logs each change of rate.

use deskprune::simulator::SimulatorOptions;

use crate::support::*;

/// 40,000 desktops, all to be deleted: 40 list calls and 400 detail calls, 22 s of calls at
/// 20 a second.
const DESKTOPS: usize = 40_000;
/// The limit is lifted once this many calls have arrived.
const LIFT_AFTER_CALLS: u64 = 150;

#[test]
fn the_rate_converges_under_a_gateway_limit_and_climbs_again_once_it_is_lifted() {
    let world = World::with_options(
        team(DESKTOPS),
        SimulatorOptions {
            rate_limits: vec!["20/s".parse().unwrap()],
            ..SimulatorOptions::default()
        },
    );
    world.config(
        "[scope]\ntags = { team = \"eng\" }\n\n\
         [guard]\nmax_deletions = 100000\nmax_delete_percent = 100\nallow_empty = true\n",
    );
    let simulator = world.simulator.clone();
    // Lifts the limit after a number of calls, and says in which second it did.
    let lifter = std::thread::spawn(move || {
        while simulator.calls() < LIFT_AFTER_CALLS {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        simulator.set_rate_limits(&[]);
        simulator.stats().timeline.len() - 1
    });
    let run = world.run(&["plan", "-v"]);
    run.success();
    let lifted_in = lifter.join().unwrap();
    let stats = world.stats();
    let seconds = &stats.timeline;
    let first = seconds
        .iter()
        .position(|second| second.calls > 0)
        .expect("calls arrived");
    // The first seconds find the limit; after them, under 5 % of the calls are throttled.
    let limited = &seconds[(first + 3).min(lifted_in)..lifted_in];
    let calls: u64 = limited.iter().map(|s| s.calls).sum();
    let throttled: u64 = limited.iter().map(|s| s.throttled).sum();
    assert!(calls >= 40, "{seconds:?}");
    assert!(
        throttled * 20 < calls,
        "{throttled} of {calls} calls throttled after the first seconds: {seconds:?}"
    );
    // After the lift, the rate climbs back past the old limit: the log shows rises after the
    // last cut, and some second carries more calls than the limit allowed.
    let stderr = run.stderr();
    let last_cut = stderr
        .rfind("(throttled: APIGW.0308)")
        .expect("the gateway throttled at least once");
    // The limit the gateway's answer states is read from it, and held.
    assert!(
        stderr.contains("(throttled: APIGW.0308); the gateway's limit: 20 calls a second"),
        "{stderr}"
    );
    assert!(
        stderr[last_cut..].contains("(no throttling)"),
        "no rise after the last cut:\n{stderr}"
    );
    assert!(
        seconds[lifted_in + 1..].iter().any(|s| s.calls > 25),
        "{seconds:?}"
    );
}
