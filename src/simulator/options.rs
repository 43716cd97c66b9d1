//! How a simulator is set up: which project it serves, which credentials it accepts, the
//! timing knobs (job length, clock skew, latency) that tests turn, and the faults to inject.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use super::fault::FaultRule;

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
