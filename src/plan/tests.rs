//! Planner tests: hand-picked cases (the properties over random worlds are in `proptests`).

use std::collections::{BTreeMap, HashMap, HashSet};

use super::*;
use crate::config::{Declaration, Declarations, Scope, Selector};
use crate::model::{Desktop, Login};

pub(super) const PROTECT: &str = "deskprune:protect";

pub(super) fn desktop(id: &str, name: &str, tags: &[(&str, &str)]) -> Desktop {
    Desktop {
        id: id.into(),
        name: name.into(),
        user: format!("user-{id}"),
        status: "ACTIVE".into(),
        task_status: String::new(),
        created: "2024-03-11 02:14:57".into(),
        enterprise_project_id: "0".into(),
        tags: tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

pub(super) fn team_scope() -> Scope {
    Scope {
        tags: BTreeMap::from([("team".to_string(), "eng".to_string())]),
        ..Scope::default()
    }
}

fn name(name: &str, line: usize) -> Declaration {
    Declaration {
        selector: Selector::Name(name.into()),
        line,
    }
}

fn run(scope: &Scope, declarations: &[Declaration], inventory: &[Desktop]) -> Plan {
    let none = HashSet::new();
    plan_ok(
        &Desired {
            scope,
            declarations: &declarations.iter().cloned().collect(),
            protect_tag: PROTECT,
        },
        Facts {
            inventory: inventory.to_vec(),
            in_use: &none,
            login_unknown: &none,
            pending: &none,
        },
    )
}

fn plan_ok(desired: &Desired<'_>, facts: Facts<'_>) -> Plan {
    plan(desired, facts).expect("no declared ID is a typo of a deletion")
}

fn kept_ids(plan: &Plan) -> Vec<&str> {
    plan.kept
        .iter()
        .map(|kept| kept.as_ref().desktop_id)
        .collect()
}

fn ids(entries: &[Entry]) -> Vec<&str> {
    entries
        .iter()
        .map(|entry| entry.desktop_id.as_str())
        .collect()
}

#[test]
fn deletes_only_undeclared_in_scope_desktops() {
    let inventory = [
        desktop("1", "eng-alice", &[("team", "eng")]),
        desktop("2", "eng-bob", &[("team", "eng")]),
        desktop("3", "ops-carol", &[("team", "ops")]),
    ];
    let plan = run(&team_scope(), &[name("ENG-ALICE", 10)], &inventory);
    assert_eq!(ids(&plan.deletions), ["2"]);
    assert_eq!(kept_ids(&plan), ["1"]);
    assert_eq!(plan.in_scope(), 2);
    assert_eq!(plan.total, 3);
    assert!(plan.missing.is_empty());
}

#[test]
fn protection_deleting_and_pending_hold_back_a_deletion() {
    let mut deleting = desktop("2", "b", &[("team", "eng")]);
    deleting.task_status = "deleting".into();
    let inventory = [
        desktop("1", "a", &[("team", "eng"), (PROTECT, "yes")]),
        deleting,
        desktop("3", "c", &[("team", "eng")]),
        desktop("4", "d", &[("team", "eng"), (PROTECT, "FALSE")]),
        desktop("5", "e", &[("team", "eng")]),
        desktop("6", "f", &[("team", "eng")]),
    ];
    let pending = HashSet::from(["3".to_string()]);
    let in_use = HashSet::from(["5".to_string()]);
    let login_unknown = HashSet::from(["6".to_string()]);
    let plan = plan_ok(
        &Desired {
            scope: &team_scope(),
            declarations: &Declarations::default(),
            protect_tag: PROTECT,
        },
        Facts {
            inventory: inventory.to_vec(),
            in_use: &in_use,
            login_unknown: &login_unknown,
            pending: &pending,
        },
    );
    assert_eq!(ids(&plan.protected), ["1"]);
    assert_eq!(ids(&plan.in_progress), ["2", "3"]);
    assert_eq!(ids(&plan.in_use), ["5"]);
    assert_eq!(ids(&plan.login_unknown), ["6"]);
    assert_eq!(ids(&plan.deletions), ["4"], "`false` does not protect");
}

/// Issue 12: tags `[protect=false, protect=true]` let the first one win and the desktop was
/// deleted. Any tag that could be the protection tag (its key trimmed and case-folded) protects
/// unless its value is `false`.
#[test]
fn any_tag_that_could_be_the_protection_tag_protects() {
    let team = ("team", "eng");
    let inventory = [
        desktop("1", "a", &[team, (PROTECT, "false"), (PROTECT, "true")]),
        desktop("2", "b", &[team, (" Deskprune:Protect ", "yes")]),
        desktop(
            "3",
            "c",
            &[team, ("DESKPRUNE:PROTECT", " FALSE "), (PROTECT, "False")],
        ),
        desktop("4", "d", &[team, (PROTECT, "")]),
        desktop(
            "5",
            "e",
            &[team, ("\u{212a}", "x"), ("deskprune:protec", "x")],
        ),
        desktop(
            "6",
            "f",
            &[
                team,
                ("DESKPRUNE:PROTECT\t", "false"),
                ("deskprune:protect", "no"),
            ],
        ),
        // The Kelvin sign folds to `k`.
        desktop("7", "g", &[team, ("DES\u{212a}PRUNE:PROTECT", "1")]),
    ];
    let plan = run(&team_scope(), &[], &inventory);
    assert_eq!(ids(&plan.protected), ["1", "2", "4", "6", "7"]);
    assert_eq!(ids(&plan.deletions), ["3", "5"]);
}

/// A desktop is in a tag scope only when it carries the tag as the scope writes it and no
/// other tag with the same key (trimmed, case-folded) says otherwise.
#[test]
fn a_scope_tag_contradicted_by_another_leaves_the_desktop_out_of_scope() {
    let inventory = [
        desktop("1", "a", &[("team", "eng")]),
        desktop("2", "b", &[("team", "eng"), ("team", "ops")]),
        desktop("3", "c", &[("team", "ops"), ("team", "eng")]),
        desktop("4", "d", &[("team", "eng"), (" TEAM", "eng")]),
        desktop("5", "e", &[("team", "eng"), ("Team", "eng ")]),
        desktop("6", "f", &[("Team", "eng")]),
        desktop("7", "g", &[("team", "eng"), ("teams", "ops")]),
    ];
    let plan = run(&team_scope(), &[], &inventory);
    assert_eq!(ids(&plan.deletions), ["1", "4", "7"]);
    assert_eq!(plan.in_scope(), 3);
}

/// `"Deleting "` is being deleted, and `" deleted"` is deleted.
#[test]
fn status_words_are_trimmed_and_case_folded() {
    let mut deleting = desktop("1", "a", &[("team", "eng")]);
    deleting.task_status = "Deleting ".into();
    let mut deleted = desktop("2", "b", &[("team", "eng")]);
    deleted.status = " deleted".into();
    let mut failed = desktop("3", "c", &[("team", "eng")]);
    failed.task_status = " deleteFailed".into();
    let plan = run(&team_scope(), &[], &[deleting, deleted, failed]);
    assert_eq!(ids(&plan.in_progress), ["1", "2"]);
    assert_eq!(ids(&plan.deletions), ["3"]);
}

/// Issue 12: `id = "06B99DA4-…"` for a listed `06b99da4-…` did not keep the desktop.
#[test]
fn declared_ids_match_in_any_letter_case() {
    let inventory = [
        desktop("06b99da4-aa", "a", &[("team", "eng")]),
        desktop("06B99DA4-BB", "b", &[("team", "eng")]),
        desktop("06b99da4-cc", "c", &[("team", "eng")]),
    ];
    let declarations = [
        Declaration {
            selector: Selector::Id("06B99DA4-AA".into()),
            line: 1,
        },
        Declaration {
            selector: Selector::Id("06b99da4-bb".into()),
            line: 2,
        },
    ];
    let plan = run(&team_scope(), &declarations, &inventory);
    assert_eq!(kept_ids(&plan), ["06b99da4-aa", "06B99DA4-BB"]);
    assert_eq!(ids(&plan.deletions), ["06b99da4-cc"]);
    assert!(plan.missing.is_empty(), "{:?}", plan.missing);
}

/// A desktop of an unfinished job is never planned again, whatever the letter case of its ID
/// in the list.
#[test]
fn pending_ids_match_in_any_letter_case() {
    let pending = HashSet::from(["06b99da4-aa".to_string(), "06B99DA4-BB".to_string()]);
    let none = HashSet::new();
    let plan = plan_ok(
        &Desired {
            scope: &team_scope(),
            declarations: &Declarations::default(),
            protect_tag: PROTECT,
        },
        Facts {
            inventory: vec![
                desktop("06B99DA4-AA", "a", &[("team", "eng")]),
                desktop("06b99da4-bb", "b", &[("team", "eng")]),
                desktop("06b99da4-cc", "c", &[("team", "eng")]),
            ],
            in_use: &none,
            login_unknown: &none,
            pending: &pending,
        },
    );
    assert_eq!(ids(&plan.in_progress), ["06B99DA4-AA", "06b99da4-bb"]);
    assert_eq!(ids(&plan.deletions), ["06b99da4-cc"]);
}

fn id_declaration(id: &str, line: usize) -> Declaration {
    Declaration {
        selector: Selector::Id(id.into()),
        line,
    }
}

/// Issue 12: a declared ID that matches nothing but is a typo of a desktop the plan would
/// delete fails the plan: the user meant to keep that desktop.
#[test]
fn a_declared_id_a_typo_away_from_a_deletion_fails_the_plan() {
    let listed = "06b90da4-1c2e-4f70-9b3d-5e6f7a8b9c1d";
    let inventory = [
        desktop(listed, "a", &[("team", "eng")]),
        desktop(
            "7c0ffee0-0000-4000-8000-000000000001",
            "b",
            &[("team", "eng")],
        ),
    ];
    let typos = [
        "06b90da4-1c2e-4f70-9b3d-5e6f7a8b9c1e",  // one substitution
        "06b90da4-1c2e-4f70-9b3d-5e6f7a8b9c",    // two deletions
        "06b90da4-1c2e-4f70-9b3d-5e6f7a8b9c1dd", // one insertion
        "O6B9ODA4-1C2E-4F7O-9B3D-5E6F7A8B9CLD",  // O for 0 and L for 1, in upper case
        "o6b9oda4-1c2e-4f7o-9b3d-5e6f7a8b9cid",  // o for 0 and i for 1
    ];
    for typo in typos {
        let declarations = [name("b", 1), id_declaration(typo, 7)];
        let refused = plan(
            &Desired {
                scope: &team_scope(),
                declarations: &declarations.iter().cloned().collect(),
                protect_tag: PROTECT,
            },
            Facts {
                inventory: inventory.to_vec(),
                in_use: &HashSet::new(),
                login_unknown: &HashSet::new(),
                pending: &HashSet::new(),
            },
        )
        .expect_err(typo);
        assert_eq!(refused.len(), 1, "{typo}");
        assert_eq!(refused[0].declaration, declarations[1]);
        assert_eq!(refused[0].desktop.desktop_id, listed);
    }
    // Three edits away, or a typo of a desktop that is kept anyway: just missing.
    for (declared, keep) in [
        ("06b90da4-1c2e-4f70-9b3d-5e6f7a8b9fff", "b"),
        ("7c0ffee0-0000-4000-8000-00000000000x", "b"),
        ("06b90da4-1c2e-4f70-9b3d-5e6f7a8b9c1e", "a"),
    ] {
        let plan = run(
            &team_scope(),
            &[name(keep, 1), id_declaration(declared, 7)],
            &inventory,
        );
        assert_eq!(plan.missing, [id_declaration(declared, 7)], "{declared}");
    }
}

/// Issue 12: a deletion whose login state no answer gave (asked, but left out of the answer;
/// or never asked) is held back, never deleted.
#[test]
fn a_deletion_without_a_known_login_state_is_held_back() {
    let inventory = [
        desktop("1", "a", &[("team", "eng")]),
        desktop("2", "b", &[("team", "eng")]),
        desktop("3", "c", &[("team", "eng")]),
        desktop("4", "d", &[("team", "eng")]),
    ];
    let (scope, declarations) = (team_scope(), Declarations::default());
    let mut planner = Planner::new(
        Desired {
            scope: &scope,
            declarations: &declarations,
            protect_tag: PROTECT,
        },
        &HashSet::new(),
    );
    planner.extend(inventory);
    let mut plan = planner.finish().unwrap();
    plan.hold_by_login(&HashMap::from([
        ("1".to_string(), Login::NotInUse),
        ("2".to_string(), Login::InUse),
        ("3".to_string(), Login::Unknown),
    ]));
    assert_eq!(ids(&plan.deletions), ["1"]);
    assert_eq!(ids(&plan.in_use), ["2"]);
    assert_eq!(ids(&plan.login_unknown), ["3", "4"]);
    assert_eq!(plan.in_scope(), 4);
}

/// A listed name with whitespace around it is still the declared desktop: kept, not deleted.
#[test]
fn declared_names_match_listed_names_with_whitespace_around() {
    let inventory = [
        desktop("1", "eng-alice ", &[("team", "eng")]),
        desktop("2", "\tENG-BOB", &[("team", "eng")]),
        desktop("3", "eng-carol", &[("team", "eng")]),
    ];
    let plan = run(
        &team_scope(),
        &[name("eng-alice", 1), name("eng-bob", 2)],
        &inventory,
    );
    assert_eq!(kept_ids(&plan), ["2", "1"]);
    assert_eq!(ids(&plan.deletions), ["3"]);
    assert!(plan.missing.is_empty());
}

#[test]
fn ambiguous_names_keep_all_and_warn() {
    let inventory = [
        desktop("1", "pc", &[("team", "eng")]),
        desktop("2", "PC", &[("team", "eng")]),
    ];
    let plan = run(&team_scope(), &[name("pc", 4)], &inventory);
    assert!(plan.deletions.is_empty());
    assert_eq!(kept_ids(&plan), ["1", "2"]);
    assert_eq!(
        plan.warnings,
        [Warning::AmbiguousName {
            name: "pc".into(),
            line: 4,
            count: 2
        }]
    );
}

#[test]
fn missing_and_out_of_scope_declarations() {
    let inventory = [desktop("1", "ops", &[("team", "ops")])];
    let declarations = [
        name("ops", 3),
        Declaration {
            selector: Selector::Id("nope".into()),
            line: 5,
        },
    ];
    let plan = run(&team_scope(), &declarations, &inventory);
    assert_eq!(plan.missing, [declarations[1].clone()]);
    assert_eq!(
        plan.warnings,
        [Warning::DeclaredOutOfScope {
            selector: Selector::Name("ops".into()),
            line: 3
        }]
    );
}

#[test]
fn plans_are_sorted_by_name_then_id() {
    let inventory = [
        desktop("9", "b", &[("team", "eng")]),
        desktop("2", "A", &[("team", "eng")]),
        desktop("1", "a", &[("team", "eng")]),
    ];
    let plan = run(&team_scope(), &[], &inventory);
    assert_eq!(ids(&plan.deletions), ["1", "2", "9"]);
}

#[test]
fn budget_counts_and_percent() {
    let inventory: Vec<Desktop> = (0..8)
        .map(|i| desktop(&i.to_string(), &format!("d{i}"), &[("team", "eng")]))
        .collect();
    let plan = run(&team_scope(), &[name("d0", 1), name("d1", 2)], &inventory);
    assert_eq!(plan.deletions.len(), 6);
    let within = Budget {
        max_deletions: 6,
        max_percent: 75.0,
    };
    assert_eq!(within.check(6, plan.in_scope()), BudgetCheck::Within);
    let BudgetCheck::Exceeded { reasons, .. } = Budget {
        max_deletions: 5,
        max_percent: 50.0,
    }
    .check(6, plan.in_scope()) else {
        panic!("expected the budget to be exceeded");
    };
    assert_eq!(reasons.len(), 2, "{reasons:?}");
}
