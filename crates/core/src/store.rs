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
];

fn migrations() -> Migrations<'static> {
    Migrations::new(MIGRATIONS.iter().map(|sql| M::up(sql)).collect())
}

/// The number of the newest migration this build knows.
pub fn schema_version() -> usize {
    MIGRATIONS.len()
}

pub struct Store {
    db: Mutex<Db>,
    path: PathBuf,
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

    pub fn open(path: &Path) -> Result<Store> {
        let open_err = |e: rusqlite::Error| CoreError::StoreOpen {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        let mut db = Db::open(path).map_err(open_err)?;
        db.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(open_err)?;
        db.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        db.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_err)?;
        db.pragma_update(None, "foreign_keys", "ON")
            .map_err(open_err)?;
        migrations()
            .to_latest(&mut db)
            .map_err(|e| CoreError::Migration(e.to_string()))?;
        Ok(Store {
            db: Mutex::new(db),
            path: path.to_path_buf(),
        })
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
        let mut stmt = db.prepare("SELECT id, name, kind, path FROM sources ORDER BY name")?;
        let rows = stmt.query_map([], source_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn source(&self, id: &str) -> Result<Source> {
        self.db()
            .query_row(
                "SELECT id, name, kind, path FROM sources WHERE id = ?1",
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

    pub fn insert_run(&self, run: &RunView) -> Result<()> {
        self.db().execute(
            "INSERT INTO runs (id, export_id, trigger, who, status, started_at, heartbeat_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
            params![
                run.id,
                run.export_id,
                run.trigger.as_str(),
                run.who,
                run.status.as_str(),
                run.started_at
            ],
        )?;
        Ok(())
    }

    pub fn update_run_counts(&self, run_id: &str, c: &RunCounts) -> Result<()> {
        self.db().execute(
            "UPDATE runs SET read = ?2, sent = ?3, imported = ?4, rejected = ?5,
                failed_in_klaviyo = ?6, heartbeat_at = ?7 WHERE id = ?1",
            params![
                run_id,
                c.read as i64,
                c.sent as i64,
                c.imported as i64,
                c.rejected as i64,
                c.failed_in_klaviyo as i64,
                now_rfc3339()
            ],
        )?;
        Ok(())
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
                imported = ?7, rejected = ?8, failed_in_klaviyo = ?9 WHERE id = ?1",
            params![
                run_id,
                status.as_str(),
                now_rfc3339(),
                error,
                counts.read as i64,
                counts.sent as i64,
                counts.imported as i64,
                counts.rejected as i64,
                counts.failed_in_klaviyo as i64
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Runs left `running` by a process that died (no heartbeat for `older_than_secs`) are
    /// marked `interrupted`. Returns how many.
    pub fn mark_stale_runs_interrupted(&self, older_than_secs: i64) -> Result<usize> {
        let cutoff = (chrono::Utc::now() - chrono::Duration::seconds(older_than_secs))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        Ok(self.db().execute(
            "UPDATE runs SET status = 'interrupted', finished_at = heartbeat_at
             WHERE status = 'running' AND heartbeat_at < ?1",
            [cutoff],
        )?)
    }

    pub fn add_rejects(&self, run_id: &str, rejects: &[RejectRow]) -> Result<()> {
        let mut db = self.db();
        let tx = db.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO run_rejects (run_id, line, identifier, reason) VALUES (?1, ?2, ?3, ?4)",
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
            Ok(RejectRow {
                line: r.get::<_, i64>(0)? as u64,
                identifier: r.get(1)?,
                reason: r.get(2)?,
            })
        })?;
        Ok((rows.collect::<Result<_, _>>()?, total as u64))
    }

    pub fn record_job(
        &self,
        run_id: &str,
        batch: u64,
        job_id: &str,
        profiles: usize,
        status: &str,
    ) -> Result<()> {
        self.db().execute(
            "INSERT INTO run_jobs (run_id, batch, job_id, profiles, status) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(run_id, batch) DO UPDATE SET job_id = excluded.job_id,
                status = excluded.status",
            params![run_id, batch as i64, job_id, profiles as i64, status],
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
    consent_at, export_user, account_id, account_name, verified_at FROM connections";

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
            (Some(by), Some(at)) => Some(Consent { by, at }),
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
        kind: SourceKind::Csv,
        path: r.get(3)?,
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
    created_at, updated_at FROM exports";

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
        mode: ExportMode::Upsert,
        created_at: r.get(6)?,
        updated_at: r.get(7)?,
    })
}

const RUN_SELECT: &str = "SELECT r.id, r.export_id, e.name, r.trigger, r.who, r.status,
    r.read, r.sent, r.imported, r.rejected, r.failed_in_klaviyo, r.started_at, r.finished_at,
    r.error FROM runs r JOIN exports e ON e.id = r.export_id";

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
            consent_at, export_user, account_id, account_name, verified_at, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, base_url = excluded.base_url,
            usable_by = excluded.usable_by, api_key_env = excluded.api_key_env,
            consent_by = excluded.consent_by, consent_at = excluded.consent_at,
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
        ],
    );
    unique_violation(res, "connection", &c.name)
}

pub fn put_source(db: &Db, s: &Source) -> Result<()> {
    let now = now_rfc3339();
    let res = db.execute(
        "INSERT INTO sources (id, name, kind, path, created_at, updated_at)
         VALUES (?1, ?2, 'csv', ?3, ?4, ?4)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, path = excluded.path,
            updated_at = excluded.updated_at",
        params![s.id, s.name, s.path, now],
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
            created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'upsert', ?7, ?8)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, segment_id = excluded.segment_id,
            connection_id = excluded.connection_id, list_id = excluded.list_id,
            mapping = excluded.mapping, mode = excluded.mode, updated_at = excluded.updated_at",
        params![
            e.id,
            e.name,
            e.segment_id,
            e.connection_id,
            e.list_id,
            mapping,
            e.created_at,
            e.updated_at
        ],
    );
    unique_violation(res, "export", &e.name)
}
