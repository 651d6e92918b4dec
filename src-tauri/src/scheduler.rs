//! While the app is open, scheduled exports that are due run by themselves (checked every
//! minute; `segport-cli run-due` does the same for cron). The window hears about each finished
//! run through the `run-finished` event, so history and export rows refresh.

use crate::AppState;
use segport_core::model::{RunEvent, RunTrigger};
use segport_core::workspace::RunOptions;
use std::sync::Arc;
use std::time::Duration;
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tokio_util::sync::CancellationToken;

pub const CHECK_EVERY: Duration = Duration::from_secs(60);
pub const RUN_FINISHED_EVENT: &str = "run-finished";

pub fn spawn<R: Runtime>(app: AppHandle<R>) {
    tauri::async_runtime::spawn(async move {
        let mut tick = tokio::time::interval(CHECK_EVERY);
        loop {
            tick.tick().await;
            run_due(&app).await;
        }
    });
}

async fn run_due<R: Runtime>(app: &AppHandle<R>) {
    let state = app.state::<AppState>();
    let Ok(ws) = state.ws().cloned() else {
        return;
    };
    let due = match ws.due_exports(chrono::Utc::now()) {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!("checking schedules failed: {e}");
            return;
        }
    };
    for export in due {
        let cancel = CancellationToken::new();
        let registry = state.runs.clone();
        let token = cancel.clone();
        let sink = Arc::new(move |ev: &RunEvent| {
            registry
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry(ev.run_id.clone())
                .or_insert_with(|| token.clone());
        });
        tracing::info!(export = %export.id, schedule = %export.schedule, "scheduled run starting");
        let result = ws
            .run_export_with(
                &export.id,
                RunTrigger::Schedule,
                RunOptions::default(),
                cancel,
                sink,
            )
            .await;
        match &result {
            Ok(summary) => {
                state
                    .runs
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&summary.run.id);
                tracing::info!(run = %summary.run.id, status = summary.run.status.as_str(), "scheduled run finished");
            }
            Err(e) => tracing::warn!(export = %export.id, code = %e.code(), "scheduled run failed"),
        }
        let _ = app.emit(RUN_FINISHED_EVENT, &export.id);
    }
}
