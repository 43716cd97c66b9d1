//! Text from outside deskprune (API answers, files) made safe to print, the one edit distance
//! the "did you mean" checks share, and the one rule by which words are the same whatever
//! their letter case ([`fold`], [`same_word`]).
//!
//! A terminal obeys the control characters in what it prints: an ESC sequence or a carriage
//! return in a desktop name can erase the `-` marker of the line a reviewer approves, and a
//! bidi override can show one ID while another is sent. Everything that came from outside goes
//! through [`printable`] before it reaches a view or an error message.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` would change how the text around it is shown rather than show itself: C0 and
/// C1 controls, DEL, and the bidi marks, embeddings, overrides and isolates.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// `text` with every character that a terminal would obey rather than show written as `\u{…}`;
/// borrowed when there is none (the usual case).
pub fn printable(text: &str) -> Cow<'_, str> {
    // Printable ASCII, nearly every field, is told a byte at a time (a plan of 100,000
    // desktops asks this of each field of each line it shows).
    if text.bytes().all(|byte| matches!(byte, b' '..=b'~')) || !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) {
            let _ = write!(escaped, "\\u{{{:x}}}", u32::from(c));
        } else {
            escaped.push(c);
        }
    }
    Cow::Owned(escaped)
}

/// `text` trimmed and case-folded: upper-cased, then lower-cased, so that the spellings Unicode
/// treats as one letter compare equal (`ß` and `SS`, the Kelvin sign and `k`, `ſ` and `s`).
///
/// The rule for every match that keeps a desktop (a declared name, the protection tag, a
/// `deleting` status, a pending ID): spelled either way, it is the same word, and a desktop
/// that could be meant is kept. A match that would widen what may be deleted (the scope's
/// `name_prefix`) deliberately does not use it.
pub fn fold(text: &str) -> Cow<'_, str> {
    let text = text.trim();
    if text.is_ascii() {
        if text.bytes().any(|byte| byte.is_ascii_uppercase()) {
            Cow::Owned(text.to_ascii_lowercase())
        } else {
            Cow::Borrowed(text)
        }
    } else {
        Cow::Owned(text.to_uppercase().to_lowercase())
    }
}

/// Whether `a` and `b` are the same word once trimmed and case-folded ([`fold`]). Without a
/// copy when both are ASCII: the planner compares every listed desktop's tags.
pub fn same_word(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        fold(a) == fold(b)
    }
}

/// Levenshtein distance in chars: insertions, deletions and substitutions each count one.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if ca == *cb {
                diagonal
            } else {
                1 + diagonal.min(above).min(row[j])
            };
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_escapes_what_a_terminal_would_obey() {
        assert!(matches!(printable("eng-0001 ñ 桌面"), Cow::Borrowed(_)));
        assert_eq!(printable("a\u{1b}[2Kb"), "a\\u{1b}[2Kb");
        assert_eq!(printable("x\r- y\n"), "x\\u{d}- y\\u{a}");
        assert_eq!(printable("\u{202e}evil"), "\\u{202e}evil");
        assert_eq!(printable("\u{7f}\u{9b}"), "\\u{7f}\\u{9b}");
        assert_eq!(printable("tab\there"), "tab\\u{9}here");
    }

    #[test]
    fn words_compare_trimmed_and_case_folded() {
        assert!(same_word("Deleting ", "deleting"));
        assert!(same_word(" deleted", "DELETED"));
        assert!(same_word("\tdeskprune:Protect\n", "deskprune:protect"));
        assert!(same_word("STRASSE", "straße"));
        assert!(same_word("des\u{212a}prune", "deskprune"));
        assert!(!same_word("deleting", "deleteFailed"));
        assert!(!same_word("dele ting", "deleting"));
        assert_eq!(fold(" ÄB "), "äb");
        assert!(matches!(fold(" ab "), Cow::Borrowed("ab")));
    }

    #[test]
    fn edit_distance_counts_single_char_edits() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("06b99da4", "06b99da5"), 1);
        assert_eq!(edit_distance("06b99da4", "06b9da4"), 1);
        assert_eq!(edit_distance("région", "region"), 1);
    }
}
