//! Jobs: the bulk import jobs Klaviyo accepted — what each carries, polling them (up to 100 in
//! one request), and finishing each one (counts, per-row failures as rejects, checkpoint, delta
//! state). Also the acknowledged batches of a run taken up again, and closing a superseded run.

use super::progress::{add, Counters, Rejects};
use super::sender::pointer_profile_index;
use super::{blocking, lock, Shared};
use crate::error::RejectCode;
use crate::model::{RunPhase, RunStatus, RunView};
use crate::store::{JobRecord, JobState, Store};
use crate::{CoreError, Result};
use segport_klaviyo::{self as klaviyo, Client, JobStatus};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often open jobs are polled (one request for up to 100 jobs).
pub(super) const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// Identifier/content pairs written to the delta state per transaction.
const STATE_CHUNK: usize = 10_000;
/// How long a superseded run's open jobs are waited for before it is closed anyway.
const SETTLE_WAIT: Duration = Duration::from_secs(60);

/// What the delta state records of a row Klaviyo holds: (email, content hash, phone key).
pub(super) type SentRow = (String, u64, u64);

/// A job Klaviyo accepted and that is not complete yet, with what it carries (for the delta
/// state and for import errors): profile `i` of the job is source line `lines[i]`, with
/// (email, content hash) `rows[i]` — `None` while unknown (a job taken up after a restart gets
/// them from the re-read source; a row never known is never written to the delta state).
pub(super) struct OpenJob {
    pub(super) batch: u64,
    pub(super) id: String,
    pub(super) lines: Vec<u64>,
    pub(super) rows: Vec<Option<SentRow>>,
    /// Taken up from a checkpoint written before the batch's lines were stored: `lines` and
    /// `rows` are in reading order but may not match Klaviyo's profile indexes.
    pub(super) legacy: bool,
}

impl OpenJob {
    /// A job from the checkpoint of a run taken up again.
    pub(super) fn reopened(j: &JobRecord) -> OpenJob {
        match &j.lines {
            Some(lines) => OpenJob {
                batch: j.batch,
                id: j.job_id.clone(),
                rows: vec![None; lines.len()],
                lines: lines.clone(),
                legacy: false,
            },
            None => OpenJob {
                batch: j.batch,
                id: j.job_id.clone(),
                lines: vec![],
                rows: vec![],
                legacy: true,
            },
        }
    }
    /// The re-read source's identifier and hash for one of the job's lines.
    fn attach(&mut self, line: u64, row: SentRow) {
        if self.legacy {
            self.lines.push(line);
            self.rows.push(Some(row));
        } else if let Ok(i) = self.lines.binary_search(&line) {
            self.rows[i] = Some(row);
        }
    }
}

/// Rows the reader found for jobs reopened after a restart, by batch, waiting to be attached.
pub(super) type Reopened = HashMap<u64, Vec<(u64, SentRow)>>;

/// Give reopened jobs (from before a restart) the identifiers the reader found for them.
pub(super) fn attach_reopened(shared: &Shared, reopened: &mut Reopened) {
    if reopened.is_empty() {
        return;
    }
    let mut open = lock(&shared.open_jobs);
    for job in open.iter_mut() {
        if let Some(rows) = reopened.remove(&job.batch) {
            for (line, row) in rows {
                job.attach(line, row);
            }
        }
    }
}

/// The acknowledged batches of a run being taken up again, by source line.
pub(super) struct Acked {
    /// (first_line, last_line, batch, complete), sorted by first line.
    ranges: Vec<(u64, u64, u64, bool)>,
    next: usize,
}

impl Acked {
    /// Only delivered jobs count: the lines of a cancelled or expired job are sent again.
    pub(super) fn new(jobs: &[JobRecord]) -> Acked {
        let mut ranges: Vec<_> = jobs
            .iter()
            .filter(|j| j.is_delivered())
            .map(|j| (j.first_line, j.last_line, j.batch, j.is_complete()))
            .collect();
        ranges.sort_unstable();
        Acked { ranges, next: 0 }
    }
    /// The acknowledged batch whose lines include `line` (lines arrive in increasing order).
    pub(super) fn find(&mut self, line: u64) -> Option<(u64, bool)> {
        while let Some(&(_, last, _, _)) = self.ranges.get(self.next) {
            if last < line {
                self.next += 1;
            } else {
                break;
            }
        }
        let &(first, _, batch, complete) = self.ranges.get(self.next)?;
        (first <= line).then_some((batch, complete))
    }
}

/// Stage 3: poll until Klaviyo has finished every open job (or the run is cancelled).
pub(super) async fn wait_for_jobs(
    client: &Client,
    shared: &Arc<Shared>,
    cancel: &CancellationToken,
) -> Result<()> {
    loop {
        poll_jobs(client, shared).await?;
        if lock(&shared.open_jobs).is_empty() {
            return Ok(());
        }
        tokio::select! {
            _ = cancel.cancelled() => return Err(CoreError::Cancelled),
            _ = tokio::time::sleep(POLL_INTERVAL) => {}
        }
    }
}

pub(super) async fn poll_jobs(client: &Client, shared: &Arc<Shared>) -> Result<()> {
    let ids: Vec<String> = lock(&shared.open_jobs)
        .iter()
        .map(|j| j.id.clone())
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let mut jobs = client.poll_jobs(&ids).await?;
    // Jobs the list did not show (expired, or buried under newer jobs): ask one by one.
    let found: HashSet<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
    let missing: Vec<String> = ids
        .iter()
        .filter(|id| !found.contains(id.as_str()))
        .cloned()
        .collect();
    for id in missing {
        match client.get_bulk_import_job(&id).await {
            Ok(job) => jobs.push(job),
            // A job from before a restart that Klaviyo no longer knows (jobs expire): its
            // outcome is unknown, so its rows are not recorded in the delta state and the
            // next run sends them again (an idempotent upsert).
            Err(klaviyo::Error::Invalid { status: 404, .. }) => {
                let open = {
                    let mut open_jobs = lock(&shared.open_jobs);
                    let i = open_jobs.iter().position(|o| o.id == id);
                    i.map(|i| open_jobs.swap_remove(i))
                };
                if let Some(open) = open {
                    let s = shared.clone();
                    blocking(move || {
                        s.store
                            .complete_job(&s.run_id, open.batch, JobState::Expired, 0, 0)
                    })
                    .await?;
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    for job in jobs.into_iter().filter(|j| j.is_finished()) {
        let Some(open) = ({
            let mut open_jobs = lock(&shared.open_jobs);
            let i = open_jobs.iter().position(|o| o.id == job.id);
            i.map(|i| open_jobs.swap_remove(i))
        }) else {
            continue;
        };
        finish_job(client, shared, open, job).await?;
    }
    Ok(())
}

/// A job is complete: count it, fetch the rows Klaviyo failed, checkpoint, and record what
/// Klaviyo now holds in the delta state — only for rows whose outcome is known: a row that
/// failed, or that cannot be told apart from one that failed, is never recorded as sent.
async fn finish_job(
    client: &Client,
    shared: &Arc<Shared>,
    open: OpenJob,
    job: klaviyo::Job,
) -> Result<()> {
    let cancelled = job.status == JobStatus::Cancelled;
    let failed = if cancelled {
        open.lines.len().max(open.rows.len()) as u64
    } else {
        job.failed_count
    };
    let mut failed_rows: HashSet<usize> = HashSet::new();
    // Some failed row could not be matched to its profile: the job's state is not recorded.
    let mut unmatched = false;
    if failed > 0 && !cancelled {
        shared.counters.set_phase(RunPhase::Fetching);
        let mut cursor: Option<String> = None;
        loop {
            let page = client
                .get_bulk_import_job_errors(&open.id, cursor.as_deref())
                .await?;
            for e in page.items {
                let payload_email = e
                    .original_payload
                    .as_ref()
                    .and_then(|p| {
                        p.pointer("/attributes/email")
                            .or_else(|| p.pointer("/email"))
                    })
                    .and_then(|v| v.as_str())
                    .map(|v| v.trim().to_lowercase());
                // The profile: by the error's pointer, else by its original payload's email.
                let row = e
                    .pointer
                    .as_deref()
                    .and_then(pointer_profile_index)
                    .filter(|i| !open.legacy && *i < open.lines.len())
                    .or_else(|| {
                        let email = payload_email.as_deref()?;
                        open.rows
                            .iter()
                            .position(|r| r.as_ref().is_some_and(|(e, _, _)| e == email))
                    });
                let email = payload_email
                    .clone()
                    .or_else(|| row.and_then(|i| open.rows[i].as_ref().map(|r| r.0.clone())))
                    .unwrap_or_default();
                let line = match row {
                    Some(i) => open.lines[i],
                    None => {
                        unmatched = true;
                        open.lines.first().copied().unwrap_or(0)
                    }
                };
                if let Some(i) = row {
                    failed_rows.insert(i);
                }
                let detail = if e.detail.is_empty() {
                    e.title
                } else {
                    e.detail
                };
                shared.rejects.push(
                    &shared.counters,
                    line,
                    &email,
                    RejectCode::KlaviyoFailed { detail },
                );
            }
            // Counted as failed in Klaviyo, reported as rejects: not twice in `rejected`.
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        if (failed_rows.len() as u64) < job.failed_count {
            unmatched = true;
        }
    }
    add(&shared.counters.imported, job.completed_count);
    add(&shared.counters.failed, failed);
    let status = if cancelled {
        JobState::Cancelled
    } else {
        JobState::Complete
    };
    let state: Vec<SentRow> = if cancelled || unmatched {
        vec![]
    } else {
        open.rows
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !failed_rows.contains(i))
            .filter_map(|(_, row)| row)
            .collect()
    };
    let s = shared.clone();
    let (batch, completed) = (open.batch, job.completed_count);
    blocking(move || {
        for chunk in state.chunks(STATE_CHUNK) {
            s.store
                .save_export_state(&s.export_id, &s.destination, chunk)?;
        }
        s.store
            .complete_job(&s.run_id, batch, status, completed, failed)
    })
    .await
}

/// Close a run that will not be continued (see [`crate::fingerprint`]): its jobs still open
/// are polled until Klaviyo finishes them (for up to a minute) and accounted to that run —
/// counts, and per-row failures as its rejects with the lines of the file it read — never
/// credited to the new run, and never written to the delta state (which rows they carried is
/// not known against the changed source: the new run sends those profiles again, an
/// idempotent upsert). Then it is recorded as superseded with `message`.
pub async fn settle_superseded(
    store: &Arc<Store>,
    client: &Client,
    prev: &RunView,
    jobs: Vec<JobRecord>,
    message: &str,
) -> Result<()> {
    let shared = Arc::new(Shared {
        store: store.clone(),
        run_id: prev.id.clone(),
        owner: String::new(),
        export_id: prev.export_id.clone(),
        list_id: String::new(),
        destination: String::new(),
        counters: Counters::default(),
        rejects: Rejects::default(),
        open_jobs: Mutex::new(
            jobs.iter()
                .filter(|j| !j.is_complete())
                .map(OpenJob::reopened)
                .collect(),
        ),
        seen: Mutex::new(None),
    });
    let deadline = tokio::time::Instant::now() + SETTLE_WAIT;
    while !lock(&shared.open_jobs).is_empty() && tokio::time::Instant::now() < deadline {
        if let Err(e) = poll_jobs(client, &shared).await {
            tracing::warn!(run_id = %prev.id, code = %e.code(),
                "a superseded run's open jobs could not be polled");
            break;
        }
        if lock(&shared.open_jobs).is_empty() {
            break;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    let s = shared.clone();
    let mut counts = prev.counts;
    let message = message.to_string();
    blocking(move || {
        s.rejects.flush(&s.store, &s.run_id)?;
        let jobs = s.store.run_jobs(&s.run_id)?;
        let delivered = jobs.iter().filter(|j| j.is_delivered());
        counts.sent = delivered.clone().map(|j| j.profiles).sum();
        counts.imported = delivered.clone().map(|j| j.completed).sum();
        counts.failed_in_klaviyo = delivered.map(|j| j.failed).sum();
        counts.rejected = s.store.rejects(&s.run_id, 0)?.1;
        s.store
            .finish_run(&s.run_id, RunStatus::Superseded, &counts, Some(&message))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acknowledged_ranges_are_found_by_line() {
        let job = |batch, first, last, status| JobRecord {
            batch,
            job_id: format!("j{batch}"),
            profiles: 1,
            status,
            completed: 0,
            failed: 0,
            first_line: first,
            last_line: last,
            lines: None,
        };
        let mut a = Acked::new(&[
            job(1, 20, 29, JobState::Accepted),
            job(0, 2, 11, JobState::Complete),
            // A cancelled job's lines are sent again: not acknowledged.
            job(2, 40, 49, JobState::Cancelled),
        ]);
        let got: Vec<_> = [1, 2, 11, 12, 19, 20, 25, 29, 30, 45]
            .iter()
            .map(|l| a.find(*l))
            .collect();
        assert_eq!(
            got,
            vec![
                None,
                Some((0, true)),
                Some((0, true)),
                None,
                None,
                Some((1, false)),
                Some((1, false)),
                Some((1, false)),
                None,
                None
            ]
        );
    }
}
