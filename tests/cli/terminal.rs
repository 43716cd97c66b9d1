//! The real binary in a real terminal: runs `tests/terminal.sh` (tmux) against the quick start
//! — colours on a terminal, none with `NO_COLOR`, and `apply`'s confirmation prompt. Where tmux
//! is not installed it says "skipped" on the terminal (past the test harness's capture); under
//! `CI=true` a missing tmux fails instead, since `.ci/run` installs it.

use std::ffi::OsStr;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// Whether the terminal test runs, given `PATH` and `CI`.
#[derive(Debug, PartialEq, Eq)]
enum Tmux {
    Found,
    /// Not on `PATH`, outside CI: the test passes, saying so.
    Skip,
    /// Not on `PATH` under `CI=true`: the test fails.
    Missing,
}

fn tmux(path: Option<&OsStr>, ci: Option<&OsStr>) -> Tmux {
    if path.is_some_and(|path| std::env::split_paths(path).any(|dir| dir.join("tmux").is_file())) {
        Tmux::Found
    } else if ci.is_some_and(|ci| ci == "true") {
        Tmux::Missing
    } else {
        Tmux::Skip
    }
}

#[test]
fn the_quick_start_in_a_real_terminal() {
    let path = std::env::var_os("PATH");
    match tmux(path.as_deref(), std::env::var_os("CI").as_deref()) {
        Tmux::Found => {}
        Tmux::Missing => panic!(
            "tmux is not on PATH under CI=true: install it (`.ci/run` does) so that \
             tests/terminal.sh runs"
        ),
        Tmux::Skip => {
            // `eprintln!` would be captured and shown only if the test failed: write to the
            // process's stderr directly, so that the skip shows in `cargo test`'s output.
            let _ = writeln!(
                std::io::stderr().lock(),
                "skipped: the_quick_start_in_a_real_terminal: tmux is not on PATH, so \
                 tests/terminal.sh cannot run (install tmux; under CI=true this fails)"
            );
            return;
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = Command::new("bash")
        .arg(root.join("tests/terminal.sh"))
        .env("DESKPRUNE_BIN", env!("CARGO_BIN_EXE_deskprune"))
        .current_dir(root)
        .stdin(Stdio::null())
        .output()
        .expect("bash runs tests/terminal.sh");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "tests/terminal.sh failed ({}):\n{stdout}{stderr}",
        output.status
    );
    let last = stdout.lines().last().unwrap_or_default();
    assert!(
        last.ends_with(" passed, 0 failed"),
        "unexpected last line {last:?}:\n{stdout}"
    );
}

#[test]
fn a_missing_tmux_is_skipped_outside_ci_and_fails_under_ci() {
    let empty = tempfile::tempdir().unwrap();
    let with_tmux = tempfile::tempdir().unwrap();
    std::fs::write(with_tmux.path().join("tmux"), "").unwrap();
    let no_tmux = std::env::join_paths([empty.path()]).unwrap();
    let found = std::env::join_paths([empty.path(), with_tmux.path()]).unwrap();
    let ci = Some(OsStr::new("true"));
    assert_eq!(tmux(Some(&no_tmux), None), Tmux::Skip);
    assert_eq!(tmux(None, Some(OsStr::new("false"))), Tmux::Skip);
    assert_eq!(tmux(Some(&no_tmux), ci), Tmux::Missing);
    assert_eq!(tmux(None, ci), Tmux::Missing);
    assert_eq!(tmux(Some(&found), ci), Tmux::Found);
    assert_eq!(tmux(Some(&found), None), Tmux::Found);
}
