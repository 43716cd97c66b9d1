//! `deskprune completions` and `deskprune man`: shell completions and the man page, both
//! generated from the clap definition so they never drift from it.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::error::{Error, exit};

pub fn completions(args: &CompletionsArgs) -> Result<u8, Error> {
    let mut command = Cli::command();
    clap_complete::generate(
        args.shell,
        &mut command,
        "deskprune",
        &mut std::io::stdout(),
    );
    Ok(exit::OK)
}

pub fn man() -> Result<u8, Error> {
    clap_mangen::Man::new(Cli::command())
        .render(&mut std::io::stdout())
        .map_err(anyhow::Error::from)?;
    Ok(exit::OK)
}
