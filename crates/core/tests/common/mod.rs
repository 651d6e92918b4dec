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
    use_mock_keychain();
    Workspace::open(dir, Arc::new(KeyringStore::new())).unwrap()
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
        .save_export(ExportInput {
            id: None,
            name: "Export".into(),
            connection_id: conn.id.clone(),
            csv_path: csv.to_string_lossy().into(),
            list_id: list_id.into(),
            email_column: "email".into(),
        })
        .unwrap();
    (conn, export)
}
