//! The API's own answers, as a user meets them: refusals inside a chunk, failed jobs, waiting
//! with a time limit, and authentication (wrong key, skewed clock, tokens).

use deskprune::simulator::SimulatorOptions;
use serde_json::json;

use crate::support::*;

/// Six `eng` desktops, four declared, so two are deleted (within the default budget).
fn six(adjust: impl FnOnce(&mut Vec<serde_json::Value>)) -> Vec<serde_json::Value> {
    let mut inventory = team(6);
    adjust(&mut inventory);
    inventory
}

const CONFIG: &str = "[scope]\ntags = { team = \"eng\" }\n\n[guard]\nmax_delete_percent = 50\n\n[[desktop]]\nname = \"eng-0000\"\n[[desktop]]\nname = \"eng-0001\"\n[[desktop]]\nname = \"eng-0002\"\n[[desktop]]\nname = \"eng-0003\"\n";

#[test]
fn a_job_that_fails_for_one_desktop() {
    let world = World::new(six(|inventory| {
        inventory[5]["simulate"] = json!({"delete": "fail"});
    }));
    world.config(CONFIG);
    let run = world.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code(), 3, "some desktops were not deleted");
    insta::assert_snapshot!(run.transcript(&world));
    let job = &world.state()["jobs"][0];
    assert_eq!(job["status"], "failed");
    assert_eq!(job["desktops"][id(4)]["status"], "deleted");
    assert_eq!(job["desktops"][id(5)]["status"], "failed");
    assert!(
        job["desktops"][id(5)]["reason"]
            .as_str()
            .unwrap()
            .starts_with("WKS.00010032")
    );
    assert!(world.remaining().contains(&id(5)));
}

#[test]
fn a_conflict_inside_a_chunk_does_not_sink_the_others() {
    let world = World::new(six(|inventory| {
        inventory[4]["simulate"] = json!({"delete": "conflict"});
    }));
    world.config(CONFIG);
    let run = world.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code(), 3);
    insta::assert_snapshot!(run.transcript(&world));
    // The first call named both and was refused whole; the second went without the refused one.
    assert_eq!(world.stats().batch_delete_ids, [vec![id(5)]]);
    let refused = &world.state()["refused"][0];
    assert_eq!(refused["desktop_id"], id(4));
    assert_eq!(refused["http_status"], 409);
    assert_eq!(refused["error_code"], "WKS.00010032");
    assert!(!world.remaining().contains(&id(5)));
}

#[test]
fn waiting_stops_at_the_timeout() {
    let world = World::with_options(
        six(|_| {}),
        SimulatorOptions {
            job_duration: std::time::Duration::from_secs(3),
            ..SimulatorOptions::default()
        },
    );
    world.config(CONFIG);
    let run = world.run(&["apply", "--auto-approve", "--timeout", "0"]);
    assert_eq!(run.code(), 4, "timed out waiting");
    insta::assert_snapshot!(run.transcript(&world));
    assert_eq!(world.state()["jobs"][0]["status"], "pending");
    // While the job runs, its desktops are not planned again.
    let plan = world.run(&["plan"]);
    plan.success();
    assert!(
        plan.stdout().contains("Plan: 0 to delete"),
        "{}",
        plan.stdout()
    );
}

#[test]
fn a_wrong_secret_key_gets_the_credentials_hint() {
    let world = World::new(team(2));
    world.config("[scope]\nall = true\n");
    let run = world
        .command(&["plan"])
        .env("HUAWEICLOUD_SDK_SK", "not-the-key")
        .run();
    assert_eq!(run.code(), 1);
    insta::assert_snapshot!(run.transcript(&world));
}

#[test]
fn a_skewed_clock_gets_the_same_hint() {
    let world = World::with_options(
        team(2),
        SimulatorOptions {
            clock_offset: jiff::SignedDuration::from_mins(20),
            ..SimulatorOptions::default()
        },
    );
    world.config("[scope]\nall = true\n");
    let run = world.run(&["plan"]);
    assert_eq!(run.code(), 1);
    insta::assert_snapshot!(run.transcript(&world));
}

#[test]
fn an_iam_token_works_end_to_end() {
    let world = World::with_options(
        six(|_| {}),
        SimulatorOptions {
            token: Some("iam-token-for-tests".into()),
            ..SimulatorOptions::default()
        },
    );
    world.config(CONFIG);
    let run = world
        .command(&["apply", "--auto-approve"])
        .env_remove("HUAWEICLOUD_SDK_AK")
        .env_remove("HUAWEICLOUD_SDK_SK")
        .env("HW_AUTH_TOKEN", "iam-token-for-tests")
        .run();
    run.success();
    assert_eq!(world.stats().batch_delete, 1);
}

#[test]
fn temporary_credentials_work_end_to_end() {
    let world = World::with_options(
        six(|_| {}),
        SimulatorOptions {
            security_token: Some("temporary-security-token".into()),
            ..SimulatorOptions::default()
        },
    );
    world.config(CONFIG);
    let without = world.run(&["plan"]);
    assert_eq!(without.code(), 1, "the token is required");
    world
        .command(&["apply", "--auto-approve"])
        .env("HUAWEICLOUD_SDK_SECURITY_TOKEN", "temporary-security-token")
        .run()
        .success();
    assert_eq!(world.stats().batch_delete, 1);
}

#[test]
fn a_desktop_gone_since_the_plan_does_not_sink_its_chunk() {
    // The two undeclared desktops come first, so the fault below removes `eng-0004` after the
    // plan read it (at the in-use check) and before apply sends it.
    let mut inventory = team(6);
    inventory.rotate_left(4);
    let world = World::with_options(
        inventory,
        SimulatorOptions {
            faults: vec!["detail:nth=1:remove=1".parse().unwrap()],
            ..SimulatorOptions::default()
        },
    );
    world.config(CONFIG);
    let run = world.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code(), 0, "a desktop already gone is what apply wanted");
    insta::assert_snapshot!(run.transcript(&world));
    let refused = &world.state()["refused"][0];
    assert_eq!(refused["desktop_id"], id(4));
    assert_eq!(refused["http_status"], 404);
    assert_eq!(world.stats().batch_delete_ids, [vec![id(5)]]);
}
