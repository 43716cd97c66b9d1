//! `history` and `jobs` with the s3 backend: they read the run records (which `plan` and
//! `apply` do not), and `--since` lists only those of recent runs.

use crate::support::s3::*;
use crate::support::*;

use super::*;

#[test]
fn history_reads_the_run_records_and_since_skips_older_runs() {
    let Some(moto) = Moto::start() else { return };
    let proxy = StoreProxy::in_front_of(&moto.endpoint);
    let world = World::new(team(12));
    config(&world, &proxy.endpoint, 10, 10, 60);
    command(&world, &["apply", "--auto-approve"])
        .run()
        .success();
    let runs = moto.list(&format!("{KEY}.runs/"));
    assert_eq!(runs.len(), 1, "{runs:?}");
    // An old run's record, from 2020: listed by `history`, skipped by `--since`.
    let (run_key, _) = &runs[0];
    let body = String::from_utf8(moto.get(run_key).unwrap()).unwrap();
    let run_id = run_key
        .trim_start_matches(&format!("{KEY}.runs/"))
        .trim_end_matches(".json")
        .to_string();
    let old_run = "20200101T000000Z-00000000";
    let record: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(record["jobs"].as_array().unwrap().len(), 1, "{record:#}");
    let job_id = record["jobs"][0]["job_id"].as_str().unwrap().to_string();
    let mut old: serde_json::Value = serde_json::from_str(
        &body
            .replace(&run_id, old_run)
            .replace(&job_id, "old-job-0001"),
    )
    .unwrap();
    old["jobs"][0]["submitted_at"] = "2020-01-01T00:00:00Z".into();
    old["jobs"][0]["checked_at"] = "2020-01-01T00:01:00Z".into();
    moto.put(
        &format!("{KEY}.runs/{old_run}.json"),
        serde_json::to_vec(&old).unwrap(),
    );

    let all = command(&world, &["history", "--json"]).run();
    all.success();
    let entries: serde_json::Value = serde_json::from_str(&all.stdout()).unwrap();
    let jobs: Vec<&str> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["job_id"].as_str().unwrap())
        .collect();
    assert_eq!(jobs, ["old-job-0001", "old-job-0001", &job_id, &job_id]);
    let entry = &entries[2];
    assert_eq!(entry["computer_name"], "eng-0010");
    assert_eq!(entry["user_name"], "user10");
    assert_eq!(entry["run"]["run_id"], run_id.as_str(), "{entry}");

    proxy.reset_counts();
    let recent = command(&world, &["history", "--since", "2026-01-01", "--json"]).run();
    recent.success();
    let entries: serde_json::Value = serde_json::from_str(&recent.stdout()).unwrap();
    assert_eq!(entries.as_array().unwrap().len(), 2, "{entries:#}");
    let old_reads: Vec<_> = proxy
        .requests()
        .into_iter()
        .filter(|request| request.path.contains(old_run))
        .collect();
    assert!(
        old_reads.is_empty(),
        "the old run's record was read: {old_reads:?}"
    );

    let jobs = command(&world, &["jobs", "--json"]).run();
    jobs.success();
    let doc: serde_json::Value = serde_json::from_str(&jobs.stdout()).unwrap();
    assert_eq!(doc["jobs"].as_array().unwrap().len(), 2, "{doc:#}");
}
