//! The friction a new user met on the way (issue 16), one scenario each through the binary:
//! a typo'd table, messages without a newline, hints naming flags or files that are not there,
//! `--allow-deletions` under the budget, a declaration outside a tag scope, `jobs` without a
//! config, a refusal that only a permission fixes, `plan --out` into a missing folder, the
//! confirmation's example, and the README's config reference.

use deskprune::StateLock;
use deskprune::simulator::{FaultRule, SimulatorOptions};

use crate::support::*;

/// `total` desktops of team `eng`, the first `keep` declared, a budget of 50 %.
fn world_of(total: usize, keep: usize) -> World {
    let world = World::new(team(total));
    world.config(&config_keeping(keep));
    world
}

fn config_keeping(keep: usize) -> String {
    let mut config =
        String::from("[scope]\ntags = { team = \"eng\" }\n\n[guard]\nmax_delete_percent = 50\n\n");
    for i in 0..keep {
        config.push_str(&format!("[[desktop]]\nname = \"eng-{i:04}\"\n"));
    }
    config
}

#[test]
fn a_desktops_table_array_names_the_two_right_forms() {
    let world = World::new(team(1));
    world.config("[scope]\nall = true\n\n[[desktops]]\nname = \"eng-0000\"\n");
    let run = world.run(&["validate"]);
    assert_eq!(run.code(), 1);
    let stderr = run.stderr();
    assert!(
        !stderr.contains("expected an array, found a table"),
        "{stderr}"
    );
    assert!(stderr.contains("`[[desktops]]`"), "{stderr}");
    assert!(
        stderr.contains("`[[desktop]]`") && stderr.contains("`[desktops]`"),
        "{stderr}"
    );
    assert!(stderr.contains("deskprune.toml:9:1"), "{stderr}");
}

#[test]
fn a_config_error_ends_with_a_newline() {
    let world = World::new(team(1));
    world.config("[scope]\nall = 1\n");
    let run = world.run(&["validate"]);
    assert_eq!(run.code(), 1);
    assert!(run.stderr().ends_with('\n'), "{:?}", run.stderr());
    // A file that is not there, too.
    let missing = world.run(&["--config", "nothere.toml", "validate"]);
    assert_eq!(missing.code(), 1);
    assert!(missing.stderr().ends_with('\n'), "{:?}", missing.stderr());
}

#[test]
fn a_lock_hint_names_lock_timeout_only_where_the_command_has_it() {
    let world = world_of(4, 4);
    let state = world.path("deskprune.state.json");
    let _held = StateLock::acquire(&state, "deskprune apply (in the test)", Default::default())
        .expect("the test takes the lock");
    let jobs = world.run(&["jobs", "--refresh"]);
    assert_eq!(jobs.code(), 1);
    assert!(jobs.stderr().contains("is locked by"), "{}", jobs.stderr());
    assert!(
        !jobs.stderr().contains("--lock-timeout"),
        "{}",
        jobs.stderr()
    );
    let apply = world.run(&["apply", "--auto-approve"]);
    assert_eq!(apply.code(), 1);
    assert!(
        apply.stderr().contains("`--lock-timeout SECONDS`"),
        "{}",
        apply.stderr()
    );
}

#[test]
fn allow_deletions_must_name_the_count_even_under_the_budget() {
    // 3 deletions of 10: under the 50 % budget.
    let world = world_of(10, 7);
    for wrong in ["2", "4"] {
        let run = world.run(&["apply", "--auto-approve", "--allow-deletions", wrong]);
        assert_eq!(run.code(), 1, "{}", run.stderr());
        assert_eq!(world.stats().batch_delete, 0, "nothing is sent");
        let stderr = run.stderr();
        assert!(
            stderr.contains(&format!("`--allow-deletions {wrong}`"))
                && stderr.contains("3 deletions"),
            "{stderr}"
        );
        assert!(stderr.contains("`--allow-deletions 3`"), "{stderr}");
    }
    world
        .run(&["apply", "--auto-approve", "--allow-deletions", "3"])
        .success();
    assert_eq!(world.remaining().len(), 7);
    // Nothing left to delete: a count named for another plan is still refused.
    let run = world.run(&["apply", "--auto-approve", "--allow-deletions", "3"]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert!(run.stderr().contains("0 deletions"), "{}", run.stderr());
    assert_eq!(world.stats().batch_delete, 1, "nothing more is sent");
}

#[test]
fn a_declaration_outside_a_tag_scope_is_not_called_not_found() {
    let mut inventory = team(3);
    inventory.push(desktop(987_654, "ops-0100", "ops"));
    let world = World::new(inventory);
    world.config(
        "[scope]\ntags = { team = \"eng\" }\n\n[[desktop]]\nname = \"eng-0000\"\n[[desktop]]\nname = \"ops-0100\"\n[[desktop]]\nname = \"nowhere\"\n[[desktop]]\nid = \"00000000-0000-4000-8000-000000987654\"\n",
    );
    let human = world.run(&["plan"]);
    human.success();
    let stdout = human.stdout();
    assert!(
        stdout.contains("? name `ops-0100` (deskprune.toml:11): exists outside the scope"),
        "{stdout}"
    );
    assert!(
        stdout.contains("? id `00000000-0000-4000-8000-000000987654` (deskprune.toml:15): exists outside the scope"),
        "{stdout}"
    );
    assert!(
        stdout.contains("? name `nowhere` (deskprune.toml:13)\n"),
        "{stdout}"
    );

    let json = world.run(&["plan", "--json"]);
    json.success();
    let document: serde_json::Value = serde_json::from_str(&json.stdout()).unwrap();
    let missing = document["missing"].as_array().unwrap();
    assert_eq!(missing.len(), 3, "{missing:?}");
    assert_eq!(missing[0]["name"], "ops-0100");
    assert_eq!(missing[0]["outside_scope"], true);
    assert_eq!(missing[1]["name"], "nowhere");
    assert!(missing[1].get("outside_scope").is_none(), "{missing:?}");
    assert_eq!(missing[2]["outside_scope"], true);

    let markdown = world.run(&["plan", "--format", "markdown"]);
    markdown.success();
    assert!(
        markdown.stdout().contains("exists outside the scope"),
        "{}",
        markdown.stdout()
    );
}

#[test]
fn jobs_reads_a_state_file_without_a_config() {
    let world = world_of(4, 2);
    world.run(&["apply", "--auto-approve"]).success();
    std::fs::rename(world.path("deskprune.state.json"), world.path("kept.json")).unwrap();
    std::fs::remove_file(world.path("deskprune.toml")).unwrap();
    let run = world.run(&["jobs", "--state", "kept.json"]);
    run.success();
    assert!(run.stdout().contains("succeeded"), "{}", run.stdout());
    // `--refresh` talks to the API, so it still needs the config.
    let refresh = world.run(&["jobs", "--refresh", "--state", "kept.json"]);
    assert_eq!(refresh.code(), 1);
    assert!(
        refresh.stderr().contains("not found"),
        "{}",
        refresh.stderr()
    );
}

#[test]
fn a_corrupt_state_names_its_backup_only_when_there_is_one() {
    let world = world_of(4, 4);
    std::fs::write(world.path("deskprune.state.json"), "{ not json").unwrap();
    let run = world.run(&["jobs"]);
    assert_eq!(run.code(), 1);
    let stderr = run.stderr();
    assert!(!stderr.contains(".backup"), "{stderr}");
    assert!(stderr.contains("there is no backup"), "{stderr}");

    std::fs::write(world.path("deskprune.state.json.backup"), "{}").unwrap();
    let run = world.run(&["jobs"]);
    assert!(
        run.stderr().contains("deskprune.state.json.backup"),
        "{}",
        run.stderr()
    );
}

#[test]
fn a_403_names_the_permission_and_does_not_advise_running_again() {
    let world = World::with_options(
        team(4),
        SimulatorOptions {
            faults: vec![
                "batch_delete:from=1:status=403"
                    .parse::<FaultRule>()
                    .unwrap(),
            ],
            ..SimulatorOptions::default()
        },
    );
    world.config(&config_keeping(2));
    let run = world.run(&["apply", "--auto-approve"]);
    assert_ne!(run.code(), 0);
    let stderr = run.stderr();
    assert!(
        stderr.contains("`workspace:desktops:batchDelete`"),
        "{stderr}"
    );
    assert!(!stderr.contains("again"), "{stderr}");
}

#[test]
fn plan_out_into_a_missing_folder_names_the_users_path() {
    let world = world_of(4, 2);
    let run = world.run(&["plan", "--out", "nope/plan.json"]);
    assert_eq!(run.code(), 1);
    let stderr = run.stderr();
    assert!(stderr.contains("`nope/plan.json`"), "{stderr}");
    assert!(stderr.contains("`nope`"), "{stderr}");
    assert!(!stderr.contains(".tmp"), "{stderr}");
    assert!(
        !stderr.contains("[dir]") && !stderr.contains("/tmp/"),
        "{stderr}"
    );
}

/// The confirmation, asked on a terminal (`script` gives it one), shows the config's region.
#[test]
fn the_confirmation_example_is_the_configs_region() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: `script` is not installed");
        return;
    }
    let world = world_of(8, 6);
    std::fs::write(
        world.path("deskprune.toml"),
        read(&world.path("deskprune.toml")).replace("cn-north-4", "la-south-2"),
    )
    .unwrap();
    let command = format!("{} apply", env!("CARGO_BIN_EXE_deskprune"));
    let output = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(world.dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HUAWEICLOUD_SDK_AK", AK)
        .env("HUAWEICLOUD_SDK_SK", SK)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("like `la-south-2 N`"), "{text}");
    assert!(!text.contains("ap-southeast-1"), "{text}");
    assert_eq!(world.stats().batch_delete, 0);
}

/// Every ```toml block of the README's config reference loads as copied.
#[test]
fn the_readme_config_reference_validates_as_copied() {
    let readme = read(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"));
    let section = readme
        .split("\n## ")
        .find(|section| section.starts_with("Config reference"))
        .expect("the README has a `## Config reference` section");
    let blocks: Vec<&str> = section
        .split("```toml\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap())
        .collect();
    assert!(!blocks.is_empty(), "the reference shows its config");
    let dir = tempfile::tempdir().unwrap();
    for block in blocks {
        let path = dir.path().join("deskprune.toml");
        std::fs::write(&path, block).unwrap();
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_deskprune"))
            .args(["--config", path.to_str().unwrap(), "validate"])
            .env_clear()
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{block}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert!(
        section.contains("deskprune simulator"),
        "the reference says how to point a config at `deskprune simulator`"
    );
}

#[test]
fn the_final_error_of_a_failed_call_says_how_many_attempts_were_made() {
    let world = World::with_options(
        team(4),
        SimulatorOptions {
            faults: vec!["list:from=1:status=503".parse::<FaultRule>().unwrap()],
            ..SimulatorOptions::default()
        },
    );
    world.config(&format!(
        "{}\n[client]\nmax_retries = 2\nrequests_per_second = 1000\n",
        config_keeping(2)
    ));
    let run = world.run(&["plan"]);
    assert_eq!(run.code(), 1);
    let stderr = run.stderr();
    assert!(
        stderr.contains("error: list desktops (offset 0) was refused: HTTP 503")
            && stderr.contains("(after 3 attempts)"),
        "{stderr}"
    );
    assert_eq!(world.stats().list_desktops, 3);
}

#[test]
fn a_401_names_the_variables_the_credentials_came_from_never_their_values() {
    let world = world_of(4, 2);
    let wrong = "wrong-secret-key-0123456789";
    let run = world
        .command(&["plan"])
        .env_remove("HUAWEICLOUD_SDK_AK")
        .env_remove("HUAWEICLOUD_SDK_SK")
        .env("HW_ACCESS_KEY", AK)
        .env("HW_SECRET_KEY", wrong)
        .run();
    assert_eq!(run.code(), 1);
    let stderr = run.stderr();
    assert!(stderr.contains("HTTP 401"), "{stderr}");
    assert!(
        stderr.contains("the access key pair from `HW_ACCESS_KEY` and `HW_SECRET_KEY`"),
        "{stderr}"
    );
    assert!(!stderr.contains(wrong) && !stderr.contains(AK), "{stderr}");

    let token = "not-a-valid-token-0123456789";
    let run = world
        .command(&["plan"])
        .env_remove("HUAWEICLOUD_SDK_AK")
        .env_remove("HUAWEICLOUD_SDK_SK")
        .env("HW_AUTH_TOKEN", token)
        .run();
    assert_eq!(run.code(), 1);
    let stderr = run.stderr();
    assert!(
        stderr.contains("the IAM token from `HW_AUTH_TOKEN`"),
        "{stderr}"
    );
    assert!(!stderr.contains(token), "{stderr}");
}

/// A fleet-wide list beside a narrow scope (the usual case: the asset system's export, one
/// team's tag) leaves thousands of declarations missing from the scope: looking them up
/// outside it costs a bounded number of calls, not one per hundred IDs however many.
#[test]
fn looking_declarations_up_outside_the_scope_costs_bounded_calls() {
    let world = World::new(team(3));
    let scope = "[scope]\ntags = { team = \"eng\" }\n\n[desktops]\nnames = [\"eng-0000\", \"eng-0001\", \"eng-0002\"]\n";
    world.config(scope);
    world.run(&["plan"]).success();
    let read = world.stats().list_desktops;
    let ids: String = (0..5_000)
        .map(|i| format!("{}\n", id(500_000 + i)))
        .collect();
    std::fs::write(world.path("ids.txt"), ids).unwrap();
    let names: String = (0..1_000).map(|i| format!("gone-{i:04}\n")).collect();
    std::fs::write(world.path("names.txt"), names).unwrap();
    world.config(&format!(
        "{scope}ids_file = \"ids.txt\"\nnames_file = \"names.txt\"\n"
    ));
    let run = world.run(&["plan", "--json"]);
    run.success();
    let document: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(document["missing"].as_array().unwrap().len(), 6_000);
    let calls = world.stats().list_desktops - 2 * read;
    assert!(
        calls <= 10 + 100,
        "{calls} calls to look up 5,000 IDs and 1,000 names outside the scope"
    );
}

#[test]
fn apply_shows_a_declaration_outside_the_scope_as_plan_does() {
    let mut inventory = team(3);
    inventory.push(desktop(987_654, "ops-0100", "ops"));
    let world = World::new(inventory);
    world.config(
        "[scope]\ntags = { team = \"eng\" }\n\n[[desktop]]\nname = \"eng-0000\"\n[[desktop]]\nname = \"eng-0001\"\n[[desktop]]\nname = \"eng-0002\"\n[[desktop]]\nname = \"ops-0100\"\n",
    );
    let run = world.run(&["apply", "--auto-approve"]);
    run.success();
    assert!(
        run.stdout()
            .contains("? name `ops-0100` (deskprune.toml:15): exists outside the scope"),
        "{}",
        run.stdout()
    );
}
