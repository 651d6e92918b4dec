//! The app's commands driven as the web view drives them (tauri::test's mock runtime), against
//! a real SQLite file, keyring's mock keychain and the sandbox over real HTTP.

use segport_sandbox::{Sandbox, SandboxConfig, SandboxKey};
use serde_json::{json, Value};

const KEY: &str = "pk_commandtestkey_needle_000000000000";

mod common;
use common::{app, App};

/// Invoke a command as the web view does; the key never comes back.
fn invoke(app: &App, cmd: &str, args: Value) -> Result<Value, Value> {
    common::invoke_checked(app, cmd, args, KEY)
}

async fn sandbox() -> Sandbox {
    Sandbox::start(
        SandboxConfig {
            keys: vec![SandboxKey::full(KEY)],
            job_processing: std::time::Duration::from_millis(30),
            ..SandboxConfig::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap()
}

fn connection(base_url: &str, key: Option<&str>, consent: bool) -> Value {
    json!({"input": {"id": null, "name": "Sandbox", "baseUrl": base_url, "usableBy": "admins",
        "apiKey": key, "consent": consent, "exportUser": null}})
}

#[test]
fn app_info_offers_the_demo_when_nothing_is_configured() {
    let app = app();
    let info = invoke(&app, "app_info", json!({})).unwrap();
    assert_eq!(info["demoAvailable"], true);
    assert_eq!(info["role"], "admin");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_is_saved_verified_and_reports_only_that_a_key_is_stored() {
    let app = app();
    let sb = sandbox().await;
    let err = invoke(
        &app,
        "save_connection",
        connection(&sb.base_url(), Some(KEY), false),
    )
    .unwrap_err();
    assert_eq!(err["code"], "invalid_input");
    assert!(err["message"].as_str().unwrap().contains("I agree"));

    let c = invoke(
        &app,
        "save_connection",
        connection(&sb.base_url(), Some(KEY), true),
    )
    .unwrap();
    assert_eq!(c["keyStored"], true);
    assert!(c["consent"]["by"].as_str().is_some());
    assert_eq!(c["usable"], true);

    let id = c["id"].as_str().unwrap().to_string();
    let app2 = &app;
    let v = tokio::task::block_in_place(|| invoke(app2, "verify_connection", json!({"id": id})))
        .unwrap();
    assert_eq!(v["verified"]["accountName"], "Segport Sandbox");

    let list = invoke(&app, "list_connections", json!({})).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    invoke(&app, "delete_connection", json!({"id": id})).unwrap();
    assert!(invoke(&app, "list_connections", json!({}))
        .unwrap()
        .as_array()
        .unwrap()
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_key_gets_a_clear_message() {
    let app = app();
    let sb = sandbox().await;
    let c = invoke(
        &app,
        "save_connection",
        connection(&sb.base_url(), Some("pk_notthesandboxkey000000000"), true),
    )
    .unwrap();
    let id = c["id"].as_str().unwrap().to_string();
    let err = tokio::task::block_in_place(|| invoke(&app, "verify_connection", json!({"id": id})))
        .unwrap_err();
    assert_eq!(err["code"], "klaviyo.key_rejected");
    assert!(err["message"].as_str().unwrap().contains("key"));
}

#[test]
fn paths_the_user_did_not_pick_are_refused() {
    let app = app();
    for (cmd, args) in [
        (
            "add_file_segment",
            json!({"path": "/etc/passwd", "kind": "csv", "table": null}),
        ),
        (
            "save_source",
            json!({"input": {"id": null, "name": "p", "kind": "csv", "path": "/etc/passwd", "table": null}}),
        ),
    ] {
        let err = invoke(&app, cmd, args).unwrap_err();
        assert_eq!(err["code"], "invalid_input", "{cmd}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn save_does_not_run_and_run_export_records_the_run() {
    let app = app();
    let sb = sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("c.csv");
    std::fs::write(
        &csv,
        "Email,Name,orders\nada@example.com,Ada,1\nbroken,Bob,2\ngrace@example.com,Grace,3\n",
    )
    .unwrap();
    std::env::set_var("SEGPORT_TEST_PICK_FILE", &csv);
    let picked =
        tokio::task::block_in_place(|| invoke(&app, "pick_source_file", json!({}))).unwrap();
    assert_eq!(picked["kind"], "csv");
    let seg = invoke(
        &app,
        "add_file_segment",
        json!({"path": picked["path"], "kind": "csv", "table": null}),
    )
    .unwrap();
    // The rule builder hears of a value that does not fit its column before anything is saved.
    let rule = json!({"kind": "rule", "column": "orders", "cmp": "gt", "value": "1,5"});
    let problems = invoke(
        &app,
        "check_segment_rules",
        json!({"sourceId": seg["sourceId"], "filter": rule}),
    )
    .unwrap();
    assert_eq!(problems[0]["column"], "orders");
    assert_eq!(problems[0]["value"], "1,5");
    assert!(problems[0]["message"].as_str().unwrap().contains("1.5"));
    let err = invoke(
        &app,
        "save_segment",
        json!({"input": {"id": null, "name": "Decimal comma", "sourceId": seg["sourceId"], "filter": rule}}),
    )
    .unwrap_err();
    assert_eq!(err["code"], "segment.filter_invalid");
    let suggestion = invoke(&app, "suggest_mapping", json!({"segmentId": seg["id"]})).unwrap();
    let mapping = suggestion["mapping"].clone();
    assert_eq!(mapping["email"], "Email");
    assert_eq!(suggestion["phoneHint"], json!(null));
    let preview = tokio::task::block_in_place(|| {
        invoke(
            &app,
            "preview_mapping",
            json!({"segmentId": seg["id"], "mapping": mapping}),
        )
    })
    .unwrap();
    let profiles = preview["profiles"].as_array().unwrap();
    assert_eq!(profiles.len(), 3);
    assert!(profiles[0]["profile"]
        .as_str()
        .unwrap()
        .contains("\"email\": \"ada@example.com\""));
    assert_eq!(profiles[1]["line"], 3);
    assert!(profiles[1]["reject"].as_str().unwrap().contains("broken"));

    let c = invoke(
        &app,
        "save_connection",
        connection(&sb.base_url(), Some(KEY), true),
    )
    .unwrap();
    let list_id = sb.create_list("L");
    let e = invoke(
        &app,
        "save_export",
        json!({"input": {"id": null, "name": "E", "connectionId": c["id"],
        "segmentId": seg["id"], "listId": list_id, "mapping": mapping,
        "mode": "upsert", "schedule": {"kind": "manual"}}}),
    )
    .unwrap();
    assert_eq!(
        sb.request_count("POST /api/profile-bulk-import-jobs"),
        0,
        "save must not run"
    );
    assert!(e["lastRun"].is_null());

    let id = e["id"].as_str().unwrap().to_string();
    let summary = tokio::task::block_in_place(|| {
        invoke(
            &app,
            "run_export",
            json!({"exportId": id, "onEvent": "__CHANNEL__:7"}),
        )
    })
    .unwrap();
    assert_eq!(summary["run"]["status"], "partial");
    assert_eq!(summary["run"]["counts"]["imported"], 2);
    assert_eq!(summary["rejects"][0]["line"], 3);
    assert_eq!(
        sb.list_members(&list_id),
        vec!["ada@example.com", "grace@example.com"]
    );
    let runs = invoke(&app, "list_runs", json!({"exportId": null})).unwrap();
    assert_eq!(runs[0]["trigger"], "manual");
}
