//! Call counters, so tests can check how a client used the API (served, without auth, at
//! `GET /__simulator/stats`).

use serde::{Deserialize, Serialize};

use super::fault::Endpoint;
use super::route::Route;

/// Each operation's counter counts every request routed to it, whatever the answer (refused
/// ones and those a fault cut included); `rejected` counts every 4xx/5xx answer, routed or
/// not. Byte counts cover answer bodies (not headers), the stats endpoint excluded.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(default)]
pub struct Stats {
    pub list_desktops: u64,
    pub list_desktops_detail: u64,
    pub batch_delete: u64,
    pub show_job: u64,
    pub list_sub_jobs: u64,
    pub rejected: u64,
    /// The IDs of every accepted batch-delete, in order.
    pub batch_delete_ids: Vec<Vec<String>>,
    /// Times a fault rule hit a call.
    pub faults_injected: u64,
    /// Answer bodies as produced, before compression.
    pub body_bytes: u64,
    /// Answer bodies as sent: gzipped where they were, cut short where a fault cut them.
    pub sent_bytes: u64,
    /// Answers sent gzipped.
    pub gzip_answers: u64,
    /// Calls the gateway's rate limits answered `429` `APIGW.0308` (counted in their
    /// operation's counter and in `rejected` too).
    pub throttled: u64,
    /// Calls to the five operations and those throttled, in each second since the simulator
    /// was made (the first entry is its first second).
    pub timeline: Vec<Second>,
}

/// One second of the [`Stats::timeline`].
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq)]
#[serde(default)]
pub struct Second {
    pub calls: u64,
    pub throttled: u64,
}

impl Stats {
    /// Requests routed to the five operations.
    pub fn calls(&self) -> u64 {
        self.list_desktops
            + self.list_desktops_detail
            + self.batch_delete
            + self.show_job
            + self.list_sub_jobs
    }

    /// Requests routed to the operations `endpoint` names.
    pub fn calls_to(&self, endpoint: Endpoint) -> u64 {
        match endpoint {
            Endpoint::List => self.list_desktops,
            Endpoint::Detail => self.list_desktops_detail,
            Endpoint::BatchDelete => self.batch_delete,
            Endpoint::ShowJob => self.show_job,
            Endpoint::SubJobs => self.list_sub_jobs,
            Endpoint::Any => self.calls(),
        }
    }

    /// A call arrived in second `second` (from the simulator's start); `throttled`: the
    /// gateway refused it.
    pub(super) fn arrived(&mut self, second: usize, throttled: bool) {
        // Bounded: a simulator left running for a day keeps a day of seconds, 1.4 MB.
        let second = second.min(24 * 3600);
        if self.timeline.len() <= second {
            self.timeline.resize(second + 1, Second::default());
        }
        self.timeline[second].calls += 1;
        self.timeline[second].throttled += u64::from(throttled);
    }

    pub(super) fn count(&mut self, route: &Route) {
        let counter = match route {
            Route::ListDesktops => &mut self.list_desktops,
            Route::ListDesktopsDetail => &mut self.list_desktops_detail,
            Route::BatchDelete => &mut self.batch_delete,
            Route::ShowJob(_) => &mut self.show_job,
            Route::ListSubJobs => &mut self.list_sub_jobs,
        };
        *counter += 1;
    }
}
