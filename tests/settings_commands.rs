//! The Settings and History commands driven as the web view drives them (tauri::test's mock
//! runtime), against a real SQLite file, keyring's mock keychain and the sandbox over real HTTP.

use segport_sandbox::{Sandbox, SandboxConfig, SandboxKey};
use serde_json::{json, Value};

const KEY: &str = "pk_settingstestkey_needle_0000000000";

mod common;
use common::{app, App};

/// Invoke a command as the web view does; the key never comes back.
fn invoke(app: &App, cmd: &str, args: Value) -> Result<Value, Value> {
    common::invoke_checked(app, cmd, args, KEY)
}

fn connection(name: &str, base_url: &str, usable_by: &str) -> Value {
    json!({"input": {"id": null, "name": name, "baseUrl": base_url, "usableBy": usable_by,
        "apiKey": KEY, "consent": true, "exportUser": null}})
}

#[test]
fn settings_show_the_operator_and_the_data_and_logs_folders() {
    let app = app();
    let s = invoke(&app, "get_settings", json!({})).unwrap();
    assert_eq!(s["role"], "admin", "a new workspace's operator is an admin");
    assert!(!s["operator"].as_str().unwrap().is_empty());
    let data_dir = app.dir.path().to_string_lossy().into_owned();
    assert_eq!(s["dataDir"], data_dir.as_str());
    assert_eq!(
        s["logsDir"],
        app.dir.path().join("logs").to_string_lossy().as_ref()
    );
}

#[test]
fn saved_settings_are_what_app_info_reports_and_a_blank_name_keeps_the_name() {
    let app = app();
    let s = invoke(
        &app,
        "save_settings",
        json!({"input": {"operator": "  Ada  ", "role": "contributor"}}),
    )
    .unwrap();
    assert_eq!(s["operator"], "Ada");
    assert_eq!(s["role"], "contributor");
    let info = invoke(&app, "app_info", json!({})).unwrap();
    assert_eq!(info["operator"], "Ada");
    assert_eq!(info["role"], "contributor");

    let s = invoke(
        &app,
        "save_settings",
        json!({"input": {"operator": "   ", "role": "admin"}}),
    )
    .unwrap();
    assert_eq!(s["operator"], "Ada");
    assert_eq!(s["role"], "admin");

    // An unknown role never reaches the workspace (Tauri refuses the arguments) and changes nothing.
    invoke(
        &app,
        "save_settings",
        json!({"input": {"operator": "Eve", "role": "owner"}}),
    )
    .unwrap_err();
    let s = invoke(&app, "get_settings", json!({})).unwrap();
    assert_eq!(
        (s["operator"].as_str(), s["role"].as_str()),
        (Some("Ada"), Some("admin"))
    );
}

#[test]
fn a_contributor_sees_only_shared_connections_and_cannot_change_them() {
    let app = app();
    let private = invoke(
        &app,
        "save_connection",
        connection("Admins only", "http://127.0.0.1:9", "admins"),
    )
    .unwrap();
    let shared = invoke(
        &app,
        "save_connection",
        connection("Shared", "http://127.0.0.1:9", "contributors"),
    )
    .unwrap();
    invoke(
        &app,
        "save_settings",
        json!({"input": {"operator": "Bob", "role": "contributor"}}),
    )
    .unwrap();

    let list = invoke(&app, "list_connections", json!({})).unwrap();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["Shared"]);

    let err = invoke(
        &app,
        "save_connection",
        connection("New", "http://127.0.0.1:9", "contributors"),
    )
    .unwrap_err();
    assert_eq!(err["code"], "forbidden");
    assert!(err["message"].as_str().unwrap().contains("Settings"));
    for id in [&private["id"], &shared["id"]] {
        let err = invoke(&app, "delete_connection", json!({"id": id})).unwrap_err();
        assert_eq!(err["code"], "forbidden");
    }
}

#[test]
fn details_and_rejects_of_an_unknown_run_are_not_found() {
    let app = app();
    let err = invoke(&app, "run_summary", json!({"runId": "nope"})).unwrap_err();
    assert_eq!(err["code"], "not_found");
    let err = invoke(&app, "save_rejects_csv", json!({"runId": "nope"})).unwrap_err();
    assert_eq!(err["code"], "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_details_and_every_reject_saved_as_csv() {
    let app = app();
    let sb = Sandbox::start(
        SandboxConfig {
            keys: vec![SandboxKey::full(KEY)],
            job_processing: std::time::Duration::from_millis(30),
            ..SandboxConfig::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let files = tempfile::tempdir().unwrap();
    let csv = files.path().join("c.csv");
    // 250 bad rows: more than the 200 the details show, all of them in the saved file.
    let mut text = String::from("Email,Name\nada@example.com,Ada\n");
    for i in 0..250 {
        text.push_str(&format!("broken{i},\"Bob, {i}\"\n"));
    }
    text.push_str("grace@example.com,Grace\n");
    std::fs::write(&csv, text).unwrap();
    std::env::set_var("SEGPORT_TEST_PICK_FILE", &csv);
    let picked =
        tokio::task::block_in_place(|| invoke(&app, "pick_source_file", json!({}))).unwrap();
    let seg = invoke(
        &app,
        "add_file_segment",
        json!({"path": picked["path"], "kind": "csv", "table": null}),
    )
    .unwrap();

    let c = invoke(
        &app,
        "save_connection",
        connection("Sandbox", &sb.base_url(), "admins"),
    )
    .unwrap();
    let list_id = sb.create_list("L");
    let e = invoke(
        &app,
        "save_export",
        json!({"input": {"id": null, "name": "E", "connectionId": c["id"],
        "segmentId": seg["id"], "listId": list_id, "mapping": {"email": "Email"},
        "mode": "upsert", "schedule": {"kind": "manual"}}}),
    )
    .unwrap();
    let summary = tokio::task::block_in_place(|| {
        invoke(
            &app,
            "run_export",
            json!({"exportId": e["id"], "onEvent": "__CHANNEL__:7"}),
        )
    })
    .unwrap();
    let run_id = summary["run"]["id"].as_str().unwrap().to_string();

    let details = invoke(&app, "run_summary", json!({"runId": run_id})).unwrap();
    assert_eq!(details["run"]["status"], "partial");
    assert_eq!(details["run"]["trigger"], "manual");
    assert_eq!(details["run"]["counts"]["imported"], 2);
    assert_eq!(details["run"]["counts"]["rejected"], 250);
    assert_eq!(details["rejectsTotal"], 250);
    assert_eq!(details["rejects"].as_array().unwrap().len(), 200);
    assert_eq!(details["rejects"][0]["line"], 3);

    let out = files.path().join("rejects.csv");
    std::env::set_var("SEGPORT_TEST_SAVE_FILE", &out);
    let saved =
        tokio::task::block_in_place(|| invoke(&app, "save_rejects_csv", json!({"runId": run_id})))
            .unwrap();
    assert_eq!(saved["rows"], 250);
    assert_eq!(saved["path"], out.to_string_lossy().as_ref());

    let mut reader = csv_reader(&out);
    let headers: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(headers, ["line", "identifier", "reason"]);
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    assert_eq!(rows.len(), 250);
    assert_eq!(rows[0][0], "3");
    assert_eq!(rows[0][1], "broken0");
    assert!(!rows[0][2].is_empty(), "each reject says why");
    assert_eq!(rows[249][0], "252");
}

fn csv_reader(path: &std::path::Path) -> csv::Reader<std::fs::File> {
    csv::Reader::from_path(path).unwrap()
}
