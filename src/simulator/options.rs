//! How a simulator is set up: which project it serves, which credentials it accepts, the
//! timing knobs (job length, clock skew, latency) that tests turn, and the faults to inject.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use super::fault::FaultRule;
use super::gateway::RateLimit;

/// Deliberately not `Debug`: it holds the secret key and tokens, which must never reach a log.
#[derive(Clone)]
pub struct SimulatorOptions {
    pub project_id: String,
    /// AK/SK-signed requests are accepted when both are set.
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
    /// When set, AK/SK requests must carry a signed `X-Security-Token` equal to it (temporary
    /// credentials).
    pub security_token: Option<String>,
    /// `X-Auth-Token` accepted when set.
    pub token: Option<String>,
    /// How long a delete job takes from WAITING through RUNNING to its end.
    pub job_duration: Duration,
    /// The server's clock minus the real clock, to test clock skew.
    pub clock_offset: SignedDuration,
    /// Added before every API answer.
    pub latency: Duration,
    /// Applied to every API call, in order (see `FaultRule`).
    pub faults: Vec<FaultRule>,
    /// Whether list answers are gzipped for requests that accept it.
    pub gzip: bool,
    /// The gateway's throttling: over these, a call is answered `429` `APIGW.0308`.
    pub rate_limits: Vec<RateLimit>,
    /// The rate limits lift this long after the simulator was made.
    pub rate_limit_for: Option<Duration>,
    /// The `Retry-After` (seconds) of a throttled answer; none when absent.
    pub throttle_retry_after: Option<u64>,
}

impl Default for SimulatorOptions {
    fn default() -> SimulatorOptions {
        SimulatorOptions {
            project_id: "0b6a4c2d9e8f41a7b3c5d6e7f8091a2b".to_string(),
            access_key: None,
            secret_key: None,
            security_token: None,
            token: None,
            job_duration: Duration::from_secs(1),
            clock_offset: SignedDuration::ZERO,
            latency: Duration::ZERO,
            faults: Vec::new(),
            gzip: true,
            rate_limits: Vec::new(),
            rate_limit_for: None,
            throttle_retry_after: None,
        }
    }
}

impl SimulatorOptions {
    /// The server's idea of now: every job time and the signature's freshness use it.
    pub(super) fn now(&self) -> Timestamp {
        Timestamp::now()
            .saturating_add(self.clock_offset)
            .expect("a plain duration always adds")
    }
}
