//! Crash consistency: a large `apply` stopped at a fixed set of points (while it reads, right
//! after the service accepted a batch-delete, while it follows the jobs) by SIGKILL, SIGINT or
//! SIGTERM, run again and stopped again, then run to the end. Where to stop is learned from
//! the simulator's call counters, never from the clock. After every stop the state file is
//! whole, every job the service created is recorded or is an open intent naming exactly its
//! desktops (a graceful stop leaves neither: every answer is recorded), nothing was sent
//! twice, and nothing that must stay was ever sent. After the final run the service's jobs and
//! the recorded ones are the same, every time.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

use deskprune::simulator::{Endpoint, SimulatorOptions};
use serde_json::Value;

use crate::process::Running;
use crate::support::*;

/// In scope (team `eng`): 300 declared, 10 protected, 1,200 to delete in 12 calls of 100.
const DECLARED: usize = 300;
const PROTECTED: usize = 10;
const DELETIONS: usize = 1200;
const IN_SCOPE: usize = DECLARED + PROTECTED + DELETIONS;
/// Out of scope (team `ops`), numbered from 50,000.
const OUT_OF_SCOPE: usize = 5;
const PER_CALL: usize = 100;
/// How long each answer takes: the simulator carries a call out when it arrives and answers
/// this long after, so a stop right after a call was accepted lands before its answer.
const LATENCY: Duration = Duration::from_millis(20);
/// No single wait in this file lasts longer.
const WAIT_CAP: Duration = Duration::from_secs(20);

fn world() -> World {
    let mut inventory = team(IN_SCOPE);
    for desktop in &mut inventory[DECLARED..DECLARED + PROTECTED] {
        desktop["tags"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"key": "deskprune:protect", "value": "true"}));
    }
    inventory.extend((0..OUT_OF_SCOPE).map(|i| desktop(50_000 + i, &format!("ops-{i}"), "ops")));
    let world = World::with_options(
        inventory,
        SimulatorOptions {
            latency: LATENCY,
            ..SimulatorOptions::default()
        },
    );
    // No deletion budget: a run that resolves an earlier run's intents may plan more than
    // `plan` (which resolves nothing) showed.
    let mut config = String::from(
        "[scope]\ntags = { team = \"eng\" }\n\n[delete]\nbatch_size = 100\n\n\
         [guard]\nmax_deletions = 100000\nmax_delete_percent = 100\n\n\
         [client]\nrequests_per_second = 1000\nmax_concurrency = 8\n\n",
    );
    // Half by name, half by ID, so both selectors are exercised.
    for i in 0..DECLARED {
        if i % 2 == 0 {
            config.push_str(&format!("[[desktop]]\nname = \"eng-{i:04}\"\n"));
        } else {
            config.push_str(&format!("[[desktop]]\nid = \"{}\"\n", id(i)));
        }
    }
    world.config(&config);
    world
}

/// Declared, protected and out-of-scope desktops: never to be sent.
fn must_stay() -> HashSet<String> {
    (0..DECLARED + PROTECTED)
        .map(id)
        .chain((0..OUT_OF_SCOPE).map(|i| id(50_000 + i)))
        .collect()
}

/// Where in a run to stop it.
#[derive(Debug, Clone, Copy)]
enum Point {
    /// As soon as the run made its first API call (resolving intents, or reading): nothing
    /// of this run is sent yet.
    Reading,
    /// As soon as the simulator has carried out the Nth batch-delete of this run (the last
    /// one, when the run makes fewer), then this many milliseconds more: 0 lands before the
    /// call's answer arrives, 30 after it.
    Accepted(usize, u64),
    /// As soon as the run asks about a job (ShowJob): it is following the jobs.
    Following,
}

#[derive(Debug, Clone, Copy)]
enum How {
    Kill,
    Int,
    Term,
}

impl How {
    fn signal(self) -> i32 {
        match self {
            How::Kill => libc::SIGKILL,
            How::Int => libc::SIGINT,
            How::Term => libc::SIGTERM,
        }
    }
}

use How::{Int, Kill, Term};
use Point::{Accepted, Following, Reading};

/// The runs of each scenario, each stopped as given; a final run then goes to the end.
const SCENARIOS: &[&[(How, Point)]] = &[
    &[(Kill, Accepted(1, 0))],
    &[(Int, Accepted(1, 0))],
    &[(Term, Accepted(1, 0))],
    &[(Kill, Accepted(5, 0)), (Int, Accepted(2, 0))],
    &[(Term, Accepted(7, 0)), (Kill, Accepted(1, 0))],
    &[(Kill, Accepted(12, 0)), (Term, Following)],
    &[(Int, Accepted(12, 0)), (Kill, Following)],
    &[
        (Kill, Accepted(3, 30)),
        (Kill, Accepted(2, 0)),
        (Int, Following),
    ],
    &[(Int, Reading), (Kill, Accepted(9, 0)), (Term, Reading)],
    &[(Term, Reading), (Int, Accepted(4, 30)), (Kill, Reading)],
    &[(Kill, Reading), (Kill, Accepted(6, 0)), (Kill, Following)],
    &[(Int, Following)],
    &[(Term, Accepted(10, 30)), (Int, Accepted(1, 0))],
];

#[derive(Debug, Default)]
struct Tally {
    /// Stops that hit a running process.
    hits: usize,
    /// Runs that ended on their own before the point came.
    finished_first: usize,
    /// Jobs the service created that were open intents (not yet recorded) after a stop.
    open_after_stop: usize,
    /// Backup files that were not valid JSON right after a stop.
    torn_backups: usize,
    /// Temporary files left in the folder by killed saves.
    stray_temp_files: usize,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.hits += other.hits;
        self.finished_first += other.finished_first;
        self.open_after_stop += other.open_after_stop;
        self.torn_backups += other.torn_backups;
        self.stray_temp_files += other.stray_temp_files;
    }
}

/// Runs one scenario to its end; returns how many stops it tried and what it saw.
fn run_scenario(
    scenario: usize,
    stops: &[(How, Point)],
    validator: &jsonschema::Validator,
) -> (usize, Tally) {
    let mut tally = Tally::default();
    let world = world();
    let mut deletions = DELETIONS;
    for (step, (how, point)) in stops.iter().enumerate() {
        let at = format!("scenario {scenario}, stop {step} ({how:?} at {point:?})");
        let hit = run_and_stop(&world, deletions, *how, *point, &at);
        if hit {
            tally.hits += 1;
        } else {
            tally.finished_first += 1;
        }
        let graceful = hit && !matches!(how, Kill) && !matches!(point, Reading);
        check_after_stop(&world, validator, &mut tally, graceful, &at);
        deletions = planned_deletions(&world, &at);
    }
    finish(
        &world,
        validator,
        &mut tally,
        &format!("scenario {scenario}, final run"),
    );
    (stops.len(), tally)
}

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(&read(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/state.schema.json"),
    ))
    .unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

fn apply_command(world: &World) -> Cmd {
    world.command(&["apply", "--auto-approve"])
}

/// Runs apply (`deletions` planned, about) and stops it at `point` the way `how` says.
/// Returns whether the stop hit it running.
fn run_and_stop(world: &World, deletions: usize, how: How, point: Point, at: &str) -> bool {
    let accepted_before = world.simulator.accepted();
    let calls_before = world.simulator.calls();
    let polls_before = world.simulator.calls_to(Endpoint::ShowJob);
    let calls_of_run = deletions.div_ceil(PER_CALL);
    let mut run = Running::start(apply_command(world));
    let reached = match point {
        Reading => run.wait_for(|| world.simulator.calls() > calls_before),
        Accepted(call, extra) => {
            let target = accepted_before + call.min(calls_of_run).max(1);
            run.wait_for(|| world.simulator.accepted() >= target) && {
                std::thread::sleep(Duration::from_millis(extra));
                true
            }
        }
        Following => run.wait_for(|| world.simulator.calls_to(Endpoint::ShowJob) > polls_before),
    };
    if reached && run.is_running() {
        run.signal(how.signal());
    }
    let ended = run.wait();
    let status = ended.status;
    let hit = match (how, status.signal(), status.code()) {
        (Kill, Some(9), _) => true,
        (Int, None, Some(130)) | (Term, None, Some(143)) => true,
        // Ended before the stop came (or heard a signal after its last call): a normal run,
        // which must have succeeded or been refused for a reason the next run fixes.
        (_, None, Some(0 | 1)) => false,
        _ => panic!("{at}: apply ended with {status}\nstderr:\n{}", ended.stderr),
    };
    if hit && !matches!(how, Kill) {
        assert!(
            ended.stderr.contains("received SIG"),
            "{at}: a signal is reported\n{}",
            ended.stderr
        );
    }
    hit
}

/// What the state file records: job ID → desktops, and the desktops of each open intent.
struct Recorded {
    jobs: BTreeMap<String, Vec<String>>,
    intents: Vec<BTreeSet<String>>,
    unconfirmed: usize,
}

fn strings(value: &Value) -> Vec<String> {
    serde_json::from_value(value.clone()).unwrap()
}

fn recorded(world: &World, validator: &jsonschema::Validator, at: &str) -> Recorded {
    let state_path = world.path("deskprune.state.json");
    let state: Value = match std::fs::read(&state_path) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Recorded {
                jobs: BTreeMap::new(),
                intents: Vec::new(),
                unconfirmed: 0,
            };
        }
        Err(err) => panic!("{at}: cannot read the state file: {err}"),
        Ok(bytes) => serde_json::from_slice(&bytes)
            .unwrap_or_else(|err| panic!("{at}: the state file is not JSON: {err}")),
    };
    let errors: Vec<String> = validator
        .iter_errors(&state)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "{at}: the state file breaks its schema: {errors:#?}"
    );
    let mut jobs = BTreeMap::new();
    for job in state["jobs"].as_array().unwrap() {
        let job_id = job["job_id"].as_str().unwrap().to_string();
        let again = jobs.insert(job_id.clone(), strings(&job["desktop_ids"]));
        assert!(again.is_none(), "{at}: job {job_id} is recorded twice");
    }
    let intents = state["intents"]
        .as_array()
        .map(|intents| {
            intents
                .iter()
                .map(|intent| strings(&intent["desktop_ids"]).into_iter().collect())
                .collect()
        })
        .unwrap_or_default();
    let unconfirmed = state["unconfirmed"].as_array().map_or(0, Vec::len);
    Recorded {
        jobs,
        intents,
        unconfirmed,
    }
}

/// Every invariant that must hold whenever deskprune is stopped, however. With `graceful`,
/// every job the service created is recorded (a signal waits for the answers in flight).
fn check_after_stop(
    world: &World,
    validator: &jsonschema::Validator,
    tally: &mut Tally,
    graceful: bool,
    at: &str,
) {
    let state = recorded(world, validator, at);
    if let Ok(bytes) = std::fs::read(world.path("deskprune.state.json.backup"))
        && serde_json::from_slice::<Value>(&bytes).is_err()
    {
        tally.torn_backups += 1;
    }

    // Every job the service created is recorded with exactly its desktops, or is an open
    // intent naming exactly them (the next run looks it up); the state names no other job.
    let created: BTreeMap<String, Vec<String>> = world.simulator_jobs().into_iter().collect();
    let listed: std::collections::HashMap<String, String> = world.listed().into_iter().collect();
    for (job_id, ids) in &created {
        match state.jobs.get(job_id) {
            Some(in_state) => assert_eq!(in_state, ids, "{at}: job {job_id} recorded wrongly"),
            None => {
                let desktops: BTreeSet<String> = ids.iter().cloned().collect();
                assert!(
                    state.intents.contains(&desktops),
                    "{at}: job {job_id} is neither recorded nor an open intent"
                );
                for id in ids {
                    let status = listed.get(id).map(String::as_str);
                    assert!(
                        status.is_none_or(|s| s == "deleting"),
                        "{at}: job {job_id} is not recorded, and its desktop {id} shows {status:?}"
                    );
                }
                assert!(
                    !graceful,
                    "{at}: a signal left job {job_id} unrecorded (an open intent)"
                );
                tally.open_after_stop += 1;
            }
        }
    }
    for job_id in state.jobs.keys() {
        assert!(
            created.contains_key(job_id),
            "{at}: the state records job {job_id}, which the service never created"
        );
    }

    // No desktop was sent twice, and none that must stay was sent at all.
    let keep = must_stay();
    let mut sent = HashSet::new();
    for call in world.stats().batch_delete_ids {
        for id in call {
            assert!(!keep.contains(&id), "{at}: {id} must stay, yet was sent");
            assert!(sent.insert(id.clone()), "{at}: {id} was sent twice");
        }
    }
}

/// What the next apply will delete, read with `plan --json`; checked to hold nothing already
/// sent and nothing that must stay. A list that moved while read (jobs ending under the read)
/// is read again.
fn planned_deletions(world: &World, at: &str) -> usize {
    for _ in 0..5 {
        let run = world.run(&["plan", "--json"]);
        if run.code() == 1 && run.stderr().contains("changed while it was being read") {
            continue;
        }
        run.success();
        let plan: Value = serde_json::from_str(&run.stdout()).unwrap();
        let sent: HashSet<String> = world
            .stats()
            .batch_delete_ids
            .concat()
            .into_iter()
            .collect();
        let keep = must_stay();
        let deletions = plan["deletions"].as_array().unwrap();
        for desktop in deletions {
            let id = desktop["desktop_id"].as_str().unwrap();
            assert!(!sent.contains(id), "{at}: the plan sends {id} again");
            assert!(
                !keep.contains(id),
                "{at}: the plan deletes {id}, which must stay"
            );
        }
        return deletions.len();
    }
    panic!("{at}: the inventory never read stable");
}

/// Waits (bounded) until no desktop is being deleted any more.
fn settle(world: &World, at: &str) {
    let deadline = Instant::now() + WAIT_CAP;
    while Instant::now() < deadline {
        let plan = world.run(&["plan", "--json"]);
        plan.success();
        let plan: Value = serde_json::from_str(&plan.stdout()).unwrap();
        if plan["summary"]["in_progress"] == 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{at}: desktops were still being deleted after {WAIT_CAP:?}");
}

/// Runs apply to its end (bounded), then checks that the world converged and that the
/// service's jobs and the recorded ones are the same.
fn finish(world: &World, validator: &jsonschema::Validator, tally: &mut Tally, at: &str) {
    for _ in 0..5 {
        planned_deletions(world, at);
        let run = apply_command(world).run();
        match run.code() {
            0 => break,
            1 if run.stderr().contains("changed while it was being read") => continue,
            _ => panic!("{at}: the final apply failed:\n{}", run.transcript(world)),
        }
    }
    check_after_stop(world, validator, tally, true, at);
    let state = recorded(world, validator, at);
    let created: BTreeMap<String, Vec<String>> = world.simulator_jobs().into_iter().collect();
    assert_eq!(
        state.jobs, created,
        "{at}: the recorded jobs are the service's"
    );
    assert!(state.intents.is_empty(), "{at}: an intent is left open");
    assert_eq!(state.unconfirmed, 0, "{at}: a job ID was never found");
    settle(world, at);
    tally.stray_temp_files += std::fs::read_dir(world.dir.path())
        .unwrap()
        .filter(|entry| {
            let name = entry.as_ref().unwrap().file_name();
            name.to_string_lossy().ends_with(".tmp")
        })
        .count();
    let plan = world.run(&["plan", "--detailed-exitcode"]);
    plan.success();
    assert!(
        plan.stdout().contains("No changes."),
        "{at}: {}",
        plan.stdout()
    );

    let mut remaining = world.remaining();
    let mut expected: Vec<String> = must_stay().into_iter().collect();
    remaining.sort();
    expected.sort();
    assert_eq!(
        remaining, expected,
        "{at}: exactly the desktops that must stay remain"
    );
    let sent: usize = world.stats().batch_delete_ids.iter().map(Vec::len).sum();
    assert_eq!(sent, DELETIONS, "{at}: every deletion sent exactly once");
    for job in world.state()["jobs"].as_array().unwrap() {
        assert_eq!(job["status"], "succeeded", "{at}: {job}");
    }
}

#[test]
fn apply_survives_being_stopped_anywhere() {
    let validator = validator();
    // Each scenario has a world (simulator, folder) of its own, and its stops are found from
    // that simulator's counters, so scenarios run side by side: most of a run is waiting.
    let tallies: Vec<(usize, Tally)> = std::thread::scope(|threads| {
        let running: Vec<_> = SCENARIOS
            .iter()
            .enumerate()
            .map(|(scenario, stops)| {
                let validator = &validator;
                threads.spawn(move || run_scenario(scenario, stops, validator))
            })
            .collect();
        running
            .into_iter()
            .map(|thread| thread.join().expect("a scenario failed"))
            .collect()
    });
    let mut tally = Tally::default();
    let mut tried = 0;
    for (stops, each) in tallies {
        tried += stops;
        tally.add(&each);
    }
    eprintln!(
        "crash consistency: {tried} stops tried ({} hit a running apply, {} found it finished) in {} scenarios; {} accepted jobs were open intents after a stop and found by the next run; {} torn backups, {} stray temp files seen",
        tally.hits,
        tally.finished_first,
        SCENARIOS.len(),
        tally.open_after_stop,
        tally.torn_backups,
        tally.stray_temp_files,
    );
    assert!(
        tally.hits * 4 >= tried * 3,
        "only {} of {tried} stops hit a running apply: the points miss the runs",
        tally.hits
    );
}
