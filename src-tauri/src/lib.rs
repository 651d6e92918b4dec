//! The desktop shell: builds the Tauri app, holds the state, registers the thin commands.
//!
//! Architecture invariant: no business logic here — commands parse input, call
//! `segport-core`, and map errors to `{code, message}`.

// The shell's errors are `ErrorPayload`s (a typed code with its parameters and the message)
// that Tauri serializes to the web view at once; they are never carried up a chain of calls,
// so their size costs nothing.
#![allow(clippy::result_large_err)]

#[macro_use]
pub mod commands;
pub mod demo;
pub mod logging;
pub mod scheduler;
pub mod state;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use tauri::{Builder, Manager, Runtime};

pub use state::AppState;

/// `--data-dir DIR` on the command line, else `SEGPORT_DATA_DIR`, else the OS app-data folder.
pub fn data_dir_from_args(args: impl IntoIterator<Item = String>) -> PathBuf {
    let mut args = args.into_iter();
    let mut explicit = None;
    while let Some(a) = args.next() {
        if a == "--data-dir" {
            explicit = args.next().map(PathBuf::from);
        } else if let Some(v) = a.strip_prefix("--data-dir=") {
            explicit = Some(PathBuf::from(v));
        }
    }
    segport_core::paths::data_dir(explicit)
}

/// The name under which one instance holds its data folder (a D-Bus name on Linux): the app
/// identifier plus a hash of the data folder. So a second launch on the same folder focuses the
/// first window, while instances on other folders (each WebDriver test, a CLI-style
/// `--data-dir` experiment) run side by side — two windows on one database is the conflict
/// worth preventing; two separate workspaces are not.
pub fn instance_id(identifier: &str, data_dir: &Path) -> String {
    let dir = std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    // FNV-1a: stable across builds and processes (unlike std's DefaultHasher).
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in dir.to_string_lossy().as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    // A D-Bus name element must not start with a digit: prefix the hex with a letter.
    format!("{identifier}.d{hash:016x}")
}

/// Plugins of the real desktop app only (not the mock-runtime tests): one instance per data
/// folder, and the window's size and position remembered.
pub fn desktop_plugins<R: Runtime>(builder: Builder<R>, data_dir: &Path) -> Builder<R> {
    let identifier = "dev.segport.desktop";
    builder
        // Must be the first plugin: a second instance exits before anything else starts.
        .plugin(
            tauri_plugin_single_instance::Builder::new()
                .dbus_id(instance_id(identifier, data_dir))
                .callback(|app, _argv, _cwd| {
                    if let Some(window) = app.get_webview_window("main") {
                        let _ = window.unminimize();
                        let _ = window.show();
                        let _ = window.set_focus();
                    }
                })
                .build(),
        )
        .plugin(tauri_plugin_window_state::Builder::new().build())
}

/// `tauri::generate_handler![commands::<module>::<name>, …]` for the table in
/// commands/registry.rs (`with_commands!(invoke_handler)`).
macro_rules! invoke_handler {
    ($( $module:ident :: $name:ident [$($ctx:ident),*] ($($arg:ident : $ty:ty),* $(,)?) -> $res:ty ),* $(,)?) => {
        tauri::generate_handler![$(commands::$module::$name),*]
    };
}

/// Register plugins and commands. Shared by the real app and the mock-runtime tests.
pub fn setup<R: Runtime>(builder: Builder<R>, state: AppState) -> Builder<R> {
    builder
        .plugin(tauri_plugin_dialog::init())
        // Both used from Rust only (no permission granted to the web view): the logs folder is
        // opened by the `open_logs_folder` command, notifications by the scheduler.
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_notification::init())
        .manage(state)
        // Every command of the table in commands/registry.rs.
        .invoke_handler(with_commands!(invoke_handler))
}

pub fn run() {
    let data_dir = data_dir_from_args(std::env::args());
    logging::init_or_warn(&data_dir);
    let secrets = Arc::new(segport_core::secrets::KeyringStore::new());
    let state = AppState::open(&data_dir, secrets);
    let app = setup(desktop_plugins(tauri::Builder::default(), &data_dir), state)
        .setup(|app| {
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                let state = handle.state::<AppState>();
                if let Err(e) = demo::restore(&state).await {
                    tracing::warn!("demo sandbox not restored: {}", e.message);
                }
            });
            scheduler::spawn(app.handle().clone());
            Ok(())
        })
        .build(tauri::generate_context!());
    match app {
        Ok(app) => app.run(|handle, event| {
            if let tauri::RunEvent::Exit = event {
                demo::save_on_exit(&handle.state::<AppState>());
            }
        }),
        Err(e) => {
            eprintln!("Segport could not start: {e}");
            std::process::exit(1);
        }
    }
}
