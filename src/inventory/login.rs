//! Who is logged in to the desktops a plan would delete, as the detail list says: for every
//! ID asked about, in use, not in use, or unknown. Only "not in use" lets a desktop be deleted,
//! so every answer that does not say so for certain (a desktop left out, a `login_status`
//! missing, empty or not one the service documents, an ID given twice, a count that disagrees,
//! a desktop that was not asked about) leaves it unknown, and the plan holds it back.

use std::collections::HashSet;

use crate::model::Login;
use crate::text::same_word;
use crate::workspace::wire::{ListDesktopsDetailResponse, LoginState};

/// The `login_status` values the service documents; any other is not understood.
const LOGIN_STATUSES: [&str; 4] = ["UNREGISTER", "REGISTERED", "CONNECTED", "DISCONNECTED"];

/// The login state of each of `asked`, in that order, from the detail list's `answer` to a
/// call that asked for them all; `busy` are the statuses that mean "in use". With the states,
/// why the whole answer was doubted, if it was.
pub fn classify(
    asked: &[String],
    answer: ListDesktopsDetailResponse<LoginState>,
    busy: &[String],
) -> (Vec<(String, Login)>, Option<String>) {
    let unknown = |why: String| {
        let states = asked
            .iter()
            .map(|id| (id.clone(), Login::Unknown))
            .collect();
        (states, Some(why))
    };
    let wanted: HashSet<&str> = asked.iter().map(String::as_str).collect();
    if let Some(stranger) = answer
        .desktops
        .iter()
        .find(|desktop| !wanted.contains(desktop.desktop_id.as_str()))
    {
        return unknown(format!(
            "it returned desktop `{}`, which was not asked about",
            crate::text::printable(&stranger.desktop_id)
        ));
    }
    let returned = answer.desktops.len();
    if answer.total_count != returned as u64 || returned > wanted.len() {
        return unknown(format!(
            "its `total_count` ({}) disagrees with the {returned} desktops returned for {} asked about",
            answer.total_count,
            wanted.len()
        ));
    }
    let mut seen = HashSet::with_capacity(returned);
    let mut twice = HashSet::new();
    for desktop in &answer.desktops {
        if !seen.insert(desktop.desktop_id.as_str()) {
            twice.insert(desktop.desktop_id.as_str());
        }
    }
    let states = asked
        .iter()
        .map(|id| {
            let login = match answer.desktops.iter().find(|d| d.desktop_id == *id) {
                _ if twice.contains(id.as_str()) => Login::Unknown,
                None => Login::Unknown,
                Some(desktop) => state(desktop.login_status.as_deref(), busy),
            };
            (id.clone(), login)
        })
        .collect();
    (states, None)
}

/// What one `login_status` says, compared trimmed and case-folded.
fn state(status: Option<&str>, busy: &[String]) -> Login {
    let Some(status) = status else {
        return Login::Unknown;
    };
    if !LOGIN_STATUSES.iter().any(|known| same_word(known, status)) {
        return Login::Unknown;
    }
    if busy.iter().any(|busy| same_word(busy, status)) {
        Login::InUse
    } else {
        Login::NotInUse
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asked(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|id| id.to_string()).collect()
    }

    fn answer(
        total_count: u64,
        desktops: &[(&str, Option<&str>)],
    ) -> ListDesktopsDetailResponse<LoginState> {
        ListDesktopsDetailResponse {
            total_count,
            desktops: desktops
                .iter()
                .map(|(id, status)| LoginState {
                    desktop_id: id.to_string(),
                    login_status: status.map(str::to_string),
                })
                .collect(),
        }
    }

    fn states(
        asked_ids: &[&str],
        answer: ListDesktopsDetailResponse<LoginState>,
    ) -> (Vec<Login>, bool) {
        let busy = ["CONNECTED".to_string()];
        let (states, doubt) = classify(&asked(asked_ids), answer, &busy);
        let ids: Vec<&str> = states.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, asked_ids, "one state for every ID asked, in order");
        (
            states.into_iter().map(|(_, login)| login).collect(),
            doubt.is_some(),
        )
    }

    use Login::{InUse, NotInUse, Unknown};

    /// Issue 12: a detail answer that left a desktop out (or its `login_status`) let a
    /// logged-in desktop be deleted.
    #[test]
    fn every_desktop_asked_about_gets_a_state_and_only_a_clear_answer_is_known() {
        let answered = answer(
            5,
            &[
                ("a", Some("CONNECTED")),
                ("b", Some(" connected ")),
                ("c", Some("REGISTERED")),
                ("d", None),
                ("e", Some("")),
            ],
        );
        assert_eq!(
            states(&["a", "b", "c", "d", "e", "f"], answered),
            (
                vec![InUse, InUse, NotInUse, Unknown, Unknown, Unknown],
                false
            )
        );
        // A status the service does not document is not understood.
        assert_eq!(
            states(
                &["a", "b"],
                answer(2, &[("a", Some("IDLE")), ("b", Some("Disconnected"))])
            ),
            (vec![Unknown, NotInUse], false)
        );
        // An ID given twice: that desktop is unknown.
        let twice = answer(
            3,
            &[
                ("a", Some("REGISTERED")),
                ("a", Some("CONNECTED")),
                ("b", Some("REGISTERED")),
            ],
        );
        assert_eq!(
            states(&["a", "b", "c"], twice),
            (vec![Unknown, NotInUse, Unknown], false)
        );
    }

    #[test]
    fn a_doubtful_answer_leaves_every_desktop_unknown() {
        // A desktop that was not asked about.
        let stranger = answer(2, &[("a", Some("REGISTERED")), ("z", Some("REGISTERED"))]);
        assert_eq!(
            states(&["a", "b"], stranger),
            (vec![Unknown, Unknown], true)
        );
        // `total_count` disagreeing with the desktops returned, either way.
        let more = answer(3, &[("a", Some("REGISTERED")), ("b", Some("REGISTERED"))]);
        assert_eq!(states(&["a", "b", "c"], more), (vec![Unknown; 3], true));
        let fewer = answer(1, &[("a", Some("REGISTERED")), ("b", Some("REGISTERED"))]);
        assert_eq!(states(&["a", "b"], fewer), (vec![Unknown; 2], true));
        // The same two desktops as three.
        let padded = answer(
            3,
            &[
                ("a", Some("REGISTERED")),
                ("b", Some("REGISTERED")),
                ("b", Some("REGISTERED")),
            ],
        );
        assert_eq!(states(&["a", "b"], padded), (vec![Unknown; 2], true));
        // An empty answer is fine: the desktops are gone, and unknown.
        assert_eq!(states(&["a"], answer(0, &[])), (vec![Unknown], false));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// Whatever the answer, a desktop is known only from a clear one: asked about, given
        /// once, with a documented status, in an answer that holds nothing else and counts
        /// what it holds.
        #[test]
        fn a_state_is_known_only_from_a_clear_answer(
            asked_count in 0usize..6,
            returned in proptest::collection::vec(
                (
                    0usize..8,
                    proptest::option::of(proptest::sample::select(vec![
                        "CONNECTED", " connected", "REGISTERED", "Disconnected ", "UNREGISTER",
                        "", " ", "IDLE", "CONNECTED\u{200b}",
                    ])),
                ),
                0..8,
            ),
            lie in -2i64..=2,
        ) {
            let asked: Vec<String> = (0..asked_count).map(|n| format!("d{n}")).collect();
            let given: Vec<(String, Option<&str>)> =
                returned.iter().map(|(n, status)| (format!("d{n}"), *status)).collect();
            let total_count = (given.len() as i64 + lie).max(0) as u64;
            let answer = ListDesktopsDetailResponse {
                total_count,
                desktops: given
                    .iter()
                    .map(|(id, status)| LoginState {
                        desktop_id: id.clone(),
                        login_status: status.map(str::to_string),
                    })
                    .collect(),
            };
            let busy = ["CONNECTED".to_string(), "DISCONNECTED".to_string()];
            let (states, _) = classify(&asked, answer, &busy);
            let ids: Vec<&String> = states.iter().map(|(id, _)| id).collect();
            proptest::prop_assert_eq!(ids, asked.iter().collect::<Vec<_>>());
            for (id, login) in states {
                if login == Login::Unknown {
                    continue;
                }
                proptest::prop_assert!(given.iter().all(|(given, _)| asked.contains(given)));
                proptest::prop_assert_eq!(total_count, given.len() as u64);
                let mine: Vec<_> = given.iter().filter(|(given, _)| *given == id).collect();
                proptest::prop_assert_eq!(mine.len(), 1);
                let status = mine[0].1.expect("a status").trim().to_uppercase();
                proptest::prop_assert!(LOGIN_STATUSES.contains(&status.as_str()));
                let in_use = status == "CONNECTED" || status == "DISCONNECTED";
                proptest::prop_assert_eq!(login == Login::InUse, in_use);
            }
        }
    }
}
