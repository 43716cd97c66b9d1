//! The steps `plan` and `apply` share, between a validated config and a plan: the state
//! loaded and the session opened (`session`), the inventory read into the planner with the
//! in-use guard's reads in flight (`planning`), and the rails every plan passes before
//! anything is sent (`rails`). The commands read as these steps in order.

mod planning;
mod rails;
mod session;

use std::time::Duration;

pub use planning::{Planned, adopt_inventory, plan_desktops, plan_inventory};
pub use rails::{budget, check_budget, check_empty};
pub use session::Session;

use crate::config::Config;
use crate::error::Error;
use crate::state::{Lock, State, Store};

/// A session ready to plan, with its state loaded.
pub struct Opened {
    pub state: State,
    pub session: Session,
}

/// Loads the state (for a remote one, its head only: what keeps desktops out of plans) and
/// connects to the API named by `config`, which was validated whole:
/// nothing is sent before that.
pub async fn open(config: Config, store: &Store) -> Result<Opened, Error> {
    let state = store.load_head(&config.cloud.project_id).await?;
    let beside = store.local_path(config.path.parent().unwrap_or(std::path::Path::new("")));
    let session = Session::open(config, &beside).await?;
    Ok(Opened { state, session })
}

/// Takes the state's lock for `command`, waiting up to `timeout` while another run holds it:
/// a local one on a blocking thread, since the wait sleeps between tries; a remote one after
/// probing that its store honours conditional writes.
pub async fn lock(store: &Store, command: &str, timeout: Duration) -> Result<Lock, Error> {
    store.lock(command, timeout).await
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::state::StateLock;

    /// Another run holds the lock: the wait for it (400 ms here, then refused) leaves the
    /// runtime's one thread free for other tasks (here a ticker).
    #[tokio::test(flavor = "current_thread")]
    async fn the_lock_is_waited_for_off_the_runtime() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let _held = StateLock::acquire(&path, "deskprune apply", Duration::ZERO).unwrap();
        let ticks = Cell::new(0);
        let ticker = async {
            loop {
                tokio::time::sleep(Duration::from_millis(10)).await;
                ticks.set(ticks.get() + 1);
            }
        };
        let store = Store::Local(path.clone());
        let waited = tokio::select! {
            waited = lock(&store, "deskprune apply", Duration::from_millis(400)) => waited,
            () = ticker => unreachable!("the ticker never ends"),
        };
        assert!(matches!(waited, Err(Error::Lock(_))), "{waited:?}");
        assert!(
            ticks.get() >= 10,
            "other tasks ran only {} times while the lock was waited for",
            ticks.get()
        );
    }
}
