//! The errors a user can cause or meet, each with its exit code and, where we know one, a hint.
//! Anything else is glue (`anyhow`) and still exits 1.

use crate::config::ConfigError;
use crate::document::SavedPlanError;
use crate::inventory::ReadError;
use crate::state::{LockError, StateError};
use crate::workspace::ApiError;
use crate::workspace::credentials::CredentialsError;

/// Exit codes, as documented in the README and `--help`.
pub mod exit {
    pub const OK: u8 = 0;
    pub const ERROR: u8 = 1;
    /// `plan --detailed-exitcode`: deletions are pending.
    pub const CHANGES: u8 = 2;
    /// `apply`: some desktops were not deleted (refused, failed, not sent), or the state file
    /// could not be written after sending started (the accepted job IDs are printed instead).
    pub const PARTIAL: u8 = 3;
    /// `apply`: the time to wait for jobs ran out with some still running.
    pub const TIMEOUT: u8 = 4;
    /// `apply` stopped by SIGINT (Ctrl-C), after recording what it had sent (128 + 2).
    pub const INTERRUPTED: u8 = 130;
    /// `apply` stopped by SIGTERM, after recording what it had sent (128 + 15).
    pub const TERMINATED: u8 = 143;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    SavedPlan(#[from] SavedPlanError),
    /// A safety rail said no; nothing was sent.
    #[error("{message}")]
    Refused { message: String, hint: String },
    #[error("{0:#}")]
    Other(#[from] anyhow::Error),
}

impl Error {
    pub fn refused(message: impl Into<String>, hint: impl Into<String>) -> Error {
        Error::Refused {
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// Whether this is stdout closed by its reader.
    pub fn is_broken_pipe(&self) -> bool {
        let Error::Other(err) = self else {
            return false;
        };
        err.chain().any(|cause| {
            cause
                .downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
        })
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Api(err) | Error::Read(ReadError::Api(err)) => {
                let hint = err.hint()?;
                // A refusal of the credentials names where they came from (never a value).
                if err.status() == Some(401)
                    && let Some(source) =
                        crate::workspace::Auth::source(|name| std::env::var(name).ok())
                {
                    return Some(format!("{hint}; deskprune used {source}"));
                }
                Some(hint.to_string())
            }
            Error::Credentials(_) => Some(
                "or run against the built-in simulator: set `[cloud] simulator = \"inventory.json\"` in the config"
                    .to_string(),
            ),
            Error::Refused { hint, .. } => Some(hint.clone()),
            Error::Lock(err) => err.hint(),
            Error::State(err) => err.hint(),
            Error::SavedPlan(err) => err.hint(),
            // A state file that could not be written while apply worked is glue-wrapped
            // (what was sent is reported beside it); its hint still applies.
            Error::Other(err) => err
                .chain()
                .find_map(|cause| cause.downcast_ref::<StateError>())
                .and_then(StateError::hint),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::state::StateLock;

    #[test]
    fn state_file_problems_carry_a_hint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        std::fs::write(&path, "{ not json").unwrap();
        let err = Error::from(crate::state::load(&path, "p").unwrap_err());
        assert!(err.to_string().contains("is not valid JSON"), "{err}");
        assert!(err.hint().unwrap().contains("move it away"), "{err}");
        std::fs::write(&path, r#"{"format_version": 9}"#).unwrap();
        let err = Error::from(crate::state::load(&path, "p").unwrap_err());
        assert!(err.to_string().contains("format_version 9"), "{err}");
        assert!(err.hint().unwrap().contains("newer deskprune"), "{err}");
    }

    #[test]
    fn a_state_file_of_another_project_names_the_flag_in_its_hint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        crate::state::save(&path, &mut crate::state::State::new("p1")).unwrap();
        let err = Error::from(crate::state::load(&path, "p2").unwrap_err());
        assert!(err.to_string().contains("belongs to project `p1`"), "{err}");
        assert!(err.hint().unwrap().contains("`--state`"), "{err}");
    }

    #[tokio::test]
    async fn a_state_problem_met_while_applying_keeps_its_hint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        crate::state::save(&path, &mut crate::state::State::new("p")).unwrap();
        std::fs::write(&path, r#"{"format_version": 2}"#).unwrap();
        let mut state = crate::state::State::new("p");
        let store = crate::state::Store::Local(path.clone());
        let mut journal = crate::apply::Journal {
            state: &mut state,
            store: &store,
        };
        let err = journal
            .save()
            .await
            .unwrap_err()
            .context("nothing was sent");
        let err = Error::from(err);
        assert!(err.to_string().contains("format_version 2"), "{err}");
        assert!(err.hint().unwrap().contains("newer deskprune"), "{err}");
    }

    #[test]
    fn saved_plan_problems_carry_a_hint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        for (text, says) in [
            ("hello", "is not a saved plan: it is not JSON"),
            (r#"{"format_version": 9}"#, "has format_version 9"),
            (r#"{"plan": 1}"#, "has no `format_version`"),
            (r#"{"format_version": 1}"#, "is malformed"),
        ] {
            std::fs::write(&path, text).unwrap();
            let err = Error::from(crate::document::read(&path).unwrap_err());
            assert!(err.to_string().contains(says), "{err}");
            assert!(err.hint().is_some(), "{err}");
        }
        let err = Error::from(crate::document::read(&dir.path().join("none")).unwrap_err());
        assert!(
            err.hint().unwrap().contains("deskprune plan --out FILE"),
            "{err}"
        );
    }

    #[test]
    fn a_held_lock_hints_at_waiting_and_names_a_flag_only_when_given() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.json");
        let _held = StateLock::acquire(&state, "deskprune apply", Duration::ZERO).unwrap();
        let err = Error::from(StateLock::acquire(&state, "other", Duration::ZERO).unwrap_err());
        assert!(err.to_string().contains("is locked by"), "{err}");
        let hint = err.hint().unwrap();
        assert!(hint.contains("wait for it to finish"), "{hint}");
        assert!(!err.to_string().contains("--lock-timeout"), "{err}");
        assert!(!hint.contains("--lock-timeout"), "{hint}");
    }
}
