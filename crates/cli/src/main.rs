//! `segport-cli`: headless Segport over the same core as the desktop app (cron, scripts,
//! benchmarks). Thin: parses arguments, calls `segport-core`, prints.
//!
//! Where things are: [`args`] is the command line (clap types and help texts), [`cmd`] has one
//! module per subcommand that calls the core, [`output`] is everything printed (stdout that
//! may be a closed pipe, run progress, NDJSON) and the exit codes. This file only starts the
//! program: parse, logging, runtime, dispatch, exit.

// First, so that `out!` and `out_raw!` are in scope in the modules below.
#[macro_use]
mod output;
mod args;
mod cmd;

use args::{Cli, Cmd};
use clap::Parser;
use output::{exit, exit_code, Ending};
use segport_core::{paths, CoreError};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.cmd.name();
    if !matches!(cli.cmd, Cmd::Sample { .. }) {
        // Log files for support requests (info, redacted); stderr stays the user's.
        let logs = paths::log_dir(&paths::data_dir(cli.data_dir.clone()));
        if let Err(e) = segport_core::logging::init(&logs, "segport-cli", "info", false) {
            eprintln!("warning: log files disabled: {e}");
        }
    }
    tracing::info!(command, "segport-cli started");
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: could not start: {e}");
            return ExitCode::from(exit::FAILED);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            tracing::warn!(command, code = %e.code(), "segport-cli failed");
            eprintln!("error [{}]: {e}", e.code());
            ExitCode::from(exit_code(Ending::Failed(&e)))
        }
    }
}

/// Runs the subcommand; `Ok` carries the exit code of a command that ran to its end (an export
/// run can end with rejects, held removals, …), `Err` the error `main` prints.
async fn run(cli: Cli) -> Result<u8, CoreError> {
    if let Cmd::Sample {
        file,
        rows,
        invalid_every,
        seed,
    } = &cli.cmd
    {
        // No workspace: writing demo data must not create or migrate a data folder.
        return cmd::sample::run(file, *rows, *invalid_every, *seed);
    }
    let ws = cmd::open_workspace(cli.data_dir)?;
    match cli.cmd {
        Cmd::Config(c) => cmd::config::run(&ws, c),
        Cmd::Connection(c) => cmd::connection::run(&ws, c).await,
        Cmd::Export(c) => cmd::export::run(&ws, c).await,
        Cmd::RunDue { json } => cmd::export::run_due(&ws, json).await,
        Cmd::Runs(c) => cmd::runs::run(&ws, c),
        Cmd::Segment(c) => cmd::segment::run(&ws, c),
        Cmd::Sample { .. } => Ok(exit::OK),
    }
}
