//! `deskprune apply`: lock, plan, show, confirm, send the deletions chunk by chunk, follow the
//! jobs, report. Every safety rail stands between the plan and the first request.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use super::plan::{Planned, budget, check_empty, compute};
use super::session::Session;
use crate::apply::{FollowReport, Journal, SubmitReport, follow, submit};
use crate::cli::{ApplyArgs, Global};
use crate::document::PlanDocument;
use crate::error::{Error, exit};
use crate::output::Output;
use crate::plan::BudgetCheck;
use crate::state::{self, StateLock};

pub async fn run(global: &Global, args: &ApplyArgs, output: &Output) -> Result<u8, Error> {
    let config = crate::config::load(&global.config)?;
    let state_path = state::state_path_for(&config.path, global.state.as_deref());
    let lock = StateLock::acquire(
        &state_path,
        "deskprune apply",
        Duration::from_secs(args.lock_timeout),
    )?;
    if let Some(holder) = &lock.taken_over {
        output.warning(&format!(
            "the previous holder of the state lock, {holder}, ended without releasing it; taking over (its recorded jobs are followed below)"
        ));
    }
    let mut state = state::load(&state_path, &config.cloud.project_id)?;
    let session = Session::open(config, &state_path).await?;
    let result = async {
        let planned = compute(&session, &state, output).await?;
        let mut journal = Journal {
            state: &mut state,
            path: &state_path,
        };
        execute(&session, &planned, args, output, &mut journal).await
    }
    .await;
    session.close()?;
    drop(lock);
    result
}

async fn execute(
    session: &Session,
    planned: &Planned,
    args: &ApplyArgs,
    output: &Output,
    journal: &mut Journal<'_>,
) -> Result<u8, Error> {
    let config = &session.config;
    let plan = &planned.plan;
    let document = PlanDocument::new(plan, config, planned.read_at);
    let kept = crate::document::docs(&plan.kept);
    let mut stdout = std::io::stdout().lock();
    crate::render::render_plan(&document, &kept, &output.stdout, &mut stdout)
        .map_err(anyhow::Error::from)?;
    drop(stdout);

    let mut submitted = SubmitReport::default();
    if plan.has_deletions() {
        check_empty(config, plan)?;
        if let BudgetCheck::Exceeded {
            deletions, reasons, ..
        } = budget(config).check(plan)
            && args.allow_deletions != Some(deletions)
        {
            return Err(Error::refused(
                format!(
                    "this plan exceeds the deletion budget: {}",
                    reasons.join("; ")
                ),
                format!(
                    "review the plan, then pass `--allow-deletions {deletions}` (the exact number), or raise `[guard] max_deletions` / `max_delete_percent`"
                ),
            ));
        }
        if !args.auto_approve {
            confirm(config, plan.deletions.len(), output)?;
        }
        let ids = plan.deletion_ids();
        submitted = submit(&session.client, &ids, &config.delete, journal, &|_| {}).await?;
        report_submission(&submitted, output);
    }

    let waiting = journal.state.pending_jobs().count();
    if waiting == 0 {
        return Ok(exit_code(&submitted, None));
    }
    if args.no_wait {
        output.note(&format!(
            "Not waiting for {waiting} job{}; `deskprune jobs --refresh` shows how they end.",
            plural(waiting)
        ));
        return Ok(exit_code(&submitted, None));
    }
    output.note(&format!("Waiting for {waiting} job{}…", plural(waiting)));
    let followed = follow(
        &session.client,
        journal,
        Duration::from_secs(args.timeout),
        &|_, _| {},
    )
    .await?;
    report_jobs(&followed, output);
    Ok(exit_code(&submitted, Some(&followed)))
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

fn exit_code(submitted: &SubmitReport, followed: Option<&FollowReport>) -> u8 {
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

/// Asks on the terminal: `yes` for one desktop; for more, the region and the number.
fn confirm(config: &crate::config::Config, count: usize, output: &Output) -> Result<(), Error> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::refused(
            "refusing to delete without confirmation: standard input is not a terminal",
            "review the plan and pass `--auto-approve` for unattended runs",
        ));
    }
    let region = &config.cloud.region;
    let (question, expected) = if count == 1 {
        (
            "Delete this desktop? Type `yes` to confirm: ".to_string(),
            "yes".to_string(),
        )
    } else {
        (
            format!(
                "Delete {count} desktops? Type the region and the number of desktops, like `ap-southeast-1 7`, to confirm: "
            ),
            format!("{region} {count}"),
        )
    };
    let styles = &output.stderr;
    let mut stderr = std::io::stderr();
    let _ = write!(stderr, "\n{}{question}{:#}", styles.header, styles.header);
    let _ = stderr.flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(anyhow::Error::from)?;
    let answer = answer.split_whitespace().collect::<Vec<_>>().join(" ");
    if answer == expected {
        return Ok(());
    }
    Err(Error::refused(
        "apply cancelled: the answer did not match; nothing was deleted",
        if count == 1 {
            "type `yes` exactly".to_string()
        } else {
            "type the region and the number of desktops from the plan, separated by a space (the region is in the plan's first line)".to_string()
        },
    ))
}

fn report_submission(report: &SubmitReport, output: &Output) {
    let jobs = report.jobs.len();
    output.note(&format!(
        "Submitted {} desktop{} for deletion in {jobs} job{}.",
        report.submitted(),
        plural(report.submitted()),
        plural(jobs)
    ));
    for refusal in &report.refused {
        output.warning(&format!(
            "desktop `{}` was refused: HTTP {} {}: {}",
            refusal.desktop_id, refusal.http_status, refusal.error_code, refusal.message
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
            "the answer to a batch-delete of {} desktops was lost; they may be being deleted. They are recorded in the state file and not sent again until the API shows what happened; run `deskprune plan` later",
            report.unconfirmed.len()
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

fn report_jobs(report: &FollowReport, output: &Output) {
    for (id, reason) in &report.failed {
        output.warning(&format!("desktop `{id}` was not deleted: {reason}"));
    }
    if let Some(err) = &report.poll_error
        && !report.pending.is_empty()
    {
        output.warning(&format!("the last job poll failed: {err}"));
    }
    let mut line = format!(
        "Apply complete: {} deleted, {} failed",
        report.deleted.len(),
        report.failed.len()
    );
    if !report.pending.is_empty() {
        line = format!(
            "Stopped waiting: {} deleted, {} failed, {} still being deleted (`deskprune jobs --refresh` follows them)",
            report.deleted.len(),
            report.failed.len(),
            report.pending.len()
        );
    }
    println!("{line}.");
}
