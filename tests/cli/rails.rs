//! One scenario per safety rail, through the binary: each holds, and says so.

use std::time::Duration;

use deskprune::simulator::SimulatorOptions;
use deskprune::{Holder, StateLock};
use serde_json::json;

use crate::support::*;

const KEEP_FOUR: &str = "[scope]\ntags = { team = \"eng\" }\n\n[guard]\nmax_delete_percent = 50\n\n[[desktop]]\nname = \"eng-0000\"\n[[desktop]]\nname = \"eng-0001\"\n[[desktop]]\nname = \"eng-0002\"\n[[desktop]]\nname = \"eng-0003\"\n";

fn tag(desktop: &mut serde_json::Value, key: &str, value: &str) {
    desktop["tags"]
        .as_array_mut()
        .unwrap()
        .push(json!({"key": key, "value": value}));
}

#[test]
fn the_protection_tag_holds_whatever_the_config_says() {
    let mut inventory = team(6);
    tag(&mut inventory[4], "deskprune:protect", "yes");
    tag(&mut inventory[5], "deskprune:protect", "false");
    let world = World::new(inventory);
    world.config(KEEP_FOUR);
    let run = world.run(&["apply", "--auto-approve"]);
    run.success();
    assert!(
        run.stdout()
            .contains("Protected by the tag, never deleted:\n! eng-0004")
    );
    assert_eq!(
        world.stats().batch_delete_ids,
        [vec![id(5)]],
        "`false` does not protect"
    );
}

#[test]
fn the_protection_tag_key_is_configurable() {
    let mut inventory = team(6);
    tag(&mut inventory[4], "keep-me", "");
    let world = World::new(inventory);
    world.config(&KEEP_FOUR.replace("[guard]\n", "[guard]\nprotect_tag = \"keep-me\"\n"));
    world.run(&["apply", "--auto-approve"]).success();
    assert_eq!(world.stats().batch_delete_ids, [vec![id(5)]]);
}

#[test]
fn desktops_in_use_are_skipped() {
    let mut inventory = team(6);
    inventory[5]["login_status"] = "CONNECTED".into();
    let world = World::new(inventory);
    world.config(KEEP_FOUR);
    let run = world.run(&["apply", "--auto-approve"]);
    run.success();
    assert!(
        run.stdout()
            .contains("In use (someone is logged in), skipped this time:\n@ eng-0005")
    );
    assert_eq!(world.stats().batch_delete_ids, [vec![id(4)]]);
    assert!(
        world.stats().list_desktops_detail >= 1,
        "login states come from the detail list"
    );

    // With the rail switched off, it goes too.
    world.config(&KEEP_FOUR.replace("[guard]\n", "[guard]\nin_use_login_statuses = []\n"));
    world.run(&["apply", "--auto-approve"]).success();
    assert_eq!(world.stats().batch_delete_ids[1], [id(5)]);
}

#[test]
fn a_held_lock_names_its_holder_and_can_be_waited_for() {
    let world = World::new(team(6));
    world.config(KEEP_FOUR);
    let state = world.path("deskprune.state.json");
    let held = StateLock::acquire(&state, "deskprune apply (in the test)", Duration::ZERO).unwrap();
    let refused = world.run(&["apply", "--auto-approve"]);
    assert_eq!(refused.code(), 1);
    assert!(
        refused
            .stderr()
            .contains("is locked by `deskprune apply (in the test)` (pid"),
        "{}",
        refused.stderr()
    );
    assert_eq!(world.stats().list_desktops, 0, "nothing is read or sent");

    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        drop(held);
    });
    world
        .run(&["apply", "--auto-approve", "--lock-timeout", "10"])
        .success();
    release.join().unwrap();
    assert_eq!(world.stats().batch_delete, 1);
}

#[test]
fn a_lock_left_by_a_dead_process_is_taken_over_with_a_warning() {
    let world = World::new(team(6));
    world.config(KEEP_FOUR);
    let dead = Holder {
        pid: 4_000_000,
        ..Holder::current("deskprune apply")
    };
    std::fs::write(
        world.path("deskprune.state.json.lock"),
        serde_json::to_vec(&dead).unwrap(),
    )
    .unwrap();
    let run = world.run(&["apply", "--auto-approve"]);
    run.success();
    assert!(
        run.stderr().contains("pid 4000000") && run.stderr().contains("taking over"),
        "{}",
        run.stderr()
    );
}

#[test]
fn force_unlock_needs_the_holders_pid() {
    let world = World::new(team(6));
    world.config(KEEP_FOUR);
    // A hung apply on another machine sharing the folder: the OS lock does not reach here.
    let hung = Holder {
        host: "another-host.example".into(),
        ..Holder::current("a hung apply")
    };
    std::fs::write(
        world.path("deskprune.state.json.lock"),
        serde_json::to_vec(&hung).unwrap(),
    )
    .unwrap();
    let wrong = world.run(&["force-unlock", "1", "--force"]);
    assert_eq!(wrong.code(), 1);
    assert!(
        wrong.stderr().contains("not by pid 1"),
        "{}",
        wrong.stderr()
    );
    let run = world.run(&["force-unlock", &hung.pid.to_string(), "--force"]);
    run.success();
    assert!(
        run.stderr()
            .contains("Released the state lock held by `a hung apply`")
    );
    world.run(&["apply", "--auto-approve"]).success();
}

#[test]
fn an_unfinished_apply_is_finished_by_running_apply_again() {
    let world = World::with_options(
        team(6),
        SimulatorOptions {
            job_duration: Duration::from_secs(2),
            ..SimulatorOptions::default()
        },
    );
    world.config(KEEP_FOUR);
    world
        .run(&["apply", "--auto-approve", "--no-wait"])
        .success();
    let again = world.run(&["apply", "--auto-approve"]);
    again.success();
    assert!(
        again.stdout().contains("Already being deleted:"),
        "{}",
        again.stdout()
    );
    assert_eq!(world.stats().batch_delete, 1, "nothing is sent twice");
    assert!(
        again.stdout().contains("Apply complete: 2 deleted."),
        "{}",
        again.stdout()
    );
    assert_eq!(world.state()["jobs"][0]["status"], "succeeded");
}

#[test]
fn a_saved_plan_is_refused_when_a_desktop_changed() {
    let world = World::new(team(6));
    world.config(KEEP_FOUR);
    world.run(&["plan", "--out", "plan.json"]).success();
    // The plan says user4 owned eng-0004; the world now says otherwise.
    let plan = read(&world.path("plan.json")).replace("\"user4\"", "\"user4-before\"");
    std::fs::write(world.path("plan.json"), plan).unwrap();
    let run = world.run(&["apply", "plan.json", "--auto-approve"]);
    assert_eq!(run.code(), 1);
    assert_eq!(world.stats().batch_delete, 0, "nothing is sent");
    insta::assert_snapshot!(run.transcript(&world));
}

#[test]
fn typed_confirmation_is_refused_without_a_terminal_even_for_one() {
    let world = World::new(team(5));
    world.config(KEEP_FOUR);
    let run = world.run(&["apply"]);
    assert_eq!(run.code(), 1);
    assert!(run.stderr().contains("standard input is not a terminal"));
    assert_eq!(world.stats().batch_delete, 0);
}
