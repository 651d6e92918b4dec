//! While the app is open, scheduled exports that are due run by themselves (checked every
//! minute; `segport-cli run-due` does the same for cron). The window hears about each finished
//! run through the `run-finished` event, so history and export rows refresh; the person hears
//! about it through an OS notification (the window may be hidden or minimised).

use crate::AppState;
use segport_core::model::{RunEvent, RunStatus, RunSummary, RunTrigger};
use segport_core::workspace::RunOptions;
use segport_core::CoreError;
use std::sync::Arc;
use std::time::Duration;
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tauri_plugin_notification::NotificationExt;
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
        // Another process (a cron `run-due`, the CLI) runs it or has just run it: not news.
        if let Err(e @ (CoreError::AlreadyRunning(_) | CoreError::NotDue(_))) = &result {
            tracing::info!(export = %export.id, code = %e.code(), "scheduled run skipped");
            continue;
        }
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
        let body = notification_text(&export.name, &result);
        if let Err(e) = app
            .notification()
            .builder()
            .title("Segport")
            .body(body)
            .show()
        {
            tracing::warn!("notification not shown: {e}");
        }
    }
}

/// "Export X finished: N imported, M rejected" / "Export X failed: …" (no row contents: counts
/// and the run's error message only).
pub fn notification_text(export_name: &str, result: &segport_core::Result<RunSummary>) -> String {
    match result {
        Ok(summary) => {
            let run = &summary.run;
            match run.status {
                RunStatus::Failed | RunStatus::Interrupted => format!(
                    "Export {export_name} failed: {}",
                    run.error.as_deref().unwrap_or("see History for details")
                ),
                RunStatus::Cancelled => format!("Export {export_name} was cancelled."),
                RunStatus::Held => format!(
                    "Export {export_name} sent everyone, but {} removal(s) from the list are held: open the export to confirm them.",
                    run.counts.held
                ),
                _ => {
                    let c = &run.counts;
                    let mut text = format!(
                        "Export {export_name} finished: {} imported, {} rejected",
                        c.imported, c.rejected
                    );
                    if c.failed_in_klaviyo > 0 {
                        text.push_str(&format!(", {} failed in Klaviyo", c.failed_in_klaviyo));
                    }
                    text
                }
            }
        }
        Err(e) => format!("Export {export_name} failed: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use segport_core::model::{RunCounts, RunView};

    fn summary(status: RunStatus, error: Option<&str>) -> RunSummary {
        RunSummary {
            run: RunView {
                id: "r1".into(),
                export_id: "e1".into(),
                export_name: "VIPs".into(),
                trigger: RunTrigger::Schedule,
                who: "alice".into(),
                status,
                counts: RunCounts {
                    imported: 120,
                    rejected: 3,
                    ..RunCounts::default()
                },
                started_at: "2025-01-02T10:00:00Z".into(),
                finished_at: Some("2025-01-02T10:00:05Z".into()),
                error: error.map(Into::into),
            },
            rejects: vec![],
            rejects_total: 3,
        }
    }

    #[test]
    fn notification_says_counts_when_a_scheduled_run_finishes() {
        let text = notification_text("VIPs", &Ok(summary(RunStatus::Partial, None)));
        assert_eq!(text, "Export VIPs finished: 120 imported, 3 rejected");
    }

    #[test]
    fn notification_says_why_when_a_scheduled_run_fails() {
        let failed = Ok(summary(
            RunStatus::Failed,
            Some("The API key was rejected."),
        ));
        assert_eq!(
            notification_text("VIPs", &failed),
            "Export VIPs failed: The API key was rejected."
        );
        let refused = Err(segport_core::CoreError::Forbidden(
            "Only an admin can run it.".into(),
        ));
        assert!(notification_text("VIPs", &refused).starts_with("Export VIPs failed: "));
    }
}
