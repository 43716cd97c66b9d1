//! `deskprune plan`: read the inventory, decide, show the plan (and save it with `--out`).

use std::io::Write;

use crate::cli::{Format, Global, PlanArgs};
use crate::config::Config;
use crate::document::PlanDocument;
use crate::error::{Error, exit};
use crate::model::Kept;
use crate::output::Output;
use crate::pipeline::{self, Opened, Planned};
use crate::plan::BudgetCheck;
use crate::progress::Progress;

pub async fn run(global: &Global, args: &PlanArgs, output: &Output) -> Result<u8, Error> {
    let config = super::load_config(global, output)?;
    let store = super::state::open_store(&config, global, output)?;
    let Opened { state, session } = pipeline::open(config, &store).await?;
    super::warn_open_intents(
        &state,
        "their desktops are kept out of this plan until `deskprune apply` or `deskprune jobs --refresh` looks up what became of them",
        output,
    );
    // Progress is for a person at a terminal reading the human view.
    let progress = Progress::new(output.progress && args.view.format() == Format::Human);
    let planned = pipeline::plan_inventory(&session, &state, &progress).await;
    drop(progress);
    let config = session.close()?;
    show(&config, planned?, args, output)
}

/// Prints `document` on stdout in `format`; `kept` gives the human view its context lines.
pub fn print(
    document: &PlanDocument,
    kept: &[Kept],
    format: Format,
    output: &Output,
) -> Result<(), Error> {
    // Buffered whole: stdout alone would write a plan of 10,000 deletions line by line.
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let written = match format {
        Format::Json => serde_json::to_writer_pretty(&mut stdout, document)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(stdout)),
        Format::Markdown => crate::render::render_markdown(document, &mut stdout),
        Format::Human => crate::render::render_plan(document, kept, &output.stdout, &mut stdout),
    };
    written.and_then(|()| stdout.flush()).map_err(|err| {
        anyhow::Error::from(err)
            .context("cannot write the plan")
            .into()
    })
}

fn show(config: &Config, planned: Planned, args: &PlanArgs, output: &Output) -> Result<u8, Error> {
    let (document, kept) = PlanDocument::new(planned.plan, config, planned.read_at);
    print(&document, &kept, args.view.format(), output)?;
    if let Some(path) = &args.out {
        crate::document::write(path, &document)?;
        output.note(&format!(
            "Saved the plan to {}; `deskprune apply {}` applies exactly it.",
            path.display(),
            path.display()
        ));
    }
    let summary = &document.summary;
    pipeline::check_empty(config, summary.in_scope)?;
    if let BudgetCheck::Exceeded {
        deletions, reasons, ..
    } = pipeline::budget(config).check(summary.to_delete, summary.in_scope)
    {
        output.warning(&format!(
            "this plan exceeds the deletion budget: {}; `apply` will refuse it unless given `--allow-deletions {deletions}`",
            reasons.join("; ")
        ));
    }
    Ok(if args.detailed_exitcode && summary.to_delete > 0 {
        exit::CHANGES
    } else {
        exit::OK
    })
}
