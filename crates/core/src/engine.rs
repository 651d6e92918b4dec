//! The export engine: CSV stream → map + validate → batches (≤ 10,000 profiles, ≤ 5 MB) →
//! bulk import jobs → job polling → counts in SQLite, with progress events throughout.
//!
//! Architecture invariant: stages are joined by bounded channels, so memory stays flat
//! whatever the input size; progress is one event type ([`RunEvent`]) for every front end.

use crate::model::*;
use crate::source::{CsvRows, RowResult, SourceError};
use crate::store::Store;
use crate::{CoreError, Result};
use segport_klaviyo::{self as klaviyo, Client, JobStatus};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Jobs in flight at once (each at most 10,000 profiles).
const SEND_CONCURRENCY: usize = 4;
/// How often progress reaches the front end (about 10 a second).
pub const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);
const POLL_INTERVAL: Duration = Duration::from_millis(250);
const MAX_IDENTIFIER_CHARS: usize = 200;

pub type EventSink = Arc<dyn Fn(&RunEvent) + Send + Sync>;

/// Everything a run needs, resolved before it starts.
pub struct RunPlan {
    pub run_id: String,
    pub export: Export,
    pub csv_path: PathBuf,
    pub client: Client,
}

#[derive(Default)]
struct Counters {
    read: AtomicU64,
    sent: AtomicU64,
    imported: AtomicU64,
    rejected: AtomicU64,
    failed: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> RunCounts {
        RunCounts {
            read: self.read.load(Ordering::Relaxed),
            sent: self.sent.load(Ordering::Relaxed),
            imported: self.imported.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
            failed_in_klaviyo: self.failed.load(Ordering::Relaxed),
        }
    }
}

/// Rows refused before or by Klaviyo, waiting to be written to the run's reject table.
#[derive(Default)]
struct Rejects {
    pending: Mutex<Vec<RejectRow>>,
}

impl Rejects {
    fn push(&self, counters: &Counters, line: u64, identifier: &str, reason: String) {
        counters.rejected.fetch_add(1, Ordering::Relaxed);
        let identifier: String = identifier.chars().take(MAX_IDENTIFIER_CHARS).collect();
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(RejectRow {
                line,
                identifier,
                reason,
            });
    }
    fn flush(&self, store: &Store, run_id: &str) -> Result<()> {
        let batch = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        if batch.is_empty() {
            return Ok(());
        }
        store.add_rejects(run_id, &batch)
    }
}

/// A batch of serialized profiles with the source line of each.
struct Batch {
    index: u64,
    lines: Vec<u64>,
    emails: Vec<String>,
    profiles: Vec<String>,
}

#[derive(Serialize)]
struct ProfileResource<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    attributes: ProfileAttributes<'a>,
}

/// Empty values are omitted, never sent as "" or null (Klaviyo would wipe the field).
#[derive(Serialize)]
struct ProfileAttributes<'a> {
    email: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_number: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_name: Option<&'a str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    properties: BTreeMap<&'a str, &'a str>,
}

/// Column indices of a mapping, resolved against a file's header.
pub struct ResolvedMapping {
    email: usize,
    phone_number: Option<usize>,
    external_id: Option<usize>,
    first_name: Option<usize>,
    last_name: Option<usize>,
    properties: Vec<(String, usize)>,
}

impl ResolvedMapping {
    pub fn resolve(m: &Mapping, rows: &CsvRows) -> Result<Self, SourceError> {
        let opt = |c: &Option<String>| c.as_deref().map(|c| rows.column(c)).transpose();
        Ok(ResolvedMapping {
            email: rows.column(&m.email)?,
            phone_number: opt(&m.phone_number)?,
            external_id: opt(&m.external_id)?,
            first_name: opt(&m.first_name)?,
            last_name: opt(&m.last_name)?,
            properties: m
                .properties
                .iter()
                .map(|(k, col)| Ok((k.clone(), rows.column(col)?)))
                .collect::<Result<_, SourceError>>()?,
        })
    }

    /// The email of a row (trimmed) — what a reject is identified by.
    pub fn email<'r>(&self, fields: &'r csv::StringRecord) -> &'r str {
        fields.get(self.email).unwrap_or("").trim()
    }

    /// Map one row to a serialized profile resource, or the reason it is rejected.
    pub fn profile(&self, fields: &csv::StringRecord) -> std::result::Result<String, String> {
        let get = |i: Option<usize>| {
            i.and_then(|i| fields.get(i))
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let email = self.email(fields);
        if email.is_empty() {
            return Err("email is empty".into());
        }
        if !is_valid_email(email) {
            return Err("email is not a valid address".into());
        }
        let phone_number = get(self.phone_number);
        if let Some(p) = phone_number {
            if !is_e164(p) {
                return Err(format!(
                    "phone number \"{p}\" is not in E.164 format (e.g. +14155550123)"
                ));
            }
        }
        let attributes = ProfileAttributes {
            email,
            phone_number,
            external_id: get(self.external_id),
            first_name: get(self.first_name),
            last_name: get(self.last_name),
            properties: self
                .properties
                .iter()
                .filter_map(|(k, i)| get(Some(*i)).map(|v| (k.as_str(), v)))
                .collect(),
        };
        let json = serde_json::to_string(&ProfileResource {
            kind: "profile",
            attributes,
        })
        .map_err(|e| e.to_string())?;
        if json.len() > klaviyo::MAX_PROFILE_BYTES {
            return Err(format!(
                "profile is {} KB; Klaviyo accepts at most 100 KB per profile",
                json.len() / 1024
            ));
        }
        Ok(json)
    }
}

pub fn is_valid_email(s: &str) -> bool {
    // Klaviyo wants a dotted domain; `email_address` alone accepts `user@localhost`.
    email_address::EmailAddress::is_valid(s)
        && s.rsplit_once('@')
            .is_some_and(|(_, d)| d.contains('.') && !d.ends_with('.'))
}

fn is_e164(s: &str) -> bool {
    let digits = s.strip_prefix('+').unwrap_or("");
    (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// Accumulates profiles into batches that respect Klaviyo's per-job limits.
pub struct Batcher {
    max_profiles: usize,
    max_bytes: usize,
    envelope: usize,
    bytes: usize,
    next_index: u64,
    lines: Vec<u64>,
    emails: Vec<String>,
    profiles: Vec<String>,
}

impl Batcher {
    pub fn new(list_id: &str) -> Self {
        Self::with_limits(
            list_id,
            klaviyo::MAX_PROFILES_PER_JOB,
            klaviyo::MAX_JOB_BYTES,
        )
    }

    pub fn with_limits(list_id: &str, max_profiles: usize, max_bytes: usize) -> Self {
        let envelope = klaviyo::bulk_import_envelope_len(list_id);
        Batcher {
            max_profiles,
            max_bytes,
            envelope,
            bytes: envelope,
            next_index: 0,
            lines: vec![],
            emails: vec![],
            profiles: vec![],
        }
    }

    /// Add a profile; returns a full batch when this one would not fit.
    fn push(&mut self, line: u64, email: &str, profile: String) -> Option<Batch> {
        let comma = usize::from(!self.profiles.is_empty());
        let full = self.profiles.len() >= self.max_profiles
            || self.bytes + comma + profile.len() > self.max_bytes;
        let out = if full { self.take() } else { None };
        let comma = usize::from(!self.profiles.is_empty());
        self.bytes += comma + profile.len();
        self.lines.push(line);
        self.emails.push(email.to_string());
        self.profiles.push(profile);
        out
    }

    fn take(&mut self) -> Option<Batch> {
        if self.profiles.is_empty() {
            return None;
        }
        let b = Batch {
            index: self.next_index,
            lines: std::mem::take(&mut self.lines),
            emails: std::mem::take(&mut self.emails),
            profiles: std::mem::take(&mut self.profiles),
        };
        self.next_index += 1;
        self.bytes = self.envelope;
        Some(b)
    }

    /// Body length of the batch being built, as it would be sent.
    pub fn body_len(&self) -> usize {
        self.bytes
    }
}

struct OpenJob {
    batch: u64,
    id: String,
    profiles: usize,
}

/// Run a prepared export to the end (or to cancellation). Records counts and rejects in the
/// store, calls `on_event` about ten times a second, and returns the final status.
pub async fn execute(
    store: Arc<Store>,
    plan: RunPlan,
    cancel: CancellationToken,
    on_event: EventSink,
) -> Result<(RunStatus, RunCounts, Option<String>)> {
    let counters = Arc::new(Counters::default());
    let rejects = Arc::new(Rejects::default());
    let reading = Arc::new(AtomicBool::new(true));
    let sending = Arc::new(AtomicBool::new(true));
    let run_id = plan.run_id.clone();

    // Progress: ~10 events a second, and counts + rejects into SQLite once a second.
    let ticker = {
        let (store, counters, rejects, reading, sending, on_event, run_id) = (
            store.clone(),
            counters.clone(),
            rejects.clone(),
            reading.clone(),
            sending.clone(),
            on_event.clone(),
            run_id.clone(),
        );
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(PROGRESS_INTERVAL);
            let mut n: u64 = 0;
            loop {
                tick.tick().await;
                n += 1;
                let phase = if reading.load(Ordering::Relaxed) {
                    RunPhase::Reading
                } else if sending.load(Ordering::Relaxed) {
                    RunPhase::Sending
                } else {
                    RunPhase::Waiting
                };
                let counts = counters.snapshot();
                on_event(&RunEvent {
                    run_id: run_id.clone(),
                    phase,
                    counts,
                    status: Some(RunStatus::Running),
                    message: None,
                });
                if n.is_multiple_of(10) {
                    let store = store.clone();
                    let rejects = rejects.clone();
                    let run_id = run_id.clone();
                    let _ = tokio::task::spawn_blocking(move || -> Result<()> {
                        store.update_run_counts(&run_id, &counts)?;
                        rejects.flush(&store, &run_id)
                    })
                    .await;
                }
            }
        })
    };

    let result = pipeline(
        &store,
        &plan,
        &cancel,
        counters.clone(),
        rejects.clone(),
        reading,
        sending,
    )
    .await;
    ticker.abort();

    let counts = counters.snapshot();
    let (status, error) = match result {
        Ok(()) if cancel.is_cancelled() => (RunStatus::Cancelled, None),
        Ok(()) if counts.rejected > 0 || counts.failed_in_klaviyo > 0 => (RunStatus::Partial, None),
        Ok(()) => (RunStatus::Succeeded, None),
        Err(CoreError::Cancelled) => (RunStatus::Cancelled, None),
        Err(e) => (RunStatus::Failed, Some(e.to_string())),
    };
    rejects.flush(&store, &run_id)?;
    store.finish_run(&run_id, status, &counts, error.as_deref())?;
    on_event(&RunEvent {
        run_id: run_id.clone(),
        phase: RunPhase::Finished,
        counts,
        status: Some(status),
        message: error.clone(),
    });
    Ok((status, counts, error))
}

async fn pipeline(
    store: &Arc<Store>,
    plan: &RunPlan,
    cancel: &CancellationToken,
    counters: Arc<Counters>,
    rejects: Arc<Rejects>,
    reading: Arc<AtomicBool>,
    sending: Arc<AtomicBool>,
) -> Result<()> {
    let (tx, mut rx) = mpsc::channel::<Batch>(SEND_CONCURRENCY);

    // Stage 1 (a blocking thread): read, map, validate and batch.
    let reader = {
        let (path, mapping, list_id) = (
            plan.csv_path.clone(),
            plan.export.mapping.clone(),
            plan.export.list_id.clone(),
        );
        let (counters, rejects, cancel) = (counters.clone(), rejects.clone(), cancel.clone());
        tokio::task::spawn_blocking(move || -> Result<()> {
            let result = read_batches(&path, &mapping, &list_id, &counters, &rejects, &cancel, &tx);
            reading.store(false, Ordering::Relaxed);
            result
        })
    };

    // Stage 2: send batches, a few at a time, and poll their jobs until complete.
    let open_jobs: Arc<Mutex<Vec<OpenJob>>> = Arc::default();
    let mut in_flight = tokio::task::JoinSet::new();
    let mut send_error: Option<CoreError> = None;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            batch = rx.recv(), if in_flight.len() < SEND_CONCURRENCY => {
                let Some(batch) = batch else { break };
                let (client, list_id, counters, rejects, store, open_jobs, run_id) = (
                    plan.client.clone(), plan.export.list_id.clone(), counters.clone(),
                    rejects.clone(), store.clone(), open_jobs.clone(), plan.run_id.clone());
                in_flight.spawn(async move {
                    send_batch(&client, &list_id, batch, &counters, &rejects, &store, &run_id, &open_jobs).await
                });
            }
            Some(done) = in_flight.join_next(), if !in_flight.is_empty() => {
                if let Err(e) = flatten(done) { send_error = Some(e); break; }
            }
            _ = tokio::time::sleep(POLL_INTERVAL) => {
                poll_jobs(&plan.client, store, &plan.run_id, &open_jobs, &counters).await?;
            }
        }
    }
    // Drain what is still in flight (unless we stopped because of an error or cancel).
    if send_error.is_none() && !cancel.is_cancelled() {
        while let Some(done) = in_flight.join_next().await {
            if let Err(e) = flatten(done) {
                send_error = Some(e);
                break;
            }
        }
    }
    in_flight.abort_all();
    drop(rx);
    let read_result = reader
        .await
        .map_err(|e| CoreError::Config(format!("reader stopped: {e}")))?;
    sending.store(false, Ordering::Relaxed);
    if let Some(e) = send_error {
        return Err(e);
    }
    read_result?;
    if cancel.is_cancelled() {
        return Err(CoreError::Cancelled);
    }

    // Stage 3: wait for Klaviyo to finish the jobs.
    loop {
        poll_jobs(&plan.client, store, &plan.run_id, &open_jobs, &counters).await?;
        if open_jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty()
        {
            return Ok(());
        }
        tokio::select! {
            _ = cancel.cancelled() => return Err(CoreError::Cancelled),
            _ = tokio::time::sleep(POLL_INTERVAL) => {}
        }
    }
}

fn flatten(r: std::result::Result<Result<()>, tokio::task::JoinError>) -> Result<()> {
    r.map_err(|e| CoreError::Config(format!("sender stopped: {e}")))?
}

fn read_batches(
    path: &std::path::Path,
    mapping: &Mapping,
    list_id: &str,
    counters: &Counters,
    rejects: &Rejects,
    cancel: &CancellationToken,
    tx: &mpsc::Sender<Batch>,
) -> Result<()> {
    let mut rows = CsvRows::open(path)?;
    let resolved = ResolvedMapping::resolve(mapping, &rows)?;
    let mut batcher = Batcher::new(list_id);
    let mut any = false;
    let send = |b: Batch| -> Result<()> { tx.blocking_send(b).map_err(|_| CoreError::Cancelled) };
    while let Some(row) = rows.next_row()? {
        any = true;
        counters.read.fetch_add(1, Ordering::Relaxed);
        match row {
            RowResult::Bad { line, reason } => rejects.push(counters, line, "", reason),
            RowResult::Row(row) => match resolved.profile(&row.fields) {
                Ok(profile) => {
                    let email = resolved.email(&row.fields);
                    if let Some(full) = batcher.push(row.line, email, profile) {
                        send(full)?;
                    }
                }
                Err(reason) => {
                    rejects.push(counters, row.line, resolved.email(&row.fields), reason)
                }
            },
        }
        if cancel.is_cancelled() {
            return Err(CoreError::Cancelled);
        }
    }
    if !any {
        return Err(SourceError::NoRows(path.to_path_buf()).into());
    }
    if let Some(last) = batcher.take() {
        send(last)?;
    }
    Ok(())
}

/// Index of the profile a JSON pointer like `/data/attributes/profiles/data/7/attributes/email`
/// points at.
fn pointer_profile_index(pointer: &str) -> Option<usize> {
    pointer
        .strip_prefix("/data/attributes/profiles/data/")?
        .split('/')
        .next()?
        .parse()
        .ok()
}

#[allow(clippy::too_many_arguments)]
async fn send_batch(
    client: &Client,
    list_id: &str,
    mut batch: Batch,
    counters: &Counters,
    rejects: &Rejects,
    store: &Arc<Store>,
    run_id: &str,
    open_jobs: &Mutex<Vec<OpenJob>>,
) -> Result<()> {
    loop {
        if batch.profiles.is_empty() {
            return Ok(());
        }
        match client.bulk_import(list_id, &batch.profiles).await {
            Ok(job) => {
                let n = batch.profiles.len();
                counters.sent.fetch_add(n as u64, Ordering::Relaxed);
                let (store, run_id2, job_id) = (store.clone(), run_id.to_string(), job.id.clone());
                let index = batch.index;
                tokio::task::spawn_blocking(move || {
                    store.record_job(&run_id2, index, &job_id, n, "accepted")
                })
                .await
                .map_err(|e| CoreError::Config(e.to_string()))??;
                open_jobs
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(OpenJob {
                        batch: batch.index,
                        id: job.id,
                        profiles: n,
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
                    .is_some()
            }) =>
            {
                let mut bad: BTreeMap<usize, String> = BTreeMap::new();
                for e in &errors {
                    if let Some(i) = e.pointer.as_deref().and_then(pointer_profile_index) {
                        if i < batch.profiles.len() {
                            bad.entry(i)
                                .or_insert_with(|| format!("Klaviyo refused it: {}", e.detail));
                        }
                    }
                }
                if bad.is_empty() {
                    return Err(CoreError::Klaviyo(klaviyo::Error::Invalid {
                        status: 400,
                        errors,
                    }));
                }
                for (i, reason) in bad.iter().rev() {
                    rejects.push(counters, batch.lines[*i], &batch.emails[*i], reason.clone());
                    batch.lines.remove(*i);
                    batch.emails.remove(*i);
                    batch.profiles.remove(*i);
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
}

async fn poll_jobs(
    client: &Client,
    store: &Arc<Store>,
    run_id: &str,
    open_jobs: &Mutex<Vec<OpenJob>>,
    counters: &Counters,
) -> Result<()> {
    let ids: Vec<(u64, String, usize)> = open_jobs
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .map(|j| (j.batch, j.id.clone(), j.profiles))
        .collect();
    for (batch, id, profiles) in ids {
        let job = client.get_bulk_import_job(&id).await?;
        if job.is_finished() {
            let failed = if job.status == JobStatus::Cancelled {
                profiles as u64
            } else {
                job.failed_count
            };
            counters
                .imported
                .fetch_add(job.completed_count, Ordering::Relaxed);
            counters.failed.fetch_add(failed, Ordering::Relaxed);
            open_jobs
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .retain(|j| j.id != id);
            let status = if job.status == JobStatus::Cancelled {
                "cancelled"
            } else {
                "complete"
            };
            let (store, run_id) = (store.clone(), run_id.to_string());
            tokio::task::spawn_blocking(move || {
                store.record_job(&run_id, batch, &id, profiles, status)
            })
            .await
            .map_err(|e| CoreError::Config(e.to_string()))??;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_validation_accepts_real_addresses_and_refuses_broken_ones() {
        for ok in [
            "ada@example.com",
            "a.b+tag@sub.example.co.uk",
            "zoë@exämple.de",
        ] {
            assert!(is_valid_email(ok), "{ok}");
        }
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@localhost",
            "a b@example.com",
            "ada@@x.com",
        ] {
            assert!(!is_valid_email(bad), "{bad}");
        }
    }

    #[test]
    fn batcher_respects_profile_and_byte_limits() {
        let mut b = Batcher::with_limits("LIST01", 3, 10_000);
        let mut out = vec![];
        for i in 0..7 {
            if let Some(batch) = b.push(i, "e", format!("{{\"n\":{i}}}")) {
                out.push(batch.profiles.len());
            }
        }
        out.push(b.take().unwrap().profiles.len());
        assert_eq!(out, vec![3, 3, 1]);

        let envelope = klaviyo::bulk_import_envelope_len("LIST01");
        let profile = "x".repeat(100);
        let mut b = Batcher::with_limits("LIST01", 10_000, envelope + 250);
        assert!(b.push(1, "e", profile.clone()).is_none());
        assert!(b.push(2, "e", profile.clone()).is_none());
        assert_eq!(b.body_len(), envelope + 201);
        let full = b.push(3, "e", profile).unwrap();
        assert_eq!(full.profiles.len(), 2);
        assert_eq!(full.lines, vec![1, 2]);
    }

    #[test]
    fn pointer_names_the_profile() {
        assert_eq!(
            pointer_profile_index("/data/attributes/profiles/data/17/attributes/email"),
            Some(17)
        );
        assert_eq!(pointer_profile_index("/data/relationships/lists"), None);
    }
}
