use super::{err, CmdResult};
use crate::AppState;
use segport_core::engine::EventSink;
use segport_core::model::{RunEvent, RunSummary, RunTrigger, RunView};
use std::sync::{Arc, Mutex};
use tauri::ipc::Channel;
use tauri::State;
use tokio_util::sync::CancellationToken;

/// Run an export now. Progress goes to `on_event` about ten times a second; the command
/// resolves with the run's summary when it ends.
#[tauri::command]
pub async fn run_export(
    state: State<'_, AppState>,
    export_id: String,
    on_event: Channel<RunEvent>,
) -> CmdResult<RunSummary> {
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
        .run_export(&export_id, RunTrigger::Manual, cancel, sink)
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

#[tauri::command]
pub fn list_runs(state: State<'_, AppState>, export_id: Option<String>) -> CmdResult<Vec<RunView>> {
    state.ws()?.runs(export_id.as_deref()).map_err(err)
}
