//! `segport-sandbox --port N [--limits real|off] [--key pk_…[:scope,…]]… [--fault SPEC]…
//! [--job-processing-ms N] [--no-retry-after] [--state-file FILE]`
//!
//! Prints `listening on http://127.0.0.1:N` as its first line, then `demo key: pk_…` when no
//! key was given, and serves until Ctrl-C.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use segport_sandbox::{generate_key, Fault, Limits, Sandbox, SandboxConfig, SandboxKey};

const FAULT_HELP: &str = "\
FAULTS (--fault SPEC, repeatable; also POST /__sandbox/faults {\"faults\":[SPEC,…]}):
  TARGET=ACTION@P[,ACTION@P…]    each request to TARGET gets ACTION with probability P
  TARGET=seq:ACTION[,ACTION…]    the n-th request gets the n-th action, then ok
  revoke:KEY@after:N[:TARGET]    KEY is revoked after N requests (to TARGET): then 401

  TARGET  operationId (bulk_import_profiles), \"METHOD /path\" (\"GET /api/lists/{id}\") or *
  ACTION  ok | 500 | 503 | 504 (JSON:API error) | html502 | html503 | html504 | html524
          (text/html page, like a proxy's) | 429[:SECS] | 429:none (no Retry-After, no hint)
          | 429:raw:TEXT (Retry-After: TEXT as written, e.g. 1e20, -5, NaN)
          | drop (close without answering)
          | slow:MS (delay, then answer) | revoke (revoke this request's key: 401 from now on)
          | echo_key (a 400 whose detail quotes the request's key)

  Examples:
    --fault bulk_import_profiles=503@0.1
    --fault bulk_import_profiles=seq:ok,503,html502,drop,slow:2000,ok
    --fault revoke:pk_abc@after:5:bulk_import_profiles

KEYS: --key pk_abc (every scope) or --key pk_abc:lists:read,profiles:read (those scopes only).
Test-only routes (no auth): GET /__sandbox/stats, GET|POST|DELETE /__sandbox/faults,
GET /__sandbox/lists/{id}/members.";

#[derive(Clone, Copy, ValueEnum)]
enum LimitsArg {
    /// Klaviyo's per-operation burst (1 s) and steady (1 min) limits, with RateLimit-* headers.
    Real,
    /// No burst/steady limits (daily caps still apply).
    Off,
}

#[derive(Parser)]
#[command(
    name = "segport-sandbox",
    about = format!("A local imitation of Klaviyo's API (revision {})", segport_sandbox::REVISION),
    after_help = FAULT_HELP
)]
struct Args {
    /// Port to listen on (127.0.0.1); 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Rate limits: real (the spec's numbers) or off.
    #[arg(long, value_enum, default_value = "off")]
    limits: LimitsArg,
    /// A private API key to accept, optionally with scopes: pk_abc or
    /// pk_abc:lists:read,profiles:read (repeatable). Without one, a full demo key is generated
    /// and printed.
    #[arg(long = "key", value_parser = parse_key)]
    keys: Vec<SandboxKey>,
    /// A fault to inject (repeatable); syntax below.
    #[arg(long = "fault", value_parser = parse_fault)]
    faults: Vec<Fault>,
    /// How long a bulk import job stays queued before it is processed, in milliseconds.
    #[arg(long, default_value_t = 200)]
    job_processing_ms: u64,
    /// Answer 429 without a Retry-After header (Klaviyo does not always send it).
    #[arg(long)]
    no_retry_after: bool,
    /// Name of the imitated account.
    #[arg(long, default_value = "Segport Sandbox")]
    account_name: String,
    /// Keep the account, lists and profiles in this JSON file across restarts (read at start,
    /// written about a second after changes and at Ctrl-C). Default: memory only.
    #[arg(long)]
    state_file: Option<std::path::PathBuf>,
}

fn parse_key(s: &str) -> Result<SandboxKey, String> {
    s.parse()
        .map_err(|e: segport_sandbox::KeyParseError| e.to_string())
}

fn parse_fault(s: &str) -> Result<Fault, String> {
    s.parse()
        .map_err(|e: segport_sandbox::FaultParseError| e.to_string())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let demo_key = args.keys.is_empty().then(generate_key);
    let mut keys = args.keys;
    if let Some(k) = &demo_key {
        keys.push(SandboxKey::full(k.clone()));
    }
    let config = SandboxConfig {
        keys,
        job_processing: Duration::from_millis(args.job_processing_ms),
        account_name: args.account_name,
        limits: match args.limits {
            LimitsArg::Real => Limits::Real,
            LimitsArg::Off => Limits::Off,
        },
        retry_after: !args.no_retry_after,
        faults: args.faults,
        state_file: args.state_file,
        ..SandboxConfig::default()
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let sandbox = match Sandbox::start(config, addr).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("segport-sandbox: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on {}", sandbox.base_url());
        if let Some(key) = &demo_key {
            let _ = writeln!(out, "demo key: {key}");
        }
        let _ = out.flush();
    }
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("segport-sandbox: cannot wait for Ctrl-C: {e}");
    }
    sandbox.shutdown().await;
    ExitCode::SUCCESS
}
