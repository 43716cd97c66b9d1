//! What CI reviewers see is what apply checks: the budget verdict and every warning appear in
//! `plan --format markdown` and in `plan --json` (`summary.budget`), so a pull request never
//! looks fine and then fails on merge; the Markdown carries a hidden marker for one sticky
//! comment and pads its columns.

use serde_json::Value;

use crate::support::*;

/// 10 desktops of team `eng` (one with a long name) plus one of `ops`, `keep` declared, a
/// budget of at most 2 deletions; `region` in `[cloud]`.
fn world_of(keep: usize, region: &str) -> World {
    let mut inventory = team(10);
    inventory[9]["computer_name"] = "eng-long-name-0009".into();
    inventory.push(desktop(50_000, "ops-0", "ops"));
    let world = World::new(inventory);
    let mut config = String::from(
        "[scope]\ntags = { team = \"eng\" }\n\n[guard]\nmax_deletions = 2\nmax_delete_percent = 100\n\n",
    );
    for i in 0..keep {
        config.push_str(&format!("[[desktop]]\nname = \"eng-{i:04}\"\n"));
    }
    world.config(&config);
    let text = read(&world.path("deskprune.toml")).replace("cn-north-4", region);
    std::fs::write(world.path("deskprune.toml"), text).unwrap();
    world
}

#[test]
fn the_markdown_plan_says_apply_will_refuse_it_over_the_budget() {
    let world = world_of(6, "cn-north-4");
    let run = world.run(&["plan", "--format", "markdown"]);
    run.success();
    insta::assert_snapshot!(run.transcript(&world));
    let stdout = run.stdout();
    assert!(
        stdout.starts_with(&format!(
            "<!-- deskprune-plan: {PROJECT}/deskprune.toml -->\n"
        )),
        "{stdout}"
    );
    assert!(stdout.contains("`--allow-deletions 4`"), "{stdout}");
    // Columns are padded: every ID starts in the same column.
    let columns: Vec<usize> = stdout
        .lines()
        .filter(|line| line.starts_with("- eng-"))
        .map(|line| line.find("00000000-").unwrap())
        .collect();
    assert_eq!(columns.len(), 4, "{stdout}");
    assert!(columns.iter().all(|&c| c == columns[0]), "{stdout}");
}

#[test]
fn the_markdown_plan_within_the_budget_says_so() {
    let world = world_of(8, "cn-north-4");
    let run = world.run(&["plan", "--format", "markdown"]);
    run.success();
    let stdout = run.stdout();
    assert!(
        stdout.contains("**Budget:** within (2 deletions of at most 2, 20.0 % of at most 100 %)"),
        "{stdout}"
    );
    assert!(!stdout.contains("--allow-deletions"), "{stdout}");
}

#[test]
fn the_json_plan_carries_the_budget_verdict_apply_checks() {
    let world = world_of(6, "cn-north-4");
    let run = world.run(&["plan", "--json"]);
    run.success();
    let document: Value = serde_json::from_str(&run.stdout()).unwrap();
    let budget = &document["summary"]["budget"];
    assert_eq!(budget["exceeded"], true, "{budget}");
    assert_eq!(budget["allow_deletions"], 4, "{budget}");
    assert_eq!(budget["max_deletions"], 2, "{budget}");
    assert_eq!(budget["max_delete_percent"], 100.0, "{budget}");
    assert!(
        budget["reasons"][0]
            .as_str()
            .unwrap()
            .contains("more than `max_deletions` (2)"),
        "{budget}"
    );
    let schema: Value = serde_json::from_str(&read(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/plan.schema.json"),
    ))
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&document)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");

    // What the plan says is what apply does.
    let refused = world.run(&["apply", "--auto-approve"]);
    assert_eq!(refused.code(), 1);
    assert!(refused.stderr().contains("`--allow-deletions 4`"));
    world
        .run(&["apply", "--auto-approve", "--allow-deletions", "4"])
        .success();

    let within = world_of(8, "cn-north-4");
    let run = within.run(&["plan", "--json"]);
    let document: Value = serde_json::from_str(&run.stdout()).unwrap();
    let budget = &document["summary"]["budget"];
    assert_eq!(budget["exceeded"], false, "{budget}");
    assert!(budget.get("allow_deletions").is_none(), "{budget}");
    assert_eq!(budget["reasons"], serde_json::json!([]), "{budget}");
}

#[test]
fn the_configs_warnings_are_in_the_markdown_and_json_plans() {
    let world = World::new(team(3));
    let mut config = String::from("[scope]\ntags = { team = \"eng\" }\n\n");
    for i in 0..1001 {
        config.push_str(&format!("[[desktop]]\nname = \"eng-{i:04}\"\n"));
    }
    world.config(&config);
    let says = "declares 1001 `[[desktop]]` tables";
    let markdown = world.run(&["plan", "--format", "markdown"]);
    markdown.success();
    assert!(
        markdown
            .stdout()
            .contains(&format!("> **Warning:** `deskprune.toml` {says}")),
        "{}",
        markdown.stdout()
    );
    let json = world.run(&["plan", "--json"]);
    let document: Value = serde_json::from_str(&json.stdout()).unwrap();
    assert!(
        document["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains(says)),
        "{}",
        document["warnings"]
    );
}
