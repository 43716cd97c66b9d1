//! `apply --json`: every line of a real run is an event of `schema/apply-events.schema.json`,
//! and the events tell the same story as the state file; a stopped run and a refused one still
//! end their stream with a summary.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};

use serde_json::Value;

use crate::intents::{created_jobs, recorded_jobs, world_with};
use crate::process::{Running, WAIT_CAP};
use crate::support::*;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Each stdout line parsed and checked against the committed schema.
fn events(stdout: &str) -> Vec<Value> {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{ROOT}/schema/apply-events.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let events: Vec<Value> = stdout
        .lines()
        .map(|line| {
            let event: Value = serde_json::from_str(line)
                .unwrap_or_else(|err| panic!("not a JSON line ({err}): {line}"));
            let errors: Vec<String> = validator
                .iter_errors(&event)
                .map(|e| e.to_string())
                .collect();
            assert!(errors.is_empty(), "{line}\n{errors:#?}");
            assert_eq!(event["format_version"], 1, "{line}");
            event
        })
        .collect();
    assert!(!events.is_empty(), "no event written");
    events
}

fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

fn strings(value: &Value) -> Vec<String> {
    serde_json::from_value(value.clone()).unwrap()
}

/// The jobs the `chunk_submitted` events name: job ID → its desktops.
fn submitted_jobs(events: &[Value]) -> BTreeMap<String, Vec<String>> {
    of_type(events, "chunk_submitted")
        .into_iter()
        .map(|e| {
            (
                e["job_id"].as_str().unwrap().to_string(),
                strings(&e["desktop_ids"]),
            )
        })
        .collect()
}

/// 14 desktops, 10 declared: 4 deletions, one per call; the first call is refused (a 404
/// that names no desktop, to a batch of one, for a desktop that still exists).
#[test]
fn a_real_apply_streams_events_that_match_the_schema_and_the_state() {
    let world = World::with_options(
        team(14),
        deskprune::simulator::SimulatorOptions {
            faults: vec!["batch_delete:nth=1:status=404".parse().unwrap()],
            ..deskprune::simulator::SimulatorOptions::default()
        },
    );
    let mut config = String::from(
        "[scope]\ntags = { team = \"eng\" }\n\n[delete]\nbatch_size = 1\n\n\
         [guard]\nmax_deletions = 100\nmax_delete_percent = 100\n\n\
         [client]\nmax_concurrency = 1\nrequests_per_second = 1000\n\n",
    );
    for i in 0..10 {
        config.push_str(&format!("[[desktop]]\nname = \"eng-{i:04}\"\n"));
    }
    world.config(&config);
    let run = world.run(&["apply", "--auto-approve", "--json"]);
    assert_eq!(run.code(), 3, "{}", run.stderr());
    let events = events(&run.stdout());

    // The plan first, the summary last, and only there.
    assert_eq!(events[0]["type"], "plan");
    let planned: BTreeSet<String> = events[0]["plan"]["deletions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["desktop_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(planned.len(), 4);
    let summary = events.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(of_type(&events, "summary").len(), 1);
    assert_eq!(summary["exit_code"], 3);
    assert_eq!(summary["result"], "incomplete");
    assert_eq!(summary["counts"]["deleted"], 3);
    assert_eq!(summary["counts"]["refused"], 1);

    // Every job the state records was announced, with its desktops, and is the simulator's.
    let state = world.state();
    let recorded = recorded_jobs(&world);
    assert_eq!(recorded.len(), 3);
    assert_eq!(submitted_jobs(&events), recorded);
    assert_eq!(created_jobs(&world), recorded);
    // Each job ended, as the state says.
    let ended: BTreeMap<String, String> = of_type(&events, "job_ended")
        .into_iter()
        .map(|e| {
            (
                e["job_id"].as_str().unwrap().to_string(),
                e["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let recorded_status: BTreeMap<String, String> = state["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|job| {
            (
                job["job_id"].as_str().unwrap().to_string(),
                job["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(ended, recorded_status);

    // The refusal the state records is the one the events name.
    let refused: Vec<String> = state["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["desktop_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(refused.len(), 1);
    let chunk_refused = of_type(&events, "chunk_refused");
    assert_eq!(chunk_refused.len(), 1);
    assert_eq!(chunk_refused[0]["desktop_id"], refused[0].as_str());
    assert_eq!(chunk_refused[0]["http_status"], 404);

    // One outcome per planned desktop, named, and the deleted ones are gone.
    let outcomes: BTreeMap<String, (String, String)> = of_type(&events, "desktop_outcome")
        .into_iter()
        .map(|e| {
            (
                e["desktop_id"].as_str().unwrap().to_string(),
                (
                    e["outcome"].as_str().unwrap().to_string(),
                    e["name"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect();
    assert_eq!(outcomes.keys().cloned().collect::<BTreeSet<_>>(), planned);
    assert_eq!(outcomes[&refused[0]].0, "refused");
    let remaining: BTreeSet<String> = world.remaining().into_iter().collect();
    for (id, (outcome, name)) in &outcomes {
        assert!(name.starts_with("eng-"), "{name}");
        assert_eq!(outcome == "deleted", !remaining.contains(id), "{id}");
    }
    // The refusal is a warning too, on stderr as text and as an event.
    assert!(run.stderr().contains("was refused"), "{}", run.stderr());
    assert!(
        of_type(&events, "warning")
            .iter()
            .any(|w| w["message"].as_str().unwrap().contains("was refused"))
    );
}

#[test]
fn json_needs_auto_approve_and_sends_nothing_without_it() {
    let world = World::new(team(3));
    world.config("[scope]\nall = true\n\n[[desktop]]\nname = \"eng-0000\"\n");
    let run = world.run(&["apply", "--json", "--allow-deletions", "2"]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert!(run.stderr().contains("--auto-approve"), "{}", run.stderr());
    assert!(run.stdout().is_empty(), "{}", run.stdout());
    assert_eq!(world.stats().batch_delete, 0);
}

/// A rail that says no still ends the stream: the plan, the error, the summary.
#[test]
fn a_refused_apply_ends_its_stream_with_an_error_and_a_summary() {
    let world = World::new(team(3));
    world.config("[scope]\nall = true\n\n[[desktop]]\nname = \"eng-0000\"\n");
    let run = world.run(&["apply", "--auto-approve", "--json"]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    let events = events(&run.stdout());
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types.first(), Some(&"plan"));
    assert_eq!(&types[types.len() - 2..], ["error", "summary"]);
    let error = &events[events.len() - 2];
    assert!(
        error["hint"]
            .as_str()
            .unwrap()
            .contains("--allow-deletions")
    );
    assert_eq!(events.last().unwrap()["result"], "error");
    assert!(run.stderr().contains("error:"), "{}", run.stderr());
    assert_eq!(world.stats().batch_delete, 0);
}

/// SIGINT while a call is in flight: the call is waited for and recorded, and the stream ends
/// with an `interrupted` summary that names every job the state records.
#[test]
fn a_stopped_apply_ends_its_stream_with_a_summary() {
    let world = world_with(&["batch_delete:nth=2:latency=1500"]);
    let mut run = Running::start(world.command(&["apply", "--auto-approve", "--json"]));
    assert!(
        run.wait_for(|| world.simulator.accepted() >= 2),
        "the second call was never made"
    );
    run.signal(libc::SIGINT);
    let ended = run.wait();
    assert_eq!(ended.code(), 130, "{}", ended.stderr);
    let events = events(&ended.stdout);
    let summary = events.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["result"], "interrupted");
    assert_eq!(summary["exit_code"], 130);
    assert_eq!(summary["counts"]["submitted"], 20);
    assert_eq!(summary["counts"]["not_sent"], 10);
    assert_eq!(submitted_jobs(&events), recorded_jobs(&world));
    assert_eq!(
        of_type(&events, "desktop_outcome").len(),
        10,
        "the not sent"
    );
}

/// Events are written as they happen: while the jobs are still followed (the simulator holds
/// every job poll for a minute), the plan and every chunk are on stdout already.
#[test]
fn events_are_written_as_they_happen() {
    let world = world_with(&["show_job:from=1:latency=60000"]);
    let mut child = world
        .command(&["apply", "--auto-approve", "--json"])
        .spawn_piped();
    let stdout = child.stdout.take().unwrap();
    let (send, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if send.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let mut seen: Vec<String> = Vec::new();
    while seen
        .iter()
        .filter(|line| line.contains("\"chunk_submitted\""))
        .count()
        < 3
    {
        match lines.recv_timeout(WAIT_CAP) {
            Ok(line) => seen.push(line),
            Err(_) => break,
        }
    }
    let still_running = child.try_wait().unwrap().is_none();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(still_running, "the run ended before its chunks were read");
    let events = events(&seen.join("\n"));
    assert_eq!(events[0]["type"], "plan");
    assert_eq!(of_type(&events, "chunk_submitted").len(), 3);
    assert!(of_type(&events, "summary").is_empty());
}

/// A saved plan applied with `--json`: the `plan` event is the saved document as saved, and
/// the run ends complete.
#[test]
fn a_saved_plan_is_the_plan_event() {
    let world = World::new(team(3));
    world.config(
        "[scope]\nall = true\n\n[guard]\nmax_deletions = 10\nmax_delete_percent = 100\n\n\
         [[desktop]]\nname = \"eng-0000\"\n",
    );
    world.run(&["plan", "--out", "plan.json"]).success();
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(world.path("plan.json")).unwrap()).unwrap();
    let run = world.run(&["apply", "plan.json", "--auto-approve", "--json"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let events = events(&run.stdout());
    assert_eq!(events[0]["plan"], saved);
    let summary = events.last().unwrap();
    assert_eq!(summary["result"], "complete");
    assert_eq!(summary["counts"]["deleted"], 2);
    assert_eq!(submitted_jobs(&events), recorded_jobs(&world));
    assert_eq!(of_type(&events, "job_ended").len(), 1);
}
