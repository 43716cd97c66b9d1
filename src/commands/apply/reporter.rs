//! Where apply reports: the human view (the plan and the summary line on stdout, narration on
//! stderr), or with `--json` the same run as events on stdout. Narration and warnings stay on
//! stderr as text in both; a warning is an event too. The wording lives in `report`; this
//! only decides where it goes.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use super::events::{Counts, EventKind, Events, JobEnd, Outcome, RunResult};
use super::report::{self, Say};
use crate::apply::{FollowReport, SubmitReport};
use crate::cli::Format;
use crate::document::PlanDocument;
use crate::error::{Error, exit};
use crate::model::Kept;
use crate::output::Output;
use crate::state::{JobRecord, JobStatus, OutcomeStatus};

pub(super) struct Reporter<'a> {
    pub output: &'a Output,
    events: Option<Events>,
    /// The `summary` event, held until the run has released the state and its lock, so
    /// that the warnings of those steps come before it and it is the last line.
    summary: Mutex<Option<EventKind>>,
}

impl Say for Reporter<'_> {
    fn warning(&self, message: &str) {
        self.output.warning(message);
        self.emit(|| EventKind::Warning {
            message: message.to_string(),
        });
    }

    fn note(&self, message: &str) {
        self.output.note(message);
    }
}

impl<'a> Reporter<'a> {
    pub fn new(output: &'a Output, json: bool) -> Reporter<'a> {
        Reporter {
            output,
            events: json.then(|| Events::new(Box::new(std::io::stdout()))),
            summary: Mutex::new(None),
        }
    }

    fn emit(&self, event: impl FnOnce() -> EventKind) {
        if let Some(events) = &self.events {
            events.emit(event());
        }
    }

    /// The plan about to be carried out: printed, or a `plan` event (its warnings, which the
    /// human view shows, become warnings).
    pub fn plan(&self, document: &PlanDocument, kept: &[Kept]) -> Result<(), Error> {
        if self.events.is_none() {
            return crate::commands::plan::print(document, kept, Format::Human, self.output);
        }
        self.emit(|| EventKind::Plan {
            plan: Box::new(document.clone()),
        });
        for warning in &document.warnings {
            self.warning(warning);
        }
        Ok(())
    }

    /// An accepted batch-delete, as soon as its job ID is recorded.
    pub fn chunk_submitted(&self, job_id: &str, desktop_ids: &[String]) {
        self.emit(|| EventKind::ChunkSubmitted {
            job_id: job_id.to_string(),
            desktop_ids: desktop_ids.to_vec(),
        });
    }

    fn outcome(
        &self,
        names: &HashMap<String, String>,
        id: &str,
        outcome: Outcome,
        reason: Option<String>,
    ) {
        self.emit(|| EventKind::DesktopOutcome {
            desktop_id: id.to_string(),
            name: names.get(id).cloned(),
            outcome,
            reason,
        });
    }

    /// What sending learned beyond the accepted jobs: refusals, desktops gone, lost answers.
    pub fn submission(&self, submitted: &SubmitReport, names: &HashMap<String, String>) {
        report::report_submission(submitted, names, self);
        if self.events.is_none() {
            return;
        }
        for refusal in &submitted.refused {
            self.emit(|| EventKind::ChunkRefused {
                desktop_id: refusal.desktop_id.clone(),
                http_status: refusal.http_status,
                error_code: refusal.error_code.clone(),
                message: refusal.message.clone(),
            });
            let reason = format!("HTTP {} {}", refusal.http_status, refusal.error_code);
            self.outcome(names, &refusal.desktop_id, Outcome::Refused, Some(reason));
        }
        for gone in &submitted.gone {
            self.outcome(names, &gone.desktop_id, Outcome::AlreadyGone, None);
        }
        if !submitted.unconfirmed.is_empty() {
            let why: Vec<String> = submitted
                .lost_answers
                .iter()
                .map(ToString::to_string)
                .collect();
            self.emit(|| EventKind::Unconfirmed {
                desktop_ids: submitted.unconfirmed.clone(),
                reason: why.join("; "),
            });
        }
        for (ids, outcome) in [
            (&submitted.unconfirmed, Outcome::Unconfirmed),
            (&submitted.answer_unknown, Outcome::AnswerUnknown),
            (&submitted.not_sent, Outcome::NotSent),
        ] {
            for id in ids {
                self.outcome(names, id, outcome, None);
            }
        }
    }

    /// A followed job ended: the job, then each of its desktops.
    pub fn job_ended(&self, job: &JobRecord, names: &HashMap<String, String>) {
        if self.events.is_none() {
            return;
        }
        let status = match job.status {
            JobStatus::Succeeded => JobEnd::Succeeded,
            JobStatus::Failed => JobEnd::Failed,
            JobStatus::Pending => return,
        };
        self.emit(|| EventKind::JobEnded {
            job_id: job.job_id.clone(),
            status,
        });
        for (id, outcome) in &job.desktops {
            let outcome_is = match outcome.status {
                OutcomeStatus::Deleted => Outcome::Deleted,
                OutcomeStatus::Failed => Outcome::Failed,
                OutcomeStatus::Pending => Outcome::Pending,
            };
            self.outcome(names, id, outcome_is, outcome.reason.clone());
        }
    }

    /// How the jobs ended: the failures said, and the desktops whose job did not end.
    pub fn jobs(&self, followed: &FollowReport, names: &HashMap<String, String>) {
        report::report_jobs(followed, names, self);
        for id in &followed.pending {
            self.outcome(names, id, Outcome::Pending, None);
        }
    }

    /// The last word: the summary line, or the `summary` event.
    pub fn finish(&self, code: u8, submitted: &SubmitReport, followed: Option<&FollowReport>) {
        let line = report::summary(code, submitted, followed);
        if self.events.is_none() {
            self.output.result(&line);
            return;
        }
        let counts = Counts {
            submitted: submitted.submitted(),
            deleted: followed.map_or(0, |f| f.deleted.len()),
            failed: followed.map_or(0, |f| f.failed.len()),
            still_pending: followed.map_or(0, |f| f.pending.len()),
            already_gone: submitted.gone.len(),
            refused: submitted.refused.len(),
            unconfirmed: submitted.unconfirmed.len(),
            answer_unknown: submitted.answer_unknown.len(),
            unresolved: submitted.unresolved.len(),
            not_sent: submitted.not_sent.len(),
        };
        self.summary(code, line, counts);
    }

    fn summary(&self, code: u8, message: String, counts: Counts) {
        let result = match code {
            exit::OK => RunResult::Complete,
            exit::TIMEOUT => RunResult::TimedOut,
            exit::INTERRUPTED | exit::TERMINATED => RunResult::Interrupted,
            exit::PARTIAL => RunResult::Incomplete,
            _ => RunResult::Error,
        };
        let summary = EventKind::Summary {
            exit_code: code,
            result,
            message,
            counts,
        };
        *self.summary.lock().unwrap_or_else(PoisonError::into_inner) = Some(summary);
    }

    /// Ends the stream: an error ends it with an `error` event and a summary of its own,
    /// else the summary held since the run's end is written. The error itself is said on
    /// stderr by the caller.
    pub fn close(&self, result: &Result<u8, Error>) {
        let Some(events) = &self.events else {
            return;
        };
        if let Err(err) = result {
            events.emit(EventKind::Error {
                message: err.to_string(),
                hint: err.hint(),
            });
            self.summary(
                exit::ERROR,
                format!("Apply failed: {err}"),
                Counts::default(),
            );
        }
        let summary = self
            .summary
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(summary) = summary {
            events.emit(summary);
        }
    }

    /// Ended before any summary: a stop before sending (`code`), nothing sent.
    pub fn stopped(&self, code: u8) {
        let line = report::summary(code, &SubmitReport::default(), None);
        self.summary(code, line, Counts::default());
    }
}
