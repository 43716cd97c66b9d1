//! How fast calls go: the client-side rate limit, the backoff between attempts, and how long
//! a `Retry-After` may make one wait.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A `Retry-After` longer than this is clamped: a scheduled run must end.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// The most calls that leave at once (the config allows 1,000 a second).
const MAX_BURST: f64 = 1000.0;
/// The longest wait between two calls the rate limit makes: one call an hour.
const MAX_WINDOW: Duration = Duration::from_secs(3600);

/// Calls at most `per_second` a second: at most `burst` (the whole part of `per_second`, at
/// least 1) in any window of `burst / per_second` seconds, so for 10 a second, at most 10 in
/// any one second. Calls need not be spread evenly: when a round of answers comes in at once,
/// the next round leaves at once, unless the window is full.
#[derive(Debug)]
pub(super) struct RateLimiter {
    burst: usize,
    window: Duration,
    /// When each of the last `burst` calls left (or will leave), oldest first.
    slots: Mutex<VecDeque<Instant>>,
}

impl RateLimiter {
    pub(super) fn new(per_second: f64) -> RateLimiter {
        // A NaN is taken as 1 a second; `clamp` would keep it.
        let per_second = if per_second.is_nan() { 1.0 } else { per_second };
        let burst = per_second.floor().clamp(1.0, MAX_BURST);
        RateLimiter {
            burst: burst as usize,
            // Checked: a rate too small to be a duration (or not a number) is one call per
            // `MAX_WINDOW`, never a panic nor an instant past the end of time.
            window: Duration::try_from_secs_f64(burst / per_second)
                .unwrap_or(MAX_WINDOW)
                .min(MAX_WINDOW),
            slots: Mutex::new(VecDeque::with_capacity(burst as usize)),
        }
    }

    /// Waits for this call's slot.
    pub(super) async fn wait(&self) {
        let slot = {
            let mut slots = self.slots.lock().await;
            let now = Instant::now();
            let slot = if slots.len() < self.burst {
                now
            } else {
                let oldest = slots.pop_front().expect("the window is full");
                (oldest + self.window).max(now)
            };
            slots.push_back(slot);
            slot
        };
        // A timer would round even a slot that is due now up to its next tick.
        if slot > Instant::now() {
            tokio::time::sleep_until(slot).await;
        }
    }
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

    /// The limiter's slots for `calls` calls made at once, in milliseconds from the first.
    async fn slots(per_second: f64, calls: usize) -> Vec<u128> {
        let limiter = RateLimiter::new(per_second);
        let start = Instant::now();
        let mut slots = Vec::new();
        for _ in 0..calls {
            limiter.wait().await;
            slots.push((Instant::now() - start).as_millis());
        }
        slots
    }

    #[tokio::test(start_paused = true)]
    async fn any_rate_makes_a_limit_without_panicking() {
        for per_second in [1e-20, f64::MIN_POSITIVE, 0.0, -1.0, f64::NAN, f64::INFINITY] {
            let limiter = RateLimiter::new(per_second);
            assert!(limiter.window <= MAX_WINDOW, "{per_second}");
            limiter.wait().await;
            limiter.wait().await;
        }
        assert_eq!(slots(1e-20, 2).await, [0, 3_600_000]);
    }

    #[tokio::test(start_paused = true)]
    async fn the_rate_limit_lets_a_second_s_calls_go_at_once_and_no_more() {
        assert_eq!(slots(3.0, 7).await, [0, 0, 0, 1000, 1000, 1000, 2000]);
        assert_eq!(slots(0.5, 3).await, [0, 2000, 4000]);
        assert_eq!(slots(2.5, 5).await, [0, 0, 800, 800, 1600]);
        let fast = slots(1000.0, 1001).await;
        assert!(fast[..1000].iter().all(|&at| at == 0));
        assert_eq!(fast[1000], 1000);
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
    }
}
