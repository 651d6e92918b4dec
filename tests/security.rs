//! The web view's reach: the app's real capability set (compiled by the build script from
//! src-tauri/capabilities/ and the app manifest in src-tauri/build.rs) drives tauri's mock
//! runtime, so what is not granted is refused exactly as in the real window. Plus: the
//! registered commands, the app manifest and the grant all follow from the one table in
//! src-tauri/src/commands/registry.rs, the CSP stays strict, and the app still opens with no
//! keychain.

use segport_core::secrets::{use_mock_keychain, KeyringStore};
use segport_lib::AppState;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use tauri::ipc::{CallbackFn, InvokeBody, Origin};
use tauri::test::{mock_builder, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{Manager, WebviewWindow};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(rel)).unwrap()
}

/// The app as built, with its real capabilities, on the mock runtime.
fn real_acl_app(dir: &Path) -> tauri::App<MockRuntime> {
    let state = AppState::open(dir, Arc::new(KeyringStore::new()));
    segport_lib::setup(mock_builder(), state)
        .build(tauri::generate_context!(test = true))
        .unwrap()
}

fn window(app: &tauri::App<MockRuntime>, label: &str) -> WebviewWindow<MockRuntime> {
    match app.get_webview_window(label) {
        Some(w) => w,
        None => tauri::WebviewWindowBuilder::new(app, label, Default::default())
            .build()
            .unwrap(),
    }
}

fn invoke(
    window: &WebviewWindow<MockRuntime>,
    url: &str,
    cmd: &str,
    args: Value,
) -> Result<Value, Value> {
    tauri::test::get_ipc_response(
        window,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: url.parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|b| b.deserialize::<Value>().unwrap())
}

fn assert_refused(res: Result<Value, Value>, what: &str) {
    match res {
        Ok(v) => panic!("{what} was allowed: {v}"),
        Err(e) => {
            let text = e.to_string();
            assert!(text.contains("not allowed"), "{what}: {text}");
        }
    }
}

const LOCAL: &str = "tauri://localhost";

#[test]
fn the_main_window_may_call_segports_commands_and_nothing_else() {
    use_mock_keychain();
    let dir = tempfile::tempdir().unwrap();
    let app = real_acl_app(dir.path());
    let main = window(&app, "main");

    // Granted: Segport's own commands.
    let info = invoke(&main, LOCAL, "app_info", json!({})).expect("app_info is granted");
    assert_eq!(info["demoAvailable"], true);
    assert_eq!(
        invoke(&main, LOCAL, "list_connections", json!({})).unwrap(),
        json!([])
    );

    // Plugins are used from Rust only: the web view cannot open dialogs or files, notify, or
    // open paths/URLs itself.
    for (cmd, args) in [
        ("plugin:dialog|open", json!({"options": {}})),
        ("plugin:dialog|save", json!({"options": {}})),
        ("plugin:dialog|message", json!({"message": "hi"})),
        ("plugin:opener|open_path", json!({"path": "/etc/passwd"})),
        (
            "plugin:opener|open_url",
            json!({"url": "https://example.com"}),
        ),
        (
            "plugin:notification|notify",
            json!({"options": {"title": "x"}}),
        ),
        ("plugin:fs|read_file", json!({"path": "/etc/passwd"})),
    ] {
        assert_refused(invoke(&main, LOCAL, cmd, args), cmd);
    }
    // A command nobody registered is refused by the ACL, not merely unknown.
    assert_refused(
        invoke(
            &main,
            LOCAL,
            "read_any_file",
            json!({"path": "/etc/passwd"}),
        ),
        "an unregistered command",
    );
}

#[test]
fn app_commands_are_refused_to_other_windows_and_to_remote_pages() {
    use_mock_keychain();
    let dir = tempfile::tempdir().unwrap();
    let app = real_acl_app(dir.path());
    // Before the app manifest, every window could call every app command.
    let other = window(&app, "other");
    assert_refused(
        invoke(&other, LOCAL, "app_info", json!({})),
        "app_info from another window",
    );
    assert_refused(
        invoke(&other, LOCAL, "list_connections", json!({})),
        "list_connections from another window",
    );
    // A page from the internet in the main window (say, after a navigation) reaches nothing.
    let main = window(&app, "main");
    assert_refused(
        invoke(&main, "https://evil.example/", "app_info", json!({})),
        "app_info from a remote page",
    );
    assert!(invoke(&main, LOCAL, "app_info", json!({})).is_ok());
}

/// The commands `generate_handler!` registers: lib.rs expands the table of
/// src-tauri/src/commands/registry.rs into it, and into `commands::COMMANDS`.
fn registered_commands() -> BTreeSet<String> {
    segport_lib::commands::COMMANDS
        .iter()
        .map(|c| c.to_string())
        .collect()
}

/// The permissions of the `app-commands` set that src-tauri/build.rs writes from its
/// `APP_COMMANDS` (the app manifest, the same table) into OUT_DIR.
fn app_commands_set() -> Vec<String> {
    let path = Path::new(env!("OUT_DIR")).join("app-permissions/commands.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("identifier = \"app-commands\""), "{text}");
    let list = &text[text.find("permissions = [").expect("a permissions list")..];
    let list = &list[..list.find(']').unwrap()];
    list.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// The names in build.rs's `APP_COMMANDS`, read back from the set it grants.
fn manifest_commands() -> BTreeSet<String> {
    app_commands_set()
        .iter()
        .map(|p| {
            p.strip_prefix("allow-")
                .unwrap_or_else(|| panic!("{p} is not an allow- permission"))
                .replace('-', "_")
        })
        .collect()
}

fn granted_permissions() -> Vec<String> {
    let cap: Value = serde_json::from_str(&read("src-tauri/capabilities/default.json")).unwrap();
    assert_eq!(cap["windows"], json!(["main"]));
    assert!(cap.get("remote").is_none(), "no remote URL may use the IPC");
    cap["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p.as_str()
                .expect("plain permission identifiers")
                .to_string()
        })
        .collect()
}

#[test]
fn every_registered_command_is_in_the_manifest_and_granted_and_nothing_more() {
    let registered = registered_commands();
    assert!(
        registered.contains("app_info") && registered.len() > 10,
        "{registered:?}"
    );
    let manifest = manifest_commands();
    assert_eq!(
        registered, manifest,
        "src-tauri/build.rs APP_COMMANDS must list exactly the commands registered in lib.rs"
    );
    let granted = granted_permissions();
    let granted_set: BTreeSet<String> = granted.iter().cloned().collect();
    assert_eq!(
        granted.len(),
        granted_set.len(),
        "a permission is listed twice"
    );
    assert_eq!(
        granted_set,
        BTreeSet::from(["core:default".to_string(), "app-commands".to_string()]),
        "src-tauri/capabilities/default.json must grant core:default and the app-commands set, \
         and nothing else (no plugin permission)"
    );
    // What the set grants, expanded: allow-<command> for each registered command, no more.
    let set = app_commands_set();
    let expected: BTreeSet<String> = registered
        .iter()
        .map(|c| format!("allow-{}", c.replace('_', "-")))
        .collect();
    let set_unique: BTreeSet<String> = set.iter().cloned().collect();
    assert_eq!(set.len(), set_unique.len(), "a permission is listed twice");
    assert_eq!(
        set_unique, expected,
        "the app-commands set must hold allow-<command> for each registered command, and \
         nothing else"
    );
}

#[test]
fn the_resolved_acl_allows_every_command_to_the_main_window_only() {
    // The ACL exactly as the app is built with it (capabilities resolved by the build script).
    let mut context: tauri::Context<MockRuntime> = tauri::generate_context!(test = true);
    let authority = context.runtime_authority_mut();
    let remote = Origin::Remote {
        url: "https://evil.example/".parse().unwrap(),
    };
    for command in segport_lib::commands::COMMANDS {
        assert!(
            authority
                .resolve_access(command, "main", "main", &Origin::Local)
                .is_some(),
            "{command} is not granted to the main window"
        );
        assert!(
            authority
                .resolve_access(command, "other", "other", &Origin::Local)
                .is_none(),
            "{command} is granted to another window"
        );
        assert!(
            authority
                .resolve_access(command, "main", "main", &remote)
                .is_none(),
            "{command} is granted to a remote page"
        );
    }
    assert!(authority
        .resolve_access("read_any_file", "main", "main", &Origin::Local)
        .is_none());
}

#[test]
fn the_content_security_policy_allows_only_the_apps_own_code() {
    let conf: Value = serde_json::from_str(&read("tauri.conf.json")).unwrap();
    let security = &conf["app"]["security"];
    assert!(
        security
            .get("dangerousDisableAssetCspModification")
            .is_none(),
        "Tauri must keep adding its script hashes/nonces to the CSP"
    );
    assert_ne!(
        conf["app"]["withGlobalTauri"],
        json!(true),
        "no window.__TAURI__ global"
    );
    let csp = security["csp"].as_str().expect("a CSP string");
    let directives: std::collections::BTreeMap<&str, Vec<&str>> = csp
        .split(';')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| {
            let mut parts = d.split_whitespace();
            (parts.next().unwrap(), parts.collect())
        })
        .collect();
    assert_eq!(directives["default-src"], vec!["'self'"]);
    assert_eq!(
        directives["script-src"],
        vec!["'self'"],
        "no inline or eval'd scripts"
    );
    for (name, sources) in &directives {
        for s in sources {
            assert!(
                !matches!(*s, "*" | "'unsafe-eval'" | "http:" | "https:" | "data:" if !(*name == "img-src" && *s == "data:")),
                "{name} allows {s}"
            );
            if s.starts_with("http") {
                assert_eq!(
                    (*name, *s),
                    ("connect-src", "http://ipc.localhost"),
                    "only the IPC may be reached over http"
                );
            }
        }
    }
    assert_eq!(
        directives["connect-src"],
        vec!["ipc:", "http://ipc.localhost"]
    );
}

// ---- no keychain: the app still opens, and saving a key says what to do ----

const CHILD_ENV: &str = "SEGPORT_SECURITY_TEST_NO_KEYCHAIN";

/// Runs `no_keychain_child` in a child process of this test binary with a D-Bus address that
/// leads nowhere, so the real keyring backend fails and nothing leaks into other tests.
#[test]
fn without_a_keychain_the_app_opens_and_saving_a_key_says_how_to_fix_it() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "no_keychain_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/segport-test/bus",
        )
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("test result: ok. 1 passed"), "{text}");
}

#[test]
#[ignore = "run as a child process by without_a_keychain_the_app_opens_and_saving_a_key_says_how_to_fix_it"]
fn no_keychain_child() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    const KEY: &str = "pk_nokeychain_needle_0000000000000000";
    let dir = tempfile::tempdir().unwrap();
    // A connection imported for headless use (api_key_env) exists before the app starts.
    {
        let ws =
            segport_core::workspace::Workspace::open(dir.path(), Arc::new(KeyringStore::new()))
                .unwrap();
        let config = dir.path().join("c.toml");
        std::fs::write(
            &config,
            "version = 1\n[[connection]]\nname = \"Headless\"\nbase_url = \"http://127.0.0.1:9\"\napi_key_env = \"SOME_KEY\"\n",
        )
        .unwrap();
        segport_core::config::import(&ws, &config).unwrap();
    }
    // The real keychain backend (no mock), unreachable.
    let app = real_acl_app(dir.path());
    let main = window(&app, "main");
    let info = invoke(&main, LOCAL, "app_info", json!({})).expect("the app opens");
    assert!(info.get("notice").is_none(), "{info}");
    // The Connections screen loads: the connection is listed, its key shown as not stored.
    let list = invoke(&main, LOCAL, "list_connections", json!({})).expect("connections load");
    assert_eq!(list[0]["name"], "Headless");
    assert_eq!(list[0]["keyStored"], false);

    // Saving a connection with a key: a clear error, nothing half-saved, the key not echoed.
    let err = invoke(
        &main,
        LOCAL,
        "save_connection",
        json!({"input": {
            "id": null, "name": "Desktop", "baseUrl": "https://a.klaviyo.com",
            "usableBy": "admins", "apiKey": KEY, "consent": true, "exportUser": null
        }}),
    )
    .expect_err("no keychain, no key saved");
    assert_eq!(err["code"], "keychain.unavailable", "{err}");
    let message = err["message"].as_str().unwrap();
    for needle in [
        "the system keychain is not available",
        "GNOME Keyring",
        "KWallet",
        "api_key_env",
    ] {
        assert!(
            message.contains(needle),
            "{needle:?} missing from: {message}"
        );
    }
    assert!(!err.to_string().contains(KEY));
    let list = invoke(&main, LOCAL, "list_connections", json!({})).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
}
