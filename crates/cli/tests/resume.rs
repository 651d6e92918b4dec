//! `segport-cli export run` killed with SIGKILL, then run again: the same run continues from its
//! checkpoint. Against the sandbox (in this process) over real HTTP; the CLI is a child process.

use segport_core::store::{JobRecord, Store};
use segport_sandbox::{Fault, Sandbox, SandboxConfig, SandboxKey};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const KEY: &str = "pk_resumetestkey_0000000000000000000";
const KEY_ENV: &str = "SEGPORT_RESUME_TEST_KEY";
const BULK: &str = "POST /api/profile-bulk-import-jobs";

fn command(data: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_segport-cli"));
    c.arg("--data-dir")
        .arg(data)
        .args(args)
        .env(KEY_ENV, KEY)
        // No keychain: the key comes from api_key_env.
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent");
    c
}

fn cli(data: &Path, args: &[&str]) -> Output {
    command(data, args).output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn events(o: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("every stdout line is JSON"))
        .collect()
}

struct Setup {
    sb: Sandbox,
    dir: tempfile::TempDir,
    data: PathBuf,
    list: String,
    valid: Vec<String>,
    invalid_lines: Vec<u64>,
}

/// A sandbox, a `rows`-row sample CSV and an imported, consented export "Customers".
async fn setup(rows: u64, invalid_every: u64, job_ms: u64, faults: &[String]) -> Setup {
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

/// `export run Customers --json` in the background; its stdout lines are collected.
fn spawn_run(data: &Path) -> (Child, Arc<Mutex<Vec<String>>>) {
    let mut child = command(data, &["export", "run", "Customers", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = Arc::new(Mutex::new(vec![]));
    let (out, sink) = (child.stdout.take().unwrap(), lines.clone());
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(l);
        }
    });
    (child, lines)
}

/// Poll until `ready` holds; the run must still be going (it may not finish on its own).
async fn wait_until(
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
fn checkpoint(data: &Path) -> (String, Vec<JobRecord>) {
    let store = Store::open_dir(data).unwrap();
    let runs = store.runs(None, 10).unwrap();
    assert!(runs.len() <= 1, "{runs:?}");
    let Some(run) = runs.into_iter().next() else {
        return (String::new(), vec![]);
    };
    let jobs = store.run_jobs(&run.id).unwrap();
    (run.id, jobs)
}

/// After SIGKILL the run is still `running` with a fresh heartbeat: it is refused until the
/// heartbeat is older than `STALE_RUN_SECS`. Make it that old (as if the user came back later).
fn refused_then_aged(s: &Setup, run_id: &str) {
    let posts = s.sb.request_count(BULK);
    let o = cli(&s.data, &["export", "run", "Customers", "--json"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("already running"), "{}", text(&o));
    assert_eq!(s.sb.request_count(BULK), posts);
    let store = Store::open_dir(&s.data).unwrap();
    let run = store.run(run_id).unwrap();
    assert_eq!(run.status.as_str(), "running");
    store
        .transaction(|tx| {
            tx.execute(
                "UPDATE runs SET heartbeat_at = '2000-01-01T00:00:00.000Z' WHERE id = ?1",
                [run_id],
            )?;
            Ok(())
        })
        .unwrap();
}

/// The rerun's NDJSON: it continued `run_id` and finished `status` (exit code `code`).
fn finished_same_run(o: &Output, run_id: &str, status: &str, code: i32) -> Value {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_while_sending_then_run_again_continues_without_resending_acknowledged_batches() {
    // Four bulk imports are accepted; every later one hangs (in flight, never acknowledged).
    let mut seq = vec!["ok"; 4];
    seq.extend(["slow:600000"; 40]);
    let fault = format!("bulk_import_profiles=seq:{}", seq.join(","));
    let s = setup(200_000, 0, 30, &[fault]).await;

    let (mut child, lines) = spawn_run(&s.data);
    wait_until(&mut child, &lines, || {
        s.sb.status_count(202) == 4
            && s.sb.request_count(BULK) >= 6
            && checkpoint(&s.data).1.len() == 4
    })
    .await;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let (run_id, acked) = checkpoint(&s.data);
    assert_eq!(acked.len(), 4);
    assert!(
        s.sb.request_count(BULK) > 4,
        "batches were in flight at the kill"
    );

    refused_then_aged(&s, &run_id);
    s.sb.set_faults(vec![]);
    let o = cli(&s.data, &["export", "run", "Customers", "--json"]);
    let last = finished_same_run(&o, &run_id, "succeeded", 0);

    let valid = s.valid.len() as u64;
    assert_eq!(valid, 200_000);
    assert_eq!(s.sb.list_members(&s.list), s.valid);
    assert_eq!(last["read"], 200_000);
    assert_eq!(last["sent"], valid);
    assert_eq!(last["imported"], valid);
    assert_eq!(last["rejected"], 0);
    assert_eq!(last["failed_in_klaviyo"], 0);

    // Every batch acknowledged before the kill is still in the checkpoint, as it was, and
    // nothing sent after the kill overlaps its lines.
    let (_, jobs) = checkpoint(&s.data);
    for a in &acked {
        let same = jobs.iter().find(|j| j.batch == a.batch).unwrap();
        assert_eq!(
            (&same.job_id, same.first_line, same.last_line, same.profiles),
            (&a.job_id, a.first_line, a.last_line, a.profiles)
        );
    }
    for j in jobs
        .iter()
        .filter(|j| !acked.iter().any(|a| a.batch == j.batch))
    {
        assert!(
            acked
                .iter()
                .all(|a| j.last_line < a.first_line || j.first_line > a.last_line),
            "batch {j:?} overlaps an acknowledged one"
        );
    }
    assert!(jobs.iter().all(|j| j.status == "complete"), "{jobs:?}");
    assert_eq!(jobs.iter().map(|j| j.profiles).sum::<u64>(), valid);
    // Klaviyo accepted exactly one job per checkpoint row: no acknowledged batch was posted
    // again (the batches in flight at the kill were, and count once each, when accepted).
    assert_eq!(s.sb.status_count(202), jobs.len() as u64);
    drop(s.dir);
}

/// Runs the export until its 5 batches are accepted (jobs stay queued for 6 s), kills it with
/// SIGKILL, makes the run stale and runs it again. Returns the rerun's output and the run id.
async fn killed_while_polling(s: &Setup) -> (Output, String) {
    let (mut child, lines) = spawn_run(&s.data);
    wait_until(&mut child, &lines, || {
        let (_, jobs) = checkpoint(&s.data);
        jobs.len() == 5 && s.sb.status_count(202) == 5
    })
    .await;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let (run_id, acked) = checkpoint(&s.data);
    let open = acked.iter().filter(|j| !j.is_complete()).count();
    assert!(open >= 1, "jobs must still be open at the kill: {acked:?}");
    refused_then_aged(s, &run_id);
    let o = cli(&s.data, &["export", "run", "Customers", "--json"]);
    (o, run_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_while_polling_then_run_again_polls_the_open_jobs_and_sends_nothing() {
    let s = setup(50_000, 0, 6_000, &[]).await;
    let (o, run_id) = killed_while_polling(&s).await;
    let last = finished_same_run(&o, &run_id, "succeeded", 0);
    let valid = s.valid.len() as u64;
    assert_eq!(s.sb.request_count(BULK), 5, "nothing is sent again");
    assert_eq!(s.sb.list_members(&s.list), s.valid);
    assert_eq!(last["read"], 50_000);
    assert_eq!(last["sent"], valid);
    assert_eq!(last["imported"], valid);
    let (_, jobs) = checkpoint(&s.data);
    assert!(jobs.iter().all(|j| j.status == "complete"), "{jobs:?}");
    assert_eq!(jobs.iter().map(|j| j.completed).sum::<u64>(), valid);

    // The re-polled jobs' rows reached the delta state: a new run sends nothing.
    let o = cli(&s.data, &["export", "run", "Customers", "--json"]);
    let ev = events(&o);
    let last = ev.last().unwrap();
    assert_ne!(last["run_id"], run_id.as_str());
    assert_eq!(last["sent"], 0, "{last}");
    assert_eq!(last["unchanged"], valid);
    assert_eq!(s.sb.request_count(BULK), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_rejected_before_a_kill_9_are_all_reported_by_the_resumed_run() {
    let s = setup(50_000, 500, 6_000, &[]).await;
    assert!(s.invalid_lines.len() > 50);
    let (o, run_id) = killed_while_polling(&s).await;
    let last = finished_same_run(&o, &run_id, "partial", 3);
    assert_eq!(s.sb.list_members(&s.list), s.valid);
    assert_eq!(last["rejected"], s.invalid_lines.len() as u64);
    let store = Store::open_dir(&s.data).unwrap();
    let (rejects, _) = store.rejects(&run_id, usize::MAX).unwrap();
    let lines: Vec<u64> = rejects.iter().map(|r| r.line).collect();
    assert_eq!(lines, s.invalid_lines);
}
