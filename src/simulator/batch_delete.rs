//! `POST desktops/batch-delete`: all-or-nothing validation, then one job with a sub-job per
//! desktop; the desktops are marked `deleting` at once.

use std::collections::HashSet;
use std::time::Duration;

use axum::http::StatusCode;
use jiff::Timestamp;

use crate::workspace::wire::{BatchDeleteResponse, DeleteDesktopsReq, MAX_IDS_PER_CALL};

use super::jobs::{Job, SubJob};
use super::reply::{CONFLICT, Failure, NOT_FOUND, Reply};
use super::seed::DeleteFault;
use super::state::State;

const DELETING: &str = "deleting";

pub(super) fn batch_delete(
    state: &mut State,
    body: &[u8],
    now: Timestamp,
    job_length: Duration,
) -> Result<Reply, Failure> {
    let request: DeleteDesktopsReq = serde_json::from_slice(body)
        .map_err(|_| Failure::invalid("The request message input by the interface is empty."))?;
    let ids = request.desktop_ids;
    if ids.is_empty() || ids.len() > MAX_IDS_PER_CALL {
        return Err(Failure::invalid(format!(
            "desktop_ids size must be between 1 and {MAX_IDS_PER_CALL}"
        )));
    }
    let mut seen = HashSet::with_capacity(ids.len());
    if let Some(duplicate) = ids.iter().find(|id| !seen.insert(id.as_str())) {
        // UNCONFIRMED: how the service treats a repeated ID is not documented.
        return Err(Failure::invalid(format!(
            "The desktop_ids contain [{duplicate}] more than once."
        )));
    }
    let mut seeds = Vec::with_capacity(ids.len());
    for id in &ids {
        let seed = state.desktops.get(id).ok_or_else(|| {
            // UNCONFIRMED: the spec lists 404 without a code or message.
            Failure::service(
                StatusCode::NOT_FOUND,
                NOT_FOUND,
                format!("The desktop [{id}] does not exist."),
            )
        })?;
        seeds.push(seed);
    }
    for seed in &seeds {
        let desktop = &seed.desktop;
        let task = desktop.task_status.as_deref().unwrap_or_default();
        if task == DELETING || seed.delete_fault() == Some(DeleteFault::Conflict) {
            let state_word = if task.is_empty() {
                desktop.status.as_deref().unwrap_or_default()
            } else {
                task
            };
            return Err(Failure::service(
                StatusCode::CONFLICT,
                CONFLICT,
                format!(
                    "Operation conflict. The desktop current instance status is [{state_word}] \
                     and deny operation [delete], resource id [{}].",
                    desktop.desktop_id
                ),
            ));
        }
    }
    let sub_jobs = seeds
        .iter()
        .map(|seed| SubJob::new(seed, seed.delete_fault() == Some(DeleteFault::Fail)))
        .collect();
    let job = Job::new(now, job_length, sub_jobs);
    let job_id = job.id.clone();
    for id in &ids {
        if let Some(seed) = state.desktops.get_mut(id) {
            seed.desktop.task_status = Some(DELETING.to_string());
        }
    }
    state.add_job(job);
    state.stats.batch_delete_ids.push(ids);
    Ok(Reply::json(
        StatusCode::ACCEPTED,
        &BatchDeleteResponse { job_id },
    ))
}
