//! `deskprune apply [PLAN_FILE]`: lock, decide what to delete (plan now, or recheck a saved
//! plan), show it, pass the rails, confirm, send the deletions chunk by chunk, follow the jobs,
//! report. Every rail stands between the decision and the first request.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::time::Duration;

mod events;
mod report;
mod reporter;

pub use events::schema as events_schema;
use report::Say;
pub(super) use report::resolution as report_resolution;
use reporter::Reporter;

use crate::apply::{Journal, Sending, StillWaiting, Stop, SubmitReport, follow, resolve, submit};
use crate::cli::{ApplyArgs, Global};
use crate::config::Config;
use crate::document::{DesktopDoc, PlanDocument};
use crate::error::{Error, exit};
use crate::interrupt::{Interrupts, Signal};
use crate::inventory::read_by_ids;
use crate::model::Entry;
use crate::output::Output;
use crate::pipeline::{self, Opened, Session};
use crate::plan::{recheck, stale_diff};
use crate::progress::Progress;
use crate::state::{Described, JobRecord, Lock, Recording, RunInfo, State, Store};

/// What apply is about to delete, and how it was decided.
struct Decision {
    /// The IDs to send, in plan order.
    send: Vec<String>,
    /// Computer names by ID, for messages.
    names: HashMap<String, String>,
    /// Name and user by ID, kept beside each job for `history`.
    described: HashMap<String, Described>,
    /// In-scope desktops, for the budget.
    in_scope: usize,
    /// Desktops of calls an earlier run sent whose job could not be looked up.
    unresolved: Vec<String>,
}

pub async fn run(global: &Global, args: &ApplyArgs, output: &Output) -> Result<u8, Error> {
    let reporter = Reporter::new(output, args.json);
    let result = apply(global, args, &reporter).await;
    // With `--json` the stream ends with a summary whatever happened.
    reporter.close(&result);
    result
}

async fn apply(global: &Global, args: &ApplyArgs, reporter: &Reporter<'_>) -> Result<u8, Error> {
    let config = super::load_config_for_plan(global)?;
    // A saved plan is checked against the config before anything else.
    let saved = match &args.plan {
        Some(path) => Some(read_saved(path, &config)?),
        None => None,
    };
    let store = super::state::open_store(&config, global, reporter.output)?;
    let lock = lock(&store, args, reporter).await?;
    // From here on SIGINT and SIGTERM are heard, not fatal: what was sent is recorded first.
    let mut interrupts =
        Interrupts::listen().map_err(|err| anyhow::anyhow!("cannot listen for signals: {err}"))?;
    let opened = pipeline::open(config, &store).await;
    let Opened { mut state, session } = match opened {
        Ok(opened) => opened,
        Err(err) => {
            let _ = lock.release().await;
            return Err(err);
        }
    };
    let mut journal = Journal {
        state: &mut state,
        store: &store,
    };
    let result = tokio::select! {
        decided = decide(&session, &mut journal, saved.as_ref(), reporter) => match decided {
            Ok(decided) => execute(&session, &decided, args, reporter, &mut journal, &mut interrupts).await,
            Err(err) => Err(err),
        },
        signal = interrupts.next() => Ok(stopped_before_sending(signal, reporter)),
    };
    // A remote state moves this run's finished records into its run record; should that
    // fail, they stay in the head, where the next run finds them.
    if let Err(err) = store.finish(journal.state).await {
        reporter.warning(&format!("{err:#}"));
    }
    // The lock goes whatever closing the session says.
    let closed = session.close();
    if let Err(err) = lock.release().await {
        reporter.warning(&format!("{err:#}"));
    }
    closed?;
    result
}

/// The state's lock, waited for up to `--lock-timeout`; a holder that died is named.
async fn lock(store: &Store, args: &ApplyArgs, reporter: &Reporter<'_>) -> Result<Lock, Error> {
    let timeout = Duration::from_secs(args.lock_timeout);
    let lock = pipeline::lock(store, "deskprune apply", timeout)
        .await
        .map_err(|err| match err {
            Error::Lock(lock) => Error::Lock(lock.waitable_with("--lock-timeout")),
            other => other,
        })?;
    if let Some(holder) = lock.taken_over() {
        reporter.warning(&format!(
            "the previous holder of the state lock, {holder}, ended without releasing it; taking over (its recorded jobs are followed below)"
        ));
    }
    Ok(lock)
}

/// Settles the calls an earlier run sent without recording their answer (so the plan knows
/// which of their desktops were taken), then decides: plans now, or rechecks the saved plan.
async fn decide(
    session: &Session,
    journal: &mut Journal<'_>,
    saved: Option<&PlanDocument>,
    reporter: &Reporter<'_>,
) -> Result<Decision, Error> {
    let concurrency = session.config.client.max_concurrency;
    let resolved = resolve(&session.client, journal, concurrency).await?;
    report_resolution(&resolved, reporter);
    let mut decision = match saved {
        None => decide_now(session, journal.state, reporter).await?,
        Some(saved) => decide_saved(session, journal.state, saved, reporter).await?,
    };
    decision.unresolved = journal
        .state
        .intents
        .iter()
        .flat_map(|intent| intent.desktop_ids.iter().cloned())
        .collect();
    Ok(decision)
}

/// Plans now and shows the plan.
async fn decide_now(
    session: &Session,
    state: &State,
    reporter: &Reporter<'_>,
) -> Result<Decision, Error> {
    let planned =
        pipeline::plan_inventory(session, state, &Progress::new(reporter.output.progress)).await?;
    let (document, kept) = super::plan::document(session, planned).await;
    reporter.plan(&document, &kept)?;
    Ok(Decision {
        send: document
            .deletions
            .iter()
            .map(|d| d.desktop_id.clone())
            .collect(),
        names: names(&document),
        described: described(&document.deletions),
        in_scope: document.summary.in_scope,
        unresolved: Vec::new(),
    })
}

fn described(deletions: &[DesktopDoc]) -> HashMap<String, Described> {
    deletions
        .iter()
        .map(|d| {
            let about = Described {
                computer_name: d.computer_name.clone(),
                user_name: d.user_name.clone(),
            };
            (d.desktop_id.clone(), about)
        })
        .collect()
}

fn names(document: &PlanDocument) -> HashMap<String, String> {
    document
        .deletions
        .iter()
        .map(|d| (d.desktop_id.clone(), d.computer_name.clone()))
        .collect()
}

/// A saved plan, checked against the config it is applied with.
fn read_saved(path: &Path, config: &Config) -> Result<PlanDocument, Error> {
    let saved = crate::document::read(path)?;
    let refuse = |message: String| {
        Error::refused(
            message,
            "make a new plan with `deskprune plan --out FILE`, review it, and apply that",
        )
    };
    if saved.project_id != config.cloud.project_id || saved.region != config.cloud.region {
        return Err(refuse(format!(
            "the saved plan `{}` is for project {} in {}, but the config names project {} in {}",
            path.display(),
            saved.project_id,
            saved.region,
            config.cloud.project_id,
            config.cloud.region
        )));
    }
    if saved.config.digest != config.digest {
        let files: Vec<String> = std::iter::once(&config.path)
            .chain(&config.list_files)
            .map(|file| format!("`{}`", file.display()))
            .collect();
        return Err(refuse(format!(
            "the saved plan `{}` is stale: {} changed since the plan was made",
            path.display(),
            match files.as_slice() {
                [config] => config.clone(),
                [config, lists @ ..] => format!("{config} or {}", lists.join(" or ")),
                [] => unreachable!("the config is always named"),
            }
        )));
    }
    Ok(saved)
}

/// Reads the saved plan's desktops again and applies the plan only if the world still agrees.
async fn decide_saved(
    session: &Session,
    state: &State,
    saved: &PlanDocument,
    reporter: &Reporter<'_>,
) -> Result<Decision, Error> {
    let read_at = jiff::Timestamp::now();
    let ids: Vec<String> = saved
        .deletions
        .iter()
        .map(|d| d.desktop_id.clone())
        .collect();
    let reread = read_by_ids(&session.client, &ids, session.config.client.max_concurrency).await?;
    let found: HashSet<String> = reread.iter().map(|d| d.id.clone()).collect();
    let fresh = pipeline::plan_desktops(session, reread, state, read_at).await?;
    let planned: Vec<Entry> = saved.deletions.iter().map(DesktopDoc::to_entry).collect();
    let checked = recheck(&planned, &fresh.plan, &found);
    if !checked.stale.is_empty() {
        let mut stderr = std::io::stderr();
        let _ = write!(stderr, "{}", stale_diff(&checked.stale));
        let reasons: Vec<String> = checked
            .stale
            .iter()
            .map(|s| format!("`{}` {}", s.before.computer_name, s.why))
            .collect();
        return Err(Error::refused(
            format!(
                "the saved plan is stale: {} (the differences are shown above)",
                reasons.join("; ")
            ),
            "make a new plan with `deskprune plan --out FILE`, review it, and apply that",
        ));
    }
    reporter.plan(saved, &[])?;
    for gone in &checked.disappeared {
        reporter.note(&format!(
            "`{}` ({}) no longer exists; nothing to do for it.",
            gone.computer_name, gone.desktop_id
        ));
    }
    for (held, why) in &checked.held {
        reporter.warning(&format!(
            "`{}` ({}) is {why}; not sent this time",
            held.computer_name, held.desktop_id
        ));
    }
    Ok(Decision {
        send: checked
            .send
            .iter()
            .map(|d: &Entry| d.desktop_id.clone())
            .collect(),
        names: names(saved),
        described: described(&saved.deletions),
        in_scope: saved.summary.in_scope,
        unresolved: Vec::new(),
    })
}

/// The longest wait for the calls in flight once sending stops early (a signal, a state file
/// that cannot be written): their answers are what the state must record.
const MAX_GRACE: Duration = Duration::from_secs(30);

async fn execute(
    session: &Session,
    decision: &Decision,
    args: &ApplyArgs,
    reporter: &Reporter<'_>,
    journal: &mut Journal<'_>,
    interrupts: &mut Interrupts,
) -> Result<u8, Error> {
    let config = &session.config;
    let mut submitted = SubmitReport {
        unresolved: decision.unresolved.clone(),
        ..SubmitReport::default()
    };
    if decision.send.is_empty() {
        // A count named for another plan is refused even with nothing to send: what was
        // reviewed is not this plan.
        pipeline::check_budget(config, 0, decision.in_scope, args.allow_deletions)?;
    } else {
        pipeline::check_empty(config, decision.in_scope)?;
        pipeline::check_budget(
            config,
            decision.send.len(),
            decision.in_scope,
            args.allow_deletions,
        )?;
        if !args.auto_approve
            && let Some(signal) = confirm(config, decision.send.len(), reporter, interrupts).await?
        {
            return Ok(stopped_before_sending(signal, reporter));
        }
        let progress = Progress::new(reporter.output.progress);
        let total = decision.send.len();
        let grace = config.client.timeout.min(MAX_GRACE);
        let on_stop = |why: &Stop, in_flight: usize| {
            progress.clear();
            report::stopping(why, in_flight, grace, reporter);
        };
        let sending = Sending {
            client: &session.client,
            options: &config.delete,
            concurrency: config.client.max_concurrency,
            grace,
            on_sent: &|sent, job_id, ids| {
                reporter.chunk_submitted(job_id, ids);
                progress.sending(sent, total);
            },
            on_stop: &on_stop,
            recording: &recording(config, journal.store, decision),
        };
        submitted = submit(&sending, &decision.send, journal, interrupts).await?;
        submitted.unresolved.clone_from(&decision.unresolved);
        progress.clear();
        reporter.submission(&submitted, &decision.names);
        if let Some(err) = &submitted.save_failed {
            report::unsaved(&submitted, err, &journal.store.describe(), reporter.output);
            reporter.finish(exit::PARTIAL, &submitted, None);
            return Ok(exit::PARTIAL);
        }
        if let Some(signal) = submitted.interrupted {
            let code = signal.exit_code();
            report::interrupted_sending(signal, &journal.store.describe(), reporter);
            reporter.finish(code, &submitted, None);
            return Ok(code);
        }
    }

    let waiting = journal.state.pending_jobs().count();
    if waiting == 0 || args.no_wait {
        if waiting > 0 {
            reporter.note(&format!(
                "Not waiting for {waiting} job{}; `deskprune jobs --refresh` shows how they end.",
                report::plural(waiting)
            ));
        }
        let code = report::exit_code(&submitted, None);
        reporter.finish(code, &submitted, None);
        return Ok(code);
    }
    reporter.note(&format!(
        "Waiting for {waiting} job{}…",
        report::plural(waiting)
    ));
    let progress = Progress::new(reporter.output.progress);
    let on_poll = |done, total| progress.waiting(done, total);
    let on_ended = |job: &JobRecord| reporter.job_ended(job, &decision.names);
    // Without a progress line, a line now and then says the run is not hung.
    let say = |line: &str| reporter.note(line);
    let following = follow(
        &session.client,
        journal,
        config.client.max_concurrency,
        Duration::from_secs(args.timeout),
        &on_poll,
        &on_ended,
        (!reporter.output.progress).then(|| StillWaiting::new(&say)),
    );
    let followed = tokio::select! {
        followed = following => followed?,
        signal = interrupts.next() => {
            progress.clear();
            // Every job is recorded already; this save only adds what the last poll learned.
            journal.save().await?;
            let code = signal.exit_code();
            report::interrupted_following(signal, &journal.store.describe(), reporter);
            reporter.finish(code, &submitted, None);
            return Ok(code);
        }
    };
    progress.clear();
    reporter.jobs(&followed, &decision.names);
    let code = report::exit_code(&submitted, Some(&followed));
    reporter.finish(code, &submitted, Some(&followed));
    Ok(code)
}

/// A signal before the first call: said, and the stream closed. Returns the exit code.
fn stopped_before_sending(signal: Signal, reporter: &Reporter<'_>) -> u8 {
    let code = report::stopped_before_sending(signal, reporter);
    reporter.stopped(code);
    code
}

/// Asks on the terminal: `yes` for one desktop; for more, the region and the number. The
/// answer is read on a thread of its own, so a signal ends the wait (`Some`).
async fn confirm(
    config: &crate::config::Config,
    count: usize,
    reporter: &Reporter<'_>,
    interrupts: &mut Interrupts,
) -> Result<Option<Signal>, Error> {
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
                "Delete {count} desktops? Type the region and the number of desktops, like `{region} N`, to confirm: "
            ),
            format!("{region} {count}"),
        )
    };
    let styles = &reporter.output.stderr;
    let mut stderr = std::io::stderr();
    let _ = write!(stderr, "\n{}{question}{:#}", styles.header, styles.header);
    let _ = stderr.flush();
    let reading = tokio::task::spawn_blocking(|| {
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .map(|_| answer)
    });
    let answer = tokio::select! {
        answer = reading => answer.map_err(anyhow::Error::from)?.map_err(anyhow::Error::from)?,
        // The thread stays blocked on the terminal; the process ends without waiting for it.
        signal = interrupts.next() => return Ok(Some(signal)),
    };
    let answer = answer.split_whitespace().collect::<Vec<_>>().join(" ");
    if answer == expected {
        return Ok(None);
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

/// Who this run is and what each desktop it sends was, for `history`. The config's git commit
/// is asked of git with a short bound; without one the record simply has none.
fn recording(config: &crate::config::Config, store: &Store, decision: &Decision) -> Recording {
    let holder = crate::state::Holder::current("deskprune apply");
    let dir = config.path.parent().unwrap_or(std::path::Path::new("."));
    let dir = if dir.as_os_str().is_empty() {
        std::path::Path::new(".")
    } else {
        dir
    };
    Recording {
        run: Some(RunInfo {
            run_id: store.run_id(),
            user: holder.user,
            host: holder.host,
            config_digest: config.digest.clone(),
            git_commit: crate::state::git_commit(dir),
        }),
        desktops: decision.described.clone(),
    }
}
