//! Connections from the form: a new host drops the stored key, consent and account; http only to
//! this computer; a key that cannot be removed from the keychain is never read again.

mod common;

use common::*;
use segport_core::model::*;
use segport_core::secrets::SecretStore;
use segport_core::workspace::Workspace;
use segport_core::{ApiKey, CoreError};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

const NEW_KEY: &str = "pk_thenewkeyforthenewhost0000";

fn saved(ws: &Workspace, base_url: &str) -> ConnectionView {
    let c = ws
        .save_connection(connection_input("Shop", base_url, Some(KEY)))
        .unwrap();
    let mut conn = store_of(ws).connection(&c.id).unwrap();
    conn.verified = Some(VerifiedAccount {
        account_id: "ACC1".into(),
        account_name: "Shop account".into(),
        at: now_rfc3339(),
    });
    store_of(ws).put_connection(&conn).unwrap();
    c
}

fn edit(c: &ConnectionView, base_url: &str, key: Option<&str>) -> ConnectionInput {
    ConnectionInput {
        id: Some(c.id.clone()),
        ..connection_input("Shop", base_url, key)
    }
}

fn stored_key(keychain: &dyn SecretStore, id: &str) -> Option<String> {
    keychain.get(id).unwrap().map(|k| k.expose().to_string())
}

#[test]
fn saving_a_connection_with_another_host_drops_its_key_and_account() {
    let dir = tempfile::tempdir().unwrap();
    let (ws, keychain) = workspace_and_keychain(dir.path());
    let c = saved(&ws, "https://a.klaviyo.com");
    let before = store_of(&ws).connection(&c.id).unwrap().consent.unwrap();
    std::thread::sleep(std::time::Duration::from_millis(5));

    let v = ws
        .save_connection(edit(&c, "https://collector.example.net", None))
        .unwrap();
    assert_eq!(stored_key(&*keychain, &c.id), None);
    assert!(!v.key_stored);
    assert_eq!(v.verified, None);
    let conn = store_of(&ws).connection(&c.id).unwrap();
    assert_eq!(conn.verified, None);
    // The consent the form gave just now is recorded afresh, not the one for the old host.
    let consent = conn.consent.clone().unwrap();
    assert_ne!(consent.at, before.at);
    assert!(matches!(ws.api_key(&conn), Err(CoreError::NoKey(_))));
}

#[test]
fn a_new_key_given_with_the_new_host_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (ws, keychain) = workspace_and_keychain(dir.path());
    let c = saved(&ws, "https://a.klaviyo.com");
    let v = ws
        .save_connection(edit(&c, "http://127.0.0.1:9", Some(NEW_KEY)))
        .unwrap();
    assert!(v.key_stored);
    assert_eq!(stored_key(&*keychain, &c.id).as_deref(), Some(NEW_KEY));
    assert_eq!(v.verified, None);
}

#[test]
fn a_trailing_slash_or_a_path_is_not_another_host() {
    let dir = tempfile::tempdir().unwrap();
    let (ws, keychain) = workspace_and_keychain(dir.path());
    let c = saved(&ws, "https://a.klaviyo.com");
    let consent = store_of(&ws).connection(&c.id).unwrap().consent;
    for same in ["https://a.klaviyo.com/", "https://a.klaviyo.com:443/api"] {
        let v = ws.save_connection(edit(&c, same, None)).unwrap();
        assert!(v.key_stored, "{same}");
        assert_eq!(
            stored_key(&*keychain, &c.id).as_deref(),
            Some(KEY),
            "{same}"
        );
        assert_eq!(store_of(&ws).connection(&c.id).unwrap().consent, consent);
    }
}

#[test]
fn the_form_refuses_http_to_another_computer() {
    let dir = tempfile::tempdir().unwrap();
    let (ws, keychain) = workspace_and_keychain(dir.path());
    for bad in ["http://a.klaviyo.com", "http://192.168.1.20:8080"] {
        let err = ws
            .save_connection(connection_input("Shop", bad, Some(KEY)))
            .unwrap_err();
        assert_eq!(err.code(), "invalid_input", "{bad}");
        let msg = err.to_string();
        assert!(msg.contains("https://"), "{bad}: {msg}");
        assert!(msg.contains("127.0.0.1"), "{bad}: {msg}");
    }
    assert!(ws.connections().unwrap().is_empty());
    // An existing connection cannot be moved there either.
    let c = saved(&ws, "https://a.klaviyo.com");
    assert!(ws
        .save_connection(edit(&c, "http://a.klaviyo.com", None))
        .is_err());
    assert_eq!(stored_key(&*keychain, &c.id).as_deref(), Some(KEY));
    for good in ["http://localhost:9", "http://[::1]:9", "http://127.0.0.2:9"] {
        ws.save_connection(connection_input(good, good, Some(KEY)))
            .unwrap_or_else(|e| panic!("{good}: {e}"));
    }
}

/// A keychain that can be made unreachable for deletes (a locked keychain, no D-Bus).
#[derive(Default)]
struct FlakyKeychain {
    keys: Mutex<HashMap<String, String>>,
    deletes_fail: AtomicBool,
}

impl SecretStore for FlakyKeychain {
    fn set(&self, id: &str, key: &ApiKey) -> segport_core::Result<()> {
        self.keys
            .lock()
            .unwrap()
            .insert(id.into(), key.expose().into());
        Ok(())
    }
    fn get(&self, id: &str) -> segport_core::Result<Option<ApiKey>> {
        Ok(self.keys.lock().unwrap().get(id).cloned().map(ApiKey::new))
    }
    fn delete(&self, id: &str) -> segport_core::Result<()> {
        if self.deletes_fail.load(Ordering::SeqCst) {
            return Err(CoreError::Keychain("locked".into()));
        }
        self.keys.lock().unwrap().remove(id);
        Ok(())
    }
}

#[test]
fn a_key_the_keychain_would_not_remove_is_never_used_for_the_new_host() {
    let dir = tempfile::tempdir().unwrap();
    let keychain = Arc::new(FlakyKeychain::default());
    let ws = Workspace::open(dir.path(), keychain.clone()).unwrap();
    let c = saved(&ws, "https://a.klaviyo.com");
    keychain.deletes_fail.store(true, Ordering::SeqCst);

    // The import goes through (a headless machine has no keychain to ask)…
    let file = dir.path().join("shop.toml");
    std::fs::write(
        &file,
        "version = 1\n[[connection]]\nname = \"Shop\"\nbase_url = \"https://collector.example.net\"\n",
    )
    .unwrap();
    segport_core::config::import(&ws, &file).unwrap();
    ws.record_consent("Shop").unwrap();
    // …but the old key, still in the keychain, is not read for the new host.
    let conn = store_of(&ws).connection(&c.id).unwrap();
    assert!(keychain.keys.lock().unwrap().contains_key(&c.id));
    assert!(matches!(ws.api_key(&conn), Err(CoreError::NoKey(_))));
    assert!(!ws.connections().unwrap()[0].key_stored);

    // Once the keychain answers again the old key is removed for good.
    keychain.deletes_fail.store(false, Ordering::SeqCst);
    assert!(!ws.connections().unwrap()[0].key_stored);
    assert!(!keychain.keys.lock().unwrap().contains_key(&c.id));
    // A key given for the new host is used.
    ws.set_key("Shop", NEW_KEY).unwrap();
    assert_eq!(ws.api_key(&conn).unwrap().expose(), NEW_KEY);
    assert!(ws.connections().unwrap()[0].key_stored);
}

// ---- consent: recorded as the operator the form names, with the OS account beside it ----

#[test]
fn consent_is_recorded_as_the_operator_with_the_os_account_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(dir.path());
    ws.set_operator(Some("Marta Kowalska"), Role::Admin)
        .unwrap();
    let v = ws
        .save_connection(connection_input("Shop", "https://a.klaviyo.com", Some(KEY)))
        .unwrap();
    let consent = v.consent.unwrap();
    assert_eq!(consent.by, "Marta Kowalska");
    assert_eq!(
        consent.os_user.as_deref(),
        Some(segport_core::workspace::os_user().as_str())
    );

    // From the command line too (`connection consent NAME --yes`), after another operator.
    ws.set_operator(Some("Tomasz Wiśniewski"), Role::Admin)
        .unwrap();
    let c = ws.record_consent("Shop").unwrap();
    assert_eq!(c.by, "Tomasz Wiśniewski");
    assert_eq!(c.os_user, consent.os_user);

    // Both are in the SQLite file.
    drop(ws);
    let again = workspace(dir.path());
    let stored = store_of(&again).connection(&v.id).unwrap().consent.unwrap();
    assert_eq!(stored, c);
}
