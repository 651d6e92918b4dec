//! The demo across an app restart (mock runtime, real SQLite file, keyring's mock keychain kept
//! across the restart as the OS keeps it, the in-process sandbox over real HTTP): the demo list
//! still exists with its members and a run after the restart agrees with it; a demo connection
//! the user re-pointed at Klaviyo, and lists the user typed, are left alone.

mod common;

use segport_core::secrets::{use_mock_keychain, KeyringStore, SecretStore};
use segport_lib::AppState;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;
use tauri::test::MockRuntime;
use tauri::{Manager, WebviewWindow};

struct App {
    app: tauri::App<MockRuntime>,
    window: WebviewWindow<MockRuntime>,
}

/// The app on `dir` with this keychain (what survives a restart: the folder and the keychain).
fn open(dir: &Path, keychain: &Arc<KeyringStore>) -> App {
    let secrets: Arc<dyn SecretStore> = keychain.clone();
    let (app, window) = common::app_on(dir, secrets);
    App { app, window }
}

fn invoke(app: &App, cmd: &str, args: Value) -> Result<Value, Value> {
    common::invoke_on(&app.window, cmd, args)
}

fn block<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

/// The app's exit as the desktop app does it (the sandbox's state written a last time), then
/// the process gone: the sandbox and the app state dropped.
async fn exit(app: App) {
    {
        let state = app.app.state::<AppState>();
        segport_lib::demo::save_on_exit(&state);
        drop(state.demo.lock().await.take());
    }
    drop(app);
}

async fn restart(dir: &Path, keychain: &Arc<KeyringStore>) -> App {
    let app = open(dir, keychain);
    segport_lib::demo::restore(&app.app.state::<AppState>())
        .await
        .unwrap();
    app
}

/// The demo sandbox's members of a list (None: no sandbox running).
async fn members(app: &App, list_id: &str) -> Option<Vec<String>> {
    let state = app.app.state::<AppState>();
    let demo = state.demo.lock().await;
    demo.as_ref().map(|sb| sb.list_members(list_id))
}

fn connection(app: &App) -> Value {
    invoke(app, "list_connections", json!({})).unwrap()[0].clone()
}

/// Consent, as the user gives it in the connection form (the base URL unchanged).
fn give_consent(app: &App, conn: &Value) {
    invoke(
        app,
        "save_connection",
        json!({"input": {"id": conn["id"], "name": conn["name"], "baseUrl": conn["baseUrl"],
            "usableBy": "admins", "apiKey": null, "consent": true, "exportUser": null}}),
    )
    .unwrap();
}

fn run(app: &App, export_id: &Value) -> Value {
    block(|| {
        invoke(
            app,
            "run_export",
            json!({"exportId": export_id, "onEvent": "__CHANNEL__:7"}),
        )
    })
    .unwrap()
}

fn export(app: &App, id: &Value) -> Value {
    invoke(app, "list_exports", json!({}))
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == *id)
        .unwrap()
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restart_the_demo_list_keeps_its_members_and_a_run_agrees_with_it() {
    use_mock_keychain();
    let keychain = Arc::new(KeyringStore::new());
    let dir = tempfile::tempdir().unwrap();

    let app = open(dir.path(), &keychain);
    let demo = block(|| invoke(&app, "start_demo", json!({}))).unwrap();
    give_consent(&app, &connection(&app));
    let first = run(&app, &demo["exportId"]);
    assert_eq!(first["run"]["status"], "partial", "{}", first["run"]);
    let list_id = export(&app, &demo["exportId"])["listId"]
        .as_str()
        .unwrap()
        .to_string();
    let imported = first["run"]["counts"]["imported"].as_u64().unwrap();
    let valid = members(&app, &list_id).await.unwrap();
    assert_eq!(valid.len() as u64, imported);
    assert_eq!(
        imported + first["run"]["counts"]["rejected"].as_u64().unwrap(),
        segport_lib::demo::DEMO_ROWS
    );
    exit(app).await;

    let app = restart(dir.path(), &keychain).await;
    assert_eq!(
        members(&app, &list_id).await.as_deref(),
        Some(&valid[..]),
        "the demo list is there with its members after the restart"
    );
    let conn = connection(&app);
    assert_eq!(conn["keyStored"], true);
    assert_eq!(conn["usable"], true);
    let second = run(&app, &demo["exportId"]);
    assert_eq!(second["run"]["status"], "partial", "{}", second["run"]);
    assert_eq!(
        second["run"]["counts"]["unchanged"].as_u64().unwrap(),
        imported,
        "the delta state agrees with the sandbox: nothing needs sending again"
    );
    assert_eq!(
        members(&app, &list_id).await.unwrap(),
        valid,
        "exactly the valid rows"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_never_creates_a_list_the_user_typed_nor_renames_one() {
    use_mock_keychain();
    let keychain = Arc::new(KeyringStore::new());
    let dir = tempfile::tempdir().unwrap();

    let app = open(dir.path(), &keychain);
    let demo = block(|| invoke(&app, "start_demo", json!({}))).unwrap();
    let conn = connection(&app);
    give_consent(&app, &conn);
    let demo_list = export(&app, &demo["exportId"])["listId"].clone();
    // The user points the demo export at a list ID they typed (not in the sandbox).
    let mut e = export(&app, &demo["exportId"]);
    let input = json!({"input": {"id": e["id"], "name": e["name"], "segmentId": e["segmentId"],
        "connectionId": e["connectionId"], "listId": "Typed1", "mapping": e["mapping"],
        "mode": e["mode"], "schedule": e["schedule"]}});
    e = invoke(&app, "save_export", input).unwrap();
    assert_eq!(e["listId"], "Typed1");
    exit(app).await;

    let app = restart(dir.path(), &keychain).await;
    let lists = block(|| {
        invoke(
            &app,
            "list_klaviyo_lists",
            json!({"connectionId": conn["id"]}),
        )
    })
    .unwrap();
    let lists: Vec<(String, String)> = lists["lists"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["id"].as_str().unwrap().to_string(),
                l["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        lists,
        vec![(
            demo_list.as_str().unwrap().to_string(),
            "Segport demo".into()
        )],
        "only the demo's own list, as it was"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demo_connection_re_pointed_at_klaviyo_is_left_untouched_by_restore() {
    use_mock_keychain();
    let keychain = Arc::new(KeyringStore::new());
    let dir = tempfile::tempdir().unwrap();
    let real_key = "pk_theusersrealklaviyokey00000000";

    let app = open(dir.path(), &keychain);
    block(|| invoke(&app, "start_demo", json!({}))).unwrap();
    let conn = connection(&app);
    let moved = invoke(
        &app,
        "save_connection",
        json!({"input": {"id": conn["id"], "name": "My Klaviyo", "baseUrl": "https://a.klaviyo.com",
            "usableBy": "admins", "apiKey": real_key, "consent": true, "exportUser": null}}),
    )
    .unwrap();
    exit(app).await;

    let app = restart(dir.path(), &keychain).await;
    assert!(
        app.app.state::<AppState>().demo.lock().await.is_none(),
        "no sandbox started with the user's key"
    );
    let after = connection(&app);
    assert_eq!(after["baseUrl"], "https://a.klaviyo.com");
    assert_eq!(after, moved, "the connection is as the user saved it");
    assert_eq!(
        keychain
            .get(conn["id"].as_str().unwrap())
            .unwrap()
            .unwrap()
            .expose(),
        real_key
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demo_sandbox_that_starts_empty_forgets_what_was_sent_and_the_next_run_fills_the_list() {
    use_mock_keychain();
    let keychain = Arc::new(KeyringStore::new());
    let dir = tempfile::tempdir().unwrap();

    let app = open(dir.path(), &keychain);
    let demo = block(|| invoke(&app, "start_demo", json!({}))).unwrap();
    give_consent(&app, &connection(&app));
    let first = run(&app, &demo["exportId"]);
    let list_id = export(&app, &demo["exportId"])["listId"]
        .as_str()
        .unwrap()
        .to_string();
    let valid = members(&app, &list_id).await.unwrap();
    exit(app).await;
    // No state to take up (a demo made by an older Segport, or a file that could not be read).
    std::fs::write(dir.path().join("demo").join("sandbox.json"), "not json").unwrap();

    let app = restart(dir.path(), &keychain).await;
    assert_eq!(members(&app, &list_id).await.as_deref(), Some(&[][..]));
    let second = run(&app, &demo["exportId"]);
    assert_eq!(second["run"]["counts"]["unchanged"], 0, "{}", second["run"]);
    assert_eq!(
        second["run"]["counts"]["imported"],
        first["run"]["counts"]["imported"]
    );
    assert_eq!(members(&app, &list_id).await.unwrap(), valid);
}
