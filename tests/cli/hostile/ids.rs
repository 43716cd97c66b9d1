//! Identifiers are checked where they enter: a batch-delete answer whose `job_id` could not be
//! a job ID (empty, too long, or not one safe path segment) is a malformed answer, so the call
//! is unconfirmed and its desktops kept out of plans; it is never recorded nor polled. A
//! ShowJob answer about another job tells nothing about this one.

use serde_json::json;

use super::*;

#[test]
fn an_unusable_job_id_is_a_malformed_answer() {
    let long = "a".repeat(129);
    let odd = [
        "",
        ".",
        "..",
        "a/b",
        "../../desktops",
        "a b",
        "job%2F1",
        "a\u{1b}[2K",
        "\u{202e}ab",
        long.as_str(),
    ];
    side_by_side(odd, |job_id| {
        let world = world();
        let job = job_id.to_string();
        let proxy = Hostile::in_front_of(&world)
            .rewrite(BATCH_DELETE, move |_, answer| {
                answer.edit_json(|body| body["job_id"] = json!(job.clone()))
            })
            .start();
        config(&world, &proxy, "");
        let run = apply(&world);
        let stderr = run.stderr();
        assert_eq!(run.code(), 3, "{job_id:?}:\n{stderr}");
        assert!(
            stderr.contains("3 desktops may be being deleted"),
            "{stderr}"
        );
        let error = world.state()["unconfirmed"][0]["error"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            error.contains("batch-delete of 3 desktops returned a malformed answer (HTTP 202)")
                && error.contains("is not a usable job ID"),
            "{job_id:?}: {error}"
        );
        assert!(
            !error.contains('\u{1b}') && !error.contains('\u{202e}'),
            "{error:?}"
        );
        let state = world.state();
        assert_eq!(state["jobs"], json!([]), "{job_id:?}: {state:#}");
        assert_eq!(state["unconfirmed"][0]["desktop_ids"], json!(doomed()));
        assert_eq!(world.stats().show_job, 0, "{job_id:?}: polled");
        assert_eq!(world.stats().batch_delete, 1, "{job_id:?}: sent again");
    });
}

#[test]
fn a_usable_job_id_of_any_shape_is_recorded() {
    let world = world();
    let proxy = Hostile::in_front_of(&world).start();
    config(&world, &proxy, "");
    apply(&world).success();
    let recorded = world.state()["jobs"][0]["job_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(recorded, world.simulator_jobs()[0].0);
}

#[test]
fn a_show_job_answer_about_another_job_is_not_taken() {
    for other in ["4d5e6f70-8192-4a3b-bc4d-5e6f708192a3", "..", ""] {
        let world = world();
        let proxy = Hostile::in_front_of(&world)
            .rewrite(SHOW_JOB, move |_, answer| {
                answer.edit_json(|job| job["id"] = json!(other))
            })
            .start();
        config(&world, &proxy, "");
        let run = run(
            &world,
            &[
                "apply",
                "--auto-approve",
                "--allow-deletions",
                "3",
                "--timeout",
                "2",
            ],
        );
        let stderr = run.stderr();
        assert_eq!(
            run.code(),
            4,
            "{other:?}: the job is not known to end:\n{stderr}"
        );
        assert!(stderr.contains("malformed answer"), "{other:?}:\n{stderr}");
        assert_eq!(world.state()["jobs"][0]["status"], "pending", "{other:?}");
    }
}

/// A sub-job of another job, even about one of this job's desktops, says nothing about it.
#[test]
fn sub_jobs_of_another_job_are_ignored() {
    let world = world();
    let proxy = Hostile::in_front_of(&world)
        .rewrite(SHOW_JOB, |_, answer| {
            answer.edit_json(|job| {
                if job["status"] == "SUCCESS" {
                    job["status"] = json!("COMPLETE");
                }
                job.as_object_mut().unwrap().remove("sub_jobs");
            })
        })
        .rewrite(SUB_JOBS, |_, answer| {
            answer.edit_json(|page| {
                for sub in page["jobs"].as_array_mut().unwrap() {
                    sub["job_id"] = json!("another-job");
                }
            })
        })
        .start();
    config(&world, &proxy, "");
    let run = apply(&world);
    assert_eq!(run.code(), 3, "{}", run.stderr());
    let job = &world.state()["jobs"][0];
    assert_eq!(job["status"], "failed", "{job:#}");
    for id in doomed() {
        assert_eq!(job["desktops"][&id]["status"], "failed", "{job:#}");
    }
}
