//! `deskprune validate`: the config, checked offline.

use crate::cli::Global;
use crate::error::{Error, exit};
use crate::output::Output;

pub fn run(global: &Global, output: &Output) -> Result<u8, Error> {
    let config = super::load_config(global, output)?;
    let declared = config.desktops.len();
    output.note(&format!(
        "{} is valid: {declared} desktop{} declared, scope {}.",
        config.path.display(),
        if declared == 1 { "" } else { "s" },
        crate::render::scope_text(&crate::document::ScopeDoc::from(&config.scope))
    ));
    Ok(exit::OK)
}
