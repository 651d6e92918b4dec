//! Run ownership: a run belongs to one live process for its whole life.
//!
//! Each export has a lock file `<data dir>/locks/export-<id>.lock`. A process starting or
//! continuing a run of the export takes an exclusive OS lock on it (`flock` on Unix,
//! `LockFileEx` on Windows, through `std::fs::File::try_lock`) and keeps it until the run has
//! been recorded as finished. The kernel releases the lock when the process dies — `kill -9`,
//! a crash, a power cut — so the next process can continue the run at once, and a live run is
//! never taken over however slow Klaviyo or the laptop is: there is no time window.
//!
//! The holder writes who it is into the file (process id, operator, trigger, host, since) so
//! that a second start can say who runs the export. The file is never deleted (deleting a lock
//! file races with a process opening it).
//!
//! Architecture invariant: a `running` row in `runs` whose export lock is free belongs to a
//! process that died; whoever takes the lock may mark it interrupted and continue it.

use crate::{CoreError, Result};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a start waits for a lock that is busy before it says who holds it. Another
/// process only *probing* the lock (to tell a dead run from a live one) holds it for
/// microseconds; a live run holds it for as long as it runs.
const BUSY_WAIT: Duration = Duration::from_millis(750);

/// Who holds an export's lock, as written into the lock file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockOwner {
    pub pid: u32,
    pub who: String,
    pub trigger: String,
    pub host: String,
    pub since: String,
    /// A random token, also written on the run row (`runs.owner`).
    pub token: String,
}

impl LockOwner {
    pub fn new(who: &str, trigger: &str) -> LockOwner {
        LockOwner {
            pid: std::process::id(),
            who: who.to_string(),
            trigger: trigger.to_string(),
            host: whoami::fallible::hostname().unwrap_or_else(|_| "this computer".into()),
            since: crate::model::now_rfc3339(),
            token: crate::model::new_id(),
        }
    }
}

/// The exclusive lock on one export, held for a run's whole life; released on drop (and by the
/// kernel if the process dies).
#[derive(Debug)]
pub struct RunLock {
    file: File,
    path: PathBuf,
    owner: LockOwner,
}

fn lock_path(data_dir: &Path, export_id: &str) -> PathBuf {
    // Export ids are UUIDs; anything else is reduced to a safe file name.
    let safe: String = export_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    data_dir.join("locks").join(format!("export-{safe}.lock"))
}

fn open(path: &Path) -> Result<File> {
    let io = |source| CoreError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io)
}

/// What the holder wrote, if it can be read (it may be half written at this instant).
fn read_owner(path: &Path) -> Option<LockOwner> {
    let mut text = String::new();
    File::open(path).ok()?.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

/// The outcome of [`RunLock::acquire`].
#[derive(Debug)]
pub enum Acquired {
    Locked(RunLock),
    /// Another live process holds the export (its own description, when it could be read).
    Busy(Option<LockOwner>),
}

impl RunLock {
    /// Take the export's lock, waiting a moment if it is busy (a probe). `Busy` when another
    /// live process runs the export.
    pub fn acquire(data_dir: &Path, export_id: &str, owner: LockOwner) -> Result<Acquired> {
        let path = lock_path(data_dir, export_id);
        let mut file = open(&path)?;
        let started = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if started.elapsed() < BUSY_WAIT => {
                    std::thread::sleep(Duration::from_millis(15));
                }
                Err(TryLockError::WouldBlock) => return Ok(Acquired::Busy(read_owner(&path))),
                Err(TryLockError::Error(source)) => return Err(CoreError::Io { path, source }),
            }
        }
        let io = |source| CoreError::Io {
            path: path.clone(),
            source,
        };
        let text = serde_json::to_string(&owner).map_err(|e| CoreError::Config(e.to_string()))?;
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        file.write_all(text.as_bytes()).map_err(io)?;
        file.flush().map_err(io)?;
        Ok(Acquired::Locked(RunLock { file, path, owner }))
    }

    /// Whether some live process (this one included) holds the export's lock now. Used to tell
    /// a `running` row of a dead process from a live one.
    pub fn is_held(data_dir: &Path, export_id: &str) -> Result<bool> {
        let path = lock_path(data_dir, export_id);
        if !path.exists() {
            return Ok(false);
        }
        let file = open(&path)?;
        match file.try_lock_shared() {
            Ok(()) => {
                // Dropping the file releases the probe's shared lock at once.
                drop(file);
                Ok(false)
            }
            Err(TryLockError::WouldBlock) => Ok(true),
            Err(TryLockError::Error(source)) => Err(CoreError::Io { path, source }),
        }
    }

    pub fn owner(&self) -> &LockOwner {
        &self.owner
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Closing the file releases the lock too; unlocking first makes it explicit.
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_is_busy_for_everyone_else_and_free_once_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let Acquired::Locked(lock) =
            RunLock::acquire(dir.path(), "e1", LockOwner::new("Marta", "manual")).unwrap()
        else {
            panic!("free lock");
        };
        assert!(RunLock::is_held(dir.path(), "e1").unwrap());
        assert!(!RunLock::is_held(dir.path(), "e2").unwrap());
        match RunLock::acquire(dir.path(), "e1", LockOwner::new("Jan", "cli")).unwrap() {
            Acquired::Busy(Some(owner)) => {
                assert_eq!(owner.who, "Marta");
                assert_eq!(owner.pid, std::process::id());
            }
            other => panic!("expected busy with an owner, got {other:?}"),
        }
        drop(lock);
        assert!(!RunLock::is_held(dir.path(), "e1").unwrap());
        assert!(matches!(
            RunLock::acquire(dir.path(), "e1", LockOwner::new("Jan", "cli")).unwrap(),
            Acquired::Locked(_)
        ));
    }
}
