//! The SQLite store: one file in the data folder, shared by the app and the CLI.
//!
//! Architecture invariant: the schema changes only by numbered migrations below, applied in one
//! transaction after checking `user_version`; every write goes through this module.

use crate::model::*;
use crate::{CoreError, Result};
use rusqlite::{params, Connection as Db, OptionalExtension, Row};
use rusqlite_migration::{Migrations, M};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// Numbered migrations. Append only: never edit one that has shipped.
const MIGRATIONS: &[&str] = &[
    // 1: settings, connections, sources, segments, exports, runs and their rejects and jobs.
    r#"
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE connections (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    destination TEXT NOT NULL DEFAULT 'klaviyo',
    base_url TEXT NOT NULL,
    usable_by TEXT NOT NULL DEFAULT 'admins' CHECK (usable_by IN ('admins', 'contributors')),
    api_key_env TEXT,
    consent_by TEXT,
    consent_at TEXT,
    export_user TEXT,
    account_id TEXT,
    account_name TEXT,
    verified_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE sources (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('csv')),
    path TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE segments (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    source_id TEXT NOT NULL REFERENCES sources(id) ON DELETE RESTRICT,
    filter TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE exports (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    segment_id TEXT NOT NULL REFERENCES segments(id) ON DELETE RESTRICT,
    connection_id TEXT REFERENCES connections(id) ON DELETE SET NULL,
    list_id TEXT NOT NULL,
    mapping TEXT NOT NULL,
    mode TEXT NOT NULL DEFAULT 'upsert',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    export_id TEXT NOT NULL REFERENCES exports(id) ON DELETE CASCADE,
    trigger TEXT NOT NULL,
    who TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    heartbeat_at TEXT NOT NULL,
    read INTEGER NOT NULL DEFAULT 0,
    sent INTEGER NOT NULL DEFAULT 0,
    imported INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0,
    failed_in_klaviyo INTEGER NOT NULL DEFAULT 0,
    error TEXT
);
CREATE INDEX runs_by_export ON runs(export_id, started_at);
CREATE TABLE run_rejects (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    line INTEGER NOT NULL,
    identifier TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX run_rejects_by_run ON run_rejects(run_id, line);
CREATE TABLE run_jobs (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    batch INTEGER NOT NULL,
    job_id TEXT NOT NULL,
    profiles INTEGER NOT NULL,
    status TEXT NOT NULL,
    PRIMARY KEY (run_id, batch)
);
"#,
    // 2: sources of every kind (csv, jsonl, sqlite + table); export schedules and delta state;
    // resumable runs (per-job counts, one reject per line); runs' skipped/removed counts.
    r#"
CREATE TABLE sources_v2 (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('csv', 'jsonl', 'sqlite')),
    path TEXT NOT NULL,
    table_name TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
INSERT INTO sources_v2 (id, name, kind, path, created_at, updated_at)
    SELECT id, name, kind, path, created_at, updated_at FROM sources;
DROP TABLE sources;
ALTER TABLE sources_v2 RENAME TO sources;
ALTER TABLE exports ADD COLUMN schedule TEXT;
ALTER TABLE exports ADD COLUMN enabled INTEGER NOT NULL DEFAULT 1;
CREATE TABLE export_state (
    export_id TEXT NOT NULL REFERENCES exports(id) ON DELETE CASCADE,
    identifier TEXT NOT NULL,
    hash INTEGER NOT NULL,
    PRIMARY KEY (export_id, identifier)
) WITHOUT ROWID;
ALTER TABLE run_jobs ADD COLUMN first_line INTEGER NOT NULL DEFAULT 0;
ALTER TABLE run_jobs ADD COLUMN last_line INTEGER NOT NULL DEFAULT 0;
ALTER TABLE run_jobs ADD COLUMN completed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE run_jobs ADD COLUMN failed INTEGER NOT NULL DEFAULT 0;
DELETE FROM run_rejects WHERE rowid NOT IN (SELECT min(rowid) FROM run_rejects GROUP BY run_id, line);
DROP INDEX run_rejects_by_run;
CREATE UNIQUE INDEX run_rejects_by_line ON run_rejects(run_id, line);
ALTER TABLE runs ADD COLUMN matched INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN unchanged INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN removed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN full INTEGER NOT NULL DEFAULT 0;
"#,
    // 3: run ownership (owner token; the OS lock is a file), the fingerprint a run is continued
    // under, mirror removals held for confirmation, each batch's source lines; the delta state
    // keyed by destination (Klaviyo account + list) as well as export. Existing state is kept
    // under the account the connection was last verified with ('' if never) and the export's
    // list.
    r#"
ALTER TABLE runs ADD COLUMN owner TEXT;
ALTER TABLE runs ADD COLUMN fingerprint TEXT;
ALTER TABLE runs ADD COLUMN destination TEXT;
ALTER TABLE runs ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
ALTER TABLE run_jobs ADD COLUMN lines BLOB;
ALTER TABLE exports ADD COLUMN removal_guard TEXT;
CREATE TABLE export_state_v3 (
    export_id TEXT NOT NULL REFERENCES exports(id) ON DELETE CASCADE,
    destination TEXT NOT NULL,
    identifier TEXT NOT NULL,
    hash INTEGER NOT NULL,
    phone INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (export_id, destination, identifier)
) WITHOUT ROWID;
INSERT INTO export_state_v3 (export_id, destination, identifier, hash)
    SELECT s.export_id, coalesce(c.account_id, '') || '/' || e.list_id, s.identifier, s.hash
    FROM export_state s JOIN exports e ON e.id = s.export_id
    LEFT JOIN connections c ON c.id = e.connection_id;
DROP TABLE export_state;
ALTER TABLE export_state_v3 RENAME TO export_state;
"#,
    // 4: a consent's OS account, beside the operator who gave it (consent_by).
    r#"
ALTER TABLE connections ADD COLUMN consent_os_user TEXT;
"#,
];

fn migrations() -> Migrations<'static> {
    Migrations::new(
        MIGRATIONS
            .iter()
            .map(|sql| M::up(sql).foreign_key_check())
            .collect(),
    )
}

/// The number of the newest migration this build knows.
pub fn schema_version() -> usize {
    MIGRATIONS.len()
}

/// Create a database file at an older schema version (upgrade tests).
#[doc(hidden)]
pub fn create_at_version(path: &Path, version: usize) -> Result<()> {
    let mut db = Db::open(path)?;
    migrations()
        .to_version(&mut db, version)
        .map_err(|e| CoreError::Migration(e.to_string()))
}

pub struct Store {
    db: Mutex<Db>,
    path: PathBuf,
    kept_aside: Option<KeptAside>,
}

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
    Ok(if version > MIGRATIONS.len() as i64 {
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
                            MIGRATIONS.len()
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
            let backup = path.with_extension(format!("db.before-v{}", MIGRATIONS.len()));
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

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn db(&self) -> MutexGuard<'_, Db> {
        // A panic while holding the lock leaves the connection usable: SQLite rolls back.
        self.db
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn user_version(&self) -> Result<i64> {
        Ok(self
            .db()
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    // ---- settings ----

    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .db()
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    pub fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        self.db().execute(
            "INSERT INTO settings(key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    // ---- connections ----

    pub fn connections(&self) -> Result<Vec<Connection>> {
        let db = self.db();
        let mut stmt = db.prepare(&format!("{CONNECTION_SELECT} ORDER BY name COLLATE NOCASE"))?;
        let rows = stmt.query_map([], connection_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn connection(&self, id: &str) -> Result<Connection> {
        self.db()
            .query_row(
                &format!("{CONNECTION_SELECT} WHERE id = ?1"),
                [id],
                connection_from_row,
            )
            .optional()?
            .ok_or_else(|| CoreError::NotFound {
                what: "Connection",
                name: id.to_string(),
            })
    }

    pub fn connection_by_name(&self, name: &str) -> Result<Option<Connection>> {
        Ok(self
            .db()
            .query_row(
                &format!("{CONNECTION_SELECT} WHERE name = ?1"),
                [name],
                connection_from_row,
            )
            .optional()?)
    }

    /// Insert or update by id.
    pub fn put_connection(&self, c: &Connection) -> Result<()> {
        put_connection(&self.db(), c)
    }

    pub fn delete_connection(&self, id: &str) -> Result<bool> {
        Ok(self
            .db()
            .execute("DELETE FROM connections WHERE id = ?1", [id])?
            > 0)
    }

    // ---- sources and segments ----

    pub fn sources(&self) -> Result<Vec<Source>> {
        let db = self.db();
        let mut stmt =
            db.prepare("SELECT id, name, kind, path, table_name FROM sources ORDER BY name")?;
        let rows = stmt.query_map([], source_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn source(&self, id: &str) -> Result<Source> {
        self.db()
            .query_row(
                "SELECT id, name, kind, path, table_name FROM sources WHERE id = ?1",
                [id],
                source_from_row,
            )
            .optional()?
            .ok_or_else(|| CoreError::NotFound {
                what: "Source",
                name: id.to_string(),
            })
    }

    pub fn put_source(&self, s: &Source) -> Result<()> {
        put_source(&self.db(), s)
    }

    pub fn segments(&self) -> Result<Vec<Segment>> {
        let db = self.db();
        let mut stmt =
            db.prepare("SELECT id, name, source_id, filter FROM segments ORDER BY name")?;
        let rows = stmt.query_map([], segment_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn segment(&self, id: &str) -> Result<Segment> {
        self.db()
            .query_row(
                "SELECT id, name, source_id, filter FROM segments WHERE id = ?1",
                [id],
                segment_from_row,
            )
            .optional()?
            .ok_or_else(|| CoreError::NotFound {
                what: "Segment",
                name: id.to_string(),
            })
    }

    pub fn put_segment(&self, s: &Segment) -> Result<()> {
        put_segment(&self.db(), s)
    }

    /// Remove a source; its segments must be removed first (the schema refuses otherwise).
    pub fn delete_source(&self, id: &str) -> Result<bool> {
        Ok(self
            .db()
            .execute("DELETE FROM sources WHERE id = ?1", [id])?
            > 0)
    }

    /// Remove a segment; the exports sending it must be removed first.
    pub fn delete_segment(&self, id: &str) -> Result<bool> {
        Ok(self
            .db()
            .execute("DELETE FROM segments WHERE id = ?1", [id])?
            > 0)
    }

    // ---- exports ----

    pub fn exports(&self) -> Result<Vec<Export>> {
        let db = self.db();
        let mut stmt = db.prepare(&format!("{EXPORT_SELECT} ORDER BY name COLLATE NOCASE"))?;
        let rows = stmt.query_map([], export_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn export(&self, id: &str) -> Result<Export> {
        self.db()
            .query_row(
                &format!("{EXPORT_SELECT} WHERE id = ?1"),
                [id],
                export_from_row,
            )
            .optional()?
            .ok_or_else(|| CoreError::NotFound {
                what: "Export",
                name: id.to_string(),
            })
    }

    pub fn export_by_name(&self, name: &str) -> Result<Option<Export>> {
        Ok(self
            .db()
            .query_row(
                &format!("{EXPORT_SELECT} WHERE name = ?1"),
                [name],
                export_from_row,
            )
            .optional()?)
    }

    pub fn put_export(&self, e: &Export) -> Result<()> {
        put_export(&self.db(), e)
    }

    pub fn delete_export(&self, id: &str) -> Result<bool> {
        Ok(self
            .db()
            .execute("DELETE FROM exports WHERE id = ?1", [id])?
            > 0)
    }

    // ---- runs ----

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
        let mut stmt =
            db.prepare("SELECT DISTINCT export_id FROM runs WHERE status = 'running'")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The export's runs left `running` are marked `interrupted` (call it only while holding
    /// the export's lock, or after seeing the lock free: their process died). Returns how many.
    pub fn mark_runs_interrupted(&self, export_id: &str) -> Result<usize> {
        Ok(self.db().execute(
            "UPDATE runs SET status = 'interrupted', finished_at = heartbeat_at
             WHERE status = 'running' AND export_id = ?1",
            [export_id],
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
             VALUES (?1, ?2, ?3, ?4, 'accepted', ?5, ?6, ?7)
             ON CONFLICT(run_id, batch) DO UPDATE SET job_id = excluded.job_id,
                profiles = excluded.profiles, status = 'accepted',
                first_line = excluded.first_line, last_line = excluded.last_line,
                lines = excluded.lines",
            params![
                run_id,
                batch as i64,
                job_id,
                lines.len() as i64,
                first as i64,
                last as i64,
                encode_lines(lines)
            ],
        )?;
        crate::engine::test_pause_at("checkpoint");
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
        crate::engine::test_pause_at("job-complete");
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
        let rows = stmt.query_map([run_id], |r| {
            let status: String = r.get(3)?;
            Ok(JobRecord {
                batch: r.get::<_, i64>(0)? as u64,
                job_id: r.get(1)?,
                profiles: r.get::<_, i64>(2)? as u64,
                status: JobState::parse(&status).ok_or_else(|| {
                    rusqlite::Error::FromSqlConversionFailure(
                        3,
                        rusqlite::types::Type::Text,
                        format!("unknown job status {status:?}").into(),
                    )
                })?,
                completed: r.get::<_, i64>(4)? as u64,
                failed: r.get::<_, i64>(5)? as u64,
                first_line: r.get::<_, i64>(6)? as u64,
                last_line: r.get::<_, i64>(7)? as u64,
                lines: r
                    .get::<_, Option<Vec<u8>>>(8)?
                    .and_then(|b| decode_lines(&b)),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
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
                    "{RUN_SELECT} WHERE r.export_id = ?1 AND (r.status IN ('interrupted', 'cancelled')
                        OR (r.status = 'failed'
                            AND EXISTS (SELECT 1 FROM run_jobs j WHERE j.run_id = r.id)))
                     AND r.rowid = (SELECT max(rowid) FROM runs WHERE export_id = ?1)"
                ),
                params![export_id],
                run_from_row,
            )
            .optional()?;
        Ok(latest)
    }

    /// Take a run up again, owned by `owner`: running, no end, a fresh heartbeat.
    pub fn reopen_run(&self, run_id: &str, owner: &str) -> Result<()> {
        self.db().execute(
            "UPDATE runs SET status = 'running', finished_at = NULL, error = NULL,
                heartbeat_at = ?2, owner = ?3 WHERE id = ?1",
            params![run_id, now_rfc3339(), owner],
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

    // ---- delta state: what was last sent, per export and identifier ----

    /// Every (identifier, content hash) last sent by the export to `destination` (Klaviyo
    /// account + list), streamed to `f`.
    pub fn for_each_export_state(
        &self,
        export_id: &str,
        destination: &str,
        mut f: impl FnMut(&str, u64, u64),
    ) -> Result<()> {
        let db = self.db();
        let mut stmt = db.prepare(
            "SELECT identifier, hash, phone FROM export_state
             WHERE export_id = ?1 AND destination = ?2",
        )?;
        let mut rows = stmt.query([export_id, destination])?;
        while let Some(r) = rows.next()? {
            let id: String = r.get(0)?;
            f(&id, r.get::<_, i64>(1)? as u64, r.get::<_, i64>(2)? as u64);
        }
        Ok(())
    }

    /// How many identifiers the export's state holds for `destination`.
    pub fn count_export_state(&self, export_id: &str, destination: &str) -> Result<u64> {
        let n: i64 = self.db().query_row(
            "SELECT count(*) FROM export_state WHERE export_id = ?1 AND destination = ?2",
            [export_id, destination],
            |r| r.get(0),
        )?;
        Ok(n.max(0) as u64)
    }

    /// Record what Klaviyo (account + list `destination`) now holds for these identifiers:
    /// (email, content hash, key of the phone number sent — 0 for none).
    pub fn save_export_state(
        &self,
        export_id: &str,
        destination: &str,
        rows: &[(String, u64, u64)],
    ) -> Result<()> {
        let mut db = self.db();
        let tx = db.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO export_state (export_id, destination, identifier, hash, phone)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(export_id, destination, identifier)
                 DO UPDATE SET hash = excluded.hash, phone = excluded.phone",
            )?;
            for (id, hash, phone) in rows {
                stmt.execute(params![
                    export_id,
                    destination,
                    id,
                    *hash as i64,
                    *phone as i64
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    pub fn delete_export_state(
        &self,
        export_id: &str,
        destination: &str,
        identifiers: &[String],
    ) -> Result<()> {
        let mut db = self.db();
        let tx = db.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "DELETE FROM export_state
                 WHERE export_id = ?1 AND destination = ?2 AND identifier = ?3",
            )?;
            for id in identifiers {
                stmt.execute(params![export_id, destination, id])?;
            }
        }
        tx.commit()?;
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

    /// Run a closure inside one transaction (all-or-nothing imports).
    pub fn transaction<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut db = self.db();
        let tx = db.transaction()?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }
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

fn unique_violation(res: rusqlite::Result<usize>, what: &'static str, name: &str) -> Result<()> {
    match res {
        Ok(_) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(e, Some(msg)))
            if e.code == rusqlite::ErrorCode::ConstraintViolation && msg.contains("UNIQUE") =>
        {
            Err(CoreError::Duplicate {
                what,
                name: name.to_string(),
            })
        }
        Err(e) => Err(e.into()),
    }
}

const CONNECTION_SELECT: &str = "SELECT id, name, base_url, usable_by, api_key_env, consent_by,
    consent_at, export_user, account_id, account_name, verified_at, consent_os_user
    FROM connections";

fn connection_from_row(r: &Row<'_>) -> rusqlite::Result<Connection> {
    let consent_by: Option<String> = r.get(5)?;
    let consent_at: Option<String> = r.get(6)?;
    let account_id: Option<String> = r.get(8)?;
    let account_name: Option<String> = r.get(9)?;
    let verified_at: Option<String> = r.get(10)?;
    Ok(Connection {
        id: r.get(0)?,
        name: r.get(1)?,
        base_url: r.get(2)?,
        usable_by: UsableBy::parse(&r.get::<_, String>(3)?).unwrap_or_default(),
        api_key_env: r.get(4)?,
        consent: match (consent_by, consent_at) {
            (Some(by), Some(at)) => Some(Consent {
                by,
                os_user: r.get(11)?,
                at,
            }),
            _ => None,
        },
        export_user: r.get(7)?,
        verified: match (account_id, account_name, verified_at) {
            (Some(account_id), Some(account_name), Some(at)) => Some(VerifiedAccount {
                account_id,
                account_name,
                at,
            }),
            _ => None,
        },
    })
}

fn source_from_row(r: &Row<'_>) -> rusqlite::Result<Source> {
    Ok(Source {
        id: r.get(0)?,
        name: r.get(1)?,
        kind: SourceKind::parse(&r.get::<_, String>(2)?).unwrap_or(SourceKind::Csv),
        path: r.get(3)?,
        table: r.get(4)?,
    })
}

fn segment_from_row(r: &Row<'_>) -> rusqlite::Result<Segment> {
    Ok(Segment {
        id: r.get(0)?,
        name: r.get(1)?,
        source_id: r.get(2)?,
        filter: r.get(3)?,
    })
}

const EXPORT_SELECT: &str = "SELECT id, name, segment_id, connection_id, list_id, mapping,
    created_at, updated_at, mode, schedule, removal_guard FROM exports";

fn export_from_row(r: &Row<'_>) -> rusqlite::Result<Export> {
    let mapping: String = r.get(5)?;
    let mapping = serde_json::from_str(&mapping).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(5, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(Export {
        id: r.get(0)?,
        name: r.get(1)?,
        segment_id: r.get(2)?,
        connection_id: r.get(3)?,
        list_id: r.get(4)?,
        mapping,
        mode: ExportMode::parse(&r.get::<_, String>(8)?),
        schedule: r
            .get::<_, Option<String>>(9)?
            .and_then(|s| crate::schedule::Schedule::parse(&s).ok())
            .unwrap_or(crate::schedule::Schedule::Manual),
        removal_guard: match r.get::<_, Option<String>>(10)? {
            None => RemovalGuard::default(),
            Some(text) => serde_json::from_str(&text).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    10,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            })?,
        },
        created_at: r.get(6)?,
        updated_at: r.get(7)?,
    })
}

const RUN_SELECT: &str = "SELECT r.id, r.export_id, e.name, r.trigger, r.who, r.status,
    r.read, r.sent, r.imported, r.rejected, r.failed_in_klaviyo, r.started_at, r.finished_at,
    r.error, r.matched, r.unchanged, r.removed, r.held FROM runs r JOIN exports e ON e.id = r.export_id";

fn run_from_row(r: &Row<'_>) -> rusqlite::Result<RunView> {
    let n = |i: usize| -> rusqlite::Result<u64> { Ok(r.get::<_, i64>(i)?.max(0) as u64) };
    Ok(RunView {
        id: r.get(0)?,
        export_id: r.get(1)?,
        export_name: r.get(2)?,
        trigger: RunTrigger::parse(&r.get::<_, String>(3)?),
        who: r.get(4)?,
        status: RunStatus::parse(&r.get::<_, String>(5)?),
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

pub fn put_connection(db: &Db, c: &Connection) -> Result<()> {
    let now = now_rfc3339();
    let res = db.execute(
        "INSERT INTO connections (id, name, base_url, usable_by, api_key_env, consent_by,
            consent_at, export_user, account_id, account_name, verified_at, created_at, updated_at,
            consent_os_user)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?13)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, base_url = excluded.base_url,
            usable_by = excluded.usable_by, api_key_env = excluded.api_key_env,
            consent_by = excluded.consent_by, consent_at = excluded.consent_at,
            consent_os_user = excluded.consent_os_user,
            export_user = excluded.export_user, account_id = excluded.account_id,
            account_name = excluded.account_name, verified_at = excluded.verified_at,
            updated_at = excluded.updated_at",
        params![
            c.id,
            c.name,
            c.base_url,
            c.usable_by.as_str(),
            c.api_key_env,
            c.consent.as_ref().map(|x| &x.by),
            c.consent.as_ref().map(|x| &x.at),
            c.export_user,
            c.verified.as_ref().map(|v| &v.account_id),
            c.verified.as_ref().map(|v| &v.account_name),
            c.verified.as_ref().map(|v| &v.at),
            now,
            c.consent.as_ref().and_then(|x| x.os_user.as_ref()),
        ],
    );
    unique_violation(res, "connection", &c.name)
}

pub fn put_source(db: &Db, s: &Source) -> Result<()> {
    let now = now_rfc3339();
    let res = db.execute(
        "INSERT INTO sources (id, name, kind, path, table_name, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, kind = excluded.kind,
            path = excluded.path, table_name = excluded.table_name,
            updated_at = excluded.updated_at",
        params![s.id, s.name, s.kind.as_str(), s.path, s.table, now],
    );
    unique_violation(res, "source", &s.name)
}

pub fn put_segment(db: &Db, s: &Segment) -> Result<()> {
    let now = now_rfc3339();
    let res = db.execute(
        "INSERT INTO segments (id, name, source_id, filter, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, source_id = excluded.source_id,
            filter = excluded.filter, updated_at = excluded.updated_at",
        params![s.id, s.name, s.source_id, s.filter, now],
    );
    unique_violation(res, "segment", &s.name)
}

pub fn put_export(db: &Db, e: &Export) -> Result<()> {
    let mapping = serde_json::to_string(&e.mapping)
        .map_err(|err| CoreError::invalid("mapping", err.to_string()))?;
    let res = db.execute(
        "INSERT INTO exports (id, name, segment_id, connection_id, list_id, mapping, mode,
            schedule, created_at, updated_at, removal_guard)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, segment_id = excluded.segment_id,
            connection_id = excluded.connection_id, list_id = excluded.list_id,
            mapping = excluded.mapping, mode = excluded.mode, schedule = excluded.schedule,
            removal_guard = excluded.removal_guard, updated_at = excluded.updated_at",
        params![
            e.id,
            e.name,
            e.segment_id,
            e.connection_id,
            e.list_id,
            mapping,
            e.mode.as_str(),
            e.schedule.to_string(),
            e.created_at,
            e.updated_at,
            serde_json::to_string(&e.removal_guard)
                .map_err(|err| CoreError::invalid("removal guard", err.to_string()))?
        ],
    );
    unique_violation(res, "export", &e.name)
}
