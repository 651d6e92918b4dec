//! The app's state: the workspace (or why it could not open), running exports' cancel tokens,
//! the demo sandbox, and the files the user picked through the native dialog.

use segport_core::error::ErrorCode;
use segport_core::model::ErrorPayload;
use segport_core::secrets::SecretStore;
use segport_core::workspace::Workspace;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

pub struct AppState {
    workspace: Result<Workspace, ErrorPayload>,
    pub runs: Arc<Mutex<HashMap<String, CancellationToken>>>,
    pub demo: tokio::sync::Mutex<Option<segport_sandbox::Sandbox>>,
    /// Paths the user chose in a dialog this session; with the stored sources, the only paths
    /// a command accepts from the web view.
    picked: Mutex<HashSet<PathBuf>>,
}

impl AppState {
    pub fn open(data_dir: &Path, secrets: Arc<dyn SecretStore>) -> AppState {
        // (A run whose process died is marked interrupted by the core whenever runs, exports or
        // due schedules are read.)
        let workspace = Workspace::open(data_dir, secrets).map_err(|e| ErrorPayload::from(&e));
        AppState {
            workspace,
            runs: Arc::default(),
            demo: tokio::sync::Mutex::default(),
            picked: Mutex::default(),
        }
    }

    pub fn ws(&self) -> Result<&Workspace, ErrorPayload> {
        self.workspace.as_ref().map_err(Clone::clone)
    }

    pub fn remember_pick(&self, path: &Path) {
        self.picked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(path.to_path_buf());
    }

    /// A path from the web view is accepted only if the user picked it, or it is a stored source.
    pub fn check_path(&self, path: &str) -> Result<PathBuf, ErrorPayload> {
        let p = PathBuf::from(path);
        let picked = self
            .picked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&p);
        let stored = self
            .ws()?
            .is_source_path(path)
            .map_err(|e| ErrorPayload::from(&e))?;
        if picked || stored {
            Ok(p)
        } else {
            Err(ErrorPayload::new(ErrorCode::Invalid {
                field: None,
                message: "Choose the file with the \"Choose file…\" button.".into(),
            }))
        }
    }
}
