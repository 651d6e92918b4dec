//! Connections: the form (a new host drops the stored key, consent and account), the key in the
//! keychain (a key the keychain would not remove is never read again), the consent, and the
//! check with Klaviyo.

use super::access::{self, Action};
use super::{os_user, trimmed, Workspace};
use crate::model::*;
use crate::{ApiKey, CoreError, Result};
use segport_klaviyo::Client;

/// A consent given now by `op`: their name (what the form says it is recorded as), and the OS
/// account beside it for audit.
fn consent_of(op: &Operator) -> Consent {
    Consent {
        by: op.name.clone(),
        os_user: Some(os_user()),
        at: now_rfc3339(),
    }
}

fn validate_base_url(url: Option<&str>) -> Result<String> {
    let url = url
        .and_then(trimmed)
        .unwrap_or_else(|| DEFAULT_BASE_URL.into());
    check_base_url(&url).map_err(|message| CoreError::invalid("Base URL", message))
}

/// A base URL as stored (trimmed, without a trailing slash), or why it cannot be used: it must
/// be an `https://` address, or `http://` to this computer only (127.0.0.0/8, ::1, localhost:
/// the sandbox) — over plain http anywhere else the key would cross the network readable.
pub(crate) fn check_base_url(url: &str) -> std::result::Result<String, String> {
    let url = url.trim().trim_end_matches('/').to_string();
    let parsed = url::Url::parse(&url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .filter(|_| !url.contains(char::is_whitespace));
    let Some(parsed) = parsed else {
        return Err(format!(
            "\"{url}\" is not a web address. Use https://a.klaviyo.com, or the sandbox's http://127.0.0.1:PORT."
        ));
    };
    if parsed.scheme() == "http" && !is_loopback(&parsed) {
        return Err(format!(
            "\"{url}\" is not encrypted: over http:// the API key could be read on the way. Use https:// (Klaviyo is https://a.klaviyo.com); http:// is only for the sandbox on this computer (http://127.0.0.1:PORT or http://localhost:PORT)."
        ));
    }
    Ok(url)
}

/// Whether a base URL is on this computer (127.0.0.0/8, ::1, localhost): the sandbox's.
pub fn points_at_this_computer(base_url: &str) -> bool {
    url::Url::parse(base_url.trim()).is_ok_and(|u| is_loopback(&u))
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Whether a key stored for `a` may go to `b`: the same scheme, host and port (a trailing slash
/// or another path is the same host; the default port written out is too).
pub(crate) fn same_host(a: &str, b: &str) -> bool {
    let origin = |u: &str| {
        url::Url::parse(u.trim())
            .ok()
            .map(|u| u.origin())
            .filter(url::Origin::is_tuple)
    };
    match (origin(a), origin(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a.trim().trim_end_matches('/') == b.trim().trim_end_matches('/'),
    }
}

/// Whether `name` can be an environment variable's name (`api_key_env`).
pub(crate) fn is_env_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The setting that marks a connection's keychain entry as dropped (its host changed) while the
/// keychain could not remove it: "1" until it is removed or replaced.
fn key_dropped_setting(connection_id: &str) -> String {
    format!("connection.{connection_id}.key_dropped")
}

fn validate_key(key: &str) -> Result<ApiKey> {
    let key = key.trim();
    if !key.starts_with("pk_") || key.len() < 10 || key.contains(char::is_whitespace) {
        return Err(CoreError::invalid(
            "API key",
            "A Klaviyo private API key starts with \"pk_\". Create one in Klaviyo under Settings → API keys (with the lists and profiles scopes) and paste it here.",
        ));
    }
    Ok(ApiKey::new(key.to_string()))
}

impl Workspace {
    fn connection_view(&self, c: Connection, op: &Operator) -> Result<ConnectionView> {
        let key_stored =
            self.keychain_key_usable(&c.id)? && self.secrets.has(&c.id).unwrap_or(false);
        Ok(ConnectionView {
            usable: access::can_use(op, &c),
            id: c.id,
            name: c.name,
            base_url: c.base_url,
            usable_by: c.usable_by,
            consent: c.consent,
            export_user: c.export_user,
            key_stored,
            verified: c.verified,
        })
    }

    pub fn connections(&self) -> Result<Vec<ConnectionView>> {
        let op = self.operator()?;
        self.store
            .connections()?
            .into_iter()
            .filter(|c| access::can_see(&op, c))
            .map(|c| self.connection_view(c, &op))
            .collect()
    }

    pub fn connection_named(&self, name: &str) -> Result<Connection> {
        self.store
            .connection_by_name(name)?
            .ok_or_else(|| CoreError::NotFound {
                what: "Connection",
                name: name.to_string(),
            })
    }

    /// Create or edit a connection from the form. Consent must be given; a new connection
    /// needs a key. The key goes to the keychain, never to the database.
    pub fn save_connection(&self, input: ConnectionInput) -> Result<ConnectionView> {
        let op = self.allowed(Action::EditConnection)?;
        let name = trimmed(&input.name)
            .ok_or_else(|| CoreError::invalid("Name", "Give the connection a name."))?;
        let base_url = validate_base_url(input.base_url.as_deref())?;
        if !input.consent {
            return Err(CoreError::invalid(
                "Consent",
                "Tick \"I agree\" to the data privacy and compliance terms to save the connection.",
            ));
        }
        let key = match input.api_key.as_deref().and_then(trimmed) {
            Some(k) => Some(validate_key(&k)?),
            None => None,
        };
        let existing = match &input.id {
            Some(id) => Some(self.store.connection(id)?),
            None => None,
        };
        if existing.is_none() && key.is_none() {
            return Err(CoreError::invalid(
                "API key",
                "Enter the Klaviyo private API key (pk_…) for this connection.",
            ));
        }
        let base = existing.clone().unwrap_or(Connection {
            id: new_id(),
            name: name.clone(),
            base_url: base_url.clone(),
            usable_by: input.usable_by,
            api_key_env: None,
            consent: None,
            export_user: None,
            verified: None,
        });
        // Another host (scheme, host, port): the stored key was given for the old one and must
        // never be sent to the new one; the consent and the account were for the old one too.
        let host_changed = existing
            .as_ref()
            .is_some_and(|c| !same_host(&c.base_url, &base_url));
        // A new key or a new account address means the old verification no longer holds.
        let verified = if key.is_some() || base.base_url != base_url {
            None
        } else {
            base.verified.clone()
        };
        let kept_consent = if host_changed {
            None
        } else {
            base.consent.clone()
        };
        let conn = Connection {
            name,
            base_url,
            usable_by: input.usable_by,
            consent: kept_consent.or_else(|| Some(consent_of(&op))),
            export_user: input.export_user.as_deref().and_then(trimmed),
            verified,
            ..base
        };
        match &key {
            Some(key) => self.store_key(&conn.id, key)?,
            None if host_changed => self.drop_key(&conn.id)?,
            None => {}
        }
        if let Err(e) = self.store.put_connection(&conn) {
            if existing.is_none() && key.is_some() {
                let _ = self.secrets.delete(&conn.id);
            }
            return Err(e);
        }
        self.connection_view(conn, &op)
    }

    pub fn delete_connection(&self, id: &str) -> Result<()> {
        self.allowed(Action::RemoveConnection)?;
        let conn = self.store.connection(id)?;
        self.store.delete_connection(&conn.id)?;
        self.secrets.delete(&conn.id)
    }

    pub fn set_key(&self, name: &str, key: &str) -> Result<()> {
        access::allow(&self.operator()?, Action::SetKey)?;
        let conn = self.connection_named(name)?;
        let key = validate_key(key)?;
        self.store_key(&conn.id, &key)
    }

    /// Put a key in the keychain for a connection (it replaces a dropped one).
    fn store_key(&self, connection_id: &str, key: &ApiKey) -> Result<()> {
        self.secrets.set(connection_id, key)?;
        let marker = key_dropped_setting(connection_id);
        if self.store.setting(&marker)?.is_some_and(|v| v == "1") {
            self.store.set_setting(&marker, "0")?;
        }
        Ok(())
    }

    /// Forget a connection's stored key: its host changed. When the keychain cannot remove it
    /// now (locked, or none on a headless machine), the key is marked as dropped: it is never
    /// read again, and removed at the next chance ([`Self::keychain_key_usable`]).
    pub(crate) fn drop_key(&self, connection_id: &str) -> Result<()> {
        if let Err(e) = self.secrets.delete(connection_id) {
            tracing::warn!(connection_id, code = %e.code(), "the keychain did not remove a dropped key; it is marked as dropped");
            self.store
                .set_setting(&key_dropped_setting(connection_id), "1")?;
        }
        Ok(())
    }

    /// Whether the keychain's entry for a connection may be read: not while it is a dropped key
    /// the keychain has not removed yet (each call tries to remove it again).
    fn keychain_key_usable(&self, connection_id: &str) -> Result<bool> {
        let marker = key_dropped_setting(connection_id);
        if self.store.setting(&marker)?.is_none_or(|v| v != "1") {
            return Ok(true);
        }
        if self.secrets.delete(connection_id).is_ok() {
            self.store.set_setting(&marker, "0")?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Record the consent (the CLI's `connection consent NAME --yes`) as the operator.
    pub fn record_consent(&self, name: &str) -> Result<Consent> {
        let op = self.allowed(Action::RecordConsent)?;
        let mut conn = self.connection_named(name)?;
        let consent = consent_of(&op);
        conn.consent = Some(consent.clone());
        self.store.put_connection(&conn)?;
        Ok(consent)
    }

    /// The connection's key: the keychain first, then its `api_key_env` (headless use).
    pub fn api_key(&self, conn: &Connection) -> Result<ApiKey> {
        let from_keychain = if self.keychain_key_usable(&conn.id)? {
            self.secrets.get(&conn.id)
        } else {
            Ok(None)
        };
        if let Ok(Some(k)) = from_keychain {
            return Ok(k);
        }
        if let Some(var) = &conn.api_key_env {
            if let Some(v) = std::env::var(var).ok().and_then(|v| trimmed(&v)) {
                return Ok(ApiKey::new(v));
            }
        }
        match (from_keychain, &conn.api_key_env) {
            // No keychain, and the headless way around it is configured but not set up here.
            (Err(CoreError::Keychain(msg)), Some(var)) => Err(CoreError::Keychain(format!(
                "{msg} The connection \"{}\" names {var} in api_key_env, but that environment \
                 variable is not set here.",
                conn.name
            ))),
            (Err(e), _) => Err(e),
            (Ok(_), _) => Err(CoreError::NoKey(conn.name.clone())),
        }
    }

    pub fn client(&self, conn: &Connection) -> Result<Client> {
        // Checked again here: a connection stored before http:// was limited to this computer
        // must not send its key over the network in the clear.
        check_base_url(&conn.base_url).map_err(|m| CoreError::invalid("Base URL", m))?;
        Ok(Client::new(&conn.base_url, self.api_key(conn)?)?)
    }

    /// Connect: check the key with `GET /api/accounts` and remember the account.
    pub async fn verify_connection(&self, id: &str) -> Result<ConnectionView> {
        let op = self.operator()?;
        let mut conn = self.store.connection(id)?;
        access::allow(&op, Action::Verify(&conn))?;
        let account = self.client(&conn)?.get_account().await?;
        conn.verified = Some(VerifiedAccount {
            account_id: account.id,
            account_name: account.name,
            at: now_rfc3339(),
        });
        self.store.put_connection(&conn)?;
        self.connection_view(conn, &op)
    }
}
