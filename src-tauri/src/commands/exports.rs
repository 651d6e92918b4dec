use super::{err, CmdResult};
use crate::AppState;
use segport_core::model::{CsvInfo, ExportInput, ExportView, KlaviyoList, KlaviyoLists};
use segport_core::source;
use std::path::PathBuf;
use tauri::{AppHandle, Runtime, State};
use tauri_plugin_dialog::DialogExt;

/// Test hook: the end-to-end suite cannot drive a native GTK dialog, so it names the file here.
const TEST_PICK_ENV: &str = "SEGPORT_TEST_PICK_FILE";

#[tauri::command]
pub fn list_exports(state: State<'_, AppState>) -> CmdResult<Vec<ExportView>> {
    state.ws()?.exports().map_err(err)
}

#[tauri::command]
pub fn save_export(state: State<'_, AppState>, input: ExportInput) -> CmdResult<ExportView> {
    state.check_path(&input.csv_path)?;
    state.ws()?.save_export(input).map_err(err)
}

#[tauri::command]
pub fn delete_export(state: State<'_, AppState>, id: String) -> CmdResult<()> {
    state.ws()?.delete_export(&id).map_err(err)
}

/// Open the native file dialog; `None` when the user cancels.
#[tauri::command]
pub async fn pick_csv<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> CmdResult<Option<CsvInfo>> {
    let picked: Option<PathBuf> = match std::env::var_os(TEST_PICK_ENV) {
        Some(p) => Some(PathBuf::from(p)),
        None => {
            let (tx, rx) = tokio::sync::oneshot::channel();
            app.dialog()
                .file()
                .set_title("Choose a customers CSV file")
                .add_filter("CSV files", &["csv", "txt"])
                .pick_file(move |f| {
                    let _ = tx.send(f.and_then(|f| f.into_path().ok()));
                });
            rx.await.ok().flatten()
        }
    };
    let Some(path) = picked else { return Ok(None) };
    state.remember_pick(&path);
    source::inspect_csv(&path)
        .map(Some)
        .map_err(|e| err(e.into()))
}

#[tauri::command]
pub fn inspect_csv(state: State<'_, AppState>, path: String) -> CmdResult<CsvInfo> {
    let path = state.check_path(&path)?;
    source::inspect_csv(&path).map_err(|e| err(e.into()))
}

/// The Klaviyo lists of a connection's account, for the list picker.
#[tauri::command]
pub async fn list_klaviyo_lists(
    state: State<'_, AppState>,
    connection_id: String,
) -> CmdResult<KlaviyoLists> {
    state.ws()?.klaviyo_lists(&connection_id).await.map_err(err)
}

/// Create a list in the connection's Klaviyo account.
#[tauri::command]
pub async fn create_klaviyo_list(
    state: State<'_, AppState>,
    connection_id: String,
    name: String,
) -> CmdResult<KlaviyoList> {
    state
        .ws()?
        .create_klaviyo_list(&connection_id, &name)
        .await
        .map_err(err)
}
