//! The export engine: source stream → segment filter → mapping (validate, E.164, sizes) →
//! delta check → batches (≤ 10,000 profiles, ≤ 5 MB) → bulk import jobs → job polling (many at
//! once) → import errors → checkpoints, delta state and counts in SQLite → mirror removals, with
//! progress events throughout.
//!
//! Architecture invariant: stages are joined by bounded channels, so memory stays flat whatever
//! the input size (the delta state is one pair of 64-bit hashes per identifier).
//!
//! Delta: the state holds, per export and identifier, a hash of the mapped input values under
//! the mapping's fingerprint ([`Mapper::input_key`]); a row whose hash is unchanged is skipped
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

use crate::error::{DuplicateOf, RejectCode};
use crate::filter::{CompiledFilter, Filter};
use crate::fingerprint::SourceIdentity;
use crate::mapping::{Mapper, TypeSampler, TYPE_SAMPLE_ROWS};
use crate::model::*;
use crate::source::{self, RowItem, SourceError, SourceSpec};
use crate::store::{JobRecord, JobState, Store};
use crate::{CoreError, Result};
use segport_klaviyo::{self as klaviyo, Client, Identifier, JobStatus};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Jobs in flight at once (each at most 10,000 profiles).
const SEND_CONCURRENCY: usize = 6;
/// How often progress reaches the front end (about 10 a second).
pub const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);
/// How often open jobs are polled (one request for up to 100 jobs).
const POLL_INTERVAL: Duration = Duration::from_millis(500);
const MAX_IDENTIFIER_CHARS: usize = 200;
/// Identifier/content pairs written to the delta state per transaction.
const STATE_CHUNK: usize = 10_000;

pub type EventSink = Arc<dyn Fn(&RunEvent) + Send + Sync>;

/// Everything a run needs, resolved before it starts.
pub struct RunPlan {
    pub run_id: String,
    /// The token of the process that owns the run (see [`crate::runlock`]).
    pub owner: String,
    pub export: Export,
    pub source: SourceSpec,
    pub filter: Option<Filter>,
    /// `None` for a dry run: everything but the network.
    pub client: Option<Client>,
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

#[derive(Default)]
struct Counters {
    read: AtomicU64,
    matched: AtomicU64,
    unchanged: AtomicU64,
    sent: AtomicU64,
    imported: AtomicU64,
    rejected: AtomicU64,
    failed: AtomicU64,
    removed: AtomicU64,
    held: AtomicU64,
    /// Source rows that could not be read (their identifier is unknown).
    unreadable: AtomicU64,
    phase: AtomicU8,
}

impl Counters {
    fn snapshot(&self) -> RunCounts {
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
    fn set_phase(&self, p: RunPhase) {
        self.phase.store(p as u8, Ordering::Relaxed);
    }
    fn phase(&self) -> RunPhase {
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

/// Crash-test hook (crates/cli/tests/crash.rs), off unless the environment sets it.
///
/// `SEGPORT_TEST_PAUSE_AT=POINT:N` freezes the process the N-th time it reaches POINT: it
/// prints `segport-test-paused POINT:N` on stderr and sleeps for ever, so that a test can kill
/// it there with SIGKILL. Points: `read` (the N-th source row has just been read), `checkpoint`
/// (inside the N-th `Store::record_job` transaction, before it commits: Klaviyo has accepted
/// the batch but the checkpoint does not hold it yet), `job-complete` (inside the N-th
/// `Store::complete_job` transaction) and `planned` (the run is recorded and owned, before
/// anything is read or sent). The variable is read once; unset, a call costs one atomic load.
/// A release build never reads it: the hook exists only in debug builds (tests).
pub(crate) fn test_pause_at(point: &str) {
    if !cfg!(debug_assertions) {
        return;
    }
    static PAUSE: std::sync::OnceLock<Option<(String, u64, AtomicU64)>> =
        std::sync::OnceLock::new();
    let pause = PAUSE.get_or_init(|| {
        let v = std::env::var("SEGPORT_TEST_PAUSE_AT").ok()?;
        let (p, n) = v.rsplit_once(':')?;
        Some((p.to_owned(), n.parse().ok()?, AtomicU64::new(0)))
    });
    let Some((p, n, seen)) = pause else { return };
    if p == point && seen.fetch_add(1, Ordering::SeqCst) + 1 == *n {
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "segport-test-paused {point}:{n}");
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
}

fn add(a: &AtomicU64, n: u64) {
    a.fetch_add(n, Ordering::Relaxed);
}

/// Rows refused before or by Klaviyo, waiting to be written to the run's reject table.
#[derive(Default)]
struct Rejects {
    pending: Mutex<Vec<RejectRow>>,
}

impl Rejects {
    fn push(&self, counters: &Counters, line: u64, identifier: &str, reason: RejectCode) {
        add(&counters.rejected, 1);
        let identifier: String = identifier.chars().take(MAX_IDENTIFIER_CHARS).collect();
        lock(&self.pending).push(RejectRow::new(line, identifier, reason));
    }
    fn flush(&self, store: &Store, run_id: &str) -> Result<()> {
        let batch = std::mem::take(&mut *lock(&self.pending));
        if batch.is_empty() {
            return Ok(());
        }
        store.add_rejects(run_id, &batch)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The identifier key of the delta state and the mirror set: a 64-bit hash of the email.
fn key_of(email: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(email.as_bytes())
}

/// The key of an E.164 phone number as the delta state keeps it (0 = no phone).
fn phone_key(phone: Option<&str>) -> u64 {
    match phone {
        None => 0,
        Some(p) => key_of(p).max(1),
    }
}

/// A map keyed by an XXH3 hash already: no second hash per lookup.
type KeyMap<V> = nohash_hasher::IntMap<u64, V>;

/// First line of each identifier seen in this run (emails and E.164 phones, hashed, in
/// separate maps): "one identifier, one profile per run", and mirror mode's "still in the
/// segment" set.
#[derive(Default)]
pub(crate) struct Identities {
    emails: KeyMap<u64>,
    phones: KeyMap<u64>,
}

/// An email seen in the segment whose row was not sent (rejected): still in the segment for
/// mirror mode, but no later row is its duplicate.
const UNSENT: u64 = u64::MAX;

impl Identities {
    /// The email of key `key` (see [`key_of`]) is in the segment (mirror mode keeps its
    /// profile); the line of an earlier row with it that is sent in this run, if any.
    fn see_email(&mut self, key: u64) -> Option<u64> {
        match self.emails.entry(key) {
            std::collections::hash_map::Entry::Occupied(e) => {
                Some(*e.get()).filter(|&l| l != UNSENT)
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(UNSENT);
                None
            }
        }
    }
    /// The row at `line` with this email is sent (or unchanged since it was): later rows with
    /// the same email are its duplicates.
    fn email_sent(&mut self, key: u64, line: u64) {
        let slot = self.emails.entry(key).or_insert(line);
        if *slot == UNSENT {
            *slot = line;
        }
    }
    /// Record the phone of key `key` (see [`phone_key`]; 0 = none) at `line`; the line of an
    /// earlier row with the same phone if any. (Only rows about to be sent get here.)
    fn phone(&mut self, key: u64, line: u64) -> Option<u64> {
        if key == 0 {
            return None;
        }
        match self.phones.entry(key) {
            std::collections::hash_map::Entry::Occupied(e) => {
                Some(*e.get()).filter(|&first| first != line)
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(line);
                None
            }
        }
    }
    fn has_email(&self, email: &str) -> bool {
        self.emails.contains_key(&key_of(email))
    }
}

/// The reject reason of a row whose identifier an earlier row already has.
/// `value` is `None` where only its hash is known (an unchanged row's phone, from the state).
pub(crate) fn duplicate_reason(what: DuplicateOf, value: Option<&str>, first: u64) -> RejectCode {
    RejectCode::Duplicate {
        what,
        value: value.map(|v| v.chars().take(MAX_IDENTIFIER_CHARS).collect()),
        first_line: first,
    }
}

/// Applies "one identifier, one profile per run" to mapped rows in order (the mapping
/// preview uses it so that it shows what a run sends).
#[derive(Default)]
pub struct DuplicateCheck {
    ids: Identities,
}

impl DuplicateCheck {
    /// `Some(reason)` when the row at `line`, about to be sent, repeats the email or phone of
    /// an earlier row that is sent; otherwise the row is recorded as sent.
    pub fn check(&mut self, line: u64, email: &str, phone: Option<&str>) -> Option<String> {
        let key = key_of(email);
        if let Some(first) = self.ids.see_email(key) {
            return Some(duplicate_reason(DuplicateOf::Email, Some(email), first).to_string());
        }
        if let Some(first) = self.ids.phone(phone_key(phone), line) {
            return Some(duplicate_reason(DuplicateOf::Phone, phone, first).to_string());
        }
        self.ids.email_sent(key, line);
        None
    }
}

/// A batch of serialized profiles with the source line, email and content hash of each.
struct Batch {
    index: u64,
    lines: Vec<u64>,
    emails: Vec<String>,
    hashes: Vec<u64>,
    /// [`phone_key`] of each profile's phone (0 = none).
    phones: Vec<u64>,
    profiles: Vec<String>,
}

/// Accumulates profiles into batches that respect Klaviyo's per-job limits.
pub struct Batcher {
    max_profiles: usize,
    max_bytes: usize,
    envelope: usize,
    bytes: usize,
    next_index: u64,
    current: Batch,
}

impl Batcher {
    pub fn new(list_id: &str, first_index: u64) -> Self {
        Self::with_limits(
            list_id,
            klaviyo::MAX_PROFILES_PER_JOB,
            klaviyo::MAX_JOB_BYTES,
            first_index,
        )
    }

    pub fn with_limits(
        list_id: &str,
        max_profiles: usize,
        max_bytes: usize,
        first_index: u64,
    ) -> Self {
        let envelope = klaviyo::bulk_import_envelope_len(list_id);
        Batcher {
            max_profiles,
            max_bytes,
            envelope,
            bytes: envelope,
            next_index: first_index,
            current: Batch {
                index: first_index,
                lines: vec![],
                emails: vec![],
                hashes: vec![],
                phones: vec![],
                profiles: vec![],
            },
        }
    }

    /// Add a profile; returns the full batch when this one would not fit in it.
    fn push(
        &mut self,
        line: u64,
        email: String,
        hash: u64,
        phone: u64,
        profile: String,
    ) -> Option<Batch> {
        let b = &self.current;
        let comma = usize::from(!b.profiles.is_empty());
        let full = b.profiles.len() >= self.max_profiles
            || self.bytes + comma + profile.len() > self.max_bytes;
        let out = if full { self.take() } else { None };
        let comma = usize::from(!self.current.profiles.is_empty());
        self.bytes += comma + profile.len();
        let b = &mut self.current;
        b.lines.push(line);
        b.emails.push(email);
        b.hashes.push(hash);
        b.phones.push(phone);
        b.profiles.push(profile);
        out
    }

    fn take(&mut self) -> Option<Batch> {
        if self.current.profiles.is_empty() {
            return None;
        }
        self.next_index += 1;
        let next = Batch {
            index: self.next_index,
            lines: vec![],
            emails: vec![],
            hashes: vec![],
            phones: vec![],
            profiles: vec![],
        };
        self.bytes = self.envelope;
        Some(std::mem::replace(&mut self.current, next))
    }

    /// Body length of the batch being built, as it would be sent.
    pub fn body_len(&self) -> usize {
        self.bytes
    }
}

/// What the delta state records of a row Klaviyo holds: (email, content hash, phone key).
type SentRow = (String, u64, u64);

/// A job Klaviyo accepted and that is not complete yet, with what it carries (for the delta
/// state and for import errors): profile `i` of the job is source line `lines[i]`, with
/// (email, content hash) `rows[i]` — `None` while unknown (a job taken up after a restart gets
/// them from the re-read source; a row never known is never written to the delta state).
struct OpenJob {
    batch: u64,
    id: String,
    lines: Vec<u64>,
    rows: Vec<Option<SentRow>>,
    /// Taken up from a checkpoint written before the batch's lines were stored: `lines` and
    /// `rows` are in reading order but may not match Klaviyo's profile indexes.
    legacy: bool,
}

impl OpenJob {
    /// A job from the checkpoint of a run taken up again.
    fn reopened(j: &JobRecord) -> OpenJob {
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

/// The acknowledged batches of a run being taken up again, by source line.
struct Acked {
    /// (first_line, last_line, batch, complete), sorted by first line.
    ranges: Vec<(u64, u64, u64, bool)>,
    next: usize,
}

impl Acked {
    /// Only delivered jobs count: the lines of a cancelled or expired job are sent again.
    fn new(jobs: &[JobRecord]) -> Acked {
        let mut ranges: Vec<_> = jobs
            .iter()
            .filter(|j| j.is_delivered())
            .map(|j| (j.first_line, j.last_line, j.batch, j.is_complete()))
            .collect();
        ranges.sort_unstable();
        Acked { ranges, next: 0 }
    }
    /// The acknowledged batch whose lines include `line` (lines arrive in increasing order).
    fn find(&mut self, line: u64) -> Option<(u64, bool)> {
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

/// What the reader hands to the sender.
enum Item {
    Batch(Batch),
    /// A row of a batch acknowledged before the restart whose job is still open: its delta
    /// state is saved when that job completes.
    Reopened {
        batch: u64,
        line: u64,
        row: SentRow,
    },
}

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
    reading: AtomicBool,
}

/// How a run ended, as far as the engine can tell (the status follows from it).
enum Ending {
    Done,
    /// Mirror removals held; why, in words.
    Held(String),
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
        reading: AtomicBool::new(true),
    });
    // What the checkpoint already holds (a cancelled or expired job's rows are sent again).
    for j in plan.resume.iter().filter(|j| j.is_delivered()) {
        add(&shared.counters.sent, j.profiles);
        add(&shared.counters.imported, j.completed);
        add(&shared.counters.failed, j.failed);
    }
    let dry_run = plan.client.is_none();
    // Mirror mode: how many profiles this destination held before the run (for the guard).
    let before = if mirror && !dry_run {
        let s = shared.clone();
        blocking(move || s.store.count_export_state(&s.export_id, &s.destination)).await?
    } else {
        0
    };

    // Progress: ~10 events a second, and counts + rejects into SQLite once a second.
    let ticker = {
        let (shared, on_event) = (shared.clone(), on_event.clone());
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
                if n.is_multiple_of(10) && !dry_run {
                    let shared = shared.clone();
                    let run_id = shared.run_id.clone();
                    let flushed = tokio::task::spawn_blocking(move || -> Result<bool> {
                        let owned = shared.store.update_run_counts(
                            &shared.run_id,
                            &shared.owner,
                            &counts,
                        )?;
                        shared.rejects.flush(&shared.store, &shared.run_id)?;
                        Ok(owned)
                    })
                    .await;
                    match flushed {
                        Ok(Ok(true)) => {}
                        Ok(Ok(false)) => {
                            tracing::error!("run {run_id} is recorded as owned by another process")
                        }
                        Ok(Err(e)) => tracing::warn!("progress not saved: {e}"),
                        Err(e) => tracing::warn!("progress not saved: {e}"),
                    }
                }
            }
        })
    };

    let client = plan.client.clone().map(|c| c.with_cancel(cancel.clone()));
    let result = pipeline(&shared, &plan, client.as_ref(), &cancel).await;
    let result = match (result, &client) {
        (Ok(()), Some(client)) if mirror && !cancel.is_cancelled() => {
            remove_leavers(&shared, &plan, client, before).await
        }
        (r, _) => r.map(|()| Ending::Done),
    };
    ticker.abort();

    let mut counts = shared.counters.snapshot();
    if !dry_run {
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
    if !dry_run {
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

async fn pipeline(
    shared: &Arc<Shared>,
    plan: &RunPlan,
    client: Option<&Client>,
    cancel: &CancellationToken,
) -> Result<()> {
    // Jobs accepted before a restart and not complete yet are polled again.
    {
        let mut open = lock(&shared.open_jobs);
        for j in plan.resume.iter().filter(|j| !j.is_complete()) {
            open.push(OpenJob::reopened(j));
        }
    }
    let state = if plan.full || client.is_none() {
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

    let (tx, mut rx) = mpsc::channel::<Item>(SEND_CONCURRENCY * 2);

    // Stage 1 (a blocking thread): read, filter, map, check the delta, batch.
    let reader = {
        let (shared, cancel) = (shared.clone(), cancel.clone());
        let (spec, filter, mapping) = (
            plan.source.clone(),
            plan.filter.clone(),
            plan.export.mapping.clone(),
        );
        let first_index = plan.resume.iter().map(|j| j.batch + 1).max().unwrap_or(0);
        let acked = Acked::new(&plan.resume);
        tokio::task::spawn_blocking(move || -> Result<()> {
            let r = read_batches(
                &spec,
                filter.as_ref(),
                &mapping,
                &shared,
                &state,
                acked,
                first_index,
                &cancel,
                &tx,
            );
            shared.reading.store(false, Ordering::Relaxed);
            r
        })
    };

    // Stage 2: send batches, a few at a time, and poll their jobs.
    let mut in_flight = tokio::task::JoinSet::new();
    let mut send_error: Option<CoreError> = None;
    let mut poll = tokio::time::interval(POLL_INTERVAL);
    let mut reopened: HashMap<u64, Vec<(u64, SentRow)>> = HashMap::new();
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            item = rx.recv(), if in_flight.len() < SEND_CONCURRENCY => {
                let Some(item) = item else { break };
                match item {
                    Item::Reopened { batch, line, row } => {
                        reopened.entry(batch).or_default().push((line, row));
                    }
                    Item::Batch(batch) => match client {
                        None => {
                            add(&shared.counters.sent, batch.profiles.len() as u64);
                        }
                        Some(client) => {
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
            _ = poll.tick(), if client.is_some() => {
                if let Some(client) = client {
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
    drop(rx);
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
    let Some(client) = client else {
        return Ok(());
    };

    // Stage 3: wait for Klaviyo to finish the jobs.
    shared.counters.set_phase(RunPhase::Waiting);
    attach_reopened(shared, &mut reopened);
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

/// Give reopened jobs (from before a restart) the identifiers the reader found for them.
fn attach_reopened(shared: &Shared, reopened: &mut HashMap<u64, Vec<(u64, SentRow)>>) {
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

fn flatten(r: std::result::Result<Result<()>, tokio::task::JoinError>) -> Result<()> {
    r.map_err(|e| CoreError::Internal(format!("a sender stopped: {e}")))?
}

/// The first [`TYPE_SAMPLE_ROWS`] rows of a stream: they decide the custom properties' types
/// (numbers, booleans…) for the whole run — see [`head_mapper`].
pub(crate) fn read_head(rows: &mut dyn source::RowStream) -> Result<Vec<RowItem>> {
    let mut head: Vec<RowItem> = Vec::with_capacity(TYPE_SAMPLE_ROWS);
    while head.len() < TYPE_SAMPLE_ROWS {
        match rows.next_row()? {
            Some(item) => head.push(item),
            None => break,
        }
    }
    Ok(head)
}

/// `mapping` resolved with the property types the readable rows of `head` show: what a run
/// sends (the mapping preview uses it too, so it shows exactly that).
pub(crate) fn head_mapper(
    mapping: &Mapping,
    columns: &[String],
    head: &[RowItem],
) -> Result<Mapper> {
    let mut sampler = TypeSampler::new(columns.len());
    for item in head {
        if let RowItem::Row { values, .. } = item {
            sampler.observe(values);
        }
    }
    Ok(Mapper::new(mapping, columns, Some(&sampler.finish()))?)
}

#[allow(clippy::too_many_arguments)]
fn read_batches(
    spec: &SourceSpec,
    filter: Option<&Filter>,
    mapping: &Mapping,
    shared: &Shared,
    state: &KeyMap<(u64, u64)>,
    mut acked: Acked,
    first_index: u64,
    cancel: &CancellationToken,
    tx: &mpsc::Sender<Item>,
) -> Result<()> {
    let mut rows = source::open(spec)?;
    let columns = rows.columns().to_vec();
    let filter: Option<CompiledFilter> = filter.map(|f| f.compile(&columns)).transpose()?;
    let c = &shared.counters;
    let send =
        |item: Item| -> Result<()> { tx.blocking_send(item).map_err(|_| CoreError::Cancelled) };

    let head = read_head(rows.as_mut())?;
    if head.is_empty() {
        return Err(SourceError::NoRows(spec.path.clone()).into());
    }
    let mapper = head_mapper(mapping, &columns, &head)?;
    let mut batcher = Batcher::new(&shared.list_id, first_index);
    let mut ids = Identities::default();

    let mut handle = |item: RowItem| -> Result<()> {
        add(&c.read, 1);
        test_pause_at("read");
        let (line, values) = match item {
            RowItem::Bad { line, reason } => {
                add(&c.unreadable, 1);
                shared.rejects.push(c, line, "", reason);
                return Ok(());
            }
            RowItem::Row { line, values } => (line, values),
        };
        if let Some(f) = &filter {
            if !f.matches(&values) {
                return Ok(());
            }
        }
        add(&c.matched, 1);
        // The identifier and a hash of every value the mapping reads: enough to skip an
        // unchanged row (or one sent before a restart) without mapping it.
        let (email, hash) = mapper.input_key(&values);
        // One identifier, one profile per run: the first row sent wins (a resumed run sees the
        // same rows in the same order, so it decides the same way).
        let key = key_of(&email);
        if let Some(first) = ids.see_email(key) {
            shared.rejects.push(
                c,
                line,
                &email,
                duplicate_reason(DuplicateOf::Email, Some(&email), first),
            );
            return Ok(());
        }
        // Sent before the restart: never again. (Its rows are still mapped, so the rows it
        // rejected are reported again — the reject table keeps one per line.)
        if let Some((batch, complete)) = acked.find(line) {
            // A batch being built stops here: it must not span an acknowledged one, or a
            // later resume (which finds a line's job by its first..last range) would credit
            // one job with the other's rows. At most one short batch per acknowledged range.
            if let Some(partial) = batcher.take() {
                send(Item::Batch(partial))?;
            }
            match mapper.map(&values) {
                Err(r) => shared.rejects.push(c, line, &r.identifier, r.code),
                Ok(m) => {
                    let phone = phone_key(m.phone.as_deref());
                    if let Some(first) = ids.phone(phone, line) {
                        let reason =
                            duplicate_reason(DuplicateOf::Phone, m.phone.as_deref(), first);
                        shared.rejects.push(c, line, &m.email, reason);
                    } else {
                        ids.email_sent(key, line);
                        if !complete {
                            send(Item::Reopened {
                                batch,
                                line,
                                row: (email, hash, phone),
                            })?;
                        }
                    }
                }
            }
            return Ok(());
        }
        if let Some(&(sent, phone)) = state.get(&key) {
            if sent == hash {
                // Unchanged since it was sent; its phone (as the state recorded it, so no
                // parsing) still belongs to it in this run.
                if let Some(first) = ids.phone(phone, line) {
                    let reason = duplicate_reason(DuplicateOf::Phone, None, first);
                    shared.rejects.push(c, line, &email, reason);
                    return Ok(());
                }
                ids.email_sent(key, line);
                add(&c.unchanged, 1);
                return Ok(());
            }
        }
        let m = match mapper.map(&values) {
            Ok(m) => m,
            Err(r) => {
                shared.rejects.push(c, line, &r.identifier, r.code);
                return Ok(());
            }
        };
        let phone = phone_key(m.phone.as_deref());
        if let Some(first) = ids.phone(phone, line) {
            let reason = duplicate_reason(DuplicateOf::Phone, m.phone.as_deref(), first);
            shared.rejects.push(c, line, &m.email, reason);
            return Ok(());
        }
        ids.email_sent(key, line);
        if let Some(full) = batcher.push(line, m.email, hash, phone, m.json) {
            send(Item::Batch(full))?;
        }
        Ok(())
    };
    for item in head {
        handle(item)?;
    }
    let mut n: u32 = 0;
    while let Some(item) = rows.next_row()? {
        handle(item)?;
        n = n.wrapping_add(1);
        if n.is_multiple_of(1024) && cancel.is_cancelled() {
            return Err(CoreError::Cancelled);
        }
    }
    if let Some(last) = batcher.take() {
        send(Item::Batch(last))?;
    }
    *lock(&shared.seen) = Some(ids);
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

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| CoreError::Internal(format!("a database task stopped: {e}")))?
}

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

async fn poll_jobs(client: &Client, shared: &Arc<Shared>) -> Result<()> {
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

/// How long a superseded run's open jobs are waited for before it is closed anyway.
const SETTLE_WAIT: Duration = Duration::from_secs(60);

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
        reading: AtomicBool::new(false),
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

/// Mirror mode: the profiles sent to this destination by earlier runs that are not in the
/// segment any more are removed from the list (looked up by email, removed 1,000 at a time)
/// and forgotten — or held, when that looks like an accident (see [`RemovalGuard`]).
async fn remove_leavers(
    shared: &Arc<Shared>,
    plan: &RunPlan,
    client: &Client,
    before: u64,
) -> Result<Ending> {
    let Some(seen) = lock(&shared.seen).take() else {
        return Ok(Ending::Done);
    };
    shared.counters.set_phase(RunPhase::Removing);
    let s = shared.clone();
    let leavers: Vec<String> = blocking(move || {
        let mut out = Vec::new();
        s.store
            .for_each_export_state(&s.export_id, &s.destination, |id, _, _| {
                if !seen.has_email(id) {
                    out.push(id.to_string());
                }
            })?;
        Ok(out)
    })
    .await?;
    if leavers.is_empty() {
        return Ok(Ending::Done);
    }
    let n = leavers.len() as u64;
    let mut why: Vec<String> = Vec::new();
    let unreadable = shared.counters.unreadable.load(Ordering::Relaxed);
    if unreadable > 0 {
        why.push(format!(
            "{unreadable} row(s) of the source could not be read, so their profiles would be removed as if they had left"
        ));
    }
    if let Some(was) = &plan.source_identity {
        let spec = plan.source.clone();
        let now = blocking(move || SourceIdentity::of(&spec)).await;
        match now {
            Ok(now) => {
                if let Some(change) = was.change(&now) {
                    why.push(format!("the source changed while it was read ({change})"));
                }
            }
            Err(e) => why.push(format!(
                "the source could not be checked after reading: {e}"
            )),
        }
    }
    let guard = plan.export.removal_guard;
    if guard.holds(n, before) {
        why.push(format!(
            "{n} of the {before} profile(s) sent to this list before would be removed — more than {} % or {} (the export's limits)",
            guard.max_percent, guard.max_count
        ));
    }
    let confirmed = plan.confirm_removals.is_some_and(|c| n <= c);
    if !why.is_empty() && !confirmed {
        add(&shared.counters.held, n);
        return Ok(Ending::Held(format!(
            "Removals held: {n} profile(s) that left the segment were not removed from the list {}, because {}. Check the source; to remove them, confirm the removal (in the app, or `segport-cli export run \"{}\" --confirm-removals {n}`).",
            shared.list_id,
            why.join("; and "),
            plan.export.name
        )));
    }
    for chunk in leavers.chunks(klaviyo::MAX_PROFILES_PER_REMOVE) {
        let profiles = client.find_profiles(Identifier::Email, chunk).await?;
        let ids: Vec<String> = profiles.into_iter().map(|p| p.id).collect();
        if !ids.is_empty() {
            client
                .remove_profiles_from_list(&shared.list_id, &ids)
                .await?;
        }
        add(&shared.counters.removed, ids.len() as u64);
        let (s, chunk) = (shared.clone(), chunk.to_vec());
        blocking(move || {
            s.store
                .delete_export_state(&s.export_id, &s.destination, &chunk)
        })
        .await?;
    }
    Ok(Ending::Done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batcher_respects_profile_and_byte_limits() {
        let mut b = Batcher::with_limits("LIST01", 3, 10_000, 0);
        let mut out = vec![];
        for i in 0..7 {
            if let Some(batch) = b.push(i, "e".into(), 0, 0, format!("{{\"n\":{i}}}")) {
                out.push((batch.index, batch.profiles.len()));
            }
        }
        let last = b.take().unwrap();
        out.push((last.index, last.profiles.len()));
        assert_eq!(out, vec![(0, 3), (1, 3), (2, 1)]);

        let envelope = klaviyo::bulk_import_envelope_len("LIST01");
        let profile = "x".repeat(100);
        let mut b = Batcher::with_limits("LIST01", 10_000, envelope + 250, 5);
        assert!(b.push(1, "e".into(), 0, 0, profile.clone()).is_none());
        assert!(b.push(2, "e".into(), 0, 0, profile.clone()).is_none());
        assert_eq!(b.body_len(), envelope + 201);
        let full = b.push(3, "e".into(), 0, 0, profile).unwrap();
        assert_eq!(full.profiles.len(), 2);
        assert_eq!(full.lines, vec![1, 2]);
        assert_eq!(full.index, 5);
    }

    #[test]
    fn pointer_names_the_profile() {
        assert_eq!(
            pointer_profile_index("/data/attributes/profiles/data/17/attributes/email"),
            Some(17)
        );
        assert_eq!(pointer_profile_index("/data/relationships/lists"), None);
    }

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

#[cfg(test)]
mod batcher_props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the profile sizes, no batch goes over the profile or byte limit, every
        /// profile lands in exactly one batch, in order, and indexes count up from the first.
        #[test]
        fn batches_never_exceed_the_limits(
            sizes in proptest::collection::vec(1usize..5_000, 0..400),
            max_profiles in 1usize..50,
            extra_bytes in 0usize..40_000,
        ) {
            let envelope = klaviyo::bulk_import_envelope_len("AbC123");
            let max_bytes = envelope + 5_000 + extra_bytes;
            let mut b = Batcher::with_limits("AbC123", max_profiles, max_bytes, 7);
            let mut batches = vec![];
            for (i, n) in sizes.iter().enumerate() {
                if let Some(full) = b.push(i as u64, String::new(), 0, 0, "x".repeat(*n)) {
                    batches.push(full);
                }
            }
            batches.extend(b.take());
            let mut next_line = 0;
            for (k, batch) in batches.iter().enumerate() {
                prop_assert_eq!(batch.index, 7 + k as u64);
                prop_assert!(!batch.profiles.is_empty());
                prop_assert!(batch.profiles.len() <= max_profiles);
                let body: usize = envelope
                    + batch.profiles.iter().map(String::len).sum::<usize>()
                    + batch.profiles.len() - 1;
                prop_assert!(body <= max_bytes, "body {} > {}", body, max_bytes);
                prop_assert_eq!(klaviyo::bulk_import_body("AbC123", &batch.profiles).len(), body);
                for line in &batch.lines {
                    prop_assert_eq!(*line, next_line);
                    next_line += 1;
                }
            }
            prop_assert_eq!(next_line as usize, sizes.len());
        }
    }
}
