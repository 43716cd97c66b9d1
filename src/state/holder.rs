//! Who holds the state lock: the record written into the lock file, so a refused run can name
//! the holder (shown escaped: anyone who can write the folder can write the record), and whether that holder is still running (`force-unlock` breaks only a lock
//! whose holder it cannot see alive).

use std::path::Path;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::text::printable;

/// Who holds (or last held) the lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    pub host: String,
    pub user: String,
    pub command: String,
    pub started_at: Timestamp,
}

/// Whether a holder's process still runs, as far as this host can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Liveness {
    Running,
    Gone,
    /// Why it cannot be told: the holder is on another host, or this system does not say.
    Unknown(String),
}

impl Holder {
    pub fn current(command: &str) -> Holder {
        Holder {
            pid: std::process::id(),
            host: hostname(),
            user: std::env::var("USER")
                .or_else(|_| std::env::var("USERNAME"))
                .unwrap_or_else(|_| "unknown".into()),
            command: command.to_string(),
            started_at: Timestamp::now(),
        }
    }

    pub fn liveness(&self) -> Liveness {
        let here = hostname();
        if self.host != here {
            return Liveness::Unknown(format!(
                "it ran on host `{}`, and this is `{}`",
                printable(&self.host),
                printable(&here)
            ));
        }
        match process_exists(self.pid) {
            Some(true) => Liveness::Running,
            Some(false) => Liveness::Gone,
            None => Liveness::Unknown(format!(
                "this system does not say whether pid {} runs",
                self.pid
            )),
        }
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` (pid {} on {}, user {}, since {})",
            printable(&self.command),
            self.pid,
            printable(&self.host),
            printable(&self.user),
            self.started_at.strftime("%Y-%m-%d %H:%M:%S UTC")
        )
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_string())
        .ok()
        .filter(|name| !name.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_else(|| "unknown host".into())
}

/// Whether a process `pid` runs on this host, or `None` when that cannot be told. On Linux,
/// `/proc/<pid>` (a zombie, already ended but not yet reaped, counts as gone: it holds no
/// lock); elsewhere on Unix, `ps -p`, which answers for processes of any user.
fn process_exists(pid: u32) -> Option<bool> {
    if pid == 0 {
        return Some(false);
    }
    let proc = Path::new("/proc");
    if proc.join("self/stat").exists() {
        return Some(
            match std::fs::read_to_string(proc.join(format!("{pid}/stat"))) {
                // `pid (name) S …`: the state follows the last `)`, as the name may hold one.
                Ok(stat) => stat
                    .rsplit_once(')')
                    .is_none_or(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X'])),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => false,
                Err(_) => proc.join(pid.to_string()).exists(),
            },
        );
    }
    if cfg!(unix) {
        let status = std::process::Command::new("ps")
            .args(["-p", &pid.to_string()])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .ok()?;
        return Some(status.success());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_runs_and_a_reaped_or_unborn_one_does_not() {
        assert_eq!(Holder::current("test").liveness(), Liveness::Running);
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let gone = Holder {
            pid,
            ..Holder::current("test")
        };
        // The pid could be taken again at once, but not in practice within this test.
        assert_eq!(gone.liveness(), Liveness::Gone);
        let unborn = Holder {
            pid: 999_999_999,
            ..Holder::current("test")
        };
        assert_eq!(unborn.liveness(), Liveness::Gone);
    }

    #[test]
    fn a_holder_on_another_host_cannot_be_told() {
        let elsewhere = Holder {
            host: "another-host.example".into(),
            ..Holder::current("test")
        };
        let Liveness::Unknown(why) = elsewhere.liveness() else {
            panic!("a process on another host cannot be seen");
        };
        assert!(why.contains("`another-host.example`"), "{why}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_zombie_holds_nothing() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        // Not reaped yet: wait until it has ended, then look.
        let stat = format!("/proc/{pid}/stat");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !std::fs::read_to_string(&stat)
            .unwrap()
            .rsplit_once(')')
            .unwrap()
            .1
            .trim_start()
            .starts_with('Z')
        {
            assert!(std::time::Instant::now() < deadline);
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(process_exists(pid), Some(false));
        child.wait().unwrap();
    }

    #[test]
    fn a_record_shows_no_control_character_it_holds() {
        let planted = Holder {
            command: "apply\u{1b}[2K\r".into(),
            host: "h\u{202e}x".into(),
            user: "u\u{7}".into(),
            ..Holder::current("test")
        };
        let shown = planted.to_string();
        assert!(!shown.chars().any(char::is_control), "{shown:?}");
        assert!(
            shown.contains("`apply\\u{1b}[2K\\u{d}`") && shown.contains("h\\u{202e}x"),
            "{shown}"
        );
    }
}
