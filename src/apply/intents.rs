//! Resolving intents: batch-deletes a run recorded and sent, but whose answer it never
//! recorded (it was killed, or stopped waiting). Each is matched to the job the service
//! created for it through the sub-job list (`job_type=deleteDesktops`: each sub-job names its
//! desktop and its parent job); an intent no job matches is settled by reading its desktops
//! again: those being deleted or gone were taken by a job whose ID stays unknown (recorded as
//! unconfirmed), the untouched ones were not (free to plan again).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;

use jiff::Timestamp;

use super::Journal;
use crate::inventory::{ReadError, read_by_ids};
use crate::state::{Intent, JobRecord, Unconfirmed};
use crate::workspace::{ApiError, Client};

/// The job type of a batch-delete's job, as the sub-job list filters it.
pub const DELETE_JOB_TYPE: &str = "deleteDesktops";
/// The list takes offsets up to 10,000: 11 pages at most, however many it claims to hold.
const MAX_PAGES: usize = 11;
/// Time given to a call sent just before its run died to reach the service, and to the service
/// to show its desktops as being deleted, before they are looked up.
const SETTLE: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
pub struct Resolution {
    /// (job ID, desktop IDs) of each intent whose job was found.
    pub found: Vec<(String, Vec<String>)>,
    /// Desktops of intents no job matched that the service shows being deleted or gone: taken
    /// by a job whose ID is unknown, recorded as unconfirmed.
    pub unconfirmed: Vec<String>,
    /// Desktops of intents no job matched that the service shows untouched: free to plan.
    pub untouched: Vec<String>,
    /// Intents still open because the API could not be asked, and why.
    pub left_open: usize,
    pub error: Option<ReadError>,
}

/// Resolves every open intent of the journal's state, saving what it learned. An intent the
/// API cannot be asked about now stays open (its desktops stay out of plans) for a later run.
pub async fn resolve(
    client: &Client,
    journal: &mut Journal<'_>,
    concurrency: usize,
) -> anyhow::Result<Resolution> {
    let mut resolution = Resolution::default();
    let intents = journal.state.intents.clone();
    if intents.is_empty() {
        return Ok(resolution);
    }
    settle(&intents).await;
    let recorded: HashSet<&str> = journal
        .state
        .jobs
        .iter()
        .map(|job| job.job_id.as_str())
        .collect();
    let jobs = match deletion_jobs(client, &intents, &recorded).await {
        Ok(jobs) => jobs,
        Err(err) => {
            resolution.left_open = intents.len();
            resolution.error = Some(err.into());
            return Ok(resolution);
        }
    };
    let (matched, unmatched) = match_intents(&intents, &jobs);
    for (intent, job_id) in matched {
        journal.state.close_intent(&intent.id);
        journal
            .state
            .jobs
            .push(JobRecord::pending(&job_id, &intent.desktop_ids, intent.at));
        resolution.found.push((job_id, intent.desktop_ids.clone()));
    }
    if !unmatched.is_empty() {
        let ids: Vec<String> = unmatched
            .iter()
            .flat_map(|intent| intent.desktop_ids.iter().cloned())
            .collect();
        match read_by_ids(client, &ids, concurrency).await {
            Ok(now) => {
                let untouched: HashSet<String> = now
                    .into_iter()
                    .filter(|desktop| !desktop.is_deleting())
                    .map(|desktop| desktop.id)
                    .collect();
                for intent in unmatched {
                    let (free, taken): (Vec<String>, Vec<String>) = intent
                        .desktop_ids
                        .iter()
                        .cloned()
                        .partition(|id| untouched.contains(id));
                    journal.state.close_intent(&intent.id);
                    if !taken.is_empty() {
                        journal.state.unconfirmed.push(Unconfirmed {
                            at: Timestamp::now(),
                            desktop_ids: taken.clone(),
                            error: "the run that sent this batch-delete stopped before its answer arrived, and no job of the service names these desktops; they are being deleted or gone".to_string(),
                        });
                    }
                    resolution.unconfirmed.extend(taken);
                    resolution.untouched.extend(free);
                }
            }
            Err(err) => {
                resolution.left_open = unmatched.len();
                resolution.error = Some(err);
            }
        }
    }
    if resolution.left_open < intents.len() {
        journal.save().await?;
    }
    Ok(resolution)
}

/// Waits until the newest intent is `SETTLE` old (at most `SETTLE`).
async fn settle(intents: &[Intent]) {
    let Some(newest) = intents.iter().map(|intent| intent.at).max() else {
        return;
    };
    // An intent from the future (the clock was set back) is waited for as if just made.
    let age = Duration::try_from(Timestamp::now().duration_since(newest)).unwrap_or_default();
    tokio::time::sleep(SETTLE.saturating_sub(age)).await;
}

/// The desktops of every deletion job not recorded yet that names a desktop of an intent,
/// read from the sub-job list page by page: at most `MAX_PAGES`, stopping at an empty page, at
/// `total_count`, or at a page that repeats the one before (an offset ignored).
async fn deletion_jobs(
    client: &Client,
    intents: &[Intent],
    recorded: &HashSet<&str>,
) -> Result<HashMap<String, BTreeSet<String>>, ApiError> {
    let mut jobs: HashMap<String, BTreeSet<String>> = HashMap::new();
    let mut offset = 0;
    let mut previous_first: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = client
            .list_sub_jobs_of_type(DELETE_JOB_TYPE, offset)
            .await?;
        let got = page.jobs.len();
        let first = page.jobs.first().and_then(|sub| sub.id.clone());
        if got == 0 || (first.is_some() && first == previous_first) {
            break;
        }
        previous_first = first;
        for sub in page.jobs {
            let desktop = sub.entities.and_then(|entities| entities.desktop_id);
            if let (Some(job_id), Some(desktop)) = (sub.job_id, desktop)
                && is_usable_job_id(&job_id)
                && !recorded.contains(job_id.as_str())
            {
                jobs.entry(job_id).or_default().insert(desktop);
            }
        }
        offset += got;
        if offset as u64 >= page.total_count {
            break;
        }
    }
    let wanted: HashSet<&str> = intents
        .iter()
        .flat_map(|intent| intent.desktop_ids.iter().map(String::as_str))
        .collect();
    jobs.retain(|_, desktops| desktops.iter().any(|id| wanted.contains(id.as_str())));
    Ok(jobs)
}

/// A job ID that can be recorded and polled: one plain path segment (a job ID is a UUID). A
/// sub-job naming anything else is not trusted to name its job.
fn is_usable_job_id(job_id: &str) -> bool {
    !job_id.is_empty()
        && job_id.len() <= 255
        && job_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Pairs each intent with the one job whose desktops are all among its own (a job holds only
/// what its call sent); an intent with no such job, or several, is unmatched. A job is paired
/// once at most.
fn match_intents<'a>(
    intents: &'a [Intent],
    jobs: &HashMap<String, BTreeSet<String>>,
) -> (Vec<(&'a Intent, String)>, Vec<&'a Intent>) {
    let mut matched = Vec::new();
    let mut unmatched = Vec::new();
    let mut taken: HashSet<&str> = HashSet::new();
    for intent in intents {
        let sent: HashSet<&str> = intent.desktop_ids.iter().map(String::as_str).collect();
        let candidates: Vec<&String> = jobs
            .iter()
            .filter(|(job_id, desktops)| {
                !taken.contains(job_id.as_str())
                    && !desktops.is_empty()
                    && desktops.iter().all(|id| sent.contains(id.as_str()))
            })
            .map(|(job_id, _)| job_id)
            .collect();
        match candidates.as_slice() {
            [job_id] => {
                taken.insert(job_id.as_str());
                matched.push((intent, (*job_id).clone()));
            }
            _ => unmatched.push(intent),
        }
    }
    (matched, unmatched)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intent(ids: &[&str]) -> Intent {
        Intent::new(ids.iter().map(|id| id.to_string()).collect())
    }

    fn jobs(list: &[(&str, &[&str])]) -> HashMap<String, BTreeSet<String>> {
        list.iter()
            .map(|(job, ids)| {
                let ids = ids.iter().map(|id| id.to_string()).collect();
                (job.to_string(), ids)
            })
            .collect()
    }

    #[test]
    fn an_intent_takes_the_one_job_within_its_desktops() {
        let intents = [intent(&["a", "b"]), intent(&["c"]), intent(&["d", "e"])];
        let known = jobs(&[
            ("j1", &["a", "b"]),
            // Names a desktop of the third intent and one it never sent: not its job.
            ("j2", &["d", "x"]),
            ("j3", &["z"]),
        ]);
        let (matched, unmatched) = match_intents(&intents, &known);
        assert_eq!(matched.len(), 1);
        assert_eq!(matched[0].0.desktop_ids, ["a", "b"]);
        assert_eq!(matched[0].1, "j1");
        assert_eq!(unmatched.len(), 2);
    }

    #[test]
    fn two_jobs_within_one_intent_are_ambiguous() {
        let intents = [intent(&["a", "b", "c"])];
        let known = jobs(&[("j1", &["a"]), ("j2", &["b", "c"])]);
        let (matched, unmatched) = match_intents(&intents, &known);
        assert!(
            matched.is_empty(),
            "which of the two is the call's is unknown"
        );
        assert_eq!(unmatched.len(), 1);
    }

    #[test]
    fn only_plain_job_ids_are_taken_from_sub_jobs() {
        assert!(is_usable_job_id("3f2a1c9e-0d4b-4e8f-9a7c-5b6d7e8f9a0b"));
        for odd in ["", "..", ".", "a/b", "a b", "job\u{1b}[2K", "../jobs"] {
            assert!(!is_usable_job_id(odd), "{odd:?}");
        }
    }

    #[test]
    fn a_job_serves_one_intent_only() {
        let intents = [intent(&["a", "b"]), intent(&["a", "b"])];
        let known = jobs(&[("j1", &["a", "b"])]);
        let (matched, unmatched) = match_intents(&intents, &known);
        assert_eq!(matched.len(), 1);
        assert_eq!(unmatched.len(), 1);
    }
}
