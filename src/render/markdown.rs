//! The plan as Markdown, for a pull-request comment or a CI job summary: deletions in a
//! `diff` block (red on GitHub and GitLab), then what is held back, missing and warned about,
//! and the summary line. Long lists are cut, with the count of what was left out. Text from
//! outside is escaped ([`printable`]) and cannot close a block or a code span early.

use std::io::{self, Write};

use super::human::scope_text;
use crate::document::{BudgetDoc, DesktopDoc, PlanDocument, Summary};
use crate::text::printable;

/// Lines listed per section at most: job summaries and comments have size limits.
const MAX_LINES: usize = 500;

pub fn render_markdown(doc: &PlanDocument, out: &mut dyn Write) -> io::Result<()> {
    let summary = &doc.summary;
    writeln!(out, "{}", marker(doc))?;
    writeln!(
        out,
        "### deskprune plan: {} to delete\n",
        count(summary.to_delete, "desktop")
    )?;
    writeln!(
        out,
        "**Project** {} ({}) · **scope** {} · {} in scope\n",
        inline(&doc.project_id),
        inline(&doc.region),
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
                "- {selector} ({}){}",
                inline(&format!("{}:{}", doc.config.path, missing.line)),
                if missing.outside_scope {
                    ": exists outside the scope"
                } else {
                    ""
                }
            )?;
        }
        more(out, doc.missing.len())?;
        writeln!(out)?;
    }
    for warning in &doc.warnings {
        writeln!(out, "> **Warning:** {}\n", printable(warning))?;
    }
    if let Some(budget) = &summary.budget {
        budget_verdict(out, budget, summary)?;
    }
    writeln!(
        out,
        "**Plan: {} to delete, {} missing, {} protected, {} kept.**",
        summary.to_delete, summary.missing, summary.protected, summary.kept
    )
}

/// The first line, hidden when rendered: names the project and the config, so a CI job can
/// find the comment it posted for them and update it instead of adding another.
pub fn marker(doc: &PlanDocument) -> String {
    marker_of(&doc.project_id, &doc.config.path)
}

fn marker_of(project_id: &str, config_path: &str) -> String {
    // `--` cannot end the comment early, nor `>` close it.
    let text = format!("{}/{}", printable(project_id), printable(config_path))
        .replace("--", "-\\u{2d}")
        .replace('>', "\\u{3e}");
    format!("<!-- deskprune-plan: {text} -->")
}

/// What `apply` will say of the budget: within it, or refused unless given the number.
fn budget_verdict(out: &mut dyn Write, budget: &BudgetDoc, summary: &Summary) -> io::Result<()> {
    if budget.exceeded {
        return writeln!(
            out,
            "> **Over the deletion budget:** {}. `apply` refuses this plan unless given `--allow-deletions {}` (the exact number of deletions), after review.\n",
            printable(&budget.reasons.join("; ")),
            budget.allow_deletions.unwrap_or(summary.to_delete)
        );
    }
    let percent = if summary.in_scope == 0 {
        0.0
    } else {
        summary.to_delete as f64 * 100.0 / summary.in_scope as f64
    };
    writeln!(
        out,
        "**Budget:** within ({} of at most {}, {percent:.1} % of at most {} %)\n",
        count(summary.to_delete, "deletion"),
        budget.max_deletions,
        budget.max_delete_percent
    )
}

fn list(out: &mut dyn Write, entries: &[DesktopDoc], sign: &str) -> io::Result<()> {
    let shown = &entries[..entries.len().min(MAX_LINES)];
    let width = |field: fn(&DesktopDoc) -> &str| {
        shown
            .iter()
            .map(|entry| printable(field(entry)).chars().count())
            .max()
            .unwrap_or_default()
    };
    let widths = [
        width(|entry| &entry.computer_name),
        width(|entry| &entry.desktop_id),
        width(|entry| &entry.user_name),
    ];
    for entry in shown {
        let line = format!(
            "{sign} {:<name$}  {:<id$}  {:<user$}  {}",
            printable(&entry.computer_name),
            printable(&entry.desktop_id),
            printable(&entry.user_name),
            printable(&entry.status),
            name = widths[0],
            id = widths[1],
            user = widths[2],
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

/// `text` escaped, as inline code that survives any backticks in it: the fence is one
/// backtick longer than the longest run inside, and spaces pad a text that starts or ends
/// with a backtick or a space (CommonMark strips one from each side).
fn inline(text: &str) -> String {
    if text.is_empty() {
        return "` `".to_string();
    }
    let text = printable(text);
    let longest = text
        .split(|c| c != '`')
        .map(str::len)
        .max()
        .unwrap_or_default();
    let fence = "`".repeat(longest + 1);
    let pad = text.starts_with(['`', ' ']) || text.ends_with(['`', ' ']);
    let pad = if pad { " " } else { "" };
    format!("{fence}{pad}{text}{pad}{fence}")
}

fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_cannot_be_closed_early() {
        let marker = marker_of("p", "a-->b---c.toml");
        assert!(marker.starts_with("<!-- deskprune-plan: "), "{marker}");
        let inside = &marker["<!-- ".len()..marker.len() - " -->".len()];
        assert!(!inside.contains("--") && !inside.contains('>'), "{marker}");
    }

    #[test]
    fn inline_code_survives_any_backticks_and_escapes_controls() {
        let cases = [
            ("eng-0001", "`eng-0001`"),
            ("a`b", "``a`b``"),
            ("a``b", "```a``b```"),
            ("`x", "`` `x ``"),
            ("x `", "`` x ` ``"),
            (" x ", "`  x  `"),
            ("", "` `"),
            ("a|b", "`a|b`"),
            ("x\u{1b}[2K\r\u{202e}", "`x\\u{1b}[2K\\u{d}\\u{202e}`"),
        ];
        for (text, expected) in cases {
            assert_eq!(inline(text), expected, "{text:?}");
        }
    }
}
