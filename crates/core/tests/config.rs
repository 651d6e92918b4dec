//! Config files: import (all or nothing), export (no secrets), round trip.

mod common;

use common::*;
use segport_core::config;
use segport_core::secrets::SecretStore;
use std::path::{Path, PathBuf};

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
    let src = &store_of(&ws).sources().unwrap()[0];
    assert_eq!(src.path, dir.path().join("customers.csv").to_string_lossy());

    let out = config::export(&ws).unwrap();
    assert!(!out.contains("pk_"));
    let file2 = dir.path().join("again.toml");
    std::fs::write(&file2, &out).unwrap();
    // Importing the exported file changes nothing.
    let before = (
        store_of(&ws).connections().unwrap(),
        store_of(&ws).exports().unwrap().len(),
    );
    config::import(&ws, &file2).unwrap();
    assert_eq!(before.0, store_of(&ws).connections().unwrap());
    assert_eq!(before.1, store_of(&ws).exports().unwrap().len());
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
        store_of(&ws).connections().unwrap().is_empty(),
        "nothing may be half-imported"
    );
    assert!(store_of(&ws).sources().unwrap().is_empty());
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
    let exports = store_of(ws)
        .exports()
        .unwrap()
        .into_iter()
        .map(|mut e| {
            e.updated_at.clear();
            e
        })
        .collect();
    (
        store_of(ws).connections().unwrap(),
        store_of(ws).sources().unwrap(),
        store_of(ws).segments().unwrap(),
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
    let kinds: Vec<(String, String, Option<String>)> = store_of(&ws)
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
    assert!(store_of(&ws).connections().unwrap().is_empty());
    assert!(store_of(&ws).sources().unwrap().is_empty());
    assert!(store_of(&ws).segments().unwrap().is_empty());
    assert!(store_of(&ws).exports().unwrap().is_empty());
}

// ---- a config file cannot redirect a stored key ----

/// `Shop` saved from the form (key in the keychain, consent given, account verified), on
/// `base_url`; its id.
fn form_connection(ws: &segport_core::workspace::Workspace, base_url: &str) -> String {
    let c = ws
        .save_connection(connection_input("Shop", base_url, Some(KEY)))
        .unwrap();
    // As if Connect had checked it.
    let mut conn = store_of(ws).connection(&c.id).unwrap();
    conn.verified = Some(segport_core::model::VerifiedAccount {
        account_id: "ACC1".into(),
        account_name: "Shop account".into(),
        at: segport_core::model::now_rfc3339(),
    });
    store_of(ws).put_connection(&conn).unwrap();
    c.id
}

fn shop_config(dir: &Path, base_url: &str) -> PathBuf {
    let file = dir.join("shop.toml");
    std::fs::write(
        &file,
        format!("version = 1\n[[connection]]\nname = \"Shop\"\nbase_url = \"{base_url}\"\n"),
    )
    .unwrap();
    file
}

/// The connection's row as the SQLite file holds it: (base_url, consent_by, account_id).
fn connection_row(data: &Path, id: &str) -> (String, Option<String>, Option<String>) {
    let db = rusqlite::Connection::open(data.join("segport.db")).unwrap();
    db.query_row(
        "SELECT base_url, consent_by, account_id FROM connections WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .unwrap()
}

#[test]
fn importing_another_host_for_a_connection_drops_its_stored_key_consent_and_account() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ws, keychain) = workspace_and_keychain(&data);
    let id = form_connection(&ws, "https://a.klaviyo.com");
    assert!(keychain.get(&id).unwrap().is_some());

    let file = shop_config(dir.path(), "https://collector.example.net");
    config::import(&ws, &file).unwrap();

    assert!(
        keychain.get(&id).unwrap().is_none(),
        "the key must not follow the connection to another host"
    );
    let (base_url, consent_by, account_id) = connection_row(&data, &id);
    assert_eq!(base_url, "https://collector.example.net");
    assert_eq!(consent_by, None, "the consent must be given again");
    assert_eq!(account_id, None, "the verified account no longer holds");
    let view = ws.connections().unwrap().remove(0);
    assert!(!view.key_stored && !view.usable && view.consent.is_none());
    // A run through it now stops for the consent, before anything is sent anywhere.
    assert!(ws.api_key(&store_of(&ws).connection(&id).unwrap()).is_err());
}

#[test]
fn importing_another_port_or_scheme_is_another_host_too() {
    for other in ["https://a.klaviyo.com:8443", "http://127.0.0.1:9"] {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let (ws, keychain) = workspace_and_keychain(&data);
        let id = form_connection(&ws, "https://a.klaviyo.com");
        config::import(&ws, &shop_config(dir.path(), other)).unwrap();
        assert!(keychain.get(&id).unwrap().is_none(), "{other}");
        assert_eq!(connection_row(&data, &id).1, None, "{other}");
    }
}

#[test]
fn importing_the_same_host_keeps_the_stored_key_consent_and_account() {
    // A trailing slash, a path or the default port written out is the same host (another path
    // is another address, though: the account is checked again).
    for (same, account_kept) in [
        ("https://a.klaviyo.com", true),
        ("https://a.klaviyo.com/", true),
        ("https://A.Klaviyo.com:443/api", false),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let (ws, keychain) = workspace_and_keychain(&data);
        let id = form_connection(&ws, "https://a.klaviyo.com");
        config::import(&ws, &shop_config(dir.path(), same)).unwrap();
        assert_eq!(
            keychain.get(&id).unwrap().map(|k| k.expose().to_string()),
            Some(KEY.to_string()),
            "{same}"
        );
        let (_, consent_by, account_id) = connection_row(&data, &id);
        assert!(consent_by.is_some(), "{same}");
        assert_eq!(account_id.is_some(), account_kept, "{same}");
    }
}

#[test]
fn an_http_base_url_is_refused_unless_it_is_this_computer() {
    for bad in [
        "http://a.klaviyo.com",
        "http://collector.example.net:8080",
        "http://10.0.0.7:9",
        "http://[2001:db8::1]:9",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let ws = workspace(&dir.path().join("data"));
        let err = config::import(&ws, &shop_config(dir.path(), bad)).unwrap_err();
        let msg = err.to_string();
        assert_eq!(err.code(), "config.invalid", "{bad}: {msg}");
        assert!(
            msg.contains("`base_url`") && msg.contains("https://"),
            "{bad}: {msg}"
        );
        assert!(store_of(&ws).connections().unwrap().is_empty(), "{bad}");
    }
    for good in [
        "http://127.0.0.1:9",
        "http://127.8.9.10:9",
        "http://localhost:9",
        "http://[::1]:9",
        "https://collector.example.net",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let ws = workspace(&dir.path().join("data"));
        config::import(&ws, &shop_config(dir.path(), good))
            .unwrap_or_else(|e| panic!("{good}: {e}"));
    }
}

#[test]
fn an_api_key_env_that_is_not_a_variable_name_is_refused_without_repeating_it() {
    let secret = "pk_live_abc123def456ghi789";
    for bad in [secret, "MY-KEY", "1KEY", "KEY WITH SPACES", ""] {
        let dir = tempfile::tempdir().unwrap();
        let ws = workspace(&dir.path().join("data"));
        let file = dir.path().join("env.toml");
        std::fs::write(
            &file,
            format!("version = 1\n[[connection]]\nname = \"Shop\"\napi_key_env = \"{bad}\"\n"),
        )
        .unwrap();
        let err = config::import(&ws, &file).unwrap_err();
        let msg = err.to_string();
        assert_eq!(err.code(), "config.invalid", "{bad:?}: {msg}");
        assert!(msg.contains("`api_key_env`"), "{bad:?}: {msg}");
        if !bad.is_empty() {
            assert!(!msg.contains(bad), "the value was repeated: {msg}");
        }
        assert!(!msg.contains("pk_live"), "{msg}");
        assert!(store_of(&ws).connections().unwrap().is_empty());
    }
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir.path().join("data"));
    let file = dir.path().join("env.toml");
    std::fs::write(
        &file,
        "version = 1\n[[connection]]\nname = \"Shop\"\napi_key_env = \"_Segport_KEY_2\"\n",
    )
    .unwrap();
    config::import(&ws, &file).unwrap();
}
