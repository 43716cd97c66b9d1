//! The plan as a person reads it: the in-scope desktops as a line diff (`-` for each deletion,
//! unchanged desktops as context), then the desktops held back and why, warnings, and a
//! one-line summary. Symbols carry the meaning, so it reads the same without colour.

use std::io::{self, Write};

use similar::{ChangeTag, DiffOp, group_diff_ops};

use super::Styles;
use crate::config::{Config, Scope};
use crate::plan::{Entry, Plan, Warning};

/// Unchanged desktops shown around each deletion.
const CONTEXT: usize = 2;

pub fn render_plan(plan: &Plan, config: &Config, styles: &Styles, out: &mut dyn Write) -> io::Result<()> {
    let Styles { header, dim, .. } = *styles;
    let listed = if plan.total == plan.in_scope() {
        String::new()
    } else {
        format!(" ({} listed)", plan.total)
    };
    writeln!(
        out,
        "{header}Project{header:#} {} ({}) · {header}scope{header:#} {} · {} desktops in scope{listed}",
        config.cloud.project_id,
        config.cloud.region,
        scope_text(&config.scope),
        plan.in_scope(),
    )?;
    writeln!(
        out,
        "{dim}Symbols: - delete   ! protected   @ in use   ~ being deleted   ? declared, not found{dim:#}"
    )?;
    writeln!(out)?;

    if plan.has_deletions() {
        render_diff(plan, styles, out)?;
    } else {
        writeln!(
            out,
            "{}No changes.{:#} The in-scope desktops match the configuration.",
            styles.good, styles.good
        )?;
    }

    let sections: [(&str, char, &[Entry]); 3] = [
        ("Protected by the tag, never deleted", '!', &plan.protected),
        ("In use (someone is logged in), skipped this time", '@', &plan.in_use),
        ("Already being deleted", '~', &plan.in_progress),
    ];
    for (title, symbol, entries) in sections {
        if entries.is_empty() {
            continue;
        }
        writeln!(out)?;
        writeln!(out, "{header}{title}:{header:#}")?;
        let widths = Widths::of(entries.iter());
        for entry in entries {
            writeln!(out, "{symbol} {}", widths.line(entry))?;
        }
    }
    if !plan.missing.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "{header}Declared but not found (deskprune never creates desktops):{header:#}"
        )?;
        for declaration in &plan.missing {
            writeln!(
                out,
                "? {} ({}:{})",
                declaration.selector,
                config.path.display(),
                declaration.line
            )?;
        }
    }
    if !plan.warnings.is_empty() {
        writeln!(out)?;
        for warning in &plan.warnings {
            writeln!(
                out,
                "{}warning:{:#} {}",
                styles.warning,
                styles.warning,
                warning_text(warning, config)
            )?;
        }
    }
    writeln!(out)?;
    writeln!(out, "{}", summary_line(plan, styles))
}

/// `Plan: 12 to delete, 3 missing, 2 protected, 480 kept.`
fn summary_line(plan: &Plan, styles: &Styles) -> String {
    let Styles { header, delete, .. } = *styles;
    let mut line = format!(
        "{header}Plan:{header:#} {delete}{} to delete{delete:#}, {} missing, {} protected, {} kept.",
        plan.deletions.len(),
        plan.missing.len(),
        plan.protected.len(),
        plan.kept.len(),
    );
    let mut held = Vec::new();
    if !plan.in_use.is_empty() {
        held.push(format!("{} in use", plan.in_use.len()));
    }
    if !plan.in_progress.is_empty() {
        held.push(format!("{} already being deleted", plan.in_progress.len()));
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
fn render_diff(plan: &Plan, styles: &Styles, out: &mut dyn Write) -> io::Result<()> {
    let mut now: Vec<(&Entry, bool)> = plan
        .kept
        .iter()
        .map(|entry| (entry, false))
        .chain(plan.deletions.iter().map(|entry| (entry, true)))
        .collect();
    now.sort_by_cached_key(|(entry, _)| (entry.name.to_lowercase(), entry.id.clone()));

    let mut ops: Vec<DiffOp> = Vec::new();
    let mut new_index = 0;
    for (old_index, (_, deleted)) in now.iter().enumerate() {
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
    let widths = Widths::of(now.iter().map(|(entry, _)| *entry));
    let lines: Vec<String> = now.iter().map(|(entry, _)| widths.line(entry)).collect();
    let after: Vec<&String> = lines
        .iter()
        .zip(&now)
        .filter(|(_, (_, deleted))| !deleted)
        .map(|(line, _)| line)
        .collect();
    let after: Vec<String> = after.into_iter().cloned().collect();

    let hunks = group_diff_ops(ops, CONTEXT);
    let mut shown_until = 0;
    for hunk in &hunks {
        let start = hunk.first().map_or(0, |op| op.old_range().start);
        if start > shown_until {
            skipped(out, styles, start - shown_until)?;
        }
        for op in hunk {
            for change in op.iter_changes(&lines, &after) {
                match change.tag() {
                    ChangeTag::Delete => writeln!(
                        out,
                        "{}- {}{:#}",
                        styles.delete,
                        change.value(),
                        styles.delete
                    )?,
                    ChangeTag::Equal | ChangeTag::Insert => {
                        writeln!(out, "  {}", change.value())?
                    }
                }
            }
            shown_until = op.old_range().end;
        }
    }
    if lines.len() > shown_until {
        skipped(out, styles, lines.len() - shown_until)?;
    }
    Ok(())
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
    fn of<'a>(entries: impl Iterator<Item = &'a Entry>) -> Widths {
        let mut widths = Widths {
            name: 0,
            id: 0,
            user: 0,
        };
        for entry in entries {
            widths.name = widths.name.max(display_name(entry).chars().count());
            widths.id = widths.id.max(entry.id.chars().count());
            widths.user = widths.user.max(display_user(entry).chars().count());
        }
        widths
    }

    fn line(&self, entry: &Entry) -> String {
        format!(
            "{:<name$}  {:<id$}  {:<user$}  {}",
            display_name(entry),
            entry.id,
            display_user(entry),
            entry.status,
            name = self.name,
            id = self.id,
            user = self.user,
        )
        .trim_end()
        .to_string()
    }
}

fn display_name(entry: &Entry) -> &str {
    if entry.name.is_empty() { "(no name)" } else { &entry.name }
}

fn display_user(entry: &Entry) -> &str {
    if entry.user.is_empty() { "(no user)" } else { &entry.user }
}

/// The scope in words: `tags team=eng, name prefix "eng-"`.
pub fn scope_text(scope: &Scope) -> String {
    if scope.all {
        return "the whole project".to_string();
    }
    let mut parts = Vec::new();
    if let Some(eps) = &scope.enterprise_project_id {
        parts.push(format!("enterprise project {eps}"));
    }
    if !scope.tags.is_empty() {
        let tags: Vec<String> = scope.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        parts.push(format!("tags {}", tags.join(",")));
    }
    if let Some(prefix) = &scope.name_prefix {
        parts.push(format!("name prefix \"{prefix}\""));
    }
    parts.join(", ")
}

pub fn warning_text(warning: &Warning, config: &Config) -> String {
    let at = |line: &usize| format!("{}:{line}", config.path.display());
    match warning {
        Warning::AmbiguousName { name, line, count } => format!(
            "name `{name}` ({}) matches {count} desktops; all of them are kept",
            at(line)
        ),
        Warning::DeclaredOutOfScope { selector, line } => format!(
            "{selector} ({}) matches a desktop outside the scope; it is never touched, but check the declaration",
            at(line)
        ),
        Warning::DeclaredButDeleting { selector, line } => format!(
            "{selector} ({}) is declared but already being deleted by someone else",
            at(line)
        ),
    }
}
