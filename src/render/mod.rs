//! Plans and reports to bytes on any writer: the human view (a line diff drawn with
//! `similar`) and the Markdown one, both from the plan document. Colour is decided once by
//! the caller and handed down as [`Styles`]; nothing here asks about terminals.

mod human;
mod markdown;
mod styles;

pub use human::{render_plan, scope_text};
pub use markdown::render_markdown;
pub use styles::Styles;
