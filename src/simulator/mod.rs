//! The Workspace API on loopback: a stateful simulator of the five calls deskprune makes
//! (list, detail list, batch-delete, ShowJob, sub-jobs), speaking the wire types and the
//! signature of `crate::workspace`, with fault injection for tests and benchmarks.

mod auth;
mod batch_delete;
mod connection;
mod desktops;
mod detail;
mod fault;
mod fault_grammar;
mod filter;
mod gateway;
mod gzip;
mod injected;
mod job_queries;
mod jobs;
mod list;
mod options;
mod query;
mod reply;
mod route;
mod seed;
mod server;
mod snapshot;
mod state;
mod stats;
#[cfg(test)]
mod tests;

pub use fault::{DropPoint, Endpoint, FaultAction, FaultRule, Trigger};
pub use fault_grammar::{DEFAULT_OVERSIZE_MIB, FaultSyntaxError};
pub use gateway::{RateLimit, RateLimitSyntaxError};
pub use options::SimulatorOptions;
pub use seed::{DeleteFault, SeedDesktop, Simulate, read_inventory};
pub use server::Simulator;
pub use snapshot::Snapshot;
pub use stats::{Second, Stats};
