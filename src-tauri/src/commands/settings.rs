//! The Settings screen: who is operating (a guardrail, not security), where the data lives,
//! and a way to open the logs folder that never takes a path from the web view.

use super::{err, CmdResult};
use crate::AppState;
use segport_core::error::ErrorCode;
use segport_core::model::{ErrorPayload, Role};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Runtime, State};
use tauri_plugin_opener::OpenerExt;
use ts_rs::TS;

/// What the Settings screen shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Settings {
    /// The operator's name, recorded with consents and runs (defaults to the OS user).
    pub operator: String,
    pub role: Role,
    /// The data folder (database, logs); shown, not editable here (`--data-dir` or
    /// `SEGPORT_DATA_DIR` choose it).
    pub data_dir: String,
    pub logs_dir: String,
}

/// What the Settings screen saves.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SettingsInput {
    /// Blank keeps the current name.
    pub operator: String,
    pub role: Role,
}

fn settings(state: &AppState) -> CmdResult<Settings> {
    let ws = state.ws()?;
    let op = ws.operator().map_err(err)?;
    Ok(Settings {
        operator: op.name,
        role: op.role,
        data_dir: ws.data_dir().to_string_lossy().into_owned(),
        logs_dir: segport_core::paths::log_dir(ws.data_dir())
            .to_string_lossy()
            .into_owned(),
    })
}

#[tauri::command(async)]
pub fn get_settings(state: State<'_, AppState>) -> CmdResult<Settings> {
    settings(&state)
}

#[tauri::command(async)]
pub fn save_settings(state: State<'_, AppState>, input: SettingsInput) -> CmdResult<Settings> {
    state
        .ws()?
        .set_operator(Some(&input.operator), input.role)
        .map_err(err)?;
    settings(&state)
}

/// Open `<data dir>/logs` in the file manager. The path is computed here, never received.
#[tauri::command]
pub fn open_logs_folder<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> CmdResult<()> {
    let dir = segport_core::paths::log_dir(state.ws()?.data_dir());
    std::fs::create_dir_all(&dir).map_err(|source| {
        err(segport_core::CoreError::Io {
            path: dir.clone(),
            source,
        })
    })?;
    app.opener()
        .open_path(dir.to_string_lossy(), None::<&str>)
        .map_err(|e| {
            ErrorPayload::new(ErrorCode::AppOpenFailed {
                path: dir.display().to_string(),
                reason: e.to_string(),
            })
        })
}
