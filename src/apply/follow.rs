//! Following jobs to their end: ShowJob (and the sub-job list when the job says `COMPLETE`)
//! until every recorded job is terminal or the time is up. Each desktop's outcome goes into the
//! state file as soon as it is known.

use std::collections::HashSet;
use std::time::Duration;

use jiff::Timestamp;
use tokio::time::Instant;

use super::Journal;
use futures_util::{StreamExt, stream};

use crate::state::{DesktopOutcome, JobRecord, OutcomeStatus};
use crate::text::printable;
use crate::workspace::wire::{JobDetailInfo, is_usable_id};
use crate::workspace::{ApiError, Client};

/// Sub-jobs per page, the API's largest `limit`.
const SUB_JOB_PAGE: usize = 1000;
/// The API takes sub-job offsets up to 10,000: eleven pages of 1,000.
const MAX_SUB_JOB_PAGES: usize = 11;
/// The longest wait `follow` takes: ten years stand for "until the jobs end".
const LONGEST_WAIT: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
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
        Verdict::Succeeded => Some(DesktopOutcome::new(OutcomeStatus::Deleted, None)),
        Verdict::Failed | Verdict::Complete => Some(DesktopOutcome::new(
            OutcomeStatus::Failed,
            Some(reason(
                sub.error_code.as_deref(),
                sub.fail_reason.as_deref(),
                status,
            )),
        )),
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
    /// Unfinished jobs that the last round did not hear about: their poll failed, or was
    /// still under way when the time ran out.
    pub unread: Vec<String>,
}

/// How often, without a progress line, a line says what is still awaited, like terraform's
/// "Still destroying…": a CI log that stays silent for minutes looks hung.
pub const STILL_WAITING_EVERY: Duration = Duration::from_secs(30);

/// The environment variable that shortens [`STILL_WAITING_EVERY`] (seconds; for tests).
const STILL_WAITING_ENV: &str = "DESKPRUNE_STILL_WAITING_SECONDS";

/// Where and how often [`follow`] says what it still waits for.
pub struct StillWaiting<'a> {
    pub every: Duration,
    pub say: &'a (dyn Fn(&str) + Sync),
}

impl<'a> StillWaiting<'a> {
    /// Every [`STILL_WAITING_EVERY`], or as the hidden `DESKPRUNE_STILL_WAITING_SECONDS`
    /// says (more than 0, at most an hour).
    pub fn new(say: &'a (dyn Fn(&str) + Sync)) -> StillWaiting<'a> {
        let every = std::env::var(STILL_WAITING_ENV)
            .ok()
            .and_then(|seconds| seconds.parse::<f64>().ok())
            .filter(|seconds| *seconds > 0.0 && *seconds <= 3600.0)
            .map_or(STILL_WAITING_EVERY, Duration::from_secs_f64);
        StillWaiting { every, say }
    }
}

/// `still waiting: 3 jobs, 412 desktops, 2m30s elapsed`.
fn still_waiting_line(jobs: usize, desktops: usize, elapsed: Duration) -> String {
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let seconds = elapsed.as_secs();
    let elapsed = match (seconds / 3600, seconds / 60 % 60, seconds % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s:02}s"),
        (h, m, s) => format!("{h}h{m:02}m{s:02}s"),
    };
    format!(
        "still waiting: {jobs} job{}, {desktops} desktop{}, {elapsed} elapsed",
        plural(jobs),
        plural(desktops)
    )
}

/// Polls every pending job of the journal, `concurrency` at a time, until all are terminal or
/// `timeout` passes: each round is cut at that deadline, however the calls fare (retries and
/// their backoff included). What each round learns is saved before the next round starts.
/// With `still`, a line says what is still awaited at its interval.
pub async fn follow(
    client: &Client,
    journal: &mut Journal<'_>,
    concurrency: usize,
    timeout: Duration,
    on_poll: &(dyn Fn(usize, usize) + Sync),
    on_ended: &(dyn Fn(&JobRecord) + Sync),
    still: Option<StillWaiting<'_>>,
) -> anyhow::Result<FollowReport> {
    let started = Instant::now();
    // Checked: the largest `--timeout` is a wait of years, not an instant past the clock's end.
    let deadline = started + timeout.min(LONGEST_WAIT);
    let mut interval = FIRST_POLL;
    let mut report = FollowReport::default();
    let pending = pending_jobs(journal);
    let job_ids = pollable(&pending);
    let mut next_say = still.as_ref().map(|still| started + still.every);
    loop {
        let still_open = round(
            client,
            journal,
            &job_ids,
            concurrency,
            deadline,
            &mut report,
            on_ended,
        )
        .await?;
        on_poll(job_ids.len() - still_open, job_ids.len());
        if still_open == 0 || Instant::now() >= deadline {
            break;
        }
        let poll_at =
            Instant::now() + interval.min(deadline.saturating_duration_since(Instant::now()));
        // Until the next poll, the still-waiting line when it is due (what the last round left).
        while let (Some(still), Some(say_at)) = (&still, next_say)
            && say_at < poll_at
        {
            tokio::time::sleep_until(say_at).await;
            let desktops = journal
                .state
                .pending_jobs()
                .filter(|job| job_ids.contains(&job.job_id))
                .map(|job| job.desktop_ids.len())
                .sum();
            (still.say)(&still_waiting_line(still_open, desktops, started.elapsed()));
            // From now: a round that outlasted several intervals gives one line, not a burst.
            next_say = Some(Instant::now() + still.every);
        }
        tokio::time::sleep_until(poll_at).await;
        interval = (interval * 3 / 2).min(MAX_POLL);
    }
    outcomes(journal, &pending, &mut report);
    Ok(report)
}

/// One round of polls of every pending job of the journal, cut at `bound`: a job not heard
/// about by then stays as it was (and is listed in [`FollowReport::unread`]).
pub async fn refresh(
    client: &Client,
    journal: &mut Journal<'_>,
    concurrency: usize,
    bound: Duration,
) -> anyhow::Result<FollowReport> {
    let mut report = FollowReport::default();
    let pending = pending_jobs(journal);
    let job_ids = pollable(&pending);
    round(
        client,
        journal,
        &job_ids,
        concurrency,
        Instant::now() + bound.min(LONGEST_WAIT),
        &mut report,
        &|_| {},
    )
    .await?;
    outcomes(journal, &pending, &mut report);
    Ok(report)
}

fn pending_jobs(journal: &Journal<'_>) -> Vec<String> {
    journal
        .state
        .pending_jobs()
        .map(|job| job.job_id.clone())
        .collect()
}

/// The jobs of `pending` that can be polled. A recorded ID that could not be a job ID (written
/// by an older deskprune) would be polled as another path: it stays pending, never polled.
fn pollable(pending: &[String]) -> Vec<String> {
    pending
        .iter()
        .filter(|job_id| {
            let usable = is_usable_id(job_id);
            if !usable {
                tracing::warn!(job_id = %printable(job_id), "a recorded job ID is not a usable job ID; it is not polled");
            }
            usable
        })
        .cloned()
        .collect()
}

/// Polls the jobs of `job_ids` still pending, `concurrency` at a time, recording each answer
/// as it arrives, until all have answered or `until`; then saves. Returns how many are still
/// pending.
async fn round(
    client: &Client,
    journal: &mut Journal<'_>,
    job_ids: &[String],
    concurrency: usize,
    until: Instant,
    report: &mut FollowReport,
    on_ended: &(dyn Fn(&JobRecord) + Sync),
) -> anyhow::Result<usize> {
    let open: Vec<(String, Vec<String>)> = journal
        .state
        .pending_jobs()
        .filter(|job| job_ids.contains(&job.job_id))
        .map(|job| (job.job_id.clone(), job.desktop_ids.clone()))
        .collect();
    let mut unread: Vec<String> = open.iter().map(|(job_id, _)| job_id.clone()).collect();
    let mut still_open = open.len();
    let mut polls = stream::iter(open)
        .map(|(job_id, desktops)| async move {
            let update = poll(client, &job_id, &desktops).await;
            (job_id, update)
        })
        .buffer_unordered(concurrency.max(1));
    while let Ok(Some((job_id, update))) = tokio::time::timeout_at(until, polls.next()).await {
        match update {
            Ok(update) => {
                unread.retain(|id| *id != job_id);
                let job = journal.state.job_mut(&job_id).expect("the job was polled");
                if record(job, update) {
                    on_ended(job);
                    still_open -= 1;
                }
            }
            Err(err) => {
                tracing::warn!(job_id = %printable(&job_id), error = %err, "could not read the job");
                report.poll_error = Some(err);
            }
        }
    }
    if !unread.is_empty() {
        tracing::debug!(jobs = unread.len(), "jobs not heard about in this round");
    }
    report.unread = unread;
    journal.save().await?;
    Ok(still_open)
}

/// Each desktop of the jobs of `job_ids`, by outcome.
fn outcomes(journal: &Journal<'_>, job_ids: &[String], report: &mut FollowReport) {
    for job in journal
        .state
        .jobs
        .iter()
        .filter(|job| job_ids.contains(&job.job_id))
    {
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
}

/// Writes what a poll learned into the job's record; true when the job has ended.
fn record(job: &mut JobRecord, update: Update) -> bool {
    job.api_status = Some(update.api_status);
    job.checked_at = Some(Timestamp::now());
    for (desktop_id, outcome) in update.outcomes {
        if job.desktop_ids.contains(&desktop_id) {
            // The name and user recorded when it was sent stay.
            match job.desktops.get_mut(&desktop_id) {
                Some(known) => known.settle(outcome),
                None => {
                    job.desktops.insert(desktop_id, outcome);
                }
            }
        }
    }
    let Some(terminal) = update.terminal else {
        return false;
    };
    // A desktop the job never reported on did not provably go.
    for id in &job.desktop_ids {
        let outcome = job
            .desktops
            .entry(id.clone())
            .or_insert(DesktopOutcome::new(OutcomeStatus::Pending, None));
        if outcome.status == OutcomeStatus::Pending {
            outcome.settle(terminal.clone());
        }
    }
    job.status = job.ended_status();
    true
}

struct Update {
    api_status: String,
    outcomes: Vec<(String, DesktopOutcome)>,
    /// For a terminal job: the outcome of every desktop no sub-job reported on.
    terminal: Option<DesktopOutcome>,
}

async fn poll(client: &Client, job_id: &str, desktops: &[String]) -> Result<Update, ApiError> {
    let job = client.show_job(job_id).await?;
    let verdict = verdict(job.status.as_deref().unwrap_or_default());
    let api_status = printable(job.status.as_deref().unwrap_or_default()).into_owned();
    let mut sub_jobs = job.sub_jobs.unwrap_or_default();
    sub_jobs.retain(|sub| is_of(sub, job_id));
    if verdict == Verdict::Complete || (verdict != Verdict::Pending && sub_jobs.is_empty()) {
        sub_jobs = list_all_sub_jobs(client, job_id, desktops).await?;
    }
    let outcomes = sub_jobs
        .iter()
        .filter_map(|sub| {
            let desktop_id = sub.entities.as_ref()?.desktop_id.clone()?;
            Some((desktop_id, sub_job_outcome(sub)?))
        })
        .collect();
    let terminal = match verdict {
        Verdict::Pending => None,
        Verdict::Succeeded if sub_jobs.is_empty() => {
            Some(DesktopOutcome::new(OutcomeStatus::Deleted, None))
        }
        Verdict::Succeeded | Verdict::Failed | Verdict::Complete => Some(DesktopOutcome::new(
            OutcomeStatus::Failed,
            Some(reason(
                job.job_error_code.as_deref(),
                job.fail_reason.as_deref(),
                &api_status,
            )),
        )),
    };
    Ok(Update {
        api_status,
        outcomes,
        terminal,
    })
}

/// Whether a sub-job belongs to the job `job_id`: one of another job says nothing about this
/// one's desktops, whatever it names.
fn is_of(sub: &JobDetailInfo, job_id: &str) -> bool {
    sub.job_id
        .as_deref()
        .is_none_or(|parent| parent.eq_ignore_ascii_case(job_id))
}

/// The sub-jobs of `job_id`, whose desktops are `desktops`, page by page. The reading ends
/// whatever the answers say: at most the pages the desktops need and one more (and never past
/// the API's largest offset), and as soon as a page adds nothing new. A reading that ends
/// short of `total_count` without a sub-job for every desktop is an error: the job's outcome
/// is not decided from part of it.
async fn list_all_sub_jobs(
    client: &Client,
    job_id: &str,
    desktops: &[String],
) -> Result<Vec<JobDetailInfo>, ApiError> {
    let most_pages = (desktops.len().div_ceil(SUB_JOB_PAGE) + 1).min(MAX_SUB_JOB_PAGES);
    let mut all: Vec<JobDetailInfo> = Vec::new();
    let mut seen = HashSet::new();
    let mut offset = 0;
    let mut total_count = 0;
    let covered = |all: &[JobDetailInfo]| {
        desktops.iter().all(|desktop| {
            all.iter().any(|sub| {
                sub.entities.as_ref().and_then(|e| e.desktop_id.as_deref())
                    == Some(desktop.as_str())
            })
        })
    };
    for _ in 0..most_pages {
        let page = client.list_sub_jobs(job_id, offset).await?;
        total_count = page.total_count;
        offset += page.jobs.len();
        let before = all.len();
        for sub in page.jobs {
            let key = (
                sub.id.clone(),
                sub.entities.as_ref().and_then(|e| e.desktop_id.clone()),
            );
            if is_of(&sub, job_id) && seen.insert(key) {
                all.push(sub);
            }
        }
        if all.len() == before || offset as u64 >= total_count || covered(&all) {
            break;
        }
    }
    if (offset as u64) < total_count && !covered(&all) {
        return Err(ApiError::Malformed {
            call: format!("list sub-jobs of job {}", printable(job_id)),
            status: 200,
            detail: format!(
                "its pages ended after {offset} of the {total_count} sub-jobs its `total_count` promised, without one for every desktop of the job"
            ),
        });
    }
    Ok(all)
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

    #[test]
    fn the_still_waiting_line() {
        let line = |jobs, desktops, seconds| {
            still_waiting_line(jobs, desktops, Duration::from_secs(seconds))
        };
        assert_eq!(
            line(3, 412, 150),
            "still waiting: 3 jobs, 412 desktops, 2m30s elapsed"
        );
        assert_eq!(line(1, 1, 5), "still waiting: 1 job, 1 desktop, 5s elapsed");
        assert_eq!(
            line(2, 7, 3725),
            "still waiting: 2 jobs, 7 desktops, 1h02m05s elapsed"
        );
    }
}
