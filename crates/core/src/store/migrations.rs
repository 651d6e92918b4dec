//! The schema's history: numbered migrations, one `.sql` file each in `migrations/`.
//!
//! Append only: never edit a file that has shipped, never reorder them. rusqlite_migration
//! applies them by position (the database's `user_version` says how many have run), so an
//! existing database sees exactly the migrations it saw before.

use crate::{CoreError, Result};
use rusqlite::Connection as Db;
use rusqlite_migration::{Migrations, M};
use std::path::Path;

/// The migrations, oldest first (migration N is `MIGRATIONS[N - 1]`).
const MIGRATIONS: &[&str] = &[
    // 1: settings, connections, sources, segments, exports, runs and their rejects and jobs.
    include_str!("migrations/0001_tables.sql"),
    // 2: sources of every kind (csv, jsonl, sqlite + table); export schedules and delta state;
    // resumable runs (per-job counts, one reject per line); runs' skipped/removed counts.
    include_str!("migrations/0002_sources_schedules_delta_resumable_runs.sql"),
    // 3: run ownership (owner token; the OS lock is a file), the fingerprint a run is continued
    // under, mirror removals held for confirmation, each batch's source lines; the delta state
    // keyed by destination (Klaviyo account + list) as well as export. Existing state is kept
    // under the account the connection was last verified with ('' if never) and the export's
    // list.
    include_str!("migrations/0003_run_ownership_destinations.sql"),
    // 4: a consent's OS account, beside the operator who gave it (consent_by).
    include_str!("migrations/0004_consent_os_user.sql"),
];

pub(super) fn migrations() -> Migrations<'static> {
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
