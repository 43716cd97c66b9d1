//! `deskprune plan`: read the inventory, decide, show the plan (and save it with `--out`).

use std::collections::HashSet;
use std::io::Write;

use futures_util::{StreamExt, stream};

use crate::cli::{Format, Global, PlanArgs};
use crate::config::{Config, Declaration, Selector};
use crate::document::PlanDocument;
use crate::error::{Error, exit};
use crate::inventory;
use crate::model::Kept;
use crate::output::Output;
use crate::pipeline::{self, Opened, Planned, Session};
use crate::plan::BudgetCheck;
use crate::progress::Progress;
use crate::text::{fold, same_word};
use crate::workspace::ListFilter;
use crate::workspace::wire::is_usable_id;

pub async fn run(global: &Global, args: &PlanArgs, output: &Output) -> Result<u8, Error> {
    // The human view says the config's warnings itself; a JSON or Markdown plan carries them
    // too, but whoever runs it reads them on stderr.
    let config = match args.view.format() {
        Format::Human => super::load_config_for_plan(global)?,
        _ => super::load_config(global, output)?,
    };
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
    let documented = match planned {
        Ok(planned) => Ok(document(&session, planned).await),
        Err(err) => Err(err),
    };
    let config = session.close()?;
    let (document, kept) = documented?;
    show(&config, document, &kept, args, output)
}

/// The plan's document, each missing declaration marked when it matches a desktop outside the
/// scope (looked up while the session is open); the kept desktops beside it.
pub(super) async fn document(session: &Session, planned: Planned) -> (PlanDocument, Vec<Kept>) {
    let outside = outside_scope(session, &planned.plan.missing).await;
    let (mut document, kept) = PlanDocument::new(planned.plan, &session.config, planned.read_at);
    for (missing, outside) in document.missing.iter_mut().zip(outside) {
        missing.outside_scope = outside;
    }
    (document, kept)
}

/// How many declared names that match nothing are looked up outside the scope: one call each,
/// so a file of thousands of missing names does not cost thousands of calls.
const MAX_NAMES_LOOKED_UP: usize = 100;

/// How many declared IDs that match nothing are looked up outside the scope, 100 a call: a
/// fleet-wide list beside a narrow scope would otherwise cost a call per 100 of its IDs on
/// every plan and apply.
const MAX_IDS_LOOKED_UP: usize = 1_000;

/// For each of `missing` (declarations that match no desktop read), whether it matches a
/// desktop outside the scope: the list's filter (tags, enterprise project) kept those off the
/// wire, so the planner could not tell "outside the scope" from "not found". Looked up by ID
/// (100 a call, the first [`MAX_IDS_LOOKED_UP`]) and by name (one call each, the first
/// [`MAX_NAMES_LOOKED_UP`]); a lookup that fails leaves its declarations "not found", as the
/// plan itself is unchanged.
async fn outside_scope(session: &Session, missing: &[Declaration]) -> Vec<bool> {
    let mut outside = vec![false; missing.len()];
    let scope = &session.config.scope;
    if missing.is_empty()
        || scope.all
        || (scope.tags.is_empty() && scope.enterprise_project_id.is_none())
    {
        // Nothing was filtered out: every desktop was read and the planner saw it.
        return outside;
    }
    let ids: Vec<String> = missing
        .iter()
        .filter_map(|declaration| match &declaration.selector {
            Selector::Id(id) if is_usable_id(id) => Some(id.clone()),
            _ => None,
        })
        .take(MAX_IDS_LOOKED_UP)
        .collect();
    let concurrency = session.config.client.max_concurrency;
    let found_ids: HashSet<String> =
        match inventory::read_by_ids(&session.client, &ids, concurrency).await {
            Ok(desktops) => desktops
                .into_iter()
                .map(|d| fold(&d.id).into_owned())
                .collect(),
            Err(err) => {
                tracing::warn!(error = %err, "could not look up declared IDs outside the scope");
                HashSet::new()
            }
        };
    let names: Vec<(usize, &str)> = missing
        .iter()
        .enumerate()
        .filter_map(|(index, declaration)| match &declaration.selector {
            Selector::Name(name) => Some((index, name.as_str())),
            Selector::Id(_) => None,
        })
        .take(MAX_NAMES_LOOKED_UP)
        .collect();
    let client = &session.client;
    let named: Vec<usize> = stream::iter(names)
        .map(|(index, name)| async move {
            let filter = ListFilter {
                computer_name: Some(name.to_string()),
                ..ListFilter::default()
            };
            match client.list_desktops(0, 100, &filter).await {
                // The service may match a part of the name: only the whole name counts.
                Ok(page) => page
                    .desktops
                    .iter()
                    .any(|desktop| {
                        desktop
                            .computer_name
                            .as_deref()
                            .is_some_and(|listed| same_word(listed.trim(), name))
                    })
                    .then_some(index),
                Err(err) => {
                    tracing::warn!(error = %err, "could not look up a declared name outside the scope");
                    None
                }
            }
        })
        .buffer_unordered(concurrency.max(1))
        .filter_map(std::future::ready)
        .collect()
        .await;
    for index in named {
        outside[index] = true;
    }
    for (index, declaration) in missing.iter().enumerate() {
        if let Selector::Id(id) = &declaration.selector
            && found_ids.contains(fold(id).as_ref())
        {
            outside[index] = true;
        }
    }
    outside
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

fn show(
    config: &Config,
    document: PlanDocument,
    kept: &[Kept],
    args: &PlanArgs,
    output: &Output,
) -> Result<u8, Error> {
    print(&document, kept, args.view.format(), output)?;
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
