//! One file per subcommand, each reading as its pipeline (the steps `plan` and `apply` share
//! are in `crate::pipeline`).

mod apply;
mod completions;
mod force_unlock;
mod history;
mod import;
mod jobs;
mod man;
mod plan;
mod schema;
mod show;
mod simulator;
mod state;
mod validate;

pub use apply::events_schema as apply_events_schema;

use crate::cli::{Cli, Command};
use crate::config::Config;
use crate::error::Error;
use crate::output::Output;

/// The config named on the command line, parsed and validated whole before anything is
/// sent (a config error sends nothing, anywhere), its warnings printed.
fn load_config(
    global: &crate::cli::Global,
    output: &Output,
) -> Result<crate::config::Config, Error> {
    let config = crate::config::load(&global.config)?;
    print_warnings(&config, output);
    Ok(config)
}

/// The config for a command that shows a plan: its warnings are left to the plan document,
/// which carries them into every view (human, JSON, Markdown), so they are said once.
fn load_config_for_plan(global: &crate::cli::Global) -> Result<crate::config::Config, Error> {
    Ok(crate::config::load(&global.config)?)
}

fn print_warnings(config: &Config, output: &Output) {
    for warning in config.warnings() {
        output.warning(&warning);
    }
}

pub async fn run(cli: Cli, output: &Output) -> Result<u8, Error> {
    let global = &cli.global;
    match cli.command {
        Command::Validate => validate::run(global, output),
        Command::Plan(args) => plan::run(global, &args, output).await,
        Command::Apply(args) => apply::run(global, &args, output).await,
        Command::Import(args) => import::run(global, &args, output).await,
        Command::Jobs(args) => jobs::run(global, &args, output).await,
        Command::History(args) => history::run(global, &args, output).await,
        Command::Simulator(args) => simulator::run(&args, output).await,
        Command::Show(args) => show::run(&args, output),
        Command::ForceUnlock(args) => force_unlock::run(global, &args, output).await,
        Command::State(command) => state::run(global, &command, output).await,
        Command::Schema(args) => schema::run(&args),
        Command::Completions(args) => completions::completions(&args),
        Command::Man => man::man(),
    }
}

/// Warns of the calls an earlier apply sent without recording their answer (open intents):
/// their desktops are kept out of plans until a run looks up their jobs. `then` says which.
fn warn_open_intents(state: &crate::state::State, then: &str, output: &Output) {
    let calls = state.intents.len();
    if calls == 0 {
        return;
    }
    let desktops: usize = state.intents.iter().map(|i| i.desktop_ids.len()).sum();
    let one = calls == 1;
    output.warning(&format!(
        "{calls} batch-delete{} of {desktops} desktop{} {} sent without {} answer being recorded; {then}",
        if one { "" } else { "s" },
        if desktops == 1 { "" } else { "s" },
        if one { "was" } else { "were" },
        if one { "its" } else { "their" },
    ));
}
