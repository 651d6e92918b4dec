//! A local imitation of the parts of Klaviyo's API that Segport uses (revision [`REVISION`]).
//! Its routes are the paths of the operations `segport_klaviyo::spec` names (GET_LISTS, …).
//!
//! Started in-process by the desktop app (demo mode) and by tests (on port 0), or as the
//! `segport-sandbox` binary. State lives in memory and is lost when the sandbox stops, unless
//! [`SandboxConfig::state_file`] names a file to keep the lists and profiles in (the demo does).
//!
//! Every `/api` request is matched to its operation in the spec's table
//! (`segport_klaviyo::spec::OPERATIONS`) and then goes through injected faults ([`Fault`], syntax
//! there), authentication (401), the operation's scopes (403), its rate limits ([`Limits`], 429
//! `throttled`) and the `revision` header (400) before its handler. All keys are one account.
//! Test-only routes without auth: `GET /__sandbox/stats` (counts per route and per status),
//! `GET|POST|DELETE /__sandbox/faults`, `GET /__sandbox/lists/{id}/members`.

mod error;
mod faults;
mod gate;
mod handlers;
mod limits;
mod persist;
mod store;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::ops::{Deref, DerefMut};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use segport_klaviyo::spec::{self, Operation, OPERATIONS};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, Notify};
use tokio::task::{JoinHandle, JoinSet};
use tower::Service;

pub use error::{ApiError, ApiErrors, Source};
pub use faults::{Fault, FaultAction, FaultParseError, FaultPlan, FaultTarget};
pub use limits::Limits;

/// The JSON:API media type.
pub const JSON_API: &str = "application/vnd.api+json";
/// The API revision the sandbox imitates: the client's (generated into `segport_klaviyo::spec`).
pub const REVISION: &str = spec::REVISION;
/// Limits of `POST /api/profile-bulk-import-jobs`.
pub const MAX_PROFILES_PER_JOB: usize = 10_000;
/// Klaviyo's "5 MB" read the safe way, as the client does: 5,000,000 bytes, not 5 MiB (the
/// documentation says "5MB"; refusing what a binary reading would take keeps the client honest).
pub const MAX_JOB_BYTES: usize = 5_000_000;
pub const MAX_PROFILE_BYTES: usize = 100 * 1024;

/// Every scope the sandbox knows about (a key made by [`SandboxKey::full`] has them all).
pub const ALL_SCOPES: &[&str] = &[
    "accounts:read",
    "lists:read",
    "lists:write",
    "profiles:read",
    "profiles:write",
    "subscriptions:read",
    "subscriptions:write",
];

/// A private API key the sandbox accepts, with its scopes.
#[derive(Debug, Clone)]
pub struct SandboxKey {
    pub key: String,
    /// Scopes such as `lists:read`. As in Klaviyo, `X:write` ("full access") implies `X:read`.
    pub scopes: Vec<String>,
}

impl SandboxKey {
    /// A key with every scope.
    pub fn full(key: impl Into<String>) -> Self {
        SandboxKey {
            key: key.into(),
            scopes: ALL_SCOPES.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// A key with the given scopes only.
    pub fn with_scopes(key: impl Into<String>, scopes: &[&str]) -> Self {
        SandboxKey {
            key: key.into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// Why a `--key` spec could not be parsed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum KeyParseError {
    #[error("key `{0}`: a private key starts with pk_")]
    Prefix(String),
    #[error("key `{key}`: unknown scope `{scope}`")]
    Scope { key: String, scope: String },
}

impl FromStr for SandboxKey {
    type Err = KeyParseError;

    /// `pk_abc` (every scope) or `pk_abc:lists:read,profiles:read` (those scopes only).
    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let spec = spec.trim();
        let (key, scopes) = match spec.split_once(':') {
            Some((k, s)) => (k, Some(s)),
            None => (spec, None),
        };
        if !key.starts_with("pk_") {
            return Err(KeyParseError::Prefix(spec.to_owned()));
        }
        let Some(scopes) = scopes else {
            return Ok(SandboxKey::full(key));
        };
        let scopes: Vec<&str> = scopes
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        for scope in &scopes {
            let known = OPERATIONS.iter().any(|op| op.scopes.contains(scope));
            if !known {
                return Err(KeyParseError::Scope {
                    key: key.to_owned(),
                    scope: (*scope).to_owned(),
                });
            }
        }
        Ok(SandboxKey::with_scopes(key, &scopes))
    }
}

/// How the sandbox behaves.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub keys: Vec<SandboxKey>,
    /// How long a bulk import job stays `queued` before it is processed. Default 200 ms.
    pub job_processing: Duration,
    /// `contact_information.organization_name` of the account. Default "Segport Sandbox".
    pub account_name: String,
    /// Burst/steady rate limits. Default [`Limits::Off`].
    pub limits: Limits,
    /// Whether a 429 carries `Retry-After` (Klaviyo's does "not always"). Default true.
    pub retry_after: bool,
    /// Daily caps of the spec (150 lists a day), enforced even with [`Limits::Off`]. Default true.
    pub daily_caps: bool,
    /// Faults injected from the start (see [`Fault`] for the syntax). Default none.
    pub faults: Vec<Fault>,
    /// A file that keeps the account, its lists (with their members) and profiles across
    /// starts: read at start when it exists, written about a second after every change and at
    /// [`Sandbox::shutdown`] (also on demand: [`Sandbox::save_state`]). Bulk import jobs are not
    /// kept. A file that cannot be read is kept aside (`….unreadable-<time>`) and the sandbox
    /// starts empty. Default none: memory only.
    pub state_file: Option<PathBuf>,
}

/// How long after a change the state file is written (at most once per interval).
pub const SAVE_INTERVAL: Duration = Duration::from_secs(1);

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            keys: Vec::new(),
            job_processing: Duration::from_millis(200),
            account_name: "Segport Sandbox".to_owned(),
            limits: Limits::Off,
            retry_after: true,
            daily_caps: true,
            faults: Vec::new(),
            state_file: None,
        }
    }
}

impl SandboxConfig {
    /// A config with one freshly generated full-access key (`pk_` + 34 alphanumerics).
    pub fn with_demo_key() -> (Self, String) {
        let key = generate_key();
        let config = SandboxConfig {
            keys: vec![SandboxKey::full(key.clone())],
            ..Default::default()
        };
        (config, key)
    }
}

/// A random private key: `pk_` followed by 34 alphanumeric characters.
pub fn generate_key() -> String {
    format!("pk_{}", store::alnum(34))
}

/// Counts of requests, for `GET /__sandbox/stats` and the `Sandbox` accessors.
#[derive(Default)]
pub(crate) struct Stats {
    /// "METHOD /route" → requests received.
    pub routes: HashMap<String, u64>,
    /// Status ("200", "429", … or "dropped") → answers.
    pub statuses: HashMap<String, u64>,
    /// "METHOD /route" → status → answers.
    pub route_statuses: HashMap<String, HashMap<String, u64>>,
}

impl Stats {
    fn answered(&mut self, route: &str, status: &str) {
        *self.statuses.entry(status.to_owned()).or_insert(0) += 1;
        *self
            .route_statuses
            .entry(route.to_owned())
            .or_default()
            .entry(status.to_owned())
            .or_insert(0) += 1;
    }
}

pub(crate) struct AppState {
    pub keys: HashMap<String, HashSet<String>>,
    pub revoked: Mutex<HashSet<String>>,
    pub job_processing: Duration,
    pub account_name: String,
    pub account_id: String,
    pub public_key: String,
    pub base_url: String,
    pub retry_after: bool,
    pub limiter: limits::RateLimiter,
    pub faults: Mutex<Vec<faults::ActiveFault>>,
    /// (method, spec path) → operation, for every operation of the spec.
    pub operations: HashMap<(&'static str, &'static str), &'static Operation>,
    pub store: Mutex<store::Store>,
    /// Bumped by every mutable use of the store: the state file is written when it moved.
    pub changes: AtomicU64,
    pub stats: Mutex<Stats>,
}

/// The store, locked. Each mutable borrow counts as a change (for the state file).
pub(crate) struct StoreGuard<'a> {
    guard: MutexGuard<'a, store::Store>,
    changes: &'a AtomicU64,
}

impl Deref for StoreGuard<'_> {
    type Target = store::Store;
    fn deref(&self) -> &store::Store {
        &self.guard
    }
}

impl DerefMut for StoreGuard<'_> {
    fn deref_mut(&mut self) -> &mut store::Store {
        self.changes.fetch_add(1, Ordering::Relaxed);
        &mut self.guard
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock (a panic while holding it) is recovered: the sandbox's state has no
    // invariants that a half-done update could break badly enough to matter.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl AppState {
    pub(crate) fn store(&self) -> StoreGuard<'_> {
        StoreGuard {
            guard: lock(&self.store),
            changes: &self.changes,
        }
    }

    /// The state file's text and the change count it holds (taken under the store's lock).
    fn snapshot(&self) -> std::io::Result<(Vec<u8>, u64)> {
        let store = lock(&self.store);
        let changes = self.changes.load(Ordering::Relaxed);
        let json = persist::to_json(&store, &self.account_id, &self.public_key)
            .map_err(std::io::Error::other)?;
        Ok((json, changes))
    }

    pub(crate) fn stats(&self) -> MutexGuard<'_, Stats> {
        lock(&self.stats)
    }

    pub(crate) fn faults(&self) -> MutexGuard<'_, Vec<faults::ActiveFault>> {
        lock(&self.faults)
    }

    pub(crate) fn revoke(&self, key: &str) {
        lock(&self.revoked).insert(key.to_owned());
    }

    pub(crate) fn is_revoked(&self, key: &str) -> bool {
        lock(&self.revoked).contains(key)
    }

    pub(crate) fn set_faults(&self, faults: Vec<Fault>, append: bool) {
        let mut active = self.faults();
        if !append {
            active.clear();
        }
        active.extend(
            faults
                .into_iter()
                .map(|fault| faults::ActiveFault { fault, seen: 0 }),
        );
    }
}

/// A running sandbox server.
pub struct Sandbox {
    state: Arc<AppState>,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<()>,
    saver: Option<Saver>,
    restored: bool,
}

/// The task that keeps [`SandboxConfig::state_file`] up to date. Dropped with its sandbox, it
/// stops (like a crash: the file holds what was last written).
struct Saver {
    path: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
    /// The change count the file holds.
    saved: Arc<AtomicU64>,
}

impl Drop for Saver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Write the state file if the store changed since `saved`.
async fn save_if_changed(
    state: &Arc<AppState>,
    path: &std::path::Path,
    saved: &AtomicU64,
) -> std::io::Result<()> {
    if state.changes.load(Ordering::Relaxed) == saved.load(Ordering::Relaxed) {
        return Ok(());
    }
    let (state, path) = (state.clone(), path.to_path_buf());
    let changes = tokio::task::spawn_blocking(move || -> std::io::Result<u64> {
        let (json, changes) = state.snapshot()?;
        persist::write_atomically(&path, &json)?;
        Ok(changes)
    })
    .await
    .map_err(std::io::Error::other)??;
    saved.store(changes, Ordering::Relaxed);
    Ok(())
}

async fn keep_saved(
    state: Arc<AppState>,
    path: PathBuf,
    saved: Arc<AtomicU64>,
    mut stop: oneshot::Receiver<()>,
) {
    loop {
        tokio::select! {
            _ = &mut stop => return,
            _ = tokio::time::sleep(SAVE_INTERVAL) => {}
        }
        if let Err(e) = save_if_changed(&state, &path, &saved).await {
            tracing::warn!(error = %e, path = %path.display(), "sandbox state not saved");
        }
    }
}

impl Sandbox {
    /// Binds `addr` (use `127.0.0.1:0` for a free port) and serves on the current tokio runtime.
    pub async fn start(config: SandboxConfig, addr: SocketAddr) -> std::io::Result<Sandbox> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let base_url = format!("http://{local}");
        let keys = config
            .keys
            .into_iter()
            .map(|k| {
                let mut scopes: HashSet<String> = k.scopes.into_iter().collect();
                let implied: Vec<String> = scopes
                    .iter()
                    .filter_map(|s| s.strip_suffix(":write").map(|r| format!("{r}:read")))
                    .collect();
                scopes.extend(implied);
                (k.key, scopes)
            })
            .collect();
        let operations = OPERATIONS
            .iter()
            .map(|op| ((op.method, op.path), op))
            .collect();
        let loaded = match &config.state_file {
            None => None,
            Some(path) => match persist::load(path) {
                Ok(l) => l,
                Err(e) => {
                    let aside = persist::keep_aside(path);
                    tracing::warn!(error = %e, path = %path.display(), aside = ?aside, "sandbox state unreadable; starting empty");
                    None
                }
            },
        };
        let restored = loaded.is_some();
        let (account_id, public_key, initial) = match loaded {
            Some(l) => (l.account_id, l.public_key, l.store),
            None => (store::alnum(6), store::alnum(6), store::Store::default()),
        };
        let state = Arc::new(AppState {
            keys,
            revoked: Mutex::new(HashSet::new()),
            job_processing: config.job_processing,
            account_name: config.account_name,
            account_id,
            public_key,
            base_url,
            retry_after: config.retry_after,
            limiter: limits::RateLimiter::new(config.limits, config.daily_caps),
            faults: Mutex::new(Vec::new()),
            operations,
            store: Mutex::new(initial),
            changes: AtomicU64::new(0),
            stats: Mutex::new(Stats::default()),
        });
        state.set_faults(config.faults, false);
        let app = router(state.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, app, rx));
        let saver = config.state_file.map(|path| {
            let (stop, stopped) = oneshot::channel::<()>();
            let saved = Arc::new(AtomicU64::new(0));
            let task = tokio::spawn(keep_saved(
                state.clone(),
                path.clone(),
                saved.clone(),
                stopped,
            ));
            Saver {
                path,
                stop: Some(stop),
                task,
                saved,
            }
        });
        Ok(Sandbox {
            state,
            shutdown: tx,
            task,
            saver,
            restored,
        })
    }

    /// Whether this start found [`SandboxConfig::state_file`] and took its lists and profiles
    /// up again (false: it started empty).
    pub fn restored(&self) -> bool {
        self.restored
    }

    /// Write the state file now if anything changed since it was last written (no-op without
    /// [`SandboxConfig::state_file`]). The app calls it on exit.
    pub async fn save_state(&self) -> std::io::Result<()> {
        match &self.saver {
            Some(s) => save_if_changed(&self.state, &s.path, &s.saved).await,
            None => Ok(()),
        }
    }

    /// [`Sandbox::save_state`] for a caller outside the runtime (blocking).
    pub fn save_state_blocking(&self) -> std::io::Result<()> {
        let Some(s) = &self.saver else { return Ok(()) };
        if self.state.changes.load(Ordering::Relaxed) == s.saved.load(Ordering::Relaxed) {
            return Ok(());
        }
        let (json, changes) = self.state.snapshot()?;
        persist::write_atomically(&s.path, &json)?;
        s.saved.store(changes, Ordering::Relaxed);
        Ok(())
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        self.state.base_url.clone()
    }

    /// Emails of the profiles in a list, sorted (empty for an unknown list).
    pub fn list_members(&self, list_id: &str) -> Vec<String> {
        self.state.store().list_members(list_id).unwrap_or_default()
    }

    /// Creates a list directly (test and demo helper, not subject to the daily cap); returns its id.
    pub fn create_list(&self, name: &str) -> String {
        self.state.store().create_list(name).id.clone()
    }

    /// Makes sure a list with this id exists (the demo restores its list after a restart).
    pub fn ensure_list(&self, id: &str, name: &str) {
        self.state.store().ensure_list(id, name);
    }

    /// How many requests a route has received, e.g. `"POST /api/profile-bulk-import-jobs"`
    /// or `"GET /api/lists/{id}"` (the spec's path patterns).
    pub fn request_count(&self, route: &str) -> u64 {
        self.state.stats().routes.get(route).copied().unwrap_or(0)
    }

    /// How many answers had this status, over all routes (e.g. `status_count(429)`).
    pub fn status_count(&self, status: u16) -> u64 {
        self.state
            .stats()
            .statuses
            .get(&status.to_string())
            .copied()
            .unwrap_or(0)
    }

    /// How many requests had their connection dropped by a `drop` fault.
    pub fn dropped_count(&self) -> u64 {
        self.state
            .stats()
            .statuses
            .get("dropped")
            .copied()
            .unwrap_or(0)
    }

    /// Replaces the injected faults (an empty vector clears them). Counters start from zero.
    pub fn set_faults(&self, faults: Vec<Fault>) {
        self.state.set_faults(faults, false);
    }

    /// Adds faults after the current ones.
    pub fn add_faults(&self, faults: Vec<Fault>) {
        self.state.set_faults(faults, true);
    }

    /// Revokes a key: from now on every request made with it gets 401.
    pub fn revoke_key(&self, key: &str) {
        self.state.revoke(key);
    }

    /// Stops accepting connections, closes open ones and waits for the server task to end;
    /// then writes the state file (if any) a last time.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(());
        let _ = self.task.await;
        if let Some(mut s) = self.saver {
            if let Some(stop) = s.stop.take() {
                let _ = stop.send(());
            }
            let _ = (&mut s.task).await;
            if let Err(e) = save_if_changed(&self.state, &s.path, &s.saved).await {
                tracing::warn!(error = %e, path = %s.path.display(), "sandbox state not saved");
            }
        }
    }
}

/// Set on every request: notifying it closes the request's connection without an answer.
#[derive(Clone)]
pub(crate) struct ConnKill(pub Arc<Notify>);

/// The accept loop. A hand-rolled loop (not `axum::serve`) so that a `drop` fault can close a
/// connection without answering.
async fn serve(listener: TcpListener, app: Router, mut stop: oneshot::Receiver<()>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    conns.spawn(serve_conn(stream, app.clone()));
                }
                Err(e) => {
                    // E.g. too many open files: back off briefly instead of spinning.
                    tracing::warn!(error = %e, "sandbox accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.shutdown().await;
}

async fn serve_conn(stream: TcpStream, app: Router) {
    let kill = Arc::new(Notify::new());
    let conn_kill = ConnKill(kill.clone());
    let svc = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(conn_kill.clone());
        let mut app = app.clone();
        async move { app.call(req).await }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .serve_connection(TokioIo::new(stream), svc);
    tokio::select! {
        res = conn => {
            if let Err(e) = res {
                tracing::debug!(error = %e, "sandbox connection ended with an error");
            }
        }
        // Dropping `conn` closes the socket; the client sees the connection end unanswered.
        _ = kill.notified() => {}
    }
}

fn router(state: Arc<AppState>) -> Router {
    use handlers as h;
    Router::new()
        // One route per spec operation, at its generated path (a path's methods are merged),
        // so that the gate finds each request's operation in the table.
        .route(spec::GET_ACCOUNTS.path, get(h::get_accounts))
        .route(spec::GET_LISTS.path, get(h::get_lists))
        .route(spec::CREATE_LIST.path, post(h::create_list))
        .route(spec::GET_LIST.path, get(h::get_list))
        .route(
            spec::GET_PROFILE_IDS_FOR_LIST.path,
            get(h::get_list_profile_ids),
        )
        .route(spec::ADD_PROFILES_TO_LIST.path, post(h::add_list_profiles))
        .route(
            spec::REMOVE_PROFILES_FROM_LIST.path,
            delete(h::remove_list_profiles),
        )
        .route(spec::GET_PROFILES.path, get(h::get_profiles))
        .route(
            spec::GET_BULK_IMPORT_PROFILES_JOBS.path,
            get(h::get_import_jobs),
        )
        .route(spec::BULK_IMPORT_PROFILES.path, post(h::create_import_job))
        .route(
            spec::GET_BULK_IMPORT_PROFILES_JOB.path,
            get(h::get_import_job),
        )
        .route(
            spec::GET_ERRORS_FOR_BULK_IMPORT_PROFILES_JOB.path,
            get(h::get_import_errors),
        )
        .route(
            spec::GET_PROFILE_IDS_FOR_BULK_IMPORT_PROFILES_JOB.path,
            get(h::get_import_job_profile_ids),
        )
        .route(spec::BULK_SUBSCRIBE_PROFILES.path, post(h::bulk_subscribe))
        .route("/__sandbox/lists/{id}/members", get(h::sandbox_members))
        .route("/__sandbox/stats", get(h::sandbox_stats))
        .route(
            "/__sandbox/faults",
            get(h::sandbox_get_faults)
                .post(h::sandbox_set_faults)
                .delete(h::sandbox_clear_faults),
        )
        .fallback(h::not_found)
        .method_not_allowed_fallback(h::method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), gate::gate))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        // Bodies over the 5 MB limit must still be read so that the handler can answer with a
        // JSON:API 413; beyond 4x the limit axum cuts the connection short with its own 413.
        .layer(axum::extract::DefaultBodyLimit::max(4 * MAX_JOB_BYTES))
        .with_state(state)
}

pub(crate) fn route_of(req: &Request) -> String {
    match req.extensions().get::<MatchedPath>() {
        Some(p) => format!("{} {}", req.method(), p.as_str()),
        None => format!("{} {}", req.method(), req.uri().path()),
    }
}

async fn count_requests(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let route = route_of(&req);
    *state.stats().routes.entry(route.clone()).or_insert(0) += 1;
    let resp = next.run(req).await;
    state.stats().answered(&route, resp.status().as_str());
    resp
}
