//! The plan as a person reads it: the in-scope desktops as a line diff (`-` for each deletion,
//! unchanged desktops as context), then the desktops held back and why, warnings, and a
//! one-line summary. Symbols carry the meaning, so it reads the same without colour. Every
//! text that came from outside (the API, a saved plan, the config) goes through
//! [`printable`], so none can redraw a line.

use std::borrow::Cow;
use std::io::{self, Write};

use similar::{DiffOp, DiffTag, group_diff_ops};

use super::Styles;
use crate::document::{DesktopDoc, PlanDocument, ScopeDoc};
use crate::model::{EntryRef, Kept, plan_order};
use crate::text::printable;

/// Unchanged desktops shown around each deletion.
const CONTEXT: usize = 2;

/// Renders `doc`. `kept` are the declared desktops found, for context around the deletions; a
/// saved plan does not carry them, and then only their number is shown.
pub fn render_plan(
    doc: &PlanDocument,
    kept: &[Kept],
    styles: &Styles,
    out: &mut dyn Write,
) -> io::Result<()> {
    let Styles { header, dim, .. } = *styles;
    let summary = &doc.summary;
    let listed = if summary.total == summary.in_scope {
        String::new()
    } else {
        format!(" ({} listed)", summary.total)
    };
    writeln!(
        out,
        "{header}Project{header:#} {} ({}) · {header}scope{header:#} {} · {} desktops in scope{listed}",
        printable(&doc.project_id),
        printable(&doc.region),
        scope_text(&doc.scope),
        summary.in_scope,
    )?;
    // Named only when used, so the legend of every other plan stays as it was.
    let unknown_symbol = if doc.login_unknown.is_empty() {
        ""
    } else {
        "   * login state unknown"
    };
    writeln!(
        out,
        "{dim}Symbols: - delete   ! protected   @ in use   ~ being deleted   ? declared, not found{unknown_symbol}{dim:#}"
    )?;
    writeln!(out)?;

    if doc.deletions.is_empty() {
        writeln!(
            out,
            "{}No changes.{:#} The in-scope desktops match the configuration.",
            styles.good, styles.good
        )?;
    } else {
        render_diff(doc, kept, styles, out)?;
    }

    let sections: [(&str, char, &[DesktopDoc]); 4] = [
        ("Protected by the tag, never deleted", '!', &doc.protected),
        (
            "In use (someone is logged in), skipped this time",
            '@',
            &doc.in_use,
        ),
        (
            "Held back: login state unknown (the detail list did not say who is logged in), skipped this time",
            '*',
            &doc.login_unknown,
        ),
        ("Already being deleted", '~', &doc.in_progress),
    ];
    for (title, symbol, entries) in sections {
        if entries.is_empty() {
            continue;
        }
        writeln!(out)?;
        writeln!(out, "{header}{title}:{header:#}")?;
        let widths = Widths::of(entries.iter().map(DesktopDoc::as_ref));
        let (symbol, mut line) = (format!("{symbol} "), String::new());
        for entry in entries {
            widths.write(out, &mut line, &symbol, entry.as_ref(), "")?;
        }
    }
    if !doc.missing.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "{header}Declared but not found (deskprune never creates desktops):{header:#}"
        )?;
        for missing in &doc.missing {
            let selector = match (&missing.name, &missing.id) {
                (Some(name), _) => format!("name `{}`", printable(name)),
                (None, Some(id)) => format!("id `{}`", printable(id)),
                (None, None) => "a declaration".to_string(),
            };
            let path = printable(&doc.config.path);
            let outside = if missing.outside_scope {
                ": exists outside the scope"
            } else {
                ""
            };
            writeln!(out, "? {selector} ({path}:{}){outside}", missing.line)?;
        }
    }
    if !doc.warnings.is_empty() {
        writeln!(out)?;
        for warning in &doc.warnings {
            writeln!(
                out,
                "{}warning:{:#} {}",
                styles.warning,
                styles.warning,
                printable(warning)
            )?;
        }
    }
    writeln!(out)?;
    writeln!(out, "{}", summary_line(doc, styles))
}

/// `Plan: 12 to delete, 3 missing, 2 protected, 480 kept.`
fn summary_line(doc: &PlanDocument, styles: &Styles) -> String {
    let Styles { header, delete, .. } = *styles;
    let summary = &doc.summary;
    let mut line = format!(
        "{header}Plan:{header:#} {delete}{} to delete{delete:#}, {} missing, {} protected, {} kept.",
        summary.to_delete, summary.missing, summary.protected, summary.kept,
    );
    let mut held = Vec::new();
    if summary.in_use > 0 {
        held.push(format!("{} in use", summary.in_use));
    }
    if summary.login_unknown > 0 {
        held.push(format!(
            "{} held back: login state unknown",
            summary.login_unknown
        ));
    }
    if summary.in_progress > 0 {
        held.push(format!("{} already being deleted", summary.in_progress));
    }
    if !held.is_empty() {
        line.push_str(&format!(" ({})", held.join(", ")));
    }
    line
}

/// The in-scope desktops that were declared (kept) or will be deleted, in plan order, as a
/// diff between "now" and "after apply". The diff operations are built from the plan itself
/// (after apply = now minus the deletions), so the picture cannot disagree with what apply
/// does; `similar` groups them into hunks with context.
fn render_diff(
    doc: &PlanDocument,
    kept: &[Kept],
    styles: &Styles,
    out: &mut dyn Write,
) -> io::Result<()> {
    let now = merged(kept, &doc.deletions);
    let entry = |row: Row| match row {
        Row::Kept(index) => kept[index as usize].as_ref(),
        Row::Deleted(index) => doc.deletions[index as usize].as_ref(),
    };

    let mut ops: Vec<DiffOp> = Vec::new();
    let mut new_index = 0;
    for (old_index, row) in now.iter().enumerate() {
        let deleted = matches!(row, Row::Deleted(_));
        match (ops.last_mut(), deleted) {
            (Some(DiffOp::Delete { old_len, .. }), true) => *old_len += 1,
            (Some(DiffOp::Equal { len, .. }), false) => {
                *len += 1;
                new_index += 1;
            }
            (_, true) => ops.push(DiffOp::Delete {
                old_index,
                old_len: 1,
                new_index,
            }),
            (_, false) => {
                ops.push(DiffOp::Equal {
                    old_index,
                    new_index,
                    len: 1,
                });
                new_index += 1;
            }
        }
    }
    let widths = Widths::of(now.iter().map(|&row| entry(row)));

    // Kept desktops the plan does not list (a saved plan keeps only their number).
    let unlisted = doc.summary.kept.saturating_sub(kept.len());
    if unlisted > 0 {
        skipped(out, styles, unlisted)?;
    }
    // Only the lines of the hunks are formatted: at 100,000 desktops most are never shown.
    let (deleted, delete_off) = (
        format!("{}- ", styles.delete.render()),
        styles.delete.render_reset().to_string(),
    );
    let mut line = String::new();
    let mut shown_until = 0;
    for hunk in group_diff_ops(ops, CONTEXT) {
        for op in &hunk {
            let (tag, lines, _) = op.as_tag_tuple();
            if lines.start > shown_until {
                skipped(out, styles, lines.start - shown_until)?;
            }
            let (before, after) = match tag {
                DiffTag::Delete => (deleted.as_str(), delete_off.as_str()),
                _ => ("  ", ""),
            };
            for &row in &now[lines.clone()] {
                widths.write(out, &mut line, before, entry(row), after)?;
            }
            shown_until = lines.end;
        }
    }
    if now.len() > shown_until {
        skipped(out, styles, now.len() - shown_until)?;
    }
    Ok(())
}

/// A line of the diff: a kept desktop or a deletion, by its index in its list (8 bytes a
/// line, where the desktop itself would take 80).
#[derive(Debug, Clone, Copy)]
enum Row {
    Kept(u32),
    Deleted(u32),
}

/// The kept desktops and the deletions, each already in plan order, as one list in plan order.
fn merged(kept: &[Kept], deletions: &[DesktopDoc]) -> Vec<Row> {
    let index = |at: usize| u32::try_from(at).expect("fewer than 4 billion desktops");
    let mut now = Vec::with_capacity(kept.len() + deletions.len());
    let (mut k, mut d) = (0, 0);
    while k < kept.len() || d < deletions.len() {
        let deletion_first = k == kept.len()
            || (d < deletions.len() && plan_order(kept[k].as_ref(), deletions[d].as_ref()).is_gt());
        if deletion_first {
            now.push(Row::Deleted(index(d)));
            d += 1;
        } else {
            now.push(Row::Kept(index(k)));
            k += 1;
        }
    }
    now
}

fn skipped(out: &mut dyn Write, styles: &Styles, count: usize) -> io::Result<()> {
    writeln!(
        out,
        "{}  ⋮ {count} kept desktop{} not shown{:#}",
        styles.dim,
        if count == 1 { "" } else { "s" },
        styles.dim
    )
}

/// Column widths for a list of desktops, so names, IDs and users line up.
struct Widths {
    name: usize,
    id: usize,
    user: usize,
}

impl Widths {
    fn of<'a>(entries: impl Iterator<Item = EntryRef<'a>>) -> Widths {
        let mut widths = Widths {
            name: 0,
            id: 0,
            user: 0,
        };
        for entry in entries {
            widths.name = widths.name.max(chars(&printable(display_name(entry))));
            widths.id = widths.id.max(chars(&printable(entry.desktop_id)));
            widths.user = widths.user.max(chars(&printable(display_user(entry))));
        }
        widths
    }

    /// Writes `entry` in columns, between `before` and `after`, as one line built in `line`
    /// (reused, so tens of thousands of lines cost one buffer and a write each).
    fn write(
        &self,
        out: &mut dyn Write,
        line: &mut String,
        before: &str,
        entry: EntryRef<'_>,
        after: &str,
    ) -> io::Result<()> {
        line.clear();
        line.push_str(before);
        self.push(line, entry);
        line.push_str(after);
        line.push('\n');
        out.write_all(line.as_bytes())
    }

    /// Appends `entry` in columns to `line`.
    fn push(&self, line: &mut String, entry: EntryRef<'_>) {
        let shown = Shown::of(entry);
        push_column(line, &shown.name, self.name);
        push_column(line, &shown.id, self.id);
        let status = shown.status.trim_end();
        if status.is_empty() {
            // No padding before nothing: the line ends with the user.
            line.push_str(shown.user.trim_end());
            return;
        }
        push_column(line, &shown.user, self.user);
        line.push_str(status);
    }
}

/// A desktop's columns as they are shown: escaped, borrowed unless there was anything to
/// escape.
struct Shown<'a> {
    name: Cow<'a, str>,
    id: Cow<'a, str>,
    user: Cow<'a, str>,
    status: Cow<'a, str>,
}

impl<'a> Shown<'a> {
    fn of(entry: EntryRef<'a>) -> Shown<'a> {
        Shown {
            name: printable(display_name(entry)),
            id: printable(entry.desktop_id),
            user: printable(display_user(entry)),
            status: printable(entry.status),
        }
    }
}

/// `text` padded to `width` characters, then the two spaces between columns.
fn push_column(line: &mut String, text: &str, width: usize) {
    line.push_str(text);
    let padding = width.saturating_sub(chars(text)) + 2;
    line.extend(std::iter::repeat_n(' ', padding));
}

/// Characters in `text`, counted fast when it is ASCII.
fn chars(text: &str) -> usize {
    if text.is_ascii() {
        text.len()
    } else {
        text.chars().count()
    }
}

fn display_name(entry: EntryRef<'_>) -> &str {
    if entry.computer_name.is_empty() {
        "(no name)"
    } else {
        entry.computer_name
    }
}

fn display_user(entry: EntryRef<'_>) -> &str {
    if entry.user_name.is_empty() {
        "(no user)"
    } else {
        entry.user_name
    }
}

/// The scope in words: `tags team=eng, name prefix "eng-"`.
pub fn scope_text(scope: &ScopeDoc) -> String {
    if scope.all {
        return "the whole project".to_string();
    }
    let mut parts = Vec::new();
    if let Some(eps) = &scope.enterprise_project_id {
        parts.push(format!("enterprise project {}", printable(eps)));
    }
    if !scope.tags.is_empty() {
        let tags: Vec<String> = scope
            .tags
            .iter()
            .map(|(k, v)| format!("{}={}", printable(k), printable(v)))
            .collect();
        parts.push(format!("tags {}", tags.join(",")));
    }
    if let Some(prefix) = &scope.name_prefix {
        parts.push(format!("name prefix \"{}\"", printable(prefix)));
    }
    parts.join(", ")
}
