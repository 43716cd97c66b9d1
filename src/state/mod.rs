//! The state file: every job deskprune submitted, with the desktops it covers and what became
//! of them. Versioned JSON, written atomically after every change, guarded by a lock.

mod file;
mod history;
mod holder;
mod lock;
mod merge;
mod remote;
mod remote_lock;
mod runs;
mod store;

pub use file::{StateError, load, save, state_path_for};
pub use history::{Described, Recording, RunInfo, git_commit, run_id};
pub use holder::Holder;
pub use lock::{LockError, StateLock, Unlocking};
pub use remote::Remote;
pub use store::{Lock, Store};

use std::collections::{BTreeMap, HashSet};

use jiff::Timestamp;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub const FORMAT_VERSION: u32 = 1;

/// How long an unconfirmed submission (a batch-delete whose answer was lost) keeps its
/// desktops out of later plans, so the service has time to show them as deleting.
pub const UNCONFIRMED_GRACE: jiff::SignedDuration = jiff::SignedDuration::from_mins(15);

/// The whole state file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// Version of this format; a newer one is refused.
    pub format_version: u32,
    /// Random ID given when the file is created: two files with the same lineage are one history.
    pub lineage: String,
    /// Incremented on every write.
    pub serial: u64,
    /// The project whose jobs these are.
    pub project_id: String,
    /// Every accepted batch-delete, oldest first.
    #[serde(default)]
    pub jobs: Vec<JobRecord>,
    /// Desktops the API refused to delete, with its reason.
    #[serde(default)]
    pub refused: Vec<Refusal>,
    /// Batch-deletes whose answer was lost: they may or may not have created a job.
    #[serde(default)]
    pub unconfirmed: Vec<Unconfirmed>,
    /// Batch-deletes about to be sent or sent, whose answer has not been recorded yet. Each is
    /// saved before its call leaves, so a run that dies before the answer arrives leaves a
    /// trace the next run resolves. Left out when empty, so a file without open intents stays
    /// readable by earlier versions; one with open intents is refused by them (they would not
    /// know to keep its desktops out of plans).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub intents: Vec<Intent>,
}

/// One accepted batch-delete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JobRecord {
    pub job_id: String,
    #[schemars(with = "String")]
    pub submitted_at: Timestamp,
    /// The IDs sent in the call that created the job.
    pub desktop_ids: Vec<String>,
    pub status: JobStatus,
    /// The job status the API last reported, verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub checked_at: Option<Timestamp>,
    /// What became of each desktop, as far as known.
    #[serde(default)]
    pub desktops: BTreeMap<String, DesktopOutcome>,
    /// The run that sent it; absent in records written before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<RunInfo>,
}

impl JobRecord {
    /// A job just learned of, created by a call that sent `desktop_ids` at `submitted_at`:
    /// nothing known yet of how it ends.
    pub fn pending(job_id: &str, desktop_ids: &[String], submitted_at: Timestamp) -> JobRecord {
        JobRecord {
            job_id: job_id.to_string(),
            submitted_at,
            desktop_ids: desktop_ids.to_vec(),
            status: JobStatus::Pending,
            api_status: None,
            checked_at: None,
            run: None,
            desktops: desktop_ids
                .iter()
                .map(|id| {
                    let outcome = DesktopOutcome {
                        status: OutcomeStatus::Pending,
                        reason: None,
                        computer_name: None,
                        user_name: None,
                    };
                    (id.clone(), outcome)
                })
                .collect(),
        }
    }
}

impl JobRecord {
    /// The status of a job that has ended: succeeded only when every one of its desktops was
    /// deleted.
    pub fn ended_status(&self) -> JobStatus {
        if self
            .desktops
            .values()
            .all(|outcome| outcome.status == OutcomeStatus::Deleted)
        {
            JobStatus::Succeeded
        } else {
            JobStatus::Failed
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Not ended (or not followed yet).
    Pending,
    Succeeded,
    /// Ended with at least one desktop not deleted.
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DesktopOutcome {
    pub status: OutcomeStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The desktop's computer name when it was sent, as the plan showed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub computer_name: Option<String>,
    /// Its user when it was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
}

impl DesktopOutcome {
    pub fn new(status: OutcomeStatus, reason: Option<String>) -> DesktopOutcome {
        DesktopOutcome {
            status,
            reason,
            computer_name: None,
            user_name: None,
        }
    }

    /// Takes `newer`'s status and reason, keeping the name and user recorded when it was sent
    /// (an outcome learned later does not know them).
    pub fn settle(&mut self, newer: DesktopOutcome) {
        self.status = newer.status;
        self.reason = newer.reason;
        if newer.computer_name.is_some() {
            self.computer_name = newer.computer_name;
        }
        if newer.user_name.is_some() {
            self.user_name = newer.user_name;
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeStatus {
    Pending,
    Deleted,
    Failed,
}

/// A desktop the API refused to delete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Refusal {
    pub desktop_id: String,
    #[schemars(with = "String")]
    pub at: Timestamp,
    pub http_status: u16,
    pub error_code: String,
    pub message: String,
}

/// A batch-delete whose answer was lost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Unconfirmed {
    #[schemars(with = "String")]
    pub at: Timestamp,
    pub desktop_ids: Vec<String>,
    pub error: String,
}

/// A batch-delete recorded before it was sent: the job ID it created (if it reached the
/// service) is not known yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Intent {
    /// Names this call (a random UUID) until its answer replaces the intent.
    pub id: String,
    /// When it was recorded, just before the call was sent.
    #[schemars(with = "String")]
    pub at: Timestamp,
    /// The IDs the call sends.
    pub desktop_ids: Vec<String>,
}

impl Intent {
    pub fn new(desktop_ids: Vec<String>) -> Intent {
        Intent {
            id: uuid::Uuid::new_v4().to_string(),
            at: Timestamp::now(),
            desktop_ids,
        }
    }
}

impl State {
    pub fn new(project_id: &str) -> State {
        State {
            format_version: FORMAT_VERSION,
            lineage: uuid::Uuid::new_v4().to_string(),
            serial: 0,
            project_id: project_id.to_string(),
            jobs: Vec::new(),
            refused: Vec::new(),
            unconfirmed: Vec::new(),
            intents: Vec::new(),
        }
    }

    /// Desktops that must not be sent again now: in a job that has not ended, in a recent
    /// unconfirmed submission, or in a call whose answer was never recorded (an open intent,
    /// until a run resolves it).
    pub fn pending_desktops(&self, now: Timestamp) -> HashSet<String> {
        let in_jobs = self
            .jobs
            .iter()
            .filter(|job| job.status == JobStatus::Pending)
            .flat_map(|job| {
                job.desktop_ids.iter().filter(|id| {
                    job.desktops
                        .get(*id)
                        .is_none_or(|outcome| outcome.status == OutcomeStatus::Pending)
                })
            });
        let unconfirmed = self
            .unconfirmed
            .iter()
            .filter(|u| now.duration_since(u.at) < UNCONFIRMED_GRACE)
            .flat_map(|u| u.desktop_ids.iter());
        let intended = self.intents.iter().flat_map(|i| i.desktop_ids.iter());
        in_jobs
            .chain(unconfirmed)
            .chain(intended)
            .cloned()
            .collect()
    }

    /// Removes the intent `id`, once its call's answer (or its absence) is recorded.
    pub fn close_intent(&mut self, id: &str) {
        self.intents.retain(|intent| intent.id != id);
    }

    pub fn pending_jobs(&self) -> impl Iterator<Item = &JobRecord> {
        self.jobs
            .iter()
            .filter(|job| job.status == JobStatus::Pending)
    }

    pub fn job_mut(&mut self, job_id: &str) -> Option<&mut JobRecord> {
        self.jobs.iter_mut().find(|job| job.job_id == job_id)
    }
}

/// The JSON Schema of the state file (draft-07, like the config's).
pub fn schema() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft07().into_generator();
    serde_json::to_value(generator.into_root_schema_for::<State>())
        .expect("a schema always serialises")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_open_intent_holds_its_desktops_however_old() {
        let mut state = State::new("p");
        let mut intent = Intent::new(vec!["a".into(), "b".into()]);
        intent.at = "2020-01-01T00:00:00Z".parse().unwrap();
        state.intents.push(intent.clone());
        let pending = state.pending_desktops(Timestamp::now());
        assert_eq!(pending, HashSet::from(["a".to_string(), "b".to_string()]));
        state.close_intent(&intent.id);
        assert!(state.pending_desktops(Timestamp::now()).is_empty());
    }

    #[test]
    fn a_state_without_intents_is_written_as_before() {
        let json = serde_json::to_value(State::new("p")).unwrap();
        assert!(json.get("intents").is_none(), "{json}");
    }
}
