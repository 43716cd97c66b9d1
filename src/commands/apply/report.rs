//! What `apply` tells the user: the calls an earlier run left open, the submission, the jobs,
//! and the last line with its numbers; and the exit code they add up to.

use std::collections::HashMap;

use crate::apply::{FollowReport, Resolution, SubmitReport};
use crate::error::exit;
use crate::output::Output;

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
    output: &Output,
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
        output.warning(&format!(
            "the answer to a batch-delete was lost; {} desktop{} may be being deleted by a job whose ID is unknown. They are recorded in the state file and kept out of plans until the API shows what happened",
            report.unconfirmed.len(),
            plural(report.unconfirmed.len())
        ));
    }
    if !report.not_sent.is_empty() {
        output.warning(&format!(
            "{} desktop{} not sent; run apply again to send them",
            report.not_sent.len(),
            if report.not_sent.len() == 1 {
                " was"
            } else {
                "s were"
            }
        ));
    }
}

pub(super) fn report_jobs(report: &FollowReport, names: &HashMap<String, String>, output: &Output) {
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
    count(submitted.not_sent.len(), "not sent");
    if let Some(followed) = followed {
        count(followed.pending.len(), "still being deleted");
    }
    let lead = match code {
        exit::OK => "Apply complete",
        exit::TIMEOUT => "Stopped waiting",
        _ => "Apply incomplete",
    };
    if parts.is_empty() {
        format!("{lead}: nothing to delete.")
    } else {
        format!("{lead}: {}.", parts.join(", "))
    }
}

/// What resolving the calls an earlier run sent without recording their answer found.
pub(in crate::commands) fn resolution(resolution: &Resolution, output: &Output) {
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
