//! Sending deletions: `batch-delete` calls of at most `batch_size` IDs, a few at once, each
//! accepted job recorded as soon as its answer arrives. A desktop refused on its own (404: gone since the plan; 409:
//! busy) does not sink the rest of its chunk: it is recorded with its reason and the others are
//! sent again without it.

use std::collections::{BTreeMap, VecDeque};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use jiff::Timestamp;

use super::Journal;
use crate::config::DeleteOptions;
use crate::state::{DesktopOutcome, JobRecord, JobStatus, OutcomeStatus, Refusal, Unconfirmed};
use crate::workspace::wire::DeleteDesktopsReq;
use crate::workspace::{ApiError, Client};

#[derive(Debug, Default)]
pub struct SubmitReport {
    /// (job ID, desktop IDs) of every accepted call, in order.
    pub jobs: Vec<(String, Vec<String>)>,
    /// Desktops refused one by one, with the reason.
    pub refused: Vec<Refusal>,
    /// Desktops never sent because sending stopped.
    pub not_sent: Vec<String>,
    /// Desktops of a call whose answer was lost: they may be being deleted.
    pub unconfirmed: Vec<String>,
    /// Why sending stopped early.
    pub stopped_by: Option<ApiError>,
}

impl SubmitReport {
    pub fn is_complete(&self) -> bool {
        self.refused.is_empty()
            && self.not_sent.is_empty()
            && self.unconfirmed.is_empty()
            && self.stopped_by.is_none()
    }

    pub fn submitted(&self) -> usize {
        self.jobs.iter().map(|(_, ids)| ids.len()).sum()
    }
}

/// Sends `ids` for deletion, `options.batch_size` per call and up to `concurrency` calls at
/// once, recording each outcome in the journal as soon as it arrives (before any further call
/// is started). `on_chunk` hears the number of desktops submitted so far.
pub async fn submit(
    client: &Client,
    ids: &[String],
    options: &DeleteOptions,
    concurrency: usize,
    journal: &mut Journal<'_>,
    on_chunk: &(dyn Fn(usize) + Sync),
) -> anyhow::Result<SubmitReport> {
    let mut report = SubmitReport::default();
    // Batches still to send, front first; a refused batch comes back split.
    let mut queue: VecDeque<Vec<String>> = ids
        .chunks(options.batch_size.max(1))
        .map(<[String]>::to_vec)
        .collect();
    let send = |batch: Vec<String>| async move {
        let request = DeleteDesktopsReq {
            desktop_ids: batch,
            delete_users: Some(options.delete_users),
            email_notification: Some(options.email_notification),
            is_force_delete: Some(options.force),
        };
        let answer = client.batch_delete(&request).await;
        (request.desktop_ids, answer)
    };
    let mut in_flight = FuturesUnordered::new();
    loop {
        while report.stopped_by.is_none() && in_flight.len() < concurrency.max(1) {
            let Some(batch) = queue.pop_front() else {
                break;
            };
            in_flight.push(send(batch));
        }
        let Some((batch, answer)) = in_flight.next().await else {
            break;
        };
        match answer {
            Ok(answer) => {
                journal.state.jobs.push(new_job(&answer.job_id, &batch));
                journal.save()?;
                tracing::info!(job_id = %answer.job_id, desktops = batch.len(), "batch-delete accepted");
                report.jobs.push((answer.job_id, batch));
                on_chunk(report.submitted());
            }
            Err(err) if matches!(err.status(), Some(404 | 409)) => {
                let (refused, rest) = single_out(&err, batch);
                if let Some(id) = refused {
                    let refusal = refusal(&id, &err);
                    journal.state.refused.push(refusal.clone());
                    journal.save()?;
                    report.refused.push(refusal);
                    if !rest.is_empty() {
                        queue.push_front(rest);
                    }
                } else {
                    // The answer names no desktop: halve until it does, or one remains.
                    let (left, right) = rest.split_at(rest.len() / 2);
                    queue.push_front(right.to_vec());
                    queue.push_front(left.to_vec());
                }
            }
            Err(err) => {
                if !err.provably_not_carried_out() && !err.is_client_refusal() {
                    // The call may have created a job: never resend these blindly.
                    journal.state.unconfirmed.push(Unconfirmed {
                        at: Timestamp::now(),
                        desktop_ids: batch.clone(),
                        error: err.to_string(),
                    });
                    journal.save()?;
                    report.unconfirmed.extend(batch);
                } else {
                    report.not_sent.extend(batch);
                }
                // Calls already under way are still awaited and recorded; no new one starts.
                report.stopped_by.get_or_insert(err);
            }
        }
    }
    report.not_sent.extend(queue.into_iter().flatten());
    Ok(report)
}

fn new_job(job_id: &str, ids: &[String]) -> JobRecord {
    JobRecord {
        job_id: job_id.to_string(),
        submitted_at: Timestamp::now(),
        desktop_ids: ids.to_vec(),
        status: JobStatus::Pending,
        api_status: None,
        checked_at: None,
        desktops: ids
            .iter()
            .map(|id| {
                (
                    id.clone(),
                    DesktopOutcome {
                        status: OutcomeStatus::Pending,
                        reason: None,
                    },
                )
            })
            .collect::<BTreeMap<_, _>>(),
    }
}

/// The desktop a per-desktop refusal is about: the one ID of `batch` its message names, or the
/// only ID when the batch has one. Returns it and the rest of the batch.
fn single_out(err: &ApiError, batch: Vec<String>) -> (Option<String>, Vec<String>) {
    let message = match err {
        ApiError::Refused { message, .. } => message.as_str(),
        _ => "",
    };
    let named: Vec<usize> = batch
        .iter()
        .enumerate()
        .filter(|(_, id)| !id.is_empty() && message.contains(id.as_str()))
        .map(|(index, _)| index)
        .collect();
    match (named.as_slice(), batch.len()) {
        ([index], _) => {
            let mut rest = batch;
            let id = rest.remove(*index);
            (Some(id), rest)
        }
        (_, 1) => (batch.into_iter().next(), Vec::new()),
        _ => (None, batch),
    }
}

fn refusal(id: &str, err: &ApiError) -> Refusal {
    let (status, code, message) = match err {
        ApiError::Refused {
            status,
            code,
            message,
            ..
        } => (*status, code.clone(), message.clone()),
        other => (
            other.status().unwrap_or(0),
            String::new(),
            other.to_string(),
        ),
    };
    Refusal {
        desktop_id: id.to_string(),
        at: Timestamp::now(),
        http_status: status,
        error_code: code,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conflict(message: &str) -> ApiError {
        ApiError::Refused {
            call: "batch-delete".into(),
            status: 409,
            code: "WKS.00010032".into(),
            message: message.into(),
            request_id: None,
        }
    }

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|id| id.to_string()).collect()
    }

    #[test]
    fn singles_out_the_named_desktop() {
        let err = conflict("Operation conflict ... resource id [id-0002].");
        assert_eq!(
            single_out(&err, ids(&["id-0001", "id-0002", "id-0003"])),
            (Some("id-0002".into()), ids(&["id-0001", "id-0003"]))
        );
    }

    #[test]
    fn an_unnamed_refusal_of_one_is_that_one() {
        let err = conflict("The resource not found.");
        assert_eq!(single_out(&err, ids(&["a"])), (Some("a".into()), vec![]));
        assert_eq!(single_out(&err, ids(&["a", "b"])), (None, ids(&["a", "b"])));
    }
}
