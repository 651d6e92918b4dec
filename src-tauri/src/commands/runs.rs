use super::{err, CmdResult};
use crate::AppState;
use segport_core::engine::EventSink;
use segport_core::error::ErrorCode;
use segport_core::model::{ErrorPayload, RunEvent, RunSummary, RunTrigger, RunView};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tauri::ipc::Channel;
use tauri::{AppHandle, Runtime, State};
use tauri_plugin_dialog::DialogExt;
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

/// Test hook: the end-to-end suite cannot drive a native GTK save dialog, so it names the file
/// here (like `SEGPORT_TEST_PICK_FILE` for the open dialog). Read only through
/// [`test_save_file`].
const TEST_SAVE_ENV: &str = "SEGPORT_TEST_SAVE_FILE";

/// The file [`TEST_SAVE_ENV`] names, in a debug build only (what the WebDriver suite and the
/// mock-runtime tests run). A release build never reads the variable: it would let the
/// environment choose where the app writes, without the user's save dialog, so a release build
/// always asks.
fn test_save_file() -> Option<PathBuf> {
    if !cfg!(debug_assertions) {
        return None;
    }
    std::env::var_os(TEST_SAVE_ENV).map(PathBuf::from)
}

/// How the user asked to run: continue an interrupted run (the default) or start over, send
/// everyone again (ignore the delta state), confirm mirror removals that were held.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(export)]
pub struct RunChoice {
    /// "Start over": close the interrupted run and start a fresh one.
    pub restart: bool,
    /// "Send everyone again": ignore what was sent before (starts a fresh run).
    pub full: bool,
    /// Mirror mode: remove up to this many profiles that left the segment (the number the
    /// held run reported, confirmed by the user).
    #[ts(type = "number | null")]
    pub confirm_removals: Option<u64>,
}

/// Run an export now. Progress goes to `on_event` about ten times a second; the command
/// resolves with the run's summary when it ends.
#[tauri::command]
pub async fn run_export(
    state: State<'_, AppState>,
    export_id: String,
    choice: Option<RunChoice>,
    on_event: Channel<RunEvent>,
) -> CmdResult<RunSummary> {
    let choice = choice.unwrap_or_default();
    let opts = segport_core::workspace::RunOptions {
        full: choice.full,
        dry_run: false,
        restart: choice.restart,
        confirm_removals: choice.confirm_removals,
    };
    let ws = state.ws()?.clone();
    let cancel = CancellationToken::new();
    let run_id = Arc::new(Mutex::new(None::<String>));
    let sink: EventSink = {
        let (registry, run_id, cancel) = (state.runs.clone(), run_id.clone(), cancel.clone());
        Arc::new(move |ev: &RunEvent| {
            // The first event names the run: register it so `cancel_run` can find it.
            let mut seen = run_id.lock().unwrap_or_else(|p| p.into_inner());
            if seen.is_none() {
                *seen = Some(ev.run_id.clone());
                registry
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(ev.run_id.clone(), cancel.clone());
            }
            // A closed window is not an error for the run: it goes on and is recorded.
            let _ = on_event.send(ev.clone());
        })
    };
    let out = ws
        .run_export_with(&export_id, RunTrigger::Manual, opts, cancel, sink)
        .await;
    if let Some(id) = run_id.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
        state
            .runs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }
    out.map_err(err)
}

/// Ask a running export to stop; it stops within a second and is recorded as cancelled.
#[tauri::command]
pub fn cancel_run(state: State<'_, AppState>, run_id: String) -> CmdResult<bool> {
    let token = state
        .runs
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&run_id)
        .cloned();
    Ok(token.map(|t| t.cancel()).is_some())
}

#[tauri::command(async)]
pub fn list_runs(state: State<'_, AppState>, export_id: Option<String>) -> CmdResult<Vec<RunView>> {
    state.ws()?.runs(export_id.as_deref()).map_err(err)
}

/// A run's details: counts, who, trigger, error and its first rejects.
#[tauri::command(async)]
pub fn run_summary(state: State<'_, AppState>, run_id: String) -> CmdResult<RunSummary> {
    state.ws()?.run_summary(&run_id).map_err(err)
}

/// Where "Save rejects as CSV…" wrote, and how many rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SavedRejects {
    pub path: String,
    #[ts(type = "number")]
    pub rows: u64,
}

/// Ask where to save (native dialog, on the Rust side) and write every reject of the run
/// there. `None` when the user cancels.
#[tauri::command]
pub async fn save_rejects_csv<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    run_id: String,
) -> CmdResult<Option<SavedRejects>> {
    let ws = state.ws()?.clone();
    // Unknown run: say so before asking for a file name.
    ws.run(&run_id).map_err(err)?;
    let name = format!("rejects-{}.csv", run_id.chars().take(8).collect::<String>());
    let chosen: Option<PathBuf> = match test_save_file() {
        Some(p) => Some(p),
        None => tauri::async_runtime::spawn_blocking(move || {
            app.dialog()
                .file()
                .set_title("Save rejected rows as CSV")
                .set_file_name(name)
                .add_filter("CSV files", &["csv"])
                .blocking_save_file()
                .and_then(|f| f.into_path().ok())
        })
        .await
        .ok()
        .flatten(),
    };
    let Some(path) = chosen else { return Ok(None) };
    let rows = tauri::async_runtime::spawn_blocking({
        let path = path.clone();
        move || ws.write_rejects_csv(&run_id, &path)
    })
    .await
    .map_err(|e| {
        ErrorPayload::new(ErrorCode::AppInternal {
            reason: e.to_string(),
        })
    })?
    .map_err(err)?;
    Ok(Some(SavedRejects {
        path: path.to_string_lossy().into_owned(),
        rows,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_save_file_hook_works_in_debug_builds_only() {
        std::env::set_var(TEST_SAVE_ENV, "/tmp/saved-by-the-environment.csv");
        let chosen = test_save_file();
        std::env::remove_var(TEST_SAVE_ENV);
        if cfg!(debug_assertions) {
            assert_eq!(
                chosen,
                Some(PathBuf::from("/tmp/saved-by-the-environment.csv"))
            );
        } else {
            assert_eq!(chosen, None, "a release build must always open the dialog");
        }
        assert_eq!(test_save_file(), None, "unset: the dialog");
    }
}
