//! `GET workspace-jobs/{job_id}` and `GET workspace-sub-jobs`: jobs as they stand at `now`.

use axum::http::StatusCode;
use jiff::Timestamp;

use crate::workspace::wire::ListSubJobsResponse;

use super::jobs::JOB_TYPE;
use super::query::Query;
use super::reply::{Failure, NOT_FOUND, Reply};
use super::state::State;

/// The spec's bounds for the sub-job list.
const MAX_SUB_JOB_OFFSET: usize = 10_000;
const MAX_SUB_JOB_LIMIT: usize = 1000;

pub(super) fn show_job(
    state: &State,
    job_id: &str,
    now: Timestamp,
    project_id: &str,
) -> Result<Reply, Failure> {
    let job = state.job(job_id).ok_or_else(|| {
        // UNCONFIRMED: the spec lists 404 for an unknown job without a code or message.
        Failure::service(
            StatusCode::NOT_FOUND,
            NOT_FOUND,
            format!("The job [{job_id}] does not exist."),
        )
    })?;
    Ok(Reply::json(StatusCode::OK, &job.show(now, project_id)))
}

/// Filters: `job_id`, `job_type`, `status` (repeated values ORed: UNCONFIRMED, the spec's
/// example repeats it); the order is the jobs' creation order, then each job's sub-jobs.
pub(super) fn list_sub_jobs(
    state: &State,
    query: &Query,
    now: Timestamp,
    project_id: &str,
) -> Result<Reply, Failure> {
    let offset = query.number("offset", 0, MAX_SUB_JOB_OFFSET)?;
    let limit = query.number("limit", MAX_SUB_JOB_LIMIT, MAX_SUB_JOB_LIMIT)?;
    let statuses: Vec<&str> = query.all("status").collect();
    let jobs = match query.first("job_id") {
        Some(id) => state.job(id).into_iter().collect::<Vec<_>>(),
        None => state.jobs().iter().collect(),
    };
    let type_matches = query.first("job_type").is_none_or(|kind| kind == JOB_TYPE);
    let matching = jobs
        .into_iter()
        .filter(|_| type_matches)
        .flat_map(|job| job.sub_jobs.iter().map(move |sub| (job, sub)))
        .filter(|(job, sub)| statuses.is_empty() || statuses.contains(&job.sub_status(sub, now)));
    let mut total_count = 0;
    let mut page = Vec::new();
    for (job, sub) in matching {
        if total_count >= offset && page.len() < limit {
            page.push(job.sub_job_info(sub, now, project_id));
        }
        total_count += 1;
    }
    Ok(Reply::json(
        StatusCode::OK,
        &ListSubJobsResponse {
            total_count: total_count as u64,
            jobs: page,
        },
    ))
}
