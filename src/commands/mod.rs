//! One file per subcommand, each reading as its pipeline; `session` connects a config to the
//! API (the cloud, an endpoint, or the in-process simulator).

mod apply;
mod completions;
mod force_unlock;
mod jobs;
mod plan;
mod schema;
mod session;
mod show;
mod simulator;
mod validate;

use tokio::task::JoinHandle;

use crate::cli::{Cli, Command};
use crate::config::{Config, ConfigError};
use crate::error::Error;
use crate::output::Output;

/// The config named on the command line, its warnings printed.
fn load_config(
    global: &crate::cli::Global,
    output: &Output,
) -> Result<crate::config::Config, Error> {
    let config = crate::config::load(&global.config)?;
    print_warnings(&config, output);
    Ok(config)
}

fn print_warnings(config: &Config, output: &Output) {
    for warning in config.warnings() {
        output.warning(&warning);
    }
}

/// Config files from this size on are parsed in two steps by [`start_config`]: 64 KiB is some
/// 4,000 declarations, a few milliseconds of parsing. Smaller files are parsed whole before
/// anything is sent.
const PARSE_HEAD_FIRST: usize = 64 * 1024;

/// Starts reading the config named on the command line. A large file is read in two steps:
/// its head ([`crate::config::head`], what a read of the inventory needs) when it parses on its
/// own, with the whole file parsing on a blocking thread meanwhile, so the first list call can
/// leave before 100,000 declarations are parsed. Otherwise the whole config at once.
fn start_config(
    global: &crate::cli::Global,
    output: &Output,
) -> Result<(Config, RestOfConfig), Error> {
    let path = &global.config;
    let text = crate::config::read(path)?;
    if text.len() >= PARSE_HEAD_FIRST
        && let Some(early) =
            crate::config::head(&text).and_then(|head| crate::config::parse(path, &head).ok())
    {
        let path = path.clone();
        let whole = tokio::task::spawn_blocking(move || crate::config::parse(&path, &text));
        return Ok((early, RestOfConfig(Some(whole))));
    }
    let config = crate::config::parse(path, &text)?;
    print_warnings(&config, output);
    Ok((config, RestOfConfig(None)))
}

/// What [`start_config`] has not parsed yet: the whole config, when only its head was.
#[derive(Default)]
struct RestOfConfig(Option<JoinHandle<Result<Config, ConfigError>>>);

impl RestOfConfig {
    /// Whether the config started with was the whole of it.
    fn is_whole(&self) -> bool {
        self.0.is_none()
    }

    /// The whole config, its warnings printed: `early` itself when it was whole already.
    async fn whole(self, early: Config, output: &Output) -> Result<Config, Error> {
        match self.0 {
            None => Ok(early),
            Some(parsing) => {
                let whole = parsing.await.expect("parsing a config never panics")?;
                print_warnings(&whole, output);
                Ok(whole)
            }
        }
    }

    /// The error to report when a step that needed only the head failed with `err`: the
    /// whole config's own error comes first, as it would have without the head.
    async fn first_error(self, err: Error) -> Error {
        match self.0 {
            Some(parsing) => match parsing.await.expect("parsing a config never panics") {
                Err(config) => config.into(),
                Ok(_) => err,
            },
            None => err,
        }
    }
}

pub async fn run(cli: Cli, output: &Output) -> Result<u8, Error> {
    let global = &cli.global;
    match cli.command {
        Command::Validate => validate::run(global, output),
        Command::Plan(args) => plan::run(global, &args, output).await,
        Command::Apply(args) => apply::run(global, &args, output).await,
        Command::Jobs(args) => jobs::run(global, &args, output).await,
        Command::Simulator(args) => simulator::run(&args, output).await,
        Command::Show(args) => show::run(&args, output),
        Command::ForceUnlock(args) => force_unlock::run(global, &args, output),
        Command::Schema(args) => schema::run(&args),
        Command::Completions(args) => completions::completions(&args),
        Command::Man => completions::man(),
    }
}
