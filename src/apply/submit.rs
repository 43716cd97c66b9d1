//! Sending deletions: `batch-delete` calls of at most `batch_size` IDs, a few at once, each
//! accepted job recorded as soon as its answer arrives. A call whose answer was lost is
//! recorded as unconfirmed; its desktops are read again and only those the service shows
//! untouched are sent again (once), so no desktop is submitted twice. A desktop refused on its
//! own (404: gone since the plan; 409: busy) does not sink the rest of its chunk: it is
//! recorded with its reason and the others are sent again without it.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use anyhow::Context;
use jiff::Timestamp;

use super::Journal;
use crate::config::DeleteOptions;
use crate::inventory::read_by_ids;
use crate::state::{Intent, JobRecord, Refusal, Unconfirmed};
use crate::workspace::wire::DeleteDesktopsReq;
use crate::workspace::{ApiError, Client};

/// Time given to the service, after a lost answer, to show the desktops a job took as deleting.
const SETTLE: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
pub struct SubmitReport {
    /// (job ID, desktop IDs) of every accepted call, in order.
    pub jobs: Vec<(String, Vec<String>)>,
    /// Desktops refused one by one (409: their state forbids it now), with the reason.
    pub refused: Vec<Refusal>,
    /// Desktops the API no longer knows (404): gone since the plan, which is what apply wanted.
    pub gone: Vec<Refusal>,
    /// Desktops never sent because sending stopped.
    pub not_sent: Vec<String>,
    /// Desktops taken by a call whose answer was lost: being deleted by a job whose ID is not
    /// known (or not known to be untouched, when they could not be read again).
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
    let mut queue: VecDeque<Batch> = ids
        .chunks(options.batch_size.max(1))
        .map(|ids| Batch::new(ids.to_vec(), false))
        .collect();
    // Each call runs as its own task, so its answer is read as it arrives even while this loop
    // is busy (re-reading after a lost answer, saving): a finished call never times out
    // waiting to be looked at.
    let send = |batch: Batch| {
        let client = client.clone();
        let options = *options;
        tokio::spawn(async move {
            let request = DeleteDesktopsReq {
                desktop_ids: batch.ids,
                delete_users: Some(options.delete_users),
                email_notification: Some(options.email_notification),
                is_force_delete: Some(options.force),
            };
            let answer = client.batch_delete(&request).await;
            let batch = Batch {
                ids: request.desktop_ids,
                ..batch
            };
            (batch, answer)
        })
    };
    let mut in_flight = FuturesUnordered::new();
    loop {
        // Each call is recorded as an intent, saved, before it leaves: a run that dies
        // before its answer arrives leaves a trace the next run resolves.
        let mut wave = Vec::new();
        while report.stopped_by.is_none() && in_flight.len() + wave.len() < concurrency.max(1) {
            let Some(mut batch) = queue.pop_front() else {
                break;
            };
            let intent = Intent::new(batch.ids.clone());
            batch.intent = intent.id.clone();
            journal.state.intents.push(intent);
            wave.push(batch);
        }
        if !wave.is_empty() {
            journal.save()?;
            in_flight.extend(wave.into_iter().map(send));
        }
        let Some(finished) = in_flight.next().await else {
            break;
        };
        let (batch, answer) = finished.context("a batch-delete task failed")?;
        // The answer (or its absence) is recorded in place of the intent, in the same save.
        journal.state.close_intent(&batch.intent);
        match answer {
            Ok(answer) => {
                let job = JobRecord::pending(&answer.job_id, &batch.ids, Timestamp::now());
                journal.state.jobs.push(job);
                journal.save()?;
                tracing::info!(job_id = %answer.job_id, desktops = batch.ids.len(), "batch-delete accepted");
                report.jobs.push((answer.job_id, batch.ids));
                on_chunk(report.submitted());
            }
            Err(err) if is_about_one_desktop(&err) => {
                let (refused, rest) = single_out(&err, batch.ids);
                if let Some(id) = refused {
                    let refusal = refusal(&id, &err);
                    journal.state.refused.push(refusal.clone());
                    journal.save()?;
                    if refusal.http_status == 404 {
                        report.gone.push(refusal);
                    } else {
                        report.refused.push(refusal);
                    }
                    if !rest.is_empty() {
                        queue.push_front(Batch::new(rest, batch.resent));
                    }
                } else {
                    journal.save()?;
                    // The answer names no desktop: halve until it does, or one remains.
                    let (left, right) = rest.split_at(rest.len() / 2);
                    for half in [right, left] {
                        queue.push_front(Batch::new(half.to_vec(), batch.resent));
                    }
                }
            }
            Err(err) if err.provably_not_carried_out() || err.is_client_refusal() => {
                journal.save()?;
                report.not_sent.extend(batch.ids);
                // Calls already under way are still awaited and recorded; no new one starts.
                report.stopped_by.get_or_insert(err);
            }
            Err(err) => {
                // The call may have created a job. Record that first, then ask the API which
                // of its desktops are being deleted; only the untouched ones may go again.
                journal.state.unconfirmed.push(Unconfirmed {
                    at: Timestamp::now(),
                    desktop_ids: batch.ids.clone(),
                    error: err.to_string(),
                });
                journal.save()?;
                let entry = journal.state.unconfirmed.len() - 1;
                tokio::time::sleep(SETTLE).await;
                let untouched = match read_by_ids(client, &batch.ids, concurrency).await {
                    Ok(now) => now
                        .into_iter()
                        .filter(|desktop| !desktop.is_deleting())
                        .map(|desktop| desktop.id)
                        .collect::<HashSet<String>>(),
                    Err(reread) => {
                        tracing::warn!(error = %reread, "could not re-read the desktops of an unconfirmed batch-delete");
                        report.unconfirmed.extend(batch.ids);
                        report.stopped_by.get_or_insert(err);
                        continue;
                    }
                };
                let (again, taken): (Vec<String>, Vec<String>) =
                    batch.ids.into_iter().partition(|id| untouched.contains(id));
                journal.state.unconfirmed[entry].desktop_ids = taken.clone();
                if taken.is_empty() {
                    journal.state.unconfirmed.remove(entry);
                }
                journal.save()?;
                report.unconfirmed.extend(taken);
                if again.is_empty() {
                    continue;
                }
                if batch.resent {
                    report.not_sent.extend(again);
                    report.stopped_by.get_or_insert(err);
                } else {
                    tracing::info!(
                        desktops = again.len(),
                        "the lost call did not reach these desktops; sending them again"
                    );
                    queue.push_front(Batch::new(again, true));
                }
            }
        }
    }
    report
        .not_sent
        .extend(queue.into_iter().flat_map(|batch| batch.ids));
    Ok(report)
}

/// IDs to send in one call; `resent` once they went again after a lost answer; `intent` names
/// the state's record of the call once it is about to leave.
struct Batch {
    ids: Vec<String>,
    resent: bool,
    intent: String,
}

impl Batch {
    fn new(ids: Vec<String>, resent: bool) -> Batch {
        Batch {
            ids,
            resent,
            intent: String::new(),
        }
    }
}

/// Whether a refusal is the Workspace service's answer about a desktop (404: it does not exist;
/// 409: its state forbids deleting it now). A gateway's (`APIGW.*`: no such API, for one) or a
/// proxy's bare 404 says nothing about any desktop: it stops sending instead of being taken
/// apart desktop by desktop and reported as "already gone".
fn is_about_one_desktop(err: &ApiError) -> bool {
    matches!(err.status(), Some(404 | 409))
        && err.code().is_some_and(|code| code.starts_with("WKS."))
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
    fn a_gateway_404_is_not_about_a_desktop() {
        let gateway = ApiError::Refused {
            call: "batch-delete".into(),
            status: 404,
            code: "APIGW.0101".into(),
            message: "The API does not exist".into(),
            request_id: None,
        };
        assert!(!is_about_one_desktop(&gateway));
        assert!(
            gateway.is_client_refusal(),
            "so sending stops, nothing recorded as gone"
        );
        assert!(is_about_one_desktop(&conflict("busy")));
    }

    #[test]
    fn an_unnamed_refusal_of_one_is_that_one() {
        let err = conflict("The resource not found.");
        assert_eq!(single_out(&err, ids(&["a"])), (Some("a".into()), vec![]));
        assert_eq!(single_out(&err, ids(&["a", "b"])), (None, ids(&["a", "b"])));
    }
}
