//! `segport-sandbox --port N [--key pk_… (repeatable)] [--job-processing-ms N]`
//!
//! Prints `listening on http://127.0.0.1:N` as its first line, then `demo key: pk_…` when no
//! key was given, and serves until Ctrl-C.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use segport_sandbox::{generate_key, Sandbox, SandboxConfig, SandboxKey};

#[derive(Parser)]
#[command(
    name = "segport-sandbox",
    about = "A local imitation of Klaviyo's API (revision 2026-07-15)"
)]
struct Args {
    /// Port to listen on (127.0.0.1); 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// A private API key to accept, with all scopes (repeatable). Without one, a demo key is
    /// generated and printed.
    #[arg(long = "key")]
    keys: Vec<String>,
    /// How long a bulk import job stays queued before it is processed, in milliseconds.
    #[arg(long, default_value_t = 200)]
    job_processing_ms: u64,
    /// Name of the imitated account.
    #[arg(long, default_value = "Segport Sandbox")]
    account_name: String,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let demo_key = args.keys.is_empty().then(generate_key);
    let keys = args
        .keys
        .iter()
        .chain(demo_key.iter())
        .map(|k| SandboxKey::full(k.clone()))
        .collect();
    let config = SandboxConfig {
        keys,
        job_processing: Duration::from_millis(args.job_processing_ms),
        account_name: args.account_name,
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
