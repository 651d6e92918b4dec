//! No keychain on the machine: the real `keyring` backend (Secret Service over D-Bus) with
//! `DBUS_SESSION_BUS_ADDRESS` pointing at a socket that does not exist, in `segport-cli` child
//! processes (so the variable never reaches other tests). Storing a key fails with a message that
//! says what to do; the CLI falls back to the connection's `api_key_env`.

use segport_sandbox::{Sandbox, SandboxConfig, SandboxKey};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const KEY: &str = "pk_keychaintest_needle_000000000000000";
const KEY_ENV: &str = "SEGPORT_KEYCHAIN_TEST_KEY";

/// `segport-cli` with no reachable keychain; `key_env` set only when given.
fn cli(data: &Path, args: &[&str], key_env: Option<&str>, stdin: &str) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_segport-cli"));
    cmd.arg("--data-dir")
        .arg(data)
        .args(args)
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/segport-test/bus",
        )
        .env_remove(KEY_ENV)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(v) = key_env {
        cmd.env(KEY_ENV, v);
    }
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn assert_says_how_to_fix(stderr: &str) {
    for needle in [
        "error [keychain.unavailable]",
        "the system keychain is not available",
        "GNOME Keyring",
        "KWallet",
        "api_key_env",
    ] {
        assert!(stderr.contains(needle), "{needle:?} missing from: {stderr}");
    }
    assert!(!stderr.contains(KEY), "the key leaked: {stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_keychain_set_key_explains_and_the_cli_uses_api_key_env() {
    let sb = Sandbox::start(
        SandboxConfig {
            keys: vec![SandboxKey::full(KEY)],
            ..SandboxConfig::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("segport.toml");
    std::fs::write(
        &config,
        format!(
            "version = 1\n[[connection]]\nname = \"Headless\"\nbase_url = \"{}\"\napi_key_env = \"{KEY_ENV}\"\n\n[[connection]]\nname = \"Desktop\"\nbase_url = \"{}\"\n",
            sb.base_url(),
            sb.base_url()
        ),
    )
    .unwrap();
    let o = cli(
        &data,
        &["config", "import", config.to_str().unwrap()],
        None,
        "",
    );
    assert!(o.status.success(), "{}", text(&o));
    for name in ["Headless", "Desktop"] {
        let o = cli(&data, &["connection", "consent", name, "--yes"], None, "");
        assert!(o.status.success(), "{}", text(&o));
    }

    // Storing a key: a failure (exit 1) that says what happened and what to do.
    let o = cli(&data, &["connection", "set-key", "Desktop"], None, KEY);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_says_how_to_fix(&String::from_utf8_lossy(&o.stderr));

    // Listing still works; no key is shown as stored.
    let o = cli(&data, &["connection", "list"], None, "");
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("key: missing"), "{}", text(&o));

    // The connection that names api_key_env works without any keychain...
    let o = cli(&data, &["connection", "verify", "Headless"], Some(KEY), "");
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("connected to"), "{}", text(&o));
    assert!(!text(&o).contains(KEY));

    // ...but not when its variable is not set: the message names the variable.
    let o = cli(&data, &["connection", "verify", "Headless"], None, "");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_says_how_to_fix(&stderr);
    assert!(
        stderr.contains(&format!("names {KEY_ENV} in api_key_env")),
        "{stderr}"
    );

    // A connection without api_key_env: the same clear message, nothing sent.
    let o = cli(&data, &["connection", "verify", "Desktop"], Some(KEY), "");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_says_how_to_fix(&String::from_utf8_lossy(&o.stderr));
    assert_eq!(sb.request_count("GET /api/accounts"), 1);
}
