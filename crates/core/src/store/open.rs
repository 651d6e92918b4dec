//! Opening the database: recovery from a file that cannot be used (kept aside, never deleted),
//! refusal of a newer Segport's database, and the schema upgrade under a file lock.

use super::migrations::{migrations, schema_version};
use super::Store;
use crate::{CoreError, Result};
use rusqlite::{params, Connection as Db, OptionalExtension};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// A database file that could not be used was moved aside (never deleted, never overwritten)
/// and a fresh database started in its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptAside {
    /// Where the file is now: `segport.db.unreadable-YYYYMMDD-HHMMSS` beside the new database
    /// (its `-wal`/`-shm` files, if any, beside it with the same name + `-wal`/`-shm`).
    pub path: PathBuf,
    /// What was wrong with it, in words (e.g. "it is not a SQLite database").
    pub reason: String,
}

impl KeptAside {
    /// The notice the app shows (a banner) and the CLI prints (stderr).
    pub fn message(&self) -> String {
        format!(
            "The database could not be read ({}). It was kept aside, unchanged, as {} and \
             Segport started with an empty database. Set up your connections and exports again \
             (or import a config file: segport-cli config import FILE.toml); keep the old file \
             for support, or restore a backup (segport.db.before-v…) while Segport is closed.",
            self.reason,
            self.path.display()
        )
    }
}

/// The settings key under which a kept-aside notice waits until the app has shown it (the CLI
/// may be the one that found the unreadable file, e.g. from cron).
pub const KEPT_ASIDE_NOTICE: &str = "notice.kept_aside";

/// The first 16 bytes of every SQLite database file.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Tables every Segport database has from schema version 1 on (a file without them is not ours).
const OUR_TABLES: &[&str] = &[
    "settings",
    "connections",
    "sources",
    "segments",
    "exports",
    "runs",
];

/// What the file at the database path turned out to be.
enum Verdict {
    /// Missing, empty, or a Segport database at our version or older: open it.
    Usable,
    /// Not a database, corrupt, or someone else's database: keep it aside.
    Unreadable(String),
    /// A Segport database from a newer version (this value): refuse, never touch it.
    Newer(i64),
}

/// Identity of a file, to make sure the file moved aside is the one that was inspected (the app
/// and the CLI may both start on a damaged file at the same moment).
#[cfg(unix)]
fn file_identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path)
        .ok()
        .map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn file_identity(path: &Path) -> Option<(u64, u64)> {
    let m = std::fs::symlink_metadata(path).ok()?;
    let modified = m
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    Some((m.len(), modified))
}

/// `path` + `suffix` (`segport.db` + `-wal`).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

/// The files that belong to a SQLite database: the file itself, then its WAL, shared-memory
/// index and rollback journal.
const DB_FILE_SUFFIXES: [&str; 4] = ["", "-wal", "-shm", "-journal"];

fn exists(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

/// Rename without ever replacing an existing file: a hard link fails if the target exists
/// (where links are not supported, check then rename).
fn rename_no_clobber(from: &Path, to: &Path) -> std::io::Result<()> {
    match std::fs::hard_link(from, to) {
        Ok(()) => std::fs::remove_file(from),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(e),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(e),
        Err(_) if exists(to) => Err(std::io::ErrorKind::AlreadyExists.into()),
        Err(_) => std::fs::rename(from, to),
    }
}

/// Read the file's header: `Some(reason)` if it cannot be a SQLite database. A missing or empty
/// file is fine (SQLite makes a new database).
fn header_problem(path: &Path) -> Result<Option<String>> {
    use std::io::Read;
    let io_err = |source| CoreError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(e)),
    };
    let mut header = Vec::with_capacity(100);
    file.by_ref()
        .take(100)
        .read_to_end(&mut header)
        .map_err(io_err)?;
    Ok(if header.is_empty() {
        None
    } else if !header.starts_with(SQLITE_MAGIC) {
        Some("it is not a SQLite database".into())
    } else if header.len() < 100 {
        Some(format!(
            "it is truncated: {} bytes, less than a database header",
            header.len()
        ))
    } else {
        None
    })
}

/// Is this SQLite error about the file's content (as opposed to locks, permissions, disks)?
fn is_damage(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt)
    )
}

/// Look at an open database, before anything writes to it: integrity (`quick_check`), schema
/// version, and whose tables these are.
fn inspect(db: &Db) -> rusqlite::Result<Verdict> {
    let problems: Vec<String> = {
        let mut stmt = db.prepare("PRAGMA quick_check(5)")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    if problems.iter().any(|p| p != "ok") {
        return Ok(Verdict::Unreadable(format!(
            "it is damaged: {}",
            problems.join("; ")
        )));
    }
    let version: i64 = db.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let tables: Vec<String> = {
        let mut stmt = db.prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
        )?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let ours = |t: &String| OUR_TABLES.contains(&t.as_str());
    let foreign = || {
        let mut names = tables
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if tables.len() > 5 {
            names.push_str(", …");
        }
        Verdict::Unreadable(format!(
            "it is not a Segport database: it holds other tables ({names})"
        ))
    };
    Ok(if version > schema_version() as i64 {
        // A newer Segport's database is never moved: the user updates the app. Only a file
        // that has nothing of ours is someone else's.
        if !tables.is_empty() && !tables.iter().any(ours) {
            foreign()
        } else {
            Verdict::Newer(version)
        }
    } else if version == 0 {
        if tables.is_empty() {
            Verdict::Usable
        } else {
            foreign()
        }
    } else if OUR_TABLES.iter().all(|t| tables.iter().any(|n| n == t)) {
        Verdict::Usable
    } else {
        foreign()
    })
}

/// Inspect the file with a read-only connection, so a damaged file stays byte for byte as it
/// was (a read-write connection would checkpoint its WAL into it when closed).
fn check(path: &Path) -> Result<Verdict> {
    use rusqlite::{ErrorCode, OpenFlags};
    let open_err = |e: rusqlite::Error| CoreError::StoreOpen {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let verdict = |db: &Db| match inspect(db) {
        Ok(v) => Ok(v),
        Err(e) if is_damage(&e) => Ok(Verdict::Unreadable(format!("it is damaged: {e}"))),
        Err(e) => Err(e),
    };
    let ro = Db::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(open_err)?;
    ro.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(open_err)?;
    match verdict(&ro) {
        // A hot rollback journal needs a writer to roll it back first.
        Err(e) if e.sqlite_error_code() == Some(ErrorCode::ReadOnly) => {
            drop(ro);
            let rw = Db::open(path).map_err(open_err)?;
            rw.busy_timeout(std::time::Duration::from_secs(10))
                .map_err(open_err)?;
            verdict(&rw).map_err(open_err)
        }
        other => other.map_err(open_err),
    }
}

/// Move the database file (and its `-wal`, `-shm`, `-journal`) to
/// `<name>.unreadable-YYYYMMDD-HHMMSS[-N]`, never replacing anything. `Ok(None)` when the file
/// is no longer the one inspected (another process moved it first): the caller looks again.
fn keep_aside(
    path: &Path,
    inspected: Option<(u64, u64)>,
    reason: String,
) -> Result<Option<KeptAside>> {
    if inspected.is_none() || file_identity(path) != inspected {
        return Ok(None);
    }
    let io_err = |p: &Path| {
        let p = p.to_path_buf();
        move |source| CoreError::Io { path: p, source }
    };
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S").to_string();
    for n in 1..1000 {
        let target = match n {
            1 => with_suffix(path, &format!(".unreadable-{stamp}")),
            n => with_suffix(path, &format!(".unreadable-{stamp}-{n}")),
        };
        if DB_FILE_SUFFIXES
            .iter()
            .any(|s| exists(&with_suffix(&target, s)))
        {
            continue;
        }
        match rename_no_clobber(path, &target) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(path)(e)),
        }
        // A WAL left behind would be replayed into the new database: it must go too.
        for suffix in &DB_FILE_SUFFIXES[1..] {
            let from = with_suffix(path, suffix);
            if exists(&from) {
                rename_no_clobber(&from, &with_suffix(&target, suffix)).map_err(io_err(&from))?;
            }
        }
        return Ok(Some(KeptAside {
            path: target,
            reason,
        }));
    }
    Err(CoreError::StoreOpen {
        path: path.to_path_buf(),
        reason: "no free name to keep the unreadable file aside".into(),
    })
}

/// An exclusive lock on `<db>-migrate.lock`, held while the schema is checked and upgraded.
fn lock_for_migration(db_path: &Path) -> Result<std::fs::File> {
    let path = with_suffix(db_path, "-migrate.lock");
    let io = |source| CoreError::Io {
        path: path.clone(),
        source,
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io)?;
    file.lock().map_err(io)?;
    Ok(file)
}

impl Store {
    /// Open (creating if needed) `segport.db` in `data_dir` and bring its schema up to date.
    pub fn open_dir(data_dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(data_dir).map_err(|source| CoreError::Io {
            path: data_dir.to_path_buf(),
            source,
        })?;
        Store::open(&data_dir.join(crate::paths::DB_FILE))
    }

    /// Open the database and bring its schema up to date.
    ///
    /// A file that is not a SQLite database, is damaged (`PRAGMA quick_check`) or is someone
    /// else's database is moved aside to `<name>.unreadable-YYYYMMDD-HHMMSS` (with its `-wal`
    /// and `-shm`), never deleted or overwritten, and a fresh database is started: see
    /// [`Store::kept_aside`]. A database from a newer Segport is refused and left untouched.
    pub fn open(path: &Path) -> Result<Store> {
        let open_err = |e: rusqlite::Error| CoreError::StoreOpen {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        let mut kept_aside = None;
        // A few rounds at most: after a file is moved aside the path is free (next round opens
        // a new database); another process may also be moving the same file at the same moment.
        let mut db = 'checked: {
            for _ in 0..4 {
                let identity = file_identity(path);
                // Companion files the inspection itself may create (a read-only connection on a
                // WAL database makes an empty -wal and a -shm): those are not kept.
                let companions_before: Vec<bool> = DB_FILE_SUFFIXES[1..]
                    .iter()
                    .map(|s| exists(&with_suffix(path, s)))
                    .collect();
                let verdict = match identity {
                    None => Verdict::Usable,
                    Some(_) => match header_problem(path)? {
                        Some(reason) => Verdict::Unreadable(reason),
                        None => check(path)?,
                    },
                };
                match verdict {
                    Verdict::Usable => break 'checked Db::open(path).map_err(open_err)?,
                    Verdict::Newer(version) => {
                        return Err(CoreError::Migration(format!(
                            "it was made by a newer Segport (database version {version}; this \
                             Segport knows up to version {}). Update the app",
                            schema_version()
                        )))
                    }
                    Verdict::Unreadable(reason) => {
                        for (suffix, existed) in DB_FILE_SUFFIXES[1..].iter().zip(companions_before)
                        {
                            let made_by_us = with_suffix(path, suffix);
                            if !existed && exists(&made_by_us) {
                                // Best effort: if it stays, it is moved aside with the file.
                                let _ = std::fs::remove_file(&made_by_us);
                            }
                        }
                        if let Some(kept) = keep_aside(path, identity, reason)? {
                            tracing::warn!(
                                kept = %kept.path.display(),
                                reason = %kept.reason,
                                "database unreadable: kept aside, starting a fresh one"
                            );
                            kept_aside = Some(kept);
                        }
                    }
                }
            }
            return Err(CoreError::StoreOpen {
                path: path.to_path_buf(),
                reason: "the file kept changing while it was being checked".into(),
            });
        };
        db.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(open_err)?;
        // Write transactions take the write lock when they begin: a deferred transaction that
        // reads first and writes later fails with "database is locked" at once (no busy wait)
        // when the other process (app or CLI) wrote in between.
        db.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
        db.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        db.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_err)?;
        // One process at a time checks and upgrades the schema: two processes opening an old
        // (or a new, empty) database at the same moment would otherwise both read the old
        // `user_version` and both apply the same migration ("table already exists").
        // rusqlite_migration reads the version outside its transaction, so the lock is a file
        // lock around the whole step, released when this function returns (or the process dies).
        let _migrating = lock_for_migration(path)?;
        let migrations = migrations();
        let pending = migrations
            .pending_migrations(&db)
            .map_err(|e| CoreError::Migration(e.to_string()))?;
        let version: i64 = db
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(open_err)?;
        if pending > 0 && version > 0 {
            // A copy of the database as it was, before the schema changes.
            let backup = path.with_extension(format!("db.before-v{}", schema_version()));
            if !backup.exists() {
                db.execute("VACUUM INTO ?1", [backup.to_string_lossy()])
                    .map_err(|e| {
                        CoreError::Migration(format!("backup before upgrading failed: {e}"))
                    })?;
            }
        }
        // Table rebuilds in migrations need foreign keys off (SQLite's documented procedure);
        // each migration checks them with `foreign_key_check` before it commits.
        db.pragma_update(None, "foreign_keys", "OFF")
            .map_err(open_err)?;
        migrations
            .to_latest(&mut db)
            .map_err(|e| CoreError::Migration(e.to_string()))?;
        db.pragma_update(None, "foreign_keys", "ON")
            .map_err(open_err)?;
        if let Some(kept) = &kept_aside {
            // Until the app has shown it (the CLI may have been the one to find the file).
            db.execute(
                "INSERT INTO settings(key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![KEPT_ASIDE_NOTICE, kept.message()],
            )
            .map_err(open_err)?;
        }
        Ok(Store {
            db: Mutex::new(db),
            path: path.to_path_buf(),
            kept_aside,
        })
    }

    /// Set when [`Store::open`] found an unreadable file, moved it aside and started afresh.
    pub fn kept_aside(&self) -> Option<&KeptAside> {
        self.kept_aside.as_ref()
    }

    /// The kept-aside notice waiting to be shown (by whichever process found the file), removed
    /// from the database as it is taken: the app shows it once.
    pub fn take_kept_aside_notice(&self) -> Result<Option<String>> {
        Ok(self
            .db()
            .query_row(
                "DELETE FROM settings WHERE key = ?1 RETURNING value",
                [KEPT_ASIDE_NOTICE],
                |r| r.get(0),
            )
            .optional()?)
    }
}
