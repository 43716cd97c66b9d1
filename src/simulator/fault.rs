//! Fault injection: rules that pick calls (by operation and call number, or a seeded share of
//! them) and say what goes wrong with each — an error status, latency, a lost connection
//! before or after the call is carried out, a mangled body, an outage, or an inventory that
//! changes under a reader. The text form of a rule is in `fault_grammar`.

use std::sync::Mutex;
use std::time::Duration;

use super::route::Route;

/// Which calls a rule counts and may hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET desktops` (whole-inventory pages and reads by ID alike).
    List,
    /// `GET desktops/detail`.
    Detail,
    /// `POST desktops/batch-delete`.
    BatchDelete,
    /// `GET workspace-jobs/{job_id}`.
    ShowJob,
    /// `GET workspace-sub-jobs`.
    SubJobs,
    /// Every one of the five.
    Any,
}

impl Endpoint {
    pub(super) fn matches(self, route: &Route) -> bool {
        matches!(
            (self, route),
            (Endpoint::Any, _)
                | (Endpoint::List, Route::ListDesktops)
                | (Endpoint::Detail, Route::ListDesktopsDetail)
                | (Endpoint::BatchDelete, Route::BatchDelete)
                | (Endpoint::ShowJob, Route::ShowJob(_))
                | (Endpoint::SubJobs, Route::ListSubJobs)
        )
    }
}

/// Which of the calls a rule counts it hits. Calls are numbered from 1 in the order they
/// reach the simulator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Trigger {
    /// The Nth call only.
    Nth(u64),
    /// The Nth call and every later one.
    From(u64),
    /// Each call with this probability, drawn from `seed` and the call's number, so the same
    /// calls are hit on every run.
    Share { share: f64, seed: u64 },
}

impl Trigger {
    fn fires(self, call: u64) -> bool {
        match self {
            Trigger::Nth(n) => call == n,
            Trigger::From(n) => call >= n,
            Trigger::Share { share, seed } => draw(seed, call) < share,
        }
    }
}

/// A uniform number in [0, 1) that depends only on `seed` and `call`.
fn draw(seed: u64, call: u64) -> f64 {
    let mixed = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(31)
        ^ call.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    fastrand::Rng::with_seed(mixed).f64()
}

/// Whether a lost connection happens before or after the call is carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropPoint {
    /// Nothing is done; the connection is closed without an answer.
    Before,
    /// The call is carried out (a batch-delete creates its job), then the connection is
    /// closed without an answer: the lost answer.
    After,
}

/// What happens to a call a rule hits.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultAction {
    /// Answer this status without carrying the call out: 429 as the gateway's `APIGW.0308`
    /// (with `Retry-After` when given), other codes as a service error, or as plain text.
    Status {
        status: u16,
        retry_after: Option<u64>,
        plain_text: bool,
    },
    /// Wait this long more before answering.
    Latency(Duration),
    /// Close the connection without an answer.
    Drop(DropPoint),
    /// Carry the call out, then send only the first half of the answer and close.
    Truncate,
    /// Carry the call out, then answer 200 with a body that is not JSON.
    Malformed,
    /// Carry the call out, then answer 200 with the JSON padded by spaces to this many MiB.
    Oversize { mib: u64 },
    /// Answer normally, then close every other connection and refuse new ones for this long
    /// (connection refused: a client's next call provably never reaches the service).
    Refuse(Duration),
    /// After answering, add this many desktops (copies of the first, with new IDs and names)
    /// at the end of the inventory.
    Insert(usize),
    /// After answering, remove this many desktops from the start of the inventory.
    Remove(usize),
    /// Carry a batch-delete out, then answer with the job ID of the batch-delete carried out
    /// before it (its own, when it is the first): an answer naming a job the client already
    /// knows for other desktops.
    RepeatJobId,
}

impl FaultAction {
    /// Latency and inventory changes go with any answer; the others decide what the answer is.
    fn shapes_answer(&self) -> bool {
        !matches!(
            self,
            FaultAction::Latency(_) | FaultAction::Insert(_) | FaultAction::Remove(_)
        )
    }
}

/// One fault: which calls it hits, at most how often, and what it does to them.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    pub endpoint: Endpoint,
    pub trigger: Trigger,
    /// Hits at most this many calls (unbounded when `None`).
    pub times: Option<u64>,
    pub action: FaultAction,
}

/// How an answer is bent: what a call gets when one or more rules hit it.
#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct Injection {
    /// Added latency, summed over the rules that hit.
    pub(super) delay: Duration,
    /// The first answer-shaping action of the rules that hit, in rule order.
    pub(super) answer: Option<FaultAction>,
    /// Inventory changes to make once the call is answered.
    pub(super) changes: Vec<FaultAction>,
    /// How many rules hit.
    pub(super) hits: u64,
}

impl Injection {
    /// Whether the call is carried out at all.
    pub(super) fn carries_out(&self) -> bool {
        !matches!(
            self.answer,
            Some(FaultAction::Status { .. } | FaultAction::Drop(DropPoint::Before))
        )
    }
}

/// The rules of one simulator and how many calls each has counted and hit so far.
#[derive(Debug, Default)]
pub(super) struct Faults {
    rules: Vec<FaultRule>,
    /// (calls counted, calls hit) per rule.
    counts: Mutex<Vec<(u64, u64)>>,
}

impl Faults {
    pub(super) fn new(rules: Vec<FaultRule>) -> Faults {
        let counts = Mutex::new(vec![(0, 0); rules.len()]);
        Faults { rules, counts }
    }

    /// Counts the call in every rule of its endpoint and gathers what the hitting rules do.
    pub(super) fn inject(&self, route: &Route) -> Injection {
        let mut injection = Injection::default();
        if self.rules.is_empty() {
            return injection;
        }
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (rule, (calls, hits)) in self.rules.iter().zip(counts.iter_mut()) {
            if !rule.endpoint.matches(route) {
                continue;
            }
            *calls += 1;
            let spent = rule.times.is_some_and(|times| *hits >= times);
            if spent || !rule.trigger.fires(*calls) {
                continue;
            }
            *hits += 1;
            injection.hits += 1;
            match &rule.action {
                FaultAction::Latency(delay) => injection.delay += *delay,
                FaultAction::Insert(_) | FaultAction::Remove(_) => {
                    injection.changes.push(rule.action.clone());
                }
                action if action.shapes_answer() && injection.answer.is_none() => {
                    injection.answer = Some(action.clone());
                }
                _ => {}
            }
        }
        injection
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(endpoint: Endpoint, trigger: Trigger, action: FaultAction) -> FaultRule {
        FaultRule {
            endpoint,
            trigger,
            times: None,
            action,
        }
    }

    fn status(code: u16) -> FaultAction {
        FaultAction::Status {
            status: code,
            retry_after: None,
            plain_text: false,
        }
    }

    /// Which of the first `calls` calls of `route` the faults hit (1-based).
    fn hit(faults: &Faults, route: &Route, calls: u64) -> Vec<u64> {
        (1..=calls)
            .filter(|_| faults.inject(route).hits > 0)
            .collect()
    }

    #[test]
    fn nth_and_from_count_the_calls_of_their_endpoint_only() {
        let faults = Faults::new(vec![
            rule(Endpoint::List, Trigger::Nth(2), status(503)),
            rule(Endpoint::BatchDelete, Trigger::From(3), status(429)),
        ]);
        // Batch-deletes interleaved with the lists do not move the lists' count.
        let mut list_hits = Vec::new();
        let mut delete_hits = Vec::new();
        for call in 1..=5 {
            if faults.inject(&Route::ListDesktops).hits > 0 {
                list_hits.push(call);
            }
            if faults.inject(&Route::BatchDelete).hits > 0 {
                delete_hits.push(call);
            }
        }
        assert_eq!(list_hits, [2]);
        assert_eq!(delete_hits, [3, 4, 5]);
        assert_eq!(hit(&faults, &Route::ShowJob("j".into()), 5), [] as [u64; 0]);
    }

    #[test]
    fn any_counts_every_operation() {
        let faults = Faults::new(vec![rule(Endpoint::Any, Trigger::Nth(3), status(500))]);
        let routes = [
            Route::ListDesktops,
            Route::ListSubJobs,
            Route::ShowJob("j".into()),
            Route::BatchDelete,
        ];
        let hits: Vec<bool> = routes.iter().map(|r| faults.inject(r).hits > 0).collect();
        assert_eq!(hits, [false, false, true, false]);
    }

    #[test]
    fn times_caps_the_hits() {
        let mut capped = rule(Endpoint::List, Trigger::From(2), status(503));
        capped.times = Some(2);
        let faults = Faults::new(vec![capped]);
        assert_eq!(hit(&faults, &Route::ListDesktops, 6), [2, 3]);
    }

    #[test]
    fn shares_are_seeded_and_near_their_value() {
        let share = |seed| {
            Faults::new(vec![rule(
                Endpoint::Any,
                Trigger::Share { share: 0.1, seed },
                status(503),
            )])
        };
        let first = hit(&share(7), &Route::ListDesktops, 10_000);
        let again = hit(&share(7), &Route::ListDesktops, 10_000);
        let other = hit(&share(8), &Route::ListDesktops, 10_000);
        assert_eq!(first, again, "the same seed hits the same calls");
        assert_ne!(first, other, "another seed hits other calls");
        assert!((900..1100).contains(&first.len()), "{} hits", first.len());
        let never = Faults::new(vec![rule(
            Endpoint::Any,
            Trigger::Share {
                share: 0.0,
                seed: 1,
            },
            status(503),
        )]);
        assert!(hit(&never, &Route::ListDesktops, 1000).is_empty());
        let always = Faults::new(vec![rule(
            Endpoint::Any,
            Trigger::Share {
                share: 1.0,
                seed: 1,
            },
            status(503),
        )]);
        assert_eq!(hit(&always, &Route::ListDesktops, 1000).len(), 1000);
    }

    #[test]
    fn rules_combine_latency_first_answer_and_changes() {
        let faults = Faults::new(vec![
            rule(
                Endpoint::List,
                Trigger::From(1),
                FaultAction::Latency(Duration::from_millis(5)),
            ),
            rule(Endpoint::Any, Trigger::From(1), FaultAction::Insert(2)),
            rule(
                Endpoint::List,
                Trigger::From(1),
                FaultAction::Drop(DropPoint::After),
            ),
            rule(Endpoint::List, Trigger::From(1), status(503)),
            rule(
                Endpoint::List,
                Trigger::From(1),
                FaultAction::Latency(Duration::from_millis(7)),
            ),
        ]);
        let injection = faults.inject(&Route::ListDesktops);
        assert_eq!(injection.hits, 5);
        assert_eq!(injection.delay, Duration::from_millis(12));
        assert_eq!(
            injection.answer,
            Some(FaultAction::Drop(DropPoint::After)),
            "the first answer-shaping rule wins"
        );
        assert_eq!(injection.changes, [FaultAction::Insert(2)]);
        assert!(injection.carries_out());
    }

    #[test]
    fn only_refusals_and_early_drops_skip_the_call() {
        let carried = |action: Option<FaultAction>| {
            Injection {
                answer: action,
                ..Injection::default()
            }
            .carries_out()
        };
        assert!(carried(None));
        assert!(!carried(Some(status(429))));
        assert!(!carried(Some(FaultAction::Drop(DropPoint::Before))));
        for action in [
            FaultAction::Drop(DropPoint::After),
            FaultAction::Truncate,
            FaultAction::Malformed,
            FaultAction::Oversize { mib: 80 },
            FaultAction::Refuse(Duration::from_millis(1)),
        ] {
            assert!(carried(Some(action.clone())), "{action:?}");
        }
    }
}
