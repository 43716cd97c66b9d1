//! `deskprune jobs`: the recorded jobs and what became of them; `--refresh` asks the API once
//! more about the unfinished ones.

use std::io::Write;
use std::time::Duration;

use super::session::Session;
use crate::apply::{Journal, follow, resolve};
use crate::cli::{Global, JobsArgs};
use crate::error::{Error, exit};
use crate::output::Output;
use crate::state::{self, JobStatus, OutcomeStatus, State, StateLock};

pub async fn run(global: &Global, args: &JobsArgs, output: &Output) -> Result<u8, Error> {
    let config = super::load_config(global, output)?;
    let state_path = state::state_path_for(&config.path, global.state.as_deref());
    if !args.refresh {
        let state = state::load(&state_path, &config.cloud.project_id)?;
        print_jobs(&state, output)?;
        return Ok(exit::OK);
    }
    let lock = StateLock::acquire(&state_path, "deskprune jobs --refresh", Duration::ZERO)?;
    let mut state = state::load(&state_path, &config.cloud.project_id)?;
    let session = Session::open(config, &state_path).await?;
    let result = async {
        let mut journal = Journal {
            state: &mut state,
            path: &state_path,
        };
        let concurrency = session.config.client.max_concurrency;
        let resolved = resolve(&session.client, &mut journal, concurrency).await?;
        super::apply::report_resolution(&resolved, output);
        follow(
            &session.client,
            &mut journal,
            session.config.client.max_concurrency,
            Duration::ZERO,
            &|_, _| {},
        )
        .await
    }
    .await;
    session.close()?;
    drop(lock);
    result?;
    print_jobs(&state, output)?;
    Ok(exit::OK)
}

fn print_jobs(state: &State, output: &Output) -> Result<(), Error> {
    if !state.intents.is_empty() {
        let calls = state.intents.len();
        let desktops: usize = state.intents.iter().map(|i| i.desktop_ids.len()).sum();
        output.warning(&format!(
            "{calls} batch-delete{} of {desktops} desktop{} {} sent without {} answer being recorded; `deskprune jobs --refresh` looks up {}",
            if calls == 1 { "" } else { "s" },
            if desktops == 1 { "" } else { "s" },
            if calls == 1 { "was" } else { "were" },
            if calls == 1 { "its" } else { "their" },
            if calls == 1 { "its job" } else { "their jobs" },
        ));
    }
    if state.jobs.is_empty() {
        output.note("No jobs recorded.");
        return Ok(());
    }
    let styles = &output.stdout;
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "{}{:<36}  {:<20}  {:<9}  {:>7}  {:>6}  {:>7}{:#}",
        styles.header, "JOB", "SUBMITTED", "STATUS", "DELETED", "FAILED", "PENDING", styles.header
    )
    .map_err(anyhow::Error::from)?;
    for job in &state.jobs {
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
            stdout,
            "{:<36}  {:<20}  {:<9}  {:>7}  {:>6}  {:>7}",
            job.job_id,
            job.submitted_at.strftime("%Y-%m-%d %H:%M:%S"),
            status,
            count(OutcomeStatus::Deleted),
            count(OutcomeStatus::Failed),
            count(OutcomeStatus::Pending),
        )
        .map_err(anyhow::Error::from)?;
    }
    Ok(())
}
