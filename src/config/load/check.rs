//! The collector the config checks report into: one diagnostic per problem, with the value
//! rules shared by every table (strings, integers in a range, numbers above a bound).

use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;

use crate::config::diagnostic::{Diagnostic, LineIndex};
use crate::config::values::Rejection;

/// The checks, collecting a diagnostic per problem. Each returns a value even for a bad input
/// (the default, or empty) so checking goes on; the result is dropped if anything was reported.
pub(super) struct Check<'a> {
    pub(super) path: &'a Path,
    pub(super) text: &'a str,
    pub(super) lines: LineIndex,
    pub(super) diagnostics: Vec<Diagnostic>,
    /// The list files read (`names_file`, `ids_file`): source 1, 2, … of a declaration.
    pub(super) files: Vec<super::list_file::ListFile>,
}

impl Check<'_> {
    pub(super) fn error(&self, span: Range<usize>, message: impl Into<String>) -> Diagnostic {
        Diagnostic::at(self.path, self.text, &self.lines, span, message)
    }

    pub(super) fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    fn reject(&mut self, span: Range<usize>, rejection: Rejection) {
        let mut diagnostic = self.error(span, rejection.message).label(rejection.label);
        if let Some(help) = rejection.help {
            diagnostic = diagnostic.help(help);
        }
        self.push(diagnostic);
    }

    /// Applies `rule` to a spanned string, reporting a rejection at the value.
    pub(super) fn string<T>(
        &mut self,
        value: &Spanned<String>,
        rule: impl FnOnce(&str) -> Result<T, Rejection>,
    ) -> Option<T> {
        match rule(value.get_ref()) {
            Ok(accepted) => Some(accepted),
            Err(rejection) => {
                self.reject(value.span(), rejection);
                None
            }
        }
    }

    pub(super) fn missing_key(
        &mut self,
        header: Range<usize>,
        key: &str,
        table: &str,
        example: &str,
    ) {
        let missing = self
            .error(header, format!("missing `{key}` in `[{table}]`"))
            .label(format!("`{key}` expected in this table"))
            .help(format!("add e.g. `{example}`"));
        self.push(missing);
    }

    /// An integer in `range`, converted to the type the config stores it as.
    pub(super) fn integer<T: TryFrom<i64> + Default>(
        &mut self,
        value: Option<Spanned<i64>>,
        key: &str,
        range: std::ops::RangeInclusive<i64>,
        default: i64,
        why: Option<&str>,
    ) -> T {
        let Some(value) = value else {
            return T::try_from(default).unwrap_or_default();
        };
        if !range.contains(value.get_ref()) {
            let expected = if *range.end() == i64::MAX {
                format!("at least {}", range.start())
            } else {
                format!("between {} and {}", range.start(), range.end())
            };
            let found = self.source(value.span());
            let mut diagnostic = self
                .error(
                    value.span(),
                    format!("`{key}` must be {expected}, found `{found}`"),
                )
                .label("out of range");
            if let Some(why) = why {
                diagnostic = diagnostic.help(why);
            }
            self.push(diagnostic);
            return T::try_from(default).unwrap_or_default();
        }
        T::try_from(*value.get_ref()).unwrap_or_default()
    }

    /// A number above `lower` and at most `max`; NaN and infinities fail the comparisons.
    pub(super) fn number(
        &mut self,
        value: Option<Spanned<f64>>,
        key: &str,
        lower: Lower,
        max: f64,
        default: f64,
    ) -> f64 {
        let Some(value) = value else {
            return default;
        };
        let number = *value.get_ref();
        let (above, expected) = match lower {
            Lower::Inclusive(min) => (number >= min, format!("between {min} and {max}")),
            Lower::Exclusive(min) => (number > min, format!("more than {min} and at most {max}")),
        };
        if above && number <= max {
            return number;
        }
        let found = self.source(value.span());
        let diagnostic = self
            .error(
                value.span(),
                format!("`{key}` must be {expected}, found `{found}`"),
            )
            .label("out of range");
        self.push(diagnostic);
        default
    }

    fn source(&self, span: Range<usize>) -> &str {
        self.text.get(span).unwrap_or_default()
    }
}

/// The lower bound of a number range.
#[derive(Clone, Copy)]
pub(super) enum Lower {
    Inclusive(f64),
    Exclusive(f64),
}

/// `file` relative to the config file's folder (absolute paths stay as they are).
pub(super) fn relative_to_config(config: &Path, file: &str) -> PathBuf {
    match config.parent() {
        Some(folder) => folder.join(file),
        None => PathBuf::from(file),
    }
}
