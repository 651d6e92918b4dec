//! The desktop shell: builds the Tauri app, holds the state, registers the thin commands.
//!
//! Architecture invariant: no business logic here — commands parse input, call
//! `segport-core`, and map errors to `{code, message}`.

pub mod commands;
pub mod demo;
pub mod logging;
pub mod scheduler;
pub mod state;

use std::path::PathBuf;
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

/// Register plugins and commands. Shared by the real app and the mock-runtime tests.
pub fn setup<R: Runtime>(builder: Builder<R>, state: AppState) -> Builder<R> {
    builder
        .plugin(tauri_plugin_dialog::init())
        .manage(state)
        .invoke_handler(tauri::generate_handler![
            commands::app::app_info,
            commands::app::start_demo,
            commands::connections::list_connections,
            commands::connections::save_connection,
            commands::connections::delete_connection,
            commands::connections::verify_connection,
            commands::exports::list_exports,
            commands::exports::save_export,
            commands::exports::delete_export,
            commands::exports::pick_csv,
            commands::exports::inspect_csv,
            commands::exports::list_klaviyo_lists,
            commands::exports::create_klaviyo_list,
            commands::runs::run_export,
            commands::runs::cancel_run,
            commands::runs::list_runs,
        ])
}

pub fn run() {
    let data_dir = data_dir_from_args(std::env::args());
    logging::init_or_warn(&data_dir);
    let secrets = Arc::new(segport_core::secrets::KeyringStore::new());
    let state = AppState::open(&data_dir, secrets);
    let app = setup(tauri::Builder::default(), state)
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
        Ok(app) => app.run(|_, _| {}),
        Err(e) => {
            eprintln!("Segport could not start: {e}");
            std::process::exit(1);
        }
    }
}
