//! Reading and atomically writing the state file.

use std::path::{Path, PathBuf};

use super::{FORMAT_VERSION, State};
use crate::format_version::{self, VersionError, Versioned};
use crate::input_file::InputFileError;
use crate::text::printable;

/// A state file that cannot be read or written, with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(transparent)]
    Unreadable(#[from] InputFileError),
    #[error("state file `{path}` is not valid JSON: {error}")]
    NotJson {
        path: String,
        error: serde_json::Error,
        recovery: String,
    },
    #[error(transparent)]
    Version(#[from] VersionError),
    #[error("state file `{path}` is malformed: {error}")]
    Malformed {
        path: String,
        error: serde_json::Error,
        recovery: String,
    },
    #[error(
        "state file `{path}` belongs to project `{found}`, but the config names project `{project}`"
    )]
    OtherProject {
        path: String,
        found: String,
        project: String,
    },
    #[error(
        "state file `{path}` now belongs to project `{found}`, not `{project}`: another run replaced it; it was not overwritten"
    )]
    Replaced {
        path: String,
        found: String,
        project: String,
    },
    #[error(
        "state file `{path}` was replaced by one of another history (lineage `{found}`, this run's is `{lineage}`) while this run held it; it was not overwritten, so neither loses a job"
    )]
    OtherHistory {
        path: String,
        found: String,
        lineage: String,
    },
    /// Saving failed: the state on disk is the one before.
    #[error("cannot write state file `{path}`: {error}")]
    NotSaved {
        path: String,
        error: Box<StateError>,
    },
    #[error("cannot write state file `{path}`: {error}")]
    Io { path: String, error: std::io::Error },
}

impl StateError {
    pub fn hint(&self) -> Option<String> {
        match self {
            StateError::NotJson { recovery, .. } | StateError::Malformed { recovery, .. } => {
                Some(recovery.clone())
            }
            StateError::Version(err) => err.hint(),
            StateError::OtherProject { .. } => {
                Some("use `--state` to pick this project's state file".to_string())
            }
            StateError::NotSaved { error, .. } => error.hint(),
            _ => None,
        }
    }
}

/// `deskprune.state.json` beside the config file, unless given.
pub fn state_path_for(config_path: &Path, given: Option<&Path>) -> PathBuf {
    match given {
        Some(path) => path.to_path_buf(),
        None => config_path
            .parent()
            .unwrap_or_else(|| Path::new(""))
            .join("deskprune.state.json"),
    }
}

/// The state at `path`, or a new one for `project_id` when there is no file yet.
pub fn load(path: &Path, project_id: &str) -> Result<State, StateError> {
    let Some(bytes) = read_bytes(path)? else {
        return Ok(State::new(project_id));
    };
    let state = parse(path, &bytes)?;
    if state.project_id != project_id {
        return Err(StateError::OtherProject {
            path: path.display().to_string(),
            found: printable(&state.project_id).into_owned(),
            project: project_id.to_string(),
        });
    }
    Ok(state)
}

/// The most a state file may hold. A job takes some 150 bytes per desktop, so this is the
/// history of more than a million deletions, beyond any real one; yet it is read whole and
/// parsed (about its size again in memory), so it must fit any runner's memory. `--state
/// /dev/zero` or a runaway file is refused here instead of filling it.
const LIMIT: u64 = 256 << 20;

/// The bytes of the state file, or `None` when there is none yet. Only a regular file is read
/// (a FIFO would block, a device never end), and only up to [`LIMIT`].
fn read_bytes(path: &Path) -> Result<Option<Vec<u8>>, StateError> {
    match crate::input_file::read(path, "state file", LIMIT) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(err) if err.is_not_found() => Ok(None),
        Err(err) => Err(err.into()),
    }
}

fn parse(path: &Path, bytes: &[u8]) -> Result<State, StateError> {
    // Checked without building the document: it may be large.
    serde_json::from_slice::<serde::de::IgnoredAny>(bytes).map_err(|error| {
        StateError::NotJson {
            path: path.display().to_string(),
            error,
            recovery: recovery(path),
        }
    })?;
    format_version::check(Versioned::StateFile, path, bytes, FORMAT_VERSION)?;
    serde_json::from_slice(bytes).map_err(|error| StateError::Malformed {
        path: path.display().to_string(),
        error,
        recovery: recovery(path),
    })
}

/// What to do about a state file that cannot be read: its backup, where there is one.
fn recovery(path: &Path) -> String {
    let target = crate::atomic_file::resolve(path).unwrap_or_else(|_| path.to_path_buf());
    let backup = backup_path(&target);
    if backup.is_file() {
        format!(
            "restore it from its backup `{}` or move it away",
            backup.display()
        )
    } else {
        "there is no backup of it: repair it, or move it away".to_string()
    }
}

pub(super) fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".backup");
    path.with_file_name(name)
}

/// Writes `state` to `path` atomically, its serial incremented; the previous version is kept
/// as `<path>.backup`. A `path` that is a symbolic link is written through: its target is
/// replaced (the backup beside it) and the link stays. When the file on disk is not the
/// version this process last loaded or wrote (another writer saved since: a run whose lock was
/// broken, or the one after it), its records are merged in first, so no save drops a record it
/// did not write; a file of another history (lineage) or project is never overwritten.
pub fn save(path: &Path, state: &mut State) -> Result<(), StateError> {
    let io = |error| StateError::Io {
        path: path.display().to_string(),
        error,
    };
    let not_saved = |error| StateError::NotSaved {
        path: path.display().to_string(),
        error: Box::new(error),
    };
    // A link is written through (see `atomic_file`): the file, its backup and the folder
    // locked are those of its target.
    let target = crate::atomic_file::resolve(path).map_err(io)?;
    // Writers whose locks were both taken (one broken by `force-unlock`) must not interleave
    // between reading the file and replacing it.
    let _saving = lock_folder(&target);
    let previous = read_bytes(&target).map_err(not_saved)?;
    if let Some(bytes) = &previous {
        let on_disk = parse(path, bytes).map_err(not_saved)?;
        if (&on_disk.lineage, on_disk.serial) != (&state.lineage, state.serial) {
            merge_from_disk(path, state, on_disk)?;
        }
    }
    // Saturating: a file claiming the largest serial must not stop its jobs being saved.
    state.serial = state.serial.saturating_add(1);
    let mut json = serde_json::to_vec_pretty(state).expect("the state always serialises");
    json.push(b'\n');
    let write = || -> std::io::Result<()> {
        if let Some(previous) = &previous {
            crate::atomic_file::write(&backup_path(&target), previous)?;
        }
        crate::atomic_file::write(&target, &json)
    };
    write().map_err(io)
}

/// Merges a version another writer saved into `state`, if both are one history.
fn merge_from_disk(path: &Path, state: &mut State, on_disk: State) -> Result<(), StateError> {
    if on_disk.project_id != state.project_id {
        return Err(StateError::Replaced {
            path: path.display().to_string(),
            found: printable(&on_disk.project_id).into_owned(),
            project: printable(&state.project_id).into_owned(),
        });
    }
    // A state never written (there was no file when it was loaded) has no history of its own
    // yet: it joins the one another run started meanwhile.
    if state.serial == 0 {
        state.lineage.clone_from(&on_disk.lineage);
    }
    if on_disk.lineage != state.lineage {
        return Err(StateError::OtherHistory {
            path: path.display().to_string(),
            found: printable(&on_disk.lineage).into_owned(),
            lineage: printable(&state.lineage).into_owned(),
        });
    }
    tracing::warn!(
        loaded = state.serial,
        on_disk = on_disk.serial,
        "another run wrote the state file since this run last did; its records are kept"
    );
    super::merge::merge(state, on_disk);
    Ok(())
}

/// An exclusive lock on the folder of `path` while a save reads and replaces the file, held
/// until the returned handle is dropped. Best effort: a file system that cannot lock a folder
/// (some network ones) saves without it, as it did before.
fn lock_folder(path: &Path) -> Option<std::fs::File> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let folder = std::fs::File::open(dir).ok()?;
    // Another save holds it for milliseconds; waiting longer means something else holds it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match folder.try_lock() {
            Ok(()) => return Some(folder),
            Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                tracing::warn!("the state file's folder stayed locked; saving without waiting");
                return None;
            }
            Err(err) => {
                tracing::debug!(error = %err, "saving the state without a folder lock");
                return None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_counts_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let mut state = load(&path, "p").unwrap();
        assert_eq!(state.serial, 0);
        save(&path, &mut state).unwrap();
        save(&path, &mut state).unwrap();
        let again = load(&path, "p").unwrap();
        assert_eq!(again, state);
        assert_eq!(again.serial, 2);
        assert!(backup_path(&path).exists());
    }

    #[test]
    fn refuses_another_projects_state_and_newer_formats() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        save(&path, &mut State::new("p1")).unwrap();
        let err = load(&path, "p2").unwrap_err().to_string();
        assert!(err.contains("belongs to project `p1`"), "{err}");
        std::fs::write(&path, r#"{"format_version": 9}"#).unwrap();
        let err = load(&path, "p1").unwrap_err().to_string();
        assert!(err.contains("format_version 9"), "{err}");
    }

    fn job(job_id: &str) -> crate::state::JobRecord {
        crate::state::JobRecord {
            job_id: job_id.into(),
            submitted_at: jiff::Timestamp::now(),
            desktop_ids: vec![format!("desktop-of-{job_id}")],
            status: crate::state::JobStatus::Pending,
            api_status: None,
            checked_at: None,
            desktops: Default::default(),
            run: None,
        }
    }

    fn job_ids(state: &State) -> Vec<&str> {
        state.jobs.iter().map(|job| job.job_id.as_str()).collect()
    }

    #[test]
    fn a_save_keeps_the_jobs_another_writer_saved_meanwhile() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let mut first = load(&path, "p").unwrap();
        first.jobs.push(job("j1"));
        save(&path, &mut first).unwrap();
        // A second run starts from the file (the first one's lock was broken) and records a job.
        let mut second = load(&path, "p").unwrap();
        second.jobs.push(job("j2"));
        save(&path, &mut second).unwrap();
        // The first run, unaware, records another and saves.
        first.jobs.push(job("j3"));
        save(&path, &mut first).unwrap();
        let on_disk = load(&path, "p").unwrap();
        assert_eq!(job_ids(&on_disk), ["j1", "j3", "j2"]);
        assert_eq!(on_disk.serial, 3, "newer than both writes before it");
        // And the second run's next save keeps the first one's.
        save(&path, &mut second).unwrap();
        let on_disk = load(&path, "p").unwrap();
        assert_eq!(job_ids(&on_disk), ["j1", "j2", "j3"]);
        assert_eq!(on_disk.serial, 4);
    }

    #[test]
    fn a_run_that_found_no_file_joins_the_history_another_run_started() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let mut first = load(&path, "p").unwrap();
        let mut second = load(&path, "p").unwrap();
        second.jobs.push(job("j2"));
        save(&path, &mut second).unwrap();
        first.jobs.push(job("j1"));
        save(&path, &mut first).unwrap();
        let on_disk = load(&path, "p").unwrap();
        assert_eq!(job_ids(&on_disk), ["j1", "j2"]);
        assert_eq!(on_disk.lineage, second.lineage);
    }

    #[test]
    fn a_file_of_another_history_or_project_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let mut ours = State::new("p");
        ours.jobs.push(job("j1"));
        save(&path, &mut ours).unwrap();
        let mut other = State::new("p");
        other.jobs.push(job("j9"));
        std::fs::remove_file(&path).unwrap();
        save(&path, &mut other).unwrap();
        let before = std::fs::read(&path).unwrap();
        let err = format!("{:#}", save(&path, &mut ours).unwrap_err());
        assert!(err.contains("another history (lineage"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), before);

        let mut elsewhere = load(&path, "p").unwrap();
        elsewhere.project_id = "p2".into();
        elsewhere.serial = 0;
        let err = format!("{:#}", save(&path, &mut elsewhere).unwrap_err());
        assert!(
            err.contains("now belongs to project `p`, not `p2`"),
            "{err}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }

    #[test]
    fn writers_saving_at_the_same_time_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        save(&path, &mut State::new("p")).unwrap();
        let writers: Vec<_> = (0..4)
            .map(|writer| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let mut state = load(&path, "p").unwrap();
                    for n in 0..25 {
                        state.jobs.push(job(&format!("w{writer}-{n}")));
                        save(&path, &mut state).unwrap();
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        assert_eq!(load(&path, "p").unwrap().jobs.len(), 100);
    }

    #[cfg(unix)]
    #[test]
    fn a_backup_that_is_a_link_is_replaced_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let precious = dir.path().join("precious");
        std::fs::write(&precious, "precious").unwrap();
        std::os::unix::fs::symlink(&precious, backup_path(&path)).unwrap();
        let mut state = State::new("p");
        save(&path, &mut state).unwrap();
        save(&path, &mut state).unwrap();
        assert_eq!(std::fs::read_to_string(&precious).unwrap(), "precious");
        assert!(!backup_path(&path).is_symlink());
        assert_eq!(load(&backup_path(&path), "p").unwrap().serial, 1);
    }

    #[test]
    fn what_the_file_says_is_shown_without_control_characters() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        save(&path, &mut State::new("p\u{1b}]0;x\u{7}")).unwrap();
        let err = format!("{:#}", load(&path, "p").unwrap_err());
        assert!(!err.chars().any(char::is_control), "{err:?}");
        assert!(err.contains("`p\\u{1b}]0;x\\u{7}`"), "{err}");
        let mut ours = State::new("p");
        ours.serial = 1;
        let err = format!("{:#}", save(&path, &mut ours).unwrap_err());
        assert!(!err.chars().any(char::is_control), "{err:?}");
    }

    #[test]
    fn a_serial_at_its_largest_stays_there() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let mut state = State::new("p");
        state.serial = u64::MAX - 1;
        save(&path, &mut state).unwrap();
        let mut state = load(&path, "p").unwrap();
        save(&path, &mut state).unwrap();
        assert_eq!(load(&path, "p").unwrap().serial, u64::MAX);
    }
}
