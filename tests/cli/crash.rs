//! Crash consistency: a large `apply` killed with SIGKILL at many points (before, between and
//! right after batch-delete calls, and while it follows the jobs), run again and killed again,
//! then run to the end. After every kill the state file is whole, every job the service
//! created is either recorded or visibly under way, nothing was sent twice, and nothing that
//! must stay was ever sent.

use std::collections::{HashMap, HashSet};
use std::os::unix::process::ExitStatusExt;
use std::process::Child;
use std::time::{Duration, Instant};

use deskprune::simulator::SimulatorOptions;
use serde_json::Value;

use crate::support::*;

/// In scope (team `eng`): 300 declared, 10 protected, 1,200 to delete in 12 calls of 100.
const DECLARED: usize = 300;
const PROTECTED: usize = 10;
const DELETIONS: usize = 1200;
const IN_SCOPE: usize = DECLARED + PROTECTED + DELETIONS;
/// Out of scope (team `ops`), numbered from 50,000.
const OUT_OF_SCOPE: usize = 5;
const CALLS: usize = DELETIONS / 100;
/// How long each answer takes: the simulator carries a call out when it arrives and answers
/// this long after, so kills land between calls, and between a deletion and its answer.
const LATENCY: Duration = Duration::from_millis(20);
/// The whole kill loop stops starting new scenarios after this.
const LOOP_BUDGET: Duration = Duration::from_secs(40);
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
    let mut config = String::from(
        "[scope]\ntags = { team = \"eng\" }\n\n[delete]\nbatch_size = 100\n\n\
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

/// When to pull the plug on a running apply.
#[derive(Debug, Clone, Copy)]
enum Kill {
    /// This long after the start.
    After(Duration),
    /// As soon as the simulator has accepted this many batch-deletes in all (so usually
    /// between the service's answer and the state file's update), plus a little.
    AtCall(usize, Duration),
    /// This long after every deletion has been accepted: while the jobs are followed.
    Following(Duration),
}

#[derive(Debug, Default)]
struct Tally {
    /// Kills that hit a running process.
    kills: usize,
    /// Runs that ended on their own before the kill was due.
    finished_first: usize,
    /// Accepted jobs missing from the state file (the kill fell between the service's answer
    /// and the save): their desktops were seen as deleting or gone.
    unrecorded_jobs: usize,
    /// Backup files that were not valid JSON right after a kill.
    torn_backups: usize,
    /// Temporary files left in the folder by killed saves.
    stray_temp_files: usize,
    scenarios: usize,
}

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(&read(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/state.schema.json"),
    ))
    .unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

fn apply_command(world: &World, deletions: usize) -> Cmd {
    world.command(&[
        "apply",
        "--auto-approve",
        "--allow-deletions",
        &deletions.to_string(),
    ])
}

fn accepted(world: &World) -> (usize, usize) {
    let stats = world.stats();
    (
        stats.batch_delete_ids.len(),
        stats.batch_delete_ids.iter().map(Vec::len).sum(),
    )
}

/// Waits (bounded) until `ready` holds or the child has ended; true when `ready` held.
fn wait_for(child: &mut Child, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + WAIT_CAP;
    while Instant::now() < deadline {
        if ready() {
            return true;
        }
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    panic!("waited {WAIT_CAP:?} for a kill point that never came");
}

/// Runs apply for `deletions` and kills it at `kill`. Returns whether the kill hit it running.
fn run_and_kill(world: &World, deletions: usize, kill: Kill) -> bool {
    let calls_before = accepted(world).0;
    let ids_before = accepted(world).1;
    let mut child = apply_command(world, deletions).spawn_silent();
    let reached = match kill {
        Kill::After(delay) => {
            let deadline = Instant::now() + delay;
            wait_for(&mut child, || Instant::now() >= deadline)
        }
        Kill::AtCall(call, extra) => {
            let target = if call > calls_before {
                call
            } else {
                calls_before + 1
            };
            wait_for(&mut child, || accepted(world).0 >= target)
                && sleep_then_alive(&mut child, extra)
        }
        Kill::Following(extra) => {
            wait_for(&mut child, || accepted(world).1 >= ids_before + deletions)
                && sleep_then_alive(&mut child, extra)
        }
    };
    let alive = reached && child.try_wait().unwrap().is_none();
    if alive {
        child.kill().unwrap();
    }
    let status = wait_with_cap(&mut child);
    match status.signal() {
        Some(9) => true,
        Some(other) => panic!("apply died of signal {other}"),
        None => {
            // Ended before the kill: a normal run, which must have succeeded or been refused
            // for a reason the next run fixes (never a crash).
            assert!(
                matches!(status.code(), Some(0 | 1)),
                "apply ended with {status}"
            );
            false
        }
    }
}

fn sleep_then_alive(child: &mut Child, delay: Duration) -> bool {
    std::thread::sleep(delay);
    child.try_wait().unwrap().is_none()
}

fn wait_with_cap(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + WAIT_CAP;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("apply did not end within {WAIT_CAP:?}");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Every invariant that must hold whenever deskprune is dead, however it died. Returns how many
/// of the service's jobs the state file does not record.
fn check_after_kill(
    world: &World,
    validator: &jsonschema::Validator,
    tally: &mut Tally,
    at: &str,
) -> usize {
    // The state file is absent or whole and valid.
    let state_path = world.path("deskprune.state.json");
    let recorded: HashMap<String, Vec<String>> = match std::fs::read(&state_path) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => HashMap::new(),
        Err(err) => panic!("{at}: cannot read the state file: {err}"),
        Ok(bytes) => {
            let state: Value = serde_json::from_slice(&bytes)
                .unwrap_or_else(|err| panic!("{at}: the state file is not JSON: {err}"));
            let errors: Vec<String> = validator
                .iter_errors(&state)
                .map(|e| e.to_string())
                .collect();
            assert!(
                errors.is_empty(),
                "{at}: the state file breaks its schema: {errors:#?}"
            );
            state["jobs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|job| {
                    let ids = job["desktop_ids"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|id| id.as_str().unwrap().to_string())
                        .collect();
                    (job["job_id"].as_str().unwrap().to_string(), ids)
                })
                .collect()
        }
    };
    let backup = world.path("deskprune.state.json.backup");
    if let Ok(bytes) = std::fs::read(&backup)
        && serde_json::from_slice::<Value>(&bytes).is_err()
    {
        tally.torn_backups += 1;
    }

    // Every job the service created is recorded with exactly its desktops, or its desktops are
    // visibly being deleted (or gone), so no later plan sends them again.
    let jobs = world.simulator_jobs();
    let listed: HashMap<String, String> = world.listed().into_iter().collect();
    let mut unrecorded = 0;
    for (job_id, ids) in &jobs {
        match recorded.get(job_id) {
            Some(in_state) => assert_eq!(in_state, ids, "{at}: job {job_id} recorded wrongly"),
            None => {
                unrecorded += 1;
                for id in ids {
                    let status = listed.get(id).map(String::as_str);
                    assert!(
                        status.is_none_or(|s| s == "deleting"),
                        "{at}: job {job_id} is not recorded, and its desktop {id} shows {status:?}"
                    );
                }
            }
        }
    }
    for job_id in recorded.keys() {
        assert!(
            jobs.iter().any(|(id, _)| id == job_id),
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
    unrecorded
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

/// Waits (bounded) until no desktop is being deleted any more. A job whose answer a kill lost
/// is not the final run's to follow: its desktops show as being deleted until it ends.
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

/// Runs apply to its end (bounded), then checks that the world converged.
fn finish(world: &World, validator: &jsonschema::Validator, tally: &mut Tally, at: &str) {
    for _ in 0..5 {
        let deletions = planned_deletions(world, at);
        let run = apply_command(world, deletions).run();
        match run.code() {
            0 => break,
            1 if run.stderr().contains("changed while it was being read") => continue,
            _ => panic!("{at}: the final apply failed:\n{}", run.transcript(world)),
        }
    }
    check_after_kill(world, validator, tally, at);
    settle(world, at);
    tally.stray_temp_files += std::fs::read_dir(world.dir.path())
        .unwrap()
        .filter(|entry| {
            let name = entry.as_ref().unwrap().file_name();
            name.to_string_lossy().starts_with(".tmp")
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
    // A run killed before its first save leaves no state file: the jobs it started were
    // carried out all the same, and their desktops are gone (checked above).
    if world.path("deskprune.state.json").exists() {
        for job in world.state()["jobs"].as_array().unwrap() {
            assert_eq!(job["status"], "succeeded", "{at}: {job}");
        }
    }
}

/// The kills of one scenario, spread over a run of `typical` length: the first run is killed
/// at a batch-delete call or at a time, the run that resumes it at a time, and the third while
/// it follows its jobs. Fractions follow the golden ratio, so however many scenarios the
/// budget allows, their kill times spread evenly over the run.
fn kill_points(scenario: usize, typical: Duration) -> [Kill; 3] {
    const GOLDEN: f64 = 0.618_033_988_749_895;
    let fraction = |offset: f64| (scenario as f64 * GOLDEN + offset).fract();
    let first = if scenario.is_multiple_of(2) {
        let call = 1 + (scenario / 2) % CALLS;
        Kill::AtCall(call, Duration::from_millis([0, 2, 7][scenario / 2 % 3]))
    } else {
        Kill::After(typical.mul_f64(fraction(0.0)))
    };
    // A resumed run is shorter: it has fewer deletions left.
    let second = Kill::After(typical.mul_f64(0.7 * fraction(0.5)));
    let third = Kill::Following(Duration::from_millis([0, 40, 120, 250, 400][scenario % 5]));
    [first, second, third]
}

#[test]
fn apply_survives_sigkill_anywhere() {
    let started = Instant::now();
    let validator = validator();
    let mut tally = Tally::default();

    // One undisturbed run, to learn how long a run takes here.
    let calibration = world();
    let clock = Instant::now();
    let run = apply_command(&calibration, DELETIONS).run();
    let typical = clock.elapsed();
    assert_eq!(run.code(), 0, "{}", run.transcript(&calibration));
    finish(&calibration, &validator, &mut tally, "calibration");
    drop(calibration);

    let mut tried = 0;
    for scenario in 0..1000 {
        if started.elapsed() >= LOOP_BUDGET {
            break;
        }
        let kills = kill_points(scenario, typical);
        let world = world();
        tally.scenarios += 1;
        let mut deletions = DELETIONS;
        for (step, kill) in kills.iter().enumerate() {
            let at = format!("scenario {scenario}, kill {step} ({kill:?})");
            tried += 1;
            if run_and_kill(&world, deletions, *kill) {
                tally.kills += 1;
            } else {
                tally.finished_first += 1;
            }
            let unrecorded = check_after_kill(&world, &validator, &mut tally, &at);
            if step + 1 == kills.len() {
                // Unrecorded jobs stay so: count them once per world.
                tally.unrecorded_jobs += unrecorded;
            }
            deletions = planned_deletions(&world, &at);
        }
        finish(
            &world,
            &validator,
            &mut tally,
            &format!("scenario {scenario}, final run"),
        );
    }
    let elapsed = started.elapsed();
    eprintln!(
        "crash consistency: {tried} kill points tried ({} hit a running apply, {} found it finished) in {} scenarios, {elapsed:.1?} in all (a run takes {typical:.0?}); {} accepted jobs were unrecorded at a kill and handled by the next plan; {} torn backups, {} stray temp files seen",
        tally.kills,
        tally.finished_first,
        tally.scenarios,
        tally.unrecorded_jobs,
        tally.torn_backups,
        tally.stray_temp_files,
    );
    assert!(
        elapsed < Duration::from_secs(60),
        "the kill loop took {elapsed:?}"
    );
    assert!(
        tally.kills >= 10,
        "only {} kills hit a running apply: the kill points miss the run",
        tally.kills
    );
}
