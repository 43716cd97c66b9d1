//! Following jobs to their end: ShowJob (and the sub-job list when the job says `COMPLETE`)
//! until every recorded job is terminal or the time is up. Each desktop's outcome goes into the
//! state file as soon as it is known.

use std::time::Duration;

use jiff::Timestamp;
use tokio::time::Instant;

use super::Journal;
use futures_util::{StreamExt, stream};

use crate::state::{DesktopOutcome, JobRecord, JobStatus, OutcomeStatus};
use crate::text::printable;
use crate::workspace::wire::JobDetailInfo;
use crate::workspace::{ApiError, Client};

const FIRST_POLL: Duration = Duration::from_millis(500);
const MAX_POLL: Duration = Duration::from_secs(15);

/// How a job's own status reads, per the reference's client rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Succeeded,
    Failed,
    /// Terminal, but only the sub-jobs say how each desktop fared.
    Complete,
    Pending,
}

fn verdict(status: &str) -> Verdict {
    match status.trim().to_ascii_uppercase().as_str() {
        "SUCCESS" => Verdict::Succeeded,
        "FAIL" | "FAILED" => Verdict::Failed,
        "COMPLETE" => Verdict::Complete,
        _ => Verdict::Pending,
    }
}

fn sub_job_outcome(sub: &JobDetailInfo) -> Option<DesktopOutcome> {
    let status = sub.status.as_deref().unwrap_or_default();
    match verdict(status) {
        Verdict::Succeeded => Some(DesktopOutcome {
            status: OutcomeStatus::Deleted,
            reason: None,
        }),
        Verdict::Failed | Verdict::Complete => Some(DesktopOutcome {
            status: OutcomeStatus::Failed,
            reason: Some(reason(
                sub.error_code.as_deref(),
                sub.fail_reason.as_deref(),
                status,
            )),
        }),
        Verdict::Pending => None,
    }
}

/// Why a desktop was not deleted, from the job's answer: escaped, as it goes into the state
/// and onto the terminal.
fn reason(code: Option<&str>, message: Option<&str>, status: &str) -> String {
    let reason = match (
        code.filter(|c| !c.is_empty()),
        message.filter(|m| !m.is_empty()),
    ) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (None, Some(message)) => message.to_string(),
        (Some(code), None) => code.to_string(),
        (None, None) => format!("the job ended {status}"),
    };
    printable(&reason).into_owned()
}

#[derive(Debug, Default)]
pub struct FollowReport {
    pub deleted: Vec<String>,
    /// (desktop ID, reason).
    pub failed: Vec<(String, String)>,
    /// Still not known when the time ran out.
    pub pending: Vec<String>,
    /// The last error of a poll, if polling itself failed.
    pub poll_error: Option<ApiError>,
}

/// Polls every pending job of the journal, `concurrency` at a time, until all are terminal or
/// `timeout` passes. What each round learns is saved before the next round starts.
pub async fn follow(
    client: &Client,
    journal: &mut Journal<'_>,
    concurrency: usize,
    timeout: Duration,
    on_poll: &(dyn Fn(usize, usize) + Sync),
) -> anyhow::Result<FollowReport> {
    let deadline = Instant::now() + timeout;
    let mut interval = FIRST_POLL;
    let mut report = FollowReport::default();
    let job_ids: Vec<String> = journal
        .state
        .pending_jobs()
        .map(|job| job.job_id.clone())
        .collect();
    loop {
        let open: Vec<&String> = job_ids
            .iter()
            .filter(|id| {
                journal
                    .state
                    .jobs
                    .iter()
                    .any(|job| &job.job_id == *id && job.status == JobStatus::Pending)
            })
            .collect();
        let polled: Vec<(&String, Result<Update, ApiError>)> = stream::iter(open)
            .map(|job_id| async move { (job_id, poll(client, job_id).await) })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        let mut still_open = 0;
        for (job_id, update) in polled {
            match update {
                Ok(update) => {
                    let job = journal.state.job_mut(job_id).expect("the job was polled");
                    if !record(job, update) {
                        still_open += 1;
                    }
                }
                Err(err) => {
                    tracing::warn!(%job_id, error = %err, "could not read the job");
                    report.poll_error = Some(err);
                    still_open += 1;
                }
            }
        }
        journal.save()?;
        on_poll(job_ids.len() - still_open, job_ids.len());
        if still_open == 0 || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(interval.min(deadline.saturating_duration_since(Instant::now()))).await;
        interval = (interval * 3 / 2).min(MAX_POLL);
    }
    for job_id in &job_ids {
        let Some(job) = journal.state.job_mut(job_id) else {
            continue;
        };
        for (id, outcome) in &job.desktops {
            match outcome.status {
                OutcomeStatus::Deleted => report.deleted.push(id.clone()),
                OutcomeStatus::Failed => report
                    .failed
                    .push((id.clone(), outcome.reason.clone().unwrap_or_default())),
                OutcomeStatus::Pending => report.pending.push(id.clone()),
            }
        }
    }
    Ok(report)
}

/// Writes what a poll learned into the job's record; true when the job has ended.
fn record(job: &mut JobRecord, update: Update) -> bool {
    job.api_status = Some(update.api_status);
    job.checked_at = Some(Timestamp::now());
    for (desktop_id, outcome) in update.outcomes {
        if job.desktop_ids.contains(&desktop_id) {
            job.desktops.insert(desktop_id, outcome);
        }
    }
    let Some(terminal) = update.terminal else {
        return false;
    };
    // A desktop the job never reported on did not provably go.
    for id in &job.desktop_ids {
        let outcome = job.desktops.entry(id.clone()).or_insert(DesktopOutcome {
            status: OutcomeStatus::Pending,
            reason: None,
        });
        if outcome.status == OutcomeStatus::Pending {
            *outcome = terminal.clone();
        }
    }
    job.status = if job
        .desktops
        .values()
        .all(|outcome| outcome.status == OutcomeStatus::Deleted)
    {
        JobStatus::Succeeded
    } else {
        JobStatus::Failed
    };
    true
}

struct Update {
    api_status: String,
    outcomes: Vec<(String, DesktopOutcome)>,
    /// For a terminal job: the outcome of every desktop no sub-job reported on.
    terminal: Option<DesktopOutcome>,
}

async fn poll(client: &Client, job_id: &str) -> Result<Update, ApiError> {
    let job = client.show_job(job_id).await?;
    let verdict = verdict(job.status.as_deref().unwrap_or_default());
    let api_status = printable(job.status.as_deref().unwrap_or_default()).into_owned();
    let mut sub_jobs = job.sub_jobs.unwrap_or_default();
    if verdict == Verdict::Complete || (verdict != Verdict::Pending && sub_jobs.is_empty()) {
        sub_jobs = list_all_sub_jobs(client, job_id).await?;
    }
    // A sub-job of another job says nothing about this one's desktops, whatever it names.
    sub_jobs.retain(|sub| {
        sub.job_id
            .as_deref()
            .is_none_or(|parent| parent.eq_ignore_ascii_case(job_id))
    });
    let outcomes = sub_jobs
        .iter()
        .filter_map(|sub| {
            let desktop_id = sub.entities.as_ref()?.desktop_id.clone()?;
            Some((desktop_id, sub_job_outcome(sub)?))
        })
        .collect();
    let terminal = match verdict {
        Verdict::Pending => None,
        Verdict::Succeeded if sub_jobs.is_empty() => Some(DesktopOutcome {
            status: OutcomeStatus::Deleted,
            reason: None,
        }),
        Verdict::Succeeded | Verdict::Failed | Verdict::Complete => Some(DesktopOutcome {
            status: OutcomeStatus::Failed,
            reason: Some(reason(
                job.job_error_code.as_deref(),
                job.fail_reason.as_deref(),
                &api_status,
            )),
        }),
    };
    Ok(Update {
        api_status,
        outcomes,
        terminal,
    })
}

async fn list_all_sub_jobs(client: &Client, job_id: &str) -> Result<Vec<JobDetailInfo>, ApiError> {
    let mut all = Vec::new();
    loop {
        let page = client.list_sub_jobs(job_id, all.len()).await?;
        let got = page.jobs.len();
        all.extend(page.jobs);
        if got == 0 || all.len() as u64 >= page.total_count {
            return Ok(all);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_from_answers_are_escaped() {
        assert_eq!(
            reason(Some("WKS.\u{1b}[2K"), Some("gone\r- ok"), "FAILED"),
            "WKS.\\u{1b}[2K: gone\\u{d}- ok"
        );
        assert_eq!(
            reason(None, None, "FAIL\u{202e}"),
            "the job ended FAIL\\u{202e}"
        );
    }

    #[test]
    fn status_rule_of_the_reference() {
        assert_eq!(verdict("SUCCESS"), Verdict::Succeeded);
        assert_eq!(verdict("FAIL"), Verdict::Failed);
        assert_eq!(verdict("FAILED"), Verdict::Failed);
        assert_eq!(verdict("COMPLETE"), Verdict::Complete);
        assert_eq!(verdict(" success\n"), Verdict::Succeeded);
        for pending in ["WAITING", "RUNNING", "", "SOMETHING_NEW", "SUC\u{1b}CESS"] {
            assert_eq!(verdict(pending), Verdict::Pending, "{pending}");
        }
    }
}
