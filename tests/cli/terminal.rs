//! The real binary in a real terminal: runs `tests/terminal.sh` (tmux) against the quick start
//! — colours on a terminal, none with `NO_COLOR`, and `apply`'s confirmation prompt. Skipped,
//! with a notice, where tmux is not installed.

use std::path::Path;
use std::process::{Command, Stdio};

#[test]
fn the_quick_start_in_a_real_terminal() {
    let on_path = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("tmux").is_file()));
    if !on_path {
        eprintln!("skipped: tmux is not on PATH, so tests/terminal.sh cannot run");
        return;
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
