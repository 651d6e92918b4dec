//! The one-click demo's records: its connection (to the sandbox, with the demo key) and export,
//! the sample customers file, and what the demo remembers in the settings to find them again
//! after a restart. The shell runs the sandbox itself.
//!
//! Only what the demo made is ever touched again: its connection while it still points at this
//! computer with the demo key, and its own list.

use super::{points_at_this_computer, Workspace};
use crate::model::*;
use crate::schedule::Schedule;
use crate::{ApiKey, CoreError, Result};
use std::path::{Path, PathBuf};

/// The customers in the demo's sample file.
pub const DEMO_ROWS: u64 = 50_000;
const DEMO_SEED: u64 = 20_261_125;
/// One row in this many of the sample file is invalid (it shows the rejects).
const DEMO_INVALID_EVERY: u64 = 400;
const DEMO_CONNECTION: &str = "demo.connection_id";
/// The demo's own list (the only one the demo ever creates again in the sandbox).
const DEMO_LIST: &str = "demo.list_id";
const DEMO_EXPORT: &str = "demo.export_id";
const DEMO_EXPORT_NAME: &str = "Demo customers → Klaviyo";
/// The keychain entry (beside the connections' ones) that holds the demo sandbox's key: a
/// connection is the demo's only while its key is this one.
const DEMO_KEY_ENTRY: &str = "demo.sandbox-key";

/// A demo made earlier whose sandbox can be brought back: its connection still points at this
/// computer and holds the demo key.
pub struct DemoRestore {
    pub connection_id: String,
    /// The key the sandbox is to accept.
    pub key: ApiKey,
    /// The port the connection names (0: none readable).
    pub port: u16,
}

impl Workspace {
    /// Where the demo keeps its files (the sample file, the sandbox's state).
    pub fn demo_dir(&self) -> PathBuf {
        self.data_dir().join("demo")
    }

    /// Write the demo's sample customers file (the same one every time) and say where it is.
    /// Blocking: it writes [`DEMO_ROWS`] rows.
    pub fn write_demo_customers(&self) -> Result<PathBuf> {
        let dir = self.demo_dir();
        std::fs::create_dir_all(&dir).map_err(|source| CoreError::Io {
            path: dir.clone(),
            source,
        })?;
        let csv = dir.join("customers.csv");
        crate::sample::write_customers_csv(&csv, DEMO_ROWS, DEMO_INVALID_EVERY, DEMO_SEED)
            .map_err(|source| CoreError::Io {
                path: csv.clone(),
                source,
            })?;
        Ok(csv)
    }

    /// Record a new demo on a sandbox at `base_url` that accepts `key` and holds `list_id`:
    /// the demo key in the keychain, the connection and export ([`Workspace::create_demo`]),
    /// and the settings that find them again after a restart.
    pub fn record_demo(
        &self,
        base_url: &str,
        key: &ApiKey,
        list_id: &str,
        csv: &Path,
    ) -> Result<DemoInfo> {
        self.secrets.set(DEMO_KEY_ENTRY, key)?;
        let info = self.create_demo(base_url, key, list_id, csv, DEMO_ROWS)?;
        for (setting, value) in [
            (DEMO_CONNECTION, &info.connection_id),
            (DEMO_EXPORT, &info.export_id),
            (DEMO_LIST, &list_id.to_string()),
        ] {
            self.store.set_setting(setting, value)?;
        }
        Ok(info)
    }

    /// Pre-fill a demo connection (to the sandbox) and export (to `list_id`, from `csv`).
    /// The consent is left for the user to give.
    pub fn create_demo(
        &self,
        base_url: &str,
        key: &ApiKey,
        list_id: &str,
        csv: &Path,
        rows: u64,
    ) -> Result<DemoInfo> {
        let conn = Connection {
            id: new_id(),
            name: "Demo sandbox".into(),
            base_url: base_url.to_string(),
            usable_by: UsableBy::Admins,
            api_key_env: None,
            consent: None,
            export_user: None,
            verified: None,
        };
        self.secrets.set(&conn.id, key)?;
        self.store.put_connection(&conn)?;
        let path = csv.to_string_lossy().into_owned();
        let segment = self.add_file_segment(&path, SourceKind::Csv, None)?;
        let now = now_rfc3339();
        let export = Export {
            id: new_id(),
            name: DEMO_EXPORT_NAME.into(),
            segment_id: segment.id,
            connection_id: Some(conn.id.clone()),
            list_id: list_id.to_string(),
            mapping: Mapping {
                email: "email".into(),
                first_name: Some("first_name".into()),
                last_name: Some("last_name".into()),
                ..Mapping::default()
            },
            mode: ExportMode::Upsert,
            schedule: Schedule::Manual,
            removal_guard: RemovalGuard::default(),
            created_at: now.clone(),
            updated_at: now,
        };
        self.store.put_export(&export)?;
        Ok(DemoInfo {
            connection_id: conn.id,
            export_id: export.id,
            sandbox_url: base_url.to_string(),
            rows,
        })
    }

    /// The demo made earlier, if its sandbox is to be brought back. `None` when there is none,
    /// or when its connection points elsewhere now (the user re-pointed it, e.g. at Klaviyo)
    /// or holds another key: it is theirs.
    pub fn demo_to_restore(&self) -> Result<Option<DemoRestore>> {
        let Some(conn_id) = self.store.setting(DEMO_CONNECTION)? else {
            return Ok(None);
        };
        let Ok(conn) = self.store.connection(&conn_id) else {
            return Ok(None);
        };
        if !points_at_this_computer(&conn.base_url) {
            tracing::info!("the demo connection points elsewhere now: no demo sandbox");
            return Ok(None);
        }
        let Some(key) = self.secrets.get(&conn.id)? else {
            return Ok(None);
        };
        match self.secrets.get(DEMO_KEY_ENTRY)? {
            Some(demo_key) if demo_key.expose() != key.expose() => {
                tracing::info!("the demo connection has another key now: no demo sandbox");
                return Ok(None);
            }
            Some(_) => {}
            // A demo made before the demo key was kept apart: its connection, still on this
            // computer, holds it.
            None => self.secrets.set(DEMO_KEY_ENTRY, &key)?,
        }
        let port = conn
            .base_url
            .trim_end_matches('/')
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        Ok(Some(DemoRestore {
            connection_id: conn.id,
            key,
            port,
        }))
    }

    /// The demo's own list: recorded when the demo was made; for a demo made before that was
    /// recorded, the list of the demo export (found by its name) — then recorded.
    pub fn demo_list(&self, connection_id: &str) -> Result<Option<String>> {
        if let Some(id) = self.store.setting(DEMO_LIST)? {
            return Ok(Some(id));
        }
        let export = self.store.exports()?.into_iter().find(|e| {
            e.connection_id.as_deref() == Some(connection_id) && e.name == DEMO_EXPORT_NAME
        });
        let Some(export) = export else {
            return Ok(None);
        };
        self.store.set_setting(DEMO_EXPORT, &export.id)?;
        self.store.set_setting(DEMO_LIST, &export.list_id)?;
        Ok(Some(export.list_id))
    }

    /// The demo sandbox is running again at `base_url`; `restored` says whether it found its
    /// state. An empty sandbox (no state file yet, or an unreadable one) does not hold what the
    /// exports to it remember having sent, so their delta state goes — the next run sends every
    /// profile again — and the account is a new one too.
    pub fn demo_sandbox_started(
        &self,
        connection_id: &str,
        base_url: &str,
        restored: bool,
    ) -> Result<()> {
        let mut conn = self.store.connection(connection_id)?;
        if !restored {
            self.forget_sent(&conn.id)?;
            conn.verified = None;
        }
        if conn.base_url != base_url || !restored {
            conn.base_url = base_url.to_string();
            self.store.put_connection(&conn)?;
        }
        Ok(())
    }

    /// Drop the delta state of every export through the connection.
    fn forget_sent(&self, conn_id: &str) -> Result<()> {
        let ids: Vec<String> = self
            .store
            .exports()?
            .into_iter()
            .filter(|e| e.connection_id.as_deref() == Some(conn_id))
            .map(|e| e.id)
            .collect();
        self.store.transaction(|tx| {
            for id in &ids {
                tx.execute("DELETE FROM export_state WHERE export_id = ?1", [id])?;
            }
            Ok(())
        })
    }
}
