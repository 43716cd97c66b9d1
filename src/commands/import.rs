//! `deskprune import`: declare, in the config file itself, every in-scope desktop that exists,
//! the way to adopt a fleet (like `terraform import`). The inventory is read as `plan` reads
//! it; the declarations are added to `[desktops]` and every other line of the file stays.

use std::io::Write;

use anyhow::Context;

use crate::cli::{Global, ImportArgs};
use crate::config::{self, IdLine};
use crate::error::{Error, exit};
use crate::output::Output;
use crate::pipeline::{self, Opened};
use crate::plan::{Adopted, ById};
use crate::progress::Progress;
use crate::text::printable;

pub async fn run(global: &Global, args: &ImportArgs, output: &Output) -> Result<u8, Error> {
    let path = &global.config;
    // The text is kept: the declarations are written into it.
    let text = config::read(path)?;
    let config = config::parse(path, &text)?;
    super::print_warnings(&config, output);
    let declared = config.desktops.len();
    if declared > 0 && !args.merge {
        return Err(Error::refused(
            format!(
                "`{}` already declares {declared} desktop{}; nothing was read or written",
                path.display(),
                if declared == 1 { "" } else { "s" }
            ),
            "pass `--merge` to add the in-scope desktops not declared yet (no declaration is removed)",
        ));
    }
    let store = super::state::open_store(&config, global, output)?;
    let Opened { state, session } = pipeline::open(config, &store).await?;
    let progress = Progress::new(output.progress);
    let adopted = pipeline::adopt_inventory(&session, &state, &progress).await;
    drop(progress);
    let config = session.close()?;
    let adopted = adopted?;
    if adopted.added() == 0 {
        output.result(&format!(
            "Nothing to import: every in-scope desktop of {} is declared already.{}",
            adopted.total,
            deleting_note(&adopted)
        ));
        return Ok(exit::OK);
    }
    let written = declare(&text, &adopted)?;
    // The file written must be a config that declares exactly what it did and what was added.
    let checked = config::parse(path, &written).map_err(|error| {
        anyhow::anyhow!(
            "the config with the declarations added does not validate, so it was not written: {error}"
        )
    })?;
    if checked.desktops.len() != declared + adopted.added() {
        return Err(anyhow::anyhow!(
            "the config with the declarations added declares {} desktops, not {}, so it was not written",
            checked.desktops.len(),
            declared + adopted.added()
        )
        .into());
    }
    if args.dry_run {
        print_diff(path, &text, &written)?;
        output.result(&summary(&config, &adopted, "Would declare"));
        return Ok(exit::OK);
    }
    write(path, &text, &written)?;
    output.result(&summary(&config, &adopted, "Declared"));
    output.note("`deskprune plan` now says `No changes.`; commit the config to keep it so.");
    Ok(exit::OK)
}

/// The config text with `adopted`'s declarations added.
fn declare(text: &str, adopted: &Adopted) -> Result<String, Error> {
    let ids: Vec<IdLine> = adopted
        .ids
        .iter()
        .map(|by| IdLine {
            id: by.id.clone(),
            comment: why_by_id(by),
        })
        .collect();
    config::add_declarations(text, &adopted.names, &ids)
        .context("cannot edit the config file")
        .map_err(Error::from)
}

/// The comment above a desktop declared by ID: which desktop, and why not by name.
fn why_by_id(by: &ById) -> String {
    let user = match by.user.as_str() {
        "" => String::new(),
        user => format!(" (user `{}`)", printable(user)),
    };
    match by.sharing {
        0 => format!("a desktop without a computer name{user}"),
        sharing => format!(
            "`{}`{user}, a name {sharing} listed desktops share",
            printable(&by.name)
        ),
    }
}

/// Replaces the config file with `written`, unless it changed since it was read as `text`;
/// through a link to the file it names, keeping the file's permissions.
fn write(path: &std::path::Path, text: &str, written: &str) -> Result<(), Error> {
    if config::read(path)? != text {
        return Err(Error::refused(
            format!(
                "`{}` changed while the desktops were read; it was not written",
                path.display()
            ),
            "run `deskprune import` again",
        ));
    }
    let target = crate::atomic_file::resolve(path)
        .with_context(|| format!("cannot resolve `{}`", path.display()))?;
    let permissions = std::fs::metadata(&target)
        .with_context(|| format!("cannot read `{}`", target.display()))?
        .permissions();
    crate::atomic_file::write(&target, written.as_bytes())
        .and_then(|()| std::fs::set_permissions(&target, permissions))
        .with_context(|| format!("cannot write `{}`", target.display()))?;
    Ok(())
}

fn print_diff(path: &std::path::Path, before: &str, after: &str) -> Result<(), Error> {
    let name = path.display().to_string();
    let diff = similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(2)
        .header(&name, &name)
        .to_string();
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(printable_lines(&diff).as_bytes())
        .and_then(|()| stdout.flush())
        .context("cannot write the diff")?;
    Ok(())
}

/// Each line of `text` made printable (the names come from the API), the line breaks kept.
fn printable_lines(text: &str) -> String {
    text.split_inclusive('\n')
        .map(|line| match line.strip_suffix('\n') {
            Some(line) => format!("{}\n", printable(line)),
            None => printable(line).into_owned(),
        })
        .collect()
}

fn summary(config: &config::Config, adopted: &Adopted, verb: &str) -> String {
    let count =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut text = format!(
        "{verb} {} in {}: {} by name, {} by ID (a name shared or missing).",
        count(adopted.added(), "desktop", "desktops"),
        config.path.display(),
        adopted.names.len(),
        adopted.ids.len(),
    );
    if adopted.protected > 0 {
        text.push_str(&format!(
            " {} the protection tag `{}`.",
            count(adopted.protected, "carries", "of them carry"),
            config.guard.protect_tag
        ));
    }
    if adopted.already > 0 {
        text.push_str(&format!(
            " {} declared already.",
            count(
                adopted.already,
                "in-scope desktop was",
                "in-scope desktops were"
            )
        ));
    }
    text.push_str(&deleting_note(adopted));
    text
}

fn deleting_note(adopted: &Adopted) -> String {
    match adopted.deleting {
        0 => String::new(),
        1 => " 1 desktop being deleted was left out.".to_owned(),
        n => format!(" {n} desktops being deleted were left out."),
    }
}
