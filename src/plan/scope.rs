//! Whether a desktop is managed by the config at all.

use crate::config::Scope;
use crate::inventory::Desktop;

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
        if desktop.tag(key) != Some(value.as_str()) {
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
    }
}
