//! `deskprune show FILE`: a saved plan, printed as `plan` would print it.

use super::plan::print;
use crate::cli::ShowArgs;
use crate::error::{Error, exit};
use crate::output::Output;

pub fn run(args: &ShowArgs, output: &Output) -> Result<u8, Error> {
    let document = crate::document::read(&args.file)?;
    print(&document, &[], args.view.format(), output)?;
    Ok(exit::OK)
}
