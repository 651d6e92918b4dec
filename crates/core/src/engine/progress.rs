//! Progress: the run's counters and phase (shared by every stage, lock-free), the rejects
//! waiting to be written, and the ticker that turns them into [`RunEvent`]s about ten times a
//! second and into the store once a second.

use super::identities::MAX_IDENTIFIER_CHARS;
use super::{lock, EventSink, Shared};
use crate::error::RejectCode;
use crate::model::{RejectRow, RunCounts, RunEvent, RunPhase, RunStatus};
use crate::store::Store;
use crate::Result;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often progress reaches the front end (about 10 a second).
pub const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);
/// Counts and rejects are saved every this many progress events (about once a second).
const SAVE_EVERY: u64 = 10;

#[derive(Default)]
pub(super) struct Counters {
    pub(super) read: AtomicU64,
    pub(super) matched: AtomicU64,
    pub(super) unchanged: AtomicU64,
    pub(super) sent: AtomicU64,
    pub(super) imported: AtomicU64,
    pub(super) rejected: AtomicU64,
    pub(super) failed: AtomicU64,
    pub(super) removed: AtomicU64,
    pub(super) held: AtomicU64,
    /// Source rows that could not be read (their identifier is unknown).
    pub(super) unreadable: AtomicU64,
    phase: AtomicU8,
}

impl Counters {
    pub(super) fn snapshot(&self) -> RunCounts {
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        RunCounts {
            read: n(&self.read),
            sent: n(&self.sent),
            imported: n(&self.imported),
            rejected: n(&self.rejected),
            failed_in_klaviyo: n(&self.failed),
            matched: n(&self.matched),
            unchanged: n(&self.unchanged),
            removed: n(&self.removed),
            held: n(&self.held),
        }
    }
    pub(super) fn set_phase(&self, p: RunPhase) {
        self.phase.store(p as u8, Ordering::Relaxed);
    }
    pub(super) fn phase(&self) -> RunPhase {
        match self.phase.load(Ordering::Relaxed) {
            x if x == RunPhase::Sending as u8 => RunPhase::Sending,
            x if x == RunPhase::Waiting as u8 => RunPhase::Waiting,
            x if x == RunPhase::Fetching as u8 => RunPhase::Fetching,
            x if x == RunPhase::Removing as u8 => RunPhase::Removing,
            x if x == RunPhase::Starting as u8 => RunPhase::Starting,
            _ => RunPhase::Reading,
        }
    }
}

pub(super) fn add(a: &AtomicU64, n: u64) {
    a.fetch_add(n, Ordering::Relaxed);
}

/// Rows refused before or by Klaviyo, waiting to be written to the run's reject table.
#[derive(Default)]
pub(super) struct Rejects {
    pending: Mutex<Vec<RejectRow>>,
}

impl Rejects {
    pub(super) fn push(
        &self,
        counters: &Counters,
        line: u64,
        identifier: &str,
        reason: RejectCode,
    ) {
        add(&counters.rejected, 1);
        let identifier: String = identifier.chars().take(MAX_IDENTIFIER_CHARS).collect();
        lock(&self.pending).push(RejectRow::new(line, identifier, reason));
    }
    pub(super) fn flush(&self, store: &Store, run_id: &str) -> Result<()> {
        let batch = std::mem::take(&mut *lock(&self.pending));
        if batch.is_empty() {
            return Ok(());
        }
        let written = store.add_rejects(run_id, &batch);
        if written.is_err() {
            // Kept for the next flush (one transaction, INSERT OR IGNORE: safe to write again),
            // so a heartbeat that fails loses no reject; the last flush reports the error.
            let mut pending = lock(&self.pending);
            let newer = std::mem::replace(&mut *pending, batch);
            pending.extend(newer);
        }
        written
    }
}

/// Progress until aborted: ~10 events a second, and (`save`: live runs) counts + rejects into
/// SQLite once a second — the heartbeat that also tells whether this process still owns the
/// run. A save that fails is logged and tried again a second later: the final counts and
/// rejects are written (or the run fails) when the run ends.
pub(super) fn spawn_ticker(
    shared: Arc<Shared>,
    on_event: EventSink,
    save: bool,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(PROGRESS_INTERVAL);
        let mut n: u64 = 0;
        loop {
            tick.tick().await;
            n += 1;
            let counts = shared.counters.snapshot();
            on_event(&RunEvent {
                run_id: shared.run_id.clone(),
                phase: shared.counters.phase(),
                counts,
                status: Some(RunStatus::Running),
                message: None,
            });
            if n.is_multiple_of(SAVE_EVERY) && save {
                save_progress(&shared, counts).await;
            }
        }
    })
}

/// One heartbeat: the counts so far and the pending rejects. Failures are logged (the run's
/// id and the error's code and text, which is redacted — never row contents), not returned.
async fn save_progress(shared: &Arc<Shared>, counts: RunCounts) {
    let s = shared.clone();
    let flushed = tokio::task::spawn_blocking(move || -> Result<bool> {
        let owned = s.store.update_run_counts(&s.run_id, &s.owner, &counts)?;
        s.rejects.flush(&s.store, &s.run_id)?;
        Ok(owned)
    })
    .await;
    let run_id = &shared.run_id;
    match flushed {
        Ok(Ok(true)) => {}
        Ok(Ok(false)) => {
            tracing::error!("run {run_id} is recorded as owned by another process")
        }
        Ok(Err(e)) => {
            tracing::warn!(run_id = %run_id, code = %e.code(), "progress not saved: {e}")
        }
        Err(e) => tracing::warn!(run_id = %run_id, "progress not saved: {e}"),
    }
}
