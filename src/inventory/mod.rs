//! Desktops as the planner sees them: the few fields a decision needs, free of HTTP types;
//! and reading them, complete and consistent, from the API (`read`).

mod login;
mod read;

pub use login::{Login, classify};
pub use read::{ReadError, read_all, read_by_ids, read_login_status};

use crate::text::same_word;
use crate::workspace::wire::ListedDesktop;

/// `task_status` of a desktop whose deletion is already under way.
pub const TASK_DELETING: &str = "deleting";
/// `status` some regions give a deleted desktop that is still listed.
pub const STATUS_DELETED: &str = "DELETED";

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
    /// The values of every tag whose key could be `key`: the same once trimmed and case-folded.
    /// A desktop may carry several (the API does not promise one tag per key), and each counts.
    pub fn tags_like<'a>(&'a self, key: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.tags
            .iter()
            .filter(move |(candidate, _)| same_word(candidate, key))
            .map(|(key, value)| (key.as_str(), value.as_str()))
    }

    /// Being deleted, or already deleted: some regions keep listing a deleted desktop with
    /// `status` `DELETED` for a while instead of dropping it. Either way it is never sent again.
    /// The words are compared trimmed and case-folded: `"Deleting "` is being deleted.
    pub fn is_deleting(&self) -> bool {
        same_word(&self.task_status, TASK_DELETING) || same_word(&self.status, STATUS_DELETED)
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deleting_or_deleted_desktops_are_never_sent_again() {
        let desktop = |status: &str, task_status: &str| Desktop {
            id: "d".into(),
            name: "n".into(),
            user: String::new(),
            status: status.into(),
            task_status: task_status.into(),
            created: String::new(),
            enterprise_project_id: String::new(),
            tags: Vec::new(),
        };
        assert!(desktop("ACTIVE", "deleting").is_deleting());
        assert!(desktop("DELETED", "").is_deleting());
        assert!(desktop("deleted", "").is_deleting());
        assert!(desktop("ACTIVE", "Deleting ").is_deleting());
        assert!(desktop(" deleted", "").is_deleting());
        assert!(!desktop("ACTIVE", "").is_deleting());
        assert!(!desktop("SHUTOFF", "deleteFailed").is_deleting());
    }
}
