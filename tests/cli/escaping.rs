//! Text from the API reaches no terminal raw: control characters, carriage returns and bidi
//! overrides in names and users are shown escaped, so no line a reviewer approves can be
//! redrawn, and every `-` marker stands.

use serde_json::Value;

use crate::support::*;

/// Whether `text` holds a character a terminal would obey instead of showing (a line break
/// aside): C0 and C1 controls, DEL, bidi marks, embeddings, overrides and isolates.
fn obeyed(text: &str) -> Option<char> {
    text.chars().find(|&c| {
        (c.is_control() && c != '\n')
            || matches!(
                c,
                '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
            )
    })
}

fn hostile_world() -> World {
    let mut inventory = team(2);
    let hostile = [
        ("eng-0002\u{1b}[2K\r  eng-0000", "user\u{1b}]0;title\u{7}"),
        ("\u{202e}3000-gne", "\u{9b}31muser"),
        (
            "eng-`|`-```x",
            "user\r- 00000000-0000-4000-8000-000000000000",
        ),
    ];
    for (index, (name, user)) in hostile.iter().enumerate() {
        let mut desktop = desktop(2 + index, name, "eng");
        desktop["user_name"] = Value::from(*user);
        desktop["status"] = Value::from("ACTIVE\u{1b}[8m");
        inventory.push(desktop);
    }
    let world = World::new(inventory);
    world.config(
        "[scope]\ntags = { team = \"eng\" }\n\n[guard]\nmax_deletions = 100\nmax_delete_percent = 100\n\n\
         [[desktop]]\nname = \"eng-0000\"\n[[desktop]]\nname = \"eng-0001\"\n",
    );
    world
}

#[test]
fn the_human_plan_shows_api_text_escaped_and_every_marker_stands() {
    let world = hostile_world();
    let run = world.run(&["plan"]);
    run.success();
    let stdout = String::from_utf8(run.output.stdout.clone()).unwrap();
    assert_eq!(obeyed(&stdout), None, "{stdout:?}");
    let deletions: Vec<&str> = stdout
        .lines()
        .filter(|line| line.starts_with("- "))
        .collect();
    assert_eq!(deletions.len(), 3, "{stdout}");
    for id in [id(2), id(3), id(4)] {
        assert!(
            deletions.iter().any(|line| line.contains(&id)),
            "{id} has no `-` line:\n{stdout}"
        );
    }
    assert!(
        stdout.contains("- eng-0002\\u{1b}[2K\\u{d}  eng-0000"),
        "{stdout}"
    );
    assert!(stdout.contains("\\u{202e}3000-gne"), "{stdout}");
    assert!(stdout.contains("user\\u{1b}]0;title\\u{7}"), "{stdout}");
    assert!(stdout.contains("ACTIVE\\u{1b}[8m"), "{stdout}");
    assert!(stdout.contains("Plan: 3 to delete"), "{stdout}");
}

#[test]
fn the_markdown_plan_shows_api_text_escaped_and_keeps_its_blocks() {
    let world = hostile_world();
    let run = world.run(&["plan", "--format", "markdown"]);
    run.success();
    let stdout = run.stdout();
    assert_eq!(obeyed(&stdout), None, "{stdout:?}");
    let block: Vec<&str> = stdout
        .split("```diff\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```\n").next())
        .expect("a diff block")
        .lines()
        .collect();
    assert_eq!(block.len(), 3, "{stdout}");
    assert!(block.iter().all(|line| line.starts_with("- ")), "{stdout}");
    assert!(!block.iter().any(|line| line.contains("```")), "{stdout}");
}

#[test]
fn a_saved_plan_is_shown_escaped() {
    let world = hostile_world();
    world.run(&["plan", "--out", "plan.json"]).success();
    let run = world.run(&["show", "plan.json"]);
    run.success();
    let stdout = run.stdout();
    assert_eq!(obeyed(&stdout), None, "{stdout:?}");
    assert_eq!(
        stdout.lines().filter(|line| line.starts_with("- ")).count(),
        3
    );
    // JSON stays raw: serde escapes control characters itself.
    let json = world.run(&["show", "plan.json", "--json"]);
    json.success();
    let document: Value = serde_json::from_str(&json.stdout()).unwrap();
    let names: Vec<&str> = document["deletions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["computer_name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"\u{202e}3000-gne"), "{names:?}");
}

#[test]
fn a_stale_saved_plan_shows_its_difference_escaped() {
    let world = hostile_world();
    world.run(&["plan", "--out", "plan.json"]).success();
    let path = world.path("plan.json");
    let mut document: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    document["deletions"][0]["user_name"] = Value::from("changed\u{1b}[2K\r\u{202e}");
    std::fs::write(&path, serde_json::to_string(&document).unwrap()).unwrap();
    let run = world.run(&["apply", "--auto-approve", "plan.json"]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    let stderr = run.stderr();
    assert!(
        stderr.contains("changed\\u{1b}[2K\\u{d}\\u{202e}"),
        "{stderr}"
    );
    assert_eq!(obeyed(&stderr), None, "{stderr:?}");
    assert_eq!(world.stats().batch_delete, 0);
}
