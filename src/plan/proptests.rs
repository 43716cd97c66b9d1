//! Planner properties over random worlds, made odd the ways an API answer or a config can be:
//! tags given twice, keys in any case with whitespace around them, values in any case; IDs in
//! any letter case in the list, the declarations and the state; status words with whitespace;
//! desktops in use or of unknown login state; declared IDs a typo away from a listed one.
//!
//! The plan is checked against a model of the safety rules written out here, apart from the
//! planner's own code: nothing declared, protected, in use, of unknown login state, out of
//! scope or being deleted is ever in `Plan::deletions`, and every other in-scope desktop is;
//! a plan is refused exactly when a declared ID that matches nothing is a typo of a deletion.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::LazyLock;

use proptest::prelude::*;

use super::tests::{PROTECT, desktop, team_scope};
use super::*;
use crate::config::{Declaration, Declarations, Scope, Selector};
use crate::model::{Desktop, Login};
use crate::text::edit_distance;

const NAMES: [&str; 8] = [
    "eng-a", "ENG-A", "eng-b", "ops-c", "d", "eng-e", "eng-b ", " eng-e",
];
const IDS: usize = 40;

/// Forty desktop IDs in UUID form, random hex from a fixed seed: far apart from each other, so
/// that only the typos made on purpose are typos.
static POOL: LazyLock<Vec<String>> = LazyLock::new(|| {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let pool: Vec<String> = (0..IDS)
        .map(|_| {
            let hex = format!("{:016x}{:016x}", next(), next());
            format!(
                "{}-{}-{}-{}-{}",
                &hex[..8],
                &hex[8..12],
                &hex[12..16],
                &hex[16..20],
                &hex[20..]
            )
        })
        .collect();
    for (i, a) in pool.iter().enumerate() {
        for b in &pool[i + 1..] {
            assert!(edit_distance(a, b) > 6, "{a} and {b} are too near");
        }
    }
    pool
});

/// `text` with the letters whose bit is set in `mask` upper-cased.
fn cased(text: &str, mask: u64) -> String {
    text.chars()
        .enumerate()
        .map(|(at, c)| match mask >> (at % 64) & 1 {
            1 => c.to_ascii_uppercase(),
            _ => c,
        })
        .collect()
}

/// Keys a tag may carry: the scope's and the protection key, spelt as an API might, and keys
/// that only look like them.
const KEYS: [&str; 10] = [
    "team",
    "Team",
    "TEAM",
    "teams",
    "deskprune:protect",
    "DESKPRUNE:PROTECT",
    "Deskprune:Protect",
    "des\u{212a}prune:protect",
    "deskprune:protected",
    "other",
];
const VALUES: [&str; 13] = [
    "eng", "ops", "ENG", "eng ", " eng", "", "false", "FALSE", " false ", "False", "true", "yes",
    "0",
];
const SPACES: [&str; 4] = ["", " ", "\t", "\u{3000}"];
const STATUSES: [&str; 8] = [
    "ACTIVE",
    "SHUTOFF",
    "DELETED",
    "deleted",
    " Deleted ",
    "DELETED\t",
    "",
    "ERROR",
];
const TASK_STATUSES: [&str; 7] = [
    "",
    "deleting",
    "Deleting ",
    " DELETING",
    "deleteFailed",
    "rebooting",
    "deleting\n",
];

fn arb_tag() -> impl Strategy<Value = (String, String)> {
    (
        prop::sample::select(&SPACES[..]),
        prop::sample::select(&KEYS[..]),
        prop::sample::select(&SPACES[..]),
        prop::sample::select(&VALUES[..]),
    )
        .prop_map(|(before, key, after, value)| (format!("{before}{key}{after}"), value.into()))
}

/// A desktop, and its place in [`POOL`].
fn arb_desktop() -> impl Strategy<Value = (usize, Desktop)> {
    (
        (0..IDS, any::<u64>(), 0..NAMES.len()),
        prop::collection::vec(arb_tag(), 0..5),
        prop::sample::select(vec!["0", "eps-1"]),
        // Mostly plain, so that many desktops are left to delete.
        prop_oneof![3 => Just("ACTIVE"), 1 => prop::sample::select(&STATUSES[..])],
        prop_oneof![3 => Just(""), 1 => prop::sample::select(&TASK_STATUSES[..])],
    )
        .prop_map(|((at, mask, name), tags, eps, status, task_status)| {
            let mut desktop = desktop(&cased(&POOL[at], mask), NAMES[name], &[]);
            desktop.tags = tags;
            desktop.enterprise_project_id = eps.into();
            desktop.status = status.into();
            desktop.task_status = task_status.into();
            (at, desktop)
        })
}

fn arb_scope() -> impl Strategy<Value = Scope> {
    (
        prop::bool::ANY,
        prop::option::of(prop::sample::select(vec!["0", "eps-1"])),
        prop::bool::ANY,
        prop::option::of(prop::sample::select(vec!["eng-", "ENG", "d"])),
    )
        .prop_map(|(all, eps, team, prefix)| Scope {
            all,
            enterprise_project_id: eps.map(str::to_string),
            tags: if team {
                team_scope().tags
            } else {
                BTreeMap::new()
            },
            name_prefix: prefix.map(str::to_string),
        })
}

/// A declared ID: one of the pool's in any letter case, sometimes mistyped (a char changed,
/// dropped or added, or `0` written `O`).
fn arb_declared_id() -> impl Strategy<Value = String> {
    (
        0..IDS,
        any::<u64>(),
        prop::collection::vec((0u8..4, 0usize..36, "[0-9a-fxO]"), 0..3),
    )
        .prop_map(|(at, mask, edits)| {
            let mut id: Vec<char> = POOL[at].chars().collect();
            for (kind, place, c) in edits {
                let c = c.chars().next().expect("one char");
                let place = place % id.len();
                match kind {
                    0 => id[place] = c,
                    1 => {
                        id.remove(place);
                    }
                    2 => id.insert(place, c),
                    _ => {
                        if let Some(zero) = id.iter().position(|c| *c == '0') {
                            id[zero] = 'O';
                        }
                    }
                }
            }
            cased(&id.into_iter().collect::<String>(), mask)
        })
}

/// Declarations as a config gives them: each names another desktop.
fn arb_declarations() -> impl Strategy<Value = Declarations> {
    prop::collection::vec(
        prop_oneof![
            (0..NAMES.len(), any::<u64>())
                .prop_map(|(at, mask)| Selector::Name(cased(NAMES[at].trim(), mask))),
            arb_declared_id().prop_map(Selector::Id),
        ],
        0..8,
    )
    .prop_map(|selectors| {
        let mut declarations = Declarations::default();
        for (line, selector) in selectors.into_iter().enumerate() {
            // A second declaration of the same desktop is refused, as the config check does.
            let _ = declarations.push(Declaration { selector, line });
        }
        declarations
    })
}

// ---- the model ----------------------------------------------------------------------------

/// Trimmed and case-folded, spelt out apart from `text::fold`.
fn norm(text: &str) -> String {
    text.trim().to_uppercase().to_lowercase()
}

fn same_id(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

fn model_in_scope(scope: &Scope, desktop: &Desktop) -> bool {
    if scope.all {
        return true;
    }
    let mut criteria = 0;
    if let Some(eps) = &scope.enterprise_project_id {
        criteria += 1;
        if desktop.enterprise_project_id != *eps {
            return false;
        }
    }
    for (key, value) in &scope.tags {
        criteria += 1;
        let carries = desktop.tags.iter().any(|(k, v)| k == key && v == value);
        let contradicted = desktop
            .tags
            .iter()
            .any(|(k, v)| norm(k) == norm(key) && v != value);
        if !carries || contradicted {
            return false;
        }
    }
    if let Some(prefix) = &scope.name_prefix {
        criteria += 1;
        if !desktop
            .name
            .to_lowercase()
            .starts_with(&prefix.to_lowercase())
        {
            return false;
        }
    }
    criteria > 0
}

fn model_protected(desktop: &Desktop) -> bool {
    desktop
        .tags
        .iter()
        .any(|(k, v)| norm(k) == norm(PROTECT) && norm(v) != "false")
}

fn model_deleting(desktop: &Desktop, pending: &HashSet<String>) -> bool {
    norm(&desktop.task_status) == "deleting"
        || norm(&desktop.status) == "deleted"
        || pending.iter().any(|id| same_id(id, &desktop.id))
}

fn model_declared(desktop: &Desktop, declarations: &Declarations) -> bool {
    declarations.iter().any(|d| match &d.selector {
        Selector::Name(name) => norm(name) == norm(&desktop.name),
        Selector::Id(id) => same_id(id, &desktop.id),
    })
}

/// `0`/`O`, `1`/`l`/`I` made one, case-folded.
fn model_skeleton(id: &str) -> String {
    id.to_lowercase().replace('o', "0").replace(['l', 'i'], "1")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn never_deletes_what_it_must_keep_and_deletes_the_rest(
        mut listed in prop::collection::vec(arb_desktop(), 0..30),
        scope in arb_scope(),
        declarations in arb_declarations(),
        // `None`: the answers never gave it (left out, or never asked).
        logins in prop::collection::vec(
            prop::sample::select(vec![Some(Login::NotInUse), Some(Login::InUse), Some(Login::Unknown), None]),
            IDS,
        ),
        pending in prop::collection::hash_set((0..IDS, any::<u64>()), 0..5),
        page in 1usize..8,
    ) {
        // The inventory reader guarantees IDs unique in any letter case.
        let mut seen = HashSet::new();
        listed.retain(|(at, _)| seen.insert(*at));
        let pending: HashSet<String> = pending.into_iter().map(|(at, mask)| cased(&POOL[at], mask)).collect();
        let by_state = |states: &[Option<Login>]| -> HashSet<String> {
            listed
                .iter()
                .filter(|(at, _)| states.contains(&logins[*at]))
                .map(|(_, d)| d.id.clone())
                .collect()
        };
        let in_use = by_state(&[Some(Login::InUse)]);
        let login_unknown = by_state(&[Some(Login::Unknown), None]);
        // The answers as the commands collect them: nothing at all for the desktops never given.
        let answers: HashMap<String, Login> = listed
            .iter()
            .filter_map(|(at, d)| Some((d.id.clone(), logins[*at]?)))
            .collect();
        let inventory: Vec<Desktop> = listed.iter().map(|(_, d)| d.clone()).collect();

        // What the rules decide before anyone is asked who is logged in.
        let deletable = |desktop: &Desktop| {
            model_in_scope(&scope, desktop)
                && !model_declared(desktop, &declarations)
                && !model_protected(desktop)
                && !model_deleting(desktop, &pending)
        };
        // Declared IDs that match nothing, each with the deletable desktops it is a typo of.
        let mut typos = Vec::new();
        for declaration in &declarations {
            let Selector::Id(declared) = &declaration.selector else { continue };
            if inventory.iter().any(|d| same_id(&d.id, declared)) {
                continue;
            }
            for desktop in inventory.iter().filter(|d| deletable(d)) {
                if edit_distance(&model_skeleton(declared), &model_skeleton(&desktop.id)) <= 2 {
                    typos.push((declaration.line, desktop.id.clone()));
                }
            }
        }
        typos.sort();

        let desired = Desired { scope: &scope, declarations: &declarations, protect_tag: PROTECT };
        let facts = |inventory: Vec<Desktop>| Facts {
            inventory, in_use: &in_use, login_unknown: &login_unknown, pending: &pending,
        };
        let result = match plan(&desired, facts(inventory.clone())) {
            Ok(result) => result,
            Err(near_misses) => {
                // Refused, so nothing is deleted: exactly for the typos of deletable desktops.
                let mut found: Vec<(usize, String)> = near_misses
                    .iter()
                    .map(|miss| (miss.declaration.line, miss.desktop.desktop_id.clone()))
                    .collect();
                found.sort();
                prop_assert_eq!(found, typos);
                return Ok(());
            }
        };
        prop_assert!(typos.is_empty(), "typos let through: {:?}", typos);

        let deleted: HashSet<&str> = result.deletions.iter().map(|e| e.desktop_id.as_str()).collect();
        for desktop in &inventory {
            let delete = deletable(desktop)
                && !in_use.contains(&desktop.id)
                && !login_unknown.contains(&desktop.id);
            prop_assert_eq!(
                deleted.contains(desktop.id.as_str()),
                delete,
                "desktop {:?} under scope {:?}", desktop, scope
            );
        }
        // Every in-scope desktop is in exactly one list, and no other is in any.
        let in_scope_count = inventory.iter().filter(|d| model_in_scope(&scope, d)).count();
        prop_assert_eq!(result.in_scope(), in_scope_count);
        let mut listed_ids: Vec<&str> = result.kept.iter().map(|d| d.as_ref().desktop_id).collect();
        for list in [&result.deletions, &result.protected, &result.in_use, &result.in_progress, &result.login_unknown] {
            listed_ids.extend(list.iter().map(|e| e.desktop_id.as_str()));
        }
        let unique: HashSet<&str> = listed_ids.iter().copied().collect();
        prop_assert_eq!(unique.len(), listed_ids.len(), "a desktop in two lists");
        for desktop in &result.login_unknown {
            prop_assert!(login_unknown.contains(&desktop.desktop_id));
        }

        // Deterministic: the same inputs in another order give the same plan.
        let mut reversed = inventory.clone();
        reversed.reverse();
        let again = plan(&desired, facts(reversed)).expect("the same plan");
        prop_assert_eq!(&again, &result);
        // Fed page by page, pages arriving in any order (as the reader does), the planner
        // makes the same plan.
        let mut planner = Planner::new(desired, &pending);
        for page in inventory.chunks(page).rev() {
            planner.extend(page.to_vec());
        }
        let mut paged = planner.finish().expect("the same plan");
        paged.hold_by_login(&answers);
        prop_assert_eq!(paged, result);
    }
}
