//! Merging the state on disk into this run's state before a save. Normally this run is the
//! only writer and there is nothing to merge; but a run whose lock was broken (`force-unlock`)
//! and the run that took the lock next both write the same file, and neither may drop a record
//! the other wrote. Records are only ever added, except a job's outcomes, which only advance:
//! so the merge is a union, and for a job both know, each desktop's more advanced outcome.
//!
//! A record this run removed since its last save (an unconfirmed entry it resolved) comes back
//! if the other writer still had it: the safe side, as it only holds desktops back longer.

use std::collections::HashMap;
use std::hash::Hash;

use super::{JobRecord, JobStatus, OutcomeStatus, State};

/// Adds to `ours` every record of `theirs` it does not have, and for a job both have, what
/// either learned. Records already in `ours` keep their positions (an index into one of its
/// lists stays valid); records only in `theirs` are appended in their order. `serial` becomes
/// the larger of the two, so the next write is newer than both. The caller checks that both
/// are one history (lineage and project).
pub fn merge(ours: &mut State, theirs: State) {
    // Taken apart whole, so that a list added to `State` does not compile until it is merged.
    let State {
        format_version: _,
        lineage: _,
        serial,
        project_id: _,
        jobs,
        refused,
        unconfirmed,
        intents,
    } = theirs;
    ours.serial = ours.serial.max(serial);
    merge_jobs(&mut ours.jobs, jobs);
    append_missing(&mut ours.refused, refused, |r| {
        (
            r.desktop_id.clone(),
            r.at,
            r.http_status,
            r.error_code.clone(),
            r.message.clone(),
        )
    });
    append_missing(&mut ours.unconfirmed, unconfirmed, |u| {
        (u.at, u.desktop_ids.clone(), u.error.clone())
    });
    // An intent the other writer still holds open stays open: at worst its desktops are held
    // back until the next run resolves it again (its job is then recorded already, so its
    // desktops are read and found deleting or gone).
    append_missing(&mut ours.intents, intents, |intent| intent.id.clone());
    // A new list goes here: `append_missing` keyed by the whole record for records that are
    // only ever added; a rule of its own (like `merge_job`) for records that change.
}

/// Appends each record of `theirs` whose key no record of `ours` has.
fn append_missing<T, K: Eq + Hash>(ours: &mut Vec<T>, theirs: Vec<T>, key: impl Fn(&T) -> K) {
    let mut known: std::collections::HashSet<K> = ours.iter().map(&key).collect();
    for record in theirs {
        if known.insert(key(&record)) {
            ours.push(record);
        }
    }
}

fn merge_jobs(ours: &mut Vec<JobRecord>, theirs: Vec<JobRecord>) {
    let mut index: HashMap<String, usize> = ours
        .iter()
        .enumerate()
        .map(|(at, job)| (job.job_id.clone(), at))
        .collect();
    for job in theirs {
        match index.get(&job.job_id) {
            Some(&at) => merge_job(&mut ours[at], job),
            None => {
                index.insert(job.job_id.clone(), ours.len());
                ours.push(job);
            }
        }
    }
}

/// How far a desktop's outcome has got: an ended one is never taken back to pending. Of two
/// ended ones, deleted wins: a desktop seen gone is gone.
fn rank(status: OutcomeStatus) -> u8 {
    match status {
        OutcomeStatus::Pending => 0,
        OutcomeStatus::Failed => 1,
        OutcomeStatus::Deleted => 2,
    }
}

/// One job as both writers know it: the union of its desktops, each with the more advanced
/// outcome; the API's word from the later check; ended if either saw it end.
fn merge_job(ours: &mut JobRecord, theirs: JobRecord) {
    for id in theirs.desktop_ids {
        if !ours.desktop_ids.contains(&id) {
            ours.desktop_ids.push(id);
        }
    }
    for (id, outcome) in theirs.desktops {
        let mine = ours.desktops.entry(id).or_insert_with(|| outcome.clone());
        if rank(outcome.status) > rank(mine.status) {
            mine.settle(outcome);
        }
    }
    if ours.run.is_none() {
        ours.run = theirs.run;
    }
    if theirs.checked_at > ours.checked_at {
        ours.checked_at = theirs.checked_at;
        ours.api_status = theirs.api_status;
    }
    if ours.status != JobStatus::Pending || theirs.status != JobStatus::Pending {
        ours.status = ours.ended_status();
    }
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;

    use super::*;
    use crate::state::{DesktopOutcome, Refusal, Unconfirmed};

    fn job(job_id: &str, ids: &[&str]) -> JobRecord {
        JobRecord {
            job_id: job_id.into(),
            submitted_at: Timestamp::UNIX_EPOCH,
            desktop_ids: ids.iter().map(|id| id.to_string()).collect(),
            status: JobStatus::Pending,
            api_status: None,
            checked_at: None,
            desktops: ids
                .iter()
                .map(|id| (id.to_string(), outcome(OutcomeStatus::Pending)))
                .collect(),
            run: None,
        }
    }

    fn outcome(status: OutcomeStatus) -> DesktopOutcome {
        DesktopOutcome::new(status, None)
    }

    fn refusal(desktop_id: &str) -> Refusal {
        Refusal {
            desktop_id: desktop_id.into(),
            at: Timestamp::UNIX_EPOCH,
            http_status: 409,
            error_code: "WKS.0001".into(),
            message: "busy".into(),
        }
    }

    fn unconfirmed(ids: &[&str]) -> Unconfirmed {
        Unconfirmed {
            at: Timestamp::UNIX_EPOCH,
            desktop_ids: ids.iter().map(|id| id.to_string()).collect(),
            error: "timed out".into(),
        }
    }

    /// The same history, as two writers hold it.
    fn two_writers() -> (State, State) {
        let mut base = State::new("p");
        base.serial = 5;
        base.jobs.push(job("j1", &["a", "b"]));
        (base.clone(), base)
    }

    #[test]
    fn every_record_of_either_writer_is_kept_and_ours_keep_their_places() {
        let (mut ours, mut theirs) = two_writers();
        ours.jobs.push(job("j2", &["c"]));
        ours.refused.push(refusal("x"));
        ours.unconfirmed.push(unconfirmed(&["u1"]));
        theirs.serial = 7;
        theirs.jobs.push(job("j3", &["d"]));
        theirs.refused.extend([refusal("x"), refusal("y")]);
        theirs
            .unconfirmed
            .extend([unconfirmed(&["u2"]), unconfirmed(&["u1"])]);

        merge(&mut ours, theirs);

        let job_ids: Vec<&str> = ours.jobs.iter().map(|j| j.job_id.as_str()).collect();
        assert_eq!(job_ids, ["j1", "j2", "j3"]);
        let refused: Vec<&str> = ours.refused.iter().map(|r| r.desktop_id.as_str()).collect();
        assert_eq!(refused, ["x", "y"], "a record both have is kept once");
        let unconfirmed: Vec<&[String]> = ours
            .unconfirmed
            .iter()
            .map(|u| u.desktop_ids.as_slice())
            .collect();
        assert_eq!(unconfirmed, [["u1"], ["u2"]]);
        assert_eq!(ours.serial, 7, "the larger serial");
    }

    #[test]
    fn a_job_both_know_takes_each_desktops_more_advanced_outcome() {
        let (mut ours, mut theirs) = two_writers();
        ours.jobs[0]
            .desktops
            .insert("a".into(), outcome(OutcomeStatus::Deleted));
        ours.serial = 9;
        let job = &mut theirs.jobs[0];
        job.desktops
            .insert("b".into(), outcome(OutcomeStatus::Failed));
        job.desktops
            .insert("a".into(), outcome(OutcomeStatus::Pending));
        job.status = JobStatus::Failed;
        job.api_status = Some("FAIL".into());
        job.checked_at = Some(Timestamp::UNIX_EPOCH);

        merge(&mut ours, theirs);

        let job = &ours.jobs[0];
        assert_eq!(job.desktops["a"].status, OutcomeStatus::Deleted);
        assert_eq!(job.desktops["b"].status, OutcomeStatus::Failed);
        assert_eq!(job.status, JobStatus::Failed, "ended, as they saw it");
        assert_eq!(job.api_status.as_deref(), Some("FAIL"), "the later check");
        assert_eq!(ours.serial, 9);
        assert!(ours.pending_desktops(Timestamp::now()).is_empty());
    }

    #[test]
    fn an_ended_job_is_never_taken_back_to_pending() {
        let (mut ours, theirs) = two_writers();
        for outcome_of in ours.jobs[0].desktops.values_mut() {
            *outcome_of = outcome(OutcomeStatus::Deleted);
        }
        ours.jobs[0].status = JobStatus::Succeeded;
        merge(&mut ours, theirs);
        assert_eq!(ours.jobs[0].status, JobStatus::Succeeded);
        assert!(
            ours.jobs[0]
                .desktops
                .values()
                .all(|o| o.status == OutcomeStatus::Deleted)
        );
    }

    #[test]
    fn a_desktop_only_they_recorded_in_a_job_is_kept() {
        let (mut ours, mut theirs) = two_writers();
        theirs.jobs[0].desktop_ids.push("z".into());
        theirs.jobs[0]
            .desktops
            .insert("z".into(), outcome(OutcomeStatus::Pending));
        merge(&mut ours, theirs);
        assert_eq!(ours.jobs[0].desktop_ids, ["a", "b", "z"]);
        assert!(ours.pending_desktops(Timestamp::now()).contains("z"));
    }
}
