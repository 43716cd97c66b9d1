//! What `apply` tells the user: the calls an earlier run left open, the submission, the jobs,
//! and the last line with its numbers; and the exit code they add up to.

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use crate::apply::{FollowReport, Resolution, Stop, SubmitReport};
use crate::error::exit;
use crate::interrupt::Signal;
use crate::output::Output;
use crate::workspace::ApiError;

/// Where a report's lines go: the terminal's streams, or with `apply --json` those and events.
pub(in crate::commands) trait Say {
    fn warning(&self, message: &str);
    fn note(&self, message: &str);
}

impl Say for Output {
    fn warning(&self, message: &str) {
        Output::warning(self, message);
    }

    fn note(&self, message: &str) {
        Output::note(self, message);
    }
}

pub(super) fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

pub(super) fn exit_code(submitted: &SubmitReport, followed: Option<&FollowReport>) -> u8 {
    let failed = !submitted.is_complete() || followed.is_some_and(|f| !f.failed.is_empty());
    let timed_out = followed.is_some_and(|f| !f.pending.is_empty());
    if failed {
        exit::PARTIAL
    } else if timed_out {
        exit::TIMEOUT
    } else {
        exit::OK
    }
}

/// How a desktop is named in messages: its computer name when known, and its ID.
pub(super) fn label(names: &HashMap<String, String>, id: &str) -> String {
    match names.get(id) {
        Some(name) if !name.is_empty() => format!("`{name}` ({id})"),
        _ => format!("`{id}`"),
    }
}

pub(super) fn report_submission(
    report: &SubmitReport,
    names: &HashMap<String, String>,
    output: &impl Say,
) {
    let jobs = report.jobs.len();
    output.note(&format!(
        "Submitted {} desktop{} for deletion in {jobs} job{}.",
        report.submitted(),
        plural(report.submitted()),
        plural(jobs)
    ));
    for gone in &report.gone {
        output.note(&format!(
            "Desktop {} no longer exists (HTTP 404); nothing to delete.",
            label(names, &gone.desktop_id)
        ));
    }
    for refusal in &report.refused {
        output.warning(&format!(
            "desktop {} was refused: HTTP {} {}: {}",
            label(names, &refusal.desktop_id),
            refusal.http_status,
            refusal.error_code,
            refusal.message
        ));
    }
    if let Some(err) = &report.stopped_by {
        output.warning(&format!("sending stopped: {err}"));
        if let Some(hint) = err.hint() {
            output.note(&format!("  hint: {hint}"));
        }
    }
    if !report.unconfirmed.is_empty() {
        let why: Vec<String> = report
            .lost_answers
            .iter()
            .map(|err| err.to_string())
            .collect();
        output.warning(&format!(
            "the answer to a batch-delete was lost or cannot be trusted ({}); {} desktop{} may be being deleted by a job whose ID is unknown. They are recorded in the state file and kept out of plans until the API shows what happened",
            why.join("; "),
            report.unconfirmed.len(),
            plural(report.unconfirmed.len())
        ));
    }
    if !report.answer_unknown.is_empty() {
        let count = report.answer_unknown.len();
        output.warning(&format!(
            "{count} desktop{} {} in calls still unanswered when apply stopped waiting; the state file records {} as sent with the answer unknown, and the next `deskprune apply` or `deskprune jobs --refresh` looks up the job",
            plural(count),
            if count == 1 { "was" } else { "were" },
            if count == 1 { "it" } else { "them" },
        ));
    }
    if !report.not_sent.is_empty() {
        // After a refusal only its fix helps (a permission, say): running again alone would
        // meet the same refusal.
        let next = if report
            .stopped_by
            .as_ref()
            .is_some_and(ApiError::is_client_refusal)
        {
            "the refusal above stopped sending"
        } else {
            "run apply again to send them"
        };
        output.warning(&format!(
            "{} desktop{} not sent; {next}",
            report.not_sent.len(),
            if report.not_sent.len() == 1 {
                " was"
            } else {
                "s were"
            }
        ));
    }
}

pub(super) fn report_jobs(
    report: &FollowReport,
    names: &HashMap<String, String>,
    output: &impl Say,
) {
    for (id, reason) in &report.failed {
        output.warning(&format!(
            "desktop {} was not deleted: {reason}",
            label(names, id)
        ));
    }
    if let Some(err) = &report.poll_error
        && !report.pending.is_empty()
    {
        output.warning(&format!("the last job poll failed: {err}"));
    }
}

/// The last line of an apply, on stdout: how it ended, in numbers.
pub(super) fn summary(
    code: u8,
    submitted: &SubmitReport,
    followed: Option<&FollowReport>,
) -> String {
    let mut parts = Vec::new();
    let mut count = |n: usize, what: &str| {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    };
    match followed {
        Some(followed) => {
            count(followed.deleted.len(), "deleted");
            count(followed.failed.len(), "failed");
        }
        None => count(submitted.submitted(), "submitted"),
    }
    count(submitted.gone.len(), "already gone");
    count(submitted.refused.len(), "refused");
    count(submitted.unconfirmed.len(), "unconfirmed");
    count(
        submitted.answer_unknown.len(),
        "sent with the answer unknown",
    );
    count(submitted.unresolved.len(), "unresolved");
    count(submitted.not_sent.len(), "not sent");
    if let Some(followed) = followed {
        count(followed.pending.len(), "still being deleted");
    }
    let lead = match code {
        exit::OK => "Apply complete",
        exit::TIMEOUT => "Stopped waiting",
        exit::INTERRUPTED | exit::TERMINATED => "Apply interrupted",
        _ => "Apply incomplete",
    };
    if parts.is_empty() {
        format!("{lead}: nothing to delete.")
    } else {
        format!("{lead}: {}.", parts.join(", "))
    }
}

/// What resolving the calls an earlier run sent without recording their answer found.
pub(in crate::commands) fn resolution(resolution: &Resolution, output: &impl Say) {
    for (job_id, ids) in &resolution.found {
        output.note(&format!(
            "An earlier run sent a batch-delete of {} desktop{} and stopped before recording its answer; found the job it created, {job_id}, and recorded it.",
            ids.len(),
            plural(ids.len())
        ));
    }
    if !resolution.unconfirmed.is_empty() {
        let count = resolution.unconfirmed.len();
        output.warning(&format!(
            "an earlier run sent {count} desktop{} for deletion and stopped before recording the answer; no job of the service names them, but they are being deleted or gone. They are recorded as unconfirmed and kept out of plans until the API shows what happened",
            plural(count)
        ));
    }
    if !resolution.untouched.is_empty() {
        let count = resolution.untouched.len();
        output.note(&format!(
            "{count} desktop{} an earlier run was about to send when it stopped {} untouched; {} planned again.",
            plural(count),
            if count == 1 { "is" } else { "are" },
            if count == 1 { "it is" } else { "they are" },
        ));
    }
    if resolution.left_open > 0 {
        let count = resolution.left_open;
        let why = resolution
            .error
            .as_ref()
            .map(|err| format!(": {err}"))
            .unwrap_or_default();
        output.warning(&format!(
            "could not look up {count} batch-delete{} an earlier run sent without recording the answer{why}; {} desktops stay out of plans until `deskprune apply` or `deskprune jobs --refresh` can",
            plural(count),
            if count == 1 { "its" } else { "their" },
        ));
    }
}

/// A signal before the first call: nothing to save. Returns the exit code.
pub(super) fn stopped_before_sending(signal: Signal, output: &impl Say) -> u8 {
    output.warning(&format!(
        "received {} before anything was sent; nothing was sent, nothing was deleted",
        signal.name()
    ));
    signal.exit_code()
}

/// Said the moment sending stops early, while the calls in flight are waited for.
pub(super) fn stopping(why: &Stop, in_flight: usize, grace: Duration, output: &impl Say) {
    let waiting = match in_flight {
        0 => String::new(),
        n => format!(
            "; waiting up to {} s for the {n} call{} in flight, so that {} recorded",
            grace.as_secs(),
            plural(n),
            if n == 1 {
                "its job is"
            } else {
                "their jobs are"
            }
        ),
    };
    match why {
        Stop::Signal(signal) => output.warning(&format!(
            "received {}: no further batch-delete is started{waiting}{}",
            signal.name(),
            if in_flight > 0 {
                " (send it again to stop waiting)"
            } else {
                ""
            }
        )),
        Stop::SaveFailed(err) => output.warning(&format!(
            "{err}; no further batch-delete is started{waiting}{}every accepted job ID is printed below",
            if in_flight > 0 { "; then " } else { "; " }
        )),
    }
}

/// After a signal stopped sending: what is recorded, and how to go on.
pub(super) fn interrupted_sending(signal: Signal, state: &str, output: &impl Say) {
    output.warning(&format!(
        "apply stopped by {}; every answer that arrived is recorded in `{}`. Run `deskprune apply` again to follow the jobs and send the rest",
        signal.name(),
        state
    ));
}

/// After a signal stopped the wait for the jobs.
pub(super) fn interrupted_following(signal: Signal, state: &str, output: &impl Say) {
    output.warning(&format!(
        "received {} while following the jobs; every job is recorded in `{}`: `deskprune jobs --refresh` shows how they end, and `deskprune apply` follows them",
        signal.name(),
        state
    ));
}

/// The state file could not be written after sending started: every accepted job ID, with its
/// desktops, on stderr (even with `--quiet`), as the file may not hold them.
pub(super) fn unsaved(report: &SubmitReport, err: &str, state: &str, output: &Output) {
    let styles = &output.stderr;
    let mut text = format!(
        "{}error:{:#} the state file could not be written after sending started: {err}\n",
        styles.error, styles.error
    );
    text.push_str(&format!(
        "  `{}` may not record what the service accepted. Keep this list: each accepted batch-delete's job ID and its desktops.\n",
        state
    ));
    text.push_str("  --- accepted batch-deletes\n");
    for (job_id, ids) in &report.jobs {
        text.push_str(&format!("  job {job_id}: {}\n", ids.join(" ")));
    }
    if report.jobs.is_empty() {
        text.push_str("  (none)\n");
    }
    for (what, ids) in [
        ("sent, answer lost (job unknown)", &report.unconfirmed),
        (
            "sent, answer not awaited (job unknown)",
            &report.answer_unknown,
        ),
    ] {
        if !ids.is_empty() {
            text.push_str(&format!("  {what}: {}\n", ids.join(" ")));
        }
    }
    text.push_str("  ---\n");
    let fix = if state.starts_with("s3://") {
        "check the state store (reachable, writable, its lock not taken by another run)"
    } else {
        "make the state file's folder writable (free space, permissions)"
    };
    text.push_str(&format!(
        "  {}hint:{:#} {fix}, then run `deskprune jobs --refresh`: it finds the jobs of calls the state holds as sent\n",
        styles.header, styles.header
    ));
    let _ = std::io::stderr().write_all(text.as_bytes());
}
