//! `segport-cli`: headless Segport over the same core as the desktop app (cron, scripts,
//! benchmarks). Thin: parses arguments, calls `segport-core`, prints.

use clap::{Parser, Subcommand};
use segport_core::model::{RunEvent, RunStatus, RunTrigger};
use segport_core::secrets::KeyringStore;
use segport_core::workspace::{RunOptions, Workspace};
use segport_core::{config, paths, CoreError};
use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Exit codes (DESIGN.md): 0 all rows exported · 3 finished with rejected rows · 4 finished,
/// but mirror removals are held for confirmation · 1 failed · 2 usage or config error (also:
/// the export is already running in another process) · 130 cancelled.
mod exit {
    pub const OK: u8 = 0;
    pub const FAILED: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const REJECTS: u8 = 3;
    pub const HELD: u8 = 4;
    pub const CANCELLED: u8 = 130;
}

/// The exit code for an error (one place, see [`exit`]).
fn exit_code(e: &CoreError) -> u8 {
    match e {
        CoreError::Config(_)
        | CoreError::ConsentRequired(_)
        | CoreError::NoKey(_)
        | CoreError::Invalid { .. }
        | CoreError::NotFound { .. }
        | CoreError::Duplicate { .. }
        | CoreError::AlreadyRunning(_) => exit::USAGE,
        CoreError::Cancelled => exit::CANCELLED,
        _ => exit::FAILED,
    }
}

/// `println!` that ends the program quietly when stdout is closed (`segport-cli … | head`):
/// a closed pipe is a normal end, not a panic.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout().lock(), $($arg)*) {
            closed_stdout(e);
        }
    }};
}

/// `print!` with [`out!`]'s handling of a closed stdout.
macro_rules! out_raw {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = write!(std::io::stdout().lock(), $($arg)*) {
            closed_stdout(e);
        }
    }};
}

fn closed_stdout(e: std::io::Error) {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(i32::from(exit::OK));
    }
    eprintln!("error: could not write the output: {e}");
    std::process::exit(i32::from(exit::FAILED));
}

#[derive(Parser)]
#[command(
    name = "segport-cli",
    version,
    about = "Export customer segments to Klaviyo lists, headless"
)]
struct Cli {
    /// Data folder (default: the OS app-data folder the desktop app uses).
    #[arg(long, global = true, env = "SEGPORT_DATA_DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Import or export the configuration (TOML; never contains keys).
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Manage connections.
    #[command(subcommand)]
    Connection(ConnectionCmd),
    /// List, show and run exports.
    #[command(subcommand)]
    Export(ExportCmd),
    /// Run history.
    #[command(subcommand)]
    Runs(RunsCmd),
    /// Segments: count and sample the rows they keep.
    #[command(subcommand)]
    Segment(SegmentCmd),
    /// Run the scheduled exports that are due (for cron or a systemd timer). A missed schedule
    /// runs once.
    RunDue {
        #[arg(long)]
        json: bool,
    },
    /// Write a seeded sample customers CSV (demo data, benchmarks).
    Sample {
        file: PathBuf,
        #[arg(long, default_value_t = 50_000)]
        rows: u64,
        /// About one row in N gets a broken email (0 = none).
        #[arg(long, default_value_t = 400)]
        invalid_every: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

impl Cmd {
    /// The subcommand's name for the log (never its arguments).
    fn name(&self) -> &'static str {
        match self {
            Cmd::Config(_) => "config",
            Cmd::Connection(_) => "connection",
            Cmd::Export(_) => "export",
            Cmd::Runs(_) => "runs",
            Cmd::Segment(_) => "segment",
            Cmd::RunDue { .. } => "run-due",
            Cmd::Sample { .. } => "sample",
        }
    }
}

#[derive(Subcommand)]
enum ConfigCmd {
    /// Upsert everything in FILE by name, all or nothing.
    Import { file: PathBuf },
    /// Write the configuration to FILE (or stdout).
    Export { file: Option<PathBuf> },
}

#[derive(Subcommand)]
enum ConnectionCmd {
    /// List connections.
    List,
    /// Store the connection's API key in the OS keychain, read from stdin.
    SetKey { name: String },
    /// Record the data-privacy and compliance consent as the operator (Settings' name).
    Consent {
        name: String,
        /// Confirm that you agree.
        #[arg(long)]
        yes: bool,
    },
    /// Check the key with Klaviyo and show the account name.
    Verify { name: String },
}

#[derive(Subcommand)]
enum ExportCmd {
    List,
    Show {
        name: String,
    },
    /// Run an export now.
    Run {
        name: String,
        /// Print NDJSON events on stdout instead of a progress bar.
        #[arg(long)]
        json: bool,
        /// Ignore the delta state: send every profile of the segment, changed or not.
        #[arg(long)]
        full: bool,
        /// Read, filter, map and batch without sending anything (no network, nothing recorded).
        #[arg(long)]
        dry_run: bool,
        /// Do not continue an interrupted run: close it and start a fresh one.
        #[arg(long)]
        restart: bool,
        /// Mirror mode: confirm removing up to N profiles that left the segment when the run
        /// would otherwise hold them (the number a held run reported).
        #[arg(long, value_name = "N")]
        confirm_removals: Option<u64>,
    },
}

#[derive(Subcommand)]
enum SegmentCmd {
    /// Count the segment's rows and show the first matching ones.
    Preview {
        name: String,
        /// Try another filter (text form) instead of the segment's own.
        #[arg(long)]
        filter: Option<String>,
        #[arg(long, default_value_t = 5)]
        sample: usize,
    },
}

#[derive(Subcommand)]
enum RunsCmd {
    List {
        #[arg(long)]
        export: Option<String>,
    },
    Show {
        run_id: String,
        /// Write all rejected rows to this CSV file.
        #[arg(long)]
        rejects: Option<PathBuf>,
    },
}

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
            ExitCode::from(exit_code(&e))
        }
    }
}

/// "Marta Kowalska (OS account marta)": who gave a consent, and from which OS account.
fn consent_by(c: &segport_core::model::Consent) -> String {
    match &c.os_user {
        Some(os) => format!("{} (OS account {os})", c.by),
        None => c.by.clone(),
    }
}

async fn run(cli: Cli) -> Result<u8, CoreError> {
    if let Cmd::Sample {
        file,
        rows,
        invalid_every,
        seed,
    } = &cli.cmd
    {
        let stats = segport_core::sample::write_customers_csv(file, *rows, *invalid_every, *seed)
            .map_err(|source| CoreError::Io {
            path: file.clone(),
            source,
        })?;
        out!(
            "{} rows written to {} ({} with a broken email)",
            stats.rows,
            file.display(),
            stats.invalid_lines.len()
        );
        return Ok(exit::OK);
    }
    let dir = paths::data_dir(cli.data_dir);
    let ws = Workspace::open(&dir, Arc::new(KeyringStore::new()))?;
    if let Some(kept) = ws.kept_aside() {
        eprintln!("warning: {}", kept.message());
    }
    match cli.cmd {
        Cmd::Config(ConfigCmd::Import { file }) => {
            let r = config::import(&ws, &file)?;
            out!(
                "imported {}: {} connection(s), {} source(s), {} segment(s), {} export(s)",
                file.display(),
                r.connections,
                r.sources,
                r.segments,
                r.exports
            );
        }
        Cmd::Config(ConfigCmd::Export { file }) => {
            let text = config::export(&ws)?;
            match file {
                Some(f) => {
                    std::fs::write(&f, text).map_err(|source| CoreError::Io { path: f, source })?
                }
                None => out_raw!("{text}"),
            }
        }
        Cmd::Connection(ConnectionCmd::List) => {
            for c in ws.connections()? {
                out!(
                    "{}\t{}\tkey: {}\tconsent: {}\tusable by: {}",
                    c.name,
                    c.base_url,
                    if c.key_stored { "stored" } else { "missing" },
                    c.consent
                        .map(|c| format!("{} at {}", consent_by(&c), c.at))
                        .unwrap_or_else(|| "not recorded".into()),
                    c.usable_by.as_str()
                );
            }
        }
        Cmd::Connection(ConnectionCmd::SetKey { name }) => {
            if std::io::stdin().is_terminal() {
                eprintln!("Paste the Klaviyo private API key (pk_…), then press Enter and Ctrl-D:");
            }
            let mut key = String::new();
            std::io::stdin()
                .read_to_string(&mut key)
                .map_err(|source| CoreError::Io {
                    path: "<stdin>".into(),
                    source,
                })?;
            ws.set_key(&name, &key)?;
            out!("key stored in the OS keychain for \"{name}\"");
        }
        Cmd::Connection(ConnectionCmd::Consent { name, yes }) => {
            if !yes {
                return Err(CoreError::invalid(
                    "--yes",
                    "Profiles exported through this connection are sent to Klaviyo. Re-run with --yes to record that you agree to the data privacy and compliance terms.",
                ));
            }
            let c = ws.record_consent(&name)?;
            out!(
                "consent recorded for \"{name}\" by {} at {}",
                consent_by(&c),
                c.at
            );
        }
        Cmd::Connection(ConnectionCmd::Verify { name }) => {
            let conn = ws.connection_named(&name)?;
            let v = ws.verify_connection(&conn.id).await?;
            if let Some(acc) = v.verified {
                out!(
                    "connected to \"{}\" (account {})",
                    acc.account_name,
                    acc.account_id
                );
            }
        }
        Cmd::Export(ExportCmd::List) => {
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
        Cmd::Export(ExportCmd::Show { name }) => {
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
        Cmd::Export(ExportCmd::Run {
            name,
            json,
            full,
            dry_run,
            restart,
            confirm_removals,
        }) => {
            let export = ws.export_named(&name)?;
            let opts = RunOptions {
                full,
                dry_run,
                restart,
                confirm_removals,
            };
            return run_export(&ws, &export.id, RunTrigger::Cli, opts, json).await;
        }
        Cmd::RunDue { json } => {
            let due = ws.due_exports(chrono::Utc::now())?;
            if due.is_empty() && !json {
                out!("no scheduled export is due");
            }
            let mut worst = exit::OK;
            for e in due {
                if !json {
                    out!("running \"{}\" ({})", e.name, e.schedule);
                }
                let code = match run_export(
                    &ws,
                    &e.id,
                    RunTrigger::Schedule,
                    RunOptions::default(),
                    json,
                )
                .await
                {
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
            return Ok(worst);
        }
        Cmd::Segment(SegmentCmd::Preview {
            name,
            filter,
            sample,
        }) => {
            let p = ws.segment_preview(&name, filter.as_deref(), sample)?;
            out!(
                "{} of {} rows match{}",
                p.matching,
                p.total,
                if p.bad_rows > 0 {
                    format!(" ({} rows could not be read)", p.bad_rows)
                } else {
                    String::new()
                }
            );
            out!("{}", p.columns.join("\t"));
            for row in p.sample {
                out!("{}", row.join("\t"));
            }
        }
        Cmd::Sample { .. } => {}
        Cmd::Runs(RunsCmd::List { export }) => {
            let export_id = match export {
                Some(n) => Some(ws.export_named(&n)?.id),
                None => None,
            };
            for r in ws.runs(export_id.as_deref())? {
                out!(
                    "{}\t{}\t{}\t{}\t{}\tread {} sent {} imported {} rejected {}",
                    r.id,
                    r.export_name,
                    r.status.as_str(),
                    r.trigger.as_str(),
                    r.started_at,
                    r.counts.read,
                    r.counts.sent,
                    r.counts.imported,
                    r.counts.rejected
                );
            }
        }
        Cmd::Runs(RunsCmd::Show { run_id, rejects }) => {
            let s = ws.run_summary(&run_id)?;
            out!(
                "{}",
                serde_json::to_string_pretty(&s.run).unwrap_or_default()
            );
            if let Some(out) = rejects {
                // The core's writer: one format, cells escaped against formula injection.
                ws.write_rejects_csv(&run_id, &out)?;
                out!(
                    "{} rejected row(s) written to {}",
                    s.rejects_total,
                    out.display()
                );
            }
        }
    }
    Ok(exit::OK)
}

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
    let bar = (!json && std::io::stderr().is_terminal()).then(|| {
        let b = indicatif::ProgressBar::new_spinner();
        b.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        b
    });
    let sink = {
        let bar = bar.clone();
        Arc::new(move |ev: &RunEvent| {
            if ev.phase == segport_core::model::RunPhase::Finished {
                return; // the final line is printed below, with the summary
            }
            if json {
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
    };
    let result = ws
        .run_export_with(export_id, trigger, opts, cancel, sink)
        .await;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let summary = match result {
        Ok(s) => s,
        Err(e) => {
            if json {
                let payload = serde_json::json!({"event": "finished", "status": "failed", "code": e.code(), "message": e.to_string()});
                out!("{payload}");
            }
            return Err(e);
        }
    };
    let run = &summary.run;
    if json {
        let ev = RunEvent {
            run_id: run.id.clone(),
            phase: segport_core::model::RunPhase::Finished,
            counts: run.counts,
            status: Some(run.status),
            message: run.error.clone(),
        };
        out!("{}", ndjson("finished", &ev));
    } else {
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
    Ok(match run.status {
        RunStatus::Succeeded => exit::OK,
        RunStatus::Partial => exit::REJECTS,
        RunStatus::Held => exit::HELD,
        RunStatus::Cancelled => exit::CANCELLED,
        _ => exit::FAILED,
    })
}
