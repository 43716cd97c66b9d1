//! Reading and atomically writing the state file.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::{FORMAT_VERSION, State};

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
pub fn load(path: &Path, project_id: &str) -> anyhow::Result<State> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Ok(State::new(project_id));
        }
        Err(err) => {
            return Err(err)
                .with_context(|| format!("cannot read state file `{}`", path.display()));
        }
    };
    let version: serde_json::Value = serde_json::from_slice(&bytes).with_context(|| {
        format!(
            "state file `{}` is not valid JSON; restore it from its backup `{}` or move it away",
            path.display(),
            backup_path(path).display()
        )
    })?;
    match version.get("format_version").and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(FORMAT_VERSION) => {}
        Some(v) => bail!(
            "state file `{}` has format_version {v}, but this deskprune reads version {FORMAT_VERSION}: use a newer deskprune",
            path.display()
        ),
        None => bail!(
            "`{}` is not a deskprune state file (no `format_version`)",
            path.display()
        ),
    }
    let state: State = serde_json::from_value(version)
        .with_context(|| format!("state file `{}` is malformed", path.display()))?;
    if state.project_id != project_id {
        bail!(
            "state file `{}` belongs to project `{}`, but the config names project `{project_id}`: use `--state` to pick this project's state file",
            path.display(),
            state.project_id
        );
    }
    Ok(state)
}

pub(super) fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".backup");
    path.with_file_name(name)
}

/// Writes `state` (its serial incremented) to `path` atomically. The previous version is kept
/// as `<path>.backup`.
pub fn save(path: &Path, state: &mut State) -> anyhow::Result<()> {
    state.serial += 1;
    let mut json = serde_json::to_vec_pretty(state).expect("the state always serialises");
    json.push(b'\n');
    let write = || -> std::io::Result<()> {
        match std::fs::read(path) {
            Ok(previous) => crate::atomic_file::write(&backup_path(path), &previous)?,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(err),
        }
        crate::atomic_file::write(path, &json)
    };
    write().with_context(|| format!("cannot write state file `{}`", path.display()))
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
}
