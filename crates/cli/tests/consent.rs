//! `segport-cli connection consent NAME --yes` records the consent as the operator (the name set
//! in the app's Settings), with the OS account beside it.

use segport_core::model::Role;
use segport_core::secrets::{use_mock_keychain, KeyringStore};
use segport_core::store::Store;
use segport_core::workspace::{os_user, Workspace};
use std::process::Command;
use std::sync::Arc;

#[test]
fn consent_from_the_command_line_is_recorded_as_the_operator_with_the_os_account() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("segport.toml");
    std::fs::write(
        &config,
        "version = 1\n[[connection]]\nname = \"Shop\"\napi_key_env = \"SEGPORT_KEY\"\n",
    )
    .unwrap();
    use_mock_keychain();
    Workspace::open(&data, Arc::new(KeyringStore::new()))
        .unwrap()
        .set_operator(Some("Marta Kowalska"), Role::Admin)
        .unwrap();
    let cli = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_segport-cli"))
            .arg("--data-dir")
            .arg(&data)
            .args(args)
            .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
            .output()
            .unwrap()
    };
    let o = cli(&["config", "import", config.to_str().unwrap()]);
    assert!(o.status.success(), "{o:?}");
    let o = cli(&["connection", "consent", "Shop", "--yes"]);
    assert!(o.status.success(), "{o:?}");
    let stdout = String::from_utf8_lossy(&o.stdout);
    let me = os_user();
    assert!(
        stdout.contains(&format!("by Marta Kowalska (OS account {me})")),
        "{stdout}"
    );

    let store = Store::open_dir(&data).unwrap();
    let consent = store
        .connection_by_name("Shop")
        .unwrap()
        .unwrap()
        .consent
        .unwrap();
    assert_eq!(consent.by, "Marta Kowalska");
    assert_eq!(consent.os_user.as_deref(), Some(me.as_str()));
    let o = cli(&["connection", "list"]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("consent: Marta Kowalska (OS account"),
        "{o:?}"
    );
}
