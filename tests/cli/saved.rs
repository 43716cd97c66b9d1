//! Saved plans: `plan --out`, `show`, `apply FILE`, and the refusals of a stale plan.

use crate::support::*;

fn world() -> World {
    let world = World::new(team(6));
    world.config(
        "[scope]\ntags = { team = \"eng\" }\n\n[guard]\nmax_delete_percent = 50\n\n[[desktop]]\nname = \"eng-0000\"\n[[desktop]]\nname = \"eng-0001\"\n[[desktop]]\nname = \"eng-0002\"\n[[desktop]]\nname = \"eng-0003\"\n",
    );
    world
}

#[test]
fn applies_exactly_the_saved_plan() {
    let world = world();
    world.run(&["plan", "--out", "plan.json"]).success();
    let shown = world.run(&["show", "plan.json"]);
    shown.success();
    assert!(shown.stdout().contains("- eng-0004"), "{}", shown.stdout());
    assert!(shown.stdout().contains("⋮ 4 kept desktops not shown"));

    world
        .run(&["apply", "plan.json", "--auto-approve"])
        .success();
    let sent: Vec<String> = world.stats().batch_delete_ids.concat();
    assert_eq!(sent, [id(4), id(5)]);

    // Applied again, the desktops are gone: reported, nothing sent.
    let again = world.run(&["apply", "plan.json", "--auto-approve"]);
    again.success();
    assert!(
        again.stderr().contains("no longer exists"),
        "{}",
        again.stderr()
    );
    assert_eq!(world.stats().batch_delete, 1);
}

#[test]
fn refuses_a_plan_whose_config_changed() {
    let world = world();
    world.run(&["plan", "--out", "plan.json"]).success();
    let config = read(&world.path("deskprune.toml")).replace("eng-0003", "eng-0004");
    std::fs::write(world.path("deskprune.toml"), config).unwrap();
    let run = world.run(&["apply", "plan.json", "--auto-approve"]);
    assert_eq!(run.code(), 1);
    assert_eq!(world.stats().batch_delete, 0);
    insta::assert_snapshot!(run.transcript(&world));
}

#[test]
fn markdown_and_json_views_of_a_saved_plan() {
    let world = world();
    world.run(&["plan", "--out", "plan.json"]).success();
    let markdown = world.run(&["show", "plan.json", "--format", "markdown"]);
    markdown.success();
    insta::assert_snapshot!(markdown.transcript(&world));
    let json = world.run(&["show", "plan.json", "--json"]);
    json.success();
    assert_eq!(json.stdout(), read(&world.path("plan.json")));
}

#[test]
fn show_names_a_file_that_is_not_a_plan() {
    let world = world();
    std::fs::write(world.path("notes.txt"), "hello").unwrap();
    let run = world.run(&["show", "notes.txt"]);
    assert_eq!(run.code(), 1);
    assert!(
        run.stderr().contains("`notes.txt` is not a saved plan"),
        "{}",
        run.stderr()
    );
}
