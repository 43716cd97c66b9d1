//! Where output goes and how it looks: colour is decided once per stream (`--color`, then
//! `NO_COLOR`, then whether the stream is a terminal), logs and messages go to stderr, the
//! plan and JSON to stdout. A message may quote the API (a desktop's name, an error's text),
//! so every line of it is escaped ([`shown`]) before it reaches the terminal.

use std::borrow::Cow;
use std::io::{self, IsTerminal, Write};

use crate::cli::{ColorChoice, Global};
use crate::error::Error;
use crate::render::Styles;
use crate::text::printable;

#[derive(Debug, Clone)]
pub struct Output {
    pub stdout: Styles,
    pub stderr: Styles,
    pub stderr_color: bool,
    pub quiet: bool,
    /// Progress may be drawn: stderr is a terminal and the user did not ask for quiet.
    pub progress: bool,
}

fn use_color(choice: ColorChoice, is_terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
            let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
            is_terminal && !no_color && !dumb
        }
    }
}

impl Output {
    pub fn new(global: &Global) -> Output {
        let stderr_terminal = io::stderr().is_terminal();
        let stderr_color = use_color(global.color, stderr_terminal);
        Output {
            stdout: Styles::new(use_color(global.color, io::stdout().is_terminal())),
            stderr: Styles::new(stderr_color),
            stderr_color,
            quiet: global.quiet,
            progress: stderr_terminal && !global.quiet,
        }
    }

    pub fn init_logging(&self, verbose: u8) {
        let level = match (self.quiet, verbose) {
            (true, _) => "error",
            (false, 0) => "warn",
            (false, 1) => "info",
            (false, _) => "debug",
        };
        let filter = tracing_subscriber::EnvFilter::new(format!("deskprune={level}"));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(io::stderr)
            .with_ansi(self.stderr_color)
            .with_target(false)
            .with_timer(tracing_subscriber::fmt::time::uptime())
            .try_init();
    }

    /// `error: …` and its hint, on stderr.
    pub fn error(&self, err: &Error) {
        let styles = &self.stderr;
        let mut stderr = io::stderr().lock();
        let _ = match err {
            Error::Config(config) => writeln!(stderr, "{}", config.render(self.stderr_color)),
            other => writeln!(
                stderr,
                "{}error:{:#} {}",
                styles.error,
                styles.error,
                shown(&other.to_string())
            ),
        };
        if let Some(hint) = err.hint() {
            let hint = shown(&hint);
            let _ = writeln!(stderr, "  {}hint:{:#} {hint}", styles.header, styles.header);
        }
    }

    pub fn warning(&self, message: &str) {
        let styles = &self.stderr;
        let _ = writeln!(
            io::stderr(),
            "{}warning:{:#} {}",
            styles.warning,
            styles.warning,
            shown(message)
        );
    }

    /// The last line of a command's result, on stdout. An apply must not stop because nobody
    /// reads its output any more, so a failed write is ignored.
    pub fn result(&self, line: &str) {
        let _ = writeln!(io::stdout(), "{}", shown(line));
    }

    /// A line of narration on stderr, unless quiet.
    pub fn note(&self, message: &str) {
        if !self.quiet {
            let _ = writeln!(io::stderr(), "{}", shown(message));
        }
    }
}

/// `message` with every character a terminal would obey escaped, line by line: the line
/// breaks deskprune writes itself stay. A line break inside quoted API text is not told
/// apart here; the text is escaped where it is quoted ([`crate::plan::stale_diff`]) when
/// it spans lines.
fn shown(message: &str) -> Cow<'_, str> {
    if !message.contains('\n') {
        return printable(message);
    }
    Cow::Owned(
        message
            .split('\n')
            .map(printable)
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_shown_escaped_line_by_line() {
        assert!(matches!(shown("plain `eng-0001`"), Cow::Borrowed(_)));
        assert_eq!(
            shown("refused `eng\u{1b}[2K\r- x`: WKS.0001 \u{202e}gone\nnext line"),
            "refused `eng\\u{1b}[2K\\u{d}- x`: WKS.0001 \\u{202e}gone\nnext line"
        );
    }
}
