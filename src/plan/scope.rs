//! Whether a desktop is managed by the config at all.

use crate::config::Scope;
use crate::model::Desktop;

/// Every criterion the scope gives must hold. An empty scope without `all` matches nothing:
/// config validation rejects it, and the planner fails closed should one ever get here.
pub fn in_scope(scope: &Scope, desktop: &Desktop) -> bool {
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
        if !has_tag(desktop, key, value) {
            return false;
        }
    }
    if let Some(prefix) = &scope.name_prefix {
        criteria += 1;
        if !starts_with_ignore_case(&desktop.name, prefix) {
            return false;
        }
    }
    criteria > 0
}

/// Whether `desktop` carries the tag `key=value` as the scope writes it, and no other tag
/// whose key could be `key` (trimmed, case-folded) has another value: when in doubt, out of
/// scope, never touched.
fn has_tag(desktop: &Desktop, key: &str, value: &str) -> bool {
    let mut found = false;
    for (candidate, candidate_value) in desktop.tags_like(key) {
        if candidate_value != value {
            return false;
        }
        found |= candidate == key;
    }
    found
}

/// Whether `text` starts with `prefix`, both lower-cased char by char. Deliberately narrower
/// than the rule that keeps desktops (`text::fold`, which also trims and upper-cases first):
/// the scope says what may be deleted, so it must not widen with it (` eng-x` does not start
/// with `eng-`, nor `straße-1` with `strasse`).
fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    let mut text = text.chars().flat_map(char::to_lowercase);
    prefix
        .chars()
        .flat_map(char::to_lowercase)
        .all(|p| text.next() == Some(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_ignores_case() {
        assert!(starts_with_ignore_case("ENG-alice", "eng-"));
        assert!(starts_with_ignore_case("eng", "ENG"));
        assert!(!starts_with_ignore_case("en", "eng"));
        assert!(!starts_with_ignore_case("ops-eng", "eng"));
        assert!(starts_with_ignore_case("anything", ""));
        assert!(!starts_with_ignore_case(" eng-x", "eng-"), "never trimmed");
        assert!(
            !starts_with_ignore_case("straße-1", "strasse"),
            "never upper-cased"
        );
    }
}
