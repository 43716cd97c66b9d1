//! The state lock: one apply at a time per state file. An OS file lock (`flock`) on
//! `<state>.lock`, so the kernel releases it when the holder dies; the file also records who
//! holds it, so a refused run can name the holder.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Who holds (or last held) the lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    pub host: String,
    pub user: String,
    pub command: String,
    pub started_at: Timestamp,
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
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` (pid {} on {}, user {}, since {})",
            self.command,
            self.pid,
            self.host,
            self.user,
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

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "the state file `{state}` is locked by {holder}; wait for it to finish, or pass `--lock-timeout` to wait"
    )]
    Held { state: String, holder: String },
    #[error("the state lock of `{state}` is not held by anyone; there is nothing to unlock")]
    NotHeld { state: String },
    #[error(
        "the state lock of `{state}` is held by {holder}, not by pid {pid}; nothing was changed"
    )]
    OtherHolder {
        state: String,
        holder: String,
        pid: u32,
    },
    #[error("cannot lock `{path}`: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Held until dropped; then the record is cleared and the OS lock released.
#[derive(Debug)]
pub struct StateLock {
    file: File,
    /// Set when the previous holder died without releasing: its record was still there.
    pub taken_over: Option<Holder>,
}

pub fn lock_path(state: &Path) -> PathBuf {
    let mut name = state.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    state.with_file_name(name)
}

impl StateLock {
    /// Takes the lock of `state`, retrying for up to `timeout` while another process holds it.
    pub fn acquire(state: &Path, command: &str, timeout: Duration) -> Result<StateLock, LockError> {
        let path = lock_path(state);
        let io = |source| LockError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        let deadline = Instant::now() + timeout;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(TryLockError::WouldBlock) => {
                    let holder = read_holder(&mut file).map_or_else(
                        || "another deskprune process".to_string(),
                        |h| h.to_string(),
                    );
                    return Err(LockError::Held {
                        state: state.display().to_string(),
                        holder,
                    });
                }
                Err(TryLockError::Error(err)) => return Err(io(err)),
            }
        }
        // A record left behind means its writer died while holding the lock: the OS released
        // the lock, but the run it describes did not finish.
        let taken_over = read_holder(&mut file);
        let record = serde_json::to_vec(&Holder::current(command)).expect("a holder serialises");
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        file.write_all(&record).map_err(io)?;
        file.sync_all().map_err(io)?;
        // Under the lock no one else writes the state: a temporary file of it is a dead
        // writer's, and so is one of its backup.
        for leftover in [state.to_path_buf(), super::file::backup_path(state)] {
            if let Err(err) = crate::atomic_file::remove_leftovers(&leftover) {
                tracing::warn!(error = %err, "could not remove the temporary files of a killed run");
            }
        }
        Ok(StateLock { file, taken_over })
    }
}

impl StateLock {
    /// Breaks the lock of `state` if its recorded holder has `pid`: the lock file is removed,
    /// so the next run locks a new one. Returns the holder that was removed.
    pub fn force_unlock(state: &Path, pid: u32) -> Result<Holder, LockError> {
        let path = lock_path(state);
        let io = |source| LockError::Io {
            path: path.display().to_string(),
            source,
        };
        let not_held = || LockError::NotHeld {
            state: state.display().to_string(),
        };
        let mut file = match OpenOptions::new().read(true).write(true).open(&path) {
            Ok(file) => file,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Err(not_held()),
            Err(err) => return Err(io(err)),
        };
        let holder = read_holder(&mut file).ok_or_else(not_held)?;
        if holder.pid != pid {
            return Err(LockError::OtherHolder {
                state: state.display().to_string(),
                holder: holder.to_string(),
                pid,
            });
        }
        std::fs::remove_file(&path).map_err(io)?;
        Ok(holder)
    }
}

fn read_holder(file: &mut File) -> Option<Holder> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

impl Drop for StateLock {
    fn drop(&mut self) {
        // Clearing the record first marks a clean release; the lock goes with the handle.
        let _ = self.file.set_len(0);
        let _ = self.file.sync_all();
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_with_the_first_named() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("deskprune.state.json");
        let first = StateLock::acquire(&state, "deskprune apply", Duration::ZERO).unwrap();
        assert_eq!(first.taken_over, None);
        let err = StateLock::acquire(&state, "other", Duration::from_millis(200)).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("`deskprune apply` (pid"), "{text}");
        drop(first);
        let again = StateLock::acquire(&state, "other", Duration::ZERO).unwrap();
        assert_eq!(again.taken_over, None, "a clean release leaves no record");
    }

    #[test]
    fn force_unlock_needs_the_holders_pid() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.json");
        let held = StateLock::acquire(&state, "deskprune apply", Duration::ZERO).unwrap();
        let err = StateLock::force_unlock(&state, std::process::id() + 1).unwrap_err();
        assert!(matches!(err, LockError::OtherHolder { .. }), "{err}");
        let removed = StateLock::force_unlock(&state, std::process::id()).unwrap();
        assert_eq!(removed.command, "deskprune apply");
        // The old handle still holds its (now orphaned) lock; a new run is not blocked by it.
        let next = StateLock::acquire(&state, "next", Duration::ZERO).unwrap();
        drop(next);
        drop(held);
        assert!(matches!(
            StateLock::force_unlock(&state, 1).unwrap_err(),
            LockError::NotHeld { .. }
        ));
    }

    #[test]
    fn a_record_without_a_lock_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.json");
        let dead = Holder {
            pid: 999_999,
            ..Holder::current("deskprune apply")
        };
        std::fs::write(lock_path(&state), serde_json::to_vec(&dead).unwrap()).unwrap();
        let lock = StateLock::acquire(&state, "deskprune apply", Duration::ZERO).unwrap();
        assert_eq!(lock.taken_over.as_ref().map(|h| h.pid), Some(999_999));
    }
}
