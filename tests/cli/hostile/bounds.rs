//! Bounded work: following jobs ends, and `--timeout` holds within a few seconds, whatever the
//! job calls answer: a sub-job list whose `total_count` lies and whose pages repeat or never
//! run out, a ShowJob that keeps failing. `jobs --refresh` is bounded the same way.

use std::time::{Duration, Instant};

use deskprune::simulator::FaultRule;
use serde_json::json;

use super::*;

/// ShowJob says `COMPLETE` without sub-jobs once the job has ended, so the sub-job list is
/// read; each of its pages gets `fill` more made-up sub-jobs and a `total_count` of a million.
fn lying_sub_jobs(world: &World, fill: fn(usize) -> Vec<Value>) -> Hostile {
    let first_page = std::sync::Mutex::new(Vec::<Value>::new());
    Hostile::in_front_of(world)
        .rewrite(SHOW_JOB, |_, answer| {
            answer.edit_json(|job| {
                if job["status"] == "SUCCESS" {
                    job["status"] = json!("COMPLETE");
                    job.as_object_mut().unwrap().remove("sub_jobs");
                }
            })
        })
        .rewrite(SUB_JOBS, move |n, answer| {
            answer.edit_json(|page| {
                // An error (an offset past the spec's 10,000, say) goes back as it is.
                let Some(jobs) = page.get_mut("jobs").and_then(Value::as_array_mut) else {
                    return;
                };
                let mut first = first_page.lock().unwrap();
                if first.is_empty() {
                    *first = jobs.clone();
                }
                if jobs.is_empty() {
                    // Past the end: the first page again.
                    *jobs = first.clone();
                }
                jobs.extend(fill(n));
                page["total_count"] = json!(1_000_000);
            })
        })
        .start()
}

fn repeat(_: usize) -> Vec<Value> {
    Vec::new()
}

/// A thousand sub-jobs of other desktops, new on every page.
fn fresh(n: usize) -> Vec<Value> {
    (0..1000)
        .map(|i| {
            json!({
                "id": format!("made-up-{n}-{i}"),
                "status": "SUCCESS",
                "entities": {"desktop_id": format!("made-up-desktop-{n}-{i}")},
            })
        })
        .collect()
}

#[test]
fn a_lying_sub_job_list_ends() {
    for fill in [repeat, fresh] {
        let world = world();
        let proxy = lying_sub_jobs(&world, fill);
        config(&world, &proxy, "");
        let run = run(
            &world,
            &[
                "apply",
                "--auto-approve",
                "--allow-deletions",
                "3",
                "--timeout",
                "20",
            ],
        );
        run.success();
        let job = &world.state()["jobs"][0];
        assert_eq!(job["status"], "succeeded", "{job:#}");
        let pages = proxy.calls(SUB_JOBS);
        assert!(pages <= 2, "{pages} pages read for a job of 3 desktops");
    }
}

#[test]
fn jobs_refresh_ends_on_a_lying_sub_job_list() {
    for fill in [repeat, fresh] {
        let world = world();
        let proxy = lying_sub_jobs(&world, fill);
        config(&world, &proxy, "");
        run(
            &world,
            &[
                "apply",
                "--auto-approve",
                "--allow-deletions",
                "3",
                "--no-wait",
            ],
        )
        .success();
        std::thread::sleep(Duration::from_millis(500));
        let refreshed = run(&world, &["jobs", "--refresh"]);
        refreshed.success();
        assert_eq!(world.state()["jobs"][0]["status"], "succeeded");
    }
}

/// Every ShowJob answers 500 and asks for 20 s before the next try; the config has the
/// defaults: five retries, 30 s per call.
fn failing_show_job() -> World {
    let world = World::with_options(
        team(6),
        SimulatorOptions {
            token: Some(TOKEN.into()),
            faults: vec![
                "show_job:from=1:status=500:retry_after=20"
                    .parse::<FaultRule>()
                    .unwrap(),
            ],
            ..SimulatorOptions::default()
        },
    );
    world.config(
        "[scope]\ntags = { team = \"eng\" }\n\n[guard]\nmax_deletions = 100\nmax_delete_percent = 100\n\n\
         [[desktop]]\nname = \"eng-0000\"\n[[desktop]]\nname = \"eng-0001\"\n[[desktop]]\nname = \"eng-0002\"\n",
    );
    world
}

#[test]
fn the_timeout_holds_while_show_job_keeps_failing() {
    let world = failing_show_job();
    let started = Instant::now();
    let applied = run(
        &world,
        &[
            "apply",
            "--auto-approve",
            "--allow-deletions",
            "3",
            "--timeout",
            "3",
        ],
    );
    let took = started.elapsed();
    assert_eq!(applied.code(), 4, "{}", applied.stderr());
    assert!(
        took < Duration::from_secs(10),
        "`--timeout 3` took {took:?}"
    );
}

#[test]
fn a_refresh_is_bounded_while_show_job_keeps_failing() {
    let world = failing_show_job();
    run(
        &world,
        &[
            "apply",
            "--auto-approve",
            "--allow-deletions",
            "3",
            "--no-wait",
        ],
    )
    .success();
    // A refresh asks once, within its bound (`--timeout`, here 3 s; 30 s by default), and says
    // it could not read the job.
    let started = Instant::now();
    let refreshed = run(&world, &["jobs", "--refresh", "--timeout", "3"]);
    refreshed.success();
    assert!(
        started.elapsed() < Duration::from_secs(13),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        refreshed
            .stderr()
            .contains("1 unfinished job could not be read"),
        "{}",
        refreshed.stderr()
    );
    assert_eq!(world.state()["jobs"][0]["status"], "pending");
}

/// A throttled answer's stated limit paces the calls and never stalls them: one that states a
/// call a day (the rate is held at its floor, 0.5 calls a second, for 10 s), one far beyond
/// any rate, and one that does not parse (the rate is left to its curve). Each plan ends.
#[test]
fn a_stated_limit_paces_the_calls_and_never_stalls_them() {
    let cases = [
        (
            "limit:1,time:1 day",
            Some("the gateway's limit: 1 call a day"),
        ),
        (
            "limit:4294967295,time:1 second",
            Some("the gateway's limit: 4294967295 calls a second"),
        ),
        ("limit:-1,time:1 fortnight", None),
    ];
    side_by_side(cases, |(stated, logged)| {
        let world = world();
        let message = format!(
            "The throttling threshold has been reached: policy user over ratelimit,{stated}"
        );
        let proxy = Hostile::in_front_of(&world)
            .on(LIST, move |n, _| match n {
                1 => Reply::Own(json(
                    429,
                    &json!({"error_msg": message, "error_code": "APIGW.0308", "request_id": "r1"}),
                )),
                _ => Reply::Forward,
            })
            .start();
        config(&world, &proxy, "");
        let planned = run(&world, &["-v", "plan"]);
        planned.success();
        assert!(planned.stdout().contains("Plan: 3 to delete"), "{stated}");
        let stderr = planned.stderr();
        assert!(
            stderr.contains("(throttled: APIGW.0308)"),
            "{stated}:\n{stderr}"
        );
        match logged {
            Some(logged) => assert!(stderr.contains(logged), "{stated}:\n{stderr}"),
            None => assert!(
                !stderr.contains("the gateway's limit"),
                "{stated}:\n{stderr}"
            ),
        }
        assert_eq!(proxy.calls(LIST), 2, "{stated}: read again once");
    });
}
