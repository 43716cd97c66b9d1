//! The adaptive rate: a client-side token bucket whose rate is found, not configured. It
//! starts modest and grows quickly while answers come back unthrottled (slow start, as TCP
//! does), is cut multiplicatively when the gateway throttles (`429`, `APIGW.0308`), then
//! probes upward again along a cubic curve (CUBIC, as the AWS SDKs' adaptive retry mode
//! does). A throttled answer that states the gateway's limit (`limit:20,time:1 second`) caps
//! the rate just under it for a while, so the curve does not probe into a limit already
//! known; the first such answer sets the rate there at once. A pure state machine: the time
//! is always passed in, so its curve is tested without a clock.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::workspace::wire::StatedLimit;

/// The rate before any answer: modest, as a gateway's limit is not known yet.
pub(super) const START_RATE: f64 = 10.0;
/// The slowest the controller ever cuts to: one call every two seconds (the AWS SDKs' floor);
/// a lower `requests_per_second` ceiling still holds.
pub(super) const MIN_RATE: f64 = 0.5;
/// The fastest, when no ceiling is configured: far above what `max_concurrency` allows, so
/// only a number, never an infinity, goes into the arithmetic.
pub(super) const MAX_RATE: f64 = 100_000.0;
/// A cut keeps this share of the rate that was throttled (CUBIC's β).
pub(super) const BETA: f64 = 0.7;
/// How steeply the rate probes upward after a cut (CUBIC's C, in calls/s per s³).
pub(super) const SCALE: f64 = 0.4;
/// The bucket holds this many seconds of the rate: a round of answers arriving at once lets
/// the next round leave at once.
const BURST_SECONDS: f64 = 1.0;
/// Sends and answers are counted over this window to measure the rate used and accepted.
const MEASURE_WINDOW: Duration = Duration::from_secs(1);
/// After a cut, the rate never grows beyond this multiple of the rate actually used.
const DEMAND_HEADROOM: f64 = 2.0;
/// A rise is logged once the rate has grown by this factor since the last logged change.
const LOGGED_RISE: f64 = 1.5;
/// A limit the gateway states is a ceiling with this share of it kept free: calls paced at
/// exactly the limit meet the gateway's bucket empty after any small delay.
pub(super) const STATED_SHARE: f64 = 0.9;
/// How long a stated limit holds as the ceiling after the gateway last stated it. Then the
/// rate probes past it again, gently (the curve restarts from it): a limit can be raised.
pub(super) const STATED_FOR: Duration = Duration::from_secs(10);
/// The progress line says "throttled" for this long after the last cut.
pub(super) const THROTTLED_FOR: Duration = Duration::from_secs(5);

/// Why the rate changed, for the `-v` log.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Reason {
    /// The answer's error code (or `429` when it carried none), and the limit its message
    /// stated.
    Throttled {
        code: String,
        stated: Option<StatedLimit>,
    },
    Probing,
}

/// A rate change worth a log line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Change {
    pub from: f64,
    pub to: f64,
    pub reason: Reason,
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "rate: {:.1} → {:.1} calls/s", self.from, self.to)?;
        match &self.reason {
            Reason::Throttled { code, stated } => {
                write!(f, " (throttled: {code})")?;
                match stated {
                    Some(limit) => write!(f, "; the gateway's limit: {limit}"),
                    None => Ok(()),
                }
            }
            Reason::Probing => write!(f, " (no throttling)"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    /// No throttling seen yet: each answer adds one call in flight's worth of rate.
    SlowStart,
    /// Since the cut at `since` from `w_max`: rate(t) = SCALE·(t − k)³ + w_max.
    Cubic { w_max: f64, k: f64, since: Instant },
}

/// A ceiling the gateway stated, and until when it holds.
#[derive(Debug, Clone, Copy)]
struct Stated {
    ceiling: f64,
    until: Instant,
}

#[derive(Debug)]
pub(crate) struct Adaptive {
    ceiling: f64,
    rate: f64,
    phase: Phase,
    tokens: f64,
    refilled: Instant,
    /// No call leaves before this (a `Retry-After`, or the wait for the first token after a
    /// cut).
    paused_until: Option<Instant>,
    last_cut: Option<Instant>,
    /// When the calls of the last `MEASURE_WINDOW` left.
    sent: VecDeque<Instant>,
    /// When the unthrottled answers of the last `MEASURE_WINDOW` came.
    accepted: VecDeque<Instant>,
    /// When a call last had to wait for a token: the rate, not the work, held it back.
    limited_at: Option<Instant>,
    stated: Option<Stated>,
    logged_rate: f64,
}

impl Adaptive {
    /// A controller that never goes above `ceiling` calls a second (`None`: no ceiling).
    pub(crate) fn new(ceiling: Option<f64>, now: Instant) -> Adaptive {
        let ceiling = match ceiling {
            Some(ceiling) if ceiling.is_finite() && ceiling > 0.0 => ceiling.min(MAX_RATE),
            Some(_) => MIN_RATE,
            None => MAX_RATE,
        };
        let rate = START_RATE.min(ceiling);
        Adaptive {
            ceiling,
            rate,
            phase: Phase::SlowStart,
            tokens: capacity(rate),
            refilled: now,
            paused_until: None,
            last_cut: None,
            sent: VecDeque::new(),
            accepted: VecDeque::new(),
            limited_at: None,
            stated: None,
            logged_rate: rate,
        }
    }

    /// The calls a second allowed now.
    pub(crate) fn rate(&self) -> f64 {
        self.rate
    }

    /// Takes a token for a call leaving now, or says when to ask again (nothing is taken
    /// then: the caller asks again, and sees any cut made meanwhile).
    pub(crate) fn try_acquire(&mut self, now: Instant) -> Result<(), Instant> {
        if let Some(until) = self.paused_until {
            if now < until {
                return Err(until);
            }
            self.paused_until = None;
        }
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            self.record_send(now);
            return Ok(());
        }
        self.limited_at = Some(now);
        let wait = (1.0 - self.tokens) / self.rate;
        Err(now + Duration::from_secs_f64(wait.min(3600.0)))
    }

    /// An answer that was not throttled, to a call sent at `sent_at`.
    pub(crate) fn on_success(&mut self, now: Instant, sent_at: Instant) -> Option<Change> {
        self.refill(now);
        self.accepted.push_back(now);
        forget_before(&mut self.accepted, now);
        self.expire_stated(now);
        let from = self.rate;
        let to = match self.phase {
            // Only a rate that holds calls back is raised: calls that never wait for a
            // token say nothing about a faster one.
            Phase::SlowStart if !self.limited_recently(now) => return None,
            Phase::SlowStart => {
                // One more call in flight per answer: the rate doubles every round trip.
                let round_trip = now.saturating_duration_since(sent_at).as_secs_f64();
                from + (1.0 / round_trip.max(0.001)).min(from)
            }
            Phase::Cubic { w_max, k, since } => {
                let t = now.saturating_duration_since(since).as_secs_f64();
                let curve = SCALE * (t - k).powi(3) + w_max;
                // Never far past what is used, so a slow phase (following jobs) does not
                // bank a rate that a later burst would spend on the gateway.
                curve.min((DEMAND_HEADROOM * self.measured(now)).max(from))
            }
        }
        .max(MIN_RATE)
        .min(self.ceiling_now());
        self.set_rate(to);
        if to >= self.logged_rate * LOGGED_RISE {
            let from = std::mem::replace(&mut self.logged_rate, to);
            return Some(Change {
                from,
                to,
                reason: Reason::Probing,
            });
        }
        None
    }

    /// A throttled answer (`code`: its error code; `stated`: the limit its message states)
    /// to a call sent at `sent_at`. Calls sent before the last cut were sent
    /// at the old rate: their throttling is no news, so the rate is cut once per round, not
    /// once per call in flight. Every throttled answer pauses sending for its `Retry-After`,
    /// and renews the stated limit's hold.
    pub(crate) fn on_throttled(
        &mut self,
        now: Instant,
        sent_at: Instant,
        code: &str,
        retry_after: Option<Duration>,
        stated: Option<StatedLimit>,
    ) -> Option<Change> {
        self.refill(now);
        let limit = stated.map(|stated| stated.per_second());
        if let Some(limit) = limit.filter(|limit| limit.is_finite() && *limit > 0.0) {
            // Below the floor, the floor: a run must end, and the calls' own retry limit
            // ends one that a gateway throttles at any pace.
            self.stated = Some(Stated {
                ceiling: (limit * STATED_SHARE).max(MIN_RATE),
                until: now + STATED_FOR,
            });
        }
        // Backing off: nothing leaves before the next token at the new rate, or the
        // gateway's `Retry-After` if longer.
        let mut pause = retry_after.unwrap_or_default();
        let stale = self.last_cut.is_some_and(|cut| sent_at < cut);
        let change = if stale {
            None
        } else {
            let from = self.rate;
            let (w_max, to) = match (self.phase, self.stated) {
                // The first throttle, with the limit stated: slow start found only that the
                // gateway's bucket is empty now (a burst emptied it, or others had), the
                // gateway says what it refills at. The rate goes straight to that.
                (Phase::SlowStart, Some(_)) => {
                    let ceiling = self.ceiling_now();
                    (ceiling, ceiling)
                }
                _ => {
                    // The gateway's limit is near what it accepted over the last window: the
                    // rate climbs back to that, not to what overshot it.
                    forget_before(&mut self.accepted, now);
                    let accepted = self.accepted.len() as f64 / MEASURE_WINDOW.as_secs_f64();
                    let used = self.measured(now);
                    // A window of few calls (the first ones) says little: below the starting
                    // rate, only repeated cuts take the rate down, never one thin measurement.
                    let estimate = if accepted > 0.0 { accepted } else { used };
                    let w_max = from
                        .min(estimate.max(START_RATE))
                        .min(self.ceiling_now())
                        .max(MIN_RATE);
                    (w_max, (w_max * BETA).max(MIN_RATE).min(self.ceiling))
                }
            };
            self.phase = Phase::Cubic {
                w_max,
                // When the curve is back at `w_max`.
                k: ((w_max - to).max(0.0) / SCALE).cbrt(),
                since: now,
            };
            self.last_cut = Some(now);
            self.set_rate(to);
            self.tokens = 0.0;
            self.logged_rate = to;
            Some(Change {
                from,
                to,
                reason: Reason::Throttled {
                    code: code.to_string(),
                    stated,
                },
            })
        };
        if self.tokens < 1.0 {
            pause = pause.max(Duration::from_secs_f64((1.0 - self.tokens) / self.rate));
        }
        let until = now + pause;
        self.paused_until = Some(self.paused_until.map_or(until, |at| at.max(until)));
        change
    }

    /// The ceiling now: the configured one, or a limit the gateway stated while it holds.
    fn ceiling_now(&self) -> f64 {
        self.stated
            .map_or(self.ceiling, |stated| stated.ceiling.min(self.ceiling))
    }

    /// Ends a stated limit's hold once it has passed. The curve went on meanwhile, far past
    /// the limit: the probing restarts from the rate held, so it passes the limit gently.
    fn expire_stated(&mut self, now: Instant) {
        if self.stated.is_some_and(|stated| now >= stated.until) {
            self.stated = None;
            self.phase = Phase::Cubic {
                w_max: self.rate,
                k: 0.0,
                since: now,
            };
        }
    }

    fn limited_recently(&self, now: Instant) -> bool {
        self.limited_at
            .is_some_and(|at| now.saturating_duration_since(at) <= MEASURE_WINDOW)
    }

    fn set_rate(&mut self, rate: f64) {
        self.rate = rate;
        self.tokens = self.tokens.min(capacity(rate));
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(capacity(self.rate));
        self.refilled = self.refilled.max(now);
    }

    fn record_send(&mut self, now: Instant) {
        self.sent.push_back(now);
        forget_before(&mut self.sent, now);
    }

    /// Calls a second actually sent over the last `MEASURE_WINDOW`.
    fn measured(&mut self, now: Instant) -> f64 {
        forget_before(&mut self.sent, now);
        self.sent.len() as f64 / MEASURE_WINDOW.as_secs_f64()
    }
}

/// Drops the times older than `MEASURE_WINDOW` before `now`.
fn forget_before(times: &mut VecDeque<Instant>, now: Instant) {
    while times
        .front()
        .is_some_and(|&at| now.saturating_duration_since(at) > MEASURE_WINDOW)
    {
        times.pop_front();
    }
}

/// How many tokens a bucket at `rate` holds: at least one call.
fn capacity(rate: f64) -> f64 {
    (rate * BURST_SECONDS).max(1.0)
}

#[cfg(test)]
#[path = "adaptive_tests.rs"]
mod tests;
