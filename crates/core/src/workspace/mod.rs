//! The workspace: the store, the keychain and the operator, with every operation the front ends
//! offer. The Tauri commands and the CLI subcommands are thin wrappers over these methods.
//!
//! One room per domain, each an `impl Workspace` block: [`access`] (who may do what: the whole
//! permission policy, which every other room asks), `connections`, `lists` (the export's list
//! picker), `sources`, `segments`, `exports`, `runs` and `demo`. Sources' and segments' screens
//! are also served from [`crate::catalog`].
//!
//! The store and the keychain are this module's own: a front end goes through the methods, so
//! every rule (permissions, the dropped-key marker, the demo's settings) holds whoever calls.

mod access;
mod connections;
mod demo;
mod exports;
mod lists;
mod runs;
mod segments;
mod sources;

pub use connections::points_at_this_computer;
pub(crate) use connections::{check_base_url, is_env_var_name, same_host};
pub use demo::{DemoRestore, DEMO_ROWS};
pub use lists::MAX_PICKER_LISTS;
pub use runs::{RunOptions, JOB_RETENTION_DAYS};
pub use sources::preview_source;

use crate::model::*;
use crate::secrets::SecretStore;
use crate::store::Store;
use crate::Result;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const OPERATOR_NAME: &str = "operator.name";
const OPERATOR_ROLE: &str = "operator.role";

#[derive(Clone)]
pub struct Workspace {
    /// Crate-wide for the config import/export and the catalog, which write through it; never
    /// outside the crate (tests open a second connection with [`Store::open_dir`]).
    pub(crate) store: Arc<Store>,
    secrets: Arc<dyn SecretStore>,
    data_dir: PathBuf,
    /// A database kept aside at some open (this one, or the CLI's), once `app_info` has taken
    /// it from the store: shown for the rest of the session.
    notice: std::sync::OnceLock<Option<String>>,
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

/// A form's text without its surrounding blanks, or `None` when nothing is left.
fn trimmed(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

impl Workspace {
    pub fn open(data_dir: &Path, secrets: Arc<dyn SecretStore>) -> Result<Workspace> {
        let store = Arc::new(Store::open_dir(data_dir)?);
        Ok(Workspace::on_store(data_dir, store, secrets))
    }

    /// A workspace on a store the caller opened (with [`Store::open_dir`] on `data_dir`) and
    /// keeps a handle to (a test that also writes through it). One store, shared: a process
    /// must not open a second [`Store`] on a database it has open while other processes write
    /// to it — that corrupted the database in the CLI's app-and-CLI test (likely because
    /// [`Store::open`] reads the file's header through a file it then closes, and closing any
    /// handle to a file drops the process's POSIX locks on it, SQLite's included).
    pub fn on_store(
        data_dir: &Path,
        store: Arc<Store>,
        secrets: Arc<dyn SecretStore>,
    ) -> Workspace {
        Workspace {
            store,
            secrets,
            data_dir: data_dir.to_path_buf(),
            notice: std::sync::OnceLock::new(),
        }
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
}
