//! The command line as clap derive types: every subcommand, flag and help text lives here,
//! and only here (the `cmd` modules receive these values already parsed).

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "segport-cli",
    version,
    about = "Export customer segments to Klaviyo lists, headless"
)]
pub struct Cli {
    /// Data folder (default: the OS app-data folder the desktop app uses).
    #[arg(long, global = true, env = "SEGPORT_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Subcommand)]
pub enum Cmd {
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
    pub fn name(&self) -> &'static str {
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
pub enum ConfigCmd {
    /// Upsert everything in FILE by name, all or nothing.
    Import { file: PathBuf },
    /// Write the configuration to FILE (or stdout).
    Export { file: Option<PathBuf> },
}

#[derive(Subcommand)]
pub enum ConnectionCmd {
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
pub enum ExportCmd {
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
pub enum SegmentCmd {
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
pub enum RunsCmd {
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
