//! Four applies from four working folders, one bucket, one simulator: the store's lock lets
//! one at a time hold it, the others fail naming the holder or wait and then find nothing to
//! do; every accepted job is in the shared state and no desktop is submitted twice.

use crate::process::Running;
use crate::support::s3::*;
use crate::support::*;

use super::*;

/// Every successful take (`If-None-Match: *` answered 200) and release (a `DELETE` or a bulk
/// delete naming it) of the lock, in an order where a take can only follow the release it
/// needed: takes at their answer, releases at their arrival (a release reaches the store after
/// it arrives at the proxy, and a take it let through is answered after that).
fn lock_events(proxy: &StoreProxy) -> Vec<&'static str> {
    let mut events: Vec<(usize, &'static str)> = proxy
        .requests()
        .into_iter()
        .filter(|request| request.status == 200 || request.status == 204)
        .filter_map(|request| {
            if request.deletes(".lock") {
                Some((request.arrived, "release"))
            } else if request.is("PUT", ".lock") && request.if_none_match.as_deref() == Some("*") {
                Some((request.answered, "take"))
            } else {
                None
            }
        })
        .collect();
    events.sort();
    events.into_iter().map(|(_, event)| event).collect()
}

#[test]
fn four_applies_at_once_hold_the_lock_one_at_a_time_and_share_one_journal() {
    let Some(moto) = Moto::start() else { return };
    let proxy = StoreProxy::in_front_of(&moto.endpoint);
    // 32 deletions in 8 calls, each answered after 20 ms: long enough for the others to
    // find the lock held.
    let world = slow_team(40, 20);
    let folders: Vec<tempfile::TempDir> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    config(&world, &proxy.endpoint, 8, 4, 60);
    let text = read(&world.path("deskprune.toml"));
    for folder in &folders {
        std::fs::write(folder.path().join("deskprune.toml"), &text).unwrap();
    }

    // Two give up at once when the lock is held, two wait for it.
    let runs: Vec<(bool, Running)> = folders
        .iter()
        .enumerate()
        .map(|(i, folder)| {
            let waits = i % 2 == 1;
            let mut args = vec!["apply", "--auto-approve"];
            if waits {
                args.extend(["--lock-timeout", "120"]);
            }
            let command = command(&world, &args).current_dir(folder.path());
            (waits, Running::start(command))
        })
        .collect();
    let mut deleted_by = Vec::new();
    for (i, (waits, running)) in runs.into_iter().enumerate() {
        let ended = running.wait();
        assert_no_secret("stderr", &ended.stderr);
        assert_no_secret("stdout", &ended.stdout);
        let code = ended.code();
        if code == 1 {
            assert!(!waits, "a run that waits gets the lock:\n{}", ended.stderr);
            assert!(
                ended.stderr.contains("locked by") && ended.stderr.contains("deskprune apply"),
                "a refused run names the holder:\n{}",
                ended.stderr
            );
            continue;
        }
        assert_eq!(code, 0, "run {i}:\n{}", ended.stderr);
        if !ended.stdout.contains("No changes.") {
            deleted_by.push(i);
        }
    }
    assert_eq!(
        deleted_by.len(),
        1,
        "one run deleted, the others found nothing to do"
    );

    let accepted = accepted_jobs(&world);
    assert_eq!(accepted.len(), 8);
    assert_eq!(
        recorded_jobs(&moto, KEY),
        accepted,
        "every accepted job is recorded"
    );
    assert_none_sent_twice(&world);
    assert_eq!(world.remaining().len(), 8);
    for folder in &folders {
        assert!(
            !folder.path().join("deskprune.state.json").exists(),
            "no local state"
        );
    }

    let events = lock_events(&proxy);
    let mut held = false;
    for event in &events {
        if *event == "take" {
            assert!(!held, "two runs held the lock at once: {events:?}");
            held = true;
        } else {
            assert!(held, "a lock released while free: {events:?}");
            held = false;
        }
    }
    let takes = events.iter().filter(|event| **event == "take").count();
    assert!(
        !held && takes >= 2,
        "every run that held the lock released it: {events:?}"
    );
    eprintln!("the lock was taken {takes} times, one at a time");
    assert!(!moto.keys().contains(&format!("{KEY}.lock")));
}
