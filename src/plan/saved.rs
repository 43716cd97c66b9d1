//! Rechecking a saved plan against the world before it is applied: pure, like the planner.
//! A saved plan is applied only as it was reviewed. A planned desktop that changed (name, user,
//! creation time, status) or that the rules now keep (protected, out of scope, declared) makes
//! the whole plan stale; one that disappeared is reported; one now in use, of unknown login
//! state, or already being deleted is held back.

use std::collections::{HashMap, HashSet};

use super::Plan;
use crate::model::{Entry, EntryRef};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stale {
    pub before: Entry,
    /// `None` when only the rules changed, not the desktop.
    pub after: Option<Entry>,
    pub why: &'static str,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recheck {
    /// Unchanged and still to be deleted: what apply sends.
    pub send: Vec<Entry>,
    pub disappeared: Vec<Entry>,
    /// Not sent this time, with the reason.
    pub held: Vec<(Entry, &'static str)>,
    /// Any entry here refuses the whole plan.
    pub stale: Vec<Stale>,
}

/// `saved` are the saved plan's deletions; `fresh` is the plan made now, with today's config
/// and facts, over them read again by ID; `found` are the IDs that read found.
pub fn recheck(saved: &[Entry], fresh: &Plan, found: &HashSet<String>) -> Recheck {
    // Where each desktop stands now, and how it looks.
    let mut now: HashMap<&str, (EntryRef, Standing)> = HashMap::new();
    for (entries, standing) in [
        (&fresh.deletions, Standing::Deletion),
        (&fresh.in_progress, Standing::InProgress),
        (&fresh.in_use, Standing::InUse),
        (&fresh.protected, Standing::Protected),
        (&fresh.login_unknown, Standing::LoginUnknown),
    ] {
        for entry in entries {
            now.insert(&entry.desktop_id, (entry.as_ref(), standing));
        }
    }
    for kept in &fresh.kept {
        let entry = kept.as_ref();
        now.insert(entry.desktop_id, (entry, Standing::Declared));
    }
    let mut result = Recheck::default();
    for before in saved {
        let id = before.desktop_id.as_str();
        let Some(&(after, standing)) = now.get(id) else {
            if found.contains(id) {
                result.stale.push(Stale {
                    before: before.clone(),
                    after: None,
                    why: "no longer in the scope",
                });
            } else {
                result.disappeared.push(before.clone());
            }
            continue;
        };
        let stale = |why| Stale {
            before: before.clone(),
            after: Some(after.to_entry()),
            why,
        };
        match standing {
            _ if after != before.as_ref() => {
                result.stale.push(stale("changed since the plan was made"))
            }
            Standing::Deletion => result.send.push(after.to_entry()),
            Standing::InProgress => result
                .held
                .push((after.to_entry(), "already being deleted")),
            Standing::InUse => result
                .held
                .push((after.to_entry(), "in use (someone is logged in)")),
            Standing::LoginUnknown => result.held.push((
                after.to_entry(),
                "held back: its login state is unknown (the detail list did not say)",
            )),
            Standing::Protected => result.stale.push(stale("now carries the protection tag")),
            Standing::Declared => result.stale.push(stale("now declared in the config")),
        }
    }
    result
}

/// Where a desktop of a saved plan stands in the plan made now.
#[derive(Debug, Clone, Copy)]
enum Standing {
    Deletion,
    InProgress,
    InUse,
    LoginUnknown,
    Protected,
    Declared,
}

/// The stale desktops as a line diff: how each looked when planned (`-`) and now (`+`).
pub fn stale_diff(stale: &[Stale]) -> String {
    // Each field escaped: the lines are the API's text, and a line break in it would add one.
    let line = |entry: &Entry| {
        let shown = |text: &str| crate::text::printable(text).into_owned();
        format!(
            "{}  {}  user={}  status={}  created={}\n",
            shown(&entry.computer_name),
            shown(&entry.desktop_id),
            shown(&entry.user_name),
            shown(&entry.status),
            shown(&entry.created)
        )
    };
    let before: String = stale.iter().map(|s| line(&s.before)).collect();
    let after: String = stale
        .iter()
        .map(|s| match &s.after {
            Some(after) if after != &s.before => line(after),
            _ => line(&s.before),
        })
        .collect();
    similar::TextDiff::from_lines(&before, &after)
        .unified_diff()
        .context_radius(0)
        .header("planned", "now")
        .to_string()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::config::{Declarations, Scope};
    use crate::model::Desktop;
    use crate::plan::{Desired, Facts, plan};

    fn desktop(id: &str, tags: &[(&str, &str)]) -> Desktop {
        Desktop {
            id: id.into(),
            name: format!("pc-{id}"),
            user: "u".into(),
            status: "ACTIVE".into(),
            task_status: String::new(),
            created: "c".into(),
            enterprise_project_id: "0".into(),
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn sends_only_what_is_unchanged_and_still_deletable() {
        let team = [("team", "eng")];
        let planned = [
            desktop("1", &team),
            desktop("2", &team),
            desktop("3", &team),
            desktop("4", &team),
            desktop("5", &team),
            desktop("6", &team),
        ];
        let mut renamed = desktop("2", &team);
        renamed.user = "someone-else".into();
        let protected = desktop("3", &[("team", "eng"), ("deskprune:protect", "yes")]);
        let moved = desktop("4", &[("team", "ops")]);
        let mut deleting = desktop("5", &team);
        deleting.task_status = "deleting".into();
        let reread = [
            planned[0].clone(),
            renamed,
            protected,
            moved,
            deleting,
            planned[5].clone(),
        ];
        let scope = Scope {
            tags: BTreeMap::from([("team".into(), "eng".into())]),
            ..Scope::default()
        };
        let none = HashSet::new();
        // Issue 12: the detail list did not say who is logged in to this one.
        let unknown = HashSet::from(["6".to_string()]);
        let fresh = plan(
            &Desired {
                scope: &scope,
                declarations: &Declarations::default(),
                protect_tag: "deskprune:protect",
            },
            Facts {
                inventory: reread.to_vec(),
                in_use: &none,
                login_unknown: &unknown,
                pending: &none,
            },
        )
        .unwrap();
        let mut saved_plan: Vec<Entry> = planned.iter().cloned().map(Entry::from).collect();
        saved_plan.push(Entry {
            desktop_id: "gone".into(),
            computer_name: "pc-gone".into(),
            user_name: "u".into(),
            status: "ACTIVE".into(),
            created: "c".into(),
        });
        let found = reread.iter().map(|d| d.id.clone()).collect();
        let result = recheck(&saved_plan, &fresh, &found);
        let ids = |docs: Vec<&Entry>| {
            docs.into_iter()
                .map(|d| d.desktop_id.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(result.send.iter().collect()), ["1"]);
        assert_eq!(ids(result.disappeared.iter().collect()), ["gone"]);
        assert_eq!(
            ids(result.held.iter().map(|(d, _)| d).collect()),
            ["5", "6"]
        );
        assert!(result.held[1].1.contains("login state is unknown"));
        let whys: Vec<&str> = result.stale.iter().map(|s| s.why).collect();
        assert_eq!(
            whys,
            [
                "changed since the plan was made",
                "now carries the protection tag",
                "no longer in the scope"
            ]
        );
        let diff = stale_diff(&result.stale);
        assert!(
            diff.contains("-pc-2  2  user=u  status=ACTIVE  created=c"),
            "{diff}"
        );
        assert!(diff.contains("+pc-2  2  user=someone-else"), "{diff}");
    }
}
