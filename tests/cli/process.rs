//! A running `deskprune` the test signals or kills: its output read in the background (a full
//! pipe nobody reads would stall it), waits bounded, and what it said once it ended.

use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, ExitStatus};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::support::Cmd;

/// No wait in the tests that use this lasts longer: a run that hangs fails the test.
pub const WAIT_CAP: Duration = Duration::from_secs(60);

pub struct Running {
    child: Child,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
}

/// How a signalled or killed run ended, and what it said.
#[derive(Debug)]
pub struct Ended {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Ended {
    /// The exit code; a run that died of a signal instead fails the test, naming it.
    #[track_caller]
    pub fn code(&self) -> i32 {
        match self.status.code() {
            Some(code) => code,
            None => panic!(
                "deskprune died of signal {:?} instead of exiting\nstderr:\n{}",
                self.status.signal(),
                self.stderr
            ),
        }
    }
}

fn reader(mut stream: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stream.read_to_string(&mut text);
        text
    })
}

impl Running {
    pub fn start(command: Cmd) -> Running {
        let mut child = command.spawn_piped();
        let stdout = child.stdout.take().map(reader);
        let stderr = child.stderr.take().map(reader);
        Running {
            child,
            stdout,
            stderr,
        }
    }

    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).expect("a pid fits in i32")
    }

    /// Waits (bounded) until `ready` holds; false when the run ended first.
    pub fn wait_for(&mut self, mut ready: impl FnMut() -> bool) -> bool {
        let deadline = Instant::now() + WAIT_CAP;
        while Instant::now() < deadline {
            if ready() {
                return true;
            }
            if self.child.try_wait().unwrap().is_some() {
                return ready();
            }
            std::thread::sleep(Duration::from_micros(500));
        }
        panic!("waited {WAIT_CAP:?} for a point of the run that never came");
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Sends `signal` (`libc::SIGINT`, `SIGTERM`, `SIGKILL`).
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill only sends a signal to our own child, which has not been reaped yet
        // (it is reaped in `wait` alone), so its pid cannot name another process.
        let sent = unsafe { libc::kill(self.pid(), signal) };
        assert_eq!(sent, 0, "could not send signal {signal}");
    }

    /// Waits (bounded) for the run to end; a run that does not end within the cap is killed
    /// and fails the test.
    pub fn wait(mut self) -> Ended {
        let deadline = Instant::now() + WAIT_CAP;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("deskprune did not end within {WAIT_CAP:?}");
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        let take = |handle: Option<JoinHandle<String>>| {
            handle.map(|h| h.join().unwrap()).unwrap_or_default()
        };
        Ended {
            status,
            stdout: take(self.stdout.take()),
            stderr: take(self.stderr.take()),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
