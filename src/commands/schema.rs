//! `deskprune schema`: the JSON Schemas of the files deskprune reads and writes, and of the
//! lines `apply --json` writes, for editors and for checking files in CI. The copies in `schema/` are these, checked by a test.

use std::io::Write;

use crate::cli::{SchemaArgs, SchemaFile};
use crate::error::{Error, exit};

pub fn schema_of(file: SchemaFile) -> serde_json::Value {
    match file {
        SchemaFile::Config => crate::config::schema(),
        SchemaFile::Plan => crate::document::schema(),
        SchemaFile::State => crate::state::schema(),
        SchemaFile::ApplyEvents => super::apply::events_schema(),
    }
}

pub fn run(args: &SchemaArgs) -> Result<u8, Error> {
    let text = serde_json::to_string_pretty(&schema_of(args.file)).expect("schemas serialise");
    writeln!(std::io::stdout(), "{text}").map_err(anyhow::Error::from)?;
    Ok(exit::OK)
}
