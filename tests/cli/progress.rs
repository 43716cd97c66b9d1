//! No silent phases: without a terminal, `apply` says now and then which jobs it still waits
//! for (the progress line, on a terminal, is checked by `tests/terminal.sh`).

use std::time::Duration;

use deskprune::simulator::SimulatorOptions;

use crate::support::*;

/// Three desktops to delete in one job that takes `job` to end.
fn jobs_taking(job: Duration) -> World {
    let world = World::with_options(
        team(5),
        SimulatorOptions {
            job_duration: job,
            ..SimulatorOptions::default()
        },
    );
    world.config(
        "[scope]\ntags = { team = \"eng\" }\n\n[guard]\nmax_delete_percent = 100\n\n[desktops]\nnames = [\"eng-0000\", \"eng-0001\"]\n",
    );
    world
}

#[test]
fn waiting_for_jobs_without_a_terminal_says_what_is_still_awaited() {
    // The job takes two seconds; the line is due every tenth of one (a real run: 30 s).
    let world = jobs_taking(Duration::from_secs(2));
    let run = world
        .command(&["apply", "--auto-approve"])
        .env("DESKPRUNE_STILL_WAITING_SECONDS", "0.1")
        .run();
    run.success();
    let stderr = run.stderr();
    let line = stderr
        .lines()
        .find(|line| line.starts_with("still waiting: "))
        .unwrap_or_else(|| panic!("no still-waiting line:\n{stderr}"));
    assert!(
        line.starts_with("still waiting: 1 job, 3 desktops, ") && line.ends_with("s elapsed"),
        "{line}"
    );
}

#[test]
fn quiet_or_a_short_wait_says_nothing_more() {
    let world = jobs_taking(Duration::from_secs(2));
    let quiet = world
        .command(&["apply", "--auto-approve", "--quiet"])
        .env("DESKPRUNE_STILL_WAITING_SECONDS", "0.1")
        .run();
    quiet.success();
    assert!(
        !quiet.stderr().contains("still waiting"),
        "{}",
        quiet.stderr()
    );

    // The default interval (30 s) is far longer than this job (0.3 s).
    let short = jobs_taking(Duration::from_millis(300));
    let run = short.run(&["apply", "--auto-approve"]);
    run.success();
    assert!(!run.stderr().contains("still waiting"), "{}", run.stderr());
}
