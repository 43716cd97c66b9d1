//! `plan` and `validate` through the binary.

use crate::support::*;

/// 2,500 desktops: 2,250 declared, 250 not; plus 10 of another team.
fn big_world() -> World {
    let mut inventory = team(2500);
    inventory.extend((0..10).map(|i| desktop(10_000 + i, &format!("ops-{i}"), "ops")));
    let world = World::new(inventory);
    let mut config = String::from("[scope]\ntags = { team = \"eng\" }\n\n");
    for i in 0..2250 {
        config.push_str(&format!("[[desktop]]\nname = \"eng-{i:04}\"\n"));
    }
    world.config(&config);
    world
}

#[test]
fn plans_a_three_page_inventory() {
    let world = big_world();
    let run = world.run(&["plan"]);
    run.success();
    assert_eq!(
        world.stats().list_desktops,
        3,
        "2,510 desktops, filtered to 2,500: 3 pages"
    );
    assert_eq!(world.stats().batch_delete, 0, "plan sends nothing");
    let stdout = run.stdout();
    assert!(
        stdout.contains("Plan: 250 to delete, 0 missing, 0 protected, 2250 kept."),
        "{stdout}"
    );
    assert!(stdout.contains("- eng-2250  00000000-0000-4000-8000-000000002250  user2250  ACTIVE"));
    assert!(
        !stdout.contains("ops-"),
        "out-of-scope desktops are not shown"
    );
}

/// The IDs of a JSON plan's deletions, in order.
fn deletion_ids(document: &serde_json::Value) -> Vec<&str> {
    document["deletions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["desktop_id"].as_str().unwrap())
        .collect()
}

#[test]
fn json_plan_lists_deletions_and_missing() {
    let world = World::new(team(3));
    world.config(
        "[scope]\nname_prefix = \"eng-\"\n\n[[desktop]]\nname = \"ENG-0000\"\n[[desktop]]\nid = \"nope\"\n",
    );
    let run = world.run(&["plan", "--json", "--detailed-exitcode"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    let document: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(document["format_version"], 1);
    let deleted = deletion_ids(&document);
    assert_eq!(deleted, [id(1), id(2)]);
    assert_eq!(document["deletions"][0]["computer_name"], "eng-0001");
    assert_eq!(document["deletions"][0]["user_name"], "user1");
    assert_eq!(
        document["missing"],
        serde_json::json!([{"id": "nope", "line": 11}])
    );
}

#[test]
fn no_changes_exits_zero_even_with_detailed_exitcode() {
    let world = World::new(team(2));
    world.config("[scope]\nall = true\n\n[[desktop]]\nname = \"eng-0000\"\n[[desktop]]\nname = \"eng-0001\"\n");
    let run = world.run(&["plan", "--detailed-exitcode"]);
    run.success();
    assert!(run.stdout().contains("No changes."), "{}", run.stdout());
}

#[test]
fn human_plan_snapshot() {
    let mut inventory = team(6);
    inventory[1]["tags"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"key": "deskprune:protect", "value": "true"}));
    inventory[2]["task_status"] = "deleting".into();
    inventory[3]["login_status"] = "CONNECTED".into();
    inventory.push(desktop(7, "ENG-0000", "eng"));
    let world = World::new(inventory);
    world.config(
        "[scope]\ntags = { team = \"eng\" }\n\n[guard]\nallow_empty = false\n\n[[desktop]]\nname = \"eng-0000\"\n[[desktop]]\nname = \"eng-0099\"\n",
    );
    let run = world.run(&["plan"]);
    insta::assert_snapshot!(run.transcript(&world));
}

#[test]
fn validate_is_offline_and_names_the_scope() {
    let world = World::new(vec![]);
    world.config("[scope]\ntags = { team = \"eng\" }\n");
    let run = world.run(&["validate"]);
    run.success();
    assert!(
        run.stderr().contains("deskprune.toml is valid"),
        "{}",
        run.stderr()
    );
    assert_eq!(world.stats().list_desktops, 0);
}

#[test]
fn bad_config_is_rejected_before_any_call() {
    let world = World::new(team(3));
    world.config("[scope]\ntags = { team = \"eng\" }\n\n[delete]\nbatch_size = 101\n");
    let run = world.run(&["plan"]);
    assert_eq!(run.code(), 1);
    assert_eq!(world.stats().list_desktops, 0, "nothing is sent");
    insta::assert_snapshot!(run.transcript(&world));
}

#[test]
fn the_config_and_state_can_come_from_the_environment() {
    let world = World::new(team(2));
    world.config("[scope]\nall = true\n\n[[desktop]]\nname = \"eng-0000\"\n");
    std::fs::rename(world.path("deskprune.toml"), world.path("elsewhere.toml")).unwrap();
    let apply = ["apply", "--auto-approve", "--allow-deletions", "1"];
    let run = world
        .command(&apply)
        .env("DESKPRUNE_CONFIG", "elsewhere.toml")
        .env("DESKPRUNE_STATE", "kept/state.json")
        .run();
    assert_eq!(run.code(), 1);
    assert!(
        run.stderr().contains("cannot lock `kept/state.json.lock`"),
        "the folder of the state file does not exist yet: {}",
        run.stderr()
    );
    std::fs::create_dir(world.path("kept")).unwrap();
    world
        .command(&apply)
        .env("DESKPRUNE_CONFIG", "elsewhere.toml")
        .env("DESKPRUNE_STATE", "kept/state.json")
        .run()
        .success();
    assert!(world.path("kept/state.json").exists());
    assert!(!world.path("deskprune.state.json").exists());
}

/// A large config whose `[cloud]`, `[scope]` and `[client]` are fine but whose declarations are
/// not: the declarations' error is what the user sees, and nothing is sent.
#[test]
fn a_large_config_reports_its_whole_file_errors() {
    let world = World::new(team(3));
    let padding = "# padding, to make the file larger than 64 KiB\n".repeat(1500);
    world.config(&format!(
        "[scope]\ntags = {{ team = \"eng\" }}\n\n{padding}\n[[desktop]]\nname = \" eng-0000\"\n"
    ));
    let run = world.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code(), 1);
    assert!(
        run.stderr().contains("has whitespace at its start or end"),
        "{}",
        run.stderr()
    );
    assert_eq!(world.stats().list_desktops, 0);
    assert_eq!(world.stats().batch_delete, 0);
    assert_eq!(world.stats().list_desktops_detail, 0);
}

/// A config of thousands of `[[desktop]]` tables plans and points at the lines of the file,
/// in its plan and in its errors, and is told that the `[desktops]` lists would serve better.
#[test]
fn a_config_of_many_tables_plans_and_points_at_its_lines() {
    let world = World::new(team(3));
    let mut text = String::from("[scope]\ntags = { team = \"eng\" }\n\n");
    for index in 0..1500 {
        match index {
            0 | 1 => text.push_str(&format!("[[desktop]]\nname = \"eng-{index:04}\"\n")),
            _ => text.push_str(&format!(
                "[[desktop]] # {index}\nname = \"ghost-{index}\"\n\n"
            )),
        }
    }
    world.config(&text);
    // The lines of the file as written (with the world's own `[cloud]`).
    let line_of = |needle: &str| {
        let written = std::fs::read_to_string(world.path("deskprune.toml")).unwrap();
        written[..written.find(needle).unwrap()]
            .matches('\n')
            .count()
            + 1
    };

    let run = world.run(&["plan", "--json"]);
    run.success();
    assert!(
        run.stderr()
            .contains("warning: `deskprune.toml` declares 1500 `[[desktop]]` tables"),
        "{}",
        run.stderr()
    );
    let document: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(deletion_ids(&document), [id(2)]);
    assert!(
        document["warnings"][0]
            .as_str()
            .unwrap()
            .contains("declares 1500 `[[desktop]]` tables"),
        "{document:#}"
    );
    // The human view says it once, in the plan.
    let human = world.run(&["plan"]);
    let said = format!("{}{}", human.stdout(), human.stderr());
    assert_eq!(
        said.matches("declares 1500 `[[desktop]]` tables").count(),
        1,
        "{said}"
    );
    let missing = document["missing"].as_array().unwrap();
    assert_eq!(missing.len(), 1498);
    let ghost = missing
        .iter()
        .find(|entry| entry["name"] == "ghost-1234")
        .unwrap();
    assert_eq!(ghost["line"], line_of("[[desktop]] # 1234") as u64);

    let broken = text.replace(
        "name = \"ghost-1300\"",
        "name = \"ghost-1300\"\nid = \"also\"",
    );
    world.config(&broken);
    let run = world.run(&["validate"]);
    assert_eq!(run.code(), 1);
    let place = format!("deskprune.toml:{}:", line_of("ghost-1300") + 1);
    assert!(
        run.stderr().contains("both `name` and `id`") && run.stderr().contains(&place),
        "{place}: {}",
        run.stderr()
    );
}
