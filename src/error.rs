//! The errors a user can cause or meet, each with its exit code and, where we know one, a hint.
//! Anything else is glue (`anyhow`) and still exits 1.

use crate::config::ConfigError;
use crate::inventory::ReadError;
use crate::state::LockError;
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
            Error::Api(err) | Error::Read(ReadError::Api(err)) => err.hint().map(str::to_string),
            Error::Credentials(_) => Some(
                "or run against the built-in simulator: set `[cloud] simulator = \"inventory.json\"` in the config"
                    .to_string(),
            ),
            Error::Refused { hint, .. } => Some(hint.clone()),
            _ => None,
        }
    }
}
