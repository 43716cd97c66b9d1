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
