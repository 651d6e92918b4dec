//! The `runs` table (one row per run of an export: who, why, how far, how it ended) and
//! `run_rejects` (the rows a run did not send, and why).

use super::{enum_column, exactly, Store};
use crate::model::*;
use crate::{CoreError, Result};
use rusqlite::{params, OptionalExtension, Row};

impl Store {
    /// Record a new run, owned by `owner` (the token of the process holding the export's
    /// lock, see [`crate::runlock`]).
    pub fn insert_run(&self, run: &RunView, owner: &str) -> Result<()> {
        self.db().execute(
            "INSERT INTO runs (id, export_id, trigger, who, status, started_at, heartbeat_at, owner)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7)",
            params![
                run.id,
                run.export_id,
                run.trigger.as_str(),
                run.who,
                run.status.as_str(),
                run.started_at,
                owner
            ],
        )?;
        Ok(())
    }

    /// The run's counts so far and a heartbeat (shown in History). `false` when the row is
    /// not owned by `owner` any more.
    pub fn update_run_counts(&self, run_id: &str, owner: &str, c: &RunCounts) -> Result<bool> {
        let n = self.db().execute(
            "UPDATE runs SET read = ?2, sent = ?3, imported = ?4, rejected = ?5,
                failed_in_klaviyo = ?6, heartbeat_at = ?7, matched = ?8, unchanged = ?9,
                removed = ?10, held = ?12 WHERE id = ?1 AND (owner IS NULL OR owner = ?11)",
            params![
                run_id,
                c.read as i64,
                c.sent as i64,
                c.imported as i64,
                c.rejected as i64,
                c.failed_in_klaviyo as i64,
                now_rfc3339(),
                c.matched as i64,
                c.unchanged as i64,
                c.removed as i64,
                owner,
                c.held as i64
            ],
        )?;
        Ok(n > 0)
    }

    pub fn finish_run(
        &self,
        run_id: &str,
        status: RunStatus,
        counts: &RunCounts,
        error: Option<&str>,
    ) -> Result<()> {
        let mut db = self.db();
        let tx = db.transaction()?;
        tx.execute(
            "UPDATE runs SET status = ?2, finished_at = ?3, error = ?4, read = ?5, sent = ?6,
                imported = ?7, rejected = ?8, failed_in_klaviyo = ?9, matched = ?10,
                unchanged = ?11, removed = ?12, held = ?13, heartbeat_at = ?3 WHERE id = ?1",
            params![
                run_id,
                status.as_str(),
                now_rfc3339(),
                error,
                counts.read as i64,
                counts.sent as i64,
                counts.imported as i64,
                counts.rejected as i64,
                counts.failed_in_klaviyo as i64,
                counts.matched as i64,
                counts.unchanged as i64,
                counts.removed as i64,
                counts.held as i64
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The exports that have a run recorded as `running` (live, or left so by a process that
    /// died: the caller tells them apart with [`crate::runlock::RunLock::is_held`]).
    pub fn exports_with_running_runs(&self) -> Result<Vec<String>> {
        let db = self.db();
        let mut stmt = db.prepare("SELECT DISTINCT export_id FROM runs WHERE status = ?1")?;
        let rows = stmt.query_map([RunStatus::Running.as_str()], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The export's runs left `running` are marked `interrupted` (call it only while holding
    /// the export's lock, or after seeing the lock free: their process died). Returns how many.
    pub fn mark_runs_interrupted(&self, export_id: &str) -> Result<usize> {
        Ok(self.db().execute(
            "UPDATE runs SET status = ?2, finished_at = heartbeat_at
             WHERE status = ?3 AND export_id = ?1",
            params![
                export_id,
                RunStatus::Interrupted.as_str(),
                RunStatus::Running.as_str()
            ],
        )?)
    }

    pub fn add_rejects(&self, run_id: &str, rejects: &[RejectRow]) -> Result<()> {
        let mut db = self.db();
        let tx = db.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT OR IGNORE INTO run_rejects (run_id, line, identifier, reason)
                 VALUES (?1, ?2, ?3, ?4)",
            )?;
            for r in rejects {
                stmt.execute(params![run_id, r.line as i64, r.identifier, r.reason])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    pub fn rejects(&self, run_id: &str, limit: usize) -> Result<(Vec<RejectRow>, u64)> {
        let db = self.db();
        let total: i64 = db.query_row(
            "SELECT count(*) FROM run_rejects WHERE run_id = ?1",
            [run_id],
            |r| r.get(0),
        )?;
        let mut stmt = db.prepare(
            "SELECT line, identifier, reason FROM run_rejects WHERE run_id = ?1
             ORDER BY line LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![run_id, limit as i64], |r| {
            Ok(RejectRow::recorded(
                r.get::<_, i64>(0)? as u64,
                r.get(1)?,
                r.get(2)?,
            ))
        })?;
        Ok((rows.collect::<Result<_, _>>()?, total as u64))
    }

    /// The export's latest run if it can be continued: interrupted (its process died —
    /// the caller marks those while holding the export's lock), cancelled, or failed after
    /// Klaviyo had accepted some of its batches (e.g. a key revoked mid-run): those batches are
    /// not sent again.
    pub fn resumable_run(&self, export_id: &str) -> Result<Option<RunView>> {
        let latest = self
            .db()
            .query_row(
                &format!(
                    "{RUN_SELECT} WHERE r.export_id = ?1 AND (r.status IN (?2, ?3)
                        OR (r.status = ?4
                            AND EXISTS (SELECT 1 FROM run_jobs j WHERE j.run_id = r.id)))
                     AND r.rowid = (SELECT max(rowid) FROM runs WHERE export_id = ?1)"
                ),
                params![
                    export_id,
                    RunStatus::Interrupted.as_str(),
                    RunStatus::Cancelled.as_str(),
                    RunStatus::Failed.as_str()
                ],
                run_from_row,
            )
            .optional()?;
        Ok(latest)
    }

    /// Take a run up again, owned by `owner`: running, no end, a fresh heartbeat.
    pub fn reopen_run(&self, run_id: &str, owner: &str) -> Result<()> {
        self.db().execute(
            "UPDATE runs SET status = ?4, finished_at = NULL, error = NULL,
                heartbeat_at = ?2, owner = ?3 WHERE id = ?1",
            params![run_id, now_rfc3339(), owner, RunStatus::Running.as_str()],
        )?;
        Ok(())
    }

    /// What the run depends on (JSON, see `engine::Fingerprint`) and where it sends
    /// (`account/list`).
    pub fn set_run_fingerprint(
        &self,
        run_id: &str,
        fingerprint: &str,
        destination: &str,
    ) -> Result<()> {
        self.db().execute(
            "UPDATE runs SET fingerprint = ?2, destination = ?3 WHERE id = ?1",
            params![run_id, fingerprint, destination],
        )?;
        Ok(())
    }

    /// The fingerprint recorded when the run started (`None` for runs of older versions).
    pub fn run_fingerprint(&self, run_id: &str) -> Result<Option<String>> {
        Ok(self
            .db()
            .query_row(
                "SELECT fingerprint FROM runs WHERE id = ?1",
                [run_id],
                |r| r.get::<_, Option<String>>(0),
            )
            .optional()?
            .flatten())
    }

    pub fn set_run_full(&self, run_id: &str, full: bool) -> Result<()> {
        self.db().execute(
            "UPDATE runs SET full = ?2 WHERE id = ?1",
            params![run_id, full],
        )?;
        Ok(())
    }
    pub fn run(&self, id: &str) -> Result<RunView> {
        self.db()
            .query_row(&format!("{RUN_SELECT} WHERE r.id = ?1"), [id], run_from_row)
            .optional()?
            .ok_or_else(|| CoreError::NotFound {
                what: "Run",
                name: id.to_string(),
            })
    }

    pub fn runs(&self, export_id: Option<&str>, limit: usize) -> Result<Vec<RunView>> {
        let db = self.db();
        let mut stmt = db.prepare(&format!(
            "{RUN_SELECT} WHERE (?1 IS NULL OR r.export_id = ?1)
             ORDER BY r.started_at DESC, r.rowid DESC LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![export_id, limit as i64], run_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

const RUN_SELECT: &str = "SELECT r.id, r.export_id, e.name, r.trigger, r.who, r.status,
    r.read, r.sent, r.imported, r.rejected, r.failed_in_klaviyo, r.started_at, r.finished_at,
    r.error, r.matched, r.unchanged, r.removed, r.held FROM runs r JOIN exports e ON e.id = r.export_id";

fn run_from_row(r: &Row<'_>) -> rusqlite::Result<RunView> {
    let n = |i: usize| -> rusqlite::Result<u64> { Ok(r.get::<_, i64>(i)?.max(0) as u64) };
    let id: String = r.get(0)?;
    let row = ("runs", id.as_str());
    Ok(RunView {
        trigger: enum_column(
            r,
            3,
            row,
            "trigger",
            exactly(RunTrigger::parse, RunTrigger::as_str),
        )?,
        status: enum_column(
            r,
            5,
            row,
            "status",
            exactly(RunStatus::parse, RunStatus::as_str),
        )?,
        id,
        export_id: r.get(1)?,
        export_name: r.get(2)?,
        who: r.get(4)?,
        counts: RunCounts {
            read: n(6)?,
            sent: n(7)?,
            imported: n(8)?,
            rejected: n(9)?,
            failed_in_klaviyo: n(10)?,
            matched: n(14)?,
            unchanged: n(15)?,
            removed: n(16)?,
            held: n(17)?,
        },
        started_at: r.get(11)?,
        finished_at: r.get(12)?,
        error: r.get(13)?,
    })
}
