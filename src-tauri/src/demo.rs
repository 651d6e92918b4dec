//! The one-click demo: the sandbox in-process on a free localhost port, a seeded customers CSV,
//! and a pre-filled connection and export (the user still gives the consent).
//!
//! The sandbox keeps its account, lists and profiles in `<data dir>/demo/sandbox.json`, so after
//! a restart the demo list still has its members and the export's delta state agrees with it.
//! Only what the demo made is ever touched again: its connection while it still points at the
//! sandbox with the demo key, and its own list.

use crate::AppState;
use segport_core::error::ErrorCode;
use segport_core::model::{DemoInfo, ErrorPayload};
use segport_core::workspace::{points_at_this_computer, Workspace};
use segport_core::{sample, ApiKey, CoreError};
use segport_sandbox::{Sandbox, SandboxConfig, SandboxKey};
use std::net::SocketAddr;
use std::path::PathBuf;

pub const DEMO_ROWS: u64 = 50_000;
const DEMO_SEED: u64 = 20_261_125;
const DEMO_CONNECTION: &str = "demo.connection_id";
/// The demo's own list (the only one the demo ever creates again in the sandbox).
const DEMO_LIST: &str = "demo.list_id";
const DEMO_EXPORT: &str = "demo.export_id";
const DEMO_LIST_NAME: &str = "Segport demo";
const DEMO_EXPORT_NAME: &str = "Demo customers → Klaviyo";
/// The keychain entry (beside the connections' ones) that holds the demo sandbox's key: a
/// connection is the demo's only while its key is this one.
pub const DEMO_KEY_ENTRY: &str = "demo.sandbox-key";

fn io_err(path: &std::path::Path, e: std::io::Error) -> ErrorPayload {
    ErrorPayload::from(&CoreError::Io {
        path: path.to_path_buf(),
        source: e,
    })
}

/// The file the demo sandbox keeps its state in.
pub fn state_file(ws: &Workspace) -> PathBuf {
    ws.data_dir().join("demo").join("sandbox.json")
}

async fn start_sandbox(key: &str, port: u16, state: PathBuf) -> Result<Sandbox, ErrorPayload> {
    let config = SandboxConfig {
        keys: vec![SandboxKey::full(key)],
        state_file: Some(state),
        ..SandboxConfig::default()
    };
    let try_port = |p: u16| SocketAddr::from(([127, 0, 0, 1], p));
    let failed = |e: std::io::Error| {
        ErrorPayload::new(ErrorCode::DemoSandboxFailed {
            reason: e.to_string(),
        })
    };
    match Sandbox::start(config.clone(), try_port(port)).await {
        Ok(s) => Ok(s),
        Err(_) if port != 0 => Sandbox::start(config, try_port(0)).await.map_err(failed),
        Err(e) => Err(failed(e)),
    }
}

/// Create the demo: sandbox, sample file, connection and export.
pub async fn start(state: &AppState) -> Result<DemoInfo, ErrorPayload> {
    let ws = state.ws()?.clone();
    let to_payload = |e: CoreError| ErrorPayload::from(&e);
    let mut demo = state.demo.lock().await;
    // A new demo starts from an empty sandbox: an earlier one (its connection and export
    // removed since) stops, and its state is forgotten.
    if let Some(old) = demo.take() {
        old.shutdown().await;
    }
    let file = state_file(&ws);
    if let Err(e) = std::fs::remove_file(&file) {
        if e.kind() != std::io::ErrorKind::NotFound {
            return Err(io_err(&file, e));
        }
    }
    let (_, key) = SandboxConfig::with_demo_key();
    let sandbox = start_sandbox(&key, 0, file).await?;
    let dir = ws.data_dir().join("demo");
    std::fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
    let csv = dir.join("customers.csv");
    let csv2 = csv.clone();
    tokio::task::spawn_blocking(move || {
        sample::write_customers_csv(&csv2, DEMO_ROWS, 400, DEMO_SEED)
    })
    .await
    .map_err(|e| {
        ErrorPayload::new(ErrorCode::DemoFailed {
            reason: e.to_string(),
        })
    })?
    .map_err(|e| io_err(&csv, e))?;
    let list_id = sandbox.create_list(DEMO_LIST_NAME);
    let key = ApiKey::new(key);
    ws.secrets.set(DEMO_KEY_ENTRY, &key).map_err(to_payload)?;
    let info = ws
        .create_demo(&sandbox.base_url(), &key, &list_id, &csv, DEMO_ROWS)
        .map_err(to_payload)?;
    for (setting, value) in [
        (DEMO_CONNECTION, &info.connection_id),
        (DEMO_EXPORT, &info.export_id),
        (DEMO_LIST, &list_id),
    ] {
        ws.store.set_setting(setting, value).map_err(to_payload)?;
    }
    *demo = Some(sandbox);
    Ok(info)
}

/// On start, bring the demo sandbox back for a demo created earlier, with what it held (a new
/// port if the old one is taken). Nothing happens when the demo's connection points elsewhere
/// now (the user re-pointed it, e.g. at Klaviyo) or holds another key: it is theirs.
pub async fn restore(state: &AppState) -> Result<(), ErrorPayload> {
    let ws = state.ws()?.clone();
    let to_payload = |e: CoreError| ErrorPayload::from(&e);
    let Some(conn_id) = ws.store.setting(DEMO_CONNECTION).map_err(to_payload)? else {
        return Ok(());
    };
    let Ok(mut conn) = ws.store.connection(&conn_id) else {
        return Ok(());
    };
    if !points_at_this_computer(&conn.base_url) {
        tracing::info!("the demo connection points elsewhere now: no demo sandbox");
        return Ok(());
    }
    let Some(key) = ws.secrets.get(&conn.id).map_err(to_payload)? else {
        return Ok(());
    };
    match ws.secrets.get(DEMO_KEY_ENTRY).map_err(to_payload)? {
        Some(demo_key) if demo_key.expose() != key.expose() => {
            tracing::info!("the demo connection has another key now: no demo sandbox");
            return Ok(());
        }
        Some(_) => {}
        // A demo made before the demo key was kept apart: its connection, still on this
        // computer, holds it.
        None => ws.secrets.set(DEMO_KEY_ENTRY, &key).map_err(to_payload)?,
    }
    let port = conn
        .base_url
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let sandbox = start_sandbox(key.expose(), port, state_file(&ws)).await?;
    if let Some(list_id) = demo_list(&ws, &conn.id).map_err(to_payload)? {
        // Already there when the state file was read: kept as it is (name and members).
        sandbox.ensure_list(&list_id, DEMO_LIST_NAME);
    }
    if !sandbox.restored() {
        // An empty sandbox (no state file yet, or an unreadable one): what the exports to it
        // remember having sent is not there, so their delta state goes — the next run sends
        // every profile again. The account is a new one too.
        forget_sent(&ws, &conn.id).map_err(to_payload)?;
        conn.verified = None;
    }
    if conn.base_url != sandbox.base_url() || !sandbox.restored() {
        conn.base_url = sandbox.base_url();
        ws.store.put_connection(&conn).map_err(to_payload)?;
    }
    *state.demo.lock().await = Some(sandbox);
    Ok(())
}

/// The demo's own list: recorded when the demo was made; for a demo made before that was
/// recorded, the list of the demo export (found by its name) — then recorded.
fn demo_list(ws: &Workspace, conn_id: &str) -> segport_core::Result<Option<String>> {
    if let Some(id) = ws.store.setting(DEMO_LIST)? {
        return Ok(Some(id));
    }
    let export = ws
        .store
        .exports()?
        .into_iter()
        .find(|e| e.connection_id.as_deref() == Some(conn_id) && e.name == DEMO_EXPORT_NAME);
    let Some(export) = export else {
        return Ok(None);
    };
    ws.store.set_setting(DEMO_EXPORT, &export.id)?;
    ws.store.set_setting(DEMO_LIST, &export.list_id)?;
    Ok(Some(export.list_id))
}

/// Drop the delta state of every export through the demo connection.
fn forget_sent(ws: &Workspace, conn_id: &str) -> segport_core::Result<()> {
    let ids: Vec<String> = ws
        .store
        .exports()?
        .into_iter()
        .filter(|e| e.connection_id.as_deref() == Some(conn_id))
        .map(|e| e.id)
        .collect();
    ws.store.transaction(|tx| {
        for id in &ids {
            tx.execute("DELETE FROM export_state WHERE export_id = ?1", [id])?;
        }
        Ok(())
    })
}

/// When the app exits: the demo sandbox's state written a last time.
pub fn save_on_exit(state: &AppState) {
    if let Ok(demo) = state.demo.try_lock() {
        if let Some(sandbox) = demo.as_ref() {
            if let Err(e) = sandbox.save_state_blocking() {
                tracing::warn!("demo sandbox state not saved: {e}");
            }
        }
    }
}
