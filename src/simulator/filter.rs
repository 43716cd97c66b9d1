//! The list calls' query filters: which desktops a page is cut from.

use crate::workspace::wire::{MAX_IDS_PER_CALL, SimpleDesktopInfo};

use super::query::Query;
use super::reply::Failure;

/// The two list calls take the same filters, except that the detail list also takes
/// `user_names`, which then overrides `user_name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ListKind {
    Simple,
    Detail,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct DesktopFilter {
    /// Exact IDs (any of them).
    pub(super) desktop_ids: Vec<String>,
    /// Lower-cased; a case-insensitive substring of `computer_name`. UNCONFIRMED: the service
    /// calls it fuzzy without saying how; a substring match is the likely reading.
    computer_name: Option<String>,
    /// Exact user names (any of them). UNCONFIRMED: the SDK docs call `user_name` fuzzy; an
    /// exact match returns the fewest desktops, so no client can come to rely on extra ones.
    user_names: Vec<String>,
    enterprise_project_id: Option<String>,
    /// Every pair must be on the desktop; `None` means the key alone must be.
    tags: Vec<(String, Option<String>)>,
    status: Option<String>,
}

impl DesktopFilter {
    pub(super) fn parse(query: &Query, kind: ListKind) -> Result<DesktopFilter, Failure> {
        let desktop_ids = owned(query.all("desktop_id"));
        if desktop_ids.len() > MAX_IDS_PER_CALL {
            return Err(Failure::invalid(format!(
                "The parameter desktop_id accepts at most {MAX_IDS_PER_CALL} values."
            )));
        }
        let mut user_names = owned(query.all("user_names"));
        if kind == ListKind::Simple || user_names.is_empty() {
            user_names = owned(query.all("user_name"));
        }
        let tags = query.first("tag").map(parse_tags).unwrap_or_default();
        Ok(DesktopFilter {
            desktop_ids,
            computer_name: query.first("computer_name").map(str::to_lowercase),
            user_names,
            enterprise_project_id: query.first("enterprise_project_id").map(str::to_string),
            tags,
            status: query.first("status").map(str::to_string),
        })
    }

    /// True when no filter is given: every desktop matches and the page can be cut directly.
    pub(super) fn is_empty(&self) -> bool {
        self.desktop_ids.is_empty()
            && self.computer_name.is_none()
            && self.user_names.is_empty()
            && self.enterprise_project_id.is_none()
            && self.tags.is_empty()
            && self.status.is_none()
    }

    pub(super) fn matches(&self, desktop: &SimpleDesktopInfo) -> bool {
        let ids = self.desktop_ids.is_empty() || self.desktop_ids.contains(&desktop.desktop_id);
        let name = self.computer_name.as_ref().is_none_or(|wanted| {
            desktop
                .computer_name
                .as_deref()
                .is_some_and(|name| contains_ignoring_case(name, wanted))
        });
        let user = self.user_names.is_empty()
            || desktop
                .user_name
                .as_ref()
                .is_some_and(|user| self.user_names.contains(user));
        let project = equal_if_given(&self.enterprise_project_id, &desktop.enterprise_project_id);
        let status = equal_if_given(&self.status, &desktop.status);
        let tags = self.tags.iter().all(|(key, value)| {
            desktop.tags.iter().flatten().any(|tag| {
                tag.key == *key
                    && value
                        .as_ref()
                        .is_none_or(|value| tag.value.as_deref().unwrap_or("") == value)
            })
        });
        ids && name && user && project && status && tags
    }
}

/// `needle` is already lower-cased. Names are nearly always ASCII, and then this allocates
/// nothing: a filtered list scans the whole inventory on every page.
fn contains_ignoring_case(haystack: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    if haystack.is_ascii() && needle.is_ascii() {
        return haystack
            .as_bytes()
            .windows(needle.len())
            .any(|window| window.eq_ignore_ascii_case(needle.as_bytes()));
    }
    haystack.to_lowercase().contains(needle)
}

fn owned<'a>(values: impl Iterator<Item = &'a str>) -> Vec<String> {
    values.map(str::to_string).collect()
}

fn equal_if_given(wanted: &Option<String>, actual: &Option<String>) -> bool {
    wanted.is_none() || wanted == actual
}

/// `k=v` or `k1=v1,k2=v2`; a bare `k` asks for the key with any value (UNCONFIRMED).
fn parse_tags(raw: &str) -> Vec<(String, Option<String>)> {
    raw.split(',')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) => (key.to_string(), Some(value.to_string())),
            None => (pair.to_string(), None),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_split_into_pairs() {
        assert_eq!(
            parse_tags("team=fin,env=prod,bare"),
            vec![
                ("team".to_string(), Some("fin".to_string())),
                ("env".to_string(), Some("prod".to_string())),
                ("bare".to_string(), None),
            ]
        );
        assert_eq!(
            parse_tags("k=a=b"),
            vec![("k".to_string(), Some("a=b".to_string()))]
        );
    }

    #[test]
    fn names_match_as_case_insensitive_substrings() {
        let cases = [
            ("FIN-PC-001", "pc-0", true),
            ("FIN-PC-001", "", true),
            ("FIN-PC-001", "pc-002", false),
            ("PC", "pc-001", false),
            ("Büro-PC", "büro", true),
            ("BÜRO-PC", "büro", true),
        ];
        for (name, wanted, expected) in cases {
            assert_eq!(
                contains_ignoring_case(name, wanted),
                expected,
                "{name} ~ {wanted}"
            );
        }
    }

    #[test]
    fn detail_user_names_override_user_name() {
        let query = Query::parse("user_name=a&user_names=b&user_names=c");
        let detail = DesktopFilter::parse(&query, ListKind::Detail).expect("valid");
        assert_eq!(detail.user_names, ["b", "c"]);
        let simple = DesktopFilter::parse(&query, ListKind::Simple).expect("valid");
        assert_eq!(simple.user_names, ["a"]);
    }
}
