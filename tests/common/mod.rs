//! Shared by the app's mock-runtime tests: the app on a fresh data folder with keyring's mock
//! keychain, and a way to invoke commands as the web view does.
#![allow(dead_code)]

use segport_core::secrets::{use_mock_keychain, KeyringStore, SecretStore};
use segport_lib::AppState;
use serde_json::Value;
use std::sync::Arc;
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{mock_builder, mock_context, noop_assets, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::WebviewWindow;

pub struct App {
    pub _app: tauri::App<MockRuntime>,
    pub window: WebviewWindow<MockRuntime>,
    pub dir: tempfile::TempDir,
}

pub fn app() -> App {
    use_mock_keychain();
    let dir = tempfile::tempdir().unwrap();
    let (app, window) = app_on(dir.path(), Arc::new(KeyringStore::new()));
    App {
        _app: app,
        window,
        dir,
    }
}

/// The app (mock runtime) on the data folder `dir` with this keychain, and its main window.
pub fn app_on(
    dir: &std::path::Path,
    secrets: Arc<dyn SecretStore>,
) -> (tauri::App<MockRuntime>, WebviewWindow<MockRuntime>) {
    let state = AppState::open(dir, secrets);
    let app = segport_lib::setup(mock_builder(), state)
        .build(mock_context(noop_assets()))
        .unwrap();
    let window = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    (app, window)
}

/// Invoke a command; Ok(json) or Err(json of the `{code, message}` error). Whatever a command
/// answers, `secret` never reaches the web view.
pub fn invoke_checked(app: &App, cmd: &str, args: Value, secret: &str) -> Result<Value, Value> {
    let out = invoke_on(&app.window, cmd, args);
    let text = match &out {
        Ok(v) | Err(v) => v.to_string(),
    };
    assert!(!text.contains(secret), "{cmd} leaked the key: {text}");
    out
}

/// Invoke a command in `window` as the web view does; Ok(json) or Err(json of the error).
pub fn invoke_on(
    window: &WebviewWindow<MockRuntime>,
    cmd: &str,
    args: Value,
) -> Result<Value, Value> {
    let res = tauri::test::get_ipc_response(
        window,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    );
    res.map(|b| b.deserialize::<Value>().unwrap())
}
