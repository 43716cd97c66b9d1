//! `import`: a fleet adopted into a config, whose next plan has no changes and whose comments
//! and layout stay as written.

use crate::support::*;

/// A config skeleton as a new team writes it: comments everywhere, no declarations.
const SKELETON: &str = "\
# The eng team's desktops. Reviewed in pull requests.
[scope]
tags = { team = \"eng\" }   # only ours

[guard]
# A first cleanup may be large: raise this then.
max_deletions = 5

# Declarations: `deskprune import` writes them below.
";

fn config_text(world: &World) -> String {
    std::fs::read_to_string(world.path("deskprune.toml")).unwrap()
}

/// Every line of `before` is still in `after`, in the same order.
#[track_caller]
fn assert_kept(before: &str, after: &str) {
    let mut rest = after;
    for line in before.lines() {
        let at = rest
            .find(line)
            .unwrap_or_else(|| panic!("line {line:?} lost or moved:\n{after}"));
        rest = &rest[at + line.len()..];
    }
}

#[track_caller]
fn assert_no_changes(world: &World) {
    let plan = world.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code(), 0, "{}\n{}", plan.stdout(), plan.stderr());
    assert!(plan.stdout().contains("No changes."), "{}", plan.stdout());
    assert!(!plan.stderr().contains("warning"), "{}", plan.stderr());
}

#[test]
fn import_then_plan_says_no_changes_and_the_comments_stay() {
    let mut inventory = team(4);
    inventory.push(desktop(100, "ops-0", "ops"));
    let world = World::new(inventory);
    world.config(SKELETON);
    let before = config_text(&world);

    let run = world.run(&["import"]);
    run.success();
    assert!(
        run.stdout()
            .contains("Declared 4 desktops in deskprune.toml: 4 by name, 0 by ID"),
        "{}",
        run.stdout()
    );
    let after = config_text(&world);
    assert_kept(&before, &after);
    assert!(
        after.ends_with(
            "# Declarations: `deskprune import` writes them below.\n[desktops]\nnames = [\n    \"eng-0000\",\n    \"eng-0001\",\n    \"eng-0002\",\n    \"eng-0003\",\n]\n"
        ),
        "{after}"
    );
    assert!(!after.contains("ops-0"), "out of scope: {after}");
    assert_eq!(world.stats().batch_delete, 0, "import deletes nothing");
    assert_no_changes(&world);
}

#[test]
fn ten_thousand_desktops_round_trip() {
    let world = World::new(team(10_000));
    world.config(SKELETON);
    let before = config_text(&world);
    world.run(&["import"]).success();
    let after = config_text(&world);
    assert_kept(&before, &after);
    assert_eq!(after.matches("\"eng-").count(), 10_000);
    assert_no_changes(&world);
}

#[test]
fn shared_or_missing_names_are_declared_by_id_with_a_comment() {
    let world = World::new(vec![
        desktop(1, "eng-a", "eng"),
        desktop(2, "ENG-A", "eng"),
        desktop(3, "", "eng"),
        desktop(4, "eng-b", "eng"),
        desktop(5, "eng-b", "ops"),
        desktop(6, "eng-c", "eng"),
    ]);
    world.config(SKELETON);
    let run = world.run(&["import"]);
    run.success();
    assert!(
        run.stdout()
            .contains("Declared 5 desktops in deskprune.toml: 2 by name, 3 by ID"),
        "{}",
        run.stdout()
    );
    let after = config_text(&world);
    // `eng-b` is shared with a desktop of another team, which the scope's tag filter keeps
    // off the list: declared by name, it keeps only the one listed.
    let expected = format!(
        "names = [\n    \"eng-b\",\n    \"eng-c\",\n]\nids = [\n    # a desktop without a computer name (user `user3`)\n    \"{}\",\n    # `eng-a` (user `user1`), a name 2 listed desktops share\n    \"{}\",\n    # `ENG-A` (user `user2`), a name 2 listed desktops share\n    \"{}\",\n]\n",
        id(3),
        id(1),
        id(2),
    );
    assert!(after.ends_with(&expected), "{after}");
    assert_no_changes(&world);
}

#[test]
fn a_config_with_declarations_is_refused_without_merge() {
    let world = World::new(team(3));
    world.config(&format!("{SKELETON}[desktops]\nnames = [\"eng-0000\"]\n"));
    let before = config_text(&world);
    let run = world.run(&["import"]);
    assert_eq!(run.code(), 1);
    assert!(
        run.stderr()
            .contains("`deskprune.toml` already declares 1 desktop; nothing was read or written"),
        "{}",
        run.stderr()
    );
    assert!(run.stderr().contains("--merge"), "{}", run.stderr());
    assert_eq!(config_text(&world), before);
    assert_eq!(world.stats().list_desktops, 0, "nothing was read");
}

#[test]
fn merge_adds_only_what_is_missing() {
    let world = World::new(team(4));
    world.config(&format!(
        "{SKELETON}[[desktop]]\nid = \"{}\" # the boss\n\n[desktops]\nnames = [\n    \"ENG-0000\", # mine\n]\n",
        id(3)
    ));
    let before = config_text(&world);
    let run = world.run(&["import", "--merge"]);
    run.success();
    assert!(
        run.stdout().contains("Declared 2 desktops")
            && run
                .stdout()
                .contains("2 in-scope desktops were declared already."),
        "{}",
        run.stdout()
    );
    let after = config_text(&world);
    assert_kept(&before, &after);
    assert!(
        after.contains(
            "names = [\n    \"ENG-0000\", # mine\n    \"eng-0001\",\n    \"eng-0002\",\n]"
        ),
        "{after}"
    );
    assert_no_changes(&world);

    let again = world.run(&["import", "--merge"]);
    again.success();
    assert!(
        again.stdout().contains("Nothing to import"),
        "{}",
        again.stdout()
    );
    assert_eq!(config_text(&world), after, "nothing to add: not written");
}

#[test]
fn a_config_error_sends_nothing_and_writes_nothing() {
    let world = World::new(team(3));
    world.config("[scope]\ntags = { team = \"eng\" }\n\n[guard]\nmax_deletions = -1\n");
    let before = config_text(&world);
    let run = world.run(&["import"]);
    assert_eq!(run.code(), 1);
    assert!(run.stderr().contains("max_deletions"), "{}", run.stderr());
    assert_eq!(world.stats().list_desktops, 0);
    assert_eq!(config_text(&world), before);
}

#[test]
fn dry_run_prints_the_diff_and_writes_nothing() {
    let world = World::new(team(2));
    world.config(SKELETON);
    let before = config_text(&world);
    let run = world.run(&["import", "--dry-run"]);
    run.success();
    let stdout = run.stdout();
    assert!(
        stdout.contains("+[desktops]\n+names = [\n+    \"eng-0000\",\n+    \"eng-0001\",\n+]\n"),
        "{stdout}"
    );
    assert!(stdout.contains("Would declare 2 desktops"), "{stdout}");
    assert_eq!(config_text(&world), before);
}

#[test]
fn protected_and_deleting_desktops_are_counted() {
    let mut protected = desktop(1, "eng-p", "eng");
    protected["tags"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"key": "deskprune:protect", "value": "true"}));
    let mut deleting = desktop(2, "eng-gone", "eng");
    deleting["task_status"] = "deleting".into();
    let world = World::new(vec![protected, deleting, desktop(3, "eng-x", "eng")]);
    world.config(SKELETON);
    let run = world.run(&["import"]);
    run.success();
    let stdout = run.stdout();
    assert!(stdout.contains("Declared 2 desktops"), "{stdout}");
    assert!(
        stdout.contains("1 carries the protection tag `deskprune:protect`."),
        "{stdout}"
    );
    assert!(
        stdout.contains("1 desktop being deleted was left out."),
        "{stdout}"
    );
}

#[test]
fn a_linked_config_is_written_through_with_its_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let world = World::new(team(2));
    world.config(SKELETON);
    std::fs::create_dir(world.path("repo")).unwrap();
    std::fs::rename(
        world.path("deskprune.toml"),
        world.path("repo/deskprune.toml"),
    )
    .unwrap();
    std::os::unix::fs::symlink("repo/deskprune.toml", world.path("deskprune.toml")).unwrap();
    let target = world.path("repo/deskprune.toml");
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
    world.run(&["import"]).success();
    assert!(
        std::fs::symlink_metadata(world.path("deskprune.toml"))
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link stays"
    );
    let mode = std::fs::metadata(&target).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o640);
    assert!(
        std::fs::read_to_string(&target)
            .unwrap()
            .contains("\"eng-0001\"")
    );
    assert_no_changes(&world);
}

#[test]
fn names_needing_escapes_round_trip() {
    let world = World::new(vec![
        desktop(1, "eng \"q\" \\ é", "eng"),
        desktop(2, "eng\nline # x", "eng"),
        desktop(3, "eng-\u{1b}[2K", "eng"),
        desktop(4, "eng-\u{1b}[2K", "eng"),
    ]);
    world.config(SKELETON);
    let run = world.run(&["import"]);
    run.success();
    let after = config_text(&world);
    assert!(
        !after.contains('\u{1b}'),
        "no escape code reaches the file: {after}"
    );
    assert!(
        after.contains("# `eng-\\u{1b}[2K` (user `user3`), a name 2 listed desktops share"),
        "{after}"
    );
    assert_no_changes(&world);
}
