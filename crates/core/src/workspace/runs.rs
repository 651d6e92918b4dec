//! Runs: start, continue or supersede a run under the export's lock, plan it (what it needs,
//! checked before anything is sent; its fingerprint), dry runs, due schedules, runs whose
//! process died, and a run's summary and rejects.
//!
//! Moved here from `workspace.rs` as it was; moving run planning into the engine is a later
//! step.

use super::access::{self, Action};
use super::exports::schedule_since;
use super::Workspace;
use crate::engine::{self, EventSink, RunPlan};
use crate::filter::Filter;
use crate::fingerprint::{Fingerprint, SourceIdentity};
use crate::model::*;
use crate::schedule::Schedule;
use crate::source::{self, SourceSpec};
use crate::{CoreError, Result};
use segport_klaviyo::Client;
use std::path::Path;
use tokio_util::sync::CancellationToken;

/// Klaviyo keeps bulk import jobs this long: an older run is not continued.
pub const JOB_RETENTION_DAYS: i64 = 7;

/// How to run an export.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Ignore the delta state: send every profile of the segment ("Send everyone again").
    /// Starts a fresh run.
    pub full: bool,
    /// Everything but the network: read, filter, map and batch; record nothing.
    pub dry_run: bool,
    /// Do not continue an interrupted run: close it (superseded) and start a fresh one
    /// ("Start over").
    pub restart: bool,
    /// Mirror mode: remove up to this many profiles that left the segment even when the
    /// removal guard would hold them (the user confirmed the number).
    pub confirm_removals: Option<u64>,
}

/// What a run needs that can be checked without the network.
struct LocalPlan {
    spec: SourceSpec,
    filter: Option<Filter>,
    /// The segment's filter as saved (part of the fingerprint).
    filter_text: Option<String>,
    conn: Connection,
}

/// A live run's plan, resolved before anything is sent.
struct Planned {
    spec: SourceSpec,
    filter: Option<Filter>,
    client: Client,
    fingerprint: Fingerprint,
}

/// A new run record for `export`, started now by `op`.
fn new_run(export: &Export, trigger: RunTrigger, op: &Operator) -> RunView {
    RunView {
        id: new_id(),
        export_id: export.id.clone(),
        export_name: export.name.clone(),
        trigger,
        who: op.name.clone(),
        status: RunStatus::Running,
        counts: RunCounts::default(),
        started_at: now_rfc3339(),
        finished_at: None,
        error: None,
    }
}

/// The Klaviyo account a client's key belongs to (asked once per key and process: the
/// accounts endpoint allows 15 calls a minute). A key without the accounts:read scope is
/// known by its connection's address only.
async fn account_of(client: &Client) -> Result<String> {
    static KNOWN: std::sync::OnceLock<
        std::sync::Mutex<std::collections::HashMap<(String, u64), String>>,
    > = std::sync::OnceLock::new();
    let known = KNOWN.get_or_init(Default::default);
    let key = (client.base_url().to_string(), client.key_id());
    if let Some(id) = known.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return Ok(id.clone());
    }
    let id = match client.get_account().await {
        Ok(a) => a.id,
        Err(segport_klaviyo::Error::MissingScope { .. }) => {
            format!("unverified@{}", client.base_url())
        }
        Err(e) => return Err(e.into()),
    };
    known
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(key, id.clone());
    Ok(id)
}

impl Workspace {
    /// Start a run: records it, resolves everything it needs, then streams it to the end.
    /// Errors found before any row is sent (missing file, no key, …) fail the run with a
    /// message and are returned.
    pub async fn run_export(
        &self,
        export_id: &str,
        trigger: RunTrigger,
        cancel: CancellationToken,
        on_event: EventSink,
    ) -> Result<RunSummary> {
        self.run_export_with(export_id, trigger, RunOptions::default(), cancel, on_event)
            .await
    }

    /// Run an export. An earlier run of it that was interrupted, cancelled or failed part-way
    /// is taken up where it stopped — if nothing it depends on changed (its fingerprint), and
    /// unless `restart` or `full`; otherwise that run is closed as superseded and a fresh one
    /// starts. A dry run does everything but talk to Klaviyo and records nothing. Errors found
    /// before any row is sent (missing file, no key, wrong list…) fail the run with a message
    /// and are returned.
    ///
    /// Ownership: the run is owned by this process through the export's OS lock (see
    /// [`crate::runlock`]) from before anything is decided until it is recorded as finished;
    /// a second start, in this process or another, gets [`CoreError::AlreadyRunning`] naming
    /// who runs it. A run whose process died is continued at once.
    pub async fn run_export_with(
        &self,
        export_id: &str,
        trigger: RunTrigger,
        opts: RunOptions,
        cancel: CancellationToken,
        on_event: EventSink,
    ) -> Result<RunSummary> {
        let op = self.operator()?;
        let export = self.store.export(export_id)?;
        if opts.dry_run {
            return self.dry_run(export, &op, cancel, on_event).await;
        }
        let lock = {
            let (ws, export, op) = (self.clone(), export.clone(), op.clone());
            tokio::task::spawn_blocking(move || ws.lock_export(&export, &op, trigger))
                .await
                .map_err(|e| CoreError::Internal(e.to_string()))??
        };
        // Holding the lock: a run of this export still recorded as running belongs to a
        // process that died.
        self.store.mark_runs_interrupted(&export.id)?;
        if trigger == RunTrigger::Schedule && !self.is_due(&export, chrono::Utc::now())? {
            return Err(CoreError::NotDue(export.name.clone()));
        }
        let token = lock.owner().token.clone();
        let prev = self.store.resumable_run(&export.id)?;
        let start_over = opts.full || opts.restart;

        let planned = match self.plan(&export, &op).await {
            Ok(p) => p,
            Err(e) => {
                let message = e.to_string();
                let run_id = match prev.as_ref().filter(|_| !start_over) {
                    // The run that was to be continued records why it could not be.
                    Some(prev) => {
                        self.store.finish_run(
                            &prev.id,
                            RunStatus::Failed,
                            &prev.counts,
                            Some(&message),
                        )?;
                        prev.id.clone()
                    }
                    None => {
                        let run = new_run(&export, trigger, &op);
                        self.store.insert_run(&run, &token)?;
                        self.store.set_run_full(&run.id, opts.full)?;
                        self.store.finish_run(
                            &run.id,
                            RunStatus::Failed,
                            &RunCounts::default(),
                            Some(&message),
                        )?;
                        run.id
                    }
                };
                on_event(&RunEvent {
                    run_id,
                    phase: RunPhase::Finished,
                    counts: RunCounts::default(),
                    status: Some(RunStatus::Failed),
                    message: Some(message),
                });
                return Err(e);
            }
        };
        let fingerprint = &planned.fingerprint;

        // Continue the earlier run, or close it and start afresh.
        let mut notice = None;
        let mut continued = None;
        if let Some(prev) = prev {
            let why = if start_over {
                Some("a fresh run was started instead".to_string())
            } else {
                self.why_not_continue(&prev, fingerprint)?
            };
            match why {
                None => continued = Some(prev),
                Some(why) => {
                    let client = planned.client.clone();
                    let jobs = self.store.run_jobs(&prev.id)?;
                    let message = format!("Superseded: not continued because {why}.");
                    engine::settle_superseded(&self.store, &client, &prev, jobs, &message).await?;
                    if !start_over {
                        notice = Some(format!(
                            "The interrupted run was not continued because {why}: a fresh run starts (profiles Klaviyo accepted before are not lost; unchanged ones may be sent again)."
                        ));
                    }
                }
            }
        }
        let (run, resume) = match continued {
            Some(prev) => {
                self.store.reopen_run(&prev.id, &token)?;
                let jobs = self.store.run_jobs(&prev.id)?;
                (prev, jobs)
            }
            None => {
                let run = new_run(&export, trigger, &op);
                self.store.insert_run(&run, &token)?;
                self.store.set_run_full(&run.id, opts.full)?;
                (run, vec![])
            }
        };
        self.store.set_run_fingerprint(
            &run.id,
            &fingerprint.to_json(),
            &fingerprint.destination(),
        )?;
        on_event(&RunEvent {
            run_id: run.id.clone(),
            phase: RunPhase::Starting,
            counts: RunCounts::default(),
            status: Some(RunStatus::Running),
            message: if resume.is_empty() {
                notice
            } else {
                Some(format!(
                    "Continuing the interrupted run: {} batch(es) already accepted by Klaviyo are not sent again.",
                    resume.iter().filter(|j| j.is_delivered()).count()
                ))
            },
        });
        crate::failpoint::pause_at("planned");
        let plan = RunPlan {
            run_id: run.id.clone(),
            owner: token,
            destination: fingerprint.destination(),
            source_identity: Some(fingerprint.source.clone()),
            confirm_removals: opts.confirm_removals,
            export,
            source: planned.spec,
            filter: planned.filter,
            mode: engine::Mode::Live(planned.client),
            full: opts.full,
            resume,
        };
        engine::execute(self.store.clone(), plan, cancel, on_event).await?;
        // The run is recorded as finished: only now may another process take the export.
        drop(lock);
        self.run_summary(&run.id)
    }

    /// The fingerprint a run of the export would start under now (the source as it is, the
    /// segment, the mapping, the account the key reaches, the list). Asks Klaviyo.
    pub async fn fingerprint_now(&self, export_id: &str) -> Result<Fingerprint> {
        let export = self.store.export(export_id)?;
        Ok(self.plan(&export, &self.operator()?).await?.fingerprint)
    }

    /// Take the export's lock, or say who holds it.
    fn lock_export(
        &self,
        export: &Export,
        op: &Operator,
        trigger: RunTrigger,
    ) -> Result<crate::runlock::RunLock> {
        use crate::runlock::{Acquired, LockOwner, RunLock};
        match RunLock::acquire(
            &self.data_dir,
            &export.id,
            LockOwner::new(&op.name, trigger.as_str()),
        )? {
            Acquired::Locked(lock) => Ok(lock),
            Acquired::Busy(holder) => {
                let h = holder.unwrap_or(LockOwner {
                    pid: 0,
                    who: "another Segport process".into(),
                    trigger: "unknown".into(),
                    host: "this computer".into(),
                    since: "just now".into(),
                    token: String::new(),
                });
                Err(CoreError::AlreadyRunning(Box::new(
                    crate::error::RunHolder {
                        export: export.name.clone(),
                        who: h.who,
                        trigger: h.trigger,
                        pid: h.pid,
                        host: h.host,
                        since: h.since,
                    },
                )))
            }
        }
    }

    /// Why `prev` cannot be continued under `now`, or `None` when it can.
    fn why_not_continue(&self, prev: &RunView, now: &Fingerprint) -> Result<Option<String>> {
        let started = chrono::DateTime::parse_from_rfc3339(&prev.started_at)
            .map(|d| d.with_timezone(&chrono::Utc))
            .ok();
        if started
            .is_none_or(|s| chrono::Utc::now() - s > chrono::Duration::days(JOB_RETENTION_DAYS))
        {
            return Ok(Some(format!(
                "it started more than {JOB_RETENTION_DAYS} days ago and Klaviyo keeps import jobs only that long"
            )));
        }
        let Some(was) = self
            .store
            .run_fingerprint(&prev.id)?
            .as_deref()
            .and_then(Fingerprint::from_json)
        else {
            return Ok(Some(
                "it was started by an earlier version of Segport that did not record what it depends on".into(),
            ));
        };
        let changes = was.changes(now);
        Ok((!changes.is_empty()).then(|| changes.join(", ")))
    }

    /// A dry run: read, filter, map and batch; nothing sent, nothing recorded.
    async fn dry_run(
        &self,
        export: Export,
        op: &Operator,
        cancel: CancellationToken,
        on_event: EventSink,
    ) -> Result<RunSummary> {
        let run = RunView {
            id: format!("dry-run-{}", new_id()),
            ..new_run(&export, RunTrigger::Cli, op)
        };
        on_event(&RunEvent {
            run_id: run.id.clone(),
            phase: RunPhase::Starting,
            counts: RunCounts::default(),
            status: Some(RunStatus::Running),
            message: None,
        });
        let planned = match self.plan_local(&export, op).await {
            Ok(p) => p,
            Err(e) => {
                on_event(&RunEvent {
                    run_id: run.id.clone(),
                    phase: RunPhase::Finished,
                    counts: RunCounts::default(),
                    status: Some(RunStatus::Failed),
                    message: Some(e.to_string()),
                });
                return Err(e);
            }
        };
        let plan = RunPlan {
            run_id: run.id.clone(),
            owner: String::new(),
            destination: String::new(),
            source_identity: None,
            confirm_removals: None,
            export,
            source: planned.spec,
            filter: planned.filter,
            mode: engine::Mode::DryRun,
            full: true,
            resume: vec![],
        };
        let (status, counts, error) =
            engine::execute(self.store.clone(), plan, cancel, on_event).await?;
        Ok(RunSummary {
            run: RunView {
                status,
                counts,
                finished_at: Some(now_rfc3339()),
                error,
                ..run
            },
            rejects: vec![],
            rejects_total: counts.rejected,
        })
    }

    /// What can be checked without the network: the connection may be used, the source can
    /// be read, the filter and the mapping name columns that are there.
    async fn plan_local(&self, export: &Export, op: &Operator) -> Result<LocalPlan> {
        let conn_id = export.connection_id.clone().ok_or_else(|| {
            CoreError::invalid(
                "Connection",
                format!("The export \"{}\" has no connection (it was removed). Edit the export and choose one.", export.name),
            )
        })?;
        let conn = self.store.connection(&conn_id)?;
        access::allow(op, Action::Run(&conn))?;
        let segment = self.store.segment(&export.segment_id)?;
        let filter = segment.filter.as_deref().map(Filter::parse).transpose()?;
        let source = self.store.source(&segment.source_id)?;
        let spec = self.source_spec(&source);
        // Fail before the run starts on a missing file, an empty one, a filter or a mapping
        // naming a column that is not there.
        let info = tokio::task::spawn_blocking({
            let spec = spec.clone();
            move || source::inspect(&spec, crate::mapping::TYPE_SAMPLE_ROWS)
        })
        .await
        .map_err(|e| CoreError::Internal(e.to_string()))??;
        let columns: Vec<String> = info.columns.iter().map(|c| c.name.clone()).collect();
        if let Some(f) = &filter {
            f.compile(&columns)?;
        }
        crate::mapping::Mapper::new(&export.mapping, &columns, None)?;
        Ok(LocalPlan {
            spec,
            filter,
            filter_text: segment.filter,
            conn,
        })
    }

    /// Everything a live run needs: [`Workspace::plan_local`], then the client, the account
    /// and the list checked with Klaviyo, and the run's fingerprint.
    async fn plan(&self, export: &Export, op: &Operator) -> Result<Planned> {
        let LocalPlan {
            spec,
            filter,
            filter_text,
            conn,
        } = self.plan_local(export, op).await?;
        let identity = {
            let spec = spec.clone();
            tokio::task::spawn_blocking(move || SourceIdentity::of(&spec))
                .await
                .map_err(|e| CoreError::Internal(e.to_string()))??
        };
        let client = self.client(&conn)?;
        let account = account_of(&client).await?;
        // One cheap request before reading anything: a rejected key, a missing scope, a
        // wrong list ID or an unreachable host stops the run here, with nothing half-sent.
        client.get_list(&export.list_id).await.map_err(|e| match e {
            segport_klaviyo::Error::Invalid { status: 404, .. } => CoreError::invalid(
                "Klaviyo list ID",
                format!(
                    "Klaviyo has no list with the ID \"{}\" in this account. Check the list ID in Klaviyo (Lists & segments → the list → Settings) and edit the export.",
                    export.list_id
                ),
            ),
            other => other.into(),
        })?;
        let fingerprint = Fingerprint::new(
            identity,
            filter_text.as_deref(),
            &export.mapping,
            &account,
            &export.list_id,
        );
        Ok(Planned {
            spec,
            filter,
            client,
            fingerprint,
        })
    }

    /// Whether a scheduled export is due at `now` (its next time after its last run, or its
    /// creation, has passed).
    fn is_due(&self, e: &Export, now: chrono::DateTime<chrono::Utc>) -> Result<bool> {
        if e.schedule == Schedule::Manual {
            return Ok(false);
        }
        let last = self.store.runs(Some(&e.id), 1)?.into_iter().next();
        if last
            .as_ref()
            .is_some_and(|r| r.status == RunStatus::Running)
        {
            return Ok(false);
        }
        Ok(schedule_since(e, last.as_ref())
            .is_some_and(|since| e.schedule.is_due(since, now, &chrono::Local)))
    }

    /// Scheduled exports whose time has come at `now` (local time for daily schedules): the
    /// next time after their last run (or their creation) has passed. A run in progress is
    /// not started twice (and [`Workspace::run_export_with`] checks again under the export's
    /// lock, so two schedulers at the same minute give one run).
    pub fn due_exports(&self, now: chrono::DateTime<chrono::Utc>) -> Result<Vec<Export>> {
        // A run left `running` by a process that died must not hold its schedule back.
        self.mark_dead_runs_interrupted()?;
        let mut due = vec![];
        for e in self.store.exports()? {
            if self.is_due(&e, now)? {
                due.push(e);
            }
        }
        Ok(due)
    }

    /// Runs recorded as `running` whose export's lock no process holds belong to a process
    /// that died: they are marked interrupted (and can be continued at once).
    pub fn mark_dead_runs_interrupted(&self) -> Result<usize> {
        let mut n = 0;
        for export_id in self.store.exports_with_running_runs()? {
            if !crate::runlock::RunLock::is_held(&self.data_dir, &export_id)? {
                n += self.store.mark_runs_interrupted(&export_id)?;
            }
        }
        Ok(n)
    }

    pub fn run_summary(&self, run_id: &str) -> Result<RunSummary> {
        let run = self.store.run(run_id)?;
        let (rejects, rejects_total) = self.store.rejects(run_id, 200)?;
        Ok(RunSummary {
            run,
            rejects,
            rejects_total,
        })
    }

    /// Runs, newest first. A run left `running` by a process that died (its export's lock is
    /// free) is shown — and recorded — as interrupted.
    pub fn runs(&self, export_id: Option<&str>) -> Result<Vec<RunView>> {
        self.mark_dead_runs_interrupted()?;
        self.store.runs(export_id, 500)
    }

    /// A recorded run (`not_found` for an unknown one).
    pub fn run(&self, run_id: &str) -> Result<RunView> {
        self.store.run(run_id)
    }

    /// Write every reject of a run to `path` as CSV (`line,identifier,reason`, by line).
    /// Returns how many rows were written. Refuses an unknown run (`not_found`).
    pub fn write_rejects_csv(&self, run_id: &str, path: &Path) -> Result<u64> {
        self.store.run(run_id)?;
        let (rows, _) = self.store.rejects(run_id, usize::MAX)?;
        crate::rejects::write_csv(path, rows)
    }
}
