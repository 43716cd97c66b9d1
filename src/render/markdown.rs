//! The plan as Markdown, for a pull-request comment or a CI job summary: deletions in a
//! `diff` block (red on GitHub and GitLab), then what is held back, missing and warned about,
//! and the summary line. Long lists are cut, with the count of what was left out.

use std::io::{self, Write};

use super::human::scope_text;
use crate::document::{DesktopDoc, PlanDocument};

/// Lines listed per section at most: job summaries and comments have size limits.
const MAX_LINES: usize = 500;

pub fn render_markdown(doc: &PlanDocument, out: &mut dyn Write) -> io::Result<()> {
    let summary = &doc.summary;
    writeln!(
        out,
        "### deskprune plan: {} to delete\n",
        count(summary.to_delete, "desktop")
    )?;
    writeln!(
        out,
        "**Project** `{}` (`{}`) · **scope** {} · {} in scope\n",
        doc.project_id,
        doc.region,
        inline(&scope_text(&doc.scope)),
        count(summary.in_scope, "desktop"),
    )?;
    if doc.deletions.is_empty() {
        writeln!(
            out,
            "**No changes.** The in-scope desktops match the configuration.\n"
        )?;
    } else {
        writeln!(out, "```diff")?;
        list(out, &doc.deletions, "-")?;
        writeln!(out, "```\n")?;
    }
    let held: [(&str, &[DesktopDoc]); 4] = [
        ("Protected by the tag, never deleted", &doc.protected),
        ("In use (someone is logged in), skipped", &doc.in_use),
        (
            "Held back: login state unknown, skipped",
            &doc.login_unknown,
        ),
        ("Already being deleted", &doc.in_progress),
    ];
    for (title, entries) in held {
        if entries.is_empty() {
            continue;
        }
        writeln!(
            out,
            "<details><summary>{title} ({})</summary>\n\n```",
            entries.len()
        )?;
        list(out, entries, " ")?;
        writeln!(out, "```\n</details>\n")?;
    }
    if !doc.missing.is_empty() {
        writeln!(
            out,
            "**Declared but not found** (deskprune never creates desktops):\n"
        )?;
        for missing in doc.missing.iter().take(MAX_LINES) {
            let selector = match (&missing.name, &missing.id) {
                (Some(name), _) => format!("name {}", inline(name)),
                (_, Some(id)) => format!("id {}", inline(id)),
                (None, None) => "a declaration".to_string(),
            };
            writeln!(
                out,
                "- {selector} ({})",
                inline(&format!("{}:{}", doc.config.path, missing.line))
            )?;
        }
        more(out, doc.missing.len())?;
        writeln!(out)?;
    }
    for warning in &doc.warnings {
        writeln!(out, "> **Warning:** {}\n", warning.replace('\n', " "))?;
    }
    writeln!(
        out,
        "**Plan: {} to delete, {} missing, {} protected, {} kept.**",
        summary.to_delete, summary.missing, summary.protected, summary.kept
    )
}

fn list(out: &mut dyn Write, entries: &[DesktopDoc], sign: &str) -> io::Result<()> {
    for entry in entries.iter().take(MAX_LINES) {
        let line = format!(
            "{sign} {}  {}  {}  {}",
            entry.computer_name, entry.desktop_id, entry.user_name, entry.status
        );
        // A fence inside a name would end the block early.
        writeln!(out, "{}", line.replace("```", "'''").trim_end())?;
    }
    if entries.len() > MAX_LINES {
        writeln!(
            out,
            "  … and {} more (see the JSON plan)",
            entries.len() - MAX_LINES
        )?;
    }
    Ok(())
}

fn more(out: &mut dyn Write, total: usize) -> io::Result<()> {
    if total > MAX_LINES {
        writeln!(out, "- … and {} more", total - MAX_LINES)?;
    }
    Ok(())
}

/// Inline code that survives backticks in the text.
fn inline(text: &str) -> String {
    if text.contains('`') {
        format!("`` {text} ``")
    } else {
        format!("`{text}`")
    }
}

fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}
