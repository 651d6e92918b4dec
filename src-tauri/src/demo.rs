//! The one-click demo: the sandbox in-process on a free localhost port, a seeded customers CSV,
//! and a pre-filled connection and export (the user still gives the consent).

use crate::AppState;
use segport_core::model::{DemoInfo, ErrorPayload};
use segport_core::{sample, ApiKey, CoreError};
use segport_sandbox::{Sandbox, SandboxConfig, SandboxKey};
use std::net::SocketAddr;

pub const DEMO_ROWS: u64 = 50_000;
const DEMO_SEED: u64 = 20_261_125;
const DEMO_CONNECTION: &str = "demo.connection_id";
const DEMO_LIST_NAME: &str = "Segport demo";

fn io_err(path: &std::path::Path, e: std::io::Error) -> ErrorPayload {
    ErrorPayload::from(&CoreError::Io {
        path: path.to_path_buf(),
        source: e,
    })
}

async fn start_sandbox(key: &str, port: u16) -> Result<Sandbox, ErrorPayload> {
    let config = SandboxConfig {
        keys: vec![SandboxKey::full(key)],
        ..SandboxConfig::default()
    };
    let try_port = |p: u16| SocketAddr::from(([127, 0, 0, 1], p));
    match Sandbox::start(config.clone(), try_port(port)).await {
        Ok(s) => Ok(s),
        Err(_) if port != 0 => {
            Sandbox::start(config, try_port(0))
                .await
                .map_err(|e| ErrorPayload {
                    code: "demo.sandbox_failed".into(),
                    message: format!("The demo sandbox could not start: {e}"),
                })
        }
        Err(e) => Err(ErrorPayload {
            code: "demo.sandbox_failed".into(),
            message: format!("The demo sandbox could not start: {e}"),
        }),
    }
}

/// Create the demo: sandbox, sample file, connection and export.
pub async fn start(state: &AppState) -> Result<DemoInfo, ErrorPayload> {
    let ws = state.ws()?.clone();
    let mut demo = state.demo.lock().await;
    let (_, key) = SandboxConfig::with_demo_key();
    let sandbox = start_sandbox(&key, 0).await?;
    let dir = ws.data_dir().join("demo");
    std::fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
    let csv = dir.join("customers.csv");
    let csv2 = csv.clone();
    tokio::task::spawn_blocking(move || {
        sample::write_customers_csv(&csv2, DEMO_ROWS, 400, DEMO_SEED)
    })
    .await
    .map_err(|e| ErrorPayload {
        code: "demo.failed".into(),
        message: e.to_string(),
    })?
    .map_err(|e| io_err(&csv, e))?;
    let list_id = sandbox.create_list(DEMO_LIST_NAME);
    let info = ws
        .create_demo(
            &sandbox.base_url(),
            &ApiKey::new(key),
            &list_id,
            &csv,
            DEMO_ROWS,
        )
        .map_err(|e| ErrorPayload::from(&e))?;
    ws.store
        .set_setting(DEMO_CONNECTION, &info.connection_id)
        .map_err(|e| ErrorPayload::from(&e))?;
    *demo = Some(sandbox);
    Ok(info)
}

/// On start, bring the demo sandbox back for a demo created earlier (same key, same list id;
/// a new port if the old one is taken).
pub async fn restore(state: &AppState) -> Result<(), ErrorPayload> {
    let ws = state.ws()?.clone();
    let to_payload = |e: CoreError| ErrorPayload::from(&e);
    let Some(conn_id) = ws.store.setting(DEMO_CONNECTION).map_err(to_payload)? else {
        return Ok(());
    };
    let Ok(mut conn) = ws.store.connection(&conn_id) else {
        return Ok(());
    };
    let Some(key) = ws.secrets.get(&conn.id).map_err(to_payload)? else {
        return Ok(());
    };
    let port = conn
        .base_url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let sandbox = start_sandbox(key.expose(), port).await?;
    for e in ws.store.exports().map_err(to_payload)? {
        if e.connection_id.as_deref() == Some(conn.id.as_str()) {
            sandbox.ensure_list(&e.list_id, DEMO_LIST_NAME);
        }
    }
    if conn.base_url != sandbox.base_url() {
        conn.base_url = sandbox.base_url();
        ws.store.put_connection(&conn).map_err(to_payload)?;
    }
    *state.demo.lock().await = Some(sandbox);
    Ok(())
}
