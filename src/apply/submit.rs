//! Sending deletions: `batch-delete` calls of at most `batch_size` IDs, a few at once. Each call
//! is recorded in the state as an intent before it leaves, and its answer replaces the intent
//! as soon as it arrives. A call whose answer was lost is recorded as unconfirmed; its desktops
//! are read again and only those the service shows untouched are sent again (once), so no
//! desktop is submitted twice. A desktop refused on its own (404: gone since the plan, once a
//! read by ID confirms it; 409: busy) does not sink the rest of its chunk: it is recorded with
//! its reason and the others are sent again without it. An answer naming a job ID already
//! recorded for other desktops is not this call's: the call is unconfirmed.
//!
//! Sending stops early on a signal or when the state file cannot be written: no further call
//! starts, and the calls in flight are waited for (up to a grace period) so their answers are
//! recorded; a call still in flight after that stays an open intent for the next run.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt, StreamExt};

use jiff::Timestamp;
use tokio::task::{AbortHandle, JoinError, JoinHandle};
use tokio::time::Instant;

use super::Journal;
use super::refusal::{is_about_one_desktop, refusal, single_out};
use crate::config::DeleteOptions;
use crate::interrupt::{Interrupts, Signal};
use crate::inventory::read_by_ids;
use crate::state::{Intent, JobRecord, Recording, Refusal, Unconfirmed};
use crate::workspace::wire::{BatchDeleteResponse, DeleteDesktopsReq};
use crate::workspace::{ApiError, Client};

/// Time given to the service, after a lost answer, to show the desktops a job took as deleting.
const SETTLE: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
pub struct SubmitReport {
    /// (job ID, desktop IDs) of every accepted call, in order.
    pub jobs: Vec<(String, Vec<String>)>,
    /// Desktops refused one by one (409: their state forbids it now), with the reason.
    pub refused: Vec<Refusal>,
    /// Desktops the API no longer knows (404): gone since the plan, which is what apply wanted.
    pub gone: Vec<Refusal>,
    /// Desktops never sent because sending stopped.
    pub not_sent: Vec<String>,
    /// Desktops taken by a call whose answer was lost: being deleted by a job whose ID is not
    /// known (or not known to be untouched, when they could not be read again).
    pub unconfirmed: Vec<String>,
    /// Why each unconfirmed call's answer was lost or not trusted.
    pub lost_answers: Vec<ApiError>,
    /// Desktops of calls still in flight when sending stopped waiting: their intents stay open
    /// in the state, for the next run to resolve.
    pub answer_unknown: Vec<String>,
    /// Desktops of calls an earlier run sent whose job could not be looked up: their intents
    /// stay open (see `intents`), so how they end is not known yet.
    pub unresolved: Vec<String>,
    /// Why sending stopped early.
    pub stopped_by: Option<ApiError>,
    /// The signal that stopped sending.
    pub interrupted: Option<Signal>,
    /// Why the state file could not be written, once sending had started; what was accepted
    /// must then be shown to the user, as the file may not hold it.
    pub save_failed: Option<String>,
}

impl SubmitReport {
    pub fn is_complete(&self) -> bool {
        self.refused.is_empty()
            && self.not_sent.is_empty()
            && self.unconfirmed.is_empty()
            && self.answer_unknown.is_empty()
            && self.unresolved.is_empty()
            && self.stopped_by.is_none()
            && self.interrupted.is_none()
            && self.save_failed.is_none()
    }

    pub fn submitted(&self) -> usize {
        self.jobs.iter().map(|(_, ids)| ids.len()).sum()
    }
}

/// Why sending stopped before its end, as told to the user the moment it happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    Signal(Signal),
    /// The state file could not be written: the error.
    SaveFailed(String),
}

/// How to send, and whom to tell.
pub struct Sending<'a> {
    pub client: &'a Client,
    pub options: &'a DeleteOptions,
    /// Calls in flight at once.
    pub concurrency: usize,
    /// How long the calls in flight are waited for once sending stops early.
    pub grace: Duration,
    /// Hears of each accepted call once its job is recorded: the number of desktops
    /// submitted so far, the job ID and the call's desktops.
    pub on_sent: &'a (dyn Fn(usize, &str, &[String]) + Sync),
    /// Hears why sending stops early and how many calls are still in flight.
    pub on_stop: &'a (dyn Fn(&Stop, usize) + Sync),
    /// Who sends, and each desktop's name and user, kept beside each job for `history`.
    pub recording: &'a Recording,
}

type Answer = (Batch, Result<BatchDeleteResponse, ApiError>);

/// Sends `ids` for deletion, `batch_size` per call and up to `concurrency` calls at once,
/// recording each call in the journal before it leaves and each answer as soon as it arrives.
/// Fails (sending nothing) only when the state cannot be written before the first call. A call
/// whose task fails keeps its intent open, as a call whose answer never came.
pub async fn submit(
    sending: &Sending<'_>,
    ids: &[String],
    journal: &mut Journal<'_>,
    interrupts: &mut Interrupts,
) -> anyhow::Result<SubmitReport> {
    let mut run = Run {
        sending,
        journal,
        report: SubmitReport::default(),
        queue: ids
            .chunks(sending.options.batch_size.max(1))
            .map(|ids| Batch::new(ids.to_vec(), false))
            .collect(),
        in_flight: FuturesUnordered::new(),
        waiting: HashMap::new(),
        sent_any: false,
        deadline: None,
    };
    loop {
        run.start_calls().await?;
        if run.in_flight.is_empty() {
            break;
        }
        let event = tokio::select! {
            finished = run.in_flight.next() => Event::Finished(finished.expect("calls are in flight")),
            signal = interrupts.next() => Event::Signal(signal),
            () = tokio::time::sleep_until(run.deadline.unwrap_or_else(Instant::now)), if run.deadline.is_some() => Event::GraceOver,
        };
        match event {
            Event::Finished((_, Ok(answer))) => run.record(answer).await,
            Event::Finished((intent, Err(failed))) => {
                // Its answer is not known: the intent stays open for the next run.
                tracing::error!(error = %failed, "a batch-delete task failed");
                let ids = run.waiting.remove(&intent).map(|(ids, _)| ids);
                run.report.answer_unknown.extend(ids.unwrap_or_default());
            }
            Event::Signal(signal) if interrupts.heard() == 1 => run.stop(Stop::Signal(signal)),
            // A second signal cuts the wait short.
            Event::Signal(_) | Event::GraceOver => break,
        }
    }
    Ok(run.finish().await)
}

enum Event {
    /// A call's task ended: its intent, and its answer unless the task failed.
    Finished((String, Result<Answer, JoinError>)),
    Signal(Signal),
    GraceOver,
}

/// IDs to send in one call; `resent` once they went again after a lost answer; `intent` names
/// the state's record of the call once it is about to leave.
struct Batch {
    ids: Vec<String>,
    resent: bool,
    intent: String,
}

impl Batch {
    fn new(ids: Vec<String>, resent: bool) -> Batch {
        Batch {
            ids,
            resent,
            intent: String::new(),
        }
    }
}

/// One submission under way.
struct Run<'s, 'j, 'a> {
    sending: &'s Sending<'s>,
    journal: &'j mut Journal<'a>,
    report: SubmitReport,
    /// Batches still to send, front first; a refused batch comes back split.
    queue: VecDeque<Batch>,
    in_flight: FuturesUnordered<BoxFuture<'static, (String, Result<Answer, JoinError>)>>,
    /// The desktops of each call in flight, and how to stop its task, by intent.
    waiting: HashMap<String, (Vec<String>, AbortHandle)>,
    sent_any: bool,
    /// Once sending stopped early: until when the calls in flight are waited for.
    deadline: Option<Instant>,
}

impl Run<'_, '_, '_> {
    fn stopping(&self) -> bool {
        self.report.stopped_by.is_some()
            || self.report.interrupted.is_some()
            || self.report.save_failed.is_some()
    }

    /// Starts calls up to the concurrency. Each is recorded as an intent, and the intents
    /// saved, before any of them leaves: a run that dies before an answer arrives leaves a
    /// trace the next run resolves, and a state that cannot be written stops sending before
    /// the call that it could not record.
    async fn start_calls(&mut self) -> anyhow::Result<()> {
        let mut wave = Vec::new();
        while !self.stopping()
            && self.in_flight.len() + wave.len() < self.sending.concurrency.max(1)
        {
            let Some(mut batch) = self.queue.pop_front() else {
                break;
            };
            let intent = Intent::new(batch.ids.clone());
            batch.intent = intent.id.clone();
            self.journal.state.intents.push(intent);
            wave.push(batch);
        }
        if wave.is_empty() {
            return Ok(());
        }
        if let Err(err) = self.journal.save().await {
            for batch in &wave {
                self.journal.state.close_intent(&batch.intent);
            }
            if !self.sent_any {
                return Err(err.context(
                    "nothing was sent: a batch-delete leaves only once the state file records it",
                ));
            }
            self.report
                .not_sent
                .extend(wave.into_iter().flat_map(|batch| batch.ids));
            self.save_failed(err);
            return Ok(());
        }
        self.sent_any = true;
        for batch in wave {
            let intent = batch.intent.clone();
            let ids = batch.ids.clone();
            let task = self.send(batch);
            self.waiting
                .insert(intent.clone(), (ids, task.abort_handle()));
            self.in_flight
                .push(async move { (intent, task.await) }.boxed());
        }
        Ok(())
    }

    /// Each call runs as its own task, so its answer is read as it arrives even while the loop
    /// is busy (re-reading after a lost answer, saving): a finished call never times out
    /// waiting to be looked at.
    fn send(&self, batch: Batch) -> JoinHandle<Answer> {
        let client = self.sending.client.clone();
        let options = *self.sending.options;
        tokio::spawn(async move {
            let request = DeleteDesktopsReq {
                desktop_ids: batch.ids,
                delete_users: Some(options.delete_users),
                email_notification: Some(options.email_notification),
                is_force_delete: Some(options.force),
            };
            let answer = client.batch_delete(&request).await;
            let batch = Batch {
                ids: request.desktop_ids,
                ..batch
            };
            (batch, answer)
        })
    }

    /// Stops starting calls and gives those in flight the grace period.
    fn stop(&mut self, why: Stop) {
        match &why {
            Stop::Signal(signal) => {
                self.report.interrupted.get_or_insert(*signal);
            }
            Stop::SaveFailed(err) => {
                self.report.save_failed.get_or_insert_with(|| err.clone());
            }
        }
        self.deadline
            .get_or_insert_with(|| Instant::now() + self.sending.grace);
        (self.sending.on_stop)(&why, self.in_flight.len());
    }

    fn save_failed(&mut self, err: anyhow::Error) {
        if self.report.save_failed.is_none() {
            self.stop(Stop::SaveFailed(format!("{err:#}")));
        }
    }

    /// Saves the journal; a failure stops sending (the answers still arriving are kept in
    /// memory, and shown to the user at the end).
    async fn save(&mut self) {
        if let Err(err) = self.journal.save().await {
            self.save_failed(err);
        }
    }

    /// Records a call's answer (or its absence) in place of its intent.
    async fn record(&mut self, (batch, answer): Answer) {
        self.waiting.remove(&batch.intent);
        self.journal.state.close_intent(&batch.intent);
        match answer {
            Ok(answer) if self.is_recorded(&answer.job_id) => {
                let err = ApiError::Malformed {
                    call: format!(
                        "batch-delete of {} desktop{}",
                        batch.ids.len(),
                        if batch.ids.len() == 1 { "" } else { "s" }
                    ),
                    status: 202,
                    detail: format!(
                        "its job ID `{}` is already recorded for other desktops",
                        answer.job_id
                    ),
                };
                self.lost(batch, err).await;
            }
            Ok(answer) => {
                let mut job = JobRecord::pending(&answer.job_id, &batch.ids, Timestamp::now());
                self.sending.recording.describe(&mut job);
                self.journal.state.jobs.push(job);
                self.save().await;
                tracing::info!(job_id = %answer.job_id, desktops = batch.ids.len(), "batch-delete accepted");
                (self.sending.on_sent)(
                    self.report.submitted() + batch.ids.len(),
                    &answer.job_id,
                    &batch.ids,
                );
                self.report.jobs.push((answer.job_id, batch.ids));
            }
            Err(err) if is_about_one_desktop(&err) => self.refused(batch, &err).await,
            Err(err) if err.provably_not_carried_out() || err.is_client_refusal() => {
                self.save().await;
                self.report.not_sent.extend(batch.ids);
                // Calls already under way are still awaited and recorded; no new one starts.
                self.report.stopped_by.get_or_insert(err);
            }
            Err(err) => self.lost(batch, err).await,
        }
    }

    /// Whether `job_id` is recorded already, for other desktops (by an earlier run or an
    /// earlier call of this one): an answer naming it cannot be this call's.
    fn is_recorded(&self, job_id: &str) -> bool {
        self.journal
            .state
            .jobs
            .iter()
            .any(|job| job.job_id == job_id)
            || self.report.jobs.iter().any(|(id, _)| id == job_id)
    }

    /// A refusal about one desktop: that one is recorded, the rest of its batch goes again.
    async fn refused(&mut self, batch: Batch, err: &ApiError) {
        let (refused, rest) = single_out(err, batch.ids);
        let Some(id) = refused else {
            // The answer names no desktop: halve until it does, or one remains.
            self.save().await;
            let (left, right) = rest.split_at(rest.len() / 2);
            for half in [right, left] {
                self.queue
                    .push_front(Batch::new(half.to_vec(), batch.resent));
            }
            return;
        };
        let refusal = refusal(&id, err);
        self.journal.state.refused.push(refusal.clone());
        self.save().await;
        if refusal.http_status == 404 && self.is_gone(&id).await {
            self.report.gone.push(refusal);
        } else {
            self.report.refused.push(refusal);
        }
        if !rest.is_empty() {
            self.queue.push_front(Batch::new(rest, batch.resent));
        }
    }

    /// Whether the API no longer lists desktop `id`. A 404 to a batch-delete says that some
    /// desktop does not exist, not always which: only a read by ID shows this one is gone. Not
    /// known (the read failed, or a signal leaves no time to read) is not gone.
    async fn is_gone(&self, id: &str) -> bool {
        if self.report.interrupted.is_some() {
            return false;
        }
        let sending = self.sending;
        match read_by_ids(sending.client, &[id.to_string()], 1).await {
            Ok(found) => !found
                .iter()
                .any(|desktop| desktop.id.eq_ignore_ascii_case(id)),
            Err(err) => {
                tracing::warn!(error = %err, desktop = id, "could not read a desktop refused with 404 again");
                false
            }
        }
    }

    /// An answer lost (or not understood): the call may have created a job. Record that
    /// first, then ask the API which of its desktops are being deleted; only the untouched
    /// ones may go again.
    async fn lost(&mut self, batch: Batch, err: ApiError) {
        let state = &mut self.journal.state;
        state.unconfirmed.push(Unconfirmed {
            at: Timestamp::now(),
            desktop_ids: batch.ids.clone(),
            error: err.to_string(),
        });
        let entry = state.unconfirmed.len() - 1;
        self.save().await;
        self.report.lost_answers.push(err.clone());
        if self.report.interrupted.is_some() {
            // The user wants out: no re-read, the whole call stays unconfirmed.
            self.report.unconfirmed.extend(batch.ids);
            return;
        }
        tokio::time::sleep(SETTLE).await;
        let sending = self.sending;
        let untouched = match read_by_ids(sending.client, &batch.ids, sending.concurrency).await {
            Ok(now) => now
                .into_iter()
                .filter(|desktop| !desktop.is_deleting())
                .map(|desktop| desktop.id)
                .collect::<HashSet<String>>(),
            Err(reread) => {
                tracing::warn!(error = %reread, "could not re-read the desktops of an unconfirmed batch-delete");
                self.report.unconfirmed.extend(batch.ids);
                self.report.stopped_by.get_or_insert(err);
                return;
            }
        };
        let (again, taken): (Vec<String>, Vec<String>) =
            batch.ids.into_iter().partition(|id| untouched.contains(id));
        let state = &mut self.journal.state;
        state.unconfirmed[entry].desktop_ids = taken.clone();
        if taken.is_empty() {
            state.unconfirmed.remove(entry);
        }
        self.save().await;
        self.report.unconfirmed.extend(taken);
        if again.is_empty() {
            return;
        }
        if batch.resent {
            self.report.not_sent.extend(again);
            self.report.stopped_by.get_or_insert(err);
        } else {
            tracing::info!(
                desktops = again.len(),
                "the lost call did not reach these desktops; sending them again"
            );
            self.queue.push_front(Batch::new(again, true));
        }
    }

    /// The report, once no call is awaited any more. A call still in flight keeps its intent
    /// open in the state (saved before it left); its task is stopped.
    async fn finish(mut self) -> SubmitReport {
        for (_, (ids, task)) in self.waiting.drain() {
            task.abort();
            self.report.answer_unknown.extend(ids);
        }
        self.report
            .not_sent
            .extend(self.queue.drain(..).flat_map(|batch| batch.ids));
        if self.report.save_failed.is_some() {
            // One last try: what is recorded in the file is recorded, whatever is printed.
            let _ = self.journal.save().await;
        }
        self.report
    }
}
