//! What a locked apply costs the store: at most 3 calls per chunk beyond a fixed overhead per
//! run, and a per-chunk state write that stays under 64 KiB after 1,000 recorded runs. The
//! figures are printed (run with `--nocapture` to read them) and the bounds asserted; times
//! are printed only, never asserted.

use std::time::{Duration, Instant};

use crate::support::s3::*;
use crate::support::*;

use super::*;

/// Most a per-chunk state write may weigh.
const WRITE_BOUND: usize = 64 * 1024;

/// What one apply asked of the store.
struct Cost {
    calls: usize,
    head_writes: usize,
    largest_head_write: usize,
    elapsed: Duration,
    /// The calls by kind: `PUT lock 2, GET head 1, …`.
    breakdown: String,
}

/// What a request touches: the lock, the probe, the head, a run record, or the bucket (lists,
/// bulk deletes).
fn kind(request: &StoreRequest) -> &'static str {
    let path = &request.path;
    if path.ends_with(".lock") || request.deletes(".lock") {
        "lock"
    } else if path.ends_with(".probe") || request.deletes(".probe") {
        "probe"
    } else if path.contains(".runs/") {
        "run record"
    } else if path.ends_with(".json") {
        "head"
    } else {
        "bucket"
    }
}

fn breakdown(requests: &[StoreRequest]) -> String {
    let mut counts = std::collections::BTreeMap::new();
    for request in requests {
        *counts
            .entry(format!("{} {}", request.method, kind(request)))
            .or_insert(0) += 1;
    }
    counts
        .iter()
        .map(|(what, count)| format!("{what} {count}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs apply in `world` (configured at `proxy`, state at `key`) and counts its store requests.
fn apply_counted(world: &World, proxy: &StoreProxy, key: &str) -> Cost {
    proxy.reset_counts();
    let started = Instant::now();
    run(world, &["apply", "--auto-approve"]).success();
    let elapsed = started.elapsed();
    let requests = proxy.requests();
    let head_writes: Vec<usize> = requests
        .iter()
        .filter(|request| request.is("PUT", key))
        .map(|request| request.body_len)
        .collect();
    Cost {
        calls: requests.len(),
        head_writes: head_writes.len(),
        largest_head_write: head_writes.into_iter().max().unwrap_or(0),
        elapsed,
        breakdown: breakdown(&requests),
    }
}

#[test]
fn a_locked_apply_adds_at_most_three_store_calls_per_chunk() {
    let Some(moto) = Moto::start() else { return };
    let proxy = StoreProxy::in_front_of(&moto.endpoint);
    // 50 and 100 deletions in chunks of 10: the difference is 5 chunks' calls.
    let cost = |deletions: usize, key: &str| {
        let world = World::new(team(50 + deletions));
        config_key(&world, &proxy.endpoint, key, 50, 10, 60);
        let cost = apply_counted(&world, &proxy, key);
        assert_eq!(recorded_jobs(&moto, key), accepted_jobs(&world));
        cost
    };
    let fifty = cost(50, "fifty/deskprune.state.json");
    let hundred = cost(100, "hundred/deskprune.state.json");
    let per_chunk = (hundred.calls as f64 - fifty.calls as f64) / 5.0;
    let overhead = fifty.calls as f64 - 5.0 * per_chunk;

    // The same 100 deletions with the local state, for the time the store adds.
    let local = World::new(team(150));
    config(&local, &proxy.endpoint, 50, 10, 60);
    let text = read(&local.path("deskprune.toml"))
        .replace(&Moto::state_table(&proxy.endpoint, KEY, 60), "");
    std::fs::write(local.path("deskprune.toml"), text).unwrap();
    let started = Instant::now();
    run(&local, &["apply", "--auto-approve"]).success();
    let local_elapsed = started.elapsed();

    eprintln!(
        "store calls: 50 deletions (5 chunks) {}, 100 deletions (10 chunks) {}; \
         {per_chunk:.1} per chunk, {overhead:.1} per run; state writes {} and {}",
        fifty.calls, hundred.calls, fifty.head_writes, hundred.head_writes
    );
    eprintln!("50 deletions: {}", fifty.breakdown);
    eprintln!("100 deletions: {}", hundred.breakdown);
    eprintln!(
        "100-desktop apply: {:.2} s with the s3 backend, {:.2} s with the local state \
         (adds {:.2} s); largest state write {} bytes",
        hundred.elapsed.as_secs_f64(),
        local_elapsed.as_secs_f64(),
        hundred.elapsed.as_secs_f64() - local_elapsed.as_secs_f64(),
        hundred.largest_head_write
    );
    assert!(
        per_chunk <= 3.0,
        "a chunk costs {per_chunk:.1} store calls (at most 3): {:?}",
        proxy.requests()
    );
}

/// `id` with its last four characters replaced by `n` (four digits): a run or job ID of the
/// same shape, different from every other `n`.
fn variant(id: &str, n: usize) -> String {
    let cut = id.char_indices().rev().nth(3).map_or(0, |(at, _)| at);
    format!("{}{n:04}", &id[..cut])
}

#[test]
fn after_a_thousand_recorded_runs_the_per_chunk_write_stays_under_64_kib() {
    let Some(moto) = Moto::start() else { return };
    let proxy = StoreProxy::in_front_of(&moto.endpoint);
    let world = World::new(team(120));

    // One real run, recorded by deskprune: 10 deletions.
    config(&world, &proxy.endpoint, 110, 10, 60);
    run(&world, &["apply", "--auto-approve"]).success();
    let runs = moto.list(&format!("{KEY}.runs/"));
    assert!(!runs.is_empty(), "the run is recorded under `{KEY}.runs/`");
    let (run_key, _) = &runs[0];
    let body = String::from_utf8(moto.get(run_key).unwrap()).unwrap();
    let run_id = run_key
        .trim_start_matches(&format!("{KEY}.runs/"))
        .trim_end_matches(".json")
        .to_string();
    let mut jobs = std::collections::BTreeMap::new();
    collect_jobs(&serde_json::from_str(&body).unwrap(), &mut jobs);
    assert!(!jobs.is_empty(), "the run record holds its jobs: {body}");

    // 1,000 more like it, written straight into the bucket, each with its own run and job IDs.
    let started = Instant::now();
    let mut cloned_jobs = Vec::new();
    let mut records = Vec::new();
    for n in (0..=1000)
        .filter(|n| variant(&run_id, *n) != run_id)
        .take(1000)
    {
        let mut copy = body.replace(&run_id, &variant(&run_id, n));
        for job in jobs.keys() {
            let new_job = variant(job, n);
            copy = copy.replace(job.as_str(), &new_job);
            cloned_jobs.push(new_job);
        }
        records.push((format!("{KEY}.runs/{}.json", variant(&run_id, n)), copy));
    }
    // Four writers at once: the server, not the order, is what the seeding waits on.
    std::thread::scope(|scope| {
        for writer in 0..4 {
            let (moto, records) = (&moto, &records);
            scope.spawn(move || {
                for (key, copy) in records.iter().skip(writer).step_by(4) {
                    moto.put(key, copy.clone());
                }
            });
        }
    });
    let history: u64 = moto
        .list(&format!("{KEY}.runs/"))
        .iter()
        .map(|(_, size)| size)
        .sum();
    eprintln!(
        "1,001 run records ({history} bytes) written in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // Then 100 deletions in 10 chunks.
    config(&world, &proxy.endpoint, 10, 10, 60);
    let cost = apply_counted(&world, &proxy, KEY);
    let gets = proxy.count("GET", "");
    eprintln!("after 1,001 runs, 100 deletions: {}", cost.breakdown);
    eprintln!(
        "after 1,001 runs: a 100-desktop apply made {} store calls ({gets} reads), {} state \
         writes, the largest {} bytes (bound {WRITE_BOUND}), in {:.2} s",
        cost.calls,
        cost.head_writes,
        cost.largest_head_write,
        cost.elapsed.as_secs_f64()
    );
    assert!(
        cost.head_writes > 0,
        "the state is written after the chunks"
    );
    // What keeps desktops out of plans is all in the head: apply reads no run record, and
    // does not even list them, however long the history.
    let history_reads: Vec<String> = proxy
        .requests()
        .iter()
        .filter(|request| {
            request.method == "GET" && kind(request) != "head" && kind(request) != "lock"
        })
        .map(|request| format!("{} {}", request.method, request.path))
        .collect();
    assert!(
        history_reads.is_empty(),
        "apply read the history ({} reads): {:?}",
        history_reads.len(),
        &history_reads[..history_reads.len().min(5)]
    );
    assert!(
        cost.largest_head_write < WRITE_BOUND,
        "a state write of {} bytes after 1,001 runs",
        cost.largest_head_write
    );
    let largest_write = proxy
        .requests()
        .iter()
        .filter(|request| request.method == "PUT")
        .map(|request| request.body_len)
        .max()
        .unwrap_or(0);
    assert!(
        largest_write < WRITE_BOUND,
        "no write of this run grows with history: {largest_write} bytes"
    );

    // `jobs` reads the recent runs' records only; `history` reads them all.
    proxy.reset_counts();
    let listed = run(&world, &["jobs"]);
    listed.success();
    let record_reads = proxy
        .requests()
        .iter()
        .filter(|request| request.method == "GET" && kind(request) == "run record")
        .count();
    assert!(record_reads <= 50, "`jobs` read {record_reads} run records");
    let newest = moto.list(&format!("{KEY}.runs/")).last().unwrap().0.clone();
    let newest: serde_json::Value = serde_json::from_slice(&moto.get(&newest).unwrap()).unwrap();
    let newest_job = newest["jobs"][0]["job_id"].as_str().unwrap().to_string();
    assert!(
        listed.stdout().contains(&newest_job),
        "`jobs` lists {newest_job}"
    );
    let history = run(&world, &["history"]);
    history.success();
    for job in [&cloned_jobs[0], cloned_jobs.last().unwrap()] {
        assert!(
            history.stdout().contains(job.as_str()),
            "`history` lists {job}"
        );
    }
    eprintln!("after 1,002 runs: `jobs` read {record_reads} run records");
    assert_eq!(world.remaining().len(), 10);
}
