//! Sending: batches from the reader to Klaviyo's bulk import, a few jobs in flight at once,
//! each accepted batch checkpointed before it counts as sent; open jobs polled meanwhile.

use super::batcher::Batch;
use super::jobs::{attach_reopened, poll_jobs, OpenJob, Reopened, POLL_INTERVAL};
use super::progress::add;
use super::reader::Item;
use super::{blocking, flatten, lock, Mode, Shared};
use crate::error::RejectCode;
use crate::model::RunPhase;
use crate::{CoreError, Result};
use segport_klaviyo::{self as klaviyo, Client};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Jobs in flight at once (each at most 10,000 profiles).
pub(super) const SEND_CONCURRENCY: usize = 6;

/// What stage 2 leaves for the rest of the run.
pub(super) struct Sent {
    /// The first error of a send or a poll (none after a cancel).
    pub(super) error: Option<CoreError>,
    /// Rows of reopened jobs not attached yet.
    pub(super) reopened: Reopened,
}

/// Stage 2: send the reader's batches, at most [`SEND_CONCURRENCY`] at a time, and poll their
/// jobs, until the reader is done, a send fails or the run is cancelled. A dry run only counts.
pub(super) async fn send_all(
    shared: &Arc<Shared>,
    mode: &Mode,
    mut rx: mpsc::Receiver<Item>,
    cancel: &CancellationToken,
) -> Sent {
    let mut in_flight = tokio::task::JoinSet::new();
    let mut send_error: Option<CoreError> = None;
    let mut poll = tokio::time::interval(POLL_INTERVAL);
    let mut reopened = Reopened::new();
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            item = rx.recv(), if in_flight.len() < SEND_CONCURRENCY => {
                let Some(item) = item else { break };
                match item {
                    Item::Reopened { batch, line, row } => {
                        reopened.entry(batch).or_default().push((line, row));
                    }
                    Item::Batch(batch) => match mode {
                        Mode::DryRun => {
                            add(&shared.counters.sent, batch.profiles.len() as u64);
                        }
                        Mode::Live(client) => {
                            shared.counters.set_phase(RunPhase::Sending);
                            let (client, shared) = (client.clone(), shared.clone());
                            in_flight.spawn(async move { send_batch(&client, batch, &shared).await });
                        }
                    },
                }
            }
            Some(done) = in_flight.join_next(), if !in_flight.is_empty() => {
                if let Err(e) = flatten(done) { send_error = Some(e); break; }
            }
            _ = poll.tick(), if mode.is_live() => {
                if let Mode::Live(client) = mode {
                    attach_reopened(shared, &mut reopened);
                    if let Err(e) = poll_jobs(client, shared).await { send_error = Some(e); break; }
                }
            }
        }
    }
    // Let the sends in flight finish even after an error or a cancel: a batch Klaviyo accepted
    // must reach the checkpoint, or a resumed run would send it again. (After a cancel a send
    // still waiting for the limiter or a retry returns at once; one already sent waits for
    // Klaviyo's answer — the client never abandons a sent bulk import.)
    while let Some(done) = in_flight.join_next().await {
        if let Err(e) = flatten(done) {
            if send_error.is_none() && !cancel.is_cancelled() {
                send_error = Some(e);
            }
        }
    }
    // The reader, blocked on a full channel, stops now.
    drop(rx);
    Sent {
        error: send_error,
        reopened,
    }
}

/// Index of the profile a JSON pointer like `/data/attributes/profiles/data/7/attributes/email`
/// points at.
pub(super) fn pointer_profile_index(pointer: &str) -> Option<usize> {
    pointer
        .strip_prefix("/data/attributes/profiles/data/")?
        .split('/')
        .next()?
        .parse()
        .ok()
}

/// Send one batch and checkpoint it; rows Klaviyo refuses by pointer are rejected and the rest
/// sent again.
async fn send_batch(client: &Client, mut batch: Batch, shared: &Arc<Shared>) -> Result<()> {
    loop {
        if batch.profiles.is_empty() {
            return Ok(());
        }
        match client.bulk_import(&shared.list_id, &batch.profiles).await {
            Ok(job) => {
                let n = batch.profiles.len();
                let (s, job_id, index, lines) = (
                    shared.clone(),
                    job.id.clone(),
                    batch.index,
                    batch.lines.clone(),
                );
                // The checkpoint: this batch is acknowledged and will not be sent again; its
                // lines are stored so that Klaviyo's per-row errors find them after a restart.
                blocking(move || s.store.record_job(&s.run_id, index, &job_id, &lines)).await?;
                add(&shared.counters.sent, n as u64);
                let rows = batch
                    .emails
                    .into_iter()
                    .zip(batch.hashes)
                    .zip(batch.phones)
                    .map(|((e, h), p)| Some((e, h, p)))
                    .collect();
                lock(&shared.open_jobs).push(OpenJob {
                    batch: batch.index,
                    id: job.id,
                    lines: batch.lines,
                    rows,
                    legacy: false,
                });
                return Ok(());
            }
            // One bad row makes Klaviyo refuse the whole request: drop the rows it points at,
            // report them, resend the rest.
            Err(klaviyo::Error::Invalid {
                status: 400,
                errors,
            }) if errors.iter().any(|e| {
                e.pointer
                    .as_deref()
                    .and_then(pointer_profile_index)
                    .is_some_and(|i| i < batch.profiles.len())
            }) =>
            {
                let mut bad: BTreeMap<usize, RejectCode> = BTreeMap::new();
                for e in &errors {
                    if let Some(i) = e.pointer.as_deref().and_then(pointer_profile_index) {
                        if i < batch.profiles.len() {
                            bad.entry(i).or_insert_with(|| RejectCode::KlaviyoRefused {
                                detail: e.detail.clone(),
                            });
                        }
                    }
                }
                for (i, reason) in bad.into_iter().rev() {
                    shared
                        .rejects
                        .push(&shared.counters, batch.lines[i], &batch.emails[i], reason);
                    batch.lines.remove(i);
                    batch.emails.remove(i);
                    batch.hashes.remove(i);
                    batch.phones.remove(i);
                    batch.profiles.remove(i);
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_names_the_profile() {
        assert_eq!(
            pointer_profile_index("/data/attributes/profiles/data/17/attributes/email"),
            Some(17)
        );
        assert_eq!(pointer_profile_index("/data/relationships/lists"), None);
    }
}
