//! The checks of the declared desktops: `[[desktop]]` tables and the `[desktops]` lists, each
//! name or ID valid and declared once.

use std::ops::Range;

use toml::Spanned;

use super::check::Check;
use crate::config::raw::{RawDesktop, RawDesktops};
use crate::config::values;
use crate::config::{Declaration, Declarations, Selector};

impl Check<'_> {
    pub(super) fn desktops(
        &mut self,
        entries: Vec<Spanned<RawDesktop>>,
        lists: RawDesktops,
    ) -> Declarations {
        let mut declarations = Declarations::with_capacity(
            entries.len() + lists.names.len(),
            entries.len() + lists.ids.len(),
        );
        // Where each declaration was written, and in which form, for a duplicate's message.
        let mut written: Vec<(Range<usize>, &'static str)> =
            Vec::with_capacity(entries.len() + lists.names.len() + lists.ids.len());
        for entry in entries {
            let entry_span = entry.span();
            let (key, value) = match entry.into_inner() {
                RawDesktop {
                    name: Some(name),
                    id: Some(id),
                } => {
                    let (first, second) = if name.span().start < id.span().start {
                        ((name.span(), "name"), (id.span(), "id"))
                    } else {
                        ((id.span(), "id"), (name.span(), "name"))
                    };
                    let both = self
                        .error(second.0, "`[[desktop]]` entry has both `name` and `id`: expected exactly one")
                        .label(format!("`{}` given here", second.1))
                        .note(self.text, first.0, format!("and `{}` here", first.1))
                        .help("keep one of them, or split them into two `[[desktop]]` entries if you meant two desktops");
                    self.push(both);
                    continue;
                }
                RawDesktop {
                    name: None,
                    id: None,
                } => {
                    let neither = self
                        .error(entry_span, "`[[desktop]]` entry has neither `name` nor `id`: expected exactly one")
                        .label("empty entry")
                        .help("add `name = \"...\"` (the computer name) or `id = \"...\"` (the desktop id)");
                    self.push(neither);
                    continue;
                }
                RawDesktop {
                    name: Some(name),
                    id: None,
                } => ("name", name),
                RawDesktop {
                    name: None,
                    id: Some(id),
                } => ("id", id),
            };
            let line = self.line_of(entry_span.start);
            self.declare(
                "`[[desktop]]`",
                key,
                value,
                line,
                &mut declarations,
                &mut written,
            );
        }
        for (key, values) in [("name", lists.names), ("id", lists.ids)] {
            for value in values {
                let line = self.line_of(value.span().start);
                self.declare(
                    "`[desktops]`",
                    key,
                    value,
                    line,
                    &mut declarations,
                    &mut written,
                );
            }
        }
        declarations
    }

    /// Checks one declared `name` or `id` (in `form`) and adds it, unless a declaration in
    /// either form named the same desktop before.
    fn declare(
        &mut self,
        form: &'static str,
        key: &str,
        value: Spanned<String>,
        line: usize,
        declarations: &mut Declarations,
        written: &mut Vec<(Range<usize>, &'static str)>,
    ) {
        if self
            .string(&value, |v| {
                values::exact_name(if key == "name" { "`name`" } else { "`id`" }, v)
            })
            .is_none()
        {
            return;
        }
        let span = value.span();
        let selector = match key {
            "name" => Selector::Name(value.into_inner()),
            _ => Selector::Id(value.into_inner()),
        };
        let (earlier, again) = match declarations.push(Declaration { selector, line }) {
            Ok(_) => {
                written.push((span, form));
                return;
            }
            Err(refused) => refused,
        };
        let (first, first_form) = written[earlier].clone();
        let (Selector::Name(spelling) | Selector::Id(spelling)) = &declarations[earlier].selector;
        let (Selector::Name(value) | Selector::Id(value)) = &again.selector;
        let help = if spelling != value && key == "id" {
            "desktop IDs are compared case-insensitively, so these are the same desktop; remove one entry"
        } else if spelling != value {
            "computer names are compared case-insensitively, so these are the same desktop; remove one entry"
        } else {
            "remove one of the two entries"
        };
        let duplicate = self
            .error(span, format!("duplicate {form} {key} `{value}`"))
            .label("declared again here")
            .note(
                self.text,
                first,
                if first_form == form {
                    "first declared here".to_string()
                } else {
                    format!("also declared here, in {first_form}")
                },
            )
            .help(help);
        self.push(duplicate);
    }
}
