//! The styles of everything deskprune prints; plain unless colour was switched on.

use anstyle::{AnsiColor, Style};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Styles {
    pub delete: Style,
    pub keep: Style,
    pub warning: Style,
    pub error: Style,
    pub good: Style,
    pub header: Style,
    pub dim: Style,
}

impl Styles {
    pub fn plain() -> Styles {
        Styles::default()
    }

    pub fn colored() -> Styles {
        Styles {
            delete: AnsiColor::Red.on_default(),
            keep: Style::new(),
            warning: AnsiColor::Yellow.on_default().bold(),
            error: AnsiColor::Red.on_default().bold(),
            good: AnsiColor::Green.on_default(),
            header: Style::new().bold(),
            dim: Style::new().dimmed(),
        }
    }

    pub fn new(color: bool) -> Styles {
        if color {
            Styles::colored()
        } else {
            Styles::plain()
        }
    }
}
