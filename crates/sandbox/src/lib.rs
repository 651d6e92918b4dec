//! A local imitation of the parts of Klaviyo's API that Segport uses (revision 2026-07-15).
//!
//! Started in-process by the desktop app (demo mode) and by tests (on port 0), or as the
//! `segport-sandbox` binary. State lives in memory and is lost when the sandbox stops.

mod error;
mod handlers;
mod store;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use error::{ApiError, ApiErrors, Source};

/// The JSON:API media type.
pub const JSON_API: &str = "application/vnd.api+json";
/// The API revision the sandbox imitates.
pub const REVISION: &str = "2026-07-15";
/// Limits of `POST /api/profile-bulk-import-jobs`.
pub const MAX_PROFILES_PER_JOB: usize = 10_000;
pub const MAX_JOB_BYTES: usize = 5 * 1024 * 1024;
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

/// How the sandbox behaves.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub keys: Vec<SandboxKey>,
    /// How long a bulk import job stays `queued` before it is processed. Default 200 ms.
    pub job_processing: Duration,
    /// `contact_information.organization_name` of the account. Default "Segport Sandbox".
    pub account_name: String,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            keys: Vec::new(),
            job_processing: Duration::from_millis(200),
            account_name: "Segport Sandbox".to_owned(),
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

pub(crate) struct AppState {
    pub keys: HashMap<String, HashSet<String>>,
    pub job_processing: Duration,
    pub account_name: String,
    pub account_id: String,
    pub public_key: String,
    pub base_url: String,
    pub store: Mutex<store::Store>,
    pub stats: Mutex<HashMap<String, u64>>,
}

impl AppState {
    /// Locks the store. A poisoned lock (a panic while holding it) is recovered: the store has
    /// no invariants that a half-done update could break badly enough to matter for a sandbox.
    pub fn store(&self) -> MutexGuard<'_, store::Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn stats(&self) -> MutexGuard<'_, HashMap<String, u64>> {
        self.stats.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running sandbox server.
pub struct Sandbox {
    state: Arc<AppState>,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<()>,
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
        let state = Arc::new(AppState {
            keys,
            job_processing: config.job_processing,
            account_name: config.account_name,
            account_id: store::alnum(6),
            public_key: store::alnum(6),
            base_url,
            store: Mutex::new(store::Store::default()),
            stats: Mutex::new(HashMap::new()),
        });
        let app = router(state.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = rx.await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "sandbox server stopped");
            }
        });
        Ok(Sandbox {
            state,
            shutdown: tx,
            task,
        })
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        self.state.base_url.clone()
    }

    /// Emails of the profiles in a list, sorted (empty for an unknown list).
    pub fn list_members(&self, list_id: &str) -> Vec<String> {
        self.state.store().list_members(list_id).unwrap_or_default()
    }

    /// Creates a list directly (test and demo helper); returns its id.
    pub fn create_list(&self, name: &str) -> String {
        self.state.store().create_list(name).id.clone()
    }

    /// Makes sure a list with this id exists (the demo restores its list after a restart).
    pub fn ensure_list(&self, id: &str, name: &str) {
        self.state.store().ensure_list(id, name);
    }

    /// How many requests a route has received, e.g. `"POST /api/profile-bulk-import-jobs"`
    /// or `"GET /api/lists/{id}"`.
    pub fn request_count(&self, route: &str) -> u64 {
        self.state.stats().get(route).copied().unwrap_or(0)
    }

    /// Stops accepting connections and waits for the server task to end.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(());
        let _ = self.task.await;
    }
}

fn router(state: Arc<AppState>) -> Router {
    use handlers as h;
    Router::new()
        .route("/api/accounts", get(h::get_accounts))
        .route("/api/lists", get(h::get_lists).post(h::create_list))
        .route("/api/lists/{id}", get(h::get_list))
        .route(
            "/api/profile-bulk-import-jobs",
            get(h::get_import_jobs).post(h::create_import_job),
        )
        .route(
            "/api/profile-bulk-import-jobs/{job_id}",
            get(h::get_import_job),
        )
        .route(
            "/api/profile-bulk-import-jobs/{id}/import-errors",
            get(h::get_import_errors),
        )
        .route("/__sandbox/lists/{id}/members", get(h::sandbox_members))
        .route("/__sandbox/stats", get(h::sandbox_stats))
        .fallback(h::not_found)
        .method_not_allowed_fallback(h::method_not_allowed)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        // Bodies over the 5 MB limit must still be read so that the handler can answer with a
        // JSON:API 413; beyond 4x the limit axum cuts the connection short with its own 413.
        .layer(axum::extract::DefaultBodyLimit::max(4 * MAX_JOB_BYTES))
        .with_state(state)
}

async fn count_requests(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let route = match req.extensions().get::<MatchedPath>() {
        Some(p) => format!("{} {}", req.method(), p.as_str()),
        None => format!("{} {}", req.method(), req.uri().path()),
    };
    *state.stats().entry(route).or_insert(0) += 1;
    next.run(req).await
}
