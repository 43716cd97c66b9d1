//! Carrying out a plan: sending its deletions in chunks (`submit`), following the jobs they
//! create to their end (`follow`), and resolving the calls an earlier run sent without
//! recording their answer (`intents`). The state file is written before each call leaves and
//! after every answer, so a crash at any point loses no job ID: an answer not recorded yet is
//! an open intent, which the next run resolves.

mod follow;
mod intents;
mod refusal;
mod submit;

pub use follow::{FollowReport, StillWaiting, follow, refresh};
pub use intents::{Resolution, resolve};
pub use submit::{Sending, Stop, SubmitReport, submit};

use crate::state::{State, Store};

/// Where the state lives while apply works on it: every change is saved at once.
pub struct Journal<'a> {
    pub state: &'a mut State,
    pub store: &'a Store,
}

impl Journal<'_> {
    /// Saves the state on a blocking thread: reading what another writer saved, writing and
    /// syncing the file (and waiting for another save's folder lock) take the runtime from
    /// no task, so the calls in flight are read as their answers arrive.
    ///
    /// A copy is saved and, once the save returns, replaces the state (with the serial it
    /// was saved under and what another writer's records added). Should this future be
    /// dropped before then, the state is as it was: the next save finds the file one serial
    /// ahead and merges it, which loses nothing.
    pub async fn save(&mut self) -> anyhow::Result<()> {
        self.store.save(self.state).await
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::time::Duration;

    use super::*;

    /// Another writer holds the state's folder for 400 ms: the save waits for it, and the
    /// runtime's one thread goes on serving the other tasks (here a ticker) meanwhile.
    #[tokio::test(flavor = "current_thread")]
    async fn a_save_waits_off_the_runtime() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let mut state = crate::state::load(&path, "p").unwrap();
        let folder = std::fs::File::open(dir.path()).unwrap();
        folder.lock().unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(400));
            drop(folder);
        });
        let store = Store::Local(path.clone());
        let mut journal = Journal {
            state: &mut state,
            store: &store,
        };
        let ticks = Cell::new(0);
        let ticker = async {
            loop {
                tokio::time::sleep(Duration::from_millis(10)).await;
                ticks.set(ticks.get() + 1);
            }
        };
        tokio::select! {
            saved = journal.save() => saved.unwrap(),
            () = ticker => unreachable!("the ticker never ends"),
        }
        release.join().unwrap();
        assert_eq!(crate::state::load(&path, "p").unwrap().serial, 1);
        assert!(
            ticks.get() >= 10,
            "other tasks ran only {} times while the save waited",
            ticks.get()
        );
    }
}
