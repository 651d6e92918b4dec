//! The real OS keychain (Secret Service on Linux) through keyring. Needs a running, unlocked
//! Secret Service, so it is `#[ignore]`d in plain `cargo test` and run by `make keychain`
//! (tests/with-keyring.sh starts a private D-Bus session with GNOME Keyring).

use segport_core::secrets::{KeyringStore, SecretStore};
use segport_core::ApiKey;

#[test]
#[ignore = "needs a Secret Service: run with tests/with-keyring.sh (make keychain)"]
fn key_round_trips_through_the_real_secret_service() {
    let id = format!("test-{}", std::process::id());
    let store = KeyringStore::new();
    store
        .set(&id, &ApiKey::new("pk_real_keychain_test_123456".into()))
        .expect("the Secret Service must accept the key");
    // A fresh store (no cached entry) reads it back from the service itself.
    let again = KeyringStore::new();
    assert_eq!(
        again.get(&id).unwrap().unwrap().expose(),
        "pk_real_keychain_test_123456"
    );
    again.delete(&id).unwrap();
    assert!(KeyringStore::new().get(&id).unwrap().is_none());
}
