//! Shared by the core's integration tests: a workspace on a temporary folder with keyring's
//! mock keychain, and a sandbox on a free port.
#![allow(dead_code)]

use segport_core::model::*;
use segport_core::secrets::{use_mock_keychain, KeyringStore};
use segport_core::workspace::Workspace;
use segport_sandbox::{Sandbox, SandboxConfig, SandboxKey};
use std::sync::Arc;
use std::time::Duration;

pub const KEY: &str = "pk_integrationtestkey0000000000000000";

pub fn workspace(dir: &std::path::Path) -> Workspace {
    workspace_and_keychain(dir).0
}

/// [`workspace`] with its keychain, for a test that looks at the keys it holds.
pub fn workspace_and_keychain(dir: &std::path::Path) -> (Workspace, Arc<KeyringStore>) {
    use_mock_keychain();
    let keychain = Arc::new(KeyringStore::new());
    let ws = Workspace::open(dir, keychain.clone()).unwrap();
    (ws, keychain)
}

/// A second connection to the workspace's real database file, for a test that reads or writes
/// its tables behind the workspace (the workspace's own store is private).
pub fn store_of(ws: &Workspace) -> segport_core::store::Store {
    segport_core::store::Store::open_dir(ws.data_dir()).unwrap()
}

pub async fn sandbox() -> Sandbox {
    let config = SandboxConfig {
        keys: vec![SandboxKey::full(KEY)],
        job_processing: Duration::from_millis(50),
        ..SandboxConfig::default()
    };
    Sandbox::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

pub fn connection_input(name: &str, base_url: &str, key: Option<&str>) -> ConnectionInput {
    ConnectionInput {
        id: None,
        name: name.into(),
        base_url: Some(base_url.into()),
        usable_by: UsableBy::Admins,
        api_key: key.map(Into::into),
        consent: true,
        export_user: None,
    }
}

/// A connection to `sb` (with consent and the sandbox's key) and an export of `csv` to
/// `list_id`, saved as the UI would save them.
pub fn connection_and_export(
    ws: &Workspace,
    sb: &Sandbox,
    csv: &std::path::Path,
    list_id: &str,
) -> (ConnectionView, ExportView) {
    let conn = ws
        .save_connection(connection_input("Sandbox", &sb.base_url(), Some(KEY)))
        .unwrap();
    let export = ws
        .save_export(export_input(ws, "Export", &conn.id, csv, list_id))
        .unwrap();
    (conn, export)
}

/// What the export form saves for "all rows of `csv`, matched on its `email` column", the
/// segment made from the file as the form's "New from a file…" does.
pub fn export_input(
    ws: &Workspace,
    name: &str,
    connection_id: &str,
    csv: &std::path::Path,
    list_id: &str,
) -> ExportInput {
    let segment = ws
        .add_file_segment(
            &csv.to_string_lossy(),
            segport_core::model::SourceKind::Csv,
            None,
        )
        .unwrap();
    ExportInput {
        id: None,
        name: name.into(),
        segment_id: segment.id,
        connection_id: connection_id.into(),
        list_id: list_id.into(),
        mapping: segport_core::model::Mapping {
            email: "email".into(),
            ..Default::default()
        },
        mode: Default::default(),
        schedule: segport_core::schedule::Schedule::Manual,
        removal_guard: None,
    }
}

// ---- helpers for the run tests (runs.rs) ----

use segport_core::schedule::Schedule;
use segport_core::workspace::RunOptions;
use segport_sandbox::Fault;
use tokio_util::sync::CancellationToken;

/// A sandbox with `KEY` (and `extra_keys`), jobs processed after `job_ms`, and these faults.
pub async fn sandbox_with(job_ms: u64, faults: &[&str], extra_keys: &[&str]) -> Sandbox {
    let mut keys = vec![SandboxKey::full(KEY)];
    keys.extend(extra_keys.iter().map(|k| SandboxKey::full(*k)));
    let config = SandboxConfig {
        keys,
        job_processing: Duration::from_millis(job_ms),
        faults: faults
            .iter()
            .map(|f| f.parse::<Fault>().expect("fault spec"))
            .collect(),
        ..SandboxConfig::default()
    };
    Sandbox::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// A mapping of the `email` column only.
pub fn email_mapping() -> Mapping {
    Mapping {
        email: "email".into(),
        ..Mapping::default()
    }
}

/// What an export reads and how it maps: saved through the store as the config import does.
pub struct ExportSpec<'a> {
    pub name: &'a str,
    pub kind: SourceKind,
    pub path: &'a std::path::Path,
    pub table: Option<&'a str>,
    pub filter: Option<&'a str>,
    pub list_id: &'a str,
    pub mapping: Mapping,
    pub mode: ExportMode,
    pub schedule: Schedule,
}

impl<'a> ExportSpec<'a> {
    pub fn csv(name: &'a str, path: &'a std::path::Path, list_id: &'a str) -> Self {
        ExportSpec {
            name,
            kind: SourceKind::Csv,
            path,
            table: None,
            filter: None,
            list_id,
            mapping: email_mapping(),
            mode: ExportMode::Upsert,
            schedule: Schedule::Manual,
        }
    }
}

/// Source, segment and export for `spec`, on connection `conn_id`.
pub fn add_export(ws: &Workspace, conn_id: &str, spec: ExportSpec<'_>) -> Export {
    let source = Source {
        id: new_id(),
        name: format!("{} source", spec.name),
        kind: spec.kind,
        path: spec.path.to_string_lossy().into_owned(),
        table: spec.table.map(Into::into),
    };
    store_of(ws).put_source(&source).unwrap();
    let segment = Segment {
        id: new_id(),
        name: format!("{} segment", spec.name),
        source_id: source.id.clone(),
        filter: spec.filter.map(Into::into),
    };
    store_of(ws).put_segment(&segment).unwrap();
    let now = now_rfc3339();
    let export = Export {
        id: new_id(),
        name: spec.name.into(),
        segment_id: segment.id,
        connection_id: Some(conn_id.into()),
        list_id: spec.list_id.into(),
        mapping: spec.mapping,
        mode: spec.mode,
        schedule: spec.schedule,
        removal_guard: Default::default(),
        created_at: now.clone(),
        updated_at: now,
    };
    store_of(ws).put_export(&export).unwrap();
    export
}

/// The sandbox connection (consent given, key `KEY`).
pub fn sandbox_connection(ws: &Workspace, sb: &Sandbox) -> ConnectionView {
    ws.save_connection(connection_input("Sandbox", &sb.base_url(), Some(KEY)))
        .unwrap()
}

/// Run an export to the end, events ignored.
pub async fn run(
    ws: &Workspace,
    export_id: &str,
    opts: RunOptions,
) -> segport_core::Result<RunSummary> {
    ws.run_export_with(
        export_id,
        RunTrigger::Manual,
        opts,
        CancellationToken::new(),
        Arc::new(|_: &RunEvent| {}),
    )
    .await
}

pub const BULK: &str = "POST /api/profile-bulk-import-jobs";

/// Write a CSV file from a header and rows (values must not need quoting).
pub fn write_csv(path: &std::path::Path, header: &str, rows: &[String]) {
    let mut text = String::from(header);
    text.push('\n');
    for r in rows {
        text.push_str(r);
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

/// Sorted copy.
pub fn sorted<T: Ord + Clone>(v: &[T]) -> Vec<T> {
    let mut v = v.to_vec();
    v.sort();
    v
}

/// A run of `export` recorded as running now, as a process starting it would (for tests that
/// then play what happens to that process). No process holds the export's lock: hold one
/// with [`hold_export`] to play a live process.
pub fn insert_running_run(ws: &Workspace, export: &ExportView) -> RunView {
    let run = RunView {
        id: new_id(),
        export_id: export.id.clone(),
        export_name: export.name.clone(),
        trigger: RunTrigger::Cli,
        who: "someone".into(),
        status: RunStatus::Running,
        counts: RunCounts::default(),
        started_at: now_rfc3339(),
        finished_at: None,
        error: None,
    };
    store_of(ws).insert_run(&run, "test-owner").unwrap();
    run
}

/// The export's run lock, as a live process running it holds it (dropped: the process died).
pub fn hold_export(ws: &Workspace, export_id: &str) -> segport_core::runlock::RunLock {
    use segport_core::runlock::{Acquired, LockOwner, RunLock};
    match RunLock::acquire(ws.data_dir(), export_id, LockOwner::new("someone", "cli")).unwrap() {
        Acquired::Locked(l) => l,
        Acquired::Busy(o) => panic!("the export is locked by {o:?}"),
    }
}

/// Record on `run_id` the fingerprint a run of `export_id` would start under now, as the
/// process that started it would have (so that it can be continued).
pub async fn record_fingerprint(ws: &Workspace, run_id: &str, export_id: &str) {
    let fp = ws.fingerprint_now(export_id).await.unwrap();
    store_of(ws)
        .set_run_fingerprint(run_id, &fp.to_json(), &fp.destination())
        .unwrap();
}
