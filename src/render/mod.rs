//! Plans and reports to bytes on any writer: the human view (a line diff drawn with
//! `similar`), and text shared by the views. Colour is decided once by the caller and handed
//! down as [`Styles`]; nothing here asks about terminals.

mod human;
mod styles;

pub use human::{render_plan, scope_text, summary_line};
pub use styles::Styles;
