//! Plan order: by name, case-insensitively, then by ID. Every list of a plan is in it, and the
//! human view merges the kept desktops and the deletions by it.

use std::cmp::Ordering;

use super::{Entry, EntryRef};

/// Plan order. Compared in place, without a lower-cased copy of every name.
pub fn plan_order(a: EntryRef, b: EntryRef) -> Ordering {
    names_order(a.computer_name, b.computer_name).then_with(|| a.desktop_id.cmp(b.desktop_id))
}

/// [`plan_order`] of two entries.
pub fn entry_order(a: &Entry, b: &Entry) -> Ordering {
    plan_order(a.as_ref(), b.as_ref())
}

/// Names compared lower-cased, char by char. Byte by byte while the names are ASCII: a sort
/// of 100,000 desktops compares names millions of times.
fn names_order(a: &str, b: &str) -> Ordering {
    let lower = |name: &str| {
        name.chars()
            .flat_map(char::to_lowercase)
            .collect::<Vec<_>>()
    };
    for (at, (x, y)) in a.bytes().zip(b.bytes()).enumerate() {
        if x == y {
            continue;
        }
        if !(x.is_ascii() && y.is_ascii()) {
            // The names agree up to here, lower-cased, and their chars start at the same
            // places (only ASCII bytes differed): compare from the char `at` falls in.
            let start = (0..=at).rev().find(|&i| a.is_char_boundary(i)).unwrap_or(0);
            return lower(&a[start..]).cmp(&lower(&b[start..]));
        }
        let (x, y) = (x.to_ascii_lowercase(), y.to_ascii_lowercase());
        if x != y {
            return x.cmp(&y);
        }
    }
    // One name is the other's start, lower-cased: the shorter comes first.
    a.len().cmp(&b.len())
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::names_order;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// The fast name order is the lower-cased char order, for any names.
        #[test]
        fn names_order_is_lower_cased_char_order(
            a in "[a-cA-C\u{e9}\u{c9}\u{130}\u{212a}kK\u{3a3}\u{3c3}-]{0,6}",
            b in "[a-cA-C\u{e9}\u{c9}\u{130}\u{212a}kK\u{3a3}\u{3c3}-]{0,6}",
        ) {
            let lower = |name: &str| name.chars().flat_map(char::to_lowercase).collect::<Vec<_>>();
            prop_assert_eq!(names_order(&a, &b), lower(&a).cmp(&lower(&b)));
        }
    }
}
