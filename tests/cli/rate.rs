//! The adaptive rate against the simulator's gateway: it finds a limit of 20 calls a second
//! and stays under it (few 429s once found), and speeds up again once the limit is lifted.
//! Nothing here is timed: the simulator counts the calls of each second, and `-v` logs each
//! change of rate.

use std::time::Duration;

use deskprune::simulator::SimulatorOptions;

use crate::support::*;

/// 30,000 desktops, all to be deleted: 30 list calls and 300 detail calls, 15 s of calls at
/// 20 a second.
const DESKTOPS: usize = 30_000;
/// The limit lifts this long after the simulator starts.
const LIMITED_FOR: u64 = 8;

#[test]
fn the_rate_converges_under_a_gateway_limit_and_climbs_again_once_it_is_lifted() {
    let world = World::with_options(
        team(DESKTOPS),
        SimulatorOptions {
            rate_limits: vec!["20/s".parse().unwrap()],
            rate_limit_for: Some(Duration::from_secs(LIMITED_FOR)),
            ..SimulatorOptions::default()
        },
    );
    world.config(
        "[scope]\ntags = { team = \"eng\" }\n\n\
         [guard]\nmax_deletions = 100000\nmax_delete_percent = 100\nallow_empty = true\n",
    );
    let run = world.run(&["plan", "-v"]);
    run.success();
    let stats = world.stats();
    let seconds = &stats.timeline;
    // The first seconds find the limit; after them, under 5 % of the calls are throttled.
    let limited = &seconds[3.min(seconds.len())..(LIMITED_FOR as usize).min(seconds.len())];
    let calls: u64 = limited.iter().map(|s| s.calls).sum();
    let throttled: u64 = limited.iter().map(|s| s.throttled).sum();
    assert!(calls >= 60, "{seconds:?}");
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
    assert!(
        stderr[last_cut..].contains("(no throttling)"),
        "no rise after the last cut:\n{stderr}"
    );
    let after: Vec<u64> = seconds[LIMITED_FOR as usize..]
        .iter()
        .map(|s| s.calls)
        .collect();
    assert!(after.iter().any(|&calls| calls > 25), "{seconds:?}");
}
