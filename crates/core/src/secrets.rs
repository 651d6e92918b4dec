//! API keys live only in the OS keychain (service `segport`, user = connection id).
//!
//! Architecture invariant: a key is an [`ApiKey`], which cannot be printed or serialized; it is
//! read with `ApiKey::expose` only where the Authorization header is built.

use crate::{ApiKey, CoreError, Result};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub const KEYCHAIN_SERVICE: &str = "segport";

pub trait SecretStore: Send + Sync {
    fn set(&self, connection_id: &str, key: &ApiKey) -> Result<()>;
    fn get(&self, connection_id: &str) -> Result<Option<ApiKey>>;
    fn delete(&self, connection_id: &str) -> Result<()>;
    fn has(&self, connection_id: &str) -> Result<bool> {
        Ok(self.get(connection_id)?.is_some())
    }
}

/// The OS keychain through `keyring` (Secret Service on Linux, Keychain on macOS, Credential
/// Manager on Windows). Entries are kept for the life of the store, which also lets keyring's
/// mock credential store (no persistence beyond the entry) stand in for it in unit tests.
#[derive(Default)]
pub struct KeyringStore {
    entries: Mutex<HashMap<String, Arc<keyring::Entry>>>,
}

impl KeyringStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn entry(&self, connection_id: &str) -> Result<Arc<keyring::Entry>> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = entries.get(connection_id) {
            return Ok(e.clone());
        }
        let entry = keyring::Entry::new(KEYCHAIN_SERVICE, connection_id).map_err(keychain_error)?;
        let entry = Arc::new(entry);
        entries.insert(connection_id.to_string(), entry.clone());
        Ok(entry)
    }
}

/// What the user reads when the system keychain cannot be reached or is locked: what happened,
/// how to fix it, and the headless way around it.
pub const KEYCHAIN_UNAVAILABLE: &str = "the system keychain is not available. Start or unlock \
     it and try again: on Linux, GNOME Keyring or KWallet (any Secret Service provider, in a \
     desktop session); on macOS, the login keychain; on Windows, Credential Manager. Without a \
     keychain, segport-cli can read a connection's key from the environment variable the \
     connection names in api_key_env (set it in a config file and run `segport-cli config \
     import FILE.toml`)";

fn keychain_error(e: keyring::Error) -> CoreError {
    // keyring's errors never contain the password itself.
    match &e {
        keyring::Error::PlatformFailure(_) | keyring::Error::NoStorageAccess(_) => {
            CoreError::Keychain(format!("{KEYCHAIN_UNAVAILABLE}. (Details: {e})"))
        }
        _ => CoreError::Keychain(format!("{e}.")),
    }
}

impl SecretStore for KeyringStore {
    fn set(&self, connection_id: &str, key: &ApiKey) -> Result<()> {
        self.entry(connection_id)?
            .set_password(key.expose())
            .map_err(keychain_error)
    }

    fn get(&self, connection_id: &str) -> Result<Option<ApiKey>> {
        match self.entry(connection_id)?.get_password() {
            Ok(k) => Ok(Some(ApiKey::new(k))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keychain_error(e)),
        }
    }

    fn delete(&self, connection_id: &str) -> Result<()> {
        match self.entry(connection_id)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(keychain_error(e)),
        }
    }
}

/// Use keyring's in-memory mock instead of the OS keychain (unit tests, and the app's tests).
pub fn use_mock_keychain() {
    keyring::set_default_credential_builder(keyring::mock::default_credential_builder());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyring_store_sets_gets_and_deletes_through_keyring() {
        use_mock_keychain();
        let store = KeyringStore::new();
        assert!(store.get("c1").unwrap().is_none());
        store
            .set("c1", &ApiKey::new("pk_test_secret".into()))
            .unwrap();
        assert_eq!(store.get("c1").unwrap().unwrap().expose(), "pk_test_secret");
        assert!(store.has("c1").unwrap());
        assert!(!store.has("c2").unwrap());
        store.delete("c1").unwrap();
        assert!(store.get("c1").unwrap().is_none());
        // Deleting what is not there is not an error.
        store.delete("c1").unwrap();
    }

    #[test]
    fn keychain_failure_is_reported_with_a_hint_and_without_the_key() {
        use_mock_keychain();
        let store = KeyringStore::new();
        let entry = store.entry("c9").unwrap();
        let mock: &keyring::mock::MockCredential = entry.get_credential().downcast_ref().unwrap();
        mock.set_error(keyring::Error::NoStorageAccess("locked".into()));
        let err = store
            .set("c9", &ApiKey::new("pk_should_not_leak".into()))
            .unwrap_err();
        assert_eq!(err.code(), "keychain.unavailable");
        let msg = err.to_string();
        for needle in [
            "the system keychain is not available",
            "GNOME Keyring",
            "KWallet",
            "Secret Service",
            "api_key_env",
            "locked",
        ] {
            assert!(msg.contains(needle), "{needle:?} missing from: {msg}");
        }
        assert!(!msg.contains("pk_should_not_leak"));
    }
}
