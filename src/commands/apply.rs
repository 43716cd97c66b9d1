//! `deskprune apply [PLAN_FILE]`: lock, decide what to delete (plan now, or recheck a saved
//! plan), show it, pass the rails, confirm, send the deletions chunk by chunk, follow the jobs,
//! report. Every rail stands between the decision and the first request.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::time::Duration;

mod report;

pub(super) use report::resolution as report_resolution;

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
use crate::state::{Described, Lock, Recording, RunInfo, State, Store};

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
    let config = super::load_config_for_plan(global)?;
    // A saved plan is checked against the config before anything else.
    let saved = match &args.plan {
        Some(path) => Some(read_saved(path, &config)?),
        None => None,
    };
    let store = super::state::open_store(&config, global, output)?;
    let lock = lock(&store, args, output).await?;
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
        decided = decide(&session, &mut journal, saved.as_ref(), output) => match decided {
            Ok(decided) => execute(&session, &decided, args, output, &mut journal, &mut interrupts).await,
            Err(err) => Err(err),
        },
        signal = interrupts.next() => Ok(report::stopped_before_sending(signal, output)),
    };
    // A remote state moves this run's finished records into its run record; should that
    // fail, they stay in the head, where the next run finds them.
    if let Err(err) = store.finish(journal.state).await {
        output.warning(&format!("{err:#}"));
    }
    // The lock goes whatever closing the session says.
    let closed = session.close();
    if let Err(err) = lock.release().await {
        output.warning(&format!("{err:#}"));
    }
    closed?;
    result
}

/// The state's lock, waited for up to `--lock-timeout`; a holder that died is named.
async fn lock(store: &Store, args: &ApplyArgs, output: &Output) -> Result<Lock, Error> {
    let timeout = Duration::from_secs(args.lock_timeout);
    let lock = pipeline::lock(store, "deskprune apply", timeout)
        .await
        .map_err(|err| match err {
            Error::Lock(lock) => Error::Lock(lock.waitable_with("--lock-timeout")),
            other => other,
        })?;
    if let Some(holder) = lock.taken_over() {
        output.warning(&format!(
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
    output: &Output,
) -> Result<Decision, Error> {
    let concurrency = session.config.client.max_concurrency;
    let resolved = resolve(&session.client, journal, concurrency).await?;
    report_resolution(&resolved, output);
    let mut decision = match saved {
        None => decide_now(session, journal.state, output).await?,
        Some(saved) => decide_saved(session, journal.state, saved, output).await?,
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
async fn decide_now(session: &Session, state: &State, output: &Output) -> Result<Decision, Error> {
    let planned = pipeline::plan_inventory(session, state, &Progress::new(output.progress)).await?;
    let (document, kept) = super::plan::document(session, planned).await;
    super::plan::print(&document, &kept, crate::cli::Format::Human, output)?;
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
    output: &Output,
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
    super::plan::print(saved, &[], crate::cli::Format::Human, output)?;
    for gone in &checked.disappeared {
        output.note(&format!(
            "`{}` ({}) no longer exists; nothing to do for it.",
            gone.computer_name, gone.desktop_id
        ));
    }
    for (held, why) in &checked.held {
        output.warning(&format!(
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
    output: &Output,
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
            && let Some(signal) = confirm(config, decision.send.len(), output, interrupts).await?
        {
            return Ok(report::stopped_before_sending(signal, output));
        }
        let progress = Progress::new(output.progress);
        let total = decision.send.len();
        let grace = config.client.timeout.min(MAX_GRACE);
        let on_stop = |why: &Stop, in_flight: usize| {
            progress.clear();
            report::stopping(why, in_flight, grace, output);
        };
        let sending = Sending {
            client: &session.client,
            options: &config.delete,
            concurrency: config.client.max_concurrency,
            grace,
            on_sent: &|sent| progress.sending(sent, total),
            on_stop: &on_stop,
            recording: &recording(config, journal.store, decision),
        };
        submitted = submit(&sending, &decision.send, journal, interrupts).await?;
        submitted.unresolved.clone_from(&decision.unresolved);
        progress.clear();
        report::report_submission(&submitted, &decision.names, output);
        if let Some(err) = &submitted.save_failed {
            report::unsaved(&submitted, err, &journal.store.describe(), output);
            output.result(&report::summary(exit::PARTIAL, &submitted, None));
            return Ok(exit::PARTIAL);
        }
        if let Some(signal) = submitted.interrupted {
            let code = signal.exit_code();
            report::interrupted_sending(signal, &journal.store.describe(), output);
            output.result(&report::summary(code, &submitted, None));
            return Ok(code);
        }
    }

    let waiting = journal.state.pending_jobs().count();
    if waiting == 0 || args.no_wait {
        if waiting > 0 {
            output.note(&format!(
                "Not waiting for {waiting} job{}; `deskprune jobs --refresh` shows how they end.",
                report::plural(waiting)
            ));
        }
        let code = report::exit_code(&submitted, None);
        output.result(&report::summary(code, &submitted, None));
        return Ok(code);
    }
    output.note(&format!(
        "Waiting for {waiting} job{}…",
        report::plural(waiting)
    ));
    let progress = Progress::new(output.progress);
    let on_poll = |done, total| progress.waiting(done, total);
    // Without a progress line, a line now and then says the run is not hung.
    let say = |line: &str| output.note(line);
    let following = follow(
        &session.client,
        journal,
        config.client.max_concurrency,
        Duration::from_secs(args.timeout),
        &on_poll,
        (!output.progress).then(|| StillWaiting::new(&say)),
    );
    let followed = tokio::select! {
        followed = following => followed?,
        signal = interrupts.next() => {
            progress.clear();
            // Every job is recorded already; this save only adds what the last poll learned.
            journal.save().await?;
            let code = signal.exit_code();
            report::interrupted_following(signal, &journal.store.describe(), output);
            output.result(&report::summary(code, &submitted, None));
            return Ok(code);
        }
    };
    progress.clear();
    report::report_jobs(&followed, &decision.names, output);
    let code = report::exit_code(&submitted, Some(&followed));
    output.result(&report::summary(code, &submitted, Some(&followed)));
    Ok(code)
}

/// Asks on the terminal: `yes` for one desktop; for more, the region and the number. The
/// answer is read on a thread of its own, so a signal ends the wait (`Some`).
async fn confirm(
    config: &crate::config::Config,
    count: usize,
    output: &Output,
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
    let styles = &output.stderr;
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
