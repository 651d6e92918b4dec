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

/// Every kind of object with every field set (the CSV-only part; see the test below for the
/// other source kinds).
const FULL_TOML: &str = r#"
version = 1

[[connection]]
name = "Main"
base_url = "http://127.0.0.1:9"
api_key_env = "SEGPORT_TEST_KEY"
usable_by = "contributors"
export_user = "ops@example.com"

[[connection]]
name = "Second"

[[source]]
name = "Customers"
kind = "csv"
path = "data/customers.csv"

[[segment]]
name = "Loyal PL"
source = "Customers"
filter = 'country = "PL" and orders >= 3'

[[segment]]
name = "Everyone"
source = "Customers"

[[export]]
name = "Loyal"
segment = "Loyal PL"
connection = "Main"
list_id = "AbC123"
mode = "mirror"
schedule = "every 6h"
[export.mapping]
email = "email"
phone_number = "phone"
default_country = "PL"
invalid_phone = "omit"
external_id = "id"
first_name = "first_name"
last_name = "last_name"
organization = "company"
title = "title"
locale = "locale"
image = "avatar"
address1 = "street"
address2 = "flat"
city = "city"
country = "country"
region = "region"
zip = "zip"
timezone = "tz"
latitude = "lat"
longitude = "lon"
ip = "ip"
properties = { orders = "orders", "Loyalty tier" = "tier" }

[[export]]
name = "Daily"
segment = "Everyone"
connection = "Second"
list_id = "XyZ789"
schedule = "daily 09:30"
[export.mapping]
email = "email"
"#;

fn snapshot(
    ws: &segport_core::workspace::Workspace,
) -> (
    Vec<segport_core::model::Connection>,
    Vec<segport_core::model::Source>,
    Vec<segport_core::model::Segment>,
    Vec<segport_core::model::Export>,
) {
    let exports = ws
        .store
        .exports()
        .unwrap()
        .into_iter()
        .map(|mut e| {
            e.updated_at.clear();
            e
        })
        .collect();
    (
        ws.store.connections().unwrap(),
        ws.store.sources().unwrap(),
        ws.store.segments().unwrap(),
        exports,
    )
}

#[test]
fn every_kind_of_object_round_trips_and_a_second_import_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir.path().join("data"));
    let file = dir.path().join("segport.toml");
    std::fs::write(&file, FULL_TOML).unwrap();
    let r = config::import(&ws, &file).unwrap();
    assert_eq!(
        (r.connections, r.sources, r.segments, r.exports),
        (2, 1, 2, 2)
    );
    let loyal = ws.export_named("Loyal").unwrap();
    assert_eq!(loyal.mode, segport_core::model::ExportMode::Mirror);
    assert_eq!(loyal.schedule.to_string(), "every 6h");
    assert_eq!(loyal.mapping.default_country.as_deref(), Some("PL"));
    assert_eq!(loyal.mapping.properties.len(), 2);

    let text = config::export(&ws).unwrap();
    for needle in [
        "mode = \"mirror\"",
        "schedule = \"every 6h\"",
        "schedule = \"daily 09:30\"",
        "default_country = \"PL\"",
        "invalid_phone = \"omit\"",
        "export_user = \"ops@example.com\"",
        "usable_by = \"contributors\"",
        "\"Loyalty tier\" = \"tier\"",
        "latitude = \"lat\"",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    assert!(!text.contains("pk_"));
    let before = snapshot(&ws);
    let again = dir.path().join("again.toml");
    std::fs::write(&again, &text).unwrap();
    config::import(&ws, &again).unwrap();
    assert_eq!(snapshot(&ws), before, "a second import changes nothing");
    assert_eq!(config::export(&ws).unwrap(), text, "the text is identical");

    // The same file imported into an empty workspace gives the same configuration.
    let ws2 = workspace(&dir.path().join("data2"));
    config::import(&ws2, &again).unwrap();
    assert_eq!(config::export(&ws2).unwrap(), text);
}

#[test]
fn jsonl_and_sqlite_sources_round_trip_with_kind_and_table() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir.path().join("data"));
    let file = dir.path().join("segport.toml");
    std::fs::write(
        &file,
        r#"version = 1
[[source]]
name = "Events"
kind = "jsonl"
path = "events.jsonl"

[[source]]
name = "Shop"
kind = "sqlite"
path = "shop.db"
table = "customers"
"#,
    )
    .unwrap();
    config::import(&ws, &file).unwrap();
    let kinds: Vec<(String, String, Option<String>)> = ws
        .store
        .sources()
        .unwrap()
        .into_iter()
        .map(|s| (s.name, s.kind.as_str().to_string(), s.table))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("Events".into(), "jsonl".into(), None),
            ("Shop".into(), "sqlite".into(), Some("customers".into())),
        ]
    );
    let text = config::export(&ws).unwrap();
    assert!(text.contains("kind = \"jsonl\""), "{text}");
    assert!(text.contains("table = \"customers\""), "{text}");
    let again = dir.path().join("again.toml");
    std::fs::write(&again, &text).unwrap();
    config::import(&ws, &again).unwrap();
    assert_eq!(config::export(&ws).unwrap(), text);
}

#[test]
fn a_bad_filter_names_file_table_field_and_position_and_imports_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir.path().join("data"));
    let file = dir.path().join("filters.toml");
    std::fs::write(
        &file,
        FULL_TOML.replace(
            "filter = 'country = \"PL\" and orders >= 3'",
            "filter = 'country = \"PL\" and and orders >= 3'",
        ),
    )
    .unwrap();
    let err = config::import(&ws, &file).unwrap_err();
    assert_eq!(err.code(), "config.invalid");
    let msg = err.to_string();
    assert!(
        msg.contains("filters.toml")
            && msg.contains("[[segment]] #1")
            && msg.contains("`filter`")
            && msg.contains("at 1:"),
        "{msg}"
    );
    assert!(ws.store.connections().unwrap().is_empty());
    assert!(ws.store.sources().unwrap().is_empty());
    assert!(ws.store.segments().unwrap().is_empty());
    assert!(ws.store.exports().unwrap().is_empty());
}
