//! Everything the CLI prints, and the exit codes it ends with.
//!
//! stdout is for results (lines a script can read, or NDJSON with `--json`) and may be a pipe
//! that closes early (`segport-cli … | head`): [`out!`] and [`out_raw!`] end the program
//! quietly then. stderr is for the person: warnings, errors, the progress spinner.

use indicatif::{ProgressBar, ProgressStyle};
use segport_core::model::{RunEvent, RunPhase, RunStatus, RunSummary};
use segport_core::CoreError;
use std::io::{IsTerminal, Write};
use std::sync::Arc;

/// The exit codes (DESIGN.md); [`exit_code`] decides which one a command ends with.
pub mod exit {
    pub const OK: u8 = 0;
    pub const FAILED: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const REJECTS: u8 = 3;
    pub const HELD: u8 = 4;
    pub const CANCELLED: u8 = 130;
}

/// How a command ended, as far as its exit code goes.
pub enum Ending<'a> {
    /// An export run finished (recorded, or a dry run) with this status.
    Run(RunStatus),
    /// The command stopped with this error.
    Failed(&'a CoreError),
}

/// The exit code for how a command ended; the one place the codes are decided.
///
/// | code | meaning | run status | errors (`CoreError::code()`) |
/// |---:|---|---|---|
/// | 0 | done: every row exported, or nothing to do | `succeeded` | — |
/// | 1 | failed | `failed`, `interrupted`, `superseded` (and `running`, which a finished run never has) | every code not listed in another row: `store.*`, `forbidden`, `keychain.unavailable`, `source.*`, `klaviyo.*`, `segment.filter_invalid`, `export.mapping_invalid`, `export.schedule_invalid`, `run.not_due`, `internal`, `io.error` |
/// | 2 | usage or config error (the command cannot run as asked) | — | `config.invalid`, `connection.consent_required`, `connection.no_key`, `invalid_input`, `not_found`, `duplicate_name`, `run.already_running` (the export runs in another process) |
/// | 3 | finished, with rejected rows | `partial` | — |
/// | 4 | finished, but mirror removals are held for confirmation | `held` | — |
/// | 130 | cancelled (Ctrl-C) | `cancelled` | `run.cancelled` |
///
/// Outside this function: clap exits 2 on a bad command line and 0 for `--help`/`--version`;
/// a closed stdout is 0 and any other failure to write it 1 ([`closed_stdout`]); `run-due`
/// ends with the worst code of its exports, counting a skipped one (`run.already_running`,
/// `run.not_due`) as 0 and a failed one as 1.
pub fn exit_code(ending: Ending<'_>) -> u8 {
    match ending {
        Ending::Run(status) => match status {
            RunStatus::Succeeded => exit::OK,
            RunStatus::Partial => exit::REJECTS,
            RunStatus::Held => exit::HELD,
            RunStatus::Cancelled => exit::CANCELLED,
            _ => exit::FAILED,
        },
        Ending::Failed(e) => match e {
            CoreError::Config(_)
            | CoreError::ConsentRequired(_)
            | CoreError::NoKey(_)
            | CoreError::Invalid { .. }
            | CoreError::NotFound { .. }
            | CoreError::Duplicate { .. }
            | CoreError::AlreadyRunning(_) => exit::USAGE,
            CoreError::Cancelled => exit::CANCELLED,
            _ => exit::FAILED,
        },
    }
}

/// `println!` that ends the program quietly when stdout is closed (`segport-cli … | head`):
/// a closed pipe is a normal end, not a panic.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout().lock(), $($arg)*) {
            $crate::output::closed_stdout(e);
        }
    }};
}

/// `print!` with [`out!`]'s handling of a closed stdout.
macro_rules! out_raw {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = write!(std::io::stdout().lock(), $($arg)*) {
            $crate::output::closed_stdout(e);
        }
    }};
}

/// A write to stdout failed: a closed pipe ends the program with 0, anything else with 1.
pub fn closed_stdout(e: std::io::Error) {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(i32::from(exit::OK));
    }
    eprintln!("error: could not write the output: {e}");
    std::process::exit(i32::from(exit::FAILED));
}

/// One NDJSON line for `--json`: `kind` is `progress` or `finished`.
fn ndjson(kind: &str, ev: &RunEvent) -> String {
    let c = &ev.counts;
    serde_json::json!({
        "event": kind,
        "run_id": ev.run_id,
        "phase": ev.phase,
        "status": ev.status,
        "read": c.read,
        "sent": c.sent,
        "imported": c.imported,
        "rejected": c.rejected,
        "failed_in_klaviyo": c.failed_in_klaviyo,
        "matched": c.matched,
        "unchanged": c.unchanged,
        "removed": c.removed,
        "held": c.held,
        "message": ev.message,
    })
    .to_string()
}

/// A run's progress and result as the person or the script sees it: NDJSON lines on stdout
/// with `--json`, otherwise a spinner on stderr (only when stderr is a terminal) and a
/// summary on stdout.
pub struct Progress {
    json: bool,
    bar: Option<ProgressBar>,
}

impl Progress {
    pub fn new(json: bool) -> Self {
        let bar = (!json && std::io::stderr().is_terminal()).then(|| {
            let b = ProgressBar::new_spinner();
            b.set_style(
                ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            b
        });
        Progress { json, bar }
    }

    /// The engine's event sink: every event but the last (the summary prints that one).
    pub fn sink(&self) -> Arc<dyn Fn(&RunEvent) + Send + Sync> {
        let json = self.json;
        let bar = self.bar.clone();
        Arc::new(move |ev: &RunEvent| {
            if ev.phase == RunPhase::Finished {
                return; // the final line is printed by `finished`, with the summary
            }
            if json {
                // A progress line that cannot be written is not worth stopping the run for.
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{}", ndjson("progress", ev));
            } else if let Some(b) = &bar {
                let c = &ev.counts;
                b.set_message(format!(
                    "{:?}: read {} · sent {} · imported {} · rejected {}",
                    ev.phase, c.read, c.sent, c.imported, c.rejected
                ));
                b.tick();
            }
        })
    }

    /// Removes the spinner, before anything else is printed.
    pub fn clear(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }

    /// The run could not finish: with `--json` a last `finished` line saying so (the error
    /// itself goes to stderr from `main`).
    pub fn failed(&self, e: &CoreError) {
        if self.json {
            let payload = serde_json::json!({"event": "finished", "status": "failed", "code": e.code(), "message": e.to_string()});
            out!("{payload}");
        }
    }

    /// The run finished: its `finished` NDJSON line, or the counts, the first ten rejects
    /// and the run's error or note.
    pub fn finished(&self, summary: &RunSummary) {
        let run = &summary.run;
        if self.json {
            let ev = RunEvent {
                run_id: run.id.clone(),
                phase: RunPhase::Finished,
                counts: run.counts,
                status: Some(run.status),
                message: run.error.clone(),
            };
            out!("{}", ndjson("finished", &ev));
            return;
        }
        let c = &run.counts;
        out!(
            "{}: read {} · sent {} · imported {} · rejected {} · failed in Klaviyo {} (run {})",
            run.status.as_str(),
            c.read,
            c.sent,
            c.imported,
            c.rejected,
            c.failed_in_klaviyo,
            run.id
        );
        for r in summary.rejects.iter().take(10) {
            out!("  line {}: {} — {}", r.line, r.identifier, r.reason);
        }
        if summary.rejects_total > 10 {
            out!(
                "  … {} more (segport-cli runs show {} --rejects FILE.csv)",
                summary.rejects_total - 10,
                run.id
            );
        }
        if let Some(e) = &run.error {
            match run.status {
                // Not an error: everything was sent; the removals wait for a confirmation.
                RunStatus::Held => eprintln!("note: {e}"),
                _ => eprintln!("error: {e}"),
            }
        }
    }
}
