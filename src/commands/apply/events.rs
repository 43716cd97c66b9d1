//! `apply --json`: the run as a stream of JSON lines on stdout, one event per line, each
//! written and flushed as it happens (like `terraform apply -json`), for CI systems. The event
//! types are this one enum; `schema/apply-events.schema.json` is its schema.

use std::io::Write;
use std::sync::Mutex;

use schemars::JsonSchema;
use serde::Serialize;

use crate::document::PlanDocument;

/// Version of the event format: 1. Within a version fields and event types are only added.
pub const FORMAT_VERSION: u32 = 1;

/// One line of `deskprune apply --json`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Event {
    /// Version of this format: 1.
    #[schemars(range(min = 1, max = 1))]
    pub format_version: u32,
    /// When the event was written (RFC 3339, UTC).
    pub timestamp: String,
    #[serde(flatten)]
    pub event: EventKind,
}

/// What happened; `type` names it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// The plan apply is about to carry out (a saved plan as it was saved): the same document
    /// as `deskprune plan --json`.
    Plan { plan: Box<PlanDocument> },
    /// A batch-delete was accepted; its job ID is in the state (should writing the state
    /// fail, stderr lists every accepted job and the run ends `incomplete`).
    ChunkSubmitted {
        job_id: String,
        desktop_ids: Vec<String>,
    },
    /// The API refused to delete one desktop (it stays; the rest of its chunk went on).
    ChunkRefused {
        desktop_id: String,
        http_status: u16,
        error_code: String,
        message: String,
    },
    /// Desktops sent for deletion whose answer was lost: they may be being deleted by a job
    /// whose ID is unknown. The state records them as unconfirmed.
    Unconfirmed {
        desktop_ids: Vec<String>,
        reason: String,
    },
    /// A followed job ended.
    JobEnded { job_id: String, status: JobEnd },
    /// What became of one desktop of this run (or of an earlier run's job followed here).
    DesktopOutcome {
        desktop_id: String,
        /// The computer name, when the plan knows it.
        name: Option<String>,
        outcome: Outcome,
        /// Why it was not deleted, when known.
        reason: Option<String>,
    },
    /// Said on stderr as `warning: …` too.
    Warning { message: String },
    /// The error that ended the run; said on stderr too.
    Error {
        message: String,
        hint: Option<String>,
    },
    /// The last event: how the run ended, in numbers.
    Summary {
        /// The process's exit code.
        exit_code: u8,
        result: RunResult,
        /// The human summary line.
        message: String,
        counts: Counts,
    },
}

#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobEnd {
    /// Every desktop of the job was deleted.
    Succeeded,
    /// At least one desktop of the job was not deleted.
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Deleted,
    /// The job ended without deleting it.
    Failed,
    /// Its job had not ended when apply stopped waiting (or was not waited for).
    Pending,
    /// The API refused to delete it.
    Refused,
    /// It no longer existed.
    AlreadyGone,
    /// Sent, the answer lost: it may be being deleted.
    Unconfirmed,
    /// Sent, the answer not awaited when apply stopped: the next run looks up its job.
    AnswerUnknown,
    /// Not sent (sending stopped early).
    NotSent,
}

/// How the run ended; `exit_code` says the same in a number.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunResult {
    /// Exit 0: everything planned is deleted (or there was nothing to delete).
    Complete,
    /// Exit 4: the time to wait for the jobs ran out with some still running.
    TimedOut,
    /// Exit 130 or 143: stopped by SIGINT or SIGTERM, after recording what was sent.
    Interrupted,
    /// Exit 3: some desktops were not deleted (refused, failed, not sent), or the state could
    /// not be written after sending started.
    Incomplete,
    /// Exit 1: an error (see the `error` event) ended the run.
    Error,
}

/// Desktops by what became of them (all zero when nothing was sent).
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct Counts {
    pub submitted: usize,
    pub deleted: usize,
    pub failed: usize,
    pub still_pending: usize,
    pub already_gone: usize,
    pub refused: usize,
    pub unconfirmed: usize,
    pub answer_unknown: usize,
    pub unresolved: usize,
    pub not_sent: usize,
}

/// Where events go: each one a line, flushed at once, so a reader sees it as it happens.
pub struct Events {
    out: Mutex<Box<dyn Write + Send>>,
}

impl Events {
    pub fn new(out: Box<dyn Write + Send>) -> Events {
        Events {
            out: Mutex::new(out),
        }
    }

    /// Writes one event. An apply must not stop because nobody reads its output any more,
    /// so a failed write is ignored (as `Output::result` does).
    pub fn emit(&self, event: EventKind) {
        let event = Event {
            format_version: FORMAT_VERSION,
            timestamp: jiff::Timestamp::now().to_string(),
            event,
        };
        let line = serde_json::to_string(&event).expect("an event always serialises");
        let mut out = self
            .out
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let _ = writeln!(out, "{line}").and_then(|()| out.flush());
    }
}

/// The JSON Schema of one line of `apply --json`.
pub fn schema() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft07().into_generator();
    serde_json::to_value(generator.into_root_schema_for::<Event>())
        .expect("a schema always serialises")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().write(buf)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn each_event_is_one_line_with_its_type_time_and_version() {
        let written = Arc::new(Mutex::new(Vec::new()));
        let events = Events::new(Box::new(Shared(written.clone())));
        events.emit(EventKind::JobEnded {
            job_id: "j1".into(),
            status: JobEnd::Succeeded,
        });
        events.emit(EventKind::Warning {
            message: "two\nlines".into(),
        });
        let text = String::from_utf8(written.lock().unwrap().clone()).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["type"], "job_ended");
        assert_eq!(lines[0]["status"], "succeeded");
        assert_eq!(lines[0]["format_version"], 1);
        assert!(lines[0]["timestamp"].as_str().unwrap().ends_with('Z'));
        assert_eq!(lines[1]["message"], "two\nlines");
    }
}
