//! What the planner consumes and produces, free of I/O and of any wire or file format: the
//! [`Desktop`] as read (`inventory` fills it), its [`Login`] state, the [`Entry`] a plan lists,
//! and the plan order. `inventory` reads into these, `plan` decides on them, `document` turns
//! them into the versioned JSON shapes: each layer depends only on the ones below it.

mod kept;
#[cfg(test)]
mod layers;
mod order;

pub use kept::Kept;
pub use order::{entry_order, plan_order};

use crate::text::same_word;

/// `task_status` of a desktop whose deletion is already under way.
pub const TASK_DELETING: &str = "deleting";
/// `status` some regions give a deleted desktop that is still listed.
pub const STATUS_DELETED: &str = "DELETED";

/// A listed desktop: the few fields a decision needs.
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

/// Whether someone is logged in to a desktop, as the detail list said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Login {
    NotInUse,
    /// Its `login_status` is one of `[guard] in_use_login_statuses`.
    InUse,
    /// The answer does not say for certain.
    Unknown,
}

/// A desktop as a plan lists it: what is shown, and what a saved plan is checked against
/// before it is applied (its fingerprint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub desktop_id: String,
    pub computer_name: String,
    pub user_name: String,
    pub status: String,
    pub created: String,
}

impl Entry {
    pub fn as_ref(&self) -> EntryRef<'_> {
        EntryRef {
            desktop_id: &self.desktop_id,
            computer_name: &self.computer_name,
            user_name: &self.user_name,
            status: &self.status,
            created: &self.created,
        }
    }
}

/// The entry of `desktop`, which it takes apart (nothing is copied).
impl From<Desktop> for Entry {
    fn from(desktop: Desktop) -> Self {
        Entry {
            desktop_id: desktop.id,
            computer_name: desktop.name,
            user_name: desktop.user,
            status: desktop.status,
            created: desktop.created,
        }
    }
}

/// An [`Entry`] borrowed, from wherever its fields are kept (a plan, a saved plan's document).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryRef<'a> {
    pub desktop_id: &'a str,
    pub computer_name: &'a str,
    pub user_name: &'a str,
    pub status: &'a str,
    pub created: &'a str,
}

impl EntryRef<'_> {
    pub fn to_entry(self) -> Entry {
        Entry {
            desktop_id: self.desktop_id.to_string(),
            computer_name: self.computer_name.to_string(),
            user_name: self.user_name.to_string(),
            status: self.status.to_string(),
            created: self.created.to_string(),
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
