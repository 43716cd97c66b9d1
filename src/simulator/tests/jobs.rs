//! Jobs as clients poll them: WAITING, RUNNING, then SUCCESS or FAILED, the inventory following.

use std::time::Duration;

use serde_json::{Value, json};

use super::harness::{Call, PROJECT, Server, desktop, ids, numbered, options, seed, start};
use crate::simulator::SimulatorOptions;

async fn delete(server: &Server, ids: &[&str]) -> String {
    let body = json!({"desktop_ids": ids, "email_notification": false});
    let accepted = server
        .expect(Call::post("desktops/batch-delete", &body), 202)
        .await;
    accepted["job_id"].as_str().expect("a job id").to_string()
}

async fn show(server: &Server, job_id: &str) -> Value {
    server
        .expect(Call::get(&format!("workspace-jobs/{job_id}")), 200)
        .await
}

fn sub_job_desktops(jobs: &Value) -> Vec<&str> {
    let mut desktops: Vec<&str> = jobs
        .as_array()
        .expect("sub-jobs")
        .iter()
        .map(|sub| sub["entities"]["desktop_id"].as_str().expect("an id"))
        .collect();
    desktops.sort_unstable();
    desktops
}

#[tokio::test]
async fn a_job_goes_waiting_running_success_and_the_desktops_leave() {
    let timed = SimulatorOptions {
        job_duration: Duration::from_millis(1200),
        ..options()
    };
    let server = start(timed, numbered(4)).await;
    let job_id = delete(&server, &["id-00001", "id-00003"]).await;
    let mut seen: Vec<String> = Vec::new();
    let job = loop {
        let job = show(&server, &job_id).await;
        let status = job["status"].as_str().expect("a status").to_string();
        if seen.last() != Some(&status) {
            seen.push(status.clone());
        }
        if status == "SUCCESS" {
            break job;
        }
        assert!(seen.len() <= 3, "statuses {seen:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(seen, ["WAITING", "RUNNING", "SUCCESS"]);
    assert_eq!(job["id"], job_id.as_str());
    assert_eq!(job["job_type"], "deleteDesktops");
    assert_eq!(job["sub_jobs_total"], 2);
    assert_eq!(sub_job_desktops(&job["sub_jobs"]), ["id-00001", "id-00003"]);
    for sub in job["sub_jobs"].as_array().expect("sub-jobs") {
        assert_eq!(sub["status"], "SUCCESS");
        assert_eq!(sub["job_id"], job_id.as_str());
        assert_eq!(sub["project_id"], PROJECT);
        assert_eq!(sub["entity"], sub["entities"]["desktop_id"]);
        assert_eq!(sub["process"], 100);
    }
    let begin = job["begin_time"].as_str().expect("begin_time");
    let end = job["end_time"].as_str().expect("end_time");
    for time in [begin, end] {
        assert_eq!(time.len(), "2024-05-20T08:15:30.214Z".len(), "{time}");
        assert!(time.ends_with('Z') && time.parse::<jiff::Timestamp>().is_ok());
    }

    let gone = server
        .expect(
            Call::get("desktops")
                .query("desktop_id", "id-00001")
                .query("desktop_id", "id-00003"),
            200,
        )
        .await;
    assert_eq!(gone, json!({"total_count": 0, "desktops": []}));
    let left = server.expect(Call::get("desktops"), 200).await;
    assert_eq!(ids(&left), ["id-00000", "id-00002"]);
    assert_eq!(left["total_count"], 2);
}

#[tokio::test]
async fn a_failing_desktop_fails_its_sub_job_and_the_job_and_stays() {
    let inventory = vec![
        desktop("ok", "OK-PC", "alice"),
        seed(json!({
            "desktop_id": "bad",
            "computer_name": "BAD-PC",
            "status": "ACTIVE",
            "task_status": "",
            "simulate": {"delete": "fail"},
        })),
    ];
    let server = start(options(), inventory).await;
    let job_id = delete(&server, &["ok", "bad"]).await;
    let job = show(&server, &job_id).await;
    assert_eq!(job["status"], "FAILED");
    assert_eq!(job["job_error_code"], "WKS.00010032");
    assert_eq!(job["fail_reason"], "1 of 2 sub jobs failed.");
    let subs = job["sub_jobs"].as_array().expect("sub-jobs");
    assert_eq!(subs[0]["status"], "SUCCESS");
    assert!(subs[0].get("error_code").is_none());
    assert_eq!(subs[1]["status"], "FAILED");
    assert_eq!(subs[1]["error_code"], "WKS.00010032");
    assert_eq!(
        subs[1]["fail_reason"],
        "Operation conflict. The desktop current instance status is [ACTIVE] and deny operation \
         [delete], resource id [bad]."
    );
    let left = server.expect(Call::get("desktops"), 200).await;
    assert_eq!(ids(&left), ["bad"]);
    assert_eq!(left["desktops"][0]["task_status"], "");
}

#[tokio::test]
async fn sub_jobs_filter_by_job_and_status_and_page() {
    let server = start(options(), numbered(5)).await;
    let first = delete(&server, &["id-00000", "id-00001", "id-00002"]).await;
    let second = delete(&server, &["id-00003"]).await;
    let by_job = server
        .expect(Call::get("workspace-sub-jobs").query("job_id", &first), 200)
        .await;
    assert_eq!(by_job["total_count"], 3);
    assert_eq!(
        sub_job_desktops(&by_job["jobs"]),
        ["id-00000", "id-00001", "id-00002"]
    );
    let page = server
        .expect(
            Call::get("workspace-sub-jobs")
                .query("status", "FAILED")
                .query("status", "SUCCESS")
                .query("offset", "2")
                .query("limit", "1"),
            200,
        )
        .await;
    assert_eq!(page["total_count"], 4);
    assert_eq!(sub_job_desktops(&page["jobs"]), ["id-00002"]);
    let none = server
        .expect(
            Call::get("workspace-sub-jobs")
                .query("job_id", &second)
                .query("status", "RUNNING"),
            200,
        )
        .await;
    assert_eq!(none, json!({"total_count": 0, "jobs": []}));
    let other_type = server
        .expect(
            Call::get("workspace-sub-jobs").query("job_type", "createDesktops"),
            200,
        )
        .await;
    assert_eq!(other_type["total_count"], 0);
    // By the deletions' type: every job's sub-jobs, each naming its desktop and its parent job
    // (how a job whose ID never arrived is found).
    let deletions = server
        .expect(
            Call::get("workspace-sub-jobs").query("job_type", "deleteDesktops"),
            200,
        )
        .await;
    assert_eq!(deletions["total_count"], 4);
    assert_eq!(
        sub_job_desktops(&deletions["jobs"]),
        ["id-00000", "id-00001", "id-00002", "id-00003"]
    );
    let parents: Vec<&str> = deletions["jobs"]
        .as_array()
        .expect("sub-jobs")
        .iter()
        .map(|sub| sub["job_id"].as_str().expect("a parent job"))
        .collect();
    assert_eq!(parents, [&first, &first, &first, &second]);
}

#[tokio::test]
async fn an_unknown_job_is_404() {
    let server = start(options(), numbered(1)).await;
    let answer = server
        .send(Call::get(
            "workspace-jobs/4d5e6f70-8192-4a3b-bc4d-5e6f708192a3",
        ))
        .await;
    assert_eq!((answer.status, answer.error_code()), (404, "WKS.0202"));
    let unknown = server
        .expect(Call::get("workspace-sub-jobs").query("job_id", "nope"), 200)
        .await;
    assert_eq!(unknown["total_count"], 0);
}
