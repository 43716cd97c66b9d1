//! `deskprune man`: one complete page, no reference to a page that does not exist, with the
//! sections a man page reader looks for.

use crate::support::*;

#[test]
fn the_man_page_is_complete_and_points_at_no_missing_page() {
    let world = World::new(Vec::new());
    let run = world.run(&["man"]);
    run.success();
    let page = run.stdout();
    assert!(
        !page.contains("(1)"),
        "no `deskprune-plan(1)` style reference: there is one page"
    );
    for section in [
        ".SH COMMANDS",
        ".SH \"CONFIGURATION\"",
        ".SH \"ENVIRONMENT\"",
        ".SH \"FILES\"",
        ".SH \"EXIT STATUS\"",
    ] {
        assert!(page.contains(section), "{section} missing:\n{page}");
    }
    for command in [
        "validate",
        "plan",
        "apply",
        "jobs",
        "simulator",
        "show",
        "force\\-unlock",
        "schema",
        "completions",
        "man",
    ] {
        assert!(
            page.contains(&format!(".SS \"deskprune {command}\"")),
            "no section for `{command}`"
        );
    }
    // Each subcommand's own options are on the page.
    for option in [
        "\\-\\-allow\\-deletions <N>",
        "\\-\\-detailed\\-exitcode",
        "\\-\\-refresh",
    ] {
        assert!(page.contains(option), "{option} missing");
    }
    // Every variable the README lists is there too.
    let readme = read(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"));
    let variables = readme
        .split("## Environment variables")
        .nth(1)
        .unwrap()
        .split("\n## ")
        .next()
        .unwrap();
    for row in variables.lines().filter(|line| line.starts_with("| `")) {
        for name in row.split('|').nth(1).unwrap().split('`').skip(1).step_by(2) {
            assert!(page.contains(name), "`{name}` is not in ENVIRONMENT");
        }
    }
}
