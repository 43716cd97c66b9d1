//! Progress of long work (reading the inventory, sending chunks, waiting for jobs), drawn on
//! stderr only when it is a terminal and the output is for a person; cleared when each phase
//! ends, so nothing of it is left in the scrollback or in captured output.

use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    enabled: bool,
    bar: Mutex<Option<ProgressBar>>,
}

impl Progress {
    /// A progress line on stderr when `enabled`, otherwise nothing at all.
    pub fn new(enabled: bool) -> Progress {
        Progress {
            enabled,
            bar: Mutex::new(None),
        }
    }

    fn say(&self, mut message: String) {
        if !self.enabled {
            return;
        }
        // A slow run explains itself: the API's gateway is holding it back.
        if let Some(rate) = crate::workspace::throttled_rate() {
            message.push_str(&format!(" · throttled by the API, {rate:.1} calls/s"));
        }
        let mut bar = self.bar.lock().unwrap_or_else(|e| e.into_inner());
        bar.get_or_insert_with(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                    .expect("the template is valid"),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        })
        .set_message(message);
    }

    pub fn reading(&self, read: usize, total: usize) {
        self.say(format!("Reading desktops: {read} of {total}"));
    }

    /// Who is logged in to the deletions, asked after the inventory was read.
    pub fn checking(&self, checked: usize, total: usize) {
        self.say(format!(
            "Checking who is logged in: {checked} of {total} desktops"
        ));
    }

    pub fn sending(&self, sent: usize, total: usize) {
        self.say(format!("Submitting deletions: {sent} of {total} desktops"));
    }

    pub fn waiting(&self, done: usize, total: usize) {
        self.say(format!("Waiting for jobs: {done} of {total} finished"));
    }

    /// Removes the line; the next message starts a new one.
    pub fn clear(&self) {
        let mut bar = self.bar.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(bar) = bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.clear();
    }
}
