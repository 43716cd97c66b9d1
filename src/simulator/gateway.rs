//! The API gateway's throttling: token buckets, over every call or per API, that answer
//! `429` with the gateway's `APIGW.0308` body once empty (`--rate-limit 20/s`,
//! `--rate-limit list=600/min`), optionally with `Retry-After`, and optionally lifted after a
//! while (`--rate-limit-for SECONDS`), so tests and the bench can watch a client converge.

use std::str::FromStr;
use std::time::Duration;

use tokio::time::Instant;

use super::fault::Endpoint;
use super::fault_grammar::ENDPOINTS;
use super::route::Route;
use crate::workspace::wire::StatedLimit;

/// The gateway's throttling code (the reference's sample 429).
pub(super) const THROTTLED: &str = "APIGW.0308";

/// `[ENDPOINT=]N/s` or `[ENDPOINT=]N/min`: at most N calls in a second (a minute), as a
/// bucket of N tokens refilled evenly over that time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub endpoint: Endpoint,
    pub calls: u32,
    pub per: Duration,
}

impl RateLimit {
    /// The gateway's words for it: `policy user over ratelimit,limit:20,time:1 second`.
    fn message(&self) -> String {
        StatedLimit {
            calls: self.calls,
            per: self.per,
        }
        .message()
    }
}

/// A `--rate-limit` that does not parse, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rate limit `{text}`: {problem}")]
pub struct RateLimitSyntaxError {
    pub text: String,
    pub problem: String,
}

impl FromStr for RateLimit {
    type Err = RateLimitSyntaxError;

    fn from_str(text: &str) -> Result<RateLimit, RateLimitSyntaxError> {
        let fail = |problem: &str| RateLimitSyntaxError {
            text: text.to_string(),
            problem: problem.to_string(),
        };
        let (endpoint, limit) = match text.split_once('=') {
            Some((name, limit)) => {
                let endpoint = ENDPOINTS
                    .iter()
                    .find(|(known, _)| *known == name)
                    .map(|(_, endpoint)| *endpoint)
                    .ok_or_else(|| {
                        fail("unknown API: use list, detail, batch_delete, show_job, sub_jobs or any")
                    })?;
                (endpoint, limit)
            }
            None => (Endpoint::Any, text),
        };
        let (calls, per) = limit
            .split_once('/')
            .ok_or_else(|| fail("expected N/s or N/min, e.g. `20/s`"))?;
        let per = match per {
            "s" => Duration::from_secs(1),
            "min" => Duration::from_secs(60),
            _ => return Err(fail("the unit must be `s` or `min`")),
        };
        let calls = calls
            .parse::<u32>()
            .ok()
            .filter(|calls| (1..=1_000_000).contains(calls))
            .ok_or_else(|| fail("the number of calls must be from 1 to 1000000"))?;
        Ok(RateLimit {
            endpoint,
            calls,
            per,
        })
    }
}

/// One limit's bucket.
#[derive(Debug)]
struct Bucket {
    limit: RateLimit,
    tokens: f64,
    refilled: Instant,
}

impl Bucket {
    fn refill(&mut self, now: Instant) {
        let capacity = f64::from(self.limit.calls);
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens =
            (self.tokens + elapsed * capacity / self.limit.per.as_secs_f64()).min(capacity);
        self.refilled = now;
    }
}

/// Every limit's bucket, and when the limits lift.
#[derive(Debug)]
pub(super) struct Gateway {
    buckets: Vec<Bucket>,
    lifted_at: Option<Instant>,
}

impl Gateway {
    pub(super) fn new(limits: &[RateLimit], lift_after: Option<Duration>) -> Gateway {
        let now = Instant::now();
        Gateway {
            buckets: limits
                .iter()
                .map(|&limit| Bucket {
                    limit,
                    tokens: f64::from(limit.calls),
                    refilled: now,
                })
                .collect(),
            lifted_at: lift_after.and_then(|after| now.checked_add(after)),
        }
    }

    /// Empties every bucket, as if the limits had just been used up (a benchmark's steady
    /// state: the calls ÷ the limit is then the least time a run can take).
    pub(super) fn drain(&mut self, now: Instant) {
        for bucket in &mut self.buckets {
            bucket.tokens = 0.0;
            bucket.refilled = now;
        }
    }

    /// Lets the call through (taking a token from every bucket that covers it), or names the
    /// limit it is over: the message of the `APIGW.0308` answer.
    pub(super) fn admit(&mut self, route: &Route, now: Instant) -> Result<(), String> {
        if self.lifted_at.is_some_and(|at| now >= at) {
            return Ok(());
        }
        let mut covering: Vec<&mut Bucket> = self
            .buckets
            .iter_mut()
            .filter(|bucket| bucket.limit.endpoint.matches(route))
            .collect();
        for bucket in covering.iter_mut() {
            bucket.refill(now);
            if bucket.tokens < 1.0 {
                return Err(bucket.limit.message());
            }
        }
        for bucket in covering {
            bucket.tokens -= 1.0;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse_overall_and_per_api() {
        let limit = |text: &str| text.parse::<RateLimit>();
        assert_eq!(
            limit("20/s"),
            Ok(RateLimit {
                endpoint: Endpoint::Any,
                calls: 20,
                per: Duration::from_secs(1),
            })
        );
        assert_eq!(
            limit("list=600/min"),
            Ok(RateLimit {
                endpoint: Endpoint::List,
                calls: 600,
                per: Duration::from_secs(60),
            })
        );
        for bad in ["20", "20/h", "0/s", "x/s", "lists=2/s", "-1/s", "20/s/s"] {
            assert!(limit(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_bucket_lets_its_limit_through_then_refills_evenly_until_lifted() {
        let t0 = Instant::now();
        let limits = [
            "2/s".parse().unwrap(),
            "batch_delete=1/min".parse().unwrap(),
        ];
        let mut gateway = Gateway::new(&limits, Some(Duration::from_secs(120)));
        let list = Route::ListDesktops;
        assert!(gateway.admit(&list, t0).is_ok());
        assert!(gateway.admit(&list, t0).is_ok());
        assert_eq!(
            gateway.admit(&list, t0),
            Err("The throttling threshold has been reached: policy user over ratelimit,limit:2,time:1 second".to_string())
        );
        let later = t0 + Duration::from_millis(500);
        assert!(gateway.admit(&list, later).is_ok());
        assert!(gateway.admit(&list, later).is_err());
        // A write takes a token from the overall bucket and its own.
        let delete = Route::BatchDelete;
        let much_later = t0 + Duration::from_secs(10);
        assert!(gateway.admit(&delete, much_later).is_ok());
        assert!(
            gateway
                .admit(&delete, much_later)
                .unwrap_err()
                .ends_with("limit:1,time:1 minute")
        );
        // Drained: the next token comes a second (a minute) ÷ the limit later.
        gateway.drain(much_later);
        assert!(gateway.admit(&list, much_later).is_err());
        assert!(
            gateway
                .admit(&list, much_later + Duration::from_millis(499))
                .is_err()
        );
        assert!(
            gateway
                .admit(&list, much_later + Duration::from_millis(500))
                .is_ok()
        );
        // Lifted: everything passes.
        let lifted = t0 + Duration::from_secs(120);
        for _ in 0..100 {
            assert!(gateway.admit(&delete, lifted).is_ok());
        }
    }
}
