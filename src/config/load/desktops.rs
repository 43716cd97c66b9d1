//! The checks of the declared desktops: `[[desktop]]` tables, the `[desktops]` lists and the
//! list files they name (`names_file`, `ids_file`), each name or ID valid and declared once.

use std::borrow::Cow;
use std::ops::Range;

use toml::Spanned;

use super::check::Check;
use super::list_file::{self, Item, ListFile, MAX_LIST_BYTES};
use crate::config::diagnostic::Diagnostic;
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
        let mut written: Vec<Written> =
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
            let line = self.lines.line(entry_span.start);
            self.declare_in_config(
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
                let line = self.lines.line(value.span().start);
                self.declare_in_config(
                    "`[desktops]`",
                    key,
                    value,
                    line,
                    &mut declarations,
                    &mut written,
                );
            }
        }
        for (key, file_key, value) in [
            ("name", "names_file", lists.names_file),
            ("id", "ids_file", lists.ids_file),
        ] {
            let Some(value) = value else { continue };
            // A missing declaration names the line of `names_file = ...` in the config.
            let line = self.lines.line(value.span().start);
            let Some(source) = self.list_file(file_key, &value) else {
                continue;
            };
            let file = &self.files[source - 1];
            let form = format!("`{}`", file.path.display());
            let items: Vec<Item> = file.items().collect();
            for item in items {
                match item {
                    Item::Comment(at) => {
                        let comment = self
                            .error_in(source, at..at + 1, format!("`#` after a value in {form}"))
                            .label("a comment must take a whole line")
                            .help("move the comment to a line of its own, starting with `#`");
                        self.push(comment);
                    }
                    Item::Value(span) => {
                        let text = self.files[source - 1].text[span.clone()].to_owned();
                        let at = At { source, span };
                        let form = Cow::Owned(form.clone());
                        self.declare(form, key, text, at, line, &mut declarations, &mut written);
                    }
                }
            }
        }
        declarations
    }

    /// Reads the list file `value` names (relative to the config file's folder) into
    /// `self.files`: its source number, or `None` once the reason it cannot be read is reported.
    fn list_file(&mut self, key: &'static str, value: &Spanned<String>) -> Option<usize> {
        let what = format!("`{key}`");
        self.string(value, |v| values::exact_name(&what, v))?;
        let path = list_file::resolve(self.path, value.get_ref());
        let unreadable = match crate::input_file::read(&path, "list file", MAX_LIST_BYTES) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => {
                    self.files.push(ListFile::new(key, path, text));
                    return Some(self.files.len());
                }
                Err(error) => self
                    .error(
                        value.span(),
                        format!(
                            "list file `{}` is not UTF-8 text (at byte {})",
                            path.display(),
                            error.utf8_error().valid_up_to()
                        ),
                    )
                    .label(format!("`{key}` names it here"))
                    .help("save the file as UTF-8"),
            },
            Err(error) => self
                .error(value.span(), error.to_string())
                .label(format!("`{key}` names it here"))
                .help("a relative path is read from the config file's folder; one name or ID per line"),
        };
        self.push(unreadable);
        None
    }

    /// A diagnostic at `span` of `source`: the config (0) or a list file.
    fn error_in(&self, source: usize, span: Range<usize>, message: String) -> Diagnostic {
        match source {
            0 => self.error(span, message),
            n => {
                let file = &self.files[n - 1];
                Diagnostic::at(&file.path, &file.text, &file.lines, span, message)
            }
        }
    }

    /// `line:col` of `at` in its file, for a message that names another file.
    fn place(&self, at: &At) -> String {
        let (path, text, lines) = match at.source {
            0 => (self.path, self.text, &self.lines),
            n => {
                let file = &self.files[n - 1];
                (file.path.as_path(), file.text.as_str(), &file.lines)
            }
        };
        let (line, column) = lines.line_column(text, at.span.start);
        format!("{}:{line}:{column}", path.display())
    }

    /// Checks a `name` or `id` written in the config and declares it.
    fn declare_in_config(
        &mut self,
        form: &'static str,
        key: &str,
        value: Spanned<String>,
        line: usize,
        declarations: &mut Declarations,
        written: &mut Vec<Written>,
    ) {
        if self
            .string(&value, |v| {
                values::exact_name(if key == "name" { "`name`" } else { "`id`" }, v)
            })
            .is_none()
        {
            return;
        }
        let at = At {
            source: 0,
            span: value.span(),
        };
        self.declare(
            Cow::Borrowed(form),
            key,
            value.into_inner(),
            at,
            line,
            declarations,
            written,
        );
    }

    /// Adds one declared `name` or `id` (in `form`, at `at`), unless a declaration in any form
    /// named the same desktop before.
    #[allow(clippy::too_many_arguments, reason = "the parts of one declaration")]
    fn declare(
        &mut self,
        form: Cow<'static, str>,
        key: &str,
        value: String,
        at: At,
        line: usize,
        declarations: &mut Declarations,
        written: &mut Vec<Written>,
    ) {
        let selector = match key {
            "name" => Selector::Name(value),
            _ => Selector::Id(value),
        };
        let (earlier, again) = match declarations.push(Declaration { selector, line }) {
            Ok(_) => {
                written.push(Written { at, form });
                return;
            }
            Err(refused) => refused,
        };
        let first = &written[earlier];
        let (Selector::Name(spelling) | Selector::Id(spelling)) = &declarations[earlier].selector;
        let (Selector::Name(value) | Selector::Id(value)) = &again.selector;
        let help = if spelling != value && key == "id" {
            "desktop IDs are compared case-insensitively, so these are the same desktop; remove one entry"
        } else if spelling != value {
            "computer names are compared case-insensitively, so these are the same desktop; remove one entry"
        } else {
            "remove one of the two entries"
        };
        let also = if first.form == form {
            "first declared here".to_string()
        } else {
            format!("also declared here, in {}", first.form)
        };
        let mut duplicate = self
            .error_in(
                at.source,
                at.span.clone(),
                format!("duplicate {form} {key} `{value}`"),
            )
            .help(help);
        duplicate = if first.at.source == at.source {
            let text = match at.source {
                0 => self.text,
                n => self.files[n - 1].text.as_str(),
            };
            duplicate
                .label("declared again here")
                .note(text, first.at.span.clone(), also)
        } else {
            duplicate.label(format!(
                "declared again here; also declared in {} at `{}`",
                first.form,
                self.place(&first.at)
            ))
        };
        self.push(duplicate);
    }
}

/// Where a declaration was written: in the config (source 0) or a list file (its number).
#[derive(Debug, Clone)]
pub(super) struct At {
    source: usize,
    span: Range<usize>,
}

/// A declaration accepted, for a later duplicate's message.
pub(super) struct Written {
    at: At,
    /// Borrowed for the config's own forms: 100,000 declarations need no copy of them.
    form: Cow<'static, str>,
}
