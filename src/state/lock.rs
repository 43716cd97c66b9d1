//! The state lock: one apply at a time per state file. An OS file lock (`flock`) on
//! `<state>.lock`, so the kernel releases it when the holder dies; the file also records who
//! holds it, so a refused run can name the holder. The lock file is never followed if it is a
//! link (its target would be overwritten, as root any file); for a state file that is a link,
//! the lock lives beside the link's target, where the state is really written.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::holder::{Holder, Liveness};

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("the state file `{state}` is locked by {holder}")]
    Held {
        state: String,
        holder: String,
        /// The flag by which the command that asked can wait for the lock (`--lock-timeout`),
        /// if it has one: only its hint names it.
        wait_flag: Option<&'static str>,
    },
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
    #[error(
        "the state lock of `{state}` is held by {holder}, which is still running on this host; stop that process first: its lock is released when it ends"
    )]
    StillRunning { state: String, holder: String },
    #[error("the state lock of `{state}` changed while force-unlock asked; nothing was changed")]
    Changed { state: String },
    #[error(
        "the state lock `{path}` is a symbolic link; deskprune never follows one for its lock: remove the link (a new lock file is made)"
    )]
    Link { path: String },
    #[error(
        "the state lock `{path}` is not a regular file but {kind}; move it away (a new lock file is made)"
    )]
    NotAFile { path: String, kind: &'static str },
    #[error(
        "the state lock `{path}` was replaced while it was opened; nothing was written: run again"
    )]
    Swapped { path: String },
    #[error("cannot lock `{path}`: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl LockError {
    /// The same error, its hint naming `flag` as the way to wait for a held lock: for the
    /// commands that have one.
    pub fn waitable_with(self, flag: &'static str) -> LockError {
        match self {
            LockError::Held { state, holder, .. } => LockError::Held {
                state,
                holder,
                wait_flag: Some(flag),
            },
            other => other,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            LockError::Held {
                wait_flag: Some(flag),
                ..
            } => Some(format!(
                "wait for it to finish, or pass `{flag} SECONDS` to wait for it"
            )),
            LockError::Held { .. } => Some("wait for it to finish, then run again".to_string()),
            _ => None,
        }
    }
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
        let target = resolve(state)?;
        let path = lock_path(&target);
        let io = |source| LockError::Io {
            path: path.display().to_string(),
            source,
        };
        // A timeout too long to add to now is a wait without end.
        let deadline = Instant::now().checked_add(timeout);
        let mut file = loop {
            let mut file = open_lock_file(&path, true)?.expect("a lock file opened to create it");
            match file.try_lock() {
                // A file `force-unlock` removed meanwhile guards nothing: the lock is the file
                // now at the path.
                Ok(()) if still_at(&file, &path).map_err(io)? => break file,
                Ok(()) => continue,
                Err(TryLockError::WouldBlock)
                    if deadline.is_none_or(|deadline| Instant::now() < deadline) =>
                {
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
                        wait_flag: None,
                    });
                }
                Err(TryLockError::Error(err)) => return Err(io(err)),
            }
        };
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
        for leftover in [super::file::backup_path(&target), target] {
            if let Err(err) = crate::atomic_file::remove_leftovers(&leftover) {
                tracing::warn!(error = %err, "could not remove the temporary files of a killed run");
            }
        }
        Ok(StateLock { file, taken_over })
    }
}

/// A lock `force-unlock` was asked to break: checked, not yet broken.
#[derive(Debug)]
pub struct Unlocking {
    state: PathBuf,
    path: PathBuf,
    file: File,
    pub holder: Holder,
    /// Why the holder's process could not be checked, when it could not.
    pub unchecked: Option<String>,
}

impl StateLock {
    /// Checks that the lock of `state` may be broken: its recorded holder has `pid`, and it is
    /// not seen running on this host (a holder that runs here is stopped, not unlocked: its
    /// lock goes with it, while a broken one would leave two writers).
    pub fn prepare_force_unlock(state: &Path, pid: u32) -> Result<Unlocking, LockError> {
        let path = lock_path(&resolve(state)?);
        let not_held = || LockError::NotHeld {
            state: state.display().to_string(),
        };
        let mut file = open_lock_file(&path, false)?.ok_or_else(not_held)?;
        let holder = read_holder(&mut file).ok_or_else(not_held)?;
        if holder.pid != pid {
            return Err(LockError::OtherHolder {
                state: state.display().to_string(),
                holder: holder.to_string(),
                pid,
            });
        }
        let unchecked = match holder.liveness() {
            Liveness::Running => {
                return Err(LockError::StillRunning {
                    state: state.display().to_string(),
                    holder: holder.to_string(),
                });
            }
            Liveness::Gone => None,
            Liveness::Unknown(why) => Some(why),
        };
        Ok(Unlocking {
            state: state.to_path_buf(),
            path,
            file,
            holder,
            unchecked,
        })
    }
}

impl Unlocking {
    /// Breaks the lock: the lock file is removed, so the next run locks a new one. Refused if
    /// the lock file or its record changed since it was checked.
    pub fn release(mut self) -> Result<Holder, LockError> {
        let io = |source| LockError::Io {
            path: self.path.display().to_string(),
            source,
        };
        if !still_at(&self.file, &self.path).map_err(io)?
            || read_holder(&mut self.file).as_ref() != Some(&self.holder)
        {
            return Err(LockError::Changed {
                state: self.state.display().to_string(),
            });
        }
        std::fs::remove_file(&self.path).map_err(io)?;
        Ok(self.holder)
    }
}

/// The file the state at `state` really is (the target of a link), whose lock this is.
fn resolve(state: &Path) -> Result<PathBuf, LockError> {
    crate::atomic_file::resolve(state).map_err(|source| LockError::Io {
        path: state.display().to_string(),
        source,
    })
}

/// Opens the lock file without ever following a link (std has no `O_NOFOLLOW`): what is at
/// `path` is looked at first and refused unless it is a regular file, and what was opened must
/// be that same file. A missing one is created only where nothing is (`O_EXCL`, which no link
/// gets through), or `None` without `create`.
fn open_lock_file(path: &Path, create: bool) -> Result<Option<File>, LockError> {
    let shown = || path.display().to_string();
    let io = |source| LockError::Io {
        path: shown(),
        source,
    };
    // Another run may create the file between the look and the creation: look again.
    for _ in 0..3 {
        let seen = match std::fs::symlink_metadata(path) {
            Ok(seen) => seen,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound && create => {
                match OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create_new(true)
                    .open(path)
                {
                    Ok(file) => return Ok(Some(file)),
                    Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => continue,
                    Err(err) => return Err(io(err)),
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(io(err)),
        };
        let kind = seen.file_type();
        if kind.is_symlink() {
            return Err(LockError::Link { path: shown() });
        }
        if !kind.is_file() {
            let kind = if kind.is_dir() {
                "a folder"
            } else {
                "a FIFO, socket or device"
            };
            return Err(LockError::NotAFile {
                path: shown(),
                kind,
            });
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(io)?;
        if !same_file(&file.metadata().map_err(io)?, &seen) {
            return Err(LockError::Swapped { path: shown() });
        }
        return Ok(Some(file));
    }
    Err(LockError::Swapped { path: shown() })
}

/// Whether `file` is still the file at `path` (not removed or replaced since it was opened).
fn still_at(file: &File, path: &Path) -> std::io::Result<bool> {
    match std::fs::symlink_metadata(path) {
        Ok(on_disk) => Ok(same_file(&file.metadata()?, &on_disk)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(err) => Err(err),
    }
}

/// Whether two metadata describe one file (where the system says; elsewhere, assumed).
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        a.dev() == b.dev() && a.ino() == b.ino()
    }
    #[cfg(not(unix))]
    {
        let _ = (a, b);
        true
    }
}

/// The most a holder record takes, with room to spare: a larger lock file holds no record.
pub(super) const RECORD_LIMIT: u64 = 64 << 10;

fn read_holder(file: &mut File) -> Option<Holder> {
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.take(RECORD_LIMIT + 1).read_to_end(&mut bytes).ok()?;
    if bytes.len() as u64 > RECORD_LIMIT {
        return None;
    }
    serde_json::from_slice(&bytes).ok()
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
    fn force_unlock_needs_the_holders_pid_and_a_holder_not_running_here() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.json");
        let held = StateLock::acquire(&state, "deskprune apply", Duration::ZERO).unwrap();
        let err = StateLock::prepare_force_unlock(&state, std::process::id() + 1).unwrap_err();
        assert!(matches!(err, LockError::OtherHolder { .. }), "{err}");
        let err = StateLock::prepare_force_unlock(&state, std::process::id()).unwrap_err();
        assert!(matches!(err, LockError::StillRunning { .. }), "{err}");
        drop(held);

        // A hung holder on another host sharing the folder: its liveness cannot be told.
        let elsewhere = Holder {
            host: "another-host.example".into(),
            ..Holder::current("deskprune apply")
        };
        std::fs::write(lock_path(&state), serde_json::to_vec(&elsewhere).unwrap()).unwrap();
        let unlocking = StateLock::prepare_force_unlock(&state, elsewhere.pid).unwrap();
        assert!(unlocking.unchecked.is_some());
        assert_eq!(unlocking.release().unwrap(), elsewhere);
        assert!(!lock_path(&state).exists());
        assert!(matches!(
            StateLock::prepare_force_unlock(&state, 1).unwrap_err(),
            LockError::NotHeld { .. }
        ));
    }

    #[test]
    fn force_unlock_leaves_a_lock_that_changed_while_it_asked() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.json");
        let gone = Holder {
            pid: 999_999_999,
            ..Holder::current("deskprune apply")
        };
        std::fs::write(lock_path(&state), serde_json::to_vec(&gone).unwrap()).unwrap();
        let unlocking = StateLock::prepare_force_unlock(&state, gone.pid).unwrap();
        assert_eq!(unlocking.unchecked, None);
        // Meanwhile a new run takes the lock.
        let next = StateLock::acquire(&state, "next", Duration::ZERO).unwrap();
        let err = unlocking.release().unwrap_err();
        assert!(matches!(err, LockError::Changed { .. }), "{err}");
        assert!(lock_path(&state).exists());
        drop(next);
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

    #[test]
    fn waiting_for_ever_is_a_wait_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.json");
        StateLock::acquire(&state, "deskprune apply", Duration::MAX).unwrap();
    }

    #[test]
    fn a_record_larger_than_any_holder_is_no_record() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.json");
        let mut record = serde_json::to_vec(&Holder::current("deskprune apply")).unwrap();
        record.resize(record.len() + (100 << 10), b' ');
        std::fs::write(lock_path(&state), &record).unwrap();
        let lock = StateLock::acquire(&state, "deskprune apply", Duration::ZERO).unwrap();
        assert_eq!(lock.taken_over, None);
    }

    #[test]
    fn a_lock_file_removed_while_waiting_for_it_is_not_taken() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.json");
        let hung = StateLock::acquire(&state, "hung", Duration::ZERO).unwrap();
        let waiting = {
            let state = state.clone();
            std::thread::spawn(move || {
                StateLock::acquire(&state, "waiting", Duration::from_secs(3))
            })
        };
        std::thread::sleep(Duration::from_millis(300));
        // `force-unlock` removes the file; a new run locks a new one.
        std::fs::remove_file(lock_path(&state)).unwrap();
        let next = StateLock::acquire(&state, "next", Duration::ZERO).unwrap();
        // The hung run ends: the old file's lock is free, but it guards nothing now.
        drop(hung);
        let err = waiting.join().unwrap().unwrap_err();
        assert!(
            matches!(&err, LockError::Held { holder, .. } if holder.contains("`next`")),
            "{err}"
        );
        drop(next);
    }
}
