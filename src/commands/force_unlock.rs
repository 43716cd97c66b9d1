//! `deskprune force-unlock PID`: for a lock the OS will not release by itself (a hung process,
//! or a network file system that lost track). The lock file is replaced, so the old holder's
//! lock no longer guards anything; the PID must match the recorded holder, so a stale command
//! line cannot break a newer lock.

use crate::cli::{ForceUnlockArgs, Global};
use crate::error::{Error, exit};
use crate::output::Output;
use crate::state::{self, StateLock};

pub fn run(global: &Global, args: &ForceUnlockArgs, output: &Output) -> Result<u8, Error> {
    let config = super::load_config(global, output)?;
    let state_path = state::state_path_for(&config.path, global.state.as_deref());
    let holder = StateLock::force_unlock(&state_path, args.pid)?;
    output.note(&format!(
        "Released the state lock held by {holder}. If that process is still running, stop it: it no longer holds the lock."
    ));
    Ok(exit::OK)
}
