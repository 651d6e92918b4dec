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
use segport_core::workspace::Workspace;
use segport_core::{ApiKey, CoreError};
use segport_sandbox::{Sandbox, SandboxConfig, SandboxKey};
use std::net::SocketAddr;
use std::path::PathBuf;

pub use segport_core::workspace::DEMO_ROWS;
const DEMO_LIST_NAME: &str = "Segport demo";

fn io_err(path: &std::path::Path, e: std::io::Error) -> ErrorPayload {
    ErrorPayload::from(&CoreError::Io {
        path: path.to_path_buf(),
        source: e,
    })
}

/// The file the demo sandbox keeps its state in.
pub fn state_file(ws: &Workspace) -> PathBuf {
    ws.demo_dir().join("sandbox.json")
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
    let csv = tokio::task::spawn_blocking({
        let ws = ws.clone();
        move || ws.write_demo_customers()
    })
    .await
    .map_err(|e| {
        ErrorPayload::new(ErrorCode::DemoFailed {
            reason: e.to_string(),
        })
    })?
    .map_err(to_payload)?;
    let list_id = sandbox.create_list(DEMO_LIST_NAME);
    let info = ws
        .record_demo(&sandbox.base_url(), &ApiKey::new(key), &list_id, &csv)
        .map_err(to_payload)?;
    *demo = Some(sandbox);
    Ok(info)
}

/// On start, bring the demo sandbox back for a demo created earlier, with what it held (a new
/// port if the old one is taken). Nothing happens when the demo's connection points elsewhere
/// now (the user re-pointed it, e.g. at Klaviyo) or holds another key: it is theirs.
pub async fn restore(state: &AppState) -> Result<(), ErrorPayload> {
    let ws = state.ws()?.clone();
    let to_payload = |e: CoreError| ErrorPayload::from(&e);
    let Some(demo) = ws.demo_to_restore().map_err(to_payload)? else {
        return Ok(());
    };
    let sandbox = start_sandbox(demo.key.expose(), demo.port, state_file(&ws)).await?;
    if let Some(list_id) = ws.demo_list(&demo.connection_id).map_err(to_payload)? {
        // Already there when the state file was read: kept as it is (name and members).
        sandbox.ensure_list(&list_id, DEMO_LIST_NAME);
    }
    ws.demo_sandbox_started(&demo.connection_id, &sandbox.base_url(), sandbox.restored())
        .map_err(to_payload)?;
    *state.demo.lock().await = Some(sandbox);
    Ok(())
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
