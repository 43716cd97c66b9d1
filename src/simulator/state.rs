//! The simulator's mutable world behind one lock: inventory, jobs and counters, and the rule
//! that applies a finished job to the inventory.

use std::collections::HashMap;

use jiff::Timestamp;

use super::desktops::Desktops;
use super::jobs::Job;
use super::seed::SeedDesktop;
use super::snapshot::Snapshot;
use super::stats::Stats;

pub(super) struct State {
    pub(super) desktops: Desktops,
    jobs: Vec<Job>,
    job_position: HashMap<String, usize>,
    /// Positions of the jobs whose outcome the inventory does not show yet.
    pending: Vec<usize>,
    pub(super) stats: Stats,
}

impl State {
    pub(super) fn new(desktops: Vec<SeedDesktop>, jobs: Vec<Job>) -> State {
        let mut state = State {
            desktops: Desktops::new(desktops),
            jobs: Vec::with_capacity(jobs.len()),
            job_position: HashMap::with_capacity(jobs.len()),
            pending: Vec::new(),
            stats: Stats::default(),
        };
        for job in jobs {
            state.add_job(job);
        }
        state
    }

    pub(super) fn add_job(&mut self, job: Job) {
        let position = self.jobs.len();
        self.job_position.insert(job.id.clone(), position);
        if !job.settled {
            self.pending.push(position);
        }
        self.jobs.push(job);
    }

    pub(super) fn job(&self, id: &str) -> Option<&Job> {
        self.job_position
            .get(id)
            .map(|position| &self.jobs[*position])
    }

    pub(super) fn jobs(&self) -> &[Job] {
        &self.jobs
    }

    /// Applies every job over at `now`: deleted desktops leave the inventory; those whose
    /// sub-job failed stay, no longer marked `deleting`. Called before each request is served,
    /// so the inventory never contradicts what ShowJob reports.
    pub(super) fn settle(&mut self, now: Timestamp) {
        let (jobs, desktops) = (&mut self.jobs, &mut self.desktops);
        self.pending.retain(|position| {
            let job = &mut jobs[*position];
            if !job.is_over(now) {
                return true;
            }
            for sub in &job.sub_jobs {
                match &sub.failure {
                    None => desktops.remove(&sub.desktop_id),
                    Some(_) => {
                        if let Some(seed) = desktops.get_mut(&sub.desktop_id) {
                            seed.desktop.task_status = Some(String::new());
                        }
                    }
                }
            }
            job.settled = true;
            false
        });
    }

    pub(super) fn snapshot(&self) -> Snapshot {
        Snapshot {
            desktops: self.desktops.to_vec(),
            jobs: self.jobs.clone(),
        }
    }
}
