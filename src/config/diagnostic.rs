//! Config errors a person can act on: what is wrong, where (`file:line:col` and the line with a
//! caret) and how to fix it, rendered like rustc's with annotate-snippets. A `ConfigError` holds
//! every problem found in one file, in file order.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use annotate_snippets::{AnnotationKind, Level, Origin, Renderer, Snippet};

use crate::text::printable;

/// One problem in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// What is wrong: a lowercase fragment naming the key in backticks and saying what was
    /// expected.
    pub message: String,
    /// The config file, as the user named it.
    pub path: PathBuf,
    /// 1-based; 0 when the problem is the file as a whole (it could not be read).
    pub line: usize,
    /// 1-based, in characters; 0 when `line` is.
    pub column: usize,
    /// Byte range of the offending text; `None` when `line` is 0.
    pub span: Option<Range<usize>>,
    /// Shown beside the caret; may be empty.
    pub label: String,
    /// How to fix it.
    pub help: Option<String>,
    /// Another place in the file that explains this one, such as the first of two duplicates.
    pub note: Option<Note>,
}

/// A second, labelled place in the same file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub span: Range<usize>,
    pub label: String,
}

impl Diagnostic {
    /// A problem at `span` (byte offsets into `text`, clamped to it so rendering never panics).
    pub(super) fn at(
        path: &Path,
        text: &str,
        span: Range<usize>,
        message: impl Into<String>,
    ) -> Self {
        let span = clamp(text, span);
        let (line, column) = line_column(text, span.start);
        Diagnostic {
            message: message.into(),
            path: path.to_path_buf(),
            line,
            column,
            span: Some(span),
            label: String::new(),
            help: None,
            note: None,
        }
    }

    /// A problem with the file as a whole, which has no line to show.
    pub(super) fn whole_file(path: &Path, message: impl Into<String>) -> Self {
        Diagnostic {
            message: message.into(),
            path: path.to_path_buf(),
            line: 0,
            column: 0,
            span: None,
            label: String::new(),
            help: None,
            note: None,
        }
    }

    pub(super) fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    pub(super) fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub(super) fn note(mut self, text: &str, span: Range<usize>, label: impl Into<String>) -> Self {
        self.note = Some(Note {
            span: clamp(text, span),
            label: label.into(),
        });
        self
    }

    fn render(&self, text: &str, renderer: &Renderer) -> String {
        // A message may quote a value, and a TOML string may hold any character as an escape.
        let path = printable(&self.path.display().to_string()).into_owned();
        let message = printable(&self.message);
        let label = printable(&self.label);
        let title = Level::ERROR.primary_title(message.as_ref());
        let mut group = match &self.span {
            Some(span) => {
                let mut primary = AnnotationKind::Primary.span(span.clone());
                if !label.is_empty() {
                    primary = primary.label(label.as_ref());
                }
                let mut snippet = Snippet::source(text)
                    .path(path.as_str())
                    .annotation(primary);
                if let Some(note) = &self.note {
                    snippet = snippet.annotation(
                        AnnotationKind::Context
                            .span(note.span.clone())
                            .label(note.label.as_str()),
                    );
                }
                title.element(snippet)
            }
            None => title.element(Origin::path(path.as_str())),
        };
        let help = self.help.as_deref().map(printable);
        if let Some(help) = &help {
            group = group.element(Level::HELP.message(help.as_ref()));
        }
        renderer.render(&[group])
    }
}

/// Everything wrong with one config file.
#[derive(Debug, Clone)]
pub struct ConfigError {
    /// The file's text, to show the offending lines; empty when it could not be read.
    text: String,
    diagnostics: Vec<Diagnostic>,
}

impl ConfigError {
    /// `diagnostics` must not be empty; they are put in file order.
    pub(super) fn new(text: &str, mut diagnostics: Vec<Diagnostic>) -> Self {
        debug_assert!(
            !diagnostics.is_empty(),
            "a config error without a diagnostic"
        );
        diagnostics.sort_by_key(|d| d.span.as_ref().map_or(0, |span| span.start));
        ConfigError {
            text: text.to_owned(),
            diagnostics,
        }
    }

    pub(super) fn whole_file(diagnostic: Diagnostic) -> Self {
        ConfigError {
            text: String::new(),
            diagnostics: vec![diagnostic],
        }
    }

    /// The problems, in file order; never empty.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// Every diagnostic with its snippet, separated by blank lines. Without `color` the text
    /// has no escape codes at all.
    pub fn render(&self, color: bool) -> String {
        let renderer = if color {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        let rendered: Vec<String> = self
            .diagnostics
            .iter()
            .map(|d| d.render(&self.text, &renderer))
            .collect();
        rendered.join("\n\n")
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

impl std::error::Error for ConfigError {}

/// 1-based line and character column of byte `offset`, as annotate-snippets counts them.
pub(super) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.matches('\n').count() + 1;
    (line, before[line_start..].chars().count() + 1)
}

/// `span` inside `text` and on character boundaries; annotate-snippets panics otherwise.
fn clamp(text: &str, span: Range<usize>) -> Range<usize> {
    let floor = |mut i: usize| {
        i = i.min(text.len());
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let start = floor(span.start);
    start..floor(span.end).max(start)
}
