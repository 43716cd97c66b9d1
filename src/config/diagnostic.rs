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
        lines: &LineIndex,
        span: Range<usize>,
        message: impl Into<String>,
    ) -> Self {
        let span = clamp(text, span);
        let (line, column) = lines.line_column(text, span.start);
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

    /// Rendered from the lines it points at only (from its first annotation's line to its
    /// last one's), so rendering every diagnostic of a file reads each line about once.
    fn render(&self, text: &str, lines: &LineIndex, renderer: &Renderer) -> String {
        // A message may quote a value, and a TOML string may hold any character as an escape.
        let path = printable(&self.path.display().to_string()).into_owned();
        let message = printable(&self.message);
        let label = printable(&self.label);
        let title = Level::ERROR.primary_title(message.as_ref());
        let mut group = match &self.span {
            Some(span) => {
                let spans = std::iter::once(span).chain(self.note.as_ref().map(|note| &note.span));
                let first = lines.line(spans.clone().map(|span| span.start).min().unwrap_or(0));
                let last = lines.line(spans.map(|span| span.end).max().unwrap_or(0));
                let from = lines.start(first);
                let shown = &text[from..lines.end(text, last)];
                let shift = |span: &Range<usize>| span.start - from..span.end - from;
                let mut primary = AnnotationKind::Primary.span(shift(span));
                if !label.is_empty() {
                    primary = primary.label(label.as_ref());
                }
                let mut snippet = Snippet::source(shown)
                    .line_start(first)
                    .path(path.as_str())
                    .annotation(primary);
                if let Some(note) = &self.note {
                    snippet = snippet.annotation(
                        AnnotationKind::Context
                            .span(shift(&note.span))
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
    lines: LineIndex,
    diagnostics: Vec<Diagnostic>,
    /// The list files the config names (`names_file`, `ids_file`), for the diagnostics that
    /// point into them: each with its path, text and line index.
    files: Vec<(PathBuf, String, LineIndex)>,
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
            lines: LineIndex::new(text),
            diagnostics,
            files: Vec::new(),
        }
    }

    /// The list files some diagnostics point into; those come after the config's, each
    /// file's in file order.
    pub(super) fn with_files(mut self, files: impl IntoIterator<Item = (PathBuf, String)>) -> Self {
        self.files = files
            .into_iter()
            .map(|(path, text)| {
                let lines = LineIndex::new(&text);
                (path, text, lines)
            })
            .collect();
        let files = &self.files;
        self.diagnostics.sort_by_key(|d| {
            let file = files.iter().position(|(path, ..)| *path == d.path);
            (
                file.map_or(0, |at| at + 1),
                d.span.as_ref().map_or(0, |span| span.start),
            )
        });
        self
    }

    pub(super) fn whole_file(diagnostic: Diagnostic) -> Self {
        ConfigError {
            text: String::new(),
            lines: LineIndex::new(""),
            diagnostics: vec![diagnostic],
            files: Vec::new(),
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
            .map(|d| {
                let (text, lines) = self
                    .files
                    .iter()
                    .find(|(path, ..)| *path == d.path)
                    .map_or((self.text.as_str(), &self.lines), |(_, text, lines)| {
                        (text.as_str(), lines)
                    });
                d.render(text, lines, &renderer)
            })
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

/// Where each line of a config file starts, so that finding the line of a byte offset is a
/// binary search, not a scan of the file: a file may hold tens of thousands of declarations,
/// and as many mistakes. Every diagnostic path (its `line:col`, its snippet, a declaration's
/// line) goes through this one index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LineIndex {
    /// Byte offset of the start of each line; the first is 0.
    starts: Vec<usize>,
}

impl LineIndex {
    pub(super) fn new(text: &str) -> Self {
        LineIndex {
            starts: std::iter::once(0)
                .chain(text.match_indices('\n').map(|(at, _)| at + 1))
                .collect(),
        }
    }

    /// 1-based line of byte `offset`.
    pub(super) fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset)
    }

    /// Byte offset where 1-based `line` starts.
    fn start(&self, line: usize) -> usize {
        self.starts[line - 1]
    }

    /// Byte offset just after 1-based `line` of `text` (its newline included).
    fn end(&self, text: &str, line: usize) -> usize {
        self.starts.get(line).copied().unwrap_or(text.len())
    }

    /// 1-based line and character column of byte `offset` of `text`, as annotate-snippets
    /// counts them.
    pub(super) fn line_column(&self, text: &str, offset: usize) -> (usize, usize) {
        let line = self.line(offset);
        (line, text[self.start(line)..offset].chars().count() + 1)
    }
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
