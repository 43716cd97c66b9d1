//! Per-run records of a remote state: when a run ends, its finished records (ended jobs,
//! refusals, unconfirmed calls) move from the head into one immutable object
//! `<key>.runs/<run-id>.json`, written only if absent. The head keeps in-flight work only
//! (open intents, unfinished jobs), so what is written after each chunk stays small however long
//! the history; reading the state is the head merged with every run record.

use std::collections::HashSet;

use anyhow::bail;
use futures_util::{StreamExt, TryStreamExt};
use object_store::{ObjectStore, PutMode, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};

use super::remote::{Remote, parse};
use super::{JobRecord, JobStatus, Refusal, State, Unconfirmed};
use crate::text::printable;

/// Run records read at once.
const READ_CONCURRENCY: usize = 16;

/// One run's finished records, never changed once written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRecord {
    pub format_version: u32,
    pub lineage: String,
    pub project_id: String,
    pub run_id: String,
    #[serde(default)]
    pub jobs: Vec<JobRecord>,
    #[serde(default)]
    pub refused: Vec<Refusal>,
    #[serde(default)]
    pub unconfirmed: Vec<Unconfirmed>,
}

/// What run records hold already, by record.
#[derive(Debug, Default)]
pub struct Archived {
    jobs: HashSet<String>,
    refused: HashSet<String>,
    unconfirmed: HashSet<String>,
}

fn key<T: Serialize>(record: &T) -> String {
    serde_json::to_string(record).expect("records always serialise")
}

impl Archived {
    fn add(&mut self, record: &RunRecord) {
        self.jobs
            .extend(record.jobs.iter().map(|job| job.job_id.clone()));
        self.refused.extend(record.refused.iter().map(key));
        self.unconfirmed.extend(record.unconfirmed.iter().map(key));
    }
}

/// The head to write for `state`: every record no run record holds. A job a run record holds
/// as ended is not written again; one still pending there (never: only ended jobs move) would
/// be kept by the merge on reading.
pub fn head_of(state: &State, archived: &Archived) -> State {
    State {
        jobs: state
            .jobs
            .iter()
            .filter(|job| !archived.jobs.contains(&job.job_id))
            .cloned()
            .collect(),
        refused: state
            .refused
            .iter()
            .filter(|r| !archived.refused.contains(&key(r)))
            .cloned()
            .collect(),
        unconfirmed: state
            .unconfirmed
            .iter()
            .filter(|u| !archived.unconfirmed.contains(&key(u)))
            .cloned()
            .collect(),
        ..state.clone()
    }
}

/// The finished records of `state` no run record holds yet: what this run's record takes.
pub fn finished(state: &State, archived: &Archived, run_id: &str) -> RunRecord {
    let head = head_of(state, archived);
    RunRecord {
        format_version: super::FORMAT_VERSION,
        lineage: state.lineage.clone(),
        project_id: state.project_id.clone(),
        run_id: run_id.to_string(),
        jobs: head
            .jobs
            .into_iter()
            .filter(|job| job.status != JobStatus::Pending)
            .collect(),
        refused: head.refused,
        unconfirmed: head.unconfirmed,
    }
}

/// Merges a run record into `state`.
pub fn merge_run(state: &mut State, record: RunRecord) {
    let theirs = State {
        format_version: record.format_version,
        lineage: record.lineage,
        serial: 0,
        project_id: record.project_id,
        jobs: record.jobs,
        refused: record.refused,
        unconfirmed: record.unconfirmed,
        intents: Vec::new(),
    };
    super::merge::merge(state, theirs);
}

impl Remote {
    /// Merges the run records under `<key>.runs/` into `state` (oldest first), and remembers
    /// what they hold: every one, or with `since` (a run ID prefix such as `20261203T000000Z`)
    /// those of runs started then or later. Run IDs begin with their UTC start time, so the
    /// listing is cut by name (S3 `start-after`) and no older record is read.
    pub(super) async fn read_runs(
        &self,
        state: &mut State,
        since: Option<&str>,
    ) -> anyhow::Result<()> {
        self.read_some_runs(state, since, usize::MAX).await
    }

    /// [`Remote::read_runs`] keeping only the `last` runs (by name: the most recent).
    pub(super) async fn read_some_runs(
        &self,
        state: &mut State,
        since: Option<&str>,
        last: usize,
    ) -> anyhow::Result<()> {
        self.count();
        let listing = match since {
            None => self.store.list(Some(&self.runs)),
            Some(since) => {
                let offset = object_store::path::Path::from(format!("{}/{since}", self.runs));
                self.store.list_with_offset(Some(&self.runs), &offset)
            }
        };
        let mut listed: Vec<_> = listing
            .map_ok(|meta| meta.location)
            .try_collect()
            .await
            .map_err(|err| self.fault("list its run records", &err))?;
        listed.sort();
        let listed = listed.split_off(listed.len().saturating_sub(last));
        let records: Vec<anyhow::Result<RunRecord>> = futures_util::stream::iter(listed)
            .map(|location| async move {
                let what = format!("{}/{}", self.describe(), location.as_ref());
                let parse = |bytes: &[u8]| parse("run record", &what, bytes);
                match self
                    .get_bounded(
                        &location,
                        "a run record",
                        super::remote::OBJECT_LIMIT,
                        parse,
                    )
                    .await?
                {
                    Some((record, _)) => Ok(record),
                    None => bail!(
                        "the state store `{}` could not read a run record: `{}` is gone",
                        self.describe(),
                        printable(location.as_ref())
                    ),
                }
            })
            .buffered(READ_CONCURRENCY)
            .collect()
            .await;
        let mut archived = self.archived.lock().expect("not poisoned");
        for record in records {
            let record = record?;
            if record.project_id != state.project_id {
                bail!(
                    "the run record `{}` of `{}` belongs to project `{}`, not `{}`",
                    printable(&record.run_id),
                    self.describe(),
                    printable(&record.project_id),
                    printable(&state.project_id)
                );
            }
            archived.add(&record);
            merge_run(state, record);
        }
        Ok(())
    }

    /// At the end of a run: moves its finished records into its run record (written only if
    /// absent), then saves the head without them.
    pub async fn archive(&self, state: &mut State) -> anyhow::Result<()> {
        let record = finished(
            state,
            &self.archived.lock().expect("not poisoned"),
            &self.run_id,
        );
        if record.jobs.is_empty() && record.refused.is_empty() && record.unconfirmed.is_empty() {
            return Ok(());
        }
        let location = self.runs.clone().join(format!("{}.json", self.run_id));
        let mut json = serde_json::to_vec_pretty(&record).expect("records always serialise");
        json.push(b'\n');
        self.count();
        match self
            .store
            .put_opts(
                &location,
                PutPayload::from(json),
                PutOptions::from(PutMode::Create),
            )
            .await
        {
            // Already there: this run's own write, whose answer was lost and retried.
            Ok(_) | Err(object_store::Error::AlreadyExists { .. }) => {}
            Err(err) => return Err(self.fault("record this run's finished jobs", &err)),
        }
        self.archived.lock().expect("not poisoned").add(&record);
        self.save(state).await
    }
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;

    use super::*;
    use crate::state::{DesktopOutcome, Intent, OutcomeStatus};

    fn job(id: &str, status: JobStatus) -> JobRecord {
        let mut job = JobRecord::pending(id, &[format!("{id}-desktop")], Timestamp::now());
        job.status = status;
        if status != JobStatus::Pending {
            for outcome in job.desktops.values_mut() {
                *outcome = DesktopOutcome::new(OutcomeStatus::Deleted, None);
            }
        }
        job
    }

    /// 1,000 runs of 100 jobs each are recorded; a new run with a chunk of 100 desktops in
    /// flight writes a head of a few KiB, not the history.
    #[test]
    fn the_head_stays_small_after_a_thousand_runs() {
        let mut state = State::new("p");
        let mut archived = Archived::default();
        for run in 0..1000 {
            let jobs: Vec<JobRecord> = (0..100)
                .map(|n| job(&format!("job-{run}-{n}"), JobStatus::Succeeded))
                .collect();
            // What `finished` takes at the end of each run: its ended jobs.
            let record = RunRecord {
                format_version: crate::state::FORMAT_VERSION,
                lineage: state.lineage.clone(),
                project_id: state.project_id.clone(),
                run_id: format!("run-{run}"),
                jobs: jobs.clone(),
                refused: Vec::new(),
                unconfirmed: Vec::new(),
            };
            archived.add(&record);
            state.jobs.extend(jobs);
        }
        assert!(finished(&state, &archived, "now").jobs.is_empty());
        let ids: Vec<String> = (0..100).map(|n| format!("d-{n:032}")).collect();
        state.intents.push(Intent::new(ids.clone()));
        state
            .jobs
            .push(JobRecord::pending("job-now", &ids, Timestamp::now()));
        let head = serde_json::to_vec_pretty(&head_of(&state, &archived)).unwrap();
        assert!(head.len() < 64 << 10, "head is {} bytes", head.len());
        println!(
            "head after 1,000 runs with a chunk in flight: {} bytes",
            head.len()
        );
        let head = head_of(&state, &archived);
        assert_eq!(head.jobs.len(), 1);
        assert_eq!(head.intents.len(), 1);
    }

    #[test]
    fn pending_jobs_and_intents_stay_in_the_head_and_ended_ones_move() {
        let mut state = State::new("p");
        state.jobs.push(job("ended", JobStatus::Failed));
        state.jobs.push(job("running", JobStatus::Pending));
        state.intents.push(Intent::new(vec!["x".into()]));
        let record = finished(&state, &Archived::default(), "r1");
        let moved: Vec<&str> = record.jobs.iter().map(|j| j.job_id.as_str()).collect();
        assert_eq!(moved, ["ended"]);
        let mut archived = Archived::default();
        archived.add(&record);
        let head = head_of(&state, &archived);
        let kept: Vec<&str> = head.jobs.iter().map(|j| j.job_id.as_str()).collect();
        assert_eq!(kept, ["running"]);
        assert_eq!(head.intents.len(), 1);
    }

    /// A run record of a newer format is refused, as a head of one is: its records may
    /// mean what this version cannot tell.
    #[test]
    fn a_run_record_of_another_format_version_is_refused() {
        let mut state = State::new("p");
        state.jobs.push(job("ended", JobStatus::Succeeded));
        let mut record = finished(&state, &Archived::default(), "r1");
        let json = serde_json::to_vec(&record).unwrap();
        assert_eq!(
            parse::<RunRecord>("run record", "s3://b/k.runs/r1.json", &json).unwrap(),
            record
        );
        record.format_version = crate::state::FORMAT_VERSION + 1;
        let json = serde_json::to_vec(&record).unwrap();
        let err = parse::<RunRecord>("run record", "s3://b/k.runs/r1.json", &json)
            .unwrap_err()
            .to_string();
        assert!(err.contains("r1.json"), "{err}");
        assert!(err.contains("format_version"), "{err}");
    }

    /// Reading is the head merged with the runs: nothing is lost, and a job both hold (a head
    /// written by a run whose lock was broken) keeps its more advanced outcome.
    #[test]
    fn head_and_runs_merge_without_losing_a_record() {
        let mut head = State::new("p");
        head.jobs.push(job("shared", JobStatus::Pending));
        head.jobs.push(job("only-head", JobStatus::Pending));
        let mut older = head.clone();
        older.jobs = vec![
            job("shared", JobStatus::Succeeded),
            job("old", JobStatus::Succeeded),
        ];
        let record = finished(&older, &Archived::default(), "r0");
        merge_run(&mut head, record);
        let mut ids: Vec<(&str, JobStatus)> = head
            .jobs
            .iter()
            .map(|j| (j.job_id.as_str(), j.status))
            .collect();
        ids.sort_by_key(|(id, _)| *id);
        assert_eq!(
            ids,
            [
                ("old", JobStatus::Succeeded),
                ("only-head", JobStatus::Pending),
                ("shared", JobStatus::Succeeded)
            ]
        );
    }
}
