//! `deskprune completions`: shell completion scripts, generated from the clap definition so
//! they never drift from it (the man page is `man`'s).

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
