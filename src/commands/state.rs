//! `deskprune state push|pull`: moving a team's state between the local file and the
//! configured `[state]` store; and `open_store`, which every command uses to find the state.

use std::io::Write;

use crate::cli::{Global, StateCommand};
use crate::config::{Config, StateSettings};
use crate::error::{Error, exit};
use crate::output::Output;
use crate::state::{self, Remote, Store};

/// Where this run's state lives: `--state` / `DESKPRUNE_STATE` (a local file) when given, else
/// the config's `[state]` backend. A remote backend overridden by a local path is said once.
pub(super) fn open_store(
    config: &Config,
    global: &Global,
    output: &Output,
) -> Result<Store, Error> {
    let local = || Store::Local(state::state_path_for(&config.path, global.state.as_deref()));
    match &config.state {
        StateSettings::Local => Ok(local()),
        StateSettings::S3(_) if global.state.is_some() => {
            output.note(&format!(
                "Using the local state file `{}` (`--state` or `DESKPRUNE_STATE`) instead of the `[state]` store of `{}`.",
                global.state.as_deref().unwrap_or(std::path::Path::new("")).display(),
                config.path.display()
            ));
            Ok(local())
        }
        StateSettings::S3(settings) => Ok(Store::S3(Remote::connect(settings)?)),
    }
}

fn has_records(state: &crate::state::State) -> bool {
    !(state.jobs.is_empty()
        && state.refused.is_empty()
        && state.unconfirmed.is_empty()
        && state.intents.is_empty())
}

/// The configured remote store, which `state push` and `state pull` need.
fn remote(config: &Config) -> Result<std::sync::Arc<Remote>, Error> {
    match &config.state {
        StateSettings::S3(settings) => Ok(Remote::connect(settings)?),
        StateSettings::Local => Err(Error::refused(
            format!(
                "`{}` keeps the state in a local file: there is no store to push to or pull from",
                config.path.display()
            ),
            "add a `[state]` table with `backend = \"s3\"`, `bucket`, `key`, `endpoint` and `region`",
        )),
    }
}

pub async fn run(global: &Global, command: &StateCommand, output: &Output) -> Result<u8, Error> {
    let config = super::load_config(global, output)?;
    let remote = remote(&config)?;
    match command {
        StateCommand::Push { from } => {
            let path =
                state::state_path_for(&config.path, from.as_deref().or(global.state.as_deref()));
            if !path.is_file() {
                return Err(Error::refused(
                    format!("there is no state file `{}` to push", path.display()),
                    "name it with `--from FILE`",
                ));
            }
            let mut local = state::load(&path, &config.cloud.project_id)?;
            let store = Store::S3(remote.clone());
            // Under the store's lock, so no apply writes the state meanwhile.
            let lock = store
                .lock("deskprune state push", std::time::Duration::ZERO)
                .await?;
            let pushed = async {
                // Read whole (head and run records): the write below replaces this head.
                let there = remote.load(&config.cloud.project_id).await?;
                if has_records(&there) {
                    return Err(Error::refused(
                        format!(
                            "the state store `{}` holds records already; nothing was pushed, so none is overwritten",
                            remote.describe()
                        ),
                        "`deskprune state pull --out FILE` saves what it holds",
                    ));
                }
                // Its history goes into one run record, so the head starts small.
                remote.save(&mut local).await?;
                remote.archive(&mut local).await?;
                Ok(())
            }
            .await;
            lock.release().await?;
            pushed?;
            output.note(&format!(
                "Pushed `{}` ({} job{}) to `{}`.",
                path.display(),
                local.jobs.len(),
                if local.jobs.len() == 1 { "" } else { "s" },
                remote.describe()
            ));
            Ok(exit::OK)
        }
        StateCommand::Pull { out } => {
            let state = remote.load(&config.cloud.project_id).await?;
            let mut json = serde_json::to_vec_pretty(&state).expect("the state always serialises");
            json.push(b'\n');
            match out {
                Some(path) => {
                    crate::atomic_file::write(path, &json).map_err(|err| {
                        anyhow::anyhow!("cannot write `{}`: {err}", path.display())
                    })?;
                    output.note(&format!(
                        "Saved the state of `{}` to `{}`.",
                        remote.describe(),
                        path.display()
                    ));
                }
                None => {
                    let mut stdout = std::io::stdout().lock();
                    stdout
                        .write_all(&json)
                        .and_then(|()| stdout.flush())
                        .map_err(anyhow::Error::from)?;
                }
            }
            Ok(exit::OK)
        }
    }
}
