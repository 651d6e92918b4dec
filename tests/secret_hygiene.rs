//! Secret hygiene: a recognisable API key goes through everything the app does with a key —
//! save, verify, browse lists, save exports, run them, fail (wrong list, revoked key), export
//! the config — with the real log files of the app written into the test's data folder. Then
//! every byte the app left behind or answered is scanned for the key: every file of the data
//! folder (SQLite file, -wal, -shm, log files), every IPC payload, the config export text, and
//! the Display/Debug of the errors. The CLI's own outputs are scanned by crates/cli/tests/cli.rs
//! (its binary is not reachable from this package).
//!
//! One test function: the log subscriber is global to the process.

use segport_core::secrets::{use_mock_keychain, KeyringStore};
use segport_lib::AppState;
use segport_sandbox::{Sandbox, SandboxConfig, SandboxKey};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{mock_builder, mock_context, noop_assets, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::WebviewWindow;

/// Everything the app answered or produced that could carry the key.
#[derive(Default)]
struct Seen(Vec<(String, String)>);

impl Seen {
    fn add(&mut self, what: impl Into<String>, text: impl Into<String>) {
        self.0.push((what.into(), text.into()));
    }
}

fn invoke(
    window: &WebviewWindow<MockRuntime>,
    seen: &mut Seen,
    cmd: &str,
    args: Value,
) -> Result<Value, Value> {
    let res = tokio::task::block_in_place(|| {
        tauri::test::get_ipc_response(
            window,
            InvokeRequest {
                cmd: cmd.into(),
                callback: CallbackFn(0),
                error: CallbackFn(1),
                url: "tauri://localhost".parse().unwrap(),
                body: InvokeBody::Json(args),
                headers: Default::default(),
                invoke_key: INVOKE_KEY.to_string(),
            },
        )
    });
    let out = res.map(|b| b.deserialize::<Value>().unwrap());
    let text = match &out {
        Ok(v) | Err(v) => v.to_string(),
    };
    seen.add(format!("IPC answer of {cmd}"), text);
    out
}

/// Every file under `dir`, recursively, as (path, bytes).
fn files(dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push((path.display().to_string(), std::fs::read(&path).unwrap()));
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_key_appears_in_no_file_log_payload_export_or_error() {
    let key = format!("pk_NEEDLE_{}", uuid::Uuid::new_v4().simple());
    use_mock_keychain();
    let data = tempfile::tempdir().unwrap();
    segport_lib::logging::init(data.path()).expect("logging set up in the data folder");
    let mut seen = Seen::default();

    let sb = Sandbox::start(
        SandboxConfig {
            keys: vec![SandboxKey::full(key.clone())],
            job_processing: std::time::Duration::from_millis(30),
            ..SandboxConfig::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();

    let state = AppState::open(data.path(), Arc::new(KeyringStore::new()));
    let app = segport_lib::setup(mock_builder(), state)
        .build(mock_context(noop_assets()))
        .unwrap();
    let w = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();

    let inputs = tempfile::tempdir().unwrap();
    let csv = inputs.path().join("customers.csv");
    std::fs::write(
        &csv,
        "Email,Name\nada@example.com,Ada\nbroken,Bob\ngrace@example.com,Grace\n",
    )
    .unwrap();
    std::env::set_var("SEGPORT_TEST_PICK_FILE", &csv);
    let picked = invoke(&w, &mut seen, "pick_source_file", json!({})).unwrap();
    let seg = invoke(
        &w,
        &mut seen,
        "add_file_segment",
        json!({"path": picked["path"], "kind": "csv", "table": null}),
    )
    .unwrap();

    // A connection with the key, verified, its lists browsed.
    let c = invoke(
        &w,
        &mut seen,
        "save_connection",
        json!({"input": {"id": null, "name": "Sandbox", "baseUrl": sb.base_url(),
            "usableBy": "admins", "apiKey": key, "consent": true, "exportUser": null}}),
    )
    .unwrap();
    let cid = c["id"].as_str().unwrap().to_string();
    let v = invoke(&w, &mut seen, "verify_connection", json!({"id": cid})).unwrap();
    assert_eq!(v["verified"]["accountName"], "Segport Sandbox");
    invoke(
        &w,
        &mut seen,
        "list_klaviyo_lists",
        json!({"connectionId": cid}),
    )
    .unwrap();

    // An export that works (with a rejected row) and one aimed at a list that does not exist.
    let list_id = sb.create_list("Customers");
    let save = |name: &str, list: &str, seen: &mut Seen| {
        let e = invoke(
            &w,
            seen,
            "save_export",
            json!({"input": {"id": null, "name": name, "connectionId": cid,
                "segmentId": seg["id"], "listId": list, "mapping": {"email": "Email"},
                "mode": "upsert", "schedule": {"kind": "manual"}}}),
        )
        .unwrap();
        e["id"].as_str().unwrap().to_string()
    };
    let good = save("Good", &list_id, &mut seen);
    let wrong_list = save("Wrong list", "XXXXXX", &mut seen);
    let run = |id: &str, seen: &mut Seen| {
        invoke(
            &w,
            seen,
            "run_export",
            json!({"exportId": id, "onEvent": "__CHANNEL__:7"}),
        )
    };
    let ok = run(&good, &mut seen).unwrap();
    assert_eq!(ok["run"]["status"], "partial");
    let failed = run(&wrong_list, &mut seen);
    let failed_status = failed.as_ref().map(|s| s["run"]["status"].clone());
    assert!(
        failed.is_err() || failed_status == Ok(json!("failed")),
        "a wrong list id fails the run: {failed:?}"
    );

    // The key is revoked: verify and run get 401s.
    sb.revoke_key(&key);
    let e = invoke(&w, &mut seen, "verify_connection", json!({"id": cid})).unwrap_err();
    assert_eq!(e["code"], "klaviyo.key_rejected");
    let after = run(&good, &mut seen);
    assert!(
        after.is_err() || after.as_ref().unwrap()["run"]["status"] == "failed",
        "a revoked key fails the run: {after:?}"
    );
    for (cmd, args) in [
        ("app_info", json!({})),
        ("list_connections", json!({})),
        ("list_exports", json!({})),
        ("list_runs", json!({"exportId": null})),
        ("list_sources", json!({})),
        ("list_segments", json!({})),
        ("suggest_mapping", json!({"segmentId": seg["id"]})),
        (
            "preview_mapping",
            json!({"segmentId": seg["id"], "mapping": {"email": "Email"}}),
        ),
        (
            "preview_segment",
            json!({"sourceId": seg["sourceId"], "filter": null}),
        ),
    ] {
        invoke(&w, &mut seen, cmd, args).unwrap();
    }

    // The config export, and errors' Display/Debug, from the core and the client.
    let ws = segport_core::workspace::Workspace::open(data.path(), Arc::new(KeyringStore::new()))
        .unwrap();
    let exported = segport_core::config::export(&ws).unwrap();
    assert!(exported.contains("Good"), "the export holds the config");
    seen.add("config export", exported);
    let core_err = ws.verify_connection(&cid).await.unwrap_err();
    seen.add("CoreError", format!("{core_err} {core_err:?}"));
    let client =
        segport_klaviyo::Client::new(&sb.base_url(), segport_klaviyo::ApiKey::new(key.clone()))
            .unwrap();
    let api_err = client.get_account().await.unwrap_err();
    assert_eq!(api_err.code(), "klaviyo.key_rejected");
    seen.add("klaviyo::Error", format!("{api_err} {api_err:?}"));
    seen.add("Client", format!("{client:?}"));

    // Scan, while the app still holds the database open (the -wal is not checkpointed yet).
    let mut on_disk = Vec::new();
    files(data.path(), &mut on_disk);
    let names: Vec<&str> = on_disk.iter().map(|(p, _)| p.as_str()).collect();
    assert!(names.iter().any(|p| p.ends_with("segport.db")), "{names:?}");
    let logs: Vec<&(String, Vec<u8>)> = on_disk
        .iter()
        .filter(|(p, _)| p.contains("/logs/") && p.ends_with(".log"))
        .collect();
    assert!(!logs.is_empty(), "log files written: {names:?}");
    let log_text: String = logs
        .iter()
        .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
        .collect();
    assert!(
        log_text.contains("run finished") && log_text.contains("klaviyo.key_rejected"),
        "the log tells support what happened: {log_text}"
    );
    // The redaction is a safety net only: nothing may even try to log the key.
    assert!(
        !log_text.contains(segport_core::logging::REDACTED),
        "something tried to log a key: {log_text}"
    );
    // No personal data either: the rows' emails and names stay out of the logs.
    for pii in ["ada@example.com", "grace@example.com", "Grace", "broken"] {
        assert!(!log_text.contains(pii), "the log holds {pii}: {log_text}");
    }

    let mut leaks = Vec::new();
    for (path, bytes) in &on_disk {
        if contains(bytes, key.as_bytes()) {
            leaks.push(format!("file {path}"));
        }
    }
    for (what, text) in &seen.0 {
        if text.contains(&key) {
            leaks.push(format!("{what}: {text}"));
        }
    }
    assert!(
        seen.0.len() > 15,
        "the scan saw the answers: {}",
        seen.0.len()
    );
    assert!(leaks.is_empty(), "the key leaked into: {leaks:#?}");
    drop(app);
}
