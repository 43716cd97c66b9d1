//! What outlives a request: snapshots, the inventory file, counters, shutdown and latency.

use std::time::{Duration, Instant};

use serde_json::json;

use super::harness::{Call, ids, numbered, options, serve, start};
use crate::simulator::{Simulator, SimulatorOptions, Snapshot, Stats, read_inventory};

#[tokio::test]
async fn a_snapshot_round_trips_and_its_jobs_keep_running() {
    let timed = SimulatorOptions {
        job_duration: Duration::from_millis(600),
        ..options()
    };
    let server = start(timed.clone(), numbered(3)).await;
    let body = json!({"desktop_ids": ["id-00001"]});
    let accepted = server
        .expect(Call::post("desktops/batch-delete", &body), 202)
        .await;
    let snapshot = server.simulator.snapshot();
    server.stop().await.expect("a clean shutdown");

    let text = serde_json::to_string(&snapshot).expect("serialisable");
    let restored: Snapshot = serde_json::from_str(&text).expect("deserialisable");
    assert_eq!(restored, snapshot);
    let simulator = Simulator::from_snapshot(timed, restored);
    assert_eq!(simulator.snapshot(), snapshot);
    assert_eq!(simulator.stats(), Stats::default());

    let server = serve(simulator).await;
    let job_path = format!(
        "workspace-jobs/{}",
        accepted["job_id"].as_str().expect("id")
    );
    let job = server.expect(Call::get(&job_path), 200).await;
    assert_ne!(job["status"], "SUCCESS");
    let started = Instant::now();
    while server.expect(Call::get(&job_path), 200).await["status"] != "SUCCESS" {
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "the job never ends"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let left = server.expect(Call::get("desktops"), 200).await;
    assert_eq!(ids(&left), ["id-00000", "id-00002"]);
}

#[tokio::test]
async fn stats_count_every_call_and_are_served_without_auth() {
    let server = start(options(), numbered(2)).await;
    server.expect(Call::get("desktops"), 200).await;
    server.expect(Call::get("desktops/detail"), 200).await;
    server
        .expect(Call::get("desktops").secret_key("wrong"), 401)
        .await;
    server.expect(Call::get("nope"), 404).await;
    let body = json!({"desktop_ids": ["id-00000"]});
    let job = server
        .expect(Call::post("desktops/batch-delete", &body), 202)
        .await;
    let job_id = job["job_id"].as_str().expect("id");
    server
        .expect(Call::get(&format!("workspace-jobs/{job_id}")), 200)
        .await;
    server
        .expect(Call::get("workspace-sub-jobs").query("job_id", job_id), 200)
        .await;
    let stats = server.simulator.stats();
    let expected = Stats {
        list_desktops: 2,
        list_desktops_detail: 1,
        batch_delete: 1,
        show_job: 1,
        list_sub_jobs: 1,
        rejected: 2,
        batch_delete_ids: vec![vec!["id-00000".to_string()]],
        // Bytes depend on IDs and times; they are checked in `faults.rs`.
        body_bytes: stats.body_bytes,
        sent_bytes: stats.sent_bytes,
        gzip_answers: stats.gzip_answers,
        // Split by second as the calls happened to fall; their sum is checked.
        timeline: stats.timeline.clone(),
        ..Stats::default()
    };
    assert_eq!(stats, expected);
    assert_eq!(
        stats
            .timeline
            .iter()
            .map(|second| second.calls)
            .sum::<u64>(),
        6
    );
    let served: Stats = serde_json::from_value(server.stats_over_http().await).expect("stats");
    assert_eq!(served, expected);
}

#[tokio::test]
async fn latency_delays_api_answers_but_not_stats() {
    let slow = SimulatorOptions {
        latency: Duration::from_millis(150),
        ..options()
    };
    let server = start(slow, numbered(1)).await;
    let started = Instant::now();
    server.expect(Call::get("desktops"), 200).await;
    assert!(started.elapsed() >= Duration::from_millis(150));
    let started = Instant::now();
    server.stats_over_http().await;
    assert!(started.elapsed() < Duration::from_millis(150));
}

#[test]
fn read_inventory_checks_the_file() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("inventory.json");
    let write = |text: &str| std::fs::write(&path, text).expect("written");

    write(r#"[{"desktop_id": "a", "login_status": "CONNECTED", "simulate": {"delete": "fail"}}]"#);
    let inventory = read_inventory(&path).expect("a valid inventory");
    assert_eq!(inventory.len(), 1);
    assert_eq!(inventory[0].login_status.as_deref(), Some("CONNECTED"));

    let refused = [
        (
            r#"[{"desktop_id": "a"}, {"desktop_id": "a"}]"#,
            "more than once",
        ),
        (
            r#"[{"desktop_id": "a", "simulate": {"delete": "fial"}}]"#,
            "not a JSON array",
        ),
        (
            r#"[{"desktop_id": "a", "simulate": {"dlete": "fail"}}]"#,
            "not a JSON array",
        ),
        (r#"{"desktop_id": "a"}"#, "not a JSON array"),
        ("[", "not a JSON array"),
    ];
    for (text, expected) in refused {
        write(text);
        let error = format!("{:#}", read_inventory(&path).expect_err(text));
        assert!(error.contains(expected), "{text}: {error}");
        assert!(error.contains("inventory.json"), "{text}: {error}");
    }
    let missing = read_inventory(&dir.path().join("absent.json")).expect_err("no file");
    assert!(format!("{missing:#}").contains("absent.json"));
}

#[test]
fn a_seed_desktop_serialises_back_to_its_inventory_entry() {
    let entry = json!({
        "desktop_id": "a",
        "computer_name": "PC",
        "tags": [{"key": "k"}],
        "login_status": "REGISTERED",
        "simulate": {"delete": "conflict"},
    });
    let seed: crate::simulator::SeedDesktop =
        serde_json::from_value(entry.clone()).expect("a seed");
    assert_eq!(serde_json::to_value(&seed).expect("serialisable"), entry);
}
