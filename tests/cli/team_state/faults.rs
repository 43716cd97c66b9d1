//! A store that cannot be trusted or reached: one that ignores conditional writes is refused
//! before anything is deleted; one that is unreachable, answers 500 or 403, or drops the
//! connection on the lock or the first state write stops apply before any deletion; one that
//! fails mid-apply stops apply starting calls, with every accepted job ID on stderr (exit 3).

use crate::process::Running;
use crate::support::s3::*;
use crate::support::*;

use super::*;

/// 12 desktops of team `eng`, 6 declared: 6 deletions in chunks of 2.
fn world() -> World {
    World::new(team(12))
}

/// Fails unless `run` was refused (exit 1) with nothing deleted, and says so in words.
#[track_caller]
fn assert_refused_before_deleting(world: &World, run: &Run, words: &[&str]) {
    assert_eq!(
        run.code(),
        1,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout(),
        run.stderr()
    );
    assert_eq!(world.stats().batch_delete, 0, "nothing is deleted");
    assert_eq!(world.remaining().len(), 12);
    let stderr = run.stderr().to_lowercase();
    for word in words {
        assert!(
            stderr.contains(word),
            "the error says `{word}`:\n{}",
            run.stderr()
        );
    }
}

#[test]
fn a_store_that_ignores_conditional_writes_is_refused_before_anything_is_deleted() {
    let Some(moto) = Moto::start() else { return };
    let proxy = StoreProxy::in_front_of(&moto.endpoint);
    proxy.strip_conditions(true);
    let world = world();
    config(&world, &proxy.endpoint, 6, 2, 60);

    let apply = run(&world, &["apply", "--auto-approve"]);
    assert_refused_before_deleting(&world, &apply, &["condition"]);
    assert!(
        apply.stderr().contains(BUCKET),
        "the refusal names the bucket:\n{}",
        apply.stderr()
    );
    assert!(
        proxy
            .requests()
            .iter()
            .any(|request| request.if_none_match.is_some() || request.if_match.is_some()),
        "it asked the store for a conditional write (the probe)"
    );
    assert!(
        recorded_jobs(&moto, KEY).is_empty(),
        "nothing is recorded either"
    );

    // The same store, honest again, is trusted.
    proxy.strip_conditions(false);
    run(&world, &["apply", "--auto-approve"]).success();
    assert_eq!(recorded_jobs(&moto, KEY), accepted_jobs(&world));
}

#[test]
fn an_unreachable_store_stops_apply_before_any_deletion() {
    let world = world();
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    config(&world, &format!("http://127.0.0.1:{port}"), 6, 2, 60);
    let apply = run(&world, &["apply", "--auto-approve"]);
    assert_refused_before_deleting(&world, &apply, &[]);
    assert!(
        apply.stderr().contains(&format!("127.0.0.1:{port}")),
        "the error names the store:\n{}",
        apply.stderr()
    );
}

/// Apply against a store that answers `fault` to every `method` request on a path ending
/// with `suffix` (any when empty): refused before any deletion, after asking the store.
fn refused_with(method: &str, suffix: &str, fault: Fault, words: &[&str]) {
    let Some(moto) = Moto::start() else { return };
    let proxy = StoreProxy::in_front_of(&moto.endpoint);
    proxy.add(Rule::on(method, suffix).fault(fault));
    let world = world();
    config(&world, &proxy.endpoint, 6, 2, 60);
    let apply = run(&world, &["apply", "--auto-approve"]);
    assert_refused_before_deleting(&world, &apply, words);
    assert!(
        proxy.count(method, suffix) > 0,
        "the refusal came from the store: {:?}",
        proxy.requests()
    );
    assert!(recorded_jobs(&moto, KEY).is_empty());
}

#[test]
fn a_lock_the_store_answers_500_stops_apply_before_any_deletion() {
    refused_with("PUT", ".lock", Fault::Status(500), &["lock"]);
}

#[test]
fn a_lock_the_store_forbids_stops_apply_before_any_deletion() {
    refused_with("PUT", ".lock", Fault::Status(403), &["lock"]);
}

#[test]
fn a_lock_whose_connection_drops_stops_apply_before_any_deletion() {
    refused_with("PUT", ".lock", Fault::Drop, &["lock"]);
}

#[test]
fn a_first_state_write_the_store_answers_500_stops_apply_before_any_deletion() {
    refused_with("PUT", KEY, Fault::Status(500), &[]);
}

#[test]
fn a_first_state_write_the_store_forbids_stops_apply_before_any_deletion() {
    refused_with("PUT", KEY, Fault::Status(403), &[]);
}

#[test]
fn every_request_forbidden_stops_apply_before_any_deletion() {
    refused_with("", "", Fault::Status(403), &[]);
}

#[test]
fn a_slow_store_is_waited_for() {
    let Some(moto) = Moto::start() else { return };
    let proxy = StoreProxy::in_front_of(&moto.endpoint);
    proxy.add(Rule::any().fault(Fault::Delay(std::time::Duration::from_millis(200))));
    let world = world();
    config(&world, &proxy.endpoint, 6, 2, 60);
    run(&world, &["apply", "--auto-approve"]).success();
    assert_eq!(recorded_jobs(&moto, KEY), accepted_jobs(&world));
    assert_eq!(world.remaining().len(), 6);
}

#[test]
fn a_state_write_failing_mid_apply_stops_the_calls_and_prints_every_accepted_job() {
    let Some(moto) = Moto::start() else { return };
    let proxy = StoreProxy::in_front_of(&moto.endpoint);
    // 40 deletions in 20 calls, one at a time, each answered after 20 ms.
    let world = slow_team(50, 20);
    config(&world, &proxy.endpoint, 10, 2, 60);
    one_at_a_time(&world);

    let mut apply = Running::start(command(&world, &["apply", "--auto-approve"]));
    // The kill point: the third batch-delete carried out; from then on the state key's
    // writes fail (the lock and the store's reads still work).
    assert!(
        apply.wait_for(|| world.simulator.accepted() >= 3),
        "apply ended before its third call"
    );
    proxy.add(Rule::on("PUT", KEY).fault(Fault::Status(500)));
    let at_fault = world.simulator.accepted();
    let ended = apply.wait();
    assert_no_secret("stderr", &ended.stderr);
    assert_no_secret("stdout", &ended.stdout);
    assert_eq!(ended.code(), 3, "stderr:\n{}", ended.stderr);

    let accepted = assert_stopped_printing_every_accepted_job(&world, &ended.stderr, 20);
    assert!(
        accepted.len() <= at_fault + 1,
        "no call starts after the failed write ({} accepted, {at_fault} when it failed)",
        accepted.len()
    );
}

/// Apply against a store that carries out the `nth` `PUT` on a path ending with `suffix` but
/// loses its answer: the retry finds the write made (a 412), which must be taken for this
/// run's own, not for another run's.
fn answer_lost_after(suffix: &str, nth: usize) {
    let Some(moto) = Moto::start() else { return };
    let proxy = StoreProxy::in_front_of(&moto.endpoint);
    proxy.add(
        Rule::on("PUT", suffix)
            .when(When::Nth(nth))
            .fault(Fault::DropAfter),
    );
    let world = world();
    config(&world, &proxy.endpoint, 6, 2, 60);
    run(&world, &["apply", "--auto-approve"]).success();
    let lost = |request: &StoreRequest| {
        request.dropped && request.status == 200 && request.is("PUT", suffix)
    };
    assert!(
        proxy.requests().iter().any(lost),
        "the store wrote and the answer was lost: {:?}",
        proxy.requests()
    );
    assert_eq!(recorded_jobs(&moto, KEY), accepted_jobs(&world));
    assert_none_sent_twice(&world);
    assert_eq!(world.remaining().len(), 6);
    assert!(!moto.keys().contains(&format!("{KEY}.lock")));
}

#[test]
fn a_lost_answer_to_taking_the_lock_is_not_taken_for_another_holder() {
    answer_lost_after(".lock", 1);
}

#[test]
fn a_lost_answer_to_the_first_state_write_is_not_taken_for_another_writer() {
    answer_lost_after(KEY, 1);
}

#[test]
fn a_lost_answer_to_a_state_write_mid_apply_is_not_taken_for_another_writer() {
    answer_lost_after(KEY, 3);
}
