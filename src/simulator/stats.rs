//! Call counters, so tests can check how a client used the API (served, without auth, at
//! `GET /__simulator/stats`).

use serde::{Deserialize, Serialize};

use super::route::Route;

/// Each operation's counter counts every request routed to it, whatever the answer (refused
/// ones included); `rejected` counts every 4xx/5xx answer, routed or not.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Stats {
    pub list_desktops: u64,
    pub list_desktops_detail: u64,
    pub batch_delete: u64,
    pub show_job: u64,
    pub list_sub_jobs: u64,
    pub rejected: u64,
    /// The IDs of every accepted batch-delete, in order.
    pub batch_delete_ids: Vec<Vec<String>>,
}

impl Stats {
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
