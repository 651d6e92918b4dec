//! The export engine: source stream → segment filter → mapping (validate, E.164, sizes) →
//! delta check → batches (≤ 10,000 profiles, ≤ 5 MB) → bulk import jobs → job polling (many at
//! once) → import errors → checkpoints, delta state and counts in SQLite → mirror removals, with
//! progress events throughout.
//!
//! Architecture invariant: stages are joined by bounded channels, so memory stays flat whatever
//! the input size (the delta state is one pair of 64-bit hashes per identifier).
//!
//! Delta: the state holds, per export and identifier, a hash of the mapped input values under
//! the mapping's fingerprint ([`crate::mapping::Mapper::input_key`]); a row whose hash is unchanged is skipped
//! before it is mapped, so an unchanged re-run costs little more than reading the source. Progress is one
//! event type ([`RunEvent`]) for every front end.
//!
//! Resume: each batch Klaviyo accepts is checkpointed with its job id and the source lines it
//! covers; each completed job with its counts. A run taken up again re-reads the source, skips
//! every row inside an acknowledged batch's lines (never sent twice), re-polls jobs still open
//! and sends the rest. (It is taken up only under the same fingerprint: see
//! [`crate::fingerprint`].)
//!
//! One identifier, one profile per run: a row whose email (trimmed, case-insensitive) or E.164
//! phone number repeats an earlier row of the segment is rejected as "duplicate of line N" —
//! the first row wins, in live runs, dry runs and the mapping preview alike.
//!
//! Mirror mode: after everything was sent, the profiles sent to this destination before that
//! are not in the segment any more are removed from the list — unless that looks like an
//! accident (rows that could not be read, the source changed while it was read, or more
//! removals than the export's [`RemovalGuard`] allows): then they are held, the run ends
//! [`RunStatus::Held`], and a run with `confirm_removals` of at least that many removes them.

mod batcher;
mod identities;
mod jobs;
mod mirror;
mod progress;
mod reader;
mod sender;

pub use batcher::Batcher;
pub use identities::DuplicateCheck;
pub use jobs::settle_superseded;
pub use progress::PROGRESS_INTERVAL;
pub(crate) use reader::{head_mapper, read_head};

use crate::filter::Filter;
use crate::fingerprint::SourceIdentity;
use crate::model::*;
use crate::source::SourceSpec;
use crate::store::{JobRecord, Store};
use crate::{CoreError, Result};
use identities::{key_of, Identities, KeyMap};
use jobs::{Acked, OpenJob};
use progress::{add, Counters, Rejects};
use reader::{Item, Reader};
use segport_klaviyo::{self as klaviyo, Client};
use sender::SEND_CONCURRENCY;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub type EventSink = Arc<dyn Fn(&RunEvent) + Send + Sync>;

/// Whether a run talks to Klaviyo.
#[derive(Clone)]
pub enum Mode {
    /// Everything but the network: rows are read, filtered, mapped and counted as sent;
    /// nothing is sent, and nothing of the run is written to the store.
    DryRun,
    /// Profiles are sent with this client; counts, rejects, checkpoints and the delta state
    /// are recorded.
    Live(Client),
}

impl Mode {
    pub fn is_live(&self) -> bool {
        matches!(self, Mode::Live(_))
    }
}

/// Everything a run needs, resolved before it starts.
pub struct RunPlan {
    pub run_id: String,
    /// The token of the process that owns the run (see [`crate::runlock`]).
    pub owner: String,
    pub export: Export,
    pub source: SourceSpec,
    pub filter: Option<Filter>,
    /// A dry run or a live one (with its client).
    pub mode: Mode,
    /// Ignore the delta state: send every profile of the segment.
    pub full: bool,
    /// The checkpoint of the run being taken up again (empty for a new run).
    pub resume: Vec<JobRecord>,
    /// Where the profiles go (`account/list`): the delta state's key.
    pub destination: String,
    /// The source as it was when the run was planned: mirror removals are held if it changed
    /// while it was read.
    pub source_identity: Option<SourceIdentity>,
    /// Mirror mode: removals confirmed up to this many (`--confirm-removals N`).
    pub confirm_removals: Option<u64>,
}

/// What every stage of a run shares.
struct Shared {
    store: Arc<Store>,
    run_id: String,
    owner: String,
    export_id: String,
    list_id: String,
    destination: String,
    counters: Counters,
    rejects: Rejects,
    open_jobs: Mutex<Vec<OpenJob>>,
    /// Identifiers in the segment this run, once read (mirror mode's "still in" set).
    seen: Mutex<Option<Identities>>,
}

/// How a run ended, as far as the engine can tell (the status follows from it).
enum Ending {
    Done,
    /// Mirror removals held; why, in words.
    Held(String),
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Run a prepared export to the end (or to cancellation). Records counts, rejects, checkpoints
/// and the delta state in the store, calls `on_event` about ten times a second, and returns the
/// final status.
pub async fn execute(
    store: Arc<Store>,
    plan: RunPlan,
    cancel: CancellationToken,
    on_event: EventSink,
) -> Result<(RunStatus, RunCounts, Option<String>)> {
    let mirror = plan.export.mode == ExportMode::Mirror;
    let shared = Arc::new(Shared {
        store: store.clone(),
        run_id: plan.run_id.clone(),
        owner: plan.owner.clone(),
        export_id: plan.export.id.clone(),
        list_id: plan.export.list_id.clone(),
        destination: plan.destination.clone(),
        counters: Counters::default(),
        rejects: Rejects::default(),
        open_jobs: Mutex::default(),
        seen: Mutex::new(None),
    });
    // What the checkpoint already holds (a cancelled or expired job's rows are sent again).
    for j in plan.resume.iter().filter(|j| j.is_delivered()) {
        add(&shared.counters.sent, j.profiles);
        add(&shared.counters.imported, j.completed);
        add(&shared.counters.failed, j.failed);
    }
    // The client stops waiting (limiter, retries) when the run is cancelled.
    let mode = match &plan.mode {
        Mode::DryRun => Mode::DryRun,
        Mode::Live(client) => Mode::Live(client.clone().with_cancel(cancel.clone())),
    };
    let dry_run = !mode.is_live();
    // Mirror mode: how many profiles this destination held before the run (for the guard).
    let before = if mirror && mode.is_live() {
        let s = shared.clone();
        blocking(move || s.store.count_export_state(&s.export_id, &s.destination)).await?
    } else {
        0
    };

    let ticker = progress::spawn_ticker(shared.clone(), on_event.clone(), mode.is_live());
    let result = pipeline(&shared, &plan, &mode, &cancel).await;
    let result = match (result, &mode) {
        (Ok(()), Mode::Live(client)) if mirror && !cancel.is_cancelled() => {
            mirror::remove_leavers(&shared, &plan, client, before).await
        }
        (r, _) => r.map(|()| Ending::Done),
    };
    ticker.abort();

    let mut counts = shared.counters.snapshot();
    if mode.is_live() {
        shared.rejects.flush(&store, &plan.run_id)?;
        // Rejects found before a restart are in the table, not in this process's counters.
        counts.rejected = store.rejects(&plan.run_id, 0)?.1;
    }
    let error_code = result.as_ref().err().map(|e| e.code());
    let (status, error) = match result {
        Ok(_) if cancel.is_cancelled() => (RunStatus::Cancelled, None),
        Ok(Ending::Held(why)) => (RunStatus::Held, Some(why)),
        Ok(Ending::Done) if counts.rejected > 0 || counts.failed_in_klaviyo > 0 => {
            (RunStatus::Partial, None)
        }
        Ok(Ending::Done) => (RunStatus::Succeeded, None),
        Err(CoreError::Cancelled) | Err(CoreError::Klaviyo(klaviyo::Error::Cancelled)) => {
            (RunStatus::Cancelled, None)
        }
        Err(e) => (RunStatus::Failed, Some(e.to_string())),
    };
    if mode.is_live() {
        store.finish_run(&plan.run_id, status, &counts, error.as_deref())?;
    }
    on_event(&RunEvent {
        run_id: plan.run_id.clone(),
        phase: RunPhase::Finished,
        counts,
        status: Some(status),
        message: error.clone(),
    });
    // For support: ids, status, counts and the error code only — never row contents or keys.
    tracing::info!(run_id = %plan.run_id, export_id = %plan.export.id, status = status.as_str(), read = counts.read,
        matched = counts.matched, sent = counts.sent, imported = counts.imported,
        rejected = counts.rejected, failed_in_klaviyo = counts.failed_in_klaviyo,
        error_code = error_code.as_deref().unwrap_or("-"), dry_run, "run finished");
    Ok((status, counts, error))
}

/// The stages: the reader (a blocking thread) → a bounded channel → the sender (jobs in
/// flight, polled as they go) → waiting for the last jobs. Mirror removals come after.
async fn pipeline(
    shared: &Arc<Shared>,
    plan: &RunPlan,
    mode: &Mode,
    cancel: &CancellationToken,
) -> Result<()> {
    // Jobs accepted before a restart and not complete yet are polled again.
    {
        let mut open = lock(&shared.open_jobs);
        for j in plan.resume.iter().filter(|j| !j.is_complete()) {
            open.push(OpenJob::reopened(j));
        }
    }
    let state = if plan.full || !mode.is_live() {
        KeyMap::default()
    } else {
        let s = shared.clone();
        blocking(move || -> Result<KeyMap<(u64, u64)>> {
            let mut state = KeyMap::default();
            s.store
                .for_each_export_state(&s.export_id, &s.destination, |id, hash, phone| {
                    state.insert(key_of(id), (hash, phone));
                })?;
            Ok(state)
        })
        .await?
    };

    let (tx, rx) = mpsc::channel::<Item>(SEND_CONCURRENCY * 2);

    // Stage 1 (a blocking thread): read, filter, map, check the delta, batch.
    let reader = Reader {
        spec: plan.source.clone(),
        filter: plan.filter.clone(),
        mapping: plan.export.mapping.clone(),
        shared: shared.clone(),
        state,
        acked: Acked::new(&plan.resume),
        first_index: plan.resume.iter().map(|j| j.batch + 1).max().unwrap_or(0),
        cancel: cancel.clone(),
        tx,
    };
    let reader = tokio::task::spawn_blocking(move || reader.run());

    // Stage 2: send batches, a few at a time, and poll their jobs.
    let sender::Sent {
        error: send_error,
        mut reopened,
    } = sender::send_all(shared, mode, rx, cancel).await;
    let read_result = reader
        .await
        .map_err(|e| CoreError::Internal(format!("the reader stopped: {e}")))?;
    if let Some(e) = send_error {
        return Err(e);
    }
    read_result?;
    if cancel.is_cancelled() {
        return Err(CoreError::Cancelled);
    }
    let Mode::Live(client) = mode else {
        return Ok(());
    };

    // Stage 3: wait for Klaviyo to finish the jobs.
    shared.counters.set_phase(RunPhase::Waiting);
    jobs::attach_reopened(shared, &mut reopened);
    jobs::wait_for_jobs(client, shared, cancel).await
}

/// A worker task's result: a task that panicked or was aborted is an internal error (a bug to
/// report), never the user's configuration.
fn flatten(r: std::result::Result<Result<()>, tokio::task::JoinError>) -> Result<()> {
    r.map_err(|e| CoreError::Internal(format!("a sender stopped: {e}")))?
}

/// Run store work on a blocking thread; a thread that panics is an internal error.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| CoreError::Internal(format!("a database task stopped: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sender that panics is `internal` (exit code and UI text of a bug), not `config.invalid`.
    #[tokio::test]
    async fn a_worker_that_panics_is_an_internal_error() {
        let panicked = tokio::spawn(async { panic!("boom") })
            .await
            .map(|()| Ok(()));
        let e = flatten(panicked).unwrap_err();
        assert!(matches!(e, CoreError::Internal(_)), "{e:?}");
        assert_eq!(e.code(), "internal");

        let e = blocking(|| -> Result<()> { panic!("boom") })
            .await
            .unwrap_err();
        assert!(matches!(e, CoreError::Internal(_)), "{e:?}");

        // The task's own error passes through unchanged.
        let e = flatten(Ok(Err(CoreError::Cancelled))).unwrap_err();
        assert!(matches!(e, CoreError::Cancelled));
    }
}
