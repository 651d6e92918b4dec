//! The workspace: the store, the keychain and the operator, with every operation the front ends
//! offer. The Tauri commands and the CLI subcommands are thin wrappers over these methods.

use crate::engine::{self, EventSink, RunPlan};
use crate::filter::Filter;
use crate::fingerprint::{Fingerprint, SourceIdentity};
use crate::model::*;
use crate::schedule::Schedule;
use crate::secrets::SecretStore;
use crate::source::{self, SourceFormat, SourceSpec};
use crate::store::Store;
use crate::{ApiKey, CoreError, Result};
use segport_klaviyo::Client;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

const OPERATOR_NAME: &str = "operator.name";
/// Klaviyo keeps bulk import jobs this long: an older run is not continued.
pub const JOB_RETENTION_DAYS: i64 = 7;

/// How to run an export.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Ignore the delta state: send every profile of the segment ("Send everyone again").
    /// Starts a fresh run.
    pub full: bool,
    /// Everything but the network: read, filter, map and batch; record nothing.
    pub dry_run: bool,
    /// Do not continue an interrupted run: close it (superseded) and start a fresh one
    /// ("Start over").
    pub restart: bool,
    /// Mirror mode: remove up to this many profiles that left the segment even when the
    /// removal guard would hold them (the user confirmed the number).
    pub confirm_removals: Option<u64>,
}

/// What a run needs that can be checked without the network.
struct LocalPlan {
    spec: SourceSpec,
    filter: Option<Filter>,
    /// The segment's filter as saved (part of the fingerprint).
    filter_text: Option<String>,
    conn: Connection,
}

/// A live run's plan, resolved before anything is sent.
struct Planned {
    spec: SourceSpec,
    filter: Option<Filter>,
    client: Client,
    fingerprint: Fingerprint,
}

/// What an export's schedule counts from: its last run's start, or its creation if it never ran.
fn schedule_since(e: &Export, last: Option<&RunView>) -> Option<chrono::DateTime<chrono::Utc>> {
    let parse = |s: &str| {
        chrono::DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&chrono::Utc))
            .ok()
    };
    last.and_then(|r| parse(&r.started_at))
        .or_else(|| parse(&e.created_at))
}

/// A new run record for `export`, started now by `op`.
fn new_run(export: &Export, trigger: RunTrigger, op: &Operator) -> RunView {
    RunView {
        id: new_id(),
        export_id: export.id.clone(),
        export_name: export.name.clone(),
        trigger,
        who: op.name.clone(),
        status: RunStatus::Running,
        counts: RunCounts::default(),
        started_at: now_rfc3339(),
        finished_at: None,
        error: None,
    }
}

/// The Klaviyo account a client's key belongs to (asked once per key and process: the
/// accounts endpoint allows 15 calls a minute). A key without the accounts:read scope is
/// known by its connection's address only.
async fn account_of(client: &Client) -> Result<String> {
    static KNOWN: std::sync::OnceLock<
        std::sync::Mutex<std::collections::HashMap<(String, u64), String>>,
    > = std::sync::OnceLock::new();
    let known = KNOWN.get_or_init(Default::default);
    let key = (client.base_url().to_string(), client.key_id());
    if let Some(id) = known.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return Ok(id.clone());
    }
    let id = match client.get_account().await {
        Ok(a) => a.id,
        Err(segport_klaviyo::Error::MissingScope { .. }) => {
            format!("unverified@{}", client.base_url())
        }
        Err(e) => return Err(e.into()),
    };
    known
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(key, id.clone());
    Ok(id)
}
/// How many lists the picker reads at most (50 pages of 10).
pub const MAX_PICKER_LISTS: usize = 500;
const OPERATOR_ROLE: &str = "operator.role";

#[derive(Clone)]
pub struct Workspace {
    pub store: Arc<Store>,
    pub secrets: Arc<dyn SecretStore>,
    data_dir: PathBuf,
    /// A database kept aside at some open (this one, or the CLI's), once `app_info` has taken
    /// it from the store: shown for the rest of the session.
    notice: std::sync::OnceLock<Option<String>>,
}

/// A consent given now by `op`: their name (what the form says it is recorded as), and the OS
/// account beside it for audit.
fn consent_of(op: &Operator) -> Consent {
    Consent {
        by: op.name.clone(),
        os_user: Some(os_user()),
        at: now_rfc3339(),
    }
}

/// The OS user name, recorded with consents (beside the operator) and runs.
pub fn os_user() -> String {
    let name = whoami::username();
    if name.is_empty() {
        "unknown".into()
    } else {
        name
    }
}

fn trimmed(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
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
    pub fn open(data_dir: &Path, secrets: Arc<dyn SecretStore>) -> Result<Workspace> {
        let store = Arc::new(Store::open_dir(data_dir)?);
        Ok(Workspace {
            store,
            secrets,
            data_dir: data_dir.to_path_buf(),
            notice: std::sync::OnceLock::new(),
        })
    }

    /// Set when this open found an unreadable database file, kept it aside and started afresh
    /// (the CLI prints it; the app shows it through [`Workspace::app_info`]).
    pub fn kept_aside(&self) -> Option<&crate::store::KeptAside> {
        self.store.kept_aside()
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    // ---- operator ----

    pub fn operator(&self) -> Result<Operator> {
        let name = self.store.setting(OPERATOR_NAME)?.unwrap_or_else(os_user);
        let role = self
            .store
            .setting(OPERATOR_ROLE)?
            .and_then(|r| Role::parse(&r))
            .unwrap_or(Role::Admin);
        Ok(Operator { name, role })
    }

    pub fn set_operator(&self, name: Option<&str>, role: Role) -> Result<()> {
        if let Some(n) = name.and_then(trimmed) {
            self.store.set_setting(OPERATOR_NAME, &n)?;
        }
        self.store.set_setting(OPERATOR_ROLE, role.as_str())
    }

    fn require_admin(&self, what: &str) -> Result<Operator> {
        let op = self.operator()?;
        if op.role != Role::Admin {
            return Err(CoreError::Forbidden(format!(
                "Only an admin can {what}. Ask an admin, or switch your role in Settings."
            )));
        }
        Ok(op)
    }

    pub fn app_info(&self, version: &str) -> Result<AppInfo> {
        let op = self.operator()?;
        Ok(AppInfo {
            operator: op.name,
            role: op.role,
            data_dir: self.data_dir.to_string_lossy().into_owned(),
            version: version.to_string(),
            demo_available: self.store.connections()?.is_empty()
                && self.store.exports()?.is_empty(),
            notice: self
                .notice
                .get_or_init(|| match self.store.take_kept_aside_notice() {
                    Ok(n) => n,
                    Err(e) => {
                        tracing::warn!("kept-aside notice not read: {e}");
                        self.kept_aside().map(|k| k.message())
                    }
                })
                .clone(),
        })
    }

    // ---- connections ----

    fn connection_view(&self, c: Connection, op: &Operator) -> Result<ConnectionView> {
        let key_stored =
            self.keychain_key_usable(&c.id)? && self.secrets.has(&c.id).unwrap_or(false);
        Ok(ConnectionView {
            usable: c.usable_by_operator(op),
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
            .filter(|c| c.visible_to(&op))
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
        let op = self.require_admin("create or edit connections")?;
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
        self.require_admin("remove connections")?;
        let conn = self.store.connection(id)?;
        self.store.delete_connection(&conn.id)?;
        self.secrets.delete(&conn.id)
    }

    pub fn set_key(&self, name: &str, key: &str) -> Result<()> {
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
        let op = self.operator()?;
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
        if !conn.visible_to(&op) {
            return Err(CoreError::Forbidden(format!(
                "The connection \"{}\" is for admins only.",
                conn.name
            )));
        }
        let account = self.client(&conn)?.get_account().await?;
        conn.verified = Some(VerifiedAccount {
            account_id: account.id,
            account_name: account.name,
            at: now_rfc3339(),
        });
        self.store.put_connection(&conn)?;
        self.connection_view(conn, &op)
    }

    // ---- Klaviyo lists (the export's list picker) ----

    fn connection_for_lists(&self, connection_id: &str) -> Result<Connection> {
        let op = self.operator()?;
        let conn = self.store.connection(connection_id)?;
        if !conn.usable_by_operator(&op) {
            return Err(CoreError::Forbidden(format!(
                "The connection \"{}\" cannot be used by you yet: record its consent first (admins only connections need an admin).",
                conn.name
            )));
        }
        Ok(conn)
    }

    /// The account's lists, up to [`MAX_PICKER_LISTS`] (10 a page, Klaviyo's maximum).
    pub async fn klaviyo_lists(&self, connection_id: &str) -> Result<KlaviyoLists> {
        let conn = self.connection_for_lists(connection_id)?;
        let client = self.client(&conn)?;
        let mut lists = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = client.get_lists(cursor.as_deref()).await?;
            lists.extend(page.lists.into_iter().map(|l| KlaviyoList {
                id: l.id,
                name: l.name,
            }));
            cursor = page.next_cursor;
            if cursor.is_none() {
                return Ok(KlaviyoLists {
                    lists,
                    truncated: false,
                });
            }
            if lists.len() >= MAX_PICKER_LISTS {
                return Ok(KlaviyoLists {
                    lists,
                    truncated: true,
                });
            }
        }
    }

    /// Create a list in Klaviyo (not idempotent: the client looks it up by name before any
    /// retry). Klaviyo allows 150 new lists a day per account.
    pub async fn create_klaviyo_list(
        &self,
        connection_id: &str,
        name: &str,
    ) -> Result<KlaviyoList> {
        let name = trimmed(name)
            .ok_or_else(|| CoreError::invalid("List name", "Give the new list a name."))?;
        let conn = self.connection_for_lists(connection_id)?;
        let list = self.client(&conn)?.create_list(&name).await?;
        Ok(KlaviyoList {
            id: list.id,
            name: list.name,
        })
    }

    // ---- exports ----

    fn export_view(&self, e: Export) -> Result<ExportView> {
        let segment = self.store.segment(&e.segment_id)?;
        let source = self.store.source(&segment.source_id)?;
        let connection_name = match &e.connection_id {
            Some(id) => self.store.connection(id).ok().map(|c| c.name),
            None => None,
        };
        let last_run = self.store.runs(Some(&e.id), 1)?.into_iter().next();
        let next_run_at = schedule_since(&e, last_run.as_ref())
            .and_then(|since| e.schedule.next_after(since, &chrono::Local))
            .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        let resumable = self.store.resumable_run(&e.id)?.is_some();
        Ok(ExportView {
            id: e.id,
            name: e.name,
            segment_id: segment.id,
            segment_name: segment.name,
            source_name: source.name,
            source_path: source.path,
            connection_id: e.connection_id,
            connection_name,
            list_id: e.list_id,
            email_column: e.mapping.email.clone(),
            mapping: e.mapping,
            mode: e.mode,
            removal_guard: e.removal_guard,
            schedule: e.schedule,
            next_run_at,
            created_at: e.created_at,
            updated_at: e.updated_at,
            last_run,
            resumable,
        })
    }

    pub fn exports(&self) -> Result<Vec<ExportView>> {
        self.mark_dead_runs_interrupted()?;
        self.store
            .exports()?
            .into_iter()
            .map(|e| self.export_view(e))
            .collect()
    }

    pub fn export_named(&self, name: &str) -> Result<Export> {
        self.store
            .export_by_name(name)?
            .ok_or_else(|| CoreError::NotFound {
                what: "Export",
                name: name.to_string(),
            })
    }

    /// Save an export. Saving never runs it.
    pub fn save_export(&self, input: ExportInput) -> Result<ExportView> {
        let op = self.operator()?;
        let name = trimmed(&input.name)
            .ok_or_else(|| CoreError::invalid("Name", "Give the export a name."))?;
        let list_id = trimmed(&input.list_id).ok_or_else(|| {
            CoreError::invalid(
                "Klaviyo list ID",
                "Enter the ID of the Klaviyo list to export to (in Klaviyo: Lists & segments → the list → Settings → List ID).",
            )
        })?;
        if !list_id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(CoreError::invalid(
                "Klaviyo list ID",
                format!("\"{list_id}\" is not a list ID: list IDs are letters and digits, like \"XyZ123\"."),
            ));
        }
        let conn = self.store.connection(&input.connection_id)?;
        if !conn.usable_by_operator(&op) {
            return Err(CoreError::Forbidden(format!(
                "The connection \"{}\" cannot be used by you: {}",
                conn.name,
                if conn.consent.is_none() {
                    "its data-privacy consent has not been recorded."
                } else {
                    "it is for admins only."
                }
            )));
        }
        let segment = self.store.segment(&input.segment_id)?;
        let source = self.store.source(&segment.source_id)?;
        let mut mapping = input.mapping;
        mapping.email = mapping.email.trim().to_string();
        if mapping.email.is_empty() {
            return Err(CoreError::invalid(
                "Email column",
                "Choose the column that holds the email addresses: it is how Klaviyo matches profiles.",
            ));
        }
        // Checked against the file when it can be read now; a missing file is reported by
        // the Sources screen and by the run, and does not stop an offline edit from saving.
        if let Ok(rows) = source::open(&self.source_spec(&source)) {
            crate::mapping::Mapper::new(&mapping, rows.columns(), None)?;
        }
        let now = now_rfc3339();
        let existing = match &input.id {
            Some(id) => Some(self.store.export(id)?),
            None => None,
        };
        let export = Export {
            id: existing
                .as_ref()
                .map(|e| e.id.clone())
                .unwrap_or_else(new_id),
            name,
            segment_id: segment.id,
            connection_id: Some(conn.id),
            list_id,
            mapping,
            mode: input.mode,
            schedule: input.schedule,
            removal_guard: input
                .removal_guard
                .or_else(|| existing.as_ref().map(|e| e.removal_guard))
                .unwrap_or_default(),
            created_at: existing
                .map(|e| e.created_at)
                .unwrap_or_else(|| now.clone()),
            updated_at: now,
        };
        self.store.put_export(&export)?;
        self.export_view(export)
    }

    pub fn delete_export(&self, id: &str) -> Result<()> {
        let op = self.operator()?;
        let export = self.store.export(id)?;
        if op.role != Role::Admin {
            let allowed = match &export.connection_id {
                Some(c) => self.store.connection(c)?.visible_to(&op),
                None => true,
            };
            if !allowed {
                return Err(CoreError::Forbidden(
                    "This export uses an admins-only connection: only an admin can remove it."
                        .into(),
                ));
            }
        }
        self.store.delete_export(id)?;
        Ok(())
    }

    // ---- runs ----

    /// Start a run: records it, resolves everything it needs, then streams it to the end.
    /// Errors found before any row is sent (missing file, no key, …) fail the run with a
    /// message and are returned.
    pub async fn run_export(
        &self,
        export_id: &str,
        trigger: RunTrigger,
        cancel: CancellationToken,
        on_event: EventSink,
    ) -> Result<RunSummary> {
        self.run_export_with(export_id, trigger, RunOptions::default(), cancel, on_event)
            .await
    }

    /// Run an export. An earlier run of it that was interrupted, cancelled or failed part-way
    /// is taken up where it stopped — if nothing it depends on changed (its fingerprint), and
    /// unless `restart` or `full`; otherwise that run is closed as superseded and a fresh one
    /// starts. A dry run does everything but talk to Klaviyo and records nothing. Errors found
    /// before any row is sent (missing file, no key, wrong list…) fail the run with a message
    /// and are returned.
    ///
    /// Ownership: the run is owned by this process through the export's OS lock (see
    /// [`crate::runlock`]) from before anything is decided until it is recorded as finished;
    /// a second start, in this process or another, gets [`CoreError::AlreadyRunning`] naming
    /// who runs it. A run whose process died is continued at once.
    pub async fn run_export_with(
        &self,
        export_id: &str,
        trigger: RunTrigger,
        opts: RunOptions,
        cancel: CancellationToken,
        on_event: EventSink,
    ) -> Result<RunSummary> {
        let op = self.operator()?;
        let export = self.store.export(export_id)?;
        if opts.dry_run {
            return self.dry_run(export, &op, cancel, on_event).await;
        }
        let lock = {
            let (ws, export, op) = (self.clone(), export.clone(), op.clone());
            tokio::task::spawn_blocking(move || ws.lock_export(&export, &op, trigger))
                .await
                .map_err(|e| CoreError::Internal(e.to_string()))??
        };
        // Holding the lock: a run of this export still recorded as running belongs to a
        // process that died.
        self.store.mark_runs_interrupted(&export.id)?;
        if trigger == RunTrigger::Schedule && !self.is_due(&export, chrono::Utc::now())? {
            return Err(CoreError::NotDue(export.name.clone()));
        }
        let token = lock.owner().token.clone();
        let prev = self.store.resumable_run(&export.id)?;
        let start_over = opts.full || opts.restart;

        let planned = match self.plan(&export, &op).await {
            Ok(p) => p,
            Err(e) => {
                let message = e.to_string();
                let run_id = match prev.as_ref().filter(|_| !start_over) {
                    // The run that was to be continued records why it could not be.
                    Some(prev) => {
                        self.store.finish_run(
                            &prev.id,
                            RunStatus::Failed,
                            &prev.counts,
                            Some(&message),
                        )?;
                        prev.id.clone()
                    }
                    None => {
                        let run = new_run(&export, trigger, &op);
                        self.store.insert_run(&run, &token)?;
                        self.store.set_run_full(&run.id, opts.full)?;
                        self.store.finish_run(
                            &run.id,
                            RunStatus::Failed,
                            &RunCounts::default(),
                            Some(&message),
                        )?;
                        run.id
                    }
                };
                on_event(&RunEvent {
                    run_id,
                    phase: RunPhase::Finished,
                    counts: RunCounts::default(),
                    status: Some(RunStatus::Failed),
                    message: Some(message),
                });
                return Err(e);
            }
        };
        let fingerprint = &planned.fingerprint;

        // Continue the earlier run, or close it and start afresh.
        let mut notice = None;
        let mut continued = None;
        if let Some(prev) = prev {
            let why = if start_over {
                Some("a fresh run was started instead".to_string())
            } else {
                self.why_not_continue(&prev, fingerprint)?
            };
            match why {
                None => continued = Some(prev),
                Some(why) => {
                    let client = planned.client.clone();
                    let jobs = self.store.run_jobs(&prev.id)?;
                    let message = format!("Superseded: not continued because {why}.");
                    engine::settle_superseded(&self.store, &client, &prev, jobs, &message).await?;
                    if !start_over {
                        notice = Some(format!(
                            "The interrupted run was not continued because {why}: a fresh run starts (profiles Klaviyo accepted before are not lost; unchanged ones may be sent again)."
                        ));
                    }
                }
            }
        }
        let (run, resume) = match continued {
            Some(prev) => {
                self.store.reopen_run(&prev.id, &token)?;
                let jobs = self.store.run_jobs(&prev.id)?;
                (prev, jobs)
            }
            None => {
                let run = new_run(&export, trigger, &op);
                self.store.insert_run(&run, &token)?;
                self.store.set_run_full(&run.id, opts.full)?;
                (run, vec![])
            }
        };
        self.store.set_run_fingerprint(
            &run.id,
            &fingerprint.to_json(),
            &fingerprint.destination(),
        )?;
        on_event(&RunEvent {
            run_id: run.id.clone(),
            phase: RunPhase::Starting,
            counts: RunCounts::default(),
            status: Some(RunStatus::Running),
            message: if resume.is_empty() {
                notice
            } else {
                Some(format!(
                    "Continuing the interrupted run: {} batch(es) already accepted by Klaviyo are not sent again.",
                    resume.iter().filter(|j| j.is_delivered()).count()
                ))
            },
        });
        engine::test_pause_at("planned");
        let plan = RunPlan {
            run_id: run.id.clone(),
            owner: token,
            destination: fingerprint.destination(),
            source_identity: Some(fingerprint.source.clone()),
            confirm_removals: opts.confirm_removals,
            export,
            source: planned.spec,
            filter: planned.filter,
            client: Some(planned.client),
            full: opts.full,
            resume,
        };
        engine::execute(self.store.clone(), plan, cancel, on_event).await?;
        // The run is recorded as finished: only now may another process take the export.
        drop(lock);
        self.run_summary(&run.id)
    }

    /// The fingerprint a run of the export would start under now (the source as it is, the
    /// segment, the mapping, the account the key reaches, the list). Asks Klaviyo.
    pub async fn fingerprint_now(&self, export_id: &str) -> Result<Fingerprint> {
        let export = self.store.export(export_id)?;
        Ok(self.plan(&export, &self.operator()?).await?.fingerprint)
    }

    /// Take the export's lock, or say who holds it.
    fn lock_export(
        &self,
        export: &Export,
        op: &Operator,
        trigger: RunTrigger,
    ) -> Result<crate::runlock::RunLock> {
        use crate::runlock::{Acquired, LockOwner, RunLock};
        match RunLock::acquire(
            &self.data_dir,
            &export.id,
            LockOwner::new(&op.name, trigger.as_str()),
        )? {
            Acquired::Locked(lock) => Ok(lock),
            Acquired::Busy(holder) => {
                let h = holder.unwrap_or(LockOwner {
                    pid: 0,
                    who: "another Segport process".into(),
                    trigger: "unknown".into(),
                    host: "this computer".into(),
                    since: "just now".into(),
                    token: String::new(),
                });
                Err(CoreError::AlreadyRunning(Box::new(
                    crate::error::RunHolder {
                        export: export.name.clone(),
                        who: h.who,
                        trigger: h.trigger,
                        pid: h.pid,
                        host: h.host,
                        since: h.since,
                    },
                )))
            }
        }
    }

    /// Why `prev` cannot be continued under `now`, or `None` when it can.
    fn why_not_continue(&self, prev: &RunView, now: &Fingerprint) -> Result<Option<String>> {
        let started = chrono::DateTime::parse_from_rfc3339(&prev.started_at)
            .map(|d| d.with_timezone(&chrono::Utc))
            .ok();
        if started
            .is_none_or(|s| chrono::Utc::now() - s > chrono::Duration::days(JOB_RETENTION_DAYS))
        {
            return Ok(Some(format!(
                "it started more than {JOB_RETENTION_DAYS} days ago and Klaviyo keeps import jobs only that long"
            )));
        }
        let Some(was) = self
            .store
            .run_fingerprint(&prev.id)?
            .as_deref()
            .and_then(Fingerprint::from_json)
        else {
            return Ok(Some(
                "it was started by an earlier version of Segport that did not record what it depends on".into(),
            ));
        };
        let changes = was.changes(now);
        Ok((!changes.is_empty()).then(|| changes.join(", ")))
    }

    /// A dry run: read, filter, map and batch; nothing sent, nothing recorded.
    async fn dry_run(
        &self,
        export: Export,
        op: &Operator,
        cancel: CancellationToken,
        on_event: EventSink,
    ) -> Result<RunSummary> {
        let run = RunView {
            id: format!("dry-run-{}", new_id()),
            ..new_run(&export, RunTrigger::Cli, op)
        };
        on_event(&RunEvent {
            run_id: run.id.clone(),
            phase: RunPhase::Starting,
            counts: RunCounts::default(),
            status: Some(RunStatus::Running),
            message: None,
        });
        let planned = match self.plan_local(&export, op).await {
            Ok(p) => p,
            Err(e) => {
                on_event(&RunEvent {
                    run_id: run.id.clone(),
                    phase: RunPhase::Finished,
                    counts: RunCounts::default(),
                    status: Some(RunStatus::Failed),
                    message: Some(e.to_string()),
                });
                return Err(e);
            }
        };
        let plan = RunPlan {
            run_id: run.id.clone(),
            owner: String::new(),
            destination: String::new(),
            source_identity: None,
            confirm_removals: None,
            export,
            source: planned.spec,
            filter: planned.filter,
            client: None,
            full: true,
            resume: vec![],
        };
        let (status, counts, error) =
            engine::execute(self.store.clone(), plan, cancel, on_event).await?;
        Ok(RunSummary {
            run: RunView {
                status,
                counts,
                finished_at: Some(now_rfc3339()),
                error,
                ..run
            },
            rejects: vec![],
            rejects_total: counts.rejected,
        })
    }

    /// The source of a segment, as the engine reads it.
    pub fn source_spec(&self, source: &Source) -> SourceSpec {
        let kind = match source.kind {
            SourceKind::Csv => SourceFormat::Csv,
            SourceKind::Jsonl => SourceFormat::Jsonl,
            SourceKind::Sqlite => SourceFormat::Sqlite,
        };
        SourceSpec {
            kind,
            path: PathBuf::from(&source.path),
            table: source.table.clone(),
        }
    }

    /// What can be checked without the network: the connection may be used, the source can
    /// be read, the filter and the mapping name columns that are there.
    async fn plan_local(&self, export: &Export, op: &Operator) -> Result<LocalPlan> {
        let conn_id = export.connection_id.clone().ok_or_else(|| {
            CoreError::invalid(
                "Connection",
                format!("The export \"{}\" has no connection (it was removed). Edit the export and choose one.", export.name),
            )
        })?;
        let conn = self.store.connection(&conn_id)?;
        if conn.consent.is_none() {
            return Err(CoreError::ConsentRequired(conn.name));
        }
        if !conn.visible_to(op) {
            return Err(CoreError::Forbidden(format!(
                "The connection \"{}\" is for admins only.",
                conn.name
            )));
        }
        let segment = self.store.segment(&export.segment_id)?;
        let filter = segment.filter.as_deref().map(Filter::parse).transpose()?;
        let source = self.store.source(&segment.source_id)?;
        let spec = self.source_spec(&source);
        // Fail before the run starts on a missing file, an empty one, a filter or a mapping
        // naming a column that is not there.
        let info = tokio::task::spawn_blocking({
            let spec = spec.clone();
            move || source::inspect(&spec, crate::mapping::TYPE_SAMPLE_ROWS)
        })
        .await
        .map_err(|e| CoreError::Internal(e.to_string()))??;
        let columns: Vec<String> = info.columns.iter().map(|c| c.name.clone()).collect();
        if let Some(f) = &filter {
            f.compile(&columns)?;
        }
        crate::mapping::Mapper::new(&export.mapping, &columns, None)?;
        Ok(LocalPlan {
            spec,
            filter,
            filter_text: segment.filter,
            conn,
        })
    }

    /// Everything a live run needs: [`Workspace::plan_local`], then the client, the account
    /// and the list checked with Klaviyo, and the run's fingerprint.
    async fn plan(&self, export: &Export, op: &Operator) -> Result<Planned> {
        let LocalPlan {
            spec,
            filter,
            filter_text,
            conn,
        } = self.plan_local(export, op).await?;
        let identity = {
            let spec = spec.clone();
            tokio::task::spawn_blocking(move || SourceIdentity::of(&spec))
                .await
                .map_err(|e| CoreError::Internal(e.to_string()))??
        };
        let client = self.client(&conn)?;
        let account = account_of(&client).await?;
        // One cheap request before reading anything: a rejected key, a missing scope, a
        // wrong list ID or an unreachable host stops the run here, with nothing half-sent.
        client.get_list(&export.list_id).await.map_err(|e| match e {
            segport_klaviyo::Error::Invalid { status: 404, .. } => CoreError::invalid(
                "Klaviyo list ID",
                format!(
                    "Klaviyo has no list with the ID \"{}\" in this account. Check the list ID in Klaviyo (Lists & segments → the list → Settings) and edit the export.",
                    export.list_id
                ),
            ),
            other => other.into(),
        })?;
        let fingerprint = Fingerprint::new(
            identity,
            filter_text.as_deref(),
            &export.mapping,
            &account,
            &export.list_id,
        );
        Ok(Planned {
            spec,
            filter,
            client,
            fingerprint,
        })
    }

    /// Whether a scheduled export is due at `now` (its next time after its last run, or its
    /// creation, has passed).
    fn is_due(&self, e: &Export, now: chrono::DateTime<chrono::Utc>) -> Result<bool> {
        if e.schedule == Schedule::Manual {
            return Ok(false);
        }
        let last = self.store.runs(Some(&e.id), 1)?.into_iter().next();
        if last
            .as_ref()
            .is_some_and(|r| r.status == RunStatus::Running)
        {
            return Ok(false);
        }
        Ok(schedule_since(e, last.as_ref())
            .is_some_and(|since| e.schedule.is_due(since, now, &chrono::Local)))
    }

    /// Scheduled exports whose time has come at `now` (local time for daily schedules): the
    /// next time after their last run (or their creation) has passed. A run in progress is
    /// not started twice (and [`Workspace::run_export_with`] checks again under the export's
    /// lock, so two schedulers at the same minute give one run).
    pub fn due_exports(&self, now: chrono::DateTime<chrono::Utc>) -> Result<Vec<Export>> {
        // A run left `running` by a process that died must not hold its schedule back.
        self.mark_dead_runs_interrupted()?;
        let mut due = vec![];
        for e in self.store.exports()? {
            if self.is_due(&e, now)? {
                due.push(e);
            }
        }
        Ok(due)
    }

    /// Runs recorded as `running` whose export's lock no process holds belong to a process
    /// that died: they are marked interrupted (and can be continued at once).
    pub fn mark_dead_runs_interrupted(&self) -> Result<usize> {
        let mut n = 0;
        for export_id in self.store.exports_with_running_runs()? {
            if !crate::runlock::RunLock::is_held(&self.data_dir, &export_id)? {
                n += self.store.mark_runs_interrupted(&export_id)?;
            }
        }
        Ok(n)
    }

    /// Count a segment's rows and keep the first `sample` matching ones, streaming the source.
    /// `filter` (text form) overrides the segment's own, for a live preview while editing.
    pub fn segment_preview(
        &self,
        segment_name: &str,
        filter: Option<&str>,
        sample: usize,
    ) -> Result<SegmentPreview> {
        let segment = self
            .store
            .segments()?
            .into_iter()
            .find(|s| s.name == segment_name)
            .ok_or_else(|| CoreError::NotFound {
                what: "Segment",
                name: segment_name.to_string(),
            })?;
        let source = self.store.source(&segment.source_id)?;
        let text = filter.or(segment.filter.as_deref());
        preview_source(&self.source_spec(&source), text, sample)
    }

    pub fn run_summary(&self, run_id: &str) -> Result<RunSummary> {
        let run = self.store.run(run_id)?;
        let (rejects, rejects_total) = self.store.rejects(run_id, 200)?;
        Ok(RunSummary {
            run,
            rejects,
            rejects_total,
        })
    }

    /// Runs, newest first. A run left `running` by a process that died (its export's lock is
    /// free) is shown — and recorded — as interrupted.
    pub fn runs(&self, export_id: Option<&str>) -> Result<Vec<RunView>> {
        self.mark_dead_runs_interrupted()?;
        self.store.runs(export_id, 500)
    }

    // ---- demo ----

    /// Pre-fill a demo connection (to the sandbox) and export (to `list_id`, from `csv`).
    /// The consent is left for the user to give.
    pub fn create_demo(
        &self,
        base_url: &str,
        key: &ApiKey,
        list_id: &str,
        csv: &Path,
        rows: u64,
    ) -> Result<DemoInfo> {
        let conn = Connection {
            id: new_id(),
            name: "Demo sandbox".into(),
            base_url: base_url.to_string(),
            usable_by: UsableBy::Admins,
            api_key_env: None,
            consent: None,
            export_user: None,
            verified: None,
        };
        self.secrets.set(&conn.id, key)?;
        self.store.put_connection(&conn)?;
        let path = csv.to_string_lossy().into_owned();
        let segment = self.add_file_segment(&path, SourceKind::Csv, None)?;
        let now = now_rfc3339();
        let export = Export {
            id: new_id(),
            name: "Demo customers → Klaviyo".into(),
            segment_id: segment.id,
            connection_id: Some(conn.id.clone()),
            list_id: list_id.to_string(),
            mapping: Mapping {
                email: "email".into(),
                first_name: Some("first_name".into()),
                last_name: Some("last_name".into()),
                ..Mapping::default()
            },
            mode: ExportMode::Upsert,
            schedule: Schedule::Manual,
            removal_guard: RemovalGuard::default(),
            created_at: now.clone(),
            updated_at: now,
        };
        self.store.put_export(&export)?;
        Ok(DemoInfo {
            connection_id: conn.id,
            export_id: export.id,
            sandbox_url: base_url.to_string(),
            rows,
        })
    }

    // ---- rejects file ----

    /// Write every reject of a run to `path` as CSV (`line,identifier,reason`, by line).
    /// Returns how many rows were written. Refuses an unknown run (`not_found`).
    pub fn write_rejects_csv(&self, run_id: &str, path: &Path) -> Result<u64> {
        self.store.run(run_id)?;
        let (rows, _) = self.store.rejects(run_id, usize::MAX)?;
        crate::rejects::write_csv(path, rows)
    }
}

/// Count a source's rows that `filter` keeps and the first `sample` of them.
pub fn preview_source(
    spec: &SourceSpec,
    filter: Option<&str>,
    sample: usize,
) -> Result<SegmentPreview> {
    let mut rows = source::open(spec)?;
    let columns = rows.columns().to_vec();
    let compiled = match filter.map(str::trim).filter(|f| !f.is_empty()) {
        Some(text) => Some(Filter::parse(text)?.compile(&columns)?),
        None => None,
    };
    let mut out = SegmentPreview {
        columns,
        total: 0,
        matching: 0,
        bad_rows: 0,
        sample: vec![],
    };
    while let Some(item) = rows.next_row()? {
        out.total += 1;
        match item {
            source::RowItem::Bad { .. } => out.bad_rows += 1,
            source::RowItem::Row { values, .. } => {
                if compiled.as_ref().is_none_or(|f| f.matches(&values)) {
                    out.matching += 1;
                    if out.sample.len() < sample {
                        out.sample.push(values);
                    }
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_counts_the_segment_and_samples_the_first_matches() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.csv");
        let mut text = String::from("email,country,orders\n");
        for i in 0..1000 {
            let country = if i % 4 == 0 { "PL" } else { "DE" };
            text.push_str(&format!("p{i}@example.com,{country},{}\n", i % 10));
        }
        std::fs::write(&path, text).unwrap();
        let spec = SourceSpec {
            kind: SourceFormat::Csv,
            path,
            table: None,
        };
        let all = preview_source(&spec, None, 3).unwrap();
        assert_eq!((all.total, all.matching, all.sample.len()), (1000, 1000, 3));
        let p = preview_source(&spec, Some("country = \"pl\" and orders >= 4"), 2).unwrap();
        // i % 4 == 0 and i % 10 >= 4: i in {4, 8, 16, 24, 28, 36, …} — 150 of 1000.
        assert_eq!(p.matching, 150);
        assert_eq!(p.sample[0][0], "p4@example.com");
        assert_eq!(p.sample[1][0], "p8@example.com");
        let err = preview_source(&spec, Some("country = "), 2).unwrap_err();
        assert_eq!(err.code(), "segment.filter_invalid");
    }
}
