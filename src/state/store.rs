//! Where the state lives: the local file (today's behaviour, unchanged) or an S3-compatible
//! bucket (`remote`). Commands load, save and lock through a `Store`, whichever it is.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::remote::Remote;
use super::remote_lock::{self, Refused, RemoteLock};
use super::{Holder, LockError, State, StateError, StateLock};

/// The state's home.
pub enum Store {
    Local(PathBuf),
    S3(Arc<Remote>),
}

/// A held state lock.
pub enum Lock {
    Local(StateLock),
    S3(Box<RemoteLock>),
}

impl Store {
    /// Where it is, for messages.
    pub fn describe(&self) -> String {
        match self {
            Store::Local(path) => path.display().to_string(),
            Store::S3(remote) => remote.describe(),
        }
    }

    /// The local path, which the simulator's world file sits beside; a remote state has none,
    /// so `dir` (the config's folder) stands in.
    pub fn local_path(&self, dir: &Path) -> PathBuf {
        match self {
            Store::Local(path) => path.clone(),
            Store::S3(_) => dir.join("deskprune.state.json"),
        }
    }

    /// This run's ID: a remote state's names its run record; a local one is made here.
    pub fn run_id(&self) -> String {
        match self {
            Store::Local(_) => super::run_id(),
            Store::S3(remote) => remote.run_id.clone(),
        }
    }

    /// What `plan` and `apply` need: every record that keeps desktops out of plans. For a
    /// remote state that is its head alone (open intents, unfinished jobs, and the records of
    /// the run not archived yet); ended runs' records are read only by `jobs` and `history`.
    pub async fn load_head(&self, project_id: &str) -> Result<State, crate::error::Error> {
        match self {
            Store::Local(path) => Ok(super::load(path, project_id)?),
            Store::S3(remote) => Ok(remote.load_head(project_id).await?),
        }
    }

    /// The state with its history from `since` (a UTC run ID prefix such as
    /// `20261203T000000Z`) on: a remote state lists its run records from there by name; the
    /// local file holds everything, which the caller filters.
    pub async fn load_since(
        &self,
        project_id: &str,
        since: Option<&str>,
    ) -> Result<State, crate::error::Error> {
        match self {
            Store::Local(path) => Ok(super::load(path, project_id)?),
            Store::S3(remote) => Ok(remote.load_since(project_id, since).await?),
        }
    }

    /// For `jobs`: the unfinished work and the records of the `last` runs (a remote state reads
    /// only their run records; the local file holds everything).
    pub async fn load_recent(
        &self,
        project_id: &str,
        last: usize,
    ) -> Result<State, crate::error::Error> {
        match self {
            Store::Local(path) => Ok(super::load(path, project_id)?),
            Store::S3(remote) => Ok(remote.load_recent(project_id, last).await?),
        }
    }

    /// Saves the state: a local file on a blocking thread (see `Journal`), a remote head as a
    /// compare-and-swap.
    pub async fn save(&self, state: &mut State) -> anyhow::Result<()> {
        match self {
            Store::Local(path) => {
                let path = path.clone();
                let mut copy = state.clone();
                let (copy, saved) = tokio::task::spawn_blocking(move || {
                    let saved = super::save(&path, &mut copy);
                    (copy, saved)
                })
                .await?;
                *state = copy;
                Ok(saved.map_err(|err: StateError| anyhow::Error::from(err))?)
            }
            Store::S3(remote) => remote.save(state).await,
        }
    }

    /// At the end of a run that held the lock: a remote state moves the run's finished records
    /// into its run record. The local file keeps its whole history, as before.
    pub async fn finish(&self, state: &mut State) -> anyhow::Result<()> {
        match self {
            Store::Local(_) => Ok(()),
            Store::S3(remote) => remote.archive(state).await,
        }
    }

    /// Takes the lock for `command`, waiting up to `timeout`. A remote store is probed first:
    /// one that ignores conditional writes cannot hold a lock.
    pub async fn lock(
        &self,
        command: &str,
        timeout: Duration,
    ) -> Result<Lock, crate::error::Error> {
        match self {
            Store::Local(path) => {
                let (path, command) = (path.clone(), command.to_string());
                let taken = tokio::task::spawn_blocking(move || {
                    StateLock::acquire(&path, &command, timeout)
                })
                .await
                .map_err(anyhow::Error::from)?;
                Ok(Lock::Local(taken?))
            }
            Store::S3(remote) => {
                remote.probe().await?;
                match remote_lock::acquire(remote, command, timeout).await {
                    Ok(lock) => Ok(Lock::S3(Box::new(lock))),
                    Err(Refused::Fault(err)) => Err(err.into()),
                    Err(Refused::Held(record)) => Err(LockError::Held {
                        state: remote.describe(),
                        holder: record.describe(),
                        wait_flag: None,
                    }
                    .into()),
                }
            }
        }
    }
}

impl std::fmt::Debug for Lock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Lock::Local(lock) => f.debug_tuple("Local").field(lock).finish(),
            Lock::S3(lock) => f.debug_tuple("S3").field(&lock.record).finish(),
        }
    }
}

impl Lock {
    /// The previous holder, when this run took over a lock it left.
    pub fn taken_over(&self) -> Option<String> {
        match self {
            Lock::Local(lock) => lock.taken_over.as_ref().map(Holder::to_string),
            Lock::S3(lock) => lock.taken_over.as_ref().map(|record| record.describe()),
        }
    }

    /// Releases the lock: the local one by closing its file, the remote one by removing its
    /// object if it is still this run's.
    pub async fn release(self) -> anyhow::Result<()> {
        match self {
            Lock::Local(lock) => {
                drop(lock);
                Ok(())
            }
            Lock::S3(lock) => lock.release().await,
        }
    }
}
