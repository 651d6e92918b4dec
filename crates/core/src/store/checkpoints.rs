//! The `run_jobs` table: a run's checkpoint, one row per batch Klaviyo accepted (its bulk
//! import job, the job's state and the source lines it covers), so that a continued run never
//! sends an accepted batch again.

use super::{enum_column, BadRow, Store};
use crate::Result;
use rusqlite::types::Type;
use rusqlite::{params, Row};

impl Store {
    /// Checkpoint: Klaviyo accepted batch `batch` as job `job_id`; `lines` are the source
    /// lines of its profiles, in the order they were sent (so that Klaviyo's per-row errors,
    /// which point at a profile's index, find their line after a restart too).
    pub fn record_job(&self, run_id: &str, batch: u64, job_id: &str, lines: &[u64]) -> Result<()> {
        let first = lines.first().copied().unwrap_or(0);
        let last = lines.last().copied().unwrap_or(0);
        let mut db = self.db();
        let tx = db.transaction()?;
        tx.execute(
            "INSERT INTO run_jobs (run_id, batch, job_id, profiles, status, first_line, last_line,
                lines)
             VALUES (?1, ?2, ?3, ?4, ?8, ?5, ?6, ?7)
             ON CONFLICT(run_id, batch) DO UPDATE SET job_id = excluded.job_id,
                profiles = excluded.profiles, status = excluded.status,
                first_line = excluded.first_line, last_line = excluded.last_line,
                lines = excluded.lines",
            params![
                run_id,
                batch as i64,
                job_id,
                lines.len() as i64,
                first as i64,
                last as i64,
                encode_lines(lines),
                JobState::Accepted.as_str()
            ],
        )?;
        crate::failpoint::pause_at("checkpoint");
        tx.commit()?;
        Ok(())
    }

    /// A job finished: its counts are part of the run's checkpoint.
    pub fn complete_job(
        &self,
        run_id: &str,
        batch: u64,
        status: JobState,
        completed: u64,
        failed: u64,
    ) -> Result<()> {
        let mut db = self.db();
        let tx = db.transaction()?;
        tx.execute(
            "UPDATE run_jobs SET status = ?3, completed = ?4, failed = ?5
             WHERE run_id = ?1 AND batch = ?2",
            params![
                run_id,
                batch as i64,
                status.as_str(),
                completed as i64,
                failed as i64
            ],
        )?;
        crate::failpoint::pause_at("job-complete");
        tx.commit()?;
        Ok(())
    }

    /// The run's checkpoint: every batch Klaviyo accepted, with its job and state.
    pub fn run_jobs(&self, run_id: &str) -> Result<Vec<JobRecord>> {
        let db = self.db();
        let mut stmt = db.prepare(
            "SELECT batch, job_id, profiles, status, completed, failed, first_line, last_line,
                lines
             FROM run_jobs WHERE run_id = ?1 ORDER BY first_line",
        )?;
        let rows = stmt.query_map([run_id], |r| job_from_row(run_id, r))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// A `run_jobs` row of the run `run_id` (its key is the run and the batch).
fn job_from_row(run_id: &str, r: &Row<'_>) -> rusqlite::Result<JobRecord> {
    let batch = r.get::<_, i64>(0)? as u64;
    let id = format!("{run_id} batch {batch}");
    let row = ("run_jobs", id.as_str());
    // NULL: written before 0.3, which did not keep the lines. A blob that does not decode is
    // damage, not an old checkpoint: guessing would attach Klaviyo's errors to the wrong lines.
    let lines = match r.get::<_, Option<Vec<u8>>>(8)? {
        None => None,
        Some(blob) => Some(decode_lines(&blob).ok_or_else(|| {
            BadRow::Unreadable {
                table: row.0,
                id: id.clone(),
                column: "lines",
                why: format!("{} bytes that are not a list of line numbers", blob.len()),
            }
            .into_error(8, Type::Blob)
        })?),
    };
    Ok(JobRecord {
        status: enum_column(r, 3, row, "status", JobState::parse)?,
        batch,
        job_id: r.get(1)?,
        profiles: r.get::<_, i64>(2)? as u64,
        completed: r.get::<_, i64>(4)? as u64,
        failed: r.get::<_, i64>(5)? as u64,
        first_line: r.get::<_, i64>(6)? as u64,
        last_line: r.get::<_, i64>(7)? as u64,
        lines,
    })
}

/// Where a bulk import job of a checkpoint stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// Klaviyo accepted it; not complete yet (or not seen complete before a restart).
    Accepted,
    /// Klaviyo processed it: its rows are imported or reported as failed.
    Complete,
    /// Klaviyo cancelled it: its rows were not imported and are sent again.
    Cancelled,
    /// Klaviyo no longer knows it (jobs expire): its outcome is unknown and its rows are sent
    /// again.
    Expired,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Accepted => "accepted",
            JobState::Complete => "complete",
            JobState::Cancelled => "cancelled",
            JobState::Expired => "expired",
        }
    }
    pub fn parse(s: &str) -> Option<JobState> {
        Some(match s {
            "accepted" => JobState::Accepted,
            "complete" => JobState::Complete,
            "cancelled" => JobState::Cancelled,
            "expired" => JobState::Expired,
            _ => return None,
        })
    }
}

/// One accepted batch of a run (its checkpoint row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    pub batch: u64,
    pub job_id: String,
    pub profiles: u64,
    pub status: JobState,
    pub completed: u64,
    pub failed: u64,
    /// The source lines the batch covers (first and last row in it).
    pub first_line: u64,
    pub last_line: u64,
    /// Every source line of the batch, in the order sent (`None` for checkpoints written by
    /// versions before 0.3).
    pub lines: Option<Vec<u64>>,
}

impl JobRecord {
    /// Klaviyo has finished with the job, one way or another.
    pub fn is_complete(&self) -> bool {
        self.status != JobState::Accepted
    }
    /// Its rows count as delivered: accepted (and maybe still processing) or complete. A
    /// cancelled or expired job's rows are sent again.
    pub fn is_delivered(&self) -> bool {
        matches!(self.status, JobState::Accepted | JobState::Complete)
    }
}

/// A batch's source lines (increasing) as a blob: LEB128 varints of the gaps.
fn encode_lines(lines: &[u64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(lines.len() + 8);
    let mut prev = 0u64;
    for &l in lines {
        let mut v = l.wrapping_sub(prev);
        prev = l;
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(byte);
                break;
            }
            out.push(byte | 0x80);
        }
    }
    out
}

fn decode_lines(bytes: &[u8]) -> Option<Vec<u64>> {
    let mut out = Vec::new();
    let (mut prev, mut v, mut shift) = (0u64, 0u64, 0u32);
    for &b in bytes {
        if shift >= 64 {
            return None;
        }
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            prev = prev.wrapping_add(v);
            out.push(prev);
            v = 0;
            shift = 0;
        } else {
            shift += 7;
        }
    }
    (shift == 0).then_some(out)
}
