//! What `deskprune import` declares: every in-scope desktop that exists and no declaration
//! keeps yet, by its computer name when no other listed desktop shares it, else by its ID.
//! Pure, like the planner, and fed page by page the same way; the command writes the result.

use std::collections::{HashMap, HashSet};

use super::{Desired, in_scope, is_protected};
use crate::model::{Desktop, EntryRef, plan_order};
use crate::text::fold;

/// Collects the listed desktops an import would declare.
pub struct Adoption<'a> {
    desired: Desired<'a>,
    /// The desktops of unfinished jobs (and unconfirmed calls), their IDs case-folded: being
    /// deleted by deskprune itself, they are going away.
    pending: HashSet<String>,
    /// In scope, existing, not declared yet.
    found: Vec<Found>,
    /// How many listed desktops (in scope or not) carry each case-folded name: a name is
    /// declared only when it is the desktop's own, so a declared name never keeps another.
    names: HashMap<String, usize>,
    adopted: Adopted,
}

fn entry(found: &Found) -> EntryRef<'_> {
    EntryRef {
        desktop_id: &found.id,
        computer_name: &found.name,
        user_name: "",
        status: "",
        created: "",
    }
}

struct Found {
    id: String,
    /// Trimmed, as the planner compares it.
    name: String,
    user: String,
    protected: bool,
}

/// What an import adds, each list in plan order (name, then ID), and what it saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Adopted {
    /// Desktops declared by name.
    pub names: Vec<String>,
    /// Desktops declared by ID, with the name they carry (for a comment beside the ID).
    pub ids: Vec<ById>,
    /// How many of the added desktops carry the protection tag.
    pub protected: usize,
    /// In-scope desktops a declaration already keeps (with `--merge`).
    pub already: usize,
    /// In-scope desktops being deleted (by the service's word, or in a job the state records
    /// as unfinished): not declared, since they are going away.
    pub deleting: usize,
    /// How many desktops were read, in scope or not.
    pub total: usize,
}

/// A desktop declared by ID, and why not by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ById {
    pub id: String,
    pub name: String,
    /// Its user, to tell desktops of one name apart in the comment.
    pub user: String,
    /// How many listed desktops carry this name (0 for a desktop without one).
    pub sharing: usize,
}

impl Adopted {
    pub fn added(&self) -> usize {
        self.names.len() + self.ids.len()
    }
}

impl<'a> Adoption<'a> {
    pub fn new(desired: Desired<'a>, pending: &HashSet<String>) -> Adoption<'a> {
        Adoption {
            desired,
            pending: pending.iter().map(|id| fold(id).into_owned()).collect(),
            found: Vec::new(),
            names: HashMap::new(),
            adopted: Adopted::default(),
        }
    }

    pub fn add(&mut self, desktop: Desktop) {
        self.adopted.total += 1;
        let name = desktop.name.trim();
        if !name.is_empty() {
            *self.names.entry(fold(name).into_owned()).or_default() += 1;
        }
        if !in_scope(self.desired.scope, &desktop) {
            return;
        }
        let declarations = self.desired.declarations;
        if declarations.by_id(&desktop.id).is_some() || declarations.by_name(name).is_some() {
            self.adopted.already += 1;
            return;
        }
        if desktop.is_deleting() || self.pending.contains(fold(&desktop.id).as_ref()) {
            self.adopted.deleting += 1;
            return;
        }
        self.found.push(Found {
            protected: is_protected(&desktop, self.desired.protect_tag),
            name: name.to_owned(),
            user: desktop.user,
            id: desktop.id,
        });
    }

    /// The declarations to add, once every desktop was added.
    pub fn finish(self) -> Adopted {
        let Adoption {
            mut found,
            names,
            mut adopted,
            ..
        } = self;
        found.sort_unstable_by(|a, b| plan_order(entry(a), entry(b)));
        for desktop in found {
            adopted.protected += usize::from(desktop.protected);
            let sharing = match desktop.name.as_str() {
                "" => 0,
                name => names.get(fold(name).as_ref()).copied().unwrap_or(0),
            };
            if sharing == 1 {
                adopted.names.push(desktop.name);
            } else {
                adopted.ids.push(ById {
                    id: desktop.id,
                    name: desktop.name,
                    user: desktop.user,
                    sharing,
                });
            }
        }
        adopted
    }
}

impl Extend<Desktop> for Adoption<'_> {
    fn extend<I: IntoIterator<Item = Desktop>>(&mut self, desktops: I) {
        for desktop in desktops {
            self.add(desktop);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Declaration, Declarations, Scope, Selector};
    use crate::plan::tests::{PROTECT, desktop, team_scope};

    fn adopt(declarations: &Declarations, desktops: Vec<Desktop>) -> Adopted {
        adopt_pending(declarations, desktops, &HashSet::new())
    }

    fn adopt_pending(
        declarations: &Declarations,
        desktops: Vec<Desktop>,
        pending: &HashSet<String>,
    ) -> Adopted {
        let scope = team_scope();
        let mut adoption = Adoption::new(
            Desired {
                scope: &scope,
                declarations,
                protect_tag: PROTECT,
            },
            pending,
        );
        adoption.extend(desktops);
        adoption.finish()
    }

    const ENG: &[(&str, &str)] = &[("team", "eng")];

    #[test]
    fn unique_names_by_name_shared_or_missing_names_by_id() {
        let mut deleting = desktop("d5", "eng-gone", ENG);
        deleting.task_status = "deleting".into();
        let adopted = adopt(
            &Declarations::default(),
            vec![
                desktop("d2", "eng-b", ENG),
                desktop("d1", "eng-a", ENG),
                desktop("d3", "ENG-B", ENG),
                desktop("d4", "  ", ENG),
                desktop("x1", "eng-c", &[("team", "ops")]),
                desktop("d6", "eng-c", ENG),
                desktop("d7", " eng-p ", &[("team", "eng"), (PROTECT, "true")]),
                deleting,
            ],
        );
        assert_eq!(adopted.names, ["eng-a", "eng-p"]);
        let ids: Vec<(&str, usize)> = adopted
            .ids
            .iter()
            .map(|by| (by.id.as_str(), by.sharing))
            .collect();
        // Sorted by name then ID; `eng-c` is shared with an out-of-scope desktop.
        assert_eq!(ids, [("d4", 0), ("d2", 2), ("d3", 2), ("d6", 2)]);
        assert_eq!(adopted.protected, 1);
        assert_eq!(adopted.deleting, 1);
        assert_eq!(adopted.total, 8);
        assert_eq!(adopted.added(), 6);
    }

    #[test]
    fn what_a_declaration_keeps_is_not_added_again() {
        let mut declarations = Declarations::default();
        for (line, selector) in [
            Selector::Name("ENG-A".into()),
            Selector::Id("D2".into()),
            Selector::Name("eng-missing".into()),
        ]
        .into_iter()
        .enumerate()
        {
            declarations.push(Declaration { selector, line }).unwrap();
        }
        let adopted = adopt(
            &declarations,
            vec![
                desktop("d1", "eng-a", ENG),
                desktop("d2", "eng-b", ENG),
                desktop("d3", "eng-c", ENG),
            ],
        );
        assert_eq!(adopted.names, ["eng-c"]);
        assert!(adopted.ids.is_empty());
        assert_eq!(adopted.already, 2);
    }

    #[test]
    fn out_of_scope_desktops_are_never_declared() {
        let scope = Scope::default();
        let declarations = Declarations::default();
        let mut adoption = Adoption::new(
            Desired {
                scope: &scope,
                declarations: &declarations,
                protect_tag: PROTECT,
            },
            &HashSet::new(),
        );
        adoption.extend([desktop("d1", "eng-a", ENG)]);
        assert_eq!(adoption.finish().added(), 0);
    }

    #[test]
    fn desktops_of_unfinished_jobs_are_left_out_in_any_case() {
        let adopted = adopt_pending(
            &Declarations::default(),
            vec![desktop("d1", "eng-a", ENG), desktop("D2", "eng-b", ENG)],
            &HashSet::from(["d2".to_string()]),
        );
        assert_eq!(adopted.names, ["eng-a"]);
        assert_eq!(adopted.deleting, 1);
    }
}
