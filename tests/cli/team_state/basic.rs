//! The s3 backend end to end on a healthy store: apply records its jobs in the bucket, `jobs`
//! and `plan` read them there, `state pull` prints them, `state push` uploads a local state
//! once and refuses to overwrite a remote one.

use crate::support::s3::*;
use crate::support::*;

use super::*;

#[test]
fn apply_records_its_jobs_in_the_bucket_and_the_next_plan_reads_them() {
    let Some(moto) = Moto::start() else { return };
    let world = World::new(team(10));
    config(&world, &moto.endpoint, 6, 2, 60);

    run(&world, &["apply", "--auto-approve"]).success();
    let accepted = accepted_jobs(&world);
    assert_eq!(accepted.len(), 2, "4 deletions in chunks of 2");
    assert_eq!(
        recorded_jobs(&moto, KEY),
        accepted,
        "every job is in the bucket"
    );
    assert!(
        !world.path("deskprune.state.json").exists(),
        "no local state file beside the config"
    );
    let keys = moto.keys();
    assert!(
        keys.iter().all(|key| key.starts_with(KEY)),
        "only objects under the key: {keys:?}"
    );
    assert!(
        !keys.contains(&format!("{KEY}.lock")),
        "the lock is released: {keys:?}"
    );

    let jobs = run(&world, &["jobs"]);
    jobs.success();
    for job in accepted.keys() {
        assert!(
            jobs.stdout().contains(job),
            "`jobs` lists {job}:\n{}",
            jobs.stdout()
        );
    }
    let plan = run(&world, &["plan", "--detailed-exitcode"]);
    plan.success();
    assert!(plan.stdout().contains("No changes."), "{}", plan.stdout());
    assert_eq!(world.stats().batch_delete, 2, "nothing more was sent");
    assert_none_sent_twice(&world);

    let pulled = run(&world, &["state", "pull"]);
    pulled.success();
    let state: serde_json::Value = serde_json::from_str(&pulled.stdout())
        .unwrap_or_else(|error| panic!("`state pull` prints JSON ({error}):\n{}", pulled.stdout()));
    let mut in_pulled = std::collections::BTreeMap::new();
    collect_jobs(&state, &mut in_pulled);
    assert_eq!(in_pulled, accepted, "`state pull` shows every job");

    run(&world, &["state", "pull", "--out", "pulled.json"]).success();
    let saved: serde_json::Value = serde_json::from_str(&read(&world.path("pulled.json"))).unwrap();
    assert_eq!(saved, state, "`--out` saves what is printed");
}

#[test]
fn state_push_uploads_a_local_state_once_and_refuses_a_non_empty_remote_one() {
    let Some(moto) = Moto::start() else { return };
    // A team's history so far, in a local state file.
    let world = World::new(team(10));
    world.config(
        "[scope]\ntags = { team = \"eng\" }\n\n[delete]\nbatch_size = 2\n\n\
         [guard]\nmax_deletions = 100\nmax_delete_percent = 100\n\n\
         [[desktop]]\nname = \"eng-0000\"\n[[desktop]]\nname = \"eng-0001\"\n\
         [[desktop]]\nname = \"eng-0002\"\n[[desktop]]\nname = \"eng-0003\"\n\
         [[desktop]]\nname = \"eng-0004\"\n[[desktop]]\nname = \"eng-0005\"\n",
    );
    run(&world, &["apply", "--auto-approve"]).success();
    let accepted = accepted_jobs(&world);
    std::fs::rename(world.path("deskprune.state.json"), world.path("local.json")).unwrap();

    // Then the team moves it to the bucket.
    config(&world, &moto.endpoint, 6, 2, 60);
    run(&world, &["state", "push", "--from", "local.json"]).success();
    assert_eq!(recorded_jobs(&moto, KEY), accepted, "every job is uploaded");
    let jobs = run(&world, &["jobs"]);
    jobs.success();
    for job in accepted.keys() {
        assert!(jobs.stdout().contains(job), "{}", jobs.stdout());
    }
    let plan = run(&world, &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code(), 0, "{}", plan.stderr());

    let before = moto.contents();
    let again = run(&world, &["state", "push", "--from", "local.json"]);
    assert_eq!(
        again.code(),
        1,
        "a second push is refused:\n{}",
        again.stderr()
    );
    assert!(
        again.stderr().contains(KEY),
        "the refusal names the key:\n{}",
        again.stderr()
    );
    let after = moto.contents();
    assert!(
        before == after,
        "the refused push changed nothing in the bucket"
    );
}
