//! The SQLite store: one file in the data folder, shared by the app and the CLI.
//!
//! Architecture invariant: the schema changes only by numbered migrations ([`migrations`]),
//! applied in one transaction after checking `user_version`; every write goes through this
//! module.
//!
//! One file per table: its `impl Store` methods, its row reader (`*_from_row`) and its writer
//! (`put_*`). Opening, recovery and the kept-aside files are in `open`. A row reader never
//! turns a value it does not know into a default: an unknown kind, status, schedule, mode or
//! trigger is an error naming the table, the row and the value ([`BadRow`]), so a database
//! written by a newer or a broken build is refused instead of silently misread.

mod checkpoints;
mod connections;
mod delta;
mod exports;
mod migrations;
mod open;
mod runs;
mod segments;
mod settings;
mod sources;

pub use checkpoints::{JobRecord, JobState};
pub use connections::put_connection;
pub use exports::put_export;
pub use migrations::{create_at_version, schema_version};
pub use open::{KeptAside, KEPT_ASIDE_NOTICE};
pub use segments::put_segment;
pub use sources::put_source;

use crate::{CoreError, Result};
use rusqlite::{Connection as Db, Row};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

pub struct Store {
    db: Mutex<Db>,
    path: PathBuf,
    kept_aside: Option<KeptAside>,
}

impl Store {
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

/// A row this build cannot read. Carried inside the `rusqlite::Error` of the read (so it
/// reaches the caller as [`CoreError::Store`]); its text names the table, the row and the value.
#[derive(Debug, thiserror::Error)]
enum BadRow {
    #[error("the {table} row {id} has an unknown {column} {value:?}")]
    Unknown {
        table: &'static str,
        id: String,
        column: &'static str,
        value: String,
    },
    #[error("the {table} row {id} has an unreadable {column}: {why}")]
    Unreadable {
        table: &'static str,
        id: String,
        column: &'static str,
        why: String,
    },
}

impl BadRow {
    fn into_error(self, index: usize, ty: rusqlite::types::Type) -> rusqlite::Error {
        rusqlite::Error::FromSqlConversionFailure(index, ty, Box::new(self))
    }
}

/// Read the enum column `index` (`column` of `table`, in the row `id`) with `parse`: a value
/// it does not know is an error, never a default.
fn enum_column<T>(
    r: &Row<'_>,
    index: usize,
    (table, id): (&'static str, &str),
    column: &'static str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> rusqlite::Result<T> {
    let value: String = r.get(index)?;
    parse(&value).ok_or_else(|| {
        BadRow::Unknown {
            table,
            id: id.to_string(),
            column,
            value,
        }
        .into_error(index, rusqlite::types::Type::Text)
    })
}

/// Read the JSON column `index` (`column` of `table`, in the row `id`); `None` for NULL.
fn json_column<T: serde::de::DeserializeOwned>(
    r: &Row<'_>,
    index: usize,
    (table, id): (&'static str, &str),
    column: &'static str,
) -> rusqlite::Result<Option<T>> {
    let Some(text) = r.get::<_, Option<String>>(index)? else {
        return Ok(None);
    };
    serde_json::from_str(&text).map(Some).map_err(|e| {
        BadRow::Unreadable {
            table,
            id: id.to_string(),
            column,
            why: e.to_string(),
        }
        .into_error(index, rusqlite::types::Type::Text)
    })
}

/// A strict parse from a lenient one (the model's `parse` of some enums falls back to a
/// default): only a value that is exactly some variant's `as_str` is accepted.
fn exactly<T: Copy>(
    parse: impl Fn(&str) -> T,
    as_str: impl Fn(T) -> &'static str,
) -> impl Fn(&str) -> Option<T> {
    move |s| Some(parse(s)).filter(|v| as_str(*v) == s)
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
