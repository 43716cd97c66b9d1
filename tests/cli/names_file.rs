//! `[desktops] names_file` / `ids_file`: declarations kept in text files beside the config.

use crate::support::*;

const SCOPE: &str = "[scope]\ntags = { team = \"eng\" }\n\n";

fn write(world: &World, name: &str, text: &str) {
    if let Some(dir) = world.path(name).parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(world.path(name), text).unwrap();
}

/// The IDs a JSON plan deletes.
fn deleted(world: &World, args: &[&str]) -> Vec<String> {
    let run = world.run(&[args, &["plan", "--json"]].concat());
    run.success();
    let plan: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    plan["deletions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["desktop_id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn names_and_ids_from_files_are_kept() {
    let world = World::new(team(6));
    world.config(&format!(
        "{SCOPE}[desktops]\nnames = [\"eng-0000\"]\nnames_file = \"keep.txt\"\nids_file = \"ids.txt\"\n"
    ));
    write(
        &world,
        "keep.txt",
        "# exported from HR, 2026-12-01\n\n  eng-0001  \r\nENG-0002\n\t# indented comment\n",
    );
    write(&world, "ids.txt", &format!("{}\n", id(3)));
    assert_eq!(deleted(&world, &[]), [id(4), id(5)]);
    let validate = world.run(&["validate"]);
    validate.success();
    assert!(
        validate.stderr().contains("4 desktops declared"),
        "{}",
        validate.stderr()
    );
}

#[test]
fn the_path_is_relative_to_the_config_folder() {
    let world = World::new(team(3));
    world.config("");
    let config = std::fs::read_to_string(world.path("deskprune.toml")).unwrap();
    write(
        &world,
        "conf/deskprune.toml",
        &format!("{config}{SCOPE}[desktops]\nnames_file = \"keep.txt\"\n"),
    );
    write(&world, "conf/keep.txt", "eng-0000\neng-0002\n");
    assert_eq!(
        deleted(&world, &["--config", "conf/deskprune.toml"]),
        [id(1)]
    );
}

#[test]
fn a_duplicate_across_the_config_and_the_file_points_at_both() {
    let world = World::new(team(3));
    world.config(&format!(
        "{SCOPE}[desktops]\nnames = [\"eng-0001\"]\nnames_file = \"keep.txt\"\n"
    ));
    write(&world, "keep.txt", "eng-0000\n# the boss\n  Eng-0001\n");
    let run = world.run(&["plan"]);
    assert_eq!(run.code(), 1);
    assert_eq!(
        world.stats().list_desktops,
        0,
        "a config error sends nothing"
    );
    insta::assert_snapshot!(run.stderr(), @r"
    error: duplicate `keep.txt` name `Eng-0001`
     --> keep.txt:3:3
      |
    3 |   Eng-0001
      |   ^^^^^^^^ declared again here; also declared in `[desktops]` at `deskprune.toml:10:10`
      |
      = help: computer names are compared case-insensitively, so these are the same desktop; remove one entry
    ");
}

#[test]
fn a_duplicate_within_the_file_and_a_trailing_comment_are_refused() {
    let world = World::new(team(3));
    world.config(&format!("{SCOPE}[desktops]\nids_file = \"ids.txt\"\n"));
    write(
        &world,
        "ids.txt",
        &format!("{}\n{} # the boss\n{}\n", id(0), id(1), id(0)),
    );
    let run = world.run(&["validate"]);
    assert_eq!(run.code(), 1);
    insta::assert_snapshot!(run.stderr(), @r"
    error: `#` after a value in `ids.txt`
     --> ids.txt:2:38
      |
    2 | 00000000-0000-4000-8000-000000000001 # the boss
      |                                      ^ a comment must take a whole line
      |
      = help: move the comment to a line of its own, starting with `#`

    error: duplicate `ids.txt` id `00000000-0000-4000-8000-000000000000`
     --> ids.txt:3:1
      |
    1 | 00000000-0000-4000-8000-000000000000
      | ------------------------------------ first declared here
    2 | 00000000-0000-4000-8000-000000000001 # the boss
    3 | 00000000-0000-4000-8000-000000000000
      | ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ declared again here
      |
      = help: remove one of the two entries
    ");
}

#[test]
fn a_missing_file_is_named_where_the_config_names_it() {
    let world = World::new(team(3));
    world.config(&format!("{SCOPE}[desktops]\nnames_file = \"kepe.txt\"\n"));
    let run = world.run(&["plan"]);
    assert_eq!(run.code(), 1);
    assert_eq!(world.stats().list_desktops, 0);
    let stderr = run.stderr();
    assert!(
        stderr.contains("error: cannot read list file `kepe.txt`")
            && stderr.contains("--> deskprune.toml:10:14")
            && stderr.contains("`names_file` names it here"),
        "{stderr}"
    );
}

#[test]
fn a_saved_plan_is_refused_when_the_list_file_changed() {
    let world = World::new(team(4));
    world.config(&format!("{SCOPE}[desktops]\nnames_file = \"keep.txt\"\n"));
    write(&world, "keep.txt", "eng-0000\neng-0001\neng-0002\n");
    world.run(&["plan", "--out", "plan.json"]).success();
    write(&world, "keep.txt", "eng-0000\neng-0001\n");
    let run = world.run(&["apply", "plan.json", "--auto-approve"]);
    assert_eq!(run.code(), 1);
    assert_eq!(world.stats().batch_delete, 0);
    assert!(
        run.stderr().contains(
            "the saved plan `plan.json` is stale: `deskprune.toml` or `keep.txt` changed since the plan was made"
        ),
        "{}",
        run.stderr()
    );
    // Unchanged, it applies.
    write(&world, "keep.txt", "eng-0000\neng-0001\neng-0002\n");
    world
        .run(&["apply", "plan.json", "--auto-approve"])
        .success();
    assert_eq!(world.stats().batch_delete_ids, [vec![id(3)]]);
}

#[test]
fn import_merge_adds_only_what_the_file_does_not_declare() {
    let world = World::new(team(3));
    world.config(&format!("{SCOPE}[desktops]\nnames_file = \"keep.txt\"\n"));
    write(&world, "keep.txt", "eng-0000\n");
    let run = world.run(&["import", "--merge"]);
    run.success();
    let config = std::fs::read_to_string(world.path("deskprune.toml")).unwrap();
    assert!(
        config.ends_with(
            "[desktops]\nnames_file = \"keep.txt\"\nnames = [\n    \"eng-0001\",\n    \"eng-0002\",\n]\n"
        ),
        "{config}"
    );
    assert!(deleted(&world, &[]).is_empty());
}
