//! `deskprune history`: every deletion recorded, one entry per desktop (its ID, name and user,
//! the job, the outcome, the time, the run that sent it), with refusals and unconfirmed calls;
//! `--since` keeps those sent since a date, `--json` prints them as an array.

use std::io::Write;

use jiff::Timestamp;
use serde::Serialize;

use crate::cli::{Global, HistoryArgs};
use crate::error::{Error, exit};
use crate::output::Output;
use crate::state::{JobStatus, OutcomeStatus, RunInfo, State};
use crate::text::printable;

/// One desktop's line in the history (the `--json` array's element).
#[derive(Debug, Serialize)]
pub struct Entry {
    /// When the outcome was learned (the job's last check), else when it was sent.
    pub at: Timestamp,
    pub submitted_at: Timestamp,
    pub desktop_id: String,
    pub computer_name: Option<String>,
    pub user_name: Option<String>,
    /// The job that deletes it; none for a refusal or an unconfirmed call.
    pub job_id: Option<String>,
    /// `deleted`, `failed`, `pending`, `refused` or `unconfirmed`.
    pub outcome: &'static str,
    pub reason: Option<String>,
    /// Who sent it; none in records written before runs were kept.
    pub run: Option<RunInfo>,
}

pub async fn run(global: &Global, args: &HistoryArgs, output: &Output) -> Result<u8, Error> {
    let since = match &args.since {
        Some(text) => Some(parse_since(text)?),
        None => None,
    };
    let state = if let Some(state_path) = &global.state
        && !global.config.exists()
    {
        super::jobs::load_without_config(state_path)?
    } else {
        let config = super::load_config(global, output)?;
        let store = super::state::open_store(&config, global, output)?;
        // Run records are named by their run's UTC start: those of runs started a day before
        // `since` are listed too, for a run that was still sending when the day began.
        let prefix = since.map(|since| {
            (since - jiff::SignedDuration::from_hours(24))
                .strftime("%Y%m%dT%H%M%SZ")
                .to_string()
        });
        store
            .load_since(&config.cloud.project_id, prefix.as_deref())
            .await?
    };
    let entries = entries(&state, since);
    let mut stdout = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut stdout, &entries).map_err(anyhow::Error::from)?;
        writeln!(stdout).map_err(anyhow::Error::from)?;
    } else if entries.is_empty() {
        output.note("No deletions recorded.");
    } else {
        write_human(&entries, &mut stdout).map_err(anyhow::Error::from)?;
    }
    Ok(exit::OK)
}

/// `2026-12-03` (midnight UTC) or a timestamp `2026-12-03T15:30:00Z`.
fn parse_since(text: &str) -> Result<Timestamp, Error> {
    if let Ok(at) = text.parse::<Timestamp>() {
        return Ok(at);
    }
    text.parse::<jiff::civil::Date>()
        .ok()
        .and_then(|date| format!("{date}T00:00:00Z").parse::<Timestamp>().ok())
        .ok_or_else(|| {
            Error::refused(
                format!("`--since {}` is not a date", printable(text)),
                "give a UTC date such as `2026-12-03` or a timestamp such as `2026-12-03T15:30:00Z`",
            )
        })
}

/// Every recorded desktop sent at or after `since`, oldest first.
pub fn entries(state: &State, since: Option<Timestamp>) -> Vec<Entry> {
    let mut entries = Vec::new();
    for job in &state.jobs {
        for id in &job.desktop_ids {
            let outcome = job.desktops.get(id);
            let status = outcome.map_or(OutcomeStatus::Pending, |o| o.status);
            let ended = job.status != JobStatus::Pending;
            entries.push(Entry {
                at: if ended {
                    job.checked_at.unwrap_or(job.submitted_at)
                } else {
                    job.submitted_at
                },
                submitted_at: job.submitted_at,
                desktop_id: id.clone(),
                computer_name: outcome.and_then(|o| o.computer_name.clone()),
                user_name: outcome.and_then(|o| o.user_name.clone()),
                job_id: Some(job.job_id.clone()),
                outcome: match status {
                    OutcomeStatus::Pending => "pending",
                    OutcomeStatus::Deleted => "deleted",
                    OutcomeStatus::Failed => "failed",
                },
                reason: outcome.and_then(|o| o.reason.clone()),
                run: job.run.clone(),
            });
        }
    }
    for refusal in &state.refused {
        entries.push(Entry {
            at: refusal.at,
            submitted_at: refusal.at,
            desktop_id: refusal.desktop_id.clone(),
            computer_name: None,
            user_name: None,
            job_id: None,
            outcome: "refused",
            reason: Some(format!(
                "{} {}: {}",
                refusal.http_status, refusal.error_code, refusal.message
            )),
            run: None,
        });
    }
    for call in &state.unconfirmed {
        for id in &call.desktop_ids {
            entries.push(Entry {
                at: call.at,
                submitted_at: call.at,
                desktop_id: id.clone(),
                computer_name: None,
                user_name: None,
                job_id: None,
                outcome: "unconfirmed",
                reason: Some(call.error.clone()),
                run: None,
            });
        }
    }
    entries.retain(|entry| since.is_none_or(|since| entry.submitted_at >= since));
    entries.sort_by(|a, b| (a.at, &a.desktop_id).cmp(&(b.at, &b.desktop_id)));
    entries
}

/// One line per desktop: time, outcome, name, ID, user, job, who. Everything from the API or
/// the state is shown escaped.
fn write_human(entries: &[Entry], out: &mut dyn Write) -> std::io::Result<()> {
    for entry in entries {
        let who = entry.run.as_ref().map_or_else(
            || "-".to_string(),
            |run| {
                // Its first 12 characters: the state is read from a file or a bucket, so the
                // commit need not be the ASCII hex git wrote.
                let commit = run.git_commit.as_deref().map_or(String::new(), |commit| {
                    format!(" @{}", commit.chars().take(12).collect::<String>())
                });
                format!("{}@{} run {}{commit}", run.user, run.host, run.run_id)
            },
        );
        writeln!(
            out,
            "{}  {:<11}  {:<20}  {}  {:<16}  {:<36}  {}",
            entry.at.strftime("%Y-%m-%d %H:%M:%S"),
            entry.outcome,
            printable(entry.computer_name.as_deref().unwrap_or("-")),
            printable(&entry.desktop_id),
            printable(entry.user_name.as_deref().unwrap_or("-")),
            printable(entry.job_id.as_deref().unwrap_or("-")),
            printable(&who),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A state whose run record names a commit that is not ASCII (edited, or written by
    /// something else) is shown, not a panic.
    #[test]
    fn a_commit_that_is_not_ascii_is_shortened_by_characters() {
        let entry = Entry {
            at: Timestamp::UNIX_EPOCH,
            submitted_at: Timestamp::UNIX_EPOCH,
            desktop_id: "d-1".into(),
            computer_name: None,
            user_name: None,
            job_id: None,
            outcome: "deleted",
            reason: None,
            run: Some(RunInfo {
                run_id: "r".into(),
                user: "u".into(),
                host: "h".into(),
                config_digest: String::new(),
                git_commit: Some("01234567890\u{e9}\u{e9}".into()),
            }),
        };
        let mut out = Vec::new();
        write_human(&[entry], &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("u@h run r @01234567890\u{e9}\n"), "{text}");
    }
}
