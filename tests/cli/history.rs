//! `deskprune history` and `jobs --json`: what is recorded of every deletion (the desktop's ID,
//! name and user, the job, the outcome, the time, the run that sent it) and how it is shown.

use crate::support::*;

const KEEP_FOUR: &str = "[scope]\ntags = { team = \"eng\" }\n\n[guard]\nmax_delete_percent = 50\n\n[[desktop]]\nname = \"eng-0000\"\n[[desktop]]\nname = \"eng-0001\"\n[[desktop]]\nname = \"eng-0002\"\n[[desktop]]\nname = \"eng-0003\"\n";

#[test]
fn every_deletion_is_recorded_with_its_desktop_job_outcome_and_run() {
    let world = World::new(team(6));
    world.config(KEEP_FOUR);
    world.run(&["apply", "--auto-approve"]).success();
    let jobs = world.simulator_jobs();
    assert_eq!(jobs.len(), 1, "{jobs:?}");

    let listed = world.run(&["history", "--json"]);
    listed.success();
    let entries: serde_json::Value = serde_json::from_str(&listed.stdout()).unwrap();
    let entries = entries.as_array().expect("an array");
    assert_eq!(entries.len(), 2, "{entries:#?}");
    for (entry, n) in entries.iter().zip([4, 5]) {
        assert_eq!(entry["desktop_id"], id(n));
        assert_eq!(entry["computer_name"], format!("eng-{n:04}"));
        assert_eq!(entry["user_name"], format!("user{n}"));
        assert_eq!(entry["job_id"], jobs[0].0);
        assert_eq!(entry["outcome"], "deleted");
        assert!(entry["at"].as_str().unwrap().ends_with('Z'), "{entry}");
        let run = &entry["run"];
        assert!(!run["host"].as_str().unwrap().is_empty(), "{entry}");
        assert!(run["user"].is_string(), "{entry}");
        assert_eq!(run["config_digest"].as_str().unwrap().len(), 64, "{entry}");
    }

    let human = world.run(&["history"]);
    human.success();
    let text = human.stdout();
    for n in [4, 5] {
        let line = text
            .lines()
            .find(|line| line.contains(&id(n)))
            .unwrap_or_else(|| panic!("a line for {}: {text}", id(n)));
        for part in [
            "deleted",
            &format!("eng-{n:04}"),
            &format!("user{n}"),
            &jobs[0].0,
        ] {
            assert!(line.contains(part), "`{part}` in {line}");
        }
    }

    // An entry from before the date asked for is left out.
    let later = world.run(&["history", "--since", "2999-01-01", "--json"]);
    later.success();
    assert_eq!(later.stdout().trim(), "[]");
}

#[test]
fn the_config_repository_commit_is_recorded_when_there_is_one() {
    let world = World::new(team(6));
    world.config(KEEP_FOUR);
    let git = |args: &[&str]| {
        let status = std::process::Command::new("git")
            .args(args)
            .current_dir(world.dir.path())
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output();
        status.ok().filter(|out| out.status.success())
    };
    if git(&["init", "-q"]).is_none() {
        eprintln!("git not found: skipped");
        return;
    }
    git(&["add", "deskprune.toml"]).unwrap();
    git(&["commit", "-qm", "config"]).unwrap();
    let head = String::from_utf8(git(&["rev-parse", "HEAD"]).unwrap().stdout).unwrap();
    world.run(&["apply", "--auto-approve"]).success();
    let state = world.state();
    assert_eq!(
        state["jobs"][0]["run"]["git_commit"],
        head.trim(),
        "{state:#}"
    );
}

#[test]
fn jobs_json_lists_jobs_refusals_and_unconfirmed_calls() {
    let world = World::new(team(6));
    world.config(KEEP_FOUR);
    world.run(&["apply", "--auto-approve"]).success();
    let listed = world.run(&["jobs", "--json"]);
    listed.success();
    let doc: serde_json::Value = serde_json::from_str(&listed.stdout()).unwrap();
    assert_eq!(doc["jobs"].as_array().unwrap().len(), 1, "{doc:#}");
    assert_eq!(doc["jobs"][0]["status"], "succeeded", "{doc:#}");
    assert!(doc["refused"].is_array(), "{doc:#}");
    assert!(doc["unconfirmed"].is_array(), "{doc:#}");
}

#[test]
fn jobs_shows_refused_desktops_not_only_jobs() {
    let mut inventory = team(6);
    inventory[4]["simulate"] = serde_json::json!({"delete": "conflict"});
    let world = World::new(inventory);
    world.config(KEEP_FOUR);
    assert_eq!(world.run(&["apply", "--auto-approve"]).code(), 3);
    let listed = world.run(&["jobs"]);
    listed.success();
    let text = listed.stdout();
    let line = text
        .lines()
        .find(|line| line.contains(&id(4)))
        .unwrap_or_else(|| panic!("the refused desktop is listed: {text}"));
    assert!(line.contains("409 WKS.00010032"), "{line}");
    assert!(text.contains("REFUSED"), "{text}");
    let history = world.run(&["history", "--json"]);
    history.success();
    let entries: serde_json::Value = serde_json::from_str(&history.stdout()).unwrap();
    let refused: Vec<_> = entries
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["outcome"] == "refused")
        .collect();
    assert_eq!(refused.len(), 1, "{entries:#}");
    assert_eq!(refused[0]["desktop_id"], id(4));
}
