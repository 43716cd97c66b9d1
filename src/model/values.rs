//! How the values deskprune acts on are read from the API: words compared the way the service
//! may spell them (surrounding whitespace, any letter case), and the desktop IDs it accepts.
//!
//! Every comparison here leans to safety: a tag key that could be the protection tag is taken
//! as it, a status that could be `deleting` is taken as it, and an ID that could not be sent
//! as it was listed makes the whole read doubtful.

use std::borrow::Cow;

/// `text` trimmed and case-folded: upper-cased, then lower-cased, so that the spellings Unicode
/// treats as one letter compare equal (`ß` and `SS`, the Kelvin sign and `k`, `ſ` and `s`).
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
