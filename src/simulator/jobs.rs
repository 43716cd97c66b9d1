//! A delete job and its sub-jobs (one per desktop). Status follows from the clock alone:
//! WAITING for the first quarter of the job's length, RUNNING until its end, then SUCCESS or
//! FAILED. Nothing runs in the background; each request reads the job at its own `now`.

use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::workspace::wire::{JobDetailInfo, JobEntities, ShowJobResponse};

use super::reply::CONFLICT;
use super::seed::SeedDesktop;

pub(super) const JOB_TYPE: &str = "deleteDesktops";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Job {
    pub(super) id: String,
    begin: Timestamp,
    running_at: Timestamp,
    end: Timestamp,
    pub(super) sub_jobs: Vec<SubJob>,
    /// Whether its outcome has been applied to the inventory (desktops removed or released).
    pub(super) settled: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct SubJob {
    id: String,
    pub(super) desktop_id: String,
    desktop_name: Option<String>,
    user_name: Option<String>,
    ip_address: Option<String>,
    /// Why it ends FAILED; `None` when it ends SUCCESS.
    pub(super) failure: Option<String>,
}

impl SubJob {
    pub(super) fn new(seed: &SeedDesktop, fails: bool) -> SubJob {
        let desktop = &seed.desktop;
        let failure = fails.then(|| {
            let state = desktop.status.as_deref().unwrap_or_default();
            format!(
                "Operation conflict. The desktop current instance status is [{state}] and deny \
                 operation [delete], resource id [{}].",
                desktop.desktop_id
            )
        });
        SubJob {
            id: uuid::Uuid::new_v4().to_string(),
            desktop_id: desktop.desktop_id.clone(),
            desktop_name: desktop.computer_name.clone(),
            user_name: desktop.user_name.clone(),
            ip_address: desktop.ip_address.clone(),
            failure,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Waiting,
    Running,
    Over,
}

impl Job {
    pub(super) fn new(begin: Timestamp, length: Duration, sub_jobs: Vec<SubJob>) -> Job {
        let after = |elapsed: Duration| {
            begin
                .saturating_add(elapsed)
                .expect("a plain duration always adds")
        };
        Job {
            id: uuid::Uuid::new_v4().to_string(),
            begin,
            running_at: after(length / 4),
            end: after(length),
            sub_jobs,
            settled: false,
        }
    }

    pub(super) fn is_over(&self, now: Timestamp) -> bool {
        self.phase(now) == Phase::Over
    }

    fn phase(&self, now: Timestamp) -> Phase {
        if now >= self.end {
            Phase::Over
        } else if now >= self.running_at {
            Phase::Running
        } else {
            Phase::Waiting
        }
    }

    pub(super) fn sub_status(&self, sub: &SubJob, now: Timestamp) -> &'static str {
        match self.phase(now) {
            Phase::Waiting => "WAITING",
            Phase::Running => "RUNNING",
            Phase::Over if sub.failure.is_some() => "FAILED",
            Phase::Over => "SUCCESS",
        }
    }

    /// 0 while waiting, then the share of the job's length elapsed, 100 at the end.
    fn process(&self, now: Timestamp) -> i64 {
        match self.phase(now) {
            Phase::Waiting => 0,
            Phase::Over => 100,
            Phase::Running => {
                let done = now.duration_since(self.begin).as_secs_f64();
                let length = self.end.duration_since(self.begin).as_secs_f64();
                ((done / length * 100.0) as i64).min(99)
            }
        }
    }

    fn end_time(&self, now: Timestamp) -> Option<String> {
        (self.phase(now) == Phase::Over).then(|| iso(self.end))
    }

    pub(super) fn sub_job_info(
        &self,
        sub: &SubJob,
        now: Timestamp,
        project_id: &str,
    ) -> JobDetailInfo {
        let status = self.sub_status(sub, now);
        let failed = status == "FAILED";
        JobDetailInfo {
            id: Some(sub.id.clone()),
            job_type: Some(JOB_TYPE.to_string()),
            entities: Some(JobEntities {
                desktop_id: Some(sub.desktop_id.clone()),
                product_id: None,
                user_name: sub.user_name.clone(),
                desktop_name: sub.desktop_name.clone(),
                ip_address: sub.ip_address.clone(),
            }),
            begin_time: Some(iso(self.begin)),
            end_time: self.end_time(now),
            status: Some(status.to_string()),
            error_code: failed.then(|| CONFLICT.to_string()),
            fail_reason: sub.failure.clone().filter(|_| failed),
            host: None,
            project_id: Some(project_id.to_string()),
            job_id: Some(self.id.clone()),
            process: Some(self.process(now)),
            attach_user: sub.user_name.clone(),
            entity: Some(sub.desktop_id.clone()),
            ip_address: sub.ip_address.clone(),
        }
    }

    pub(super) fn show(&self, now: Timestamp, project_id: &str) -> ShowJobResponse {
        let failed = match self.phase(now) {
            Phase::Over => self
                .sub_jobs
                .iter()
                .filter(|sub| sub.failure.is_some())
                .count(),
            _ => 0,
        };
        let status = match self.phase(now) {
            Phase::Waiting => "WAITING",
            Phase::Running => "RUNNING",
            Phase::Over if failed > 0 => "FAILED",
            Phase::Over => "SUCCESS",
        };
        let total = self.sub_jobs.len();
        ShowJobResponse {
            id: Some(self.id.clone()),
            job_type: Some(JOB_TYPE.to_string()),
            begin_time: Some(iso(self.begin)),
            end_time: self.end_time(now),
            status: Some(status.to_string()),
            job_error_code: (failed > 0).then(|| CONFLICT.to_string()),
            fail_reason: (failed > 0).then(|| format!("{failed} of {total} sub jobs failed.")),
            sub_jobs_total: Some(total as u64),
            sub_jobs: Some(
                self.sub_jobs
                    .iter()
                    .map(|sub| self.sub_job_info(sub, now, project_id))
                    .collect(),
            ),
        }
    }
}

/// ISO 8601 in UTC with milliseconds, as the service's job times.
fn iso(time: Timestamp) -> String {
    time.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_have_milliseconds_and_z() {
        let time: Timestamp = "2024-05-20T08:15:30.2149Z".parse().expect("valid");
        assert_eq!(iso(time), "2024-05-20T08:15:30.214Z");
        let whole: Timestamp = "2024-05-20T08:15:30Z".parse().expect("valid");
        assert_eq!(iso(whole), "2024-05-20T08:15:30.000Z");
    }
}
