//! Team state on an S3 store (issue 13): the real binary against the simulator and a real S3
//! server (moto) on loopback, directly or through a proxy that counts, strips conditions and
//! injects faults. Skipped with a notice where moto cannot run (no Python); under `CI=true`
//! a missing moto fails.

mod basic;
mod bounds;
mod ci_examples;
mod concurrency;
mod faults;
mod harness;
mod history;
mod lease;
mod secrets;
mod takeover;

use std::collections::BTreeMap;

use deskprune::simulator::SimulatorOptions;
use serde_json::Value;

use crate::support::s3::*;
use crate::support::*;

/// The state key every scenario uses, unless it needs two.
pub const KEY: &str = "prod/deskprune.state.json";

/// `[scope]`, a budget that allows every deletion, quick retries, `batch_size`, `[state]` at
/// `store` (lease `lease` s), and `[[desktop]]` tables keeping `eng-0000`… below `keep`.
pub fn config(world: &World, store: &str, keep: usize, batch_size: usize, lease: u64) {
    config_key(world, store, KEY, keep, batch_size, lease);
}

/// [`config`] with the state at `key`.
pub fn config_key(
    world: &World,
    store: &str,
    key: &str,
    keep: usize,
    batch_size: usize,
    lease: u64,
) {
    let mut text = format!(
        "[scope]\ntags = {{ team = \"eng\" }}\n\n[delete]\nbatch_size = {batch_size}\n\n\
         [guard]\nmax_deletions = 100000\nmax_delete_percent = 100\n\n\
         [client]\nrequests_per_second = 1000\nmax_retries = 2\n\n{}",
        Moto::state_table(store, key, lease)
    );
    for i in 0..keep {
        text.push_str(&format!("[[desktop]]\nname = \"eng-{i:04}\"\n"));
    }
    world.config(&text);
}

/// `n` desktops of team `eng` on a simulator that answers each call after `latency_ms` ms.
pub fn slow_team(n: usize, latency_ms: u64) -> World {
    World::with_options(
        team(n),
        SimulatorOptions {
            latency: std::time::Duration::from_millis(latency_ms),
            ..SimulatorOptions::default()
        },
    )
}

/// `world`'s config (written by [`config`]) with one call in flight at a time.
pub fn one_at_a_time(world: &World) {
    std::fs::write(
        world.path("deskprune.toml"),
        read(&world.path("deskprune.toml")).replace(
            "max_retries = 2\n",
            "max_retries = 2\nmax_concurrency = 1\n",
        ),
    )
    .unwrap();
}

/// `args` in `world` with the store's credentials (AWS variables).
pub fn command(world: &World, args: &[&str]) -> Cmd {
    world
        .command(args)
        .env("AWS_ACCESS_KEY_ID", STORE_AK)
        .env("AWS_SECRET_ACCESS_KEY", STORE_SK)
}

/// Fails when `text` shows a secret: the store's or the API's secret key.
#[track_caller]
pub fn assert_no_secret(what: &str, text: &str) {
    for secret in [STORE_SK, SK] {
        assert!(!text.contains(secret), "{what} shows a secret key:\n{text}");
    }
}

/// Runs `args` with the store's credentials; fails if any output shows a secret.
#[track_caller]
pub fn run(world: &World, args: &[&str]) -> Run {
    let run = command(world, args).run();
    assert_no_secret(&format!("stdout of {args:?}"), &run.stdout());
    assert_no_secret(&format!("stderr of {args:?}"), &run.stderr());
    run
}

/// Job ID → desktop IDs of every job recorded under `key` in the bucket: in the state head and
/// in every run record, wherever in them a `{job_id, desktop_ids}` object sits.
pub fn recorded_jobs(bucket: &Bucket, key: &str) -> BTreeMap<String, Vec<String>> {
    let mut jobs = BTreeMap::new();
    let mut documents: Vec<Value> = bucket.get_json(key).into_iter().collect();
    for (run_key, _) in bucket.list(&format!("{key}.runs/")) {
        documents.extend(bucket.get_json(&run_key));
    }
    for document in &documents {
        collect_jobs(document, &mut jobs);
    }
    jobs
}

/// Job ID → desktop IDs of every `{job_id, desktop_ids}` object in `value`.
pub fn collect_jobs(value: &Value, jobs: &mut BTreeMap<String, Vec<String>>) {
    match value {
        Value::Object(map) => {
            if let (Some(Value::String(job)), Some(Value::Array(ids))) =
                (map.get("job_id"), map.get("desktop_ids"))
            {
                let mut ids: Vec<String> = ids
                    .iter()
                    .filter_map(|id| id.as_str().map(String::from))
                    .collect();
                ids.sort();
                jobs.insert(job.clone(), ids);
            }
            map.values().for_each(|inner| collect_jobs(inner, jobs));
        }
        Value::Array(items) => items.iter().for_each(|inner| collect_jobs(inner, jobs)),
        _ => {}
    }
}

/// Job ID → desktop IDs of every job the simulator created.
pub fn accepted_jobs(world: &World) -> BTreeMap<String, Vec<String>> {
    world
        .simulator_jobs()
        .into_iter()
        .map(|(job, mut ids)| {
            ids.sort();
            (job, ids)
        })
        .collect()
}

/// After an apply stopped early (before all `all` of its calls were accepted): every job the
/// service accepted is printed on `stderr`, and no desktop was sent twice. The accepted jobs.
#[track_caller]
pub fn assert_stopped_printing_every_accepted_job(
    world: &World,
    stderr: &str,
    all: usize,
) -> BTreeMap<String, Vec<String>> {
    let accepted = accepted_jobs(world);
    assert!(
        accepted.len() < all,
        "the apply stopped: {} of {all} calls accepted",
        accepted.len()
    );
    for job in accepted.keys() {
        assert!(
            stderr.contains(job),
            "accepted job {job} is printed:\n{stderr}"
        );
    }
    assert_none_sent_twice(world);
    accepted
}

/// Fails when a desktop was sent in two batch-deletes.
#[track_caller]
pub fn assert_none_sent_twice(world: &World) {
    let mut seen = std::collections::HashSet::new();
    for ids in world.stats().batch_delete_ids {
        for id in ids {
            assert!(seen.insert(id.clone()), "`{id}` was submitted twice");
        }
    }
}
