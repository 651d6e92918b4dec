//! The API key: held as a secret, printed as `***`, read in exactly one place.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

/// A Klaviyo private API key. Its `Debug` prints `ApiKey(***)`; it cannot be serialized.
#[derive(Clone)]
pub struct ApiKey(SecretString);

impl ApiKey {
    pub fn new(key: String) -> Self {
        ApiKey(SecretString::from(key))
    }

    /// The key itself. The only way to read it: grep for `expose(` to audit every use.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_key_debug_is_redacted() {
        let key = ApiKey::new("pk_secret123".to_owned());
        assert_eq!(format!("{key:?}"), "ApiKey(***)");
        assert_eq!(key.expose(), "pk_secret123");
    }
}
