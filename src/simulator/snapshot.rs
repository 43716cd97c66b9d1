//! Everything about a simulator that changes, to persist between CLI runs: the inventory and
//! the jobs, with absolute times so a job started in one run finishes in the next. Counters
//! are left out; they describe one process.

use serde::{Deserialize, Serialize};

use super::jobs::Job;
use super::seed::SeedDesktop;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub(super) desktops: Vec<SeedDesktop>,
    pub(super) jobs: Vec<Job>,
}
