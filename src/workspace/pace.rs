//! How fast calls go: the adaptive client-side rate (`adaptive`: found, not configured; the
//! config's `requests_per_second` only caps it), the backoff between attempts, and how long a
//! `Retry-After` may make one wait.

mod adaptive;

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::wire::StatedLimit;
use adaptive::{Adaptive, THROTTLED_FOR};

const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A `Retry-After` longer than this is clamped: a scheduled run must end.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// The gateway's code for throttling, logged when a 429 carries no code of its own.
const THROTTLED: &str = "429";

/// The pace of every call one client sends, reads and writes alike: the adaptive
/// controller (`adaptive`) behind a lock, on tokio's clock (so paused-clock tests move it).
#[derive(Debug)]
pub(super) struct Pace {
    controller: Mutex<Adaptive>,
}

impl Pace {
    /// `ceiling`: the most calls a second, whatever the gateway allows (`None`: no ceiling).
    pub(super) fn new(ceiling: Option<f64>) -> Pace {
        Pace {
            controller: Mutex::new(Adaptive::new(ceiling, now())),
        }
    }

    /// Waits until a call may leave (never while the controller backs off after a throttle),
    /// and returns when it left, to be given back with its answer.
    pub(super) async fn wait(&self) -> std::time::Instant {
        loop {
            let next = {
                let mut controller = self.lock();
                let now = now();
                match controller.try_acquire(now) {
                    Ok(()) => return now,
                    Err(at) => at,
                }
            };
            tokio::time::sleep_until(Instant::from_std(next)).await;
        }
    }

    /// An answer to a call that left at `sent_at`: a 429 cuts the rate (and holds every call
    /// for its `Retry-After`, and under the limit it states), anything else lets it grow.
    pub(super) fn answered(&self, sent_at: std::time::Instant, throttled: Option<Throttled<'_>>) {
        let mut controller = self.lock();
        let now = now();
        let change = match throttled {
            Some(Throttled {
                code,
                retry_after,
                stated,
            }) => {
                let code = if code.is_empty() { THROTTLED } else { code };
                let change = controller.on_throttled(now, sent_at, code, retry_after, stated);
                *LAST_THROTTLE.lock().unwrap_or_else(PoisonError::into_inner) =
                    Some((now, controller.rate()));
                change
            }
            None => controller.on_success(now, sent_at),
        };
        if let Some(change) = change {
            tracing::info!("{change}");
        }
    }

    fn lock(&self) -> MutexGuard<'_, Adaptive> {
        self.controller
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// A throttled answer, as the rate needs it.
pub(super) struct Throttled<'a> {
    /// Its error code, cleaned for the log (empty: none).
    pub code: &'a str,
    pub retry_after: Option<Duration>,
    /// The limit its message states.
    pub stated: Option<StatedLimit>,
}

/// The last throttle any client of this process met, and the rate it cut to: the progress
/// line reads it (one process, one user: a global is the simplest line to it).
static LAST_THROTTLE: Mutex<Option<(std::time::Instant, f64)>> = Mutex::new(None);

/// The rate deskprune was cut to, when the API throttled it in the last few seconds.
pub fn throttled_rate() -> Option<f64> {
    let last = *LAST_THROTTLE.lock().unwrap_or_else(PoisonError::into_inner);
    let (at, rate) = last?;
    (now().saturating_duration_since(at) < THROTTLED_FOR).then_some(rate)
}

fn now() -> std::time::Instant {
    Instant::now().into_std()
}

/// Delta-seconds or an HTTP date, clamped; a date in the past means "now".
pub(super) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    let delay = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            let at = jiff::fmt::rfc2822::DateTimeParser::new()
                .parse_timestamp(value)
                .ok()?;
            Duration::try_from(at.duration_since(jiff::Timestamp::now())).unwrap_or_default()
        }
    };
    Some(delay.min(MAX_RETRY_AFTER))
}

/// Exponential backoff with full jitter: uniformly within [0, min(cap, first·2ⁿ)].
pub(super) fn backoff(attempt: u32) -> Duration {
    let ceiling = FIRST_BACKOFF
        .saturating_mul(2u32.saturating_pow(attempt))
        .min(MAX_BACKOFF);
    ceiling.mul_f64(fastrand::f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttled(retry_after: Option<Duration>) -> Throttled<'static> {
        Throttled {
            code: "APIGW.0308",
            retry_after,
            stated: None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn no_call_leaves_while_the_pace_backs_off_after_a_throttle() {
        let pace = Pace::new(None);
        let sent_at = pace.wait().await;
        let throttled_at = Instant::now();
        pace.answered(sent_at, Some(throttled(Some(Duration::from_secs(2)))));
        assert!(throttled_rate().is_some());
        // Any call, a batch-delete included (every call waits here), leaves only once the
        // `Retry-After` has passed.
        pace.wait().await;
        assert!(Instant::now() - throttled_at >= Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_flood_of_throttles_holds_calls_no_longer_than_the_clamp_after_the_last() {
        let pace = Pace::new(None);
        let retry_after = parse_retry_after("Thu, 31 Dec 2099 23:59:59 GMT");
        for _ in 0..200 {
            let sent_at = pace.wait().await;
            pace.answered(sent_at, Some(throttled(retry_after)));
        }
        let last = Instant::now();
        pace.wait().await;
        // The clamp, then at most one token at the slowest rate.
        assert!(Instant::now() - last <= MAX_RETRY_AFTER + Duration::from_secs(2));
    }

    #[test]
    fn backoff_grows_and_stays_capped() {
        for attempt in 0..40 {
            let delay = backoff(attempt);
            assert!(delay <= MAX_BACKOFF, "attempt {attempt}: {delay:?}");
            assert!(delay <= FIRST_BACKOFF * 2u32.saturating_pow(attempt));
        }
    }

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after("3600"), Some(MAX_RETRY_AFTER));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
        // A hostile answer cannot hold a run for longer than the clamp: a date far ahead, a
        // number too large for any clock (then the backoff applies, itself capped).
        assert_eq!(
            parse_retry_after("Thu, 31 Dec 2099 23:59:59 GMT"),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(
            parse_retry_after(&u64::MAX.to_string()),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(parse_retry_after("99999999999999999999999"), None);
        assert_eq!(parse_retry_after("-5"), None);
    }
}
