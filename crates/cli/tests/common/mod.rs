//! Shared by the CLI's kill-and-resume tests (resume.rs, crash.rs): a sandbox in the test
//! process over real HTTP, a sample CSV and an imported, consented export "Customers", and
//! `segport-cli export run` as a child process that a test can SIGKILL.
#![allow(dead_code)]

use segport_core::store::{JobRecord, Store};
use segport_sandbox::{Fault, Sandbox, SandboxConfig, SandboxKey};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const KEY: &str = "pk_resumetestkey_0000000000000000000";
pub const KEY_ENV: &str = "SEGPORT_RESUME_TEST_KEY";
pub const BULK: &str = "POST /api/profile-bulk-import-jobs";

pub fn command(data: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_segport-cli"));
    c.arg("--data-dir")
        .arg(data)
        .args(args)
        .env(KEY_ENV, KEY)
        // No keychain: the key comes from api_key_env.
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
        .env_remove("SEGPORT_TEST_PAUSE_AT");
    c
}

pub fn cli(data: &Path, args: &[&str]) -> Output {
    command(data, args).output().unwrap()
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

pub fn events(o: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("every stdout line is JSON"))
        .collect()
}

pub struct Setup {
    pub sb: Sandbox,
    pub dir: tempfile::TempDir,
    pub data: PathBuf,
    pub list: String,
    /// Valid emails, sorted.
    pub valid: Vec<String>,
    /// File lines (the header is line 1) of the rows with a broken email.
    pub invalid_lines: Vec<u64>,
}

/// A sandbox, a `rows`-row sample CSV and an imported, consented export "Customers".
pub async fn setup(rows: u64, invalid_every: u64, job_ms: u64, faults: &[String]) -> Setup {
    let sb = Sandbox::start(
        SandboxConfig {
            keys: vec![SandboxKey::full(KEY)],
            job_processing: Duration::from_millis(job_ms),
            faults: faults.iter().map(|f| f.parse::<Fault>().unwrap()).collect(),
            ..SandboxConfig::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let list = sb.create_list("Customers");
    let stats = segport_core::sample::write_customers_csv(
        &dir.path().join("customers.csv"),
        rows,
        invalid_every,
        17,
    )
    .unwrap();
    let toml = dir.path().join("segport.toml");
    std::fs::write(
        &toml,
        format!(
            r#"version = 1
[[connection]]
name = "Sandbox"
base_url = "{}"
api_key_env = "{KEY_ENV}"

[[source]]
name = "Customers"
kind = "csv"
path = "customers.csv"

[[segment]]
name = "Everyone"
source = "Customers"

[[export]]
name = "Customers"
segment = "Everyone"
connection = "Sandbox"
list_id = "{list}"
[export.mapping]
email = "email"
first_name = "first_name"
"#,
            sb.base_url()
        ),
    )
    .unwrap();
    let o = cli(&data, &["config", "import", toml.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let o = cli(&data, &["connection", "consent", "Sandbox", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    let mut valid = stats.valid_emails;
    valid.sort();
    Setup {
        sb,
        dir,
        data,
        list,
        valid,
        invalid_lines: stats.invalid_lines,
    }
}

/// A `segport-cli export run Customers --json` in the background, its stdout and stderr lines
/// collected as they come.
pub struct Running {
    pub child: Child,
    pub stdout: Arc<Mutex<Vec<String>>>,
    pub stderr: Arc<Mutex<Vec<String>>>,
}

fn collect(from: impl Read + Send + 'static) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(vec![]));
    let sink = lines.clone();
    std::thread::spawn(move || {
        for l in BufReader::new(from).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(l);
        }
    });
    lines
}

/// `export run Customers --json` with extra environment variables (e.g. the crash-test hook
/// `SEGPORT_TEST_PAUSE_AT`, see `segport_core::engine`).
pub fn spawn_run_with(data: &Path, env: &[(&str, &str)]) -> Running {
    let mut child = command(data, &["export", "run", "Customers", "--json"])
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = collect(child.stdout.take().unwrap());
    let stderr = collect(child.stderr.take().unwrap());
    Running {
        child,
        stdout,
        stderr,
    }
}

/// `export run Customers --json` in the background; its stdout lines are collected.
pub fn spawn_run(data: &Path) -> (Child, Arc<Mutex<Vec<String>>>) {
    let r = spawn_run_with(data, &[]);
    (r.child, r.stdout)
}

/// Poll until `ready` holds; the run must still be going (it may not finish on its own).
pub async fn wait_until(
    child: &mut Child,
    lines: &Mutex<Vec<String>>,
    mut ready: impl FnMut() -> bool,
) {
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "the run ended ({status}) before the point where it was to be killed: {:?}",
                lines.lock().unwrap().last()
            );
        }
        if ready() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The only run of the export, and its checkpoint, read from the SQLite file.
pub fn checkpoint(data: &Path) -> (String, Vec<JobRecord>) {
    let store = Store::open_dir(data).unwrap();
    let runs = store.runs(None, 10).unwrap();
    assert!(runs.len() <= 1, "{runs:?}");
    let Some(run) = runs.into_iter().next() else {
        return (String::new(), vec![]);
    };
    let jobs = store.run_jobs(&run.id).unwrap();
    (run.id, jobs)
}

/// A run killed with SIGKILL is left `running` in the database, as the process wrote it; the
/// kernel released the export's lock with the process, so the next `export run` continues it
/// at once (no waiting for a heartbeat to age). Nothing is sent in between.
pub fn assert_left_running(store: &Store, run_id: &str) {
    let run = store.run(run_id).unwrap();
    assert_eq!(run.status.as_str(), "running", "{run:?}");
}

/// After SIGKILL the run is still recorded as running; the next start continues it at once.
pub fn still_recorded_running(s: &Setup, run_id: &str) {
    let store = Store::open_dir(&s.data).unwrap();
    assert_left_running(&store, run_id);
}

/// The rerun's NDJSON: it continued `run_id` and finished `status` (exit code `code`).
pub fn finished_same_run(o: &Output, run_id: &str, status: &str, code: i32) -> Value {
    let ev = events(o);
    let last = ev.last().unwrap().clone();
    assert_eq!(last["event"], "finished");
    assert_eq!(last["run_id"], run_id, "the interrupted run is continued");
    assert_eq!(last["status"], status, "{last}");
    assert_eq!(o.status.code(), Some(code), "{}", text(o));
    let first = &ev[0];
    assert!(
        first["message"]
            .as_str()
            .is_some_and(|m| m.contains("Continuing the interrupted run")),
        "{first}"
    );
    last
}
