//! The steps `plan` and `apply` share, between a validated config and a plan: the state
//! loaded and the session opened (`session`), the inventory read into the planner with the
//! in-use guard's reads in flight (`planning`), and the rails every plan passes before
//! anything is sent (`rails`). The commands read as these steps in order.

mod planning;
mod rails;
mod session;

use std::path::Path;

pub use planning::{Planned, plan_desktops, plan_inventory};
pub use rails::{budget, check_budget, check_empty};
pub use session::Session;

use crate::config::Config;
use crate::error::Error;
use crate::state::{self, State};

/// A session ready to plan, with its state loaded.
pub struct Opened {
    pub state: State,
    pub session: Session,
}

/// Loads the state and connects to the API named by `config`, which was validated whole:
/// nothing is sent before that.
pub async fn open(config: Config, state_path: &Path) -> Result<Opened, Error> {
    let state = state::load(state_path, &config.cloud.project_id)?;
    let session = Session::open(config, state_path).await?;
    Ok(Opened { state, session })
}
