//! Carrying out a plan: sending its deletions in chunks (`submit`), following the jobs they
//! create to their end (`follow`), and resolving the calls an earlier run sent without
//! recording their answer (`intents`). The state file is written before each call leaves and
//! after every answer, so a crash at any point loses no job ID: an answer not recorded yet is
//! an open intent, which the next run resolves.

mod follow;
mod intents;
mod refusal;
mod submit;

pub use follow::{FollowReport, follow, refresh};
pub use intents::{Resolution, resolve};
pub use submit::{Sending, Stop, SubmitReport, submit};

use std::path::Path;

use crate::state::State;

/// Where the state lives while apply works on it: every change is saved at once.
pub struct Journal<'a> {
    pub state: &'a mut State,
    pub path: &'a Path,
}

impl Journal<'_> {
    pub fn save(&mut self) -> anyhow::Result<()> {
        Ok(crate::state::save(self.path, self.state)?)
    }
}
