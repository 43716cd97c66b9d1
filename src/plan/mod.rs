//! The planner: pure and deterministic. From the desired state and the facts read from the
//! API it decides, desktop by desktop, what apply will do; a [`Planner`] takes the desktops as
//! they are read, so the inventory is never held whole. No I/O happens here.
//!
//! Invariants (checked by property tests): a desktop that is declared, protected, outside the
//! scope, in use, of unknown login state, or already being deleted is never planned for
//! deletion; every other in-scope desktop is.

mod adopt;
mod budget;
mod saved;
mod scope;
mod typo;

pub use adopt::{Adopted, Adoption, ById};
pub use budget::{Budget, BudgetCheck};
pub use saved::{recheck, stale_diff};
pub use scope::in_scope;
pub use typo::NearMiss;

use std::collections::{HashMap, HashSet};

use crate::config::{Declaration, Declarations, Scope, Selector};
pub use crate::model::Entry;
use crate::model::{Desktop, Kept, Login, entry_order, plan_order};
use crate::text::{fold, same_word};

/// What the config says should be.
#[derive(Debug, Clone, Copy)]
pub struct Desired<'a> {
    pub scope: &'a Scope,
    pub declarations: &'a Declarations,
    pub protect_tag: &'a str,
}

/// A whole world at once, for tests: the inventory read from the API, and what the state file
/// and the detail list say about it.
#[cfg(test)]
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub inventory: Vec<Desktop>,
    /// Desktops someone is logged in to (from the detail list).
    pub in_use: &'a HashSet<String>,
    /// Desktops whose login state the detail list did not give for certain; every other
    /// desktop's is known, and not "in use" unless it is in `in_use`.
    pub login_unknown: &'a HashSet<String>,
    /// Desktops in a recorded job that has not ended yet.
    pub pending: &'a HashSet<String>,
}

#[cfg(test)]
impl Facts<'_> {
    /// The login state of every desktop, as the detail list would give it.
    pub fn login(&self) -> HashMap<String, Login> {
        self.inventory
            .iter()
            .map(|desktop| {
                let login = if self.login_unknown.contains(&desktop.id) {
                    Login::Unknown
                } else if self.in_use.contains(&desktop.id) {
                    Login::InUse
                } else {
                    Login::NotInUse
                };
                (desktop.id.clone(), login)
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// A declared name matches several desktops: all of them are kept.
    AmbiguousName {
        name: String,
        line: usize,
        count: usize,
    },
    /// A declaration matches a desktop outside the scope: it is never touched, but the
    /// declaration probably means something else.
    DeclaredOutOfScope { selector: Selector, line: usize },
    /// A declared desktop is being deleted by someone else.
    DeclaredButDeleting { selector: Selector, line: usize },
}

/// The decision for every in-scope desktop, each list sorted by name (case-insensitively), then
/// id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// In scope, not declared, not protected, not in use, not being deleted: apply deletes
    /// these, and only these.
    pub deletions: Vec<Entry>,
    /// In scope and declared: not listed, but the human view's context lines around each
    /// deletion, and its column widths, come from them.
    pub kept: Vec<Kept>,
    /// In scope, undeclared, carrying the protection tag.
    pub protected: Vec<Entry>,
    /// In scope, undeclared, someone logged in.
    pub in_use: Vec<Entry>,
    /// In scope, undeclared, already being deleted (by a recorded job or per `task_status`).
    pub in_progress: Vec<Entry>,
    /// In scope, undeclared, and no answer said for certain that nobody is logged in: held
    /// back, never deleted.
    pub login_unknown: Vec<Entry>,
    /// Declarations that match no desktop at all (reported; never created).
    pub missing: Vec<Declaration>,
    pub warnings: Vec<Warning>,
    /// How many desktops were read, in scope or not.
    pub total: usize,
}

impl Plan {
    pub fn in_scope(&self) -> usize {
        self.deletions.len()
            + self.kept.len()
            + self.protected.len()
            + self.in_use.len()
            + self.in_progress.len()
            + self.login_unknown.len()
    }

    /// Keeps only the deletions `login` says nobody is logged in to: those someone is logged in
    /// to move to `in_use`, and every other (unknown, or not in `login` at all: never asked, or
    /// never answered) to `login_unknown`. The same plan as one made with those facts from the
    /// start, without planning twice (the login states are read for the deletions only).
    pub fn hold_by_login(&mut self, login: &HashMap<String, Login>) {
        let mut deletions = Vec::with_capacity(self.deletions.len());
        for entry in std::mem::take(&mut self.deletions) {
            match login.get(&entry.desktop_id) {
                Some(Login::NotInUse) => deletions.push(entry),
                Some(Login::InUse) => self.in_use.push(entry),
                Some(Login::Unknown) | None => self.login_unknown.push(entry),
            }
        }
        self.deletions = deletions;
        self.in_use.sort_unstable_by(entry_order);
        self.login_unknown.sort_unstable_by(entry_order);
    }
}

/// Whether any tag of `desktop` that could be the protection tag (its key the same once
/// trimmed and case-folded) has a value other than `false`: when a desktop carries the tag
/// twice, `[protect=false, protect=true]`, the one that protects wins.
pub fn is_protected(desktop: &Desktop, protect_tag: &str) -> bool {
    desktop
        .tags_like(protect_tag)
        .any(|(_, value)| !same_word(value, "false"))
}

/// Plans over a whole inventory, as the commands do: a [`Planner`] fed every desktop, then the
/// desktops in use, or of unknown login state, held back. For tests, which reason about whole worlds.
#[cfg(test)]
pub fn plan(desired: &Desired<'_>, facts: Facts<'_>) -> Result<Plan, Vec<NearMiss>> {
    let login = facts.login();
    let mut planner = Planner::new(*desired, facts.pending);
    planner.extend(facts.inventory);
    let mut plan = planner.finish()?;
    plan.hold_by_login(&login);
    Ok(plan)
}

/// Plans desktop by desktop, as they arrive: each desktop is decided and moved into the plan
/// at once, so a reader need not hold the whole inventory. What depends on all of it (missing
/// declarations, names matching several desktops, the order) is settled by [`Planner::finish`].
pub struct Planner<'a> {
    desired: Desired<'a>,
    /// The desktops of unfinished jobs, their IDs case-folded: an ID is the same desktop in
    /// any letter case.
    pending: HashSet<String>,
    /// How many desktops each declaration matches, over the whole inventory: a declaration
    /// that matches a desktop outside the scope is not "missing".
    matches: Vec<usize>,
    out_of_scope_match: Vec<bool>,
    deleting_match: Vec<bool>,
    plan: Plan,
}

impl<'a> Planner<'a> {
    pub fn new(desired: Desired<'a>, pending: &HashSet<String>) -> Planner<'a> {
        let count = desired.declarations.len();
        Planner {
            desired,
            pending: pending.iter().map(|id| fold(id).into_owned()).collect(),
            matches: vec![0; count],
            out_of_scope_match: vec![false; count],
            deleting_match: vec![false; count],
            plan: Plan::default(),
        }
    }

    /// Decides one desktop. Desktops someone is logged in to, or whose login state is not
    /// known, are held back afterwards ([`Plan::hold_by_login`]): who is logged in is read for
    /// the deletions only.
    pub fn add(&mut self, desktop: Desktop) {
        let desired = &self.desired;
        self.plan.total += 1;
        // A declared name has no whitespace around it (the config refuses that); a listed one
        // with some is still the same computer.
        let declared = [
            desired.declarations.by_id(&desktop.id),
            desired.declarations.by_name(desktop.name.trim()),
        ];
        let declared = declared.iter().flatten().copied();
        for index in declared.clone() {
            self.matches[index] += 1;
        }
        if !in_scope(desired.scope, &desktop) {
            for index in declared {
                self.out_of_scope_match[index] = true;
            }
            return;
        }
        let deleting = desktop.is_deleting() || self.is_pending(&desktop.id);
        let plan = &mut self.plan;
        if declared.clone().next().is_some() {
            if deleting {
                for index in declared {
                    self.deleting_match[index] = true;
                }
            }
            plan.kept.push(Kept::from(&desktop));
            return;
        }
        let list = if deleting {
            &mut plan.in_progress
        } else if is_protected(&desktop, desired.protect_tag) {
            &mut plan.protected
        } else {
            &mut plan.deletions
        };
        list.push(Entry::from(desktop));
    }

    fn is_pending(&self, id: &str) -> bool {
        !self.pending.is_empty() && self.pending.contains(fold(id).as_ref())
    }

    /// The deletions decided so far, in the order they were decided.
    pub fn deletions(&self) -> &[Entry] {
        &self.plan.deletions
    }

    /// The plan of every desktop added, each list in plan order; or, when a declared ID that
    /// matches nothing is a typo of a desktop the plan would delete, those pairs: such a plan
    /// would delete what the config was written to keep, and must not be made.
    pub fn finish(self) -> Result<Plan, Vec<NearMiss>> {
        let plan = self.finish_some();
        let near_misses = typo::near_misses(&plan.missing, &plan.deletions);
        if !near_misses.is_empty() {
            return Err(near_misses);
        }
        Ok(plan)
    }

    /// The plan of some desktops only (a saved plan's, read again by ID), each list in plan
    /// order. A declaration that matches none of them may match another desktop, so none is
    /// taken for a typo: the whole read the saved plan was made from was checked for those,
    /// with the same config.
    pub fn finish_some(self) -> Plan {
        let mut plan = self.plan;
        for (index, declaration) in self.desired.declarations.iter().enumerate() {
            let selector = declaration.selector.clone();
            let line = declaration.line;
            match self.matches[index] {
                0 => plan.missing.push(declaration.clone()),
                count => {
                    if let Selector::Name(name) = &selector
                        && count > 1
                    {
                        plan.warnings.push(Warning::AmbiguousName {
                            name: name.clone(),
                            line,
                            count,
                        });
                    }
                    if self.out_of_scope_match[index] {
                        plan.warnings.push(Warning::DeclaredOutOfScope {
                            selector: selector.clone(),
                            line,
                        });
                    }
                    if self.deleting_match[index] {
                        plan.warnings
                            .push(Warning::DeclaredButDeleting { selector, line });
                    }
                }
            }
        }
        // IDs are unique, so the order is total and an unstable sort gives the one result.
        plan.kept
            .sort_unstable_by(|a, b| plan_order(a.as_ref(), b.as_ref()));
        for list in [
            &mut plan.deletions,
            &mut plan.protected,
            &mut plan.in_use,
            &mut plan.in_progress,
            &mut plan.login_unknown,
        ] {
            list.sort_unstable_by(entry_order);
        }
        plan.missing.sort_by_key(|declaration| declaration.line);
        plan
    }
}

/// Adds a batch of desktops (a page).
impl Extend<Desktop> for Planner<'_> {
    fn extend<I: IntoIterator<Item = Desktop>>(&mut self, desktops: I) {
        for desktop in desktops {
            self.add(desktop);
        }
    }
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
