//! Reading desktops, complete and consistent, from the API (`read`) into the planner's
//! [`Desktop`]s, and who is logged in to them (`login`): the model's facts, from the wire.

mod login;
mod read;

pub use login::classify;
pub use read::{ReadError, read_all, read_by_ids, read_login_status};

use crate::model::Desktop;
use crate::workspace::wire::ListedDesktop;

impl From<ListedDesktop> for Desktop {
    fn from(wire: ListedDesktop) -> Self {
        Desktop {
            id: wire.desktop_id,
            name: wire.computer_name.unwrap_or_default(),
            user: wire.user_name.unwrap_or_default(),
            status: wire.status.unwrap_or_default(),
            task_status: wire.task_status.unwrap_or_default(),
            created: wire.created.unwrap_or_default(),
            enterprise_project_id: wire.enterprise_project_id.unwrap_or_default(),
            tags: wire
                .tags
                .unwrap_or_default()
                .into_iter()
                .map(|tag| (tag.key, tag.value.unwrap_or_default()))
                .collect(),
        }
    }
}
