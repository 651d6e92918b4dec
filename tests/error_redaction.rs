//! A server that echoes the API key in an error detail (a misbehaving proxy, or an API that
//! quotes what it was sent): the key never reaches the web view's error payload, the run's
//! recorded error, or the SQLite file.

mod common;

use common::{app, invoke_checked};
use serde_json::{json, Value};

const KEY: &str = "pk_echoedbackkey_needle_0000000000";

fn invoke(app: &common::App, cmd: &str, args: Value) -> Result<Value, Value> {
    invoke_checked(app, cmd, args, KEY)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_klaviyo_error_that_echoes_the_key_never_shows_it_in_the_ipc_payload_or_the_runs() {
    let app = app();
    // Every API answer is a JSON:API 400 whose detail quotes the request's key.
    let faults = vec!["*=echo_key@1".parse().unwrap()];
    let config = segport_sandbox::SandboxConfig {
        faults,
        ..Default::default()
    };
    let sandbox = segport_sandbox::Sandbox::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let base_url = sandbox.base_url();
    let c = invoke(
        &app,
        "save_connection",
        json!({"input": {"id": null, "name": "Echo", "baseUrl": base_url, "usableBy": "admins",
            "apiKey": KEY, "consent": true, "exportUser": null}}),
    )
    .unwrap();

    // Connect: the payload says what Klaviyo said, without the key (invoke_checked asserts it).
    let id = c["id"].as_str().unwrap().to_string();
    let err = tokio::task::block_in_place(|| invoke(&app, "verify_connection", json!({"id": id})))
        .unwrap_err();
    let message = err["message"].as_str().unwrap();
    assert!(
        message.contains("cannot be used for this request"),
        "{message}"
    );
    assert!(message.contains("pk_***"), "{message}");

    // A run: its error payload and its recorded error.
    let csv = app.dir.path().join("people.csv");
    std::fs::write(&csv, "email\nada@example.com\n").unwrap();
    std::env::set_var("SEGPORT_TEST_PICK_FILE", &csv);
    let picked =
        tokio::task::block_in_place(|| invoke(&app, "pick_source_file", json!({}))).unwrap();
    let seg = invoke(
        &app,
        "add_file_segment",
        json!({"path": picked["path"], "kind": "csv", "table": null}),
    )
    .unwrap();
    let e = invoke(
        &app,
        "save_export",
        json!({"input": {"id": null, "name": "E", "connectionId": c["id"],
        "segmentId": seg["id"], "listId": "AbC123", "mapping": {"email": "email"},
        "mode": "upsert", "schedule": {"kind": "manual"}}}),
    )
    .unwrap();
    let err = tokio::task::block_in_place(|| {
        invoke(
            &app,
            "run_export",
            json!({"exportId": e["id"], "onEvent": "__CHANNEL__:7"}),
        )
    })
    .unwrap_err();
    assert!(err["message"].as_str().unwrap().contains("pk_***"), "{err}");
    let runs = invoke(&app, "list_runs", json!({"exportId": null})).unwrap();
    assert_eq!(runs[0]["status"], "failed");
    let recorded = runs[0]["error"].as_str().unwrap();
    assert!(
        recorded.contains("cannot be used for this request"),
        "{recorded}"
    );

    // Nor is it anywhere in the database file.
    let mut bytes = std::fs::read(app.dir.path().join("segport.db")).unwrap();
    if let Ok(wal) = std::fs::read(app.dir.path().join("segport.db-wal")) {
        bytes.extend(wal);
    }
    assert!(!bytes.windows(KEY.len()).any(|w| w == KEY.as_bytes()));
}
