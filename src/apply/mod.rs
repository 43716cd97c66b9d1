//! Carrying out a plan: sending its deletions in chunks (`submit`) and following the jobs they
//! create to their end (`follow`). The state file is written after every change, before the
//! next request goes out, so a crash at any point loses no job ID.

mod follow;
mod submit;

pub use follow::{FollowReport, follow, refresh};
pub use submit::{SubmitReport, submit};

use std::path::Path;

use crate::state::State;

/// Where the state lives while apply works on it: every change is saved at once.
pub struct Journal<'a> {
    pub state: &'a mut State,
    pub path: &'a Path,
}

impl Journal<'_> {
    pub fn save(&mut self) -> anyhow::Result<()> {
        crate::state::save(self.path, self.state)
    }
}
