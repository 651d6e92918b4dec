//! Config files: import (all or nothing), export (no secrets), round trip.

mod common;

use common::*;
use segport_core::config;

const TOML: &str = r#"
version = 1

[[connection]]
name = "Main"
base_url = "http://127.0.0.1:9"
api_key_env = "SEGPORT_TEST_KEY"
usable_by = "contributors"

[[source]]
name = "Customers"
kind = "csv"
path = "customers.csv"

[[segment]]
name = "Everyone"
source = "Customers"

[[export]]
name = "Newsletter"
segment = "Everyone"
connection = "Main"
list_id = "AbC123"
[export.mapping]
email = "email"
first_name = "first_name"
properties = { city = "city" }
"#;

#[test]
fn import_then_export_round_trips_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir.path().join("data"));
    let file = dir.path().join("segport.toml");
    std::fs::write(&file, TOML).unwrap();
    let r = config::import(&ws, &file).unwrap();
    assert_eq!(
        (r.connections, r.sources, r.segments, r.exports),
        (1, 1, 1, 1)
    );
    let src = &ws.store.sources().unwrap()[0];
    assert_eq!(src.path, dir.path().join("customers.csv").to_string_lossy());

    let out = config::export(&ws).unwrap();
    assert!(!out.contains("pk_"));
    let file2 = dir.path().join("again.toml");
    std::fs::write(&file2, &out).unwrap();
    // Importing the exported file changes nothing.
    let before = (
        ws.store.connections().unwrap(),
        ws.store.exports().unwrap().len(),
    );
    config::import(&ws, &file2).unwrap();
    assert_eq!(before.0, ws.store.connections().unwrap());
    assert_eq!(before.1, ws.store.exports().unwrap().len());
    assert_eq!(config::export(&ws).unwrap(), out);
}

#[test]
fn a_bad_reference_imports_nothing_and_names_file_table_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir.path().join("data"));
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        TOML.replace("connection = \"Main\"", "connection = \"Nope\""),
    )
    .unwrap();
    let err = config::import(&ws, &file).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("bad.toml") && msg.contains("[[export]]") && msg.contains("connection"),
        "{msg}"
    );
    assert!(
        ws.store.connections().unwrap().is_empty(),
        "nothing may be half-imported"
    );
    assert!(ws.store.sources().unwrap().is_empty());
}
