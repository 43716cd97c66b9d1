//! What is kept of each deletion beyond its ID, for `deskprune history`: the desktop's name and
//! user (on its outcome) and the run that sent it (on its job). All optional, so state files
//! written before hold no such field and still read.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The run that sent a batch-delete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunInfo {
    /// The run's ID (`20261203T153000Z-1a2b3c4d`, a UTC start time first); with the s3 backend
    /// the name of its run record.
    pub run_id: String,
    /// The user who ran deskprune (`USER`/`USERNAME`).
    pub user: String,
    /// The host it ran on.
    pub host: String,
    /// Hex SHA-256 of the config (and its list files), as a saved plan's.
    pub config_digest: String,
    /// `git rev-parse HEAD` in the config's folder, when it is in a git repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
}

/// A desktop's name and user when it was sent, as the plan showed them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Described {
    pub computer_name: String,
    pub user_name: String,
}

/// What a run records beside each job: who sent it and what each desktop was.
#[derive(Debug, Clone, Default)]
pub struct Recording {
    pub run: Option<RunInfo>,
    pub desktops: std::collections::HashMap<String, Described>,
}

impl Recording {
    /// Fills `job`'s run and its desktops' names and users from what this run knows.
    pub fn describe(&self, job: &mut super::JobRecord) {
        job.run.clone_from(&self.run);
        for (id, outcome) in &mut job.desktops {
            if let Some(about) = self.desktops.get(id) {
                outcome.computer_name = Some(about.computer_name.clone());
                outcome.user_name = Some(about.user_name.clone());
            }
        }
    }
}

/// A run ID that sorts by time: `20261203T153000Z-1a2b3c4d`.
pub fn run_id() -> String {
    let uuid = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "{}-{}",
        jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ"),
        &uuid[..8]
    )
}

/// The commit checked out in `dir`'s git repository, or `None` when there is none, git is
/// missing, or it does not answer within 2 s: a history detail never stops a run.
pub fn git_commit(dir: &std::path::Path) -> Option<String> {
    let mut child = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "HEAD"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => break,
            Ok(Some(_)) | Err(_) => return None,
            Ok(None) if std::time::Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(10)),
        }
    }
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take()?, &mut out).ok()?;
    let commit = out.trim();
    (commit.len() >= 40 && commit.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| commit.to_string())
}

#[cfg(test)]
mod tests {
    use super::super::{JobRecord, OutcomeStatus};

    /// A record written before history was kept still reads, and one without a run or names
    /// is written exactly as before (no new key).
    #[test]
    fn records_without_history_read_and_write_as_before() {
        let before = serde_json::json!({
            "job_id": "j-1",
            "submitted_at": "2025-01-01T00:00:00Z",
            "desktop_ids": ["d-1"],
            "status": "succeeded",
            "desktops": {"d-1": {"status": "deleted"}},
        });
        let job: JobRecord = serde_json::from_value(before.clone()).unwrap();
        assert!(job.run.is_none());
        assert_eq!(job.desktops["d-1"].status, OutcomeStatus::Deleted);
        assert_eq!(serde_json::to_value(&job).unwrap(), before);
    }

    #[test]
    fn an_outcome_learned_later_keeps_the_name_and_user() {
        let mut job = JobRecord::pending("j", &["d".to_string()], jiff::Timestamp::now());
        let mut recording = super::Recording::default();
        recording.desktops.insert(
            "d".into(),
            super::Described {
                computer_name: "eng-1".into(),
                user_name: "ann".into(),
            },
        );
        recording.describe(&mut job);
        let outcome = job.desktops.get_mut("d").unwrap();
        outcome.settle(super::super::DesktopOutcome::new(
            OutcomeStatus::Failed,
            Some("why".into()),
        ));
        assert_eq!(outcome.status, OutcomeStatus::Failed);
        assert_eq!(outcome.computer_name.as_deref(), Some("eng-1"));
        assert_eq!(outcome.user_name.as_deref(), Some("ann"));
    }
}
