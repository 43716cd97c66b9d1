//! deskprune: keep the Huawei Cloud Workspace desktops of a project equal to a reviewed
//! declaration. [`run`] is the whole program; `main.rs` only turns its result into the exit
//! code.
//!
//! Public is only what the integration tests and the benchmark (`examples/bench/`) use: the
//! command line, the simulator, and, re-exported below, the config loader, the three schemas,
//! the state lock and the request signer that the contract tests check. Every module is
//! otherwise private, so that the compiler reports what nothing uses.

mod apply;
mod atomic_file;
pub mod cli;
mod commands;
mod config;
mod document;
mod error;
mod format_version;
mod input_file;
mod interrupt;
mod inventory;
mod model;
mod output;
mod pipeline;
mod plan;
mod progress;
mod render;
pub mod simulator;
mod state;
mod text;
mod workspace;

pub use config::load as load_config;
pub use state::{Holder, StateLock};
pub use workspace::sign;

/// The JSON Schemas of the three files deskprune reads and writes, as committed in `schema/`.
pub mod schema {
    pub use crate::commands::apply_events_schema as apply_events;
    pub use crate::config::schema as config;
    pub use crate::document::schema as plan;
    pub use crate::state::schema as state;
}

use clap::Parser;

use crate::cli::Cli;
use crate::error::exit;
use crate::output::Output;

/// Parses the command line, runs the command, reports any error; returns the exit code.
pub fn run() -> u8 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            // Usage errors exit 1 like every other error: 2 means "deletions pending".
            return if err.use_stderr() {
                exit::ERROR
            } else {
                exit::OK
            };
        }
    };
    let output = Output::new(&cli.global);
    output.init_logging(cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            output.error(&error::Error::Other(err.into()));
            return exit::ERROR;
        }
    };
    let outcome = runtime.block_on(commands::run(cli, &output));
    // Every command has awaited its own work; what is left is idle connections and resolver
    // threads, and waiting for them to wind down would only delay the exit.
    runtime.shutdown_background();
    match outcome {
        Ok(code) => code,
        // The reader went away (`deskprune man | head`): nothing is wrong, and no one listens.
        Err(err) if err.is_broken_pipe() => exit::OK,
        Err(err) => {
            output.error(&err);
            exit::ERROR
        }
    }
}
