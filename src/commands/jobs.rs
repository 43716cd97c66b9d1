//! `deskprune jobs`: the recorded jobs and what became of them, the refusals and the
//! unconfirmed calls (`--json`: the state's records as JSON); `--refresh` asks the API once
//! more about the unfinished ones.

use std::io::Write;
use std::time::Duration;

use crate::apply::{Journal, refresh, resolve};
use crate::cli::{Global, JobsArgs};
use crate::error::{Error, exit};
use crate::output::Output;
use crate::render::Styles;
use crate::state::{JobRecord, JobStatus, OutcomeStatus, State};
use crate::text::printable;

/// Runs whose records `jobs` shows with the s3 backend (all of them with the local file).
const RECENT_RUNS: usize = 50;

pub async fn run(global: &Global, args: &JobsArgs, output: &Output) -> Result<u8, Error> {
    // Listing what a state file records needs no config: only `--refresh` calls the API.
    if let Some(state_path) = &global.state
        && !args.refresh
        && !global.config.exists()
    {
        let state = load_without_config(state_path)?;
        print_jobs(&state, args.json, output)?;
        return Ok(exit::OK);
    }
    let config = super::load_config(global, output)?;
    let store = super::state::open_store(&config, global, output)?;
    if !args.refresh {
        // The head's unfinished work and the recent runs; `history` reads them all.
        let state = store
            .load_recent(&config.cloud.project_id, RECENT_RUNS)
            .await?;
        print_jobs(&state, args.json, output)?;
        return Ok(exit::OK);
    }
    // One round of calls, cut at `--timeout` however they fare.
    let bound = Duration::from_secs(args.timeout);
    let lock = store
        .lock("deskprune jobs --refresh", Duration::ZERO)
        .await?;
    let opened = crate::pipeline::open(config, &store).await;
    let crate::pipeline::Opened { mut state, session } = match opened {
        Ok(opened) => opened,
        Err(err) => {
            let _ = lock.release().await;
            return Err(err);
        }
    };
    let result = async {
        let mut journal = Journal {
            state: &mut state,
            store: &store,
        };
        let concurrency = session.config.client.max_concurrency;
        let resolved = resolve(&session.client, &mut journal, concurrency).await?;
        super::apply::report_resolution(&resolved, output);
        refresh(
            &session.client,
            &mut journal,
            session.config.client.max_concurrency,
            bound,
        )
        .await
    }
    .await;
    if let Err(err) = store.finish(&mut state).await {
        output.warning(&format!("{err:#}"));
    }
    // The lock goes whatever closing the session says.
    let closed = session.close();
    if let Err(err) = lock.release().await {
        output.warning(&format!("{err:#}"));
    }
    closed?;
    let report = result?;
    if !report.unread.is_empty() {
        let count = report.unread.len();
        let why = match &report.poll_error {
            Some(err) => format!("the last failure: {err}"),
            None => format!("no answer within {} s", bound.as_secs()),
        };
        output.warning(&format!(
            "{count} unfinished job{} could not be read ({why}); they are shown as last recorded",
            if count == 1 { "" } else { "s" }
        ));
    }
    print_jobs(&state, args.json, output)?;
    Ok(exit::OK)
}

/// The state file at `path`, of whichever project it belongs to (there is no config to say).
pub(super) fn load_without_config(path: &std::path::Path) -> Result<State, Error> {
    if !path.exists() {
        return Err(Error::refused(
            format!("state file `{}` not found", path.display()),
            "pass the path of a state file that `deskprune apply` wrote, or `--config` to find it beside its config",
        ));
    }
    match crate::state::load(path, "") {
        Err(crate::state::StateError::OtherProject { found, .. }) => {
            Ok(crate::state::load(path, &found)?)
        }
        other => Ok(other?),
    }
}

fn print_jobs(state: &State, json: bool, output: &Output) -> Result<(), Error> {
    super::warn_open_intents(
        state,
        "`deskprune jobs --refresh` looks up what became of them",
        output,
    );
    let mut stdout = std::io::stdout().lock();
    if json {
        // The state's own records, shaped as in schema/state.schema.json.
        let doc = serde_json::json!({
            "jobs": state.jobs,
            "refused": state.refused,
            "unconfirmed": state.unconfirmed,
            "intents": state.intents,
        });
        serde_json::to_writer_pretty(&mut stdout, &doc).map_err(anyhow::Error::from)?;
        writeln!(stdout).map_err(anyhow::Error::from)?;
        return Ok(());
    }
    if state.jobs.is_empty() && state.refused.is_empty() && state.unconfirmed.is_empty() {
        output.note("No jobs recorded.");
        return Ok(());
    }
    if !state.jobs.is_empty() {
        write_jobs(&state.jobs, &output.stdout, &mut stdout).map_err(anyhow::Error::from)?;
    }
    write_others(state, &output.stdout, &mut stdout).map_err(anyhow::Error::from)?;
    Ok(())
}

/// The refusals and the unconfirmed calls, each under its own heading, when there are any.
fn write_others(state: &State, styles: &Styles, out: &mut dyn Write) -> std::io::Result<()> {
    if !state.refused.is_empty() {
        writeln!(
            out,
            "\n{}{:<36}  {:<20}  REFUSED{:#}",
            styles.header, "DESKTOP", "AT", styles.header
        )?;
        for refusal in &state.refused {
            writeln!(
                out,
                "{:<36}  {:<20}  {} {}: {}",
                printable(&refusal.desktop_id),
                refusal.at.strftime("%Y-%m-%d %H:%M:%S"),
                refusal.http_status,
                printable(&refusal.error_code),
                printable(&refusal.message)
            )?;
        }
    }
    if !state.unconfirmed.is_empty() {
        writeln!(
            out,
            "\n{}{:<20}  {:>8}  UNCONFIRMED (answer lost){:#}",
            styles.header, "AT", "DESKTOPS", styles.header
        )?;
        for call in &state.unconfirmed {
            writeln!(
                out,
                "{:<20}  {:>8}  {}",
                call.at.strftime("%Y-%m-%d %H:%M:%S"),
                call.desktop_ids.len(),
                printable(&call.error)
            )?;
        }
    }
    Ok(())
}

/// The jobs as a table. A job ID came from the API, so it is shown escaped.
fn write_jobs(jobs: &[JobRecord], styles: &Styles, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "{}{:<36}  {:<20}  {:<9}  {:>7}  {:>6}  {:>7}{:#}",
        styles.header, "JOB", "SUBMITTED", "STATUS", "DELETED", "FAILED", "PENDING", styles.header
    )?;
    for job in jobs {
        let count = |wanted: OutcomeStatus| {
            job.desktops
                .values()
                .filter(|outcome| outcome.status == wanted)
                .count()
        };
        let status = match job.status {
            JobStatus::Pending => "pending",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
        };
        writeln!(
            out,
            "{:<36}  {:<20}  {:<9}  {:>7}  {:>6}  {:>7}",
            printable(&job.job_id),
            job.submitted_at.strftime("%Y-%m-%d %H:%M:%S"),
            status,
            count(OutcomeStatus::Deleted),
            count(OutcomeStatus::Failed),
            count(OutcomeStatus::Pending),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids_are_shown_escaped() {
        let job: JobRecord = serde_json::from_value(serde_json::json!({
            "job_id": "job\u{1b}[2K\r\u{202e}-1",
            "submitted_at": "2025-01-01T00:00:00Z",
            "desktop_ids": ["d-1"],
            "status": "pending",
        }))
        .unwrap();
        let mut out = Vec::new();
        write_jobs(&[job], &Styles::plain(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("job\\u{1b}[2K\\u{d}\\u{202e}-1"), "{text}");
        assert!(!text.contains(['\u{1b}', '\r', '\u{202e}']), "{text:?}");
    }
}
