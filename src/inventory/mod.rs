//! Desktops as the planner sees them: the few fields a decision needs, free of HTTP types;
//! and reading them, complete and consistent, from the API (`read`).

mod read;

pub use read::{ReadError, read_all, read_by_ids, read_login_status};

use crate::workspace::wire::SimpleDesktopInfo;

/// `task_status` of a desktop whose deletion is already under way.
pub const TASK_DELETING: &str = "deleting";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desktop {
    pub id: String,
    /// `computer_name`; empty when the service sent none.
    pub name: String,
    pub user: String,
    pub status: String,
    pub task_status: String,
    pub created: String,
    pub enterprise_project_id: String,
    /// (key, value) pairs; a tag without a value has an empty one.
    pub tags: Vec<(String, String)>,
}

impl Desktop {
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(candidate, _)| candidate == key)
            .map(|(_, value)| value.as_str())
    }

    pub fn is_deleting(&self) -> bool {
        self.task_status.eq_ignore_ascii_case(TASK_DELETING)
    }
}

impl From<SimpleDesktopInfo> for Desktop {
    fn from(wire: SimpleDesktopInfo) -> Self {
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
