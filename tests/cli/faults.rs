//! The client under faults, through the binary: reads retried on throttling, server errors and
//! lost connections (Retry-After honoured, retries bounded); batch-deletes retried only when
//! they provably never arrived, and never sent twice after an ambiguous failure; an inventory
//! that changes while it is read is read again, or refused; bad bodies fail naming the call.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use deskprune::simulator::{FaultRule, SimulatorOptions, Stats};

use crate::support::*;

/// `total` desktops of team `eng`, the first `keep` declared, with the fault `rules`.
fn world(total: usize, keep: usize, rules: &[&str]) -> World {
    world_with_client(total, keep, rules, "")
}

/// Short time-outs, no rate limit to speak of, a budget that allows every deletion; `client`
/// adds lines to `[client]`.
fn world_with_client(total: usize, keep: usize, rules: &[&str], client: &str) -> World {
    let faults = rules
        .iter()
        .map(|rule| rule.parse::<FaultRule>().expect("a valid rule"))
        .collect();
    let world = World::with_options(
        team(total),
        SimulatorOptions {
            faults,
            ..SimulatorOptions::default()
        },
    );
    let mut config = format!(
        "[scope]\ntags = {{ team = \"eng\" }}\n\n\
         [guard]\nmax_deletions = 100000\nmax_delete_percent = 100\n\n\
         [client]\ntimeout = 2\nrequests_per_second = 1000\nmax_concurrency = 8\n{client}\n"
    );
    for i in 0..keep {
        config.push_str(&format!("[[desktop]]\nname = \"eng-{i:04}\"\n"));
    }
    world.config(&config);
    world
}

fn apply(world: &World, deletions: usize) -> Run {
    world.run(&[
        "apply",
        "--auto-approve",
        "--allow-deletions",
        &deletions.to_string(),
    ])
}

/// Every desktop the simulator accepted in a batch-delete, and how often.
fn accepted(stats: &Stats) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for id in stats.batch_delete_ids.iter().flatten() {
        *counts.entry(id.clone()).or_insert(0) += 1;
    }
    counts
}

/// Desktops `keep..total` were each accepted exactly once, and nothing else was.
#[track_caller]
fn each_deleted_once(world: &World, keep: usize, total: usize) {
    let counts = accepted(&world.stats());
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "submitted more than once: {twice:?}");
    let mut ids: Vec<String> = counts.into_keys().collect();
    ids.sort();
    let expected: Vec<String> = (keep..total).map(id).collect();
    assert_eq!(
        ids, expected,
        "every deletion, and only those, was accepted"
    );
}

#[track_caller]
fn no_changes(world: &World) {
    let plan = world.run(&["plan"]);
    plan.success();
    assert!(plan.stdout().contains("No changes."), "{}", plan.stdout());
}

// Reads.

#[test]
fn a_throttled_read_waits_as_retry_after_says_then_succeeds() {
    let world = world(5, 5, &["list:nth=1:status=429:retry_after=1"]);
    let started = Instant::now();
    let run = world.run(&["plan"]);
    run.success();
    assert!(run.stdout().contains("No changes."), "{}", run.stdout());
    // Without Retry-After the first backoff is at most 0.5 s.
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After ignored"
    );
    let stats = world.stats();
    assert_eq!((stats.list_desktops, stats.faults_injected), (2, 1));
}

#[test]
fn reads_are_retried_after_server_errors_and_lost_connections() {
    let rules = [
        "list:nth=1:status=503",
        "list:nth=2:status=502:body=text",
        "list:nth=3:drop=before",
        "detail:nth=1:status=500",
        "detail:nth=2:drop=after",
    ];
    let world = world(12, 10, &rules);
    let run = world.run(&["plan"]);
    run.success();
    assert!(
        run.stdout().contains("Plan: 2 to delete"),
        "{}",
        run.stdout()
    );
    let stats = world.stats();
    assert_eq!(
        (stats.list_desktops, stats.list_desktops_detail),
        (4, 3),
        "each read went again until answered"
    );
    assert_eq!(stats.faults_injected, 5);
}

#[test]
fn retries_are_bounded_and_the_error_names_the_call() {
    let world = world_with_client(5, 3, &["list:from=1:status=503"], "max_retries = 1");
    let run = world.run(&["plan"]);
    assert_eq!(run.code(), 1, "{}", run.transcript(&world));
    let stderr = run.stderr();
    assert!(
        stderr.contains("error: list desktops (offset 0) was refused: HTTP 503 WKS.00000003"),
        "{stderr}"
    );
    assert!(stderr.contains("hint: the service failed"), "{stderr}");
    assert!(run.stdout().is_empty(), "nothing planned: {}", run.stdout());
    assert_eq!(world.stats().list_desktops, 2, "the call and one retry");
}

// Batch-deletes.

#[test]
fn a_batch_delete_refused_with_429_or_503_is_sent_again() {
    let rules = [
        "batch_delete:nth=1:status=429:retry_after=1",
        "batch_delete:nth=2:status=503",
    ];
    let world = world(260, 10, &rules);
    let run = apply(&world, 250);
    run.success();
    let stats = world.stats();
    assert_eq!(stats.batch_delete, 3 + 2, "three calls, two of them twice");
    assert_eq!(stats.batch_delete_ids.len(), 3);
    each_deleted_once(&world, 10, 260);
    assert_eq!(world.state()["jobs"].as_array().unwrap().len(), 3);
    assert!(world.state()["unconfirmed"].as_array().unwrap().is_empty());
    no_changes(&world);
}

#[test]
fn a_batch_delete_that_meets_a_refused_connection_is_sent_again() {
    // The detail read (who is logged in) is the last call before the batch-delete; after its
    // answer the simulator refuses connections for half a second.
    let world = world(70, 10, &["detail:nth=1:refuse=500"]);
    let run = world.run(&["-vv", "apply", "--auto-approve", "--allow-deletions", "60"]);
    run.success();
    let stderr = run.stderr();
    assert!(
        stderr.lines().any(|line| line.contains("retrying")
            && line.contains("batch-delete of 60 desktops")
            && line.contains("Connection refused")),
        "the batch-delete met a refused connection and went again:\n{stderr}"
    );
    assert_eq!(world.stats().batch_delete, 1, "only the retry arrived");
    each_deleted_once(&world, 10, 70);
    no_changes(&world);
}

#[test]
fn a_connection_cut_before_the_call_is_ambiguous_so_the_desktops_are_read_before_resending() {
    // The client cannot tell this from a lost answer: it re-reads the desktops, finds them
    // untouched, and sends them again once.
    let world = world(260, 10, &["batch_delete:nth=1:drop=before"]);
    let run = apply(&world, 250);
    run.success();
    let stats = world.stats();
    assert_eq!(stats.batch_delete, 4, "three calls, the cut one again");
    assert_eq!(stats.batch_delete_ids.len(), 3);
    each_deleted_once(&world, 10, 260);
    assert!(world.state()["unconfirmed"].as_array().unwrap().is_empty());
    no_changes(&world);
}

#[test]
fn a_lost_answer_is_never_resent_and_the_next_plan_is_clean() {
    let world = world(260, 10, &["batch_delete:nth=1:drop=after"]);
    let run = apply(&world, 250);
    assert_eq!(run.code(), 3, "{}", run.transcript(&world));
    assert!(
        run.stderr()
            .contains("the answer to a batch-delete was lost"),
        "{}",
        run.stderr()
    );
    let stats = world.stats();
    assert_eq!(stats.batch_delete, 3, "the lost one was not sent again");
    each_deleted_once(&world, 10, 260);
    let unconfirmed = &world.state()["unconfirmed"];
    assert_eq!(unconfirmed.as_array().unwrap().len(), 1);
    // Calls go out concurrently, so the lost one (the first to arrive) may be any chunk.
    let lost: Vec<String> = serde_json::from_value(unconfirmed[0]["desktop_ids"].clone()).unwrap();
    assert!(
        stats.batch_delete_ids.contains(&lost),
        "the lost call's desktops are recorded: {lost:?}"
    );
    // The job whose answer was lost finishes on its own (300 ms); then nothing is left to do.
    std::thread::sleep(Duration::from_millis(500));
    no_changes(&world);
    let again = apply(&world, 0);
    again.success();
    assert_eq!(world.stats().batch_delete, 3, "nothing is ever sent again");
}

#[test]
fn an_answer_later_than_the_time_out_is_a_lost_answer() {
    // The simulator carries the call out after 2.5 s; the client gave up at 2 s, waits 1 s and
    // finds the desktops being deleted.
    let world = world(40, 10, &["batch_delete:nth=1:latency=2500"]);
    let run = apply(&world, 30);
    assert_eq!(run.code(), 3, "{}", run.transcript(&world));
    let error = world.state()["unconfirmed"][0]["error"].to_string();
    assert!(error.contains("timed out"), "{error}");
    assert_eq!(world.stats().batch_delete, 1, "not sent again");
    each_deleted_once(&world, 10, 40);
    std::thread::sleep(Duration::from_millis(500));
    no_changes(&world);
}

// Inventories that change while they are read.

#[test]
fn an_inventory_that_changes_once_is_read_again() {
    // After the first page, a desktop is created: the second page shows 1,501.
    let world = world(1500, 1500, &["list:nth=1:insert=1"]);
    let run = world.run(&["plan"]);
    run.success();
    assert!(
        run.stdout().contains("Plan: 1 to delete"),
        "{}",
        run.stdout()
    );
    assert!(run.stdout().contains("eng-0000-added-"), "{}", run.stdout());
    assert_eq!(world.stats().list_desktops, 4, "two pages, twice");
}

#[test]
fn an_inventory_that_keeps_changing_is_refused() {
    let world = world(1500, 1400, &["list:from=1:remove=1"]);
    let run = world.run(&["plan"]);
    assert_eq!(run.code(), 1, "{}", run.transcript(&world));
    assert!(
        run.stderr()
            .contains("the desktop list changed while it was being read (3 attempts"),
        "{}",
        run.stderr()
    );
    assert!(run.stdout().is_empty(), "nothing planned: {}", run.stdout());
    assert_eq!(world.stats().list_desktops, 6, "three reads of two pages");
    let applied = apply(&world, 100);
    assert_eq!(applied.code(), 1);
    assert_eq!(world.stats().batch_delete, 0, "nothing is sent");
}

// Bodies.

#[test]
fn bad_bodies_fail_naming_the_call_and_plan_nothing() {
    let cases = [
        (
            "list:from=1:malformed",
            "returned a malformed answer (HTTP 200)",
        ),
        ("list:from=1:truncate", "failed"),
        ("list:nth=1:oversize", "the answer is larger than 64 MiB"),
    ];
    for (rule, what) in cases {
        let world = world_with_client(5, 3, &[rule], "max_retries = 1");
        let run = world.run(&["plan"]);
        assert_eq!(run.code(), 1, "{rule}: {}", run.transcript(&world));
        let stderr = run.stderr();
        assert!(
            stderr.contains("list desktops (offset 0)") && stderr.contains(what),
            "{rule}: {stderr}"
        );
        assert!(run.stdout().is_empty(), "{rule}: {}", run.stdout());
    }
}

// Compression.

#[test]
fn a_plan_reads_its_pages_gzipped() {
    let world = world(2500, 2400, &[]);
    world.run(&["plan"]).success();
    let stats = world.stats();
    assert_eq!(stats.list_desktops, 3);
    assert_eq!(
        stats.gzip_answers,
        stats.list_desktops + stats.list_desktops_detail,
        "the client asks for gzip on every read"
    );
    assert!(
        stats.sent_bytes * 4 < stats.body_bytes,
        "{} bytes sent for {}",
        stats.sent_bytes,
        stats.body_bytes
    );
}

// The command line.

#[test]
fn the_simulator_command_names_the_bad_part_of_a_fault() {
    let world = World::new(team(1));
    std::fs::write(world.path("inventory.json"), "[]").unwrap();
    let run = world.run(&[
        "simulator",
        "--inventory",
        "inventory.json",
        "--ak",
        "AK",
        "--sk",
        "SK",
        "--fault",
        "batch_delete:nth=2:status=429:retry_after=1",
        "--fault",
        "list:share=1.5:status=503",
    ]);
    assert_eq!(run.code(), 1);
    assert!(
        run.stderr().starts_with(
            "error: `--fault list:share=1.5:status=503`: `share=1.5`: a share is a number from 0 to 1"
        ),
        "{}",
        run.stderr()
    );
    assert!(
        run.stdout().is_empty(),
        "it never listened: {}",
        run.stdout()
    );
}
