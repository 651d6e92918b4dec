//! `segport-cli export` and `segport-cli run-due`: list and show exports, run one now, run
//! the scheduled ones that are due.

use crate::args::ExportCmd;
use crate::output::{exit, exit_code, Ending, Progress};
use segport_core::model::RunTrigger;
use segport_core::workspace::{RunOptions, Workspace};
use segport_core::CoreError;
use tokio_util::sync::CancellationToken;

pub async fn run(ws: &Workspace, cmd: ExportCmd) -> Result<u8, CoreError> {
    match cmd {
        ExportCmd::List => {
            for e in ws.exports()? {
                let last = e
                    .last_run
                    .map(|r| format!("{} {}", r.status.as_str(), r.started_at))
                    .unwrap_or_else(|| "never run".into());
                out!(
                    "{}\t→ list {}\t{}\t{}",
                    e.name,
                    e.list_id,
                    e.source_path,
                    last
                );
            }
        }
        ExportCmd::Show { name } => {
            let e = ws.export_named(&name)?;
            let view = ws.exports()?.into_iter().find(|v| v.id == e.id);
            out!("name: {}", e.name);
            out!("list: {}", e.list_id);
            if let Some(v) = view {
                out!(
                    "connection: {}",
                    v.connection_name.unwrap_or_else(|| "(none)".into())
                );
                out!("file: {}", v.source_path);
            }
            out!(
                "mapping: {}",
                serde_json::to_string(&e.mapping).unwrap_or_default()
            );
        }
        ExportCmd::Run {
            name,
            json,
            full,
            dry_run,
            restart,
            confirm_removals,
        } => {
            let export = ws.export_named(&name)?;
            let opts = RunOptions {
                full,
                dry_run,
                restart,
                confirm_removals,
            };
            return run_export(ws, &export.id, RunTrigger::Cli, opts, json).await;
        }
    }
    Ok(exit::OK)
}

/// `run-due`: every due export in turn; the exit code is the worst of theirs. One export's
/// failure is printed and the others still run.
pub async fn run_due(ws: &Workspace, json: bool) -> Result<u8, CoreError> {
    let due = ws.due_exports(chrono::Utc::now())?;
    if due.is_empty() && !json {
        out!("no scheduled export is due");
    }
    let mut worst = exit::OK;
    for e in due {
        if !json {
            out!("running \"{}\" ({})", e.name, e.schedule);
        }
        let code =
            match run_export(ws, &e.id, RunTrigger::Schedule, RunOptions::default(), json).await {
                Ok(code) => code,
                // Another process runs it, or has just run it: nothing to do here.
                Err(err @ (CoreError::AlreadyRunning(_) | CoreError::NotDue(_))) => {
                    if !json {
                        out!("skipped \"{}\": {err}", e.name);
                    }
                    exit::OK
                }
                Err(err) => {
                    eprintln!("error [{}]: \"{}\": {err}", err.code(), e.name);
                    exit::FAILED
                }
            };
        worst = worst.max(code);
    }
    Ok(worst)
}

/// Runs one export to its end with Ctrl-C as the cancel button, shows its progress and
/// summary, and returns the exit code its final status stands for.
async fn run_export(
    ws: &Workspace,
    export_id: &str,
    trigger: RunTrigger,
    opts: RunOptions,
    json: bool,
) -> Result<u8, CoreError> {
    let cancel = CancellationToken::new();
    {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.cancel();
            }
        });
    }
    let progress = Progress::new(json);
    let result = ws
        .run_export_with(export_id, trigger, opts, cancel, progress.sink())
        .await;
    progress.clear();
    match result {
        Ok(summary) => {
            progress.finished(&summary);
            Ok(exit_code(Ending::Run(summary.run.status)))
        }
        Err(e) => {
            progress.failed(&e);
            Err(e)
        }
    }
}
